//! The cluster side (`--context`): ServiceAccounts annotated with a role
//! whose trust refuses them, and roles trusting ServiceAccounts that do not
//! exist. Admission is judged by `trust::conditions::evaluate`, the same
//! evaluator `verify` uses.

use super::context::provider_key;
use super::document::{self, Compare, has_wildcard};
use super::web_identity::{Keys, sub_conditions};
use super::{AccountScan, ClusterScan, Finding, FindingId, Fix};
use crate::inventory::RoleSummary;
use crate::trust::conditions::{TrustVerdict, WebIdentity, evaluate};
use crate::trust::policy::STS_AUDIENCE;

/// Every cluster-side finding about the roles of `account`.
pub fn findings(account: &AccountScan, cluster: &ClusterScan) -> Vec<Finding> {
    let mut out = not_admitted(account, cluster);
    out.extend(missing(account, cluster));
    out
}

fn finding(
    account: &AccountScan,
    role: &RoleSummary,
    id: FindingId,
    who: String,
    fix: &str,
) -> Finding {
    Finding {
        id,
        severity: id.severity(),
        broken: id.broken(),
        account: account.account.clone(),
        arn: role.arn.clone(),
        role: Some(role.role_name.clone()),
        statement: None,
        who,
        fix: Fix {
            text: fix.to_string(),
            ..Fix::default()
        },
    }
}

/// The provider for the cluster's issuer in the account, if registered.
fn cluster_provider(account: &AccountScan, cluster: &ClusterScan) -> String {
    cluster
        .issuer
        .provider_arn(&account.partition, &account.account)
}

fn not_admitted(account: &AccountScan, cluster: &ClusterScan) -> Vec<Finding> {
    let provider = cluster_provider(account, cluster);
    let registered = account
        .providers
        .iter()
        .any(|p| provider_key(&p.arn) == provider_key(&provider));
    let audience = vec![STS_AUDIENCE.to_string()];
    let mut out = Vec::new();
    for sa in &cluster.service_accounts {
        let Some(role) = sa
            .role_arn
            .as_deref()
            .and_then(|arn| account.roles.iter().find(|r| r.arn == arn))
        else {
            continue;
        };
        let sub = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
        let identity = WebIdentity {
            provider_arn: &provider,
            issuer_host_path: cluster.issuer.host_path(),
            sub: &sub,
            aud: &audience,
        };
        let why = match evaluate(&role.trust_policy, &identity) {
            TrustVerdict::Allowed if registered => continue,
            TrustVerdict::Allowed => format!(
                "the account has no provider for issuer {}",
                cluster.issuer.host_path()
            ),
            // Conditions this evaluator does not model: not judged, not reported.
            TrustVerdict::Unsupported(_) => continue,
            TrustVerdict::ProviderNotTrusted => format!("no statement trusts {provider}"),
            TrustVerdict::ConditionFailed {
                key,
                wanted,
                actual,
            } => {
                format!("`{key}` must be {wanted}, the token carries {actual}")
            }
        };
        out.push(finding(
            account,
            role,
            FindingId::ServiceAccountNotAdmitted,
            format!(
                "nobody: ServiceAccount {}/{} of context `{}` is annotated with this role, but its trust refuses it ({why})",
                sa.namespace, sa.name, cluster.context
            ),
            "trust that ServiceAccount's subject exactly (`kubectl klanker-trust add` for a role this tool owns), or remove the annotation",
        ));
    }
    out
}

/// Literal subjects of the cluster's issuer that name no ServiceAccount.
fn missing(account: &AccountScan, cluster: &ClusterScan) -> Vec<Finding> {
    let provider = provider_key(&cluster_provider(account, cluster));
    let mut out = Vec::new();
    for role in &account.roles {
        let mut subjects: Vec<(String, String)> = Vec::new();
        for s in document::statements(&role.trust_policy)
            .iter()
            .filter(|s| s.allows())
        {
            for p in s.oidc_providers().filter(|p| provider_key(p) == provider) {
                let Some(keys) = Keys::of(p) else { continue };
                for c in sub_conditions(s, &keys) {
                    let literal = c.compare == Compare::Exact || c.compare == Compare::Like;
                    subjects.extend(
                        c.values
                            .iter()
                            .filter(|v| literal && !has_wildcard(v))
                            .filter_map(|v| {
                                v.strip_prefix("system:serviceaccount:")?.split_once(':')
                            })
                            .map(|(ns, sa)| (ns.to_string(), sa.to_string())),
                    );
                }
            }
        }
        subjects.sort();
        subjects.dedup();
        for (ns, name) in subjects {
            let exists = cluster
                .service_accounts
                .iter()
                .any(|sa| sa.namespace == ns && sa.name == name);
            if !exists {
                out.push(finding(
                    account,
                    role,
                    FindingId::ServiceAccountMissing,
                    format!(
                        "nobody today; whoever can create ServiceAccount {ns}/{name} in context `{}` gets this role",
                        cluster.context
                    ),
                    "drop that subject from the trust if it is no longer used",
                ));
            }
        }
    }
    out
}
