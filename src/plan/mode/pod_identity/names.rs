//! Pod identity mode's names and descriptions: the association role's
//! default name and the two roles' descriptions, which `list` parses from
//! ListRoles alone.

use crate::trust::{ROLE_DESCRIPTION_PREFIX, TrustScope, scopes_label};

/// Every association role starts with this, so the cluster-side policy can
/// scope `iam:PassRole` and the role writes to `role/km-podid-*`.
pub const CLUSTER_ROLE_PREFIX: &str = "km-podid-";

/// The klanker role's (the target role's) description suffix.
pub const POD_IDENTITY_SUFFIX: &str = "; EKS Pod Identity target from the cluster's account";

/// Recorded in the target role's description with `--disable-session-tags`.
pub const NO_SESSION_TAGS: &str = "; no session tags";

/// The service that assumes the association role for the pods.
pub const SERVICE_PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// The session tags EKS puts on the target role's session, by what they name.
pub const CLUSTER_TAG_KEY: &str = "aws:RequestTag/eks-cluster-arn";
pub const NAMESPACE_TAG_KEY: &str = "aws:RequestTag/kubernetes-namespace";
pub const SERVICE_ACCOUNT_TAG_KEY: &str = "aws:RequestTag/kubernetes-service-account";

/// The association role's name in the cluster account for a registry name.
pub fn default_cluster_role_name(name: &str) -> String {
    format!("{CLUSTER_ROLE_PREFIX}{name}")
}

/// The target role's description, parseable as the other modes' are; it
/// records whether EKS tags the sessions.
pub fn target_role_description(name: &str, scopes: &[TrustScope], session_tags: bool) -> String {
    format!(
        "{ROLE_DESCRIPTION_PREFIX}: Pod Identity trust for cluster {name} ({}){}{POD_IDENTITY_SUFFIX}",
        scopes_label(scopes),
        if session_tags { "" } else { NO_SESSION_TAGS },
    )
}

/// The association role's description, in the cluster's account.
pub fn association_role_description(
    name: &str,
    scopes: &[TrustScope],
    target_role_arn: &str,
) -> String {
    format!(
        "{ROLE_DESCRIPTION_PREFIX}: Pod Identity association role of onboarding {name} ({}); may assume {target_role_arn}",
        scopes_label(scopes)
    )
}
