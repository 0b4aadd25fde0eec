//! What `verify` reads: which onboarding the name is (on proof), then the
//! facts of its chain (IAM, the cluster, a fresh ServiceAccount token).

use std::collections::BTreeMap;

use crate::aws::eks;
use crate::aws::{ClusterClients, Identity, KlankerClients, iam};
use crate::error::Error;
use crate::k8s::Cluster;
use crate::plan::ObservedServiceAccount;
use crate::plan::snapshot::Onboarding;
use crate::store::Document;
use crate::trust::{Issuer, STS_AUDIENCE, token};
use crate::verify::{
    AssociationFacts, Facts, HopFacts, NoToken, ObservedAssociation, ProviderFacts, RoleFacts,
    SecondHop, SubjectAssociation, Target,
};

pub async fn onboarding(
    klanker: &KlankerClients,
    hint: Option<Identity>,
    name: &str,
    config: Document,
) -> Result<Onboarding, Error> {
    let entry = config.get(name);
    let (roles, identity) = tokio::try_join!(
        async { Ok::<_, Error>(iam::list_roles(&klanker.iam).await?) },
        super::klanker_identity(klanker, hint),
    )?;
    let located = super::locate(klanker, name, &roles, entry.as_ref()).await?;
    Ok(Onboarding {
        roles,
        identity,
        located,
        entry,
        config,
    })
}

/// A token kept only to hand to STS; Debug never shows it.
pub struct Token(String);

impl Token {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The chain's facts, with what the signature and drift checks need.
pub struct Chain {
    pub facts: Facts,
    pub token: Option<Token>,
    /// The API server's JWKS, or why it could not be read.
    pub jwks: Result<String, String>,
    /// Other ServiceAccounts annotated with this role.
    pub others: Vec<String>,
}

/// Reads everything the local checks need for one of the target's
/// ServiceAccounts (`subject`). Errors reaching IAM or the cluster become
/// failed links where they are about the chain itself.
pub async fn chain(
    klanker: &KlankerClients,
    cluster_account: Option<&ClusterClients>,
    cluster: &Cluster<'_>,
    whole: &Target,
    subject: &(String, String),
) -> Result<Chain, Error> {
    let target = &whole.for_subject(subject);
    // A second hop: the ServiceAccount's role (the cluster role) is in the cluster's account.
    let (role_iam, side) = match (&target.second_hop, cluster_account) {
        (Some(_), Some(c)) => (&c.iam, crate::aws::Side::Cluster),
        _ => (&klanker.iam, crate::aws::Side::Klanker),
    };
    let second_hop = async {
        match &target.second_hop {
            None => Ok(None),
            Some(hop) => Ok::<_, Error>(Some(
                hop_facts(klanker, role_iam, cluster, target, hop).await?,
            )),
        }
    };
    let (role, (sa, raw_token), others, second_hop) = tokio::try_join!(
        role_facts(role_iam, side, &target.role_name),
        account_and_token(cluster, target),
        others_annotated(cluster, whole),
        second_hop
    )?;
    let claims = raw_token
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|t| token::claims(t).map_err(|e| NoToken::Failed(e.to_string())));
    let issuer = claims
        .as_ref()
        .ok()
        .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
    let jwks = async {
        match &raw_token {
            Ok(_) => cluster.read_jwks().await.map_err(|e| e.to_string()),
            Err(_) => Err("no token to check".to_string()),
        }
    };
    let provider = issuer_provider(role_iam, side, issuer.as_ref());
    let (provider, jwks) = tokio::join!(provider, jwks);
    let provider = provider?;
    // A provider registered with another spelling of the issuer (a trailing
    // slash) is named by its real ARN.
    let provider_arn_for_token = provider.as_ref().map(|p| p.arn.clone()).or_else(|| {
        let account = crate::trust::arn::account_of(&target.role_arn).unwrap_or(&target.account);
        issuer.map(|i| i.provider_arn(&target.partition, account))
    });
    let facts = Facts {
        name: target.name.clone(),
        fix_add: whole.fix_add.clone(),
        role_name: target.role_name.clone(),
        role_arn: target.role_arn.clone(),
        role,
        namespace: target.namespace.clone(),
        service_account: target.service_account.clone(),
        annotations: sa.map(|s| s.annotations),
        token: claims,
        provider,
        provider_arn_for_token,
        operator_policy: target.operator_policy.clone(),
        requested_session: crate::verify::REQUESTED_SESSION,
        second_hop,
    };
    Ok(Chain {
        facts,
        token: raw_token.ok().map(Token),
        jwks,
        others,
    })
}

/// A role as IAM has it, with its attached policies; None when it does not exist.
async fn role_facts(
    iam_client: &aws_sdk_iam::Client,
    side: crate::aws::Side,
    role_name: &str,
) -> Result<Option<RoleFacts>, Error> {
    let found = iam::role_with_policies(iam_client, role_name)
        .await
        .map_err(|e| e.on_side(side))?;
    Ok(found.map(|(role, attached)| RoleFacts {
        arn: role.arn,
        trust_policy: role.trust_policy,
        max_session: role.max_session,
        attached_policies: attached,
    }))
}

/// The target's ServiceAccount, and a token the cluster issues for it
/// (never printed), or why there is none.
async fn account_and_token(
    cluster: &Cluster<'_>,
    target: &Target,
) -> Result<(Option<ObservedServiceAccount>, Result<String, NoToken>), Error> {
    let sa = cluster
        .get_service_account(&target.namespace, &target.service_account)
        .await?;
    let token = match &sa {
        None => Err(NoToken::Failed(format!(
            "ServiceAccount {}/{} does not exist",
            target.namespace, target.service_account
        ))),
        Some(_) => cluster
            .request_token(
                &target.namespace,
                &target.service_account,
                STS_AUDIENCE,
                crate::verify::TOKEN_SECONDS,
            )
            .await
            .map_err(NoToken::from),
    };
    Ok((sa, token))
}

/// Other ServiceAccounts this tool labelled that carry the role: drift
/// only, so a listing that fails hides no link of the chain.
async fn others_annotated(cluster: &Cluster<'_>, whole: &Target) -> Result<Vec<String>, Error> {
    let found = cluster.managed_service_accounts().await.unwrap_or_default();
    let annotated = found.iter().map(|f| {
        let role = f
            .observed
            .annotations
            .get(crate::trust::ROLE_ARN_ANNOTATION);
        (
            f.namespace.as_str(),
            f.name.as_str(),
            role.map(String::as_str),
        )
    });
    Ok(crate::verify::others_annotated(whole, annotated))
}

/// The provider registered for the token's issuer, in the role's account.
async fn issuer_provider(
    iam_client: &aws_sdk_iam::Client,
    side: crate::aws::Side,
    issuer: Option<&Issuer>,
) -> Result<Option<ProviderFacts>, Error> {
    let Some(issuer) = issuer else {
        return Ok(None);
    };
    let found = iam::find_provider(iam_client, issuer)
        .await
        .map_err(|e| e.on_side(side))?;
    Ok(found.map(|p| ProviderFacts {
        arn: p.arn,
        client_ids: p.client_ids,
    }))
}

/// The klanker role, the cluster role's assume policy, and the ConfigMap's
/// profiles as the SDK reads them.
async fn hop_facts(
    klanker: &KlankerClients,
    cluster_iam: &aws_sdk_iam::Client,
    cluster: &Cluster<'_>,
    target: &Target,
    hop: &SecondHop,
) -> Result<HopFacts, Error> {
    let (klanker_role, inline, config_map) = tokio::try_join!(
        role_facts(
            &klanker.iam,
            crate::aws::Side::Klanker,
            &hop.klanker_role_name
        ),
        async {
            match iam::inline_policy_documents(cluster_iam, &target.role_name).await {
                Ok(docs) => Ok(docs),
                // No cluster role: its own check says so.
                Err(crate::aws::AwsError::Service { code, .. }) if code == "NoSuchEntity" => {
                    Ok(Default::default())
                }
                Err(e) => Err(Error::from(e)),
            }
        },
        async {
            Ok::<_, Error>(
                cluster
                    .get_config_map(&target.namespace, &hop.config_map)
                    .await?,
            )
        },
    )?;
    let config_name = config_map
        .as_ref()
        .map(|c| format!("{}/{}", c.namespace, c.name))
        .unwrap_or_else(|| {
            format!(
                "{}/{}",
                target.namespace,
                crate::trust::chain::DEFAULT_CONFIG_MAP
            )
        });
    Ok(HopFacts {
        klanker_role_name: hop.klanker_role_name.clone(),
        klanker_role_arn: hop.klanker_role_arn.clone(),
        klanker_role,
        assume_policy: inline.get(crate::trust::chain::ASSUME_POLICY_NAME).cloned(),
        config_map: config_name,
        profiles: profiles(config_map.as_ref()).await,
    })
}

/// What aws-config makes of the ConfigMap's `config` key: profile ->
/// the settings the chain uses, or why it could not be read.
async fn profiles(
    config_map: Option<&crate::plan::ObservedConfigMap>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    let key = crate::trust::chain::CONFIG_MAP_KEY;
    let text = match config_map {
        None => return Err("it does not exist".to_string()),
        Some(c) => c
            .data
            .get(key)
            .ok_or_else(|| format!("it has no `{key}` key"))?,
    };
    let set = crate::aws::credentials::parse_config_text(text)
        .await
        .map_err(|e| e.to_string())?;
    Ok(set
        .profiles()
        .filter_map(|name| {
            set.get_profile(name).map(|p| {
                let settings = [
                    "role_arn",
                    "source_profile",
                    "web_identity_token_file",
                    "role_session_name",
                ]
                .iter()
                .filter_map(|k| p.get(k).map(|v| (k.to_string(), v.to_string())))
                .collect();
                (name.to_string(), settings)
            })
        })
        .collect())
}

/// Each of the target's ServiceAccounts: whether it exists, and its
/// association (of those read).
async fn subject_associations(
    cluster: &Cluster<'_>,
    target: &Target,
    associations: impl std::future::Future<Output = Result<Vec<ObservedAssociation>, Error>>,
) -> Result<Vec<SubjectAssociation>, Error> {
    let accounts =
        futures::future::try_join_all(target.subjects().into_iter().map(|(ns, sa)| async move {
            let found = cluster.get_service_account(&ns, &sa).await?;
            Ok::<_, Error>((ns, sa, found.is_some()))
        }));
    let (accounts, associations) = tokio::try_join!(accounts, associations)?;
    Ok(accounts
        .into_iter()
        .map(|(namespace, service_account, exists)| SubjectAssociation {
            association: associations
                .iter()
                .find(|a| a.namespace == namespace && a.service_account == service_account)
                .cloned(),
            namespace,
            service_account,
            service_account_exists: exists,
        })
        .collect())
}

/// Everything a Pod Identity onboarding's links need, read side by side:
/// the cluster's ARN, its agent add-on, each ServiceAccount and its
/// association, the association role (and its inline policies) and the
/// target role (the klanker role, the target's second hop).
pub async fn association_facts(
    klanker: &KlankerClients,
    clients: &ClusterClients,
    cluster: &Cluster<'_>,
    cluster_name: &str,
    target: &Target,
) -> Result<AssociationFacts, Error> {
    let on_cluster = |e: crate::aws::AwsError| e.on_side(crate::aws::Side::Cluster);
    let target_role = target
        .second_hop
        .as_ref()
        .map(|h| h.klanker_role_name.clone());
    let target_role_arn = target
        .second_hop
        .as_ref()
        .map(|h| h.klanker_role_arn.clone())
        .unwrap_or_default();
    let described = async {
        let facts = eks::describe_cluster(clients, cluster_name, "").await;
        Ok::<_, Error>(facts.ok().map(|f| f.arn))
    };
    let associations = async {
        let found = eks::associations_of(&clients.eks, cluster_name, &target.subjects()).await;
        Ok::<_, Error>(found.map_err(on_cluster)?.1)
    };
    let inline = async {
        Ok::<_, Error>(
            iam::inline_policy_documents(&clients.iam, &target.role_name)
                .await
                .map_err(on_cluster)?,
        )
    };
    let target_facts = async {
        match &target_role {
            Some(name) => role_facts(&klanker.iam, crate::aws::Side::Klanker, name).await,
            None => Ok(None),
        }
    };
    let (cluster_arn, association_role, inline_policies, target_role, subjects, agent) = tokio::try_join!(
        described,
        role_facts(&clients.iam, crate::aws::Side::Cluster, &target.role_name),
        inline,
        target_facts,
        subject_associations(cluster, target, associations),
        async { Ok(eks::agent_addon(&clients.eks, cluster_name).await) },
    )?;
    Ok(AssociationFacts {
        name: target.name.clone(),
        fix_add: target.fix_add.clone(),
        cluster_name: cluster_name.to_string(),
        cluster_arn,
        agent,
        association_role_arn: target.role_arn.clone(),
        association_role,
        inline_policies,
        target_role_arn,
        target_role,
        operator_policy: target.operator_policy.clone(),
        subjects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(format!("{:?}", Token("secret".into())), "Token(<redacted>)");
    }
}
