//! Where the rules run, and how a finding about a role is made: below
//! every rule file, so they need not import each other.

use std::collections::BTreeSet;

use super::document::Statement;
use super::{AccountScan, Finding, FindingId, Fix, Limits};
use crate::inventory::RoleSummary;

/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";

/// Where the rules run: the account, and which audited accounts hold
/// workload-identity roles (an account-root trust of those reaches pods).
pub struct Context<'a> {
    pub account: &'a AccountScan,
    pub workload_accounts: &'a BTreeSet<String>,
    pub limits: Limits,
}

impl Context<'_> {
    /// A finding about a role, at its kind's severity.
    pub fn on_role(
        &self,
        id: FindingId,
        role: &RoleSummary,
        statement: Option<&Statement>,
        who: String,
        fix: String,
    ) -> Finding {
        Finding {
            id,
            severity: id.severity(),
            broken: id.broken(),
            account: self.account.account.clone(),
            arn: role.arn.clone(),
            role: Some(role.role_name.clone()),
            statement: statement.map(Statement::label),
            who,
            fix: Fix {
                text: fix,
                ..Fix::default()
            },
        }
    }
}

/// The account and issuer a provider ARN names, compared the way IAM
/// names providers (host case-insensitively); the ARN itself if unparsable.
pub fn provider_key(arn: &str) -> String {
    match crate::trust::OidcProviderArn::parse(arn, "provider") {
        Ok(p) => format!("{}/{}", p.account, p.issuer.host_path()),
        Err(_) => arn.to_string(),
    }
}
