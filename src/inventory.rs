//! Pure: what `list` and `rm` know from IAM's paginated ListRoles (name,
//! ARN, description, trust policy) plus the provider list and km-config.yaml.
//! No per-role calls are needed to recognise an onboarding.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::store::ClusterEntry;
use crate::trust::{OidcProviderArn, ROLE_DESCRIPTION_PREFIX};

/// A role as ListRoles returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSummary {
    pub role_name: String,
    pub arn: String,
    pub description: String,
    pub trust_policy: Value,
}

/// An onboarding recognised from its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Onboarding {
    pub name: String,
    /// Whether the provider was created by this tool, as the description
    /// recorded it when the role was written (None: not recorded).
    #[serde(skip)]
    pub provider_owned: Option<bool>,
    pub role_name: String,
    pub role_arn: String,
    pub namespace: String,
    pub service_account: String,
    /// Federated principal of the trust policy (the klanker account's provider).
    pub oidc_provider_arn: String,
    pub issuer: String,
}

/// Recognises a role this tool created by its description, and reads the
/// trust scope from the trust policy (what actually grants access).
pub fn onboarding(role: &RoleSummary) -> Option<Onboarding> {
    let rest = role.description.strip_prefix(ROLE_DESCRIPTION_PREFIX)?;
    let rest = rest.strip_prefix(": IRSA trust for cluster ")?;
    let (name, scope) = rest.split_once(" (")?;
    let provider_owned = if scope.ends_with(crate::trust::PROVIDER_OWNED_SUFFIX) {
        Some(true)
    } else if scope.ends_with(crate::trust::PROVIDER_FOREIGN_SUFFIX) {
        Some(false)
    } else {
        None
    };
    let (provider, subject) = trust_principal_and_subject(&role.trust_policy)?;
    let (namespace, service_account) = subject
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')?;
    let issuer = OidcProviderArn::parse(&provider, "provider")
        .map(|p| p.issuer.url())
        .unwrap_or_default();
    Some(Onboarding {
        name: name.to_string(),
        provider_owned,
        role_name: role.role_name.clone(),
        role_arn: role.arn.clone(),
        namespace: namespace.to_string(),
        service_account: service_account.to_string(),
        oidc_provider_arn: provider,
        issuer,
    })
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The first web-identity statement's federated principal and `sub` condition.
fn trust_principal_and_subject(doc: &Value) -> Option<(String, String)> {
    for statement in as_list(&doc["Statement"]) {
        let Some(provider) = as_list(&statement["Principal"]["Federated"])
            .first()
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            continue;
        };
        let conditions = statement["Condition"].as_object()?;
        for op in ["StringEquals", "StringLike"] {
            let Some(map) = conditions.get(op).and_then(Value::as_object) else {
                continue;
            };
            if let Some(sub) = map
                .iter()
                .find(|(k, _)| k.ends_with(":sub"))
                .and_then(|(_, v)| {
                    as_list(v)
                        .first()
                        .and_then(|s| s.as_str())
                        .map(str::to_string)
                })
            {
                return Some((provider, sub));
            }
        }
    }
    None
}

/// Which role belongs to registry name `name`: the one whose description
/// names it, else the one km-config.yaml recorded, else the default name.
/// Callers check the role's ownership tag before changing anything.
pub fn locate(
    name: &str,
    roles: &[RoleSummary],
    entry: Option<&ClusterEntry>,
) -> (Option<Onboarding>, String) {
    let onboarding = roles.iter().filter_map(onboarding).find(|o| o.name == name);
    let role_name = onboarding
        .as_ref()
        .map(|o| o.role_name.clone())
        .or_else(|| entry.and_then(|e| e.role_arn.rsplit('/').next().map(str::to_string)))
        .unwrap_or_else(|| crate::trust::default_role_name(name));
    (onboarding, role_name)
}

/// Every federated principal a trust policy names.
pub fn federated_principals(doc: &Value) -> BTreeSet<String> {
    as_list(&doc["Statement"])
        .into_iter()
        .flat_map(|s| as_list(&s["Principal"]["Federated"]))
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Roles other than `except` whose trust names `provider_arn`.
pub fn roles_trusting<'a>(
    roles: &'a [RoleSummary],
    provider_arn: &str,
    except: &str,
) -> Vec<&'a str> {
    roles
        .iter()
        .filter(|r| {
            r.role_name != except && federated_principals(&r.trust_policy).contains(provider_arn)
        })
        .map(|r| r.role_name.as_str())
        .collect()
}

/// Provider status as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderStatus {
    Owned,
    PreExisting,
    Missing,
}

/// One row of `list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub onboarding: Onboarding,
    pub provider: ProviderStatus,
    pub current: bool,
    pub in_km_config: bool,
}

/// Something `list` noticed that does not add up, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub name: String,
    pub problem: String,
    pub fix: String,
}

/// Joins IAM's view with km-config.yaml. `providers` maps every provider ARN
/// in the account to whether this tool created it.
pub fn inventory(
    onboardings: Vec<Onboarding>,
    providers: &BTreeMap<String, bool>,
    config: &[ClusterEntry],
    current: Option<&str>,
) -> (Vec<Row>, Vec<Drift>) {
    let mut drift = Vec::new();
    let config_names: BTreeSet<&str> = config.iter().map(|e| e.name.as_str()).collect();
    let mut rows: Vec<Row> = onboardings
        .into_iter()
        .map(|o| {
            let provider = match providers.get(&o.oidc_provider_arn) {
                Some(true) => ProviderStatus::Owned,
                Some(false) => ProviderStatus::PreExisting,
                None => ProviderStatus::Missing,
            };
            if provider == ProviderStatus::Missing {
                drift.push(Drift {
                    name: o.name.clone(),
                    problem: format!("role {} trusts {}, which no longer exists", o.role_name, o.oidc_provider_arn),
                    fix: format!("kubectl klanker-trust add --name {} (from that cluster's context) re-creates it", o.name),
                });
            }
            let in_km_config = config_names.contains(o.name.as_str());
            if !in_km_config {
                drift.push(Drift {
                    name: o.name.clone(),
                    problem: "onboarded in IAM but not in this km-config.yaml (added from another workstation?)".into(),
                    fix: format!(
                        "kubectl klanker-trust add --name {} --namespace '{}' --service-account {} records it",
                        o.name, o.namespace, o.service_account
                    ),
                });
            }
            Row {
                current: current == Some(o.name.as_str()),
                onboarding: o,
                provider,
                in_km_config,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.onboarding.name.cmp(&b.onboarding.name));
    let in_iam: BTreeSet<&str> = rows.iter().map(|r| r.onboarding.name.as_str()).collect();
    for entry in config {
        if !in_iam.contains(entry.name.as_str()) {
            drift.push(Drift {
                name: entry.name.clone(),
                problem: format!(
                    "in km-config.yaml but no role {} exists in the klanker account",
                    entry.role_arn
                ),
                fix: format!("kubectl klanker-trust rm {} removes the entry", entry.name),
            });
        }
    }
    (rows, drift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{Issuer, TrustScope, policy, role_description};

    const PROVIDER: &str = "arn:aws:iam::333333333333:oidc-provider/oidc.example.com/id/A";

    fn summary(name: &str, ns: &str, provider: &str) -> RoleSummary {
        let issuer = Issuer::parse("https://oidc.example.com/id/A", "x").unwrap();
        let scope = TrustScope::new(ns, "km");
        RoleSummary {
            role_name: format!("km-cluster-{name}"),
            arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
            description: role_description(name, &scope, true),
            trust_policy: policy::trust_policy(provider, &issuer, &scope),
        }
    }

    fn entry(name: &str) -> ClusterEntry {
        ClusterEntry {
            name: name.into(),
            oidc_provider_arn: PROVIDER.into(),
            namespace: "ns".into(),
            service_account: "km".into(),
            role_arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
        }
    }

    #[test]
    fn reads_provider_ownership_recorded_in_the_description() {
        assert_eq!(
            onboarding(&summary("dev", "ns", PROVIDER))
                .unwrap()
                .provider_owned,
            Some(true)
        );
        let mut foreign = summary("dev", "ns", PROVIDER);
        foreign.description = foreign
            .description
            .replace("created by this tool", "pre-existing");
        assert_eq!(onboarding(&foreign).unwrap().provider_owned, Some(false));
        let mut legacy = summary("dev", "ns", PROVIDER);
        legacy.description =
            "Managed by kubectl-klanker-trust: IRSA trust for cluster dev (ns/km)".into();
        let legacy = onboarding(&legacy).unwrap();
        assert_eq!((legacy.name.as_str(), legacy.provider_owned), ("dev", None));
    }

    #[test]
    fn recognises_literal_and_wildcard_onboardings() {
        let o = onboarding(&summary("dev", "ai-pods", PROVIDER)).unwrap();
        assert_eq!(o.name, "dev");
        assert_eq!(o.namespace, "ai-pods");
        assert_eq!(o.service_account, "km");
        assert_eq!(o.oidc_provider_arn, PROVIDER);
        assert_eq!(o.issuer, "https://oidc.example.com/id/A");
        let w = onboarding(&summary("dev", "*", PROVIDER)).unwrap();
        assert_eq!(w.namespace, "*");
    }

    #[test]
    fn ignores_roles_it_did_not_create_or_cannot_read() {
        let mut foreign = summary("dev", "ns", PROVIDER);
        foreign.description = "some other role".into();
        assert_eq!(onboarding(&foreign), None);
        let mut broken = summary("dev", "ns", PROVIDER);
        broken.trust_policy = serde_json::json!({"Statement": "nonsense"});
        assert_eq!(onboarding(&broken), None);
        let mut no_sub = summary("dev", "ns", PROVIDER);
        no_sub.trust_policy["Statement"][0]["Condition"] = serde_json::json!({"StringEquals": {}});
        assert_eq!(onboarding(&no_sub), None);
    }

    #[test]
    fn locate_prefers_iam_then_km_config_then_the_default_name() {
        let mut custom = summary("dev", "ns", PROVIDER);
        custom.role_name = "custom-role".into();
        let (found, role) = locate("dev", &[custom], None);
        assert_eq!((found.is_some(), role.as_str()), (true, "custom-role"));
        let mut e = entry("dev");
        e.role_arn = "arn:aws:iam::333333333333:role/recorded".into();
        assert_eq!(locate("dev", &[], Some(&e)).1, "recorded");
        assert_eq!(
            locate("dev", &[], None),
            (None, "km-cluster-dev".to_string())
        );
    }

    #[test]
    fn trusting_roles_excludes_the_one_being_removed() {
        let roles = vec![
            summary("a", "ns", PROVIDER),
            summary("b", "ns", PROVIDER),
            summary("c", "ns", "arn:other"),
        ];
        assert_eq!(
            roles_trusting(&roles, PROVIDER, "km-cluster-a"),
            ["km-cluster-b"]
        );
        assert!(roles_trusting(&roles[..1], PROVIDER, "km-cluster-a").is_empty());
    }

    #[test]
    fn federated_principals_accepts_lists_and_objects() {
        let doc = serde_json::json!({"Statement": {"Principal": {"Federated": ["x", "y"]}}});
        assert_eq!(
            federated_principals(&doc),
            BTreeSet::from(["x".to_string(), "y".to_string()])
        );
        assert!(federated_principals(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn inventory_marks_current_provider_status_and_drift() {
        let onboardings = vec![
            onboarding(&summary("b", "ns", PROVIDER)).unwrap(),
            onboarding(&summary(
                "a",
                "ns",
                "arn:aws:iam::333333333333:oidc-provider/gone.example.com",
            ))
            .unwrap(),
        ];
        let providers = BTreeMap::from([(PROVIDER.to_string(), true)]);
        let config = vec![entry("b"), entry("stale")];
        let (rows, drift) = inventory(onboardings, &providers, &config, Some("b"));
        assert_eq!(
            rows.iter()
                .map(|r| r.onboarding.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(rows[0].provider, ProviderStatus::Missing);
        assert!(!rows[0].current && rows[1].current);
        assert_eq!(rows[1].provider, ProviderStatus::Owned);
        assert!(rows[1].in_km_config && !rows[0].in_km_config);
        let problems: Vec<(&str, &str)> = drift
            .iter()
            .map(|d| (d.name.as_str(), d.fix.as_str()))
            .collect();
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "a" && f.contains("add --name a") && f.contains("re-creates"))
        );
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "a" && f.contains("records it"))
        );
        assert!(
            problems
                .iter()
                .any(|(n, f)| *n == "stale" && f.contains("rm stale"))
        );
        assert_eq!(drift.len(), 3);
        let preexisting = BTreeMap::from([(PROVIDER.to_string(), false)]);
        let (rows, _) = inventory(
            vec![onboarding(&summary("b", "ns", PROVIDER)).unwrap()],
            &preexisting,
            &[],
            None,
        );
        assert_eq!(rows[0].provider, ProviderStatus::PreExisting);
    }
}
