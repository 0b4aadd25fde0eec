//! Ctrl-C during a fleet run (`add --all-contexts --yes`): one press stops
//! every cluster between steps. The run exits 130, the summary still names
//! every cluster (the ones cut off `interrupted`, the finished ones
//! `applied`), no cluster starts a step after the press, and the same
//! command run again converges.

use std::time::{Duration, Instant};

use crate::support::fleet::{Fleet, NAMESPACE};
use crate::support::moto::Hang;
use crate::support::{Outcome, ROLE_ARN_ANNOTATION};

const SIZE: usize = 4;

/// The summary table's result of `name` (the cells after NAME MODE ROLE).
fn result_of(stdout: &str, name: &str) -> Option<String> {
    let header = stdout.lines().position(|l| {
        l.split_whitespace().collect::<Vec<_>>() == ["NAME", "MODE", "ROLE", "RESULT"]
    })?;
    stdout
        .lines()
        .skip(header + 1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
        .map(|cells| cells[3..].join(" "))
}

/// The cluster whose role's creation the peer holds: the first CreateRole
/// that arrived (the hang rule matches the first call of its action).
fn held_cluster(fleet: &Fleet) -> usize {
    let role = fleet
        .world
        .moto
        .calls()
        .into_iter()
        .find(|c| c.action == "CreateRole")
        .and_then(|c| c.params.get("RoleName").cloned())
        .expect("a CreateRole arrived");
    fleet
        .clusters
        .iter()
        .position(|c| c.role_name() == role)
        .unwrap_or_else(|| panic!("{role} is no cluster's role"))
}

/// Waits until every write at the peer and the API servers has stopped
/// coming for a second, and `ready` holds.
fn wait_quiet(fleet: &Fleet, ready: impl Fn() -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = fleet.writes();
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = fleet.writes();
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > Duration::from_secs(1) && ready() {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "the fleet never went quiet: {last:?}"
        );
    }
}

/// Ctrl-C to the plugin (kubectl execs it: the same process), once.
fn press_ctrl_c(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
}

/// Presses Ctrl-C while `hang` holds a call, then releases it once the
/// plugin has exited; the run's outcome, after asserting that nothing was
/// written after the press (`before`: every write until then).
fn interrupt(fleet: &Fleet, child: std::process::Child, hang: &Hang, before: &[String]) -> Outcome {
    press_ctrl_c(&child);
    let out = child.wait_with_output().expect("the plugin exits");
    hang.release();
    let out = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // The held call was recorded when it arrived, before the press.
    assert_eq!(
        fleet.writes(),
        before,
        "written after the press\n{}",
        out.all()
    );
    out
}

/// The same run again converges: exit 0, the clusters cut off `applied`,
/// the others `unchanged` (and not written), each onboarded.
fn rerun_converges(fleet: &Fleet, args: &[&str], cut_off: &[usize]) {
    fleet.world.moto.clear_faults();
    fleet.clear_calls();
    let out = fleet.world.run(args);
    out.assert_ok();
    let writes = fleet.writes();
    for (i, c) in fleet.clusters.iter().enumerate() {
        let want = if cut_off.contains(&i) {
            "applied"
        } else {
            "unchanged"
        };
        assert_eq!(
            result_of(&out.stdout, &c.name).as_deref(),
            Some(want),
            "{}'s result on the re-run:\n{}",
            c.name,
            out.all()
        );
        if !cut_off.contains(&i) {
            let own = format!("kube:{}:", c.name);
            assert!(
                !writes.iter().any(|w| w.starts_with(&own)),
                "{} written on the re-run: {writes:?}",
                c.name
            );
        }
        assert!(fleet.role(i).is_some(), "{}'s role", c.name);
        let sa = fleet
            .service_account(i, NAMESPACE, "km")
            .unwrap_or_else(|| panic!("{}'s ServiceAccount", c.name));
        assert_eq!(
            sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
            c.role_arn()
        );
    }
}

/// Every cluster applies at once; one's role creation is held at the peer
/// while the others finish. One Ctrl-C: the held one is `interrupted`, the
/// others `applied`, nothing is written after the press, and a re-run
/// finishes the held one.
#[test]
fn ctrl_c_stops_a_fleet_between_steps_and_the_summary_names_every_cluster() {
    let fleet = Fleet::new(SIZE);
    let world = &fleet.world;
    let args = ["add", "--all-contexts", "--yes"];
    let hang = world.moto.hang("CreateRole", world.dir.path());
    let child = world.spawn(&args);
    hang.wait_arrived();
    let held = held_cluster(&fleet);
    // The others run to their end while one call is held.
    let before = wait_quiet(&fleet, || {
        (0..SIZE)
            .filter(|&i| i != held)
            .all(|i| fleet.service_account(i, NAMESPACE, "km").is_some())
    });
    let out = interrupt(&fleet, child, &hang, &before);
    assert_eq!(out.code, 130, "{}", out.all());
    for (i, c) in fleet.clusters.iter().enumerate() {
        let want = if i == held { "interrupted" } else { "applied" };
        assert_eq!(
            result_of(&out.stdout, &c.name).as_deref(),
            Some(want),
            "{}'s result:\n{}",
            c.name,
            out.all()
        );
    }
    let held_name = &fleet.clusters[held].name;
    assert_contains!(out.stdout, &format!("{held_name} (interrupted):"));
    assert_contains!(out.stdout, "converge: kubectl klanker-trust add --context");
    assert_contains!(
        out.stderr,
        &format!("1 of {SIZE} clusters did not succeed: {held_name}")
    );
    rerun_converges(&fleet, &args, &[held]);
}

/// One cluster at a time (`--parallel 1`): Ctrl-C while the first one's
/// role creation is held. The clusters not yet started never start: none
/// of them is written, each is reported `interrupted`, and a re-run
/// onboards them all.
#[test]
fn ctrl_c_leaves_the_clusters_not_yet_started_untouched() {
    let fleet = Fleet::new(SIZE);
    let world = &fleet.world;
    let args = ["add", "--all-contexts", "--yes", "--parallel", "1"];
    let hang = world.moto.hang("CreateRole", world.dir.path());
    let child = world.spawn(&args);
    hang.wait_arrived();
    let held = held_cluster(&fleet);
    assert_eq!(held, 0, "the first context applies first");
    // Cluster 0's cluster-side steps may run beside its held IAM chain.
    let before = wait_quiet(&fleet, || true);
    let out = interrupt(&fleet, child, &hang, &before);
    assert_eq!(out.code, 130, "{}", out.all());
    for c in &fleet.clusters {
        assert_eq!(
            result_of(&out.stdout, &c.name).as_deref(),
            Some("interrupted"),
            "{}'s result:\n{}",
            c.name,
            out.all()
        );
    }
    // Nothing of the clusters after the first was written, anywhere.
    let writes = fleet.writes();
    for (i, c) in fleet.clusters.iter().enumerate().skip(1) {
        assert!(
            !writes
                .iter()
                .any(|w| w.starts_with(&format!("kube:{}:", c.name))),
            "{} written: {writes:?}",
            c.name
        );
        assert!(fleet.role(i).is_none(), "{}'s role exists", c.name);
    }
    assert_contains!(
        out.stderr,
        &format!("{SIZE} of {SIZE} clusters did not succeed")
    );
    rerun_converges(&fleet, &args, &[0, 1, 2, 3]);
}
