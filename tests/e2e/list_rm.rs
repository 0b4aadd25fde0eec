//! `list` and `rm` end to end: shared issuers, foreign providers, drift,
//! unreachable clusters, half-removed onboardings, and a large account.

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::support::kube::KubeFault;
use crate::support::{
    AddArgs, CLUSTER, CONTEXT, OPERATOR_POLICY, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World,
};

fn add(world: &World, name: &str, namespace: &str, sa: &str) {
    world
        .run(
            &AddArgs::new()
                .name(name)
                .namespace(namespace)
                .service_account(sa)
                .yes(),
        )
        .assert_ok();
}

fn list_json(world: &World) -> Value {
    let out = world.run(&["list", "-o", "json"]);
    out.assert_ok();
    serde_json::from_str(&out.stdout).expect("list JSON")
}

fn names(listing: &Value) -> Vec<String> {
    listing["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_names_on_one_issuer_share_the_provider_until_the_last_is_removed() {
    let world = World::new();
    world.kube.add_namespace("batch");
    add(&world, "dev-a", "ai-pods", "km");
    add(&world, "dev-b", "batch", "km-b");

    let listing = list_json(&world);
    assert_eq!(names(&listing), ["dev-a", "dev-b"]);
    let a = &listing["clusters"][0];
    assert_eq!(
        a["role_arn"],
        "arn:aws:iam::333333333333:role/km-cluster-dev-a"
    );
    assert_eq!(a["namespace"], "ai-pods");
    assert_eq!(a["service_account"], "km");
    assert_eq!(a["issuer"], world.issuer);
    assert_eq!(a["provider"], "owned");
    assert_eq!(a["in_km_config"], true);
    assert_eq!(listing["drift"], serde_json::json!([]));
    let providers = world.block_on(world.klanker.providers());
    assert_eq!(providers.len(), 1, "one provider for one issuer");

    // Remove the first: its role and ServiceAccount go, the shared provider stays.
    let out = world.run(&["rm", "dev-a", "--yes"]);
    out.assert_ok();
    assert_contains!(out.stdout, "still trusted by km-cluster-dev-b");
    assert!(
        world
            .block_on(world.klanker.role("km-cluster-dev-a"))
            .is_none()
    );
    assert!(
        world
            .block_on(world.klanker.role("km-cluster-dev-b"))
            .is_some()
    );
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(world.kube.service_account("batch", "km-b").is_some());
    assert_eq!(names(&list_json(&world)), ["dev-b"]);
    let config = world.km_config_yaml();
    assert_eq!(config["clusters"].as_sequence().unwrap().len(), 1);

    // Remove the last: now the provider goes too.
    let out = world.run(&["rm", "dev-b", "--yes"]);
    out.assert_ok();
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(world.kube.service_account("batch", "km-b").is_none());
    assert!(names(&list_json(&world)).is_empty());
    assert_eq!(
        world.km_config_yaml()["clusters"],
        serde_yaml::Value::Sequence(vec![])
    );

    // Again: nothing left anywhere, so NotFound (exit 1) as kubectl delete
    // says it, and exit 0 with --ignore-not-found; no writes either way.
    world.clear_calls();
    let out = world.run(&["rm", "dev-b", "--yes"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "`dev-b` is not onboarded");
    let out = world.run(&["rm", "dev-b", "--yes", "--ignore-not-found"]);
    out.assert_ok();
    assert_contains!(out.stdout, "Nothing to remove");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_provider_it_did_not_create_is_never_deleted() {
    let world = World::new();
    world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["sts.amazonaws.com"]),
    );
    add(&world, CLUSTER, "ai-pods", "km");
    assert_eq!(list_json(&world)["clusters"][0]["provider"], "pre-existing");
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert_contains!(out.stdout, "never deleted");
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    assert!(
        !world
            .writes()
            .iter()
            .any(|w| w.contains("DeleteOpenIDConnectProvider"))
    );
}

#[test]
fn rm_plans_by_default_and_detaches_everything_when_applied() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    world.clear_calls();
    let out = world.run(&["rm", CLUSTER]);
    out.assert_ok();
    assert_contains!(out.stdout, &format!("detach policy {OPERATOR_POLICY}"));
    assert_contains!(out.stdout, "Dry run");
    assert_eq!(world.writes(), Vec::<String>::new());

    // An inline policy someone added does not block removal.
    world.block_on(async {
        world
            .klanker
            .iam
            .put_role_policy()
            .role_name(ROLE)
            .policy_name("extra")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)
            .send()
            .await
            .expect("put inline policy")
    });
    let out = world.run(&["rm", CLUSTER, "--dry-run=false", "-o", "json"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["applied"], true);
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(
        world.writes().contains(&"iam:DeleteRolePolicy".to_string()),
        "{:?}",
        world.writes()
    );
}

#[test]
fn rm_refuses_a_role_it_did_not_create() {
    let world = World::new();
    world.block_on(world.klanker.create_foreign_role("km-cluster-foreign"));
    world.clear_calls();
    let out = world.run(&["rm", "foreign", "--yes"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "was not created by kubectl-klanker-trust");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(
        world
            .block_on(world.klanker.role("km-cluster-foreign"))
            .is_some()
    );
}

#[test]
fn rm_cleans_iam_when_the_cluster_is_unreachable() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    world.kube.stop();
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    // The cluster part could not be done: exit 3, not 0 (issue 16, item 3).
    out.assert_code(3);
    assert_contains!(out.stdout, "could not read the cluster");
    assert_contains!(out.stdout, "ServiceAccount was not removed");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(names(&list_json(&world)).is_empty());
    // (When the cluster is back, the next `rm` finishes: see
    // rm_without_the_cluster_exits_3_keeps_the_entry_pending_and_a_rerun_finishes.)
}

/// The cluster unreachable without stopping it: every request to the API
/// server is dropped unanswered (the server never sees it), until cleared.
fn cut_off(world: &World) {
    for method in ["GET", "PATCH", "POST", "PUT", "DELETE"] {
        world.kube.inject(method, "/", KubeFault::Drop, usize::MAX);
    }
}

fn pending_mark(world: &World) -> serde_yaml::Value {
    let config = world.km_config_yaml();
    let entries = config["clusters"].as_sequence().expect("clusters").clone();
    assert_eq!(entries.len(), 1, "{config:?}");
    assert_eq!(entries[0]["name"].as_str(), Some(CLUSTER));
    assert_eq!(entries[0]["role_arn"].as_str(), Some(ROLE_ARN));
    entries[0]["pending"].clone()
}

/// Issue 16, item 3: with the cluster unreachable, `rm --yes` removes the IAM
/// side, keeps the km-config.yaml entry marked pending and exits 3; `list`
/// shows it pending; a rerun while the cluster is still away changes nothing
/// and exits 3 again; once the cluster answers, `rm` deletes the
/// ServiceAccount it created, then the entry.
#[test]
fn rm_without_the_cluster_exits_3_keeps_the_entry_pending_and_a_rerun_finishes() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    cut_off(&world);
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_code(3);
    assert!(
        out.stderr
            .contains("`dev-use1-0` is not removed completely")
            && out
                .stderr
                .contains("rm dev-use1-0` again against that cluster's context")
            && out.stderr.contains("keeps its entry, marked pending"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("local   update    km-config.yaml entry dev-use1-0: kept, marked pending"),
        "{}",
        out.stdout
    );
    assert!(
        world
            .block_on(world.klanker.role("km-cluster-dev-use1-0"))
            .is_none()
    );
    assert!(world.block_on(world.klanker.providers()).is_empty());
    let mark = pending_mark(&world);
    assert_eq!(mark["part"].as_str(), Some("cluster"), "{mark:?}");
    assert_eq!(mark["cluster"].as_str(), Some(CONTEXT), "{mark:?}");
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("still there");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        ROLE_ARN
    );

    // `list` shows it pending, not as a stale entry.
    let listing = list_json(&world);
    assert!(names(&listing).is_empty());
    assert_eq!(listing["pending_removal"][0]["name"], CLUSTER, "{listing}");
    assert_eq!(listing["pending_removal"][0]["namespace"], "ai-pods");
    assert!(
        !listing["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == CLUSTER),
        "{listing}"
    );
    let text = world.run(&["list"]);
    text.assert_ok();
    assert!(
        text.stdout.contains("Pending removal")
            && text
                .stdout
                .contains("dev-use1-0: ServiceAccount ai-pods/km"),
        "{}",
        text.stdout
    );
    let local = world.run(&["list", "--local", "-o", "json"]);
    local.assert_ok();
    assert!(
        local.stdout.contains("\"pending_removal\""),
        "{}",
        local.stdout
    );

    // Still unreachable: nothing more to do, no write, exit 3 again.
    world.clear_calls();
    let out = world.run(&["rm", CLUSTER, "--yes", "-o", "json"]);
    out.assert_code(3);
    let report: Value = serde_json::from_str(&out.stdout).expect("report JSON");
    assert_eq!(report["pending"]["part"], "cluster", "{report}");
    assert_eq!(report["pending"]["km_config_entry_kept"], true, "{report}");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(pending_mark(&world).is_mapping());

    // The cluster is back: the command `list` and the error printed, run as
    // printed (issue 26's test rule), first shows the plan and changes
    // nothing, then with --yes removes the ServiceAccount, then the entry.
    world.kube.clear_faults();
    let listed = world.run(&["list"]);
    let hint = listed
        .all()
        .lines()
        .find_map(|l| l.trim().strip_prefix("fix: kubectl klanker-trust "))
        .and_then(|rest| rest.split(" (against").next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no pending fix line:\n{}", listed.all()));
    // The same command the failed rm's error named (asserted above).
    assert_eq!(hint, format!("rm {CLUSTER}"));
    let printed: Vec<&str> = hint.split(' ').collect();
    world.clear_calls();
    let planned = world.run(&printed);
    planned.assert_ok();
    assert_contains!(
        planned.stdout,
        "cluster delete    ServiceAccount ai-pods/km"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    let out = world.run(&[printed.as_slice(), &["--yes"]].concat());
    out.assert_ok();
    assert!(
        out.stdout
            .contains("cluster delete    ServiceAccount ai-pods/km"),
        "{}",
        out.stdout
    );
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert_eq!(
        world.km_config_yaml()["clusters"],
        serde_yaml::Value::Sequence(vec![])
    );
    assert!(
        list_json(&world)["pending_removal"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    world.run(&["rm", CLUSTER, "--yes"]).assert_code(1);
}

/// A ServiceAccount the tool only annotated carries no label of ours: only
/// the kept entry names it, and the rerun releases it (this tool's
/// annotations go, the object and everything else on it stay).
#[test]
fn a_pending_removal_releases_a_service_account_it_did_not_create() {
    let world = World::new();
    world.kube.put_service_account(
        "ai-pods",
        serde_json::json!({"metadata": {"name": "km", "labels": {"team": "ml"}}}),
    );
    add(&world, CLUSTER, "ai-pods", "km");
    cut_off(&world);
    world.run(&["rm", CLUSTER, "--yes"]).assert_code(3);
    assert!(pending_mark(&world).is_mapping());

    world.kube.clear_faults();
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("remove this tool's annotations only"),
        "{}",
        out.stdout
    );
    let sa = world.kube.service_account("ai-pods", "km").expect("kept");
    assert!(
        sa["metadata"]["annotations"]
            .get("eks.amazonaws.com/role-arn")
            .is_none(),
        "{sa}"
    );
    assert_eq!(sa["metadata"]["labels"]["team"], "ml", "{sa}");
    assert_eq!(
        world.km_config_yaml()["clusters"],
        serde_yaml::Value::Sequence(vec![])
    );
}

/// A dry run with the cluster away is only a plan: exit 0, and it says the
/// entry would be kept pending.
#[test]
fn a_dry_run_without_the_cluster_plans_the_pending_mark_and_writes_nothing() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    cut_off(&world);
    world.clear_calls();
    let out = world.run(&["rm", CLUSTER, "--dry-run"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("kept, marked pending its cluster part"),
        "{}",
        out.stdout
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(pending_mark(&world).is_null());
}

#[test]
fn half_removed_onboarding_is_finished_by_running_rm_again() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    // The first rm leaves the ServiceAccount; role and km-config entry are gone,
    // so the second rm finds the ServiceAccount by its role annotation alone.
    world
        .run(&["rm", CLUSTER, "--yes", "--keep-service-account"])
        .assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_some());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert_contains!(out.stdout, "ServiceAccount ai-pods/km");
    assert!(world.kube.service_account("ai-pods", "km").is_none());
}

#[test]
fn rm_leaves_a_service_account_someone_else_now_points_elsewhere() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    let mut sa = world.kube.service_account("ai-pods", "km").unwrap();
    sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION] =
        "arn:aws:iam::333333333333:role/someone-else".into();
    world.kube.put_service_account("ai-pods", sa);
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    out.assert_ok();
    assert_contains!(out.stdout, "left alone");
    assert!(world.kube.service_account("ai-pods", "km").is_some());
}

#[test]
fn list_reports_drift_with_the_fix() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    // A stale km-config entry with no role, and a role with no km-config entry.
    let mut config = std::fs::read_to_string(world.km_config()).unwrap();
    config = config.replace("- name: dev-use1-0", "- name: ghost\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com\n  namespace: x\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-ghost\n- name: dev-use1-0");
    std::fs::write(world.km_config(), config).unwrap();
    // The provider deleted behind the tool's back.
    let provider = world.block_on(world.klanker.providers())[0].arn.clone();
    world.block_on(async {
        world
            .klanker
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&provider)
            .send()
            .await
            .expect("delete provider")
    });

    let listing = list_json(&world);
    assert_eq!(listing["clusters"][0]["provider"], "missing");
    let drift = listing["drift"].as_array().unwrap();
    assert!(
        drift
            .iter()
            .any(|d| d["name"] == "ghost" && d["fix"].as_str().unwrap().contains("rm ghost")),
        "{drift:?}"
    );
    assert!(
        drift
            .iter()
            .any(|d| d["name"] == CLUSTER && d["fix"].as_str().unwrap().contains("re-creates")),
        "{drift:?}"
    );

    let text = world.run(&["list"]);
    text.assert_ok();
    assert_contains!(text.stdout, "MISSING");
    assert_contains!(text.stdout, "Drift:");
    // The current context's cluster is marked.
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains(CLUSTER)),
        "{}",
        text.stdout
    );

    std::fs::remove_file(world.km_config()).unwrap();
    let listing = list_json(&world);
    assert!(
        listing["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["fix"].as_str().unwrap().contains("records it")),
        "{listing}"
    );
}

#[test]
fn list_local_reads_only_the_file() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    world.clear_calls();
    let out = world.run(&["list", "--local", "-o", "json"]);
    out.assert_ok();
    let listing: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listing["clusters"][0]["name"], CLUSTER);
    assert!(world.moto.calls().is_empty(), "{:?}", world.moto.calls());
    let out = world.run(&["list", "--local"]);
    out.assert_ok();
    assert_contains!(out.stdout, "IAM was not consulted");
}

/// 500 onboardings on 10 issuers among 2000 unrelated roles: the listing costs
/// a handful of paginated calls plus one GetRole per role whose description
/// names an onboarding (ListRoles returns no tags, and only tags prove an
/// onboarding), never one per unrelated role or per provider.
#[test]
fn list_stays_within_a_small_number_of_calls_for_a_large_account() {
    let world = World::new();
    let iam = world.klanker.iam.clone();
    let providers: Vec<String> = world.block_on(async {
        let mut arns = Vec::new();
        for i in 0..10 {
            let out = iam
                .create_open_id_connect_provider()
                .url(format!("https://oidc.example.com/id/ISSUER{i}"))
                .client_id_list("sts.amazonaws.com")
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key("klanker-trust/managed-by")
                        .value("kubectl-klanker-trust")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("provider");
            arns.push(out.open_id_connect_provider_arn.unwrap());
        }
        arns
    });
    world.block_on(
        stream::iter(0..2500)
            .map(|i| {
                let iam = iam.clone();
                let provider = providers[i % 10].clone();
                async move {
                    let request = if i < 500 {
                        let host = provider.split("oidc-provider/").nth(1).unwrap().to_string();
                        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {format!("{host}:sub"): "system:serviceaccount:ns:km", format!("{host}:aud"): "sts.amazonaws.com"}}}]});
                        let tag = |k: &str, v: String| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap();
                        iam.create_role()
                            .role_name(format!("km-cluster-c{i}"))
                            .description(format!("Managed by kubectl-klanker-trust: IRSA trust for cluster c{i} (ns/km); provider created by this tool"))
                            .assume_role_policy_document(trust.to_string())
                            .tags(tag("klanker-trust/managed-by", "kubectl-klanker-trust".into()))
                            .tags(tag("klanker-trust/name", format!("c{i}")))
                    } else {
                        iam.create_role()
                            .role_name(format!("unrelated-{i}"))
                            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
                    };
                    request.send().await.expect("create role");
                }
            })
            // moto's IAM is not thread-safe: with 16 writers in flight it
            // answered a CreateRole with a bare 500 under CI load. 4 keeps the
            // setup short without racing it.
            .buffer_unordered(4)
            .collect::<Vec<()>>(),
    );
    world.clear_calls();
    let listing = list_json(&world);
    assert_eq!(listing["clusters"].as_array().unwrap().len(), 500);
    assert!(
        listing["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["provider"] == "owned")
    );
    let calls = world.moto.calls();
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("ListRoles"), 3, "2500 roles in pages of 1000");
    assert_eq!(count("ListOpenIDConnectProviders"), 1);
    // Provider ownership comes from the role descriptions: no per-provider call.
    assert_eq!(count("GetOpenIDConnectProvider"), 0);
    // Proof of each onboarding: one GetRole per candidate, none for the 2000 others.
    assert_eq!(count("GetRole"), 500);
    // The account the profile's role_arn names is confirmed by STS, once,
    // beside the listing (issue 22, item 6).
    assert_eq!(count("GetCallerIdentity"), 1);
    assert!(calls.len() <= 507, "{} calls", calls.len());
}

/// A profile with static keys names no account: one GetCallerIdentity tells it.
#[test]
fn the_klanker_account_comes_from_sts_when_the_profile_does_not_name_it() {
    let world = World::new();
    world.clear_calls();
    let out = world.run(&["list", "--aws-profile", "base", "-o", "json"]);
    out.assert_ok();
    let listing: Value = serde_json::from_str(&out.stdout).unwrap();
    // moto puts calls with unknown static keys into its default account.
    assert_eq!(listing["klanker_account"], "123456789012");
    let calls = world.moto.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.action == "GetCallerIdentity")
            .count(),
        1
    );
}

#[test]
fn without_home_the_store_is_refused_not_put_in_the_current_directory() {
    let world = World::new();
    let cwd = world.path("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = world.run_cmd(
        world
            .kubectl()
            .env_remove("HOME")
            .env_remove("KM_CONFIG")
            .current_dir(&cwd)
            .args(["list", "--local"]),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.stderr, "HOME and XDG_CONFIG_HOME are both unset");
    assert_contains!(out.stderr, "--config PATH or set KM_CONFIG");
    assert!(
        !cwd.join("km").exists(),
        "a km/ directory was made in the current directory"
    );
}

#[test]
fn duplicate_km_config_names_are_drift_and_block_writes() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    let text = std::fs::read_to_string(world.km_config()).unwrap();
    let entry = text.split_once("clusters:\n").unwrap().1.to_string();
    let doubled = format!("{text}{entry}");
    std::fs::write(world.km_config(), &doubled).unwrap();
    let listing = list_json(&world);
    let drift = listing["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d["name"] == CLUSTER
            && d["problem"]
                .as_str()
                .unwrap()
                .contains("more than one `clusters:` entry")),
        "{listing}"
    );
    let out = world.run(&["rm", CLUSTER, "--yes"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.all(), "more than one `clusters:` entry named");
    assert_eq!(std::fs::read_to_string(world.km_config()).unwrap(), doubled);
}

/// `list` fits a terminal: role names and short issuers by default, full
/// ARNs with `-o wide`, names alone with `-o name`, `--no-headers`, and an
/// empty account says so without a header row (issue 15).
#[test]
fn list_fits_a_terminal_and_has_kubectls_shapes() {
    let world = World::new();
    let empty = world.run(&["list"]);
    empty.assert_ok();
    assert_lacks!(empty.stdout, "NAME");
    assert_contains!(empty.stdout, "No clusters are onboarded");

    add(&world, CLUSTER, "ai-pods", "km");
    let text = world.run(&["list"]);
    text.assert_ok();
    assert_contains!(text.stdout, ROLE);
    assert_contains!(text.stdout, "ai-pods/km");
    // The issuer is for `-o wide` (issue 26, item 9: the table fits 80 columns).
    assert_lacks!(text.stdout, "oidc.eks.");
    assert_lacks!(text.stdout, "arn:aws:iam::");
    let widest = text
        .stdout
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest <= 80, "{widest} columns:\n{}", text.stdout);

    let wide = world.run(&["list", "-o", "wide"]);
    assert_contains!(wide.stdout, ROLE_ARN);
    assert_contains!(wide.stdout, "https://oidc.eks.us-east-1.amazonaws.com/id/");

    let names = world.run(&["list", "-o", "name"]);
    names.assert_ok();
    assert_eq!(names.stdout, format!("{CLUSTER}\n"));

    let bare = world.run(&["list", "--no-headers"]);
    assert_eq!(bare.stdout.lines().count(), 1, "{}", bare.stdout);
    assert_contains!(bare.stdout, CLUSTER);
}

/// Two entries of one name (issue 22, item 17): `list --local` says so, and
/// `rm`, `verify` and `describe` refuse to guess which entry is meant,
/// before any call that changes something, naming the file and the name.
#[test]
fn a_doubled_km_config_name_is_flagged_locally_and_never_guessed() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    let text = std::fs::read_to_string(world.km_config()).unwrap();
    let entry = text.split_once("clusters:\n").unwrap().1.to_string();
    let doubled = format!("{text}{entry}");
    std::fs::write(world.km_config(), &doubled).unwrap();
    let said = format!(
        "{} has more than one `clusters:` entry named {CLUSTER}",
        world.km_config().display()
    );

    let local = world.run(&["list", "--local"]);
    local.assert_ok();
    assert_contains!(local.stdout, &said);
    let json = world.run(&["list", "--local", "-o", "json"]);
    json.assert_ok();
    let listing: Value = serde_json::from_str(&json.stdout).expect("list JSON");
    assert_eq!(listing["drift"][0]["name"], CLUSTER, "{listing}");

    world.clear_calls();
    for command in ["rm", "verify", "describe"] {
        let out = world.run(&[command, CLUSTER, "--yes"][..if command == "rm" { 3 } else { 2 }]);
        out.assert_code(1);
        assert_contains!(out.stderr, &said);
        assert_contains!(out.stderr, "Nothing was changed");
    }
    assert_eq!(world.writes(), Vec::<String>::new(), "a write was made");
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
    assert!(world.kube.service_account("ai-pods", "km").is_some());
    assert_eq!(std::fs::read_to_string(world.km_config()).unwrap(), doubled);
}

/// Other tools own every key of km-config.yaml but `clusters:` (issue 22,
/// item 14): `add` and `rm` rewrite that block alone, so comments, anchors,
/// quoting and `version: 1.10` stay byte for byte; through a symlink, the
/// lock and the rename happen beside the target and the link stays a link.
#[test]
fn add_and_rm_rewrite_only_the_clusters_block_of_km_config() {
    let world = World::new();
    let before = "# km settings: edited by hand\nversion: 1.10 # not 1.1\ndefaults: &defaults\n  region: us-east-1 # primary\n  quoted: 'single'\n";
    let clusters = "clusters: # written by kubectl-klanker-trust\n  []\n";
    let after = "# the km tool's own section\nprofiles:\n  main:\n    <<: *defaults\n    flags: [on, 0o17, ~]\n";
    let dotfiles = world.path("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("km-config.yaml");
    std::fs::write(&real, format!("{before}{clusters}{after}")).unwrap();
    std::os::unix::fs::symlink(&real, world.km_config()).unwrap();

    add(&world, CLUSTER, "ai-pods", "km");
    let written = std::fs::read_to_string(&real).unwrap();
    assert!(written.starts_with(before), "{written}");
    assert!(written.ends_with(after), "{written}");
    assert_contains!(written, &format!("clusters:\n- name: {CLUSTER}\n"));
    let link = std::fs::symlink_metadata(world.km_config()).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert!(real.with_extension("yaml.lock").exists());
    assert!(
        !world.km_config().with_extension("yaml.lock").exists(),
        "locked beside the link, not the file"
    );

    world.run(&["rm", CLUSTER, "--yes"]).assert_ok();
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        format!("{before}clusters: []\n{after}")
    );
}

/// A km-config.yaml whose `clusters:` block cannot be told apart (here a
/// flow-style top level) stops `add` before any write, naming the file,
/// rather than after the role was made (issue 22, item 14).
#[test]
fn a_km_config_that_cannot_be_spliced_stops_add_before_any_write() {
    let world = World::new();
    let text = "{version: 1.10, clusters: []} # the km tool's\n";
    std::fs::write(world.km_config(), text).unwrap();
    world.clear_calls();
    let out = world.add(&["--yes"]);
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        &format!(
            "{} cannot be rewritten without touching more than its `clusters:` key",
            world.km_config().display()
        )
    );
    assert_contains!(out.stderr, "Nothing was changed");
    assert_eq!(world.writes(), Vec::<String>::new(), "a write was made");
    assert_eq!(std::fs::read_to_string(world.km_config()).unwrap(), text);
}

/// Issue 26, items 5 and 9: the default table fits 80 columns with one
/// ServiceAccount, and the forms for programs (`--no-headers`, `-o name`)
/// hold only the rows on stdout, with the drift on stderr; JSON keeps the
/// drift in its document.
#[test]
fn list_for_programs_puts_only_rows_on_stdout_and_the_table_fits_80_columns() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    let text = world.run(&["list"]);
    text.assert_ok();
    let widest = text.stdout.lines().map(|l| l.chars().count()).max();
    assert!(widest <= Some(80), "{widest:?} columns:\n{}", text.stdout);
    assert_contains!(text.stdout, ROLE);

    // Drift: a km-config entry IAM does not have.
    let mut config = std::fs::read_to_string(world.km_config()).unwrap();
    config = config.replace("- name: dev-use1-0", "- name: ghost\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com\n  namespace: x\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-ghost\n- name: dev-use1-0");
    std::fs::write(world.km_config(), config).unwrap();

    let bare = world.run(&["list", "--no-headers"]);
    bare.assert_ok();
    assert_eq!(bare.stdout.lines().count(), 1, "{}", bare.stdout);
    assert!(bare.stdout.starts_with(CLUSTER), "{}", bare.stdout);
    assert_contains!(bare.stderr, "Drift:");
    assert_contains!(bare.stderr, "ghost");

    let names = world.run(&["list", "-o", "name"]);
    names.assert_ok();
    assert_eq!(names.stdout, format!("{CLUSTER}\n"));
    assert_contains!(names.stderr, "Drift:");
    assert_contains!(names.stderr, "ghost");

    let listing = list_json(&world);
    assert!(
        listing["drift"].as_array().is_some_and(|d| !d.is_empty()),
        "{listing}"
    );
}

/// Issue 26, item 14: the `rm` plan says one verb per step ("delete
/// inline policy …", not "delete    delete inline policy …").
#[test]
fn the_rm_plan_says_one_verb_for_an_inline_policy() {
    let world = World::new();
    add(&world, CLUSTER, "ai-pods", "km");
    world.block_on(async {
        world
            .klanker
            .iam
            .put_role_policy()
            .role_name(ROLE)
            .policy_name("extra")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)
            .send()
            .await
            .expect("put inline policy")
    });
    let out = world.run(&["rm", CLUSTER]);
    out.assert_ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("inline policy extra"))
        .unwrap_or_else(|| panic!("no inline policy step:\n{}", out.stdout));
    assert_eq!(line.matches("delete").count(), 1, "{line}");
    assert_contains!(line, &format!("inline policy extra of role {ROLE}"));
}
