//! A role chain's documents: the klanker role's trust of a cluster role
//! (role B's of role A), the cluster role's one inline policy, and the AWS
//! config file pods read from the ConfigMap. Pure.

use serde_json::{Value, json};

/// The inline policy on role A that lets it assume role B, and nothing else.
pub const ASSUME_POLICY_NAME: &str = "km-assume-klanker";
/// The ConfigMap holding the pods' AWS config file, and its key.
pub const DEFAULT_CONFIG_MAP: &str = "km-aws-config";
pub const CONFIG_MAP_KEY: &str = "config";
/// Where EKS's pod identity webhook mounts the projected ServiceAccount token.
pub const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
/// The profile pods select (`AWS_PROFILE`), and the one it chains from.
pub const KLANKER_PROFILE: &str = "klanker";
pub const CLUSTER_PROFILE: &str = "cluster";

/// Role B's trust: the cluster account's root as Principal, narrowed to
/// role A by `aws:PrincipalArn`. A role ARN used directly as Principal is
/// stored by IAM as the role's unique ID and breaks silently when role A is
/// re-created; the condition form survives that and still admits only role A.
pub fn klanker_trust_policy(
    partition: &str,
    cluster_account: &str,
    cluster_role_arn: &str,
) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{partition}:iam::{cluster_account}:root") },
            "Action": "sts:AssumeRole",
            "Condition": { "ArnEquals": { "aws:PrincipalArn": cluster_role_arn } },
        }]
    })
}

/// Role A's inline policy: `sts:AssumeRole` on role B only.
pub fn assume_policy(klanker_role_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": klanker_role_arn,
        }]
    })
}

/// The cluster role's ARN a klanker role's trust admits, if the document
/// trusts one.
pub fn trusted_cluster_role(trust_policy: &Value) -> Option<String> {
    statements(trust_policy).find_map(|s| {
        let allows = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let arn = s
            .pointer("/Condition/ArnEquals/aws:PrincipalArn")
            .and_then(Value::as_str)?;
        allows.then(|| arn.to_string())
    })
}

/// The `Principal.AWS` ARNs the Allow statements of a trust policy name.
pub fn trusted_aws_principals(trust_policy: &Value) -> Vec<String> {
    statements(trust_policy)
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .flat_map(|s| as_list(s.pointer("/Principal/AWS")))
        .collect()
}

/// A policy element that may be one string or a list of them.
fn as_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The role ARNs an inline policy allows `sts:AssumeRole` on.
pub fn assumable_roles(policy: &Value) -> Vec<String> {
    statements(policy)
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .filter(|s| {
            as_list(s.get("Action"))
                .iter()
                .any(|a| a.eq_ignore_ascii_case("sts:AssumeRole") || a == "sts:*" || a == "*")
        })
        .flat_map(|s| as_list(s.get("Resource")))
        .collect()
}

fn statements(policy: &Value) -> impl Iterator<Item = &Value> {
    let list: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    list.into_iter()
}

/// The AWS config file pods use: profile `klanker` assumes role B from
/// profile `cluster`, which is role A by web identity.
pub fn aws_config(klanker_role_arn: &str, cluster_role_arn: &str, session_name: &str) -> String {
    format!(
        "[profile {KLANKER_PROFILE}]\nrole_arn = {klanker_role_arn}\nsource_profile = {CLUSTER_PROFILE}\nrole_session_name = {session_name}\n\n[profile {CLUSTER_PROFILE}]\nrole_arn = {cluster_role_arn}\nweb_identity_token_file = {TOKEN_FILE}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "arn:aws:iam::222222222222:role/km-irsa-dev";
    const B: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    #[test]
    fn role_b_trusts_the_cluster_account_narrowed_to_role_a() {
        let trust = klanker_trust_policy("aws", "222222222222", A);
        assert_eq!(
            trust["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::222222222222:root"
        );
        assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
        assert_eq!(trusted_cluster_role(&trust).as_deref(), Some(A));
        let web_identity =
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}}]});
        assert_eq!(trusted_cluster_role(&web_identity), None);
    }

    #[test]
    fn role_a_may_assume_role_b_only() {
        let policy = assume_policy(B);
        assert_eq!(assumable_roles(&policy), vec![B.to_string()]);
        let widened = json!({"Statement": {"Effect": "Allow", "Action": ["s3:*", "sts:*"], "Resource": ["*"]}});
        assert_eq!(assumable_roles(&widened), vec!["*".to_string()]);
        let denied =
            json!({"Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": B}]});
        assert!(assumable_roles(&denied).is_empty());
    }

    #[test]
    fn the_config_file_chains_klanker_from_cluster_with_the_token_file() {
        let text = aws_config(B, A, "dev");
        assert!(text.starts_with("[profile klanker]\nrole_arn = arn:aws:iam::333333333333:role/km-cluster-dev\nsource_profile = cluster\nrole_session_name = dev\n"));
        assert!(text.ends_with(&format!(
            "[profile cluster]\nrole_arn = {A}\nweb_identity_token_file = {TOKEN_FILE}\n"
        )));
    }
}
