//! Several ServiceAccounts in one trust (issue 13), end to end: the exact
//! trust document in moto, every ServiceAccount in the cluster, the
//! km-config.yaml entry, convergence when one is dropped, the size limit,
//! and list / rm / verify / describe with several. Who the trust admits is
//! judged by principalmapper (tests/support/trust_check.py), not by this code.

use serde_json::{Value, json};

use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::kube::KubeFault;
use crate::support::{AddArgs, CLUSTER, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World};

const CREATED_BY: &str = "klanker-trust/created-by";

/// `add --name CLUSTER --namespace ai-pods` with one `--service-account` per item, applied.
fn add_several(world: &World, accounts: &[&str], extra: &[&str]) -> crate::support::Outcome {
    let mut args = vec!["--yes"];
    for sa in accounts {
        args.extend(["--service-account", sa]);
    }
    args.extend_from_slice(extra);
    world.add(&args)
}

fn provider_arn(world: &World) -> String {
    format!(
        "arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{}",
        world.issuer_host_path()
    )
}

fn trust_of(world: &World) -> Value {
    world
        .block_on(world.klanker.role(ROLE))
        .expect("role exists")
        .trust_policy
}

#[track_caller]
fn assert_annotated(world: &World, ns: &str, name: &str, created_by_us: bool) {
    let sa = world
        .kube
        .service_account(ns, name)
        .unwrap_or_else(|| panic!("ServiceAccount {ns}/{name} missing"));
    let annotations = &sa["metadata"]["annotations"];
    assert_eq!(
        annotations[ROLE_ARN_ANNOTATION], ROLE_ARN,
        "{ns}/{name}: {sa}"
    );
    assert_eq!(
        annotations["eks.amazonaws.com/token-expiration"], "3600",
        "{ns}/{name}: {sa}"
    );
    assert_eq!(
        annotations.get(CREATED_BY).is_some(),
        created_by_us,
        "{ns}/{name}: {sa}"
    );
}

#[track_caller]
fn assert_not_annotated(world: &World, ns: &str, name: &str) {
    let sa = world
        .kube
        .service_account(ns, name)
        .unwrap_or_else(|| panic!("ServiceAccount {ns}/{name} missing"));
    assert!(
        sa["metadata"]["annotations"]
            .get(ROLE_ARN_ANNOTATION)
            .is_none(),
        "{sa}"
    );
}

/// principalmapper's verdict on each case, by name.
fn trust_verdicts(
    world: &World,
    trust: &Value,
    cases: &[(&str, &str, &str)],
) -> Vec<(String, bool)> {
    let host = world.issuer_host_path();
    let request = json!({
        "resource": ROLE_ARN,
        "cases": cases.iter().map(|(name, sub, aud)| json!({
            "name": name,
            "action": "sts:AssumeRoleWithWebIdentity",
            "principal": {"federated": provider_arn(world)},
            "conditions": {format!("{host}:sub"): sub, format!("{host}:aud"): aud},
        })).collect::<Vec<_>>(),
    });
    world.evaluate("trust_check.py", trust, &request)
}

#[test]
fn several_service_accounts_are_one_trust_each_applied_and_listed_in_the_entry() {
    let world = World::new();
    world.kube.put_service_account(
        "ai-pods",
        json!({"metadata": {"name": "repo-server", "labels": {"team": "argo"}}}),
    );
    // ci does not exist: --create-namespace creates it, once.
    let out = add_several(
        &world,
        &["server", "repo-server", "ci:deployer", "ci:builder"],
        &["--create-namespace"],
    );
    out.assert_ok();
    assert_contains!(
        out.stdout,
        "trust system:serviceaccount:ai-pods:server, system:serviceaccount:ai-pods:repo-server, system:serviceaccount:ci:deployer, system:serviceaccount:ci:builder"
    );
    assert_eq!(
        out.stdout.matches("create    namespace ci").count(),
        1,
        "{}",
        out.stdout
    );
    // add's own verification: a token for each ServiceAccount, the shared links once.
    for sub in [
        "ai-pods:server",
        "ai-pods:repo-server",
        "ci:deployer",
        "ci:builder",
    ] {
        assert_contains!(
            out.stdout,
            &format!("TokenRequest issued a token for system:serviceaccount:{sub}")
        );
    }
    assert_eq!(
        out.stdout.matches("OK   role ").count(),
        1,
        "{}",
        out.stdout
    );
    assert_contains!(out.stdout, "The trust chain works.");

    // The exact trust: one statement, a StringEquals list in flag order.
    let host = world.issuer_host_path();
    let trust = trust_of(&world);
    assert_eq!(
        trust,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn(&world)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{host}:sub"): [
                        "system:serviceaccount:ai-pods:server",
                        "system:serviceaccount:ai-pods:repo-server",
                        "system:serviceaccount:ci:deployer",
                        "system:serviceaccount:ci:builder"
                    ],
                    format!("{host}:aud"): "sts.amazonaws.com",
                }},
            }]
        })
    );
    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    assert_eq!(
        role.description,
        "Managed by kubectl-klanker-trust: IRSA trust for cluster dev-use1-0 (ai-pods/server +3 more); provider created by this tool"
    );

    // Every ServiceAccount: annotated; created-by only on those we created.
    assert_annotated(&world, "ai-pods", "server", true);
    assert_annotated(&world, "ai-pods", "repo-server", false);
    assert_annotated(&world, "ci", "deployer", true);
    assert_annotated(&world, "ci", "builder", true);
    let pre = world
        .kube
        .service_account("ai-pods", "repo-server")
        .unwrap();
    assert_eq!(pre["metadata"]["labels"]["team"], "argo");

    // km-config.yaml: the first as today, plus the list.
    let expected: serde_yaml::Value = serde_yaml::from_str(&format!(
        "clusters:\n- name: dev-use1-0\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/{host}\n  namespace: ai-pods\n  service_account: server\n  role_arn: {ROLE_ARN}\n  service_accounts:\n  - ai-pods:server\n  - ai-pods:repo-server\n  - ci:deployer\n  - ci:builder\n"
    ))
    .unwrap();
    assert_eq!(world.km_config_yaml(), expected);

    // A re-run writes nothing anywhere.
    world.clear_calls();
    let again = add_several(
        &world,
        &["server", "repo-server", "ci:deployer", "ci:builder"],
        &["--create-namespace"],
    );
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_contains!(again.stdout, "No changes");

    // principalmapper on the trust moto holds: each listed ServiceAccount
    // is admitted; another in the same namespace, one of the same name in
    // another namespace, and a wrong audience are not.
    let aud = "sts.amazonaws.com";
    let verdicts = trust_verdicts(
        &world,
        &trust,
        &[
            ("server", "system:serviceaccount:ai-pods:server", aud),
            (
                "repo-server",
                "system:serviceaccount:ai-pods:repo-server",
                aud,
            ),
            ("deployer", "system:serviceaccount:ci:deployer", aud),
            ("builder", "system:serviceaccount:ci:builder", aud),
            ("unlisted-same-ns", "system:serviceaccount:ai-pods:km", aud),
            (
                "listed-name-other-ns",
                "system:serviceaccount:other:server",
                aud,
            ),
            ("unlisted-other-ns", "system:serviceaccount:ci:server", aud),
            (
                "wrong-aud",
                "system:serviceaccount:ai-pods:server",
                "other.example",
            ),
        ],
    );
    let expected: Vec<(String, bool)> = [
        ("server", true),
        ("repo-server", true),
        ("deployer", true),
        ("builder", true),
        ("unlisted-same-ns", false),
        ("listed-name-other-ns", false),
        ("unlisted-other-ns", false),
        ("wrong-aud", false),
    ]
    .iter()
    .map(|(n, a)| (n.to_string(), *a))
    .collect();
    assert_eq!(verdicts, expected);
}

#[test]
fn exact_and_wildcard_subjects_are_separate_statements_the_evaluator_agrees_with() {
    let world = World::new();
    // The pattern first: add's own verification still asks a token for `server`.
    let out = add_several(&world, &["ci-*", "server"], &["--allow-wide-trust"]);
    out.assert_ok();
    assert_contains!(out.stdout, "The trust chain works.");
    assert_contains!(
        out.stdout,
        "TokenRequest issued a token for system:serviceaccount:ai-pods:server"
    );
    assert_contains!(
        out.stdout,
        "EVERY matching ServiceAccount in namespace ai-pods"
    );
    let host = world.issuer_host_path();
    let trust = trust_of(&world);
    let statements = trust["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 2, "{trust}");
    assert_eq!(
        statements[0]["Condition"],
        json!({"StringEquals": {
            format!("{host}:sub"): "system:serviceaccount:ai-pods:server",
            format!("{host}:aud"): "sts.amazonaws.com"}})
    );
    assert_eq!(
        statements[1]["Condition"],
        json!({"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
               "StringLike": {format!("{host}:sub"): "system:serviceaccount:ai-pods:ci-*"}})
    );
    // Only the named one is applied.
    assert_annotated(&world, "ai-pods", "server", true);
    assert!(world.kube.service_account("ai-pods", "ci-*").is_none());
    let aud = "sts.amazonaws.com";
    let verdicts = trust_verdicts(
        &world,
        &trust,
        &[
            ("server", "system:serviceaccount:ai-pods:server", aud),
            ("ci-match", "system:serviceaccount:ai-pods:ci-runner", aud),
            ("ci-other-ns", "system:serviceaccount:other:ci-runner", aud),
            (
                "wrong-aud-wild",
                "system:serviceaccount:ai-pods:ci-runner",
                "x",
            ),
        ],
    );
    assert_eq!(
        verdicts,
        [
            ("server".to_string(), true),
            ("ci-match".to_string(), true),
            ("ci-other-ns".to_string(), false),
            ("wrong-aud-wild".to_string(), false),
        ]
    );
}

#[test]
fn dropping_service_accounts_converges_deleting_ours_and_releasing_a_pre_existing_one() {
    let world = World::new();
    world.kube.add_namespace("ci");
    world.kube.put_service_account(
        "ai-pods",
        json!({"metadata": {"name": "pre", "labels": {"team": "ml"}}}),
    );
    add_several(&world, &["km", "pre", "ci:c"], &[]).assert_ok();
    assert_annotated(&world, "ai-pods", "pre", false);
    assert_annotated(&world, "ci", "c", true);

    // Back to one: the trust, the entry and the ServiceAccounts converge.
    let out = add_several(&world, &["km"], &[]);
    out.assert_ok();
    assert_contains!(out.stdout, "stops trusting ServiceAccount ai-pods/pre");
    assert_contains!(
        out.stdout,
        "done: ServiceAccount ci/c (created by this tool; no longer trusted)"
    );
    let host = world.issuer_host_path();
    assert_eq!(
        trust_of(&world)["Statement"][0]["Condition"],
        json!({"StringEquals": {
            format!("{host}:sub"): "system:serviceaccount:ai-pods:km",
            format!("{host}:aud"): "sts.amazonaws.com"}})
    );
    assert!(
        world.kube.service_account("ci", "c").is_none(),
        "ours: deleted"
    );
    assert_not_annotated(&world, "ai-pods", "pre");
    let pre = world.kube.service_account("ai-pods", "pre").unwrap();
    assert_eq!(pre["metadata"]["labels"]["team"], "ml", "{pre}");
    assert_annotated(&world, "ai-pods", "km", true);
    // The entry is exactly a single one again, as the km tool knows it.
    let expected: serde_yaml::Value = serde_yaml::from_str(&format!(
        "clusters:\n- name: dev-use1-0\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/{host}\n  namespace: ai-pods\n  service_account: km\n  role_arn: {ROLE_ARN}\n"
    ))
    .unwrap();
    assert_eq!(world.km_config_yaml(), expected);
    assert_eq!(
        world
            .block_on(world.klanker.role(ROLE))
            .unwrap()
            .description,
        "Managed by kubectl-klanker-trust: IRSA trust for cluster dev-use1-0 (ai-pods/km); provider created by this tool"
    );

    world.clear_calls();
    add_several(&world, &["km"], &[]).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_trust_over_the_size_limit_is_refused_before_any_write() {
    let world = World::new();
    let names: Vec<String> = (0..60).map(|i| format!("workload-{i:02}")).collect();
    let accounts: Vec<&str> = names.iter().map(String::as_str).collect();
    world.clear_calls();
    let out = add_several(&world, &accounts, &[]);
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        "the trust policy for 60 ServiceAccounts would be "
    );
    assert_contains!(
        out.stderr,
        "over the role trust policy quota 2048 (applied)"
    );
    assert_contains!(out.stderr, "--max-trust-policy-size");
    assert_contains!(out.stderr, "Nothing was changed");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(
        world
            .kube
            .service_account("ai-pods", "workload-00")
            .is_none()
    );
    assert!(!world.km_config().exists());
    // After a quota increase, the same trust fits.
    add_several(&world, &accounts[..3], &["--max-trust-policy-size", "4096"]).assert_ok();
}

#[test]
fn namespace_name_with_a_wildcard_namespace_and_repeats_are_refused_locally() {
    let world = World::new();
    let out = world.run(
        &AddArgs::new()
            .name(CLUSTER)
            .namespace("*")
            .service_account("ci:km")
            .yes(),
    );
    out.assert_code(2);
    assert_contains!(out.stderr, "--namespace '*' already trusts every namespace");
    let out = add_several(&world, &["km", "ai-pods:km"], &[]);
    out.assert_code(2);
    assert_contains!(out.stderr, "system:serviceaccount:ai-pods:km again");
    assert_eq!(world.writes(), Vec::<String>::new());
}

fn list_json(world: &World) -> Value {
    let out = world.run(&["list", "-o", "json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout).expect("list JSON")
}

#[test]
fn list_describe_verify_and_rm_handle_each_service_account() {
    let world = World::new();
    world.kube.add_namespace("ci");
    world.kube.put_service_account(
        "ci",
        json!({"metadata": {"name": "theirs", "labels": {"team": "ci"}}}),
    );
    add_several(&world, &["km", "ci:theirs"], &[]).assert_ok();

    // list: all of them in the table and in JSON.
    let out = world.run(&["list"]);
    out.assert_ok();
    assert_contains!(out.stdout, "ai-pods/km,ci/theirs");
    let listing = list_json(&world);
    assert_eq!(
        listing["clusters"][0]["service_accounts"],
        json!(["ai-pods:km", "ci:theirs"]),
        "{listing}"
    );
    assert_eq!(listing["clusters"][0]["namespace"], "ai-pods");
    assert!(listing["drift"].as_array().unwrap().is_empty(), "{listing}");
    let local = world.run(&["list", "--local"]);
    local.assert_ok();
    assert_contains!(local.stdout, "ai-pods/km,ci/theirs");

    // describe: both are trusted subjects, no drift.
    let out = world.run(&["describe", CLUSTER, "-o", "json"]);
    out.assert_ok();
    let d: Value = serde_json::from_str(&out.stdout).expect("describe JSON");
    let trusted: Vec<String> = d["service_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|sa| sa["trusted_subject"] == true)
        .map(|sa| {
            format!(
                "{}/{}",
                sa["namespace"].as_str().unwrap(),
                sa["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(trusted, ["ai-pods/km", "ci/theirs"], "{d}");
    assert_eq!(d["drift"], json!([]), "{d}");

    // verify: a token and STS for each, by name.
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).expect("verify JSON");
    let checks = report["checks"].as_array().unwrap();
    let assume: Vec<&str> = checks
        .iter()
        .filter(|c| c["link"] == "assume")
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert_eq!(assume.len(), 2, "{report}");
    assert!(
        assume[0].starts_with("ServiceAccount ai-pods/km: AssumeRoleWithWebIdentity gave"),
        "{assume:?}"
    );
    assert!(
        assume[1].starts_with("ServiceAccount ci/theirs: AssumeRoleWithWebIdentity gave"),
        "{assume:?}"
    );
    for sub in [
        "system:serviceaccount:ai-pods:km",
        "system:serviceaccount:ci:theirs",
    ] {
        assert!(
            checks
                .iter()
                .any(|c| c["link"] == "token" && c["message"].as_str().unwrap().contains(sub)),
            "{sub}: {report}"
        );
    }
    assert_eq!(report["ok"], true);

    // One of them broken: the verdict fails and names it.
    world.kube.put_service_account(
        "ci",
        json!({"metadata": {"name": "theirs", "labels": {"team": "ci"}}}),
    );
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    out.assert_code(4);
    let report: Value = serde_json::from_str(&out.stdout).expect("verify JSON");
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "FAIL")
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert!(
        failed
            .iter()
            .any(|m| m.contains("ServiceAccount ci/theirs has no")),
        "{failed:?}"
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["link"] == "assume"
                && c["status"] == "OK"
                && c["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("ServiceAccount ai-pods/km:")),
        "{report}"
    );
    add_several(&world, &["km", "ci:theirs"], &[]).assert_ok();

    // rm: ours deleted, theirs released, the entry gone.
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert_not_annotated(&world, "ci", "theirs");
    let theirs = world.kube.service_account("ci", "theirs").unwrap();
    assert_eq!(theirs["metadata"]["labels"]["team"], "ci");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert_eq!(
        world.km_config_yaml()["clusters"],
        serde_yaml::Value::Sequence(vec![])
    );
}

/// With the cluster away, `rm` keeps the entry pending with every
/// ServiceAccount; once it answers, each is deleted or released.
#[test]
fn a_pending_removal_keeps_and_later_finishes_every_service_account() {
    let world = World::new();
    world.kube.add_namespace("ci");
    world.kube.put_service_account(
        "ci",
        json!({"metadata": {"name": "theirs", "labels": {"team": "ci"}}}),
    );
    add_several(&world, &["km", "b", "ci:theirs"], &[]).assert_ok();
    for method in ["GET", "PATCH", "POST", "PUT", "DELETE"] {
        world.kube.inject(method, "/", KubeFault::Drop, usize::MAX);
    }
    world.run(&["rm", CLUSTER, "--yes"]).assert_code(3);
    let config = world.km_config_yaml();
    let entry = &config["clusters"][0];
    assert!(entry["pending"].is_mapping(), "{config:?}");
    let listed: Vec<&str> = entry["service_accounts"]
        .as_sequence()
        .expect("list kept")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(listed, ["ai-pods:km", "ai-pods:b", "ci:theirs"]);
    let out = world.run(&["list"]);
    out.assert_ok();
    assert_contains!(out.stdout, "ServiceAccounts ai-pods/km,ai-pods/b,ci/theirs");

    world.kube.clear_faults();
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(world.kube.service_account("ai-pods", "b").is_none());
    assert_not_annotated(&world, "ci", "theirs");
    assert_eq!(
        world.km_config_yaml()["clusters"],
        serde_yaml::Value::Sequence(vec![])
    );
}

#[test]
fn manifest_prints_every_service_account() {
    let world = World::new();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("a")
            .service_account("ci:b")
            .yes()
            .output("manifest"),
    );
    out.assert_ok();
    let docs: Vec<serde_yaml::Value> = out
        .stdout
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).expect("a YAML document"))
        .collect();
    assert_eq!(docs.len(), 2, "{}", out.stdout);
    for (doc, (ns, name)) in docs.iter().zip([("ai-pods", "a"), ("ci", "b")]) {
        assert_eq!(doc["metadata"]["namespace"].as_str(), Some(ns));
        assert_eq!(doc["metadata"]["name"].as_str(), Some(name));
        assert_eq!(
            doc["metadata"]["annotations"][ROLE_ARN_ANNOTATION].as_str(),
            Some(ROLE_ARN)
        );
    }
}

/// A persistent fault on the second ServiceAccount's write stops the run
/// after the first (exit 3, saying what was done); once it clears, a re-run
/// applies the rest and then writes nothing.
#[test]
fn a_failing_second_service_account_converges_on_rerun() {
    let world = World::new();
    world.kube.add_namespace("ci");
    world.kube.inject(
        "PATCH",
        "/namespaces/ci/serviceaccounts/b",
        KubeFault::Status(403),
        usize::MAX,
    );
    let out = add_several(&world, &["a", "ci:b"], &[]);
    out.assert_code(3);
    assert_contains!(out.all(), "ServiceAccount ci/b");
    assert_annotated(&world, "ai-pods", "a", true);
    assert!(world.kube.service_account("ci", "b").is_none());

    world.kube.clear_faults();
    add_several(&world, &["a", "ci:b"], &[]).assert_ok();
    assert_annotated(&world, "ci", "b", true);
    assert_eq!(
        world.km_config_yaml()["clusters"][0]["service_accounts"],
        serde_yaml::from_str::<serde_yaml::Value>("[ai-pods:a, ci:b]").unwrap()
    );
    world.clear_calls();
    add_several(&world, &["a", "ci:b"], &[]).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Issue 26, item 1 (and issue 22, item 4): verify's fix line is built
/// from the recorded intent, never with --dry-run=false, and run as
/// printed it converges: every ServiceAccount stays trusted, nothing is
/// deleted, and only the re-annotated one is re-pointed.
#[test]
fn verifys_fix_line_run_as_printed_converges_with_every_service_account() {
    let world = World::new();
    world.kube.add_namespace("team-b");
    world.kube.add_namespace("ci");
    world
        .run(
            &crate::support::AddArgs::new()
                .name(CLUSTER)
                .namespace("team-b")
                .service_account("km")
                .service_account("argocd-server")
                .service_account("ci:deployer")
                .yes(),
        )
        .assert_ok();
    let before = trust_of(&world);
    world.kube.admin(
        &[
            "annotate",
            "serviceaccount",
            "deployer",
            "-n",
            "ci",
            "--overwrite",
            "eks.amazonaws.com/role-arn=arn:aws:iam::333333333333:role/someone-elses",
        ],
        None,
    );
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    out.assert_code(4);
    let report: Value = serde_json::from_str(&out.stdout).expect("report");
    let fix = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "FAIL" && c["link"] == "service-account")
        .and_then(|c| c["fix"].as_str())
        .unwrap_or_else(|| panic!("{report}"))
        .to_string();
    assert_lacks!(fix, "--dry-run=false");
    assert_lacks!(fix, "--yes");
    let command = fix
        .split(" re-points it")
        .next()
        .unwrap()
        .strip_prefix("kubectl klanker-trust ")
        .unwrap_or_else(|| panic!("{fix}"));
    let words: Vec<String> = command
        .split(' ')
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
    args.push("--yes");
    world.run(&args).assert_ok();
    assert_eq!(trust_of(&world), before);
    for (ns, name) in [
        ("team-b", "km"),
        ("team-b", "argocd-server"),
        ("ci", "deployer"),
    ] {
        assert_annotated(&world, ns, name, true);
    }
    world.run(&["verify", CLUSTER]).assert_ok();
}
