//! An onboarding is bound to its cluster: the issuer its tokens come from,
//! the account the cluster lives in and the EKS cluster's ARN. Whatever the
//! mode, `add` compares what the klanker role records (its tags, else its
//! trust, else km-config.yaml) with what this run resolved, and refuses any
//! change before a write unless `--rebind` is given.

use serde_json::Value;

use super::PlanError;
use super::snapshot::AddSnapshot;
use crate::resolve::add::AddRequest;
use crate::trust::{self, EksClusterArn, NAME_TAG, OidcProviderArn};

/// One part of the binding that would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: &'static str,
    pub old: String,
    pub new: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} -> {}", self.what, self.old, self.new)
    }
}

/// What an onboarding is bound to; a part is None where it is not known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    pub issuer: Option<String>,
    pub cluster_account: Option<String>,
    pub cluster_arn: Option<String>,
}

impl Binding {
    /// The parts known on both sides that differ.
    pub fn changes_to(&self, new: &Binding) -> Vec<Change> {
        [
            ("issuer", &self.issuer, &new.issuer),
            (
                "cluster account",
                &self.cluster_account,
                &new.cluster_account,
            ),
            ("cluster", &self.cluster_arn, &new.cluster_arn),
        ]
        .into_iter()
        .filter_map(|(what, old, new)| match (old, new) {
            (Some(old), Some(new)) if old != new => Some(Change {
                what,
                old: old.clone(),
                new: new.clone(),
            }),
            _ => None,
        })
        .collect()
    }
}

/// What this run binds the onboarding to.
pub fn desired(req: &AddRequest, snap: &AddSnapshot) -> Binding {
    let cluster_arn = snap
        .issuer
        .cluster_arn
        .clone()
        .or_else(|| req.context.cluster_arn.clone())
        .filter(|arn| EksClusterArn::parse(arn).is_some());
    // The side that acts in the cluster's account is where a mode puts
    // its cluster-side role; without one, the cluster's ARN tells.
    let cluster_account = snap
        .cluster_account
        .as_ref()
        .filter(|_| req.mode.cluster_role().is_some())
        .map(|side| side.identity.account.clone())
        .or_else(|| snap.issuer.cluster_account.clone())
        .or_else(|| cluster_arn.as_deref().and_then(account_of_cluster));
    Binding {
        issuer: Some(snap.issuer.issuer.url()),
        cluster_account,
        cluster_arn,
    }
}

/// What the onboarding `req.name` is bound to, as the klanker role and
/// km-config.yaml record it. Nothing when the role is not this
/// onboarding's (that refusal is the role planner's).
pub fn recorded(req: &AddRequest, snap: &AddSnapshot) -> Binding {
    let entry = snap.config.get(&req.name);
    let from_entry = |b: &mut Binding| {
        if let Some(entry) = &entry {
            let provider = OidcProviderArn::parse(&entry.oidc_provider_arn, "provider").ok();
            b.issuer = b.issuer.take().or(provider.map(|p| p.issuer.url()));
            let role_a = entry.cluster_role_arn.as_deref();
            b.cluster_account = b
                .cluster_account
                .take()
                .or(role_a.and_then(trust::arn::account_of).map(str::to_string));
        }
    };
    let mut binding = Binding::default();
    match &snap.observed.role {
        Some(role) if trust::is_owned(&role.tags) => {
            if role.tags.get(NAME_TAG) != Some(&req.name) {
                return Binding::default();
            }
            binding = from_role(&role.tags, &role.trust_policy);
            from_entry(&mut binding);
            // The trust last: it is what a hand edit changes.
            binding.cluster_account = binding
                .cluster_account
                .or_else(|| root_principal_account(&role.trust_policy));
        }
        Some(_) => return Binding::default(),
        None => from_entry(&mut binding),
    }
    binding
}

/// The binding a klanker role's tags record (and its trust, for the
/// issuer of a role made before the issuer tag).
fn from_role(tags: &std::collections::BTreeMap<String, String>, trust_policy: &Value) -> Binding {
    let cluster_arn = tags
        .get(trust::CLUSTER_TAG)
        .filter(|c| EksClusterArn::parse(c).is_some())
        .cloned();
    let issuer = tags.get(trust::ISSUER_TAG).cloned().or_else(|| {
        crate::inventory::federated_principals(trust_policy)
            .iter()
            .find_map(|arn| OidcProviderArn::parse(arn, "provider").ok())
            .map(|p| p.issuer.url())
    });
    let cluster_account = cluster_arn.as_deref().and_then(account_of_cluster);
    Binding {
        issuer,
        cluster_account,
        cluster_arn,
    }
}

/// The account whose root a cross-account trust names (a cluster role's account).
fn root_principal_account(trust_policy: &Value) -> Option<String> {
    trust::chain::trusted_aws_principals(trust_policy)
        .iter()
        .filter(|p| p.ends_with(":root"))
        .find_map(|p| trust::arn::account_of(p))
        .map(str::to_string)
}

fn account_of_cluster(arn: &str) -> Option<String> {
    EksClusterArn::parse(arn).map(|c| c.account)
}

/// The binding must hold, or `--rebind` be given: then the warning that
/// says what moves and who loses access.
pub fn check(req: &AddRequest, snap: &AddSnapshot) -> Result<Option<String>, PlanError> {
    let changes = recorded(req, snap).changes_to(&desired(req, snap));
    if changes.is_empty() {
        return Ok(None);
    }
    let said = changes
        .iter()
        .map(Change::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if !req.rebind {
        return Err(PlanError::BindingChanged {
            name: req.name.clone(),
            role: req.role_name.clone(),
            changes: said,
        });
    }
    Ok(Some(format!(
        "--rebind: `{}` moves ({said}); the cluster it was bound to loses access, and what this tool made in another account than this run's is left there.",
        req.name
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    const ARN: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";

    #[test]
    fn only_parts_known_on_both_sides_compare() {
        let old = Binding {
            issuer: Some("https://a".into()),
            cluster_account: Some("222222222222".into()),
            cluster_arn: None,
        };
        let same_but_more = Binding {
            cluster_arn: Some(ARN.into()),
            ..old.clone()
        };
        assert!(old.changes_to(&same_but_more).is_empty());
        let moved = Binding {
            cluster_account: Some("444444444444".into()),
            ..old.clone()
        };
        let changes = old.changes_to(&moved);
        assert_eq!(
            changes[0].to_string(),
            "cluster account 222222222222 -> 444444444444"
        );
        assert_eq!(changes.len(), 1);
    }

    #[test]
    fn a_role_trusting_a_cluster_role_records_its_cluster_account_in_its_trust() {
        let trust = crate::trust::chain::klanker_trust_policy(
            "aws",
            "222222222222",
            "arn:aws:iam::222222222222:role/km-irsa-dev",
        );
        assert_eq!(
            root_principal_account(&trust).as_deref(),
            Some("222222222222")
        );
        let b = from_role(&BTreeMap::new(), &trust);
        assert_eq!(b.issuer, None);
    }

    #[test]
    fn tags_record_the_issuer_and_cluster_of_any_mode() {
        let tags = BTreeMap::from([
            (trust::CLUSTER_TAG.to_string(), ARN.to_string()),
            (trust::ISSUER_TAG.to_string(), "https://oidc/x".to_string()),
        ]);
        let b = from_role(&tags, &json!({"Statement": []}));
        assert_eq!(b.cluster_arn.as_deref(), Some(ARN));
        assert_eq!(b.cluster_account.as_deref(), Some("222222222222"));
        assert_eq!(b.issuer.as_deref(), Some("https://oidc/x"));
        // A server URL records no ARN (not an EKS cluster).
        let tags = BTreeMap::from([(trust::CLUSTER_TAG.to_string(), "https://k8s".into())]);
        assert_eq!(from_role(&tags, &json!({})).cluster_arn, None);
    }

    #[test]
    fn a_web_identity_trust_records_its_issuer() {
        let trust = json!({"Statement": [{
            "Principal": {"Federated": "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A"}
        }]});
        let b = from_role(&BTreeMap::new(), &trust);
        assert_eq!(b.issuer.as_deref(), Some("https://oidc.example.com/id/A"));
    }
}
