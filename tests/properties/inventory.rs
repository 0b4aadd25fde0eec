//! inventory.rs: onboardings read from ListRoles results, and the roles
//! trusting a provider.

use std::collections::BTreeSet;

use kubectl_klanker_trust::inventory::{self, RoleSummary};
use kubectl_klanker_trust::trust::policy::trust_policy;
use kubectl_klanker_trust::trust::{TrustScope, role_description};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::cases;
use crate::strategies::{
    PROVIDER, account, dns_label, json_value, partition, policy_like, short_text, text,
    valid_issuer,
};

fn role_summary() -> impl Strategy<Value = RoleSummary> {
    let description = prop_oneof![
        2 => (short_text(), short_text()).prop_map(|(name, rest)| {
            format!("Managed by kubectl-klanker-trust: IRSA trust for cluster {name} ({rest}")
        }),
        1 => select(&[
            "Managed by kubectl-klanker-trust",
            "Managed by kubectl-klanker-trust: IRSA trust for cluster ",
            "Managed by kubectl-klanker-trust: IRSA trust for cluster  (",
            "",
        ][..]).prop_map(String::from),
        1 => text(),
    ];
    (
        select(&["km-cluster-a", "km-cluster-b", "other", ""][..]),
        short_text(),
        description,
        prop_oneof![policy_like(), json_value(true)],
    )
        .prop_map(|(role_name, arn, description, trust_policy)| RoleSummary {
            role_name: role_name.into(),
            arn,
            description,
            trust_policy,
        })
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn inventory_readers_never_panic(roles in vec(role_summary(), 0..4), except in select(&["km-cluster-a", "other", ""][..])) {
        for role in &roles {
            if let Some(o) = inventory::onboarding(role) {
                prop_assert_eq!(&o.role_name, &role.role_name);
                prop_assert!(inventory::federated_principals(&role.trust_policy).contains(&o.oidc_provider_arn));
            }
        }
        let trusting = inventory::roles_trusting(&roles, PROVIDER, except);
        for name in trusting {
            prop_assert_ne!(name, except);
            prop_assert!(roles.iter().any(|r| r.role_name == name
                && inventory::federated_principals(&r.trust_policy).contains(PROVIDER)));
        }
    }

    #[test]
    fn onboarding_reads_back_what_add_writes(
        name in "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,30}",
        wildcard in any::<bool>(),
        namespace in dns_label(),
        service_account in prop_oneof![dns_label(), vec(dns_label(), 2..4).prop_map(|l| l.join("."))],
        issuer in valid_issuer(),
        partition in partition(),
        account in account(),
    ) {
        let scope = TrustScope::new(if wildcard { "*" } else { &namespace }, &service_account);
        let provider = issuer.provider_arn(partition, &account);
        let role = RoleSummary {
            role_name: format!("km-cluster-{name}"),
            arn: format!("arn:{partition}:iam::{account}:role/km-cluster-{name}"),
            description: role_description(&name, &scope, true),
            trust_policy: trust_policy(&provider, &issuer, &scope),
        };
        let o = inventory::onboarding(&role).expect("a role add wrote is recognised");
        prop_assert_eq!(&o.name, &name);
        prop_assert_eq!(o.namespace.as_str(), scope.namespace_label());
        prop_assert_eq!(&o.service_account, &service_account);
        prop_assert_eq!(&o.oidc_provider_arn, &provider);
        prop_assert_eq!(o.issuer, issuer.url());
        prop_assert_eq!(inventory::federated_principals(&role.trust_policy), BTreeSet::from([provider.clone()]));
        let roles = [role];
        prop_assert_eq!(inventory::roles_trusting(&roles, &provider, "another"), vec![roles[0].role_name.as_str()]);
        prop_assert!(inventory::roles_trusting(&roles, &provider, &roles[0].role_name).is_empty());
    }
}
