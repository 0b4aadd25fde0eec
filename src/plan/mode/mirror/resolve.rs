//! Mirror mode takes no flags of its own, and refuses chained mode's.

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
    ] {
        if given {
            return Err(trust::ValidationError::new(
                flag,
                "",
                "it names a piece of chained mode",
                "Add --mode chained, or drop the flag.",
            )
            .into());
        }
    }
    Ok(ModeRequest {
        kind: TrustMode::Mirror,
        cluster_role: None,
    })
}
