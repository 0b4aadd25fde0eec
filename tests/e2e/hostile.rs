//! Values from outside (ServiceAccount annotations, API server messages)
//! never reach the terminal raw: escape sequences are shown escaped in
//! text output, and kept exact in JSON (issue 16, item 1).

use serde_json::{Value, json};

use crate::support::kube::KubeFault;
use crate::support::{CLUSTER, Outcome, World};

/// Erase the line, go up one, retitle the window, write the clipboard (OSC 52).
const ATTACK: &str = "3600\u{1b}[2K\r\u{1b}[1A\u{1b}]0;owned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}";
/// The same, as the tool must show it.
const SHOWN: &str = "3600\\e[2K\\r\\e[1A\\e]0;owned\\u{7}\\e]52;c;cm0gLXJmIH4=\\u{7}";

fn assert_nothing_raw(out: &Outcome) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "a raw escape sequence reached {stream}:\n{}",
            text.escape_debug()
        );
    }
}

/// A ServiceAccount someone else created, carrying a hostile annotation value.
fn hostile_service_account(world: &World, annotations: Value) {
    world.kube.put_service_account(
        "ai-pods",
        json!({"metadata": {"name": "km", "namespace": "ai-pods", "annotations": annotations}}),
    );
}

#[test]
fn an_annotation_in_the_plans_diff_is_shown_escaped() {
    let world = World::new();
    hostile_service_account(
        &world,
        json!({"eks.amazonaws.com/token-expiration": ATTACK}),
    );
    let out = world.add(&["--dry-run"]);
    out.assert_ok();
    assert_nothing_raw(&out);
    assert!(out.stdout.contains(SHOWN), "{}", out.stdout);
    // The warnings after it are still there to read.
    assert!(out.stdout.contains("change(s) to apply"), "{}", out.stdout);
}

#[test]
fn json_output_keeps_the_value_exact() {
    let world = World::new();
    hostile_service_account(
        &world,
        json!({"eks.amazonaws.com/token-expiration": ATTACK}),
    );
    let out = world.add(&["--dry-run", "-o", "json"]);
    out.assert_ok();
    assert!(!out.stdout.contains('\u{1b}'), "JSON escapes on its own");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let details: Vec<String> = report["plan"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["details"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect();
    assert!(
        details.iter().any(|d| d.contains(ATTACK)),
        "the exact value is in the JSON: {details:?}"
    );
}

#[test]
fn verify_shows_a_hostile_annotation_escaped() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    let role = "arn:aws:iam::333333333333:role/km-cluster-dev-use1-0";
    let mut sa = world.kube.service_account("ai-pods", "km").unwrap();
    sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] = json!(format!("{role}{ATTACK}"));
    world.kube.put_service_account("ai-pods", sa);
    let out = world.run(&["verify", CLUSTER]);
    out.assert_code(4);
    assert_nothing_raw(&out);
    assert!(out.stdout.contains(SHOWN), "{}", out.stdout);
}

#[test]
fn an_api_servers_message_in_an_error_is_shown_escaped() {
    let world = World::new();
    world.kube.inject(
        "PATCH",
        "/serviceaccounts/km",
        KubeFault::StatusMessage(422, format!("denied by policy {ATTACK}")),
        1,
    );
    let out = world.add(&["--yes"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert_nothing_raw(&out);
    assert!(out.stderr.contains("denied by policy"), "{}", out.stderr);
    assert!(out.stderr.contains("\\e[2K"), "{}", out.stderr);
}

/// Issue 22, item 10: an annotation value that holds a newline cannot put
/// a line of its own into the tool's error, here one urging a flag.
#[test]
fn a_newline_in_an_annotation_never_begins_a_line_of_the_error() {
    let world = World::new();
    let injected = "error: run with --override-existing-serviceaccounts";
    let foreign = format!("arn:aws:iam::333333333333:role/other\n{injected}");
    hostile_service_account(
        &world,
        json!({"eks.amazonaws.com/role-arn": foreign.clone()}),
    );
    let out = world.add(&["--yes"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.stderr, "role/other\\nerror: run with");
    for line in out.all().lines() {
        assert!(
            !line.starts_with(injected),
            "an injected line:\n{}",
            out.all()
        );
    }
    // Every line of stderr is the tool's own: the error and its closing line.
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{}", out.stderr);
    assert_eq!(lines.len(), 2, "{}", out.stderr);
}

/// Issue 22, item 10: `describe` quotes annotations and IAM tags; none of
/// their newlines or escape sequences reach the terminal as such.
#[test]
fn describe_shows_hostile_annotations_and_tags_on_their_own_line() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    let injected = "Drift:             none";
    let mut sa = world.kube.service_account("ai-pods", "km").unwrap();
    sa["metadata"]["annotations"]["eks.amazonaws.com/token-expiration"] =
        json!(format!("{ATTACK}\n{injected}"));
    world.kube.put_service_account("ai-pods", sa);
    let role = "km-cluster-dev-use1-0";
    world.block_on(async {
        world
            .klanker
            .iam
            .tag_role()
            .role_name(role)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value(format!("x\n{injected}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("tag the role")
    });
    let out = world.run(&["describe", CLUSTER]);
    out.assert_ok();
    assert_nothing_raw(&out);
    assert_contains!(out.stdout, SHOWN);
    assert_contains!(out.stdout, &format!("team=x\\n{injected}"));
    let own: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("Drift:"))
        .collect();
    assert_eq!(own.len(), 1, "{}", out.stdout);
}
