//! `kubectl klanker-trust add` end to end.

use serde_json::json;

use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::{
    AddArgs, CLUSTER, CONTEXT, OPERATOR_POLICY, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World,
};

fn expected_trust(world: &World, condition: serde_json::Value) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{}", world.issuer_host_path())},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

#[test]
fn fresh_add_creates_exactly_the_trust_and_a_rerun_changes_nothing() {
    let world = World::new();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .arg("--dry-run=false"),
    );
    out.assert_ok();
    assert_contains!(out.stderr, "OIDC provider auto-detected: creating");
    assert_contains!(out.stdout, ROLE_ARN);
    assert_contains!(out.stdout, "klanker account 333333333333");

    // IAM: one provider, for this issuer, with the STS client ID, tagged as ours.
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1, "{providers:?}");
    let provider = &providers[0];
    assert_eq!(
        provider.arn,
        format!(
            "arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{}",
            world.issuer_host_path()
        )
    );
    assert_eq!(provider.client_ids, ["sts.amazonaws.com"]);
    assert_eq!(
        provider
            .tags
            .get("klanker-trust/managed-by")
            .map(String::as_str),
        Some("kubectl-klanker-trust")
    );

    // The role: exact trust policy, 1-hour sessions, tags, the operator policy.
    let role = world
        .block_on(world.klanker.role(ROLE))
        .expect("role exists");
    assert_eq!(role.arn, ROLE_ARN);
    let host = world.issuer_host_path();
    assert_eq!(
        role.trust_policy,
        expected_trust(
            &world,
            json!({"StringEquals": {
                format!("{host}:sub"): "system:serviceaccount:ai-pods:km",
                format!("{host}:aud"): "sts.amazonaws.com",
            }})
        )
    );
    assert_eq!(role.max_session, 3600);
    assert_eq!(
        role.description,
        "Managed by kubectl-klanker-trust: IRSA trust for cluster dev-use1-0 (ai-pods/km); provider created by this tool"
    );
    assert_eq!(
        role.tags["klanker-trust/managed-by"],
        "kubectl-klanker-trust"
    );
    assert_eq!(role.tags["klanker-trust/name"], CLUSTER);
    assert_eq!(role.attached, [OPERATOR_POLICY]);
    assert_eq!(role.permissions_boundary, None);

    // The cluster: the annotated ServiceAccount, applied by our field manager.
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_ARN);
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/token-expiration"],
        "3600"
    );
    assert_eq!(
        sa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kubectl-klanker-trust"
    );
    let managers: Vec<&str> = sa["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl-klanker-trust"]);

    // km-config.yaml: the entry in the km schema; the provider ARN is the cluster's own.
    let config = world.km_config_yaml();
    let expected: serde_yaml::Value = serde_yaml::from_str(&format!(
        "clusters:\n- name: dev-use1-0\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/{host}\n  namespace: ai-pods\n  service_account: km\n  role_arn: {ROLE_ARN}\n"
    ))
    .unwrap();
    assert_eq!(config, expected);

    // The exec block ran the stand-in `aws eks get-token` for this cluster.
    let aws_args = std::fs::read_to_string(world.path("aws-args.log")).expect("aws stand-in ran");
    assert_contains!(aws_args, "get-token --cluster-name dev-use1-0");

    // Second identical run: no write to AWS or Kubernetes, same role ARN.
    world.clear_calls();
    let again = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .arg("--dry-run=false"),
    );
    again.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_contains!(again.stdout, "No changes");
    assert_contains!(again.stdout, ROLE_ARN);
    assert_contains!(
        again.stderr,
        &format!(
            "OIDC provider auto-detected: reusing existing {}",
            provider.arn
        )
    );
}

#[test]
fn without_a_terminal_add_only_plans() {
    let world = World::new();
    let out = world.run(&AddArgs::new().namespace("ai-pods"));
    out.assert_ok();
    assert_contains!(out.stdout, "create");
    assert_contains!(out.stdout, "Dry run");
    assert_contains!(out.stderr, "stdin is not a terminal");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(!world.km_config().exists());
}

#[test]
fn explicit_dry_run_wins_over_yes() {
    let world = World::new();
    let out = world.run(&AddArgs::new().namespace("ai-pods").dry_run().yes());
    out.assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
    // --yes alone applies.
    world
        .run(&AddArgs::new().namespace("ai-pods").yes())
        .assert_ok();
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
}

#[test]
fn name_and_namespace_default_from_the_context() {
    // The context is named by the cluster ARN and has namespace ai-pods.
    let world = World::new();
    let out = world.run(&AddArgs::new().yes().output("json"));
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report");
    assert_eq!(report["name"], CLUSTER);
    assert_eq!(report["namespace"], "ai-pods");
    assert_eq!(report["role_arn"], ROLE_ARN);
    assert_eq!(report["applied"], true);
    assert_eq!(report["klanker_account"], KLANKER_ACCOUNT);
    assert_eq!(report["issuer"], world.issuer);
    let actions: Vec<&str> = report["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create"; 5]);
    assert!(world.kube.service_account("ai-pods", "km").is_some());
}

#[test]
fn reuses_a_provider_it_did_not_create_and_leaves_it_untagged() {
    let world = World::new();
    let existing = world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["sts.amazonaws.com"]),
    );
    world.clear_calls();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .arg("--dry-run=false"),
    );
    out.assert_ok();
    assert_contains!(
        out.stderr,
        &format!("OIDC provider auto-detected: reusing existing {existing}")
    );
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1);
    assert!(
        providers[0].tags.is_empty(),
        "a foreign provider is not tagged: {providers:?}"
    );
    assert!(
        !world
            .writes()
            .iter()
            .any(|w| w.contains("OpenIDConnectProvider"))
    );
}

#[test]
fn register_modes_refuse_before_any_write() {
    let world = World::new();
    let out = world.run(
        &AddArgs::new()
            .namespace("ai-pods")
            .yes()
            .flag("--register-oidc-provider", "false"),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "--register-oidc-provider=false");
    assert_eq!(world.writes(), Vec::<String>::new());

    world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["sts.amazonaws.com"]),
    );
    world.clear_calls();
    let out = world.run(
        &AddArgs::new()
            .namespace("ai-pods")
            .yes()
            .flag("--register-oidc-provider", "true"),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "already has an OIDC provider");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn changed_arguments_converge_and_the_plan_shows_the_diff() {
    let world = World::new();
    world.kube.add_namespace("batch");
    world
        .run(
            &AddArgs::cluster()
                .service_account("km")
                .arg("--dry-run=false"),
        )
        .assert_ok();
    let other_policy = world.block_on(world.klanker.create_policy("extra"));
    let out = world.run(
        &AddArgs::new()
            .name(CLUSTER)
            .namespace("batch")
            .flag("--policy-arn", &other_policy)
            .flag("--session-duration", "7200")
            .flag("--tag", "team=platform")
            .arg("--dry-run=false"),
    );
    out.assert_ok();
    // The plan shows the old and the new subject.
    assert_contains!(out.stdout, "- ");
    assert_contains!(out.stdout, "system:serviceaccount:ai-pods:km");
    assert_contains!(out.stdout, "+ ");
    assert_contains!(out.stdout, "system:serviceaccount:batch:km");
    assert_contains!(out.stdout, &format!("detach policy {OPERATOR_POLICY}"));

    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    let host = world.issuer_host_path();
    assert_eq!(
        role.trust_policy["Statement"][0]["Condition"]["StringEquals"][format!("{host}:sub")],
        "system:serviceaccount:batch:km"
    );
    assert_eq!(role.attached, [other_policy]);
    assert_eq!(role.max_session, 7200);
    assert_eq!(role.tags["team"], "platform");
    let sa = world
        .kube
        .service_account("batch", "km")
        .expect("SA in the new namespace");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/token-expiration"],
        "7200"
    );
    let config = world.km_config_yaml();
    assert_eq!(config["clusters"].as_sequence().unwrap().len(), 1);
    assert_eq!(config["clusters"][0]["namespace"], "batch");
}

#[test]
fn wildcard_namespace_uses_string_like_and_warns() {
    let world = World::new();
    let out = world.run(&AddArgs::new().name(CLUSTER).namespace("*").yes());
    out.assert_ok();
    assert_contains!(out.stdout, "WARNING: --namespace '*'");
    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    let host = world.issuer_host_path();
    assert_eq!(
        role.trust_policy,
        expected_trust(
            &world,
            json!({
                "StringLike": {format!("{host}:sub"): "system:serviceaccount:*:km"},
                "StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"},
            })
        )
    );
    // The ServiceAccount still lives in a real namespace: the context's.
    assert!(world.kube.service_account("ai-pods", "km").is_some());
    assert_eq!(world.km_config_yaml()["clusters"][0]["namespace"], "*");
}

#[test]
fn manifest_output_prints_the_service_account_and_leaves_the_cluster_alone() {
    let world = World::new();
    let out = world.run(&AddArgs::new().namespace("ai-pods").yes().output("manifest"));
    out.assert_ok();
    let manifest: serde_yaml::Value = serde_yaml::from_str(&out.stdout).expect("YAML on stdout");
    assert_eq!(manifest["kind"], "ServiceAccount");
    assert_eq!(manifest["metadata"]["namespace"], "ai-pods");
    assert_eq!(
        manifest["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        ROLE_ARN
    );
    assert!(
        world.kube.requests().is_empty(),
        "{:?}",
        world.kube.requests()
    );
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
}

#[test]
fn create_namespace_and_missing_namespace() {
    let world = World::new();
    let out = world.run(&AddArgs::new().namespace("fresh").yes());
    out.assert_code(1);
    assert_contains!(out.stderr, "namespace `fresh` does not exist");
    assert_contains!(out.stderr, "--create-namespace");
    assert_eq!(world.writes(), Vec::<String>::new());

    world
        .run(
            &AddArgs::new()
                .namespace("fresh")
                .yes()
                .arg("--create-namespace"),
        )
        .assert_ok();
    assert!(world.kube.namespaces().contains(&"fresh".to_string()));
    assert!(world.kube.service_account("fresh", "km").is_some());
}

#[test]
fn km_config_keeps_other_keys_and_entries() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        "region: eu-west-1\noperator:\n  image: km:1.2\nclusters:\n- name: other\n  oidc_provider_arn: arn:aws:iam::111111111111:oidc-provider/o.example.com\n  namespace: x\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-other\n",
    )
    .unwrap();
    world
        .run(
            &AddArgs::cluster()
                .service_account("km")
                .arg("--dry-run=false"),
        )
        .assert_ok();
    let config = world.km_config_yaml();
    assert_eq!(config["region"], "eu-west-1");
    assert_eq!(config["operator"]["image"], "km:1.2");
    let names: Vec<&str> = config["clusters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other", CLUSTER]);
}

#[test]
fn a_cluster_that_is_not_eks_gets_its_issuer_from_discovery_or_the_flag() {
    let world = World::new();
    let kubeconfig = world.path("k3s-kubeconfig");
    let token_user = format!("token: {}", crate::support::KUBE_TOKEN);
    world.write_kubeconfig(&kubeconfig, "k3s-lab", None, &token_user);
    let kc = kubeconfig.to_str().unwrap();

    // Without --name or an issuer the context is rejected with a pointer to the flags.
    let out = world.run(&AddArgs::new().flag("--kubeconfig", kc).yes());
    out.assert_code(2);
    assert_contains!(out.stderr, "--issuer-url");
    assert_contains!(out.stderr, "k3s-lab");

    // A cluster-internal issuer (kind/kubeadm default) is refused: STS could never reach it.
    world
        .kube
        .restart_with_issuer("https://kubernetes.default.svc.cluster.local");
    let out = world.run(
        &AddArgs::new()
            .flag("--kubeconfig", kc)
            .name("k3s-lab")
            .yes(),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "cluster-internal");
    assert_eq!(world.writes(), Vec::<String>::new());

    // A public issuer is read from /.well-known/openid-configuration.
    world
        .kube
        .restart_with_issuer("https://k3s.example.com/oidc");
    let out = world.run(
        &AddArgs::new()
            .flag("--kubeconfig", kc)
            .name("k3s-lab")
            .yes(),
    );
    out.assert_ok();
    assert_contains!(
        out.stderr,
        "OIDC issuer discovered from the API server: https://k3s.example.com/oidc"
    );
    assert!(!world.moto.calls().iter().any(|c| c.service == "eks"));
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1);
    assert!(
        providers[0]
            .arn
            .ends_with(":oidc-provider/k3s.example.com/oidc"),
        "{providers:?}"
    );
    assert!(world.kube.service_account("default", "km").is_some());
    assert_eq!(
        world.km_config_yaml()["clusters"][0]["namespace"],
        "default"
    );

    // --issuer-url skips discovery and, with -o manifest, the cluster entirely.
    world.clear_calls();
    let out = world.run(
        &AddArgs::new()
            .flag("--kubeconfig", kc)
            .name("other-lab")
            .flag("--issuer-url", "https://other.example.com/oidc")
            .yes()
            .output("manifest"),
    );
    out.assert_ok();
    assert!(
        world.kube.requests().is_empty(),
        "{:?}",
        world.kube.requests()
    );
    assert_eq!(world.block_on(world.klanker.providers()).len(), 2);
}

#[test]
fn oidc_provider_arn_flag_gives_the_issuer() {
    let world = World::new();
    let arn = format!(
        "arn:aws:iam::222222222222:oidc-provider/{}",
        world.issuer_host_path()
    );
    world
        .run(&AddArgs::new().flag("--oidc-provider-arn", &arn).yes())
        .assert_ok();
    assert!(!world.moto.calls().iter().any(|c| c.service == "eks"));
    assert_eq!(
        world.km_config_yaml()["clusters"][0]["oidc_provider_arn"],
        arn.as_str()
    );
}

#[test]
fn a_role_it_did_not_create_is_not_taken_over() {
    let world = World::new();
    world.block_on(world.klanker.create_foreign_role(ROLE));
    world.clear_calls();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .arg("--dry-run=false"),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "was not created by kubectl-klanker-trust");
    assert_eq!(world.writes(), Vec::<String>::new());
    let role = world.block_on(world.klanker.role(ROLE)).unwrap();
    assert_eq!(
        role.trust_policy["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com"
    );
}

#[test]
fn missing_operator_policy_fails_before_any_write() {
    let world = World::bare();
    let out = world.run(
        &AddArgs::cluster()
            .service_account("km")
            .arg("--dry-run=false"),
    );
    out.assert_code(1);
    assert_contains!(out.stderr, OPERATOR_POLICY);
    assert_contains!(out.stderr, "does not exist");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn bad_input_is_rejected_before_any_write() {
    let world = World::new();
    let long = "a".repeat(60);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--name", &long], "IAM allows 64"),
        (vec!["--name", "has space"], "--name `has space`"),
        (vec!["--role-name", "bad/role"], "--role-name"),
        (vec!["--namespace", "AI_Pods"], "--namespace `AI_Pods`"),
        (
            vec!["--service-account", "Bad_SA"],
            "--service-account `Bad_SA`",
        ),
        (vec!["--service-account", "*"], "--service-account `*`"),
        (
            vec!["--oidc-provider-arn", "arn:aws:iam::12:oidc-provider/x"],
            "--oidc-provider-arn",
        ),
        (vec!["--issuer-url", "http://oidc.example.com/x"], "https"),
        (vec!["--session-duration", "60"], "--session-duration `60`"),
        (vec!["--tag", "aws:owner=me"], "reserved by AWS"),
        (vec!["--tag", "novalue"], "--tag `novalue`"),
        (
            vec!["--policy-arn", "km-operator-policy"],
            "--policy-arn `km-operator-policy`",
        ),
        (
            vec!["--permissions-boundary", "arn:aws:iam::333333333333:role/x"],
            "--permissions-boundary",
        ),
        (vec!["--region", "mars"], "--region `mars`"),
        (vec!["--aws-profile", "nope"], "AWS profile `nope`"),
        (vec!["--cluster-profile", "nope2"], "AWS profile `nope2`"),
        (vec!["--context", "missing"], "context `missing`"),
    ];
    for (extra, expected) in cases {
        let out = world.run(&AddArgs::new().yes().args(&extra));
        assert_eq!(out.code, 2, "{extra:?} should be bad input\n{}", out.stderr);
        assert_contains!(out.stderr, expected, "{extra:?}");
        assert!(
            out.stderr.starts_with("error: "),
            "{extra:?}: {}",
            out.stderr
        );
        assert_lacks!(out.stderr, "panicked");
    }
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(!world.km_config().exists());
}

#[test]
fn several_kubeconfig_paths_merge_like_kubectl() {
    let world = World::new();
    let first = world.path("first");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .unwrap();
    let joined = std::env::join_paths([first, world.kubeconfig()]).unwrap();
    let out = world.run_cmd(
        world
            .kubectl()
            .env("KUBECONFIG", joined)
            .args(AddArgs::new().yes().output("json")),
    );
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["name"], CLUSTER);
    let _ = CONTEXT;
}

#[test]
fn exec_block_env_profile_and_role_arn_pick_the_cluster_identity() {
    // `env: AWS_PROFILE` instead of `--profile`.
    let world = World::new();
    let user = world.eks_exec_user("").replace(
        "      interactiveMode: Never",
        "      interactiveMode: Never\n      env: [{name: AWS_PROFILE, value: cluster-admin}]",
    );
    world.write_kubeconfig(&world.kubeconfig(), CONTEXT, Some("ai-pods"), &user);
    world.run(&AddArgs::new().yes()).assert_ok();
    let describe: Vec<_> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.service == "eks")
        .collect();
    assert_eq!(describe.len(), 1, "{describe:?}");

    // `--profile base --role-arn A`: the base keys alone land in moto's default
    // account, where no cluster exists; only the assumed role finds it.
    let world = World::new();
    let user =
        world.eks_exec_user("--profile base --role-arn arn:aws:iam::222222222222:role/eks-admin");
    world.write_kubeconfig(&world.kubeconfig(), "plain-context", Some("ai-pods"), &user);
    let out = world.run(&AddArgs::new().yes().output("json"));
    out.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["issuer"], world.issuer);

    // Without the role the cluster is not in that account: a clear error, nothing written.
    let user = world.eks_exec_user("--profile base");
    world.write_kubeconfig(&world.kubeconfig(), "plain-context", Some("ai-pods"), &user);
    world.clear_calls();
    let out = world.run(&AddArgs::new().name("other").yes());
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        "EKS cluster `dev-use1-0` was not found in us-east-1"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn verbose_logs_every_call_and_never_a_secret() {
    let world = World::new();
    let out = world.run(
        &AddArgs::new()
            .verbose()
            .arg("--dry-run=false")
            .flag("-n", "ai-pods"),
    );
    out.assert_ok();
    for call in [
        "iam:CreateRole",
        "iam:AttachRolePolicy",
        "eks:DescribeCluster",
        "iam:GetRole",
    ] {
        assert_contains!(out.stderr, call, "not logged");
    }
    assert_contains!(
        out.stderr,
        "[kubernetes] PATCH (apply) namespaces/ai-pods/serviceaccounts/km"
    );
    let all = out.all();
    for secret in [
        crate::support::ACCESS_KEY,
        crate::support::SECRET_KEY,
        crate::support::KUBE_TOKEN,
    ] {
        assert_lacks!(all, secret, "secret printed");
    }
    // A failing run with --verbose prints the cause chain, still without secrets.
    let out = world.run(&AddArgs::new().verbose().yes().flag("--aws-profile", "nope"));
    out.assert_code(2);
    assert_lacks!(out.all(), crate::support::SECRET_KEY);
}

#[test]
fn role_name_boundary_and_tags_are_applied() {
    let world = World::new();
    let boundary = world.block_on(world.klanker.create_policy("km-boundary"));
    let out = world.run(
        &AddArgs::cluster()
            .flag("--role-name", "custom-trust-role")
            .flag("--permissions-boundary", &boundary)
            .flag("--tag", "team=platform")
            .flag("--tag", "cost-center=42")
            .yes(),
    );
    out.assert_ok();
    let role = world
        .block_on(world.klanker.role("custom-trust-role"))
        .expect("custom role");
    assert_eq!(
        role.permissions_boundary.as_deref(),
        Some(boundary.as_str())
    );
    assert_eq!(role.tags["team"], "platform");
    assert_eq!(role.tags["cost-center"], "42");
    let sa = world.kube.service_account("ai-pods", "km").unwrap();
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        "arn:aws:iam::333333333333:role/custom-trust-role"
    );
    // list and rm find it by its description, not by the default name.
    let out = world.run(&["list", "-o", "json"]);
    let listing: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listing["clusters"][0]["role_name"], "custom-trust-role");
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert!(
        world
            .block_on(world.klanker.role("custom-trust-role"))
            .is_none()
    );
}

#[test]
fn a_re_run_leaves_the_service_account_as_it_is_on_the_server() {
    let world = World::new();
    world
        .run(
            &AddArgs::cluster()
                .service_account("km")
                .arg("--dry-run=false"),
        )
        .assert_ok();
    let version = |world: &World| {
        world.kube.service_account("ai-pods", "km").unwrap()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = version(&world);
    world.clear_calls();
    world
        .run(
            &AddArgs::cluster()
                .service_account("km")
                .arg("--dry-run=false"),
        )
        .assert_ok();
    // The real server bumps resourceVersion on any change, even a no-op update
    // that rewrites managedFields' timestamps; an untouched object keeps it.
    assert_eq!(version(&world), before);
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_terminating_namespace_is_refused_before_any_write() {
    let world = World::new();
    world.kube.add_namespace("leaving");
    // No namespace controller runs beside this API server, so the namespace
    // stays Terminating, as one does on a cluster while its content drains.
    world
        .kube
        .admin(&["delete", "namespace", "leaving", "--wait=false"], None);
    let phase = world.kube.admin(
        &[
            "get",
            "namespace",
            "leaving",
            "-o",
            "jsonpath={.status.phase}",
        ],
        None,
    );
    assert_eq!(phase, "Terminating");
    world.clear_calls();
    let out = world.run(&AddArgs::new().namespace("leaving").yes());
    out.assert_code(1);
    assert_contains!(out.stderr, "namespace `leaving` is being deleted");
    assert_eq!(world.writes(), Vec::<String>::new());
}
