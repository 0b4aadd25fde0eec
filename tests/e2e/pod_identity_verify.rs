//! Issue 23's `verify` for a pod-identity onboarding, end to end: after a
//! fresh `add --mode pod-identity` every link is named and passes, with no
//! pod and no token; each link broken by hand fails on its own, with a fix
//! that, run as printed, converges; and what verify claims about the three
//! documents (the target trust, the association role's trust, its inline
//! policy) is what an evaluator that is not this code (principalmapper,
//! through tests/support/trust_check.py and policy_check.py) answers for the
//! live documents and the external IDs the EKS peer reports.

use serde_json::{Value, json};

use super::pod_identity::{
    ASSOCIATION_ROLE, ASSOCIATION_ROLE_ARN, associations, pod_identity, pod_identity_world,
};
use crate::support::aws_peer::CLUSTER_ACCOUNT;
use crate::support::{CLUSTER, CONTEXT, Outcome, ROLE, ROLE_ARN, World};

/// Every link verify names for a pod-identity onboarding.
const LINKS: [&str; 7] = [
    "agent",
    "association-trust",
    "association-policy",
    "policy",
    "service-account",
    "association",
    "target-trust",
];
const AGENT: &str = "eks-pod-identity-agent";
const INLINE_POLICY: &str = "klanker-trust-assume-target";
const PODS: &str = "pods.eks.amazonaws.com";
/// Another role of the cluster's account, as a principal that is not the association role.
const OTHER_PRINCIPAL: &str = "arn:aws:iam::222222222222:role/other-app";
const OTHER_CLUSTER: &str = "arn:aws:eks:us-east-1:222222222222:cluster/other";

/// A world onboarded with `add --mode pod-identity` (ai-pods/km and `extra`).
fn onboarded(extra: &[&str]) -> World {
    let world = pod_identity_world();
    world.run(&pod_identity(extra)).assert_ok();
    world
}

/// `verify CLUSTER -o json`: how it ended, and its report.
fn verify(world: &World) -> (Outcome, Value) {
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: verify printed no JSON report\n{}", out.all()));
    (out, report)
}

fn checks(report: &Value) -> Vec<&Value> {
    report["checks"].as_array().into_iter().flatten().collect()
}

fn failed(report: &Value) -> Vec<&str> {
    checks(report)
        .into_iter()
        .filter(|c| c["status"] == "FAIL")
        .filter_map(|c| c["link"].as_str())
        .collect()
}

/// The checks of `link` with `status`.
fn with<'a>(report: &'a Value, link: &str, status: &str) -> Vec<&'a Value> {
    checks(report)
        .into_iter()
        .filter(|c| c["link"] == link && c["status"] == status)
        .collect()
}

/// Verify passes (exit 0) and names every link OK; the report.
#[track_caller]
fn assert_verified(world: &World) -> Value {
    let (out, report) = verify(world);
    out.assert_ok();
    assert_eq!(report["ok"], true, "{report}");
    for link in LINKS {
        assert!(!with(&report, link, "OK").is_empty(), "{link}: {report}");
    }
    assert_eq!(failed(&report), Vec::<&str>::new(), "{report}");
    report
}

/// The flags of a printed add that take no value.
const SWITCHES: [&str; 1] = ["--disable-session-tags"];

/// The `kubectl klanker-trust add ...` a fix starts with, run as printed
/// (shell quotes taken off; the words after its flags say what it does),
/// with `--yes` for the prompt it asks at.
fn run_printed_add(world: &World, fix: &str) -> Outcome {
    let command = fix
        .strip_prefix("kubectl klanker-trust add ")
        .unwrap_or_else(|| panic!("the fix is not an add: {fix}"));
    let mut words = command.split(' ');
    let mut args = vec!["add".to_string()];
    while let Some(flag) = words.next().filter(|w| w.starts_with("--")) {
        args.push(flag.to_string());
        if SWITCHES.contains(&flag) {
            continue;
        }
        let value = words
            .next()
            .unwrap_or_else(|| panic!("{flag} without a value: {fix}"));
        args.push(value.trim_matches('\'').to_string());
    }
    args.push("--yes".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    world.run(&args)
}

/// One link broken by hand: verify fails it alone (exit 4), saying `says`;
/// its fix, run as printed, makes verify pass again, and running it once
/// more writes nothing.
#[track_caller]
fn fails_alone_and_its_fix_converges(world: &World, link: &str, says: &str) {
    let (out, report) = verify(world);
    out.assert_code(4);
    assert_eq!(failed(&report), [link], "{report}");
    let check = with(&report, link, "FAIL")[0];
    assert_contains!(
        check["message"].as_str().unwrap_or_default(),
        says,
        "{report}"
    );
    let fix = check["fix"].as_str().expect("a fix under the FAIL");
    run_printed_add(world, fix).assert_ok();
    assert_verified(world);
    world.clear_calls();
    let again = run_printed_add(world, fix);
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", again.all());
}

/// A test-only hook of the EKS peer (tests/support/eks_pod_identity.py),
/// for the test cluster; its answer.
fn hook(world: &World, name: &str, mut body: Value) -> Value {
    body["account"] = json!(CLUSTER_ACCOUNT);
    body["clusterName"] = json!(CLUSTER);
    let answer = world.peer_hook(&format!("eks-pod-identity/{name}"), &body);
    serde_json::from_slice(&answer).expect("hook JSON")
}

/// The only association of the test cluster, as the EKS peer describes it.
fn the_association(world: &World) -> super::pod_identity::Association {
    let mut found = associations(world);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

fn target_trust(world: &World) -> Value {
    world
        .block_on(world.klanker.role(ROLE))
        .expect("target role")
        .trust_policy
}

/// What every statement of the live target trust pins as sts:ExternalId.
fn pinned_external_ids(world: &World) -> Vec<Value> {
    let trust = target_trust(world);
    trust["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["Condition"]["StringEquals"]["sts:ExternalId"].clone())
        .collect()
}

#[test]
fn a_fresh_add_verifies_every_link_with_no_pod_and_no_token() {
    let world = onboarded(&[]);
    world.clear_calls();
    let report = assert_verified(&world);
    // Each link says what it checked.
    let association = the_association(&world);
    let said = |link: &str| with(&report, link, "OK")[0]["message"].to_string();
    assert_contains!(said("agent"), "ACTIVE");
    assert_contains!(said("association"), &association.id);
    assert_contains!(said("association"), ASSOCIATION_ROLE_ARN);
    assert_contains!(said("association"), ROLE_ARN);
    assert_contains!(said("association-trust"), CONTEXT);
    assert_contains!(said("association-policy"), ROLE_ARN);
    assert_contains!(said("target-trust"), "external ID pinned");
    // No pod and no token: verify reads, asks the cluster for no
    // ServiceAccount token, asks STS for no web identity, and writes nothing.
    assert_eq!(world.writes(), Vec::<String>::new());
    let tokens: Vec<_> = world
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/token"))
        .map(|r| r.path)
        .collect();
    assert_eq!(tokens, Vec::<String>::new());
    assert!(
        !world
            .moto
            .calls()
            .iter()
            .any(|c| c.action.starts_with("AssumeRoleWith")),
        "{:?}",
        world.moto.calls()
    );
    // The text report names each link too.
    let text = world.run(&["verify", CLUSTER]);
    text.assert_ok();
    for link in LINKS {
        assert_contains!(text.stdout, &format!("OK   {link}"));
    }
    assert_contains!(text.stdout, "The trust chain works.");
}

#[test]
fn an_agent_add_on_that_is_not_active_fails_the_agent_link_alone() {
    let world = onboarded(&[]);
    hook(
        &world,
        "addon-status",
        json!({"addonName": AGENT, "status": "DEGRADED"}),
    );
    let (out, report) = verify(&world);
    out.assert_code(4);
    assert_eq!(failed(&report), ["agent"], "{report}");
    let check = with(&report, "agent", "FAIL")[0];
    assert_contains!(check["message"].to_string(), "DEGRADED");
    // Installing or repairing the agent is not add's job: the fix says where to look.
    assert_contains!(
        check["fix"].to_string(),
        &format!("aws eks describe-addon --cluster-name {CLUSTER} --addon-name {AGENT}")
    );
    hook(
        &world,
        "addon-status",
        json!({"addonName": AGENT, "status": "ACTIVE"}),
    );
    assert_verified(&world);
}

#[test]
fn a_missing_agent_add_on_fails_the_agent_link_with_its_install_command() {
    let world = onboarded(&[]);
    world.block_on(async {
        let eks = &world.cluster.eks;
        let gone = eks.delete_addon().cluster_name(CLUSTER).addon_name(AGENT);
        gone.send().await.expect("delete the agent add-on")
    });
    let (out, report) = verify(&world);
    out.assert_code(4);
    assert_eq!(failed(&report), ["agent"], "{report}");
    let fix = with(&report, "agent", "FAIL")[0]["fix"]
        .as_str()
        .expect("a fix")
        .to_string();
    // The printed command, made through the SDK with the names it prints.
    let words: Vec<&str> = fix.split(' ').collect();
    let after = |flag: &str| {
        let at = words.iter().position(|w| *w == flag);
        at.and_then(|i| words.get(i + 1)).copied()
    };
    assert_eq!(words[..3], ["aws", "eks", "create-addon"], "{fix}");
    let (cluster, addon) = (after("--cluster-name"), after("--addon-name"));
    assert_eq!((cluster, addon), (Some(CLUSTER), Some(AGENT)), "{fix}");
    world.block_on(async {
        let eks = &world.cluster.eks;
        let made = eks.create_addon().cluster_name(CLUSTER).addon_name(AGENT);
        made.send().await.expect("create the agent add-on")
    });
    assert_verified(&world);
}

#[test]
fn an_association_re_pointed_to_another_target_role_fails_the_association_link() {
    let world = onboarded(&[]);
    world.block_on(world.klanker.create_foreign_role("other-target"));
    let other = "arn:aws:iam::333333333333:role/other-target";
    let id = the_association(&world).id;
    world.block_on(async {
        let eks = &world.cluster.eks;
        let update = eks.update_pod_identity_association().cluster_name(CLUSTER);
        let update = update.association_id(&id).target_role_arn(other);
        update.send().await.expect("re-point the association")
    });
    fails_alone_and_its_fix_converges(&world, "association", other);
    let fixed = the_association(&world);
    assert_eq!(fixed.id, id, "re-pointed in place");
    assert_eq!(fixed.target_role_arn.as_deref(), Some(ROLE_ARN));
}

/// The live target trust with its sts:ExternalId condition changed by `edit`.
fn edit_external_id(world: &World, edit: impl Fn(&mut serde_json::Map<String, Value>)) {
    let mut trust = target_trust(world);
    let equals = trust["Statement"][0]["Condition"]["StringEquals"]
        .as_object_mut()
        .expect("StringEquals");
    edit(equals);
    world.block_on(world.klanker.set_trust(ROLE, &trust));
}

#[test]
fn a_target_trust_without_the_external_id_fails_the_target_trust_link() {
    let world = onboarded(&[]);
    let pinned = pinned_external_ids(&world);
    edit_external_id(&world, |equals| {
        equals.remove("sts:ExternalId");
    });
    fails_alone_and_its_fix_converges(&world, "target-trust", "does not pin");
    assert_eq!(pinned_external_ids(&world), pinned);
}

#[test]
fn a_target_trust_pinning_another_external_id_fails_the_target_trust_link() {
    let world = onboarded(&[]);
    let pinned = pinned_external_ids(&world);
    edit_external_id(&world, |equals| {
        equals.insert("sts:ExternalId".into(), json!("not-the-external-id"));
    });
    fails_alone_and_its_fix_converges(&world, "target-trust", "does not pin");
    assert_eq!(pinned_external_ids(&world), pinned);
}

#[test]
fn an_external_id_rotated_at_eks_fails_the_target_trust_link_and_the_fix_re_pins_it() {
    let world = onboarded(&[]);
    let before = the_association(&world);
    let rotated = hook(
        &world,
        "rotate-external-id",
        json!({"associationId": before.id}),
    );
    let now = rotated["association"]["externalId"].clone();
    assert_ne!(now, json!(before.external_id), "{rotated}");
    fails_alone_and_its_fix_converges(&world, "target-trust", "does not pin");
    // The trust pins what EKS reports now, read from EKS, not the old one.
    assert_eq!(json!(the_association(&world).external_id), now);
    assert_eq!(pinned_external_ids(&world), [now]);
}

/// The association role's inline policy replaced by hand with `wide`: the
/// evaluator lets the role assume another role with it, verify fails that
/// link alone, and its fix writes the policy back.
fn a_widened_association_policy_fails_and_its_fix_converges(wide: Value) {
    let world = onboarded(&[]);
    let written = world.block_on(world.cluster.inline_policy(ASSOCIATION_ROLE, INLINE_POLICY));
    put_inline_policy(&world, &wide);
    let judged = judge_inline_policy(&world, &wide);
    let let_in = ("assume another klanker role".to_string(), true);
    assert!(judged.contains(&let_in), "{judged:?}");
    fails_alone_and_its_fix_converges(&world, "association-policy", "more or less");
    let now = world.block_on(world.cluster.inline_policy(ASSOCIATION_ROLE, INLINE_POLICY));
    assert_eq!(now, written);
}

#[test]
fn an_association_policy_widened_to_every_resource_fails_the_association_policy_link() {
    a_widened_association_policy_fails_and_its_fix_converges(json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"}],
    }));
}

#[test]
fn an_association_policy_widened_with_not_resource_fails_the_association_policy_link() {
    // The statement add wrote, and one granting every role but the target.
    a_widened_association_policy_fails_and_its_fix_converges(json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": ROLE_ARN},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": ROLE_ARN},
        ],
    }));
}

fn put_inline_policy(world: &World, policy: &Value) {
    world.block_on(async {
        let iam = &world.cluster.iam;
        let put = iam.put_role_policy().role_name(ASSOCIATION_ROLE);
        let put = put
            .policy_name(INLINE_POLICY)
            .policy_document(policy.to_string());
        put.send().await.expect("put the inline policy")
    });
}

/// The association role's trust loosened by hand (`loosen` edits its
/// condition): the evaluator lets EKS in for another cluster of the
/// account, verify fails that link alone, and its fix writes the trust back.
fn a_loosened_association_trust_fails_and_its_fix_converges(
    loosen: fn(&mut serde_json::Map<String, Value>),
) {
    let world = onboarded(&[]);
    let role = world.block_on(world.cluster.role(ASSOCIATION_ROLE));
    let written = role.expect("association role").trust_policy;
    let mut loose = written.clone();
    loosen(
        loose["Statement"][0]["Condition"]
            .as_object_mut()
            .expect("Condition"),
    );
    world.block_on(world.cluster.set_trust(ASSOCIATION_ROLE, &loose));
    let judged = judge_association_trust(&world, &loose);
    let let_in = ("another cluster sts:AssumeRole".to_string(), true);
    assert!(judged.contains(&let_in), "{judged:?}");
    fails_alone_and_its_fix_converges(&world, "association-trust", "any cluster");
    let role = world.block_on(world.cluster.role(ASSOCIATION_ROLE));
    assert_eq!(role.expect("association role").trust_policy, written);
}

#[test]
fn an_association_trust_without_source_arn_fails_the_association_trust_link() {
    a_loosened_association_trust_fails_and_its_fix_converges(|condition| {
        condition.remove("ArnEquals");
    });
}

#[test]
fn an_association_trust_open_to_every_cluster_of_the_account_fails_the_association_trust_link() {
    a_loosened_association_trust_fails_and_its_fix_converges(|condition| {
        condition.remove("ArnEquals");
        let any = "arn:aws:eks:us-east-1:222222222222:cluster/*";
        condition.insert("ArnLike".into(), json!({"aws:SourceArn": any}));
    });
}

#[test]
fn a_deleted_association_fails_the_association_link_and_the_fix_makes_and_pins_one() {
    let world = onboarded(&[]);
    let old = the_association(&world);
    world.block_on(async {
        let eks = &world.cluster.eks;
        let delete = eks.delete_pod_identity_association().cluster_name(CLUSTER);
        let delete = delete.association_id(&old.id);
        delete.send().await.expect("delete the association")
    });
    fails_alone_and_its_fix_converges(&world, "association", "no Pod Identity association");
    let new = the_association(&world);
    assert_ne!(new.id, old.id);
    assert_eq!(pinned_external_ids(&world), [json!(new.external_id)]);
}

/// What the association role's inline policy allows, judged by
/// policy_check.py (principalmapper) for a principal holding only it:
/// each case's name and whether it is allowed.
fn judge_inline_policy(world: &World, policy: &Value) -> Vec<(String, bool)> {
    let cases = [
        ("assume the target role", "sts:AssumeRole", ROLE_ARN),
        ("tag the target role's session", "sts:TagSession", ROLE_ARN),
        (
            "assume another klanker role",
            "sts:AssumeRole",
            "arn:aws:iam::333333333333:role/km-cluster-other",
        ),
        (
            "tag another klanker role's session",
            "sts:TagSession",
            "arn:aws:iam::333333333333:role/km-cluster-other",
        ),
        (
            "assume a cluster-account role",
            "sts:AssumeRole",
            OTHER_PRINCIPAL,
        ),
        ("pass the target role", "iam:PassRole", ROLE_ARN),
        ("web identity", "sts:AssumeRoleWithWebIdentity", ROLE_ARN),
        ("widen itself", "iam:PutRolePolicy", ASSOCIATION_ROLE_ARN),
        ("anything else", "s3:GetObject", "*"),
    ];
    let request = json!({
        "principal": ASSOCIATION_ROLE_ARN,
        "cases": cases.iter().map(|(name, action, resource)| json!({
            "name": name, "action": action, "resource": resource,
        })).collect::<Vec<_>>(),
    });
    world.evaluate("policy_check.py", policy, &request)
}

/// What the association role's trust admits, judged by trust_check.py
/// (principalmapper) for a service principal: EKS's Pod Identity service
/// for this cluster, and for another cluster, account or service.
fn judge_association_trust(world: &World, trust: &Value) -> Vec<(String, bool)> {
    let here = json!({"aws:SourceAccount": CLUSTER_ACCOUNT, "aws:SourceArn": CONTEXT});
    let cases = [
        ("this cluster", PODS, here.clone()),
        (
            "another cluster",
            PODS,
            json!({"aws:SourceAccount": CLUSTER_ACCOUNT, "aws:SourceArn": OTHER_CLUSTER}),
        ),
        (
            "another account",
            PODS,
            json!({"aws:SourceAccount": "444444444444",
                "aws:SourceArn": "arn:aws:eks:us-east-1:444444444444:cluster/dev-use1-0"}),
        ),
        ("another service", "ec2.amazonaws.com", here),
        ("no source", PODS, json!({})),
    ];
    let request = json!({
        "resource": ASSOCIATION_ROLE_ARN,
        "cases": cases.iter().flat_map(|(name, service, conditions)| {
            ["sts:AssumeRole", "sts:TagSession"].map(|action| json!({
                "name": format!("{name} {action}"), "action": action,
                "principal": {"service": service}, "conditions": conditions,
            }))
        }).collect::<Vec<_>>(),
    });
    world.evaluate("trust_check.py", trust, &request)
}

/// The request EKS makes to the target role for one ServiceAccount.
#[derive(Clone)]
struct EksRequest {
    principal: String,
    cluster: String,
    namespace: String,
    service_account: String,
    external_id: String,
    /// Session tags sent (off with `--disable-session-tags`).
    tags: bool,
}

impl EksRequest {
    /// For the association of `namespace/service_account`, with the
    /// external ID the EKS peer reports for it.
    fn of(world: &World, namespace: &str, service_account: &str) -> EksRequest {
        let found = associations(world);
        let association = found
            .iter()
            .find(|a| a.namespace == namespace && a.service_account == service_account)
            .unwrap_or_else(|| panic!("no association for {namespace}/{service_account}"));
        EksRequest {
            principal: association.role_arn.clone(),
            cluster: CONTEXT.into(),
            namespace: namespace.into(),
            service_account: service_account.into(),
            external_id: association.external_id.clone().expect("an external ID"),
            tags: !association.session_tags_disabled,
        }
    }

    fn conditions(&self) -> Value {
        let mut conditions = json!({
            "aws:PrincipalArn": self.principal,
            "sts:ExternalId": self.external_id,
        });
        if self.tags {
            conditions["aws:RequestTag/eks-cluster-arn"] = json!(self.cluster);
            conditions["aws:RequestTag/kubernetes-namespace"] = json!(self.namespace);
            conditions["aws:RequestTag/kubernetes-service-account"] = json!(self.service_account);
        }
        conditions
    }
}

/// Asserts principalmapper's verdict on the target trust for each named
/// request and action (as the association role, or the request's own
/// principal): `allowed` or not.
#[track_caller]
fn assert_target_trust_judged(
    world: &World,
    trust: &Value,
    cases: &[(&str, EksRequest, bool)],
    actions: &[&str],
) {
    let named = |name: &str, action: &str| format!("{name} {action}");
    let request = json!({
        "resource": ROLE_ARN,
        "cases": cases.iter().flat_map(|(name, r, _)| actions.iter().map(move |action| json!({
            "name": named(name, action), "action": action,
            "principal": {"aws": r.principal}, "conditions": r.conditions(),
        }))).collect::<Vec<_>>(),
    });
    let expected: Vec<(String, bool)> = cases
        .iter()
        .flat_map(|(name, _, allowed)| actions.iter().map(move |a| (named(name, a), *allowed)))
        .collect();
    assert_eq!(world.evaluate("trust_check.py", trust, &request), expected);
}

/// EKS's request, and the same with one thing another's.
fn eks_and_intruders(eks: &EksRequest) -> Vec<(&'static str, EksRequest, bool)> {
    let other = |f: fn(&mut EksRequest)| {
        let mut r = eks.clone();
        f(&mut r);
        r
    };
    let mut cases = vec![
        ("EKS's request", eks.clone(), true),
        (
            "another external ID",
            other(|r| r.external_id = "not-the-external-id".into()),
            false,
        ),
        (
            "another principal",
            other(|r| r.principal = OTHER_PRINCIPAL.into()),
            false,
        ),
    ];
    if eks.tags {
        cases.extend([
            (
                "another namespace",
                other(|r| r.namespace = "other-ns".into()),
                false,
            ),
            (
                "another ServiceAccount",
                other(|r| r.service_account = "web".into()),
                false,
            ),
            (
                "another cluster",
                other(|r| r.cluster = OTHER_CLUSTER.into()),
                false,
            ),
        ]);
    }
    cases
}

#[test]
fn the_evaluator_admits_eks_into_the_live_target_trust_and_refuses_every_intruder() {
    let world = onboarded(&[]);
    let report = assert_verified(&world);
    let eks = EksRequest::of(&world, "ai-pods", "km");
    assert_eq!(eks.principal, ASSOCIATION_ROLE_ARN);
    let cases = eks_and_intruders(&eks);
    assert_target_trust_judged(
        &world,
        &target_trust(&world),
        &cases,
        &["sts:AssumeRole", "sts:TagSession"],
    );
    // verify claims the refusals the evaluator proves, each by name.
    let said = with(&report, "target-trust", "OK")[0]["message"].to_string();
    for (name, _, _) in &cases[1..] {
        assert_contains!(said, name);
    }
}

#[test]
fn without_session_tags_the_evaluator_admits_the_external_id_alone() {
    let world = onboarded(&["--disable-session-tags"]);
    let report = assert_verified(&world);
    assert_contains!(
        with(&report, "target-trust", "OK")[0]["message"].to_string(),
        "no session tags"
    );
    let eks = EksRequest::of(&world, "ai-pods", "km");
    assert!(!eks.tags);
    let trust = target_trust(&world);
    let cases = eks_and_intruders(&eks);
    assert_eq!(cases.len(), 3);
    assert_target_trust_judged(&world, &trust, &cases, &["sts:AssumeRole"]);
    // No tags sent, none allowed: the trust grants no sts:TagSession.
    let refused = [("EKS's request", eks, false)];
    assert_target_trust_judged(&world, &trust, &refused, &["sts:TagSession"]);
}

#[test]
fn the_evaluator_admits_eks_into_the_association_role_for_this_cluster_only() {
    let world = onboarded(&[]);
    let report = assert_verified(&world);
    let role = world.block_on(world.cluster.role(ASSOCIATION_ROLE));
    let judged = judge_association_trust(&world, &role.expect("association role").trust_policy);
    let allowed: Vec<&str> = judged
        .iter()
        .filter(|(_, allowed)| *allowed)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        allowed,
        ["this cluster sts:AssumeRole", "this cluster sts:TagSession"]
    );
    assert_eq!(judged.len(), 10, "{judged:?}");
    assert_contains!(
        with(&report, "association-trust", "OK")[0]["message"].to_string(),
        "only"
    );
}

#[test]
fn the_evaluator_allows_the_association_policy_exactly_the_target_actions() {
    let world = onboarded(&[]);
    let report = assert_verified(&world);
    let policy = world.block_on(world.cluster.inline_policy(ASSOCIATION_ROLE, INLINE_POLICY));
    let judged = judge_inline_policy(&world, &policy.expect("inline policy"));
    let allowed: Vec<&str> = judged
        .iter()
        .filter(|(_, allowed)| *allowed)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        allowed,
        ["assume the target role", "tag the target role's session"]
    );
    assert_eq!(judged.len(), 9, "{judged:?}");
    assert_contains!(
        with(&report, "association-policy", "OK")[0]["message"].to_string(),
        "may only sts:AssumeRole and sts:TagSession"
    );
}

#[test]
fn several_service_accounts_are_each_verified_and_each_external_id_admits_only_its_own_tags() {
    let world = onboarded(&["--service-account", "web"]);
    let report = assert_verified(&world);
    for link in ["service-account", "association", "target-trust"] {
        let ok = with(&report, link, "OK");
        assert_eq!(ok.len(), 2, "{link}: {report}");
        for subject in ["ai-pods/km", "ai-pods/web"] {
            let named = ok
                .iter()
                .any(|c| c["message"].to_string().contains(subject));
            assert!(named, "{link} of {subject}: {report}");
        }
    }
    // verify claims what the evaluator proves below, for each of them.
    for check in with(&report, "target-trust", "OK") {
        let said = check["message"].to_string();
        assert_contains!(said, "another onboarded ServiceAccount's tags");
    }
    let km = EksRequest::of(&world, "ai-pods", "km");
    let web = EksRequest::of(&world, "ai-pods", "web");
    assert_ne!(km.external_id, web.external_id);
    // A statement binds namespace, ServiceAccount and external ID together:
    // one association's external ID never admits the other's tags.
    let with_id_of = |tags: &EksRequest, id: &EksRequest| EksRequest {
        external_id: id.external_id.clone(),
        ..tags.clone()
    };
    let cases = [
        ("km", km.clone(), true),
        ("web", web.clone(), true),
        ("km's external ID, web's tags", with_id_of(&web, &km), false),
        ("web's external ID, km's tags", with_id_of(&km, &web), false),
    ];
    assert_target_trust_judged(
        &world,
        &target_trust(&world),
        &cases,
        &["sts:AssumeRole", "sts:TagSession"],
    );
}

#[test]
fn among_several_service_accounts_one_rotated_external_id_fails_that_one_alone() {
    let world = onboarded(&["--service-account", "web"]);
    let found = associations(&world);
    let web = found.iter().find(|a| a.service_account == "web");
    let web = web.expect("web's association");
    hook(
        &world,
        "rotate-external-id",
        json!({"associationId": web.id}),
    );
    // km's links stay OK; web's target trust fails, named.
    let (_, report) = verify(&world);
    assert_eq!(with(&report, "target-trust", "OK").len(), 1, "{report}");
    fails_alone_and_its_fix_converges(&world, "target-trust", "ai-pods/web");
    let now = EksRequest::of(&world, "ai-pods", "web");
    assert_ne!(Some(now.external_id.clone()), web.external_id);
    let pinned = pinned_external_ids(&world);
    assert!(pinned.contains(&json!(now.external_id)), "{pinned:?}");
}

#[test]
fn without_session_tags_the_printed_fix_keeps_them_off() {
    let world = onboarded(&["--disable-session-tags"]);
    let id = the_association(&world).id;
    hook(&world, "rotate-external-id", json!({"associationId": id}));
    fails_alone_and_its_fix_converges(&world, "target-trust", "does not pin");
    // Converged to the onboarding as it was made, not to add's defaults.
    assert!(the_association(&world).session_tags_disabled);
    let trust = target_trust(&world);
    assert_eq!(
        trust["Statement"][0]["Action"],
        json!(["sts:AssumeRole"]),
        "{trust}"
    );
}

#[test]
fn with_its_own_association_role_name_the_printed_fix_keeps_that_role() {
    let world = onboarded(&["--cluster-role-name", "km-podid-app"]);
    let id = the_association(&world).id;
    world.block_on(async {
        let eks = &world.cluster.eks;
        let delete = eks.delete_pod_identity_association().cluster_name(CLUSTER);
        delete
            .association_id(&id)
            .send()
            .await
            .expect("delete the association")
    });
    fails_alone_and_its_fix_converges(&world, "association", "no Pod Identity association");
    let role_arn = the_association(&world).role_arn;
    assert_eq!(role_arn, "arn:aws:iam::222222222222:role/km-podid-app");
    assert!(
        world
            .block_on(world.cluster.role(ASSOCIATION_ROLE))
            .is_none()
    );
}

#[test]
fn a_target_trust_open_to_every_cluster_of_the_account_fails_the_target_trust_link() {
    let world = onboarded(&[]);
    let written = target_trust(&world);
    let mut loose = written.clone();
    let condition = &mut loose["Statement"][0]["Condition"];
    let any = "arn:aws:eks:us-east-1:222222222222:cluster/*";
    condition["StringEquals"]
        .as_object_mut()
        .expect("StringEquals")
        .remove("aws:RequestTag/eks-cluster-arn");
    condition["StringLike"] = json!({"aws:RequestTag/eks-cluster-arn": any});
    world.block_on(world.klanker.set_trust(ROLE, &loose));
    // The loosening is real: the evaluator admits EKS's request from another cluster.
    let eks = EksRequest::of(&world, "ai-pods", "km");
    let other = EksRequest {
        cluster: OTHER_CLUSTER.into(),
        ..eks.clone()
    };
    let cases = [
        ("EKS's request", eks, true),
        ("another cluster", other, true),
    ];
    assert_target_trust_judged(&world, &loose, &cases, &["sts:AssumeRole"]);
    let (out, report) = verify(&world);
    out.assert_code(4);
    // A new condition operator is also drift from what add wrote (as any
    // trust reshaped by hand is); an external ID changed in place is not.
    assert_eq!(failed(&report), ["target-trust", "drift"], "{report}");
    let failing = with(&report, "target-trust", "FAIL");
    assert_contains!(
        failing[0]["message"].to_string(),
        "another cluster",
        "{report}"
    );
    run_printed_add(&world, failing[0]["fix"].as_str().expect("a fix")).assert_ok();
    assert_verified(&world);
    assert_eq!(target_trust(&world), written);
}

#[test]
fn several_service_accounts_in_one_statement_fail_the_target_trust_link_of_each() {
    let world = onboarded(&["--service-account", "web"]);
    let km = EksRequest::of(&world, "ai-pods", "km");
    let web = EksRequest::of(&world, "ai-pods", "web");
    // One statement for both, by hand: each tag and each external ID still
    // listed, but no longer bound together.
    let mut trust = target_trust(&world);
    let merged = &mut trust["Statement"][0]["Condition"]["StringEquals"];
    merged["aws:RequestTag/kubernetes-service-account"] = json!(["km", "web"]);
    merged["sts:ExternalId"] = json!([km.external_id, web.external_id]);
    trust["Statement"]
        .as_array_mut()
        .expect("Statement")
        .truncate(1);
    world.block_on(world.klanker.set_trust(ROLE, &trust));
    let crossed = EksRequest {
        external_id: km.external_id.clone(),
        ..web.clone()
    };
    let cases = [
        ("km", km, true),
        ("web", web, true),
        ("crossed", crossed, true),
    ];
    assert_target_trust_judged(&world, &trust, &cases, &["sts:AssumeRole"]);
    // verify agrees: each one's target trust fails, besides the drift.
    let (out, report) = verify(&world);
    out.assert_code(4);
    let failing = with(&report, "target-trust", "FAIL");
    assert_eq!(failing.len(), 2, "{report}");
    for check in &failing {
        assert_contains!(
            check["message"].to_string(),
            "another onboarded ServiceAccount's tags"
        );
    }
    run_printed_add(&world, failing[0]["fix"].as_str().expect("a fix")).assert_ok();
    assert_verified(&world);
}
