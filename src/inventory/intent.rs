//! What the tool would write for an onboarding, from what it recorded (the
//! role's description and tags, km-config.yaml), never from the live trust:
//! drift in every command, and the `add` command that converges it, are
//! judged against this.

use serde_json::Value;

use super::recognise::{self, Modes, Registry};
use super::{Onboarding, RoleSummary};
use crate::store::ClusterEntry;
use crate::trust::{TrustMode, TrustScope, policy};

/// The onboarding as the tool wrote it: `o` completed from its records
/// (see `recover`; km-config.yaml's entry only when it is this role's),
/// and the ServiceAccounts it wrote.
pub fn as_written(
    o: &Onboarding,
    role: &RoleSummary,
    entry: Option<&ClusterEntry>,
) -> (Onboarding, Vec<(String, String)>) {
    let entry = entry.filter(|e| e.role_arn == o.role_arn);
    let mut intent = o.clone();
    recover(&mut intent, role, entry);
    let written = written(&intent, role, entry);
    (intent, written)
}

/// What a trust changed by hand no longer says, from what the role and
/// km-config.yaml recorded when the tool wrote it: the mode (as the
/// description records it), what that mode trusts and the first ServiceAccount.
fn recover(o: &mut Onboarding, role: &RoleSummary, entry: Option<&ClusterEntry>) {
    if let Some(mode) = recognise::recorded_mode(&role.description) {
        o.mode = mode;
    }
    Modes.of(o.mode).recover(o, role, entry);
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

/// The ServiceAccounts the tool wrote into the trust: km-config.yaml's
/// list for this role, else the trust's first ones, as many as the
/// description counts.
fn written(
    o: &Onboarding,
    role: &RoleSummary,
    entry: Option<&ClusterEntry>,
) -> Vec<(String, String)> {
    match entry.filter(|e| e.role_arn == o.role_arn) {
        Some(e) => e.subjects(),
        None => o
            .subjects()
            .into_iter()
            .take(super::described_subject_count(&role.description))
            .collect(),
    }
}

/// The trust the onboarding's mode writes; None when the records no
/// longer tell (then `add` rewrites it).
pub fn expected_trust(
    o: &Onboarding,
    written: &[(String, String)],
    partition: &str,
) -> Option<Value> {
    Modes.of(o.mode).expected_trust(o, written, partition)
}

/// `add` with every flag that writes this onboarding's trust again: its
/// name, mode, namespace and each ServiceAccount.
pub fn add_command(o: &Onboarding, written: &[(String, String)]) -> String {
    let mut command = match written.is_empty() {
        true => add_command_for(
            &o.name,
            o.mode,
            &[(o.namespace.clone(), o.service_account.clone())],
        ),
        false => add_command_for(&o.name, o.mode, written),
    };
    // Made without session tags (its role's description says so): the
    // command keeps them off, where add's default would turn them on.
    if o.session_tags == Some(false) {
        command.push_str(" --disable-session-tags");
    }
    command
}

/// The one place a printed `add` is built: from the recorded intent (name,
/// mode, every ServiceAccount), never with `--dry-run=false` or `--yes`,
/// so whoever runs it sees the plan first.
pub fn add_command_for(name: &str, mode: TrustMode, written: &[(String, String)]) -> String {
    let mut words = vec![
        "kubectl klanker-trust add".to_string(),
        format!("--name {name}"),
        format!("--mode {}", mode.as_str()),
    ];
    let first_ns = written
        .first()
        .map(|(ns, _)| ns.clone())
        .unwrap_or_default();
    words.push(format!("--namespace '{first_ns}'"));
    for (i, (ns, sa)) in written.iter().enumerate() {
        words.push(match (i, ns == &first_ns) {
            (0, _) | (_, true) => format!("--service-account '{sa}'"),
            _ => format!("--service-account '{ns}:{sa}'"),
        });
    }
    words.join(" ")
}

/// The cluster role, judged as the klanker role is: the trust the tool writes
/// for the ServiceAccounts it wrote, on the provider the cluster role names. The
/// lines that differ; none when it is exactly the tool's.
pub fn cluster_role_drift(trust: &Value, written: &[(String, String)]) -> Vec<String> {
    let provider = super::federated_principals(trust).into_iter().next();
    let issuer = provider
        .as_deref()
        .and_then(|arn| crate::trust::OidcProviderArn::parse(arn, "provider").ok());
    let (Some(provider), Some(parsed)) = (provider, issuer) else {
        return vec!["it names no OIDC provider the tool would write".into()];
    };
    let expected = policy::trust_policy_for(&provider, &parsed.issuer, &scopes(written));
    match policy::equivalent(trust, &expected) {
        true => Vec::new(),
        false => policy::diff_lines(trust, &expected),
    }
}

/// The trust scopes of `(namespace, ServiceAccount)` pairs.
pub fn scopes(written: &[(String, String)]) -> Vec<TrustScope> {
    written
        .iter()
        .map(|(ns, sa)| TrustScope::new(ns, sa))
        .collect()
}
