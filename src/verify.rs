//! Pure: the links of an IRSA trust chain, checked one by one from facts
//! gathered by `commands::verify`, each with a verdict and a fix.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::trust::conditions::{self, TrustVerdict, WebIdentity};
use crate::trust::token::Claims;
use crate::trust::{Issuer, ROLE_ARN_ANNOTATION, STS_AUDIENCE, TOKEN_EXPIRATION_ANNOTATION};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub link: &'static str,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(link: &'static str, message: impl Into<String>) -> Self {
        Self {
            link,
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }
    pub fn warn(link: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            link,
            status: Status::Warn,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn fail(link: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            link,
            status: Status::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The token's signature against the API server's JWKS (`/openid/v1/jwks`),
/// or why it could not be checked. None when there is no token.
pub fn signature_check(token: Option<&str>, jwks: Result<String, String>) -> Option<Check> {
    let token = token?;
    Some(match jwks {
        Err(why) => Check::warn(
            "signature",
            format!(
                "signature not checked: the API server's /openid/v1/jwks could not be read ({why})"
            ),
            "grant `get` on /openid/v1/jwks (see `kubectl klanker-trust policy --for rbac`) to have it checked; STS checks it in any case",
        ),
        Ok(jwks) => match crate::trust::token::verify_signature(token, &jwks) {
            Ok(kid) => Check::ok(
                "signature",
                format!(
                    "the token's signature verifies against the API server's key {kid} (/openid/v1/jwks)"
                ),
            ),
            Err(e) => Check::fail(
                "signature",
                format!("the token's signature cannot be confirmed: {e}"),
                "the API server's signing keys and the keys it publishes differ: check --service-account-signing-key-file and --service-account-key-file",
            ),
        },
    })
}

/// Lifetime asked of a verification token: the API server's minimum.
pub const TOKEN_SECONDS: i64 = 600;
/// Session length IRSA SDKs request by default.
pub const REQUESTED_SESSION: u32 = 3600;

/// The onboarding to check: which role, which ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub role_name: String,
    pub role_arn: String,
    pub namespace: String,
    pub service_account: String,
    /// The other ServiceAccounts the onboarding trusts (several), each
    /// checked like the first.
    pub more: Vec<(String, String)>,
    pub operator_policy: String,
    pub partition: String,
    pub account: String,
    /// The `add` that converges the onboarding, from its recorded intent.
    pub fix_add: String,
    /// A second hop: `role_*` above are the cluster role's (what the
    /// ServiceAccount names); this is the klanker role it assumes.
    pub second_hop: Option<SecondHop>,
    /// The mode the onboarding was recorded in.
    pub mode: crate::trust::TrustMode,
}

/// The klanker role a cluster role reaches by `sts:AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondHop {
    pub klanker_role_name: String,
    pub klanker_role_arn: String,
    /// The ConfigMap pods read, by the name the klanker role's tag records.
    pub config_map: String,
}

impl Target {
    /// Every ServiceAccount to check, the first first.
    pub fn subjects(&self) -> Vec<(String, String)> {
        std::iter::once((self.namespace.clone(), self.service_account.clone()))
            .chain(self.more.iter().cloned())
            .collect()
    }

    /// The target narrowed to one of its ServiceAccounts.
    pub fn for_subject(&self, (namespace, service_account): &(String, String)) -> Target {
        Target {
            namespace: namespace.clone(),
            service_account: service_account.clone(),
            more: Vec::new(),
            ..self.clone()
        }
    }
}

/// Which role and ServiceAccount `verify NAME` checks: the role its tags
/// prove (else km-config.yaml's, else the default name), and the subject the
/// onboarding recorded, never one that merely carries our label and
/// annotation. km-config.yaml first: when the trust was changed by hand,
/// checking the subject the tool set up shows the mismatch. For a wildcard
/// namespace, the context's namespace.
pub fn target(
    name: &str,
    located: &crate::inventory::Located,
    entry: Option<&crate::store::ClusterEntry>,
    partition: &str,
    account: &str,
    context_namespace: Option<&str>,
) -> Target {
    let onboarding = located.onboarding.as_ref();
    let role_arn = onboarding
        .map(|o| o.role_arn.clone())
        .or_else(|| entry.map(|e| e.role_arn.clone()))
        .unwrap_or_else(|| crate::trust::role_arn(partition, account, &located.role_name));
    let recorded = entry
        .filter(|e| e.role_arn == role_arn)
        .map(crate::store::ClusterEntry::subjects)
        .or_else(|| {
            onboarding
                .filter(|o| o.namespace != "?")
                .map(crate::inventory::Onboarding::subjects)
        })
        .unwrap_or_default();
    let ((namespace, service_account), more) = placed_subjects(recorded, context_namespace);
    let (cluster_role, mode) = recorded_cluster_role(located, entry);
    let (role_name, role_arn, second_hop) = match cluster_role {
        Some(cluster_role) => (
            cluster_role
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            cluster_role.clone(),
            Some(SecondHop {
                klanker_role_name: located.role_name.clone(),
                klanker_role_arn: role_arn,
                config_map: onboarding
                    .and_then(|o| o.config_map.clone())
                    .unwrap_or_else(|| crate::trust::chain::DEFAULT_CONFIG_MAP.to_string()),
            }),
        ),
        None => (located.role_name.clone(), role_arn, None),
    };
    let mut target = Target {
        name: name.to_string(),
        role_name,
        role_arn,
        fix_add: String::new(),
        second_hop,
        mode,
        namespace,
        service_account,
        more,
        operator_policy: crate::trust::operator_policy_arn(partition, account),
        partition: partition.to_string(),
        account: account.to_string(),
    };
    // The printed `add` writes back what was recorded: its mode and every subject.
    target.fix_add = crate::inventory::intent::add_command_for(name, mode, &target.subjects());
    target
}

/// The recorded subjects, the first apart, a wildcard namespace placed in
/// the context's; the others only when they name one ServiceAccount.
fn placed_subjects(
    recorded: Vec<(String, String)>,
    context_namespace: Option<&str>,
) -> ((String, String), Vec<(String, String)>) {
    let here = || {
        context_namespace
            .unwrap_or(crate::trust::DEFAULT_NAMESPACE)
            .to_string()
    };
    let placed = |(ns, sa): (String, String)| match ns.as_str() {
        "*" => (here(), sa),
        _ => (ns, sa),
    };
    let mut recorded = recorded.into_iter();
    let first = recorded
        .next()
        .map(placed)
        .unwrap_or_else(|| (here(), "km".into()));
    // A wildcard name names no ServiceAccount to ask a token for.
    let more = recorded
        .filter(|(_, sa)| !sa.contains(['*', '?']))
        .map(placed)
        .collect();
    (first, more)
}

/// The cluster role the onboarding recorded, if any, and the mode recorded
/// with it (the fix's `--mode`). km-config.yaml's record first: the klanker
/// role's trust may have been changed by hand, and checking the role the
/// tool set up shows that.
fn recorded_cluster_role(
    located: &crate::inventory::Located,
    entry: Option<&crate::store::ClusterEntry>,
) -> (Option<String>, crate::trust::TrustMode) {
    let onboarding = located.onboarding.as_ref();
    let from_entry = entry.and_then(|e| e.cluster_role_arn.clone().map(|r| (r, e.mode)));
    let from_role = || onboarding.and_then(|o| o.cluster_role_arn.clone().map(|r| (r, o.mode)));
    match from_entry.or_else(from_role) {
        Some((role, mode)) => (Some(role), mode),
        None => (
            None,
            onboarding
                .map(|o| o.mode)
                .or(entry.map(|e| e.mode))
                .unwrap_or_default(),
        ),
    }
}

/// Other ServiceAccounts annotated with the target's role: drift, never
/// one of its subjects. Items are (namespace, name, role annotation).
pub fn others_annotated<'a>(
    target: &Target,
    found: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> Vec<String> {
    let subjects = target.subjects();
    found
        .filter(|(ns, sa, role)| {
            *role == Some(target.role_arn.as_str())
                && !subjects.iter().any(|(tns, tsa)| tns == ns && tsa == sa)
        })
        .map(|(ns, sa, _)| format!("{ns}/{sa}"))
        .collect()
}

/// The role as IAM has it.
#[derive(Debug, Clone)]
pub struct RoleFacts {
    pub arn: String,
    pub trust_policy: Value,
    pub max_session: u32,
    pub attached_policies: BTreeSet<String>,
}

/// The provider registered for the token's issuer.
#[derive(Debug, Clone)]
pub struct ProviderFacts {
    pub arn: String,
    pub client_ids: Vec<String>,
}

/// Why there is no token to check the chain with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoToken {
    /// The API server refused the TokenRequest: the kubeconfig user lacks
    /// the optional token RBAC (`policy --for rbac` prints it apart).
    Forbidden(String),
    /// Anything else (no ServiceAccount, an API error, an unreadable token).
    Failed(String),
}

impl std::fmt::Display for NoToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoToken::Forbidden(why) | NoToken::Failed(why) => f.write_str(why),
        }
    }
}

impl From<String> for NoToken {
    fn from(why: String) -> Self {
        NoToken::Failed(why)
    }
}

impl From<&str> for NoToken {
    fn from(why: &str) -> Self {
        NoToken::Failed(why.to_string())
    }
}

/// The links that need a token, named when `add` could not get one.
const TOKEN_LINKS: &str = "token, issuer, provider, trust";

/// Everything `verify` looked at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub name: String,
    /// The `add` that converges the onboarding, from its recorded intent.
    pub fix_add: String,
    pub role_name: String,
    pub role_arn: String,
    pub role: Option<RoleFacts>,
    pub namespace: String,
    pub service_account: String,
    /// Annotations of the ServiceAccount; None if it does not exist.
    pub annotations: Option<BTreeMap<String, String>>,
    /// The token's claims, or why no token could be had.
    pub token: Result<Claims, NoToken>,
    /// Provider for the token's issuer in the klanker account (None: missing or no token).
    pub provider: Option<ProviderFacts>,
    /// ARN the provider for the token's issuer has (or would have) in the klanker account.
    pub provider_arn_for_token: Option<String>,
    pub operator_policy: String,
    /// Session length the workload will ask STS for (IRSA SDKs default to one hour).
    pub requested_session: u32,
    /// A second hop: `role`/`provider` above are the cluster role and the
    /// cluster account's provider; these are the links after the cluster role.
    pub second_hop: Option<HopFacts>,
}

/// One Pod Identity association, as DescribePodIdentityAssociation tells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedAssociation {
    pub id: String,
    pub arn: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub session_tags_disabled: bool,
    /// The ID EKS passes as `sts:ExternalId` when it assumes the target role.
    pub external_id: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// The Pod Identity agent add-on, which hands pods their credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AgentAddon {
    Active,
    /// Installed, in another state (CREATING, DEGRADED ...).
    Other(String),
    #[default]
    Missing,
    /// DescribeAddon was refused or failed: said, not fatal.
    Unknown(String),
}

/// The links of an EKS Pod Identity onboarding, as read: no token and no
/// pod are needed, EKS's own records and the two roles tell.
#[derive(Debug, Clone)]
pub struct AssociationFacts {
    pub name: String,
    /// The `add` that converges the onboarding, from its recorded intent.
    pub fix_add: String,
    pub cluster_name: String,
    /// DescribeCluster's ARN: what the association role's trust and the
    /// session tags name.
    pub cluster_arn: Option<String>,
    pub agent: AgentAddon,
    /// The association role in the cluster's account, and its inline policies.
    pub association_role_arn: String,
    pub association_role: Option<RoleFacts>,
    pub inline_policies: BTreeMap<String, Value>,
    /// The target role (the klanker role).
    pub target_role_arn: String,
    pub target_role: Option<RoleFacts>,
    pub operator_policy: String,
    /// Each ServiceAccount: whether it exists, and its association.
    pub subjects: Vec<SubjectAssociation>,
}

/// One ServiceAccount of a Pod Identity onboarding.
#[derive(Debug, Clone)]
pub struct SubjectAssociation {
    pub namespace: String,
    pub service_account: String,
    pub service_account_exists: bool,
    pub association: Option<ObservedAssociation>,
}

/// The links of the second hop, from the cluster role to the klanker role, as read.
#[derive(Debug, Clone)]
pub struct HopFacts {
    pub klanker_role_name: String,
    pub klanker_role_arn: String,
    /// The klanker role; None when it does not exist.
    pub klanker_role: Option<RoleFacts>,
    /// The cluster role's `km-assume-klanker` inline policy; None when missing.
    pub assume_policy: Option<Value>,
    /// `namespace/name` of the ConfigMap pods read.
    pub config_map: String,
    /// What aws-config made of its `config` key: profile -> settings, or why
    /// it could not be read (missing, unparsable).
    pub profiles: Result<BTreeMap<String, BTreeMap<String, String>>, String>,
}

/// Every link that can be checked without calling STS: `verify`'s, for
/// which a token is a must (its STS checks need one).
pub fn local_checks(f: &Facts) -> Vec<Check> {
    checks_of(f, false)
}

/// `add`'s check after applying: the token RBAC is optional there, so a
/// refused TokenRequest leaves the links that need a token unchecked (said
/// as a warning) and every other link is still checked.
pub fn local_checks_after_add(f: &Facts) -> Vec<Check> {
    checks_of(f, true)
}

fn checks_of(f: &Facts, token_optional: bool) -> Vec<Check> {
    let add = f.fix_add.clone();
    let sa_id = format!("{}/{}", f.namespace, f.service_account);
    let mut checks = service_account_checks(f, &add, &sa_id);
    checks.push(token_check(f, &sa_id, token_optional));
    let claims = f.token.as_ref().ok();
    let account = match f.second_hop {
        Some(_) => "the cluster's account",
        None => "the klanker account",
    };
    let Some(role) = &f.role else {
        checks.push(Check::fail(
            "role",
            format!("role {} does not exist in {account}", f.role_name),
            format!("{add} re-creates it"),
        ));
        return checks;
    };
    checks.push(Check::ok("role", format!("role {} exists", role.arn)));
    match claims {
        Some(claims) => checks.extend(token_checks(f, role, claims, account, &add)),
        // A token refused for want of the optional RBAC: the links after it
        // that need no token are still checked.
        None if token_optional && matches!(f.token, Err(NoToken::Forbidden(_))) => {}
        None => return checks,
    }
    checks.push(session_check(f, role, &add));
    match &f.second_hop {
        Some(hop) => checks.extend(hop_checks(f, hop, &add)),
        None => checks.push(policy_check(f, role, &add)),
    }
    checks
}

/// The token link: issued, refused for want of the optional RBAC (a
/// warning when `add` checks: `token_optional`), or failed.
fn token_check(f: &Facts, sa_id: &str, token_optional: bool) -> Check {
    match &f.token {
        Ok(claims) => Check::ok(
            "token",
            format!(
                "TokenRequest issued a token for {} (audience {})",
                claims.sub,
                claims.aud.join(",")
            ),
        ),
        Err(NoToken::Forbidden(_)) if token_optional => Check::warn(
            "token",
            format!(
                "could not check: {TOKEN_LINKS} (needs the optional token RBAC: `create` on serviceaccounts/token for {sa_id})"
            ),
            format!(
                "bind the optional Role that `kubectl klanker-trust policy --for rbac {}` prints, then run `kubectl klanker-trust verify {}`",
                f.name, f.name
            ),
        ),
        Err(NoToken::Forbidden(why)) => Check::fail(
            "token",
            format!("no token for {sa_id}: {why}"),
            "verify needs the optional token RBAC (`create` on serviceaccounts/token for this ServiceAccount) that `policy --for rbac` prints as a Role of its own",
        ),
        Err(NoToken::Failed(why)) => Check::fail(
            "token",
            format!("no token for {sa_id}: {why}"),
            "the ServiceAccount must exist and you need `create` on serviceaccounts/token",
        ),
    }
}

/// The ServiceAccount's two IRSA annotations.
fn service_account_checks(f: &Facts, add: &str, sa_id: &str) -> Vec<Check> {
    let Some(ann) = &f.annotations else {
        return vec![Check::fail(
            "service-account",
            format!("ServiceAccount {sa_id} does not exist"),
            format!("{add} (from this cluster's context) applies it"),
        )];
    };
    let role = match ann.get(ROLE_ARN_ANNOTATION) {
        Some(arn) if arn == &f.role_arn => Check::ok(
            "service-account",
            format!("ServiceAccount {sa_id} is annotated with {arn}"),
        ),
        Some(arn) => Check::fail(
            "service-account",
            format!(
                "ServiceAccount {sa_id} is annotated with {arn}, not {}",
                f.role_arn
            ),
            format!(
                "{add} --override-existing-serviceaccounts re-points it (the pods of that role lose it)"
            ),
        ),
        None => Check::fail(
            "service-account",
            format!("ServiceAccount {sa_id} has no {ROLE_ARN_ANNOTATION} annotation"),
            format!("{add} re-applies the annotation"),
        ),
    };
    let expiration = match ann
        .get(TOKEN_EXPIRATION_ANNOTATION)
        .map(|v| v.parse::<u32>())
    {
        Some(Ok(secs)) if (600..=86400).contains(&secs) => {
            Check::ok("token-expiration", format!("projected tokens live {secs}s"))
        }
        Some(_) => Check::warn(
            "token-expiration",
            format!(
                "{TOKEN_EXPIRATION_ANNOTATION} is not a number of seconds between 600 and 86400"
            ),
            format!("{add} sets it to the session duration"),
        ),
        None => Check::warn(
            "token-expiration",
            format!(
                "no {TOKEN_EXPIRATION_ANNOTATION} annotation (the webhook default, 86400s, applies)"
            ),
            format!("{add} sets it"),
        ),
    };
    vec![role, expiration]
}

/// What the token's claims meet: the issuer the role trusts, the provider
/// registered for it (with STS's client ID), and the trust's conditions.
fn token_checks(
    f: &Facts,
    role: &RoleFacts,
    claims: &Claims,
    account: &str,
    add: &str,
) -> Vec<Check> {
    let issuer = Issuer::parse(&claims.iss, "token iss");
    let mut checks = vec![issuer_check(f, role, claims, &issuer, add)];
    checks.extend(provider_checks(f, claims, account, add));
    if let (Ok(issuer), Some(provider_arn)) = (&issuer, &f.provider_arn_for_token) {
        let identity = WebIdentity {
            provider_arn,
            issuer_host_path: issuer.host_path(),
            sub: &claims.sub,
            aud: &claims.aud,
        };
        checks.push(trust_check(role, claims, &identity, add));
    }
    checks
}

fn issuer_check(
    f: &Facts,
    role: &RoleFacts,
    claims: &Claims,
    issuer: &Result<Issuer, crate::trust::ValidationError>,
    add: &str,
) -> Check {
    let trusted: Vec<String> = crate::inventory::federated_principals(&role.trust_policy)
        .into_iter()
        .collect();
    match (issuer, &f.provider_arn_for_token) {
        (Ok(_), Some(arn)) if trusted.contains(arn) => Check::ok(
            "issuer",
            format!(
                "the token's issuer {} is the one the role trusts",
                claims.iss
            ),
        ),
        (Ok(_), _) => Check::fail(
            "issuer",
            format!(
                "the token is issued by {}, but the role trusts {}",
                claims.iss,
                if trusted.is_empty() {
                    "no OIDC provider".to_string()
                } else {
                    trusted.join(", ")
                }
            ),
            format!("{add} from this cluster's context points the trust at its issuer"),
        ),
        (Err(e), _) => Check::fail(
            "issuer",
            format!(
                "the token's issuer `{}` is not a usable OIDC issuer: {}",
                claims.iss, e.problem
            ),
            "IRSA needs the cluster's service-account issuer to be a public https URL",
        ),
    }
}

fn provider_checks(f: &Facts, claims: &Claims, account: &str, add: &str) -> Vec<Check> {
    let Some(p) = &f.provider else {
        return vec![Check::fail(
            "provider",
            format!("no IAM OIDC provider for {} in {account}", claims.iss),
            format!("{add} re-creates it"),
        )];
    };
    let exists = Check::ok("provider", format!("OIDC provider {} exists", p.arn));
    let client_id = match p.client_ids.iter().any(|c| c == STS_AUDIENCE) {
        true => Check::ok(
            "client-id",
            format!("{STS_AUDIENCE} is among the provider's client IDs"),
        ),
        false => Check::fail(
            "client-id",
            format!(
                "the provider's client IDs ({}) lack {STS_AUDIENCE}",
                p.client_ids.join(", ")
            ),
            format!(
                "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {STS_AUDIENCE}",
                p.arn
            ),
        ),
    };
    vec![exists, client_id]
}

fn trust_check(role: &RoleFacts, claims: &Claims, identity: &WebIdentity, add: &str) -> Check {
    match conditions::evaluate(&role.trust_policy, identity) {
        TrustVerdict::Allowed => Check::ok(
            "trust",
            format!(
                "the trust policy admits sub {} with aud {}",
                claims.sub,
                claims.aud.join(",")
            ),
        ),
        TrustVerdict::ProviderNotTrusted => Check::fail(
            "trust",
            format!(
                "no Allow statement for sts:AssumeRoleWithWebIdentity names {}",
                identity.provider_arn
            ),
            format!("{add} rewrites the trust policy"),
        ),
        TrustVerdict::ConditionFailed {
            key,
            wanted,
            actual,
        } => {
            let claim = if key.ends_with(":aud") { "aud" } else { "sub" };
            Check::fail(
                "trust",
                format!(
                    "{claim} mismatch: the trust policy wants {key} = {wanted}, the token has {actual}"
                ),
                format!("{add} writes the trust back for the recorded ServiceAccounts"),
            )
        }
        TrustVerdict::Unsupported(what) => Check::warn(
            "trust",
            format!("the trust policy uses {what}, which this check does not evaluate"),
            "the STS call below is the final word",
        ),
    }
}

fn session_check(f: &Facts, role: &RoleFacts, add: &str) -> Check {
    if role.max_session >= f.requested_session {
        return Check::ok(
            "session",
            format!(
                "MaxSessionDuration {}s covers {}s sessions",
                role.max_session, f.requested_session
            ),
        );
    }
    Check::fail(
        "session",
        format!(
            "MaxSessionDuration {}s is shorter than the {}s sessions requested",
            role.max_session, f.requested_session
        ),
        format!("{add} --session-duration {}", f.requested_session),
    )
}

fn policy_check(f: &Facts, role: &RoleFacts, add: &str) -> Check {
    if role.attached_policies.contains(&f.operator_policy) {
        return Check::ok("policy", format!("{} is attached", f.operator_policy));
    }
    if role.attached_policies.is_empty() {
        return Check::fail(
            "policy",
            "no policy is attached: the session could do nothing",
            format!("{add} attaches {}", f.operator_policy),
        );
    }
    Check::warn(
        "policy",
        format!(
            "{} is not attached (attached: {})",
            f.operator_policy,
            role.attached_policies
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("{add} attaches the operator policy"),
    )
}

/// The second hop's links: the cluster role's permission to assume the
/// klanker role, the klanker role's trust condition, its session and
/// policy, and the ConfigMap's profile chain as the SDK reads it.
fn hop_checks(f: &Facts, hop: &HopFacts, add: &str) -> Vec<Check> {
    let mut checks = vec![assume_permission_check(f, hop, add)];
    let Some(klanker) = &hop.klanker_role else {
        checks.push(Check::fail(
            "klanker-role",
            format!(
                "role {} does not exist in the klanker account",
                hop.klanker_role_name
            ),
            format!("{add} re-creates it"),
        ));
        return checks;
    };
    checks.push(Check::ok(
        "klanker-role",
        format!("role {} exists", klanker.arn),
    ));
    checks.push(klanker_trust_check(hop, klanker, &f.role_arn, add));
    checks.push(klanker_session_check(f, hop, klanker, add));
    checks.push(klanker_policy_check(f, hop, klanker, add));
    checks.push(config_check(hop, &f.role_arn, add));
    checks
}

/// The klanker role's session length, as [`session_check`] judges the first role's.
fn klanker_session_check(f: &Facts, hop: &HopFacts, klanker: &RoleFacts, add: &str) -> Check {
    let name = &hop.klanker_role_name;
    if klanker.max_session >= f.requested_session {
        return Check::ok(
            "session",
            format!(
                "{name}'s MaxSessionDuration {}s covers {}s sessions",
                klanker.max_session, f.requested_session
            ),
        );
    }
    Check::fail(
        "session",
        format!(
            "{name}'s MaxSessionDuration {}s is shorter than the {}s sessions requested",
            klanker.max_session, f.requested_session
        ),
        format!("{add} --session-duration {}", f.requested_session),
    )
}

/// The klanker role's policies, as [`policy_check`] judges the first role's.
fn klanker_policy_check(f: &Facts, hop: &HopFacts, klanker: &RoleFacts, add: &str) -> Check {
    let name = &hop.klanker_role_name;
    if klanker.attached_policies.contains(&f.operator_policy) {
        return Check::ok(
            "policy",
            format!("{} is attached to {name}", f.operator_policy),
        );
    }
    if klanker.attached_policies.is_empty() {
        return Check::fail(
            "policy",
            format!("no policy is attached to {name}: the session could do nothing"),
            format!("{add} attaches {}", f.operator_policy),
        );
    }
    Check::warn(
        "policy",
        format!("{} is not attached to {name}", f.operator_policy),
        format!("{add} attaches the operator policy"),
    )
}

/// The cluster role's inline policy lets it assume the klanker role.
fn assume_permission_check(f: &Facts, hop: &HopFacts, add: &str) -> Check {
    let klanker = &hop.klanker_role_arn;
    let Some(policy) = &hop.assume_policy else {
        return Check::fail(
            "assume-permission",
            format!(
                "role {} has no {} inline policy: it may not assume {klanker}",
                f.role_name,
                crate::trust::chain::ASSUME_POLICY_NAME
            ),
            format!("{add} puts it back"),
        );
    };
    let allowed = crate::trust::chain::assumable_roles(policy);
    if allowed.iter().any(|r| r == klanker) {
        return Check::ok(
            "assume-permission",
            format!("role {} may assume {klanker}", f.role_name),
        );
    }
    Check::fail(
        "assume-permission",
        format!(
            "role {}'s {} policy allows sts:AssumeRole on {}, not {klanker}",
            f.role_name,
            crate::trust::chain::ASSUME_POLICY_NAME,
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        ),
        format!("{add} rewrites it"),
    )
}

/// The klanker role's trust admits the cluster role: its account's root as
/// the Principal, narrowed to the cluster role by `aws:PrincipalArn`.
fn klanker_trust_check(
    hop: &HopFacts,
    klanker: &RoleFacts,
    cluster_role: &str,
    add: &str,
) -> Check {
    let root = crate::trust::arn::account_of(cluster_role).map(|account| {
        format!(
            "arn:{}:iam::{account}:root",
            crate::trust::arn::partition_of(cluster_role)
        )
    });
    let principal_ok = crate::trust::chain::trusted_aws_principals(&klanker.trust_policy)
        .iter()
        .any(|p| Some(p) == root.as_ref() || p == cluster_role);
    let name = &hop.klanker_role_name;
    match crate::trust::chain::trusted_cluster_role(&klanker.trust_policy) {
        Some(trusted) if trusted == cluster_role && principal_ok => Check::ok(
            "klanker-trust",
            format!("role {name} admits {cluster_role} (ArnEquals aws:PrincipalArn)"),
        ),
        Some(trusted) if trusted == cluster_role => Check::fail(
            "klanker-trust",
            format!(
                "role {name}'s trust names {cluster_role} in its condition, but its Principal is not {}",
                root.unwrap_or_default()
            ),
            format!("{add} rewrites the trust policy"),
        ),
        other => Check::fail(
            "klanker-trust",
            format!(
                "role {name}'s trust condition admits {}, not {cluster_role}",
                other.unwrap_or_else(|| "no role of the cluster's account".into())
            ),
            format!("{add} rewrites the trust policy"),
        ),
    }
}

/// The ConfigMap's profile chain, as aws-config parsed it: `klanker`
/// assumes the klanker role from `cluster`, which is the cluster role with
/// the token file.
fn config_check(hop: &HopFacts, cluster_role: &str, add: &str) -> Check {
    use crate::trust::chain::{CLUSTER_PROFILE, KLANKER_PROFILE, TOKEN_FILE};
    let fix = format!("{add} rewrites ConfigMap {}", hop.config_map);
    let profiles = match &hop.profiles {
        Ok(p) => p,
        Err(why) => {
            return Check::fail(
                "config-map",
                format!("ConfigMap {}: {why}", hop.config_map),
                fix,
            );
        }
    };
    let get = |profile: &str, key: &str| {
        profiles
            .get(profile)
            .and_then(|p| p.get(key))
            .map(String::as_str)
    };
    let wanted = [
        (KLANKER_PROFILE, "role_arn", hop.klanker_role_arn.as_str()),
        (KLANKER_PROFILE, "source_profile", CLUSTER_PROFILE),
        (CLUSTER_PROFILE, "role_arn", cluster_role),
        (CLUSTER_PROFILE, "web_identity_token_file", TOKEN_FILE),
    ];
    let wrong: Vec<String> = wanted
        .iter()
        .filter(|(p, k, v)| get(p, k) != Some(*v))
        .map(|(p, k, v)| {
            format!(
                "profile {p} {k} is {}, not {v}",
                get(p, k).unwrap_or("unset")
            )
        })
        .collect();
    if wrong.is_empty() {
        Check::ok(
            "config-map",
            format!(
                "ConfigMap {}: profile {KLANKER_PROFILE} assumes {} from profile {CLUSTER_PROFILE} ({cluster_role} with the pod's token)",
                hop.config_map, hop.klanker_role_arn
            ),
        )
    } else {
        Check::fail(
            "config-map",
            format!("ConfigMap {}: {}", hop.config_map, wrong.join("; ")),
            fix,
        )
    }
}

/// Drift around the chain: other ServiceAccounts annotated with the role
/// (reported, never adopted as the subject), other roles claiming the name.
pub fn drift_checks(name: &str, other_service_accounts: &[String], notes: &[String]) -> Vec<Check> {
    let mut checks = Vec::new();
    if !other_service_accounts.is_empty() {
        checks.push(Check::warn(
            "drift",
            format!(
                "other ServiceAccounts are annotated with this role but are not the subject `{name}` trusts: {}",
                other_service_accounts.join(", ")
            ),
            "their pods cannot assume the role; remove the annotation from them (`kubectl annotate sa NAME eks.amazonaws.com/role-arn-`)",
        ));
    }
    for note in notes {
        checks.push(Check::warn(
            "drift",
            note.clone(),
            format!("kubectl klanker-trust list shows the drift of `{name}`"),
        ));
    }
    checks
}

/// The klanker role's trust, judged against what the tool writes for the
/// recorded intent: a trust changed by hand may admit more than was asked,
/// so it fails even when the chain still works.
pub fn trust_drift_check(drift: Option<&crate::inventory::Drift>) -> Option<Check> {
    drift.map(|d| Check::fail("drift", d.problem.clone(), d.fix.clone()))
}

/// The checks of several ServiceAccounts as one list: every check of the
/// first, then those of the others that say something new (the role, the
/// provider and the policies are the same links for all of them).
pub fn merge_subject_checks(per_subject: Vec<Vec<Check>>) -> Vec<Check> {
    let mut lists = per_subject.into_iter();
    let mut merged: Vec<Check> = lists.next().unwrap_or_default();
    for checks in lists {
        for check in checks {
            if !merged.contains(&check) {
                merged.push(check);
            }
        }
    }
    merged
}

/// STS's answer for one of several ServiceAccounts, named by it.
pub fn named_assume_check(service_account: &str, check: Check) -> Check {
    Check {
        message: format!("ServiceAccount {service_account}: {}", check.message),
        ..check
    }
}

pub fn has_failure(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}

/// The links that failed, by name.
pub fn broken_links(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.link.to_string())
        .collect()
}

/// The final word, STS itself: what AssumeRoleWithWebIdentity answered
/// (`Ok((arn, expiration))`), or, with `None`, that it was not tried
/// because a local link is already broken (STS would only refuse, and a
/// test peer might not).
pub fn assume_check(answer: Option<Result<(String, String), String>>) -> Check {
    match answer {
        Some(Ok((arn, expiration))) => Check {
            link: "assume",
            status: Status::Ok,
            message: format!("AssumeRoleWithWebIdentity gave {arn} until {expiration}"),
            fix: None,
        },
        Some(Err(err)) => Check {
            link: "assume",
            status: Status::Fail,
            message: format!("STS refused: {err}"),
            fix: Some(
                "see the checks above; if they all pass, IAM may need a minute more to propagate"
                    .into(),
            ),
        },
        None => Check {
            link: "assume",
            status: Status::Warn,
            message: "AssumeRoleWithWebIdentity not attempted: fix the failures above first".into(),
            fix: Some("re-run verify after fixing".into()),
        },
    }
}

/// The second hop's link: the cluster role's session assuming the klanker
/// role (None: not attempted, because a link before it is broken).
pub fn second_hop_assume_check(answer: Option<Result<(String, String), String>>) -> Check {
    match answer {
        Some(Ok((arn, expiration))) => Check::ok(
            "assume-chain",
            format!("role A's session assumed {arn} until {expiration}"),
        ),
        Some(Err(err)) => Check::fail(
            "assume-chain",
            format!("STS refused role A's AssumeRole on the klanker role: {err}"),
            "see assume-permission and klanker-trust above; if they pass, IAM may need a minute more to propagate",
        ),
        None => Check::warn(
            "assume-chain",
            "AssumeRole on the klanker role not attempted: fix the failures above first",
            "re-run verify after fixing",
        ),
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;
    use crate::inventory::Located;
    use crate::inventory::{Onboarding, Picked};
    use crate::store::ClusterEntry;

    const ROLE: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    fn located(onboarding: Option<Onboarding>) -> Located {
        Located {
            onboarding,
            trust_drift: None,
            role_name: "km-cluster-dev".into(),
            picked: Picked::default(),
        }
    }

    fn entry(namespace: &str) -> ClusterEntry {
        ClusterEntry {
            name: "dev".into(),
            oidc_provider_arn: String::new(),
            namespace: namespace.into(),
            service_account: "km".into(),
            role_arn: ROLE.into(),
            ..ClusterEntry::default()
        }
    }

    /// The target for a km-config.yaml entry in `namespace` (or none).
    fn of(namespace: Option<&str>, context_namespace: Option<&str>) -> Target {
        let entry = namespace.map(entry);
        target(
            "dev",
            &located(None),
            entry.as_ref(),
            "aws",
            "333333333333",
            context_namespace,
        )
    }

    #[test]
    fn the_recorded_subject_is_checked_and_a_wildcard_namespace_is_the_contexts() {
        let t = of(Some("ai-pods"), Some("x"));
        assert_eq!(
            (t.namespace.as_str(), t.service_account.as_str()),
            ("ai-pods", "km")
        );
        assert_eq!(t.role_arn, ROLE);
        assert_eq!(
            t.operator_policy,
            "arn:aws:iam::333333333333:policy/km-operator-policy"
        );
        assert_eq!(of(Some("*"), Some("x")).namespace, "x");
        let t = of(None, None);
        assert_eq!(
            (t.namespace.as_str(), t.service_account.as_str()),
            ("default", "km")
        );
        assert_eq!(t.role_arn, ROLE);
    }

    #[test]
    fn a_recorded_cluster_role_is_checked_first_and_the_fix_carries_its_mode() {
        const CLUSTER_ROLE: &str = "arn:aws:iam::222222222222:role/km-irsa-dev";
        let one_hop = of(Some("ai-pods"), None);
        assert!(one_hop.second_hop.is_none());
        let default_mode: crate::trust::TrustMode = Default::default();
        assert_eq!(
            one_hop.fix_add,
            crate::inventory::intent::add_command_for("dev", default_mode, &one_hop.subjects())
        );
        for mode in <crate::trust::TrustMode as clap::ValueEnum>::value_variants() {
            let mut e = entry("ai-pods");
            e.cluster_role_arn = Some(CLUSTER_ROLE.into());
            e.mode = *mode;
            let t = target("dev", &located(None), Some(&e), "aws", "333333333333", None);
            assert_eq!(
                (t.role_name.as_str(), t.role_arn.as_str()),
                ("km-irsa-dev", CLUSTER_ROLE)
            );
            let hop = t.second_hop.as_ref().expect("a second hop");
            assert_eq!(hop.klanker_role_arn, ROLE);
            assert_eq!(hop.config_map, crate::trust::chain::DEFAULT_CONFIG_MAP);
            assert!(
                t.fix_add.contains(&format!("--mode {} ", mode.as_str())),
                "{}",
                t.fix_add
            );
        }
    }

    #[test]
    fn only_other_service_accounts_with_this_role_are_drift() {
        let t = of(Some("ai-pods"), None);
        let found = [
            ("ai-pods", "km", Some(ROLE)),
            ("other", "km", Some(ROLE)),
            ("third", "km", Some("arn:aws:iam::333333333333:role/else")),
            ("fourth", "km", None),
        ];
        assert_eq!(others_annotated(&t, found.into_iter()), ["other/km"]);
    }

    #[test]
    fn sts_answers_become_the_last_link() {
        assert_eq!(
            assume_check(Some(Ok(("a".into(), "b".into())))).status,
            Status::Ok
        );
        assert_eq!(assume_check(Some(Err("no".into()))).status, Status::Fail);
        assert_eq!(assume_check(None).status, Status::Warn);
    }

    #[test]
    fn several_subjects_are_each_a_target_and_none_is_drift() {
        let mut e = entry("ai-pods");
        e.service_accounts = vec![
            "ai-pods:km".into(),
            "ci:b".into(),
            "*:c".into(),
            "ai-pods:ci-*".into(),
        ];
        let t = target(
            "dev",
            &located(None),
            Some(&e),
            "aws",
            "333333333333",
            Some("here"),
        );
        assert_eq!(
            t.subjects(),
            [
                ("ai-pods".to_string(), "km".to_string()),
                ("ci".to_string(), "b".to_string()),
                ("here".to_string(), "c".to_string())
            ]
        );
        let one = t.for_subject(&("ci".into(), "b".into()));
        assert_eq!(
            (one.namespace.as_str(), one.service_account.as_str()),
            ("ci", "b")
        );
        assert!(one.more.is_empty());
        let found = [
            ("ci", "b", Some(ROLE)),
            ("ai-pods", "km", Some(ROLE)),
            ("x", "y", Some(ROLE)),
        ];
        assert_eq!(others_annotated(&t, found.into_iter()), ["x/y"]);
    }

    #[test]
    fn checks_of_several_keep_each_new_one_once_and_sts_names_each() {
        let same = Check::ok("role", "role r exists");
        let a = vec![
            same.clone(),
            Check::ok("token", "TokenRequest issued a token for a"),
        ];
        let b = vec![same.clone(), Check::fail("token", "no token for ci/b", "x")];
        let merged = merge_subject_checks(vec![a, b]);
        assert_eq!(merged.len(), 3, "{merged:?}");
        assert!(has_failure(&merged));
        let named = named_assume_check("ci/b", assume_check(Some(Err("denied".into()))));
        assert_eq!(named.message, "ServiceAccount ci/b: STS refused: denied");
        assert_eq!(named.status, Status::Fail);
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;

    #[test]
    fn an_unreadable_jwks_is_a_warning_a_bad_signature_a_failure() {
        assert!(signature_check(None, Ok("{}".into())).is_none());
        let warn = signature_check(Some("a.b.c"), Err("403".into())).unwrap();
        assert_eq!(warn.status, Status::Warn);
        assert!(warn.message.contains("signature not checked"));
        let fail = signature_check(Some("e30.e30.c2ln"), Ok(r#"{"keys":[]}"#.into())).unwrap();
        assert_eq!(fail.status, Status::Fail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{TrustScope, policy::trust_policy};

    const ISSUER: &str = "https://oidc.example.com/id/A";
    const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";
    const ROLE_ARN: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";
    const POLICY: &str = "arn:aws:iam::333333333333:policy/km-operator-policy";

    fn healthy() -> Facts {
        let issuer = Issuer::parse(ISSUER, "x").unwrap();
        Facts {
            fix_add: crate::inventory::intent::add_command_for(
                "dev",
                Default::default(),
                &[("ai-pods".into(), "km".into())],
            ),
            name: "dev".into(),
            role_name: "km-cluster-dev".into(),
            role_arn: ROLE_ARN.into(),
            role: Some(RoleFacts {
                arn: ROLE_ARN.into(),
                trust_policy: trust_policy(PROVIDER, &issuer, &TrustScope::new("ai-pods", "km")),
                max_session: 3600,
                attached_policies: BTreeSet::from([POLICY.to_string()]),
            }),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            annotations: Some(BTreeMap::from([
                (ROLE_ARN_ANNOTATION.to_string(), ROLE_ARN.to_string()),
                (TOKEN_EXPIRATION_ANNOTATION.to_string(), "3600".to_string()),
            ])),
            token: Ok(Claims {
                iss: ISSUER.into(),
                sub: "system:serviceaccount:ai-pods:km".into(),
                aud: vec![STS_AUDIENCE.into()],
                exp: None,
            }),
            provider: Some(ProviderFacts {
                arn: PROVIDER.into(),
                client_ids: vec![STS_AUDIENCE.into()],
            }),
            provider_arn_for_token: Some(PROVIDER.into()),
            operator_policy: POLICY.into(),
            requested_session: 3600,
            second_hop: None,
        }
    }

    const ROLE_A: &str = "arn:aws:iam::222222222222:role/km-irsa-dev";

    /// A healthy onboarding of two hops: the cluster role is the
    /// ServiceAccount's role, the klanker role is assumed from it.
    fn healthy_two_hops() -> Facts {
        let mut f = healthy();
        f.role_arn = ROLE_A.into();
        f.role_name = "km-irsa-dev".into();
        if let Some(ann) = f.annotations.as_mut() {
            ann.insert(ROLE_ARN_ANNOTATION.into(), ROLE_A.into());
        }
        if let Some(role) = f.role.as_mut() {
            role.arn = ROLE_A.into();
            role.attached_policies.clear();
        }
        let profile = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        f.second_hop = Some(HopFacts {
            klanker_role_name: "km-cluster-dev".into(),
            klanker_role_arn: ROLE_ARN.into(),
            klanker_role: Some(RoleFacts {
                arn: ROLE_ARN.into(),
                trust_policy: crate::trust::chain::klanker_trust_policy(
                    "aws",
                    "222222222222",
                    ROLE_A,
                ),
                max_session: 3600,
                attached_policies: BTreeSet::from([POLICY.to_string()]),
            }),
            assume_policy: Some(crate::trust::chain::assume_policy(ROLE_ARN)),
            config_map: "ai-pods/km-aws-config".into(),
            profiles: Ok(BTreeMap::from([
                (
                    "klanker".to_string(),
                    profile(&[("role_arn", ROLE_ARN), ("source_profile", "cluster")]),
                ),
                (
                    "cluster".to_string(),
                    profile(&[
                        ("role_arn", ROLE_A),
                        ("web_identity_token_file", crate::trust::chain::TOKEN_FILE),
                    ]),
                ),
            ])),
        });
        f
    }

    #[test]
    fn a_healthy_second_hop_passes_the_cluster_and_klanker_role_links() {
        let checks = local_checks(&healthy_two_hops());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        let links: Vec<&str> = checks.iter().map(|c| c.link).collect();
        for link in [
            "trust",
            "assume-permission",
            "klanker-role",
            "klanker-trust",
            "policy",
            "config-map",
        ] {
            assert!(links.contains(&link), "{link} missing: {links:?}");
        }
    }

    #[test]
    fn each_broken_link_of_the_second_hop_is_named() {
        let with = |change: &dyn Fn(&mut HopFacts)| {
            let mut f = healthy_two_hops();
            if let Some(c) = f.second_hop.as_mut() {
                change(c);
            }
            failed(&f)
        };
        assert_eq!(with(&|c| c.assume_policy = None), ["assume-permission"]);
        assert_eq!(
            with(
                &|c| c.assume_policy = Some(crate::trust::chain::assume_policy(
                    "arn:aws:iam::333333333333:role/x"
                ))
            ),
            ["assume-permission"]
        );
        assert_eq!(
            with(&|c| {
                if let Some(b) = c.klanker_role.as_mut() {
                    b.trust_policy = crate::trust::chain::klanker_trust_policy(
                        "aws",
                        "222222222222",
                        "arn:aws:iam::222222222222:role/km-irsa-other",
                    );
                }
            }),
            ["klanker-trust"]
        );
        // The condition names the cluster role, but the Principal is another account's root.
        assert_eq!(
            with(&|c| {
                if let Some(b) = c.klanker_role.as_mut() {
                    b.trust_policy =
                        crate::trust::chain::klanker_trust_policy("aws", "444444444444", ROLE_A);
                }
            }),
            ["klanker-trust"]
        );
        assert_eq!(
            with(&|c| {
                if let Some(b) = c.klanker_role.as_mut() {
                    b.attached_policies.clear();
                }
            }),
            ["policy"]
        );
        assert_eq!(with(&|c| c.klanker_role = None), ["klanker-role"]);
        assert_eq!(
            with(&|c| c.profiles = Err("it does not exist".into())),
            ["config-map"]
        );
        assert_eq!(
            with(&|c| {
                if let Ok(p) = c.profiles.as_mut() {
                    p.remove("cluster");
                }
            }),
            ["config-map"]
        );
        // The cluster role's own trust is checked as a one-hop role's is.
        let mut f = healthy_two_hops();
        f.token = Ok(Claims {
            iss: ISSUER.into(),
            sub: "system:serviceaccount:ai-pods:other".into(),
            aud: vec![STS_AUDIENCE.into()],
            exp: None,
        });
        assert_eq!(failed(&f), ["trust"]);
    }

    #[test]
    fn a_refused_token_is_unchecked_after_add_but_a_failure_for_verify() {
        let mut f = healthy();
        f.token = Err(NoToken::Forbidden("the cluster denied it".into()));
        let after_add = local_checks_after_add(&f);
        assert!(!has_failure(&after_add), "{after_add:?}");
        let token = after_add.iter().find(|c| c.link == "token").unwrap();
        assert_eq!(token.status, Status::Warn);
        assert!(
            token.message.starts_with("could not check: token"),
            "{token:?}"
        );
        // The links that need no token are still checked.
        let links: Vec<&str> = after_add.iter().map(|c| c.link).collect();
        for link in ["service-account", "role", "session", "policy"] {
            assert!(links.contains(&link), "{link} missing from {links:?}");
        }
        assert!(!links.contains(&"trust"), "{links:?}");
        assert_eq!(failed(&f), ["token"]);
        // Any other reason for no token stays a failure for add too.
        f.token = Err("serviceaccounts \"km\" not found".into());
        assert!(has_failure(&local_checks_after_add(&f)));
    }

    fn failed(f: &Facts) -> Vec<&'static str> {
        local_checks(f)
            .into_iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.link)
            .collect()
    }

    #[test]
    fn healthy_chain_passes_every_link() {
        let checks = local_checks(&healthy());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        let links: Vec<&str> = checks.iter().map(|c| c.link).collect();
        assert_eq!(
            links,
            [
                "service-account",
                "token-expiration",
                "token",
                "role",
                "issuer",
                "provider",
                "client-id",
                "trust",
                "session",
                "policy"
            ]
        );
    }

    #[test]
    fn each_broken_link_fails_on_its_own() {
        let mut f = healthy();
        f.annotations.as_mut().unwrap().insert(
            ROLE_ARN_ANNOTATION.into(),
            "arn:aws:iam::333333333333:role/other".into(),
        );
        assert_eq!(failed(&f), ["service-account"]);

        let mut f = healthy();
        f.annotations = None;
        f.token = Err("serviceaccounts \"km\" not found".into());
        assert_eq!(failed(&f), ["service-account", "token"]);

        let mut f = healthy();
        f.provider = None;
        assert_eq!(failed(&f), ["provider"]);

        let mut f = healthy();
        f.provider.as_mut().unwrap().client_ids = vec!["other".into()];
        assert_eq!(failed(&f), ["client-id"]);

        let mut f = healthy();
        f.token.as_mut().unwrap().sub = "system:serviceaccount:other:km".into();
        let checks = local_checks(&f);
        let trust = checks.iter().find(|c| c.link == "trust").unwrap();
        assert_eq!(trust.status, Status::Fail);
        assert!(
            trust.message.starts_with("sub mismatch"),
            "{}",
            trust.message
        );

        let mut f = healthy();
        f.token.as_mut().unwrap().aud = vec!["vault".into()];
        let checks = local_checks(&f);
        let trust = checks.iter().find(|c| c.link == "trust").unwrap();
        assert!(
            trust.message.starts_with("aud mismatch"),
            "{}",
            trust.message
        );

        let mut f = healthy();
        f.role = None;
        assert_eq!(failed(&f), ["role"]);

        let mut f = healthy();
        f.token.as_mut().unwrap().iss = "https://elsewhere.example.com".into();
        f.provider_arn_for_token =
            Some("arn:aws:iam::333333333333:oidc-provider/elsewhere.example.com".into());
        assert_eq!(failed(&f), ["issuer", "trust"]);

        let mut f = healthy();
        f.role.as_mut().unwrap().attached_policies.clear();
        assert_eq!(failed(&f), ["policy"]);

        let mut f = healthy();
        f.requested_session = 7200;
        assert_eq!(failed(&f), ["session"]);
    }

    #[test]
    fn look_alike_service_accounts_are_drift_not_failures() {
        let checks = drift_checks("dev", &["aaa-tenant/km".to_string()], &[]);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Warn);
        assert!(checks[0].message.contains("aaa-tenant/km"));
        assert!(!has_failure(&checks));
        assert!(drift_checks("dev", &[], &[]).is_empty());
    }

    #[test]
    fn odd_annotations_and_foreign_policies_warn() {
        let mut f = healthy();
        f.annotations
            .as_mut()
            .unwrap()
            .insert(TOKEN_EXPIRATION_ANNOTATION.into(), "soon".into());
        f.role.as_mut().unwrap().attached_policies =
            BTreeSet::from(["arn:aws:iam::aws:policy/Other".to_string()]);
        let warned: Vec<&str> = local_checks(&f)
            .into_iter()
            .filter(|c| c.status == Status::Warn)
            .map(|c| c.link)
            .collect();
        assert_eq!(warned, ["token-expiration", "policy"]);
        assert!(!has_failure(&local_checks(&f)));
    }
}
