//! `add` against the account quotas it reads from Service Quotas (the AWS
//! peer answers IAM's, tests/support/service_quotas.py): OIDC providers per
//! account, and the role trust policy's length.

use serde_json::json;

use crate::support::aws_peer::{Account, KLANKER_ACCOUNT};
use crate::support::{AddArgs, ROLE, World};

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
    // Each quota read once, in the klanker account (the trust's too: no
    // flag; the roles', since the role is new, beside the role's read).
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
            (TRUST_LENGTH.to_string(), klanker.clone()),
            (ROLES.to_string(), klanker)
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

const ROLES: &str = "L-FE177D64";

/// The roles `account` holds, as iam:GetAccountSummary counts them.
fn role_count(world: &World, account: &Account) -> usize {
    let summary = world
        .block_on(account.iam.get_account_summary().send())
        .expect("account summary");
    let roles = summary
        .summary_map()
        .and_then(|m| m.get(&aws_sdk_iam::types::SummaryKeyType::Roles))
        .copied()
        .expect("Roles in the summary");
    usize::try_from(roles).expect("a count")
}

/// Roles of another tool in `account` until it holds `count` (a quota
/// under 1 is no quota, so there is always one to count against).
fn fill_roles(world: &World, account: &Account, count: usize) {
    let have = role_count(world, account);
    let names: Vec<String> = (have..count).map(|i| format!("other-{i:04}")).collect();
    world.block_on(futures::future::join_all(
        names.iter().map(|name| account.create_foreign_role(name)),
    ));
    assert_eq!(role_count(world, account), count.max(have));
    world.clear_calls();
}

/// The GetAccountSummary calls of the run, by the account they counted.
fn summaries(world: &World) -> Vec<String> {
    world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "GetAccountSummary")
        .map(|c| c.account.unwrap_or_default())
        .collect()
}

#[test]
fn at_the_roles_quota_a_fresh_add_is_refused_before_any_write() {
    let world = World::new();
    fill_roles(&world, &world.klanker, 5);
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 5);
    let out = mirror_add(&world);
    out.assert_code(1);
    let all = out.all();
    assert_contains!(all, "the klanker account holds 5 IAM roles");
    assert_contains!(all, "quota 5 (applied)");
    assert_contains!(all, "role km-cluster-");
    assert_contains!(all, "quota increase (up to 5,000)");
    assert_eq!(world.writes(), Vec::<String>::new());
    // Counted once, in one call, in the account the role would be created in.
    assert_eq!(summaries(&world), [KLANKER_ACCOUNT.to_string()]);
}

#[test]
fn near_the_roles_quota_add_warns_applies_and_a_re_run_does_not_count() {
    let world = World::new();
    fill_roles(&world, &world.klanker, 9);
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 10);
    let out = mirror_add(&world);
    out.assert_ok();
    assert_contains!(
        out.all(),
        "the klanker account holds 9 IAM roles, quota 10 (applied) (L-FE177D64): this add creates 1, 10 in all"
    );
    assert_eq!(role_count(&world, &world.klanker), 10);
    // km-config.yaml records the role: the re-run, which creates none,
    // neither counts the roles nor reads their quota.
    world.clear_calls();
    mirror_add(&world).assert_ok();
    assert_eq!(summaries(&world), Vec::<String>::new());
    assert!(world.writes().is_empty(), "{:?}", world.writes());
}

#[test]
fn a_recorded_role_found_missing_is_counted_before_it_is_created_again() {
    let world = World::new();
    mirror_add(&world).assert_ok();
    // Deleted behind the tool's back (km-config.yaml still records it),
    // with the account then full.
    let iam = &world.klanker.iam;
    world.block_on(async {
        let attached = iam.list_attached_role_policies().role_name(ROLE).send();
        for p in attached.await.expect("attached").attached_policies() {
            let arn = p.policy_arn().unwrap_or_default();
            let detach = iam.detach_role_policy().role_name(ROLE).policy_arn(arn);
            detach.send().await.expect("detach");
        }
        iam.delete_role()
            .role_name(ROLE)
            .send()
            .await
            .expect("delete role");
    });
    fill_roles(&world, &world.klanker, 3);
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 3);
    let out = mirror_add(&world);
    out.assert_code(1);
    assert_contains!(out.all(), "holds 3 IAM roles");
    assert_eq!(summaries(&world), [KLANKER_ACCOUNT.to_string()]);
    assert!(world.writes().is_empty(), "{:?}", world.writes());
}

#[test]
fn a_denied_roles_quota_read_assumes_the_default_and_says_so() {
    let world = World::new();
    // Full at its applied quota, which the identity may not read: the
    // default (1,000) is used, so the add goes ahead, near it, and says which.
    fill_roles(&world, &world.klanker, 900);
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 900);
    world
        .moto
        .inject(json!([{"action": "GetServiceQuota", "fault": "error",
        "status": 400, "code": "AccessDeniedException", "message": "not allowed", "count": 10}]));
    let out = mirror_add(&world);
    out.assert_ok();
    assert_contains!(
        out.all(),
        "holds 900 IAM roles, quota 1000 (the default: servicequotas:GetServiceQuota was refused)"
    );
    assert_eq!(role_count(&world, &world.klanker), 901);
}

#[test]
fn a_denied_account_summary_skips_the_roles_check_and_says_so() {
    let world = World::new();
    fill_roles(&world, &world.klanker, 3);
    // The quota would refuse it, were the roles counted.
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 3);
    world
        .moto
        .inject(json!([{"action": "GetAccountSummary", "fault": "error",
        "status": 403, "code": "AccessDenied", "message": "not allowed", "count": 10}]));
    let out = mirror_add(&world);
    out.assert_ok();
    assert_contains!(
        out.all(),
        "the klanker account's roles were not counted (iam:GetAccountSummary was refused)"
    );
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
}

#[test]
fn chained_add_is_judged_against_the_cluster_accounts_roles_quota() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    fill_roles(&world, &world.cluster, 4);
    world.set_applied_quota(crate::support::aws_peer::CLUSTER_ACCOUNT, ROLES, 4);
    let chained = AddArgs::cluster()
        .service_account("km")
        .flag("--mode", "chained")
        .arg("--yes");
    let out = world.run(&chained);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "the cluster account holds 4 IAM roles, against its quota 4 (applied)"
    );
    assert_contains!(out.all(), "role km-irsa-");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_fleet_over_the_roles_quota_is_refused_up_front() {
    let fleet = crate::support::fleet::Fleet::new(4);
    let world = &fleet.world;
    // 4 new klanker roles, room for 2: each cluster alone would fit.
    fill_roles(world, &world.klanker, 1);
    world.set_applied_quota(KLANKER_ACCOUNT, ROLES, 3);
    fleet.clear_calls();
    let out = world.run(&["add", "--all-contexts", "--yes"]);
    out.assert_code(1);
    assert_contains!(
        out.stderr,
        format!("account {KLANKER_ACCOUNT} holds 1 IAM roles, against its quota 3 (applied)")
    );
    assert_contains!(out.stderr, "would create 4 new ones: only 2 fit");
    assert_contains!(out.stderr, "Nothing was changed");
    assert!(fleet.writes().is_empty(), "{:?}", fleet.writes());
}
