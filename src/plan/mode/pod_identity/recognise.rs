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
        if o.cluster_role_arn.is_none() {
            o.cluster_role_arn = entry.and_then(|e| e.cluster_role_arn.clone());
        }
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
