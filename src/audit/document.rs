//! A trust document read the way IAM reads it, for the rules: statements
//! with their principals, actions and conditions. IAM accepts a string or a
//! list almost everywhere, compares condition keys and actions without
//! regard to case, and reads a `Statement` object as a list of one; all of
//! that is settled here, once, so the rules see one shape.

use serde_json::Value;

use crate::trust::conditions::string_like;

/// One statement of a trust document.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    /// Position in the document's `Statement` list (0 for a lone object).
    pub index: usize,
    pub sid: Option<&'a str>,
    pub allow: bool,
    pub principals: Principals,
    /// The actions, lowercased (IAM matches actions case-insensitively).
    pub actions: Vec<String>,
    pub conditions: Vec<Condition>,
    pub raw: &'a Value,
}

/// `Principal` in its three forms; `"*"` is `any`.
#[derive(Debug, Clone, Default)]
pub struct Principals {
    pub any: bool,
    pub federated: Vec<String>,
    pub aws: Vec<String>,
    pub service: Vec<String>,
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
    pub raw_values: Value,
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

/// A policy element that may be one value or a list of them.
pub fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn strings(v: &Value) -> Vec<String> {
    as_list(v)
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
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

fn principals(v: &Value) -> Principals {
    match v {
        Value::String(s) if s == "*" => Principals {
            any: true,
            ..Principals::default()
        },
        Value::Object(map) => {
            let mut out = Principals::default();
            for (kind, value) in map {
                let list = strings(value);
                match kind.to_ascii_lowercase().as_str() {
                    "federated" => out.federated.extend(list),
                    "aws" => {
                        out.any |= list.iter().any(|p| p == "*");
                        out.aws.extend(list);
                    }
                    "service" => out.service.extend(list),
                    _ => {}
                }
            }
            out
        }
        _ => Principals::default(),
    }
}

fn conditions(v: &Value) -> Vec<Condition> {
    let Some(map) = v.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(operator, keys)| Some((operator, keys.as_object()?)))
        .flat_map(|(operator, keys)| {
            keys.iter().map(move |(key, values)| Condition {
                operator: operator.clone(),
                compare: compare_of(operator),
                key: key.to_ascii_lowercase(),
                key_as_written: key.clone(),
                values: strings(values),
                raw_values: values.clone(),
            })
        })
        .collect()
}

/// Every statement of the document, in order.
pub fn statements(doc: &Value) -> Vec<Statement<'_>> {
    as_list(&doc["Statement"])
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.is_object())
        .map(|(index, s)| Statement {
            index,
            sid: s.get("Sid").and_then(Value::as_str),
            allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
            principals: principals(&s["Principal"]),
            actions: strings(&s["Action"])
                .into_iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            conditions: conditions(&s["Condition"]),
            raw: s,
        })
        .collect()
}

impl Statement<'_> {
    /// Whether the statement's `Action` covers `action` (wildcards included).
    pub fn allows_action(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.actions.iter().any(|a| string_like(a, &action))
    }

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
        self.principals
            .federated
            .iter()
            .map(String::as_str)
            .filter(|p| p.contains(":oidc-provider/"))
    }

    /// `Sid` or position, for messages.
    pub fn label(&self) -> String {
        match self.sid {
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
        assert!(s.allow && s.allows_action("sts:assumerole") && s.allows_action("sts:TagSession"));
        assert!(!s.allows_action("sts:AssumeRoleWithWebIdentity"));
        assert_eq!(s.label(), "statement 0 (One)");
        let arn: Vec<_> = s.on_key("aws:PrincipalARN").collect();
        assert_eq!(arn.len(), 1);
        assert_eq!(arn[0].compare, Compare::Exact);
        assert_eq!(arn[0].values, ["a", "b"]);
        assert!(s.on_key("x").all(|c| !c.narrows()));
        let roots: Vec<_> = s
            .principals
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
        assert!(s.principals.any && s.allows_action("sts:AssumeRoleWithWebIdentity"));
        assert_eq!(root_account("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(
            root_account("arn:aws-cn:iam::123456789012:root"),
            Some("123456789012")
        );
        assert_eq!(root_account("12345"), None);
    }
}
