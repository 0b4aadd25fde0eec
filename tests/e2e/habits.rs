//! kubectl's habits (issue 15): `--dry-run=client|server|none`, the
//! `delete`/`get`/`ls` aliases, durations with units, `verify` with no
//! NAME, help that groups global flags, and a result that says what would
//! happen (dry run) or what to do next (applied).

use crate::support::{CLUSTER, World};

use crate::support::{ROLE, ROLE_ARN};

#[test]
fn dry_run_server_has_the_api_server_dry_run_the_writes_and_changes_nothing() {
    let world = World::new();
    let out = world.add(&["--dry-run=server"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("Server dry run (dryRun=All)")
            && out
                .stdout
                .contains("accepted: create ServiceAccount ai-pods/km"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("planned only"), "{}", out.stdout);
    let dry: Vec<_> = world
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.dry_run && r.path.contains("serviceaccounts"))
        .collect();
    assert_eq!(dry.len(), 1, "one dry-run apply of the ServiceAccount");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());

    // client: a plan only, the server is not asked to dry-run anything.
    world.clear_calls();
    let out = world.add(&["--dry-run=client"]);
    out.assert_ok();
    assert!(!out.stdout.contains("Server dry run"), "{}", out.stdout);
    assert!(world.kube.requests().iter().all(|r| !r.dry_run));
    assert_eq!(world.writes(), Vec::<String>::new());

    // none: applies, as --dry-run=false does.
    world.add(&["--dry-run=none"]).assert_ok();
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
    let out = world.add(&["--dry-run=sometimes"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("client, server, none"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_dry_run_says_what_would_be_created_and_an_applied_add_what_to_do_next() {
    let world = World::new();
    let out = world.add(&["--dry-run"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains(&format!("would create role: {ROLE_ARN}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("would create service account: ai-pods/km"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("role: ")),
        "a dry run must not print the role as if it existed:\n{}",
        out.stdout
    );

    let out = world.add(&["--yes"]);
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!("role: {ROLE_ARN}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("serviceAccountName: km"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("namespace `ai-pods`"), "{}", out.stdout);
    assert!(
        out.stdout.contains("must be restarted")
            && out
                .stdout
                .contains("IRSA is injected when a pod is created"),
        "{}",
        out.stdout
    );
    // The verification: a plain header, the checks, a one-line verdict.
    let (_, verification) = out
        .stdout
        .split_once("Verifying the trust chain:\n")
        .unwrap_or_else(|| panic!("no verification header:\n{}", out.stdout));
    assert!(verification.contains("OK   trust"), "{verification}");
    let verdict = verification
        .lines()
        .find(|l| l.starts_with("The trust chain"))
        .unwrap_or_else(|| panic!("no verdict:\n{verification}"));
    assert_eq!(verdict, "The trust chain works.");
}

/// `verify`'s report ends with the same one-line verdict as `add`'s
/// verification, naming the broken links.
#[test]
fn a_broken_chain_ends_with_the_broken_links() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    world
        .kube
        .admin(&["delete", "serviceaccount", "km", "-n", "ai-pods"], None);
    let out = world.run(&["verify", CLUSTER]);
    out.assert_code(4);
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("The trust chain is broken at: "),
        "{}",
        out.stdout
    );
}

#[test]
fn aliases_act_as_the_command_they_stand_for() {
    let world = World::new();
    let list = world.run(&["list", "--local"]);
    list.assert_ok();
    for alias in ["get", "ls"] {
        let out = world.run(&[alias, "--local"]);
        out.assert_ok();
        assert_eq!(out.stdout, list.stdout, "{alias}");
    }
    let rm = world.run(&["rm", "never-onboarded", "--yes"]);
    let delete = world.run(&["delete", "never-onboarded", "--yes"]);
    assert_eq!(rm.code, 1, "{}", rm.stderr);
    assert_eq!((delete.code, &delete.stderr), (rm.code, &rm.stderr));
    let help = world.run(&["--help"]);
    assert!(help.stdout.contains("[alias: delete]"), "{}", help.stdout);
    assert!(
        help.stdout.contains("[aliases: get, ls]"),
        "{}",
        help.stdout
    );
}

#[test]
fn durations_take_units_and_plain_seconds_and_the_bounds_still_apply() {
    let world = World::new();
    world
        .add(&[
            "--yes",
            "--session-duration",
            "2h",
            "--request-timeout",
            "30s",
        ])
        .assert_ok();
    let role = world.block_on(world.klanker.role(ROLE)).expect("role");
    assert_eq!(role.max_session, 7200);
    let sa = world.kube.service_account("ai-pods", "km").expect("sa");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/token-expiration"],
        "7200"
    );
    world.clear_calls();
    // Below IAM's floor: refused locally, naming the flag, before any write.
    let out = world.add(&["--yes", "--session-duration", "30m"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--session-duration"), "{}", out.stderr);
    assert!(out.stderr.contains("1800"), "{}", out.stderr);
    let out = world.add(&["--yes", "--session-duration", "soon"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("give seconds (3600) or a number with units (1h, 90m, 30s)"),
        "{}",
        out.stderr
    );
    let out = world.run(&["list", "--local", "--request-timeout", "1h"]);
    out.assert_code(2);
    assert!(out.stderr.contains("1s to 10m"), "{}", out.stderr);
    world
        .run(&["list", "--local", "--request-timeout", "45"])
        .assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn verify_with_no_name_verifies_the_current_contexts_cluster() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    let out = world.run(&["verify"]);
    out.assert_ok();
    assert!(
        out.stdout
            .starts_with(&format!("Verifying `{CLUSTER}` ({ROLE_ARN}):")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("The trust chain works."),
        "{}",
        out.stdout
    );

    // A context that is not EKS names no onboarding: ask for NAME.
    let kubeconfig = world.path("kind-kubeconfig");
    world.write_kubeconfig(
        &kubeconfig,
        "kind-lab",
        None,
        "token: not-a-secret-that-matters",
    );
    let out = world.run_cmd(world.kubectl().env("KUBECONFIG", &kubeconfig).arg("verify"));
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("context `kind-lab` is not an EKS cluster")
            && out.stderr.contains("Pass NAME"),
        "{}",
        out.stderr
    );
}

fn help(world: &World, args: &[&str]) -> String {
    let out = world.run(args);
    out.assert_ok();
    out.stdout
}

#[test]
fn help_lists_global_flags_under_their_own_heading_and_not_where_they_mean_nothing() {
    let world = World::bare();
    let add = help(&world, &["add", "--help"]);
    let (own, global) = add
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no global heading:\n{add}"));
    for flag in [
        "--kubeconfig",
        "--context",
        "--config",
        "--verbose",
        "--request-timeout",
    ] {
        assert!(
            global.contains(flag),
            "{flag} not under the heading:\n{add}"
        );
        assert!(
            !own.contains(&format!("{flag} ")) && !own.contains(&format!("{flag} <")),
            "{flag} among add's own:\n{add}"
        );
    }
    assert!(own.contains("--namespace"), "{add}");
    for sub in ["completion", "version"] {
        let text = help(&world, &[sub, "--help"]);
        assert!(
            !text.contains("--kubeconfig") && !text.contains("--context"),
            "{sub} --help lists global flags:\n{text}"
        );
        // Issue 26, item 6: nor the MFA code, which only AWS calls use.
        assert!(
            !text.contains("--mfa-code"),
            "{sub} --help lists --mfa-code:\n{text}"
        );
    }
    // KM_CONFIG is set in every world: the usage line must not show
    // --config as if it were required.
    let out = world.run(&["rm"]);
    out.assert_code(2);
    let usage = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or_else(|| panic!("no usage line:\n{}", out.stderr));
    assert!(!usage.contains("--config"), "{usage}");
    // ... and it is still honoured.
    std::fs::write(
        world.km_config(),
        "clusters:\n- name: from-env\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-from-env\n",
    )
    .unwrap();
    let out = world.run(&["list", "--local"]);
    out.assert_ok();
    assert!(out.stdout.contains("from-env"), "{}", out.stdout);
}

#[test]
fn rm_dry_run_server_has_the_api_server_dry_run_the_removal() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    world.clear_calls();
    world.kube.clear_requests();
    let out = world.run(&["rm", CLUSTER, "--dry-run=server"]);
    out.assert_ok();
    assert_contains!(out.stdout, "Server dry run (dryRun=All)");
    // Issue 26, item 14: the verb says it is a deletion.
    assert_contains!(out.stdout, "accepted: delete ServiceAccount ai-pods/km");
    let dry_deletes = world
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.dry_run && r.method == "DELETE")
        .count();
    assert_eq!(dry_deletes, 1, "one dry-run DELETE of the ServiceAccount");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.kube.service_account("ai-pods", "km").is_some());
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
}

/// `list | head -1`, `policy | head`: a reader that leaves ends the run
/// quietly, with 141 (128 + SIGPIPE) as the shell reports for git and
/// kubectl, never with a panic on stderr.
#[test]
fn a_reader_that_leaves_early_ends_the_run_quietly() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    let commands: [&[&str]; 4] = [
        &["list"],
        &["list", "-o", "json"],
        &["policy"],
        &["verify", CLUSTER],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().expect("pipe");
        // Gone before anything is written: every write to stdout fails
        // (EPIPE), whatever the timing.
        drop(reader);
        let out = world
            .kubectl()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run kubectl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}\n{stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error:"),
            "{args:?}: nothing to say when the reader left:\n{stderr}"
        );
    }
}

/// Issue 26, item 13: an applied `add` with three ServiceAccounts says
/// "Next:" and "restart" once, naming each ServiceAccount.
#[test]
fn the_next_steps_are_said_once_for_several_service_accounts() {
    let world = World::new();
    let out = world.add(&[
        "--yes",
        "--service-account",
        "km",
        "--service-account",
        "argocd-server",
        "--service-account",
        "ci:deployer",
        "--create-namespace",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.matches("Next:").count(), 1, "{}", out.stdout);
    assert_eq!(
        out.stdout.matches("must be restarted").count(),
        1,
        "{}",
        out.stdout
    );
    for name in ["km", "argocd-server", "deployer"] {
        assert_contains!(out.stdout, &format!("serviceAccountName: {name}\n"));
    }
}

/// Issue 26, item 14: `-v` logs each account's identity once.
#[test]
fn verbose_logs_each_identity_once() {
    let world = World::new();
    let out = world.add(&["-v", "--dry-run"]);
    out.assert_ok();
    for side in ["klanker account", "cluster account"] {
        let said = format!("[aws {side}] identity");
        let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains(&said)).collect();
        assert_eq!(lines.len(), 1, "{side}: {lines:#?}\n{}", out.stderr);
    }
}

/// Issue 26, item 14: a session duration out of IAM's range is echoed
/// with the units it was given in, and a bad ServiceAccount name gets one
/// rule, not two that disagree.
#[test]
fn refusals_echo_what_was_typed_and_say_one_rule() {
    let world = World::new();
    let out = world.add(&["--yes", "--session-duration", "13h"]);
    out.assert_code(2);
    assert_contains!(out.stderr, "--session-duration `13h` is not valid");
    assert_contains!(out.stderr, "that is 46800 seconds");
    let out = world.run(
        &crate::support::AddArgs::new()
            .yes()
            .service_account("bad_name!"),
    );
    out.assert_code(2);
    assert_contains!(
        out.stderr,
        "it contains `_`; ServiceAccount names hold only lower-case letters, digits, '-' and '.'"
    );
    assert_lacks!(out.stderr, "digits and '-' are allowed");
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// The lines of `screen` a reader sees wider than `width`: capture-pane -J
/// joins the terminal's own soft wraps, so a line the plugin did not wrap
/// comes back whole. A lone word (an ARN) may overflow: it is never split.
fn wider_than(screen: &str, width: usize) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| l.trim_end().chars().count() > width && l.trim().contains(' '))
        .collect()
}

#[test]
fn plan_steps_and_warnings_wrap_at_words_on_an_80_column_terminal() {
    use crate::interactive::{Tmux, shell_command};
    use crate::support::AddArgs;
    let world = World::new();
    let args = AddArgs::cluster()
        .service_account("ci:*")
        .arg("--allow-wide-trust")
        .dry_run();
    let tmux = Tmux::start_sized(world.dir.path(), &shell_command(&world, &args), 80);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("WARNING:"), "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("Plan for `"));
    let end = lines
        .iter()
        .position(|l| l.ends_with("change(s) to apply."));
    let (Some(start), Some(end)) = (start, end) else {
        panic!("no plan:\n{screen}")
    };
    let plan = lines[start..=end].join("\n");
    let wide = wider_than(&plan, 80);
    assert!(wide.is_empty(), "lines wider than 80: {wide:#?}\n{screen}");
    // A wrapped step hangs under its summary, past target and action words.
    let step = lines
        .iter()
        .position(|l| l.starts_with("  IAM") && l.contains("OIDC provider"))
        .unwrap_or_else(|| panic!("no provider step:\n{screen}"));
    assert!(
        lines[step + 1].starts_with(&" ".repeat(20)),
        "{:#?}",
        &lines[step..step + 2]
    );
}
