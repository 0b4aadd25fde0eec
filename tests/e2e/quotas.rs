//! `add` against the account quotas it reads from Service Quotas (the AWS
//! peer answers IAM's, tests/support/service_quotas.py): OIDC providers per
//! account, and the role trust policy's length.

use serde_json::json;

use crate::support::aws_peer::{Account, KLANKER_ACCOUNT};
use crate::support::{AddArgs, World};

const PROVIDERS: &str = "L-858F3967";

/// `count` providers of other issuers in the klanker account.
fn fill_providers(world: &World, count: usize) {
    fill_providers_of(world, &world.klanker, count);
}

/// `count` providers of other issuers in `account`.
fn fill_providers_of(world: &World, account: &Account, count: usize) {
    let urls: Vec<String> = (0..count)
        .map(|i| format!("https://oidc.eks.us-east-1.amazonaws.com/id/OTHER{i:04}"))
        .collect();
    world.block_on(futures::future::join_all(
        urls.iter()
            .map(|url| account.create_provider(url, &["sts.amazonaws.com"])),
    ));
    assert_eq!(world.block_on(account.providers()).len(), count);
    world.clear_calls();
}

fn mirror_add(world: &World) -> crate::support::Outcome {
    world.run(&AddArgs::cluster().service_account("km").arg("--yes"))
}

#[test]
fn at_the_provider_quota_mirror_add_is_refused_before_any_write() {
    let world = World::new();
    fill_providers(&world, 100);
    let out = mirror_add(&world);
    out.assert_code(1);
    let all = out.all();
    assert_contains!(all, "holds 100 OIDC providers");
    assert_contains!(all, "quota 100 (applied)");
    assert_contains!(all, "quota increase");
    assert_contains!(all, "--mode chained");
    assert_contains!(all, "--mode pod-identity");
    assert_eq!(world.writes(), Vec::<String>::new());
    // Each quota read once, in the klanker account (the trust's too: no flag).
    let mut asked: Vec<(String, String)> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "GetServiceQuota")
        .map(|c| {
            let code = c.params.get("QuotaCode").cloned().unwrap_or_default();
            (code, c.account.unwrap_or_default())
        })
        .collect();
    asked.sort();
    let klanker = KLANKER_ACCOUNT.to_string();
    assert_eq!(
        asked,
        [
            (PROVIDERS.to_string(), klanker.clone()),
            (TRUST_LENGTH.to_string(), klanker)
        ]
    );
}

#[test]
fn near_the_provider_quota_mirror_add_warns_and_applies() {
    let world = World::new();
    fill_providers(&world, 90);
    let out = mirror_add(&world);
    out.assert_ok();
    assert_contains!(out.all(), "holds 90 OIDC providers, quota 100 (applied)");
    assert_eq!(world.block_on(world.klanker.providers()).len(), 91);
}

#[test]
fn a_raised_provider_quota_is_read_and_used() {
    let world = World::new();
    world.set_applied_quota(KLANKER_ACCOUNT, PROVIDERS, 200);
    fill_providers(&world, 100);
    let out = mirror_add(&world);
    out.assert_ok();
    assert!(!out.all().contains("OIDC providers,"), "{}", out.all());
    assert_eq!(world.block_on(world.klanker.providers()).len(), 101);
}

#[test]
fn a_denied_quota_read_assumes_the_default_and_says_so() {
    let world = World::new();
    // Raised, but the identity may not read it: the default applies.
    world.set_applied_quota(KLANKER_ACCOUNT, PROVIDERS, 200);
    fill_providers(&world, 100);
    world
        .moto
        .inject(json!([{"action": "GetServiceQuota", "fault": "error",
        "status": 400, "code": "AccessDeniedException", "message": "not allowed", "count": 10}]));
    let out = mirror_add(&world);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "quota 100 (the default: servicequotas:GetServiceQuota was refused)"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

const TRUST_LENGTH: &str = "L-C07B4B0D";

/// `add --yes` trusting `count` ServiceAccounts: about 3,000 characters of
/// trust for 60, over the default quota and under a raised one.
fn add_many(world: &World, count: usize) -> crate::support::Outcome {
    let names: Vec<String> = (0..count).map(|i| format!("workload-{i:02}")).collect();
    let mut args = AddArgs::cluster().arg("--yes");
    for name in &names {
        args = args.service_account(name);
    }
    world.run(&args)
}

#[test]
fn a_raised_trust_quota_admits_a_larger_trust_without_the_flag() {
    let world = World::new();
    world.set_applied_quota(KLANKER_ACCOUNT, TRUST_LENGTH, 4096);
    let out = add_many(&world, 60);
    out.assert_ok();
    let role = world
        .block_on(world.klanker.role(crate::support::ROLE))
        .expect("role exists");
    let size = role
        .trust_policy
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    assert!((2048..4096).contains(&size), "trust of {size} characters");
}

#[test]
fn a_trust_over_the_default_quota_says_which_quota_refused_it() {
    let world = World::new();
    world.set_applied_quota(KLANKER_ACCOUNT, TRUST_LENGTH, 4096);
    world
        .moto
        .inject(json!([{"action": "GetServiceQuota", "fault": "error",
        "status": 400, "code": "AccessDeniedException", "message": "not allowed", "count": 10}]));
    let out = add_many(&world, 60);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "over the role trust policy quota 2048 (the default: servicequotas:GetServiceQuota was refused)"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn chained_add_is_judged_against_the_cluster_accounts_provider_quota() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    // The klanker account full does not matter: chained mode puts no provider there.
    fill_providers(&world, 100);
    fill_providers_of(&world, &world.cluster, 100);
    let chained = AddArgs::cluster()
        .service_account("km")
        .flag("--mode", "chained")
        .arg("--yes");
    let out = world.run(&chained);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "the cluster account holds 100 OIDC providers, at its quota 100 (applied)"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}
