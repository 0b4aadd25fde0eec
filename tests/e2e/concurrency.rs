//! Runs at the same time: same name, one shared issuer, and twenty adds and
//! removes against one km-config.yaml.

use std::process::Child;

use crate::support::{AddArgs, ROLE, World};

#[track_caller]
fn all_succeed(children: Vec<Child>) {
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent run failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn two_adds_of_the_same_name_at_once_both_succeed_with_one_role() {
    let world = World::new();
    let add = AddArgs::cluster().yes();
    all_succeed(vec![world.spawn(&add), world.spawn(&add)]);
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    let role = world.block_on(world.klanker.role(ROLE)).expect("role");
    assert_eq!(role.attached.len(), 1);
    assert_eq!(
        world.km_config_yaml()["clusters"]
            .as_sequence()
            .unwrap()
            .len(),
        1
    );
    // And the result is the converged one: a third run changes nothing.
    world.clear_calls();
    world.run(&add).assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn two_names_on_one_issuer_at_once_create_one_provider() {
    let world = World::new();
    all_succeed(vec![
        world.spawn(
            &AddArgs::new()
                .name("a")
                .namespace("ai-pods")
                .service_account("sa-a")
                .yes(),
        ),
        world.spawn(
            &AddArgs::new()
                .name("b")
                .namespace("ai-pods")
                .service_account("sa-b")
                .yes(),
        ),
    ]);
    assert_eq!(world.block_on(world.klanker.providers()).len(), 1);
    assert!(world.block_on(world.klanker.role("km-cluster-a")).is_some());
    assert!(world.block_on(world.klanker.role("km-cluster-b")).is_some());
}

#[test]
fn twenty_concurrent_adds_and_removes_keep_km_config_exact() {
    let world = World::new();
    std::fs::write(
        world.km_config(),
        "operator:\n  image: km:1.2\nregion: eu-west-1\nclusters: []\n",
    )
    .unwrap();
    let add = |name: &str| {
        let sa = format!("sa-{name}");
        args(
            &AddArgs::new()
                .name(name)
                .namespace("ai-pods")
                .service_account(&sa)
                .yes()
                .arg("--no-verify"),
        )
    };
    all_succeed(
        (0..20)
            .map(|i| world.spawn(&add(&format!("c{i}"))))
            .collect(),
    );
    // Ten removals and ten new adds, all at once.
    let mut children: Vec<Child> = (0..10)
        .map(|i| world.spawn(&args(&["rm", &format!("c{i}"), "--yes"])))
        .collect();
    children.extend((0..10).map(|i| world.spawn(&add(&format!("n{i}")))));
    all_succeed(children);

    let config = world.km_config_yaml();
    let mut names: Vec<String> = config["clusters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (10..20)
        .map(|i| format!("c{i}"))
        .chain((0..10).map(|i| format!("n{i}")))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(config["operator"]["image"], "km:1.2");
    assert_eq!(config["region"], "eu-west-1");
    // IAM agrees with the file.
    let out = world.run(&["list", "-o", "json"]);
    out.assert_ok();
    let listing: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listing["clusters"].as_array().unwrap().len(), 20);
    assert_eq!(listing["drift"], serde_json::json!([]));
}

#[test]
fn a_corrupt_km_config_is_reported_and_never_overwritten() {
    let world = World::new();
    let corrupt = "clusters: [ {name: x\n";
    std::fs::write(world.km_config(), corrupt).unwrap();
    let out = world.run(&AddArgs::cluster().yes());
    out.assert_code(1);
    assert_contains!(out.stderr, "is not valid km-config YAML");
    assert_contains!(out.stderr, "left untouched");
    assert_eq!(std::fs::read_to_string(world.km_config()).unwrap(), corrupt);
    assert_eq!(
        world.writes(),
        Vec::<String>::new(),
        "checked before any write"
    );
}
