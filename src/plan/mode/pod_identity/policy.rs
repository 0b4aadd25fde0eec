//! Pod identity mode's part of `policy`: what the cluster-account identity
//! may do with the association roles (km-podid-*), this cluster's Pod
//! Identity associations and its agent add-on, and the boundary the
//! association roles carry. The role writes and the boundary machinery are
//! chained mode's, named for km-podid-*; the klanker side (the target role
//! is the klanker role) is the generic klanker policy, unchanged.

use serde_json::{Value, json};

use super::names::SERVICE_PRINCIPAL;
use crate::cli::PolicyArgs;
use crate::permissions::{ClusterRoleScope, ClusterRoles, Rule};
use crate::plan::mode::chained::policy::{
    self as chained, BoundedRoles, CLUSTER_BOUNDARY_POLICY, bounded_role_statements,
    listing_statement,
};
use crate::plan::snapshot::AGENT_ADDON;
use crate::trust::{MANAGED_BY_TAG, MANAGED_BY_VALUE, ValidationError};

/// Association roles are named km-podid-NAME (`--cluster-role-name` must
/// keep this prefix), so the policy is scoped to `role/km-podid-*`.
pub const ASSOCIATION_ROLE_PATTERN: &str = "km-podid-*";

/// The association roles, as `policy` describes them. They carry chained
/// mode's boundary (`km-irsa-boundary`): one policy bounds every role this
/// tool makes in a cluster account, and pod identity's is that one widened
/// by `sts:TagSession` (see [`BOUNDARY_ACTIONS_ALLOWED`]).
pub const ROLES: ClusterRoles = ClusterRoles {
    pattern: ASSOCIATION_ROLE_PATTERN,
    boundary_name: CLUSTER_BOUNDARY_POLICY,
};

const ASSOCIATION_ROLES: BoundedRoles = BoundedRoles {
    pattern: ASSOCIATION_ROLE_PATTERN,
    noun: "AssociationRoles",
};

/// What an association role may ever do: assume a klanker role, and tag
/// that session (EKS sends its session tags with the AssumeRole, and STS
/// requires `sts:TagSession` for them).
pub const BOUNDARY_ACTIONS_ALLOWED: &[&str] = &["sts:AssumeRole", "sts:TagSession"];

/// Associations are listed, and made, on the cluster (EKS authorizes both
/// on the cluster's ARN).
pub const CLUSTER_ASSOCIATION_READ_ACTIONS: &[&str] = &["eks:ListPodIdentityAssociations"];
pub const CLUSTER_ASSOCIATION_CREATE_ACTIONS: &[&str] = &["eks:CreatePodIdentityAssociation"];

/// One association, authorized on its own ARN (`podidentityassociation/CLUSTER/ID`).
pub const ASSOCIATION_ACTIONS: &[&str] = &[
    "eks:DescribePodIdentityAssociation",
    "eks:UpdatePodIdentityAssociation",
];

/// Deleting an association: only one tagged as this tool's (`add` and `rm`
/// delete only their own, re-described right before).
pub const ASSOCIATION_DELETE_ACTIONS: &[&str] = &["eks:DeletePodIdentityAssociation"];

/// Tagging an association: only with the tool's tag in the request
/// (`--override-existing-serviceaccounts` marks one it takes over as ours).
pub const ASSOCIATION_TAG_ACTIONS: &[&str] = &["eks:TagResource"];

/// The agent add-on is read, never installed: the plan says when it is missing.
pub const AGENT_READ_ACTIONS: &[&str] = &["eks:DescribeAddon"];

/// EKS is handed the association role in Create/UpdatePodIdentityAssociation.
pub const PASS_ROLE_ACTIONS: &[&str] = &["iam:PassRole"];

/// The cluster's OIDC provider is only read here (`add` reads it, as in
/// every cluster-role mode, to tell which roles trust it).
pub const PROVIDER_READ_ACTIONS: &[&str] = &["iam:GetOpenIDConnectProvider"];

/// What the cluster-account identity may do in pod identity mode, after
/// the generic statement (DescribeCluster): the association roles under
/// their boundary, exactly as chained mode's role A, and this cluster's
/// associations.
///
/// The escalations it must close: whoever holds it can create km-podid-x
/// and put any inline policy on it, but only under the boundary (which
/// allows only assuming and tagging km-cluster-* roles in the klanker
/// account); and can hand a role to pods through an association, but
/// `iam:PassRole` covers only km-podid-* roles, and only to EKS Pod
/// Identity, never to a service that would run code as them.
pub fn statements(scope: &ClusterRoleScope) -> Vec<Value> {
    let mut statements = bounded_role_statements(scope, ASSOCIATION_ROLES);
    statements.push(pass_role_statement(scope));
    statements.extend(association_statements(scope));
    statements.push(json!({
        "Sid": "ReadOidcProviders",
        "Effect": "Allow",
        "Action": PROVIDER_READ_ACTIONS,
        "Resource": chained::arn(scope, "oidc-provider/*"),
    }));
    statements.push(listing_statement());
    // add counts the account's roles (and reads their quota) before it
    // creates the association role.
    statements.push(crate::permissions::quota_statement());
    statements
}

/// The association role is passed to EKS Pod Identity only.
fn pass_role_statement(scope: &ClusterRoleScope) -> Value {
    json!({
        "Sid": "PassAssociationRolesToPodIdentityOnly",
        "Effect": "Allow",
        "Action": PASS_ROLE_ACTIONS,
        "Resource": chained::arn(scope, &format!("role/{ASSOCIATION_ROLE_PATTERN}")),
        "Condition": {"StringEquals": {"iam:PassedToService": SERVICE_PRINCIPAL}},
    })
}

/// This cluster's associations and its agent add-on, in the cluster's
/// region (`*` for a region or name that is not known).
fn association_statements(scope: &ClusterRoleScope) -> Vec<Value> {
    let eks = |resource: String| {
        format!(
            "arn:{}:eks:{}:{}:{resource}",
            scope.partition, scope.region, scope.account
        )
    };
    let cluster = eks(format!("cluster/{}", scope.cluster));
    let associations = eks(format!("podidentityassociation/{}/*", scope.cluster));
    let ours = |which: &str| {
        json!({"StringEquals": {
            format!("aws:{which}/{MANAGED_BY_TAG}"): MANAGED_BY_VALUE,
        }})
    };
    vec![
        json!({
            "Sid": "ListAssociationsOfTheCluster",
            "Effect": "Allow",
            "Action": CLUSTER_ASSOCIATION_READ_ACTIONS,
            "Resource": cluster,
        }),
        json!({
            "Sid": "CreateAssociationsTaggedAsOurs",
            "Effect": "Allow",
            "Action": CLUSTER_ASSOCIATION_CREATE_ACTIONS,
            "Resource": cluster,
            "Condition": ours("RequestTag"),
        }),
        // Update re-points an association another owner made only with
        // --override-existing-serviceaccounts (it is tagged as ours right
        // after), so it cannot ask for our tag; the roles it may name are
        // limited by PassRole.
        json!({
            "Sid": "AssociationsOfTheCluster",
            "Effect": "Allow",
            "Action": ASSOCIATION_ACTIONS,
            "Resource": associations,
        }),
        json!({
            "Sid": "DeleteOnlyOurAssociations",
            "Effect": "Allow",
            "Action": ASSOCIATION_DELETE_ACTIONS,
            "Resource": associations,
            "Condition": ours("ResourceTag"),
        }),
        json!({
            "Sid": "TagAssociationsOnlyAsOurs",
            "Effect": "Allow",
            "Action": ASSOCIATION_TAG_ACTIONS,
            "Resource": associations,
            "Condition": ours("RequestTag"),
        }),
        json!({
            "Sid": "ReadThePodIdentityAgent",
            "Effect": "Allow",
            "Action": AGENT_READ_ACTIONS,
            "Resource": eks(format!("addon/{}/{AGENT_ADDON}/*", scope.cluster)),
        }),
    ]
}

/// The permissions boundary of the association roles: chained mode's,
/// widened only by `sts:TagSession` on the same km-cluster-* roles.
pub fn boundary_policy(partition: &str, klanker_account: &str) -> Value {
    chained::boundary_allowing(partition, klanker_account, BOUNDARY_ACTIONS_ALLOWED)
}

/// The flags only the cluster-role modes take: pod identity takes the
/// boundary's, not chained mode's ConfigMap.
pub fn flags(args: &PolicyArgs) -> Vec<(&'static str, bool)> {
    vec![(
        "--cluster-permissions-boundary",
        args.cluster_permissions_boundary.is_some(),
    )]
}

/// Pod identity writes no namespaced object beside the ServiceAccounts
/// (no ConfigMap, no annotation), whose rules every mode shares.
pub fn rbac_rules(_args: &PolicyArgs) -> Result<Vec<Rule>, ValidationError> {
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::cluster_policy;
    use crate::plan::mode::pod_identity::names::CLUSTER_ROLE_PREFIX;

    const BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";

    fn scope(region: &str, cluster: &str) -> ClusterRoleScope {
        ClusterRoleScope {
            partition: "aws".into(),
            account: "222222222222".into(),
            region: region.into(),
            cluster: cluster.into(),
            boundary: ROLES.boundary_arn("aws", "222222222222"),
        }
    }

    fn doc() -> Value {
        cluster_policy(
            "222222222222",
            "us-east-1",
            "dev",
            "aws",
            statements(&scope("us-east-1", "dev")),
        )
    }

    fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid} in {doc:#}"))
    }

    fn allowed(doc: &Value) -> Vec<String> {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    /// The calls pod identity mode makes in the cluster account.
    const POD_IDENTITY_CALLS: &[&str] = &[
        "eks:DescribeCluster",
        "eks:ListPodIdentityAssociations",
        "eks:DescribePodIdentityAssociation",
        "eks:CreatePodIdentityAssociation",
        "eks:UpdatePodIdentityAssociation",
        "eks:DeletePodIdentityAssociation",
        "eks:TagResource",
        "eks:DescribeAddon",
        "iam:PassRole",
        "sts:GetCallerIdentity",
        "iam:ListOpenIDConnectProviders",
        "iam:GetOpenIDConnectProvider",
        "iam:ListRoles",
        "iam:GetAccountSummary",
        "servicequotas:GetServiceQuota",
        "iam:GetPolicy",
        "iam:CreateRole",
        "iam:GetRole",
        "iam:TagRole",
        "iam:UpdateRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRole",
        "iam:ListRoleTags",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:GetRolePolicy",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:RemoveRoleFromInstanceProfile",
    ];

    #[test]
    fn the_cluster_policy_grants_every_pod_identity_call_in_scope() {
        let doc = doc();
        let granted = allowed(&doc);
        for call in POD_IDENTITY_CALLS {
            assert!(granted.iter().any(|a| a == call), "{call} is not granted");
        }
        for never in [
            "iam:AttachRolePolicy",
            "iam:CreateOpenIDConnectProvider",
            "iam:DeleteOpenIDConnectProvider",
            "eks:CreateAddon",
            "eks:UntagResource",
            "iam:CreatePolicyVersion",
        ] {
            assert!(!granted.iter().any(|a| a == never), "{never} is granted");
        }
        for s in doc["Statement"].as_array().unwrap() {
            match s["Resource"].as_str().unwrap() {
                // Only the listings and the quota reads, which no
                // resource scopes.
                "*" => assert!(
                    [
                        json!(crate::permissions::UNSCOPED_ACTIONS),
                        json!(crate::permissions::QUOTA_READ_ACTIONS)
                    ]
                    .contains(&s["Action"]),
                    "{s}"
                ),
                "arn:aws:iam::222222222222:role/km-podid-*"
                | "arn:aws:iam::222222222222:instance-profile/*"
                | "arn:aws:iam::222222222222:oidc-provider/*"
                | BOUNDARY
                | "arn:aws:eks:us-east-1:222222222222:cluster/dev"
                | "arn:aws:eks:us-east-1:222222222222:podidentityassociation/dev/*"
                | "arn:aws:eks:us-east-1:222222222222:addon/dev/eks-pod-identity-agent/*" => {}
                other => panic!("{other} is out of scope"),
            }
        }
        // Providers are only read in this mode.
        assert_eq!(
            statement(&doc, "ReadOidcProviders")["Action"],
            json!(["iam:GetOpenIDConnectProvider"])
        );
    }

    #[test]
    fn pass_role_is_only_of_association_roles_and_only_to_pod_identity() {
        let doc = doc();
        let passing: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("iam:PassRole"))
            })
            .collect();
        assert_eq!(passing.len(), 1, "{doc:#}");
        assert_eq!(passing[0]["Effect"], "Allow");
        assert_eq!(
            passing[0]["Resource"],
            "arn:aws:iam::222222222222:role/km-podid-*"
        );
        assert_eq!(
            passing[0]["Condition"],
            json!({"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}})
        );
        // The pattern is the prefix add names association roles with.
        assert_eq!(
            ASSOCIATION_ROLE_PATTERN,
            format!("{CLUSTER_ROLE_PREFIX}*"),
            "policy and add disagree on the association role's name"
        );
    }

    #[test]
    fn association_roles_get_chained_modes_bounded_writes() {
        let doc = doc();
        let bounded = statement(&doc, "AssociationRolesOnlyWithTheBoundary");
        assert_eq!(
            bounded["Action"],
            json!(chained::CLUSTER_ROLE_BOUNDED_ACTIONS)
        );
        assert_eq!(
            bounded["Condition"],
            json!({"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}})
        );
        let other = statement(&doc, "NeverAnotherBoundary");
        assert_eq!(other["Effect"], "Deny");
        assert_eq!(
            other["Resource"],
            "arn:aws:iam::222222222222:role/km-podid-*"
        );
        assert_eq!(statement(&doc, "NeverWithoutTheBoundary")["Effect"], "Deny");
        assert_eq!(statement(&doc, "NeverRewriteTheBoundary")["Effect"], "Deny");
        // The same statements as chained mode's, but for km-podid-*.
        let mut irsa = chained::statements(&scope("us-east-1", "dev"));
        irsa.truncate(8);
        let podid = bounded_role_statements(&scope("us-east-1", "dev"), ASSOCIATION_ROLES);
        let text = |v: &[Value]| {
            json!(v)
                .to_string()
                .replace("km-irsa-*", "km-podid-*")
                .replace("IrsaRoles", "AssociationRoles")
        };
        assert_eq!(text(&irsa), text(&podid));
    }

    #[test]
    fn associations_are_this_clusters_and_deleted_only_when_ours() {
        let doc = doc();
        let ours = |which: &str| {
            json!({"StringEquals": {
                format!("aws:{which}/klanker-trust/managed-by"): "kubectl-klanker-trust"
            }})
        };
        assert_eq!(
            statement(&doc, "DeleteOnlyOurAssociations")["Condition"],
            ours("ResourceTag")
        );
        assert_eq!(
            statement(&doc, "TagAssociationsOnlyAsOurs")["Condition"],
            ours("RequestTag")
        );
        assert_eq!(
            statement(&doc, "CreateAssociationsTaggedAsOurs")["Condition"],
            ours("RequestTag")
        );
        // An unknown cluster or region is a wildcard, never another cluster's name.
        let text = json!(statements(&scope("*", "*"))).to_string();
        assert!(text.contains("arn:aws:eks:*:222222222222:podidentityassociation/*/*"));
        assert!(text.contains("arn:aws:eks:*:222222222222:addon/*/eks-pod-identity-agent/*"));
        assert!(!text.contains("/dev"), "{text}");
    }

    #[test]
    fn the_boundary_is_chaineds_widened_only_by_tag_session() {
        let podid = boundary_policy("aws-cn", "333333333333");
        let mut expected = chained::boundary_policy("aws-cn", "333333333333");
        expected["Statement"][0]["Action"] = json!(["sts:AssumeRole", "sts:TagSession"]);
        assert_eq!(podid, expected);
        assert_eq!(
            podid["Statement"][0]["Resource"],
            "arn:aws-cn:iam::333333333333:role/km-cluster-*"
        );
        assert_eq!(ROLES.boundary_name, chained::ROLES.boundary_name);
    }
}
