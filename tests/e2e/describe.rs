//! `describe NAME` end to end: the live state of one onboarding, read-only.

use serde_json::Value;

use crate::support::{AddArgs, CLUSTER, OPERATOR_POLICY, World};

const ROLE_ARN: &str = "arn:aws:iam::333333333333:role/km-cluster-dev-use1-0";

fn onboarded() -> World {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.clear_calls();
    world
}

#[test]
fn describe_shows_role_trust_policies_provider_and_service_account_and_writes_nothing() {
    let world = onboarded();
    let provider_arn = format!(
        "arn:aws:iam::333333333333:oidc-provider/{}",
        world.issuer_host_path()
    );
    let out = world.run(&["describe", CLUSTER]);
    out.assert_ok();
    let text = &out.stdout;
    for part in [
        "Role:              km-cluster-dev-use1-0\n".to_string(),
        format!("  ARN:             {ROLE_ARN}\n"),
        "  Max session:     3600s\n".to_string(),
        "    klanker-trust/name=dev-use1-0\n".to_string(),
        "  Trust policy:\n    {\n".to_string(),
        format!("\"Federated\": \"{provider_arn}\""),
        format!("  Attached policies:\n    {OPERATOR_POLICY}\n"),
        format!("OIDC provider:     {provider_arn}\n"),
        "  Created by this tool: yes\n".to_string(),
        "  Client IDs:      sts.amazonaws.com\n".to_string(),
        "  ai-pods/km\n    trusted subject: yes; created by this tool: yes\n".to_string(),
        format!("    eks.amazonaws.com/role-arn: {ROLE_ARN}\n"),
        "Drift:             none\n".to_string(),
    ] {
        assert!(text.contains(&part), "{part:?} missing:\n{text}");
    }

    let out = world.run(&["describe", CLUSTER, "-o", "json"]);
    out.assert_ok();
    let d: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(d["role"]["arn"], ROLE_ARN);
    assert_eq!(d["role"]["max_session_seconds"], 3600);
    assert_eq!(d["role"]["attached_policies"][0], OPERATOR_POLICY);
    assert_eq!(
        d["role"]["trust_policy"]["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    assert_eq!(d["oidc_provider"]["arn"], provider_arn.as_str());
    assert_eq!(d["oidc_provider"]["created_by_this_tool"], true);
    assert_eq!(d["service_accounts"][0]["namespace"], "ai-pods");
    assert_eq!(d["service_accounts"][0]["trusted_subject"], true);
    assert_eq!(d["drift"], serde_json::json!([]));
    let out = world.run(&["describe", CLUSTER, "-o", "yaml"]);
    out.assert_ok();
    let y: serde_yaml::Value = serde_yaml::from_str(&out.stdout).expect("YAML");
    assert_eq!(y["role"]["arn"].as_str(), Some(ROLE_ARN));

    assert_eq!(world.writes(), Vec::<String>::new(), "describe only reads");
}

#[test]
fn describe_reports_drift() {
    let world = onboarded();
    std::fs::remove_file(world.km_config()).unwrap();
    // A ServiceAccount that carries the role but is not the trusted subject.
    world.kube.add_namespace("other");
    world.kube.put_service_account(
        "other",
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "copy",
                "namespace": "other",
                "labels": {"app.kubernetes.io/managed-by": "kubectl-klanker-trust"},
                "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN},
            },
        }),
    );
    let out = world.run(&["describe", CLUSTER]);
    out.assert_ok();
    let (_, drift) = out
        .stdout
        .split_once("Drift:\n")
        .unwrap_or_else(|| panic!("no drift:\n{}", out.stdout));
    assert!(
        drift.contains("km-config.yaml has no entry `dev-use1-0`"),
        "{drift}"
    );
    assert!(drift.contains("other/copy"), "{drift}");
    assert!(
        out.stdout.contains("  other/copy\n    trusted subject: no"),
        "{}",
        out.stdout
    );
}

#[test]
fn describe_of_a_name_never_onboarded_says_so() {
    let world = onboarded();
    let out = world.run(&["describe", "dev-use1-1"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("`dev-use1-1` is not onboarded"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Did you mean `dev-use1-0`?"),
        "{}",
        out.stderr
    );
    let out = world.run(&["describe", "bad name"]);
    out.assert_code(2);
}
