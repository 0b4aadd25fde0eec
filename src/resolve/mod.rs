//! The resolve stage (pure): flags, the kubeconfig's context and
//! km-config.yaml become one typed request per command, with every default
//! filled in and every value checked locally. Nothing after this stage
//! reads the command-line arguments.

pub mod add;
pub mod describe;
pub mod fleet;
pub mod list;
pub mod rm;
pub mod verify;

use crate::cli::KlankerArgs;
use crate::inventory;
use crate::kubeconfig::{ContextInfo, KubeconfigError};
use crate::trust::guard::{self, GuardError};
use crate::trust::{Issuer, ValidationError};

/// Why flags, the kubeconfig and km-config.yaml make no request. Every
/// one is bad input (exit 2), except a guard that stops on the wrong cluster.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A flag or argument that real IAM or Kubernetes would reject.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The kubeconfig could not be read, or names no usable context.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// No context points at the onboarding's own cluster.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The context names no EKS cluster and no flag names the issuer.
    #[error(
        "context `{context}` is not an EKS cluster that this tool can recognise (no `aws eks get-token` or `aws-iam-authenticator` exec block, and no cluster ARN), so its OIDC issuer is unknown. Pass --name NAME to read the issuer from the API server's /.well-known/openid-configuration, --issuer-url https://... (the cluster's public service-account issuer), --oidc-provider-arn ARN, or --cluster-name NAME --cluster-region REGION for EKS."
    )]
    NotEks { context: String },
    /// An EKS cluster whose region neither the context nor a flag gives.
    #[error(
        "no EKS cluster region is known for context `{context}`. Pass --cluster-region REGION."
    )]
    NoClusterRegion { context: String },
    /// The mode writes a role in the cluster's account, and no identity for it is known.
    #[error(
        "--mode {mode} creates a role in the cluster's account, and context `{context}` names no AWS identity for that account (it is not an EKS context). Pass --cluster-profile PROFILE for the cluster's account."
    )]
    ClusterRoleNeedsClusterAccount {
        mode: crate::trust::TrustMode,
        context: String,
    },
}

/// The klanker account: which profile, which region, and the account ID it
/// must land in when the admin named one.
#[derive(Debug, Clone)]
pub struct Klanker {
    pub profile: String,
    pub region: String,
    pub account: Option<String>,
}

impl Klanker {
    /// Whether `actual` is the klanker account this run may act in: the
    /// `--klanker-account` flag, km-config.yaml's record (`recorded`), and
    /// never the cluster's own account.
    pub fn check_account(
        &self,
        actual: &str,
        recorded: Option<&str>,
        cluster_account: Option<&str>,
    ) -> Result<(), GuardError> {
        guard::check_klanker_account(
            &self.profile,
            actual,
            &guard::ExpectedAccount {
                flag: self.account.as_deref(),
                recorded,
            },
            cluster_account,
        )
    }

    pub fn resolve(args: &KlankerArgs) -> Result<Self, ResolveError> {
        crate::trust::validate::region(&args.region, "--region")?;
        let account = match &args.klanker_account {
            Some(id) => Some(crate::trust::arn::parse_account(id, "--klanker-account")?),
            None => None,
        };
        Ok(Self {
            profile: args.aws_profile.clone(),
            region: args.region.clone(),
            account,
        })
    }
}

/// The identity that acts in the cluster's account: the EKS source's
/// profile (and the kubeconfig's --role-arn), or `--cluster-profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSide {
    /// None: the default credentials chain, as for DescribeCluster.
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub region: String,
}

impl ClusterSide {
    /// An EKS context always has one (`--cluster-profile` replaces its
    /// exec block's profile); another cluster, or none, only with the flag.
    pub fn of(
        source: Option<&IssuerSource>,
        flag: Option<&str>,
        klanker: &Klanker,
    ) -> Option<Self> {
        match source {
            Some(IssuerSource::Eks {
                region,
                profile,
                role_arn,
                ..
            }) => Some(Self {
                profile: flag.map(str::to_string).or_else(|| profile.clone()),
                role_arn: role_arn.clone(),
                region: region.clone(),
            }),
            _ => flag.map(|p| Self {
                profile: Some(p.to_string()),
                role_arn: None,
                region: klanker.region.clone(),
            }),
        }
    }
}

/// What the context says about the cluster behind it.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub context: String,
    pub cluster_arn: Option<String>,
    pub eks_server: Option<String>,
}

impl Expect {
    pub fn of(ctx: &ContextInfo) -> Self {
        Self {
            context: ctx.context_name.clone(),
            cluster_arn: ctx.cluster_arn.clone(),
            eks_server: ctx
                .server
                .clone()
                .filter(|s| crate::kubeconfig::is_eks_endpoint(s)),
        }
    }
}

/// Where the cluster's issuer comes from.
#[derive(Debug, Clone)]
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
        /// What the context says the cluster is (its cluster ARN, its server
        /// when that is an EKS endpoint): DescribeCluster must agree.
        expect: Expect,
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
                expect: Expect::of(ctx),
            }),
            (None, _) => Some(IssuerSource::Discover),
            (Some(_), None) => None,
        }
    }
}

/// The kubeconfig context to act on for onboarding `name`: one that points
/// at the cluster its role recorded (never another cluster), or, for
/// onboardings that recorded none, `--context` or the current context.
pub fn context_for(
    kubeconfig: &kube::config::Kubeconfig,
    name: &str,
    onboarding: Option<&inventory::Onboarding>,
    explicit: Option<&str>,
) -> Result<Option<String>, ResolveError> {
    let recorded = onboarding.and_then(|o| o.cluster.as_deref());
    let pointing = match recorded {
        Some(cluster) => crate::kubeconfig::contexts_for(
            kubeconfig,
            cluster,
            onboarding.and_then(|o| o.server.as_deref()),
        ),
        None => Vec::new(),
    };
    Ok(guard::choose_context(
        name,
        recorded,
        explicit,
        kubeconfig
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty()),
        &pointing,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn klanker() -> Klanker {
        Klanker {
            profile: "klanker-application".into(),
            region: "us-east-1".into(),
            account: None,
        }
    }

    #[test]
    fn the_cluster_side_is_the_eks_profile_unless_the_flag_names_another() {
        let eks = IssuerSource::Eks {
            name: "dev".into(),
            region: "eu-west-1".into(),
            profile: Some("cluster-admin".into()),
            role_arn: Some("arn:aws:iam::222222222222:role/r".into()),
            expect: Expect::default(),
        };
        let side = ClusterSide::of(Some(&eks), None, &klanker()).unwrap();
        assert_eq!(side.profile.as_deref(), Some("cluster-admin"));
        assert_eq!(side.region, "eu-west-1");
        let side = ClusterSide::of(Some(&eks), Some("other"), &klanker()).unwrap();
        assert_eq!(side.profile.as_deref(), Some("other"));
        assert_eq!(
            side.role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/r")
        );
        // Not EKS, or no context at all: only the flag names one.
        for source in [Some(&IssuerSource::Discover), None] {
            assert_eq!(ClusterSide::of(source, None, &klanker()), None);
            let side = ClusterSide::of(source, Some("other"), &klanker()).unwrap();
            assert_eq!(
                (side.profile.as_deref(), side.region.as_str()),
                (Some("other"), "us-east-1")
            );
        }
    }
}
