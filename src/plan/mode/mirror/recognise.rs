//! Recognising a mirrored onboarding: the klanker role trusts the mirrored
//! provider for the ServiceAccounts, so its trust names the scope.

use serde_json::Value;

use super::Mirror;
use crate::inventory::recognise::Recognise;
use crate::inventory::{self, Onboarding, RoleSummary, Tags, UNKNOWN};
use crate::store::ClusterEntry;
use crate::trust::{Issuer, TrustMode, chain, policy};

impl Recognise for Mirror {
    fn mode(&self) -> TrustMode {
        TrustMode::Mirror
    }

    fn has_cluster_role(&self) -> bool {
        false
    }

    /// A mirrored role trusts a provider, never a role; read whatever
    /// else it trusts as this mode's, with the scope unknown.
    fn recognise(&self, role: &RoleSummary, name: &str, _: &Tags) -> Option<Onboarding> {
        if chain::trusted_cluster_role(&role.trust_policy).is_some() {
            return None;
        }
        let (provider, subject) =
            inventory::trust_principal_and_subject(&role.trust_policy).unwrap_or_default();
        let scope = subject
            .strip_prefix("system:serviceaccount:")
            .and_then(|s| s.split_once(':'));
        // The description's record of the provider counts only beside a scope it can be about.
        let provider_owned = scope.and(inventory::described_ownership(&role.description));
        Some(Onboarding {
            service_accounts: inventory::listed_subjects(&role.trust_policy),
            ..inventory::scoped(
                role,
                name,
                self.mode(),
                provider_owned,
                provider,
                scope.unwrap_or((UNKNOWN, UNKNOWN)),
            )
        })
    }

    /// Its descriptions record the provider's ownership, not the mode.
    fn recorded_by(&self, _: &str) -> bool {
        false
    }

    /// The provider, when the trust no longer names it: km-config.yaml's,
    /// else the first the trust still names.
    fn recover(&self, o: &mut Onboarding, role: &RoleSummary, entry: Option<&ClusterEntry>) {
        if o.oidc_provider_arn.is_empty() {
            o.oidc_provider_arn = entry
                .map(|e| e.oidc_provider_arn.clone())
                .or_else(|| {
                    inventory::federated_principals(&role.trust_policy)
                        .into_iter()
                        .next()
                })
                .unwrap_or_default();
        }
    }

    fn expected_trust(
        &self,
        o: &Onboarding,
        written: &[(String, String)],
        _: &str,
    ) -> Option<Value> {
        let issuer = Issuer::parse(&o.issuer, "issuer").ok()?;
        Some(policy::trust_policy_for(
            &o.oidc_provider_arn,
            &issuer,
            &inventory::intent::scopes(written),
        ))
    }

    /// What widens it: extra statements or `sub` values, then the lines.
    fn trust_changes(
        &self,
        o: &Onboarding,
        trust: &Value,
        _: &Value,
        written: &[(String, String)],
    ) -> Vec<String> {
        inventory::trust_widening(o, trust, written)
    }

    fn config_map(&self, _: Option<&str>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{TrustScope, role_description};

    const ISSUER: &str = "https://oidc.example.com/id/A";
    const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";

    fn role(trust_policy: Value) -> RoleSummary {
        let scope = TrustScope::new("ai-pods", "km");
        RoleSummary {
            role_name: "km-cluster-dev".into(),
            arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
            description: role_description("dev", &scope, true),
            trust_policy,
        }
    }

    #[test]
    fn a_role_trusting_the_provider_is_mirrored_and_one_trusting_a_role_is_not() {
        let issuer = Issuer::parse(ISSUER, "issuer").expect("issuer");
        let scopes = [TrustScope::new("ai-pods", "km")];
        let mirrored = role(policy::trust_policy_for(PROVIDER, &issuer, &scopes));
        let o = Mirror
            .recognise(&mirrored, "dev", &Tags::new())
            .expect("mirrored");
        assert_eq!(o.mode, TrustMode::Mirror);
        assert_eq!(o.oidc_provider_arn, PROVIDER);
        assert_eq!(
            (o.namespace.as_str(), o.service_account.as_str()),
            ("ai-pods", "km")
        );
        assert_eq!(o.provider_owned, Some(true));
        assert_eq!(o.cluster_role_arn, None);
        let chained = role(chain::klanker_trust_policy(
            "aws",
            "222222222222",
            "arn:aws:iam::222222222222:role/km-irsa-dev",
        ));
        assert_eq!(Mirror.recognise(&chained, "dev", &Tags::new()), None);
        assert_eq!(Mirror.config_map(Some("team-aws")), None);
    }
}
