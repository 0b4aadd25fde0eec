//! Recognising a pod identity onboarding: the target role (the klanker
//! role) trusts the association role with session tags or an external ID,
//! and its description records the ServiceAccounts and the session tags.

use serde_json::Value;

use super::{PodIdentity, names, trust};
use crate::inventory::recognise::Recognise;
use crate::inventory::{self, Onboarding, RoleSummary, Tags, UNKNOWN};
use crate::store::ClusterEntry;
use crate::trust::{TrustMode, chain, policy};

impl Recognise for PodIdentity {
    fn mode(&self) -> TrustMode {
        TrustMode::PodIdentity
    }

    fn has_cluster_role(&self) -> bool {
        true
    }

    /// EKS Pod Identity needs no OIDC provider anywhere.
    fn trusts_a_provider(&self) -> bool {
        false
    }

    fn recognise(&self, role: &RoleSummary, name: &str, tags: &Tags) -> Option<Onboarding> {
        let cluster = tags.get(crate::trust::CLUSTER_TAG).cloned();
        if trust::trusts_service(&role.trust_policy) {
            // The association role itself, in the cluster's account.
            let scope = inventory::described_scope(&role.description).unwrap_or((UNKNOWN, UNKNOWN));
            return Some(Onboarding {
                cluster_role_arn: Some(role.arn.clone()),
                cluster,
                ..inventory::scoped(role, name, self.mode(), None, String::new(), scope)
            });
        }
        let association_role = chain::trusted_cluster_role(&role.trust_policy)?;
        if !trust::is_target_trust(&role.trust_policy) && !self.recorded_by(&role.description) {
            return None;
        }
        let scope = inventory::described_scope(&role.description).unwrap_or((UNKNOWN, UNKNOWN));
        let subjects: Vec<String> = trust::tagged_subjects(&role.trust_policy)
            .into_iter()
            .map(|(ns, sa, _)| format!("{ns}:{sa}"))
            .collect();
        Some(Onboarding {
            cluster_role_arn: Some(association_role),
            session_tags: Some(!role.description.contains(names::NO_SESSION_TAGS)),
            service_accounts: if subjects.len() > 1 {
                subjects
            } else {
                Vec::new()
            },
            cluster,
            external_ids: trust::pinned_ids(&role.trust_policy),
            associations: tags
                .get(crate::trust::ASSOCIATIONS_TAG)
                .map(|ids| ids.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            ..inventory::scoped(role, name, self.mode(), None, String::new(), scope)
        })
    }

    fn recorded_by(&self, description: &str) -> bool {
        description.ends_with(names::POD_IDENTITY_SUFFIX)
    }

    /// The association role, when the trust no longer names it: km-config.yaml's.
    fn recover(&self, o: &mut Onboarding, _: &RoleSummary, entry: Option<&ClusterEntry>) {
        crate::plan::mode::cluster_role::recover(o, entry);
    }

    /// The trust `add` writes: the association role's for itself, else the
    /// target role's with each statement pinned to the external ID found
    /// there (EKS's: only `verify` compares them with the associations).
    fn expected_trust(
        &self,
        o: &Onboarding,
        written: &[(String, String)],
        partition: &str,
    ) -> Option<Value> {
        let association_role = o.cluster_role_arn.as_deref()?;
        let cluster_arn = o.cluster.as_deref()?;
        let cluster_account = crate::trust::arn::account_of(association_role)?;
        if association_role == o.role_arn {
            return Some(trust::association_trust(cluster_account, cluster_arn));
        }
        let target = trust::TargetTrust {
            partition,
            cluster_account,
            association_role_arn: association_role,
            cluster_arn,
            session_tags: o.session_tags.unwrap_or(true),
        };
        let pairs: Vec<_> = written
            .iter()
            .enumerate()
            .map(|(i, (ns, sa))| {
                (
                    ns.clone(),
                    sa.clone(),
                    o.external_ids.get(i).cloned().flatten(),
                )
            })
            .collect();
        Some(target.document(&pairs).0)
    }

    fn trust_changes(
        &self,
        _: &Onboarding,
        live: &Value,
        expected: &Value,
        _: &[(String, String)],
    ) -> Vec<String> {
        policy::diff_lines(live, expected)
    }

    fn config_map(&self, _: Option<&str>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::inventory::{RoleSummary, Tags, intent, recognise};
    use crate::plan::mode::pod_identity::{names, trust};
    use crate::trust::{self as iam_trust, TrustMode, TrustScope, policy};

    const CLUSTER: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";
    const ASSOCIATION_ROLE: &str = "arn:aws:iam::222222222222:role/km-podid-dev";

    fn tags() -> Tags {
        [
            (
                iam_trust::MANAGED_BY_TAG.into(),
                iam_trust::MANAGED_BY_VALUE.into(),
            ),
            (iam_trust::NAME_TAG.into(), "dev".into()),
            (iam_trust::CLUSTER_TAG.into(), CLUSTER.into()),
        ]
        .into()
    }

    /// The target role as `add` leaves it, pinned to `ext-1`.
    fn target_role(session_tags: bool) -> RoleSummary {
        let target = trust::TargetTrust {
            partition: "aws",
            cluster_account: "222222222222",
            association_role_arn: ASSOCIATION_ROLE,
            cluster_arn: CLUSTER,
            session_tags,
        };
        let pairs = [(
            "ai-pods".to_string(),
            "km".to_string(),
            Some("ext-1".to_string()),
        )];
        RoleSummary {
            role_name: "km-cluster-dev".into(),
            arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
            description: names::target_role_description(
                "dev",
                &[TrustScope::new("ai-pods", "km")],
                session_tags,
            ),
            trust_policy: target.document(&pairs).0,
        }
    }

    #[test]
    fn both_roles_are_recognised_with_no_drift_and_the_fix_keeps_session_tags_off() {
        for session_tags in [true, false] {
            let role = target_role(session_tags);
            let o = recognise::recognised(&role, "dev", &tags()).expect("recognised");
            assert_eq!(o.mode, TrustMode::PodIdentity);
            assert_eq!(o.cluster_role_arn.as_deref(), Some(ASSOCIATION_ROLE));
            assert_eq!(o.session_tags, Some(session_tags));
            let written = [("ai-pods".to_string(), "km".to_string())];
            let expected = intent::expected_trust(&o, &written, "aws").expect("expected trust");
            assert!(
                policy::equivalent(&role.trust_policy, &expected),
                "{expected}"
            );
            let command = intent::add_command(&o, &written);
            assert_eq!(
                command.ends_with(" --disable-session-tags"),
                !session_tags,
                "{command}"
            );
            assert!(command.contains("--mode pod-identity"), "{command}");
        }
        // The association role, in the cluster's account, is this mode's too.
        let association = RoleSummary {
            role_name: "km-podid-dev".into(),
            arn: ASSOCIATION_ROLE.into(),
            description: names::association_role_description(
                "dev",
                &[TrustScope::new("ai-pods", "km")],
                "arn:t",
            ),
            trust_policy: trust::association_trust("222222222222", CLUSTER),
        };
        let o = recognise::recognised(&association, "dev", &tags()).expect("recognised");
        assert_eq!(o.mode, TrustMode::PodIdentity);
        let expected = intent::expected_trust(&o, &[], "aws").expect("expected trust");
        assert_eq!(expected, association.trust_policy);
    }
}
