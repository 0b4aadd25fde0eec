//! Mirror mode takes no flags of its own, and refuses the other modes'.

use crate::cli::AddArgs;
use crate::resolve::ResolveError;
use crate::resolve::add::ModeRequest;
use crate::trust::{self, TrustMode};

/// Mirror mode's request: the cluster-account flags name nothing here.
pub fn resolve(args: &AddArgs) -> Result<ModeRequest, ResolveError> {
    for (flag, given) in [
        ("--cluster-role-name", args.cluster_role_name.is_some()),
        ("--config-map-name", args.config_map_name.is_some()),
        (
            "--cluster-permissions-boundary",
            args.cluster_permissions_boundary.is_some(),
        ),
        ("--disable-session-tags", args.disable_session_tags),
    ] {
        if given {
            return Err(trust::ValidationError::new(
                flag,
                "",
                "it names a piece of another mode (chained or pod-identity)",
                "Add --mode chained or --mode pod-identity, or drop the flag.",
            )
            .into());
        }
    }
    Ok(ModeRequest {
        kind: TrustMode::Mirror,
        cluster_role: None,
        session_tags: false,
    })
}
