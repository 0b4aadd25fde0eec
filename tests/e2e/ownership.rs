//! Ownership belongs to one onboarding: roles are picked and re-checked on
//! their tags, ServiceAccounts keep what others own, destructive calls are
//! re-decided right before they are made, and every command stays on
//! NAME's own cluster and on the klanker account.

use serde_json::{Value, json};

use crate::support::aws_peer::Role;
use crate::support::{
    AddArgs, CLUSTER, CONTEXT, OPERATOR_POLICY, ROLE_ARN, ROLE_ARN_ANNOTATION, World,
};

/// `add --yes` plus `extra`, run.
fn add(world: &World, extra: &[&str]) -> crate::support::Outcome {
    world.run(&AddArgs::new().yes().args(extra))
}

fn role_tags(world: &World, role: &str) -> std::collections::BTreeMap<String, String> {
    world
        .block_on(world.klanker.role(role))
        .unwrap_or_else(|| panic!("role {role} is gone"))
        .tags
}

fn tag_role(world: &World, role: &str, key: &str, value: &str) {
    world.block_on(async {
        world
            .klanker
            .iam
            .tag_role()
            .role_name(role)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("tag role")
    });
}

/// Server-side apply by another field manager (as Helm or a GitOps
/// controller would): the real `kubectl apply --server-side`, as the cluster admin.
fn foreign_apply(world: &World, manager: &str, namespace: &str, mut body: Value) {
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("ServiceAccount");
    world.kube.admin(
        &[
            "apply",
            "--server-side",
            &format!("--field-manager={manager}"),
            "-n",
            namespace,
            "-f",
            "-",
        ],
        Some(&body.to_string()),
    );
}

/// A kubeconfig with the onboarded cluster's context (named by its ARN, as
/// `aws eks update-kubeconfig` does) and another cluster's, `current` current.
fn two_cluster_kubeconfig(world: &World, current: &str, with_cluster: bool) {
    let user = world.eks_exec_user("--profile cluster-admin");
    let mut contexts = String::new();
    let mut clusters = String::new();
    let mut users = String::new();
    if with_cluster {
        contexts.push_str(&format!(
            "- name: \"{CONTEXT}\"\n  context:\n    cluster: \"{CONTEXT}\"\n    user: eks\n    namespace: ai-pods\n"
        ));
        clusters.push_str(&format!(
            "- name: \"{CONTEXT}\"\n  cluster:\n    server: {}\n    certificate-authority: {}\n",
            world.kube.url(),
            crate::support::kube::pki::Pki::get().ca_cert.display()
        ));
        users.push_str(&format!("- name: eks\n  user:\n    {user}\n"));
    }
    // Another cluster: nothing listens there, so touching it would fail loudly.
    contexts.push_str("- name: other-cluster\n  context:\n    cluster: other\n    user: other\n");
    clusters.push_str("- name: other\n  cluster:\n    server: https://127.0.0.1:9\n");
    users.push_str("- name: other\n  user:\n    token: other-token\n");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: \"{current}\"\nclusters:\n{clusters}contexts:\n{contexts}users:\n{users}"
    );
    std::fs::write(world.kubeconfig(), text).expect("kubeconfig");
}

// --- IAM: one onboarding's role is never another's -------------------------

#[test]
fn rm_never_deletes_another_onboardings_role() {
    let world = World::new();
    add(&world, &["--name", "b", "--role-name", "km-cluster-a"]).assert_ok();
    world.clear_calls();
    let out = world.run(&["rm", "a", "--yes"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "onboarding `b`");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(role_tags(&world, "km-cluster-a")["klanker-trust/name"], "b");
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
}

#[test]
fn rm_rechecks_the_name_tag_before_its_first_write() {
    let world = World::new();
    add(&world, &["--name", "a"]).assert_ok();
    // rm reads the role twice while planning (its tags, its details); the
    // third GetRole is the fresh read right before the first write of either
    // chain. Hold it, let another onboarding claim the role meanwhile, release.
    let hang = crate::support::moto::Hang::new(world.dir.path(), "recheck");
    world
        .moto
        .inject(json!([{"action": "GetRole", "fault": "hang", "from": 3,
        "arrived": hang.arrived, "release": hang.release}]));
    world.clear_calls();
    let child = world.spawn(&["rm", "a", "--yes"]);
    hang.wait_arrived();
    tag_role(&world, "km-cluster-a", "klanker-trust/name", "b");
    hang.release();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert_contains!(stderr, "onboarding `b`");
    let writes: Vec<String> = world
        .moto
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("iam:"))
        .collect();
    // The tag change above is the test's own write; rm made none.
    assert_eq!(writes, ["iam:TagRole"], "{writes:?}");
    let role = world.block_on(world.klanker.role("km-cluster-a")).unwrap();
    assert_eq!(role.attached, [OPERATOR_POLICY]);
    assert!(
        world.kube.service_account("ai-pods", "km").is_some(),
        "the cluster chain did not start either"
    );
    assert!(world.kube.write_requests().is_empty());
}

#[test]
fn add_refuses_another_onboardings_role_before_any_write() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    world.clear_calls();
    let out = add(
        &world,
        &["--name", "other", "--role-name", "km-cluster-dev"],
    );
    out.assert_code(1);
    assert_contains!(out.stderr, "onboarding `dev`");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(
        role_tags(&world, "km-cluster-dev")["klanker-trust/name"],
        "dev"
    );
}

#[test]
fn a_new_issuer_for_the_same_name_needs_replace_issuer_and_drops_the_old_provider() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    let new_issuer = "https://oidc.example.com/id/REBUILT";
    world.clear_calls();
    let out = add(
        &world,
        &["--name", "dev", "--issuer-url", new_issuer, "--no-verify"],
    );
    out.assert_code(1);
    assert_contains!(out.stderr, &world.issuer, "names both issuers");
    assert_contains!(out.stderr, new_issuer, "names both issuers");
    assert_contains!(out.stderr, "--rebind");
    assert_eq!(world.writes(), Vec::<String>::new());

    let out = add(
        &world,
        &[
            "--name",
            "dev",
            "--issuer-url",
            new_issuer,
            "--no-verify",
            "--replace-issuer",
        ],
    );
    out.assert_ok();
    assert_contains!(out.stdout, "--rebind: role km-cluster-dev stops trusting");
    assert_contains!(
        out.stdout,
        "done: old OIDC provider",
        "the result says the old provider went"
    );
    assert_contains!(
        out.stdout,
        &world.issuer_host_path(),
        "the result says the old provider went"
    );
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert!(providers[0].arn.ends_with("oidc.example.com/id/REBUILT"));
}

// --- the race: the provider decision is made right before the call --------

#[test]
fn a_provider_trusted_by_an_add_during_rm_is_kept() {
    let world = World::new();
    add(&world, &["--name", "a", "--service-account", "sa-a"]).assert_ok();
    let hang = world.moto.hang("DeleteRole", world.dir.path());
    let rm = world.spawn(&["rm", "a", "--yes"]);
    hang.wait_arrived();
    // rm planned to delete the provider (nothing else trusted it then).
    add(&world, &["--name", "b", "--service-account", "sa-b"]).assert_ok();
    hang.release();
    let out = rm.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains!(stdout, "kept: km-cluster-b trusts it now");
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    assert!(world.block_on(world.klanker.role("km-cluster-a")).is_none());
    world.run(&["verify", "b"]).assert_ok();
}

// --- roles are picked on proof, not on a description -----------------------

/// A role named `name` with `real`'s description and trust policy and these
/// tags: a look-alike without tags, a second claim of a name with ours.
fn copy_role(world: &World, real: &Role, name: &str, tags: &[(&str, &str)]) {
    // No Tags parameter at all when there are none, as a plain CreateRole.
    let tags = (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .unwrap()
            })
            .collect()
    });
    world.block_on(async {
        world
            .klanker
            .iam
            .create_role()
            .role_name(name)
            .description(&real.description)
            .assume_role_policy_document(real.trust_policy.to_string())
            .set_tags(tags)
            .send()
            .await
            .expect("copy of the role")
    });
}

/// `verify dev` reports `real`, `rm dev` deletes it and leaves `other` alone.
#[track_caller]
fn verify_and_rm_use_the_tagged_role(world: &World, real: &Role, other: &str) {
    let out = world.run(&["verify", "dev", "-o", "json"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["role_arn"], real.arn);
    world.run(&["rm", "dev", "--yes"]).assert_ok();
    assert!(
        world
            .block_on(world.klanker.role("km-cluster-dev"))
            .is_none()
    );
    assert!(
        world.block_on(world.klanker.role(other)).is_some(),
        "{other} never touched"
    );
}

#[test]
fn a_look_alike_description_is_not_an_onboarding() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    let real = world
        .block_on(world.klanker.role("km-cluster-dev"))
        .unwrap();
    // Same description and trust, no tags.
    copy_role(&world, &real, "dev-copy", &[]);
    let out = world.run(&["list", "-o", "json"]);
    out.assert_ok();
    let listing: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = listing["clusters"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["role_name"], "km-cluster-dev");
    assert!(
        listing["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["problem"].as_str().unwrap().contains("dev-copy")),
        "{}",
        listing["drift"]
    );

    verify_and_rm_use_the_tagged_role(&world, &real, "dev-copy");
}

#[test]
fn duplicate_claims_of_one_name_are_drift_and_the_recorded_role_is_used() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    let real = world
        .block_on(world.klanker.role("km-cluster-dev"))
        .unwrap();
    copy_role(
        &world,
        &real,
        "dev-second-claim",
        &[
            ("klanker-trust/managed-by", "kubectl-klanker-trust"),
            ("klanker-trust/name", "dev"),
        ],
    );
    let out = world.run(&["list", "-o", "json"]);
    out.assert_ok();
    let listing: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listing["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(listing["clusters"][0]["role_name"], "km-cluster-dev");
    assert!(
        listing["drift"].as_array().unwrap().iter().any(|d| {
            let p = d["problem"].as_str().unwrap();
            p.contains("several roles claim") && p.contains("dev-second-claim")
        }),
        "{}",
        listing["drift"]
    );
    verify_and_rm_use_the_tagged_role(&world, &real, "dev-second-claim");
}

#[test]
fn list_flags_a_trust_widened_by_hand() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    let mut trust = world
        .block_on(world.klanker.role("km-cluster-dev"))
        .unwrap()
        .trust_policy;
    let key = format!("{}:sub", world.issuer_host_path());
    trust["Statement"][0]["Condition"]["StringEquals"][&key] = json!([
        "system:serviceaccount:ai-pods:km",
        "system:serviceaccount:tenant:km"
    ]);
    world.block_on(world.klanker.set_trust("km-cluster-dev", &trust));
    let out = world.run(&["list"]);
    out.assert_ok();
    assert_contains!(out.stdout, "changed by hand");
    assert_contains!(out.stdout, "2 `sub` values");
    assert_contains!(out.stdout, "tenant");
    assert_contains!(out.stdout, "fix: kubectl klanker-trust add --name dev");
}

// --- ServiceAccounts: never clobber what others own ------------------------

fn helm_service_account(world: &World) {
    foreign_apply(
        world,
        "helm",
        "ai-pods",
        json!({"metadata": {"name": "km", "namespace": "ai-pods",
                "labels": {"app.kubernetes.io/managed-by": "Helm"},
                "annotations": {"meta.helm.sh/release-name": "km"}},
            "imagePullSecrets": [{"name": "regcred"}]}),
    );
}

#[test]
fn a_helm_service_account_is_annotated_and_released_never_taken_over() {
    let world = World::new();
    helm_service_account(&world);
    let out = add(&world, &["--name", "dev"]);
    out.assert_ok();
    assert_contains!(out.stdout, "NOT created by this tool");
    // Issue 22, item 3: the plan warns who else gets the role.
    assert_contains!(
        out.all(),
        "exists and was not created by this tool: every pod that runs as it, now or later, can assume arn:aws:iam::333333333333:role/km-cluster-dev"
    );
    let sa = world.kube.service_account("ai-pods", "km").unwrap();
    assert_eq!(
        sa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(sa["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        "arn:aws:iam::333333333333:role/km-cluster-dev"
    );
    assert!(
        sa["metadata"]["annotations"]
            .get("klanker-trust/created-by")
            .is_none()
    );

    let out = world.run(&["rm", "dev", "--yes"]);
    out.assert_ok();
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("the SA stays");
    assert_eq!(
        sa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(sa["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(
        sa["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "km"
    );
    assert!(
        sa["metadata"]["annotations"]
            .get(ROLE_ARN_ANNOTATION)
            .is_none(),
        "our annotations are released: {sa}"
    );
    assert!(
        sa["metadata"]["annotations"]
            .get("eks.amazonaws.com/token-expiration")
            .is_none()
    );
}

#[test]
fn created_by_this_tool_survives_someone_elses_apply_and_not_a_re_creation() {
    let world = World::new();
    add(&world, &["--name", "dev"]).assert_ok();
    // Another team applies its own label to our ServiceAccount.
    foreign_apply(
        &world,
        "team-gitops",
        "ai-pods",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "km", "namespace": "ai-pods", "labels": {"team": "ml"}}}),
    );
    world.run(&["rm", "dev", "--yes"]).assert_ok();
    assert!(
        world.kube.service_account("ai-pods", "km").is_none(),
        "ours: deleted"
    );

    // Re-created by someone else from a copy of our YAML: not ours any more.
    add(&world, &["--name", "dev"]).assert_ok();
    let copy = world.kube.service_account("ai-pods", "km").unwrap();
    let mut copy = copy.clone();
    copy["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    world
        .kube
        .admin(&["delete", "serviceaccount", "km", "-n", "ai-pods"], None);
    world.kube.put_service_account("ai-pods", copy);
    let out = world.run(&["rm", "dev", "--yes"]);
    out.assert_ok();
    assert!(
        world.kube.service_account("ai-pods", "km").is_some(),
        "someone else's object is never deleted: {}",
        out.stdout
    );
}

#[test]
fn a_service_account_serving_another_role_is_not_re_pointed_without_the_flag() {
    let world = World::new();
    let other = "arn:aws:iam::333333333333:role/payments";
    world.kube.put_service_account(
        "ai-pods",
        json!({"metadata": {"name": "km", "annotations": {ROLE_ARN_ANNOTATION: other}}}),
    );
    world.clear_calls();
    let out = add(&world, &["--name", "dev"]);
    out.assert_code(1);
    assert_contains!(out.stderr, other);
    assert_contains!(out.stderr, "--override-existing-serviceaccounts");
    assert_eq!(world.writes(), Vec::<String>::new());

    add(
        &world,
        &["--name", "dev", "--override-existing-serviceaccounts"],
    )
    .assert_ok();
    let sa = world.kube.service_account("ai-pods", "km").unwrap();
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        "arn:aws:iam::333333333333:role/km-cluster-dev"
    );
}

#[test]
fn a_changed_namespace_moves_the_trust_and_the_service_account() {
    let world = World::new();
    world.kube.add_namespace("batch");
    helm_service_account(&world);
    world
        .kube
        .put_service_account("batch", json!({"metadata": {"name": "other-sa"}}));
    add(&world, &["--name", "dev", "--namespace", "ai-pods"]).assert_ok();
    let out = add(&world, &["--name", "dev", "--namespace", "batch"]);
    out.assert_ok();
    assert_contains!(out.stdout, "the trust MOVES");
    assert_contains!(out.stdout, "ai-pods/km");
    // The Helm one is released, not deleted; the new one is ours.
    let old = world.kube.service_account("ai-pods", "km").expect("kept");
    assert!(
        old["metadata"]["annotations"]
            .get(ROLE_ARN_ANNOTATION)
            .is_none(),
        "{old}"
    );
    assert_eq!(
        old["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert!(world.kube.service_account("batch", "km").is_some());

    // Moving again: the one this tool created is deleted.
    let out = add(&world, &["--name", "dev", "--namespace", "ai-pods"]);
    out.assert_ok();
    assert!(
        world.kube.service_account("batch", "km").is_none(),
        "{}",
        out.stdout
    );
    assert!(world.kube.service_account("batch", "other-sa").is_some());
}

// --- verify checks the onboarding's own subject ----------------------------

#[test]
fn verify_ignores_a_tenants_look_alike_service_account() {
    let world = World::new();
    add(&world, &["--name", CLUSTER]).assert_ok();
    world.kube.add_namespace("aaa-tenant");
    world.kube.put_service_account(
        "aaa-tenant",
        json!({"metadata": {"name": "km",
            "labels": {"app.kubernetes.io/managed-by": "kubectl-klanker-trust"},
            "annotations": {ROLE_ARN_ANNOTATION: ROLE_ARN}}}),
    );
    let out = world.run(&["verify", CLUSTER, "-o", "json"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let drift = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["link"] == "drift")
        .expect("drift reported");
    assert_eq!(drift["status"], "WARN");
    assert_contains!(drift["message"].as_str().unwrap(), "aaa-tenant/km");
}

// --- NAME's own cluster -----------------------------------------------------

#[test]
fn rm_and_verify_act_on_names_own_cluster_not_the_current_context() {
    let world = World::new();
    add(&world, &["--name", "prd"]).assert_ok();
    let tags = role_tags(&world, "km-cluster-prd");
    assert_eq!(tags["klanker-trust/cluster"], CONTEXT, "{tags:?}");
    assert_eq!(tags["klanker-trust/server"], world.kube.url());

    // The current context is another cluster: verify and rm still use prd's.
    two_cluster_kubeconfig(&world, "other-cluster", true);
    world.run(&["verify", "prd"]).assert_ok();
    // --context naming the other cluster is refused, nothing checked there.
    let out = world.run(&["verify", "prd", "--context", "other-cluster"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "does not point at cluster");

    // No context for prd's cluster: say which cluster, name --context, change nothing.
    two_cluster_kubeconfig(&world, "other-cluster", false);
    world.clear_calls();
    for cmd in [
        ["verify", "prd"].as_slice(),
        ["rm", "prd", "--yes"].as_slice(),
    ] {
        let out = world.run(cmd);
        out.assert_code(1);
        assert_contains!(out.stderr, CONTEXT);
        assert_contains!(out.stderr, "--context");
    }
    assert_eq!(world.writes(), Vec::<String>::new());

    two_cluster_kubeconfig(&world, "other-cluster", true);
    world.run(&["rm", "prd", "--yes"]).assert_ok();
    assert!(
        world.kube.service_account("ai-pods", "km").is_none(),
        "removed in prd's cluster"
    );
}

#[test]
fn the_issuer_must_come_from_the_cluster_the_context_names() {
    let world = World::new();
    // A same-named cluster in another region, which the exec block's --region points at.
    world.block_on(async {
        let config = world
            .cluster
            .eks
            .config()
            .to_builder()
            .region(aws_config::Region::new("us-west-2"))
            .build();
        aws_sdk_eks::Client::from_conf(config)
            .create_cluster()
            .name(CLUSTER)
            .role_arn("arn:aws:iam::222222222222:role/eks-cluster")
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
            .send()
            .await
            .expect("second cluster")
    });
    let user = world.eks_exec_user("--profile cluster-admin --region us-west-2");
    world.write_kubeconfig(&world.kubeconfig(), CONTEXT, Some("ai-pods"), &user);
    world.clear_calls();
    let out = add(&world, &["--name", "dev"]);
    out.assert_code(1);
    assert_contains!(out.stderr, CONTEXT);
    assert_contains!(
        out.stderr,
        "arn:aws:eks:us-west-2:222222222222:cluster/dev-use1-0"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

// --- the klanker account ----------------------------------------------------

#[test]
fn the_wrong_account_stops_every_command_before_any_write() {
    let world = World::new();
    // The cluster's own profile as the klanker profile.
    let out = add(&world, &["--name", "dev", "--aws-profile", "cluster-admin"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "cluster's own account");
    assert_eq!(world.writes(), Vec::<String>::new());
    let out = world.run(&["rm", "dev", "--yes", "--aws-profile", "cluster-admin"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "cluster's own account");

    let add_elsewhere = AddArgs::new()
        .yes()
        .name("dev")
        .flag("--klanker-account", "444444444444");
    for cmd in [
        &*add_elsewhere,
        ["rm", "dev", "--yes", "--klanker-account", "444444444444"].as_slice(),
        ["verify", "dev", "--klanker-account", "444444444444"].as_slice(),
    ] {
        let out = world.run(cmd);
        out.assert_code(1);
        assert_contains!(out.stderr, "444444444444", "{cmd:?}");
    }
    assert_eq!(world.writes(), Vec::<String>::new());
    add(
        &world,
        &["--name", "dev", "--klanker-account", "333333333333"],
    )
    .assert_ok();

    // Recorded in km-config.yaml: checked on every run.
    let text = std::fs::read_to_string(world.km_config()).unwrap();
    std::fs::write(
        world.km_config(),
        format!("klanker_account: \"444444444444\"\n{text}"),
    )
    .unwrap();
    world.clear_calls();
    let out = world.run(&["rm", "dev", "--yes"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "km-config.yaml");
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Issue 22, item 13: the operator policy changes only providers this tool
/// created, so a provider of someone else's that lacks the STS client ID is
/// refused at plan time, with the command an admin runs, not denied half-way.
#[test]
fn a_foreign_provider_without_the_sts_client_id_is_refused_before_any_write() {
    let world = World::new();
    world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["some-other-client"]),
    );
    world.clear_calls();
    let out = add(&world, &["--name", "dev"]);
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        "was not created by this tool and lacks the client ID sts.amazonaws.com"
    );
    assert_contains!(
        out.stderr,
        "aws iam add-client-id-to-open-id-connect-provider"
    );
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers[0].client_ids, ["some-other-client"]);
}
