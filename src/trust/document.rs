//! An IAM policy document read once into types, the way IAM reads it: a
//! `Statement` object is a list of one, a string is a list of one almost
//! everywhere, `Principal` is `"*"` or a map of kinds. Every reader of
//! statements, principals, actions and conditions goes through here.
//!
//! Reading never fails: documents come from IAM, hand edits and hostile
//! accounts, and a caller that must report a malformed part (audit) still
//! sees it, as a statement marked `malformed` or a condition operator
//! without keys, in its place.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// IAM's `StringLike`: `*` matches any run of characters (also none), `?`
/// exactly one; everything else literally and case-sensitively.
pub fn string_like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    // Classic wildcard matching with backtracking to the last `*`.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        // A `*` in the pattern is always a wildcard, even facing a literal `*`.
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A policy element that may be one value or a list of them. Numbers and
/// booleans (IAM accepts them as condition values) read as their text;
/// anything else in the list is not a value IAM would store, and is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl OneOrMany {
    fn read(v: &Value) -> Self {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        Self(match v {
            Value::Array(items) => items.iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn first(&self) -> Option<&str> {
        self.iter().next()
    }

    /// The value when there is exactly one (a string or a list of one).
    pub fn single(&self) -> Option<&str> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `Principal` in its forms: `"*"` (and `{"AWS": "*"}`) is `any`; the kinds
/// are read without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub any: bool,
    pub aws: Vec<String>,
    pub federated: Vec<String>,
    pub service: Vec<String>,
}

impl Principal {
    fn read(v: &Value) -> Self {
        match v {
            Value::String(s) if s == "*" => Self {
                any: true,
                ..Self::default()
            },
            Value::Object(map) => {
                let mut out = Self::default();
                for (kind, value) in map {
                    let list = OneOrMany::read(value).0;
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
            _ => Self::default(),
        }
    }
}

/// One operator of a `Condition` block with its keys; `keys` is None when
/// the operator's body is not a map (IAM would reject it; `verify` says so).
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// As written (`StringEquals`, `ForAnyValue:StringLikeIfExists`).
    pub name: String,
    pub keys: Option<Vec<ConditionKey>>,
}

/// One key under one operator, with its values.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionKey {
    /// As written; IAM compares keys without regard to case.
    pub key: String,
    pub values: OneOrMany,
    /// The values as written, for documents rewritten from this one.
    pub raw: Value,
}

/// One statement. `malformed` when the entry is not an object: it reads as
/// granting nothing, but keeps its place (and so the positions of the rest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Option<String>,
    pub principal: Principal,
    pub action: OneOrMany,
    pub resource: OneOrMany,
    /// None when there is no `Condition` map.
    pub condition: Option<Vec<Operator>>,
    pub malformed: bool,
    /// The statement as written, for tools that rewrite it in place.
    pub raw: Value,
}

impl Statement {
    fn read(v: &Value) -> Self {
        let Value::Object(map) = v else {
            return Self {
                malformed: true,
                raw: v.clone(),
                ..Self::default()
            };
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| map.get(k).map(OneOrMany::read).unwrap_or_default();
        Self {
            sid: text("Sid"),
            effect: text("Effect"),
            principal: map
                .get("Principal")
                .map(Principal::read)
                .unwrap_or_default(),
            action: list("Action"),
            resource: list("Resource"),
            condition: map.get("Condition").and_then(conditions),
            malformed: false,
            raw: v.clone(),
        }
    }

    pub fn allows(&self) -> bool {
        self.effect.as_deref() == Some("Allow")
    }

    pub fn denies(&self) -> bool {
        self.effect.as_deref() == Some("Deny")
    }

    /// Whether `Action` covers `action`, as IAM matches: without regard to
    /// case, `*` and `?` as wildcards.
    pub fn allows_action(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.action
            .iter()
            .any(|a| string_like(&a.to_ascii_lowercase(), &action))
    }

    /// Every key of every operator whose body is a map, in document order.
    pub fn condition_keys(&self) -> impl Iterator<Item = (&str, &ConditionKey)> {
        self.condition
            .iter()
            .flatten()
            .filter_map(|op| Some((op.name.as_str(), op.keys.as_ref()?)))
            .flat_map(|(name, keys)| keys.iter().map(move |k| (name, k)))
    }

    /// The keys under exactly this operator (as written).
    pub fn keys_of<'s>(&'s self, operator: &'s str) -> impl Iterator<Item = &'s ConditionKey> {
        self.condition_keys()
            .filter(move |(name, _)| *name == operator)
            .map(|(_, k)| k)
    }
}

fn conditions(v: &Value) -> Option<Vec<Operator>> {
    let map = v.as_object()?;
    Some(
        map.iter()
            .map(|(name, body)| Operator {
                name: name.clone(),
                keys: body.as_object().map(|keys| {
                    keys.iter()
                        .map(|(key, values)| ConditionKey {
                            key: key.clone(),
                            values: OneOrMany::read(values),
                            raw: values.clone(),
                        })
                        .collect()
                }),
            })
            .collect(),
    )
}

/// A policy document: `Version` and its statements, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<Value>,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// Reads a parsed document; anything that is not one reads as no statements.
    pub fn read(doc: &Value) -> Self {
        let statement = match doc.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(Statement::read).collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![Statement::read(one)],
        };
        Self {
            version: doc.get("Version").cloned(),
            statement,
        }
    }

    /// The statements that are objects.
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.statement.iter().filter(|s| !s.malformed)
    }

    /// The Allow statements.
    pub fn allowing(&self) -> impl Iterator<Item = &Statement> {
        self.statements().filter(|s| s.allows())
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::read(&Value::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_or_many_reads_both_forms() {
        let one: PolicyDocument = serde_json::from_value(json!({"Statement": {
            "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:r",
            "Principal": {"Federated": "arn:p"}}}))
        .unwrap();
        let many: PolicyDocument = serde_json::from_value(json!({"Statement": [{
            "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": ["arn:r"],
            "Principal": {"Federated": ["arn:p"]}}]}))
        .unwrap();
        assert_eq!(one.statement[0].action, many.statement[0].action);
        assert_eq!(one.statement[0].principal, many.statement[0].principal);
        assert_eq!(one.statement[0].resource.single(), Some("arn:r"));
        assert!(one.statement[0].allows_action("STS:assumerole"));
    }

    #[test]
    fn odd_shapes_read_as_granting_nothing_and_keep_their_place() {
        let doc = PolicyDocument::read(&json!({"Statement": ["nonsense", {"Effect": "Allow"}]}));
        assert_eq!(doc.statement.len(), 2);
        assert!(doc.statement[0].malformed);
        assert_eq!(doc.statements().count(), 1);
        let lone = PolicyDocument::read(&json!({"Statement": "nonsense"}));
        assert_eq!(lone.statement.len(), 1);
        assert_eq!(lone.statements().count(), 0);
        assert_eq!(
            PolicyDocument::read(&Value::Null),
            PolicyDocument::default()
        );
        let no_principal = PolicyDocument::read(&json!({"Statement": {"Effect": "Allow"}}));
        assert_eq!(no_principal.statement[0].principal, Principal::default());
        assert_eq!(no_principal.statement[0].condition, None);
    }

    #[test]
    fn principals_and_conditions() {
        let doc = PolicyDocument::read(&json!({"Statement": [
            {"Principal": "*", "Condition": {"StringEquals": {"k": ["a", 3, true, {}]}, "Bool": "x"}},
            {"Principal": {"aws": "*", "Service": ["s"]}, "Condition": "x"},
        ]}));
        let (a, b) = (&doc.statement[0], &doc.statement[1]);
        assert!(a.principal.any && b.principal.any);
        assert_eq!(b.principal.service, ["s"]);
        let keys: Vec<_> = a.keys_of("StringEquals").collect();
        assert_eq!(keys[0].values.0, ["a", "3", "true"]);
        let ops = a.condition.as_ref().unwrap();
        assert!(ops.iter().any(|op| op.name == "Bool" && op.keys.is_none()));
        assert_eq!(b.condition, None);
    }
}
