//! `policy --for rbac`: the RBAC documents as kubectl would take them, for
//! flags, for an onboarding's name, and in chained mode.

use crate::support::{CLUSTER, ROLE_ARN, World};

fn documents(yaml: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde_yaml::Value::deserialize(d).expect("a YAML document"))
        .collect()
}

#[test]
fn rbac_yaml_is_only_the_documents_for_kubectl_apply() {
    let world = World::new();
    let out = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-o",
        "yaml",
        "--namespace",
        "team-a",
        "--service-account",
        "runner",
        "--service-account",
        "batch",
        "--user",
        "alice@example.com",
    ]);
    out.assert_ok();
    // Nothing but YAML documents (and their comments) on stdout.
    assert!(out.stdout.starts_with("---\n"), "{}", out.stdout);
    let docs = documents(&out.stdout);
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    // The last two, the optional token Role and its binding, apart.
    assert_eq!(
        kinds,
        [
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding"
        ]
    );
    assert_contains!(out.stdout, "# OPTIONAL (verify only)");
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("team-a"));
    let names: Vec<&str> = docs[0]["rules"][0]["resourceNames"]
        .as_sequence()
        .expect("resourceNames")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["runner", "batch"]);
    assert_eq!(docs[1]["subjects"][0]["kind"].as_str(), Some("User"));
    assert_eq!(
        docs[1]["subjects"][0]["name"].as_str(),
        Some("alice@example.com")
    );
    assert_lacks!(
        out.stdout,
        "serviceaccounts/token\n  verbs:\n  - create\n- apiGroups"
    );

    // Without --user/--group: the documented default group.
    let default = world.run(&["policy", "--for", "rbac", "-o", "yaml", "-n", "team-a"]);
    default.assert_ok();
    let docs = documents(&default.stdout);
    assert_eq!(docs[3]["subjects"][0]["kind"].as_str(), Some("Group"));
    assert_eq!(
        docs[3]["subjects"][0]["name"].as_str(),
        Some("klanker-trust-admins")
    );

    // -o yaml is the RBAC only; wildcards have no Role.
    world
        .run(&["policy", "--for", "klanker", "-o", "yaml"])
        .assert_code(2);
    world
        .run(&["policy", "--for", "rbac", "-o", "yaml", "-n", "*"])
        .assert_code(2);
    world
        .run(&[
            "policy",
            "--for",
            "rbac",
            "-n",
            "team-a",
            "--service-account",
            "km-*",
        ])
        .assert_code(2);
}

#[test]
fn rbac_for_an_onboarding_name_uses_its_recorded_namespace() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        format!(
            "clusters:\n- name: {CLUSTER}\n  oidc_provider_arn: arn:aws:iam::333333333333:oidc-provider/oidc.example.com\n  namespace: team-a\n  service_account: runner\n  role_arn: {ROLE_ARN}\n"
        ),
    )
    .expect("write km-config");
    let out = world.run(&["policy", "--for", "rbac", CLUSTER, "-o", "yaml"]);
    out.assert_ok();
    let docs = documents(&out.stdout);
    // The context's namespace is ai-pods: the record wins.
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("team-a"));
    assert_eq!(
        docs[4]["rules"][0]["resources"][0].as_str(),
        Some("serviceaccounts/token")
    );
    assert_eq!(
        docs[4]["rules"][0]["resourceNames"][0].as_str(),
        Some("runner")
    );
    let cluster_rules = docs[2]["rules"].as_sequence().expect("rules");
    assert_eq!(
        cluster_rules[0]["resourceNames"][0].as_str(),
        Some("team-a")
    );
    assert_eq!(
        cluster_rules[0]["verbs"],
        serde_yaml::Value::from(vec!["get"])
    );

    // --create-namespace adds create and patch on that namespace only.
    let create = world.run(&[
        "policy",
        "--for",
        "rbac",
        CLUSTER,
        "--create-namespace",
        "-o",
        "yaml",
    ]);
    create.assert_ok();
    let docs = documents(&create.stdout);
    assert_eq!(
        docs[2]["rules"][0]["verbs"],
        serde_yaml::Value::from(vec!["get", "create", "patch"])
    );

    // An unknown onboarding is an error, not a guess.
    let unknown = world.run(&["policy", "--for", "rbac", "nowhere-0", "-o", "yaml"]);
    unknown.assert_code(2);
    assert_contains!(unknown.stderr, "nowhere-0");
    assert!(unknown.stdout.is_empty());
}

#[test]
fn chained_rbac_may_write_only_its_config_map() {
    let world = World::new();
    let yaml = |extra: &[&str]| -> Vec<serde_yaml::Value> {
        let mut args = vec!["policy", "--for", "rbac", "-n", "team-a", "-o", "yaml"];
        args.extend_from_slice(extra);
        let out = world.run(&args);
        out.assert_ok();
        documents(&out.stdout)
    };
    let config_map_rules = |docs: &[serde_yaml::Value]| -> Vec<serde_yaml::Value> {
        docs.iter()
            .filter_map(|d| d["rules"].as_sequence())
            .flatten()
            .filter(|r| r["resources"][0].as_str() == Some("configmaps"))
            .cloned()
            .collect()
    };
    // Mirror mode writes no ConfigMap.
    assert!(config_map_rules(&yaml(&[])).is_empty());
    let chained = yaml(&["--mode", "chained"]);
    let rules = config_map_rules(&chained);
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(
        rules[0]["resourceNames"],
        serde_yaml::Value::from(vec!["km-aws-config"])
    );
    assert_eq!(
        rules[0]["verbs"],
        serde_yaml::Value::from(vec!["get", "create", "patch", "delete"])
    );
    // It is in the namespaced Role, not the ClusterRole.
    assert_eq!(config_map_rules(&chained[..1]).len(), 1);
    let named = config_map_rules(&yaml(&[
        "--mode",
        "chained",
        "--config-map-name",
        "pods-aws",
    ]));
    assert_eq!(
        named[0]["resourceNames"],
        serde_yaml::Value::from(vec!["pods-aws"])
    );

    let bad = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-n",
        "team-a",
        "--mode",
        "chained",
        "--config-map-name",
        "Not_A_Name",
    ]);
    bad.assert_code(2);
    assert_contains!(bad.stderr, "--config-map-name");
    assert_contains!(bad.stderr, "ConfigMap");
    let mirror = world.run(&[
        "policy",
        "--for",
        "rbac",
        "-n",
        "team-a",
        "--config-map-name",
        "pods-aws",
    ]);
    mirror.assert_code(2);
    assert_contains!(mirror.stderr, "--mode chained");
}

/// An onboarding of several ServiceAccounts, chained: the RBAC for its NAME
/// names each one of its namespace and its ConfigMap.
#[test]
fn rbac_for_a_chained_onboarding_of_several_names_each_and_its_config_map() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        format!(
            "clusters:\n- name: {CLUSTER}\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/oidc.example.com\n  namespace: team-a\n  service_account: runner\n  role_arn: {ROLE_ARN}\n  service_accounts:\n  - team-a:runner\n  - team-a:builder\n  mode: chained\n  cluster_role_arn: arn:aws:iam::222222222222:role/km-irsa-{CLUSTER}\n"
        ),
    )
    .expect("write km-config");
    let out = world.run(&["policy", "--for", "rbac", CLUSTER, "-o", "yaml"]);
    out.assert_ok();
    let docs = documents(&out.stdout);
    let names = |rule: &serde_yaml::Value| -> Vec<String> {
        rule["resourceNames"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let rules = docs[0]["rules"].as_sequence().expect("rules");
    let token = &docs[4]["rules"][0];
    assert_eq!(
        token["resources"][0].as_str(),
        Some("serviceaccounts/token")
    );
    assert_eq!(names(token), ["runner", "builder"]);
    let config_maps = rules
        .iter()
        .find(|r| r["resources"][0].as_str() == Some("configmaps"))
        .expect("ConfigMap rule");
    assert_eq!(names(config_maps), ["km-aws-config"]);
}

#[test]
fn without_a_namespace_anywhere_the_cluster_policy_defaults_like_add() {
    let world = World::new();
    // A context that sets no namespace: add uses `default`, and so must policy.
    world.write_kubeconfig(
        &world.kubeconfig(),
        crate::support::CONTEXT,
        None,
        &world.eks_exec_user("--profile cluster-admin"),
    );
    // JSON is the IAM document alone; text and the RBAC name the namespace.
    world
        .run(&["policy", "--for", "cluster", "-o", "json"])
        .assert_ok();
    for args in [
        &["policy", "--for", "cluster"][..],
        &["policy", "--for", "rbac", "-o", "yaml"][..],
        &["policy"][..],
    ] {
        let out = world.run(args);
        out.assert_ok();
        assert_contains!(out.stdout, "kubectl-klanker-trust:default");
    }
    let yaml = world.run(&["policy", "--for", "rbac", "-o", "yaml"]);
    let docs = documents(&yaml.stdout);
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("default"));
    assert_eq!(docs[0]["rules"][0]["resourceNames"][0].as_str(), Some("km"));
}
