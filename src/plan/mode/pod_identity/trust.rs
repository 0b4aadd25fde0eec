//! Pod identity mode's documents: the association role's trust (EKS's
//! service, for this cluster alone) and its one inline policy, and the
//! target role's trust in the klanker account (the association role, with
//! the session tags and the external ID EKS sends).

use serde_json::{Value, json};

use super::names::{
    CLUSTER_TAG_KEY, NAMESPACE_TAG_KEY, SERVICE_ACCOUNT_TAG_KEY, SERVICE_PRINCIPAL,
};
use crate::plan::{EXTERNAL_ID_KEY, ExternalIdPin};
use crate::trust::document::PolicyDocument;

/// The association role's inline policy name.
pub const ASSUME_POLICY_NAME: &str = "klanker-trust-assume-target";

/// The actions EKS needs on the target role: assume it, and tag the session.
pub const TARGET_ACTIONS: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];

/// The association role trusts EKS's Pod Identity service, only on behalf
/// of this cluster (not AWS's unconditioned first example).
pub fn association_trust(cluster_account: &str, cluster_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": SERVICE_PRINCIPAL },
            "Action": TARGET_ACTIONS,
            "Condition": {
                "StringEquals": { "aws:SourceAccount": cluster_account },
                "ArnEquals": { "aws:SourceArn": cluster_arn },
            },
        }]
    })
}

/// The association role's inline policy: exactly assuming and tagging the target role.
pub fn assume_policy(target_role_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": TARGET_ACTIONS,
            "Resource": target_role_arn,
        }]
    })
}

/// What the target role's trust is built from.
pub struct TargetTrust<'a> {
    pub partition: &'a str,
    pub cluster_account: &'a str,
    pub association_role_arn: &'a str,
    pub cluster_arn: &'a str,
    /// EKS tags the session (the default); false with `--disable-session-tags`.
    pub session_tags: bool,
}

impl TargetTrust<'_> {
    /// One statement per ServiceAccount, each pinned to its association's
    /// external ID when known; the pins still to read, for those not known.
    pub fn document(
        &self,
        pairs: &[(String, String, Option<String>)],
    ) -> (Value, Vec<ExternalIdPin>) {
        let mut pins = Vec::new();
        let statements: Vec<Value> = pairs
            .iter()
            .enumerate()
            .map(|(i, (namespace, service_account, external_id))| {
                if external_id.is_none() {
                    pins.push(ExternalIdPin {
                        statement: i,
                        namespace: namespace.clone(),
                        service_account: service_account.clone(),
                    });
                }
                self.statement(namespace, service_account, external_id.as_deref())
            })
            .collect();
        let doc = json!({ "Version": "2012-10-17", "Statement": statements });
        (doc, pins)
    }

    fn statement(
        &self,
        namespace: &str,
        service_account: &str,
        external_id: Option<&str>,
    ) -> Value {
        let mut equals = serde_json::Map::new();
        if self.session_tags {
            equals.insert(CLUSTER_TAG_KEY.into(), json!(self.cluster_arn));
            equals.insert(NAMESPACE_TAG_KEY.into(), json!(namespace));
            equals.insert(SERVICE_ACCOUNT_TAG_KEY.into(), json!(service_account));
        }
        if let Some(id) = external_id {
            equals.insert(EXTERNAL_ID_KEY.into(), json!(id));
        }
        let mut condition = serde_json::Map::new();
        condition.insert(
            "ArnEquals".into(),
            json!({ "aws:PrincipalArn": self.association_role_arn }),
        );
        if !equals.is_empty() {
            condition.insert("StringEquals".into(), Value::Object(equals));
        }
        let actions: &[&str] = match self.session_tags {
            true => &TARGET_ACTIONS,
            false => &TARGET_ACTIONS[..1],
        };
        json!({
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{}:root", self.partition, self.cluster_account) },
            "Action": actions,
            "Condition": condition,
        })
    }
}

/// The `(namespace, ServiceAccount)` pairs a target trust admits by their
/// session tags, with the external ID each statement pins.
pub fn tagged_subjects(trust: &Value) -> Vec<(String, String, Option<String>)> {
    PolicyDocument::read(trust)
        .allowing()
        .filter_map(|s| {
            let single = |key: &str| {
                s.keys_of("StringEquals")
                    .find(|k| k.key == key)
                    .and_then(|k| k.values.single())
                    .map(str::to_string)
            };
            Some((
                single(NAMESPACE_TAG_KEY)?,
                single(SERVICE_ACCOUNT_TAG_KEY)?,
                single(EXTERNAL_ID_KEY),
            ))
        })
        .collect()
}

/// Whether a cluster-account role is an association role: its inline
/// policy is this mode's, or its trust names EKS's Pod Identity service.
pub fn is_association_role(o: &crate::plan::Observed) -> bool {
    o.inline_policies.contains_key(ASSUME_POLICY_NAME)
        || o.role
            .as_ref()
            .is_some_and(|r| trusts_service(&r.trust_policy))
}

/// Whether a trust lets EKS's Pod Identity service in (an association role's).
pub fn trusts_service(trust: &Value) -> bool {
    PolicyDocument::read(trust)
        .allowing()
        .any(|s| s.principal.service.iter().any(|p| p == SERVICE_PRINCIPAL))
}

/// The external ID each statement of a trust pins, in statement order.
pub fn pinned_ids(trust: &Value) -> Vec<Option<String>> {
    PolicyDocument::read(trust)
        .allowing()
        .map(|s| {
            s.keys_of("StringEquals")
                .find(|k| k.key == EXTERNAL_ID_KEY)
                .and_then(|k| k.values.single())
                .map(str::to_string)
        })
        .collect()
}

/// Whether a trust is a target role's: its statements allow `sts:TagSession`
/// or pin an external ID beside the association role.
pub fn is_target_trust(trust: &Value) -> bool {
    PolicyDocument::read(trust).allowing().any(|s| {
        s.allows_action("sts:TagSession")
            || s.keys_of("StringEquals").any(|k| k.key == EXTERNAL_ID_KEY)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";
    const ROLE: &str = "arn:aws:iam::222222222222:role/km-podid-dev";

    fn target(session_tags: bool) -> TargetTrust<'static> {
        TargetTrust {
            partition: "aws",
            cluster_account: "222222222222",
            association_role_arn: ROLE,
            cluster_arn: CLUSTER,
            session_tags,
        }
    }

    #[test]
    fn each_service_account_gets_a_statement_pinned_when_its_id_is_known() {
        let pairs = vec![
            ("ai".to_string(), "km".to_string(), Some("id-1".to_string())),
            ("ai".to_string(), "web".to_string(), None),
        ];
        let (doc, pins) = target(true).document(&pairs);
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"][EXTERNAL_ID_KEY],
            "id-1"
        );
        assert_eq!(
            doc["Statement"][1]["Condition"]["StringEquals"][NAMESPACE_TAG_KEY],
            "ai"
        );
        assert!(
            doc["Statement"][1]["Condition"]["StringEquals"]
                .get(EXTERNAL_ID_KEY)
                .is_none()
        );
        assert_eq!(
            doc["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::222222222222:root"
        );
        assert_eq!(
            doc["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            ROLE
        );
        assert_eq!(
            pins,
            [ExternalIdPin {
                statement: 1,
                namespace: "ai".into(),
                service_account: "web".into()
            }]
        );
        let mut pinned = doc.clone();
        crate::plan::pin_external_id(&mut pinned, 1, "id-2");
        assert_eq!(
            tagged_subjects(&pinned)[1],
            ("ai".into(), "web".into(), Some("id-2".into()))
        );
        assert!(is_target_trust(&doc));
    }

    #[test]
    fn without_session_tags_the_trust_rests_on_the_role_and_the_external_id() {
        let (doc, _) = target(false).document(&[("ai".into(), "km".into(), Some("x".into()))]);
        let statement = &doc["Statement"][0];
        assert_eq!(statement["Action"], json!(["sts:AssumeRole"]));
        assert_eq!(
            statement["Condition"]["StringEquals"],
            json!({ EXTERNAL_ID_KEY: "x" })
        );
        assert!(is_target_trust(&doc));
        // Before its pin, such a statement names the role alone (never a
        // chained trust's shape: that one has a single action as a string).
        let (unpinned, pins) = target(false).document(&[("ai".into(), "km".into(), None)]);
        assert_eq!(pins.len(), 1);
        assert!(
            unpinned["Statement"][0]["Condition"]
                .get("StringEquals")
                .is_none()
        );
    }

    #[test]
    fn the_association_role_trusts_eks_for_this_cluster_only() {
        let doc = association_trust("222222222222", CLUSTER);
        let s = &doc["Statement"][0];
        assert_eq!(s["Principal"]["Service"], SERVICE_PRINCIPAL);
        assert_eq!(
            s["Condition"]["StringEquals"]["aws:SourceAccount"],
            "222222222222"
        );
        assert_eq!(s["Condition"]["ArnEquals"]["aws:SourceArn"], CLUSTER);
        assert_eq!(
            assume_policy("arn:aws:iam::3:role/t")["Statement"][0]["Action"],
            json!(TARGET_ACTIONS)
        );
    }
}
