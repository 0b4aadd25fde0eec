//! The roles this tool owns (tags prove it), what the tool would write for
//! each (the modes' own documents) and the `add` command that converges.

use serde_json::Value;

use super::{AccountScan, Finding, FindingId, Fix};
use crate::inventory::{self, Onboarding, intent};
use crate::store::ClusterEntry;
use crate::trust::policy;

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
        .filter_map(|o| {
            let (summary, _) = account
                .tagged
                .iter()
                .find(|(r, _)| r.role_name == o.role_name)?;
            let entry = config
                .iter()
                .find(|e| e.name == o.name && e.role_arn == o.role_arn);
            let (o, written) = intent::as_written(&o, summary, entry);
            Some(Owned {
                expected: intent::expected_trust(&o, &written, &account.partition),
                live: summary.trust_policy.clone(),
                onboarding: o,
                written,
            })
        })
        .collect()
}

impl Owned {
    /// `add` with the flags that write this onboarding's trust again.
    pub fn add_command(&self) -> String {
        intent::add_command(&self.onboarding, &self.written)
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
