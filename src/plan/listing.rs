//! Pure: `list`'s join of IAM's onboardings with km-config.yaml: the rows,
//! the drift that join reveals, and the removals `rm` left pending.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::inventory::{self, Drift, Onboarding, Row};
use crate::store::{Document, PendingPart};

/// What `list` shows (and prints as JSON/YAML).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    pub klanker_account: String,
    pub clusters: Vec<Row>,
    pub drift: Vec<Drift>,
    pub pending_removal: Vec<PendingRemoval>,
}

/// A km-config.yaml entry `rm` could not finish removing: the IAM side is
/// gone, the ServiceAccount may still be annotated with the deleted role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRemoval {
    pub name: String,
    pub part: PendingPart,
    pub role_arn: String,
    pub namespace: String,
    pub service_account: String,
    /// Every ServiceAccount as `namespace:name`, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    /// The cluster the onboarding recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The role the ServiceAccounts carry: the cluster role, in a mode that has one.
    pub annotated_role: String,
    /// The ConfigMap left beside them, in a mode that writes one; also removed then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
}

/// The removals km-config.yaml marks pending, in file order.
pub fn pending_removals(doc: &Document) -> Vec<PendingRemoval> {
    doc.pending_entries()
        .into_iter()
        .map(|(entry, pending)| PendingRemoval {
            annotated_role: entry
                .cluster_role_arn
                .clone()
                .unwrap_or_else(|| entry.role_arn.clone()),
            config_map: super::mode::of(entry.mode).config_map(pending.config_map.as_deref()),
            name: entry.name,
            part: pending.part,
            role_arn: entry.role_arn,
            namespace: entry.namespace,
            service_account: entry.service_account,
            service_accounts: entry.service_accounts,
            cluster: pending.cluster,
        })
        .collect()
}

/// Two entries of one name: `km` and this tool would each read only one,
/// and `rm`/`verify`/`describe` refuse to guess which.
pub fn duplicate_drift(doc: &Document, config_path: &Path) -> Vec<Drift> {
    doc.duplicate_names()
        .into_iter()
        .map(|name| Drift {
            problem: format!(
                "{} has more than one `clusters:` entry named {name}; km-config.yaml is not written, and `rm`, `verify` and `describe` of the name are refused, until that is resolved",
                config_path.display()
            ),
            fix: "keep one entry for the name (remove the others by hand)".into(),
            name,
        })
        .collect()
}

/// Provider ownership as the role descriptions recorded it, for providers
/// that still exist; and the existing providers no description speaks for
/// (roles written before the description carried it), to look up one call each.
pub fn recorded_ownership(
    onboardings: &[Onboarding],
    providers: &[String],
) -> (BTreeMap<String, bool>, BTreeSet<String>) {
    let existing: BTreeSet<&String> = providers.iter().collect();
    let known: BTreeMap<String, bool> = onboardings
        .iter()
        .filter(|o| existing.contains(&o.oidc_provider_arn))
        .filter_map(|o| {
            o.provider_owned
                .map(|owned| (o.oidc_provider_arn.clone(), owned))
        })
        .collect();
    let unknown = onboardings
        .iter()
        .map(|o| o.oidc_provider_arn.clone())
        .filter(|arn| existing.contains(arn) && !known.contains_key(arn))
        .collect();
    (known, unknown)
}

/// What IAM showed, for the join.
pub struct Observed {
    pub klanker_account: String,
    pub onboardings: Vec<Onboarding>,
    /// Drift among the roles' proofs (duplicate claims, look-alikes, widened trust).
    pub proof_drift: Vec<Drift>,
    /// Every existing provider the onboardings trust -> created by this tool.
    pub ownership: BTreeMap<String, bool>,
}

/// The listing: IAM's onboardings joined with km-config.yaml (at
/// `config_path`). A pending removal is shown as such, not as a stale entry.
pub fn listing(
    observed: Observed,
    doc: &Document,
    config_path: &Path,
    current: Option<&str>,
) -> Listing {
    let config = doc.clusters().unwrap_or_default();
    let (rows, mut drift) =
        inventory::inventory(observed.onboardings, &observed.ownership, &config, current);
    let pending_removal = pending_removals(doc);
    let in_iam: BTreeSet<&str> = rows.iter().map(|r| r.onboarding.name.as_str()).collect();
    // Its "no role" drift is what the pending mark already says.
    drift.retain(|d| {
        in_iam.contains(d.name.as_str()) || !pending_removal.iter().any(|p| p.name == d.name)
    });
    drift.extend(observed.proof_drift);
    drift.extend(duplicate_drift(doc, config_path));
    Listing {
        klanker_account: observed.klanker_account,
        clusters: rows,
        drift,
        pending_removal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "- name: NAME\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com/id/A\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-NAME\n";

    fn doc(entries: &[(&str, bool)]) -> Document {
        let mut text = "clusters:\n".to_string();
        for (name, pending) in entries {
            text.push_str(&ENTRY.replace("NAME", name));
            if *pending {
                text.push_str("  pending:\n    part: cluster\n    cluster: arn:aws:eks:us-east-1:222222222222:cluster/x\n");
            }
        }
        Document::parse(&text).unwrap()
    }

    fn observed() -> Observed {
        Observed {
            klanker_account: "333333333333".into(),
            onboardings: Vec::new(),
            proof_drift: Vec::new(),
            ownership: BTreeMap::new(),
        }
    }

    fn listed(entries: &[(&str, bool)]) -> Listing {
        listing(
            observed(),
            &doc(entries),
            Path::new("/h/km-config.yaml"),
            None,
        )
    }

    #[test]
    fn a_pending_removal_is_listed_as_pending_not_as_a_stale_entry() {
        let listing = listed(&[("gone", true), ("ghost", false)]);
        assert_eq!(
            listing.pending_removal,
            [PendingRemoval {
                name: "gone".into(),
                part: PendingPart::Cluster,
                role_arn: "arn:aws:iam::333333333333:role/km-cluster-gone".into(),
                namespace: "ai-pods".into(),
                service_account: "km".into(),
                service_accounts: Vec::new(),
                cluster: Some("arn:aws:eks:us-east-1:222222222222:cluster/x".into()),
                annotated_role: "arn:aws:iam::333333333333:role/km-cluster-gone".into(),
                config_map: None,
            }]
        );
        let drifting: Vec<&str> = listing.drift.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(drifting, ["ghost"], "{:?}", listing.drift);
    }

    #[test]
    fn duplicate_entries_are_drift_naming_the_file() {
        let listing = listed(&[("a", false), ("a", false)]);
        assert!(
            listing
                .drift
                .iter()
                .any(|d| d.name == "a" && d.problem.contains("/h/km-config.yaml has more than one")),
            "{:?}",
            listing.drift
        );
    }

    fn onboarding(name: &str, provider: &str, owned: Option<bool>) -> Onboarding {
        Onboarding {
            name: name.into(),
            provider_owned: owned,
            role_name: format!("km-cluster-{name}"),
            role_arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
            namespace: "ns".into(),
            service_account: "km".into(),
            service_accounts: Vec::new(),
            oidc_provider_arn: provider.into(),
            issuer: String::new(),
            cluster: None,
            server: None,
            mode: Default::default(),
            cluster_role_arn: None,
            config_map: None,
            session_tags: None,
            external_ids: Vec::new(),
            associations: Vec::new(),
        }
    }

    #[test]
    fn only_existing_providers_no_description_speaks_for_are_looked_up() {
        let onboardings = [
            onboarding("a", "arn:p1", Some(true)),
            onboarding("b", "arn:p2", None),
            onboarding("c", "arn:gone", None),
            onboarding("d", "arn:p1", None),
        ];
        let (known, unknown) =
            recorded_ownership(&onboardings, &["arn:p1".to_string(), "arn:p2".to_string()]);
        assert_eq!(known, BTreeMap::from([("arn:p1".to_string(), true)]));
        assert_eq!(unknown, BTreeSet::from(["arn:p2".to_string()]));
    }
}
