//! Desired vs observed state -> an ordered list of steps. No I/O: the same
//! plan drives the printed preview, `--dry-run`, the prompt, the JSON output
//! and the "done / failed / not started" report when something breaks.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

pub mod removal;

use crate::store::ClusterEntry;
use crate::trust::{self, MANAGED_BY_TAG, MANAGED_BY_VALUE, STS_AUDIENCE, policy};

/// How `--register-oidc-provider` treats the klanker account's providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterMode {
    /// Reuse the provider if the issuer is registered, else create it.
    Auto,
    /// Create the provider; fail if it is already registered.
    True,
    /// Require an existing provider; never create one.
    False,
}

/// What we want to exist.
#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    pub issuer: trust::Issuer,
    pub provider_arn: String,
    pub provider_tags: BTreeMap<String, String>,
    pub register: RegisterMode,
    pub role_name: String,
    pub role_arn: String,
    pub trust_policy: Value,
    pub max_session: u32,
    pub description: String,
    pub role_tags: BTreeMap<String, String>,
    pub permissions_boundary: Option<String>,
    pub policies: BTreeSet<String>,
    /// None when the ServiceAccount is printed (`-o manifest`), not applied.
    pub cluster: Option<DesiredCluster>,
    pub config_entry: Option<ClusterEntry>,
}

#[derive(Debug, Clone)]
pub struct DesiredCluster {
    pub namespace: String,
    pub create_namespace: bool,
    pub service_account: String,
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// What exists now.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub provider: Option<ObservedProvider>,
    pub role: Option<ObservedRole>,
    pub attached_policies: BTreeSet<String>,
    /// Desired policies that were looked up and do not exist.
    pub missing_policies: BTreeSet<String>,
    pub namespace_exists: bool,
    pub service_account: Option<ObservedServiceAccount>,
    pub config_entry: Option<ClusterEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedProvider {
    pub arn: String,
    pub client_ids: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct ObservedRole {
    pub arn: String,
    pub trust_policy: Value,
    pub max_session: u32,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedServiceAccount {
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// Where a step acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Iam,
    Cluster,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
}

/// The call a step makes. `None` for unchanged steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateProvider {
        url: String,
        client_ids: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    AddProviderClientId {
        arn: String,
        client_id: String,
    },
    CreateRole {
        name: String,
        trust_policy: Value,
        max_session: u32,
        description: String,
        tags: BTreeMap<String, String>,
        permissions_boundary: Option<String>,
    },
    UpdateTrustPolicy {
        role: String,
        trust_policy: Value,
    },
    UpdateRole {
        role: String,
        max_session: u32,
        description: String,
    },
    TagRole {
        role: String,
        tags: BTreeMap<String, String>,
    },
    PutPermissionsBoundary {
        role: String,
        arn: String,
    },
    DeletePermissionsBoundary {
        role: String,
    },
    AttachPolicy {
        role: String,
        arn: String,
    },
    DetachPolicy {
        role: String,
        arn: String,
    },
    CreateNamespace {
        name: String,
    },
    ApplyServiceAccount {
        namespace: String,
        name: String,
        annotations: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    },
    WriteConfigEntry {
        entry: ClusterEntry,
    },
    DeleteInlinePolicy {
        role: String,
        name: String,
    },
    RemoveRoleFromInstanceProfile {
        role: String,
        profile: String,
    },
    DeleteRole {
        role: String,
    },
    DeleteProvider {
        arn: String,
    },
    DeleteServiceAccount {
        namespace: String,
        name: String,
    },
    RemoveConfigEntry {
        name: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub target: Target,
    pub action: Action,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip)]
    pub op: Option<Op>,
}

impl Step {
    pub(crate) fn new(
        target: Target,
        action: Action,
        summary: impl Into<String>,
        op: Option<Op>,
    ) -> Self {
        Self {
            target,
            action,
            summary: summary.into(),
            details: Vec::new(),
            op,
        }
    }

    pub(crate) fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// Reasons the plan cannot be carried out; checked before any write.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "no IAM OIDC provider for issuer {issuer} exists in the klanker account, and --register-oidc-provider=false forbids creating one. Register it first, or use --register-oidc-provider=auto."
    )]
    ProviderMissing { issuer: String },
    #[error(
        "the klanker account already has an OIDC provider for issuer {issuer} ({arn}), and --register-oidc-provider=true asks to create a new one. Use --register-oidc-provider=auto to reuse it."
    )]
    ProviderExists { issuer: String, arn: String },
    #[error(
        "role {role} already exists in the klanker account and was not created by kubectl-klanker-trust (it has no {MANAGED_BY_TAG}={MANAGED_BY_VALUE} tag), so it will not be taken over. Pick another --name or --role-name, or delete or tag that role yourself."
    )]
    RoleNotOwned { role: String },
    #[error(
        "policy {arn} does not exist in the klanker account. Create it first (the shared operator policy is km-operator-policy), or pass the right --policy-arn."
    )]
    PolicyMissing { arn: String },
    #[error(
        "namespace `{namespace}` does not exist in the cluster. Create it, or pass --create-namespace."
    )]
    NamespaceMissing { namespace: String },
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// Steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.op.is_some())
    }

    pub fn is_noop(&self) -> bool {
        self.changes().next().is_none()
    }
}

/// Computes the steps that take `observed` to `desired`, in dependency
/// order: provider, role, policies, namespace, ServiceAccount, local file.
pub fn plan(desired: &Desired, observed: &Observed) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    plan_provider(desired, observed, &mut steps)?;
    plan_role(desired, observed, &mut steps)?;
    plan_policies(desired, observed, &mut steps)?;
    if let Some(cluster) = &desired.cluster {
        plan_cluster(cluster, observed, &mut steps)?;
    }
    if let Some(entry) = &desired.config_entry {
        let (action, op) = match &observed.config_entry {
            Some(existing) if existing == entry => (Action::Unchanged, None),
            Some(_) => (
                Action::Update,
                Some(Op::WriteConfigEntry {
                    entry: entry.clone(),
                }),
            ),
            None => (
                Action::Create,
                Some(Op::WriteConfigEntry {
                    entry: entry.clone(),
                }),
            ),
        };
        let mut step = Step::new(
            Target::Local,
            action,
            format!("km-config.yaml entry {}", entry.name),
            op,
        );
        if let (Some(old), Action::Update) = (&observed.config_entry, action) {
            step = step.with_details(entry_diff(old, entry));
        }
        steps.push(step);
    }
    Ok(Plan { steps })
}

fn plan_provider(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    let issuer = desired.issuer.url();
    match (&observed.provider, desired.register) {
        (None, RegisterMode::False) => return Err(PlanError::ProviderMissing { issuer }),
        (Some(p), RegisterMode::True) => {
            return Err(PlanError::ProviderExists {
                issuer,
                arn: p.arn.clone(),
            });
        }
        (None, _) => steps.push(Step::new(
            Target::Iam,
            Action::Create,
            format!(
                "OIDC provider {} (client ID {STS_AUDIENCE})",
                desired.issuer.host_path()
            ),
            Some(Op::CreateProvider {
                url: issuer,
                client_ids: vec![STS_AUDIENCE.to_string()],
                tags: desired.provider_tags.clone(),
            }),
        )),
        (Some(p), _) => {
            let owner = if p.tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
            {
                "created by this tool"
            } else {
                "pre-existing, never modified except its client IDs"
            };
            if p.client_ids.iter().any(|c| c == STS_AUDIENCE) {
                steps.push(Step::new(
                    Target::Iam,
                    Action::Unchanged,
                    format!("OIDC provider {} ({owner})", p.arn),
                    None,
                ));
            } else {
                steps.push(
                    Step::new(
                        Target::Iam,
                        Action::Update,
                        format!(
                            "OIDC provider {} ({owner}): add client ID {STS_AUDIENCE}",
                            p.arn
                        ),
                        Some(Op::AddProviderClientId {
                            arn: p.arn.clone(),
                            client_id: STS_AUDIENCE.to_string(),
                        }),
                    )
                    .with_details(vec![format!(
                        "client IDs: {:?} + {STS_AUDIENCE}",
                        p.client_ids
                    )]),
                );
            }
        }
    }
    Ok(())
}

fn plan_role(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    let role = desired.role_name.clone();
    let Some(current) = &observed.role else {
        steps.push(
            Step::new(
                Target::Iam,
                Action::Create,
                format!("role {role} (max session {}s)", desired.max_session),
                Some(Op::CreateRole {
                    name: role.clone(),
                    trust_policy: desired.trust_policy.clone(),
                    max_session: desired.max_session,
                    description: desired.description.clone(),
                    tags: desired.role_tags.clone(),
                    permissions_boundary: desired.permissions_boundary.clone(),
                }),
            )
            .with_details(
                desired
                    .permissions_boundary
                    .iter()
                    .map(|b| format!("permissions boundary {b}"))
                    .collect(),
            ),
        );
        return Ok(());
    };
    if current.tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return Err(PlanError::RoleNotOwned { role });
    }
    let mut changed = false;
    if !policy::equivalent(&current.trust_policy, &desired.trust_policy) {
        changed = true;
        steps.push(
            Step::new(
                Target::Iam,
                Action::Update,
                format!("role {role}: trust policy"),
                Some(Op::UpdateTrustPolicy {
                    role: role.clone(),
                    trust_policy: desired.trust_policy.clone(),
                }),
            )
            .with_details(policy::diff_lines(
                &current.trust_policy,
                &desired.trust_policy,
            )),
        );
    }
    if current.max_session != desired.max_session || current.description != desired.description {
        changed = true;
        let mut details = Vec::new();
        if current.max_session != desired.max_session {
            details.push(format!(
                "max session {}s -> {}s",
                current.max_session, desired.max_session
            ));
        }
        if current.description != desired.description {
            details.push(format!(
                "description {:?} -> {:?}",
                current.description, desired.description
            ));
        }
        steps.push(
            Step::new(
                Target::Iam,
                Action::Update,
                format!("role {role}: settings"),
                Some(Op::UpdateRole {
                    role: role.clone(),
                    max_session: desired.max_session,
                    description: desired.description.clone(),
                }),
            )
            .with_details(details),
        );
    }
    // Tags are only added or changed, never removed: others may tag our roles.
    let missing_tags: BTreeMap<String, String> = desired
        .role_tags
        .iter()
        .filter(|(k, v)| current.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !missing_tags.is_empty() {
        changed = true;
        let details = missing_tags
            .iter()
            .map(|(k, v)| match current.tags.get(k) {
                Some(old) => format!("tag {k}: {old:?} -> {v:?}"),
                None => format!("tag {k}={v:?}"),
            })
            .collect();
        steps.push(
            Step::new(
                Target::Iam,
                Action::Update,
                format!("role {role}: tags"),
                Some(Op::TagRole {
                    role: role.clone(),
                    tags: missing_tags,
                }),
            )
            .with_details(details),
        );
    }
    match (&current.permissions_boundary, &desired.permissions_boundary) {
        (old, Some(new)) if old.as_ref() != Some(new) => {
            changed = true;
            steps.push(Step::new(
                Target::Iam,
                Action::Update,
                format!("role {role}: permissions boundary -> {new}"),
                Some(Op::PutPermissionsBoundary {
                    role: role.clone(),
                    arn: new.clone(),
                }),
            ));
        }
        (Some(old), None) => {
            changed = true;
            steps.push(Step::new(
                Target::Iam,
                Action::Update,
                format!("role {role}: remove permissions boundary {old}"),
                Some(Op::DeletePermissionsBoundary { role: role.clone() }),
            ));
        }
        _ => {}
    }
    if !changed {
        steps.push(Step::new(
            Target::Iam,
            Action::Unchanged,
            format!("role {role} ({})", current.arn),
            None,
        ));
    }
    Ok(())
}

fn plan_policies(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    if let Some(arn) = observed.missing_policies.iter().next() {
        return Err(PlanError::PolicyMissing { arn: arn.clone() });
    }
    let role = &desired.role_name;
    for arn in &desired.policies {
        if observed.attached_policies.contains(arn) {
            steps.push(Step::new(
                Target::Iam,
                Action::Unchanged,
                format!("policy {arn} attached"),
                None,
            ));
        } else {
            steps.push(Step::new(
                Target::Iam,
                Action::Create,
                format!("attach policy {arn}"),
                Some(Op::AttachPolicy {
                    role: role.clone(),
                    arn: arn.clone(),
                }),
            ));
        }
    }
    for arn in observed.attached_policies.difference(&desired.policies) {
        steps.push(Step::new(
            Target::Iam,
            Action::Delete,
            format!("detach policy {arn}"),
            Some(Op::DetachPolicy {
                role: role.clone(),
                arn: arn.clone(),
            }),
        ));
    }
    Ok(())
}

fn plan_cluster(
    cluster: &DesiredCluster,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    let ns = &cluster.namespace;
    if !observed.namespace_exists {
        if !cluster.create_namespace {
            return Err(PlanError::NamespaceMissing {
                namespace: ns.clone(),
            });
        }
        steps.push(Step::new(
            Target::Cluster,
            Action::Create,
            format!("namespace {ns}"),
            Some(Op::CreateNamespace { name: ns.clone() }),
        ));
    }
    let sa = format!("ServiceAccount {ns}/{}", cluster.service_account);
    let apply = Some(Op::ApplyServiceAccount {
        namespace: ns.clone(),
        name: cluster.service_account.clone(),
        annotations: cluster.annotations.clone(),
        labels: cluster.labels.clone(),
    });
    let step = match &observed.service_account {
        None => Step::new(Target::Cluster, Action::Create, sa, apply).with_details(
            cluster
                .annotations
                .iter()
                .map(|(k, v)| format!("annotation {k}={v}"))
                .collect(),
        ),
        Some(current) => {
            let mut details = map_diff("annotation", &current.annotations, &cluster.annotations);
            details.extend(map_diff("label", &current.labels, &cluster.labels));
            if details.is_empty() {
                Step::new(Target::Cluster, Action::Unchanged, sa, None)
            } else {
                Step::new(Target::Cluster, Action::Update, sa, apply).with_details(details)
            }
        }
    };
    steps.push(step);
    Ok(())
}

/// Keys of `want` that `have` lacks or holds with another value.
fn map_diff(
    kind: &str,
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> Vec<String> {
    want.iter()
        .filter_map(|(k, v)| match have.get(k) {
            Some(old) if old == v => None,
            Some(old) => Some(format!("{kind} {k}: {old} -> {v}")),
            None => Some(format!("{kind} {k}={v}")),
        })
        .collect()
}

fn entry_diff(old: &ClusterEntry, new: &ClusterEntry) -> Vec<String> {
    let pairs = [
        (
            "oidc_provider_arn",
            &old.oidc_provider_arn,
            &new.oidc_provider_arn,
        ),
        ("namespace", &old.namespace, &new.namespace),
        (
            "service_account",
            &old.service_account,
            &new.service_account,
        ),
        ("role_arn", &old.role_arn, &new.role_arn),
    ];
    pairs
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(k, a, b)| format!("{k}: {a} -> {b}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{Issuer, TrustScope};

    const PROVIDER: &str =
        "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const ROLE_ARN: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";
    const POLICY: &str = "arn:aws:iam::333333333333:policy/km-operator-policy";

    fn owned_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
            (trust::NAME_TAG.to_string(), "dev".to_string()),
        ])
    }

    fn desired(namespace: &str) -> Desired {
        let issuer = Issuer::parse("https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "x").unwrap();
        let scope = TrustScope::new(namespace, "km");
        let sa_ns = if namespace == "*" {
            "default"
        } else {
            namespace
        };
        Desired {
            name: "dev".into(),
            trust_policy: policy::trust_policy(PROVIDER, &issuer, &scope),
            issuer,
            provider_arn: PROVIDER.into(),
            provider_tags: BTreeMap::from([(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into())]),
            register: RegisterMode::Auto,
            role_name: "km-cluster-dev".into(),
            role_arn: ROLE_ARN.into(),
            max_session: 3600,
            description: trust::role_description("dev", &scope, true),
            role_tags: owned_tags(),
            permissions_boundary: None,
            policies: BTreeSet::from([POLICY.to_string()]),
            cluster: Some(DesiredCluster {
                namespace: sa_ns.into(),
                create_namespace: false,
                service_account: "km".into(),
                annotations: BTreeMap::from([
                    (trust::ROLE_ARN_ANNOTATION.into(), ROLE_ARN.into()),
                    (trust::TOKEN_EXPIRATION_ANNOTATION.into(), "3600".into()),
                ]),
                labels: BTreeMap::from([(trust::MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into())]),
            }),
            config_entry: Some(ClusterEntry {
                name: "dev".into(),
                oidc_provider_arn: PROVIDER.replace("333333333333", "222222222222"),
                namespace: namespace.into(),
                service_account: "km".into(),
                role_arn: ROLE_ARN.into(),
            }),
        }
    }

    /// The state right after a successful apply of `d`.
    fn converged(d: &Desired) -> Observed {
        let cluster = d.cluster.as_ref().unwrap();
        Observed {
            provider: Some(ObservedProvider {
                arn: d.provider_arn.clone(),
                client_ids: vec![STS_AUDIENCE.into()],
                tags: d.provider_tags.clone(),
            }),
            role: Some(ObservedRole {
                arn: d.role_arn.clone(),
                trust_policy: d.trust_policy.clone(),
                max_session: d.max_session,
                description: d.description.clone(),
                tags: d.role_tags.clone(),
                permissions_boundary: d.permissions_boundary.clone(),
            }),
            attached_policies: d.policies.clone(),
            missing_policies: BTreeSet::new(),
            namespace_exists: true,
            service_account: Some(ObservedServiceAccount {
                annotations: cluster.annotations.clone(),
                labels: cluster.labels.clone(),
            }),
            config_entry: d.config_entry.clone(),
        }
    }

    fn ops(plan: &Plan) -> Vec<&Op> {
        plan.changes().filter_map(|s| s.op.as_ref()).collect()
    }

    #[test]
    fn fresh_account_creates_everything_in_order() {
        let d = desired("ai-pods");
        let observed = Observed {
            namespace_exists: true,
            ..Observed::default()
        };
        let plan = plan(&d, &observed).unwrap();
        let kinds: Vec<&str> = ops(&plan)
            .iter()
            .map(|op| match op {
                Op::CreateProvider { .. } => "provider",
                Op::CreateRole { .. } => "role",
                Op::AttachPolicy { .. } => "attach",
                Op::ApplyServiceAccount { .. } => "sa",
                Op::WriteConfigEntry { .. } => "config",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["provider", "role", "attach", "sa", "config"]);
        assert!(plan.steps.iter().all(|s| s.action == Action::Create));
    }

    #[test]
    fn converged_state_plans_no_change() {
        for ns in ["ai-pods", "*"] {
            let d = desired(ns);
            let plan = plan(&d, &converged(&d)).unwrap();
            assert!(plan.is_noop(), "{ns}: {:?}", plan.steps);
            assert!(plan.steps.iter().all(|s| s.action == Action::Unchanged));
        }
    }

    #[test]
    fn trust_policy_read_back_in_other_form_is_unchanged() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let mut doc = d.trust_policy.clone();
        doc["Statement"][0]["Action"] = serde_json::json!(["sts:AssumeRoleWithWebIdentity"]);
        observed.role.as_mut().unwrap().trust_policy = doc;
        assert!(plan(&d, &observed).unwrap().is_noop());
    }

    #[test]
    fn changed_namespace_updates_trust_sa_and_config_with_diff() {
        let old = desired("old-ns");
        let new = desired("ai-pods");
        let mut observed = converged(&old);
        observed.service_account = None; // the new namespace has no SA yet
        let plan = plan(&new, &observed).unwrap();
        let trust = plan
            .steps
            .iter()
            .find(|s| matches!(s.op, Some(Op::UpdateTrustPolicy { .. })))
            .unwrap();
        assert!(trust.details.iter().any(|l| l.contains("old-ns")));
        assert!(trust.details.iter().any(|l| l.contains("ai-pods")));
        assert!(
            ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::UpdateRole { .. })),
            "description changes"
        );
        assert!(
            ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::ApplyServiceAccount { .. }))
        );
        let config = plan
            .steps
            .iter()
            .find(|s| s.target == Target::Local)
            .unwrap();
        assert_eq!(config.action, Action::Update);
        assert_eq!(config.details, ["namespace: old-ns -> ai-pods"]);
    }

    #[test]
    fn policies_attach_and_detach() {
        let mut d = desired("ai-pods");
        let mut observed = converged(&d);
        observed.attached_policies = BTreeSet::from(["arn:aws:iam::aws:policy/Old".to_string()]);
        d.policies.insert("arn:aws:iam::aws:policy/New".into());
        let plan = plan(&d, &observed).unwrap();
        let ops = ops(&plan);
        assert!(ops.contains(&&Op::AttachPolicy {
            role: "km-cluster-dev".into(),
            arn: POLICY.into()
        }));
        assert!(ops.contains(&&Op::AttachPolicy {
            role: "km-cluster-dev".into(),
            arn: "arn:aws:iam::aws:policy/New".into()
        }));
        assert!(ops.contains(&&Op::DetachPolicy {
            role: "km-cluster-dev".into(),
            arn: "arn:aws:iam::aws:policy/Old".into()
        }));
    }

    #[test]
    fn missing_policy_is_an_error_before_any_write() {
        let d = desired("ai-pods");
        let observed = Observed {
            missing_policies: BTreeSet::from([POLICY.to_string()]),
            namespace_exists: true,
            ..Observed::default()
        };
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::PolicyMissing { arn: POLICY.into() }
        );
    }

    #[test]
    fn provider_modes() {
        let mut d = desired("ai-pods");
        let fresh = Observed {
            namespace_exists: true,
            ..Observed::default()
        };
        d.register = RegisterMode::False;
        assert!(matches!(
            plan(&d, &fresh),
            Err(PlanError::ProviderMissing { .. })
        ));
        d.register = RegisterMode::True;
        assert!(plan(&d, &fresh).is_ok());
        assert!(matches!(
            plan(&d, &converged(&d)),
            Err(PlanError::ProviderExists { .. })
        ));
        d.register = RegisterMode::False;
        assert!(plan(&d, &converged(&d)).unwrap().is_noop());
    }

    #[test]
    fn reused_provider_without_sts_client_id_gets_it_added() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let provider = observed.provider.as_mut().unwrap();
        provider.client_ids = vec!["other".into()];
        provider.tags.clear();
        let plan = plan(&d, &observed).unwrap();
        assert_eq!(
            ops(&plan),
            [&Op::AddProviderClientId {
                arn: PROVIDER.into(),
                client_id: STS_AUDIENCE.into()
            }]
        );
        assert!(plan.steps[0].summary.contains("pre-existing"));
    }

    #[test]
    fn foreign_role_is_never_taken_over() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        observed.role.as_mut().unwrap().tags.clear();
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::RoleNotOwned {
                role: "km-cluster-dev".into()
            }
        );
    }

    #[test]
    fn missing_namespace_needs_create_namespace() {
        let mut d = desired("ai-pods");
        let mut observed = converged(&d);
        observed.namespace_exists = false;
        observed.service_account = None;
        assert!(matches!(
            plan(&d, &observed),
            Err(PlanError::NamespaceMissing { .. })
        ));
        d.cluster.as_mut().unwrap().create_namespace = true;
        let plan = plan(&d, &observed).unwrap();
        assert!(matches!(
            ops(&plan)[..],
            [Op::CreateNamespace { .. }, Op::ApplyServiceAccount { .. }]
        ));
    }

    #[test]
    fn session_boundary_and_tags_converge() {
        let mut d = desired("ai-pods");
        let mut observed = converged(&d);
        observed
            .role
            .as_mut()
            .unwrap()
            .tags
            .insert("foreign".into(), "kept".into());
        d.max_session = 7200;
        d.permissions_boundary = Some("arn:aws:iam::333333333333:policy/boundary".into());
        d.role_tags.insert("team".into(), "platform".into());
        let plan = plan(&d, &observed).unwrap();
        let ops = ops(&plan);
        assert!(ops.iter().any(|op| matches!(
            op,
            Op::UpdateRole {
                max_session: 7200,
                ..
            }
        )));
        assert!(
            ops.iter()
                .any(|op| matches!(op, Op::PutPermissionsBoundary { .. }))
        );
        assert!(ops.iter().any(|op| matches!(op, Op::TagRole { tags, .. } if tags.len() == 1 && tags["team"] == "platform")));
        let mut back = converged(&d);
        back.role.as_mut().unwrap().permissions_boundary = Some("arn:aws:iam::aws:policy/x".into());
        d.permissions_boundary = None;
        let plan2 = super::plan(&d, &back).unwrap();
        assert!(
            super::tests::ops(&plan2)
                .iter()
                .any(|op| matches!(op, Op::DeletePermissionsBoundary { .. }))
        );
    }

    #[test]
    fn service_account_annotation_drift_is_reapplied() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        observed
            .service_account
            .as_mut()
            .unwrap()
            .annotations
            .insert(
                trust::ROLE_ARN_ANNOTATION.into(),
                "arn:aws:iam::333333333333:role/other".into(),
            );
        let plan = plan(&d, &observed).unwrap();
        let step = plan.changes().next().unwrap();
        assert_eq!(step.target, Target::Cluster);
        assert!(
            step.details[0].contains("role/other -> "),
            "{:?}",
            step.details
        );
    }

    #[test]
    fn manifest_mode_plans_no_cluster_step() {
        let mut d = desired("ai-pods");
        d.cluster = None;
        let plan = plan(&d, &Observed::default()).unwrap();
        assert!(plan.steps.iter().all(|s| s.target != Target::Cluster));
    }
}
