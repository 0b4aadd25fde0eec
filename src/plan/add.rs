//! What `add` plans the same way in every mode: the klanker account's role
//! (its tags, description, policies and trust), the cluster's
//! ServiceAccounts and km-config.yaml's entry. A mode supplies what differs
//! (`KlankerSide`) and adds its own steps around these.

use std::collections::{BTreeMap, BTreeSet};

use super::snapshot::{AddSnapshot, Resolved};
use super::{
    Desired, DesiredCluster, DesiredConfigMap, ObservedProvider, ObservedRole, Plan, PlanError,
    Target,
};
use crate::inventory;
use crate::resolve::add::AddRequest;
use crate::store::ClusterEntry;
use crate::trust::{
    self, Identity, Issuer, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG,
    ROLE_ARN_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION, validate,
};

/// The plan of one `add`, with what rendering and verification need.
#[derive(Debug, Clone)]
pub struct AddPlan {
    pub desired: Desired,
    pub plan: Plan,
    /// The plan's warnings, then those of the request itself (wide trusts).
    pub warnings: Vec<String>,
    pub account: String,
    pub partition: String,
    /// Whether an existing provider is reused (said when `auto` decided).
    pub reuses_provider: Option<String>,
    /// The ServiceAccount's annotations and labels, applied or (with
    /// `-o manifest`) printed.
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// The mode's cluster role, its account, and the ConfigMap pods read.
    pub cluster_role_arn: Option<String>,
    pub cluster_account: Option<String>,
    pub config_map: Option<DesiredConfigMap>,
    /// The cluster role trusts the cluster account's OIDC provider (which
    /// `add` ensures there).
    pub cluster_provider: bool,
}

impl AddPlan {
    /// The policy the after-apply checks look for on the klanker role: the
    /// operator policy when it is attached, else the first of those asked for.
    pub fn checked_policy(&self) -> String {
        let operator = trust::operator_policy_arn(&self.partition, &self.account);
        let policies = &self.desired.policies;
        Some(&operator)
            .filter(|p| policies.contains(*p))
            .or_else(|| policies.iter().next())
            .cloned()
            .unwrap_or_default()
    }
}

/// What the klanker side's plan differs in between the modes.
pub struct KlankerSide {
    pub trust_policy: serde_json::Value,
    pub description: String,
    /// The role the ServiceAccount is annotated with (the cluster role, when
    /// the mode has one); None when the mode annotates none.
    pub annotated_role: Option<String>,
    /// The provider the trust rests on (the cluster account's, for a cluster role).
    pub provider_arn: String,
    pub config_map: Option<DesiredConfigMap>,
    pub cluster_role_arn: Option<String>,
    /// km-config.yaml's `oidc_provider_arn`.
    pub entry_provider_arn: String,
    /// The mode's own tags on the klanker role, beside the tool's.
    pub tags: BTreeMap<String, String>,
}

/// The policies the role gets: `--policy-arn`s, else the operator policy.
pub fn policy_arns(req: &AddRequest, identity: &Identity) -> BTreeSet<String> {
    if req.policy_arns.is_empty() {
        BTreeSet::from([trust::operator_policy_arn(
            &identity.partition,
            &identity.account,
        )])
    } else {
        req.policy_arns.iter().cloned().collect()
    }
}

/// The provider the role trusts. A reused provider is named by its own
/// ARN: IAM may have registered it with another spelling of the issuer
/// (a trailing slash).
pub fn provider_arn(
    provider: Option<&ObservedProvider>,
    issuer: &Issuer,
    identity: &Identity,
) -> String {
    provider
        .map(|p| p.arn.clone())
        .unwrap_or_else(|| issuer.provider_arn(&identity.partition, &identity.account))
}

/// Providers of the account the role trusts besides `desired` (for
/// `--replace-issuer`).
pub fn other_trusted_providers(
    role: Option<&ObservedRole>,
    desired: &str,
    provider_arns: &[String],
) -> Vec<String> {
    role.map(|r| inventory::federated_principals(&r.trust_policy))
        .unwrap_or_default()
        .into_iter()
        .filter(|arn| arn != desired && provider_arns.contains(arn))
        .collect()
}

/// The ServiceAccounts the role trusted until now and no longer will: the
/// trust moves, or one is dropped from the list (wildcards name no
/// ServiceAccount to release).
pub fn previous_subjects(req: &AddRequest, role: Option<&ObservedRole>) -> Vec<(String, String)> {
    let wanted = req.service_accounts();
    role.map(|r| inventory::trusted_subjects(&r.trust_policy))
        .unwrap_or_default()
        .into_iter()
        .filter(|(ns, sa)| {
            !ns.contains(['*', '?'])
                && !sa.contains(['*', '?'])
                && !wanted.iter().any(|(wns, wsa)| wns == ns && wsa == sa)
        })
        .collect()
}

/// The trust policy fits IAM's quota (`limit`, characters without
/// whitespace): checked here, before any write, as moto accepts any size.
pub fn check_trust_size(
    doc: &serde_json::Value,
    subjects: usize,
    limit: &super::quota::Quota,
) -> Result<(), PlanError> {
    let size = trust::policy::policy_size(doc);
    if size > limit.value {
        return Err(PlanError::TrustPolicyTooLarge {
            subjects,
            size,
            limit: limit.clone(),
        });
    }
    Ok(())
}

/// A trust within 10% of the quota (`limit`, characters without whitespace):
/// said before it is written, as `audit` reports it (trust-near-quota), since
/// the next ServiceAccount will not fit.
pub fn near_quota(doc: &serde_json::Value, limit: usize) -> Option<String> {
    let size = trust::policy::policy_size(doc);
    (size * 10 >= limit * 9).then(|| {
        format!(
            "the trust policy will be {size} of {limit} characters (whitespace not counted): the next ServiceAccount will not fit, and `audit` reports it (trust-near-quota). Raise the role trust policy quota (L-C07B4B0D) to 4096 or 8192 and pass --max-trust-policy-size, or split the ServiceAccounts across onboardings."
        )
    })
}

/// The klanker account, the cluster and km-config.yaml, in either mode:
/// the account is the right one, then the desired state, then the steps.
pub fn plan_klanker(
    req: &AddRequest,
    snap: &AddSnapshot,
    side: KlankerSide,
) -> Result<AddPlan, PlanError> {
    let identity = &snap.identity;
    let issuer = &snap.issuer.issuer;
    req.klanker.check_account(
        &identity.account,
        snap.config.klanker_account().as_deref(),
        snap.issuer
            .cluster_account
            .as_deref()
            .or(req.context.eks.account.as_deref()),
    )?;
    let observed = &snap.observed;
    // Through a cluster role, the klanker role trusts no provider of its own.
    let via_cluster_role = side.cluster_role_arn.is_some();
    let role_arn = trust::role_arn(&identity.partition, &identity.account, &req.role_name);
    let mut role_tags = role_tags(req, &snap.issuer);
    if let Some(cm) = &side.config_map {
        role_tags.insert(trust::CONFIG_MAP_TAG.into(), cm.name.clone());
    }
    role_tags.extend(side.tags.clone());
    if let Some(existing) = &observed.role {
        validate::merged_tag_count(existing.tags.keys(), role_tags.keys(), &req.role_name)?;
    }
    let own_role_arns = own_role_arns(snap, &role_arn, side.annotated_role.as_ref());
    let config_entry = config_entry(req, &side, &role_arn);
    let annotated = side.annotated_role.as_deref();
    let clusters = desired_clusters(req, annotated, own_role_arns, &side.config_map);
    let mut clusters = clusters.into_iter();
    let desired = Desired {
        name: req.name.clone(),
        iam: Target::Iam,
        ensure_provider: !via_cluster_role,
        inline_policies: BTreeMap::new(),
        trust_policy: side.trust_policy,
        issuer: issuer.clone(),
        provider_arn: side.provider_arn,
        provider_tags: BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]),
        register: req.register,
        role_name: req.role_name.clone(),
        role_arn: role_arn.clone(),
        max_session: req.session_duration,
        description: side.description,
        role_tags,
        permissions_boundary: req.permissions_boundary.clone(),
        policies: snap.policies.clone(),
        cluster: clusters.next(),
        more_clusters: clusters.collect(),
        config_entry: Some(config_entry),
        rebind: req.rebind,
        drop_old_providers: via_cluster_role,
        override_service_accounts: req.override_service_accounts,
    };
    let plan = super::plan(&desired, observed)?;
    let mut warnings = plan.warnings.clone();
    warnings.extend(wide_trust_warnings(req, annotated.unwrap_or(&role_arn)));
    Ok(AddPlan {
        reuses_provider: observed
            .provider
            .as_ref()
            .filter(|_| !via_cluster_role)
            .map(|p| p.arn.clone()),
        desired,
        plan,
        warnings,
        account: identity.account.clone(),
        partition: identity.partition.clone(),
        annotations: annotations(req, annotated),
        labels: labels(),
        cluster_role_arn: None,
        cluster_account: None,
        config_map: side.config_map,
        cluster_provider: false,
    })
}

/// This onboarding's roles other than the one annotated (another mode's):
/// a ServiceAccount annotated with one is ours to re-point.
fn own_role_arns(snap: &AddSnapshot, role_arn: &str, annotated: Option<&String>) -> Vec<String> {
    std::iter::once(role_arn.to_string())
        .chain(snap.cluster_role_arns())
        .filter(|arn| Some(arn) != annotated)
        .collect()
}

/// km-config.yaml's entry for the onboarding.
fn config_entry(req: &AddRequest, side: &KlankerSide, role_arn: &str) -> ClusterEntry {
    ClusterEntry {
        name: req.name.clone(),
        oidc_provider_arn: side.entry_provider_arn.clone(),
        namespace: req.scope.namespace_label().to_string(),
        service_account: req.service_account.clone(),
        role_arn: role_arn.to_string(),
        // Only for several: a single entry stays as the `km` tool knows it.
        service_accounts: match req.scopes.len() {
            1 => Vec::new(),
            _ => req
                .scopes
                .iter()
                .map(|s| format!("{}:{}", s.namespace_label(), s.service_account))
                .collect(),
        },
        mode: req.mode.kind(),
        cluster_role_arn: side.cluster_role_arn.clone(),
    }
}

/// Each ServiceAccount `add` applies, annotated with `annotated_role`; a
/// mode's ConfigMap goes in each namespace holding one. `own_role_arns`: a
/// ServiceAccount annotated with one of these is ours to re-point.
pub fn desired_clusters(
    req: &AddRequest,
    annotated_role: Option<&str>,
    own_role_arns: Vec<String>,
    config_map: &Option<DesiredConfigMap>,
) -> Vec<DesiredCluster> {
    if !req.applies_service_account() {
        return Vec::new();
    }
    let mut placed = BTreeSet::new();
    req.service_accounts()
        .into_iter()
        .map(|(namespace, service_account)| DesiredCluster {
            config_map: config_map
                .clone()
                .filter(|_| placed.insert(namespace.clone())),
            namespace,
            create_namespace: req.create_namespace,
            service_account,
            annotations: annotations(req, annotated_role),
            labels: labels(),
            own_role_arns: own_role_arns.clone(),
        })
        .collect()
}

/// The IRSA annotations of a ServiceAccount that assumes `role`; none when
/// the mode annotates no role.
fn annotations(req: &AddRequest, role: Option<&str>) -> BTreeMap<String, String> {
    let Some(role) = role else {
        return BTreeMap::new();
    };
    BTreeMap::from([
        (ROLE_ARN_ANNOTATION.to_string(), role.to_string()),
        (
            TOKEN_EXPIRATION_ANNOTATION.to_string(),
            req.session_duration.to_string(),
        ),
    ])
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())])
}

/// The tool's tags on the role: ownership, the onboarding's name, and which
/// cluster and issuer it is bound to (so `rm` and `verify` act on that
/// cluster alone, and `add` refuses to move it silently).
pub fn role_tags(req: &AddRequest, resolved: &Resolved) -> BTreeMap<String, String> {
    let mut tags = req.tags.clone();
    tags.insert(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into());
    tags.insert(NAME_TAG.into(), req.name.clone());
    let cluster = resolved
        .cluster_arn
        .clone()
        .or_else(|| req.context.cluster_arn.clone());
    let server = req.context.server.clone();
    for (key, value) in [
        (trust::CLUSTER_TAG, cluster.or_else(|| server.clone())),
        (trust::SERVER_TAG, server),
        (trust::ISSUER_TAG, Some(resolved.issuer.url())),
    ] {
        if let Some(value) = value.filter(|v| validate::tag_value_fits(v)) {
            tags.insert(key.into(), value);
        }
    }
    tags
}

/// What a wildcard trust lets in, said before anything is applied.
fn wide_trust_warnings(req: &AddRequest, role_arn: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for scope in req.scopes.iter().filter(|s| s.namespace.is_none()) {
        warnings.push(format!(
            "--namespace '*': a ServiceAccount named `{}` in ANY namespace of this cluster can assume {role_arn}.",
            scope.service_account
        ));
    }
    if req
        .scopes
        .iter()
        .any(|s| s.namespace.is_none() && !s.service_account_is_wildcard())
    {
        warnings.push(format!(
            "--namespace '*' names no namespace to hold the ServiceAccount, so it is applied in the context's namespace `{}`. To put it in another one, switch the context first: kubectl config set-context --current --namespace=NS.",
            req.sa_namespace
        ));
    }
    for scope in req
        .scopes
        .iter()
        .filter(|s| s.service_account_is_wildcard())
    {
        warnings.push(format!(
            "--service-account '{}': EVERY matching ServiceAccount in {} can assume {role_arn}; no ServiceAccount is applied, annotate the ones you mean yourself.",
            scope.service_account,
            scope
                .namespace
                .as_deref()
                .map(|n| format!("namespace {n}"))
                .unwrap_or_else(|| "any namespace".into()),
        ));
    }
    warnings
}
