//! What `describe` reads, read-only: the role NAME's tags prove (with its
//! trust policy and attached policies), the provider its trust names, and
//! the ServiceAccounts in the onboarding's cluster that carry the role.

use std::collections::BTreeSet;

use crate::aws::{KlankerClients, iam};
use crate::k8s::Cluster;
use crate::plan::{ObservedProvider, ObservedRole, ObservedServiceAccount};
use crate::trust::ROLE_ARN_ANNOTATION;
use crate::verify::Target;

/// The provider the onboarding's trust names, and whether it exists.
pub enum Provider {
    /// No provider ARN is known (no proven role, no km-config.yaml entry).
    Unknown,
    Missing(String),
    Found(ObservedProvider),
}

pub async fn role(
    klanker: &KlankerClients,
    role_name: &str,
) -> Result<Option<(ObservedRole, BTreeSet<String>)>, crate::error::Error> {
    Ok(iam::role_with_policies(&klanker.iam, role_name).await?)
}

pub async fn provider(
    klanker: &KlankerClients,
    arn: Option<&str>,
) -> Result<Provider, crate::error::Error> {
    let Some(arn) = arn else {
        return Ok(Provider::Unknown);
    };
    let registered = iam::list_providers(&klanker.iam).await?;
    match registered.iter().any(|r| r == arn) {
        true => Ok(Provider::Found(
            iam::describe_provider(&klanker.iam, arn).await?,
        )),
        false => Ok(Provider::Missing(arn.to_string())),
    }
}

/// A ServiceAccount of the onboarding's cluster as `describe` shows it.
pub struct SeenAccount {
    pub namespace: String,
    pub name: String,
    pub observed: ObservedServiceAccount,
}

/// The trusted ServiceAccount (if it exists), then every other one this
/// tool labelled that is annotated with the role.
pub async fn service_accounts(
    cluster: &Cluster<'_>,
    target: &Target,
) -> Result<Vec<SeenAccount>, crate::error::Error> {
    let (subject, managed) = tokio::try_join!(
        cluster.get_service_account(&target.namespace, &target.service_account),
        cluster.managed_service_accounts(),
    )?;
    let mut seen: Vec<SeenAccount> = subject
        .map(|observed| SeenAccount {
            namespace: target.namespace.clone(),
            name: target.service_account.clone(),
            observed,
        })
        .into_iter()
        .collect();
    for found in managed {
        let same = found.namespace == target.namespace && found.name == target.service_account;
        let annotated =
            found.observed.annotations.get(ROLE_ARN_ANNOTATION) == Some(&target.role_arn);
        if !same && annotated {
            seen.push(SeenAccount {
                namespace: found.namespace,
                name: found.name,
                observed: found.observed,
            });
        }
    }
    Ok(seen)
}
