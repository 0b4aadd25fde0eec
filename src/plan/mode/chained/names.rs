//! Chained mode's names and descriptions: role A's default name and the two
//! roles' descriptions, which `list` parses from ListRoles alone.

use crate::trust::{ROLE_DESCRIPTION_PREFIX, TrustScope, scopes_label};

/// Every chained-mode role in the cluster account starts with this, so the
/// cluster-side policy can be scoped to `role/km-irsa-*`.
pub const CLUSTER_ROLE_PREFIX: &str = "km-irsa-";

/// The klanker role's description suffix: trusted from the cluster's
/// account, no provider here.
pub const CHAINED_SUFFIX: &str = "; chained from the cluster's account";

/// Role A's name in the cluster account for a registry name.
pub fn default_cluster_role_name(name: &str) -> String {
    format!("{CLUSTER_ROLE_PREFIX}{name}")
}

/// The klanker role's (role B's) description, parseable as the mirror one
/// is (`(ns/first +N more)` for several ServiceAccounts).
pub fn chained_role_description(name: &str, scopes: &[TrustScope]) -> String {
    format!(
        "{ROLE_DESCRIPTION_PREFIX}: IRSA trust for cluster {name} ({}){CHAINED_SUFFIX}",
        scopes_label(scopes)
    )
}

/// Role A's description, in the cluster's account.
pub fn cluster_role_description(
    name: &str,
    scopes: &[TrustScope],
    klanker_role_arn: &str,
) -> String {
    format!(
        "{ROLE_DESCRIPTION_PREFIX}: IRSA role of chained onboarding {name} ({}); may assume {klanker_role_arn}",
        scopes_label(scopes)
    )
}
