//! The fleet test world itself (tests/support/fleet.rs): the clusters are
//! where it says, apart from one another (issuer, EKS account and region,
//! API server), and today's single-cluster `add --context` onboards one of
//! them without touching the others. The fleet commands' tests stand on this.

use std::collections::HashSet;

use base64::Engine;

use crate::support::ROLE_ARN_ANNOTATION;
use crate::support::aws_peer::CLUSTER_ACCOUNT;
use crate::support::fleet::{FLEET_ACCOUNT, Fleet, REGIONS};

/// The fleet's smallest size that holds a second cluster in one (account, region).
const SIZE: usize = 5;

/// The index of the first cluster in `account` and `region`.
fn find(fleet: &Fleet, account: &str, region: &str) -> usize {
    fleet
        .clusters
        .iter()
        .position(|c| c.account == account && c.region == region)
        .unwrap_or_else(|| panic!("no cluster in {account}/{region}"))
}

/// The `iss` claim of a JWT, unverified (the API server made it).
fn jwt_issuer(token: &str) -> String {
    let payload = token.trim().split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims JSON");
    claims["iss"].as_str().expect("iss").to_string()
}

#[test]
fn each_cluster_has_its_own_issuer_and_lives_where_the_fleet_says() {
    let fleet = Fleet::new(SIZE);
    let issuers: HashSet<&str> = fleet.clusters.iter().map(|c| c.issuer.as_str()).collect();
    assert_eq!(issuers.len(), SIZE, "issuers shared: {issuers:?}");
    for account in [CLUSTER_ACCOUNT, FLEET_ACCOUNT] {
        for region in REGIONS {
            find(&fleet, account, region);
        }
    }
    for c in &fleet.clusters {
        // As EKS shapes them: the cluster's region, 32 uppercase hex characters.
        let prefix = format!("https://oidc.eks.{}.amazonaws.com/id/", c.region);
        let id = c.issuer.strip_prefix(&prefix).unwrap_or_else(|| {
            panic!("{} is not an EKS issuer of {}", c.issuer, c.region);
        });
        assert!(
            id.len() == 32 && id.chars().all(|ch| matches!(ch, '0'..='9' | 'A'..='F')),
            "issuer id {id}"
        );
        let described = fleet
            .world
            .block_on(
                c.cluster_account
                    .eks
                    .describe_cluster()
                    .name(&c.name)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("describe {}: {e:?}", c.context))
            .cluster
            .expect("cluster");
        assert_eq!(described.arn(), Some(c.context.as_str()));
        let oidc = described.identity().and_then(|i| i.oidc());
        assert_eq!(oidc.and_then(|o| o.issuer()), Some(c.issuer.as_str()));
    }
    // Nowhere else: not in the other account of its region, nor in the other
    // region of its account.
    let c = &fleet.clusters[find(&fleet, FLEET_ACCOUNT, "eu-west-1")];
    let elsewhere = [
        find(&fleet, CLUSTER_ACCOUNT, "eu-west-1"),
        find(&fleet, FLEET_ACCOUNT, "us-east-1"),
    ];
    for j in elsewhere {
        let other = &fleet.clusters[j].cluster_account;
        let found = fleet
            .world
            .block_on(other.eks.describe_cluster().name(&c.name).send());
        assert!(found.is_err(), "{} seen from cluster {j}'s place", c.name);
    }
}

#[test]
fn each_context_reaches_its_own_api_server() {
    let fleet = Fleet::new(SIZE);
    fleet.kube(3).add_namespace("only-in-3");
    std::fs::remove_file(fleet.world.path("aws-args.log")).ok();
    for (i, c) in fleet.clusters.iter().enumerate() {
        fleet.kubectl_on(i, &["get", "ns", "ai-pods"]).assert_ok();
        let only = fleet.kubectl_on(i, &["get", "ns", "only-in-3"]);
        if i == 3 {
            only.assert_ok();
        } else {
            only.assert_code(1);
            assert_contains!(only.stderr, "NotFound");
        }
        // Its API server signs for its cluster's issuer, which STS would check.
        fleet.kubectl_on(i, &["create", "sa", "probe"]).assert_ok();
        let token = fleet.kubectl_on(
            i,
            &[
                "create",
                "token",
                "probe",
                "--audience",
                "sts.amazonaws.com",
            ],
        );
        assert_eq!(
            jwt_issuer(&token.assert_ok().stdout),
            c.issuer,
            "{}",
            c.context
        );
    }
    // Each context asked the stand-in `aws` for its own cluster, region and profile.
    let asked = std::fs::read_to_string(fleet.world.path("aws-args.log")).expect("aws args");
    for c in &fleet.clusters {
        let args = format!(
            "--region {} eks get-token --cluster-name {} --output json --profile {}",
            c.region, c.name, c.profile
        );
        assert_contains!(asked, &args);
    }
}

#[test]
fn add_with_a_context_onboards_that_cluster_and_no_other() {
    let fleet = Fleet::new(SIZE);
    let i = find(&fleet, FLEET_ACCOUNT, "eu-west-1");
    let c = &fleet.clusters[i];
    let out = fleet.world.run(&[
        "add",
        "--context",
        &c.context,
        "--namespace",
        "ai-pods",
        "--yes",
    ]);
    out.assert_ok();

    // The klanker role trusts exactly this cluster's provider, for its ServiceAccount.
    let role = fleet.role(i).expect("role of the onboarded cluster");
    let statements = role.trust_policy["Statement"]
        .as_array()
        .expect("statements");
    assert_eq!(statements.len(), 1, "{}", role.trust_policy);
    assert_eq!(
        statements[0]["Principal"]["Federated"],
        fleet.provider_arn(i)
    );
    let sub = format!("{}:sub", c.issuer_host_path());
    assert_eq!(
        statements[0]["Condition"]["StringEquals"][&sub], "system:serviceaccount:ai-pods:km",
        "{}",
        role.trust_policy
    );
    let providers = fleet.world.block_on(fleet.world.klanker.providers());
    let arns: Vec<&str> = providers.iter().map(|p| p.arn.as_str()).collect();
    assert_eq!(arns, [fleet.provider_arn(i).as_str()]);

    // The cluster side was read in the cluster's own account.
    let described: Vec<_> = fleet
        .world
        .moto
        .calls()
        .into_iter()
        .filter(|call| {
            call.service == "eks" && call.path.ends_with(&format!("/clusters/{}", c.name))
        })
        .collect();
    assert!(!described.is_empty(), "{}", out.all());
    for call in &described {
        assert_eq!(call.account.as_deref(), Some(FLEET_ACCOUNT), "{call:?}");
    }

    // Annotated in its API server, and in no other; no other role.
    let sa = fleet
        .service_account(i, "ai-pods", "km")
        .expect("ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION],
        c.role_arn()
    );
    assert_eq!(role.arn, c.role_arn());
    for j in (0..SIZE).filter(|&j| j != i) {
        assert_eq!(
            fleet.service_account(j, "ai-pods", "km"),
            None,
            "cluster {j}"
        );
        assert!(fleet.role(j).is_none(), "cluster {j}'s role");
    }
    let kube_writes: Vec<String> = fleet
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("kube:"))
        .collect();
    assert!(!kube_writes.is_empty());
    for w in &kube_writes {
        assert!(w.starts_with(&format!("kube:{}:", c.name)), "{w}");
    }
}

#[test]
fn a_cluster_deleted_at_eks_breaks_only_its_context() {
    let fleet = Fleet::new(SIZE);
    let gone = 4;
    fleet.delete_eks_cluster(gone);
    fleet.clear_calls();
    let c = &fleet.clusters[gone];
    let out = fleet.world.run(&["add", "--context", &c.context, "--yes"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert_contains!(out.all(), &c.name);
    assert_eq!(fleet.writes(), Vec::<String>::new(), "{}", out.all());
    // Its API server still answers: only EKS lost it.
    fleet
        .kubectl_on(gone, &["get", "ns", "ai-pods"])
        .assert_ok();
}
