//! `describe`'s drift (pure): where the live state of one onboarding
//! differs from what `add` set up, each said in one line.

use crate::plan::snapshot::Onboarding;
use crate::plan::snapshot::{Provider, Seen, SeenAccount};
use crate::trust::{ROLE_ARN_ANNOTATION, STS_AUDIENCE};

/// Whether a seen ServiceAccount is one the trust names.
pub fn is_subject(seen: &Seen, sa: &SeenAccount) -> bool {
    seen.cluster.as_ref().is_ok_and(|(_, t, _)| {
        t.subjects()
            .iter()
            .any(|(ns, name)| ns == &sa.namespace && name == &sa.name)
    })
}

/// The facts drift is judged from, out of what was read.
pub fn facts<'a>(name: &'a str, found: &'a Onboarding, seen: &'a Seen) -> DriftFacts<'a> {
    let accounts = seen
        .cluster
        .as_ref()
        .map(|(_, _, s)| s.as_slice())
        .unwrap_or(&[]);
    DriftFacts {
        name,
        cluster_role_arn: cluster_role_arn(found, seen),
        role_name: &found.located.role_name,
        role_arn: seen.role.as_ref().map(|(r, _)| r.arn.as_str()),
        entry_role_arn: found.entry.as_ref().map(|e| e.role_arn.as_str()),
        provider: match &seen.provider {
            Provider::Found(p) => Some(Some(p.client_ids.as_slice())),
            Provider::Missing(_) => Some(None),
            Provider::Unknown => None,
        },
        provider_arn: seen.provider_arn.as_deref(),
        subjects: seen.cluster.as_ref().ok().map(|(_, t, _)| {
            t.subjects()
                .into_iter()
                .map(|(ns, name)| {
                    let subject = accounts
                        .iter()
                        .find(|sa| sa.namespace == ns && sa.name == name);
                    (
                        format!("{ns}/{name}"),
                        subject.map(|sa| {
                            sa.observed
                                .annotations
                                .get(ROLE_ARN_ANNOTATION)
                                .map(String::as_str)
                        }),
                    )
                })
                .collect()
        }),
        by_association: super::mode::of(mode(found, seen)).uses_associations(),
        others: accounts
            .iter()
            .filter(|sa| !is_subject(seen, sa))
            .map(|sa| format!("{}/{}", sa.namespace, sa.name))
            .collect(),
        notes: found
            .located
            .notes()
            .into_iter()
            .chain(
                found
                    .located
                    .trust_drift
                    .iter()
                    .map(|d| format!("{}; fix: {}", d.problem, d.fix)),
            )
            .collect(),
    }
}

/// The cluster role, which the ServiceAccount names in a mode that has
/// one: km-config.yaml's record, else what the klanker role's trust admits.
pub fn cluster_role_arn(found: &Onboarding, seen: &Seen) -> Option<String> {
    found
        .entry
        .as_ref()
        .and_then(|e| e.cluster_role_arn.clone())
        .or_else(|| {
            seen.role
                .as_ref()
                .and_then(|(r, _)| crate::trust::chain::trusted_cluster_role(&r.trust_policy))
        })
}

/// The mode `describe` names: the one the onboarding recorded (its role's
/// shape, km-config.yaml), else the one with a cluster role when one is
/// known (km-config.yaml's or the trust's), else the one without.
pub fn mode(found: &Onboarding, seen: &Seen) -> crate::trust::TrustMode {
    let recorded = found
        .located
        .onboarding
        .as_ref()
        .map(|o| o.mode)
        .or_else(|| found.entry.as_ref().map(|e| e.mode));
    recorded.unwrap_or_else(|| {
        crate::inventory::recognise::mode_by_cluster_role(cluster_role_arn(found, seen).is_some())
    })
}

/// A trusted ServiceAccount `namespace/name` and its role annotation as
/// seen (`None`: it does not exist; `Some(None)`: not annotated).
pub type SubjectSeen<'a> = (String, Option<Option<&'a str>>);

/// What drift is judged from, as observed.
#[derive(Debug, Default)]
pub struct DriftFacts<'a> {
    pub name: &'a str,
    /// The cluster role, which the ServiceAccount is annotated with, in a mode that has one.
    pub cluster_role_arn: Option<String>,
    pub role_name: &'a str,
    /// The role's ARN, `None` when the role does not exist.
    pub role_arn: Option<&'a str>,
    /// km-config.yaml's role for NAME, `None` without an entry.
    pub entry_role_arn: Option<&'a str>,
    /// The provider the trust names: `None` unknown, `Some(None)` missing,
    /// `Some(Some(client IDs))` registered.
    pub provider: Option<Option<&'a [String]>>,
    pub provider_arn: Option<&'a str>,
    /// Each trusted ServiceAccount `namespace/name`, and its role annotation
    /// when it exists (`Some(None)`: exists, not annotated); `None` when the
    /// cluster was not read.
    pub subjects: Option<Vec<SubjectSeen<'a>>>,
    /// Other ServiceAccounts annotated with the role.
    pub others: Vec<String>,
    /// The pods get their credentials from an EKS Pod Identity
    /// association: the ServiceAccounts carry no role annotation.
    pub by_association: bool,
    /// What the role lookup noticed (duplicate claims, look-alikes).
    pub notes: Vec<String>,
}

/// The OIDC provider a trust policy names (its first federated principal).
pub fn federated_principal(policy: &serde_json::Value) -> Option<String> {
    crate::trust::document::PolicyDocument::read(policy)
        .statements()
        .find_map(|s| s.principal.federated.first().cloned())
}

pub fn drift(facts: &DriftFacts<'_>) -> Vec<String> {
    let mut drift = facts.notes.clone();
    let name = facts.name;
    match (facts.role_arn, facts.entry_role_arn) {
        (None, _) => drift.push(format!(
            "role {} does not exist: `kubectl klanker-trust add` re-creates it",
            facts.role_name
        )),
        (Some(_), None) => drift.push(format!(
            "km-config.yaml has no entry `{name}`: the km tool does not know this cluster"
        )),
        (Some(role), Some(entry)) if role != entry => drift.push(format!(
            "km-config.yaml names role {entry} for `{name}`, but the onboarding's role is {role}"
        )),
        _ => {}
    }
    match (facts.provider, facts.provider_arn) {
        (Some(None), Some(arn)) => drift.push(format!(
            "OIDC provider {arn}, which the trust names, does not exist: no token can assume the role"
        )),
        (Some(Some(ids)), Some(arn)) if !ids.iter().any(|c| c == STS_AUDIENCE) => drift.push(
            format!("OIDC provider {arn} lacks the client ID {STS_AUDIENCE}"),
        ),
        _ => {}
    }
    // Not judged against a role that is gone.
    let role = facts.role_arn;
    for (subject, annotation) in facts.subjects.iter().flatten() {
        let Some(role) = role else { break };
        match annotation {
            None => drift.push(format!(
                "ServiceAccount {subject}, which the trust names, does not exist"
            )),
            // Web identity comes first in the SDKs' chains: it would shadow the association.
            Some(Some(other)) if facts.by_association => drift.push(format!(
                "ServiceAccount {subject} is annotated with role {other}: its pods' SDKs use that role, not the association's"
            )),
            Some(None) if facts.by_association => {}
            Some(None) => drift.push(format!(
                "ServiceAccount {subject} has no {ROLE_ARN_ANNOTATION} annotation"
            )),
            Some(Some(other)) if *other != facts.cluster_role_arn.as_deref().unwrap_or(role) => {
                drift.push(format!(
                    "ServiceAccount {subject} is annotated with another role: {other}"
                ))
            }
            _ => {}
        }
    }
    if !facts.others.is_empty() {
        drift.push(format!(
            "other ServiceAccounts are annotated with this role but are not the subject the trust names: {}",
            facts.others.join(", ")
        ));
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy<'a>(ids: &'a [String]) -> DriftFacts<'a> {
        DriftFacts {
            name: "dev",
            role_name: "km-cluster-dev",
            role_arn: Some("arn:role"),
            entry_role_arn: Some("arn:role"),
            provider: Some(Some(ids)),
            provider_arn: Some("arn:provider"),
            subjects: Some(vec![("ai-pods/km".into(), Some(Some("arn:role")))]),
            ..DriftFacts::default()
        }
    }

    #[test]
    fn the_federated_principal_in_any_statement_shape() {
        let one = serde_json::json!({"Statement": {"Principal": {"Federated": "arn:p"}}});
        assert_eq!(federated_principal(&one).as_deref(), Some("arn:p"));
        let list = serde_json::json!({"Statement": [{"Principal": {"AWS": "x"}}, {"Principal": {"Federated": ["arn:q"]}}]});
        assert_eq!(federated_principal(&list).as_deref(), Some("arn:q"));
        assert_eq!(federated_principal(&serde_json::json!("junk")), None);
    }

    #[test]
    fn a_healthy_onboarding_has_no_drift() {
        let ids = vec![STS_AUDIENCE.to_string()];
        assert!(drift(&healthy(&ids)).is_empty());
    }

    #[test]
    fn each_difference_is_one_line() {
        let ids = vec!["other".to_string()];
        let mut facts = healthy(&ids);
        facts.entry_role_arn = Some("arn:elsewhere");
        facts.subjects = Some(vec![("ai-pods/km".into(), Some(Some("arn:other")))]);
        facts.others = vec!["x/y".into()];
        let lines = drift(&facts);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].contains("names role arn:elsewhere"), "{lines:#?}");
        assert!(
            lines[1].contains("lacks the client ID sts.amazonaws.com"),
            "{lines:#?}"
        );
        assert!(
            lines[2].contains("annotated with another role: arn:other"),
            "{lines:#?}"
        );
        assert!(lines[3].contains("x/y"), "{lines:#?}");

        let mut gone = healthy(&ids);
        gone.role_arn = None;
        gone.provider = Some(None);
        gone.subjects = Some(vec![("ai-pods/km".into(), None)]);
        let lines = drift(&gone);
        assert!(
            lines[0].contains("role km-cluster-dev does not exist"),
            "{lines:#?}"
        );
        assert!(lines[1].contains("does not exist: no token"), "{lines:#?}");
        // The ServiceAccount is not judged against a role that is gone.
        assert_eq!(lines.len(), 2, "{lines:#?}");
    }
}
