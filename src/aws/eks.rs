//! EKS in the cluster's account: where the cluster's OIDC issuer comes from.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{AwsError, ClusterClients, Side};

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
