//! The rules over one role's trust and over an account's providers. Each
//! rule names who gets in because of what it found; `fix` writes the fix.

use std::collections::BTreeSet;

pub use super::context::{Context, POD_IDENTITY_SERVICE, provider_key};
use super::document::{self, Compare, Statement, has_wildcard};
use super::{Finding, FindingId, Fix, Severity};
use crate::inventory::RoleSummary;
use crate::inventory::recognise::mode_by_cluster_role;
use crate::trust::policy::{STS_AUDIENCE, policy_size};

/// Every finding of one role's trust.
pub fn role(ctx: &Context<'_>, role: &RoleSummary) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in document::statements(&role.trust_policy)
        .iter()
        .filter(|s| s.allows())
    {
        out.extend(super::web_identity::statement(ctx, role, s));
        out.extend(principal_anyone(ctx, role, s));
        out.extend(pod_identity(ctx, role, s));
        out.extend(cross_account(ctx, role, s));
        out.extend(tag_session(ctx, role, s));
    }
    out.extend(near_quota(ctx, role));
    out
}

fn names_pod_identity(s: &Statement) -> bool {
    s.principal
        .service
        .iter()
        .any(|p| p.eq_ignore_ascii_case(POD_IDENTITY_SERVICE))
}

/// A Pod Identity role with nothing tying it to one account, cluster or
/// session tag: any association in the account may use it.
fn pod_identity(ctx: &Context<'_>, role: &RoleSummary, s: &Statement) -> Option<Finding> {
    let bound = s.narrows_key(|k| {
        k == "aws:sourceaccount" || k == "aws:sourcearn" || k.starts_with("aws:requesttag/")
    });
    (names_pod_identity(s) && s.allows_action("sts:AssumeRole") && !bound).then(|| {
        ctx.on_role(
            FindingId::PodIdentityUnbound,
            role,
            Some(s),
            format!(
                "any EKS Pod Identity association in account {} (any cluster, any namespace, any ServiceAccount) can use this role",
                ctx.account.account
            ),
            format!(
                "add `\"StringEquals\": {{\"aws:SourceAccount\": \"{}\"}}` and an `aws:SourceArn` of the cluster (or conditions on EKS's aws:RequestTag/kubernetes-namespace and kubernetes-service-account)",
                ctx.account.account
            ),
        )
    })
}

/// A trust of another account's root with nothing naming which of its
/// principals: any of them allowed to call sts:AssumeRole gets in.
fn cross_account(ctx: &Context<'_>, role: &RoleSummary, s: &Statement) -> Vec<Finding> {
    if !s.allows_action("sts:AssumeRole")
        || s.narrows_key(|k| {
            k == "aws:principalarn" || k == "sts:externalid" || k.starts_with("aws:principaltag/")
        })
    {
        return Vec::new();
    }
    let others: BTreeSet<&str> = s
        .principal
        .aws
        .iter()
        .filter_map(|p| document::root_account(p))
        .filter(|a| *a != ctx.account.account)
        .collect();
    others
        .into_iter()
        .map(|other| {
            let workload = ctx.workload_accounts.contains(other);
            let mut f = ctx.on_role(
                FindingId::CrossAccountRoot,
                role,
                Some(s),
                format!(
                    "any principal of account {other} allowed to call sts:AssumeRole{}",
                    if workload {
                        ", including the pods of its workload-identity roles"
                    } else {
                        ""
                    }
                ),
                format!(
                    "narrow it with `\"ArnEquals\": {{\"aws:PrincipalArn\": \"arn:{}:iam::{other}:role/NAME\"}}` naming the role(s) meant to assume it (as {} mode writes it), or an sts:ExternalId",
                    ctx.account.partition,
                    mode_by_cluster_role(true).as_str()
                ),
            );
            if !workload {
                // Unknown or without workload identities: one step less direct.
                f.severity = Severity::Medium;
            }
            f
        })
        .collect()
}

/// Whom a wildcard principal (`"*"`, `{"AWS": "*"}`, a `Federated` `"*"`)
/// lets in when no condition names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anyone {
    /// sts:AssumeRole by any AWS principal of any account.
    AwsPrincipal,
    /// sts:AssumeRoleWithWebIdentity with any token STS accepts.
    WebIdentity,
}

/// The keys that name who a wildcard principal is meant to be. Each names
/// a caller, an account or an organization, or is a claim the other kind
/// of caller does not carry (an AWS principal has no token `sub`, a web
/// identity no principal ARN), so a positive test of it refuses that kind.
/// Not principal tags: any account can tag its own principals to match.
fn names_the_caller(key: &str) -> bool {
    matches!(
        key,
        "aws:principalarn"
            | "aws:principalaccount"
            | "aws:principalorgid"
            | "aws:principalorgpaths"
            | "sts:externalid"
    ) || key.ends_with(":sub")
}

/// Whether a condition holds every caller to its values. `IfExists` and
/// `ForAllValues` pass when the key is absent (a caller outside any
/// organization has no aws:PrincipalOrgID), and a pattern that leaves the
/// account or organization open lets in whoever creates a match there.
fn pins(c: &document::Condition) -> bool {
    let op = c.operator.to_ascii_lowercase();
    let passes_absent = op.ends_with("ifexists") || op.starts_with("forallvalues:");
    let open = c.compare == Compare::Like && c.values.iter().any(|v| spans_owners(&c.key, v));
    c.narrows() && !passes_absent && !open
}

/// Whether a pattern of `key` matches principals of accounts (or
/// organizations) nobody named: anyone can create `role/deployer` in an
/// account of their own, or an organization of their own.
fn spans_owners(key: &str, pattern: &str) -> bool {
    if !has_wildcard(pattern) {
        return false;
    }
    match key {
        // arn:PARTITION:iam::ACCOUNT:...
        "aws:principalarn" => pattern.split(':').nth(4).is_none_or(has_wildcard),
        "aws:principalaccount" | "aws:principalorgid" => true,
        // o-ORG/r-ROOT/ou-...
        "aws:principalorgpaths" => pattern.split('/').next().is_none_or(has_wildcard),
        _ => pattern.chars().all(|ch| ch == '*'),
    }
}

/// Whether the statement lets anyone in through a wildcard principal: the
/// rule below, and `fix`, which cannot know whom it was meant for.
pub fn anyone(s: &Statement) -> Option<Anyone> {
    if s.conditions
        .iter()
        .any(|c| pins(c) && names_the_caller(&c.key))
    {
        return None;
    }
    let federated_any = s.principal.federated.iter().any(|p| p == "*");
    if s.principal.any && s.allows_action("sts:AssumeRole") {
        Some(Anyone::AwsPrincipal)
    } else if (s.principal.any || federated_any) && s.allows_action("sts:AssumeRoleWithWebIdentity")
    {
        Some(Anyone::WebIdentity)
    } else {
        None
    }
}

/// A wildcard principal nothing narrows: whoever can call STS gets in.
fn principal_anyone(ctx: &Context<'_>, role: &RoleSummary, s: &Statement) -> Option<Finding> {
    let partition = &ctx.account.partition;
    let (who, fix) = match anyone(s)? {
        Anyone::AwsPrincipal => (
            "any AWS principal of any account allowed to call sts:AssumeRole: the wildcard principal names no account".to_string(),
            format!(
                "name the principals meant: the account root (`arn:{partition}:iam::ACCOUNT:root`) with `\"ArnEquals\": {{\"aws:PrincipalArn\": \"arn:{partition}:iam::ACCOUNT:role/NAME\"}}` (as {} mode writes it), or the role's ARN itself as the principal",
                mode_by_cluster_role(true).as_str()
            ),
        ),
        Anyone::WebIdentity => (
            "any web identity: a token of any issuer STS accepts for this account (each of its OIDC providers, public identity providers), whatever its `sub`".to_string(),
            format!(
                "name the provider (`arn:{partition}:iam::{}:oidc-provider/ISSUER`) as the Federated principal and require its `ISSUER:sub` and `ISSUER:aud` under StringEquals, as `kubectl klanker-trust add` writes it",
                ctx.account.account
            ),
        ),
    };
    Some(ctx.on_role(FindingId::PrincipalAnyone, role, Some(s), who, fix))
}

/// Session tags (Pod Identity) need sts:TagSession: without it every
/// assume fails.
fn tag_session(ctx: &Context<'_>, role: &RoleSummary, s: &Statement) -> Option<Finding> {
    let tagged = names_pod_identity(s)
        || s.conditions
            .iter()
            .any(|c| c.key.starts_with("aws:requesttag/"));
    (tagged && s.allows_action("sts:AssumeRole") && !s.allows_action("sts:TagSession")).then(|| {
        ctx.on_role(
            FindingId::TagSessionMissing,
            role,
            Some(s),
            "nobody: EKS Pod Identity tags the session, and without sts:TagSession in the trust every assume is refused".into(),
            "add \"sts:TagSession\" to the statement's Action".into(),
        )
    })
}

/// Within 10% of the trust-policy quota: the next ServiceAccount will not fit.
fn near_quota(ctx: &Context<'_>, role: &RoleSummary) -> Option<Finding> {
    let size = policy_size(&role.trust_policy);
    let quota = ctx.limits.trust_quota;
    (role.trust_policy.is_object() && size * 10 >= quota * 9).then(|| {
        ctx.on_role(
            FindingId::TrustNearQuota,
            role,
            None,
            format!(
                "nobody more: the trust is {size} of {quota} characters (whitespace not counted), so the next ServiceAccount will not fit"
            ),
            // The mode with a cluster role keeps the ServiceAccounts out of this trust.
            format!(
                "trust a wildcard of the ServiceAccounts' names, move to {} mode, or raise the role trust policy quota (L-C07B4B0D) to 4096 or 8192",
                mode_by_cluster_role(true).as_str()
            ),
        )
    })
}

/// The providers (as `provider_key`s) any statement of these roles names:
/// the only ones whose client IDs `audit` reads.
pub fn trusted_providers(roles: &[RoleSummary]) -> BTreeSet<String> {
    roles
        .iter()
        .flat_map(|r| crate::inventory::federated_principals(&r.trust_policy))
        .filter(|p| p.contains(":oidc-provider/"))
        .map(|p| provider_key(&p))
        .collect()
}

/// Whether every statement that trusts `provider` binds `aud` to
/// audiences the provider lists (IRSA's `eks.amazonaws.com/audience`
/// annotation): STS then admits those tokens, so the provider's want of
/// `sts.amazonaws.com` breaks nothing.
fn custom_audiences_only(roles: &[RoleSummary], provider: &str, client_ids: &[String]) -> bool {
    let Some(keys) = super::web_identity::Keys::of(provider) else {
        return false;
    };
    let key = provider_key(provider);
    let trusting: Vec<Statement> = roles
        .iter()
        .flat_map(|r| document::statements(&r.trust_policy))
        .filter(|s| s.oidc_providers().any(|p| provider_key(p) == key))
        .collect();
    // A token gets in only with an audience every `aud` condition admits:
    // one condition naming listed audiences alone bounds them all.
    let listed = |values: &[String]| values.iter().all(|v| client_ids.contains(v));
    !trusting.is_empty()
        && trusting.iter().all(|s| {
            s.on_key(&keys.aud).any(|c| {
                let literal =
                    c.compare == Compare::Exact || !c.values.iter().any(|v| has_wildcard(v));
                c.narrows() && literal && listed(&c.values)
            })
        })
}

/// Providers without `sts.amazonaws.com` among their client IDs (unless
/// every role trusting one asks only for audiences it lists), and
/// providers no role trusts.
pub fn providers(ctx: &Context<'_>) -> Vec<Finding> {
    let trusted = trusted_providers(&ctx.account.roles);
    let used = ctx.account.providers.len();
    let quota = ctx.limits.provider_quota;
    let mut out = Vec::new();
    for p in &ctx.account.providers {
        let (id, who, fix, command) = if !trusted.contains(&provider_key(&p.arn)) {
            (
                FindingId::ProviderUnused,
                format!("nobody: no role trusts it, and it holds one of the account's OIDC provider slots ({used} used of {quota})"),
                "delete it if no cluster still needs it (`kubectl klanker-trust rm` for one this tool created)".to_string(),
                format!("aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {}", p.arn),
            )
        } else if p.client_ids.as_ref().is_some_and(|ids| {
            !ids.iter().any(|i| i == STS_AUDIENCE)
                && !custom_audiences_only(&ctx.account.roles, &p.arn, ids)
        }) {
            (
                FindingId::ProviderNoStsClientId,
                format!(
                    "nobody through IRSA: STS refuses tokens for {STS_AUDIENCE} because the provider's client IDs are [{}]",
                    p.client_ids.as_deref().unwrap_or_default().join(", ")
                ),
                format!("add the client ID {STS_AUDIENCE} to the provider"),
                format!(
                    "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {STS_AUDIENCE}",
                    p.arn
                ),
            )
        } else {
            continue;
        };
        out.push(Finding {
            id,
            severity: id.severity(),
            broken: id.broken(),
            account: ctx.account.account.clone(),
            arn: p.arn.clone(),
            role: None,
            statement: None,
            who,
            fix: Fix {
                text: fix,
                command: Some(command),
                ..Fix::default()
            },
        });
    }
    out
}
