//! The cluster account's policy: mirror mode's DescribeCluster only, and
//! chained mode's policy with its km-irsa-* boundary, judged the same way.

use serde_json::{Value, json};

use super::{ADMIN, Case, assert_judgement, calls_in_code, case, judge, judge_as};
use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{ROLE_ARN, World};

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
/// account and must be granted there (a detach and an instance profile's
/// removal too: someone may have attached either to role A by hand).
const KLANKER_ONLY_CALLS: &[&str] = &[
    "iam:AttachRolePolicy",
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
        // Pod identity mode's EKS calls: judged against its own policy
        // (policy/pod_identity.rs), never made in chained mode.
        .filter(|c| !c.starts_with("eks:") || c == "eks:DescribeCluster")
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
                "iam:RemoveRoleFromInstanceProfile" => (
                    "arn:aws:iam::222222222222:instance-profile/by-hand",
                    none.clone(),
                ),
                "iam:ListRoles"
                | "iam:ListOpenIDConnectProviders"
                | "iam:GetAccountSummary"
                | "sts:GetCallerIdentity" => ("*", none.clone()),
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
