//! Chained mode's flags: role A's name, the ConfigMap and role A's boundary.

use crate::cli::AddArgs;
use crate::resolve::ResolveError;
use crate::resolve::add::{ClusterRoleRequest, ModeRequest};
use crate::trust::{self, TrustMode, validate};

/// Chained mode's names, checked.
pub fn resolve(args: &AddArgs, name: &str) -> Result<ModeRequest, ResolveError> {
    validate::role_session_name(name, "--name")?;
    if args.disable_session_tags {
        return Err(trust::ValidationError::new(
            "--disable-session-tags",
            "",
            "chained mode's roles are assumed by the pods themselves, which send no session tags",
            "Drop the flag, or add --mode pod-identity.",
        )
        .into());
    }
    let cluster_role_name = crate::plan::mode::cluster_role::resolve_name(
        args,
        super::names::default_cluster_role_name(name),
    )?;
    let config_map = args
        .config_map_name
        .clone()
        .unwrap_or_else(|| trust::chain::DEFAULT_CONFIG_MAP.to_string());
    validate::config_map_name(&config_map)?;
    Ok(ModeRequest {
        kind: TrustMode::Chained,
        cluster_role: Some(ClusterRoleRequest {
            cluster_role_name,
            config_map: Some(config_map),
            cluster_permissions_boundary: args.cluster_permissions_boundary.clone(),
        }),
        session_tags: false,
    })
}
