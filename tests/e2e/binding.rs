//! An onboarding is bound to its cluster: its issuer, its cluster account
//! and its cluster ARN, whatever the mode. A second `add` that would move
//! any of them is refused before any write, naming old and new, unless
//! `--rebind` is given (issue 22, item 1; and item 8's klanker account
//! as the cluster side).

use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{AddArgs, ROLE, World, aws_peer};

const ROLE_A: &str = "km-irsa-dev-use1-0";
const OTHER_ACCOUNT: &str = "444444444444";
const OTHER_ISSUER: &str = "https://oidc.other.example.com/id/OTHER";

fn chained_world() -> World {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    world.run(&chained()).assert_ok();
    world.clear_calls();
    world
}

fn chained() -> AddArgs<'static> {
    AddArgs::cluster()
        .flag("--mode", "chained")
        .arg("--dry-run=false")
}

#[test]
fn a_chained_onboarding_is_not_re_pointed_to_another_issuer_by_a_mirror_add() {
    let world = chained_world();
    let role_b_before = world.block_on(world.klanker.role(ROLE)).expect("role B");
    let args = AddArgs::cluster()
        .flag("--issuer-url", OTHER_ISSUER)
        .flag("--cluster-profile", "cluster-admin")
        .args(&["--no-verify", "--dry-run=false"]);
    let out = world.run(&args);
    out.assert_code(1);
    assert_contains!(out.stderr, "bound to another cluster");
    assert_contains!(out.stderr, &format!("-> {OTHER_ISSUER}"));
    assert_contains!(out.stderr, &world.issuer_host_path());
    assert_contains!(out.stderr, "--rebind");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    assert!(world.block_on(world.cluster.role(ROLE_A)).is_some());
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    assert_eq!(role_b.trust_policy, role_b_before.trust_policy);

    // Said explicitly, it moves, and says so loudly.
    let moved = world.run(&args.arg("--rebind"));
    moved.assert_ok();
    assert_contains!(moved.stdout, "--rebind: `dev-use1-0` moves");
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    assert_eq!(role_b.tags["klanker-trust/issuer"], OTHER_ISSUER);
}

#[test]
fn a_chained_onboarding_is_not_moved_to_another_cluster_account() {
    let world = chained_world();
    // A profile of another account, ready for chained mode (its boundary
    // exists), so that only the binding stands in the way.
    let other = world.block_on(aws_peer::account(&world.moto.url(), OTHER_ACCOUNT));
    world.block_on(other.create_policy("km-irsa-boundary"));
    let config = std::fs::read_to_string(world.path("aws-config")).unwrap();
    std::fs::write(
        world.path("aws-config"),
        format!("{config}\n[profile other-admin]\nrole_arn = arn:aws:iam::{OTHER_ACCOUNT}:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n"),
    )
    .unwrap();
    world.clear_calls();
    // Same issuer, named by flag so that no DescribeCluster ties the
    // cluster-side identity to the cluster's account.
    let issuer = format!("https://{}", world.issuer_host_path());
    let out = world.run(&chained().args(&[
        "--issuer-url",
        &issuer,
        "--cluster-profile",
        "other-admin",
        "--no-verify",
        // Not even a flag that re-points ServiceAccounts moves the binding.
        "--override-existing-serviceaccounts",
    ]));
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        &format!("cluster account {CLUSTER_ACCOUNT} -> {OTHER_ACCOUNT}")
    );
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    let role_b = world.block_on(world.klanker.role(ROLE)).expect("role B");
    assert_eq!(
        role_b.trust_policy["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{CLUSTER_ACCOUNT}:root")
    );
}

#[test]
fn a_mirror_onboarding_records_its_binding_and_a_rerun_keeps_it() {
    let world = World::new();
    world
        .run(&AddArgs::cluster().arg("--dry-run=false"))
        .assert_ok();
    let role = world.block_on(world.klanker.role(ROLE)).expect("role");
    assert_eq!(
        role.tags["klanker-trust/issuer"],
        format!("https://{}", world.issuer_host_path())
    );
    world.clear_calls();
    world
        .run(&AddArgs::cluster().arg("--dry-run=false"))
        .assert_ok();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn chained_mode_refuses_the_klanker_account_as_the_cluster_side() {
    let world = World::new();
    // Its boundary exists there, so that only the account stands in the way.
    world.block_on(world.klanker.create_policy("km-irsa-boundary"));
    world.clear_calls();
    let issuer = format!("https://{}", world.issuer_host_path());
    let out = world.run(&AddArgs::new().name("other").args(&[
        "--issuer-url",
        &issuer,
        "--mode",
        "chained",
        "--cluster-profile",
        "klanker-application",
        "--dry-run=false",
    ]));
    out.assert_code(2);
    assert_contains!(out.stderr, &format!("acts in account {KLANKER_ACCOUNT}"));
    assert_contains!(out.stderr, "the klanker account");
    assert_eq!(world.writes(), Vec::<String>::new(), "{}", out.all());
    assert!(world.block_on(world.klanker.providers()).is_empty());
}

#[test]
fn rm_and_verify_refuse_a_cluster_profile_of_another_account() {
    let world = chained_world();
    for command in [&["rm", "--yes"][..], &["verify"]] {
        let mut args = command.to_vec();
        args.extend([
            crate::support::CLUSTER,
            "--cluster-profile",
            "klanker-application",
        ]);
        let out = world.run(&args);
        assert_ne!(out.code, 0, "{command:?}: {}", out.all());
        assert_contains!(
            out.stderr,
            &format!(
                "acts in account {KLANKER_ACCOUNT}, but the cluster, and role {ROLE_A}, are in account {CLUSTER_ACCOUNT}"
            )
        );
        // verify's TokenRequest changes nothing; nothing else was sent.
        let writes: Vec<String> = world
            .writes()
            .into_iter()
            .filter(|w| !w.ends_with("/token"))
            .collect();
        assert_eq!(writes, Vec::<String>::new(), "{}", out.all());
    }
    assert!(world.block_on(world.cluster.role(ROLE_A)).is_some());
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
    assert_eq!(world.block_on(world.cluster.providers()).len(), 1);
}
