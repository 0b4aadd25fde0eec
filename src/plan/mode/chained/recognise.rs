//! Recognising a chained onboarding: role B (the klanker role) trusts role
//! A in the cluster's account, and the scope lives in role A's trust, so
//! role B's description (written with it) records the ServiceAccounts.

use serde_json::Value;

use super::Chained;
use crate::inventory::recognise::Recognise;
use crate::inventory::{self, Onboarding, RoleSummary, Tags, UNKNOWN};
use crate::store::ClusterEntry;
use crate::trust::{self, TrustMode, chain, policy};

impl Recognise for Chained {
    fn mode(&self) -> TrustMode {
        TrustMode::Chained
    }

    fn has_cluster_role(&self) -> bool {
        true
    }

    /// Role A's trust names the ServiceAccounts; role B trusts role A alone.
    fn scopes_in_cluster_role(&self) -> bool {
        true
    }

    fn recognise(&self, role: &RoleSummary, name: &str, tags: &Tags) -> Option<Onboarding> {
        let role_a = chain::trusted_cluster_role(&role.trust_policy)?;
        let scope = inventory::described_scope(&role.description).unwrap_or((UNKNOWN, UNKNOWN));
        Some(Onboarding {
            cluster_role_arn: Some(role_a),
            config_map: tags.get(trust::CONFIG_MAP_TAG).cloned(),
            ..inventory::scoped(role, name, self.mode(), None, String::new(), scope)
        })
    }

    fn recorded_by(&self, description: &str) -> bool {
        description.ends_with(super::names::CHAINED_SUFFIX)
    }

    /// Role A, when role B's trust no longer names it: km-config.yaml's.
    fn recover(&self, o: &mut Onboarding, _: &RoleSummary, entry: Option<&ClusterEntry>) {
        crate::plan::mode::cluster_role::recover(o, entry);
    }

    /// Role B trusts role A alone: nothing of the ServiceAccounts is in it.
    fn expected_trust(
        &self,
        o: &Onboarding,
        _: &[(String, String)],
        partition: &str,
    ) -> Option<Value> {
        let role_a = o.cluster_role_arn.as_deref()?;
        let account = trust::arn::account_of(role_a)?;
        Some(chain::klanker_trust_policy(partition, account, role_a))
    }

    fn trust_changes(
        &self,
        _: &Onboarding,
        trust: &Value,
        expected: &Value,
        _: &[(String, String)],
    ) -> Vec<String> {
        policy::diff_lines(trust, expected)
    }

    fn config_map(&self, recorded: Option<&str>) -> Option<String> {
        Some(recorded.unwrap_or(chain::DEFAULT_CONFIG_MAP).to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::audit::{AccountScan, FindingId, Scan, analyze};
    use crate::inventory::{self, RoleSummary, Tags};
    use crate::trust::{self, TrustMode, TrustScope, chain};

    const KLANKER: &str = "333333333333";
    const WORKLOAD: &str = "222222222222";

    /// Role B of onboarding `dev` as `add` writes it, trusting role A, and its tags.
    fn role_b() -> (RoleSummary, Tags) {
        let role_a = format!("arn:aws:iam::{WORKLOAD}:role/km-irsa-dev");
        let role = RoleSummary {
            role_name: "km-cluster-dev".into(),
            arn: format!("arn:aws:iam::{KLANKER}:role/km-cluster-dev"),
            description: super::super::names::chained_role_description(
                "dev",
                &[TrustScope::new("ai-pods", "km")],
            ),
            trust_policy: chain::klanker_trust_policy("aws", WORKLOAD, &role_a),
        };
        let tags: Tags = [
            (trust::MANAGED_BY_TAG.into(), trust::MANAGED_BY_VALUE.into()),
            (trust::NAME_TAG.into(), "dev".into()),
            (trust::CONFIG_MAP_TAG.into(), "team-aws".into()),
        ]
        .into();
        (role, tags)
    }

    fn scan(role: RoleSummary, tags: Tags) -> Scan {
        Scan {
            accounts: vec![AccountScan {
                profile: "p".into(),
                account: KLANKER.into(),
                partition: "aws".into(),
                roles: vec![role.clone()],
                providers: Vec::new(),
                tagged: vec![(role, tags)],
                limits: None,
                quota_sources: Vec::new(),
            }],
            ..Scan::default()
        }
    }

    #[test]
    fn role_b_is_recognised_as_chained_with_role_a_its_scope_and_config_map() {
        let (role, tags) = role_b();
        let o = inventory::proven_onboarding(&role, &tags).expect("recognised");
        assert_eq!(o.mode, TrustMode::Chained);
        assert_eq!(
            o.cluster_role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/km-irsa-dev")
        );
        assert_eq!(
            (o.namespace.as_str(), o.service_account.as_str()),
            ("ai-pods", "km")
        );
        assert_eq!(o.config_map.as_deref(), Some("team-aws"));
        let hint = inventory::onboarding(&role).expect("hint");
        assert_eq!((hint.name.as_str(), hint.mode), ("dev", TrustMode::Chained));
        assert_eq!(hint.config_map, None);
    }

    #[test]
    fn a_chained_role_b_as_written_is_clean_and_changed_is_drift_in_chained_mode() {
        let (b, tags) = role_b();
        let clean = analyze(&scan(b.clone(), tags.clone()));
        assert!(clean.findings.is_empty(), "{:?}", clean.findings);
        // Widened to the whole cluster account by hand.
        let mut widened = b;
        widened.trust_policy["Statement"][0]["Condition"]["ArnLike"] =
            json!({"aws:PrincipalArn": format!("arn:aws:iam::{WORKLOAD}:role/*")});
        widened.trust_policy["Statement"][0]["Condition"]
            .as_object_mut()
            .expect("conditions")
            .remove("ArnEquals");
        let report = analyze(&scan(widened, tags));
        let drift = report
            .findings
            .iter()
            .find(|f| f.id == FindingId::Drift)
            .expect("drift");
        assert!(
            drift
                .fix
                .command
                .as_deref()
                .is_some_and(|c| c.contains("--mode chained")),
            "{drift:?}"
        );
    }
}
