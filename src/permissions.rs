//! Pure: the least-privilege IAM policies the two identities need to run
//! this tool, and the Kubernetes RBAC its kubeconfig user needs. A unit test
//! scans the AWS modules so a new API call cannot go unlisted; tests/e2e
//! runs an outside linter and an outside policy evaluator on the output.
//!
//! The klanker policy must not let its holder escalate: roles it may create
//! can only ever carry the policies the admin named (`iam:PolicyARN`), and,
//! when a permissions boundary is configured, only with that boundary.

use serde_json::{Value, json};

/// Inputs `policy` could not work out.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The klanker account could not be learnt from the profile.
    #[error(
        "the klanker account is not known: {}. Pass --klanker-account ID (with --region in the partition, e.g. cn-north-1 for aws-cn), or an --aws-profile whose account can be read; the policy never names a placeholder account.",
        source.to_string().trim_end_matches('.')
    )]
    KlankerAccount {
        #[source]
        source: crate::aws::AwsError,
    },
    /// The cluster account is unknown (no EKS ARN, no `--cluster-account`).
    #[error(
        "the cluster account is not known: the context names no EKS cluster ARN. Pass --cluster-account ID (a cluster that is not EKS needs no cluster-account policy: use --for rbac)."
    )]
    ClusterAccount,
    /// NAME is not onboarded, so its RBAC cannot be scoped.
    #[error(
        "no onboarding named `{name}` in {path}. Pass --namespace NS and --service-account NAME instead."
    )]
    UnknownOnboarding { name: String, path: String },
    /// `-o yaml` is only for the RBAC.
    #[error("-o yaml prints the Kubernetes RBAC only: use it with --for rbac.")]
    YamlIsRbacOnly,
    /// A chained-mode flag (the km-irsa-* boundary, the ConfigMap) means
    /// nothing to mirror mode.
    #[error("{flag} is for chained mode: pass --mode chained, or drop it.")]
    ChainedOnly { flag: &'static str },
    /// A role in one partition cannot assume a role in another.
    #[error(
        "the cluster is in partition {cluster} and the klanker account in {klanker}: a chained AssumeRole cannot cross partitions. Pass --cluster-region (or --region) in the same partition."
    )]
    PartitionMismatch { cluster: String, klanker: String },
}

/// Where a policy's ARNs point: the partition (aws, aws-cn, aws-us-gov)
/// and account are always real values, never placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlankerScope {
    pub partition: String,
    pub account: String,
    /// Managed policies `add` may attach besides km-operator-policy
    /// (`policy --allow-policy-arn`, the list `add --policy-arn` takes).
    pub extra_policies: Vec<String>,
    /// The boundary every created role must carry (`policy --permissions-boundary`).
    pub permissions_boundary: Option<String>,
}

/// Reads of a km-cluster-* role: unconditioned, since they are how the
/// tool learns whose a role is before it writes.
pub const ROLE_READ_ACTIONS: &[&str] = &[
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
];

/// Role writes that cannot hand the role more power than it has: tagging,
/// deleting, the trust (it decides who assumes the role, not what the role
/// may do). Only on a role tagged as this tool's (`aws:ResourceTag`).
pub const ROLE_ACTIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// Creating a role and setting its boundary: conditioned on the boundary when one is configured.
pub const BOUNDARY_ACTIONS: &[&str] = &["iam:CreateRole", "iam:PutRolePermissionsBoundary"];

/// Removing a boundary: granted only when no boundary is configured.
pub const UNBOUND_ACTIONS: &[&str] = &["iam:DeleteRolePermissionsBoundary"];

/// Attaching and detaching managed policies: limited to the named policies.
pub const ATTACH_ACTIONS: &[&str] = &["iam:AttachRolePolicy", "iam:DetachRolePolicy"];

/// RemoveRoleFromInstanceProfile is authorized on the instance profile, not the role.
pub const INSTANCE_PROFILE_ACTIONS: &[&str] = &["iam:RemoveRoleFromInstanceProfile"];

/// IAM actions on OIDC providers (tagging is needed to create a tagged provider).
pub const PROVIDER_ACTIONS: &[&str] = &[
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
];

/// Provider writes allowed only on a provider tagged as this tool's.
pub const OWNED_PROVIDER_ACTIONS: &[&str] = &[
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
];

/// Tagging, allowed only with the tool's own tag in the request: it is
/// authorized too when a role or provider is created with its tags.
pub const TAG_AS_OURS_ACTIONS: &[&str] = &["iam:TagOpenIDConnectProvider", "iam:TagRole"];

/// Actions IAM cannot scope to a resource: they need `*`.
pub const UNSCOPED_ACTIONS: &[&str] = &[
    "iam:ListOpenIDConnectProviders",
    "iam:ListRoles",
    "sts:GetCallerIdentity",
];

/// `add` checks that each policy it will attach exists.
pub const POLICY_READ_ACTIONS: &[&str] = &["iam:GetPolicy"];

pub const CLUSTER_ACTIONS: &[&str] = &["eks:DescribeCluster"];

/// Roles this tool creates are named km-cluster-NAME.
pub const ROLE_PATTERN: &str = "km-cluster-*";

/// The shared policy `add` attaches by default.
pub use crate::trust::OPERATOR_POLICY;

/// `audit`'s reads: the listings (no resource scope in IAM), the client IDs
/// of trusted providers, and the tags of roles that look like this tool's.
pub const AUDIT_LIST_ACTIONS: &[&str] = &[
    "iam:ListOpenIDConnectProviders",
    "iam:ListRoles",
    "sts:GetCallerIdentity",
];

/// The read-only policy `audit` needs in each account it reads. The ARNs
/// name any account (`*`): the same document is attached in each one.
pub fn audit_policy(partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListRolesAndProviders", "Effect": "Allow", "Action": AUDIT_LIST_ACTIONS, "Resource": "*"},
            {"Sid": "ReadTrustedProviders", "Effect": "Allow", "Action": ["iam:GetOpenIDConnectProvider"],
             "Resource": format!("arn:{partition}:iam::*:oidc-provider/*")},
            {"Sid": "ReadTagsOfOnboardedRoles", "Effect": "Allow", "Action": ["iam:GetRole"],
             "Resource": format!("arn:{partition}:iam::*:role/*")},
        ]
    })
}

/// The partition a region belongs to, for when no ARN tells it.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl KlankerScope {
    fn arn(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition, self.account)
    }

    /// km-operator-policy first, then the admin's extra ARNs, without repeats.
    pub fn attachable_policies(&self) -> Vec<String> {
        let mut arns = vec![self.arn(&format!("policy/{OPERATOR_POLICY}"))];
        for arn in &self.extra_policies {
            if !arns.contains(arn) {
                arns.push(arn.clone());
            }
        }
        arns
    }
}

/// The GetPolicy resource for a policy ARN. An AWS managed policy's ARN
/// names the account `aws`, which policy linters (parliament) reject in a
/// Resource; `*` there only widens a read of that one policy name, while
/// attaching stays bound to the exact ARN by the `iam:PolicyARN` condition.
fn readable_policy_resource(arn: &str) -> String {
    let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[4] == "aws" {
        parts[4] = "*";
    }
    parts.join(":")
}

/// `{"StringEquals": {"aws:<which>/klanker-trust/managed-by": "kubectl-klanker-trust"}}`:
/// `ResourceTag` for writes on what exists, `RequestTag` for creating and tagging.
fn ours(which: &str) -> Value {
    json!({"StringEquals": {
        format!("aws:{which}/{}", crate::trust::MANAGED_BY_TAG): crate::trust::MANAGED_BY_VALUE,
    }})
}

/// The same condition with one more `ArnEquals` key.
fn ours_and(which: &str, key: &str, arns: Value) -> Value {
    let mut condition = ours(which);
    condition["ArnEquals"] = json!({ key: arns });
    condition
}

/// The klanker operator profile's policy.
pub fn klanker_policy(scope: &KlankerScope) -> Value {
    let roles = scope.arn(&format!("role/{ROLE_PATTERN}"));
    let attachable = scope.attachable_policies();
    let mut statements = role_statements(scope, &roles);
    statements.extend([
        // The guard against escalation: whoever holds this profile can create
        // km-cluster-* roles that trust anyone, so what those roles may do is
        // limited to the policies named here.
        json!({
            "Sid": "OnlyTheNamedPolicies",
            "Effect": "Allow",
            "Action": ATTACH_ACTIONS,
            "Resource": roles,
            "Condition": ours_and("ResourceTag", "iam:PolicyARN", json!(attachable)),
        }),
        // The instance profiles a role was put in are not named by the tool;
        // removing a role from one grants nothing.
        json!({
            "Sid": "InstanceProfilesOfOnboardedRoles",
            "Effect": "Allow",
            "Action": INSTANCE_PROFILE_ACTIONS,
            "Resource": scope.arn("instance-profile/*"),
        }),
    ]);
    statements.extend(provider_statements(&scope.arn("oidc-provider/*"), &roles));
    statements.extend([
        json!({
            "Sid": "AttachablePolicies",
            "Effect": "Allow",
            "Action": POLICY_READ_ACTIONS,
            "Resource": attachable.iter().map(|a| readable_policy_resource(a)).collect::<Vec<_>>(),
        }),
        json!({
            "Sid": "ListingAndIdentity",
            "Effect": "Allow",
            "Action": UNSCOPED_ACTIONS,
            "Resource": "*",
        }),
    ]);
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The km-cluster-* roles: read any, create only tagged as ours, write
/// only those tagged as ours (another team's look-alike role stays out).
fn role_statements(scope: &KlankerScope, roles: &str) -> Vec<Value> {
    let mut writes = ROLE_ACTIONS.to_vec();
    let mut statements = vec![json!({
        "Sid": "ReadOnboardedRoles",
        "Effect": "Allow",
        "Action": ROLE_READ_ACTIONS,
        "Resource": roles,
    })];
    match &scope.permissions_boundary {
        None => {
            writes.extend(UNBOUND_ACTIONS);
            writes.push("iam:PutRolePermissionsBoundary");
            statements.push(json!({
                "Sid": "CreateRolesTaggedAsOurs",
                "Effect": "Allow",
                "Action": ["iam:CreateRole"],
                "Resource": roles,
                "Condition": ours("RequestTag"),
            }));
        }
        // Without the boundary condition, a role created (or re-bounded)
        // by the holder could escape the boundary the admin relies on.
        Some(boundary) => statements.extend([
            json!({
                "Sid": "CreateOnlyWithTheBoundary",
                "Effect": "Allow",
                "Action": ["iam:CreateRole"],
                "Resource": roles,
                "Condition": ours_and("RequestTag", "iam:PermissionsBoundary", json!(boundary)),
            }),
            json!({
                "Sid": "OnlyWithTheBoundary",
                "Effect": "Allow",
                "Action": ["iam:PutRolePermissionsBoundary"],
                "Resource": roles,
                "Condition": ours_and("ResourceTag", "iam:PermissionsBoundary", json!(boundary)),
            }),
        ]),
    }
    statements.insert(
        1,
        json!({
            "Sid": "OnboardedRoles",
            "Effect": "Allow",
            "Action": writes,
            "Resource": roles,
            "Condition": ours("ResourceTag"),
        }),
    );
    statements
}

/// Providers: read any (a reused one is read, never changed), create only
/// tagged as ours, delete or add a client ID only to one tagged as ours.
/// Provider ARNs embed each cluster's issuer, unknown in advance.
fn provider_statements(providers: &str, roles: &str) -> Vec<Value> {
    vec![
        json!({
            "Sid": "ReadOidcProviders",
            "Effect": "Allow",
            "Action": ["iam:GetOpenIDConnectProvider"],
            "Resource": providers,
        }),
        json!({
            "Sid": "CreateOidcProvidersTaggedAsOurs",
            "Effect": "Allow",
            "Action": ["iam:CreateOpenIDConnectProvider"],
            "Resource": providers,
            "Condition": ours("RequestTag"),
        }),
        json!({
            "Sid": "OidcProviders",
            "Effect": "Allow",
            "Action": OWNED_PROVIDER_ACTIONS,
            "Resource": providers,
            "Condition": ours("ResourceTag"),
        }),
        // Authorized with every tagged create; IAM cannot tell that from
        // tagging an existing role or provider (see README `policy`).
        json!({
            "Sid": "TagOnlyAsOurs",
            "Effect": "Allow",
            "Action": TAG_AS_OURS_ACTIONS,
            "Resource": [roles, providers],
            "Condition": ours("RequestTag"),
        }),
    ]
}

/// The cluster-account identity's policy: read the cluster's issuer.
pub fn cluster_policy(account: &str, region: &str, name: &str, partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadClusterIssuer",
            "Effect": "Allow",
            "Action": CLUSTER_ACTIONS,
            "Resource": format!("arn:{partition}:eks:{region}:{account}:cluster/{name}"),
        }]
    })
}

/// Web-identity roles chained mode creates in the cluster account are named
/// km-irsa-NAME (`--cluster-role-name` must keep this prefix).
pub const IRSA_ROLE_PATTERN: &str = "km-irsa-*";

/// The managed policy, in the cluster account, every km-irsa-* role must
/// carry as its permissions boundary unless `--cluster-permissions-boundary`
/// names another.
pub const CLUSTER_BOUNDARY_POLICY: &str = "km-irsa-boundary";

/// The default boundary's ARN in a cluster account.
pub fn cluster_boundary_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy/{CLUSTER_BOUNDARY_POLICY}")
}

/// Reads of a km-irsa-* role: they change nothing.
pub const IRSA_READ_ACTIONS: &[&str] = &[
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
];

/// Writes that cannot give a bounded role more than its boundary: its
/// trust decides who assumes it, not what it may do, and a detach only
/// takes a policy away (`rm` and a switch to mirror mode detach what
/// someone attached by hand before DeleteRole).
pub const IRSA_ROLE_ACTIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:DetachRolePolicy",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// Writes that decide what a km-irsa-* role may do: granted only on a role
/// that carries (or, for CreateRole, is created with) the boundary.
pub const IRSA_BOUNDED_ACTIONS: &[&str] = &[
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// Explicitly denied with any other boundary, or none, so that no other
/// policy of the holder can lift the ceiling either.
pub const IRSA_OTHER_BOUNDARY_DENIED: &[&str] = &[
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// Removing the boundary is denied outright.
pub const IRSA_UNBOUND_DENIED: &[&str] = &["iam:DeleteRolePermissionsBoundary"];

/// `add` may check that the boundary exists before it creates a role with it.
pub const BOUNDARY_READ_ACTIONS: &[&str] = &["iam:GetPolicy"];

/// Rewriting or deleting the boundary policy would lift the ceiling of every
/// km-irsa-* role at once: denied, whatever else the holder may do.
pub const BOUNDARY_REWRITE_DENIED: &[&str] = &[
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
];

/// The cluster account's own OIDC provider: ensured, created tagged as ours.
pub const CLUSTER_PROVIDER_ACTIONS: &[&str] = &[
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
];

/// Deleting a provider: only one tagged as this tool's.
pub const CLUSTER_PROVIDER_DELETE_ACTIONS: &[&str] = &["iam:DeleteOpenIDConnectProvider"];

/// What a km-irsa-* role may ever do: assume a klanker role.
pub const BOUNDARY_ACTIONS_ALLOWED: &[&str] = &["sts:AssumeRole"];

/// Where the cluster-account identity's chained-mode policy points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedScope {
    /// The cluster account and its partition.
    pub partition: String,
    pub account: String,
    /// The boundary every km-irsa-* role carries (default
    /// [`cluster_boundary_arn`]).
    pub boundary: String,
}

/// The cluster-account identity's policy in chained mode: mirror mode's
/// statement, then the km-irsa-* roles and the account's providers.
///
/// The escalation it must close: whoever holds it can create km-irsa-x
/// trusting themselves and put any inline policy on it. So every write that
/// decides what such a role may do requires the boundary (`iam:PermissionsBoundary`),
/// and an explicit Deny keeps any other boundary, or none, out even if the
/// holder has other policies. The most a km-irsa-* role can then do is what
/// the boundary allows: assume km-cluster-* roles in the klanker account,
/// which trust only their own onboarding's role A.
pub fn chained_cluster_policy(base: &Value, scope: &ChainedScope) -> Value {
    let arn = |resource: &str| format!("arn:{}:iam::{}:{resource}", scope.partition, scope.account);
    let roles = arn(&format!("role/{IRSA_ROLE_PATTERN}"));
    let providers = arn("oidc-provider/*");
    let mut statements = base["Statement"].as_array().cloned().unwrap_or_default();
    statements.extend([
        json!({
            "Sid": "ReadIrsaRoles",
            "Effect": "Allow",
            "Action": IRSA_READ_ACTIONS,
            "Resource": roles,
        }),
        json!({
            "Sid": "IrsaRoles",
            "Effect": "Allow",
            "Action": IRSA_ROLE_ACTIONS,
            "Resource": roles,
        }),
        json!({
            "Sid": "IrsaRolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": IRSA_BOUNDED_ACTIONS,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary}},
        }),
        // A missing key makes ArnNotEquals true: no boundary is denied too.
        json!({
            "Sid": "NeverAnotherBoundary",
            "Effect": "Deny",
            "Action": IRSA_OTHER_BOUNDARY_DENIED,
            "Resource": roles,
            "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": scope.boundary}},
        }),
        json!({
            "Sid": "NeverWithoutTheBoundary",
            "Effect": "Deny",
            "Action": IRSA_UNBOUND_DENIED,
            "Resource": roles,
        }),
        // Role A may have been put in an instance profile by hand; IAM
        // authorizes the removal on the profile, whose name the tool does
        // not choose. Removing grants nothing.
        json!({
            "Sid": "InstanceProfilesOfIrsaRoles",
            "Effect": "Allow",
            "Action": INSTANCE_PROFILE_ACTIONS,
            "Resource": arn("instance-profile/*"),
        }),
        json!({
            "Sid": "ReadTheBoundary",
            "Effect": "Allow",
            "Action": BOUNDARY_READ_ACTIONS,
            "Resource": scope.boundary,
        }),
        json!({
            "Sid": "NeverRewriteTheBoundary",
            "Effect": "Deny",
            "Action": BOUNDARY_REWRITE_DENIED,
            "Resource": scope.boundary,
        }),
        // Provider ARNs embed the cluster's issuer; `rm` deletes only one
        // it created, which the tag says.
        json!({
            "Sid": "ClusterOidcProvider",
            "Effect": "Allow",
            "Action": CLUSTER_PROVIDER_ACTIONS,
            "Resource": providers,
        }),
        json!({
            "Sid": "DeleteOnlyOurProviders",
            "Effect": "Allow",
            "Action": CLUSTER_PROVIDER_DELETE_ACTIONS,
            "Resource": providers,
            "Condition": {"StringEquals": {
                format!("aws:ResourceTag/{}", crate::trust::MANAGED_BY_TAG): crate::trust::MANAGED_BY_VALUE,
            }},
        }),
        json!({
            "Sid": "ListingAndIdentity",
            "Effect": "Allow",
            "Action": UNSCOPED_ACTIONS,
            "Resource": "*",
        }),
    ]);
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The permissions boundary of every km-irsa-* role: whatever inline policy
/// its role carries, it may only assume km-cluster-* roles in the klanker
/// account.
pub fn cluster_boundary_policy(partition: &str, klanker_account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeKlankerRolesOnly",
            "Effect": "Allow",
            "Action": BOUNDARY_ACTIONS_ALLOWED,
            "Resource": crate::trust::role_arn(partition, klanker_account, ROLE_PATTERN),
        }]
    })
}

/// Who the RBAC is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Group(String),
}

/// The group the bindings name when neither --user nor --group is given.
pub const DEFAULT_GROUP: &str = "klanker-trust-admins";

/// What the RBAC is for: one onboarding's namespace and ServiceAccount(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacScope {
    pub namespace: String,
    pub service_accounts: Vec<String>,
    /// Chained mode's ConfigMap(s) holding the pods' AWS profile chain
    /// (`add --config-map-name`); empty in mirror mode.
    pub config_maps: Vec<String>,
    pub create_namespace: bool,
    pub subject: Subject,
}

/// The ConfigMap chained mode writes when `--config-map-name` names none.
pub const CHAINED_CONFIG_MAP: &str = "km-aws-config";

/// One RBAC rule and why the tool needs it (printed above the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub resources: Vec<&'static str>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<&'static str>,
    pub verbs: Vec<&'static str>,
    pub why: &'static str,
}

impl Rule {
    fn to_json(&self) -> Value {
        if self.non_resource_urls.is_empty() {
            let mut rule = json!({
                "apiGroups": [""],
                "resources": self.resources,
                "verbs": self.verbs,
            });
            if !self.resource_names.is_empty() {
                rule["resourceNames"] = json!(self.resource_names);
            }
            rule
        } else {
            json!({"nonResourceURLs": self.non_resource_urls, "verbs": self.verbs})
        }
    }
}

/// The name of every RBAC object: the Role is namespaced already; the
/// cluster-scoped pair carries the namespace, so onboardings in other
/// namespaces do not overwrite each other's ClusterRole.
pub const RBAC_NAME: &str = "kubectl-klanker-trust";

/// Rules of the namespaced Role, in the onboarding's namespace only.
pub fn role_rules(scope: &RbacScope) -> Vec<Rule> {
    let mut rules = vec![Rule {
        resources: vec!["serviceaccounts"],
        resource_names: scope.service_accounts.clone(),
        non_resource_urls: vec![],
        verbs: vec!["get", "create", "patch", "delete"],
        why: "add and verify read the ServiceAccount (get); add writes it with server-side apply (patch); \
                  an apply that creates it is authorized as `create` with the object's name, so resourceNames \
                  bind create too, and a plain POST create (which carries no name) is denied; rm deletes it (delete)",
    }];
    if !scope.config_maps.is_empty() {
        rules.push(Rule {
            resources: vec!["configmaps"],
            resource_names: scope.config_maps.clone(),
            non_resource_urls: vec![],
            verbs: vec!["get", "create", "patch", "delete"],
            why: "chained mode: add writes the pods' AWS profile chain with server-side apply (patch, and \
                  create, which carries the name); verify reads it as a pod's SDK would (get); rm deletes it \
                  (delete); resourceNames keep it to this ConfigMap",
        });
    }
    rules
}

/// The optional Role's only rule: a token for the onboarding's
/// ServiceAccounts. Kept apart because RBAC cannot bound the token's
/// audience: whoever holds it can act as those ServiceAccounts against the
/// API server. Only `verify` (and `add`'s check after applying) use it.
pub fn token_rules(scope: &RbacScope) -> Vec<Rule> {
    vec![Rule {
        resources: vec!["serviceaccounts/token"],
        resource_names: scope.service_accounts.clone(),
        non_resource_urls: vec![],
        verbs: vec!["create"],
        why: "OPTIONAL, only for verify and add's check after applying: a short token for these \
              ServiceAccounts (TokenRequest). RBAC cannot limit the token's audience, so whoever \
              holds this Role can act as these ServiceAccounts against the API server; without it \
              add says which links it could not check, and verify fails",
    }]
}

/// The optional token Role's name (and its RoleBinding's).
pub const RBAC_TOKEN_NAME: &str = "kubectl-klanker-trust-token";

/// Rules that must be cluster-scoped, each because its call is.
pub fn cluster_rules(scope: &RbacScope) -> Vec<Rule> {
    let mut namespace_verbs = vec!["get"];
    if scope.create_namespace {
        namespace_verbs.extend(["create", "patch"]);
    }
    vec![
        Rule {
            resources: vec!["namespaces"],
            resource_names: vec![scope.namespace.clone()],
            non_resource_urls: vec![],
            verbs: namespace_verbs,
            why: if scope.create_namespace {
                "add checks that the namespace exists (get) and creates it with server-side apply \
                 (patch, and create, which carries the name); a namespace is cluster-scoped and may not \
                 exist yet, so no Role can grant this; resourceNames keep it to this namespace"
            } else {
                "add checks that the namespace exists (get); a namespace is cluster-scoped, so no Role \
                 in it can grant this before it exists; resourceNames keep it to this namespace"
            },
        },
        Rule {
            resources: vec!["serviceaccounts"],
            resource_names: vec![],
            non_resource_urls: vec![],
            verbs: vec!["list"],
            why: "rm and verify find this tool's ServiceAccounts by label in every namespace: one \
                  cluster-wide LIST, which resourceNames cannot narrow; a ServiceAccount holds no secret",
        },
        Rule {
            resources: vec![],
            resource_names: vec![],
            non_resource_urls: vec!["/.well-known/openid-configuration"],
            verbs: vec!["get"],
            why: "add reads the issuer of a cluster that is not EKS from the API server's discovery \
                  document",
        },
        Rule {
            resources: vec![],
            resource_names: vec![],
            non_resource_urls: vec!["/openid/v1/jwks"],
            verbs: vec!["get"],
            why: "verify checks the token's signature against the API server's public signing keys \
                  (without it, verify says the signature was not checked)",
        },
    ]
}

fn subject_json(subject: &Subject) -> Value {
    let (kind, name) = match subject {
        Subject::User(name) => ("User", name),
        Subject::Group(name) => ("Group", name),
    };
    json!({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name})
}

fn cluster_name(namespace: &str) -> String {
    format!("{RBAC_NAME}:{namespace}")
}

/// The four RBAC documents with, for each, why its rules are needed.
pub fn rbac_documents(scope: &RbacScope) -> Vec<(Value, Vec<String>)> {
    let ns = &scope.namespace;
    let whys = |rules: &[Rule]| -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                let what = if r.non_resource_urls.is_empty() {
                    r.resources.join(",")
                } else {
                    r.non_resource_urls.join(",")
                };
                format!("{what} [{}]: {}", r.verbs.join(","), squash(r.why))
            })
            .collect()
    };
    let role_rules = role_rules(scope);
    let cluster_rules = cluster_rules(scope);
    let subject = subject_json(&scope.subject);
    vec![
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": RBAC_NAME, "namespace": ns},
                "rules": role_rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            }),
            whys(&role_rules),
        ),
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": RBAC_NAME, "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RBAC_NAME},
                "subjects": [subject.clone()],
            }),
            vec![],
        ),
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": cluster_name(ns)},
                "rules": cluster_rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            }),
            whys(&cluster_rules),
        ),
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": cluster_name(ns)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name(ns)},
                "subjects": [subject.clone()],
            }),
            vec![],
        ),
    ]
}

/// The optional token Role and its RoleBinding, printed after the others.
pub fn rbac_token_documents(scope: &RbacScope) -> Vec<(Value, Vec<String>)> {
    let ns = &scope.namespace;
    let rules = token_rules(scope);
    let whys = rules
        .iter()
        .map(|r| {
            format!(
                "{} [{}]: {}",
                r.resources.join(","),
                r.verbs.join(","),
                squash(r.why)
            )
        })
        .collect();
    vec![
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": RBAC_TOKEN_NAME, "namespace": ns},
                "rules": rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            }),
            whys,
        ),
        (
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": RBAC_TOKEN_NAME, "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RBAC_TOKEN_NAME},
                "subjects": [subject_json(&scope.subject)],
            }),
            vec![],
        ),
    ]
}

/// Collapses the source's line-continuation spaces.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Multi-document YAML for `kubectl apply -f -`, each document headed by
/// comments saying why its rules are there.
pub fn rbac_yaml(scope: &RbacScope) -> String {
    let mut out = String::new();
    let optional = rbac_token_documents(scope);
    for (i, (doc, whys)) in rbac_documents(scope)
        .into_iter()
        .chain(optional)
        .enumerate()
    {
        out.push_str("---\n");
        if i == 4 {
            out.push_str(&format!("{OPTIONAL_HEADER}\n"));
        }
        for why in whys {
            out.push_str(&format!("# {why}\n"));
        }
        out.push_str(&serde_yaml::to_string(&doc).unwrap_or_default());
    }
    out
}

/// Heads the optional token documents in the YAML (a comment, so `kubectl
/// apply -f -` takes them too; drop them to leave the token right out).
pub const OPTIONAL_HEADER: &str = "# OPTIONAL (verify only): the two documents below grant a ServiceAccount token. Leave them out unless you run verify.";

/// The same documents as one `v1 List` (also accepted by `kubectl apply -f -`).
pub fn rbac_list(scope: &RbacScope) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": rbac_documents(scope).into_iter().map(|(doc, _)| doc).collect::<Vec<_>>(),
    })
}

/// The optional token Role and RoleBinding as a `v1 List` of their own,
/// so applying the required List never grants a token.
pub fn rbac_token_list(scope: &RbacScope) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": rbac_token_documents(scope).into_iter().map(|(doc, _)| doc).collect::<Vec<_>>(),
    })
}

/// Every action the policies grant (with or without a boundary, either mode).
pub fn all_actions() -> Vec<&'static str> {
    let mut actions = [
        ROLE_READ_ACTIONS,
        ROLE_ACTIONS,
        BOUNDARY_ACTIONS,
        UNBOUND_ACTIONS,
        ATTACH_ACTIONS,
        INSTANCE_PROFILE_ACTIONS,
        PROVIDER_ACTIONS,
        UNSCOPED_ACTIONS,
        POLICY_READ_ACTIONS,
        CLUSTER_ACTIONS,
        IRSA_READ_ACTIONS,
        IRSA_ROLE_ACTIONS,
        IRSA_BOUNDED_ACTIONS,
        CLUSTER_PROVIDER_ACTIONS,
        CLUSTER_PROVIDER_DELETE_ACTIONS,
        BOUNDARY_READ_ACTIONS,
    ]
    .concat();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `service:Operation` literals in the modules that call AWS.
    fn operations_in_code() -> Vec<String> {
        let sources = [
            include_str!("aws/iam.rs"),
            include_str!("aws/eks.rs"),
            include_str!("aws/mod.rs"),
        ];
        let mut found = Vec::new();
        for source in sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let Some((service, op)) = piece.split_once(':') else {
                    continue;
                };
                if matches!(service, "iam" | "sts" | "eks")
                    && !op.is_empty()
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && op.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    found.push(piece.to_string());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    fn scope(boundary: Option<&str>) -> KlankerScope {
        KlankerScope {
            partition: "aws".into(),
            account: "333333333333".into(),
            extra_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            permissions_boundary: boundary.map(str::to_string),
        }
    }

    fn granted(doc: &Value) -> Vec<String> {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid} in {doc:#}"))
    }

    #[test]
    fn every_aws_call_in_the_code_is_in_a_policy() {
        let mut granted = granted(&klanker_policy(&scope(None)));
        granted.extend(granted_cluster());
        let calls = operations_in_code();
        assert!(calls.len() >= 20, "the scan found too little: {calls:?}");
        for call in calls {
            // Unsigned: STS checks the token and the trust policy, not the caller's IAM.
            if call == "sts:AssumeRoleWithWebIdentity" {
                continue;
            }
            // Made by verify with role A's session: role A's own inline policy
            // grants it (trust::chain::assume_policy), not these identities'.
            if call == "sts:AssumeRole" {
                continue;
            }
            assert!(granted.contains(&call), "{call} is called but not granted");
        }
    }

    /// Mirror mode's cluster policy and what chained mode's allows.
    fn granted_cluster() -> Vec<String> {
        let mut actions = granted(&cluster_policy("222222222222", "us-east-1", "dev", "aws"));
        let chained = chained();
        for s in chained["Statement"].as_array().unwrap() {
            if s["Effect"] == "Allow" {
                actions.extend(
                    s["Action"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap().to_string()),
                );
            }
        }
        actions
    }

    #[test]
    fn policies_are_scoped() {
        let doc = klanker_policy(&scope(None));
        assert_eq!(
            statement(&doc, "OnboardedRoles")["Resource"],
            "arn:aws:iam::333333333333:role/km-cluster-*"
        );
        assert_eq!(
            statement(&doc, "OidcProviders")["Resource"],
            "arn:aws:iam::333333333333:oidc-provider/*"
        );
        assert_eq!(
            statement(&doc, "InstanceProfilesOfOnboardedRoles")["Resource"],
            "arn:aws:iam::333333333333:instance-profile/*"
        );
        // Only actions IAM cannot scope get `*`.
        let statements = doc["Statement"].as_array().unwrap();
        let star: Vec<&Value> = statements.iter().filter(|s| s["Resource"] == "*").collect();
        assert_eq!(star.len(), 1);
        assert_eq!(star[0]["Action"], json!(UNSCOPED_ACTIONS));
        assert!(!granted(&doc).iter().any(|a| a == "iam:PassRole"));
        let cluster = cluster_policy("222222222222", "us-east-1", "dev", "aws");
        assert_eq!(
            cluster["Statement"][0]["Resource"],
            "arn:aws:eks:us-east-1:222222222222:cluster/dev"
        );
    }

    #[test]
    fn attaching_is_limited_to_the_named_policies() {
        let doc = klanker_policy(&scope(None));
        let attach = statement(&doc, "OnlyTheNamedPolicies");
        assert_eq!(attach["Action"], json!(ATTACH_ACTIONS));
        assert_eq!(
            attach["Condition"]["ArnEquals"]["iam:PolicyARN"],
            json!([
                "arn:aws:iam::333333333333:policy/km-operator-policy",
                "arn:aws:iam::aws:policy/ReadOnlyAccess"
            ])
        );
        // No other statement grants attaching.
        let unconditioned: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Condition"].is_null())
            .collect();
        for s in unconditioned {
            for action in ATTACH_ACTIONS {
                assert!(!s["Action"].as_array().unwrap().contains(&json!(action)));
            }
        }
        // GetPolicy reads the same policies; an AWS managed one by name.
        assert_eq!(
            statement(&doc, "AttachablePolicies")["Resource"],
            json!([
                "arn:aws:iam::333333333333:policy/km-operator-policy",
                "arn:aws:iam::*:policy/ReadOnlyAccess"
            ])
        );
    }

    #[test]
    fn a_boundary_conditions_creation_and_is_never_removed() {
        let boundary = "arn:aws:iam::333333333333:policy/km-boundary";
        let doc = klanker_policy(&scope(Some(boundary)));
        let actions = granted(&doc);
        assert!(
            !actions
                .iter()
                .any(|a| a == "iam:DeleteRolePermissionsBoundary")
        );
        for (sid, action, tag) in [
            (
                "CreateOnlyWithTheBoundary",
                "iam:CreateRole",
                "aws:RequestTag/klanker-trust/managed-by",
            ),
            (
                "OnlyWithTheBoundary",
                "iam:PutRolePermissionsBoundary",
                "aws:ResourceTag/klanker-trust/managed-by",
            ),
        ] {
            let bounded = statement(&doc, sid);
            assert_eq!(bounded["Action"], json!([action]));
            assert_eq!(
                bounded["Condition"]["ArnEquals"]["iam:PermissionsBoundary"],
                boundary
            );
            assert_eq!(
                bounded["Condition"]["StringEquals"][tag],
                "kubectl-klanker-trust"
            );
        }
        // CreateRole and PutRolePermissionsBoundary appear nowhere else.
        for action in BOUNDARY_ACTIONS {
            assert_eq!(actions.iter().filter(|a| a == action).count(), 1);
        }
        // Without a boundary, removing one is allowed (add converges a role
        // whose boundary the user dropped).
        let free = granted(&klanker_policy(&scope(None)));
        assert!(
            free.iter()
                .any(|a| a == "iam:DeleteRolePermissionsBoundary")
        );
    }

    #[test]
    fn klanker_writes_need_our_tag_and_reads_do_not() {
        for boundary in [None, Some("arn:aws:iam::333333333333:policy/km-boundary")] {
            let doc = klanker_policy(&scope(boundary));
            for s in doc["Statement"].as_array().unwrap() {
                let actions: Vec<&str> = s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                let reads = actions.iter().all(|a| {
                    [
                        "iam:Get",
                        "iam:List",
                        "sts:Get",
                        "iam:RemoveRoleFromInstanceProfile",
                    ]
                    .iter()
                    .any(|p| a.starts_with(p))
                });
                if reads {
                    continue;
                }
                let tagged = s["Condition"]["StringEquals"]
                    .as_object()
                    .map(|c| {
                        c.keys().any(|k| {
                            k == "aws:ResourceTag/klanker-trust/managed-by"
                                || k == "aws:RequestTag/klanker-trust/managed-by"
                        })
                    })
                    .unwrap_or(false);
                assert!(tagged, "{s}");
            }
        }
    }

    #[test]
    fn partitions_come_from_the_scope() {
        let mut s = scope(None);
        s.partition = "aws-cn".into();
        s.extra_policies.clear();
        let text = klanker_policy(&s).to_string();
        assert!(!text.contains("arn:aws:"), "{text}");
        assert!(text.contains("arn:aws-cn:iam::333333333333:role/km-cluster-*"));
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
    }

    const CLUSTER_BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";

    fn chained() -> Value {
        chained_cluster_policy(
            &cluster_policy("222222222222", "us-east-1", "dev", "aws"),
            &ChainedScope {
                partition: "aws".into(),
                account: "222222222222".into(),
                boundary: cluster_boundary_arn("aws", "222222222222"),
            },
        )
    }

    fn statements_with<'a>(doc: &'a Value, action: &str) -> Vec<&'a Value> {
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Action"].as_array().unwrap().contains(&json!(action)))
            .collect()
    }

    /// The calls chained mode makes in the cluster account (its brief's list).
    const CHAINED_CALLS: &[&str] = &[
        "eks:DescribeCluster",
        "sts:GetCallerIdentity",
        "iam:ListOpenIDConnectProviders",
        "iam:GetOpenIDConnectProvider",
        "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
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
        "iam:ListRoles",
        "iam:DetachRolePolicy",
        "iam:RemoveRoleFromInstanceProfile",
    ];

    #[test]
    fn chained_cluster_policy_grants_every_chained_call_in_scope() {
        let doc = chained();
        // Mirror mode's statement comes first, unchanged.
        assert_eq!(
            doc["Statement"][0],
            cluster_policy("222222222222", "us-east-1", "dev", "aws")["Statement"][0]
        );
        let allowed: Vec<String> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        for call in CHAINED_CALLS {
            assert!(allowed.iter().any(|a| a == call), "{call} is not granted");
        }
        for never in [
            "iam:PassRole",
            "iam:AttachRolePolicy",
            "iam:UpdateOpenIDConnectProviderThumbprint",
            "iam:CreatePolicyVersion",
        ] {
            assert!(!allowed.iter().any(|a| a == never), "{never} is granted");
        }
        for statement in doc["Statement"].as_array().unwrap() {
            let resource = statement["Resource"].as_str().unwrap();
            match resource {
                "*" => assert_eq!(statement["Action"], json!(UNSCOPED_ACTIONS)),
                "arn:aws:iam::222222222222:role/km-irsa-*"
                | "arn:aws:iam::222222222222:oidc-provider/*"
                | "arn:aws:iam::222222222222:instance-profile/*"
                | "arn:aws:eks:us-east-1:222222222222:cluster/dev" => {}
                CLUSTER_BOUNDARY => {
                    let expected = match statement["Effect"].as_str() {
                        Some("Allow") => json!(BOUNDARY_READ_ACTIONS),
                        _ => json!(BOUNDARY_REWRITE_DENIED),
                    };
                    assert_eq!(statement["Action"], expected);
                }
                other => panic!("{other} is out of scope"),
            }
        }
    }

    #[test]
    fn what_a_km_irsa_role_may_do_is_written_only_with_the_boundary() {
        let doc = chained();
        // Each of these appears in exactly one Allow, conditioned on the boundary.
        for action in IRSA_BOUNDED_ACTIONS {
            let allows: Vec<&Value> = statements_with(&doc, action)
                .into_iter()
                .filter(|s| s["Effect"] == "Allow")
                .collect();
            assert_eq!(allows.len(), 1, "{action}");
            assert_eq!(
                allows[0]["Condition"],
                json!({"ArnEquals": {"iam:PermissionsBoundary": CLUSTER_BOUNDARY}}),
                "{action}"
            );
        }
        let other = statement(&doc, "NeverAnotherBoundary");
        assert_eq!(other["Effect"], "Deny");
        assert_eq!(
            other["Condition"],
            json!({"ArnNotEquals": {"iam:PermissionsBoundary": CLUSTER_BOUNDARY}})
        );
        for action in ["iam:CreateRole", "iam:PutRolePolicy"] {
            assert!(other["Action"].as_array().unwrap().contains(&json!(action)));
        }
        // Removing the boundary: denied, never allowed.
        let unbound = statements_with(&doc, "iam:DeleteRolePermissionsBoundary");
        assert_eq!(unbound.len(), 1);
        assert_eq!(unbound[0]["Effect"], "Deny");
        assert!(unbound[0]["Condition"].is_null());
        // Providers: deleted only when tagged as this tool's.
        assert_eq!(
            statement(&doc, "DeleteOnlyOurProviders")["Condition"],
            json!({"StringEquals": {"aws:ResourceTag/klanker-trust/managed-by": "kubectl-klanker-trust"}})
        );
    }

    #[test]
    fn the_boundary_allows_only_assuming_klanker_roles() {
        let doc = cluster_boundary_policy("aws-cn", "333333333333");
        assert_eq!(
            doc["Statement"],
            json!([{
                "Sid": "AssumeKlankerRolesOnly",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": "arn:aws-cn:iam::333333333333:role/km-cluster-*",
            }])
        );
        assert_eq!(
            cluster_boundary_arn("aws-us-gov", "222222222222"),
            "arn:aws-us-gov:iam::222222222222:policy/km-irsa-boundary"
        );
        let mut chained_cn = ChainedScope {
            partition: "aws-cn".into(),
            account: "222222222222".into(),
            boundary: cluster_boundary_arn("aws-cn", "222222222222"),
        };
        let text = chained_cluster_policy(&json!({}), &chained_cn).to_string();
        assert!(!text.contains("arn:aws:"), "{text}");
        chained_cn.boundary = "arn:aws-cn:iam::222222222222:policy/other".into();
        let text = chained_cluster_policy(&json!({}), &chained_cn).to_string();
        assert!(text.contains("policy/other"), "{text}");
        assert!(!text.contains(CLUSTER_BOUNDARY_POLICY), "{text}");
    }

    fn rbac(create_namespace: bool) -> RbacScope {
        RbacScope {
            namespace: "ai-pods".into(),
            service_accounts: vec!["km".into(), "km-batch".into()],
            config_maps: vec![],
            create_namespace,
            subject: Subject::Group(DEFAULT_GROUP.into()),
        }
    }

    fn parse(yaml: &str) -> Vec<serde_yaml::Value> {
        use serde::Deserialize;
        serde_yaml::Deserializer::from_str(yaml)
            .map(|d| serde_yaml::Value::deserialize(d).expect("valid YAML document"))
            .collect()
    }

    fn rules(doc: &serde_yaml::Value) -> Vec<serde_json::Value> {
        let json: Value = serde_json::to_value(doc).unwrap();
        json["rules"].as_array().unwrap().clone()
    }

    #[test]
    fn rbac_is_namespaced_with_resource_names() {
        let yaml = rbac_yaml(&rbac(false));
        let docs = parse(&yaml);
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "Role",
                "RoleBinding",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding"
            ]
        );
        let role = &docs[0];
        assert_eq!(role["metadata"]["namespace"].as_str(), Some("ai-pods"));
        // The required Role grants no token.
        assert_eq!(
            rules(role),
            vec![json!({"apiGroups": [""], "resources": ["serviceaccounts"],
                       "resourceNames": ["km", "km-batch"],
                       "verbs": ["get", "create", "patch", "delete"]})]
        );
        // The token is the optional Role's only right, headed as optional.
        let token = &docs[4];
        assert_eq!(token["metadata"]["name"].as_str(), Some(RBAC_TOKEN_NAME));
        assert_eq!(
            rules(token),
            vec![
                json!({"apiGroups": [""], "resources": ["serviceaccounts/token"],
                       "resourceNames": ["km", "km-batch"], "verbs": ["create"]})
            ]
        );
        assert_eq!(docs[5]["roleRef"]["name"].as_str(), Some(RBAC_TOKEN_NAME));
        let optional = yaml.find(OPTIONAL_HEADER).expect("optional header");
        assert!(optional > yaml.find("kind: ClusterRoleBinding").unwrap());
        assert!(
            !serde_json::to_string(&rbac_list(&rbac(false)))
                .unwrap()
                .contains("token")
        );
        let binding = &docs[1];
        assert_eq!(binding["metadata"]["namespace"].as_str(), Some("ai-pods"));
        assert_eq!(binding["roleRef"]["kind"].as_str(), Some("Role"));
        assert_eq!(binding["roleRef"]["name"].as_str(), Some(RBAC_NAME));
        assert_eq!(
            binding["subjects"][0]["name"].as_str(),
            Some("klanker-trust-admins")
        );
        assert_eq!(binding["subjects"][0]["kind"].as_str(), Some("Group"));
    }

    #[test]
    fn cluster_rules_are_only_the_cluster_wide_calls() {
        let docs = parse(&rbac_yaml(&rbac(false)));
        let cluster_role = &docs[2];
        assert!(cluster_role["metadata"]["namespace"].is_null());
        assert_eq!(
            cluster_role["metadata"]["name"].as_str(),
            Some("kubectl-klanker-trust:ai-pods")
        );
        assert_eq!(
            rules(cluster_role),
            vec![
                json!({"apiGroups": [""], "resources": ["namespaces"],
                       "resourceNames": ["ai-pods"], "verbs": ["get"]}),
                json!({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["list"]}),
                json!({"nonResourceURLs": ["/.well-known/openid-configuration"], "verbs": ["get"]}),
                json!({"nonResourceURLs": ["/openid/v1/jwks"], "verbs": ["get"]}),
            ]
        );
        // Nothing cluster-wide writes or mints tokens.
        for rule in rules(cluster_role) {
            let resources = rule["resources"].as_array().cloned().unwrap_or_default();
            assert!(!resources.contains(&json!("serviceaccounts/token")));
            let verbs = rule["verbs"].as_array().unwrap();
            if rule["resourceNames"].is_null() {
                assert!(verbs.iter().all(|v| v == "list" || v == "get"), "{rule}");
            }
        }
        let binding = &docs[3];
        assert_eq!(binding["roleRef"]["kind"].as_str(), Some("ClusterRole"));
        assert_eq!(binding["roleRef"]["name"], cluster_role["metadata"]["name"]);
    }

    #[test]
    fn chained_mode_adds_only_its_config_map() {
        let mut scope = rbac(false);
        let mirror = role_rules(&scope);
        assert!(
            !mirror.iter().any(|r| r.resources.contains(&"configmaps")),
            "{mirror:?}"
        );
        scope.config_maps = vec![CHAINED_CONFIG_MAP.into()];
        let docs = parse(&rbac_yaml(&scope));
        let role_rules = rules(&docs[0]);
        assert_eq!(
            role_rules.last(),
            Some(&json!({"apiGroups": [""], "resources": ["configmaps"],
                   "resourceNames": ["km-aws-config"],
                   "verbs": ["get", "create", "patch", "delete"]}))
        );
        assert_eq!(role_rules.len(), mirror.len() + 1);
        // Nothing cluster-wide touches ConfigMaps.
        for rule in rules(&docs[2]) {
            assert_ne!(rule["resources"][0], "configmaps", "{rule}");
        }
    }

    #[test]
    fn namespace_create_only_with_create_namespace() {
        let with = parse(&rbac_yaml(&rbac(true)));
        assert_eq!(
            rules(&with[2])[0],
            json!({"apiGroups": [""], "resources": ["namespaces"],
                   "resourceNames": ["ai-pods"], "verbs": ["get", "create", "patch"]})
        );
        let without = rbac_yaml(&rbac(false));
        assert!(!without.contains("create, patch"), "{without}");
        for doc in parse(&without) {
            if let Some(rules) = doc["rules"].as_sequence() {
                for rule in rules {
                    if rule["resources"][0].as_str() == Some("namespaces") {
                        assert_eq!(rule["verbs"], serde_yaml::Value::from(vec!["get"]));
                    }
                }
            }
        }
    }

    #[test]
    fn every_rule_is_explained_and_subjects_are_quoted_safely() {
        let mut scope = rbac(false);
        scope.subject = Subject::User("arn:aws:iam::1:role/x\"\n- kind: evil".into());
        let yaml = rbac_yaml(&scope);
        let docs = parse(&yaml);
        assert_eq!(docs.len(), 6);
        assert_eq!(
            docs[1]["subjects"].as_sequence().map(Vec::len),
            Some(1),
            "{yaml}"
        );
        assert_eq!(docs[1]["subjects"][0]["kind"].as_str(), Some("User"));
        let comments = yaml.lines().filter(|l| l.starts_with("# ")).count();
        assert_eq!(
            comments,
            role_rules(&scope).len() + cluster_rules(&scope).len() + token_rules(&scope).len() + 1
        );
        let list = rbac_list(&scope);
        assert_eq!(list["items"].as_array().map(Vec::len), Some(4));
    }
}
