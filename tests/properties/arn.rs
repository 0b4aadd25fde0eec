//! trust/arn.rs: issuer URLs, OIDC provider, policy, role and EKS cluster
//! ARNs, and the account and partition of any string.

use kubectl_klanker_trust::trust::arn::{
    account_of, parse_policy_arn, parse_role_arn, partition_of,
};
use kubectl_klanker_trust::trust::{EksClusterArn, Issuer, OidcProviderArn};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::strategies::{PARTITIONS, account, partition, short_text, text, urlish};
use crate::{assert_error_names_input, cases};

/// A string with several `:`-separated fields, each either plausible for an ARN or arbitrary.
fn arnish() -> impl Strategy<Value = String> {
    fn field(vocab: &'static [&'static str]) -> BoxedStrategy<String> {
        prop_oneof![3 => select(vocab).prop_map(String::from), 1 => short_text()].boxed()
    }
    let structured = (
        field(&["arn", "ARN", "", "arn "]),
        field(&["aws", "aws-cn", "aws-us-gov", "aws-iso", "", "AWS"]),
        field(&["iam", "eks", "sts", "s3", ""]),
        field(&["", "us-east-1", "eu-west-1", " "]),
        prop_oneof![
            3 => account(),
            1 => field(&["aws", "", "2222", "22222222222a", "２２２２２２２２２２２２", "2222222222222"]),
        ],
        field(&[
            "oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
            "oidc-provider/oidc.example.com",
            "oidc-provider/",
            "oidc-provider/h:1/x",
            "oidc-provider/host?x=1",
            "oidc-provider/[::1]/x",
            "oidc-provider/u@h/x",
            "oidc-provider/H/x/",
            "role/x",
            "role/",
            "role/a/",
            "role/a/b",
            "policy/p",
            "policy/a/b/p",
            "policy/",
            "policy/a b",
            "cluster/c",
            "cluster/",
            "cluster/a/b",
            "cluster/a:b",
            "assumed-role/r/s",
        ]),
        prop::option::of(field(&["", "x", "cluster/c"])),
    )
        .prop_map(|(a, p, s, r, acct, res, extra)| {
            let mut out = format!("{a}:{p}:{s}:{r}:{acct}:{res}");
            if let Some(extra) = extra {
                out.push(':');
                out.push_str(&extra);
            }
            out
        });
    prop_oneof![
        4 => structured,
        1 => vec(short_text(), 0..9).prop_map(|f| f.join(":")),
        1 => text(),
    ]
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn issuers_round_trip_and_normalise(raw in urlish()) {
        let parsed = Issuer::parse(&raw, "--issuer-url");
        assert_error_names_input(&parsed, "--issuer-url", &raw)?;
        if let Ok(issuer) = parsed {
            let hp = issuer.host_path();
            prop_assert!(!hp.is_empty());
            prop_assert!(!hp.ends_with('/'), "{hp:?}");
            prop_assert!(!hp.starts_with("https://") && !hp.starts_with("http://"), "{hp:?}");
            prop_assert!(!hp.contains(['?', '#']) && !hp.chars().any(|c| c.is_whitespace() || c.is_control()), "{hp:?}");
            let host = hp.split('/').next().unwrap_or_default();
            prop_assert!(!host.is_empty() && !host.chars().any(|c| c.is_ascii_uppercase()), "{hp:?}");
            prop_assert_eq!(issuer.url(), format!("https://{hp}"));
            prop_assert_eq!(Issuer::parse(&issuer.url(), "again"), Ok(issuer.clone()));
            let _ = issuer.is_public();
        }
    }

    #[test]
    fn provider_arns_of_parsed_issuers_round_trip(
        raw in urlish(),
        partition in partition(),
        account in account(),
    ) {
        if let Ok(issuer) = Issuer::parse(&raw, "--issuer-url") {
            let arn = issuer.provider_arn(partition, &account);
            let parsed = OidcProviderArn::parse(&arn, "--oidc-provider-arn");
            prop_assert_eq!(parsed, Ok(OidcProviderArn { partition: partition.into(), account, issuer }), "{}", arn);
        }
    }

    #[test]
    fn provider_arn_parse_never_panics_and_is_stable(raw in arnish()) {
        let parsed = OidcProviderArn::parse(&raw, "--oidc-provider-arn");
        assert_error_names_input(&parsed, "--oidc-provider-arn", &raw)?;
        if let Ok(p) = parsed {
            prop_assert!(PARTITIONS.contains(&p.partition.as_str()));
            prop_assert!(p.account.len() == 12 && p.account.chars().all(|c| c.is_ascii_digit()));
            prop_assert_eq!(account_of(&raw), Some(p.account.as_str()));
            let again = p.issuer.provider_arn(&p.partition, &p.account);
            prop_assert_eq!(OidcProviderArn::parse(&again, "x"), Ok(p));
        }
    }

    #[test]
    fn policy_and_role_arns_never_panic(raw in arnish()) {
        let policy = parse_policy_arn(&raw, "--policy-arn");
        assert_error_names_input(&policy, "--policy-arn", &raw)?;
        if policy.is_ok() {
            prop_assert!(raw.starts_with("arn:"));
            let account = raw.split(':').nth(4).unwrap_or_default();
            prop_assert!(account == "aws" || account_of(&raw) == Some(account));
            let name = raw.rsplit('/').next().unwrap_or_default();
            prop_assert!((1..=128).contains(&name.len()));
        }
        let role = parse_role_arn(&raw, "--role-arn");
        assert_error_names_input(&role, "--role-arn", &raw)?;
        if let Ok(account) = role {
            prop_assert_eq!(account_of(&raw), Some(account.as_str()));
        }
    }

    #[test]
    fn valid_policy_and_role_arns_are_accepted(
        partition in partition(),
        account in prop_oneof![account(), Just("aws".to_string())],
        path in vec("[a-zA-Z0-9_-]{1,6}", 0..3),
        name in "[a-zA-Z0-9+=,.@_-]{1,128}",
    ) {
        let prefix: String = path.iter().map(|p| format!("{p}/")).collect();
        let policy = format!("arn:{partition}:iam::{account}:policy/{prefix}{name}");
        prop_assert!(parse_policy_arn(&policy, "x").is_ok(), "{}", policy);
        let role = format!("arn:{partition}:iam::{account}:role/{prefix}{name}");
        prop_assert_eq!(parse_role_arn(&role, "x").is_ok(), account != "aws", "{}", role);
    }

    #[test]
    fn eks_cluster_arns_rebuild_their_input(raw in arnish()) {
        if let Some(arn) = EksClusterArn::parse(&raw) {
            prop_assert_eq!(
                format!("arn:{}:eks:{}:{}:cluster/{}", arn.partition, arn.region, arn.account, arn.name),
                raw.clone()
            );
            prop_assert!(!arn.name.is_empty() && !arn.name.contains('/') && !arn.region.is_empty());
            prop_assert_eq!(account_of(&raw), Some(arn.account.as_str()));
        }
    }

    #[test]
    fn valid_eks_cluster_arns_parse(
        partition in partition(),
        region in "[a-z]{2}-[a-z]{4,9}-[0-9]",
        account in account(),
        name in "[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}",
    ) {
        let raw = format!("arn:{partition}:eks:{region}:{account}:cluster/{name}");
        let arn = EksClusterArn::parse(&raw).expect("a valid cluster ARN parses");
        prop_assert_eq!((arn.partition.as_str(), arn.region, arn.account, arn.name), (partition, region, account, name));
    }

    #[test]
    fn account_and_partition_of_any_string(raw in arnish()) {
        if let Some(account) = account_of(&raw) {
            prop_assert!(account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
            prop_assert_eq!(raw.split(':').nth(4), Some(account));
        }
        let partition = partition_of(&raw);
        prop_assert!(PARTITIONS.contains(&partition));
        if let Some(p) = raw.split(':').nth(1).filter(|p| PARTITIONS.contains(p)) {
            prop_assert_eq!(partition, p);
        }
    }
}
