//! The IRSA rules: a statement admitting `sts:AssumeRoleWithWebIdentity`
//! from an OIDC provider, read for how tightly it binds the token's `sub`
//! and `aud`, and whether it can match at all.

use super::context::{Context, provider_key};
use super::document::{Compare, Condition, Statement, has_wildcard};
use super::{Finding, FindingId};
use crate::inventory::RoleSummary;
use crate::trust::policy::STS_AUDIENCE;

/// What a `sub` value admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// One subject.
    Literal,
    /// `system:serviceaccount:*:name`: that name in any namespace.
    NamespaceWildcard,
    /// Several ServiceAccounts, or anything the issuer signs (`*`,
    /// `system:serviceaccount:*`, `ns:app*`).
    Spanning,
}

/// What a `sub` value under `StringLike` admits.
pub fn classify(value: &str) -> Pattern {
    if !has_wildcard(value) {
        return Pattern::Literal;
    }
    let Some((namespace, name)) = value
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    else {
        return Pattern::Spanning;
    };
    if has_wildcard(name) {
        Pattern::Spanning
    } else if has_wildcard(namespace) {
        Pattern::NamespaceWildcard
    } else {
        Pattern::Literal
    }
}

/// The condition keys of a provider's tokens, lowercased (`host/path:sub`).
#[derive(Debug, Clone)]
pub struct Keys {
    pub host_path: String,
    pub sub: String,
    pub aud: String,
}

impl Keys {
    pub fn of(provider_arn: &str) -> Option<Keys> {
        let (_, host_path) = provider_arn.split_once(":oidc-provider/")?;
        let lower = host_path.to_ascii_lowercase();
        Some(Keys {
            host_path: host_path.to_string(),
            sub: format!("{lower}:sub"),
            aud: format!("{lower}:aud"),
        })
    }
}

/// A key some other identity provider's tokens carry (`host/path:claim`,
/// `accounts.google.com:aud`), not a global key (`aws:...`, `sts:...`).
fn issuer_claim_key(key: &str) -> bool {
    key.rsplit_once(':')
        .is_some_and(|(prefix, _)| prefix.contains(['.', '/']))
}

/// Conditions this provider's tokens can never meet: a positive test of a
/// key they do not carry (not `IfExists`, not `ForAllValues`, which pass
/// on an absent key).
pub fn foreign_conditions<'s>(s: &'s Statement, keys: &Keys) -> Vec<&'s Condition> {
    let own = format!("{}:", keys.host_path.to_ascii_lowercase());
    s.conditions
        .iter()
        .filter(|c| c.narrows() && issuer_claim_key(&c.key) && !c.key.starts_with(&own))
        .filter(|c| {
            let op = c.operator.to_ascii_lowercase();
            !op.ends_with("ifexists") && !op.starts_with("forallvalues:")
        })
        .collect()
}

/// The conditions narrowing `sub` for this provider.
pub fn sub_conditions<'s>(s: &'s Statement, keys: &Keys) -> Vec<&'s Condition> {
    s.conditions
        .iter()
        .filter(|c| c.narrows() && c.key == keys.sub)
        .collect()
}

/// Whether some `sub` condition admits only listed subjects (conditions
/// are ANDed, so it bounds the statement whatever the others allow).
pub fn bounded_by_literals(subs: &[&Condition]) -> bool {
    subs.iter().any(|c| match c.compare {
        Compare::Exact => true,
        Compare::Like => c.values.iter().all(|v| !has_wildcard(v)),
        Compare::Other => false,
    })
}

/// Every finding of one web-identity statement.
pub fn statement(ctx: &Context<'_>, role: &RoleSummary, s: &Statement) -> Vec<Finding> {
    if !s.allows_action("sts:AssumeRoleWithWebIdentity") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for provider in s.oidc_providers() {
        let Some(keys) = Keys::of(provider) else {
            continue;
        };
        if let Some(missing) = missing_provider(ctx, role, s, provider) {
            // Nobody gets in through it today; that is the headline.
            out.push(missing);
            continue;
        }
        let foreign = foreign_conditions(s, &keys);
        if !foreign.is_empty() {
            out.push(ctx.on_role(
                FindingId::ConditionOtherIssuer,
                role,
                Some(s),
                format!(
                    "nobody through {provider}: its tokens never carry {}, which the statement requires",
                    foreign.iter().map(|c| format!("`{}`", c.key_as_written)).collect::<Vec<_>>().join(", ")
                ),
                format!("key the conditions on this provider's issuer: `{}:sub` and `{}:aud`", keys.host_path, keys.host_path),
            ));
            continue;
        }
        out.extend(subject(ctx, role, s, &keys));
        out.extend(audience(ctx, role, s, &keys));
    }
    out
}

fn missing_provider(
    ctx: &Context<'_>,
    role: &RoleSummary,
    s: &Statement,
    provider: &str,
) -> Option<Finding> {
    let key = provider_key(provider);
    let present = ctx
        .account
        .providers
        .iter()
        .any(|p| provider_key(&p.arn) == key);
    (!present).then(|| {
        ctx.on_role(
            FindingId::ProviderMissing,
            role,
            Some(s),
            format!(
                "nobody today (STS finds no provider {provider} in account {}); whoever registers that issuer there again gets in through this statement",
                ctx.account.account
            ),
            "remove the statement, or register the cluster's issuer again (`kubectl klanker-trust add`)".into(),
        )
    })
}

fn subject(ctx: &Context<'_>, role: &RoleSummary, s: &Statement, keys: &Keys) -> Vec<Finding> {
    let subs = sub_conditions(s, keys);
    if subs.is_empty() {
        return vec![ctx.on_role(
            FindingId::WebIdentityNoSub,
            role,
            Some(s),
            format!(
                "every ServiceAccount of the cluster with issuer {}, and anything else that issuer signs",
                keys.host_path
            ),
            format!("add a `StringEquals` condition on `{}:sub` naming the ServiceAccounts (system:serviceaccount:NAMESPACE:NAME)", keys.host_path),
        )];
    }
    let mut out = dead_wildcards(
        ctx,
        role,
        s,
        &subs,
        "name the ServiceAccounts exactly under StringEquals (or use StringLike for a pattern)",
    );
    if bounded_by_literals(&subs) {
        return out;
    }
    for c in &subs {
        for value in &c.values {
            let (id, who) = match classify(value) {
                Pattern::Literal => continue,
                Pattern::NamespaceWildcard => (
                    FindingId::SubNamespaceWildcard,
                    format!(
                        "a ServiceAccount named as in `{value}` in any namespace: whoever can create one there gets in"
                    ),
                ),
                Pattern::Spanning => (
                    FindingId::SubWildcard,
                    format!("every ServiceAccount (and any other subject) matching `{value}`"),
                ),
            };
            out.push(ctx.on_role(id, role, Some(s), who, "name the ServiceAccounts exactly (the fixed document keeps those that use the role)".into()));
        }
    }
    out
}

/// The values of an exact comparison that hold `*` or `?`: compared
/// literally, no real token carries them.
fn dead_values(c: &Condition) -> Vec<&str> {
    match c.compare {
        Compare::Exact => c
            .values
            .iter()
            .map(String::as_str)
            .filter(|v| has_wildcard(v))
            .collect(),
        Compare::Like | Compare::Other => Vec::new(),
    }
}

/// A finding for each exact condition on a token claim (`sub`, `aud`)
/// holding a wildcard: that entry never matches (crossplane#5578), and
/// when every entry is one, the statement admits no one.
fn dead_wildcards(
    ctx: &Context<'_>,
    role: &RoleSummary,
    s: &Statement,
    conditions: &[&Condition],
    fix: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in conditions {
        let dead = dead_values(c);
        if dead.is_empty() {
            continue;
        }
        let all = dead.len() == c.values.len();
        out.push(ctx.on_role(
            FindingId::StringEqualsWildcard,
            role,
            Some(s),
            format!(
                "nobody through {}: {} compares `*` and `?` literally, so {} never {}{}",
                dead.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
                c.operator,
                if dead.len() == 1 { "it" } else { "they" },
                if dead.len() == 1 { "matches" } else { "match" },
                if all { " and the statement admits no one" } else { "" }
            ),
            fix.to_string(),
        ));
    }
    out
}

fn audience(ctx: &Context<'_>, role: &RoleSummary, s: &Statement, keys: &Keys) -> Vec<Finding> {
    let auds: Vec<&Condition> = s
        .conditions
        .iter()
        .filter(|c| c.narrows() && c.key == keys.aud)
        .collect();
    let require = format!(
        "require `\"StringEquals\": {{\"{}:aud\": \"{STS_AUDIENCE}\"}}`",
        keys.host_path
    );
    let mut out = dead_wildcards(ctx, role, s, &auds, &require);
    // What each condition admits: its entries but the dead ones.
    let live = |c: &Condition| -> Vec<String> {
        let dead = dead_values(c);
        c.values
            .iter()
            .filter(|v| !dead.contains(&v.as_str()))
            .cloned()
            .collect()
    };
    if auds.iter().any(|c| live(c).is_empty()) {
        // Nobody gets in through this statement: no audience to widen.
        return out;
    }
    let exact = |c: &&Condition| live(c).iter().all(|v| v == STS_AUDIENCE);
    if auds.iter().any(exact) {
        return out;
    }
    let who = match auds.is_empty() {
        true => "tokens minted for any audience, not only for STS".to_string(),
        false => format!(
            "tokens minted for audiences other than {STS_AUDIENCE} ({})",
            auds.iter()
                .flat_map(|c| live(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    out.push(ctx.on_role(FindingId::AudUnbound, role, Some(s), who, require));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_values_are_classified_by_what_they_admit() {
        for (value, want) in [
            ("system:serviceaccount:ns:km", Pattern::Literal),
            ("system:serviceaccount:*:km", Pattern::NamespaceWildcard),
            (
                "system:serviceaccount:team-?:km",
                Pattern::NamespaceWildcard,
            ),
            ("system:serviceaccount:ns:app*", Pattern::Spanning),
            ("system:serviceaccount:ns:*", Pattern::Spanning),
            ("system:serviceaccount:*", Pattern::Spanning),
            ("*:*", Pattern::Spanning),
            ("*", Pattern::Spanning),
            ("system:*", Pattern::Spanning),
        ] {
            assert_eq!(classify(value), want, "{value}");
        }
    }

    #[test]
    fn keys_of_a_provider_and_foreign_keys() {
        let keys = Keys::of("arn:aws:iam::1:oidc-provider/OIDC.example.com/id/AB").unwrap();
        assert_eq!(keys.sub, "oidc.example.com/id/ab:sub");
        assert!(issuer_claim_key("accounts.google.com:aud"));
        assert!(issuer_claim_key("oidc.example.com/id/x:sub"));
        assert!(!issuer_claim_key("aws:principalarn"));
        assert!(!issuer_claim_key("sts:externalid"));
    }
}
