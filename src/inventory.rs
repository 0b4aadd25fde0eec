//! Pure: what `list`, `rm` and `verify` know from IAM's paginated ListRoles
//! (name, ARN, description, trust policy), the tags of the candidate roles,
//! the provider list and km-config.yaml.
//!
//! A description is only a hint that names candidates: ListRoles does not
//! return tags, and anyone can write a look-alike description. A role belongs
//! to onboarding N only when its tags prove it (`klanker-trust/managed-by`
//! plus `klanker-trust/name` = N).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

pub mod intent;
pub mod recognise;

use crate::store::ClusterEntry;
use crate::trust::{
    CLUSTER_TAG, Issuer, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, OidcProviderArn,
    ROLE_DESCRIPTION_PREFIX, SERVER_TAG, document::PolicyDocument, policy,
};
use recognise::{Modes, Registry};

pub type Tags = BTreeMap<String, String>;

/// True when the tags prove the role is onboarding `name`'s.
pub fn proves(tags: &Tags, name: &str) -> bool {
    tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
        && tags.get(NAME_TAG).map(String::as_str) == Some(name)
}

/// The onboarding name the tags prove, if any.
pub fn proven_name(tags: &Tags) -> Option<&str> {
    (tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE))
        .then(|| tags.get(NAME_TAG).map(String::as_str))
        .flatten()
}

/// A role as ListRoles returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSummary {
    pub role_name: String,
    pub arn: String,
    pub description: String,
    pub trust_policy: Value,
}

/// An onboarding recognised from its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Onboarding {
    pub name: String,
    /// Whether the provider was created by this tool, as the description
    /// recorded it when the role was written (None: not recorded).
    #[serde(skip)]
    pub provider_owned: Option<bool>,
    pub role_name: String,
    pub role_arn: String,
    pub namespace: String,
    pub service_account: String,
    /// Every trusted ServiceAccount as `namespace:name`, when the trust
    /// names several (as km-config.yaml's `service_accounts`); else empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    /// Federated principal of the trust policy (the klanker account's provider).
    pub oidc_provider_arn: String,
    pub issuer: String,
    /// The cluster the onboarding was made from (EKS cluster ARN or API
    /// server URL), as the role's tags record it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip)]
    pub server: Option<String>,
    /// How the klanker role is trusted, as the mode whose shape its trust
    /// policy has recognises it (see [`recognise`]).
    pub mode: crate::trust::TrustMode,
    /// The cluster role: the cluster account's role the klanker role
    /// trusts, in a mode that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_role_arn: Option<String>,
    /// The ConfigMap's name, as the role's tag records it, in a mode that writes one.
    #[serde(skip)]
    pub config_map: Option<String>,
    /// Whether the cluster's identity service tags the sessions, as the
    /// description records it, in a mode that has such a service.
    #[serde(skip)]
    pub session_tags: Option<bool>,
    /// The external IDs the klanker role's trust pins, statement by
    /// statement, in a mode whose trust pins the assuming party's: they
    /// are the identity service's, so the expected trust takes them as found.
    #[serde(skip)]
    pub external_ids: Vec<Option<String>>,
    /// The EKS Pod Identity associations the role's tag records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<String>,
}

/// The onboarding a role's tags prove, with the scope its trust policy
/// grants. The name comes from the tag, never from the description.
pub fn proven_onboarding(role: &RoleSummary, tags: &Tags) -> Option<Onboarding> {
    let name = proven_name(tags)?;
    let o = recognise::recognised(role, name, tags)?;
    Some(Onboarding {
        cluster: tags.get(CLUSTER_TAG).cloned(),
        server: tags.get(SERVER_TAG).cloned(),
        ..o
    })
}

/// A namespace or ServiceAccount the records do not tell.
pub const UNKNOWN: &str = "?";

/// The `(namespace/ServiceAccount)` a description of ours records.
pub fn described_scope(description: &str) -> Option<(&str, &str)> {
    let rest = description.strip_prefix(ROLE_DESCRIPTION_PREFIX)?;
    let (_, scope) = rest.split_once(" (")?;
    let (scope, _) = scope.split_once(')')?;
    // Several ServiceAccounts: `ns/first +N more`.
    let scope = scope.split_once(" +").map_or(scope, |(first, _)| first);
    scope.split_once('/')
}

/// What the description claims (a hint only): recognises a role that looks
/// like this tool's, and reads the trust scope as its mode does; None
/// when the scope is not known.
pub fn onboarding(role: &RoleSummary) -> Option<Onboarding> {
    let (name, _) = description_claim(&role.description)?;
    recognise::recognised(role, name, &Tags::new()).filter(|o| o.namespace != UNKNOWN)
}

/// The name a description of ours claims, and the rest after ` (`.
fn description_claim(description: &str) -> Option<(&str, &str)> {
    let rest = description.strip_prefix(ROLE_DESCRIPTION_PREFIX)?;
    let rest = [
        ": IRSA trust for cluster ",
        ": Pod Identity trust for cluster ",
    ]
    .into_iter()
    .find_map(|p| rest.strip_prefix(p))?;
    rest.split_once(" (")
}

/// Whether the provider was created by this tool, as a description of
/// ours records it (None: it does not).
pub fn described_ownership(description: &str) -> Option<bool> {
    let (_, scope) = description_claim(description)?;
    if scope.ends_with(crate::trust::PROVIDER_OWNED_SUFFIX) {
        Some(true)
    } else if scope.ends_with(crate::trust::PROVIDER_FOREIGN_SUFFIX) {
        Some(false)
    } else {
        None
    }
}

/// The `service_accounts` list of a trust naming several (`namespace:name`).
pub fn listed_subjects(doc: &Value) -> Vec<String> {
    let all: Vec<String> = trusted_subjects(doc)
        .into_iter()
        .map(|(ns, sa)| format!("{ns}:{sa}"))
        .collect();
    if all.len() > 1 { all } else { Vec::new() }
}

/// How many ServiceAccounts the tool wrote into the trust, as the role's
/// description records it (` +N more`); 1 when it records none.
pub fn described_subject_count(description: &str) -> usize {
    description
        .rsplit_once(" more)")
        .and_then(|(head, _)| head.rsplit_once(" +"))
        .and_then(|(_, n)| n.parse::<usize>().ok())
        .map_or(1, |n| n + 1)
}

impl Onboarding {
    /// Every trusted ServiceAccount as `(namespace, name)`, the first first.
    pub fn subjects(&self) -> Vec<(String, String)> {
        subjects_of(
            &self.namespace,
            &self.service_account,
            &self.service_accounts,
        )
    }
}

impl ClusterEntry {
    /// Every ServiceAccount the entry records as `(namespace, name)`: its
    /// `service_accounts` list, else (one, or an older entry) the first.
    pub fn subjects(&self) -> Vec<(String, String)> {
        subjects_of(
            &self.namespace,
            &self.service_account,
            &self.service_accounts,
        )
    }
}

fn subjects_of(namespace: &str, service_account: &str, listed: &[String]) -> Vec<(String, String)> {
    let parsed: Vec<(String, String)> = listed
        .iter()
        .filter_map(|s| s.split_once(':'))
        .map(|(ns, sa)| (ns.to_string(), sa.to_string()))
        .collect();
    if parsed.is_empty() {
        vec![(namespace.to_string(), service_account.to_string())]
    } else {
        parsed
    }
}

/// The onboarding `name` of `role` in `mode`, trusting `provider` for
/// `subject` (namespace, ServiceAccount); no cluster recorded.
pub fn scoped(
    role: &RoleSummary,
    name: &str,
    mode: crate::trust::TrustMode,
    provider_owned: Option<bool>,
    provider: String,
    (namespace, service_account): (&str, &str),
) -> Onboarding {
    let issuer = OidcProviderArn::parse(&provider, "provider")
        .map(|p| p.issuer.url())
        .unwrap_or_default();
    Onboarding {
        name: name.to_string(),
        provider_owned,
        role_name: role.role_name.clone(),
        role_arn: role.arn.clone(),
        namespace: namespace.to_string(),
        service_account: service_account.to_string(),
        service_accounts: Vec::new(),
        oidc_provider_arn: provider,
        issuer,
        cluster: None,
        server: None,
        mode,
        cluster_role_arn: None,
        config_map: None,
        session_tags: None,
        external_ids: Vec::new(),
        associations: Vec::new(),
    }
}

/// Roles worth reading the tags of for name `name`: those whose description
/// claims it, the one km-config.yaml recorded, and the default name; only
/// roles that exist.
pub fn candidates(name: &str, roles: &[RoleSummary], entry: Option<&ClusterEntry>) -> Vec<String> {
    let mut wanted: BTreeSet<String> = roles
        .iter()
        .filter(|r| onboarding(r).is_some_and(|o| o.name == name))
        .map(|r| r.role_name.clone())
        .collect();
    if let Some(recorded) = entry.and_then(|e| e.role_arn.rsplit('/').next()) {
        wanted.insert(recorded.to_string());
    }
    wanted.insert(crate::trust::default_role_name(name));
    roles
        .iter()
        .filter(|r| wanted.contains(&r.role_name))
        .map(|r| r.role_name.clone())
        .collect()
}

/// Which role is `name`'s, among candidates whose tags were read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Picked {
    /// The role whose tags prove it (km-config.yaml's, else the default name, else the first).
    pub role: Option<String>,
    /// Other roles whose tags claim the same name: drift.
    pub duplicates: Vec<String>,
    /// Roles that claim the name in their description but whose tags do not prove it.
    pub look_alikes: Vec<String>,
}

pub fn pick(name: &str, tagged: &[(RoleSummary, Tags)], entry: Option<&ClusterEntry>) -> Picked {
    let proven: Vec<&str> = tagged
        .iter()
        .filter(|(_, tags)| proves(tags, name))
        .map(|(r, _)| r.role_name.as_str())
        .collect();
    let recorded = entry.and_then(|e| e.role_arn.rsplit('/').next());
    let default = crate::trust::default_role_name(name);
    let role = proven
        .iter()
        .find(|r| Some(**r) == recorded)
        .or_else(|| proven.iter().find(|r| **r == default))
        .or_else(|| proven.first())
        .map(|r| r.to_string());
    Picked {
        duplicates: proven
            .iter()
            .filter(|r| Some(**r) != role.as_deref())
            .map(|r| r.to_string())
            .collect(),
        look_alikes: tagged
            .iter()
            .filter(|(r, tags)| {
                !proves(tags, name) && onboarding(r).is_some_and(|o| o.name == name)
            })
            .map(|(r, _)| r.role_name.clone())
            .collect(),
        role,
    }
}

/// The role onboarding `name` owns, picked on proof (its tags), and what
/// else claims the name.
pub struct Located {
    pub onboarding: Option<Onboarding>,
    /// The proven role's trust, where it differs from what the tool writes
    /// for the onboarding's recorded intent.
    pub trust_drift: Option<Drift>,
    /// The proven role, else the one to expect (km-config.yaml's or the default).
    pub role_name: String,
    pub picked: Picked,
}

impl Located {
    /// What the user should know about other roles claiming the name.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(role), false) = (&self.picked.role, self.picked.duplicates.is_empty()) {
            notes.push(format!(
                "drift: the tags of {} also claim this name; {role} is the one used (see `list`).",
                self.picked.duplicates.join(", ")
            ));
        }
        for r in &self.picked.look_alikes {
            notes.push(format!(
                "role {r} has a look-alike description but its tags do not prove this onboarding: it is ignored and left alone."
            ));
        }
        notes
    }
}

/// Picks the role the tags prove `name`'s among the candidates read.
pub fn located(
    name: &str,
    tagged: &[(RoleSummary, Tags)],
    entry: Option<&ClusterEntry>,
) -> Located {
    let picked = pick(name, tagged, entry);
    let proven = picked.role.as_ref().and_then(|role| {
        tagged
            .iter()
            .find(|(r, _)| &r.role_name == role)
            .and_then(|(r, tags)| proven_onboarding(r, tags).map(|o| (r, o)))
    });
    let trust_drift = proven
        .as_ref()
        .and_then(|(role, o)| trust_drift(o, role, entry));
    let onboarding = proven.map(|(_, o)| o);
    Located {
        trust_drift,
        role_name: picked
            .role
            .clone()
            .unwrap_or_else(|| expected_role_name(name, entry)),
        onboarding,
        picked,
    }
}

/// How a trust policy differs from the one the tool writes for the scope it
/// grants: extra statements, extra `sub` values, other conditions. Empty
/// when it is exactly the tool's.
/// `written`: the ServiceAccounts the tool wrote into it (km-config.yaml's,
/// else as many of the trust's as the description counts); any other `sub`
/// value was added by hand.
pub fn trust_widening(
    onboarding: &Onboarding,
    trust_policy: &Value,
    written: &[(String, String)],
) -> Vec<String> {
    let Ok(issuer) = Issuer::parse(&onboarding.issuer, "issuer") else {
        return vec!["the trust policy names no OIDC provider this tool would write".into()];
    };
    let scopes = intent::scopes(written);
    let expected = policy::trust_policy_for(&onboarding.oidc_provider_arn, &issuer, &scopes);
    if policy::equivalent(trust_policy, &expected) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let doc = PolicyDocument::read(trust_policy);
    let statements = doc.statement.len();
    let expected_statements = PolicyDocument::read(&expected).statement.len();
    if statements != expected_statements {
        problems.push(format!(
            "{statements} statements (the tool writes {})",
            count_word(expected_statements)
        ));
    }
    let subs: usize = doc
        .statements()
        .flat_map(|s| s.condition_keys())
        .filter(|(_, k)| k.key.ends_with(":sub"))
        .map(|(_, k)| k.values.len())
        .sum();
    if subs > scopes.len() {
        problems.push(format!(
            "{subs} `sub` values (the tool writes {})",
            count_word(scopes.len())
        ));
    }
    if problems.is_empty() {
        problems.push("its statement differs from the one the tool writes".into());
    }
    problems.extend(policy::diff_lines(trust_policy, &expected));
    problems
}

/// The drift of a role's trust from what the tool writes for the
/// onboarding's recorded intent (its mode, provider or cluster role, and
/// the ServiceAccounts it wrote), with the `add` that converges it.
fn trust_drift(o: &Onboarding, role: &RoleSummary, entry: Option<&ClusterEntry>) -> Option<Drift> {
    let (intent, written) = intent::as_written(o, role, entry);
    let partition = crate::trust::arn::partition_of(&o.role_arn);
    let expected = intent::expected_trust(&intent, &written, partition);
    let details = match &expected {
        Some(e) if policy::equivalent(&role.trust_policy, e) => return None,
        Some(e) => Modes
            .of(intent.mode)
            .trust_changes(&intent, &role.trust_policy, e, &written),
        None => vec!["it no longer names what the tool wrote".into()],
    };
    Some(Drift {
        name: o.name.clone(),
        problem: format!(
            "the trust policy of role {} was changed by hand: {}",
            o.role_name,
            details.join("; ")
        ),
        fix: format!(
            "{} (from that cluster's context) rewrites it",
            intent::add_command(&intent, &written)
        ),
    })
}

fn count_word(n: usize) -> String {
    match n {
        1 => "one".into(),
        2 => "two".into(),
        n => n.to_string(),
    }
}

/// The `(namespace, service account)` the trust's first `sub` names.
pub fn trusted_subject(doc: &Value) -> Option<(String, String)> {
    let (_, sub) = trust_principal_and_subject(doc)?;
    let (ns, sa) = sub
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')?;
    Some((ns.to_string(), sa.to_string()))
}

/// Every `(namespace, service account)` the trust's `sub` conditions name,
/// in every web-identity statement, string or list, each once.
pub fn trusted_subjects(doc: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let doc = PolicyDocument::read(doc);
    for statement in doc.statements() {
        if let Some(subject) = tagged_subject(statement)
            && !out.contains(&subject)
        {
            out.push(subject);
        }
        if statement.principal.federated.is_empty() {
            continue;
        }
        for op in ["StringEquals", "StringLike"] {
            let subs = statement
                .keys_of(op)
                .filter(|k| k.key.ends_with(":sub"))
                .flat_map(|k| k.values.iter())
                .filter_map(|s| s.strip_prefix("system:serviceaccount:")?.split_once(':'))
                .map(|(ns, sa)| (ns.to_string(), sa.to_string()));
            for subject in subs {
                if !out.contains(&subject) {
                    out.push(subject);
                }
            }
        }
    }
    out
}

/// The ServiceAccount a statement admits by the session tags an EKS Pod
/// Identity session carries (`kubernetes-namespace`, `kubernetes-service-account`).
fn tagged_subject(statement: &crate::trust::document::Statement) -> Option<(String, String)> {
    let tag = |key: &str| {
        statement
            .keys_of("StringEquals")
            .find(|k| k.key.eq_ignore_ascii_case(key))
            .and_then(|k| k.values.single())
            .map(str::to_string)
    };
    Some((
        tag("aws:RequestTag/kubernetes-namespace")?,
        tag("aws:RequestTag/kubernetes-service-account")?,
    ))
}

/// The first web-identity statement's federated principal and `sub` condition.
pub fn trust_principal_and_subject(doc: &Value) -> Option<(String, String)> {
    let doc = PolicyDocument::read(doc);
    for statement in doc.statements() {
        let Some(provider) = statement.principal.federated.first() else {
            continue;
        };
        // The first web-identity statement decides: without conditions it names no subject.
        statement.condition.as_ref()?;
        for op in ["StringEquals", "StringLike"] {
            if let Some(sub) = statement
                .keys_of(op)
                .find(|k| k.key.ends_with(":sub"))
                .and_then(|k| k.values.first())
            {
                return Some((provider.clone(), sub.to_string()));
            }
        }
    }
    None
}

/// The role name to expect for `name` when no role proves it: km-config.yaml's, else the default.
pub fn expected_role_name(name: &str, entry: Option<&ClusterEntry>) -> String {
    entry
        .and_then(|e| e.role_arn.rsplit('/').next().map(str::to_string))
        .unwrap_or_else(|| crate::trust::default_role_name(name))
}

/// Every federated principal a trust policy names.
pub fn federated_principals(doc: &Value) -> BTreeSet<String> {
    PolicyDocument::read(doc)
        .statements()
        .flat_map(|s| s.principal.federated.iter().cloned())
        .collect()
}

/// Roles other than `except` whose trust names `provider_arn`.
pub fn roles_trusting<'a>(
    roles: &'a [RoleSummary],
    provider_arn: &str,
    except: &str,
) -> Vec<&'a str> {
    roles
        .iter()
        .filter(|r| {
            r.role_name != except && federated_principals(&r.trust_policy).contains(provider_arn)
        })
        .map(|r| r.role_name.as_str())
        .collect()
}

/// Provider status as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderStatus {
    Owned,
    PreExisting,
    Missing,
    /// The klanker role trusts a cluster role: the provider is the cluster
    /// account's, not the klanker account's.
    ClusterAccount,
    /// The mode trusts no OIDC provider anywhere.
    None,
}

/// One row of `list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub onboarding: Onboarding,
    pub provider: ProviderStatus,
    pub current: bool,
    pub in_km_config: bool,
}

/// Something `list` noticed that does not add up, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub name: String,
    pub problem: String,
    pub fix: String,
}

/// The onboardings the tags prove, one per name, and the drift among them:
/// duplicate claims of one name, look-alike descriptions, trust policies
/// widened by hand.
pub fn onboardings_from(
    tagged: &[(RoleSummary, Tags)],
    config: &[ClusterEntry],
) -> (Vec<Onboarding>, Vec<Drift>) {
    let mut drift = Vec::new();
    let names: BTreeSet<&str> = tagged
        .iter()
        .filter_map(|(_, tags)| proven_name(tags))
        .collect();
    let mut out = Vec::new();
    for name in names {
        let entry = config.iter().find(|e| e.name == name);
        let picked = pick(name, tagged, entry);
        let Some(role) = picked.role else { continue };
        let Some((summary, tags)) = tagged.iter().find(|(r, _)| r.role_name == role) else {
            continue;
        };
        let Some(o) = proven_onboarding(summary, tags) else {
            continue;
        };
        if !picked.duplicates.is_empty() {
            drift.push(Drift {
                name: name.to_string(),
                problem: format!(
                    "the tags of several roles claim `{name}`: {role} (used) and {}",
                    picked.duplicates.join(", ")
                ),
                fix: format!(
                    "delete the extra role(s) yourself, or remove their {NAME_TAG} tag: `aws iam untag-role --role-name ROLE --tag-keys {NAME_TAG}`"
                ),
            });
        }
        if let Some(d) = trust_drift(&o, summary, entry) {
            drift.push(d);
        }
        out.push(o);
    }
    for (role, tags) in tagged {
        let Some(claimed) = onboarding(role) else {
            continue;
        };
        if proven_name(tags) != Some(claimed.name.as_str()) {
            drift.push(Drift {
                name: claimed.name.clone(),
                problem: format!(
                    "role {} has a description naming `{}` but its tags do not prove it ({}): it is ignored",
                    role.role_name,
                    claimed.name,
                    match proven_name(tags) {
                        Some(other) => format!("{NAME_TAG}={other}"),
                        None => format!("no {MANAGED_BY_TAG}/{NAME_TAG} tags"),
                    }
                ),
                fix: format!(
                    "if it is not yours to keep, delete it: `aws iam delete-role --role-name {}`",
                    role.role_name
                ),
            });
        }
    }
    (out, drift)
}

/// Joins IAM's view with km-config.yaml. `providers` maps every provider ARN
/// in the account to whether this tool created it.
pub fn inventory(
    onboardings: Vec<Onboarding>,
    providers: &BTreeMap<String, bool>,
    config: &[ClusterEntry],
    current: Option<&str>,
) -> (Vec<Row>, Vec<Drift>) {
    let mut drift = Vec::new();
    let config_names: BTreeSet<&str> = config.iter().map(|e| e.name.as_str()).collect();
    let mut rows: Vec<Row> = onboardings
        .into_iter()
        .map(|mut o| {
            let provider = match providers.get(&o.oidc_provider_arn) {
                _ if !Modes.of(o.mode).trusts_a_provider() => ProviderStatus::None,
                _ if Modes.of(o.mode).has_cluster_role() => ProviderStatus::ClusterAccount,
                Some(true) => ProviderStatus::Owned,
                Some(false) => ProviderStatus::PreExisting,
                None => ProviderStatus::Missing,
            };
            // Through a cluster role: the issuer is the cluster account's
            // provider's, as recorded.
            if let (true, Some(entry)) = (
                o.issuer.is_empty(),
                config.iter().find(|e| e.name == o.name),
            ) {
                o.oidc_provider_arn = entry.oidc_provider_arn.clone();
                o.issuer = OidcProviderArn::parse(&entry.oidc_provider_arn, "provider")
                    .map(|p| p.issuer.url())
                    .unwrap_or_default();
            }
            if provider == ProviderStatus::Missing {
                drift.push(Drift {
                    name: o.name.clone(),
                    problem: format!("role {} trusts {}, which no longer exists", o.role_name, o.oidc_provider_arn),
                    fix: format!("kubectl klanker-trust add --name {} (from that cluster's context) re-creates it", o.name),
                });
            }
            let in_km_config = config_names.contains(o.name.as_str());
            if !in_km_config {
                drift.push(Drift {
                    name: o.name.clone(),
                    problem: "onboarded in IAM but not in this km-config.yaml (added from another workstation?)".into(),
                    fix: format!(
                        "kubectl klanker-trust add --name {} --namespace '{}' --service-account {} records it",
                        o.name, o.namespace, o.service_account
                    ),
                });
            }
            Row {
                current: current == Some(o.name.as_str()),
                onboarding: o,
                provider,
                in_km_config,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.onboarding.name.cmp(&b.onboarding.name));
    let in_iam: BTreeSet<&str> = rows.iter().map(|r| r.onboarding.name.as_str()).collect();
    for entry in config {
        if !in_iam.contains(entry.name.as_str()) {
            drift.push(Drift {
                name: entry.name.clone(),
                problem: format!(
                    "in km-config.yaml but no role {} exists in the klanker account",
                    entry.role_arn
                ),
                fix: format!("kubectl klanker-trust rm {} removes the entry", entry.name),
            });
        }
    }
    (rows, drift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{Issuer, TrustScope, policy, role_description};

    const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";

    fn summary(name: &str, ns: &str, provider: &str) -> RoleSummary {
        let issuer = Issuer::parse("https://oidc.example.com/id/A", "x").unwrap();
        let scope = TrustScope::new(ns, "km");
        RoleSummary {
            role_name: format!("km-cluster-{name}"),
            arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
            description: role_description(name, &scope, true),
            trust_policy: policy::trust_policy(provider, &issuer, &scope),
        }
    }

    fn entry(name: &str) -> ClusterEntry {
        ClusterEntry {
            name: name.into(),
            oidc_provider_arn: PROVIDER.into(),
            namespace: "ns".into(),
            service_account: "km".into(),
            role_arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
            ..ClusterEntry::default()
        }
    }

    #[test]
    fn reads_provider_ownership_recorded_in_the_description() {
        assert_eq!(
            onboarding(&summary("dev", "ns", PROVIDER))
                .unwrap()
                .provider_owned,
            Some(true)
        );
        let mut foreign = summary("dev", "ns", PROVIDER);
        foreign.description = foreign
            .description
            .replace("created by this tool", "pre-existing");
        assert_eq!(onboarding(&foreign).unwrap().provider_owned, Some(false));
        let mut legacy = summary("dev", "ns", PROVIDER);
        legacy.description =
            "Managed by kubectl-klanker-trust: IRSA trust for cluster dev (ns/km)".into();
        let legacy = onboarding(&legacy).unwrap();
        assert_eq!((legacy.name.as_str(), legacy.provider_owned), ("dev", None));
    }

    #[test]
    fn recognises_literal_and_wildcard_onboardings() {
        let o = onboarding(&summary("dev", "ai-pods", PROVIDER)).unwrap();
        assert_eq!(o.name, "dev");
        assert_eq!(o.namespace, "ai-pods");
        assert_eq!(o.service_account, "km");
        assert_eq!(o.oidc_provider_arn, PROVIDER);
        assert_eq!(o.issuer, "https://oidc.example.com/id/A");
        let w = onboarding(&summary("dev", "*", PROVIDER)).unwrap();
        assert_eq!(w.namespace, "*");
    }

    #[test]
    fn ignores_roles_it_did_not_create_or_cannot_read() {
        let mut foreign = summary("dev", "ns", PROVIDER);
        foreign.description = "some other role".into();
        assert_eq!(onboarding(&foreign), None);
        let mut broken = summary("dev", "ns", PROVIDER);
        broken.trust_policy = serde_json::json!({"Statement": "nonsense"});
        assert_eq!(onboarding(&broken), None);
        let mut no_sub = summary("dev", "ns", PROVIDER);
        no_sub.trust_policy["Statement"][0]["Condition"] = serde_json::json!({"StringEquals": {}});
        assert_eq!(onboarding(&no_sub), None);
    }

    fn tagged(name: &str, claimed: Option<&str>) -> (RoleSummary, Tags) {
        let mut tags = Tags::new();
        if let Some(claimed) = claimed {
            tags.insert(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into());
            tags.insert(NAME_TAG.into(), claimed.into());
        }
        (summary(name, "ns", PROVIDER), tags)
    }

    #[test]
    fn picking_goes_by_tags_not_descriptions() {
        // A look-alike description (no tags) next to the real role under another name.
        let mut real = tagged("dev", Some("dev"));
        real.0.role_name = "custom-role".into();
        let look_alike = tagged("dev", None);
        let picked = pick("dev", &[look_alike.clone(), real.clone()], None);
        assert_eq!(picked.role.as_deref(), Some("custom-role"));
        assert_eq!(picked.look_alikes, ["km-cluster-dev"]);
        assert!(picked.duplicates.is_empty());
        // Another onboarding's role under this name's default role name is not ours.
        let other = tagged("a", Some("b"));
        assert_eq!(pick("a", &[other], None).role, None);
        // Duplicate claims: km-config.yaml's role wins, the rest is drift.
        let mut second = tagged("dev", Some("dev"));
        second.0.role_name = "second".into();
        let mut e = entry("dev");
        e.role_arn = "arn:aws:iam::333333333333:role/second".into();
        let picked = pick("dev", &[real.clone(), second.clone()], Some(&e));
        assert_eq!(picked.role.as_deref(), Some("second"));
        assert_eq!(picked.duplicates, ["custom-role"]);
        assert_eq!(expected_role_name("dev", Some(&e)), "second");
        assert_eq!(expected_role_name("dev", None), "km-cluster-dev");
    }

    #[test]
    fn candidates_are_description_claims_km_config_and_the_default_name() {
        let mut custom = summary("dev", "ns", PROVIDER);
        custom.role_name = "custom-role".into();
        let roles = vec![custom, summary("other", "ns", PROVIDER)];
        assert_eq!(candidates("dev", &roles, None), ["custom-role"]);
        assert_eq!(candidates("other", &roles, None), ["km-cluster-other"]);
        assert!(candidates("nope", &roles, None).is_empty());
    }

    #[test]
    fn listing_reports_look_alikes_duplicates_and_widened_trust_as_drift() {
        let real = tagged("dev", Some("dev"));
        let mut look_alike = tagged("dev", None);
        look_alike.0.role_name = "fake".into();
        let mut dup = tagged("dev", Some("dev"));
        dup.0.role_name = "dup".into();
        let (rows, drift) = onboardings_from(&[real.clone(), look_alike, dup], &[]);
        assert_eq!(rows.len(), 1, "one row for one name");
        assert_eq!(rows[0].role_name, "km-cluster-dev");
        assert!(
            drift
                .iter()
                .any(|d| d.problem.contains("several roles claim"))
        );
        assert!(
            drift
                .iter()
                .any(|d| d.problem.contains("fake") && d.problem.contains("ignored"))
        );

        let (_, drift) = onboardings_from(std::slice::from_ref(&real), &[]);
        assert!(drift.is_empty(), "{drift:?}");
        // Widened by hand: a second sub, a second statement, another condition.
        let host = "oidc.example.com/id/A";
        let mut extra_sub = real.clone();
        extra_sub.0.trust_policy["Statement"][0]["Condition"]["StringEquals"]
            [format!("{host}:sub")] = serde_json::json!([
            "system:serviceaccount:ns:km",
            "system:serviceaccount:evil:km"
        ]);
        let mut extra_statement = real.clone();
        let stmt = extra_statement.0.trust_policy["Statement"][0].clone();
        extra_statement.0.trust_policy["Statement"] = serde_json::json!([stmt.clone(), stmt]);
        let mut other_condition = real.clone();
        other_condition.0.trust_policy["Statement"][0]["Condition"]["StringNotEquals"] =
            serde_json::json!({format!("{host}:aud"): "other"});
        for (case, why) in [
            (extra_sub, "2 `sub` values"),
            (extra_statement, "2 statements"),
            (other_condition, "differs"),
        ] {
            let (rows, drift) = onboardings_from(&[case], &[]);
            assert_eq!(rows.len(), 1);
            let d = drift
                .iter()
                .find(|d| d.problem.contains("changed by hand"))
                .unwrap_or_else(|| panic!("{why}: {drift:?}"));
            assert!(d.problem.contains(why), "{}", d.problem);
            assert!(d.fix.contains("add --name dev"), "{}", d.fix);
        }
    }

    #[test]
    fn trusting_roles_excludes_the_one_being_removed() {
        let roles = vec![
            summary("a", "ns", PROVIDER),
            summary("b", "ns", PROVIDER),
            summary("c", "ns", "arn:other"),
        ];
        assert_eq!(
            roles_trusting(&roles, PROVIDER, "km-cluster-a"),
            ["km-cluster-b"]
        );
        assert!(roles_trusting(&roles[..1], PROVIDER, "km-cluster-a").is_empty());
    }

    #[test]
    fn federated_principals_accepts_lists_and_objects() {
        let doc = serde_json::json!({"Statement": {"Principal": {"Federated": ["x", "y"]}}});
        assert_eq!(
            federated_principals(&doc),
            BTreeSet::from(["x".to_string(), "y".to_string()])
        );
        assert!(federated_principals(&serde_json::json!({})).is_empty());
        let odd =
            serde_json::json!({"Statement": ["nonsense", {"Effect": "Allow"}, {"Principal": "*"}]});
        assert!(federated_principals(&odd).is_empty());
        assert!(trusted_subjects(&odd).is_empty());
        assert_eq!(trust_principal_and_subject(&odd), None);
    }

    #[test]
    fn subjects_read_from_a_string_or_a_list() {
        let doc = serde_json::json!({"Statement": [
            {"Principal": {"Federated": "p"}, "Condition": {"StringEquals": {"x:sub": "system:serviceaccount:a:b"}}},
            {"Principal": {"Federated": ["p"]}, "Condition": {"StringLike": {"x:sub": ["system:serviceaccount:*:c", "system:serviceaccount:a:b"]}}},
        ]});
        assert_eq!(
            trusted_subjects(&doc),
            [("a".into(), "b".into()), ("*".into(), "c".into())]
        );
        assert_eq!(
            trust_principal_and_subject(&doc),
            Some(("p".into(), "system:serviceaccount:a:b".into()))
        );
    }

    #[test]
    fn inventory_marks_current_provider_status_and_drift() {
        let onboardings = vec![
            onboarding(&summary("b", "ns", PROVIDER)).unwrap(),
            onboarding(&summary(
                "a",
                "ns",
                "arn:aws:iam::333333333333:oidc-provider/gone.example.com",
            ))
            .unwrap(),
        ];
        let providers = BTreeMap::from([(PROVIDER.to_string(), true)]);
        let config = vec![entry("b"), entry("stale")];
        let (rows, drift) = inventory(onboardings, &providers, &config, Some("b"));
        assert_eq!(
            rows.iter()
                .map(|r| r.onboarding.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(rows[0].provider, ProviderStatus::Missing);
        assert!(!rows[0].current && rows[1].current);
        assert_eq!(rows[1].provider, ProviderStatus::Owned);
        assert!(rows[1].in_km_config && !rows[0].in_km_config);
        let problems: Vec<(&str, &str)> = drift
            .iter()
            .map(|d| (d.name.as_str(), d.fix.as_str()))
            .collect();
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "a" && f.contains("add --name a") && f.contains("re-creates"))
        );
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "a" && f.contains("records it"))
        );
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "stale" && f.contains("rm stale"))
        );
        assert_eq!(drift.len(), 3);
        let preexisting = BTreeMap::from([(PROVIDER.to_string(), false)]);
        let (rows, _) = inventory(
            vec![onboarding(&summary("b", "ns", PROVIDER)).unwrap()],
            &preexisting,
            &[],
            None,
        );
        assert_eq!(rows[0].provider, ProviderStatus::PreExisting);
    }

    /// A role the tool wrote for several subjects `(namespace, name)`.
    fn several(subjects: &[(&str, &str)]) -> (RoleSummary, Tags) {
        let issuer = Issuer::parse("https://oidc.example.com/id/A", "x").unwrap();
        let scopes: Vec<crate::trust::TrustScope> = subjects
            .iter()
            .map(|(ns, sa)| TrustScope::new(ns, sa))
            .collect();
        let (mut role, tags) = tagged("dev", Some("dev"));
        role.description = crate::trust::role_description_for("dev", &scopes, true);
        role.trust_policy = policy::trust_policy_for(PROVIDER, &issuer, &scopes);
        (role, tags)
    }

    #[test]
    fn list_valued_and_split_subjects_are_all_read() {
        let (role, tags) = several(&[("ai-pods", "a"), ("ci", "b"), ("ai-pods", "ci-*")]);
        assert_eq!(
            trusted_subjects(&role.trust_policy),
            [
                ("ai-pods".to_string(), "a".to_string()),
                ("ci".to_string(), "b".to_string()),
                ("ai-pods".to_string(), "ci-*".to_string())
            ]
        );
        let o = proven_onboarding(&role, &tags).unwrap();
        assert_eq!(
            (o.namespace.as_str(), o.service_account.as_str()),
            ("ai-pods", "a")
        );
        assert_eq!(o.service_accounts, ["ai-pods:a", "ci:b", "ai-pods:ci-*"]);
        assert_eq!(o.subjects().len(), 3);
        // One subject: no list, as before.
        let (one, tags) = tagged("dev", Some("dev"));
        assert!(
            proven_onboarding(&one, &tags)
                .unwrap()
                .service_accounts
                .is_empty()
        );
    }

    #[test]
    fn the_description_counts_the_subjects_the_tool_wrote() {
        let (role, _) = several(&[("ai-pods", "a"), ("ci", "b"), ("ci", "c")]);
        assert_eq!(described_subject_count(&role.description), 3);
        assert_eq!(
            described_subject_count(&summary("dev", "ns", PROVIDER).description),
            1
        );
        assert_eq!(described_subject_count("junk +x more)"), 1);
    }

    #[test]
    fn several_subjects_the_tool_wrote_are_no_drift_one_added_by_hand_is() {
        let (role, tags) = several(&[("ai-pods", "a"), ("ci", "b"), ("ai-pods", "ci-*")]);
        let case = (role.clone(), tags.clone());
        let (rows, drift) = onboardings_from(&[case], &[]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].mode, recognise::mode_by_cluster_role(false));
        assert!(drift.is_empty(), "{drift:?}");
        let mut widened = role;
        widened.trust_policy["Statement"][0]["Condition"]["StringEquals"]["oidc.example.com/id/A:sub"] =
            serde_json::json!([
                "system:serviceaccount:ai-pods:a",
                "system:serviceaccount:ci:b",
                "system:serviceaccount:evil:x"
            ]);
        let drift_case = (widened.clone(), tags.clone());
        let (_, drift) = onboardings_from(&[(widened, tags)], &[]);
        let d = drift
            .iter()
            .find(|d| d.problem.contains("changed by hand"))
            .unwrap_or_else(|| panic!("{drift:?}"));
        assert!(
            d.problem.contains("4 `sub` values (the tool writes 3)"),
            "{}",
            d.problem
        );
        assert!(
            d.fix.contains(&format!("--mode {} --namespace 'ai-pods' --service-account 'a' --service-account 'ci:b' --service-account 'evil:x' (", rows[0].mode.as_str())),
            "{}",
            d.fix
        );
        // With km-config.yaml's list, the hand-added one is told apart.
        let (widened, tags) = drift_case;
        let mut e = entry("dev");
        e.namespace = "ai-pods".into();
        e.service_account = "a".into();
        e.role_arn = widened.arn.clone();
        e.service_accounts = vec!["ai-pods:a".into(), "ci:b".into(), "ai-pods:ci-*".into()];
        let (_, drift) = onboardings_from(&[(widened, tags)], &[e]);
        let d = drift
            .iter()
            .find(|d| d.problem.contains("changed by hand"))
            .unwrap_or_else(|| panic!("{drift:?}"));
        assert!(
            d.fix.contains(
                "--service-account 'a' --service-account 'ci:b' --service-account 'ci-*' ("
            ),
            "{}",
            d.fix
        );
        assert!(d.problem.contains("evil:x"), "{}", d.problem);
    }

    #[test]
    fn an_entry_lists_its_subjects_and_an_old_one_its_only_subject() {
        let mut e = entry("dev");
        assert_eq!(e.subjects(), [("ns".to_string(), "km".to_string())]);
        e.service_accounts = vec!["ns:km".into(), "ci:b".into()];
        assert_eq!(
            e.subjects(),
            [
                ("ns".to_string(), "km".to_string()),
                ("ci".to_string(), "b".to_string())
            ]
        );
    }
}
