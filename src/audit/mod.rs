//! `audit`'s analysis, pure: the roles and providers of one or more
//! accounts (and, with a context, a cluster's ServiceAccounts) in, findings
//! out, each with who gets in because of it and the fix. No I/O here.
//!
//! What a correct trust is comes from the modes' own code, not a second
//! copy: a role this tool owns is compared with what `trust::policy` or
//! `trust::chain` would write for it, a tightened document is written by
//! `trust::policy::trust_policy_for`, and a ServiceAccount's admission is
//! judged by `trust::conditions::evaluate`.

pub mod cluster;
pub mod context;
pub mod document;
pub mod error;
pub mod fix;
pub mod owned;
pub mod rules;
pub mod web_identity;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

pub use error::AuditError;

use crate::inventory::{RoleSummary, Tags};
use crate::store::ClusterEntry;
use crate::trust::Issuer;

/// How bad a finding is, lowest first (so `>=` means "at least as bad").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Every severity, worst first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
}

// `ALL` holds every kind once, each at its place.
const _: () = {
    let mut i = 0;
    while i < FindingId::ALL.len() {
        assert!(FindingId::ALL[i].position() == i);
        i += 1;
    }
};

/// The stable ID of each kind of finding (docs/commands/audit.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingId {
    WebIdentityNoSub,
    SubWildcard,
    SubNamespaceWildcard,
    AudUnbound,
    StringEqualsWildcard,
    ConditionOtherIssuer,
    ProviderMissing,
    ProviderNoStsClientId,
    ProviderUnused,
    PodIdentityUnbound,
    CrossAccountRoot,
    TagSessionMissing,
    TrustNearQuota,
    ServiceAccountNotAdmitted,
    ServiceAccountMissing,
    Drift,
    PrincipalAnyone,
}

impl FindingId {
    /// Every kind, so tests and docs checks cannot miss one added later.
    pub const ALL: [FindingId; 17] = [
        FindingId::WebIdentityNoSub,
        FindingId::SubWildcard,
        FindingId::SubNamespaceWildcard,
        FindingId::AudUnbound,
        FindingId::StringEqualsWildcard,
        FindingId::ConditionOtherIssuer,
        FindingId::ProviderMissing,
        FindingId::ProviderNoStsClientId,
        FindingId::ProviderUnused,
        FindingId::PodIdentityUnbound,
        FindingId::CrossAccountRoot,
        FindingId::TagSessionMissing,
        FindingId::TrustNearQuota,
        FindingId::ServiceAccountNotAdmitted,
        FindingId::ServiceAccountMissing,
        FindingId::Drift,
        FindingId::PrincipalAnyone,
    ];

    /// Its place in `ALL`. The match is exhaustive, so a kind added to the
    /// enum does not build until it is given the next place, beside `ALL`.
    const fn position(self) -> usize {
        use FindingId::*;
        match self {
            WebIdentityNoSub => 0,
            SubWildcard => 1,
            SubNamespaceWildcard => 2,
            AudUnbound => 3,
            StringEqualsWildcard => 4,
            ConditionOtherIssuer => 5,
            ProviderMissing => 6,
            ProviderNoStsClientId => 7,
            ProviderUnused => 8,
            PodIdentityUnbound => 9,
            CrossAccountRoot => 10,
            TagSessionMissing => 11,
            TrustNearQuota => 12,
            ServiceAccountNotAdmitted => 13,
            ServiceAccountMissing => 14,
            Drift => 15,
            PrincipalAnyone => 16,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::WebIdentityNoSub => "web-identity-no-sub",
            FindingId::SubWildcard => "sub-wildcard",
            FindingId::SubNamespaceWildcard => "sub-namespace-wildcard",
            FindingId::AudUnbound => "aud-unbound",
            FindingId::StringEqualsWildcard => "string-equals-wildcard",
            FindingId::ConditionOtherIssuer => "condition-other-issuer",
            FindingId::ProviderMissing => "provider-missing",
            FindingId::ProviderNoStsClientId => "provider-no-sts-client-id",
            FindingId::ProviderUnused => "provider-unused",
            FindingId::PodIdentityUnbound => "pod-identity-unbound",
            FindingId::CrossAccountRoot => "cross-account-root",
            FindingId::TagSessionMissing => "tag-session-missing",
            FindingId::TrustNearQuota => "trust-near-quota",
            FindingId::ServiceAccountNotAdmitted => "service-account-not-admitted",
            FindingId::ServiceAccountMissing => "service-account-missing",
            FindingId::Drift => "drift",
            FindingId::PrincipalAnyone => "principal-anyone",
        }
    }

    /// The severity of this kind (cross-account-root may be raised, see rules).
    pub fn severity(self) -> Severity {
        use FindingId::*;
        match self {
            WebIdentityNoSub | PrincipalAnyone => Severity::Critical,
            SubWildcard
            | StringEqualsWildcard
            | ConditionOtherIssuer
            | ProviderNoStsClientId
            | CrossAccountRoot
            | TagSessionMissing
            | ServiceAccountNotAdmitted
            | Drift => Severity::High,
            SubNamespaceWildcard | AudUnbound | ProviderMissing | PodIdentityUnbound => {
                Severity::Medium
            }
            TrustNearQuota | ServiceAccountMissing => Severity::Low,
            ProviderUnused => Severity::Info,
        }
    }

    /// Whether the tightened trust document fixes it: the rules on what a
    /// statement admits. Not the quota, a root or wildcard principal (whom
    /// it was meant for is the owner's to say), the cluster side (the document keeps whoever
    /// gets in today), drift (the `add` command fixes that), nor providers.
    pub fn fixed_by_document(self) -> bool {
        use FindingId::*;
        match self {
            WebIdentityNoSub | SubWildcard | SubNamespaceWildcard | AudUnbound
            | StringEqualsWildcard | ConditionOtherIssuer | ProviderMissing
            | PodIdentityUnbound | TagSessionMissing => true,
            ProviderNoStsClientId
            | ProviderUnused
            | CrossAccountRoot
            | PrincipalAnyone
            | TrustNearQuota
            | ServiceAccountNotAdmitted
            | ServiceAccountMissing
            | Drift => false,
        }
    }

    /// Whether the finding means the trust admits nobody it was meant for.
    pub fn broken(self) -> bool {
        use FindingId::*;
        matches!(
            self,
            StringEqualsWildcard
                | ConditionOtherIssuer
                | ProviderMissing
                | ProviderNoStsClientId
                | TagSessionMissing
                | ServiceAccountNotAdmitted
        )
    }
}

/// What to do about a finding: a sentence, and where one exists the
/// command that converges (roles this tool owns, providers) or the
/// tightened trust document with its diff against today's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fix {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

/// One weakness, where it is and who gets in because of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    /// The trust admits nobody it was meant for (or nobody at all).
    pub broken: bool,
    pub account: String,
    /// The role's ARN, or the provider's for provider findings.
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Which statement (`statement 0 (Sid)`), for findings about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// One sentence: who gets in (or who is kept out) because of it.
    pub who: String,
    pub fix: Fix,
}

/// An OIDC provider of an account: its client IDs when they were read
/// (only for providers some role trusts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub arn: String,
    pub client_ids: Option<Vec<String>>,
}

/// What was read of one account.
#[derive(Debug, Clone)]
pub struct AccountScan {
    pub profile: String,
    pub account: String,
    pub partition: String,
    pub roles: Vec<RoleSummary>,
    pub providers: Vec<Provider>,
    /// The roles whose description looks like this tool's, with their
    /// tags: the tags prove which onboarding, if any, a role is.
    pub tagged: Vec<(RoleSummary, Tags)>,
    /// The account's own quotas, as read (or the flags); None: the
    /// scan's `limits` hold for it.
    pub limits: Option<Limits>,
    /// Where each of `limits` came from (applied, AWS's default and why, a flag).
    pub quota_sources: Vec<String>,
}

/// A ServiceAccount of the audited cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    /// Its `eks.amazonaws.com/role-arn` annotation.
    pub role_arn: Option<String>,
}

/// What was read of the cluster of `--context`.
#[derive(Debug, Clone)]
pub struct ClusterScan {
    pub context: String,
    pub issuer: Issuer,
    pub service_accounts: Vec<ServiceAccount>,
}

/// The quotas findings are measured against.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// OIDC providers per account (L-858F3967): 100 unless raised.
    pub provider_quota: usize,
    /// Role trust policy length (L-C07B4B0D): 2,048 unless raised.
    pub trust_quota: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            provider_quota: 100,
            trust_quota: crate::trust::policy::DEFAULT_MAX_TRUST_POLICY_SIZE,
        }
    }
}

/// Everything `audit` read.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub accounts: Vec<AccountScan>,
    pub cluster: Option<ClusterScan>,
    /// km-config.yaml's entries: which ServiceAccounts the tool wrote.
    pub config: Vec<ClusterEntry>,
    pub limits: Limits,
}

/// What each audited account holds, for the report's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub profile: String,
    pub account: String,
    pub roles: usize,
    pub workload_identity_roles: usize,
    pub providers: usize,
    pub provider_quota: usize,
    /// Where the quotas came from (applied, AWS's default and why, a flag).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quota_sources: Vec<String>,
}

/// The audit: each account's summary and every finding, worst first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub accounts: Vec<AccountSummary>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many findings of each severity, worst first (zeros included).
    pub fn totals(&self) -> BTreeMap<Severity, usize> {
        let mut out: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in &self.findings {
            *out.entry(f.severity).or_default() += 1;
        }
        out
    }

    /// How many findings are at or above `severity`.
    pub fn at_or_above(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}

impl Scan {
    /// Which role (by name or ARN) the scan holds, and its account's scan.
    pub fn role(&self, name_or_arn: &str) -> Vec<(&AccountScan, &RoleSummary)> {
        self.accounts
            .iter()
            .flat_map(|a| a.roles.iter().map(move |r| (a, r)))
            .filter(|(_, r)| r.arn == name_or_arn || r.role_name == name_or_arn)
            .collect()
    }
}

/// Whether a role's trust admits web identities or EKS Pod Identity: the
/// workload-identity roles an account-root trust also reaches.
pub fn is_workload_identity(role: &RoleSummary) -> bool {
    document::statements(&role.trust_policy).iter().any(|s| {
        s.allows()
            && (s.oidc_providers().next().is_some()
                || s.principal
                    .service
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(rules::POD_IDENTITY_SERVICE)))
    })
}

/// The audit of everything scanned.
pub fn analyze(scan: &Scan) -> Report {
    let workload: BTreeSet<String> = scan
        .accounts
        .iter()
        .filter(|a| a.roles.iter().any(is_workload_identity))
        .map(|a| a.account.clone())
        .collect();
    let mut findings = Vec::new();
    let mut accounts = Vec::new();
    for account in &scan.accounts {
        let limits = account.limits.unwrap_or(scan.limits);
        let ctx = rules::Context {
            account,
            workload_accounts: &workload,
            limits,
        };
        let owned = owned::onboardings(account, &scan.config);
        let mut found: Vec<Finding> = account
            .roles
            .iter()
            .flat_map(|role| rules::role(&ctx, role))
            .collect();
        found.extend(rules::providers(&ctx));
        found.extend(owned.iter().filter_map(|o| o.drift(account)));
        if let Some(cluster) = &scan.cluster {
            found.extend(cluster::findings(account, cluster));
        }
        fix::attach(&mut found, account, &owned, scan.cluster.as_ref());
        findings.extend(found);
        accounts.push(AccountSummary {
            profile: account.profile.clone(),
            account: account.account.clone(),
            roles: account.roles.len(),
            workload_identity_roles: account
                .roles
                .iter()
                .filter(|r| is_workload_identity(r))
                .count(),
            providers: account.providers.len(),
            provider_quota: limits.provider_quota,
            quota_sources: account.quota_sources.clone(),
        });
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.account.cmp(&b.account))
            .then_with(|| a.arn.cmp(&b.arn))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.statement.cmp(&b.statement))
    });
    Report { accounts, findings }
}

/// `--fix-doc ROLE`: the trust document that fixes the role (by name or
/// ARN): what the tool writes for a role it owns, else the tightened one.
pub fn fix_document(scan: &Scan, role: &str) -> Result<Value, AuditError> {
    let found = scan.role(role);
    let (account, summary) = match found.as_slice() {
        [] => {
            return Err(AuditError::NoSuchRole {
                role: role.to_string(),
                accounts: scan.accounts.iter().map(|a| a.account.clone()).collect(),
            });
        }
        [one] => *one,
        many => {
            return Err(AuditError::AmbiguousRole {
                role: role.to_string(),
                accounts: many.iter().map(|(a, _)| a.account.clone()).collect(),
            });
        }
    };
    let owned = owned::onboardings(account, &scan.config);
    let doc = match owned.iter().find(|o| o.onboarding.role_arn == summary.arn) {
        Some(o) => o
            .expected
            .clone()
            .ok_or_else(|| AuditError::CannotTighten {
                role: summary.arn.clone(),
                why: format!("its records are incomplete; run `{}`", o.add_command()),
            })?,
        None => fix::tighten(summary, account, scan.cluster.as_ref()).map_err(|why| {
            AuditError::CannotTighten {
                role: summary.arn.clone(),
                why,
            }
        })?,
    };
    // A rewrite of a trust none of whose findings it fixes would only
    // restyle it (StringLike of a literal as StringEquals, say).
    let fixable = analyze(scan)
        .findings
        .iter()
        .any(|f| f.arn == summary.arn && (f.id == FindingId::Drift || f.id.fixed_by_document()));
    if !fixable || crate::trust::policy::equivalent(&doc, &summary.trust_policy) {
        return Err(AuditError::NothingToFix {
            role: summary.arn.clone(),
        });
    }
    Ok(doc)
}

#[cfg(test)]
pub(crate) mod tests;
