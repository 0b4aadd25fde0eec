//! Where a cluster's OIDC issuer comes from: flags, EKS DescribeCluster with
//! the cluster account's credentials, or the API server's discovery
//! document. Shared by `add` and by `rm` (to find a provider a failed `add`
//! left behind).

use crate::aws::{self, ClusterClients, eks};
use crate::error::Error;
use crate::k8s;
use crate::plan::snapshot::Resolved;
use crate::resolve::{ClusterSide, IssuerSource};
use crate::trust::{self, Issuer};

/// Clients acting in the cluster's account: its profile, then the
/// kubeconfig's --role-arn when the exec block names one.
pub async fn cluster_clients(
    side: &ClusterSide,
    access: &aws::Access,
    verbose: bool,
) -> Result<ClusterClients, Error> {
    let mut config = aws::load_config(
        side.profile.as_deref(),
        &side.region,
        access,
        aws::Side::Cluster,
    )
    .await?;
    if let Some(role) = &side.role_arn {
        config = aws::assume_role(&config, role).await;
        access.session.record(
            aws::Side::Cluster,
            format!("{role} (the kubeconfig's --role-arn)"),
        );
    }
    let (profile, role) = (side.profile.as_deref(), side.role_arn.as_deref());
    let reads = access.reads_of(aws::Side::Cluster, profile, role, &side.region);
    Ok(ClusterClients::new(&config, verbose, reads))
}

/// The cluster-side identity must act in the account of the role it
/// reaches (role A): a profile of another account would leave that role
/// and its provider behind, unrecorded.
pub async fn check_cluster_side(clients: &ClusterClients, role: &str) -> Result<(), Error> {
    let Some(expected) = crate::trust::arn::account_of(role) else {
        return Ok(());
    };
    let (account, caller) = crate::aws::iam::caller_identity(&clients.sts)
        .await
        .map_err(|e| e.on_side(aws::Side::Cluster))?;
    if account != expected {
        return Err(Error::ClusterSideWrongAccount {
            identity: caller,
            actual: account,
            cluster: expected.to_string(),
            role: role.rsplit('/').next().unwrap_or(role).to_string(),
        });
    }
    Ok(())
}

/// The issuer and, where known, the cluster's account.
pub async fn resolve_issuer(
    source: &IssuerSource,
    access: &aws::Access,
    kube_client: Option<&kube::Client>,
    context: &str,
    verbose: bool,
) -> Result<Resolved, Error> {
    match source {
        IssuerSource::Discover => {
            let Some(client) = kube_client else {
                return Err(crate::resolve::ResolveError::NotEks {
                    context: context.to_string(),
                }
                .into());
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
            Ok(Resolved {
                issuer,
                cluster_account: None,
                cluster_arn: None,
                discovered: true,
            })
        }
        IssuerSource::Given {
            issuer,
            cluster_account,
        } => Ok(Resolved {
            issuer: issuer.clone(),
            cluster_account: cluster_account.clone(),
            cluster_arn: None,
            discovered: false,
        }),
        IssuerSource::Eks {
            name,
            region,
            profile,
            role_arn,
            expect,
        } => {
            let side = ClusterSide {
                profile: profile.clone(),
                role_arn: role_arn.clone(),
                region: region.clone(),
            };
            let clients = cluster_clients(&side, access, verbose).await?;
            let facts = eks::describe_cluster(&clients, name, region).await?;
            crate::trust::guard::check_described_cluster(
                &expect.context,
                expect.cluster_arn.as_deref(),
                expect.eks_server.as_deref(),
                &facts.arn,
                facts.endpoint.as_deref(),
            )?;
            let issuer =
                Issuer::parse(&facts.issuer_url, "issuer").map_err(|e| Error::BadIssuer {
                    issuer: facts.issuer_url.clone(),
                    problem: e.problem,
                })?;
            let account = trust::arn::account_of(&facts.arn).map(str::to_string);
            Ok(Resolved {
                issuer,
                cluster_account: account,
                cluster_arn: Some(facts.arn).filter(|a| !a.is_empty()),
                discovered: false,
            })
        }
    }
}
