//! Pod identity mode's cluster-account policy and the association roles'
//! boundary, judged by the evaluator and the linter: every call the mode
//! makes there is allowed, iam:PassRole only of km-podid-* roles and only
//! to EKS Pod Identity, the roles written only under the boundary, the
//! associations only this cluster's; the boundary is chained mode's plus
//! sts:TagSession on klanker km-cluster-* roles.

use serde_json::{Value, json};

use super::{ADMIN, Case, assert_judgement, calls_in_code, case, judge_as};
use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{ROLE_ARN, World};

const PODID_ROLE: &str = "arn:aws:iam::222222222222:role/km-podid-dev-use1-0";
const IRSA_ROLE: &str = "arn:aws:iam::222222222222:role/km-irsa-dev-use1-0";
const CLUSTER_BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";
const CLUSTER: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0";
const ASSOCIATION: &str =
    "arn:aws:eks:us-east-1:222222222222:podidentityassociation/dev-use1-0/a-abcdefghij0123456";
const OTHER_ASSOCIATION: &str =
    "arn:aws:eks:us-east-1:222222222222:podidentityassociation/prod/a-abcdefghij0123456";
/// An add-on's ARN ends in an ID EKS chooses; any stands for it.
const AGENT: &str = "arn:aws:eks:us-east-1:222222222222:addon/dev-use1-0/eks-pod-identity-agent/58c5a0c5-1b2f-4a67-9f0e-1a2b3c4d5e6f";
const PROVIDER: &str =
    "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
const PODS: &str = "pods.eks.amazonaws.com";
const RESOURCE_TAG: &str = "aws:ResourceTag/klanker-trust/managed-by";
const REQUEST_TAG: &str = "aws:RequestTag/klanker-trust/managed-by";
const OURS: &str = "kubectl-klanker-trust";

fn print(world: &World, target: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "policy",
        "--for",
        target,
        "--mode",
        "pod-identity",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = world.run(&args);
    out.assert_ok();
    out.stdout
}

/// Calls in the code pod identity mode does not make in the cluster
/// account: the klanker side's, and the provider writes of the other modes
/// (pod identity only reads providers).
const NOT_POD_IDENTITY: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreateOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    // Unsigned, or made with a role's own session (verify's hop).
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRole",
];

/// Each call pod identity mode makes in the cluster account, on the
/// resource and with the condition keys IAM evaluates it with.
fn pod_identity_calls() -> Vec<Case> {
    let bounded = json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    let none = json!({});
    let mut calls: Vec<String> = calls_in_code()
        .into_iter()
        .filter(|c| !NOT_POD_IDENTITY.contains(&c.as_str()))
        .collect();
    for call in [
        "iam:PutRolePolicy",
        "iam:GetPolicy",
        "sts:GetCallerIdentity",
    ] {
        if !calls.iter().any(|c| c == call) {
            calls.push(call.to_string());
        }
    }
    let mut cases: Vec<Case> = calls
        .into_iter()
        .map(|call| {
            let (resource, conditions) = match call.as_str() {
                "eks:DescribeCluster" | "eks:ListPodIdentityAssociations" => {
                    (CLUSTER, none.clone())
                }
                "eks:CreatePodIdentityAssociation" => (
                    CLUSTER,
                    json!({REQUEST_TAG: OURS, "aws:RequestTag/klanker-trust/name": "dev-use1-0"}),
                ),
                // Describe and update: also another owner's, which
                // --override-existing-serviceaccounts takes over.
                "eks:DescribePodIdentityAssociation" | "eks:UpdatePodIdentityAssociation" => {
                    (ASSOCIATION, json!({RESOURCE_TAG: "eksctl"}))
                }
                "eks:DeletePodIdentityAssociation" => (ASSOCIATION, json!({RESOURCE_TAG: OURS})),
                "eks:TagResource" => (ASSOCIATION, json!({REQUEST_TAG: OURS})),
                "eks:DescribeAddon" => (AGENT, none.clone()),
                "iam:GetPolicy" => (CLUSTER_BOUNDARY, none.clone()),
                "iam:GetOpenIDConnectProvider" => (PROVIDER, none.clone()),
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
                | "iam:PutRolePermissionsBoundary" => (PODID_ROLE, bounded.clone()),
                op if op.starts_with("iam:") && (op.contains("Role") || op.contains("Tag")) => {
                    (PODID_ROLE, none.clone())
                }
                other => panic!("{other} is called: say on which resource IAM checks it"),
            };
            case(
                &format!("pod identity {call}"),
                &call,
                resource,
                conditions,
                true,
            )
        })
        .collect();
    // Not a call of its own: IAM authorizes it when Create or Update
    // hands EKS the association role.
    cases.push(case(
        "pass the association role to EKS Pod Identity",
        "iam:PassRole",
        PODID_ROLE,
        json!({"iam:PassedToService": PODS}),
        true,
    ));
    cases
}

/// Cases the holder must be denied, one row each: name, action, resource, conditions.
fn denied(rows: Vec<(&str, &str, &str, Value)>) -> Vec<Case> {
    rows.into_iter()
        .map(|(name, action, resource, conditions)| case(name, action, resource, conditions, false))
        .collect()
}

/// PassRole: only km-podid-* roles, only to EKS Pod Identity.
fn pass_role_escalations() -> Vec<Case> {
    let to = |service: &str| json!({"iam:PassedToService": service});
    let pass = "iam:PassRole";
    denied(vec![
        (
            "pass the association role to EC2",
            pass,
            PODID_ROLE,
            to("ec2.amazonaws.com"),
        ),
        (
            "pass the association role to Lambda",
            pass,
            PODID_ROLE,
            to("lambda.amazonaws.com"),
        ),
        (
            "pass the association role to EKS itself",
            pass,
            PODID_ROLE,
            to("eks.amazonaws.com"),
        ),
        (
            "pass the association role with no service said",
            pass,
            PODID_ROLE,
            json!({}),
        ),
        (
            "pass an admin role to Pod Identity",
            pass,
            "arn:aws:iam::222222222222:role/admin",
            to(PODS),
        ),
        (
            "pass chained mode's role A to Pod Identity",
            pass,
            IRSA_ROLE,
            to(PODS),
        ),
        (
            "pass a km-podid role of another account",
            pass,
            "arn:aws:iam::444444444444:role/km-podid-x",
            to(PODS),
        ),
    ])
}

/// The association roles: written only under the boundary.
fn role_escalations() -> Vec<Case> {
    let bounded = || json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    let other = || json!({"iam:PermissionsBoundary": ADMIN});
    let none = || json!({});
    let admin = "arn:aws:iam::222222222222:role/admin";
    let attach = json!({"iam:PolicyARN": ADMIN, "iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    denied(vec![
        (
            "create km-podid-x without the boundary",
            "iam:CreateRole",
            PODID_ROLE,
            none(),
        ),
        (
            "create km-podid-x with another boundary",
            "iam:CreateRole",
            PODID_ROLE,
            other(),
        ),
        (
            "put an inline policy on an unbounded km-podid role",
            "iam:PutRolePolicy",
            PODID_ROLE,
            none(),
        ),
        (
            "put an inline policy on a km-podid role with another boundary",
            "iam:PutRolePolicy",
            PODID_ROLE,
            other(),
        ),
        (
            "put an inline policy on a role without the prefix",
            "iam:PutRolePolicy",
            admin,
            bounded(),
        ),
        (
            "delete the boundary",
            "iam:DeleteRolePermissionsBoundary",
            PODID_ROLE,
            bounded(),
        ),
        (
            "swap the boundary for another",
            "iam:PutRolePermissionsBoundary",
            PODID_ROLE,
            other(),
        ),
        (
            "attach AdministratorAccess to km-podid-x",
            "iam:AttachRolePolicy",
            PODID_ROLE,
            attach,
        ),
        (
            "create a role outside km-podid-*",
            "iam:CreateRole",
            "arn:aws:iam::222222222222:role/backdoor",
            bounded(),
        ),
        (
            "create chained mode's role A (another mode's roles)",
            "iam:CreateRole",
            IRSA_ROLE,
            bounded(),
        ),
        (
            "rewrite the boundary policy",
            "iam:CreatePolicyVersion",
            CLUSTER_BOUNDARY,
            none(),
        ),
        (
            "repoint the boundary's default version",
            "iam:SetDefaultPolicyVersion",
            CLUSTER_BOUNDARY,
            none(),
        ),
        (
            "create a provider (pod identity only reads them)",
            "iam:CreateOpenIDConnectProvider",
            PROVIDER,
            json!({REQUEST_TAG: OURS}),
        ),
        (
            "delete a provider, even ours",
            "iam:DeleteOpenIDConnectProvider",
            PROVIDER,
            json!({RESOURCE_TAG: OURS}),
        ),
        (
            "assume a role of the cluster account",
            "sts:AssumeRole",
            admin,
            none(),
        ),
    ])
}

/// EKS: only this cluster's associations and its agent add-on.
fn eks_escalations() -> Vec<Case> {
    let none = || json!({});
    let ours = || json!({REQUEST_TAG: OURS});
    let prod = "arn:aws:eks:us-east-1:222222222222:cluster/prod";
    let elsewhere = "arn:aws:eks:us-east-1:444444444444:cluster/dev-use1-0";
    let vpc_cni = "arn:aws:eks:us-east-1:222222222222:addon/dev-use1-0/vpc-cni/58c5a0c5-1b2f-4a67-9f0e-1a2b3c4d5e6f";
    let create = "eks:CreatePodIdentityAssociation";
    let delete = "eks:DeletePodIdentityAssociation";
    denied(vec![
        (
            "create an association in another cluster",
            create,
            prod,
            ours(),
        ),
        (
            "create an association in another account's cluster",
            create,
            elsewhere,
            ours(),
        ),
        (
            "create an association not tagged as ours",
            create,
            CLUSTER,
            none(),
        ),
        (
            "update an association of another cluster",
            "eks:UpdatePodIdentityAssociation",
            OTHER_ASSOCIATION,
            none(),
        ),
        (
            "describe an association of another cluster",
            "eks:DescribePodIdentityAssociation",
            OTHER_ASSOCIATION,
            none(),
        ),
        (
            "delete an association of another cluster, tagged as ours",
            delete,
            OTHER_ASSOCIATION,
            json!({RESOURCE_TAG: OURS}),
        ),
        (
            "delete an association that is not ours",
            delete,
            ASSOCIATION,
            none(),
        ),
        (
            "delete an association another tool manages",
            delete,
            ASSOCIATION,
            json!({RESOURCE_TAG: "eksctl"}),
        ),
        (
            "tag an association as another tool's",
            "eks:TagResource",
            ASSOCIATION,
            json!({REQUEST_TAG: "eksctl"}),
        ),
        ("tag the cluster", "eks:TagResource", CLUSTER, ours()),
        (
            "untag an association",
            "eks:UntagResource",
            ASSOCIATION,
            none(),
        ),
        (
            "describe another add-on",
            "eks:DescribeAddon",
            vpc_cni,
            none(),
        ),
        (
            "install the agent add-on (the admin's call)",
            "eks:CreateAddon",
            CLUSTER,
            none(),
        ),
        (
            "change the cluster's access entries",
            "eks:CreateAccessEntry",
            CLUSTER,
            none(),
        ),
        ("delete the cluster", "eks:DeleteCluster", CLUSTER, none()),
    ])
}

fn holder() -> Value {
    json!({"principal": format!("arn:aws:iam::{CLUSTER_ACCOUNT}:user/cluster-operator")})
}

#[test]
fn pod_identity_cluster_policy_grants_its_calls_and_cannot_escalate() {
    let world = World::new();
    let policy = print(&world, "cluster", &[]);
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
    let mut cases = pod_identity_calls();
    assert!(
        cases
            .iter()
            .any(|c| c.action == "eks:CreatePodIdentityAssociation"),
        "the scan found no Pod Identity call"
    );
    cases.extend(pass_role_escalations());
    cases.extend(role_escalations());
    cases.extend(eks_escalations());
    let judgement = judge_as(&world, &policy, &cases, holder());
    assert_judgement(&judgement, &cases, &policy);

    // The explicit Denies hold even when the holder has every other right.
    let everything = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let denied: Vec<Case> = role_escalations()
        .into_iter()
        .filter(|c| {
            matches!(
                c.name.as_str(),
                "create km-podid-x without the boundary"
                    | "create km-podid-x with another boundary"
                    | "put an inline policy on an unbounded km-podid role"
                    | "delete the boundary"
                    | "swap the boundary for another"
                    | "rewrite the boundary policy"
            )
        })
        .collect();
    assert_eq!(denied.len(), 6);
    let mut request = holder();
    request["also_attached"] = json!([everything]);
    let judgement = judge_as(&world, &policy, &denied, request);
    assert_judgement(&judgement, &denied, &policy);
}

/// What an association role holding `Allow *` on `*` keeps under the pod
/// identity boundary: only assuming and tagging klanker km-cluster-* roles.
fn boundary_cases() -> Vec<Case> {
    let tags = json!({"aws:RequestTag/kubernetes-namespace": "ai-pods"});
    let mut cases = vec![
        case(
            "assume the target role",
            "sts:AssumeRole",
            ROLE_ARN,
            json!({}),
            true,
        ),
        case(
            "tag the target role's session",
            "sts:TagSession",
            ROLE_ARN,
            tags,
            true,
        ),
    ];
    for (what, role) in [
        (
            "another klanker role",
            "arn:aws:iam::333333333333:role/admin",
        ),
        (
            "a km-cluster role of another account",
            "arn:aws:iam::444444444444:role/km-cluster-dev-use1-0",
        ),
        (
            "a role of its own account",
            "arn:aws:iam::222222222222:role/km-cluster-dev-use1-0",
        ),
    ] {
        for action in ["sts:AssumeRole", "sts:TagSession"] {
            cases.push(case(
                &format!("{action} {what}"),
                action,
                role,
                json!({}),
                false,
            ));
        }
    }
    cases.extend(denied(vec![
        ("pass a role", "iam:PassRole", PODID_ROLE, json!({})),
        (
            "create a role",
            "iam:CreateRole",
            "arn:aws:iam::222222222222:role/km-podid-y",
            json!({}),
        ),
        (
            "remove its own boundary",
            "iam:DeleteRolePermissionsBoundary",
            PODID_ROLE,
            json!({}),
        ),
        (
            "read the cluster account's data",
            "s3:GetObject",
            "arn:aws:s3:::cluster-secrets/key",
            json!({}),
        ),
        (
            "create an association",
            "eks:CreatePodIdentityAssociation",
            CLUSTER,
            json!({}),
        ),
        (
            "assume a role with a web identity",
            "sts:AssumeRoleWithWebIdentity",
            ROLE_ARN,
            json!({}),
        ),
    ]));
    cases
}

#[test]
fn the_pod_identity_boundary_adds_only_tag_session_on_klanker_roles() {
    let world = World::new();
    let boundary = print(&world, "cluster-boundary", &[]);
    for placeholder in ["123456789012", "000000000000", "<", "iam::*:"] {
        assert_lacks!(boundary, placeholder);
    }
    let cases = boundary_cases();
    let request = json!({"principal": PODID_ROLE, "as": "boundary"});
    let judgement = judge_as(&world, &boundary, &cases, request.clone());
    assert_judgement(&judgement, &cases, &boundary);

    // Chained mode's boundary, printed without --mode, stays without
    // TagSession, on the same roles.
    let out = world.run(&["policy", "--for", "cluster-boundary", "-o", "json"]);
    out.assert_ok();
    let chained = denied(vec![(
        "chained: tag the target role's session",
        "sts:TagSession",
        ROLE_ARN,
        json!({}),
    )]);
    let judgement = judge_as(&world, &out.stdout, &chained, request);
    assert_judgement(&judgement, &chained, &out.stdout);
    let (podid, chained): (Value, Value) = (
        serde_json::from_str(&boundary).expect("boundary JSON"),
        serde_json::from_str(&out.stdout).expect("boundary JSON"),
    );
    assert_eq!(
        podid["Statement"][0]["Resource"],
        chained["Statement"][0]["Resource"]
    );
}

#[test]
fn pod_identity_documents_fit_together() {
    let world = World::new();
    let json_of = |args: &[&str]| -> Value {
        let out = world.run(args);
        out.assert_ok();
        serde_json::from_str(&out.stdout).expect("policy JSON")
    };
    let mirror = json_of(&["policy", "-o", "json"]);
    let all = json_of(&["policy", "--mode", "pod-identity", "-o", "json"]);
    // The target role is the klanker role: the klanker policy is every mode's.
    assert_eq!(all["klanker"], mirror["klanker"]);
    let first = |doc: &Value| doc["cluster"]["Statement"][0].clone();
    assert_eq!(first(&all), first(&mirror));
    let boundary = print(&world, "cluster-boundary", &[]);
    let boundary: Value = serde_json::from_str(&boundary).expect("boundary JSON");
    assert_eq!(all["cluster_boundary"], boundary);
    // No ConfigMap: the RBAC is mirror mode's.
    assert_eq!(all["rbac"], mirror["rbac"]);

    // Text: where the boundary goes, and whose roles it bounds.
    let text = world.run(&["policy", "--for", "cluster", "--mode", "pod-identity"]);
    text.assert_ok();
    assert_contains!(text.stdout, CLUSTER_BOUNDARY);
    assert_contains!(text.stdout, "km-podid-*");
    assert_contains!(text.stdout, "--policy-name km-irsa-boundary");
    assert_contains!(text.stdout, "PassAssociationRolesToPodIdentityOnly");
    // The hint prints this boundary, not chained mode's (without TagSession).
    let hint = "policy --for cluster-boundary --mode pod-identity -o json > b.json";
    assert_contains!(text.stdout, hint);
    let chained = world.run(&["policy", "--for", "cluster", "--mode", "chained"]);
    chained.assert_ok();
    let hint = "policy --for cluster-boundary -o json > b.json";
    assert_contains!(chained.stdout, hint);
}

#[test]
fn pod_identity_takes_its_boundary_flag_and_no_other_modes() {
    let world = World::new();
    // A named boundary replaces the default, as in chained mode.
    let custom = "arn:aws:iam::222222222222:policy/team/podid-ceiling";
    let policy = print(
        &world,
        "cluster",
        &["--cluster-permissions-boundary", custom],
    );
    assert_lacks!(policy, "km-irsa-boundary");
    let named = json!({"iam:PermissionsBoundary": custom});
    let default = json!({"iam:PermissionsBoundary": CLUSTER_BOUNDARY});
    let cases = [
        case(
            "create with the named boundary",
            "iam:CreateRole",
            PODID_ROLE,
            named,
            true,
        ),
        case(
            "create with the default boundary",
            "iam:CreateRole",
            PODID_ROLE,
            default,
            false,
        ),
    ];
    let judgement = judge_as(&world, &policy, &cases, holder());
    assert_judgement(&judgement, &cases, &policy);

    // Chained mode's ConfigMap is not this mode's.
    let out = world.run(&[
        "policy",
        "--for",
        "rbac",
        "--mode",
        "pod-identity",
        "--config-map-name",
        "cfg",
    ]);
    out.assert_code(2);
    assert_contains!(out.stderr, "--mode chained");
    // A cluster in aws-cn cannot reach a klanker account in aws.
    let out = world.run(&[
        "policy",
        "--for",
        "cluster",
        "--mode",
        "pod-identity",
        "--cluster-region",
        "cn-north-1",
        "--klanker-account",
        KLANKER_ACCOUNT,
    ]);
    out.assert_code(2);
    assert_contains!(out.stderr, "partition");
}

#[test]
fn pod_identity_documents_are_accepted_by_iam() {
    let world = World::new();
    let boundary = print(&world, "cluster-boundary", &[]);
    let policy = print(&world, "cluster", &[]);
    world.block_on(async {
        let iam = &world.cluster.iam;
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
            .policy_name("km-trust-cluster-pod-identity")
            .policy_document(policy.clone())
            .send()
            .await
            .expect("IAM accepts the pod identity cluster policy");
    });
}
