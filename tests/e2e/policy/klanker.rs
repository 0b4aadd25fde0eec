//! The klanker account's operator policy: every call the tool makes is
//! granted, no escalation is, and the account and partition are real.

use serde_json::{Value, json};

use super::{ADMIN, Case, assert_judgement, calls_in_code, case, judge};
use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::{OPERATOR_POLICY, ROLE_ARN, World};

const BOUNDARY: &str = "arn:aws:iam::333333333333:policy/km-boundary";
const EXTRA: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// Each call add/rm/list/verify make, on the resource and with the
/// condition keys real IAM evaluates it with. `boundary`: the operator
/// policy was printed with --permissions-boundary.
fn calls_of_the_tool(boundary: bool) -> Vec<Case> {
    let calls = calls_in_code();
    assert!(calls.len() >= 20, "the scan found too little: {calls:?}");
    let mut cases = Vec::new();
    for call in calls {
        let none = json!({});
        // What real IAM evaluates: the tags of the role or provider the
        // call acts on, or those the request sets.
        let ours = json!({RESOURCE_TAG: "kubectl-klanker-trust"});
        let tagging = json!({REQUEST_TAG: "kubectl-klanker-trust"});
        let (resource, conditions, allowed) = match call.as_str() {
            // Unsigned: STS checks the token and the trust, not the caller's IAM.
            "sts:AssumeRoleWithWebIdentity" => continue,
            // verify's second hop in chained mode, made with role A's
            // session: role A's own inline policy grants it.
            "sts:AssumeRole" => continue,
            // In the cluster account: judged against the cluster policy
            // (EKS, chained mode's inline policy and its reads are only there).
            op if op.starts_with("eks:") => continue,
            "iam:PutRolePolicy" | "iam:GetRolePolicy" | "iam:ListRoleTags" => continue,
            "iam:ListRoles"
            | "iam:ListOpenIDConnectProviders"
            | "iam:GetAccountSummary"
            | "sts:GetCallerIdentity" => ("*", none, true),
            "iam:GetPolicy" => (OPERATOR_POLICY, none, true),
            "iam:AttachRolePolicy" | "iam:DetachRolePolicy" => (
                ROLE_ARN,
                json!({"iam:PolicyARN": OPERATOR_POLICY, RESOURCE_TAG: "kubectl-klanker-trust"}),
                true,
            ),
            "iam:CreateRole" if boundary => (
                ROLE_ARN,
                json!({"iam:PermissionsBoundary": BOUNDARY, REQUEST_TAG: "kubectl-klanker-trust"}),
                true,
            ),
            "iam:CreateRole" => (ROLE_ARN, tagging, true),
            "iam:PutRolePermissionsBoundary" if boundary => (
                ROLE_ARN,
                json!({"iam:PermissionsBoundary": BOUNDARY, RESOURCE_TAG: "kubectl-klanker-trust"}),
                true,
            ),
            // With a boundary configured, the operator must never remove it.
            "iam:DeleteRolePermissionsBoundary" => (ROLE_ARN, ours, !boundary),
            "iam:RemoveRoleFromInstanceProfile" => (
                "arn:aws:iam::333333333333:instance-profile/someone-elses",
                none,
                true,
            ),
            "iam:CreateOpenIDConnectProvider" | "iam:TagOpenIDConnectProvider" => {
                (PROVIDER, tagging, true)
            }
            "iam:GetOpenIDConnectProvider" => (PROVIDER, none, true),
            op if op.contains("OpenIDConnectProvider") => (PROVIDER, ours, true),
            "iam:GetRole"
            | "iam:ListAttachedRolePolicies"
            | "iam:ListInstanceProfilesForRole"
            | "iam:ListRolePolicies" => (ROLE_ARN, none, true),
            op if op.starts_with("iam:") && (op.contains("Role") || op.contains("Tag")) => {
                (ROLE_ARN, ours, true)
            }
            other => panic!("{other} is called: say on which resource IAM checks it"),
        };
        cases.push(case(&call, &call, resource, conditions, allowed));
    }
    cases
}

const PROVIDER: &str =
    "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
const RESOURCE_TAG: &str = "aws:ResourceTag/klanker-trust/managed-by";
const REQUEST_TAG: &str = "aws:RequestTag/klanker-trust/managed-by";

/// Writes on what this tool did not create: denied; on what it did: allowed.
fn ownership() -> Vec<Case> {
    let github = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com";
    let theirs = "arn:aws:iam::333333333333:role/km-cluster-theirs";
    let untagged = || json!({});
    let eksctl = || json!({RESOURCE_TAG: "eksctl"});
    let ours = || json!({RESOURCE_TAG: "kubectl-klanker-trust"});
    let mut cases = Vec::new();
    for (action, resource) in [
        ("iam:DeleteOpenIDConnectProvider", github),
        ("iam:AddClientIDToOpenIDConnectProvider", github),
        ("iam:UpdateAssumeRolePolicy", theirs),
        ("iam:DeleteRole", theirs),
        ("iam:UpdateRole", theirs),
    ] {
        cases.push(case(
            &format!("{action} untagged"),
            action,
            resource,
            untagged(),
            false,
        ));
        cases.push(case(
            &format!("{action} another tool's"),
            action,
            resource,
            eksctl(),
            false,
        ));
        cases.push(case(
            &format!("{action} ours"),
            action,
            resource,
            ours(),
            true,
        ));
    }
    cases.extend([
        case(
            "detach the operator policy from a role that is not ours",
            "iam:DetachRolePolicy",
            theirs,
            json!({"iam:PolicyARN": OPERATOR_POLICY}),
            false,
        ),
        case(
            "create a role not tagged as ours",
            "iam:CreateRole",
            theirs,
            untagged(),
            false,
        ),
        case(
            "create a role tagged as another tool's",
            "iam:CreateRole",
            theirs,
            json!({REQUEST_TAG: "eksctl"}),
            false,
        ),
        case(
            "create a provider not tagged as ours",
            "iam:CreateOpenIDConnectProvider",
            github,
            untagged(),
            false,
        ),
        case(
            "tag a provider as another tool's",
            "iam:TagOpenIDConnectProvider",
            github,
            json!({REQUEST_TAG: "eksctl"}),
            false,
        ),
        case(
            "read any provider",
            "iam:GetOpenIDConnectProvider",
            github,
            untagged(),
            true,
        ),
        case(
            "read any km-cluster role",
            "iam:GetRole",
            theirs,
            untagged(),
            true,
        ),
    ]);
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
    cases.extend(ownership());
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
    cases.extend(ownership());
    cases.extend([
        case(
            "attach a named extra policy",
            "iam:AttachRolePolicy",
            ROLE_ARN,
            json!({"iam:PolicyARN": EXTRA, RESOURCE_TAG: "kubectl-klanker-trust"}),
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
