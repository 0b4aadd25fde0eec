//! Chained mode's part of `policy`: what the cluster-account identity may
//! do with role A (km-irsa-*) and the account's OIDC provider, the
//! boundary role A carries, the flags only this mode takes, and the RBAC
//! for the ConfigMap pods read their AWS profile chain from.

use serde_json::{Value, json};

use crate::cli::PolicyArgs;
use crate::permissions::{
    ClusterRoleScope, ClusterRoles, INSTANCE_PROFILE_ACTIONS, ROLE_PATTERN, Rule, UNSCOPED_ACTIONS,
};
use crate::trust::{self, MANAGED_BY_TAG, MANAGED_BY_VALUE, ValidationError, chain, validate};

/// Role A is named km-irsa-NAME (`--cluster-role-name` must keep this
/// prefix), so the policy is scoped to `role/km-irsa-*`.
pub const IRSA_ROLE_PATTERN: &str = "km-irsa-*";

/// The managed policy, in the cluster account, every km-irsa-* role (and
/// pod identity's km-podid-* roles) must carry as its permissions boundary
/// unless `--cluster-permissions-boundary` names another.
pub const CLUSTER_BOUNDARY_POLICY: &str = "km-irsa-boundary";

/// The default boundary's ARN in a cluster account.
pub fn cluster_boundary_arn(partition: &str, account: &str) -> String {
    ROLES.boundary_arn(partition, account)
}

/// Role A, as `policy` describes it.
pub const ROLES: ClusterRoles = ClusterRoles {
    pattern: IRSA_ROLE_PATTERN,
    boundary_name: CLUSTER_BOUNDARY_POLICY,
};

/// Reads of a cluster role (km-irsa-* here, km-podid-* in pod identity
/// mode): they change nothing.
pub const CLUSTER_ROLE_READ_ACTIONS: &[&str] = &[
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
pub const CLUSTER_ROLE_ACTIONS: &[&str] = &[
    "iam:DeleteRole",
    "iam:DetachRolePolicy",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// Writes that decide what a cluster role may do: granted only on a role
/// that carries (or, for CreateRole, is created with) the boundary.
pub const CLUSTER_ROLE_BOUNDED_ACTIONS: &[&str] = &[
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// Explicitly denied with any other boundary, or none, so that no other
/// policy of the holder can lift the ceiling either.
pub const OTHER_BOUNDARY_DENIED: &[&str] = &[
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

/// Removing the boundary is denied outright.
pub const UNBOUND_DENIED: &[&str] = &["iam:DeleteRolePermissionsBoundary"];

/// `add` may check that the boundary exists before it creates a role with it.
pub const BOUNDARY_READ_ACTIONS: &[&str] = &["iam:GetPolicy"];

/// Rewriting or deleting the boundary policy would lift the ceiling of every
/// role it bounds at once: denied, whatever else the holder may do.
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

/// A mode's bounded roles in the cluster account, as its statements name
/// them: chained mode's role A and pod identity's association role share
/// the boundary machinery and differ only in these.
#[derive(Debug, Clone, Copy)]
pub struct BoundedRoles {
    /// `role/PATTERN`, to which every role statement is scoped.
    pub pattern: &'static str,
    /// The statements' Sid stem: `Read<noun>`, `<noun>`, `<noun>OnlyWithTheBoundary`...
    pub noun: &'static str,
}

/// Role A, as its statements name it.
pub const IRSA_ROLES: BoundedRoles = BoundedRoles {
    pattern: IRSA_ROLE_PATTERN,
    noun: "IrsaRoles",
};

/// What the cluster-account identity may do in chained mode, after the
/// generic statement: role A (km-irsa-*) and the account's providers.
///
/// The escalation it must close: whoever holds it can create km-irsa-x
/// trusting themselves and put any inline policy on it. So every write that
/// decides what such a role may do requires the boundary (`iam:PermissionsBoundary`),
/// and an explicit Deny keeps any other boundary, or none, out even if the
/// holder has other policies. The most a km-irsa-* role can then do is what
/// the boundary allows: assume km-cluster-* roles in the klanker account,
/// which trust only their own onboarding's role A.
pub fn statements(scope: &ClusterRoleScope) -> Vec<Value> {
    let mut statements = bounded_role_statements(scope, IRSA_ROLES);
    statements.extend(provider_statements(scope));
    statements.push(listing_statement());
    // add reads the provider quota where it creates role A's provider, and
    // counts the account's roles (and reads their quota) before creating role A.
    statements.push(crate::permissions::quota_statement());
    statements
}

/// The bounded roles and their boundary: read them, write their trust and
/// tags, decide what they may do only with the boundary, take them out of
/// instance profiles, read the boundary and never rewrite it.
pub fn bounded_role_statements(scope: &ClusterRoleScope, roles: BoundedRoles) -> Vec<Value> {
    let mut statements = role_statements(scope, roles);
    statements.extend(boundary_statements(scope, roles));
    statements
}

pub(crate) fn arn(scope: &ClusterRoleScope, resource: &str) -> String {
    format!("arn:{}:iam::{}:{resource}", scope.partition, scope.account)
}

/// The roles themselves: read them, write their trust and tags, and decide
/// what they may do only with the boundary.
fn role_statements(scope: &ClusterRoleScope, family: BoundedRoles) -> Vec<Value> {
    let roles = arn(scope, &format!("role/{}", family.pattern));
    let noun = family.noun;
    vec![
        json!({
            "Sid": format!("Read{noun}"),
            "Effect": "Allow",
            "Action": CLUSTER_ROLE_READ_ACTIONS,
            "Resource": roles,
        }),
        json!({
            "Sid": noun,
            "Effect": "Allow",
            "Action": CLUSTER_ROLE_ACTIONS,
            "Resource": roles,
        }),
        json!({
            "Sid": format!("{noun}OnlyWithTheBoundary"),
            "Effect": "Allow",
            "Action": CLUSTER_ROLE_BOUNDED_ACTIONS,
            "Resource": roles,
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary}},
        }),
        // A missing key makes ArnNotEquals true: no boundary is denied too.
        json!({
            "Sid": "NeverAnotherBoundary",
            "Effect": "Deny",
            "Action": OTHER_BOUNDARY_DENIED,
            "Resource": roles,
            "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": scope.boundary}},
        }),
        json!({
            "Sid": "NeverWithoutTheBoundary",
            "Effect": "Deny",
            "Action": UNBOUND_DENIED,
            "Resource": roles,
        }),
    ]
}

/// Around the roles: their instance profiles and their boundary policy.
fn boundary_statements(scope: &ClusterRoleScope, family: BoundedRoles) -> Vec<Value> {
    vec![
        // A role may have been put in an instance profile by hand; IAM
        // authorizes the removal on the profile, whose name the tool does
        // not choose. Removing grants nothing.
        json!({
            "Sid": format!("InstanceProfilesOf{}", family.noun),
            "Effect": "Allow",
            "Action": INSTANCE_PROFILE_ACTIONS,
            "Resource": arn(scope, "instance-profile/*"),
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
    ]
}

/// The account's provider, chained mode's own.
fn provider_statements(scope: &ClusterRoleScope) -> Vec<Value> {
    let providers = arn(scope, "oidc-provider/*");
    vec![
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
                format!("aws:ResourceTag/{MANAGED_BY_TAG}"): MANAGED_BY_VALUE,
            }},
        }),
    ]
}

/// The listings and the caller's identity, which IAM cannot scope.
pub fn listing_statement() -> Value {
    json!({
        "Sid": "ListingAndIdentity",
        "Effect": "Allow",
        "Action": UNSCOPED_ACTIONS,
        "Resource": "*",
    })
}

/// The permissions boundary of every km-irsa-* role: whatever inline policy
/// its role carries, it may only assume km-cluster-* roles in the klanker
/// account.
pub fn boundary_policy(partition: &str, klanker_account: &str) -> Value {
    boundary_allowing(partition, klanker_account, BOUNDARY_ACTIONS_ALLOWED)
}

/// A boundary that allows only `actions` on the klanker account's
/// km-cluster-* roles.
pub fn boundary_allowing(partition: &str, klanker_account: &str, actions: &[&str]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeKlankerRolesOnly",
            "Effect": "Allow",
            "Action": actions,
            "Resource": trust::role_arn(partition, klanker_account, ROLE_PATTERN),
        }]
    })
}

/// The flags only chained mode takes, each with whether it was given.
pub fn flags(args: &PolicyArgs) -> Vec<(&'static str, bool)> {
    vec![
        (
            "--cluster-permissions-boundary",
            args.cluster_permissions_boundary.is_some(),
        ),
        ("--config-map-name", args.config_map_name.is_some()),
    ]
}

/// The ConfigMap holding the pods' AWS profile chain, by the name pods
/// read it under: the Role may write that one only.
pub fn rbac_rules(args: &PolicyArgs) -> Result<Vec<Rule>, ValidationError> {
    let name = args
        .config_map_name
        .clone()
        .unwrap_or_else(|| chain::DEFAULT_CONFIG_MAP.to_string());
    // A ConfigMap name is a DNS-1123 subdomain, as a ServiceAccount's.
    validate::service_account(&name).map_err(|mut e| {
        e.input = "--config-map-name".into();
        e.problem = e.problem.replace("ServiceAccount", "ConfigMap");
        e.hint = format!(
            "Use a name like `{}`: lower-case letters, digits, '-' and '.'.",
            chain::DEFAULT_CONFIG_MAP
        );
        e
    })?;
    Ok(vec![Rule {
        resources: vec!["configmaps"],
        resource_names: vec![name],
        non_resource_urls: vec![],
        verbs: vec!["get", "create", "patch", "delete"],
        why: "chained mode: add writes the pods' AWS profile chain with server-side apply (patch, and \
              create, which carries the name); verify reads it as a pod's SDK would (get); rm deletes it \
              (delete); resourceNames keep it to this ConfigMap",
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::permissions::{
        DEFAULT_GROUP, ModeRules, RbacScope, Subject, cluster_policy, rbac_list, role_rules,
    };
    use crate::trust::TrustMode;
    use clap::Parser;

    const CLUSTER_BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";

    fn chained() -> Value {
        cluster_policy(
            "222222222222",
            "us-east-1",
            "dev",
            "aws",
            statements(&ClusterRoleScope {
                partition: "aws".into(),
                account: "222222222222".into(),
                region: "us-east-1".into(),
                cluster: "dev".into(),
                boundary: cluster_boundary_arn("aws", "222222222222"),
            }),
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
        "servicequotas:GetServiceQuota",
        "iam:GetAccountSummary",
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
            cluster_policy("222222222222", "us-east-1", "dev", "aws", vec![])["Statement"][0]
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
                "*" => assert!(
                    statement["Action"] == json!(UNSCOPED_ACTIONS)
                        || statement["Action"] == json!(crate::permissions::QUOTA_READ_ACTIONS),
                    "{statement}"
                ),
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
        for action in CLUSTER_ROLE_BOUNDED_ACTIONS {
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
        let doc = boundary_policy("aws-cn", "333333333333");
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
        let mut chained_cn = ClusterRoleScope {
            partition: "aws-cn".into(),
            account: "222222222222".into(),
            region: "cn-north-1".into(),
            cluster: "dev".into(),
            boundary: cluster_boundary_arn("aws-cn", "222222222222"),
        };
        let text = json!(statements(&chained_cn)).to_string();
        assert!(!text.contains("arn:aws:"), "{text}");
        chained_cn.boundary = "arn:aws-cn:iam::222222222222:policy/other".into();
        let text = json!(statements(&chained_cn)).to_string();
        assert!(text.contains("policy/other"), "{text}");
        assert!(!text.contains(CLUSTER_BOUNDARY_POLICY), "{text}");
    }

    fn policy_args(flags: &[&str]) -> PolicyArgs {
        let mut argv = vec!["kubectl-klanker_trust", "policy"];
        argv.extend_from_slice(flags);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Policy(p) => *p,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn chained_mode_adds_only_its_config_map() {
        let mut scope = RbacScope {
            namespace: "ai-pods".into(),
            service_accounts: vec!["km".into(), "km-batch".into()],
            mode_rules: vec![],
            create_namespace: false,
            subject: Subject::Group(DEFAULT_GROUP.into()),
        };
        let mirror = role_rules(&scope);
        assert!(
            !mirror.iter().any(|r| r.resources.contains(&"configmaps")),
            "{mirror:?}"
        );
        scope.mode_rules = vec![ModeRules {
            mode: TrustMode::Chained,
            rules: rbac_rules(&policy_args(&["--mode", "chained"])).unwrap(),
        }];
        let docs: Vec<Value> = rbac_list(&scope)["items"].as_array().unwrap().clone();
        let role_rules = docs[0]["rules"].as_array().unwrap();
        assert_eq!(
            role_rules.last(),
            Some(&json!({"apiGroups": [""], "resources": ["configmaps"],
                   "resourceNames": ["km-aws-config"],
                   "verbs": ["get", "create", "patch", "delete"]}))
        );
        assert_eq!(role_rules.len(), mirror.len() + 1);
        // Nothing cluster-wide touches ConfigMaps.
        for rule in docs[2]["rules"].as_array().unwrap() {
            assert_ne!(rule["resources"][0], "configmaps", "{rule}");
        }
        // The name pods read it under, checked as a ConfigMap's.
        let named = rbac_rules(&policy_args(&["--config-map-name", "team-cfg"])).unwrap();
        assert_eq!(named[0].resource_names, ["team-cfg"]);
        let bad = rbac_rules(&policy_args(&["--config-map-name", "Bad_Name"])).unwrap_err();
        assert_eq!(bad.input, "--config-map-name");
        assert!(bad.problem.contains("ConfigMap"), "{bad:?}");
    }
}
