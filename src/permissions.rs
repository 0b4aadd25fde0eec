//! Pure: the least-privilege IAM policies the two identities need to run
//! this tool, and the Kubernetes RBAC its kubeconfig user needs. A unit test
//! scans the AWS modules so a new API call cannot go unlisted; tests/e2e
//! runs an outside linter and an outside policy evaluator on the output.
//!
//! The klanker policy must not let its holder escalate: roles it may create
//! can only ever carry the policies the admin named (`iam:PolicyARN`), and,
//! when a permissions boundary is configured, only with that boundary.

use serde_json::{Value, json};

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

/// Role actions that cannot hand the role more power than it has: reading,
/// tagging, deleting, the trust (it decides who assumes the role, not what
/// the role may do) and detaching instance profiles on the way to DeleteRole.
pub const ROLE_ACTIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
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

/// The klanker operator profile's policy.
pub fn klanker_policy(scope: &KlankerScope) -> Value {
    let roles = scope.arn(&format!("role/{ROLE_PATTERN}"));
    let attachable = scope.attachable_policies();
    let mut statements = vec![json!({
        "Sid": "OnboardedRoles",
        "Effect": "Allow",
        "Action": match scope.permissions_boundary {
            None => [ROLE_ACTIONS, BOUNDARY_ACTIONS, UNBOUND_ACTIONS].concat(),
            Some(_) => ROLE_ACTIONS.to_vec(),
        },
        "Resource": roles,
    })];
    if let Some(boundary) = &scope.permissions_boundary {
        // Without this condition, a role created (or re-bounded) by the
        // holder could escape the boundary the admin relies on.
        statements.push(json!({
            "Sid": "OnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": BOUNDARY_ACTIONS,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}},
        }));
    }
    statements.extend([
        // The guard against escalation: whoever holds this profile can create
        // km-cluster-* roles that trust anyone, so what those roles may do is
        // limited to the policies named here.
        json!({
            "Sid": "OnlyTheNamedPolicies",
            "Effect": "Allow",
            "Action": ATTACH_ACTIONS,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PolicyARN": attachable}},
        }),
        // The instance profiles a role was put in are not named by the tool;
        // removing a role from one grants nothing.
        json!({
            "Sid": "InstanceProfilesOfOnboardedRoles",
            "Effect": "Allow",
            "Action": INSTANCE_PROFILE_ACTIONS,
            "Resource": scope.arn("instance-profile/*"),
        }),
        // Provider ARNs embed each cluster's issuer, unknown in advance.
        json!({
            "Sid": "OidcProviders",
            "Effect": "Allow",
            "Action": PROVIDER_ACTIONS,
            "Resource": scope.arn("oidc-provider/*"),
        }),
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
    pub create_namespace: bool,
    pub subject: Subject,
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
    vec![
        Rule {
            resources: vec!["serviceaccounts"],
            resource_names: scope.service_accounts.clone(),
            non_resource_urls: vec![],
            verbs: vec!["get", "create", "patch", "delete"],
            why: "add and verify read the ServiceAccount (get); add writes it with server-side apply (patch); \
                  an apply that creates it is authorized as `create` with the object's name, so resourceNames \
                  bind create too, and a plain POST create (which carries no name) is denied; rm deletes it (delete)",
        },
        Rule {
            resources: vec!["serviceaccounts/token"],
            resource_names: scope.service_accounts.clone(),
            non_resource_urls: vec![],
            verbs: vec!["create"],
            why: "add and verify request a short token for these ServiceAccounts only (TokenRequest); \
                  never another ServiceAccount's token",
        },
    ]
}

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
                "subjects": [subject],
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
    for (doc, whys) in rbac_documents(scope) {
        out.push_str("---\n");
        for why in whys {
            out.push_str(&format!("# {why}\n"));
        }
        out.push_str(&serde_yaml::to_string(&doc).unwrap_or_default());
    }
    out
}

/// The same documents as one `v1 List` (also accepted by `kubectl apply -f -`).
pub fn rbac_list(scope: &RbacScope) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": rbac_documents(scope).into_iter().map(|(doc, _)| doc).collect::<Vec<_>>(),
    })
}

/// Every action the two policies grant (with or without a boundary).
pub fn all_actions() -> Vec<&'static str> {
    [
        ROLE_ACTIONS,
        BOUNDARY_ACTIONS,
        UNBOUND_ACTIONS,
        ATTACH_ACTIONS,
        INSTANCE_PROFILE_ACTIONS,
        PROVIDER_ACTIONS,
        UNSCOPED_ACTIONS,
        POLICY_READ_ACTIONS,
        CLUSTER_ACTIONS,
    ]
    .concat()
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
            assert!(granted.contains(&call), "{call} is called but not granted");
        }
    }

    fn granted_cluster() -> Vec<String> {
        granted(&cluster_policy("222222222222", "us-east-1", "dev", "aws"))
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
        let bounded = statement(&doc, "OnlyWithTheBoundary");
        assert_eq!(bounded["Action"], json!(BOUNDARY_ACTIONS));
        assert_eq!(
            bounded["Condition"]["ArnEquals"]["iam:PermissionsBoundary"],
            boundary
        );
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
        let docs = parse(&rbac_yaml(&rbac(false)));
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
        );
        let role = &docs[0];
        assert_eq!(role["metadata"]["namespace"].as_str(), Some("ai-pods"));
        let role_rules = rules(role);
        assert_eq!(
            role_rules,
            vec![
                json!({"apiGroups": [""], "resources": ["serviceaccounts"],
                       "resourceNames": ["km", "km-batch"],
                       "verbs": ["get", "create", "patch", "delete"]}),
                json!({"apiGroups": [""], "resources": ["serviceaccounts/token"],
                       "resourceNames": ["km", "km-batch"], "verbs": ["create"]}),
            ]
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
        assert_eq!(docs.len(), 4);
        assert_eq!(
            docs[1]["subjects"].as_sequence().map(Vec::len),
            Some(1),
            "{yaml}"
        );
        assert_eq!(docs[1]["subjects"][0]["kind"].as_str(), Some("User"));
        let comments = yaml.lines().filter(|l| l.starts_with("# ")).count();
        assert_eq!(
            comments,
            role_rules(&scope).len() + cluster_rules(&scope).len()
        );
        let list = rbac_list(&scope);
        assert_eq!(list["items"].as_array().map(Vec::len), Some(4));
    }
}
