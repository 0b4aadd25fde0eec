//! Faults between the plugin and its peers: throttling, 5xx, slow answers,
//! dropped connections, hangs, crashes, Ctrl-C and IAM eventual consistency.
//! Whatever happens, the command either succeeds through retries or says what
//! was done and what was not, and re-running converges to the exact state.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::kube::KubeFault;
use crate::support::moto::Hang;
use crate::support::{
    AddArgs, CLUSTER, OPERATOR_POLICY, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World,
};

/// `add`, applied, with a 2 s request timeout.
fn add() -> AddArgs<'static> {
    AddArgs::cluster().yes().flag("--request-timeout", "2")
}
const RM: &[&str] = &["rm", CLUSTER, "--yes", "--request-timeout", "2"];
const AWS_WRITES: &[&str] = &[
    "CreateOpenIDConnectProvider",
    "CreateRole",
    "AttachRolePolicy",
];
const RM_WRITES: &[&str] = &[
    "DetachRolePolicy",
    "DeleteRole",
    "DeleteOpenIDConnectProvider",
];

/// The complete, exact result of `add` in this world.
#[track_caller]
fn assert_onboarded(world: &World) {
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0].client_ids, ["sts.amazonaws.com"]);
    assert_eq!(
        providers[0]
            .tags
            .get("klanker-trust/managed-by")
            .map(String::as_str),
        Some("kubectl-klanker-trust")
    );
    let role = world.block_on(world.klanker.role(ROLE)).expect("role");
    let host = world.issuer_host_path();
    assert_eq!(
        role.trust_policy,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": providers[0].arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{host}:sub"): "system:serviceaccount:ai-pods:km", format!("{host}:aud"): "sts.amazonaws.com"}}}]})
    );
    assert_eq!(role.attached, [OPERATOR_POLICY]);
    assert_eq!(
        role.tags["klanker-trust/managed-by"],
        "kubectl-klanker-trust"
    );
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_ARN);
    let config = world.km_config_yaml();
    assert_eq!(
        config["clusters"].as_sequence().map(Vec::len),
        Some(1),
        "{config:?}"
    );
    assert_eq!(config["clusters"][0]["role_arn"], ROLE_ARN);
}

/// Nothing the tool created is left.
#[track_caller]
fn assert_clean(world: &World) {
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    let config = world.km_config_yaml();
    assert!(
        config["clusters"].as_sequence().is_none_or(Vec::is_empty),
        "{config:?}"
    );
}

/// A failed run must say which step failed, what was done, and that re-running converges.
#[track_caller]
fn assert_partial_report(stderr: &str, failed: &str) {
    assert_contains!(stderr, format!("step `{failed}"), "no failed step");
    assert_contains!(stderr, "done:");
    assert_contains!(stderr, "not started:");
    assert_contains!(stderr, "converges");
}

/// A slow call takes effect at the peer after the client gave up on it and
/// its retry succeeded: waits (bounded) until it has, so that it cannot
/// land in the next command (a CreateRole re-creating the role rm just
/// deleted). Other faults take effect, if at all, before their answer.
fn wait_for_a_late_call(rule: &serde_json::Value) {
    let Some(done) = rule["done"].as_str() else {
        return;
    };
    let done = std::path::Path::new(done);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow call never finished at the peer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_file(done).expect("remove the done marker");
}

fn transient_faults_are_retried(fault: serde_json::Value) {
    let world = World::new();
    let rule_for = |action: &str| {
        let mut rule = fault.clone();
        rule["action"] = json!(action);
        if rule["fault"] == "slow" {
            rule["done"] = json!(world.path(&format!("{action}.done")));
        }
        rule
    };
    for action in AWS_WRITES {
        let rule = rule_for(action);
        world.moto.inject(json!([rule]));
        let out = world.run(&add());
        out.assert_ok();
        wait_for_a_late_call(&rule);
        assert!(
            world
                .moto
                .calls()
                .iter()
                .filter(|c| &c.action == action)
                .count()
                >= 2,
            "{action} was not retried"
        );
        assert_onboarded(&world);
        world.moto.clear_faults();
        world.run(RM).assert_ok();
        assert_clean(&world);
    }
    for action in RM_WRITES {
        world.run(&add()).assert_ok();
        let rule = rule_for(action);
        world.moto.inject(json!([rule]));
        world.run(RM).assert_ok();
        wait_for_a_late_call(&rule);
        assert_clean(&world);
        world.moto.clear_faults();
    }
}

#[test]
fn throttling_is_retried_on_every_write_step() {
    transient_faults_are_retried(json!({"fault": "throttle"}));
}

#[test]
fn internal_errors_are_retried_on_every_write_step() {
    transient_faults_are_retried(json!({"fault": "internal"}));
}

#[test]
fn unavailable_is_retried_on_every_write_step() {
    transient_faults_are_retried(json!({"fault": "unavailable", "count": 2}));
}

#[test]
fn dropped_connections_are_retried_on_every_write_step() {
    transient_faults_are_retried(json!({"fault": "drop"}));
}

/// The call takes effect, the answer is lost, the retry finds it done
/// (EntityAlreadyExists / NoSuchEntity) and converges instead of failing.
#[test]
fn answers_lost_after_the_call_took_effect_converge() {
    transient_faults_are_retried(json!({"fault": "drop_after"}));
}

#[test]
fn answers_slower_than_the_request_timeout_are_retried() {
    transient_faults_are_retried(json!({"fault": "slow", "seconds": 3}));
}

#[test]
fn kubernetes_faults_on_the_service_account_are_retried() {
    let world = World::new();
    for fault in [
        KubeFault::Status(500),
        KubeFault::Status(503),
        KubeFault::Status(429),
        KubeFault::Slow(Duration::from_secs(3)),
        // The connection dropped before the call reached the server, and
        // after it took effect (the answer lost): both converge on the retry.
        KubeFault::Drop,
        KubeFault::DropAfter,
    ] {
        let sent = |method: &str| {
            world
                .kube
                .requests()
                .iter()
                .filter(|r| r.method == method && r.path.ends_with("/serviceaccounts/km"))
                .count()
        };
        world.kube.clear_requests();
        world
            .kube
            .inject("PATCH", "/serviceaccounts/km", fault.clone(), 1);
        world.run(&add()).assert_ok();
        assert!(sent("PATCH") >= 2, "{fault:?}: the apply was not retried");
        assert_onboarded(&world);
        world
            .kube
            .inject("DELETE", "/serviceaccounts/km", fault.clone(), 1);
        world.run(RM).assert_ok();
        assert!(sent("DELETE") >= 2, "{fault:?}: the delete was not retried");
        assert_clean(&world);
    }
}

#[test]
fn persistent_faults_fail_clearly_and_a_rerun_converges() {
    let world = World::new();
    let steps = [
        ("CreateOpenIDConnectProvider", "OIDC provider"),
        ("CreateRole", "role km-cluster-dev-use1-0"),
        ("AttachRolePolicy", "attach policy"),
    ];
    for (action, step) in steps {
        let fail_at_step = || {
            world
                .moto
                .inject(json!([{"action": action, "fault": "internal", "count": 100}]));
            let out = world.run(&add());
            out.assert_code(3);
            assert_partial_report(&out.stderr, step);
            world.moto.clear_faults();
        };
        // Re-running converges to the exact state...
        fail_at_step();
        world.run(&add()).assert_ok();
        assert_onboarded(&world);
        world.run(RM).assert_ok();
        assert_clean(&world);
        // ...and rm right after the failure removes everything it had created.
        fail_at_step();
        world.run(RM).assert_ok();
        assert_clean(&world);
    }
    // The cluster refuses the ServiceAccount: IAM is done, the report says so.
    world
        .kube
        .inject("PATCH", "/serviceaccounts/km", KubeFault::Status(500), 100);
    let out = world.run(&add());
    out.assert_code(3);
    assert_partial_report(&out.stderr, "ServiceAccount ai-pods/km");
    assert_contains!(out.stderr, "done:        OIDC provider");
    world.kube.clear_faults();
    world.run(RM).assert_ok();
    assert_clean(&world);
    world.run(&add()).assert_ok();
    assert_onboarded(&world);
    // The local file cannot be written (its lock path is taken by a directory).
    world.run(RM).assert_ok();
    let lock = world.km_config().with_extension("yaml.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    let out = world.run(&add());
    out.assert_code(3);
    assert_partial_report(&out.stderr, "km-config.yaml entry");
    std::fs::remove_dir(&lock).unwrap();
    world.run(&add()).assert_ok();
    assert_onboarded(&world);

    // rm: a persistent fault on DeleteRole, then a clean re-run.
    world
        .moto
        .inject(json!([{"action": "DeleteRole", "fault": "internal", "count": 100}]));
    let out = world.run(RM);
    out.assert_code(3);
    assert_contains!(out.stderr, "Re-running `kubectl klanker-trust rm`");
    world.moto.clear_faults();
    world.run(RM).assert_ok();
    assert_clean(&world);
}

#[test]
fn iam_eventual_consistency_is_waited_out() {
    let world = World::new();
    world.moto.inject(json!([
        {"action": "CreateRole", "fault": "error", "status": 400, "code": "MalformedPolicyDocument",
         "message": "Invalid principal in policy: \"Federated\"", "count": 2},
        {"action": "AttachRolePolicy", "fault": "error", "status": 404, "code": "NoSuchEntity",
         "message": "The role with name km-cluster-dev-use1-0 cannot be found.", "count": 2},
    ]));
    let out = world.run(&add());
    out.assert_ok();
    assert_contains!(out.stderr, "waiting");
    assert_contains!(out.stderr, "iam:CreateRole");
    assert_contains!(out.stderr, "iam:AttachRolePolicy");
    assert_onboarded(&world);
    // A malformed document that is not about a principal is not waited on.
    world.run(RM).assert_ok();
    world.clear_calls();
    world.moto.inject(
        json!([{"action": "CreateRole", "fault": "error", "status": 400,
        "code": "MalformedPolicyDocument", "message": "Syntax errors in policy.", "count": 100}]),
    );
    let out = world.run(&add());
    out.assert_code(3);
    assert_eq!(
        world
            .moto
            .calls()
            .iter()
            .filter(|c| c.action == "CreateRole")
            .count(),
        1
    );
}

#[test]
fn a_hung_peer_gives_a_clear_error_not_a_hang() {
    let world = World::new();
    // Every attempt hangs: the SDK's attempt and operation timeouts must end it.
    let hang = Hang::new(world.dir.path(), "sts-hang");
    world
        .moto
        .inject(json!([{"action": "GetRole", "fault": "hang", "count": 100,
        "arrived": hang.arrived, "release": hang.release}]));
    let started = std::time::Instant::now();
    let out = world.run(&AddArgs::new().yes().flag("--request-timeout", "1"));
    hang.release();
    out.assert_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_contains!(out.stderr, "iam:GetRole");
    assert_contains!(out.stderr, "timeout");
    assert_eq!(world.writes(), Vec::<String>::new());

    let hang = Hang::new(world.dir.path(), "kube-get");
    world.moto.clear_faults();
    world.kube.inject(
        "GET",
        "/namespaces/ai-pods",
        KubeFault::Hang {
            arrived: hang.arrived.clone(),
            release: hang.release.clone(),
        },
        10,
    );
    let out = world.run(&AddArgs::new().yes().flag("--request-timeout", "1"));
    hang.release();
    out.assert_code(1);
    // Named as kubectl names it: the server, the context (issue 15).
    assert_contains!(
        out.stderr,
        "The connection to the server https://127.0.0.1:"
    );
    assert_contains!(out.stderr, "timed out while reading");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
}

/// A connection dropped on every attempt is said in words, naming the
/// call and the endpoint; hyper's text ("client error (SendRequest)") is
/// the cause --verbose alone shows.
#[test]
fn a_dropped_connection_is_said_in_words_and_verbose_adds_the_cause() {
    let world = World::new();
    // All five attempts fail at once; a timeout long enough that the
    // retries' backoff (at most 1 + 2 + 4 + 8 s) stays within the
    // operation's bound (4 x T).
    world
        .moto
        .inject(json!([{"action": "GetRole", "fault": "drop", "count": 100}]));
    let out = world.run(&AddArgs::new().yes().flag("--request-timeout", "10"));
    out.assert_code(1);
    assert_contains!(out.stderr, "iam:GetRole could not reach the IAM endpoint");
    assert_contains!(out.stderr, "the connection closed before the answer came");
    for library in ["SendRequest", "client error", "message completed"] {
        assert_lacks!(out.stderr, library);
    }
    let out = world.run(
        &AddArgs::new()
            .yes()
            .verbose()
            .flag("--request-timeout", "10"),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "the connection closed before the answer came");
    assert_contains!(
        out.stderr,
        "caused by: client error (SendRequest): connection closed before message completed"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// SIGKILL right after each write step (the next write is held at the peer
/// so the moment is exact), then: a re-run converges, and rm cleans up.
#[test]
fn a_crash_after_any_write_step_converges_on_rerun() {
    let world = World::new();
    let crash_before = ["CreateRole", "AttachRolePolicy"];
    for next in crash_before {
        let hang = world.moto.hang(next, world.dir.path());
        crash_while_held(&world, &hang);
        world.moto.clear_faults();
        world.run(&add()).assert_ok();
        assert_onboarded(&world);
        world.run(RM).assert_ok();
        assert_clean(&world);
        let _ = std::fs::remove_file(&hang.arrived);
        let _ = std::fs::remove_file(&hang.release);
    }
    // After the last IAM step, with the ServiceAccount apply held. The two
    // chains run side by side, so wait until IAM shows the attachment.
    let hang = Hang::new(world.dir.path(), "kube-apply");
    world.kube.inject(
        "PATCH",
        "/serviceaccounts/km",
        KubeFault::Hang {
            arrived: hang.arrived.clone(),
            release: hang.release.clone(),
        },
        1,
    );
    crash_when(&world, &hang, || {
        world
            .block_on(world.klanker.role(ROLE))
            .is_some_and(|role| !role.attached.is_empty())
    });
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    world.run(&add()).assert_ok();
    assert_onboarded(&world);
    // A crash in the middle of rm, too.
    let hang = world
        .moto
        .hang("DeleteOpenIDConnectProvider", world.dir.path());
    let mut child = world
        .kubectl()
        .args(RM)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    hang.wait_arrived();
    child.kill().unwrap();
    child.wait().unwrap();
    hang.release();
    world.moto.clear_faults();
    world.run(RM).assert_ok();
    assert_clean(&world);
}

fn crash_while_held(world: &World, hang: &Hang) {
    crash_when(world, hang, || true);
}

/// Runs add, and SIGKILLs it once the held call arrived and `ready` holds
/// (polled, bounded), then releases the held call.
fn crash_when(world: &World, hang: &Hang, ready: impl Fn() -> bool) {
    let mut child = world
        .kubectl()
        .args(add())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    hang.wait_arrived();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the crash point was never reached"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL the plugin"); // kubectl execs the plugin: same process
    child.wait().unwrap();
    hang.release();
}

#[test]
fn ctrl_c_cancels_the_step_in_flight_and_says_what_was_done() {
    let world = World::new();
    let hang = world.moto.hang("CreateRole", world.dir.path());
    let child = world
        .kubectl()
        .args(add())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    hang.wait_arrived();
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    // The plugin stops without waiting for the held call's answer.
    let out = child.wait_with_output().unwrap();
    hang.release();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_contains!(stderr, "done:        OIDC provider");
    // The held call may have taken effect: never listed as done.
    assert_contains!(stderr, "interrupted: role km-cluster-dev-use1-0");
    assert_contains!(stderr, "(it may have taken effect)");
    assert_contains!(stderr, "not started: attach policy");
    assert!(
        !world
            .moto
            .calls()
            .iter()
            .any(|c| c.action == "AttachRolePolicy")
    );
    world.moto.clear_faults();
    world.run(&add()).assert_ok();
    assert_onboarded(&world);
}

/// A step that backs off before retrying (throttled by IAM) is cancelled at
/// once by Ctrl-C, not after the SDK's backoff runs out.
#[test]
fn ctrl_c_during_a_backoff_stops_at_once() {
    let world = World::new();
    world
        .moto
        .inject(json!([{"action": "AttachRolePolicy", "fault": "throttle", "count": 1000}]));
    let child = world
        .kubectl()
        .args(add())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first throttled answer has gone out, the SDK is backing off.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !world
        .moto
        .calls()
        .iter()
        .any(|c| c.action == "AttachRolePolicy")
    {
        assert!(Instant::now() < deadline, "AttachRolePolicy never sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let waited = sent.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_contains!(stderr, "interrupted: attach policy");
    assert_lacks!(stderr, "step `attach policy");
    // Generous: the SDK's backoff over its five attempts is seconds long.
    assert!(waited < Duration::from_secs(5), "took {waited:?} to stop");
}

/// The provider a failed add left behind is found through this cluster's
/// issuer, but only by an rm of that onboarding, never by an rm of another name.
#[test]
fn a_left_over_provider_is_removed_only_by_its_own_rm() {
    let world = World::new();
    world
        .moto
        .inject(json!([{"action": "CreateRole", "fault": "internal", "count": 100}]));
    world.run(&add()).assert_code(3);
    world.moto.clear_faults();
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());

    // Another name is onboarded nowhere: NotFound, and the provider stays.
    let out = world.run(&["rm", "some-other-name", "--yes", "--request-timeout", "2"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "`some-other-name` is not onboarded");
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);

    world.run(RM).assert_ok();
    assert_clean(&world);
}

/// The verification token is asked for as soon as the ServiceAccount is
/// applied, side by side with the IAM writes (no extra sequential round
/// trip): it reaches the API server while an IAM call is still held.
#[test]
fn the_verification_token_is_requested_beside_the_iam_chain() {
    let world = World::new();
    let hang = world.moto.hang("AttachRolePolicy", world.dir.path());
    let child = world.spawn(&add());
    hang.wait_arrived();
    let deadline = Instant::now() + Duration::from_secs(60);
    let token_request = || {
        world
            .kube
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/serviceaccounts/km/token"))
    };
    while !token_request() {
        assert!(
            Instant::now() < deadline,
            "no TokenRequest while AttachRolePolicy was held"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    hang.release();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains!(String::from_utf8_lossy(&out.stdout), "OK   trust");
}
