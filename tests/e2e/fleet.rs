//! `add` over a fleet (issue 24), end to end on clusters in two cluster
//! accounts and two regions, each with its own issuer and API server
//! (tests/support/fleet.rs): the exact state after one run (each role
//! trusts its own cluster's provider only), credentials resolved once per
//! account, a broken context beside good ones, the batch judged against
//! the provider quota before any write, two contexts of one name, a
//! pattern, and `rm`/`verify` of many names.

use serde_json::{Value, json};

use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::fleet::{Fleet, NAMESPACE};
use crate::support::moto::Call;
use crate::support::{Outcome, ROLE_ARN_ANNOTATION};

/// The summary row of `name` (the line of the table after its header
/// that starts with it).
fn row<'a>(out: &'a Outcome, name: &str) -> &'a str {
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with("NAME "))
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no summary row for {name}:\n{}", out.stdout))
}

/// The one statement of cluster `i`'s role: Federated, and its `sub`.
fn trusted(fleet: &Fleet, i: usize) -> (Value, Value) {
    let role = fleet.role(i).expect("role exists");
    let statements = role.trust_policy["Statement"].as_array().cloned().unwrap();
    assert_eq!(statements.len(), 1, "{}", role.trust_policy);
    let s = &statements[0];
    let sub = s["Condition"]["StringEquals"]
        .as_object()
        .and_then(|c| c.iter().find(|(k, _)| k.ends_with(":sub")))
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null);
    (s["Principal"]["Federated"].clone(), sub)
}

#[test]
fn one_run_onboards_every_cluster_each_trusting_only_its_own_issuer() {
    let fleet = Fleet::new(5);
    let out = fleet.world.run(&["add", "--all-contexts", "--yes"]);
    out.assert_ok();
    // Before the test's own reads below.
    reads_of_the_account_were_made_once(&fleet);
    assert_contains!(
        out.stdout,
        "Fleet: 5 cluster(s): 5 to change, 0 unchanged, 0 not planned."
    );
    for (i, cluster) in fleet.clusters.iter().enumerate() {
        // Each plan's own notes on stderr say which cluster they are of.
        let note = format!("{}: OIDC provider auto-detected: creating", cluster.name);
        assert_contains!(out.stderr, &note);
        assert!(
            row(&out, &cluster.name).ends_with("applied"),
            "{}",
            out.stdout
        );
        let (federated, sub) = trusted(&fleet, i);
        assert_eq!(federated, json!(fleet.provider_arn(i)));
        assert_eq!(sub, json!(format!("system:serviceaccount:{NAMESPACE}:km")));
        let sa = fleet
            .service_account(i, NAMESPACE, "km")
            .expect("ServiceAccount");
        assert_eq!(
            sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
            json!(cluster.role_arn())
        );
    }
    // The plan says once which identity acts in each account, both cluster accounts included.
    let acting = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Acting as"))
        .expect("an Acting as line");
    for account in ["222222222222", "444444444444"] {
        assert_contains!(
            acting,
            &format!("arn:aws:sts::{account}:assumed-role/cluster-admin")
        );
    }
    assert_eq!(out.stdout.matches("Acting as").count(), 1, "{}", out.stdout);
    // One provider per issuer, none shared.
    let providers = fleet.world.block_on(fleet.world.klanker.providers());
    assert_eq!(providers.len(), 5, "{providers:?}");
    // Each account's credentials were resolved once, however many of its
    // clusters ran: the klanker role and the two cluster-admin roles.
    let assumed: Vec<String> = fleet
        .world
        .moto
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole")
        .map(|c| c.params.get("RoleArn").cloned().unwrap_or_default())
        .collect();
    let mut distinct = assumed.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(assumed.len(), 3, "{assumed:?}");
    assert_eq!(distinct.len(), 3, "{assumed:?}");
}

/// The klanker account's reads that do not depend on the cluster (who we
/// are, its providers, its policies, its roles' count and its quotas) are
/// made once for all of the fleet's plans; each cluster's own role is
/// read for it.
fn reads_of_the_account_were_made_once(fleet: &Fleet) {
    let klanker: Vec<Call> = (fleet.world.moto.calls().into_iter())
        .filter(|c| c.account.as_deref() == Some(KLANKER_ACCOUNT))
        .collect();
    let shared = [
        "GetCallerIdentity",
        "ListOpenIDConnectProviders",
        "GetPolicy",
        "GetAccountSummary",
        "GetServiceQuota",
    ];
    for action in shared {
        let asked: Vec<String> = (klanker.iter())
            .filter(|c| c.action == action)
            .map(|c| format!("{:?}", c.params))
            .collect();
        let mut distinct = asked.clone();
        distinct.sort();
        distinct.dedup();
        assert!(!asked.is_empty(), "no {action} in the klanker account");
        assert_eq!(
            asked.len(),
            distinct.len(),
            "{action} asked again: {asked:?}"
        );
    }
    let roles_read: std::collections::BTreeSet<&str> = (klanker.iter())
        .filter(|c| c.action == "GetRole")
        .filter_map(|c| c.params.get("RoleName").map(String::as_str))
        .collect();
    for cluster in &fleet.clusters {
        assert!(
            roles_read.contains(cluster.role_name().as_str()),
            "{roles_read:?}"
        );
    }
}

#[test]
fn a_broken_context_fails_alone_and_the_summary_says_how_to_converge() {
    let fleet = Fleet::new(4);
    fleet.delete_eks_cluster(2);
    fleet.clear_calls();
    let broken = &fleet.clusters[2];
    let out = fleet.world.run(&["add", "--all-contexts", "--yes"]);
    out.assert_code(3);
    for (i, cluster) in fleet.clusters.iter().enumerate() {
        match i {
            2 => assert!(fleet.role(i).is_none()),
            _ => {
                assert!(
                    row(&out, &cluster.name).ends_with("applied"),
                    "{}",
                    out.stdout
                );
                assert!(fleet.role(i).is_some());
            }
        }
    }
    // Its context could not be planned: it is named by its context.
    assert_contains!(out.stdout, &format!("{} was not planned", broken.context));
    assert_contains!(
        out.stdout,
        &format!(
            "converge: kubectl klanker-trust add --context {}",
            broken.context
        )
    );
    assert_contains!(out.stderr, "1 of 4 clusters did not succeed");
    // Nothing was written to the broken cluster.
    let kube_writes: Vec<String> = fleet
        .writes()
        .into_iter()
        .filter(|w| w.starts_with(&format!("kube:{}:", broken.name)))
        .collect();
    assert!(kube_writes.is_empty(), "{kube_writes:?}");
}

#[test]
fn a_batch_over_the_provider_quota_is_refused_before_any_write() {
    let fleet = Fleet::new(4);
    // 4 new providers, room for 2: each cluster alone would fit.
    fleet
        .world
        .set_applied_quota(KLANKER_ACCOUNT, "L-858F3967", 2);
    fleet.clear_calls();
    let out = fleet.world.run(&["add", "--all-contexts", "--yes"]);
    out.assert_code(1);
    assert_contains!(out.stderr, "would create 4 new ones: only 2 fit");
    assert_contains!(out.stderr, "Nothing was changed");
    assert!(fleet.writes().is_empty(), "{:?}", fleet.writes());
    // Narrowed to what fits, it goes ahead, warning that the account is then full.
    let pattern = format!("*{}*", fleet.clusters[1].account);
    let out = fleet.world.run(&[
        "add",
        "--all-contexts",
        "--context-pattern",
        &pattern,
        "--yes",
    ]);
    out.assert_ok();
    assert_contains!(out.stdout, "Fleet: 2 cluster(s)");
    assert_contains!(out.stdout, "these clusters create 2 more, 2 in all");
}

/// A second context (another name) for cluster 0's cluster and user.
fn add_alias_context(fleet: &Fleet, alias: &str) {
    let path = fleet.world.kubeconfig();
    let text = std::fs::read_to_string(&path).expect("kubeconfig");
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("kubeconfig YAML");
    let contexts = doc["contexts"].as_sequence_mut().expect("contexts");
    let mut copy = contexts[0].clone();
    copy["name"] = serde_yaml::Value::from(alias);
    contexts.push(copy);
    std::fs::write(&path, serde_yaml::to_string(&doc).unwrap()).expect("write kubeconfig");
}

#[test]
fn two_contexts_of_one_cluster_are_refused_before_any_write() {
    let fleet = Fleet::new(4);
    add_alias_context(&fleet, "alias-of-0");
    fleet.clear_calls();
    let out = fleet.world.run(&[
        "add",
        "--context",
        &fleet.clusters[0].context,
        "--context",
        &fleet.clusters[1].context,
        "--context",
        "alias-of-0",
        "--yes",
    ]);
    out.assert_code(2);
    assert_contains!(
        out.stderr,
        &format!("`{}` and `alias-of-0`", fleet.clusters[0].context)
    );
    assert_contains!(
        out.stderr,
        &format!("onboarded as `{}`", fleet.clusters[0].name)
    );
    assert!(fleet.writes().is_empty(), "{:?}", fleet.writes());
}

#[test]
fn rm_and_verify_take_many_names() {
    let fleet = Fleet::new(4);
    fleet
        .world
        .run(&["add", "--all-contexts", "--yes"])
        .assert_ok();
    let names: Vec<&str> = fleet.clusters.iter().map(|c| c.name.as_str()).collect();

    let out = fleet.world.run(&["verify", "--all"]);
    out.assert_ok();
    for name in &names {
        assert!(row(&out, name).ends_with("ok"), "{}", out.stdout);
    }
    // One trust widened by hand: that one is broken, the others still ok.
    let (federated, _) = trusted(&fleet, 1);
    let hand = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": federated},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"x:sub": "system:serviceaccount:other:km"}}}]});
    let klanker = &fleet.world.klanker;
    fleet
        .world
        .block_on(klanker.set_trust(&fleet.clusters[1].role_name(), &hand));
    let out = fleet
        .world
        .run(&["verify", names[0], names[1], "-o", "json"]);
    out.assert_code(3);
    let doc: Value = serde_json::from_str(&out.stdout).expect("one document");
    assert_eq!(doc["kind"], "FleetVerifyResult");
    assert_eq!(doc["clusters"][0]["result"], "ok");
    assert_eq!(doc["clusters"][1]["result"], "broken");
    assert_eq!(doc["clusters"][1]["report"]["ok"], false);

    fleet.clear_calls();
    let out = fleet
        .world
        .run(&["rm", names[2], names[3], "no-such-onboarding", "--yes"]);
    out.assert_code(3);
    assert!(row(&out, names[2]).ends_with("removed"), "{}", out.stdout);
    assert!(row(&out, names[3]).ends_with("removed"), "{}", out.stdout);
    assert!(
        row(&out, "no-such-onboarding").ends_with("failed"),
        "{}",
        out.stdout
    );
    assert!(fleet.role(2).is_none() && fleet.role(3).is_none());
    assert!(fleet.role(0).is_some() && fleet.role(1).is_some());
    assert!(fleet.service_account(2, NAMESPACE, "km").is_none());
}
