//! The roles this tool owns (tags prove it), what the tool would write for
//! each (the modes' own documents) and the `add` command that converges.

use serde_json::Value;

use super::{AccountScan, Finding, FindingId, Fix};
use crate::inventory::{self, Onboarding};
use crate::store::ClusterEntry;
use crate::trust::{Issuer, TrustMode, TrustScope, chain, policy};

/// An onboarding of this tool, as the audit sees it.
#[derive(Debug, Clone)]
pub struct Owned {
    pub onboarding: Onboarding,
    /// The trust as IAM holds it now.
    pub live: Value,
    /// What `add` would write for the ServiceAccounts it wrote; None when
    /// the role no longer records enough to tell (then `add` rewrites it).
    pub expected: Option<Value>,
    /// The ServiceAccounts the tool wrote into the trust.
    pub written: Vec<(String, String)>,
}

/// The onboardings the tags prove, each with its expected trust.
pub fn onboardings(account: &AccountScan, config: &[ClusterEntry]) -> Vec<Owned> {
    let (found, _) = inventory::onboardings_from(&account.tagged, config);
    found
        .into_iter()
        .filter_map(|mut o| {
            let (summary, _) = account
                .tagged
                .iter()
                .find(|(r, _)| r.role_name == o.role_name)?;
            let entry = config
                .iter()
                .find(|e| e.name == o.name && e.role_arn == o.role_arn);
            recover(&mut o, summary, entry);
            let written = match entry {
                Some(e) => e.subjects(),
                None => o
                    .subjects()
                    .into_iter()
                    .take(inventory::described_subject_count(&summary.description))
                    .collect(),
            };
            Some(Owned {
                expected: expected(&o, &written, &account.partition),
                live: summary.trust_policy.clone(),
                onboarding: o,
                written,
            })
        })
        .collect()
}

/// What a trust changed by hand no longer says, from what the role and
/// km-config.yaml recorded when the tool wrote it: the mode (the
/// description's suffix), the provider and the first ServiceAccount.
fn recover(o: &mut Onboarding, role: &crate::inventory::RoleSummary, entry: Option<&ClusterEntry>) {
    if role.description.ends_with(crate::trust::CHAINED_SUFFIX) {
        o.mode = TrustMode::Chained;
    }
    if o.oidc_provider_arn.is_empty() && o.mode == TrustMode::Mirror {
        o.oidc_provider_arn = entry
            .map(|e| e.oidc_provider_arn.clone())
            .or_else(|| {
                inventory::federated_principals(&role.trust_policy)
                    .into_iter()
                    .next()
            })
            .unwrap_or_default();
    }
    if o.issuer.is_empty()
        && let Ok(p) = crate::trust::OidcProviderArn::parse(&o.oidc_provider_arn, "provider")
    {
        o.issuer = p.issuer.url();
    }
    let described = role
        .description
        .split_once(" (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(scope, _)| scope.split_once(" +").map_or(scope, |(first, _)| first))
        .and_then(|scope| scope.split_once('/'));
    if let (true, Some((ns, sa))) = (o.namespace == "?", described) {
        o.namespace = ns.to_string();
        o.service_account = sa.to_string();
    }
}

/// The trust the onboarding's mode writes.
fn expected(o: &Onboarding, written: &[(String, String)], partition: &str) -> Option<Value> {
    match o.mode {
        TrustMode::Chained => {
            let role_a = o.cluster_role_arn.as_deref()?;
            let account = crate::trust::arn::account_of(role_a)?;
            Some(chain::klanker_trust_policy(partition, account, role_a))
        }
        TrustMode::Mirror => {
            let issuer = Issuer::parse(&o.issuer, "issuer").ok()?;
            let scopes: Vec<TrustScope> = written
                .iter()
                .map(|(ns, sa)| TrustScope::new(ns, sa))
                .collect();
            Some(policy::trust_policy_for(
                &o.oidc_provider_arn,
                &issuer,
                &scopes,
            ))
        }
    }
}

impl Owned {
    /// `add` with the flags that write this onboarding's trust again.
    pub fn add_command(&self) -> String {
        let o = &self.onboarding;
        let mut words = vec![
            "kubectl klanker-trust add".to_string(),
            format!("--name {}", o.name),
            format!("--mode {}", o.mode.as_str()),
        ];
        let (first_ns, _) = self
            .written
            .first()
            .cloned()
            .unwrap_or_else(|| (o.namespace.clone(), o.service_account.clone()));
        words.push(format!("--namespace '{first_ns}'"));
        for (i, (ns, sa)) in self.written.iter().enumerate() {
            words.push(match (i, ns == &first_ns) {
                (0, _) | (_, true) => format!("--service-account '{sa}'"),
                _ => format!("--service-account '{ns}:{sa}'"),
            });
        }
        words.join(" ")
    }

    /// The drift finding, when the live trust is not what the tool writes.
    pub fn drift(&self, account: &AccountScan) -> Option<Finding> {
        let same = self
            .expected
            .as_ref()
            .is_some_and(|e| policy::equivalent(&self.live, e));
        if same {
            return None;
        }
        let o = &self.onboarding;
        let diff = self
            .expected
            .as_ref()
            .map(|e| policy::diff_lines(&self.live, e))
            .unwrap_or_default();
        Some(Finding {
            id: FindingId::Drift,
            severity: FindingId::Drift.severity(),
            broken: false,
            account: account.account.clone(),
            arn: o.role_arn.clone(),
            role: Some(o.role_name.clone()),
            statement: None,
            who: format!(
                "whoever the hand-made changes admit: the live trust of onboarding `{}` ({} mode) differs from what the tool writes for it",
                o.name,
                o.mode.as_str()
            ),
            fix: Fix {
                text: "run, from that cluster's context, the add command that converges it".into(),
                command: Some(self.add_command()),
                document: self.expected.clone(),
                diff,
            },
        })
    }
}
