//! The fix of a role's findings. For a role this tool owns: the `add`
//! command that converges it. For any other: the tightened trust document,
//! which keeps every subject that gets in today and is meant to, and cuts
//! what never should have: wildcards become the ServiceAccounts that use the
//! role (read from the cluster with `--context`), `aud` is bound to STS,
//! dead entries and statements of providers that no longer exist are
//! dropped. Web-identity statements are written by the tool's own
//! `trust::policy::trust_policy_for`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::context::{POD_IDENTITY_SERVICE, provider_key};
use super::document::{self, Compare, Statement, has_wildcard};
use super::owned::Owned;
use super::rules;
use super::web_identity::{Keys, bounded_by_literals, foreign_conditions, sub_conditions};
use super::{AccountScan, ClusterScan, Finding};
use crate::inventory::RoleSummary;
use crate::trust::document::{PolicyDocument, string_like};
use crate::trust::policy::{self, STS_AUDIENCE};
use crate::trust::{Issuer, TrustScope};

const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// Fills in each role finding's fix: the command or the document and diff.
pub fn attach(
    found: &mut [Finding],
    account: &AccountScan,
    owned: &[Owned],
    cluster: Option<&ClusterScan>,
) {
    let mut documents: BTreeMap<String, Result<Value, String>> = BTreeMap::new();
    for f in found.iter_mut().filter(|f| f.role.is_some()) {
        if let Some(o) = owned.iter().find(|o| o.onboarding.role_arn == f.arn) {
            f.fix.command.get_or_insert_with(|| o.add_command());
            continue;
        }
        if !f.id.fixed_by_document() {
            continue;
        }
        let Some(role) = account.roles.iter().find(|r| r.arn == f.arn) else {
            continue;
        };
        let tightened = documents
            .entry(f.arn.clone())
            .or_insert_with(|| tighten(role, account, cluster));
        match tightened {
            Ok(doc) if !policy::equivalent(doc, &role.trust_policy) => {
                f.fix.diff = policy::diff_lines(&role.trust_policy, doc);
                f.fix.document = Some(doc.clone());
            }
            Ok(_) => {}
            Err(why) => f.fix.text = format!("{}; no tightened document: {why}", f.fix.text),
        }
    }
}

/// The tightened trust of a role the tool does not own, or why none can be
/// written without knowing more.
pub fn tighten(
    role: &RoleSummary,
    account: &AccountScan,
    cluster: Option<&ClusterScan>,
) -> Result<Value, String> {
    let mut out = Vec::new();
    for s in document::statements(&role.trust_policy) {
        if s.allows() && rules::anyone(&s).is_some() {
            // Kept, the document would still let anyone in; dropped, it
            // would lock out whoever it was meant for.
            return Err(format!(
                "{} lets anyone in through a wildcard principal, and whom it is meant for is not known: name those principals",
                s.label()
            ));
        }
        if s.allows() && s.allows_action(WEB_IDENTITY) && s.oidc_providers().next().is_some() {
            out.extend(web_identity(&s, role, account, cluster)?);
        } else if s.allows() {
            out.push(other(&s, account)?);
        } else {
            out.push(s.raw.clone());
        }
    }
    if out.is_empty() {
        return Err("nobody can assume this role today; name the subjects meant to".into());
    }
    let version = role
        .trust_policy
        .get("Version")
        .cloned()
        .unwrap_or_else(|| json!("2012-10-17"));
    Ok(json!({"Version": version, "Statement": out}))
}

/// A statement that is not web identity: Pod Identity bound to the
/// account, sts:TagSession where session tags are used; an account root
/// nobody narrowed cannot be fixed without knowing whom it was for.
fn other(s: &Statement, account: &AccountScan) -> Result<Value, String> {
    let mut raw = s.raw.clone();
    let pod_identity = s
        .principal
        .service
        .iter()
        .any(|p| p.eq_ignore_ascii_case(POD_IDENTITY_SERVICE));
    let assume = s.allows_action("sts:AssumeRole");
    let tagged = pod_identity
        || s.conditions
            .iter()
            .any(|c| c.key.starts_with("aws:requesttag/"));
    if assume && tagged && !s.allows_action("sts:TagSession") {
        let actions: Vec<&str> = s.action.iter().chain(["sts:TagSession"]).collect();
        raw["Action"] = json!(actions);
    }
    let bound = s.narrows_key(|k| {
        k == "aws:sourceaccount" || k == "aws:sourcearn" || k.starts_with("aws:requesttag/")
    });
    if pod_identity && assume && !bound {
        add_condition(
            &mut raw,
            "StringEquals",
            "aws:SourceAccount",
            json!(account.account),
        );
    }
    let narrowed = s.narrows_key(|k| {
        k == "aws:principalarn" || k == "sts:externalid" || k.starts_with("aws:principaltag/")
    });
    let foreign_root = s
        .principal
        .aws
        .iter()
        .filter_map(|p| document::root_account(p))
        .any(|a| a != account.account);
    if assume && foreign_root && !narrowed {
        return Err(format!(
            "{} trusts another account's root, and which of its principals should assume the role is not known: add aws:PrincipalArn naming them",
            s.label()
        ));
    }
    Ok(raw)
}

fn add_condition(raw: &mut Value, operator: &str, key: &str, value: Value) {
    if !raw["Condition"].is_object() {
        raw["Condition"] = Value::Object(Map::new());
    }
    if !raw["Condition"][operator].is_object() {
        raw["Condition"][operator] = Value::Object(Map::new());
    }
    raw["Condition"][operator][key] = value;
}

/// The statements that replace one web-identity statement: one set per
/// provider that still exists and can match, each admitting exactly the
/// subjects that get in today and are meant to.
fn web_identity(
    s: &Statement,
    role: &RoleSummary,
    account: &AccountScan,
    cluster: Option<&ClusterScan>,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for provider in s.oidc_providers() {
        let Some(keys) = Keys::of(provider) else {
            continue;
        };
        let exists = account
            .providers
            .iter()
            .any(|p| provider_key(&p.arn) == provider_key(provider));
        if !exists || !foreign_conditions(s, &keys).is_empty() {
            // Admits nobody today: dropping it changes no one's access.
            continue;
        }
        let subjects = admitted(s, &keys, role, cluster)?;
        if subjects.is_empty() {
            continue;
        }
        out.extend(rewrite(s, provider, &keys, &subjects));
    }
    Ok(out)
}

/// The literal subjects the statement admits today that are meant to.
fn admitted(
    s: &Statement,
    keys: &Keys,
    role: &RoleSummary,
    cluster: Option<&ClusterScan>,
) -> Result<Vec<String>, String> {
    let subs = sub_conditions(s, keys);
    let patterns: Vec<&str> = subs
        .iter()
        .filter(|c| c.compare == Compare::Like)
        .flat_map(|c| c.values.iter().map(String::as_str))
        .collect();
    let matches_all_like = |v: &str| {
        subs.iter()
            .filter(|c| c.compare == Compare::Like)
            .all(|c| c.values.iter().any(|p| string_like(p, v)))
    };
    if bounded_by_literals(&subs) {
        // Conditions are ANDed: what every bounded list names, and every pattern admits.
        let mut lists = subs
            .iter()
            .filter(|c| c.compare == Compare::Exact || c.values.iter().all(|v| !has_wildcard(v)));
        let first: Vec<String> = lists
            .next()
            .map(|c| {
                c.values
                    .iter()
                    .filter(|v| !has_wildcard(v))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let rest: Vec<_> = lists.collect();
        return Ok(first
            .into_iter()
            .filter(|v| rest.iter().all(|c| c.values.contains(v)))
            .filter(|v| matches_all_like(v))
            .collect());
    }
    let cluster = cluster
        .filter(|c| c.issuer.host_path().eq_ignore_ascii_case(&keys.host_path))
        .ok_or_else(|| {
            format!(
                "{} admits {}; which ServiceAccounts use the role is not known: audit again with --context of the cluster of issuer {}",
                s.label(),
                if patterns.is_empty() { "any subject".to_string() } else { patterns.join(", ") },
                keys.host_path
            )
        })?;
    let users: Vec<String> = cluster
        .service_accounts
        .iter()
        .filter(|sa| sa.role_arn.as_deref() == Some(role.arn.as_str()))
        .map(|sa| format!("system:serviceaccount:{}:{}", sa.namespace, sa.name))
        .filter(|sub| matches_all_like(sub))
        .collect();
    if users.is_empty() {
        return Err(format!(
            "no ServiceAccount of context `{}` is annotated with this role, so whom {} is meant for is not known",
            cluster.context,
            s.label()
        ));
    }
    Ok(users)
}

/// The statement for these exact subjects, as `add` writes it, with the
/// statement's other conditions and its session tagging kept.
fn rewrite(s: &Statement, provider: &str, keys: &Keys, subjects: &[String]) -> Vec<Value> {
    let scopes: Option<Vec<TrustScope>> = subjects
        .iter()
        .map(|v| {
            let (ns, sa) = v.strip_prefix("system:serviceaccount:")?.split_once(':')?;
            Some(TrustScope::new(ns, sa))
        })
        .collect();
    let issuer = Issuer::parse(&format!("https://{}", keys.host_path), "issuer").ok();
    let mut statements = match (scopes, issuer) {
        (Some(scopes), Some(issuer)) => {
            let doc = policy::trust_policy_for(provider, &issuer, &scopes);
            PolicyDocument::read(&doc)
                .statement
                .into_iter()
                .map(|s| s.raw)
                .collect()
        }
        // Subjects that are not ServiceAccounts (another kind of issuer).
        _ => vec![json!({
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": WEB_IDENTITY,
            "Condition": {"StringEquals": {
                format!("{}:sub", keys.host_path): subjects,
                format!("{}:aud", keys.host_path): STS_AUDIENCE,
            }},
        })],
    };
    for statement in &mut statements {
        if s.allows_action("sts:TagSession") {
            statement["Action"] = json!([WEB_IDENTITY, "sts:TagSession"]);
        }
        for c in s
            .conditions
            .iter()
            .filter(|c| c.key != keys.sub && c.key != keys.aud)
        {
            add_condition(
                statement,
                &c.operator,
                &c.key_as_written,
                c.raw_values.clone(),
            );
        }
        // A Sid must stay unique: kept only where one statement replaces one.
        if let (Some(sid), 1) = (s.sid.as_deref(), s.oidc_providers().count()) {
            statement["Sid"] = json!(sid);
        }
    }
    statements
}
