//! EKS in the cluster's account: where the cluster's OIDC issuer comes
//! from, and Pod Identity's associations and agent add-on.

use std::collections::BTreeMap;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::iam::Applied;
use super::{AwsError, ClusterClients, Side};
use crate::plan::snapshot::{AGENT_ADDON, AgentAddon, ObservedAssociation};

/// What DescribeCluster tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    pub issuer_url: String,
    pub arn: String,
    /// The API server endpoint, to compare with the context's server.
    pub endpoint: Option<String>,
}

pub async fn describe_cluster(
    clients: &ClusterClients,
    name: &str,
    region: &str,
) -> Result<ClusterFacts, AwsError> {
    let out = match clients.eks.describe_cluster().name(name).send().await {
        Ok(out) => out,
        Err(err) if err.code() == Some("ResourceNotFoundException") => {
            return Err(AwsError::ClusterNotFound {
                name: name.to_string(),
                region: region.to_string(),
                side: Side::Cluster,
            });
        }
        Err(err) => {
            return Err(AwsError::from_sdk(
                "eks:DescribeCluster",
                Side::Cluster,
                &clients.eks,
                err,
            ));
        }
    };
    let cluster = out.cluster().ok_or(AwsError::Incomplete {
        operation: "eks:DescribeCluster",
        what: "cluster",
    })?;
    let issuer_url = cluster
        .identity()
        .and_then(|i| i.oidc())
        .and_then(|o| o.issuer())
        .ok_or(AwsError::Incomplete {
            operation: "eks:DescribeCluster",
            what: "OIDC issuer (identity.oidc.issuer)",
        })?;
    Ok(ClusterFacts {
        issuer_url: issuer_url.to_string(),
        arn: cluster.arn().unwrap_or_default().to_string(),
        endpoint: cluster.endpoint().map(str::to_string),
    })
}

// --- EKS Pod Identity: associations and the agent add-on. ---

type Eks = aws_sdk_eks::Client;

fn eks_error<'a, E, R>(
    eks: &'a Eks,
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> AwsError + 'a
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |err| AwsError::from_sdk(operation, Side::Cluster, eks, err)
}

/// Every association of the cluster, as `(id, namespace, ServiceAccount)`,
/// all pages through the SDK's paginator.
pub async fn list_associations(
    eks: &Eks,
    cluster: &str,
) -> Result<Vec<(String, String, String)>, AwsError> {
    let summaries = eks
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(eks_error(eks, "eks:ListPodIdentityAssociations"))?;
    Ok(summaries
        .iter()
        .map(|s| {
            (
                s.association_id().unwrap_or_default().to_string(),
                s.namespace().unwrap_or_default().to_string(),
                s.service_account().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// One association in detail; None when it is gone.
pub async fn describe_association(
    eks: &Eks,
    cluster: &str,
    id: &str,
) -> Result<Option<ObservedAssociation>, AwsError> {
    let out = eks
        .describe_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await;
    let out = match out {
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        other => other.map_err(eks_error(eks, "eks:DescribePodIdentityAssociation"))?,
    };
    let a = out.association().ok_or(AwsError::Incomplete {
        operation: "eks:DescribePodIdentityAssociation",
        what: "association",
    })?;
    Ok(Some(observed(a)))
}

fn observed(a: &aws_sdk_eks::types::PodIdentityAssociation) -> ObservedAssociation {
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    ObservedAssociation {
        id: text(a.association_id()),
        arn: text(a.association_arn()),
        namespace: text(a.namespace()),
        service_account: text(a.service_account()),
        role_arn: text(a.role_arn()),
        target_role_arn: a.target_role_arn().map(str::to_string),
        session_tags_disabled: a.disable_session_tags().unwrap_or(false),
        external_id: a.external_id().map(str::to_string),
        tags: a
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// What a new or changed association says.
pub struct AssociationSpec<'a> {
    pub role_arn: &'a str,
    pub target_role_arn: &'a str,
    pub session_tags: bool,
}

impl<'a> AssociationSpec<'a> {
    pub fn new(role_arn: &'a str, target_role_arn: &'a str, session_tags: bool) -> Self {
        Self {
            role_arn,
            target_role_arn,
            session_tags,
        }
    }
}

/// Creates the association; EKS refuses a second one for the pair
/// (ResourceInUseException), which is reported, never merged into.
pub async fn create_association(
    eks: &Eks,
    cluster: &str,
    (namespace, service_account): (&str, &str),
    spec: &AssociationSpec<'_>,
    tags: &BTreeMap<String, String>,
) -> Result<Applied, AwsError> {
    eks.create_pod_identity_association()
        .cluster_name(cluster)
        .namespace(namespace)
        .service_account(service_account)
        .role_arn(spec.role_arn)
        .target_role_arn(spec.target_role_arn)
        .disable_session_tags(!spec.session_tags)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(eks_error(eks, "eks:CreatePodIdentityAssociation"))?;
    Ok(Applied::Done)
}

/// Re-describes the association: Some(it) when its tags prove `owner`, None
/// when it is gone; an association of another owner is an error.
async fn owned_association(
    eks: &Eks,
    cluster: &str,
    id: &str,
    owner: &str,
) -> Result<Option<ObservedAssociation>, AwsError> {
    let Some(found) = describe_association(eks, cluster, id).await? else {
        return Ok(None);
    };
    let entity = || {
        format!(
            "Pod Identity association {id} ({}/{})",
            found.namespace, found.service_account
        )
    };
    if crate::inventory::proves(&found.tags, owner) {
        Ok(Some(found))
    } else if crate::trust::is_owned(&found.tags) {
        Err(AwsError::OtherOnboarding {
            entity: entity(),
            name: owner.to_string(),
            other: found
                .tags
                .get(crate::trust::NAME_TAG)
                .cloned()
                .unwrap_or_else(|| "(none)".into()),
        })
    } else {
        Err(AwsError::NotOwned { entity: entity() })
    }
}

/// Changes the association's roles and session tags, after re-checking that
/// it is still `owner`'s (None: `--override-existing-serviceaccounts` takes
/// it over, and `tags` then mark it ours).
pub async fn update_association(
    eks: &Eks,
    cluster: &str,
    id: &str,
    spec: &AssociationSpec<'_>,
    (owner, tags): (Option<&str>, Option<&BTreeMap<String, String>>),
) -> Result<Applied, AwsError> {
    let found = match owner {
        Some(owner) => owned_association(eks, cluster, id, owner).await?,
        None => describe_association(eks, cluster, id).await?,
    };
    let Some(found) = found else {
        return Ok(Applied::Skipped(format!(
            "Pod Identity association {id} is gone (checked right before changing it)"
        )));
    };
    eks.update_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .role_arn(spec.role_arn)
        .target_role_arn(spec.target_role_arn)
        .disable_session_tags(!spec.session_tags)
        .send()
        .await
        .map_err(eks_error(eks, "eks:UpdatePodIdentityAssociation"))?;
    if let Some(tags) = tags {
        eks.tag_resource()
            .resource_arn(&found.arn)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(eks_error(eks, "eks:TagResource"))?;
    }
    Ok(Applied::Done)
}

/// Deletes the association after re-checking that it is still `owner`'s;
/// one already gone is fine.
pub async fn delete_association(
    eks: &Eks,
    cluster: &str,
    id: &str,
    owner: &str,
) -> Result<Applied, AwsError> {
    if owned_association(eks, cluster, id, owner).await?.is_none() {
        return Ok(Applied::Done);
    }
    let result = eks
        .delete_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await;
    match result {
        Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(Applied::Done),
        other => other
            .map(|_| Applied::Done)
            .map_err(eks_error(eks, "eks:DeletePodIdentityAssociation")),
    }
}

/// The agent add-on's state: a refusal or failure is said, not fatal.
pub async fn agent_addon(eks: &Eks, cluster: &str) -> AgentAddon {
    let out = eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(AGENT_ADDON)
        .send()
        .await;
    match out {
        Ok(out) => match out.addon().and_then(|a| a.status()) {
            Some(aws_sdk_eks::types::AddonStatus::Active) => AgentAddon::Active,
            Some(status) => AgentAddon::Other(status.as_str().to_string()),
            None => AgentAddon::Other("unknown".into()),
        },
        Err(err) if err.code() == Some("ResourceNotFoundException") => AgentAddon::Missing,
        Err(err) => AgentAddon::Unknown(
            AwsError::from_sdk("eks:DescribeAddon", Side::Cluster, eks, err).to_string(),
        ),
    }
}

/// How many associations the cluster holds, and in detail those of the
/// ServiceAccounts in `subjects` (described side by side).
pub async fn associations_of(
    eks: &Eks,
    cluster: &str,
    subjects: &[(String, String)],
) -> Result<(usize, Vec<ObservedAssociation>), AwsError> {
    let all = list_associations(eks, cluster).await?;
    let reads = all
        .iter()
        .filter(|(_, ns, sa)| subjects.iter().any(|(s_ns, s_sa)| s_ns == ns && s_sa == sa))
        .map(|(id, _, _)| describe_association(eks, cluster, id));
    let found = futures::future::try_join_all(reads).await?;
    Ok((all.len(), found.into_iter().flatten().collect()))
}
