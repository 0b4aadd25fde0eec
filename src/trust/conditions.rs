//! Evaluates a role's trust policy against a web-identity token's claims the
//! way IAM does for `sts:AssumeRoleWithWebIdentity`, and against an
//! `sts:AssumeRole` request's principal and context, so `verify` can name
//! the broken link even where the test peer (moto) does not evaluate trust.

use serde_json::Value;

use super::document::{Operator, PolicyDocument};

pub use super::document::string_like;

/// The claims that matter, from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity<'a> {
    /// The provider the token is presented through (the token's issuer in the klanker account).
    pub provider_arn: &'a str,
    /// Issuer without scheme: the prefix of the condition keys.
    pub issuer_host_path: &'a str,
    pub sub: &'a str,
    pub aud: &'a [String],
}

/// Why the trust policy does or does not admit the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    Allowed,
    /// No statement names the provider as federated principal for the action.
    ProviderNotTrusted,
    /// A statement names the provider, but a condition fails: the failing
    /// key, what the policy wants and what the token carries.
    ConditionFailed {
        key: String,
        wanted: String,
        actual: String,
    },
    /// A condition this evaluator does not model; IAM might still allow it.
    Unsupported(String),
}

/// Evaluates Allow statements (an explicit Deny is reported as unsupported).
pub fn evaluate(doc: &Value, identity: &WebIdentity<'_>) -> TrustVerdict {
    let doc = PolicyDocument::read(doc);
    // A Deny anywhere overrides every Allow in IAM; not modelled, so flagged
    // whatever its position.
    if doc.statements().any(|s| s.denies()) {
        return TrustVerdict::Unsupported("the trust policy has a Deny statement".into());
    }
    let mut first_failure = None;
    for statement in doc.allowing() {
        if !statement.allows_action("sts:AssumeRoleWithWebIdentity")
            || !statement
                .principal
                .federated
                .iter()
                .any(|p| p == identity.provider_arn)
        {
            continue;
        }
        let operators = statement.condition.as_deref().unwrap_or_default();
        match conditions_hold(operators, identity) {
            Ok(()) => return TrustVerdict::Allowed,
            Err(verdict) => {
                first_failure.get_or_insert(verdict);
            }
        }
    }
    first_failure.unwrap_or(TrustVerdict::ProviderNotTrusted)
}

fn conditions_hold(operators: &[Operator], identity: &WebIdentity<'_>) -> Result<(), TrustVerdict> {
    let sub_key = format!("{}:sub", identity.issuer_host_path);
    let aud_key = format!("{}:aud", identity.issuer_host_path);
    for operator in operators {
        let (like, keys) = operator_keys(operator, false)?;
        for entry in keys {
            let (key, wanted) = (&entry.key, &entry.values);
            let matches = |actual: &str| {
                wanted.iter().any(|w| {
                    if like {
                        string_like(w, actual)
                    } else {
                        w == actual
                    }
                })
            };
            let (ok, actual) = if key == &sub_key {
                (matches(identity.sub), identity.sub.to_string())
            } else if key == &aud_key {
                (
                    identity.aud.iter().any(|a| matches(a)),
                    identity.aud.join(","),
                )
            } else {
                return Err(TrustVerdict::Unsupported(format!("condition key {key}")));
            };
            if !ok {
                return Err(TrustVerdict::ConditionFailed {
                    key: key.clone(),
                    wanted: wanted.0.join(" | "),
                    actual,
                });
            }
        }
    }
    Ok(())
}

/// An `sts:AssumeRole`-family request by an AWS principal or a service,
/// with the request's condition context (keys compared without case, as
/// IAM does).
#[derive(Debug, Clone)]
pub struct RoleRequest<'a> {
    pub action: &'a str,
    /// The calling role's ARN (`aws:PrincipalArn`), when an AWS principal calls.
    pub principal_arn: Option<&'a str>,
    /// A service principal, when a service calls.
    pub service: Option<&'a str>,
    pub context: Vec<(&'a str, &'a str)>,
}

/// Evaluates Allow statements of a role's trust for `request` (a Deny is
/// reported as unsupported): the principal, the action, and every
/// condition against the request's context.
pub fn evaluate_request(doc: &Value, request: &RoleRequest<'_>) -> TrustVerdict {
    let doc = PolicyDocument::read(doc);
    if doc.statements().any(|s| s.denies()) {
        return TrustVerdict::Unsupported("the trust policy has a Deny statement".into());
    }
    let mut first_failure = None;
    for statement in doc.allowing() {
        if !statement.allows_action(request.action)
            || !principal_matches(&statement.principal, request)
        {
            continue;
        }
        let operators = statement.condition.as_deref().unwrap_or_default();
        match context_holds(operators, &request.context) {
            Ok(()) => return TrustVerdict::Allowed,
            Err(verdict) => {
                first_failure.get_or_insert(verdict);
            }
        }
    }
    first_failure.unwrap_or(TrustVerdict::ProviderNotTrusted)
}

/// The statement's principal names the caller: its role, its account (by
/// root ARN or ID), or its service.
fn principal_matches(principal: &super::document::Principal, request: &RoleRequest<'_>) -> bool {
    if principal.any {
        return true;
    }
    if let Some(service) = request.service {
        return principal.service.iter().any(|s| s == service);
    }
    let Some(arn) = request.principal_arn else {
        return false;
    };
    let account = super::arn::account_of(arn).unwrap_or_default();
    let partition = super::arn::partition_of(arn);
    let root = format!("arn:{partition}:iam::{account}:root");
    principal
        .aws
        .iter()
        .any(|p| p == arn || *p == root || p == account)
}

/// Whether the operator compares with wildcards (`*Like`), and its keys;
/// an operator this evaluator does not model is said, never guessed.
/// `arns`: the ARN operators count (an AssumeRole request's context).
fn operator_keys(
    operator: &Operator,
    arns: bool,
) -> Result<(bool, &[super::document::ConditionKey]), TrustVerdict> {
    // IAM's ArnEquals takes wildcards as ArnLike does (each ARN part alike).
    let like = match (operator.name.as_str(), arns) {
        ("StringEquals", _) => false,
        ("StringLike", _) | ("ArnEquals", true) | ("ArnLike", true) => true,
        (other, _) => {
            return Err(TrustVerdict::Unsupported(format!(
                "condition operator {other}"
            )));
        }
    };
    match &operator.keys {
        Some(keys) => Ok((like, keys)),
        None => Err(TrustVerdict::Unsupported(format!(
            "{} is not a map",
            operator.name
        ))),
    }
}

fn context_holds(operators: &[Operator], context: &[(&str, &str)]) -> Result<(), TrustVerdict> {
    for operator in operators {
        let (like, keys) = operator_keys(operator, true)?;
        for entry in keys {
            let actual = context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&entry.key))
                .map(|(_, v)| *v);
            let ok = actual.is_some_and(|actual| {
                entry.values.iter().any(|w| match like {
                    true => string_like(w, actual),
                    false => w == actual,
                })
            });
            if !ok {
                return Err(TrustVerdict::ConditionFailed {
                    key: entry.key.clone(),
                    wanted: entry.values.0.join(" | "),
                    actual: actual.unwrap_or("(not sent)").to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{Issuer, TrustScope, policy::trust_policy};
    use serde_json::json;

    #[test]
    fn string_like_follows_iam_wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "a", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("?", "x", true),
            ("?", "", false),
            ("??", "x", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            (
                "system:serviceaccount:*:km",
                "system:serviceaccount:ai-pods:km",
                true,
            ),
            (
                "system:serviceaccount:*:km",
                "system:serviceaccount:ai-pods:km2",
                false,
            ),
            (
                "system:serviceaccount:*:km",
                "system:serviceaccount::km",
                true,
            ),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
            ("abc", "ABC", false),
            ("a**b", "ab", true),
            ("", "", true),
            ("", "a", false),
            ("*", "*a", true),
            ("a*", "a*b", true),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                string_like(pattern, value),
                expected,
                "{pattern:?} ~ {value:?}"
            );
        }
    }

    const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";

    fn doc(ns: &str) -> Value {
        let issuer = Issuer::parse("https://oidc.example.com/id/A", "x").unwrap();
        trust_policy(PROVIDER, &issuer, &TrustScope::new(ns, "km"))
    }

    fn identity<'a>(sub: &'a str, aud: &'a [String]) -> WebIdentity<'a> {
        WebIdentity {
            provider_arn: PROVIDER,
            issuer_host_path: "oidc.example.com/id/A",
            sub,
            aud,
        }
    }

    #[test]
    fn literal_trust_admits_exactly_its_subject_and_audience() {
        let sts = vec!["sts.amazonaws.com".to_string()];
        assert_eq!(
            evaluate(
                &doc("ai-pods"),
                &identity("system:serviceaccount:ai-pods:km", &sts)
            ),
            TrustVerdict::Allowed
        );
        let wrong_ns = evaluate(
            &doc("ai-pods"),
            &identity("system:serviceaccount:other:km", &sts),
        );
        assert!(
            matches!(&wrong_ns, TrustVerdict::ConditionFailed { key, actual, .. } if key.ends_with(":sub") && actual.contains("other")),
            "{wrong_ns:?}"
        );
        let other_aud = vec!["vault".to_string()];
        let wrong_aud = evaluate(
            &doc("ai-pods"),
            &identity("system:serviceaccount:ai-pods:km", &other_aud),
        );
        assert!(
            matches!(&wrong_aud, TrustVerdict::ConditionFailed { key, .. } if key.ends_with(":aud")),
            "{wrong_aud:?}"
        );
        // A token with several audiences passes if one of them is allowed.
        let several = vec!["vault".to_string(), "sts.amazonaws.com".to_string()];
        assert_eq!(
            evaluate(
                &doc("ai-pods"),
                &identity("system:serviceaccount:ai-pods:km", &several)
            ),
            TrustVerdict::Allowed
        );
    }

    #[test]
    fn wildcard_trust_admits_any_namespace_but_not_another_name() {
        let sts = vec!["sts.amazonaws.com".to_string()];
        assert_eq!(
            evaluate(&doc("*"), &identity("system:serviceaccount:x:km", &sts)),
            TrustVerdict::Allowed
        );
        assert!(matches!(
            evaluate(&doc("*"), &identity("system:serviceaccount:x:other", &sts)),
            TrustVerdict::ConditionFailed { .. }
        ));
    }

    #[test]
    fn another_provider_is_not_trusted() {
        let sts = vec!["sts.amazonaws.com".to_string()];
        let mut id = identity("system:serviceaccount:ai-pods:km", &sts);
        id.provider_arn = "arn:aws:iam::333333333333:oidc-provider/elsewhere";
        assert_eq!(
            evaluate(&doc("ai-pods"), &id),
            TrustVerdict::ProviderNotTrusted
        );
        let wrong_action = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRole"}]});
        assert_eq!(
            evaluate(&wrong_action, &identity("s", &sts)),
            TrustVerdict::ProviderNotTrusted
        );
    }

    #[test]
    fn unmodelled_conditions_and_denies_are_flagged_not_guessed() {
        let sts = vec!["sts.amazonaws.com".to_string()];
        let odd = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": ["sts:AssumeRoleWithWebIdentity"], "Condition": {"StringNotEquals": {"x": "y"}}}]});
        assert!(matches!(
            evaluate(&odd, &identity("s", &sts)),
            TrustVerdict::Unsupported(_)
        ));
        let deny = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]});
        assert!(matches!(
            evaluate(&deny, &identity("s", &sts)),
            TrustVerdict::Unsupported(_)
        ));
        let no_condition = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": [PROVIDER]}, "Action": "sts:*"}});
        assert_eq!(
            evaluate(&no_condition, &identity("s", &sts)),
            TrustVerdict::Allowed
        );
        let not_a_map = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": "x"}}});
        assert_eq!(
            evaluate(&not_a_map, &identity("s", &sts)),
            TrustVerdict::Unsupported("StringEquals is not a map".into())
        );
    }

    #[test]
    fn odd_statements_grant_nothing() {
        let sts = vec!["sts.amazonaws.com".to_string()];
        for doc in [
            json!({"Statement": "nonsense"}),
            json!({"Statement": [{"Effect": "Allow", "Action": "sts:*"}]}),
            json!(null),
        ] {
            assert_eq!(
                evaluate(&doc, &identity("s", &sts)),
                TrustVerdict::ProviderNotTrusted
            );
        }
        let listed = json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": [PROVIDER]}, "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Condition": {"StringEquals": {"oidc.example.com/id/A:sub": ["system:serviceaccount:a:b"], "oidc.example.com/id/A:aud": "sts.amazonaws.com"}}}]});
        assert_eq!(
            evaluate(&listed, &identity("system:serviceaccount:a:b", &sts)),
            TrustVerdict::Allowed
        );
    }
}
