//! `verify` end to end: a healthy chain, then each link broken on its own.
//! moto does not evaluate trust policies, so the FAIL lines come from the
//! tool's own checks; the exit code for a broken link is 4.

use serde_json::Value;

use crate::support::{AddArgs, CLUSTER, KUBE_TOKEN, ROLE, ROLE_ARN_ANNOTATION, World};

fn onboarded() -> World {
    let world = World::new();
    let out = world.run(&AddArgs::cluster().yes());
    out.assert_ok();
    // add ran the local checks right after applying.
    assert_contains!(out.stdout, "Verifying the trust chain:");
    assert_contains!(out.stdout, "OK   trust");
    world
}

fn verify(world: &World) -> (i32, Value, String) {
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    assert_lacks!(out.all(), KUBE_TOKEN, "kube credential printed");
    assert_lacks!(out.stdout, "eyJ", "a JWT was printed");
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.code, report, out.stderr)
}

fn failed_links(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "FAIL")
        .map(|c| c["link"].as_str().unwrap().to_string())
        .collect()
}

fn message(report: &Value, link: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["link"] == link)
        .map(|c| c["message"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn set_trust(world: &World, namespace: &str, aud: &str) {
    let host = world.issuer_host_path();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::333333333333:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:sub"): format!("system:serviceaccount:{namespace}:km"), format!("{host}:aud"): aud}}}]});
    world.block_on(async {
        world
            .klanker
            .iam
            .update_assume_role_policy()
            .role_name(ROLE)
            .policy_document(doc.to_string())
            .send()
            .await
            .expect("update trust")
    });
}

fn delete_provider(world: &World) -> String {
    let arn = world.block_on(world.klanker.providers())[0].arn.clone();
    world.block_on(async {
        world
            .klanker
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .expect("delete provider")
    });
    arn
}

#[test]
fn a_healthy_chain_passes_and_sts_issues_a_session() {
    let world = onboarded();
    let out = world.run(&["verify", CLUSTER]);
    out.assert_ok();
    assert_contains!(out.stdout, "The trust chain works.");
    assert_contains!(out.stdout, "OK   assume");
    assert_contains!(out.stdout, "assumed-role/km-cluster-dev-use1-0/");
    let (code, report, _) = verify(&world);
    assert_eq!(code, 0);
    assert_eq!(report["ok"], true);
    assert!(failed_links(&report).is_empty());
    // Its signature was checked against the real API server's published keys.
    assert_contains!(
        message(&report, "signature"),
        "verifies against the API server's key",
        "{report}"
    );
    // The token came from the TokenRequest API with the STS audience.
    assert!(
        world.kube.requests().iter().any(|r| r.method == "POST"
            && r.path == "/api/v1/namespaces/ai-pods/serviceaccounts/km/token"),
        "{:?}",
        world.kube.requests()
    );
}

#[test]
fn annotation_pointing_at_another_role() {
    let world = onboarded();
    let mut sa = world.kube.service_account("ai-pods", "km").unwrap();
    sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION] =
        "arn:aws:iam::333333333333:role/other".into();
    world.kube.put_service_account("ai-pods", sa);
    let (code, report, stderr) = verify(&world);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(failed_links(&report), ["service-account"]);
    assert_contains!(message(&report, "service-account"), "role/other");
    assert_contains!(stderr, "broken at: service-account");
}

#[test]
fn provider_deleted() {
    let world = onboarded();
    delete_provider(&world);
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    assert_eq!(failed_links(&report), ["provider"]);
    assert_contains!(message(&report, "provider"), world.issuer);
}

#[test]
fn provider_without_the_sts_client_id() {
    let world = onboarded();
    delete_provider(&world);
    world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["some-other-client"]),
    );
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    assert_eq!(failed_links(&report), ["client-id"]);
}

#[test]
fn trust_for_another_namespace() {
    let world = onboarded();
    set_trust(&world, "other-ns", "sts.amazonaws.com");
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    // Changed by hand: also drift from what add wrote, with the add that
    // writes it back.
    assert_eq!(failed_links(&report), ["trust", "drift"]);
    assert_contains!(message(&report, "drift"), "changed by hand");
    let msg = message(&report, "trust");
    assert!(msg.starts_with("sub mismatch"), "{msg}");
    assert_contains!(msg, "system:serviceaccount:other-ns:km");
    assert_contains!(msg, "system:serviceaccount:ai-pods:km");
}

#[test]
fn trust_with_the_wrong_audience() {
    let world = onboarded();
    set_trust(&world, "ai-pods", "vault");
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    assert_eq!(failed_links(&report), ["trust", "drift"]);
    assert!(message(&report, "trust").starts_with("aud mismatch"));
}

#[test]
fn role_deleted() {
    let world = onboarded();
    world.block_on(async {
        let iam = &world.klanker.iam;
        iam.detach_role_policy()
            .role_name(ROLE)
            .policy_arn(crate::support::OPERATOR_POLICY)
            .send()
            .await
            .expect("detach");
        iam.delete_role()
            .role_name(ROLE)
            .send()
            .await
            .expect("delete role");
    });
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    assert_eq!(failed_links(&report), ["role"]);
}

#[test]
fn service_account_missing() {
    let world = onboarded();
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    world
        .run(&AddArgs::cluster().yes().output("manifest"))
        .assert_ok();
    let (code, report, _) = verify(&world);
    assert_eq!(code, 4);
    assert_eq!(failed_links(&report), ["service-account", "token"]);
}

#[test]
fn policy_documents_are_accepted_by_iam() {
    let world = World::new();
    for target in ["klanker", "cluster"] {
        let out = world.run(&[
            "policy",
            "--for",
            target,
            "--klanker-account",
            "333333333333",
            "-o",
            "json",
        ]);
        out.assert_ok();
        let doc: Value = serde_json::from_str(&out.stdout).expect("raw policy JSON");
        assert_eq!(doc["Version"], "2012-10-17");
        // The context is named by the cluster ARN, so the cluster statement is exact.
        if target == "cluster" {
            assert_eq!(
                doc["Statement"][0]["Resource"],
                "arn:aws:eks:us-east-1:222222222222:cluster/dev-use1-0"
            );
        }
        world.block_on(async {
            world
                .klanker
                .iam
                .create_policy()
                .policy_name(format!("km-trust-{target}"))
                .policy_document(out.stdout.clone())
                .send()
                .await
                .expect("IAM accepts the printed policy")
        });
    }
    let text = world.run(&["policy"]);
    text.assert_ok();
    assert_contains!(text.stdout, "serviceaccounts/token");
    let bad = world.run(&["policy", "--klanker-account", "12"]);
    bad.assert_code(2);
}
