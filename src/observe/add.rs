//! What `add` reads before planning, and the one fresh fact its
//! verification needs afterwards (a token from the cluster).

use std::collections::BTreeSet;

use super::issuer::{Resolved, resolve_issuer};
use crate::aws::{Identity, KlankerClients, iam};
use crate::error::Error;
use crate::k8s::Cluster;
use crate::plan::{Observed, ObservedCluster, PreviousServiceAccount, mirror};
use crate::resolve::add::AddRequest;
use crate::store::Document;
use crate::trust::{Issuer, STS_AUDIENCE};
use crate::verify::ProviderFacts;

/// What exists, in the klanker account, the cluster and km-config.yaml.
pub struct AddSnapshot {
    pub issuer: Resolved,
    pub identity: Identity,
    /// The policies the role should have (the operator policy by default).
    pub policies: BTreeSet<String>,
    pub observed: Observed,
    pub config: Document,
}

/// The connections `add` reads through.
pub struct Sources<'a> {
    pub klanker: &'a KlankerClients,
    /// The run's AWS access (HTTP client, credentials session), for the cluster account.
    pub access: &'a crate::aws::Access,
    pub hint: Option<Identity>,
    pub kube: Option<&'a kube::Client>,
    /// Only when the ServiceAccount is applied.
    pub cluster: Option<&'a Cluster<'a>>,
    pub config: Document,
    pub verbose: bool,
}

/// Every read at once, in one round where possible: the issuer, who we are
/// in the klanker account (and, from that, whether the policies exist), the
/// role and its policies, the account's providers, the cluster's state.
/// Then what depends on those: the matching provider in detail, the ones
/// the role trusts besides it, and a ServiceAccount the trust moves from.
pub async fn observe(req: &AddRequest, from: Sources<'_>) -> Result<AddSnapshot, Error> {
    let klanker = from.klanker;
    // The first ServiceAccount's state, then the others' (several --service-account).
    let wanted = req.service_accounts();
    let cluster_state = async {
        let Some(c) = from.cluster else {
            return Ok(((true, None), Vec::new()));
        };
        let reads = wanted.iter().map(|(ns, name)| async move {
            let (namespace_exists, service_account) =
                tokio::try_join!(c.namespace_exists(ns), c.get_service_account(ns, name))?;
            Ok::<_, Error>(ObservedCluster {
                namespace: ns.clone(),
                name: name.clone(),
                namespace_exists,
                service_account,
            })
        });
        let mut all = futures::future::try_join_all(reads).await?.into_iter();
        let first = all
            .next()
            .map_or((true, None), |o| (o.namespace_exists, o.service_account));
        Ok::<_, Error>((first, all.collect::<Vec<_>>()))
    };
    let identity_and_policies = async {
        let identity = super::klanker_identity(klanker, from.hint.clone()).await?;
        let policies = mirror::policy_arns(req, &identity);
        let checks = policies.iter().map(|arn| async move {
            iam::policy_exists(&klanker.iam, arn)
                .await
                .map(|exists| (arn.clone(), exists))
        });
        let missing: BTreeSet<String> = futures::future::try_join_all(checks)
            .await?
            .into_iter()
            .filter_map(|(arn, exists)| (!exists).then_some(arn))
            .collect();
        Ok::<_, Error>((identity, policies, missing))
    };
    let (issuer, (identity, policies, missing_policies), role, provider_arns, cluster) = tokio::try_join!(
        resolve_issuer(
            &req.source,
            from.access,
            from.kube,
            &req.context.context_name,
            from.verbose
        ),
        identity_and_policies,
        async { Ok::<_, Error>(iam::role_with_policies(&klanker.iam, &req.role_name).await?) },
        async { Ok::<_, Error>(iam::list_providers(&klanker.iam).await?) },
        cluster_state,
    )?;
    let ((namespace_exists, service_account), more_service_accounts) = cluster;
    let (role, attached_policies) = match role {
        Some((role, attached)) => (Some(role), attached),
        None => (None, BTreeSet::new()),
    };
    let provider = match iam::matching_provider(&provider_arns, &issuer.issuer) {
        Some(arn) => Some(iam::describe_provider(&klanker.iam, &arn).await?),
        None => None,
    };
    let desired_provider = mirror::provider_arn(provider.as_ref(), &issuer.issuer, &identity);
    let old_providers = futures::future::try_join_all(
        mirror::other_trusted_providers(role.as_ref(), &desired_provider, &provider_arns)
            .iter()
            .map(|arn| iam::describe_provider(&klanker.iam, arn)),
    )
    .await?;
    let reads = mirror::previous_subjects(req, role.as_ref())
        .into_iter()
        .map(|(namespace, name)| async move {
            let observed = match from.cluster {
                Some(c) => c.get_service_account(&namespace, &name).await?,
                None => None,
            };
            Ok::<_, Error>(PreviousServiceAccount {
                namespace,
                name,
                observed,
            })
        });
    let previous_service_accounts = futures::future::try_join_all(reads).await?;
    let observed = Observed {
        provider,
        role,
        attached_policies,
        missing_policies,
        namespace_exists,
        service_account,
        config_entry: from.config.get(&req.name),
        old_providers,
        previous_service_accounts,
        more_service_accounts,
    };
    Ok(AddSnapshot {
        issuer,
        identity,
        policies,
        observed,
        config: from.config,
    })
}

/// What the local checks of `verify` need after applying, for one
/// ServiceAccount: a token the cluster issues for it (never printed), and
/// the provider of the token's issuer when it is not the one just ensured.
pub struct AfterApply {
    pub token: Result<String, String>,
    pub other_provider: Option<ProviderFacts>,
}

/// Tokens by ServiceAccount `(namespace, name)`.
type Tokens = std::collections::BTreeMap<(String, String), Result<String, String>>;

/// An applier that also asks the cluster for the verification tokens as
/// soon as it has applied each ServiceAccount: in the cluster chain, side by
/// side with the IAM writes, so verifying adds no sequential round trip.
pub struct WithToken<'a, A> {
    pub inner: &'a A,
    /// None: no token is asked for (no verification, or no cluster).
    pub cluster: Option<&'a Cluster<'a>>,
    pub req: &'a AddRequest,
    pub tokens: std::sync::Mutex<Tokens>,
}

impl<A> WithToken<'_, A> {
    pub fn take_tokens(&self) -> Tokens {
        std::mem::take(&mut *crate::lock(&self.tokens))
    }
}

impl<A: crate::apply::Apply> crate::apply::Apply for WithToken<'_, A> {
    async fn apply(&self, op: &crate::plan::Op, dry_run: bool) -> Result<Option<String>, Error> {
        let note = self.inner.apply(op, dry_run).await?;
        if let (
            crate::plan::Op::ApplyServiceAccount {
                namespace, name, ..
            },
            false,
            Some(cluster),
        ) = (op, dry_run, self.cluster)
        {
            let subject = (namespace.clone(), name.clone());
            let token = request_token(cluster, &subject).await;
            crate::lock(&self.tokens).insert(subject, token);
        }
        Ok(note)
    }
}

async fn request_token(
    cluster: &Cluster<'_>,
    (namespace, name): &(String, String),
) -> Result<String, String> {
    cluster
        .request_token(namespace, name, STS_AUDIENCE, crate::verify::TOKEN_SECONDS)
        .await
        .map_err(|e| e.to_string())
}

/// The verification's facts after applying, for each ServiceAccount `add`
/// applies, in order: the token `WithToken` got (or, when the
/// ServiceAccount needed no change, one asked for now).
pub async fn after_apply(
    klanker: &KlankerClients,
    cluster: &Cluster<'_>,
    req: &AddRequest,
    issuer: &Issuer,
    mut tokens: Tokens,
) -> Result<Vec<((String, String), AfterApply)>, Error> {
    let each = req.service_accounts().into_iter().map(|subject| {
        let got = tokens.remove(&subject);
        async move {
            let token = match got {
                Some(token) => token,
                None => request_token(cluster, &subject).await,
            };
            let after = with_provider(klanker, issuer, token).await?;
            Ok::<_, Error>((subject, after))
        }
    });
    futures::future::try_join_all(each).await
}

/// The token, and the provider of its issuer when that is another one.
async fn with_provider(
    klanker: &KlankerClients,
    issuer: &Issuer,
    token: Result<String, String>,
) -> Result<AfterApply, Error> {
    let token_issuer = token
        .as_ref()
        .ok()
        .and_then(|t| crate::trust::token::claims(t).ok())
        .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
    let other_provider = match token_issuer {
        Some(other) if &other != issuer => {
            iam::find_provider(&klanker.iam, &other)
                .await?
                .map(|p| ProviderFacts {
                    arn: p.arn,
                    client_ids: p.client_ids,
                })
        }
        _ => None,
    };
    Ok(AfterApply {
        token,
        other_provider,
    })
}
