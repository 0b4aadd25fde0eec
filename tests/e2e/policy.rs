//! `policy` judged from outside: the printed operator policy goes through
//! an IAM linter (parliament) and a local IAM policy evaluator
//! (principalmapper) that are not this code, by tests/support/policy_check.py.
//! Plus the RBAC documents as kubectl would take them, and verify's session.
//! Chained mode's cluster-account policy and its km-irsa-* boundary are
//! judged the same way.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{AddArgs, CLUSTER, OPERATOR_POLICY, ROLE_ARN, World, moto};

const BOUNDARY: &str = "arn:aws:iam::333333333333:policy/km-boundary";
const EXTRA: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// One question for the evaluator, and the answer the test demands.
struct Case {
    name: String,
    action: String,
    resource: String,
    conditions: Value,
    allowed: bool,
}

fn case(name: &str, action: &str, resource: &str, conditions: Value, allowed: bool) -> Case {
    Case {
        name: name.into(),
        action: action.into(),
        resource: resource.into(),
        conditions,
        allowed,
    }
}

/// What policy_check.py answered.
struct Judgement {
    findings: Vec<Value>,
    verdicts: Vec<Value>,
}

fn judge(world: &World, policy: &str, cases: &[Case]) -> Judgement {
    judge_as(
        world,
        policy,
        cases,
        json!({"principal": format!("arn:aws:iam::{KLANKER_ACCOUNT}:user/klanker-operator")}),
    )
}

/// `request`: who holds the policy, and how (policy_check.py's optional
/// keys `as` and `also_attached`).
fn judge_as(world: &World, policy: &str, cases: &[Case], mut request: Value) -> Judgement {
    let policy_path = world.path(&format!("policy-{}.json", cases.len()));
    let cases_path = world.path(&format!("cases-{}.json", cases.len()));
    std::fs::write(&policy_path, policy).expect("write policy");
    request["cases"] = cases
        .iter()
        .map(|c| {
            json!({"name": c.name, "action": c.action,
            "resource": c.resource, "conditions": c.conditions})
        })
        .collect();
    std::fs::write(&cases_path, request.to_string()).expect("write cases");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/policy_check.py");
    let out = Command::new(moto::python())
        .arg(script)
        .arg(&policy_path)
        .arg(&cases_path)
        .output()
        .expect("run policy_check.py");
    assert!(
        out.status.success(),
        "policy_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("verdicts JSON");
    Judgement {
        findings: answer["findings"].as_array().cloned().unwrap_or_default(),
        verdicts: answer["verdicts"].as_array().cloned().unwrap_or_default(),
    }
}

#[track_caller]
fn assert_judgement(judgement: &Judgement, cases: &[Case], policy: &str) {
    let serious: Vec<&Value> = judgement
        .findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("MEDIUM" | "HIGH" | "CRITICAL")))
        .collect();
    assert!(
        serious.is_empty(),
        "parliament findings: {serious:#?}\n{policy}"
    );
    assert_eq!(judgement.verdicts.len(), cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .zip(&judgement.verdicts)
        .filter(|(c, v)| v["allowed"].as_bool() != Some(c.allowed))
        .map(|(c, _)| {
            format!(
                "{}: {} on {} with {} should be {}",
                c.name,
                c.action,
                c.resource,
                c.conditions,
                if c.allowed { "allowed" } else { "denied" }
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{policy}");
}

/// `service:Operation` literals in the modules that call AWS (the same scan
/// as the unit test), so a new call must be placed here before it passes.
fn calls_in_code() -> Vec<String> {
    let sources = [
        include_str!("../../src/aws/iam.rs"),
        include_str!("../../src/aws/eks.rs"),
        include_str!("../../src/aws/mod.rs"),
    ];
    let mut found: Vec<String> = sources
        .iter()
        .flat_map(|s| s.split('"').skip(1).step_by(2))
        .filter(|piece| {
            piece.split_once(':').is_some_and(|(service, op)| {
                matches!(service, "iam" | "sts" | "eks")
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && op.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Each call add/rm/list/verify make, on the resource and with the
/// condition keys real IAM evaluates it with. `boundary`: the operator
/// policy was printed with --permissions-boundary.
fn calls_of_the_tool(boundary: bool) -> Vec<Case> {
    let calls = calls_in_code();
    assert!(calls.len() >= 20, "the scan found too little: {calls:?}");
    let provider =
        "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let mut cases = Vec::new();
    for call in calls {
        let none = json!({});
        let (resource, conditions, allowed) = match call.as_str() {
            // Unsigned: STS checks the token and the trust, not the caller's IAM.
            "sts:AssumeRoleWithWebIdentity" => continue,
            // verify's second hop in chained mode, made with role A's
            // session: role A's own inline policy grants it.
            "sts:AssumeRole" => continue,
            // In the cluster account: judged against the cluster policy
            // (chained mode's inline policy and its reads are only there).
            "eks:DescribeCluster"
            | "iam:PutRolePolicy"
            | "iam:GetRolePolicy"
            | "iam:ListRoleTags" => continue,
            "iam:ListRoles" | "iam:ListOpenIDConnectProviders" | "sts:GetCallerIdentity" => {
                ("*", none, true)
            }
            "iam:GetPolicy" => (OPERATOR_POLICY, none, true),
            "iam:AttachRolePolicy" | "iam:DetachRolePolicy" => {
                (ROLE_ARN, json!({"iam:PolicyARN": OPERATOR_POLICY}), true)
            }
            "iam:CreateRole" | "iam:PutRolePermissionsBoundary" if boundary => {
                (ROLE_ARN, json!({"iam:PermissionsBoundary": BOUNDARY}), true)
            }
            // With a boundary configured, the operator must never remove it.
            "iam:DeleteRolePermissionsBoundary" => (ROLE_ARN, none, !boundary),
            "iam:RemoveRoleFromInstanceProfile" => (
                "arn:aws:iam::333333333333:instance-profile/someone-elses",
                none,
                true,
            ),
            op if op.contains("OpenIDConnectProvider") => (provider, none, true),
            op if op.starts_with("iam:") && (op.contains("Role") || op.contains("Tag")) => {
                (ROLE_ARN, none, true)
            }
            other => panic!("{other} is called: say on which resource IAM checks it"),
        };
        cases.push(case(&call, &call, resource, conditions, allowed));
    }
    cases
}

/// What must be denied whatever the configuration.
fn escalations() -> Vec<Case> {
    let none = || json!({});
    vec![
        case(
            "attach AdministratorAccess to km-cluster-x",
            "iam:AttachRolePolicy",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            json!({"iam:PolicyARN": ADMIN}),
            false,
        ),
        case(
            "attach a customer policy that was not named",
            "iam:AttachRolePolicy",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            json!({"iam:PolicyARN": "arn:aws:iam::333333333333:policy/god-mode"}),
            false,
        ),
        case(
            "create a role outside km-cluster-*",
            "iam:CreateRole",
            "arn:aws:iam::333333333333:role/backdoor",
            json!({"iam:PermissionsBoundary": BOUNDARY}),
            false,
        ),
        case(
            "pass a role",
            "iam:PassRole",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            none(),
            false,
        ),
        case(
            "inline policy on an onboarded role",
            "iam:PutRolePolicy",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            none(),
            false,
        ),
        case(
            "rewrite the operator policy",
            "iam:CreatePolicyVersion",
            OPERATOR_POLICY,
            none(),
            false,
        ),
        case(
            "attach to a role outside km-cluster-*",
            "iam:AttachRolePolicy",
            "arn:aws:iam::333333333333:role/admin",
            json!({"iam:PolicyARN": OPERATOR_POLICY}),
            false,
        ),
    ]
}

fn print_policy(world: &World, extra: &[&str]) -> String {
    let mut args = vec!["policy", "--for", "klanker", "-o", "json"];
    args.extend_from_slice(extra);
    let out = world.run(&args);
    out.assert_ok();
    out.stdout
}

/// Every ARN in the document names the klanker account (AWS managed
/// policies aside, which are read by name), and nothing is a placeholder.
#[track_caller]
fn assert_real_account(policy: &str, partition: &str) {
    for placeholder in [
        "123456789012",
        "000000000000",
        "ACCOUNT",
        "<",
        "iam::*:role",
        "iam::*:oidc",
    ] {
        assert_lacks!(policy, placeholder);
    }
    let doc: Value = serde_json::from_str(policy).expect("policy JSON");
    for statement in doc["Statement"].as_array().expect("statements") {
        let resources = match &statement["Resource"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            other => panic!("resource {other}"),
        };
        for resource in resources {
            if resource == "*" {
                continue;
            }
            let parts: Vec<&str> = resource.splitn(6, ':').collect();
            assert_eq!(parts[1], partition, "{resource}");
            let aws_managed = statement["Sid"] == "AttachablePolicies" && parts[4] == "*";
            assert!(parts[4] == KLANKER_ACCOUNT || aws_managed, "{resource}");
        }
    }
}

#[test]
fn operator_policy_cannot_escalate_and_grants_every_call() {
    let world = World::new();
    // The account comes from the klanker profile (its role_arn), not a flag.
    let policy = print_policy(&world, &[]);
    assert_real_account(&policy, "aws");
    let mut cases = calls_of_the_tool(false);
    cases.extend(escalations());
    cases.push(case(
        "attach ReadOnlyAccess when it was not named",
        "iam:AttachRolePolicy",
        ROLE_ARN,
        json!({"iam:PolicyARN": EXTRA}),
        false,
    ));
    let judgement = judge(&world, &policy, &cases);
    assert_judgement(&judgement, &cases, &policy);
}

#[test]
fn a_boundary_and_named_policies_bind_the_operator() {
    let world = World::new();
    let policy = print_policy(
        &world,
        &[
            "--allow-policy-arn",
            EXTRA,
            "--permissions-boundary",
            BOUNDARY,
        ],
    );
    assert_real_account(&policy, "aws");
    let mut cases = calls_of_the_tool(true);
    cases.extend(escalations());
    cases.extend([
        case(
            "attach a named extra policy",
            "iam:AttachRolePolicy",
            ROLE_ARN,
            json!({"iam:PolicyARN": EXTRA}),
            true,
        ),
        case(
            "read a named extra policy",
            "iam:GetPolicy",
            EXTRA,
            json!({}),
            true,
        ),
        case(
            "create without the boundary",
            "iam:CreateRole",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            json!({}),
            false,
        ),
        case(
            "create with another boundary",
            "iam:CreateRole",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            json!({"iam:PermissionsBoundary": ADMIN}),
            false,
        ),
        case(
            "swap the boundary",
            "iam:PutRolePermissionsBoundary",
            "arn:aws:iam::333333333333:role/km-cluster-x",
            json!({"iam:PermissionsBoundary": ADMIN}),
            false,
        ),
    ]);
    let judgement = judge(&world, &policy, &cases);
    assert_judgement(&judgement, &cases, &policy);
}

#[test]
fn cluster_policy_grants_describe_cluster_only() {
    let world = World::new();
    let out = world.run(&["policy", "--for", "cluster", "-o", "json"]);
    out.assert_ok();
    let cluster = "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0";
    let cases = [
        case(
            "describe the cluster",
            "eks:DescribeCluster",
            cluster,
            json!({}),
            true,
        ),
        case(
            "describe another cluster",
            "eks:DescribeCluster",
            "arn:aws:eks:us-east-1:222222222222:cluster/prod",
            json!({}),
            false,
        ),
        case(
            "update the cluster",
            "eks:UpdateClusterConfig",
            cluster,
            json!({}),
            false,
        ),
    ];
    let judgement = judge(&world, &out.stdout, &cases);
    assert_judgement(&judgement, &cases, &out.stdout);
}

#[test]
fn partitions_come_from_the_identity_never_a_literal() {
    let world = World::new();
    // --klanker-account: the partition of --region.
    let cn = print_policy(
        &world,
        &[
            "--klanker-account",
            KLANKER_ACCOUNT,
            "--region",
            "cn-north-1",
        ],
    );
    assert_lacks!(cn, "arn:aws:");
    assert_real_account(&cn, "aws-cn");
    let judgement = judge(&world, &cn, &[]);
    assert_judgement(&judgement, &[], &cn);
    // A profile in aws-us-gov: the partition of its role.
    let config = world.path("gov-config");
    std::fs::write(
        &config,
        "[profile gov]\nrole_arn = arn:aws-us-gov:iam::333333333333:role/klanker-operator\nsource_profile = base\nregion = us-gov-west-1\n\n[profile base]\nregion = us-gov-west-1\n",
    )
    .expect("write config");
    let out = world.run_cmd(world.kubectl().env("AWS_CONFIG_FILE", &config).args([
        "policy",
        "--for",
        "klanker",
        "-o",
        "json",
        "--aws-profile",
        "gov",
    ]));
    out.assert_ok();
    assert_lacks!(out.stdout, "arn:aws:");
    assert_real_account(&out.stdout, "aws-us-gov");
    // A policy in another partition is refused.
    world
        .run(&[
            "policy",
            "--for",
            "klanker",
            "--klanker-account",
            KLANKER_ACCOUNT,
            "--region",
            "cn-north-1",
            "--allow-policy-arn",
            EXTRA,
        ])
        .assert_code(2);
}

#[test]
fn an_unknown_account_is_an_error_not_a_placeholder() {
    let world = World::new();
    let out = world.run(&["policy", "--for", "klanker", "--aws-profile", "nowhere"]);
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_contains!(out.stderr, "--klanker-account");
    assert_contains!(out.stderr, "nowhere");
    world
        .run(&["policy", "--for", "klanker", "--klanker-account", "12345"])
        .assert_code(2);
}

fn documents(yaml: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde_yaml::Value::deserialize(d).expect("a YAML document"))
        .collect()
}

#[test]
fn rbac_yaml_is_only_the_documents_for_kubectl_apply() {
    let world = World::new();
    let out = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-o",
        "yaml",
        "--namespace",
        "team-a",
        "--service-account",
        "runner",
        "--service-account",
        "batch",
        "--user",
        "alice@example.com",
    ]);
    out.assert_ok();
    // Nothing but YAML documents (and their comments) on stdout.
    assert!(out.stdout.starts_with("---\n"), "{}", out.stdout);
    let docs = documents(&out.stdout);
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    );
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("team-a"));
    let names: Vec<&str> = docs[0]["rules"][0]["resourceNames"]
        .as_sequence()
        .expect("resourceNames")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["runner", "batch"]);
    assert_eq!(docs[1]["subjects"][0]["kind"].as_str(), Some("User"));
    assert_eq!(
        docs[1]["subjects"][0]["name"].as_str(),
        Some("alice@example.com")
    );
    assert_lacks!(
        out.stdout,
        "serviceaccounts/token\n  verbs:\n  - create\n- apiGroups"
    );

    // Without --user/--group: the documented default group.
    let default = world.run(&["policy", "--for", "rbac", "-o", "yaml", "-n", "team-a"]);
    default.assert_ok();
    let docs = documents(&default.stdout);
    assert_eq!(docs[3]["subjects"][0]["kind"].as_str(), Some("Group"));
    assert_eq!(
        docs[3]["subjects"][0]["name"].as_str(),
        Some("klanker-trust-admins")
    );

    // -o yaml is the RBAC only; wildcards have no Role.
    world
        .run(&["policy", "--for", "klanker", "-o", "yaml"])
        .assert_code(2);
    world
        .run(&["policy", "--for", "rbac", "-o", "yaml", "-n", "*"])
        .assert_code(2);
    world
        .run(&[
            "policy",
            "--for",
            "rbac",
            "-n",
            "team-a",
            "--service-account",
            "km-*",
        ])
        .assert_code(2);
}

#[test]
fn rbac_for_an_onboarding_name_uses_its_recorded_namespace() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        format!(
            "clusters:\n- name: {CLUSTER}\n  oidc_provider_arn: arn:aws:iam::333333333333:oidc-provider/oidc.example.com\n  namespace: team-a\n  service_account: runner\n  role_arn: {ROLE_ARN}\n"
        ),
    )
    .expect("write km-config");
    let out = world.run(&["policy", "--for", "rbac", CLUSTER, "-o", "yaml"]);
    out.assert_ok();
    let docs = documents(&out.stdout);
    // The context's namespace is ai-pods: the record wins.
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("team-a"));
    assert_eq!(
        docs[0]["rules"][1]["resources"][0].as_str(),
        Some("serviceaccounts/token")
    );
    assert_eq!(
        docs[0]["rules"][1]["resourceNames"][0].as_str(),
        Some("runner")
    );
    let cluster_rules = docs[2]["rules"].as_sequence().expect("rules");
    assert_eq!(
        cluster_rules[0]["resourceNames"][0].as_str(),
        Some("team-a")
    );
    assert_eq!(
        cluster_rules[0]["verbs"],
        serde_yaml::Value::from(vec!["get"])
    );

    // --create-namespace adds create and patch on that namespace only.
    let create = world.run(&[
        "policy",
        "--for",
        "rbac",
        CLUSTER,
        "--create-namespace",
        "-o",
        "yaml",
    ]);
    create.assert_ok();
    let docs = documents(&create.stdout);
    assert_eq!(
        docs[2]["rules"][0]["verbs"],
        serde_yaml::Value::from(vec!["get", "create", "patch"])
    );

    // An unknown onboarding is an error, not a guess.
    let unknown = world.run(&["policy", "--for", "rbac", "nowhere-0", "-o", "yaml"]);
    unknown.assert_code(2);
    assert_contains!(unknown.stderr, "nowhere-0");
    assert!(unknown.stdout.is_empty());
}

#[test]
fn verify_asks_for_the_shortest_session() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.clear_calls();
    world.run(&["verify", CLUSTER]).assert_ok();
    let exchanges: Vec<moto::Call> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRoleWithWebIdentity")
        .collect();
    assert!(!exchanges.is_empty(), "verify never exchanged the token");
    for call in exchanges {
        assert_eq!(
            call.params.get("DurationSeconds").map(String::as_str),
            Some("900"),
            "{:?}",
            call.params
        );
        assert_eq!(
            call.params.get("RoleArn").map(String::as_str),
            Some(ROLE_ARN)
        );
        // The recorder never keeps the token.
        assert!(!call.params.contains_key("WebIdentityToken"));
    }
}

#[test]
fn without_an_account_in_its_configuration_the_profile_is_asked() {
    let world = World::new();
    // `base` has static keys only: the account comes from STS GetCallerIdentity.
    let out = world.run(&[
        "policy",
        "--for",
        "klanker",
        "-o",
        "json",
        "--aws-profile",
        "base",
    ]);
    out.assert_ok();
    let asked: Vec<String> = world.moto.calls().into_iter().map(|c| c.action).collect();
    assert_eq!(asked, ["GetCallerIdentity"]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("policy JSON");
    let roles = doc["Statement"][0]["Resource"]
        .as_str()
        .expect("role resource");
    let account = roles.split(':').nth(4).expect("account");
    assert!(
        account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()),
        "{roles}"
    );
    // With the account in the profile (role_arn), nothing is sent.
    world.clear_calls();
    world
        .run(&["policy", "--for", "klanker", "-o", "json"])
        .assert_ok();
    assert!(world.moto.calls().is_empty());
}

const IRSA_ROLE: &str = "arn:aws:iam::222222222222:role/km-irsa-dev-use1-0";
const CLUSTER_BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";
const CLUSTER_PROVIDER: &str =
    "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
const OURS: &str = "aws:ResourceTag/klanker-trust/managed-by";

fn print_chained(world: &World, target: &str, extra: &[&str]) -> String {
    let mut args = vec!["policy", "--for", target, "--mode", "chained", "-o", "json"];
    args.extend_from_slice(extra);
    let out = world.run(&args);
    out.assert_ok();
    out.stdout
}

/// Calls made only in the klanker account (the klanker policy's side);
/// every other call in the code may be made by chained mode in the cluster
/// account and must be granted there.
const KLANKER_ONLY_CALLS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
];

/// Each call chained mode makes in the cluster account, on the resource and
/// with the condition keys IAM evaluates it with: role A carries the boundary.
fn chained_calls() -> Vec<Case> {
    let bounded = json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    let none = json!({});
    let mut calls: Vec<String> = calls_in_code()
        .into_iter()
        .filter(|c| !KLANKER_ONLY_CALLS.contains(&c.as_str()))
        .filter(|c| c != "sts:AssumeRoleWithWebIdentity")
        // verify's second hop, made with role A's session: role A's own
        // inline policy grants it, not the cluster identity's.
        .filter(|c| c != "sts:AssumeRole")
        .collect();
    // What chained mode calls whether or not it is in the code yet.
    for call in [
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:ListRoleTags",
        "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "sts:GetCallerIdentity",
        // add may check that the boundary exists before CreateRole.
        "iam:GetPolicy",
    ] {
        if !calls.iter().any(|c| c == call) {
            calls.push(call.to_string());
        }
    }
    let cluster = "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0";
    calls
        .into_iter()
        .map(|call| {
            let (resource, conditions) = match call.as_str() {
                "eks:DescribeCluster" => (cluster, none.clone()),
                "iam:GetPolicy" => (CLUSTER_BOUNDARY, none.clone()),
                "iam:ListRoles" | "iam:ListOpenIDConnectProviders" | "sts:GetCallerIdentity" => {
                    ("*", none.clone())
                }
                "iam:CreateRole"
                | "iam:PutRolePolicy"
                | "iam:DeleteRolePolicy"
                | "iam:PutRolePermissionsBoundary" => (IRSA_ROLE, bounded.clone()),
                // rm deletes only the provider it created: tagged as ours.
                "iam:DeleteOpenIDConnectProvider" => {
                    (CLUSTER_PROVIDER, json!({OURS: "kubectl-klanker-trust"}))
                }
                op if op.contains("OpenIDConnectProvider") => (CLUSTER_PROVIDER, none.clone()),
                op if op.starts_with("iam:") && (op.contains("Role") || op.contains("Tag")) => {
                    (IRSA_ROLE, none.clone())
                }
                other => panic!("{other} is called: say on which resource IAM checks it"),
            };
            case(
                &format!("chained {call}"),
                &call,
                resource,
                conditions,
                true,
            )
        })
        .collect()
}

/// What the holder of the chained cluster policy must never be allowed.
fn chained_escalations() -> Vec<Case> {
    let bounded = || json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    let other_boundary = || json!({"iam:PermissionsBoundary": ADMIN});
    let none = || json!({});
    vec![
        case(
            "create a role outside km-irsa-*",
            "iam:CreateRole",
            "arn:aws:iam::222222222222:role/backdoor",
            bounded(),
            false,
        ),
        case(
            "create km-irsa-x without the boundary",
            "iam:CreateRole",
            IRSA_ROLE,
            none(),
            false,
        ),
        case(
            "create km-irsa-x with another boundary",
            "iam:CreateRole",
            IRSA_ROLE,
            other_boundary(),
            false,
        ),
        case(
            "delete the boundary",
            "iam:DeleteRolePermissionsBoundary",
            IRSA_ROLE,
            bounded(),
            false,
        ),
        case(
            "swap the boundary for another",
            "iam:PutRolePermissionsBoundary",
            IRSA_ROLE,
            other_boundary(),
            false,
        ),
        case(
            "put an inline policy on an unbounded km-irsa role",
            "iam:PutRolePolicy",
            IRSA_ROLE,
            none(),
            false,
        ),
        case(
            "put an inline policy on a km-irsa role with another boundary",
            "iam:PutRolePolicy",
            IRSA_ROLE,
            other_boundary(),
            false,
        ),
        case(
            "attach AdministratorAccess to km-irsa-x",
            "iam:AttachRolePolicy",
            IRSA_ROLE,
            json!({"iam:PolicyARN": ADMIN, "iam:PermissionsBoundary": CLUSTER_BOUNDARY}),
            false,
        ),
        case(
            "pass a km-irsa role",
            "iam:PassRole",
            IRSA_ROLE,
            none(),
            false,
        ),
        case(
            "put a role policy on another role",
            "iam:PutRolePolicy",
            "arn:aws:iam::222222222222:role/admin",
            bounded(),
            false,
        ),
        case(
            "re-trust another role",
            "iam:UpdateAssumeRolePolicy",
            "arn:aws:iam::222222222222:role/admin",
            none(),
            false,
        ),
        case(
            "create km-irsa-x in another account",
            "iam:CreateRole",
            "arn:aws:iam::444444444444:role/km-irsa-x",
            json!({"iam:PermissionsBoundary": "arn:aws:iam::444444444444:policy/km-irsa-boundary"}),
            false,
        ),
        case(
            "create a provider in another account",
            "iam:CreateOpenIDConnectProvider",
            "arn:aws:iam::444444444444:oidc-provider/oidc.example.com",
            none(),
            false,
        ),
        case(
            "describe a cluster of another account",
            "eks:DescribeCluster",
            "arn:aws:eks:us-east-1:444444444444:cluster/dev-use1-0",
            none(),
            false,
        ),
        case(
            "delete a provider that is not ours (eksctl's)",
            "iam:DeleteOpenIDConnectProvider",
            CLUSTER_PROVIDER,
            none(),
            false,
        ),
        case(
            "delete a provider another tool manages",
            "iam:DeleteOpenIDConnectProvider",
            CLUSTER_PROVIDER,
            json!({OURS: "eksctl"}),
            false,
        ),
        // The boundary itself is the ceiling: rewriting it would lift it.
        case(
            "rewrite the boundary policy",
            "iam:CreatePolicyVersion",
            CLUSTER_BOUNDARY,
            none(),
            false,
        ),
        case(
            "repoint the boundary's default version",
            "iam:SetDefaultPolicyVersion",
            CLUSTER_BOUNDARY,
            none(),
            false,
        ),
        case(
            "read another policy",
            "iam:GetPolicy",
            "arn:aws:iam::222222222222:policy/other",
            none(),
            false,
        ),
        case(
            "swap a provider's thumbprint",
            "iam:UpdateOpenIDConnectProviderThumbprint",
            CLUSTER_PROVIDER,
            none(),
            false,
        ),
        case(
            "assume a role of the cluster account",
            "sts:AssumeRole",
            "arn:aws:iam::222222222222:role/admin",
            none(),
            false,
        ),
        case(
            "mint access keys",
            "iam:CreateAccessKey",
            "arn:aws:iam::222222222222:user/admin",
            none(),
            false,
        ),
    ]
}

#[test]
fn chained_cluster_policy_grants_chained_calls_and_cannot_escalate() {
    let world = World::new();
    // The account, region and cluster come from the context.
    let policy = print_chained(&world, "cluster", &[]);
    for placeholder in ["123456789012", "000000000000", "ACCOUNT", "<", "iam::*:"] {
        assert_lacks!(policy, placeholder);
    }
    let doc: Value = serde_json::from_str(&policy).expect("policy JSON");
    for statement in doc["Statement"].as_array().expect("statements") {
        let resource = statement["Resource"].as_str().expect("one resource");
        assert!(
            resource == "*" || resource.split(':').nth(4) == Some(CLUSTER_ACCOUNT),
            "{resource}"
        );
    }
    let mut cases = chained_calls();
    cases.extend(chained_escalations());
    let holder = format!("arn:aws:iam::{CLUSTER_ACCOUNT}:user/cluster-operator");
    let judgement = judge_as(&world, &policy, &cases, json!({"principal": holder}));
    assert_judgement(&judgement, &cases, &policy);

    // The explicit Denies hold even when the holder has every other right.
    let everything = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let denied: Vec<Case> = chained_escalations()
        .into_iter()
        .filter(|c| {
            matches!(
                c.name.as_str(),
                "create km-irsa-x without the boundary"
                    | "create km-irsa-x with another boundary"
                    | "delete the boundary"
                    | "swap the boundary for another"
                    | "put an inline policy on an unbounded km-irsa role"
                    | "rewrite the boundary policy"
                    | "repoint the boundary's default version"
            )
        })
        .chain([case(
            "delete the boundary policy",
            "iam:DeletePolicy",
            CLUSTER_BOUNDARY,
            json!({}),
            false,
        )])
        .collect();
    assert_eq!(denied.len(), 8);
    let judgement = judge_as(
        &world,
        &policy,
        &denied,
        json!({"principal": holder, "also_attached": [everything]}),
    );
    assert_judgement(&judgement, &denied, &policy);
}

#[test]
fn the_boundary_caps_any_inline_policy_on_a_km_irsa_role() {
    let world = World::new();
    // The klanker account comes from the klanker profile.
    let boundary = print_chained(&world, "cluster-boundary", &[]);
    for placeholder in ["123456789012", "000000000000", "<", "iam::*:"] {
        assert_lacks!(boundary, placeholder);
    }
    // Role A holds Allow * on *: only what the boundary allows is left.
    let cases = [
        case(
            "assume the onboarding's klanker role",
            "sts:AssumeRole",
            ROLE_ARN,
            json!({}),
            true,
        ),
        case(
            "assume another klanker role",
            "sts:AssumeRole",
            "arn:aws:iam::333333333333:role/admin",
            json!({}),
            false,
        ),
        case(
            "assume a km-cluster role of another account",
            "sts:AssumeRole",
            "arn:aws:iam::444444444444:role/km-cluster-dev-use1-0",
            json!({}),
            false,
        ),
        case(
            "assume a role of its own account",
            "sts:AssumeRole",
            "arn:aws:iam::222222222222:role/km-cluster-dev-use1-0",
            json!({}),
            false,
        ),
        case(
            "create a role",
            "iam:CreateRole",
            "arn:aws:iam::222222222222:role/km-irsa-y",
            json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY}),
            false,
        ),
        case(
            "pass a role",
            "iam:PassRole",
            "arn:aws:iam::222222222222:role/admin",
            json!({}),
            false,
        ),
        case(
            "remove its own boundary",
            "iam:DeleteRolePermissionsBoundary",
            IRSA_ROLE,
            json!({}),
            false,
        ),
        case(
            "read the cluster account's data",
            "s3:GetObject",
            "arn:aws:s3:::cluster-secrets/key",
            json!({}),
            false,
        ),
        case(
            "describe the cluster",
            "eks:DescribeCluster",
            "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0",
            json!({}),
            false,
        ),
    ];
    let judgement = judge_as(
        &world,
        &boundary,
        &cases,
        json!({"principal": IRSA_ROLE, "as": "boundary"}),
    );
    assert_judgement(&judgement, &cases, &boundary);
}

#[test]
fn mirror_output_is_unchanged_and_chained_adds_to_it() {
    let world = World::new();
    let json_of = |args: &[&str]| -> Value {
        let out = world.run(args);
        out.assert_ok();
        serde_json::from_str(&out.stdout).expect("policy JSON")
    };
    let mirror = json_of(&["policy", "--for", "cluster", "-o", "json"]);
    assert_eq!(
        mirror,
        json_of(&[
            "policy", "--for", "cluster", "--mode", "mirror", "-o", "json"
        ])
    );
    assert_eq!(mirror["Statement"].as_array().map(Vec::len), Some(1));
    let chained = json_of(&[
        "policy", "--for", "cluster", "--mode", "chained", "-o", "json",
    ]);
    // Chained mode's policy is mirror mode's plus its own statements.
    assert_eq!(chained["Statement"][0], mirror["Statement"][0]);
    assert!(chained["Statement"].as_array().map_or(0, Vec::len) > 1);
    let boundary = json_of(&["policy", "--for", "cluster-boundary", "-o", "json"]);
    assert_eq!(
        boundary["Statement"][0]["Resource"],
        "arn:aws:iam::333333333333:role/km-cluster-*"
    );

    let all_mirror = json_of(&["policy", "-o", "json"]);
    assert!(all_mirror.get("cluster_boundary").is_none(), "{all_mirror}");
    assert_eq!(all_mirror["cluster"], mirror);
    let all_chained = json_of(&["policy", "--mode", "chained", "-o", "json"]);
    assert_eq!(all_chained["cluster"], chained);
    assert_eq!(all_chained["cluster_boundary"], boundary);
    assert_eq!(all_chained["klanker"], all_mirror["klanker"]);

    // Text: both documents, and where the boundary is to be created.
    let text = world.run(&["policy", "--for", "cluster", "--mode", "chained"]);
    text.assert_ok();
    assert_contains!(text.stdout, CLUSTER_BOUNDARY);
    assert_contains!(text.stdout, "--policy-name km-irsa-boundary");
    assert_contains!(text.stdout, "AssumeKlankerRolesOnly");
    assert_contains!(text.stdout, "IrsaRolesOnlyWithTheBoundary");
    let mirror_text = world.run(&["policy", "--for", "cluster"]);
    mirror_text.assert_ok();
    assert_lacks!(mirror_text.stdout, "km-irsa");
}

#[test]
fn a_named_cluster_boundary_must_be_in_the_cluster_account() {
    let world = World::new();
    let custom = "arn:aws:iam::222222222222:policy/team/irsa-ceiling";
    let policy = print_chained(
        &world,
        "cluster",
        &["--cluster-permissions-boundary", custom],
    );
    assert_lacks!(policy, "km-irsa-boundary");
    let cases = [
        case(
            "create with the named boundary",
            "iam:CreateRole",
            IRSA_ROLE,
            json!({"iam:PermissionsBoundary": custom}),
            true,
        ),
        case(
            "create with the default boundary",
            "iam:CreateRole",
            IRSA_ROLE,
            json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY}),
            false,
        ),
    ];
    let holder = format!("arn:aws:iam::{CLUSTER_ACCOUNT}:user/cluster-operator");
    let judgement = judge_as(&world, &policy, &cases, json!({"principal": holder}));
    assert_judgement(&judgement, &cases, &policy);

    // The text says where and how to create it.
    let text = world.run(&[
        "policy",
        "--for",
        "cluster-boundary",
        "--cluster-permissions-boundary",
        custom,
    ]);
    text.assert_ok();
    assert_contains!(text.stdout, custom);
    assert_contains!(text.stdout, "--policy-name irsa-ceiling --path /team/");

    for bad in [
        // Another account: IAM would refuse it on CreateRole.
        "arn:aws:iam::333333333333:policy/km-irsa-boundary",
        "arn:aws-cn:iam::222222222222:policy/km-irsa-boundary",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "km-irsa-boundary",
    ] {
        let out = world.run(&[
            "policy",
            "--for",
            "cluster",
            "--mode",
            "chained",
            "--cluster-permissions-boundary",
            bad,
        ]);
        out.assert_code(2);
        assert_contains!(out.stderr, "--cluster-permissions-boundary");
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    // Mirror mode has no km-irsa roles to bound.
    let out = world.run(&[
        "policy",
        "--for",
        "cluster",
        "--cluster-permissions-boundary",
        custom,
    ]);
    out.assert_code(2);
    assert_contains!(out.stderr, "--mode chained");
}

#[test]
fn chained_documents_take_the_partition_and_never_cross_it() {
    let world = World::new();
    let cn = [
        "--cluster-account",
        CLUSTER_ACCOUNT,
        "--cluster-region",
        "cn-north-1",
        "--cluster-name",
        "dev",
        "--klanker-account",
        KLANKER_ACCOUNT,
        "--region",
        "cn-north-1",
    ];
    let mut args = vec!["policy", "--mode", "chained", "-o", "json"];
    args.extend_from_slice(&cn);
    let out = world.run(&args);
    out.assert_ok();
    assert_lacks!(out.stdout, "arn:aws:");
    assert_contains!(
        out.stdout,
        "arn:aws-cn:iam::222222222222:policy/km-irsa-boundary"
    );
    assert_contains!(out.stdout, "arn:aws-cn:iam::333333333333:role/km-cluster-*");
    // A cluster in aws-cn cannot chain to a klanker account in aws.
    let out = world.run(&[
        "policy",
        "--for",
        "cluster",
        "--mode",
        "chained",
        "--cluster-region",
        "cn-north-1",
        "--klanker-account",
        KLANKER_ACCOUNT,
    ]);
    out.assert_code(2);
    assert_contains!(out.stderr, "partition");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn chained_documents_are_accepted_by_iam_under_the_expected_names() {
    let world = World::new();
    let boundary = print_chained(&world, "cluster-boundary", &[]);
    let policy = print_chained(&world, "cluster", &[]);
    world.block_on(async {
        let iam = &world.cluster.iam;
        // Created as the text says, the boundary gets the ARN the policy requires.
        let created = iam
            .create_policy()
            .policy_name("km-irsa-boundary")
            .policy_document(boundary.clone())
            .send()
            .await
            .expect("IAM accepts the boundary");
        assert_eq!(
            created.policy().and_then(|p| p.arn()),
            Some(CLUSTER_BOUNDARY)
        );
        iam.create_policy()
            .policy_name("km-trust-cluster-chained")
            .policy_document(policy.clone())
            .send()
            .await
            .expect("IAM accepts the chained cluster policy");
        let role = iam
            .create_role()
            .role_name("km-irsa-dev-use1-0")
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": []}).to_string(),
            )
            .permissions_boundary(CLUSTER_BOUNDARY)
            .send()
            .await
            .expect("a role with that boundary");
        assert_eq!(
            role.role().map(|r| r.arn()),
            Some(IRSA_ROLE),
            "the role the policy's statements name"
        );
    });
}

#[test]
fn chained_rbac_may_write_only_its_config_map() {
    let world = World::new();
    let yaml = |extra: &[&str]| -> Vec<serde_yaml::Value> {
        let mut args = vec!["policy", "--for", "rbac", "-n", "team-a", "-o", "yaml"];
        args.extend_from_slice(extra);
        let out = world.run(&args);
        out.assert_ok();
        documents(&out.stdout)
    };
    let config_map_rules = |docs: &[serde_yaml::Value]| -> Vec<serde_yaml::Value> {
        docs.iter()
            .filter_map(|d| d["rules"].as_sequence())
            .flatten()
            .filter(|r| r["resources"][0].as_str() == Some("configmaps"))
            .cloned()
            .collect()
    };
    // Mirror mode writes no ConfigMap.
    assert!(config_map_rules(&yaml(&[])).is_empty());
    let chained = yaml(&["--mode", "chained"]);
    let rules = config_map_rules(&chained);
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(
        rules[0]["resourceNames"],
        serde_yaml::Value::from(vec!["km-aws-config"])
    );
    assert_eq!(
        rules[0]["verbs"],
        serde_yaml::Value::from(vec!["get", "create", "patch", "delete"])
    );
    // It is in the namespaced Role, not the ClusterRole.
    assert_eq!(config_map_rules(&chained[..1]).len(), 1);
    let named = config_map_rules(&yaml(&[
        "--mode",
        "chained",
        "--config-map-name",
        "pods-aws",
    ]));
    assert_eq!(
        named[0]["resourceNames"],
        serde_yaml::Value::from(vec!["pods-aws"])
    );

    let bad = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-n",
        "team-a",
        "--mode",
        "chained",
        "--config-map-name",
        "Not_A_Name",
    ]);
    bad.assert_code(2);
    assert_contains!(bad.stderr, "--config-map-name");
    assert_contains!(bad.stderr, "ConfigMap");
    let mirror = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-n",
        "team-a",
        "--config-map-name",
        "pods-aws",
    ]);
    mirror.assert_code(2);
    assert_contains!(mirror.stderr, "--mode chained");
}

/// An onboarding of several ServiceAccounts, chained: the RBAC for its NAME
/// names each one of its namespace and its ConfigMap.
#[test]
fn rbac_for_a_chained_onboarding_of_several_names_each_and_its_config_map() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        format!(
            "clusters:\n- name: {CLUSTER}\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/oidc.example.com\n  namespace: team-a\n  service_account: runner\n  role_arn: {ROLE_ARN}\n  service_accounts:\n  - team-a:runner\n  - team-a:builder\n  mode: chained\n  cluster_role_arn: arn:aws:iam::222222222222:role/km-irsa-{CLUSTER}\n"
        ),
    )
    .expect("write km-config");
    let out = world.run(&["policy", "--for", "rbac", CLUSTER, "-o", "yaml"]);
    out.assert_ok();
    let docs = documents(&out.stdout);
    let names = |rule: &serde_yaml::Value| -> Vec<String> {
        rule["resourceNames"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let rules = docs[0]["rules"].as_sequence().expect("rules");
    let token = rules
        .iter()
        .find(|r| r["resources"][0].as_str() == Some("serviceaccounts/token"))
        .expect("token rule");
    assert_eq!(names(token), ["runner", "builder"]);
    let config_maps = rules
        .iter()
        .find(|r| r["resources"][0].as_str() == Some("configmaps"))
        .expect("ConfigMap rule");
    assert_eq!(names(config_maps), ["km-aws-config"]);
}
