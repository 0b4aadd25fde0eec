//! What every mode with a cluster role (a role in the cluster's account)
//! checks alike before any write: an identity there, one partition, two
//! accounts, and the role's permissions boundary.

use super::ModeError;
use crate::plan::PlanError;
use crate::plan::snapshot::{ClusterAccount, LeftClusterRole};
use crate::resolve::add::{AddRequest, ClusterRoleRequest};
use crate::trust::{Identity, TrustMode};

/// A cluster-role mode's refusals, before any write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClusterRoleError {
    /// The role is written in the cluster's account, and no identity there was read.
    #[error(
        "--mode {mode} creates a role in the cluster's account, and no AWS identity for that account is known for context `{context}`. Pass --cluster-profile PROFILE for the cluster's account."
    )]
    NoClusterIdentity { mode: TrustMode, context: String },
    /// The role is created under a permissions boundary that does not exist.
    #[error(
        "permissions boundary {arn} does not exist in the cluster's account {account}: {mode} mode creates role {role} under it, so that no inline policy can give that role more than assuming klanker roles. Create it first: `kubectl klanker-trust policy --for cluster-boundary --mode {mode} > boundary.json`, then `aws iam create-policy --policy-name {name} --policy-document file://boundary.json` with the cluster account's profile; or pass --cluster-permissions-boundary ARN."
    )]
    BoundaryMissing {
        mode: TrustMode,
        arn: String,
        name: String,
        account: String,
        role: String,
    },
    /// The cluster's account and the klanker account are in different partitions.
    #[error(
        "the cluster's account is in partition {cluster} and the klanker account in {klanker}: a role can only assume a role of its own partition, so {mode} mode cannot link them. Use mirror mode (--mode mirror)."
    )]
    AcrossPartitions {
        mode: TrustMode,
        cluster: String,
        klanker: String,
    },
    /// The cluster-side identity acts in the klanker account itself.
    #[error(
        "the cluster-side identity acts in account {account}, which is the klanker account: {mode} mode puts role {role} in the cluster's own account, never in the klanker account. Nothing was changed. Pass --cluster-profile with a profile of the cluster's account."
    )]
    ClusterSideIsKlanker {
        mode: TrustMode,
        account: String,
        role: String,
    },
    /// `--cluster-permissions-boundary` names a policy of another account.
    #[error(
        "--cluster-permissions-boundary {arn} is not a policy of the cluster's account {account}: IAM only sets a boundary of the role's own account. Pass a policy ARN of account {account}."
    )]
    BoundaryElsewhere { arn: String, account: String },
}

impl ClusterRoleError {
    /// A flag to change (exit 2), rather than something to create first.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ClusterRoleError::BoundaryMissing { .. })
    }
}

impl From<ClusterRoleError> for PlanError {
    fn from(e: ClusterRoleError) -> Self {
        PlanError::Mode(ModeError::ClusterRole(e))
    }
}

/// The cluster's account as read, checked: it was read, it shares the
/// klanker account's partition, and it is another account.
pub fn checked_side<'a>(
    mode: TrustMode,
    req: &AddRequest,
    side: Option<&'a ClusterAccount>,
    klanker: &Identity,
    role: &str,
) -> Result<&'a ClusterAccount, PlanError> {
    let Some(side) = side else {
        return Err(ClusterRoleError::NoClusterIdentity {
            mode,
            context: req.context.context_name.clone(),
        }
        .into());
    };
    // AssumeRole never crosses partitions: IAM would refuse the klanker role's trust.
    if side.identity.partition != klanker.partition {
        return Err(ClusterRoleError::AcrossPartitions {
            mode,
            cluster: side.identity.partition.clone(),
            klanker: klanker.partition.clone(),
        }
        .into());
    }
    if side.identity.account == klanker.account {
        return Err(ClusterRoleError::ClusterSideIsKlanker {
            mode,
            account: klanker.account.clone(),
            role: role.to_string(),
        }
        .into());
    }
    Ok(side)
}

/// The cluster role's permissions boundary: it must exist, in the role's own account.
pub fn boundary(
    mode: TrustMode,
    names: &ClusterRoleRequest,
    side: &ClusterAccount,
) -> Result<Option<String>, PlanError> {
    let account = &side.identity.account;
    match &side.boundary {
        Some((arn, _)) if crate::trust::arn::account_of(arn) != Some(account.as_str()) => {
            Err(ClusterRoleError::BoundaryElsewhere {
                arn: arn.clone(),
                account: account.clone(),
            }
            .into())
        }
        Some((arn, true)) => Ok(Some(arn.clone())),
        Some((arn, false)) => Err(ClusterRoleError::BoundaryMissing {
            mode,
            arn: arn.clone(),
            name: arn.rsplit('/').next().unwrap_or_default().to_string(),
            account: account.clone(),
            role: names.cluster_role_name.clone(),
        }
        .into()),
        None => Ok(names.cluster_permissions_boundary.clone()),
    }
}

/// The cluster role another mode left behind, as `plan_leave` removes it:
/// the previous mode's role read beside this run's, or, when this run asks
/// for no cluster role, the one read; only when `made_by_mode` says the
/// leaving mode wrote it (two modes have cluster roles).
pub fn left_role(
    req: &AddRequest,
    side: &ClusterAccount,
    made_by_mode: impl Fn(&crate::plan::Observed) -> bool,
) -> Option<LeftClusterRole> {
    let left = match (&side.left, req.mode.cluster_role()) {
        (Some(left), _) => left.clone(),
        (None, None) => LeftClusterRole {
            observed: side.observed.clone(),
            instance_profiles: side.instance_profiles.clone(),
            others_trusting_provider: side.others_trusting_provider.clone(),
        },
        (None, Some(_)) => return None,
    };
    (left.observed.role.is_some() && made_by_mode(&left.observed)).then_some(left)
}

/// The cluster role's name: `--cluster-role-name`, else `default`, checked,
/// and apart from the klanker role's.
pub fn resolve_name(
    args: &crate::cli::AddArgs,
    default: String,
) -> Result<String, crate::resolve::ResolveError> {
    use crate::trust::{ValidationError, validate};
    let name = match &args.cluster_role_name {
        Some(r) => {
            validate::role_name(r, "--cluster-role-name")?;
            r.clone()
        }
        None => {
            validate::role_name(&default, "--name")?;
            default
        }
    };
    if let Some(b) = &args.cluster_permissions_boundary {
        crate::trust::arn::parse_policy_arn(b, "--cluster-permissions-boundary")?;
    }
    if args.role_name.as_deref() == Some(name.as_str()) {
        return Err(ValidationError::new(
            "--cluster-role-name",
            &name,
            "it is the same as --role-name",
            "Give the two roles different names; they live in different accounts but are named apart so `list` and the policies can tell them apart.",
        )
        .into());
    }
    Ok(name)
}

/// The request's cluster-role names, as a mode with a cluster role plans
/// them; a request resolved for another mode names none.
pub fn names_of(mode: TrustMode, req: &AddRequest) -> Result<&ClusterRoleRequest, PlanError> {
    req.mode.cluster_role().ok_or_else(|| {
        ClusterRoleError::NoClusterIdentity {
            mode,
            context: req.context.context_name.clone(),
        }
        .into()
    })
}

/// Recognising: the cluster role, when the klanker role's trust no longer
/// names it, is km-config.yaml's.
pub fn recover(o: &mut crate::inventory::Onboarding, entry: Option<&crate::store::ClusterEntry>) {
    if o.cluster_role_arn.is_none() {
        o.cluster_role_arn = entry.and_then(|e| e.cluster_role_arn.clone());
    }
}
