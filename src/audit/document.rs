//! A trust document as the rules read it. `trust::document` settles IAM's
//! forms (one or many, a lone `Statement`, `Principal`'s shapes); this adds
//! what the rules compare: each statement's position and its conditions one
//! key at a time, lowercased (IAM's keys are case-insensitive), with how
//! their operator compares.

use std::ops::Deref;

use crate::trust::document::{self, PolicyDocument};

/// One statement of a trust document: the typed statement, its position,
/// and its conditions one key at a time as the rules compare them.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in the document's `Statement` list (0 for a lone object);
    /// a malformed entry keeps its place, so the positions are IAM's.
    pub index: usize,
    pub conditions: Vec<Condition>,
    statement: document::Statement,
}

/// The rules read the typed statement's parts (`principal`, `sid`, `raw`,
/// `allows_action`) directly: this view only adds position and conditions.
impl Deref for Statement {
    type Target = document::Statement;

    fn deref(&self) -> &document::Statement {
        &self.statement
    }
}

/// How an operator compares: literally, with `*`/`?` wildcards, or some
/// other way the rules need not tell apart (negations, numbers, dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// StringEquals, StringEqualsIgnoreCase, ArnEquals: a `*` is a literal star.
    Exact,
    /// StringLike, ArnLike: `*` and `?` are wildcards.
    Like,
    /// Anything else: it does not name who may come in.
    Other,
}

/// One key under one operator.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The operator as written (`ForAnyValue:StringEquals`, `StringLikeIfExists`).
    pub operator: String,
    pub compare: Compare,
    /// The key lowercased: IAM's condition keys are case-insensitive.
    pub key: String,
    /// The key as written, for messages and rewritten documents.
    pub key_as_written: String,
    pub values: Vec<String>,
    pub raw_values: serde_json::Value,
}

impl Condition {
    /// Whether the condition narrows its key to the listed values (a
    /// positive string or ARN comparison), so it can name who gets in.
    pub fn narrows(&self) -> bool {
        self.compare != Compare::Other
    }
}

/// Whether a value holds IAM's wildcards.
pub fn has_wildcard(value: &str) -> bool {
    value.contains(['*', '?'])
}

/// The operator's comparison, its set qualifier (`ForAnyValue:`,
/// `ForAllValues:`) and `IfExists` suffix set aside: for the single-valued
/// `sub` and the keys the rules look at, they compare the same way.
pub fn compare_of(operator: &str) -> Compare {
    let base = operator
        .split_once(':')
        .map_or(operator, |(_, rest)| rest)
        .to_ascii_lowercase();
    let base = base.strip_suffix("ifexists").unwrap_or(&base);
    match base {
        "stringequals" | "stringequalsignorecase" | "arnequals" => Compare::Exact,
        "stringlike" | "arnlike" => Compare::Like,
        _ => Compare::Other,
    }
}

fn conditions(s: &document::Statement) -> Vec<Condition> {
    s.condition_keys()
        .map(|(operator, k)| Condition {
            operator: operator.to_string(),
            compare: compare_of(operator),
            key: k.key.to_ascii_lowercase(),
            key_as_written: k.key.clone(),
            values: k.values.0.clone(),
            raw_values: k.raw.clone(),
        })
        .collect()
}

/// Every well-formed statement of the document, in order. A statement that
/// is not an object grants nothing, so no rule has anything to say of it.
pub fn statements(doc: &serde_json::Value) -> Vec<Statement> {
    PolicyDocument::read(doc)
        .statement
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.malformed)
        .map(|(index, statement)| Statement {
            index,
            conditions: conditions(&statement),
            statement,
        })
        .collect()
}

impl Statement {
    /// The conditions on `key` (compared lowercased).
    pub fn on_key<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'s Condition> + 's {
        let key = key.to_ascii_lowercase();
        self.conditions.iter().filter(move |c| c.key == key)
    }

    /// Whether some positive condition narrows a key matching `pred`.
    pub fn narrows_key(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.conditions.iter().any(|c| c.narrows() && pred(&c.key))
    }

    /// The OIDC providers named as `Federated` principals.
    pub fn oidc_providers(&self) -> impl Iterator<Item = &str> {
        self.principal
            .federated
            .iter()
            .map(String::as_str)
            .filter(|p| p.contains(":oidc-provider/"))
    }

    /// `Sid` or position, for messages.
    pub fn label(&self) -> String {
        match self.sid.as_deref() {
            Some(sid) if !sid.is_empty() => format!("statement {} ({sid})", self.index),
            _ => format!("statement {}", self.index),
        }
    }
}

/// The account an AWS principal names when it is an account root
/// (`arn:aws:iam::ID:root` or a bare 12-digit ID), else None.
pub fn root_account(principal: &str) -> Option<&str> {
    let digits = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if digits(principal) {
        return Some(principal);
    }
    let rest = principal.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (service == "iam" && resource == "root" && digits(account)).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lone_statement_lists_and_case_are_read_as_iam_does() {
        let doc = json!({"Statement": {
            "Sid": "One", "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "222222222222"], "Service": "pods.eks.amazonaws.com"},
            "Action": ["STS:AssumeRole", "sts:TagSession"],
            "Condition": {"ForAnyValue:StringEqualsIfExists": {"AWS:PrincipalArn": ["a", "b"]}, "NumericLessThan": {"x": 3}}
        }});
        let all = statements(&doc);
        assert_eq!(all.len(), 1);
        let s = &all[0];
        assert!(
            s.allows() && s.allows_action("sts:assumerole") && s.allows_action("sts:TagSession")
        );
        assert!(!s.allows_action("sts:AssumeRoleWithWebIdentity"));
        assert_eq!(s.label(), "statement 0 (One)");
        let arn: Vec<_> = s.on_key("aws:PrincipalARN").collect();
        assert_eq!(arn.len(), 1);
        assert_eq!(arn[0].compare, Compare::Exact);
        assert_eq!(arn[0].values, ["a", "b"]);
        assert!(s.on_key("x").all(|c| !c.narrows()));
        let roots: Vec<_> = s
            .principal
            .aws
            .iter()
            .filter_map(|p| root_account(p))
            .collect();
        assert_eq!(roots, ["111111111111", "222222222222"]);
    }

    #[test]
    fn operators_compare_exactly_by_pattern_or_otherwise() {
        for (op, want) in [
            ("StringEquals", Compare::Exact),
            ("stringequalsignorecase", Compare::Exact),
            ("ForAllValues:StringEquals", Compare::Exact),
            ("StringLikeIfExists", Compare::Like),
            ("ArnLike", Compare::Like),
            ("StringNotEquals", Compare::Other),
            ("StringNotLike", Compare::Other),
            ("Null", Compare::Other),
        ] {
            assert_eq!(compare_of(op), want, "{op}");
        }
    }

    #[test]
    fn wildcard_actions_and_roots() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:*"}]});
        let s = &statements(&doc)[0];
        assert!(s.principal.any && s.allows_action("sts:AssumeRoleWithWebIdentity"));
        assert_eq!(root_account("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(
            root_account("arn:aws-cn:iam::123456789012:root"),
            Some("123456789012")
        );
        assert_eq!(root_account("12345"), None);
    }
}
