//! No secret in any error, inputs IAM would refuse refused locally, and
//! errors a new user can act on (issue 10, sections 3 to 5).

use std::path::PathBuf;

use serde_json::json;

use crate::support::aws_peer::Account;
use crate::support::{AddArgs, CLUSTER, Outcome, ROLE, ROLE_ARN_ANNOTATION, World};

/// Known values the failing exec plugin gets in its env, and prints on stdout.
const ENV_SECRET: &str = "exec-env-secret-DO-NOT-PRINT";
const ENV_SESSION: &str = "exec-env-session-token-DO-NOT-PRINT";
const STDOUT_SECRET: &str = "exec-stdout-token-DO-NOT-PRINT";
const STDERR_LINE: &str =
    "An error occurred (ExpiredTokenException) when calling the GetCallerIdentity operation";

/// A second kubeconfig, for the same cluster, whose exec plugin is an `aws`
/// that fails as an expired SSO session does: the secrets of its env and
/// stdout must never reach the user. `interactive_mode` None leaves the
/// kubeconfig's default (the plugin's stderr then goes to the terminal).
fn write_failing_exec_kubeconfig(world: &World, interactive_mode: Option<&str>) -> PathBuf {
    let dir = world.path("failing-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let aws = dir.join("aws");
    std::fs::write(
        &aws,
        format!(
            "#!/bin/sh\necho \"$@\" >> \"{log}\"\n\
             echo '{{\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{STDOUT_SECRET}\"}}}}'\n\
             echo \"leaked from env: $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN\"\n\
             echo '' >&2\necho '{STDERR_LINE}' >&2\necho 'second line of stderr' >&2\nexit 255\n",
            log = world.path("failing-aws.log").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = format!(
        "exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n{mode}      args: [\"--region\", \"us-east-1\", \"eks\", \"get-token\", \"--cluster-name\", \"{CLUSTER}\", \"--profile\", \"cluster-admin\"]\n      env:\n      - name: AWS_SECRET_ACCESS_KEY\n        value: {ENV_SECRET}\n      - name: AWS_SESSION_TOKEN\n        value: {ENV_SESSION}",
        aws.display(),
        mode = interactive_mode
            .map(|m| format!("      interactiveMode: {m}\n"))
            .unwrap_or_default()
    );
    let path = world.path(&format!(
        "kubeconfig-failing-{}",
        interactive_mode.unwrap_or("default")
    ));
    world.write_kubeconfig(&path, crate::support::CONTEXT, Some("ai-pods"), &user);
    path
}

fn run_with_kubeconfig(world: &World, kubeconfig: &PathBuf, args: &[&str]) -> Outcome {
    world.run_cmd(world.kubectl().env("KUBECONFIG", kubeconfig).args(args))
}

#[track_caller]
fn assert_no_secret(args: &[&str], out: &Outcome) {
    let all = out.all();
    for secret in [ENV_SECRET, ENV_SESSION, STDOUT_SECRET, "leaked from env"] {
        assert_lacks!(all, secret, "{args:?}");
    }
}

#[test]
fn a_failing_exec_plugin_prints_no_secret_in_any_command_or_format() {
    let world = World::new();
    // Something to remove and verify, written with the working plugin.
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.clear_calls();
    let runs_of_plugin = || {
        std::fs::read_to_string(world.path("failing-aws.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };

    for (mode, verbose) in [
        (Some("Never"), false),
        (Some("Never"), true),
        (None, false),
        (None, true),
    ] {
        let failing = write_failing_exec_kubeconfig(&world, mode);
        for format in ["text", "json", "yaml"] {
            let mut runs: Vec<Vec<&str>> = vec![
                AddArgs::cluster().yes().output(format).into(),
                vec!["rm", CLUSTER, "--dry-run", "-o", format],
                vec!["verify", CLUSTER, "-o", format],
                vec!["describe", CLUSTER, "-o", format],
                vec!["list", "-o", if format == "text" { "wide" } else { format }],
            ];
            for args in &mut runs {
                if verbose {
                    args.push("--verbose");
                }
                let before = runs_of_plugin();
                let out = run_with_kubeconfig(&world, &failing, args);
                assert_no_secret(args, &out);
                // A failed plugin is not run again for retries.
                assert!(
                    runs_of_plugin() - before <= 1,
                    "{args:?} ran the plugin again"
                );
                if matches!(args[0], "add" | "verify") {
                    out.assert_code(1);
                    let plugin = format!(
                        "exec credential plugin `{}",
                        world.path("failing-bin/aws").display()
                    );
                    assert_contains!(out.stderr, plugin, "{args:?}");
                    assert_contains!(out.stderr, "exit status 255");
                    assert_contains!(out.stderr, STDERR_LINE);
                    assert_contains!(out.stderr, "second line of stderr");
                    // Said once, not once per layer of the error.
                    assert_eq!(out.stderr.matches(STDERR_LINE).count(), 1, "{}", out.stderr);
                    assert_contains!(out.stderr, "Nothing was changed");
                }
                if args[0] == "rm" {
                    // The cluster side is reported unreachable, in words.
                    out.assert_ok();
                    assert_contains!(out.all(), "exit status 255");
                }
            }
        }
    }
    // The plugin's secrets were really there to leak.
    let log = std::fs::read_to_string(world.path("failing-aws.log")).unwrap();
    assert_contains!(log, "get-token");
    assert_eq!(
        world.writes(),
        Vec::<String>::new(),
        "a failing plugin changed something"
    );
}

#[test]
fn rm_of_a_name_onboarded_nowhere_is_not_found() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.clear_calls();

    for format in ["text", "json"] {
        let out = world.run(&["rm", "dev-use1-1", "--yes", "-o", format]);
        out.assert_code(1);
        let err = &out.stderr;
        assert_contains!(err, "`dev-use1-1` is not onboarded");
        assert_contains!(
            err,
            "IAM roles and OIDC providers of klanker account 333333333333"
        );
        assert_contains!(err, &world.km_config().display().to_string());
        assert_contains!(err, "ServiceAccounts of context");
        assert_contains!(err, "Onboarded: dev-use1-0.");
        assert_contains!(err, "Did you mean `dev-use1-0`?");
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }

    let out = world.run(&["rm", "dev-use1-1", "--yes", "--ignore-not-found"]);
    out.assert_ok();
    assert_contains!(out.stdout, "Nothing to remove");
    let out = world.run(&[
        "rm",
        "dev-use1-1",
        "--yes",
        "--ignore-not-found",
        "-o",
        "json",
    ]);
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["applied"], false);
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
}

#[test]
fn rm_still_finishes_a_half_removed_onboarding() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    // Only the ServiceAccount is left: IAM and km-config.yaml are gone.
    world
        .run(&["rm", CLUSTER, "--yes", "--keep-service-account"])
        .assert_ok();
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(world.kube.service_account("ai-pods", "km").is_some());

    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_none());

    // A provider left by an rm that failed part-way.
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world.moto.inject(json!([
        {"action": "DeleteOpenIDConnectProvider", "fault": "internal", "count": 100}
    ]));
    world
        .run(&["rm", CLUSTER, "--yes", "--request-timeout", "2"])
        .assert_code(3);
    world.moto.clear_faults();
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert!(world.block_on(world.klanker.providers()).is_empty());
}

#[test]
fn verify_of_an_unknown_name_is_one_clear_error() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    let out = world.run(&["verify", "nope"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "`nope` is not onboarded");
    assert_contains!(out.stderr, "Onboarded: dev-use1-0.");
    assert_lacks!(out.all(), "FAIL");
    assert_lacks!(out.stderr, "trust chain is broken");
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
}

#[test]
fn a_dropped_connection_on_describe_cluster_is_said_in_words() {
    let world = World::new();
    world.moto.inject(json!([
        {"action": format!("GET /clusters/{CLUSTER}"), "fault": "drop", "count": 100}
    ]));
    let out = world.run(&AddArgs::cluster().yes());
    out.assert_code(1);
    let err = &out.stderr;
    assert_contains!(
        err,
        "eks:DescribeCluster could not reach the EKS endpoint http://"
    );
    assert_contains!(err, "in the cluster account");
    assert_contains!(err, "the connection closed before the answer came");
    assert_contains!(err, "Nothing was changed; re-running is safe.");
    for debug in ["DispatchFailure", "ConnectorError", "{", "Some("] {
        assert_lacks!(err, debug, "Debug text");
    }
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn tag_keys_are_checked_as_iam_compares_them() {
    let world = World::new();
    let many: Vec<String> = (0..49).map(|i| format!("--tag=k{i}=v")).collect();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--tag".into(), "Klanker-Trust/Managed-By=x".into()],
            "written by this tool",
        ),
        (
            vec![
                "--tag".into(),
                "Team=a".into(),
                "--tag".into(),
                "team=b".into(),
            ],
            "do not distinguish case",
        ),
        (many, "IAM allows 50 on a role"),
    ];
    for (extra, expected) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = world.run(&AddArgs::cluster().yes().args(&extra));
        out.assert_code(2);
        assert_contains!(out.stderr, expected);
    }
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_name_too_long_for_its_tag_is_refused_before_any_write_even_with_role_name() {
    let world = World::new();
    let name = "n".repeat(300);
    let out = world.run(
        &AddArgs::new()
            .name(&name)
            .flag("--role-name", "km-cluster-short")
            .namespace("ai-pods")
            .yes(),
    );
    out.assert_code(2);
    assert_contains!(out.stderr, "300 characters");
    assert_contains!(out.stderr, "klanker-trust/name");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_reused_provider_is_trusted_by_its_real_arn() {
    let world = World::new();
    // Registered by hand with a trailing slash: IAM keeps that spelling in the ARN.
    let real = world.block_on(
        world
            .klanker
            .create_provider(&format!("{}/", world.issuer), &["sts.amazonaws.com"]),
    );
    assert!(real.ends_with('/'), "the premise: {real}");
    let out = world.run(&AddArgs::cluster().yes());
    out.assert_ok();
    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    assert_eq!(
        role.trust_policy["Statement"][0]["Principal"]["Federated"], real,
        "the trust names a provider that does not exist"
    );
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    world.run(&["verify", CLUSTER]).assert_ok();

    // With --issuer-url the cluster account is unknown: km-config.yaml
    // records the klanker account's provider, by its real ARN too.
    world
        .run(
            &AddArgs::new()
                .name("other")
                .flag("--issuer-url", &world.issuer)
                .namespace("ai-pods")
                .service_account("km2")
                .yes(),
        )
        .assert_ok();
    let entry = world.km_config_yaml()["clusters"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "other")
        .cloned()
        .unwrap();
    assert_eq!(entry["oidc_provider_arn"].as_str(), Some(real.as_str()));
    let other = world
        .block_on(world.klanker.role("km-cluster-other"))
        .unwrap();
    assert_eq!(
        other.trust_policy["Statement"][0]["Principal"]["Federated"],
        real
    );
    world.run(&["verify", "other"]).assert_ok();
}

#[test]
fn the_release_renderer_refuses_a_long_krew_short_description() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let template = std::fs::read_to_string(root.join("krew/klanker-trust.yaml.tmpl")).unwrap();
    let short = template
        .lines()
        .find_map(|l| l.strip_prefix("  shortDescription: "))
        .expect("a shortDescription line");
    assert!(short.chars().count() <= 50, "{short:?} is over krew's 50");
    let long = template.replace(short, &"x".repeat(51));
    std::fs::write(dir.path().join("t.tmpl"), long).unwrap();
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/release.d/render.py"))
        .arg("--template")
        .arg(dir.path().join("t.tmpl"))
        .args(["--version", "v0.1.0", "--allow-missing", "--manifest"])
        .arg(dir.path().join("m.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(String::from_utf8_lossy(&out.stderr), "at most 50");
    assert!(!dir.path().join("m.yaml").exists());
}

/// The klanker account in another partition, seeded as `aws_peer::account` does.
fn partition_account(world: &World, region: &str, partition: &str) -> Account {
    world.block_on(crate::support::aws_peer::account_in(
        &world.moto.url(),
        "333333333333",
        region,
        partition,
    ))
}

#[test]
fn other_partitions_work_end_to_end() {
    for (partition, region) in [("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")] {
        let world = World::new();
        let klanker = partition_account(&world, region, partition);
        let policy = world.block_on(klanker.create_policy("km-operator-policy"));
        assert!(policy.starts_with(&format!("arn:{partition}:")), "{policy}");
        let mut config = std::fs::read_to_string(world.path("aws-config")).unwrap();
        config.push_str(&format!(
            "\n[profile klanker-p]\nrole_arn = arn:{partition}:iam::333333333333:role/klanker-operator\nsource_profile = base\nregion = {region}\n"
        ));
        std::fs::write(world.path("aws-config"), config).unwrap();
        let flags = ["--aws-profile", "klanker-p", "--region", region];

        let add = AddArgs::new()
            .name("p-test")
            .flag("--issuer-url", &world.issuer)
            .namespace("ai-pods")
            .yes()
            .output("json")
            .args(&flags);
        let out = world.run(&add);
        out.assert_ok();
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let prefix = format!("arn:{partition}:iam::333333333333:");
        for key in ["role_arn", "oidc_provider_arn"] {
            let arn = report[key].as_str().unwrap();
            assert!(arn.starts_with(&prefix), "{key} {arn}");
        }
        let role = world
            .block_on(klanker.role("km-cluster-p-test"))
            .expect("role in partition");
        assert!(role.arn.starts_with(&prefix), "{}", role.arn);
        let federated = role.trust_policy["Statement"][0]["Principal"]["Federated"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(federated.starts_with(&prefix), "{federated}");
        assert_eq!(role.attached, vec![policy.clone()]);
        let sa = world.kube.service_account("ai-pods", "km").unwrap();
        let annotated = sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(annotated, role.arn);
        assert_lacks!(out.all(), "arn:aws:iam");

        let mut verify = vec!["verify", "p-test"];
        verify.extend(flags);
        let out = world.run(&verify);
        out.assert_ok();
        assert_contains!(out.stdout, &policy);

        let mut rm = vec!["rm", "p-test", "--yes"];
        rm.extend(flags);
        world.run(&rm).assert_ok();
        assert!(world.block_on(klanker.role("km-cluster-p-test")).is_none());
        assert!(world.block_on(klanker.providers()).is_empty());
    }
}

#[test]
fn tags_already_on_the_role_count_toward_the_fifty() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    // Someone tagged the role by hand: 5 of the tool's (managed-by, name and
    // the recorded cluster, server and issuer) + 44 = 49.
    let tags: Vec<aws_sdk_iam::types::Tag> = (0..44)
        .map(|i| {
            aws_sdk_iam::types::Tag::builder()
                .key(format!("hand{i}"))
                .value("x")
                .build()
                .unwrap()
        })
        .collect();
    world
        .block_on(
            world
                .klanker
                .iam
                .tag_role()
                .role_name(ROLE)
                .set_tags(Some(tags))
                .send(),
        )
        .unwrap();
    world.clear_calls();
    let out = world.run(
        &AddArgs::cluster()
            .yes()
            .args(&["--tag", "a=1", "--tag", "b=2"]),
    );
    out.assert_code(2);
    assert_contains!(out.stderr, "carry 51");
    assert_eq!(world.writes(), Vec::<String>::new());
    // One more fits.
    world
        .run(&AddArgs::cluster().yes().args(&["--tag", "a=1"]))
        .assert_ok();
}
