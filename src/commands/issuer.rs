//! Where a cluster's OIDC issuer comes from: flags, EKS DescribeCluster with
//! the cluster account's credentials, or the API server's discovery
//! document. Shared by `add` and by `rm` (to find a provider a failed `add`
//! left behind).

use crate::aws::{self, ClusterClients, eks};
use crate::error::Error;
use crate::k8s;
use crate::kubeconfig::ContextInfo;
use crate::trust::{self, Issuer};

/// Where the cluster's issuer comes from.
pub enum IssuerSource {
    Given {
        issuer: Issuer,
        cluster_account: Option<String>,
    },
    Eks {
        name: String,
        region: String,
        profile: Option<String>,
        role_arn: Option<String>,
    },
    /// Not EKS: ask the API server's OIDC discovery document.
    Discover,
}

impl IssuerSource {
    /// What the context alone says (no flags): EKS from its exec block or
    /// ARN, else discovery through the API server.
    pub fn from_context(ctx: &ContextInfo) -> Option<IssuerSource> {
        match (&ctx.eks.cluster_name, &ctx.eks.region) {
            (Some(name), Some(region)) => Some(IssuerSource::Eks {
                name: name.clone(),
                region: region.clone(),
                profile: ctx.eks.profile.clone(),
                role_arn: ctx.eks.role_arn.clone(),
            }),
            (None, _) => Some(IssuerSource::Discover),
            (Some(_), None) => None,
        }
    }
}

/// The issuer and, where known, the cluster's account.
pub async fn resolve_issuer(
    source: &IssuerSource,
    http: &aws_smithy_runtime_api::client::http::SharedHttpClient,
    kube_client: Option<&kube::Client>,
    context: &str,
    timeout: std::time::Duration,
    verbose: bool,
) -> Result<(Issuer, Option<String>), Error> {
    match source {
        IssuerSource::Discover => {
            let Some(client) = kube_client else {
                return Err(Error::NotEks {
                    context: context.to_string(),
                });
            };
            let url = k8s::discover_issuer(client).await?;
            let issuer = Issuer::parse(&url, "issuer").map_err(|e| Error::BadIssuer {
                issuer: url.clone(),
                problem: e.problem,
            })?;
            if !issuer.is_public() {
                return Err(Error::BadIssuer {
                    issuer: url,
                    problem: format!(
                        "it is cluster-internal, so STS cannot fetch its keys. Publish the issuer (e.g. an S3-hosted discovery document) and pass it with --issuer-url; context `{context}` is not EKS"
                    ),
                });
            }
            eprintln!(
                "OIDC issuer discovered from the API server: {}",
                issuer.url()
            );
            Ok((issuer, None))
        }
        IssuerSource::Given {
            issuer,
            cluster_account,
        } => Ok((issuer.clone(), cluster_account.clone())),
        IssuerSource::Eks {
            name,
            region,
            profile,
            role_arn,
        } => {
            let mut config = aws::load_config(profile.as_deref(), region, http, timeout).await;
            if let Some(role) = role_arn {
                config = aws::assume_role(&config, role).await;
            }
            let clients = ClusterClients::new(&config, verbose);
            let facts = eks::describe_cluster(&clients, name, region).await?;
            let issuer =
                Issuer::parse(&facts.issuer_url, "issuer").map_err(|e| Error::BadIssuer {
                    issuer: facts.issuer_url.clone(),
                    problem: e.problem,
                })?;
            let account = trust::arn::account_of(&facts.arn).map(str::to_string);
            Ok((issuer, account))
        }
    }
}
