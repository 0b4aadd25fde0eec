//! `add` against the account quotas it reads from Service Quotas (the AWS
//! peer answers IAM's, tests/support/service_quotas.py): OIDC providers per
//! account, and the role trust policy's length.

use serde_json::json;

use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::{AddArgs, World};

const PROVIDERS: &str = "L-858F3967";

/// `count` providers of other issuers in the klanker account.
fn fill_providers(world: &World, count: usize) {
    let urls: Vec<String> = (0..count)
        .map(|i| format!("https://oidc.eks.us-east-1.amazonaws.com/id/OTHER{i:04}"))
        .collect();
    world
        .block_on(futures::future::join_all(urls.iter().map(|url| {
            world.klanker.create_provider(url, &["sts.amazonaws.com"])
        })));
    assert_eq!(world.block_on(world.klanker.providers()).len(), count);
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
    let asked: Vec<_> = world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "GetServiceQuota")
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        asked[0].params.get("QuotaCode").map(String::as_str),
        Some(PROVIDERS)
    );
    assert_eq!(asked[0].account.as_deref(), Some(KLANKER_ACCOUNT));
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
        "status": 400, "code": "AccessDeniedException", "message": "not allowed"}]));
    let out = mirror_add(&world);
    out.assert_code(1);
    assert_contains!(
        out.all(),
        "quota 100 (the default: servicequotas:GetServiceQuota was refused)"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}
