//! `audit`'s own failures, rendered by the one error path (`error.rs`).

use super::Severity;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `--fail-on`: findings at or above the gate. The report was printed.
    #[error(
        "{count} finding{} at or above `{}` (--fail-on {})",
        if *.count == 1 { "" } else { "s" },
        .severity.as_str(),
        .severity.as_str()
    )]
    FailOn { severity: Severity, count: usize },
    /// A read the audit needs was refused.
    #[error(
        "{operation} was denied for profile `{profile}`{}: {message}. The audit needs read-only access: `kubectl klanker-trust policy --for audit` prints the policy to grant.",
        .account.as_deref().map(|a| format!(" (account {a})")).unwrap_or_default()
    )]
    Denied {
        operation: String,
        profile: String,
        account: Option<String>,
        message: String,
    },
    /// `--fix-doc ROLE` names no role of the audited accounts.
    #[error(
        "no role `{role}` in the audited account{} ({}). Pass its name or ARN as `aws iam list-roles` shows it, or add --aws-profile for its account.",
        if .accounts.len() == 1 { "" } else { "s" },
        .accounts.join(", ")
    )]
    NoSuchRole { role: String, accounts: Vec<String> },
    /// `--fix-doc ROLE` with a name that several audited accounts hold.
    #[error("role `{role}` exists in several audited accounts ({}); pass its ARN", .accounts.join(", "))]
    AmbiguousRole { role: String, accounts: Vec<String> },
    /// `--fix-doc ROLE` for a role whose trust has nothing to tighten.
    #[error(
        "the trust of role {role} has nothing to tighten: its audit found nothing a rewritten trust would fix"
    )]
    NothingToFix { role: String },
    /// `--fix-doc ROLE` where the document cannot be written without knowing more.
    #[error("no tightened trust for role {role}: {why}")]
    CannotTighten { role: String, why: String },
}
