//! `audit`'s reads, all of them reads: per account one paginated ListRoles
//! (it carries every trust document) and ListOpenIDConnectProviders, then
//! GetOpenIDConnectProvider only for providers some role trusts, a few at
//! a time, and GetRole (for tags) only for roles whose description says
//! this tool made them. With `--context`, the cluster's issuer and one list
//! of its ServiceAccounts.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::audit::{AccountScan, AuditError, ClusterScan, Limits, Provider, ServiceAccount};
use crate::aws::{self, AwsError, KlankerClients, iam};
use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::inventory::RoleSummary;
use crate::k8s::{self, Cluster};
use crate::kubeconfig;
use crate::plan::quota::{PROVIDERS, Quota, QuotaCode, TRUST_LENGTH};
use crate::trust::{self, Issuer};

/// GetOpenIDConnectProvider calls in flight at once.
const PROVIDER_READS: usize = 8;

/// One account, read with `profile`.
/// `flags`: `--provider-quota` and `--max-trust-policy-size`; the
/// account's applied quota is read for each one not given.
pub async fn account(
    global: &GlobalArgs,
    profile: &str,
    region: &str,
    access: &aws::Access,
    flags: (Option<usize>, Option<usize>),
) -> Result<AccountScan, Error> {
    let hint = aws::check_profile(profile, "--aws-profile").await?;
    let sdk = aws::load_config(Some(profile), region, access, aws::Side::Klanker).await?;
    let clients = KlankerClients::new(&sdk, global.verbose, Default::default());
    let named = hint.as_ref().map(|h| h.account.clone());
    let denied = |e: Error| denied(e, profile, named.clone());
    // Beside the lists: the provider quota costs no round trip of its own.
    let (lists, provider_quota) = tokio::join!(
        async {
            tokio::try_join!(
                async { iam::list_roles(&clients.iam).await.map_err(Error::from) },
                async { iam::list_providers(&clients.iam).await.map_err(Error::from) },
                super::klanker_identity(&clients, hint.clone()),
            )
        },
        quota(&clients, (flags.0, "--provider-quota"), PROVIDERS),
    );
    let (roles, arns, identity) = lists.map_err(&denied)?;
    // The trust-length quota only matters to a trust near even the
    // default (a quota is only ever raised): read beside the providers.
    let near = roles.iter().any(|r| {
        crate::trust::policy::policy_size(&r.trust_policy) * 10 >= TRUST_LENGTH.default * 9
    });
    let trust_flag = match near {
        true => flags.1,
        false => Some(flags.1.unwrap_or(TRUST_LENGTH.default)),
    };
    let trust_name = match (flags.1, near) {
        (None, false) => "the default: no trust is near it",
        _ => "--max-trust-policy-size",
    };
    let (providers, trust_quota) = tokio::join!(
        providers(&clients, &roles, arns),
        quota(&clients, (trust_flag, trust_name), TRUST_LENGTH),
    );
    let providers = providers.map_err(&denied)?;
    // Descriptions name the candidates (ListRoles returns no tags); only
    // the tags GetRole reads prove an onboarding. A cluster role is judged
    // by its trust alone.
    let candidates: BTreeSet<String> = roles
        .iter()
        .filter(|r| {
            r.description.starts_with(trust::ROLE_DESCRIPTION_PREFIX)
                && r.description.contains(": IRSA trust for cluster ")
        })
        .map(|r| r.role_name.clone())
        .collect();
    let tagged = super::tagged_roles(&clients, &roles, &candidates)
        .await
        .map_err(&denied)?;
    Ok(AccountScan {
        profile: profile.to_string(),
        account: identity.account,
        partition: identity.partition,
        roles,
        providers,
        tagged,
        limits: Some(Limits {
            provider_quota: provider_quota.0,
            trust_quota: trust_quota.0,
        }),
        quota_sources: vec![
            format!("OIDC providers: {}", provider_quota.1),
            format!("trust policy length: {}", trust_quota.1),
        ],
    })
}

/// The flag's value, else the account's applied quota `of`, else AWS's
/// default; and where it came from, in words.
async fn quota(
    clients: &KlankerClients,
    flag: (Option<usize>, &str),
    of: QuotaCode,
) -> (usize, String) {
    match flag {
        (Some(value), name) => (value, format!("{value} ({name})")),
        (None, _) => {
            let read = aws::quotas::read(&clients.quotas, of, aws::Side::Klanker).await;
            let quota = Quota::from_read(of, read);
            (quota.value, quota.to_string())
        }
    }
}

/// Every provider of the account; the client IDs of those some role trusts.
async fn providers(
    clients: &KlankerClients,
    roles: &[RoleSummary],
    arns: Vec<String>,
) -> Result<Vec<Provider>, Error> {
    let trusted = crate::audit::rules::trusted_providers(roles);
    stream::iter(arns)
        .map(|arn| {
            let read = trusted.contains(&crate::audit::rules::provider_key(&arn));
            async move {
                let client_ids = match read {
                    true => Some(iam::describe_provider(&clients.iam, &arn).await?.client_ids),
                    false => None,
                };
                Ok::<_, Error>(Provider { arn, client_ids })
            }
        })
        .buffered(PROVIDER_READS)
        .try_collect()
        .await
}

/// A refused read, said as the audit's own error: which profile, and that
/// `policy --for audit` prints what to grant.
fn denied(err: Error, profile: &str, account: Option<String>) -> Error {
    match err {
        Error::Aws(AwsError::AccessDenied {
            operation, message, ..
        }) => AuditError::Denied {
            operation: operation.to_string(),
            profile: profile.to_string(),
            account,
            message,
        }
        .into(),
        other => other,
    }
}

/// The cluster of `context`: its issuer (the API server's discovery
/// document) and its ServiceAccounts with their role annotations.
pub async fn cluster(global: &GlobalArgs, context: &str) -> Result<ClusterScan, Error> {
    let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
    let ctx = kubeconfig::select_context(&kc, Some(context))?;
    let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
    let cluster =
        Cluster::new(&client, global.verbose).at(&ctx.context_name, ctx.server.as_deref());
    let (url, found) = tokio::try_join!(
        k8s::discover_issuer(&client),
        cluster.all_service_accounts()
    )?;
    let issuer = Issuer::parse(&url, "issuer").map_err(|e| Error::BadIssuer {
        issuer: url.clone(),
        problem: e.problem,
    })?;
    Ok(ClusterScan {
        context: ctx.context_name.clone(),
        issuer,
        service_accounts: found
            .into_iter()
            .map(|sa| ServiceAccount {
                role_arn: sa
                    .observed
                    .annotations
                    .get(trust::ROLE_ARN_ANNOTATION)
                    .cloned(),
                namespace: sa.namespace,
                name: sa.name,
            })
            .collect(),
    })
}
