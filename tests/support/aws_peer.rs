//! Seeding and inspecting moto's state in a given account, through the same
//! SDK the tool uses: assume a role in the account with static keys (moto
//! puts calls made with those credentials into that account).

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

pub const CLUSTER_ACCOUNT: &str = "222222222222";
pub const KLANKER_ACCOUNT: &str = "333333333333";

#[derive(Clone)]
pub struct Account {
    pub iam: aws_sdk_iam::Client,
    pub eks: aws_sdk_eks::Client,
}

pub async fn account(moto_url: &str, account: &str) -> Account {
    account_in(moto_url, account, "us-east-1", "aws").await
}

/// An account of another partition (aws-cn, aws-us-gov), seeded the same way.
pub async fn account_in(moto_url: &str, account: &str, region: &str, partition: &str) -> Account {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(kubectl_klanker_trust::aws::http_client())
        .endpoint_url(moto_url)
        .credentials_provider(Credentials::new(
            "AKIDSEED",
            "seed-secret",
            None,
            None,
            "seed",
        ))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&base);
    let creds = sts
        .assume_role()
        .role_arn(format!("arn:{partition}:iam::{account}:role/test-seed"))
        .role_session_name("test-seed")
        .send()
        .await
        .expect("assume seed role")
        .credentials
        .expect("credentials");
    let config = base
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_string()),
                None,
                "seed-assumed",
            )),
        )
        .build();
    Account {
        iam: aws_sdk_iam::Client::new(&config),
        eks: aws_sdk_eks::Client::new(&config),
    }
}

impl Account {
    /// Creates an EKS cluster and returns its issuer URL.
    pub async fn create_cluster(&self, name: &str) -> String {
        self.create_cluster_in(CLUSTER_ACCOUNT, name).await
    }

    /// Creates EKS cluster `name`, its role in `account` (this handle's
    /// account), and returns its issuer URL.
    pub async fn create_cluster_in(&self, account: &str, name: &str) -> String {
        let out = self
            .eks
            .create_cluster()
            .name(name)
            .role_arn(format!("arn:aws:iam::{account}:role/eks-cluster"))
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
            .send()
            .await
            .expect("create EKS cluster");
        out.cluster
            .and_then(|c| c.identity)
            .and_then(|i| i.oidc)
            .and_then(|o| o.issuer)
            .expect("issuer")
    }

    /// Replaces a role's trust policy, as a person editing it by hand would.
    pub async fn set_trust(&self, role: &str, trust: &serde_json::Value) {
        self.iam
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(trust.to_string())
            .send()
            .await
            .expect("update the trust policy");
    }

    pub async fn create_policy(&self, name: &str) -> String {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#;
        self.iam
            .create_policy()
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await
            .expect("create policy")
            .policy
            .and_then(|p| p.arn)
            .expect("policy arn")
    }

    pub async fn create_provider(&self, url: &str, client_ids: &[&str]) -> String {
        self.iam
            .create_open_id_connect_provider()
            .url(url)
            .set_client_id_list(Some(client_ids.iter().map(|s| s.to_string()).collect()))
            .send()
            .await
            .expect("create provider")
            .open_id_connect_provider_arn
            .expect("provider arn")
    }

    pub async fn providers(&self) -> Vec<Provider> {
        let list = self
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .expect("list providers");
        let mut out = Vec::new();
        for arn in list
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
        {
            let got = self
                .iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .expect("get provider");
            out.push(Provider {
                arn: arn.to_string(),
                url: got.url().unwrap_or_default().to_string(),
                client_ids: got.client_id_list().to_vec(),
                tags: got
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            });
        }
        out
    }

    pub async fn role(&self, name: &str) -> Option<Role> {
        let out = self.iam.get_role().role_name(name).send().await.ok()?;
        let role = out.role?;
        let doc = role.assume_role_policy_document().unwrap_or_default();
        let decoded = percent_encoding::percent_decode_str(doc)
            .decode_utf8_lossy()
            .into_owned();
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .expect("list attached")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        Some(Role {
            arn: role.arn().to_string(),
            trust_policy: serde_json::from_str(&decoded).expect("trust policy JSON"),
            max_session: role.max_session_duration().unwrap_or_default(),
            description: role.description().unwrap_or_default().to_string(),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_string),
            attached,
        })
    }

    /// An inline policy of the role, decoded; None when it has none of that name.
    pub async fn inline_policy(&self, role: &str, name: &str) -> Option<serde_json::Value> {
        let out = self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .ok()?;
        let decoded = percent_encoding::percent_decode_str(out.policy_document())
            .decode_utf8_lossy()
            .into_owned();
        Some(serde_json::from_str(&decoded).expect("inline policy JSON"))
    }

    pub async fn create_foreign_role(&self, name: &str) {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .expect("create foreign role");
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub arn: String,
    pub trust_policy: serde_json::Value,
    pub max_session: i32,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub permissions_boundary: Option<String>,
    pub attached: Vec<String>,
}
