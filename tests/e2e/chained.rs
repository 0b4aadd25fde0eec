//! `add --mode chained` end to end: role A in the cluster's account, role B
//! in the klanker account, the ServiceAccount and the ConfigMap, against
//! moto's two accounts and the real API server.

use serde_json::json;

use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{AddArgs, CLUSTER, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World};

const ROLE_A: &str = "km-irsa-dev-use1-0";
const ROLE_A_ARN: &str = "arn:aws:iam::222222222222:role/km-irsa-dev-use1-0";
const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

/// The same onboarding in mirror mode, applied.
fn mirror() -> AddArgs<'static> {
    AddArgs::cluster()
        .service_account("km")
        .arg("--dry-run=false")
}

/// `mirror()` in chained mode, with `extra` flags.
fn chained<'a>(extra: &[&'a str]) -> AddArgs<'a> {
    mirror().flag("--mode", "chained").args(extra)
}

const BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";

/// The two-account world, with role A's permissions boundary created in
/// the cluster's account (as `policy --for cluster-boundary` prints it).
fn chained_world() -> World {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.clear_calls();
    world
}

fn cluster_provider_arn(world: &World) -> String {
    format!(
        "arn:aws:iam::{CLUSTER_ACCOUNT}:oidc-provider/{}",
        world.issuer_host_path()
    )
}

/// The exact state chained mode leaves in both accounts and the cluster.
fn assert_chained_state(world: &World) {
    // Cluster account: its own provider, tagged ours, and role A trusting it.
    let providers = world.block_on(world.cluster.providers());
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0].arn, cluster_provider_arn(world));
    assert_eq!(providers[0].client_ids, ["sts.amazonaws.com"]);
    assert_eq!(
        providers[0]
            .tags
            .get("klanker-trust/managed-by")
            .map(String::as_str),
        Some("kubectl-klanker-trust")
    );
    let role_a = world.block_on(world.cluster.role(ROLE_A)).expect("role A");
    let host = world.issuer_host_path();
    assert_eq!(
        role_a.trust_policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": cluster_provider_arn(world)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{host}:sub"): "system:serviceaccount:ai-pods:km",
                    format!("{host}:aud"): "sts.amazonaws.com",
                }},
            }]
        })
    );
    assert!(role_a.attached.is_empty(), "{:?}", role_a.attached);
    assert_eq!(role_a.permissions_boundary.as_deref(), Some(BOUNDARY));
    assert_eq!(role_a.tags["klanker-trust/name"], CLUSTER);
    assert_eq!(
        role_a.tags["klanker-trust/managed-by"],
        "kubectl-klanker-trust"
    );
    assert_eq!(
        world.block_on(world.cluster.inline_policy(ROLE_A, "km-assume-klanker")),
        Some(json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]
        }))
    );
    // Klanker account: no provider, role B trusting role A by the condition form.
    assert!(world.block_on(world.klanker.providers()).is_empty());
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    assert_eq!(
        role_b.trust_policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{CLUSTER_ACCOUNT}:root")},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": ROLE_A_ARN}},
            }]
        })
    );
    assert_eq!(role_b.max_session, 3600);
    assert_eq!(
        role_b.attached,
        [format!(
            "arn:aws:iam::{KLANKER_ACCOUNT}:policy/km-operator-policy"
        )]
    );
    assert_eq!(role_b.tags["klanker-trust/name"], CLUSTER);
    // The cluster: the ServiceAccount names role A, the ConfigMap the chain.
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        ROLE_A_ARN
    );
    let cm = world
        .kube
        .config_map("ai-pods", "km-aws-config")
        .expect("ConfigMap");
    assert_eq!(
        cm["data"]["config"],
        format!(
            "[profile klanker]\nrole_arn = {ROLE_ARN}\nsource_profile = cluster\nrole_session_name = {CLUSTER}\n\n[profile cluster]\nrole_arn = {ROLE_A_ARN}\nweb_identity_token_file = {TOKEN_FILE}\n"
        )
    );
    // km-config.yaml: the existing keys, and the two of chained mode.
    let entry = &world.km_config_yaml()["clusters"][0];
    assert_eq!(entry["mode"].as_str(), Some("chained"));
    assert_eq!(entry["cluster_role_arn"].as_str(), Some(ROLE_A_ARN));
    assert_eq!(entry["role_arn"].as_str(), Some(ROLE_ARN));
    assert_eq!(entry["service_account"].as_str(), Some("km"));
    assert_eq!(
        entry["oidc_provider_arn"].as_str(),
        Some(cluster_provider_arn(world).as_str())
    );
}

#[test]
fn chained_mode_creates_both_roles_the_config_map_and_a_rerun_writes_nothing() {
    let world = chained_world();
    let out = world.run(&chained(&[]));
    out.assert_ok();
    assert_contains!(out.stdout, "chained mode");
    assert_contains!(out.stdout, "cluster IAM");
    assert_contains!(out.stdout, "AWS_PROFILE=klanker");
    // The walk of `verify`'s local links ran after applying, role B's included.
    assert_contains!(out.stdout, "Verifying the trust chain");
    assert_contains!(out.stdout, "assume-permission");
    assert_contains!(out.stdout, "config-map");
    assert_lacks!(out.stdout, "FAIL");
    assert_chained_state(&world);

    world.clear_calls();
    let again = world.run(&chained(&[]));
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", again.all());
    assert_chained_state(&world);
}

#[test]
fn the_modes_switch_both_ways_and_converge() {
    let world = chained_world();
    // Mirror first: the klanker account holds the provider.
    world.run(&mirror()).assert_ok();
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);

    // Mirror -> chained: the klanker provider (ours, unused) goes.
    let out = world.run(&chained(&[]));
    out.assert_ok();
    assert_chained_state(&world);
    world.clear_calls();
    world.run(&chained(&[])).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());

    // Chained -> mirror: role A, the cluster provider and the ConfigMap go.
    let back = world.run(&mirror());
    back.assert_ok();
    assert!(
        world.block_on(world.cluster.role(ROLE_A)).is_none(),
        "{}",
        back.all()
    );
    assert!(world.block_on(world.cluster.providers()).is_empty());
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_none());
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    assert_eq!(
        role_b.trust_policy["Statement"][0]["Principal"]["Federated"],
        format!(
            "arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{}",
            world.issuer_host_path()
        )
    );
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_ARN);
    let entry = &world.km_config_yaml()["clusters"][0];
    assert!(entry.get("mode").is_none(), "{entry:?}");
    assert!(entry.get("cluster_role_arn").is_none(), "{entry:?}");
    world.clear_calls();
    world.run(&mirror()).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn the_switch_to_chained_plans_what_pods_must_do_and_names_the_existing_role() {
    let world = chained_world();
    world.run(&mirror()).assert_ok();
    world.clear_calls();
    let dry = AddArgs::cluster()
        .service_account("km")
        .flag("--mode", "chained")
        .dry_run();
    let out = world.run(&dry);
    out.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    // Role B exists: only role A is created.
    assert!(!out.stdout.contains("would create role"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("role (exists): {ROLE_ARN}")),
        "{}",
        out.stdout
    );
    // The km-config entry had no cluster role: said, not left blank.
    assert!(
        out.stdout
            .contains(&format!("cluster_role_arn: (none) -> {ROLE_A_ARN}")),
        "{}",
        out.stdout
    );
    // Running pods: mount the ConfigMap, restart for the new annotation.
    assert!(
        out.stdout.contains(
            "Note: running pods in namespace `ai-pods` must mount ConfigMap `km-aws-config`"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Note: running pods of ServiceAccount `ai-pods/km` keep the role"),
        "{}",
        out.stdout
    );
    // A re-run in the same mode plans nothing, so says nothing of pods.
    let same = world.run(&AddArgs::cluster().service_account("km").dry_run());
    same.assert_ok();
    assert!(
        !same.stdout.contains("Note: running pods"),
        "{}",
        same.stdout
    );
}

#[test]
fn a_foreign_config_map_of_that_name_is_never_overwritten() {
    let world = chained_world();
    world.kube.admin(
        &[
            "create",
            "configmap",
            "km-aws-config",
            "-n",
            "ai-pods",
            "--from-literal=config=theirs",
        ],
        None,
    );
    let out = world.run(&chained(&[]));
    // Refused like any other plan the ownership rules stop.
    out.assert_code(1);
    assert_contains!(out.stderr, "ConfigMap ai-pods/km-aws-config already exists");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    let cm = world
        .kube
        .config_map("ai-pods", "km-aws-config")
        .expect("ConfigMap");
    assert_eq!(cm["data"]["config"], "theirs");
}

#[test]
fn the_manifest_holds_the_service_account_and_the_config_map() {
    let world = chained_world();
    let out = world.run(&chained(&["-o", "manifest"]));
    out.assert_ok();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&out.stdout)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
        .collect();
    assert_eq!(docs.len(), 2, "{}", out.stdout);
    assert_eq!(docs[0]["kind"].as_str(), Some("ServiceAccount"));
    assert_eq!(
        docs[0]["metadata"]["annotations"][ROLE_ARN_ANNOTATION].as_str(),
        Some(ROLE_A_ARN)
    );
    assert_eq!(docs[1]["kind"].as_str(), Some("ConfigMap"));
    assert_contains!(
        docs[1]["data"]["config"].as_str().unwrap_or_default(),
        TOKEN_FILE
    );
}

#[test]
fn chained_mode_without_a_cluster_account_identity_is_refused_before_any_call() {
    let world = chained_world();
    let out = world.run(
        &AddArgs::new()
            .name("other")
            .flag("--issuer-url", "https://issuer.example.com")
            .flag("--mode", "chained")
            .arg("--dry-run=false"),
    );
    out.assert_code(2);
    assert_contains!(out.stderr, "--cluster-profile");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_name_sts_would_refuse_as_role_b_session_name_is_refused_before_any_write() {
    // Role B is assumed with the onboarding's name as RoleSessionName, which
    // STS takes only at 2 to 64 characters: `a` would make a chain that
    // cannot be walked, and a 65-character name too (its roles named
    // explicitly, so that no role name limit speaks first).
    let world = chained_world();
    let long = "n".repeat(65);
    for name in ["a", long.as_str()] {
        let out = world.run(&AddArgs::new().name(name).args(&[
            "--namespace",
            "ai-pods",
            "--mode",
            "chained",
            "--role-name",
            "km-cluster-long",
            "--cluster-role-name",
            "km-irsa-long",
            "--dry-run=false",
        ]));
        out.assert_code(2);
        assert_contains!(out.stderr, "STS takes a session name of 2 to 64");
        assert_contains!(out.stderr, "--name");
        assert_eq!(world.writes(), Vec::<String>::new());
    }
    world.run(&chained(&[])).assert_ok();
}

#[test]
fn list_shows_the_mode_and_the_cluster_role() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let text = world.run(&["list"]);
    text.assert_ok();
    assert_contains!(text.stdout, "MODE");
    let row = text
        .stdout
        .lines()
        .find(|l| l.contains(CLUSTER))
        .unwrap_or_default()
        .to_string();
    assert_contains!(row, "chained");
    assert_contains!(row, "ai-pods/km");
    assert_lacks!(text.stdout, "MISSING");
    let wide = world.run(&["list", "-o", "wide"]);
    assert_contains!(wide.stdout, ROLE_A_ARN);
    let json = world.run(&["list", "-o", "json"]);
    json.assert_ok();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let row = &doc["clusters"][0];
    assert_eq!(row["mode"], "chained");
    assert_eq!(row["cluster_role_arn"], ROLE_A_ARN);
    assert_eq!(row["namespace"], "ai-pods");
    assert_eq!(row["service_account"], "km");
}

#[test]
fn rm_removes_both_roles_the_cluster_provider_and_the_config_map() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    // A role of someone else's trusting nothing of ours stays.
    world.block_on(world.cluster.create_foreign_role("someone-elses"));
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert!(
        world.block_on(world.klanker.role(ROLE)).is_none(),
        "{}",
        out.all()
    );
    assert!(
        world.block_on(world.cluster.role(ROLE_A)).is_none(),
        "{}",
        out.all()
    );
    assert!(
        world
            .block_on(world.cluster.role("someone-elses"))
            .is_some()
    );
    assert!(
        world.block_on(world.cluster.providers()).is_empty(),
        "{}",
        out.all()
    );
    assert!(
        world.kube.config_map("ai-pods", "km-aws-config").is_none(),
        "{}",
        out.all()
    );
    assert!(
        world.kube.service_account("ai-pods", "km").is_none(),
        "{}",
        out.all()
    );
    assert!(
        world.km_config_yaml()["clusters"]
            .as_sequence()
            .is_none_or(|s| s.is_empty())
    );
    // Nothing is left to remove.
    world.clear_calls();
    world
        .run(&["rm", CLUSTER, "--yes", "--ignore-not-found"])
        .assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Issue 22, item 11: the ConfigMap's name (`--config-map-name`) lives
/// only in role B's tags, which the first, cut-off `rm` removed; the
/// pending mark keeps it, so the `rm` that finishes removes that ConfigMap
/// and no other.
#[test]
fn a_pending_rm_finishes_with_the_config_map_of_its_recorded_name() {
    use crate::support::kube::KubeFault;
    let world = chained_world();
    world
        .run(&chained(&["--config-map-name", "team-aws"]))
        .assert_ok();
    assert!(world.kube.config_map("ai-pods", "team-aws").is_some());
    for method in ["GET", "PATCH", "POST", "PUT", "DELETE"] {
        world.kube.inject(method, "/", KubeFault::Drop, usize::MAX);
    }
    world.run(&["rm", CLUSTER, "--yes"]).assert_code(3);
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    world.kube.clear_faults();

    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert!(
        world.kube.config_map("ai-pods", "team-aws").is_none(),
        "{}",
        out.all()
    );
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(
        world.km_config_yaml()["clusters"]
            .as_sequence()
            .is_none_or(|s| s.is_empty())
    );
}

/// Issue 22, item 4: drift is judged against what the tool writes for
/// the recorded intent in every mode. A clean chained onboarding shows
/// none; role B re-pointed at another account's root is drift, and the
/// printed fix keeps chained mode and converges back.
#[test]
fn list_judges_chained_drift_by_the_recorded_intent_and_its_fix_converges() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let clean = world.run(&["list", "-o", "json"]);
    clean.assert_ok();
    let listing: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(listing["drift"], json!([]), "{listing}");

    let mut trust = world
        .block_on(world.klanker.role(ROLE))
        .unwrap()
        .trust_policy;
    trust["Statement"][0]["Principal"]["AWS"] = json!("arn:aws:iam::444444444444:root");
    world.block_on(world.klanker.set_trust(ROLE, &trust));
    let out = world.run(&["list"]);
    out.assert_ok();
    assert_contains!(out.stdout, "changed by hand");
    assert_contains!(out.stdout, "444444444444");
    let fix = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("fix: "))
        .and_then(|l| l.strip_suffix(" (from that cluster's context) rewrites it"))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_string();
    assert_contains!(fix, "--mode chained");
    // describe and verify judge it the same way.
    let described = world.run(&["describe", CLUSTER]);
    assert_contains!(described.stdout, "changed by hand");
    assert_lacks!(described.stdout, "Drift:             none");
    let verified = world.run(&["verify", CLUSTER]);
    verified.assert_code(4);
    assert_contains!(verified.all(), "444444444444");
    // The printed command, run as printed (it asks; --yes answers), puts
    // back exactly the chained state.
    let words: Vec<String> = fix
        .strip_prefix("kubectl klanker-trust ")
        .unwrap()
        .split(' ')
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
    args.push("--yes");
    world.run(&args).assert_ok();
    assert_chained_state(&world);
    let listing: serde_json::Value =
        serde_json::from_str(&world.run(&["list", "-o", "json"]).stdout).unwrap();
    assert_eq!(listing["drift"], json!([]), "{listing}");
}

/// Issue 22, item 4: role A's trust widened to every ServiceAccount of the
/// cluster still admits the recorded one, so the chain works; verify
/// fails it as drift all the same, with the add that writes it back.
#[test]
fn verify_fails_role_a_widened_by_hand_and_its_fix_converges() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let mut trust = world
        .block_on(world.cluster.role(ROLE_A))
        .unwrap()
        .trust_policy;
    let key = format!("{}:sub", world.issuer_host_path());
    let condition = trust["Statement"][0]["Condition"].take();
    let mut like = condition["StringEquals"].clone();
    like[&key] = json!("system:serviceaccount:*:*");
    trust["Statement"][0]["Condition"] = json!({"StringLike": like});
    world.block_on(world.cluster.set_trust(ROLE_A, &trust));
    let out = world.run(&["verify", CLUSTER]);
    out.assert_code(4);
    assert_contains!(out.stdout, "in the cluster's account was changed by hand");
    assert_contains!(out.stdout, "system:serviceaccount:*:*");
    assert_contains!(out.all(), "--mode chained");
    world.run(&chained(&[])).assert_ok();
    assert_chained_state(&world);
    world.run(&["verify", CLUSTER]).assert_ok();
}

#[test]
fn rm_keeps_the_cluster_provider_another_role_trusts() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    // Another role in the cluster's account trusts the provider the tool created.
    let provider = cluster_provider_arn(&world);
    world.block_on(async {
        world
            .cluster
            .iam
            .create_role()
            .role_name("app-irsa")
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}]})
                .to_string(),
            )
            .send()
            .await
            .expect("create role")
    });
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert_contains!(out.all(), "still trusted by app-irsa");
    assert_eq!(world.block_on(world.cluster.providers()).len(), 1);
    assert!(world.block_on(world.cluster.role(ROLE_A)).is_none());
}

fn verify_json(world: &World) -> (crate::support::Outcome, serde_json::Value) {
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, doc)
}

fn link<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["link"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

#[test]
fn verify_walks_token_role_a_and_role_b() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let (out, doc) = verify_json(&world);
    out.assert_ok();
    for name in [
        "service-account",
        "token",
        "role",
        "issuer",
        "provider",
        "trust",
        "assume-permission",
        "klanker-role",
        "klanker-trust",
        "policy",
        "config-map",
        "assume",
        "assume-chain",
    ] {
        assert_eq!(link(&doc, name)["status"], "OK", "{name}: {}", out.all());
    }
    assert_contains!(
        link(&doc, "assume-chain")["message"]
            .as_str()
            .unwrap_or_default(),
        ROLE
    );
}

#[test]
fn verify_names_each_broken_link_of_the_chain() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();

    // Role A may no longer assume role B.
    world.block_on(async {
        world
            .cluster
            .iam
            .put_role_policy()
            .role_name(ROLE_A)
            .policy_name("km-assume-klanker")
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Resource": "arn:aws:iam::333333333333:role/other"}]})
                .to_string(),
            )
            .send()
            .await
            .expect("put policy")
    });
    let (out, doc) = verify_json(&world);
    out.assert_code(4);
    assert_eq!(
        link(&doc, "assume-permission")["status"],
        "FAIL",
        "{}",
        out.all()
    );
    assert_eq!(link(&doc, "klanker-trust")["status"], "OK");
    assert_eq!(link(&doc, "assume-chain")["status"], "WARN");
    world.run(&chained(&[])).assert_ok();

    // Role B trusts another role of the cluster's account.
    world.block_on(async {
        world
            .klanker
            .iam
            .update_assume_role_policy()
            .role_name(ROLE)
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "sts:AssumeRole",
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/km-irsa-other"}}}]})
                .to_string(),
            )
            .send()
            .await
            .expect("update trust")
    });
    let (out, doc) = verify_json(&world);
    out.assert_code(4);
    assert_eq!(
        link(&doc, "klanker-trust")["status"],
        "FAIL",
        "{}",
        out.all()
    );
    assert_contains!(
        link(&doc, "klanker-trust")["message"]
            .as_str()
            .unwrap_or_default(),
        "km-irsa-other"
    );
    world.run(&chained(&[])).assert_ok();

    // The ConfigMap points the klanker profile elsewhere.
    world.kube.admin(
        &["patch", "configmap", "km-aws-config", "-n", "ai-pods", "--type=merge", "-p",
          r#"{"data":{"config":"[profile klanker]\nrole_arn = arn:aws:iam::333333333333:role/x\nsource_profile = cluster\n"}}"#],
        None,
    );
    let (out, doc) = verify_json(&world);
    out.assert_code(4);
    assert_eq!(link(&doc, "config-map")["status"], "FAIL", "{}", out.all());
    assert_contains!(
        link(&doc, "config-map")["message"]
            .as_str()
            .unwrap_or_default(),
        "profile klanker role_arn is arn:aws:iam::333333333333:role/x"
    );
}

/// The ConfigMap's `config`, read by a real SDK (botocore), resolves
/// profile `klanker` to role B through role A with the pod's token.
#[test]
fn a_real_sdk_reading_the_config_map_assumes_role_b_through_role_a() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let cm = world
        .kube
        .config_map("ai-pods", "km-aws-config")
        .expect("ConfigMap");
    let config = world.path("pod-aws-config");
    std::fs::write(&config, cm["data"]["config"].as_str().unwrap_or_default()).expect("config");
    let token = world.kube.admin(
        &[
            "create",
            "token",
            "km",
            "-n",
            "ai-pods",
            "--audience",
            "sts.amazonaws.com",
        ],
        None,
    );
    let token_file = world.path("pod-token");
    std::fs::write(&token_file, token.trim()).expect("token");
    world.clear_calls();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/sdk_chain.py");
    let out = std::process::Command::new(crate::support::moto::python())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", world.dir.path())
        .env("AWS_ENDPOINT_URL", world.moto.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([script])
        .arg(&config)
        .arg("klanker")
        .arg(&token_file)
        .output()
        .expect("run botocore");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(who["account"], KLANKER_ACCOUNT);
    assert_contains!(
        who["arn"].as_str().unwrap_or_default(),
        format!("assumed-role/{ROLE}/{CLUSTER}")
    );

    // The SDK's own calls, in order: the token for role A, then role B from role A's session.
    let calls: Vec<(String, String)> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action.starts_with("AssumeRole"))
        .map(|c| {
            (
                c.action,
                c.params.get("RoleArn").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            (
                "AssumeRoleWithWebIdentity".to_string(),
                ROLE_A_ARN.to_string()
            ),
            ("AssumeRole".to_string(), ROLE_ARN.to_string()),
        ]
    );
}

/// Nothing of the onboarding is left in either account, the cluster or km-config.yaml.
fn assert_chained_clean(world: &World) {
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(world.block_on(world.cluster.role(ROLE_A)).is_none());
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(world.block_on(world.cluster.providers()).is_empty());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_none());
    assert!(
        world.km_config_yaml()["clusters"]
            .as_sequence()
            .is_none_or(|s| s.is_empty())
    );
}

#[test]
fn a_persistent_fault_on_each_write_in_either_account_converges_on_rerun() {
    use crate::support::kube::KubeFault;
    let world = chained_world();
    let add = chained(&[]);
    let rm = ["rm", CLUSTER, "--yes"];
    let iam_faults = [
        "CreateOpenIDConnectProvider",
        "CreateRole",
        "PutRolePolicy",
        "AttachRolePolicy",
    ];
    for action in iam_faults {
        for then_rm in [false, true] {
            world
                .moto
                .inject(json!([{"action": action, "fault": "internal", "count": 100}]));
            let out = world.run(&add);
            out.assert_code(3);
            assert_contains!(out.stderr, "Re-running `kubectl klanker-trust add`");
            world.moto.clear_faults();
            if then_rm {
                // rm right after the failure removes what the run had created.
                world.run(&rm).assert_ok();
                assert_chained_clean(&world);
            } else {
                world.run(&add).assert_ok();
                assert_chained_state(&world);
                world.run(&rm).assert_ok();
                assert_chained_clean(&world);
            }
        }
    }
    for path in ["/serviceaccounts/km", "/configmaps/km-aws-config"] {
        world
            .kube
            .inject("PATCH", path, KubeFault::Status(500), 100);
        let out = world.run(&add);
        out.assert_code(3);
        world.kube.clear_faults();
        world.run(&add).assert_ok();
        assert_chained_state(&world);
        world.clear_calls();
        world.run(&add).assert_ok();
        assert_eq!(world.writes(), Vec::<String>::new());
        world.run(&rm).assert_ok();
        assert_chained_clean(&world);
    }
}

#[test]
fn a_missing_boundary_is_refused_before_any_write() {
    let world = World::new();
    let out = world.run(&chained(&[]));
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        "permissions boundary arn:aws:iam::222222222222:policy/km-irsa-boundary does not exist"
    );
    assert_contains!(out.stderr, "policy --for cluster-boundary --mode chained");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    // A boundary of another account is refused too.
    let out = world.run(&chained(&[
        "--cluster-permissions-boundary",
        "arn:aws:iam::333333333333:policy/km-irsa-boundary",
    ]));
    out.assert_code(2);
    assert_contains!(
        out.stderr,
        "is not a policy of the cluster's account 222222222222"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn describe_names_the_mode_and_both_roles() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let out = world.run(&["describe", CLUSTER]);
    out.assert_ok();
    assert_contains!(out.stdout, "Mode:              chained");
    assert_contains!(out.stdout, format!("Cluster role:      {ROLE_A_ARN}"));
    // The ServiceAccount names role A: that is no drift in chained mode.
    assert_lacks!(out.stdout, "annotated with another role");
}

#[test]
fn the_clusters_own_provider_is_reused_and_never_removed_and_register_false_requires_it() {
    let world = chained_world();
    let out = world.run(&chained(&["--register-oidc-provider", "false"]));
    out.assert_code(1);
    assert_contains!(out.stderr, "exists in the cluster's account");
    assert_eq!(world.writes(), Vec::<String>::new());

    // As `eksctl utils associate-iam-oidc-provider` leaves it: not ours.
    let issuer = world.issuer.clone();
    let arn = world.block_on(
        world
            .cluster
            .create_provider(&issuer, &["sts.amazonaws.com"]),
    );
    world.clear_calls();
    let out = world.run(&chained(&["--register-oidc-provider", "false"]));
    out.assert_ok();
    assert_contains!(out.stderr, format!("reusing {arn}"));
    assert!(
        !world
            .writes()
            .iter()
            .any(|w| w.contains("OpenIDConnectProvider")),
        "{:?}",
        world.writes()
    );
    let role_a = world.block_on(world.cluster.role(ROLE_A)).expect("role A");
    assert_eq!(
        role_a.trust_policy["Statement"][0]["Principal"]["Federated"],
        arn
    );
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert_contains!(
        out.all(),
        "was not created by this tool: it is never deleted"
    );
    let providers = world.block_on(world.cluster.providers());
    assert_eq!(providers.len(), 1);
    assert!(providers[0].tags.is_empty(), "{providers:?}");
}

#[test]
fn an_evaluator_admits_only_the_listed_service_accounts_to_role_a_and_only_role_a_to_role_b() {
    let world = chained_world();
    let out = world.run(
        // chained() names `km`; a second one in another namespace.
        &chained(&["--service-account", "ci:deployer", "--create-namespace"]),
    );
    out.assert_ok();
    // Both ServiceAccounts are annotated with role A; role A trusts both;
    // each namespace has the ConfigMap its pods mount.
    for (ns, name) in [("ai-pods", "km"), ("ci", "deployer")] {
        let sa = world
            .kube
            .service_account(ns, name)
            .expect("ServiceAccount");
        assert_eq!(
            sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_A_ARN,
            "{ns}/{name}"
        );
        let cm = world
            .kube
            .config_map(ns, "km-aws-config")
            .expect("ConfigMap");
        assert_contains!(
            cm["data"]["config"].as_str().unwrap_or_default(),
            ROLE_A_ARN
        );
    }
    let host = world.issuer_host_path();
    let role_a = world.block_on(world.cluster.role(ROLE_A)).expect("role A");
    let web = |name: &str, sub: &str, aud: &str| {
        json!({"name": name, "action": "sts:AssumeRoleWithWebIdentity",
            "principal": {"federated": cluster_provider_arn(&world)},
            "conditions": {format!("{host}:sub"): sub, format!("{host}:aud"): aud}})
    };
    let verdicts = world.evaluate(
        "trust_check.py",
        &role_a.trust_policy,
        &json!({"resource": ROLE_A_ARN, "cases": [
            web("listed km", "system:serviceaccount:ai-pods:km", "sts.amazonaws.com"),
            web("listed ci/deployer", "system:serviceaccount:ci:deployer", "sts.amazonaws.com"),
            web("unlisted in the namespace", "system:serviceaccount:ai-pods:intruder", "sts.amazonaws.com"),
            web("the name in another namespace", "system:serviceaccount:other:km", "sts.amazonaws.com"),
            web("another audience", "system:serviceaccount:ai-pods:km", "other"),
        ]}),
    );
    assert_eq!(
        verdicts,
        [
            ("listed km".to_string(), true),
            ("listed ci/deployer".to_string(), true),
            ("unlisted in the namespace".to_string(), false),
            ("the name in another namespace".to_string(), false),
            ("another audience".to_string(), false),
        ]
    );

    // Role B: only role A, by the aws:PrincipalArn IAM sets for the caller.
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    let caller = |name: &str, arn: &str| {
        json!({"name": name, "action": "sts:AssumeRole", "principal": {"aws": arn},
            "conditions": {"aws:PrincipalArn": arn}})
    };
    let verdicts = world.evaluate(
        "trust_check.py",
        &role_b.trust_policy,
        &json!({"resource": ROLE_ARN, "cases": [
            caller("role A", ROLE_A_ARN),
            caller("another role of the cluster's account", "arn:aws:iam::222222222222:role/km-irsa-other"),
            caller("a user of the cluster's account", "arn:aws:iam::222222222222:user/admin"),
            caller("role A's name in another account", "arn:aws:iam::444444444444:role/km-irsa-dev-use1-0"),
        ]}),
    );
    assert_eq!(
        verdicts,
        [
            ("role A".to_string(), true),
            ("another role of the cluster's account".to_string(), false),
            ("a user of the cluster's account".to_string(), false),
            ("role A's name in another account".to_string(), false),
        ]
    );

    // Role A's own permission: assuming role B, nothing else.
    let inline = world
        .block_on(world.cluster.inline_policy(ROLE_A, "km-assume-klanker"))
        .expect("inline policy");
    let call = |name: &str, action: &str, resource: &str| json!({"name": name, "action": action, "resource": resource, "conditions": {}});
    let verdicts = world.evaluate(
        "policy_check.py",
        &inline,
        &json!({"principal": ROLE_A_ARN, "cases": [
            call("assume role B", "sts:AssumeRole", ROLE_ARN),
            call("assume another klanker role", "sts:AssumeRole", "arn:aws:iam::333333333333:role/km-cluster-other"),
            call("assume a role of its own account", "sts:AssumeRole", "arn:aws:iam::222222222222:role/admin"),
            call("write IAM", "iam:CreateRole", "arn:aws:iam::222222222222:role/x"),
        ]}),
    );
    assert_eq!(
        verdicts,
        [
            ("assume role B".to_string(), true),
            ("assume another klanker role".to_string(), false),
            ("assume a role of its own account".to_string(), false),
            ("write IAM".to_string(), false),
        ]
    );

    // verify walks each ServiceAccount's chain.
    let (out, doc) = verify_json(&world);
    out.assert_ok();
    let chains: Vec<&serde_json::Value> = doc["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["link"] == "assume-chain")
        .collect();
    assert_eq!(chains.len(), 2, "{}", out.all());
    assert!(chains.iter().all(|c| c["status"] == "OK"), "{}", out.all());
    // Dropping one converges: it is deleted (created by this tool), role A trusts the other alone.
    world.run(&chained(&[])).assert_ok();
    assert!(world.kube.service_account("ci", "deployer").is_none());
    assert!(world.kube.config_map("ci", "km-aws-config").is_none());
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_some());
    let role_a = world.block_on(world.cluster.role(ROLE_A)).expect("role A");
    assert_eq!(
        role_a.trust_policy["Statement"][0]["Condition"]["StringEquals"][format!("{host}:sub")],
        "system:serviceaccount:ai-pods:km"
    );
}

#[test]
fn another_onboardings_config_map_in_the_namespace_is_never_taken_over() {
    let world = chained_world();
    world.run(&chained(&[])).assert_ok();
    let other = |extra: &[&str]| {
        world.run(
            &AddArgs::new()
                .name("other")
                .namespace("ai-pods")
                .service_account("other-sa")
                .flag("--mode", "chained")
                .arg("--dry-run=false")
                .args(extra),
        )
    };
    world.clear_calls();
    let out = other(&[]);
    out.assert_code(1);
    assert_contains!(out.stderr, "ConfigMap ai-pods/km-aws-config already exists");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    // Its own ConfigMap name works, and dev-use1-0's stays as it was.
    other(&["--config-map-name", "km-aws-config-other"]).assert_ok();
    assert_chained_state(&world);
    let cm = world
        .kube
        .config_map("ai-pods", "km-aws-config-other")
        .expect("ConfigMap");
    assert_contains!(
        cm["data"]["config"].as_str().unwrap_or_default(),
        "role/km-irsa-other"
    );
    // rm of one leaves the other's ConfigMap and the shared cluster provider alone.
    world.run(&["rm", "other", "--yes"]).assert_ok();
    assert_chained_state(&world);
    assert!(
        world
            .kube
            .config_map("ai-pods", "km-aws-config-other")
            .is_none()
    );
}
