//! A role chain's documents: the klanker role's trust of a cluster role
//! (role B's of role A), the cluster role's one inline policy, and the AWS
//! config file pods read from the ConfigMap. Pure.

use serde_json::{Value, json};

use super::document::PolicyDocument;

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
    PolicyDocument::read(trust_policy).allowing().find_map(|s| {
        s.keys_of("ArnEquals")
            .find(|k| k.key == "aws:PrincipalArn")
            .and_then(|k| k.values.single())
            .map(str::to_string)
    })
}

/// The `Principal.AWS` ARNs the Allow statements of a trust policy name.
pub fn trusted_aws_principals(trust_policy: &Value) -> Vec<String> {
    PolicyDocument::read(trust_policy)
        .allowing()
        .flat_map(|s| s.principal.aws.iter().cloned())
        .collect()
}

/// The role ARNs an inline policy allows `sts:AssumeRole` on.
pub fn assumable_roles(policy: &Value) -> Vec<String> {
    PolicyDocument::read(policy)
        .allowing()
        .filter(|s| s.allows_action("sts:AssumeRole"))
        .flat_map(|s| s.resource.0.clone())
        .collect()
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
        let lone =
            json!({"Statement": {"Effect": "Allow", "Action": "STS:AssumeRole", "Resource": B}});
        assert_eq!(assumable_roles(&lone), vec![B.to_string()]);
        assert!(assumable_roles(&json!({"Statement": "nonsense"})).is_empty());
    }

    #[test]
    fn a_trust_reads_in_either_form_and_a_list_of_role_as_names_none() {
        let listed = json!({"Statement": {"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::222222222222:root"]},
            "Condition": {"ArnEquals": {"aws:PrincipalArn": [A]}}}});
        assert_eq!(trusted_cluster_role(&listed).as_deref(), Some(A));
        assert_eq!(
            trusted_aws_principals(&listed),
            ["arn:aws:iam::222222222222:root"]
        );
        let two = json!({"Statement": [{"Effect": "Allow",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": [A, B]}}}]});
        assert_eq!(trusted_cluster_role(&two), None);
        let no_principal = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]});
        assert!(trusted_aws_principals(&no_principal).is_empty());
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
