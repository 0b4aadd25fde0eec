//! The RBAC `policy --for rbac` prints, proven on the real API server:
//! applied with kubectl by the cluster admin and bound to a user who has
//! nothing else, it is sufficient (add, verify, list, rm pass) and minimal
//! (each verb of each rule, removed in turn, makes the command that needs it
//! fail before anything is written, naming the denied verb and resource
//! from the real 403 and the fix).

use serde_yaml::Value;

use crate::support::kube::server::RBAC_USER;
use crate::support::{AddArgs, CLUSTER, RBAC_TOKEN, World};

fn rbac_documents(world: &World) -> Vec<Value> {
    let out = world.run(&[
        "policy",
        "--for",
        "rbac",
        "--namespace",
        "ai-pods",
        "--service-account",
        "km",
        "--user",
        RBAC_USER,
        "-o",
        "yaml",
        "--klanker-account",
        "333333333333",
    ]);
    out.assert_ok();
    serde_yaml::Deserializer::from_str(&out.stdout)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("RBAC YAML"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

fn to_yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap()))
        .collect()
}

/// The documents with one verb taken out of one rule (the rule goes when it
/// has no verb left).
fn without(docs: &[Value], kind: &str, rule: usize, verb: &str) -> Vec<Value> {
    let mut docs = docs.to_vec();
    let doc = docs
        .iter_mut()
        .find(|d| d["kind"] == kind)
        .expect("document of that kind");
    let rules = doc["rules"].as_sequence_mut().expect("rules");
    let verbs = rules[rule]["verbs"].as_sequence_mut().expect("verbs");
    let before = verbs.len();
    verbs.retain(|v| v.as_str() != Some(verb));
    assert_eq!(
        verbs.len() + 1,
        before,
        "{kind} rule {rule} has no verb {verb}"
    );
    if verbs.is_empty() {
        rules.remove(rule);
    }
    docs
}

/// The index of the rule of `kind` that covers `resource` (or the URL).
fn rule_of(docs: &[Value], kind: &str, resource: &str) -> usize {
    let doc = docs.iter().find(|d| d["kind"] == kind).expect("kind");
    doc["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .position(|r| {
            [&r["resources"], &r["nonResourceURLs"]].iter().any(|list| {
                list.as_sequence()
                    .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(resource)))
            })
        })
        .unwrap_or_else(|| panic!("no {kind} rule for {resource}"))
}

/// The optional token documents' name (one for the Role and its binding).
fn optional_name(optional: &[Value]) -> String {
    let name = optional[0]["metadata"]["name"].as_str().expect("name");
    assert_eq!(
        optional[0]["rules"][0]["resources"][0].as_str(),
        Some("serviceaccounts/token")
    );
    name.to_string()
}

/// Fails (exit `code`), names the denied verb and resource, and wrote nothing.
#[track_caller]
fn denied(world: &World, args: &[&str], code: i32, verb: &str, resource: &str) {
    world.clear_calls();
    let out = world.run(args);
    out.assert_code(code);
    let wanted = format!("may not `{verb}` `{resource}`");
    assert_contains!(out.all(), wanted, "{args:?}");
    assert!(
        out.all().contains("policy --for rbac") || out.all().contains("clusterrolebinding"),
        "no fix named:\n{}",
        out.all()
    );
    assert_eq!(
        world.writes(),
        Vec::<String>::new(),
        "{args:?} wrote something"
    );
}

#[test]
fn the_printed_rbac_is_sufficient_and_every_verb_of_it_is_needed() {
    let world = World::new();
    let all = rbac_documents(&world);
    // The last two, the optional token Role and its binding, come later.
    let (docs, optional) = all.split_at(4);
    let docs = docs.to_vec();
    world
        .kube
        .admin(&["apply", "-f", "-"], Some(&to_yaml(&docs)));
    world.use_kube_token(RBAC_TOKEN);
    let replace = |docs: &[Value]| {
        world
            .kube
            .admin(&["replace", "-f", "-"], Some(&to_yaml(docs)))
    };
    let add = AddArgs::new().name(CLUSTER).yes();

    let role_sa = rule_of(&docs, "Role", "serviceaccounts");
    let cluster_ns = rule_of(&docs, "ClusterRole", "namespaces");
    let cluster_list = rule_of(&docs, "ClusterRole", "serviceaccounts");

    // Before anything exists: add needs to read the namespace and the
    // ServiceAccount, and to create the ServiceAccount.
    for (kind, rule, verb, resource) in [
        ("ClusterRole", cluster_ns, "get", "namespaces"),
        ("Role", role_sa, "get", "serviceaccounts"),
        ("Role", role_sa, "create", "serviceaccounts"),
    ] {
        replace(&without(&docs, kind, rule, verb));
        denied(&world, &add, 1, verb, resource);
        replace(&docs);
    }

    // Sufficient for add (its check after applying says what it could
    // not check without the optional token Role); with that Role, verify.
    let added = world.run(&add);
    added.assert_ok();
    assert_contains!(added.stdout, "could not check: token");
    world
        .kube
        .admin(&["apply", "-f", "-"], Some(&to_yaml(optional)));
    let verified = world.run(&["verify", CLUSTER]);
    verified.assert_ok();
    // The real server's token, checked against the real server's keys.
    assert_contains!(
        verified.stdout,
        "the token's signature verifies against the API server's key"
    );
    world.run(&["list"]).assert_ok();

    // Without the keys, verify still works and says the signature went unchecked.
    let jwks = rule_of(&docs, "ClusterRole", "/openid/v1/jwks");
    replace(&without(&docs, "ClusterRole", jwks, "get"));
    let out = world.run(&["verify", CLUSTER]);
    out.assert_ok();
    assert_contains!(out.stdout, "signature not checked");
    assert_contains!(out.stdout, "may not `get` `/openid/v1/jwks`");
    replace(&docs);

    // A change to the existing ServiceAccount needs patch.
    replace(&without(&docs, "Role", role_sa, "patch"));
    denied(
        &world,
        &AddArgs::new()
            .name(CLUSTER)
            .yes()
            .flag("--session-duration", "7200"),
        1,
        "patch",
        "serviceaccounts",
    );
    replace(&docs);

    // verify needs a token for the ServiceAccount: the optional Role.
    let binding = format!("rolebinding/{}", optional_name(optional));
    world
        .kube
        .admin(&["delete", "-n", "ai-pods", &binding], None);
    world.clear_calls();
    let out = world.run(&["verify", CLUSTER]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.all(), "may not `create` `serviceaccounts/token`");
    // The refused TokenRequest is its only non-read request (a token is never stored).
    assert_eq!(
        world.writes(),
        ["kube:POST /api/v1/namespaces/ai-pods/serviceaccounts/km/token"]
    );
    world
        .kube
        .admin(&["apply", "-f", "-"], Some(&to_yaml(optional)));

    // rm finds the tool's ServiceAccounts with a cluster-wide list, and deletes ours.
    for (kind, rule, verb, resource) in [
        ("ClusterRole", cluster_list, "list", "serviceaccounts"),
        ("Role", role_sa, "delete", "serviceaccounts"),
    ] {
        replace(&without(&docs, kind, rule, verb));
        denied(&world, &["rm", CLUSTER, "--yes"], 1, verb, resource);
        replace(&docs);
    }

    // Sufficient for rm.
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_none());
}

#[test]
fn issuer_discovery_needs_its_url_and_says_which_binding_allows_it() {
    let world = World::new();
    let docs = rbac_documents(&world);
    world
        .kube
        .admin(&["apply", "-f", "-"], Some(&to_yaml(&docs)));
    // A cluster that is not EKS: a plain token user, so the issuer comes from discovery.
    let kubeconfig = world.path("lab-kubeconfig");
    world.write_kubeconfig(
        &kubeconfig,
        "lab",
        Some("ai-pods"),
        &format!("token: {RBAC_TOKEN}"),
    );
    let kc = kubeconfig.to_str().unwrap();
    let plan = AddArgs::new().flag("--kubeconfig", kc).name("lab");

    let out = world.run(&plan);
    out.assert_ok();
    assert_contains!(
        out.stderr,
        &format!(
            "OIDC issuer discovered from the API server: {}",
            world.issuer
        )
    );

    let url = rule_of(&docs, "ClusterRole", "/.well-known/openid-configuration");
    world.kube.admin(
        &["replace", "-f", "-"],
        Some(&to_yaml(&without(&docs, "ClusterRole", url, "get"))),
    );
    let out = world.run(&plan);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "may not `get` `/.well-known/openid-configuration`"
    );
    assert_contains!(
        out.all(),
        "--clusterrole=system:service-account-issuer-discovery"
    );
    // Kubernetes' own binding for it, granted to this user, is enough too.
    world.kube.admin(
        &[
            "create",
            "clusterrolebinding",
            "klanker-trust-issuer-discovery",
            "--clusterrole=system:service-account-issuer-discovery",
            &format!("--user={RBAC_USER}"),
        ],
        None,
    );
    world.run(&plan).assert_ok();
}

/// Chained mode's RBAC (`policy --for rbac --mode chained`, which adds its
/// ConfigMap) is sufficient on the real API server for add, verify, list
/// and rm, and a ConfigMap of another name stays out of reach.
#[test]
fn the_chained_rbac_is_sufficient_for_every_command() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    let out = world.run(&[
        "policy",
        "--for",
        "rbac",
        "--mode",
        "chained",
        "--namespace",
        "ai-pods",
        "--service-account",
        "km",
        "--user",
        RBAC_USER,
        "-o",
        "yaml",
        "--klanker-account",
        "333333333333",
    ]);
    out.assert_ok();
    world.kube.admin(&["apply", "-f", "-"], Some(&out.stdout));
    world.use_kube_token(RBAC_TOKEN);
    let add = AddArgs::new().name(CLUSTER).flag("--mode", "chained").yes();
    world.run(&add).assert_ok();
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_some());
    let verified = world.run(&["verify", CLUSTER]);
    verified.assert_ok();
    assert_contains!(verified.stdout, "config-map");
    world.run(&["list"]).assert_ok();
    // Another ConfigMap name is not covered by the printed RBAC.
    let out = world.run(
        &AddArgs::new()
            .name(CLUSTER)
            .flag("--mode", "chained")
            .yes()
            .flag("--config-map-name", "elsewhere"),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.all(), "configmaps");
    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert!(world.kube.config_map("ai-pods", "km-aws-config").is_none());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
}

#[test]
fn add_without_the_optional_token_rbac_checks_every_other_link_and_says_which_it_could_not() {
    let world = World::new();
    let all = rbac_documents(&world);
    // The required documents grant no token; the optional ones are apart.
    let required = &all[..4];
    assert_lacks!(to_yaml(required), "serviceaccounts/token");
    assert_eq!(optional_name(&all[4..]), "kubectl-klanker-trust-token");
    world
        .kube
        .admin(&["apply", "-f", "-"], Some(&to_yaml(required)));
    world.use_kube_token(RBAC_TOKEN);
    let out = world.run(&AddArgs::new().name(CLUSTER).yes());
    out.assert_ok();
    assert_contains!(
        out.stdout,
        "could not check: token, issuer, provider, trust (needs the optional token RBAC"
    );
    // Every link that needs no token is still checked.
    for link in ["service-account", "role", "session", "policy"] {
        assert_contains!(out.stdout, link);
    }
    assert_lacks!(out.stdout, "FAIL");
    // verify needs it: it fails and names the denied right.
    let verify = world.run(&["verify", CLUSTER]);
    assert_ne!(verify.code, 0, "{}", verify.all());
    assert_contains!(verify.all(), "may not `create` `serviceaccounts/token`");
}
