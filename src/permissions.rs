//! Pure: the least-privilege IAM policies the two identities need to run
//! this tool, and the Kubernetes RBAC rules its kubeconfig user needs. A
//! unit test scans the AWS modules so a new API call cannot go unlisted.

use serde_json::{Value, json};

/// IAM actions of the klanker operator profile on roles this tool names.
pub const ROLE_ACTIONS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PutRolePermissionsBoundary",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// IAM actions on OIDC providers (tagging is needed to create a tagged provider).
pub const PROVIDER_ACTIONS: &[&str] = &[
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
];

/// Actions that take no resource-level restriction.
pub const UNSCOPED_ACTIONS: &[&str] = &[
    "iam:ListOpenIDConnectProviders",
    "iam:ListRoles",
    "sts:GetCallerIdentity",
];

pub const POLICY_READ_ACTIONS: &[&str] = &["iam:GetPolicy"];

pub const CLUSTER_ACTIONS: &[&str] = &["eks:DescribeCluster"];

/// The klanker operator profile's policy. `account` narrows every ARN
/// (`*` when unknown); roles are limited to the `km-cluster-*` names.
pub fn klanker_policy(account: &str, partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnboardedRoles",
                "Effect": "Allow",
                "Action": ROLE_ACTIONS,
                "Resource": format!("arn:{partition}:iam::{account}:role/km-cluster-*"),
            },
            {
                "Sid": "InstanceProfilesOfOnboardedRoles",
                "Effect": "Allow",
                "Action": ["iam:RemoveRoleFromInstanceProfile"],
                "Resource": format!("arn:{partition}:iam::{account}:instance-profile/*"),
            },
            {
                "Sid": "OidcProviders",
                "Effect": "Allow",
                "Action": PROVIDER_ACTIONS,
                "Resource": format!("arn:{partition}:iam::{account}:oidc-provider/*"),
            },
            {
                "Sid": "AttachablePolicies",
                "Effect": "Allow",
                "Action": POLICY_READ_ACTIONS,
                "Resource": [
                    format!("arn:{partition}:iam::{account}:policy/*"),
                    format!("arn:{partition}:iam::aws:policy/*"),
                ],
            },
            {
                "Sid": "ListingAndIdentity",
                "Effect": "Allow",
                "Action": UNSCOPED_ACTIONS,
                "Resource": "*",
            },
        ]
    })
}

/// The cluster-account identity's policy: read the cluster's issuer.
pub fn cluster_policy(account: &str, region: &str, name: &str, partition: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadClusterIssuer",
            "Effect": "Allow",
            "Action": CLUSTER_ACTIONS,
            "Resource": format!("arn:{partition}:eks:{region}:{account}:cluster/{name}"),
        }]
    })
}

/// RBAC for the kubeconfig user, as a ClusterRole manifest.
pub fn cluster_role_yaml() -> &'static str {
    "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubectl-klanker-trust
rules:
- apiGroups: [\"\"]
  resources: [namespaces]
  verbs: [get, patch]          # patch: --create-namespace (server-side apply)
- apiGroups: [\"\"]
  resources: [serviceaccounts]
  verbs: [get, list, patch, delete]
- apiGroups: [\"\"]
  resources: [serviceaccounts/token]
  verbs: [create]              # verify: TokenRequest
"
}

/// Every action the two policies grant.
pub fn all_actions() -> Vec<&'static str> {
    [
        ROLE_ACTIONS,
        PROVIDER_ACTIONS,
        UNSCOPED_ACTIONS,
        POLICY_READ_ACTIONS,
        CLUSTER_ACTIONS,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `service:Operation` literals in the modules that call AWS.
    fn operations_in_code() -> Vec<String> {
        let sources = [
            include_str!("aws/iam.rs"),
            include_str!("aws/eks.rs"),
            include_str!("aws/mod.rs"),
        ];
        let mut found = Vec::new();
        for source in sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let Some((service, op)) = piece.split_once(':') else {
                    continue;
                };
                if matches!(service, "iam" | "sts" | "eks")
                    && !op.is_empty()
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && op.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    found.push(piece.to_string());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn every_aws_call_in_the_code_is_in_a_policy() {
        let granted = all_actions();
        let calls = operations_in_code();
        assert!(calls.len() >= 20, "the scan found too little: {calls:?}");
        for call in calls {
            // Unsigned: STS checks the token and the trust policy, not the caller's IAM.
            if call == "sts:AssumeRoleWithWebIdentity" {
                continue;
            }
            assert!(
                granted.contains(&call.as_str()),
                "{call} is called but not granted"
            );
        }
    }

    #[test]
    fn policies_are_scoped() {
        let doc = klanker_policy("333333333333", "aws");
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(
            statements[0]["Resource"],
            "arn:aws:iam::333333333333:role/km-cluster-*"
        );
        assert_eq!(
            statements[2]["Resource"],
            "arn:aws:iam::333333333333:oidc-provider/*"
        );
        // Only actions IAM cannot scope get `*`.
        let star: Vec<&Value> = statements.iter().filter(|s| s["Resource"] == "*").collect();
        assert_eq!(star.len(), 1);
        assert_eq!(star[0]["Action"], json!(UNSCOPED_ACTIONS));
        let cluster = cluster_policy("222222222222", "us-east-1", "dev", "aws");
        assert_eq!(
            cluster["Statement"][0]["Resource"],
            "arn:aws:eks:us-east-1:222222222222:cluster/dev"
        );
    }
}
