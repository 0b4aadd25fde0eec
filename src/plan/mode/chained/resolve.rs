//! Chained mode's flags: role A's name, the ConfigMap and role A's boundary.

use crate::cli::AddArgs;
use crate::resolve::ResolveError;
use crate::resolve::add::{ClusterRoleRequest, ModeRequest};
use crate::trust::{self, TrustMode, validate};

/// Chained mode's names, checked.
pub fn resolve(args: &AddArgs, name: &str) -> Result<ModeRequest, ResolveError> {
    validate::role_session_name(name, "--name")?;
    let cluster_role_name = match &args.cluster_role_name {
        Some(r) => {
            validate::role_name(r, "--cluster-role-name")?;
            r.clone()
        }
        None => {
            let r = super::names::default_cluster_role_name(name);
            validate::role_name(&r, "--name")?;
            r
        }
    };
    let config_map = args
        .config_map_name
        .clone()
        .unwrap_or_else(|| trust::chain::DEFAULT_CONFIG_MAP.to_string());
    validate::config_map_name(&config_map)?;
    if let Some(b) = &args.cluster_permissions_boundary {
        trust::arn::parse_policy_arn(b, "--cluster-permissions-boundary")?;
    }
    if args.role_name.as_deref() == Some(cluster_role_name.as_str()) {
        return Err(trust::ValidationError::new(
            "--cluster-role-name",
            &cluster_role_name,
            "it is the same as --role-name",
            "Give the two roles different names; they live in different accounts but are named apart so `list` and the policies can tell them apart.",
        )
        .into());
    }
    Ok(ModeRequest {
        kind: TrustMode::Chained,
        cluster_role: Some(ClusterRoleRequest {
            cluster_role_name,
            config_map,
            cluster_permissions_boundary: args.cluster_permissions_boundary.clone(),
        }),
    })
}
