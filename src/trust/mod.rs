//! Pure logic of the trust: names, ARNs, issuers, trust policy documents.
//! No I/O here, so all of it is unit-tested.

pub mod arn;
pub mod chain;
pub mod conditions;
pub mod document;
pub mod guard;
pub mod policy;
pub mod token;
pub mod validate;

pub use arn::{EksClusterArn, Issuer, OidcProviderArn};
pub use policy::{STS_AUDIENCE, TrustScope};
pub use validate::ValidationError;

/// Tag key marking IAM entities this tool created (and may therefore change or delete).
pub const MANAGED_BY_TAG: &str = "klanker-trust/managed-by";
pub const MANAGED_BY_VALUE: &str = "kubectl-klanker-trust";
/// Tag key recording the registry name on the role.
pub const NAME_TAG: &str = "klanker-trust/name";
/// Tag keys recording the cluster the onboarding was made from: the EKS
/// cluster ARN (or, for other clusters, the API server URL), and the API
/// server URL. `rm` and `verify` act on that cluster only.
pub const CLUSTER_TAG: &str = "klanker-trust/cluster";
pub const SERVER_TAG: &str = "klanker-trust/server";
/// Tag key recording the issuer the onboarding is bound to, whatever the
/// mode (a klanker role reached through a cluster role names no provider
/// in its trust).
pub const ISSUER_TAG: &str = "klanker-trust/issuer";
/// The ConfigMap the onboarding wrote, when its mode writes one (`--config-map-name`),
/// so `rm` and `verify` read it by name (the printed RBAC grants no list).
pub const CONFIG_MAP_TAG: &str = "klanker-trust/config-map";
/// The EKS Pod Identity associations the onboarding made, space-separated
/// in ServiceAccount order, so `list` names them from IAM alone.
pub const ASSOCIATIONS_TAG: &str = "klanker-trust/associations";
/// Annotation recording that this tool created the ServiceAccount. Applied
/// by our field manager only when the object did not exist; see
/// `plan::ServiceAccountOwnership` for why it, read with managedFields, is the record.
pub const CREATED_BY_ANNOTATION: &str = "klanker-trust/created-by";
/// Label on the ServiceAccount, and the server-side apply field manager.
pub const FIELD_MANAGER: &str = "kubectl-klanker-trust";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
pub const TOKEN_EXPIRATION_ANNOTATION: &str = "eks.amazonaws.com/token-expiration";
/// Start of the description of every role this tool creates; `list` filters on it.
pub const ROLE_DESCRIPTION_PREFIX: &str = "Managed by kubectl-klanker-trust";

/// kubectl's namespace when neither a flag nor the context names one.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The shared operator policy every onboarding's role gets by default.
pub const OPERATOR_POLICY: &str = "km-operator-policy";

/// How `--register-oidc-provider` treats the klanker account's providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterMode {
    /// Reuse the provider if the issuer is registered, else create it.
    Auto,
    /// Create the provider; fail if it is already registered.
    True,
    /// Require an existing provider; never create one.
    False,
}

/// How an onboarding trusts the cluster (`--mode`). Mirror registers the
/// cluster's issuer as an OIDC provider in the klanker account; chained
/// keeps the web-identity role (`km-irsa-NAME`) in the cluster's own account
/// and lets the klanker role trust that role, so the klanker account needs
/// no OIDC provider per cluster; pod identity has EKS hand pods an
/// association role in the cluster's account that assumes the klanker role.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TrustMode {
    /// The issuer is mirrored as an OIDC provider in the klanker account,
    /// and the klanker role trusts it directly.
    #[default]
    Mirror,
    /// The pod's IRSA role lives in the cluster's account, and the klanker
    /// role trusts that role (AssumeRole chaining); no provider in the
    /// klanker account.
    Chained,
    /// EKS Pod Identity: an association hands pods a role in the cluster's
    /// account (the association role), which assumes the klanker role as
    /// its target role; no provider anywhere, no annotation.
    #[serde(rename = "pod-identity")]
    PodIdentity,
}

impl TrustMode {
    /// Every mode, for what must ask each one (leaving the others). Pod
    /// identity first: its roles have the narrowest shapes to recognise
    /// (mirror reads any other trust as its own, and chained's klanker
    /// trust names a cluster role as the target role's does).
    pub const ALL: [TrustMode; 3] = [
        TrustMode::PodIdentity,
        TrustMode::Mirror,
        TrustMode::Chained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrustMode::Mirror => "mirror",
            TrustMode::Chained => "chained",
            TrustMode::PodIdentity => "pod-identity",
        }
    }
}

impl std::fmt::Display for TrustMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role's ARN in an account.
pub fn role_arn(partition: &str, account: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// The operator policy's ARN in an account.
pub fn operator_policy_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy/{OPERATOR_POLICY}")
}

/// Role name for a registry name, as the original `km cluster add` names it.
pub fn default_role_name(name: &str) -> String {
    format!("km-cluster-{name}")
}

/// Description suffixes recording whether the role's OIDC provider was
/// created by this tool, as seen when the role was written. `list` reads
/// ownership from ListRoles alone with it; destructive steps still check the
/// provider's own tag.
pub const PROVIDER_OWNED_SUFFIX: &str = "; provider created by this tool";
pub const PROVIDER_FOREIGN_SUFFIX: &str = "; provider pre-existing";

/// The role description: human-readable and parseable by `list` from ListRoles alone.
pub fn role_description(name: &str, scope: &TrustScope, provider_owned: bool) -> String {
    role_description_for(name, std::slice::from_ref(scope), provider_owned)
}

/// The description for a trust of several ServiceAccounts: the first, and
/// how many more (` +N more`), so that `list` can tell a `sub` added by hand
/// from one the tool wrote. One ServiceAccount gives [`role_description`]'s text.
pub fn role_description_for(name: &str, scopes: &[TrustScope], provider_owned: bool) -> String {
    format!(
        "{ROLE_DESCRIPTION_PREFIX}: IRSA trust for cluster {name} ({}){}",
        scopes_label(scopes),
        if provider_owned {
            PROVIDER_OWNED_SUFFIX
        } else {
            PROVIDER_FOREIGN_SUFFIX
        }
    )
}

/// `ns/first`, and ` +N more` for several.
pub fn scopes_label(scopes: &[TrustScope]) -> String {
    match scopes.split_first() {
        Some((first, rest)) => format!(
            "{}/{}{}",
            first.namespace_label(),
            first.service_account,
            match rest.len() {
                0 => String::new(),
                n => format!(" +{n} more"),
            }
        ),
        None => "?/?".to_string(),
    }
}

/// The account (and partition) an identity acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub partition: String,
    pub account: String,
}

/// Which of `arns` is the provider for `issuer`. Provider ARNs embed the
/// issuer (hosts compare case-insensitively, paths exactly), so the list call
/// alone answers it.
pub fn matching_provider(arns: &[String], issuer: &Issuer) -> Option<String> {
    arns.iter()
        .find(|arn| {
            arn::OidcProviderArn::parse(arn, "provider ARN").is_ok_and(|p| &p.issuer == issuer)
        })
        .cloned()
}

/// Whether the tags say this tool made the object.
pub fn is_owned(tags: &std::collections::BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_modes_are_lowercase_and_mirror_by_default() {
        use clap::ValueEnum;
        assert_eq!(TrustMode::default(), TrustMode::Mirror);
        assert_eq!(
            TrustMode::from_str("chained", false),
            Ok(TrustMode::Chained)
        );
        assert!(TrustMode::from_str("Chained", false).is_err());
        assert_eq!(
            serde_json::to_string(&TrustMode::Chained).unwrap(),
            "\"chained\""
        );
        let mirror: TrustMode = serde_yaml::from_str("mirror").unwrap();
        assert_eq!(mirror, TrustMode::Mirror);
    }

    #[test]
    fn arns_of_roles_and_the_operator_policy() {
        assert_eq!(
            role_arn("aws-cn", "333333333333", "km-cluster-dev"),
            "arn:aws-cn:iam::333333333333:role/km-cluster-dev"
        );
        assert_eq!(
            operator_policy_arn("aws", "333333333333"),
            "arn:aws:iam::333333333333:policy/km-operator-policy"
        );
    }

    #[test]
    fn role_names_and_descriptions() {
        assert_eq!(default_role_name("dev-use1-0"), "km-cluster-dev-use1-0");
        assert_eq!(
            role_description("dev", &TrustScope::new("ai-pods", "km"), true),
            "Managed by kubectl-klanker-trust: IRSA trust for cluster dev (ai-pods/km); provider created by this tool"
        );
        assert!(
            role_description("dev", &TrustScope::new("*", "km"), false)
                .ends_with("(*/km); provider pre-existing")
        );
    }
}
