//! Pod identity mode's flags: the association role's name and boundary,
//! and whether EKS tags the sessions; chained mode's ConfigMap is refused.

use crate::cli::AddArgs;
use crate::resolve::ResolveError;
use crate::resolve::add::{ClusterRoleRequest, ModeRequest};
use crate::trust::{self, TrustMode};

/// Pod identity mode's names, checked.
pub fn resolve(args: &AddArgs, name: &str) -> Result<ModeRequest, ResolveError> {
    if args.config_map_name.is_some() {
        return Err(trust::ValidationError::new(
            "--config-map-name",
            "",
            "pod-identity mode writes no ConfigMap: EKS hands pods their credentials",
            "Drop the flag, or use --mode chained.",
        )
        .into());
    }
    // EKS names one ServiceAccount per association: a pattern names none.
    if let Some(wide) = args
        .service_accounts
        .iter()
        .find(|s| s.contains(['*', '?']))
    {
        return Err(trust::ValidationError::new(
            "--service-account",
            wide,
            "an EKS Pod Identity association names one namespace and one ServiceAccount, never a pattern",
            "Name each ServiceAccount with its own --service-account, or use --mode mirror for a wildcard trust.",
        )
        .into());
    }
    if args
        .namespace
        .as_deref()
        .is_some_and(|n| n.contains(['*', '?']))
    {
        return Err(trust::ValidationError::new(
            "--namespace",
            args.namespace.clone().unwrap_or_default(),
            "an EKS Pod Identity association names one namespace, never a pattern",
            "Name the namespace, or use --mode mirror for a wildcard trust.",
        )
        .into());
    }
    let cluster_role_name = crate::plan::mode::cluster_role::resolve_name(
        args,
        super::names::default_cluster_role_name(name),
    )?;
    Ok(ModeRequest {
        kind: TrustMode::PodIdentity,
        cluster_role: Some(ClusterRoleRequest {
            cluster_role_name,
            config_map: None,
            cluster_permissions_boundary: args.cluster_permissions_boundary.clone(),
        }),
        session_tags: !args.disable_session_tags,
    })
}
