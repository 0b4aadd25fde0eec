//! A fleet run (`add --all-contexts`) as its user sees it: on a real
//! terminal (tmux) one combined plan, one prompt, a bar per cluster while
//! applying and one MFA prompt for every account; without a terminal a
//! plain `NAME: step` line per step; and against the AWS peer, throttling
//! that slows the fleet without failing it, and a re-run that writes nothing.

use serde_json::json;

use crate::interactive::{Tmux, shell_command};
use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::awscli::write_config;
use crate::support::fleet::{FLEET_ACCOUNT, FLEET_PROFILE, Fleet};
use crate::support::moto::Call;
use crate::support::{AddArgs, ROLE, World};

const SIZE: usize = 4;
const PROMPT: &str = "Apply these changes?";
const TOTAL: &str = "Fleet: 4 cluster(s): 4 to change, 0 unchanged, 0 not planned.";
const MFA_PROMPT: &str = "MFA code for";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/admin";
const HUB_ROLE: &str = "arn:aws:iam::123456789012:role/admin-hub";

/// The summary table's row of `name`: its cells, split on whitespace.
fn summary_row<'a>(text: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let header = text.lines().position(|l| {
        l.split_whitespace().collect::<Vec<_>>() == ["NAME", "MODE", "ROLE", "RESULT"]
    })?;
    text.lines()
        .skip(header + 1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
}

/// Asserts every cluster has a summary row whose result is `result`, with
/// its own role.
#[track_caller]
fn assert_every_row(fleet: &Fleet, text: &str, result: &str) {
    for c in &fleet.clusters {
        let row = summary_row(text, &c.name)
            .unwrap_or_else(|| panic!("no summary row for {}:\n{text}", c.name));
        assert!(row.contains(&c.role_name().as_str()), "{row:?}\n{text}");
        assert_eq!(row[3..].join(" "), result, "{}'s result:\n{text}", c.name);
    }
}

/// The screen's progress-bar lines of cluster `name`: `NAME [n/m] ...`.
fn bar_lines<'a>(screen: &'a str, name: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|l| {
            let Some(rest) = l.strip_prefix(name).and_then(|r| r.strip_prefix(" [")) else {
                return false;
            };
            let Some((counter, _)) = rest.split_once(']') else {
                return false;
            };
            let Some((n, m)) = counter.split_once('/') else {
                return false;
            };
            n.parse::<u64>().is_ok() && m.parse::<u64>().is_ok_and(|m| m > 0)
        })
        .collect()
}

/// Whether cluster `name`'s one bar is full (`[m/m]`).
fn bar_full(screen: &str, name: &str) -> bool {
    bar_lines(screen, name).first().is_some_and(|line| {
        let counter = &line[name.len() + 2..line.find(']').unwrap_or(line.len())];
        counter.split_once('/').is_some_and(|(n, m)| n == m)
    })
}

/// The notes a plan starts with, on stderr, which carry the cluster's
/// prefix too (`NAME: OIDC provider auto-detected: creating`).
const PLAN_NOTES: [&str; 3] = [
    "OIDC provider auto-detected: ",
    "OIDC issuer discovered from the API server: ",
    "OIDC provider of the cluster's account ",
];

/// Lines of `text` that are plain progress lines (`NAME: ...`) of any
/// cluster, not its plan's notes.
fn plain_lines<'a>(fleet: &Fleet, text: &'a str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            fleet.clusters.iter().any(|c| {
                l.strip_prefix(&format!("{}: ", c.name))
                    .is_some_and(|rest| !PLAN_NOTES.iter().any(|n| rest.starts_with(n)))
            })
        })
        .collect()
}

fn calls_of(fleet: &Fleet, action: &str) -> Vec<Call> {
    fleet
        .world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == action)
        .collect()
}

/// On a terminal: the plans and their total, one prompt for the fleet, a
/// bar per cluster (`NAME [n/m] step`) while it applies, no plain lines,
/// then the summary table.
#[test]
fn a_terminal_shows_one_plan_one_prompt_a_bar_per_cluster_and_the_summary() {
    let fleet = Fleet::new(SIZE);
    let world = &fleet.world;
    let tmux = Tmux::start(
        world.dir.path(),
        &shell_command(world, &["add", "--all-contexts"]),
    );
    let screen = tmux.wait_for_prompt();
    assert_contains!(screen, TOTAL);
    for c in &fleet.clusters {
        assert_contains!(screen, &format!("role {}", c.role_name()));
    }
    assert_eq!(
        fleet.writes(),
        Vec::<String>::new(),
        "written before the answer"
    );

    // One cluster's role creation is held at the peer: the bars are drawn
    // while it waits, and the others finish meanwhile.
    let hang = world.moto.hang("CreateRole", world.dir.path());
    tmux.send_keys(&["y", "Enter"]);
    hang.wait_arrived();
    // Rows as drawn: each bar fills the pane's width, so joined lines
    // (`screen`) would run them together.
    let start = std::time::Instant::now();
    let held = loop {
        let rows = tmux.screen_rows();
        if fleet
            .clusters
            .iter()
            .all(|c| !bar_lines(&rows, &c.name).is_empty())
        {
            break rows;
        }
        assert_eq!(
            tmux.exit_code(),
            None,
            "exited while a call was held:\n{rows}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no bar per cluster while a call was held:\n{rows}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for c in &fleet.clusters {
        let lines = bar_lines(&held, &c.name);
        assert_eq!(lines.len(), 1, "{}'s bar lines {lines:?}:\n{held}", c.name);
    }
    // The other clusters are not held up by it: their bars fill while the
    // held one's does not (well within the 30s request timeout).
    let mut rows = held;
    loop {
        let full = fleet
            .clusters
            .iter()
            .filter(|c| bar_full(&rows, &c.name))
            .count();
        assert!(
            full < SIZE,
            "every bar full while a CreateRole was held:\n{rows}"
        );
        if full == SIZE - 1 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the other clusters did not finish while one was held:\n{rows}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        rows = tmux.screen_rows();
    }
    assert_eq!(
        tmux.exit_code(),
        None,
        "exited while a call was held:\n{rows}"
    );
    hang.release();

    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        screen.matches(PROMPT).count(),
        1,
        "one prompt for the fleet:\n{screen}"
    );
    assert_eq!(screen.matches(TOTAL).count(), 1, "{screen}");
    assert_every_row(&fleet, &screen, "applied");
    assert_eq!(
        plain_lines(&fleet, &screen),
        Vec::<&str>::new(),
        "plain progress lines on a terminal:\n{screen}"
    );
    for i in 0..SIZE {
        assert!(fleet.role(i).is_some(), "{}'s role", fleet.clusters[i].name);
    }
}

/// Without a terminal (stderr a pipe) each step is a plain line on stderr
/// prefixed with its cluster's name; no bar's escape sequences.
#[test]
fn without_a_terminal_each_step_is_a_plain_line_prefixed_with_its_cluster() {
    let fleet = Fleet::new(SIZE);
    let out = fleet.world.run(&["add", "--all-contexts", "--yes"]);
    out.assert_ok();
    assert_every_row(&fleet, &out.stdout, "applied");
    let lines = plain_lines(&fleet, &out.stderr);
    for c in &fleet.clusters {
        let own = format!("{}: ", c.name);
        let mine: Vec<&&str> = lines.iter().filter(|l| l.starts_with(&own)).collect();
        assert!(mine.len() > 1, "{} has {mine:?}:\n{}", c.name, out.stderr);
        let role = format!("{}: role {} ", c.name, c.role_name());
        assert!(
            mine.iter().any(|l| l.starts_with(&role)),
            "no {role:?} line:\n{}",
            out.stderr
        );
    }
    assert_lacks!(out.stderr, "\u{1b}[");
    // The progress is on stderr only: stdout holds plans and summary.
    assert_eq!(plain_lines(&fleet, &out.stdout), Vec::<&str>::new());
}

/// Every account's profile (klanker and both cluster accounts) assumes its
/// role from `mfa-hub`, one MFA device: a fleet run asks for its code
/// once, and the peer sees that code once.
#[test]
fn one_mfa_prompt_serves_every_account_of_the_fleet() {
    let fleet = Fleet::new(SIZE);
    let world = &fleet.world;
    write_config(
        world,
        &format!(
            "[profile base]\nregion = us-east-1\n\n\
             [profile mfa-hub]\nrole_arn = {HUB_ROLE}\nsource_profile = base\nmfa_serial = {SERIAL}\nregion = us-east-1\n\n\
             [profile klanker-application]\nrole_arn = arn:aws:iam::{KLANKER_ACCOUNT}:role/klanker-operator\nsource_profile = mfa-hub\nregion = us-east-1\n\n\
             [profile cluster-admin]\nrole_arn = arn:aws:iam::{CLUSTER_ACCOUNT}:role/cluster-admin\nsource_profile = mfa-hub\nregion = us-east-1\n\n\
             [profile {FLEET_PROFILE}]\nrole_arn = arn:aws:iam::{FLEET_ACCOUNT}:role/cluster-admin\nsource_profile = mfa-hub\nregion = us-east-1\n"
        ),
    );
    let tmux = Tmux::start(
        world.dir.path(),
        &shell_command(world, &["add", "--all-contexts", "--yes"]),
    );
    let screen = tmux.wait_for("the MFA prompt", |tmux, screen| {
        assert!(
            tmux.exit_code().is_none(),
            "the plugin exited before asking:\n{screen}"
        );
        screen.contains(MFA_PROMPT)
    });
    assert_contains!(screen, SERIAL);
    tmux.send_keys(&["271828", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        screen.matches(MFA_PROMPT).count(),
        1,
        "asked more than once:\n{screen}"
    );
    assert_lacks!(screen, "271828");
    assert_every_row(&fleet, &screen, "applied");

    let assumed = calls_of(&fleet, "AssumeRole");
    let with_code: Vec<&Call> = assumed
        .iter()
        .filter(|c| c.params.get("TokenCode").map(String::as_str) == Some("271828"))
        .collect();
    assert_eq!(
        with_code.len(),
        1,
        "the code was sent {} times: {assumed:#?}",
        with_code.len()
    );
    assert_eq!(
        with_code[0].params.get("SerialNumber").map(String::as_str),
        Some(SERIAL)
    );
    let hub = assumed
        .iter()
        .filter(|c| c.params.get("RoleArn").map(String::as_str) == Some(HUB_ROLE))
        .count();
    assert_eq!(hub, 1, "the MFA role assumed {hub} times: {assumed:#?}");
    // Each of the three accounts' roles was reached through it.
    for role in [
        format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/klanker-operator"),
        format!("arn:aws:iam::{CLUSTER_ACCOUNT}:role/cluster-admin"),
        format!("arn:aws:iam::{FLEET_ACCOUNT}:role/cluster-admin"),
    ] {
        assert!(
            assumed
                .iter()
                .any(|c| c.params.get("RoleArn") == Some(&role)),
            "{role} never assumed: {assumed:#?}"
        );
    }
}

/// Six throttled CreateRole answers in a row: the fleet's retries (the
/// SDK's adaptive mode, 10 attempts) ride them out, every cluster applied.
#[test]
fn throttling_slows_the_fleet_without_failing_it() {
    let throttle = json!([{"action": "CreateRole", "fault": "throttle", "from": 1, "count": 6}]);
    let fleet = Fleet::new(SIZE);
    fleet.world.moto.inject(throttle.clone());
    let out = fleet
        .world
        .run(&["add", "--all-contexts", "--yes", "--parallel", "4"]);
    out.assert_ok();
    assert_every_row(&fleet, &out.stdout, "applied");
    for i in 0..SIZE {
        assert!(fleet.role(i).is_some(), "{}'s role", fleet.clusters[i].name);
    }
    let creates = calls_of(&fleet, "CreateRole").len();
    assert!(
        creates >= SIZE + 6,
        "{creates} CreateRole calls: the 6 throttled ones were not all retried\n{}",
        out.all()
    );

    // The control: one cluster, standard retry (5 attempts), the same
    // fault: its role's step gives up after 5 throttled attempts.
    let world = World::new();
    world.moto.inject(throttle);
    let single = world.add(&["--yes"]);
    let attempts = world
        .moto
        .calls()
        .iter()
        .filter(|c| c.action == "CreateRole")
        .count();
    // Its provider was created before the role's step gave up: part-way (3).
    single.assert_code(3);
    assert_eq!(attempts, 5, "{}", single.all());
    assert_contains!(
        single.stderr,
        "iam:CreateRole failed in the klanker account (Throttling)"
    );
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
}

/// A fleet already onboarded: the same run again changes nothing, says
/// `unchanged` for every cluster, and writes nothing anywhere.
#[test]
fn an_idempotent_fleet_rerun_writes_nothing() {
    let fleet = Fleet::new(SIZE);
    let args = AddArgs::new().arg("--all-contexts").yes();
    fleet.world.run(&args).assert_ok();
    fleet.clear_calls();

    let out = fleet.world.run(&args);
    out.assert_ok();
    assert_contains!(
        out.stdout,
        "Fleet: 4 cluster(s): 0 to change, 4 unchanged, 0 not planned."
    );
    assert_every_row(&fleet, &out.stdout, "unchanged");
    assert_eq!(fleet.writes(), Vec::<String>::new(), "{}", out.all());
}
