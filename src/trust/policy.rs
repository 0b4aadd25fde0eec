//! The IRSA trust policy: what `add` writes and how a document read back from
//! IAM is compared with it.

use serde_json::{Value, json};

use super::arn::Issuer;

/// The audience IRSA tokens carry and the provider's client ID.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// Which ServiceAccount tokens may assume the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustScope {
    /// `None` is the wildcard `*`: any namespace.
    pub namespace: Option<String>,
    pub service_account: String,
}

impl TrustScope {
    pub fn new(namespace: &str, service_account: &str) -> Self {
        Self {
            namespace: (namespace != "*").then(|| namespace.to_string()),
            service_account: service_account.to_string(),
        }
    }

    /// The token `sub` claim this scope admits.
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace.as_deref().unwrap_or("*"),
            self.service_account
        )
    }

    /// Any wildcard in the subject: then `sub` needs StringLike.
    pub fn is_wildcard(&self) -> bool {
        self.namespace.is_none() || self.service_account_is_wildcard()
    }

    pub fn service_account_is_wildcard(&self) -> bool {
        self.service_account.contains(['*', '?'])
    }

    pub fn namespace_label(&self) -> &str {
        self.namespace.as_deref().unwrap_or("*")
    }
}

/// The trust policy: only tokens from `issuer` (through the provider
/// `provider_arn`) with exactly this `sub` and `aud` may assume the role.
/// `StringLike` only when the namespace is a wildcard; `aud` is always exact.
pub fn trust_policy(provider_arn: &str, issuer: &Issuer, scope: &TrustScope) -> Value {
    trust_policy_for(provider_arn, issuer, std::slice::from_ref(scope))
}

/// The trust policy for several ServiceAccounts: exact subjects in one
/// `StringEquals` list, wildcard ones in `StringLike`. IAM ANDs the
/// operators of one statement, so when both kinds are asked for each gets
/// its own statement, both with the exact `aud`. One subject gives exactly
/// [`trust_policy`]'s document.
pub fn trust_policy_for(provider_arn: &str, issuer: &Issuer, scopes: &[TrustScope]) -> Value {
    let sub_key = format!("{}:sub", issuer.host_path());
    let aud_key = format!("{}:aud", issuer.host_path());
    // A single value stays a string, as IAM's own examples (and earlier versions) write it.
    let subjects = |wild: bool| -> Option<Value> {
        let subs: Vec<Value> = scopes
            .iter()
            .filter(|s| s.is_wildcard() == wild)
            .map(|s| Value::String(s.subject()))
            .collect();
        match subs.len() {
            0 => None,
            1 => subs.into_iter().next(),
            _ => Some(Value::Array(subs)),
        }
    };
    let statement = |condition: Value| {
        json!({
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        })
    };
    let mut statements = Vec::new();
    if let Some(exact) = subjects(false) {
        statements.push(statement(json!({
            "StringEquals": { sub_key.clone(): exact, aud_key.clone(): STS_AUDIENCE },
        })));
    }
    if let Some(wild) = subjects(true) {
        statements.push(statement(json!({
            "StringEquals": { aud_key.clone(): STS_AUDIENCE },
            "StringLike": { sub_key.clone(): wild },
        })));
    }
    json!({
        "Version": "2012-10-17",
        "Statement": statements,
    })
}

/// IAM's default quota for a role trust policy (ACLSizePerRole), in
/// characters without whitespace; a quota increase raises it to 4,096 or 8,192.
pub const DEFAULT_MAX_TRUST_POLICY_SIZE: usize = 2048;
/// The highest that quota can be raised to.
pub const MAX_TRUST_POLICY_QUOTA: usize = 8192;

/// A policy's size as IAM counts it against the quota: its characters,
/// whitespace not counted.
pub fn policy_size(doc: &Value) -> usize {
    doc.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Error reading a policy document back from IAM.
#[derive(Debug, thiserror::Error)]
#[error("the policy document IAM returned is not JSON: {0}")]
pub struct PolicyDocumentError(String);

/// IAM returns policy documents URL-encoded (RFC 3986); some peers return them plain.
pub fn decode_policy_document(raw: &str) -> Result<Value, PolicyDocumentError> {
    let trimmed = raw.trim_start();
    let text = if trimmed.starts_with('{') {
        raw.to_string()
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|e| PolicyDocumentError(e.to_string()))?
            .into_owned()
    };
    serde_json::from_str(&text).map_err(|e| PolicyDocumentError(e.to_string()))
}

/// Canonical form for comparing policy documents: IAM treats a one-element
/// array and a bare string alike, and `Statement` may be an object.
pub fn normalize(doc: &Value) -> Value {
    match doc {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => {
            let mut out: Vec<Value> = items.iter().map(normalize).collect();
            // Order of values in a condition or action list carries no meaning.
            out.sort_by_key(|v| v.to_string());
            Value::Array(out)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// True when the two documents grant the same thing, ignoring formatting.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

/// A line diff (`- old` / `+ new`) of two documents, for the plan.
pub fn diff_lines(old: &Value, new: &Value) -> Vec<String> {
    let old = serde_json::to_string_pretty(&normalize(old)).unwrap_or_default();
    let new = serde_json::to_string_pretty(&normalize(new)).unwrap_or_default();
    similar::TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .filter_map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => return None,
            };
            Some(format!("{sign} {}", change.value().trim_end()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer::parse("https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "x").unwrap()
    }
    const PROVIDER: &str =
        "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";

    #[test]
    fn literal_namespace_uses_string_equals_for_sub_and_aud() {
        let doc = trust_policy(PROVIDER, &issuer(), &TrustScope::new("ai-pods", "km"));
        let expected = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ai-pods:km",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"
                }}
            }]
        });
        assert_eq!(doc, expected);
    }

    #[test]
    fn wildcard_namespace_uses_string_like_only_for_sub() {
        let doc = trust_policy(PROVIDER, &issuer(), &TrustScope::new("*", "km"));
        let cond = &doc["Statement"][0]["Condition"];
        assert_eq!(
            cond["StringLike"],
            json!({"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:*:km"})
        );
        assert_eq!(
            cond["StringEquals"],
            json!({"oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"})
        );
        assert_eq!(cond.as_object().unwrap().len(), 2);
    }

    #[test]
    fn wildcard_service_account_uses_string_like() {
        let doc = trust_policy(PROVIDER, &issuer(), &TrustScope::new("ai-pods", "*"));
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringLike"],
            json!({"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ai-pods:*"})
        );
        assert!(TrustScope::new("ai-pods", "km-?").is_wildcard());
        assert!(!TrustScope::new("ai-pods", "km").is_wildcard());
    }

    #[test]
    fn scope_subject_and_labels() {
        let s = TrustScope::new("*", "km");
        assert!(s.is_wildcard());
        assert_eq!(s.namespace_label(), "*");
        assert_eq!(
            TrustScope::new("ns", "sa").subject(),
            "system:serviceaccount:ns:sa"
        );
    }

    #[test]
    fn decodes_url_encoded_and_plain_documents() {
        let doc = trust_policy(PROVIDER, &issuer(), &TrustScope::new("ai-pods", "km"));
        let text = doc.to_string();
        let encoded =
            percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(decode_policy_document(&encoded).unwrap(), doc);
        assert_eq!(decode_policy_document(&text).unwrap(), doc);
        assert!(decode_policy_document("not json").is_err());
        assert!(decode_policy_document("%7Bbroken").is_err());
    }

    #[test]
    fn equivalence_ignores_array_wrapping_and_order() {
        let a = json!({"Statement": {"Action": "sts:AssumeRoleWithWebIdentity", "X": ["b", "a"]}});
        let b =
            json!({"Statement": [{"Action": ["sts:AssumeRoleWithWebIdentity"], "X": ["a", "b"]}]});
        assert!(equivalent(&a, &b));
        let c = json!({"Statement": [{"Action": ["sts:AssumeRole"], "X": ["a", "b"]}]});
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn diff_shows_the_changed_subject() {
        let old = trust_policy(PROVIDER, &issuer(), &TrustScope::new("old-ns", "km"));
        let new = trust_policy(PROVIDER, &issuer(), &TrustScope::new("ai-pods", "km"));
        let lines = diff_lines(&old, &new);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('-') && l.contains("old-ns")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('+') && l.contains("ai-pods")),
            "{lines:?}"
        );
        assert!(diff_lines(&new, &new).is_empty());
    }

    fn scopes(subjects: &[(&str, &str)]) -> Vec<TrustScope> {
        subjects
            .iter()
            .map(|(ns, sa)| TrustScope::new(ns, sa))
            .collect()
    }

    #[test]
    fn several_exact_subjects_are_one_string_equals_list() {
        let many = scopes(&[("ai-pods", "a"), ("ai-pods", "b"), ("other", "c")]);
        let doc = trust_policy_for(PROVIDER, &issuer(), &many);
        let expected = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": [
                        "system:serviceaccount:ai-pods:a",
                        "system:serviceaccount:ai-pods:b",
                        "system:serviceaccount:other:c"
                    ],
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"
                }}
            }]
        });
        assert_eq!(doc, expected);
        // One subject: exactly the single-ServiceAccount document.
        let one = scopes(&[("ai-pods", "km")]);
        assert_eq!(
            trust_policy_for(PROVIDER, &issuer(), &one),
            trust_policy(PROVIDER, &issuer(), &one[0])
        );
    }

    #[test]
    fn exact_and_wildcard_subjects_get_a_statement_each_both_with_aud() {
        let mixed = scopes(&[("ai-pods", "a"), ("ai-pods", "ci-*"), ("*", "km")]);
        let doc = trust_policy_for(PROVIDER, &issuer(), &mixed);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{doc}");
        let sub = "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub";
        let aud = "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud";
        assert_eq!(
            statements[0]["Condition"],
            json!({"StringEquals": {sub: "system:serviceaccount:ai-pods:a", aud: STS_AUDIENCE}})
        );
        assert_eq!(
            statements[1]["Condition"],
            json!({
                "StringEquals": {aud: STS_AUDIENCE},
                "StringLike": {sub: ["system:serviceaccount:ai-pods:ci-*", "system:serviceaccount:*:km"]}
            })
        );
        for s in statements {
            assert_eq!(s["Principal"]["Federated"], PROVIDER);
            assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
        }
    }

    #[test]
    fn the_size_is_counted_without_whitespace() {
        assert_eq!(policy_size(&json!({"a": "b c"})), 10);
        let doc = trust_policy(PROVIDER, &issuer(), &TrustScope::new("ai-pods", "km"));
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        assert_eq!(
            policy_size(&doc),
            pretty.chars().filter(|c| !c.is_whitespace()).count()
        );
    }
}
