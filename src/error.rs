//! One error type for the whole tool, its exit codes, and the single place
//! where an error is rendered for the user.

use crate::aws::AwsError;
use crate::k8s::KubeError;
use crate::kubeconfig::KubeconfigError;
use crate::plan::PlanError;
use crate::plan::guard::GuardError;
use crate::store::StoreError;
use crate::trust::ValidationError;

/// Exit codes (documented in README): 0 success, 1 failure with nothing
/// changed, 2 bad input, 3 failed part-way (some changes were applied),
/// 4 a link of the trust chain is broken.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_PARTIAL: u8 = 3;
/// `verify` (and `add`'s verification): a link of the trust chain is broken.
pub const EXIT_BROKEN_CHAIN: u8 = 4;
/// Stopped by Ctrl-C between steps (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error(
        "context `{context}` is not an EKS cluster that this tool can recognise (no `aws eks get-token` or `aws-iam-authenticator` exec block, and no cluster ARN), so its OIDC issuer is unknown. Pass --name NAME to read the issuer from the API server's /.well-known/openid-configuration, --issuer-url https://... (the cluster's public service-account issuer), --oidc-provider-arn ARN, or --cluster-name NAME --cluster-region REGION for EKS."
    )]
    NotEks { context: String },
    #[error(
        "no EKS cluster region is known for context `{context}`. Pass --cluster-region REGION."
    )]
    NoClusterRegion { context: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Policy(#[from] crate::commands::policy::PolicyError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error("the cluster reported issuer `{issuer}`, which is not a usable OIDC issuer: {problem}")]
    BadIssuer { issuer: String, problem: String },
    #[error("the trust chain is broken at: {}. See the FAIL lines above for the fix.", .links.join(", "))]
    BrokenChain { links: Vec<String> },
    #[error(
        "interrupted.\ndone:        {}\nnot started: {}\nRe-running `{rerun}` with the same arguments converges.",
        if .done.is_empty() { "nothing".to_string() } else { .done.join("; ") },
        .not_started.join("; ")
    )]
    Interrupted {
        done: Vec<String>,
        not_started: Vec<String>,
        rerun: &'static str,
    },
    #[error("aborted at the prompt; nothing was changed.")]
    Aborted,
    #[error(
        "could not ask for confirmation on the terminal: {0}. Pass --yes to apply or --dry-run to preview."
    )]
    Prompt(String),
    #[error("{}", partial_message(.failed, .done, .not_started, .cause, .rerun))]
    Partial {
        done: Vec<String>,
        failed: String,
        not_started: Vec<String>,
        cause: Box<Error>,
        rerun: &'static str,
    },
}

fn partial_message(
    failed: &str,
    done: &[String],
    not_started: &[String],
    cause: &Error,
    rerun: &str,
) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "nothing".to_string()
        } else {
            items.join("; ")
        }
    };
    format!(
        "step `{failed}` failed: {cause}\n\
         done:        {}\n\
         not started: {}\n\
         Nothing was rolled back. Re-running `{rerun}` with the same arguments converges: it finds what exists and does the rest.",
        list(done),
        list(not_started),
    )
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_)
            | Error::Kubeconfig(_)
            | Error::NotEks { .. }
            | Error::NoClusterRegion { .. } => EXIT_BAD_INPUT,
            Error::Aws(AwsError::UnknownProfile { .. }) => EXIT_BAD_INPUT,
            Error::Policy(e) => e.exit_code(),
            Error::Partial { .. } => EXIT_PARTIAL,
            Error::BrokenChain { .. } => EXIT_BROKEN_CHAIN,
            Error::Interrupted { .. } => EXIT_INTERRUPTED,
            _ => EXIT_FAILURE,
        }
    }
}

/// Writes `error: ...` to stderr: one paragraph, no debug dumps. With
/// `verbose`, the cause chain follows.
pub fn render(err: &Error, verbose: bool) {
    let mut text = format!("error: {err}");
    if verbose {
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!("\n  caused by: {cause}"));
            source = cause.source();
        }
    }
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let invalid = Error::Invalid(ValidationError::new("--name", "x y", "bad", "fix"));
        assert_eq!(invalid.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(Error::Aborted.exit_code(), EXIT_FAILURE);
        let partial = Error::Partial {
            done: vec!["create role r".into()],
            failed: "attach policy p".into(),
            not_started: vec![],
            cause: Box::new(Error::Aborted),
            rerun: "kubectl klanker-trust add",
        };
        assert_eq!(partial.exit_code(), EXIT_PARTIAL);
        let text = partial.to_string();
        assert!(text.contains("done:        create role r"), "{text}");
        assert!(text.contains("not started: nothing"), "{text}");
        assert!(text.contains("converges"), "{text}");
    }
}
