//! `add` over several contexts, on one cluster's world: what a fleet
//! refuses before any request, and one context that cannot be planned
//! beside one that can (the others go on; exit and summary say which).

use crate::support::{AddArgs, CLUSTER, CONTEXT, ROLE, World};

#[test]
fn single_cluster_flags_and_several_contexts_elsewhere_are_refused_before_any_request() {
    let world = World::new();
    for flag in [
        ["--name", "x"],
        ["--role-name", "r"],
        ["--cluster-role-name", "r"],
        ["--issuer-url", "https://oidc.example.com"],
    ] {
        let args = AddArgs::new()
            .flag("--context", CONTEXT)
            .flag("--context", "other")
            .args(&flag)
            .yes();
        let out = world.run(&args);
        out.assert_code(2);
        assert_contains!(out.stderr, flag[0]);
        assert_contains!(out.stderr, "cannot be given with 2 contexts");
    }
    let out = world.run(&["list", "--context", CONTEXT, "--context", "other"]);
    out.assert_code(2);
    assert_contains!(out.stderr, "only `add` works on several clusters");
    assert!(world.moto.calls().is_empty(), "{:?}", world.moto.calls());
    assert!(world.writes().is_empty());
}

#[test]
fn a_context_that_cannot_be_planned_leaves_the_others_to_finish_and_exits_3() {
    let world = World::new();
    let args = AddArgs::new()
        .namespace("ai-pods")
        .flag("--context", CONTEXT)
        .flag("--context", "no-such-context")
        .yes();
    let out = world.run(&args);
    out.assert_code(3);
    // The good cluster is onboarded in full.
    let role = world.block_on(world.klanker.role(ROLE));
    assert!(role.is_some(), "{}", out.all());
    // The summary: one row each, the failure's cause and the command that converges it.
    assert_contains!(out.stdout, "NAME");
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row(CLUSTER).ends_with("applied"), "{}", out.stdout);
    assert!(row("no-such-context").ends_with("failed"), "{}", out.stdout);
    assert_contains!(
        out.stdout,
        "converge: kubectl klanker-trust add --context no-such-context --namespace ai-pods"
    );
    assert!(!out.stdout.contains("--yes"), "{}", out.stdout);
    assert_contains!(
        out.stderr,
        "1 of 2 clusters did not succeed: no-such-context"
    );
}

#[test]
fn no_context_planned_is_bad_input_and_writes_nothing() {
    let world = World::new();
    let args = AddArgs::new()
        .flag("--context", "nope-1")
        .flag("--context", "nope-2")
        .yes();
    let out = world.run(&args);
    out.assert_code(2);
    assert_contains!(out.stderr, "no cluster could be planned");
    assert_contains!(out.stderr, "nope-1");
    assert_contains!(out.stderr, "nope-2");
    assert!(world.writes().is_empty());
}

#[test]
fn the_fleet_document_has_one_entry_per_context() {
    let world = World::new();
    let args = AddArgs::new()
        .namespace("ai-pods")
        .flag("--context", CONTEXT)
        .flag("--context", "no-such-context")
        .yes()
        .output("json");
    let out = world.run(&args);
    out.assert_code(3);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["kind"], "FleetAddResult");
    assert_eq!(doc["succeeded"], 1);
    assert_eq!(doc["failed"], 1);
    let clusters = doc["clusters"].as_array().expect("clusters");
    assert_eq!(clusters[0]["name"], CLUSTER);
    assert_eq!(clusters[0]["result"], "applied");
    assert_eq!(clusters[0]["report"]["role_name"], ROLE);
    assert_eq!(clusters[1]["context"], "no-such-context");
    assert_eq!(clusters[1]["result"], "failed");
    assert!(clusters[1]["error"].as_str().is_some_and(|e| !e.is_empty()));
}
