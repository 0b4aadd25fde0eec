//! One error type for the whole tool, its exit codes, and the single place
//! where an error is rendered for the user.

use std::sync::Arc;

use crate::aws::AwsError;
use crate::k8s::KubeError;
use crate::kubeconfig::KubeconfigError;
use crate::permissions::PolicyError;
use crate::plan::PlanError;
use crate::resolve::ResolveError;
use crate::store::StoreError;
use crate::text::visible;
use crate::trust::ValidationError;
use crate::trust::guard::GuardError;

/// Exit codes (documented in docs/errors.md): 0 success, 1 failure with nothing
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
    /// A flag or argument that real IAM or Kubernetes would reject, caught locally.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The kubeconfig could not be read, or names no usable context.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// The cluster-side identity acts in another account than the cluster's.
    #[error(
        "the cluster-side identity ({identity}) acts in account {actual}, but the cluster, and role {role}, are in account {cluster}. Nothing was changed. Use --cluster-profile with a profile of account {cluster}."
    )]
    ClusterSideWrongAccount {
        identity: String,
        actual: String,
        cluster: String,
        role: String,
    },
    /// A Pod Identity onboarding's associations are the EKS cluster's,
    /// and the context names none: its roles are not removed without them.
    #[error(
        "`{name}` gets its pods' credentials from EKS Pod Identity associations in its EKS cluster, and context `{context}` names no EKS cluster to find them in. Nothing was changed (its roles stay until its associations go first). Run `rm` again with the context of that EKS cluster (`aws eks update-kubeconfig` writes one)."
    )]
    AssociationsUnreachable { name: String, context: String },
    /// The onboarding has a role in the cluster's account (read, changed or
    /// removed there), and no identity for that account is known.
    #[error(
        "`{name}` is onboarded with role {role} in the cluster's account; {doing} it needs that account's identity. Pass --cluster-profile PROFILE for account {account}."
    )]
    ClusterRoleUnreachable {
        /// What the command would do with the role: "changing", "checking".
        doing: &'static str,
        name: String,
        role: String,
        account: String,
    },
    /// Flags and the kubeconfig could not make a request.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Which clusters a run over several works on, and what it refuses.
    #[error(transparent)]
    Fleet(#[from] crate::resolve::fleet::FleetInputError),
    /// An AWS call or the AWS configuration failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A Kubernetes API call failed (redacted: see `k8s::KubeError`).
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// km-config.yaml could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plan cannot be carried out (ownership, a missing policy or namespace).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `audit`: a gate (`--fail-on`), a denied read, a role to fix.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// `policy` was asked for something it cannot scope.
    #[error(transparent)]
    Policy(#[from] crate::permissions::PolicyError),
    /// The wrong account or the wrong cluster: stopped before any write.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The issuer the cluster reported cannot back an IAM OIDC provider.
    #[error("the cluster reported issuer `{issuer}`, which is not a usable OIDC issuer: {problem}")]
    BadIssuer { issuer: String, problem: String },
    /// `add` over several clusters: no context could be planned.
    #[error("no cluster could be planned, so nothing was changed: {}", .causes.join("; "))]
    FleetNotStarted {
        /// `context: cause`, each.
        causes: Vec<String>,
        /// Every cause is bad input (the same flags fail everywhere).
        bad_input: bool,
    },
    /// `add` over several clusters: some did not succeed (the summary
    /// names each cause and the command that converges it).
    #[error(
        "{} of {total} {what} did not succeed: {}. The summary above says why, and the command that converges each.",
        .failed.len(), .failed.join(", ")
    )]
    FleetIncomplete {
        failed: Vec<String>,
        total: usize,
        /// What was worked on: clusters, onboardings.
        what: &'static str,
        /// The run's exit code, as its command's rules decide it.
        code: u8,
    },
    /// `verify` (or `add`'s verification): a link of the chain fails.
    #[error("the trust chain is broken at: {}. See the FAIL lines above for the fix.", .links.join(", "))]
    BrokenChain { links: Vec<String> },
    /// Ctrl-C while steps ran: what was done, what was cut off while it
    /// waited (it may have taken effect), and what was not started.
    #[error(
        "interrupted.\ndone:        {}{}\nnot started: {}\nNothing was rolled back. Re-running `{rerun}` with the same arguments converges.",
        if .done.is_empty() { "nothing".to_string() } else { .done.join("; ") },
        if .in_flight.is_empty() { String::new() } else { format!("\ninterrupted: {} (it may have taken effect)", .in_flight.join("; ")) },
        if .not_started.is_empty() { "nothing".to_string() } else { .not_started.join("; ") },
    )]
    Interrupted {
        done: Vec<String>,
        in_flight: Vec<String>,
        not_started: Vec<String>,
        rerun: &'static str,
    },
    /// Ctrl-C at the confirmation prompt.
    #[error("interrupted at the prompt; nothing was changed.")]
    InterruptedAtPrompt,
    /// The admin answered no at the prompt.
    #[error("aborted at the prompt; nothing was changed.")]
    Aborted,
    /// `-o json`: the serializer refused a value.
    #[error("could not write the JSON output: {0}")]
    Json(#[from] serde_json::Error),
    /// `-o yaml`: the serializer refused a value.
    #[error("could not write the YAML output: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// stdout or stderr refused the output (a full disk, a closed file).
    /// A reader that left (a closed pipe) ends the run quietly instead:
    /// see `output::reader_left`.
    #[error("could not write the output: {0}")]
    Write(#[source] std::io::Error),
    /// A programming error: a plan held a cluster step, but the command
    /// built no cluster client.
    #[error(
        "internal error: a cluster step was planned without a cluster client. Please report this."
    )]
    NoClusterClient,
    /// EKS gave no external ID for an association just made (its trust
    /// cannot be pinned; the klanker role keeps the unpinned trust).
    #[error(
        "EKS returned no external ID for the Pod Identity association of {service_account} in cluster {cluster}, so the klanker role's trust could not be pinned to it; the role still trusts only the association role (and the session tags, when EKS sends them). Re-run the same `add` to pin it."
    )]
    ExternalIdMissing {
        cluster: String,
        service_account: String,
    },
    /// The terminal could not be asked.
    #[error(
        "could not ask for confirmation on the terminal: {0}. Pass --yes to apply or --dry-run to preview."
    )]
    Prompt(#[source] dialoguer::Error),
    /// `rm NAME` / `verify NAME` for a name with nothing onboarded under it.
    #[error("{}", not_found_message(.command, .name, .looked_at, .onboarded, .suggestion))]
    NotOnboarded {
        command: &'static str,
        name: String,
        looked_at: Vec<String>,
        onboarded: Vec<String>,
        suggestion: Option<String>,
    },
    /// A failure after the plan was applied (e.g. while verifying it): the
    /// changes stay, and "nothing was changed" would be untrue.
    #[error("{}", after_changes_message(.cause, .rerun))]
    AfterChanges {
        #[source]
        cause: Box<Error>,
        rerun: &'static str,
    },
    /// `rm` removed what it could but not the cluster part: the cluster
    /// could not be read. Exit 3 until a later `rm` finishes it.
    #[error("{}", pending_message(.name, .cause, .kept))]
    RemovalPending {
        name: String,
        cause: ClusterUnread,
        /// The km-config.yaml that keeps the entry, marked pending.
        kept: Option<std::path::PathBuf>,
    },
    /// A step failed part-way through a plan: what was done, what failed,
    /// what was not started.
    #[error("{}", partial_message(.failed, .done, .not_started, .cause, .rerun))]
    Partial {
        done: Vec<String>,
        failed: String,
        not_started: Vec<String>,
        #[source]
        cause: Box<Error>,
        rerun: &'static str,
    },
}

/// Why the cluster's ServiceAccounts were not read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterUnread {
    /// The kubeconfig could not be read, or has no such context.
    #[error(transparent)]
    Kubeconfig(Arc<KubeconfigError>),
    /// Neither `--context` nor a current context names a cluster.
    #[error("no kubeconfig context was given and none is current")]
    NoContext,
    /// The client could not be set up, or the API server did not answer.
    #[error(transparent)]
    Kube(Arc<KubeError>),
}

fn after_changes_message(cause: &dyn std::fmt::Display, rerun: &str) -> String {
    format!(
        "the changes were applied, then: {cause}\nRe-running `{rerun}` with the same arguments converges."
    )
}

fn partial_message(
    failed: &str,
    done: &[String],
    not_started: &[String],
    cause: &dyn std::fmt::Display,
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

fn pending_message(name: &str, cause: &ClusterUnread, kept: &Option<std::path::PathBuf>) -> String {
    let kept = match kept {
        Some(path) => format!(
            "{} keeps its entry, marked pending, until then",
            path.display()
        ),
        None => "nothing records it locally (this workstation had no km-config.yaml entry for it)"
            .into(),
    };
    format!(
        "`{name}` is not removed completely: its ServiceAccount could not be released or deleted, because the cluster could not be read ({cause}). Run `kubectl klanker-trust rm {name}` again against that cluster's context to finish; {kept}."
    )
}

fn not_found_message(
    command: &str,
    name: &str,
    looked_at: &[String],
    onboarded: &[String],
    suggestion: &Option<String>,
) -> String {
    let known = if onboarded.is_empty() {
        "Nothing is onboarded in that account.".to_string()
    } else {
        format!("Onboarded: {}.", onboarded.join(", "))
    };
    let hint = match suggestion {
        Some(s) => format!(" Did you mean `{s}`?"),
        None => String::new(),
    };
    let ignore = if command == "rm" {
        " Pass --ignore-not-found to exit 0 when it is gone already."
    } else {
        ""
    };
    format!(
        "`{name}` is not onboarded: no trace of it in {}. {known}{hint}{ignore}",
        looked_at.join(", ")
    )
}

/// The onboarded name closest to `name`, if it is close enough to be a typo
/// (at most a third of its characters differ, at least one).
pub fn did_you_mean<'a>(name: &str, onboarded: &'a [String]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    onboarded
        .iter()
        .map(|o| (edit_distance(name, o), o))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, o)| o.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (here + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = here;
        }
    }
    row[b.len()]
}

impl Error {
    /// `verify`'s failed links, if any, as the error that ends the command.
    pub fn broken_chain(checks: &[crate::verify::Check]) -> Result<(), Error> {
        let links = crate::verify::broken_links(checks);
        match links.is_empty() {
            true => Ok(()),
            false => Err(Error::BrokenChain { links }),
        }
    }

    /// The cluster role (by ARN) cannot be reached: no identity for its account.
    pub fn cluster_role_unreachable(doing: &'static str, name: &str, role_arn: &str) -> Self {
        Error::ClusterRoleUnreachable {
            doing,
            name: name.to_string(),
            role: role_arn.to_string(),
            account: crate::trust::arn::account_of(role_arn)
                .unwrap_or("of the cluster")
                .to_string(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            // The wrong cluster: stopped, not a typo.
            Error::Resolve(ResolveError::Guard(_)) => EXIT_FAILURE,
            Error::Invalid(_)
            | Error::Kubeconfig(_)
            | Error::Resolve(_)
            | Error::Fleet(_)
            | Error::ClusterSideWrongAccount { .. }
            | Error::ClusterRoleUnreachable { .. }
            | Error::AssociationsUnreachable { .. }
            | Error::Plan(PlanError::Invalid(_)) => EXIT_BAD_INPUT,
            Error::Plan(PlanError::Mode(e)) if e.is_bad_input() => EXIT_BAD_INPUT,
            Error::Aws(AwsError::UnknownProfile { .. }) => EXIT_BAD_INPUT,
            // The klanker account could not be read: a failure, not a typo.
            Error::Policy(e @ PolicyError::KlankerAccount { .. }) if !e.is_bad_input() => {
                EXIT_FAILURE
            }
            Error::Policy(_) => EXIT_BAD_INPUT,
            Error::Partial { .. } | Error::AfterChanges { .. } | Error::RemovalPending { .. } => {
                EXIT_PARTIAL
            }
            Error::BrokenChain { .. } => EXIT_BROKEN_CHAIN,
            Error::FleetNotStarted {
                bad_input: true, ..
            } => EXIT_BAD_INPUT,
            Error::FleetIncomplete { code, .. } => *code,
            Error::Interrupted { .. } | Error::InterruptedAtPrompt => EXIT_INTERRUPTED,
            _ => EXIT_FAILURE,
        }
    }
}

/// Exit 1 means "failed before any write" (see docs/errors.md): the message
/// says so, except where it already says what happened.
fn nothing_changed(err: &Error) -> bool {
    err.exit_code() == EXIT_FAILURE && !matches!(err, Error::Aborted)
}

/// The user-facing text of an error, as `render` prints it.
pub fn text(err: &Error, verbose: bool) -> String {
    let mut text = format!("error: {}", message(err));
    if nothing_changed(err) {
        text.push_str("\nNothing was changed; re-running is safe.");
    }
    if verbose {
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            // Most messages already name their cause; say each only once.
            let line = visible(&cause.to_string()).into_owned();
            if !text.contains(&line) {
                text.push_str(&format!("\n  caused by: {line}"));
            }
            source = cause.source();
        }
    }
    text
}

/// The message of `err` as our text: the line breaks between the parts of
/// a composite error (done / not started) kept, and every other message
/// made one line. Messages quote values from outside (annotations, tags,
/// ARNs, API servers' messages, km-config.yaml and kubeconfig values), so
/// none of those can begin a line of ours (a fake `error:` urging a flag).
fn message(err: &Error) -> String {
    let each = |items: &[String]| -> Vec<String> {
        items.iter().map(|i| visible(i).into_owned()).collect()
    };
    match err {
        Error::Partial {
            done,
            failed,
            not_started,
            cause,
            rerun,
        } => partial_message(
            &visible(failed),
            &each(done),
            &each(not_started),
            &message(cause),
            rerun,
        ),
        Error::AfterChanges { cause, rerun } => after_changes_message(&message(cause), rerun),
        Error::Interrupted {
            done,
            in_flight,
            not_started,
            rerun,
        } => Error::Interrupted {
            done: each(done),
            in_flight: each(in_flight),
            not_started: each(not_started),
            rerun,
        }
        .to_string(),
        other => visible(&other.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `verify` only reads the cluster role: its refusal must not say it
    /// would change it (issue 26), while `add` and `rm` would.
    #[test]
    fn an_unreachable_cluster_role_says_what_the_command_would_do_with_it() {
        let arn = "arn:aws:iam::222222222222:role/km-irsa-dev";
        let checking = Error::cluster_role_unreachable("checking", "dev", arn).to_string();
        assert!(
            checking.contains("checking it needs that account's identity"),
            "{checking}"
        );
        assert!(!checking.contains("changing"), "{checking}");
        assert!(checking.contains("for account 222222222222"), "{checking}");
        let changing = Error::cluster_role_unreachable("changing", "dev", arn).to_string();
        assert!(changing.contains("changing it needs"), "{changing}");
        assert_eq!(
            Error::cluster_role_unreachable("checking", "dev", arn).exit_code(),
            EXIT_BAD_INPUT
        );
    }

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

    #[test]
    fn a_failure_before_any_write_says_nothing_was_changed() {
        let before = Error::Kube(crate::k8s::KubeError::Unreachable {
            action: "reading namespace a".into(),
            message: "connection refused".into(),
        });
        assert!(text(&before, false).ends_with("\nNothing was changed; re-running is safe."));
        let after = Error::AfterChanges {
            cause: Box::new(before),
            rerun: "kubectl klanker-trust add",
        };
        assert_eq!(after.exit_code(), EXIT_PARTIAL);
        assert!(!text(&after, false).contains("Nothing was changed"));
        assert_eq!(
            text(&Error::Aborted, false)
                .matches("nothing was changed")
                .count(),
            1
        );
    }

    #[test]
    fn an_unfinished_removal_is_exit_3_and_says_how_to_finish() {
        let err = Error::RemovalPending {
            name: "dev".into(),
            cause: ClusterUnread::NoContext,
            kept: Some("/h/km-config.yaml".into()),
        };
        assert_eq!(err.exit_code(), EXIT_PARTIAL);
        let t = text(&err, false);
        assert!(t.contains("`dev` is not removed completely"), "{t}");
        assert!(t.contains("no kubeconfig context"), "{t}");
        assert!(t.contains("rm dev` again"), "{t}");
        assert!(
            t.contains("/h/km-config.yaml keeps its entry, marked pending"),
            "{t}"
        );
        assert!(!t.contains("Nothing was changed"), "{t}");
    }

    #[test]
    fn not_onboarded_names_the_name_what_was_searched_and_what_exists() {
        let onboarded = vec!["dev-use1-0".to_string(), "prd-euw1-0".to_string()];
        let err = Error::NotOnboarded {
            command: "rm",
            name: "dev-use1-1".into(),
            looked_at: vec!["IAM roles".into(), "km-config.yaml".into()],
            suggestion: did_you_mean("dev-use1-1", &onboarded).map(str::to_string),
            onboarded,
        };
        assert_eq!(err.exit_code(), EXIT_FAILURE);
        let t = err.to_string();
        assert!(t.contains("`dev-use1-1` is not onboarded"), "{t}");
        assert!(t.contains("IAM roles, km-config.yaml"), "{t}");
        assert!(t.contains("Onboarded: dev-use1-0, prd-euw1-0."), "{t}");
        assert!(t.contains("Did you mean `dev-use1-0`?"), "{t}");
        assert!(t.contains("--ignore-not-found"), "{t}");
    }

    #[test]
    fn an_outside_value_never_begins_a_line_of_an_error() {
        let injected = "arn:aws:iam::1:role/x\nerror: pass --force\r\u{1b}[2K";
        let leaf = || {
            Error::Kube(crate::k8s::KubeError::Unreachable {
                action: format!("reading ServiceAccount {injected}"),
                message: "refused\nWARNING: fake".into(),
            })
        };
        let shown = text(&leaf(), true);
        assert_eq!(shown.lines().count(), 2, "{shown}");
        assert!(
            shown.contains("role/x\\nerror: pass --force\\r\\e[2K"),
            "{shown}"
        );
        assert!(shown.contains("refused\\nWARNING: fake"), "{shown}");
        // A composite error keeps its own lines; each part is one line.
        let partial = Error::AfterChanges {
            cause: Box::new(Error::Partial {
                done: vec![format!("create role {injected}")],
                failed: injected.into(),
                not_started: vec![injected.into()],
                cause: Box::new(leaf()),
                rerun: "kubectl klanker-trust add",
            }),
            rerun: "kubectl klanker-trust add",
        };
        let shown = text(&partial, false);
        let starts: Vec<&str> = shown
            .lines()
            .map(|l| l.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            starts,
            [
                "error",
                "done",
                "not started",
                "Nothing was rolled back. Re-running `kubectl klanker-trust add` with the same arguments converges",
                "Re-running `kubectl klanker-trust add` with the same arguments converges."
            ],
            "{shown}"
        );
        let interrupted = Error::Interrupted {
            done: vec![injected.into()],
            in_flight: vec![injected.into()],
            not_started: vec![],
            rerun: "kubectl klanker-trust rm",
        };
        assert_eq!(text(&interrupted, false).lines().count(), 5);
    }

    #[test]
    fn did_you_mean_only_for_near_misses() {
        let names = vec!["dev-use1-0".to_string()];
        assert_eq!(did_you_mean("dev-use1-0x", &names), Some("dev-use1-0"));
        assert_eq!(did_you_mean("prod", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
