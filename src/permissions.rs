//! Pure: the least-privilege IAM policies the two identities need to run
//! this tool, and the Kubernetes RBAC its kubeconfig user needs. What a
//! trust mode adds (its roles in the cluster's account, their boundary, its
//! own objects' RBAC) is the mode's, through `plan::mode::Mode`; this module
//! names no mode. A unit test in `commands::policy` scans the AWS modules so
//! a new API call cannot go unlisted; tests/e2e runs an outside linter and
//! an outside policy evaluator on the output.
//!
//! The klanker policy must not let its holder escalate: roles it may create
//! can only ever carry the policies the admin named (`iam:PolicyARN`), and,
//! when a permissions boundary is configured, only with that boundary.

use serde_json::{Value, json};

use crate::trust::TrustMode;

/// Inputs `policy` could not work out.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The klanker account could not be learnt from the profile. The AWS
    /// error is kept as a source only, so this module needs no AWS adapter.
    #[error(
        "the klanker account is not known: {}. Pass --klanker-account ID (with --region in the partition, e.g. cn-north-1 for aws-cn), or an --aws-profile whose account can be read; the policy never names a placeholder account.",
        source.to_string().trim_end_matches('.')
    )]
    KlankerAccount {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The profile is not configured at all: a flag to change, not a failed read.
        unknown_profile: bool,
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
    /// A flag only another trust mode's documents take.
    #[error("{flag} is for {} mode: pass --mode {}, or drop it.", mode.as_str(), mode.as_str())]
    ModeOnly { flag: &'static str, mode: TrustMode },
    /// A role in one partition cannot assume a role in another.
    #[error(
        "the cluster is in partition {cluster} and the klanker account in {klanker}: a {} AssumeRole cannot cross partitions. Pass --cluster-region (or --region) in the same partition.",
        mode.as_str()
    )]
    PartitionMismatch {
        cluster: String,
        klanker: String,
        mode: TrustMode,
    },
}

impl PolicyError {
    /// A flag to change (exit 2), rather than an account that could not be read.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            PolicyError::KlankerAccount {
                unknown_profile: false,
                ..
            }
        )
    }
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

/// `add` reads the account's applied IAM quotas (OIDC providers, roles,
/// trust policy length) where it may, and counts the account's roles
/// (GetAccountSummary) before creating one; without these it assumes AWS's
/// defaults, or skips the roles check, and says so. Neither read is scoped
/// to a resource by its service.
pub const QUOTA_READ_ACTIONS: &[&str] = &["iam:GetAccountSummary", "servicequotas:GetServiceQuota"];

/// The statement granting `QUOTA_READ_ACTIONS`, in each account `add`
/// reads a quota in.
pub fn quota_statement() -> Value {
    json!({
        "Sid": "ReadQuotas",
        "Effect": "Allow",
        "Action": QUOTA_READ_ACTIONS,
        "Resource": "*",
    })
}

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
            // The applied quotas the findings are measured against; without
            // it AWS's defaults are assumed, and the report says so.
            quota_statement(),
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
        quota_statement(),
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
        // tagging an existing role or provider (see docs/commands/policy.md).
        json!({
            "Sid": "TagOnlyAsOurs",
            "Effect": "Allow",
            "Action": TAG_AS_OURS_ACTIONS,
            "Resource": [roles, providers],
            "Condition": ours("RequestTag"),
        }),
    ]
}

/// The cluster-account identity's policy: read the cluster's issuer, then
/// what the trust mode adds about its own roles there (`extra`).
pub fn cluster_policy(
    account: &str,
    region: &str,
    name: &str,
    partition: &str,
    extra: Vec<Value>,
) -> Value {
    let mut statements = vec![json!({
        "Sid": "ReadClusterIssuer",
        "Effect": "Allow",
        "Action": CLUSTER_ACTIONS,
        "Resource": format!("arn:{partition}:eks:{region}:{account}:cluster/{name}"),
    })];
    statements.extend(extra);
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Roles a trust mode makes in the cluster's account (the cluster roles),
/// from which the second hop reaches the klanker role. Each carries a
/// permissions boundary, so that no inline policy can give it more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterRoles {
    /// Their names' pattern (`role/PATTERN`), to which the policy is scoped.
    pub pattern: &'static str,
    /// The managed policy of the cluster account they carry as their
    /// boundary unless `--cluster-permissions-boundary` names another.
    pub boundary_name: &'static str,
}

impl ClusterRoles {
    /// A role's name for onboarding `name` when no flag names it: the
    /// pattern's fixed prefix, then the name.
    pub fn default_name(&self, name: &str) -> String {
        format!("{}{name}", self.pattern.trim_end_matches('*'))
    }

    /// The default boundary's ARN in a cluster account.
    pub fn boundary_arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:policy/{}",
            self.boundary_name
        )
    }
}

/// Where the cluster-account statements about the cluster roles point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRoleScope {
    /// The cluster account and its partition.
    pub partition: String,
    pub account: String,
    /// The cluster's region and name, `*` when unknown: a mode that acts on
    /// the cluster's own EKS resources scopes its statements to them.
    pub region: String,
    pub cluster: String,
    /// The boundary every cluster role carries.
    pub boundary: String,
}

/// The cluster roles' boundary as `policy` prints it: the document, the
/// roles it bounds, and the mode they belong to (named in the heading).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryDoc {
    pub mode: TrustMode,
    pub roles: ClusterRoles,
    pub policy: Value,
    /// `policy --for cluster-boundary` prints this one only with `--mode`
    /// (without it, another mode's is printed): the hint must say so.
    pub needs_mode_flag: bool,
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
    /// What the trust modes add for their own namespaced objects (none
    /// for a mode that writes only the ServiceAccounts).
    pub mode_rules: Vec<ModeRules>,
    pub create_namespace: bool,
    pub subject: Subject,
}

/// The Role rules one trust mode adds for its own objects; the printed
/// `policy` command names the mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeRules {
    pub mode: TrustMode,
    pub rules: Vec<Rule>,
}

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
    for added in &scope.mode_rules {
        rules.extend(added.rules.iter().cloned());
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Only actions IAM (or Service Quotas) cannot scope get `*`.
        let statements = doc["Statement"].as_array().unwrap();
        let star: Vec<&Value> = statements.iter().filter(|s| s["Resource"] == "*").collect();
        assert_eq!(star.len(), 2);
        assert_eq!(star[0]["Action"], json!(UNSCOPED_ACTIONS));
        assert_eq!(star[1]["Action"], json!(QUOTA_READ_ACTIONS));
        assert!(!granted(&doc).iter().any(|a| a == "iam:PassRole"));
        let cluster = cluster_policy("222222222222", "us-east-1", "dev", "aws", vec![]);
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
                        "servicequotas:Get",
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

    fn rbac(create_namespace: bool) -> RbacScope {
        RbacScope {
            namespace: "ai-pods".into(),
            service_accounts: vec!["km".into(), "km-batch".into()],
            mode_rules: vec![],
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
