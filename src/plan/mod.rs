//! Desired vs observed state -> an ordered list of steps. No I/O: the same
//! plan drives the printed preview, `--dry-run`, the prompt, the JSON output
//! and the "done / failed / not started" report when something breaks.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

pub mod add;
pub mod binding;
pub mod describe;
pub mod listing;
pub mod mode;
pub mod quota;
pub mod removal;
mod role;
mod service_account;
pub mod snapshot;

use crate::store::ClusterEntry;
use crate::trust::{
    self, CREATED_BY_ANNOTATION, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, ROLE_ARN_ANNOTATION,
    STS_AUDIENCE, policy,
};

pub use crate::trust::RegisterMode;

impl Desired {
    /// The account the IAM steps act in, as errors name it.
    pub fn account_word(&self) -> &'static str {
        self.iam.account_word()
    }
}

impl Target {
    /// The account an IAM step of this target acts in, as errors name it.
    pub fn account_word(self) -> &'static str {
        match self {
            Target::ClusterIam => "cluster's",
            _ => "klanker",
        }
    }
}

/// What we want to exist in one account (the klanker account, or, for a
/// mode's cluster role, the cluster's), in the cluster and in km-config.yaml.
#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    /// Which account's IAM the steps act in: `Target::Iam` (klanker) or
    /// `Target::ClusterIam`.
    pub iam: Target,
    /// Whether this account must hold the issuer's OIDC provider (not the
    /// klanker account when the trust goes through a cluster role).
    pub ensure_provider: bool,
    /// Inline policies the role carries, by name (a cluster role's).
    pub inline_policies: BTreeMap<String, Value>,
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
    /// The other ServiceAccounts the trust names (several
    /// `--service-account`s), applied the same way after `cluster`.
    pub more_clusters: Vec<DesiredCluster>,
    pub config_entry: Option<ClusterEntry>,
    /// `--replace-issuer`: the same name may move to another issuer.
    pub rebind: bool,
    /// Providers of this account the role no longer trusts go if ours and
    /// unused (the klanker provider when a name moves to a cluster role).
    pub drop_old_providers: bool,
    /// `--override-existing-serviceaccounts`: a ServiceAccount annotated
    /// with another role may be re-pointed (its annotations are taken over).
    pub override_service_accounts: bool,
}

#[derive(Debug, Clone)]
pub struct DesiredCluster {
    pub namespace: String,
    pub create_namespace: bool,
    pub service_account: String,
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// This onboarding's other role (the other mode's): a ServiceAccount
    /// annotated with it is re-pointed without --override-existing-serviceaccounts.
    pub own_role_arns: Vec<String>,
    /// The ConfigMap with the pods' AWS config, when the mode writes one; None removes
    /// one this tool created (`Observed::config_maps`).
    pub config_map: Option<DesiredConfigMap>,
}

impl DesiredCluster {
    /// The role the ServiceAccount is annotated with.
    pub fn role_arn(&self) -> &str {
        self.annotations
            .get(ROLE_ARN_ANNOTATION)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredConfigMap {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

/// A ConfigMap of the onboarding's name as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedConfigMap {
    pub namespace: String,
    pub name: String,
    pub data: BTreeMap<String, String>,
    /// This tool created it (our field manager owns the created-by annotation).
    pub created_by_us: bool,
    /// The onboarding it was written for (its klanker-trust/name annotation).
    pub onboarding: Option<String>,
}

impl ObservedConfigMap {
    /// Ours for onboarding `name`: created by this tool, for that name.
    pub fn of(&self, name: &str) -> bool {
        self.created_by_us && self.onboarding.as_deref() == Some(name)
    }
}

/// What exists now.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub provider: Option<ObservedProvider>,
    pub role: Option<ObservedRole>,
    pub attached_policies: BTreeSet<String>,
    /// The role's inline policies, by name, with their documents.
    pub inline_policies: BTreeMap<String, Value>,
    /// The ConfigMaps the tool writes beside a cluster role (one per namespace), as found.
    pub config_maps: Vec<ObservedConfigMap>,
    /// Desired policies that were looked up and do not exist.
    pub missing_policies: BTreeSet<String>,
    pub namespace_exists: bool,
    pub service_account: Option<ObservedServiceAccount>,
    pub config_entry: Option<ClusterEntry>,
    /// Providers the role trusts now, other than the desired one, as read
    /// (for `--replace-issuer`: the old one goes if it is ours).
    pub old_providers: Vec<ObservedProvider>,
    /// The ServiceAccounts the role trusted until now and trusts no longer
    /// (the trust moved, or one was dropped from the list).
    pub previous_service_accounts: Vec<PreviousServiceAccount>,
    /// What `Desired::more_clusters` finds, by namespace and name.
    pub more_service_accounts: Vec<ObservedCluster>,
}

/// One more ServiceAccount's namespace and object, as read.
#[derive(Debug, Clone)]
pub struct ObservedCluster {
    pub namespace: String,
    pub name: String,
    pub namespace_exists: bool,
    pub service_account: Option<ObservedServiceAccount>,
}

/// The ServiceAccount a moving trust leaves behind.
#[derive(Debug, Clone)]
pub struct PreviousServiceAccount {
    pub namespace: String,
    pub name: String,
    pub observed: Option<ObservedServiceAccount>,
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

/// A field of a ServiceAccount's metadata: `("annotations" | "labels", key)`.
pub type Field = (String, String);

/// A ServiceAccount as read, with who owns which label/annotation
/// (`metadata.managedFields`).
///
/// Why "created by this tool" is the created-by annotation *owned by our
/// field manager* (read from managedFields), not a label or an IAM tag: a
/// later `kubectl apply`, Helm upgrade or server-side apply by someone else
/// leaves fields it never set alone, so our annotation and our ownership of
/// it survive; labels like `app.kubernetes.io/managed-by` are routinely
/// rewritten by those tools. If the object is deleted and re-created by
/// someone else, the annotation (or our ownership of it) is gone, so the new
/// object is rightly not ours. An IAM tag alone could not tell a re-created
/// object from ours.
#[derive(Debug, Clone, Default)]
pub struct ObservedServiceAccount {
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Fields our field manager owns (its Apply entry).
    pub ours: BTreeSet<Field>,
    /// Fields other managers own, with their names.
    pub others: BTreeMap<Field, Vec<String>>,
}

impl ObservedServiceAccount {
    /// This tool created the object: our manager owns the created-by annotation.
    pub fn created_by_us(&self) -> bool {
        self.annotations
            .get(CREATED_BY_ANNOTATION)
            .map(String::as_str)
            == Some(MANAGED_BY_VALUE)
            && self
                .ours
                .contains(&("annotations".to_string(), CREATED_BY_ANNOTATION.to_string()))
    }

    fn value(&self, (section, key): &Field) -> Option<&String> {
        match section.as_str() {
            "labels" => self.labels.get(key),
            _ => self.annotations.get(key),
        }
    }
}

/// Where a step acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The klanker account's IAM.
    Iam,
    /// The cluster's account's IAM (a cluster role and its provider).
    #[serde(rename = "cluster-iam")]
    ClusterIam,
    Cluster,
    /// EKS in the cluster's account (Pod Identity associations).
    Eks,
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
    /// `owner`: re-read the role first and stop unless its tags prove this onboarding.
    DetachPolicy {
        role: String,
        arn: String,
        owner: Option<String>,
    },
    /// Writes one inline policy on a role of ours (a cluster role).
    PutInlinePolicy {
        role: String,
        name: String,
        document: Value,
    },
    CreateNamespace {
        name: String,
    },
    /// Server-side apply of the ConfigMap under our field manager. Only a
    /// ConfigMap this tool creates (or created) is applied, so it always
    /// carries the created-by record and the onboarding's name.
    ApplyConfigMap {
        namespace: String,
        name: String,
        onboarding: String,
        data: BTreeMap<String, String>,
        /// Created first, as a ServiceAccount's `create`.
        create: bool,
    },
    /// Re-reads the ConfigMap right before deleting: only one this tool
    /// created for `onboarding` is deleted.
    DeleteConfigMap {
        namespace: String,
        name: String,
        onboarding: String,
    },
    /// Server-side apply of exactly these fields under our field manager;
    /// `force` only with `--override-existing-serviceaccounts`. `create`:
    /// the plan found it missing, so the apply may only create it, and fails
    /// if someone made it since (never merged into and claimed).
    ApplyServiceAccount {
        namespace: String,
        name: String,
        annotations: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        force: bool,
        create: bool,
    },
    /// Gives up every field our field manager owns on an object we did not
    /// create (an apply of no fields); everything else on it stays.
    ReleaseServiceAccount {
        namespace: String,
        name: String,
    },
    WriteConfigEntry {
        entry: ClusterEntry,
    },
    DeleteInlinePolicy {
        role: String,
        name: String,
        owner: Option<String>,
    },
    RemoveRoleFromInstanceProfile {
        role: String,
        profile: String,
        owner: Option<String>,
    },
    /// Re-reads the role right before deleting: its tags must prove `owner`.
    DeleteRole {
        role: String,
        owner: String,
    },
    /// Re-checks right before deleting that the provider is ours and that no
    /// role trusts it (a concurrent `add` may have started to).
    DeleteProvider {
        arn: String,
    },
    /// Re-reads the object right before deleting: it must still be one this
    /// tool created and annotated with `role_arn` (empty: with no role);
    /// else it is only released.
    DeleteServiceAccount {
        namespace: String,
        name: String,
        role_arn: String,
    },
    RemoveConfigEntry {
        name: String,
    },
    /// Creates an EKS Pod Identity association: pods running as the
    /// ServiceAccount get `role_arn`, which assumes `target_role_arn`. EKS
    /// refuses a second association for the pair, so a concurrent one is
    /// never merged into.
    CreateAssociation {
        cluster: String,
        namespace: String,
        service_account: String,
        role_arn: String,
        target_role_arn: String,
        session_tags: bool,
        tags: BTreeMap<String, String>,
    },
    /// Re-describes the association right before changing it: its tags must
    /// prove `owner`; None only with --override-existing-serviceaccounts,
    /// which takes it over and marks it with `tags`.
    UpdateAssociation {
        cluster: String,
        id: String,
        role_arn: String,
        target_role_arn: String,
        session_tags: bool,
        owner: Option<String>,
        tags: Option<BTreeMap<String, String>>,
    },
    /// Re-describes the association right before deleting it: its tags must
    /// prove `owner`.
    DeleteAssociation {
        cluster: String,
        id: String,
        owner: String,
    },
    /// Reads the external ID EKS gave each association named in `pins` and
    /// writes `trust_policy` with each pinned (`sts:ExternalId`) in its
    /// statement: the ID exists only once the association does. Then tags
    /// the role with the associations of `pairs` (`tag`), in their order.
    /// `owner`: the role is re-read first and left alone unless its tags
    /// prove this onboarding.
    PinExternalIds {
        role: String,
        owner: String,
        cluster: String,
        trust_policy: Value,
        pins: Vec<ExternalIdPin>,
        pairs: Vec<(String, String)>,
        tag: String,
    },
    /// Keeps (or writes) the km-config.yaml entry marked with what `rm` left
    /// to do, so a later `rm` can finish it.
    MarkConfigEntryPending {
        entry: ClusterEntry,
        pending: crate::store::Pending,
    },
}

/// Which statement of a trust policy gets which association's external ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdPin {
    pub statement: usize,
    pub namespace: String,
    pub service_account: String,
}

/// `trust_policy` with `id` as the `sts:ExternalId` of statement `pin.statement`.
pub fn pin_external_id(trust_policy: &mut Value, statement: usize, id: &str) {
    if let Some(condition) = trust_policy
        .get_mut("Statement")
        .and_then(|s| s.get_mut(statement))
        .and_then(|s| s.as_object_mut())
        .map(|s| {
            s.entry("Condition")
                .or_insert_with(|| serde_json::json!({}))
        })
        .and_then(Value::as_object_mut)
    {
        let equals = condition
            .entry("StringEquals")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(equals) = equals.as_object_mut() {
            equals.insert(EXTERNAL_ID_KEY.into(), Value::String(id.to_string()));
        }
    }
}

/// The condition key a role's trust pins the assuming party's external ID with.
pub const EXTERNAL_ID_KEY: &str = "sts:ExternalId";

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
    /// A value IAM or Kubernetes would reject, caught before any write.
    #[error(transparent)]
    Invalid(#[from] crate::trust::ValidationError),
    /// The wrong account or the wrong cluster.
    #[error(transparent)]
    Guard(#[from] crate::trust::guard::GuardError),
    /// A trust mode's own refusals.
    #[error(transparent)]
    Mode(#[from] mode::ModeError),
    /// `--register-oidc-provider=false`, and no provider exists.
    #[error(
        "no IAM OIDC provider for issuer {issuer} exists in the {account} account, and --register-oidc-provider=false forbids creating one. Register it first, or use --register-oidc-provider=auto."
    )]
    ProviderMissing {
        issuer: String,
        account: &'static str,
    },
    /// `--register-oidc-provider=true`, and a provider already exists.
    #[error(
        "the {account} account already has an OIDC provider for issuer {issuer} ({arn}), and --register-oidc-provider=true asks to create a new one. Use --register-oidc-provider=auto to reuse it."
    )]
    ProviderExists {
        issuer: String,
        arn: String,
        account: &'static str,
    },
    /// The role exists without our ownership tag: never taken over.
    #[error(
        "role {role} already exists in the {account} account and was not created by kubectl-klanker-trust (it has no {MANAGED_BY_TAG}={MANAGED_BY_VALUE} tag), so it will not be taken over. Pick another --name or --role-name, or delete or tag that role yourself."
    )]
    RoleNotOwned { role: String, account: &'static str },
    /// The role is tagged for another onboarding.
    #[error(
        "role {role} belongs to {}, not `{name}`: it will not be taken over. Pick another --role-name, or remove that onboarding first.",
        match other { Some(o) => format!("onboarding `{o}` (its {NAME_TAG} tag)"), None => format!("no onboarding of this name (it has no {NAME_TAG} tag naming `{name}`)") }
    )]
    RoleOfOtherOnboarding {
        role: String,
        name: String,
        other: Option<String>,
    },
    /// A provider of the klanker account this tool did not create lacks
    /// the STS client ID, and the operator policy may not change it.
    #[error(
        "OIDC provider {arn} was not created by this tool and lacks the client ID sts.amazonaws.com, which IRSA tokens carry; the klanker operator policy changes only providers this tool created, so it is not changed here. Nothing was changed. Ask an admin of the klanker account to run `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {arn} --client-id sts.amazonaws.com`, then re-run."
    )]
    ForeignProviderLacksClientId { arn: String },
    /// The onboarding is bound to another cluster (`--rebind` moves it).
    #[error(
        "`{name}` is bound to another cluster than this run's ({changes}). Going on would re-point role {role} and cut off the cluster it serves (a rebuilt cluster, or another cluster with the same name in another account or region?). Nothing was changed. Pass --rebind to move `{name}` to this cluster, or pick another --name."
    )]
    BindingChanged {
        name: String,
        role: String,
        changes: String,
    },
    /// The name is onboarded with another issuer (`--rebind` moves it).
    #[error(
        "`{name}` is onboarded with issuer {old}, and this cluster's issuer is {new}. Re-pointing role {role} would cut off the cluster behind {old} (a rebuilt cluster, or another cluster with the same name in another account or region?). Pass --rebind to move the trust to {new}, or pick another --name."
    )]
    IssuerChanged {
        name: String,
        role: String,
        old: String,
        new: String,
    },
    /// The ServiceAccount already serves another role.
    #[error(
        "ServiceAccount {service_account} is already annotated with role {current_role}: re-pointing it would silently take that role from its pods. Use another --service-account, or pass --override-existing-serviceaccounts to re-point it."
    )]
    ServiceAccountServesOtherRole {
        service_account: String,
        current_role: String,
    },
    /// A ConfigMap of the name the tool writes exists and is not ours.
    #[error(
        "ConfigMap {config_map} already exists and was not created by kubectl-klanker-trust for this onboarding (another tool, a person, or another onboarding with a ServiceAccount in that namespace): it will not be overwritten. Pass another --config-map-name, or remove that ConfigMap yourself."
    )]
    ConfigMapNotOwned { config_map: String },
    /// A policy to attach does not exist.
    #[error(
        "policy {arn} does not exist in the klanker account. Create it first (the shared operator policy is km-operator-policy), or pass the right --policy-arn."
    )]
    PolicyMissing { arn: String },
    /// The trust policy is larger than IAM's quota allows.
    #[error(
        "the trust policy for {subjects} ServiceAccounts would be {size} characters (whitespace not counted), over the role trust policy {limit}. Trust fewer ServiceAccounts, use a wildcard with --allow-wide-trust (e.g. --service-account 'ci-*'), or raise the account's role trust policy quota (Service Quotas iam L-C07B4B0D, 4096 or 8192): add reads it where servicequotas:GetServiceQuota is allowed, else pass --max-trust-policy-size."
    )]
    TrustPolicyTooLarge {
        subjects: usize,
        size: usize,
        limit: quota::Quota,
    },
    /// The account that would hold a new OIDC provider is at its quota.
    #[error(
        "the {account} account holds {count} OIDC providers, at its {quota} (Service Quotas iam L-858F3967), so the one this add needs cannot be created. Nothing was changed. Request a quota increase (up to 700), or use --mode chained or --mode pod-identity, which put no provider in the klanker account."
    )]
    ProviderQuotaReached {
        account: &'static str,
        count: usize,
        quota: String,
    },
    /// Several clusters planned together would create more OIDC providers
    /// in an account than its quota leaves room for.
    #[error(
        "account {account} holds {count} OIDC providers, at its {quota} (Service Quotas iam L-858F3967), and these clusters would create {creating} new ones: only {fits} fit. Nothing was changed. Request a quota increase (up to 700), onboard fewer clusters in this run (--context-pattern), or use --mode chained or --mode pod-identity, which put no provider in the klanker account."
    )]
    BatchProviderQuota {
        account: String,
        count: usize,
        creating: usize,
        fits: usize,
        quota: String,
    },
    /// The account the plan creates a role in has no room left under its
    /// roles-per-account quota.
    #[error(
        "the {account} account holds {count} IAM roles, against its {quota} (Service Quotas iam L-FE177D64), so {roles} cannot be created. Nothing was changed. Request a quota increase (up to 5,000), or delete roles the account no longer uses."
    )]
    RoleQuotaReached {
        account: &'static str,
        count: usize,
        quota: String,
        roles: String,
    },
    /// Several clusters planned together would create more roles in an
    /// account than its quota leaves room for.
    #[error(
        "account {account} holds {count} IAM roles, against its {quota} (Service Quotas iam L-FE177D64), and these clusters would create {creating} new ones: only {fits} fit. Nothing was changed. Request a quota increase (up to 5,000), delete roles the account no longer uses, or onboard fewer clusters in this run (--context-pattern)."
    )]
    BatchRoleQuota {
        account: String,
        count: usize,
        creating: usize,
        fits: usize,
        quota: String,
    },
    /// The namespace is missing and `--create-namespace` was not given.
    #[error(
        "namespace `{namespace}` does not exist in the cluster. Create it, or pass --create-namespace."
    )]
    NamespaceMissing { namespace: String },
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// What the plan does that the user must not miss (the trust moves, an
    /// issuer is replaced, a ServiceAccount someone else created is annotated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A step's place in its plan: how the executor tracks what was done,
/// what failed and what was not started (summaries need not be unique).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId(usize);

impl Plan {
    /// Steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.op.is_some())
    }

    /// The changing steps with their IDs, in plan order.
    pub fn numbered_changes(&self) -> impl Iterator<Item = (StepId, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.op.is_some())
            .map(|(i, s)| (StepId(i), s))
    }

    /// The step an ID names.
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.get(id.0)
    }

    pub fn is_noop(&self) -> bool {
        self.changes().next().is_none()
    }
}

/// The namespace and ServiceAccount steps of `clusters` (the first is
/// observed's own, the others its `more_service_accounts`), with their
/// warnings; a namespace shared by several is created once.
pub fn service_account_steps(
    clusters: &[&DesiredCluster],
    override_existing: bool,
    observed: &Observed,
) -> Result<(Vec<Step>, Vec<String>), PlanError> {
    let (mut steps, mut warnings) = (Vec::new(), Vec::new());
    let mut created = BTreeSet::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let seen = match i {
            0 => (observed.namespace_exists, observed.service_account.as_ref()),
            _ => observed
                .more_service_accounts
                .iter()
                .find(|o| o.namespace == cluster.namespace && o.name == cluster.service_account)
                .map_or((false, None), |o| {
                    (o.namespace_exists, o.service_account.as_ref())
                }),
        };
        service_account::plan_cluster(
            override_existing,
            cluster,
            seen,
            &mut created,
            &mut steps,
            &mut warnings,
        )?;
    }
    Ok((steps, warnings))
}

/// Computes the steps that take `observed` to `desired`, in dependency
/// order: provider, role, policies, namespace, ServiceAccount, local file.
pub fn plan(desired: &Desired, observed: &Observed) -> Result<Plan, PlanError> {
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    if desired.ensure_provider {
        plan_provider(desired, observed, &mut steps)?;
    }
    role::plan_role(desired, observed, &mut steps, &mut warnings)?;
    plan_policies(desired, observed, &mut steps)?;
    plan_inline_policies(desired, observed, &mut steps);
    plan_old_providers(desired, observed, &mut steps, &mut warnings);
    if let Some(cluster) = &desired.cluster {
        let all: Vec<&DesiredCluster> = std::iter::once(cluster)
            .chain(&desired.more_clusters)
            .collect();
        let (sa_steps, sa_warnings) =
            service_account_steps(&all, desired.override_service_accounts, observed)?;
        steps.extend(sa_steps);
        warnings.extend(sa_warnings);
        plan_config_maps(&desired.name, &all, observed, &mut steps)?;
        plan_trust_move(desired, cluster, observed, &mut steps, &mut warnings);
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
    Ok(Plan { steps, warnings })
}

fn plan_provider(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    let issuer = desired.issuer.url();
    match (&observed.provider, desired.register) {
        (None, RegisterMode::False) => {
            return Err(PlanError::ProviderMissing {
                issuer,
                account: desired.account_word(),
            });
        }
        (Some(p), RegisterMode::True) => {
            return Err(PlanError::ProviderExists {
                issuer,
                arn: p.arn.clone(),
                account: desired.account_word(),
            });
        }
        (None, _) => steps.push(Step::new(
            desired.iam,
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
            let owned = p.tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE);
            let owner = match owned {
                true => "created by this tool",
                false => "pre-existing, never modified except its client IDs",
            };
            let has_sts = p.client_ids.iter().any(|c| c == STS_AUDIENCE);
            // The klanker operator policy writes only providers tagged as
            // ours: refused here rather than denied half-way.
            if !owned && !has_sts && desired.iam == Target::Iam {
                return Err(PlanError::ForeignProviderLacksClientId { arn: p.arn.clone() });
            }
            if has_sts {
                steps.push(Step::new(
                    desired.iam,
                    Action::Unchanged,
                    format!("OIDC provider {} ({owner})", p.arn),
                    None,
                ));
            } else {
                steps.push(
                    Step::new(
                        desired.iam,
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
                        "client IDs: {} + {STS_AUDIENCE}",
                        p.client_ids.join(", ")
                    )]),
                );
            }
        }
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
                desired.iam,
                Action::Unchanged,
                format!("policy {arn} attached"),
                None,
            ));
        } else {
            steps.push(Step::new(
                desired.iam,
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
            desired.iam,
            Action::Delete,
            format!("detach policy {arn}"),
            Some(Op::DetachPolicy {
                role: role.clone(),
                arn: arn.clone(),
                owner: None,
            }),
        ));
    }
    Ok(())
}

/// With `--replace-issuer`: the providers the role no longer trusts go in
/// the same run if this tool created them; the executor checks again right
/// before deleting that no role trusts them.
fn plan_old_providers(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) {
    if !desired.rebind && !desired.drop_old_providers {
        return;
    }
    let why = match desired.drop_old_providers {
        true => "the klanker role no longer trusts it",
        false => "the issuer was replaced",
    };
    for p in observed
        .old_providers
        .iter()
        .filter(|p| p.arn != desired.provider_arn)
    {
        if p.tags.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE) {
            steps.push(
                Step::new(
                    desired.iam,
                    Action::Delete,
                    format!("old OIDC provider {} (created by this tool; {why})", p.arn),
                    Some(Op::DeleteProvider { arn: p.arn.clone() }),
                )
                .with_details(vec![
                    "kept instead if any role still trusts it when the step runs".into(),
                ]),
            );
        } else {
            warnings.push(format!(
                "the old OIDC provider {} was not created by this tool: it is kept.",
                p.arn
            ));
        }
    }
}

/// The inline policies the role must carry (a cluster role's): put
/// when missing or different. Others on the role are not ours to remove.
fn plan_inline_policies(desired: &Desired, observed: &Observed, steps: &mut Vec<Step>) {
    let role = &desired.role_name;
    for (name, document) in &desired.inline_policies {
        match observed.inline_policies.get(name) {
            Some(current) if policy::equivalent(current, document) => steps.push(Step::new(
                desired.iam,
                Action::Unchanged,
                format!("role {role}: inline policy {name}"),
                None,
            )),
            current => {
                let details = match current {
                    Some(current) => policy::diff_lines(current, document),
                    None => vec![format!(
                        "allows {}",
                        trust::chain::assumable_roles(document).join(", ")
                    )],
                };
                steps.push(
                    Step::new(
                        desired.iam,
                        if current.is_some() {
                            Action::Update
                        } else {
                            Action::Create
                        },
                        format!("role {role}: inline policy {name}"),
                        Some(Op::PutInlinePolicy {
                            role: role.clone(),
                            name: name.clone(),
                            document: document.clone(),
                        }),
                    )
                    .with_details(details),
                );
            }
        }
    }
}

/// The mode's ConfigMap beside the ServiceAccounts, one per namespace that
/// holds one: written when missing or different, never over one this tool
/// did not create. One this tool created where none is wanted (a mode that
/// writes none, or a namespace no longer used) goes.
fn plan_config_maps(
    onboarding: &str,
    clusters: &[&DesiredCluster],
    observed: &Observed,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    let wanted: Vec<(&str, &DesiredConfigMap)> = clusters
        .iter()
        .filter_map(|c| c.config_map.as_ref().map(|m| (c.namespace.as_str(), m)))
        .collect();
    for (namespace, want) in &wanted {
        let id = format!("{namespace}/{}", want.name);
        let apply = |create| Op::ApplyConfigMap {
            namespace: namespace.to_string(),
            name: want.name.clone(),
            onboarding: onboarding.to_string(),
            data: want.data.clone(),
            create,
        };
        let seen = observed
            .config_maps
            .iter()
            .find(|m| m.namespace == *namespace && m.name == want.name);
        match seen {
            None => steps.push(
                Step::new(
                    Target::Cluster,
                    Action::Create,
                    format!("ConfigMap {id} (the pods' AWS config)"),
                    Some(apply(true)),
                )
                .with_details(want.data.keys().map(|k| format!("key {k}")).collect()),
            ),
            Some(seen) if !seen.of(onboarding) => {
                return Err(PlanError::ConfigMapNotOwned { config_map: id });
            }
            Some(seen) if seen.data == want.data => steps.push(Step::new(
                Target::Cluster,
                Action::Unchanged,
                format!("ConfigMap {id}"),
                None,
            )),
            Some(_) => steps.push(Step::new(
                Target::Cluster,
                Action::Update,
                format!("ConfigMap {id} (the pods' AWS config)"),
                Some(apply(false)),
            )),
        }
    }
    let still_wanted = |m: &ObservedConfigMap| {
        wanted
            .iter()
            .any(|(ns, want)| m.namespace == *ns && m.name == want.name)
    };
    for seen in observed
        .config_maps
        .iter()
        .filter(|m| m.of(onboarding) && !still_wanted(m))
    {
        steps.push(Step::new(
            Target::Cluster,
            Action::Delete,
            format!(
                "ConfigMap {}/{} (created by this tool; no ServiceAccount there needs it)",
                seen.namespace, seen.name
            ),
            Some(Op::DeleteConfigMap {
                namespace: seen.namespace.clone(),
                name: seen.name.clone(),
                onboarding: onboarding.to_string(),
            }),
        ));
    }
    Ok(())
}

/// A changed --namespace or --service-account moves the trust, and a
/// ServiceAccount dropped from the list leaves it: the ServiceAccount left
/// behind still names the role, and its pods would get AccessDenied. It is
/// deleted if this tool created it, else released.
fn plan_trust_move(
    desired: &Desired,
    cluster: &DesiredCluster,
    observed: &Observed,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) {
    let kept = |p: &PreviousServiceAccount| {
        std::iter::once(cluster)
            .chain(&desired.more_clusters)
            .any(|c| c.namespace == p.namespace && c.service_account == p.name)
    };
    for previous in observed
        .previous_service_accounts
        .iter()
        .filter(|p| !kept(p))
    {
        let old = format!("{}/{}", previous.namespace, previous.name);
        warnings.push(if desired.more_clusters.is_empty() {
            format!(
                "the trust MOVES: role {} stops trusting ServiceAccount {old} and trusts {}/{} instead; pods using {old} lose the role.",
                desired.role_name, cluster.namespace, cluster.service_account
            )
        } else {
            format!(
                "role {} stops trusting ServiceAccount {old}; pods using {old} lose the role.",
                desired.role_name
            )
        });
        let Some(sa) = &previous.observed else {
            continue;
        };
        // Annotated with this onboarding's role (either mode's).
        let Some(annotated) = sa.annotations.get(ROLE_ARN_ANNOTATION).filter(|a| {
            **a == desired.role_arn || *a == cluster.role_arn() || cluster.own_role_arns.contains(a)
        }) else {
            continue;
        };
        let step = if sa.created_by_us() {
            Step::new(
                Target::Cluster,
                Action::Delete,
                format!("ServiceAccount {old} (created by this tool; no longer trusted)"),
                Some(Op::DeleteServiceAccount {
                    namespace: previous.namespace.clone(),
                    name: previous.name.clone(),
                    role_arn: annotated.clone(),
                }),
            )
        } else {
            Step::new(
                Target::Cluster,
                Action::Update,
                format!(
                    "ServiceAccount {old} (no longer trusted, not created by this tool): remove this tool's annotations only"
                ),
                Some(Op::ReleaseServiceAccount {
                    namespace: previous.namespace.clone(),
                    name: previous.name.clone(),
                }),
            )
        };
        steps.push(step);
    }
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
        (
            "mode",
            &old.mode.as_str().to_string(),
            &new.mode.as_str().to_string(),
        ),
        (
            "cluster_role_arn",
            &old.cluster_role_arn.clone().unwrap_or_default(),
            &new.cluster_role_arn.clone().unwrap_or_default(),
        ),
    ];
    let mut diff: Vec<String> = pairs
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(k, a, b)| format!("{k}: {} -> {}", or_none(a), or_none(b)))
        .collect();
    if old.service_accounts != new.service_accounts {
        let list = |l: &[String]| match l.is_empty() {
            true => "(none)".to_string(),
            false => l.join(", "),
        };
        diff.push(format!(
            "service_accounts: {} -> {}",
            list(&old.service_accounts),
            list(&new.service_accounts)
        ));
    }
    diff
}

/// A value as the diff shows it: an empty one as "(none)", so
/// `cluster_role_arn:  -> arn…` reads as the change it is.
fn or_none(value: &str) -> &str {
    if value.is_empty() { "(none)" } else { value }
}

#[cfg(test)]
pub mod testing;

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
            iam: Target::Iam,
            ensure_provider: true,
            inline_policies: BTreeMap::new(),
            drop_old_providers: false,
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
                own_role_arns: Vec::new(),
                config_map: None,
            }),
            more_clusters: Vec::new(),
            config_entry: Some(ClusterEntry {
                name: "dev".into(),
                oidc_provider_arn: PROVIDER.replace("333333333333", "222222222222"),
                namespace: namespace.into(),
                service_account: "km".into(),
                role_arn: ROLE_ARN.into(),
                ..ClusterEntry::default()
            }),
            rebind: false,
            override_service_accounts: false,
        }
    }

    fn fields(sa: &ObservedServiceAccount) -> BTreeSet<Field> {
        sa.annotations
            .keys()
            .map(|k| ("annotations".to_string(), k.clone()))
            .chain(sa.labels.keys().map(|k| ("labels".to_string(), k.clone())))
            .collect()
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
            inline_policies: BTreeMap::new(),
            config_maps: Vec::new(),
            missing_policies: BTreeSet::new(),
            namespace_exists: true,
            service_account: Some({
                let mut annotations = cluster.annotations.clone();
                annotations.insert(CREATED_BY_ANNOTATION.into(), MANAGED_BY_VALUE.into());
                let mut sa = ObservedServiceAccount {
                    annotations,
                    labels: cluster.labels.clone(),
                    ..ObservedServiceAccount::default()
                };
                sa.ours = fields(&sa);
                sa
            }),
            config_entry: d.config_entry.clone(),
            old_providers: Vec::new(),
            previous_service_accounts: Vec::new(),
            more_service_accounts: Vec::new(),
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
            arn: "arn:aws:iam::aws:policy/Old".into(),
            owner: None,
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
    fn a_provider_without_sts_client_id_gets_it_only_when_ours() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let provider = observed.provider.as_mut().unwrap();
        provider.client_ids = vec!["other".into()];
        let planned = plan(&d, &observed).unwrap();
        assert_eq!(
            ops(&planned),
            [&Op::AddProviderClientId {
                arn: PROVIDER.into(),
                client_id: STS_AUDIENCE.into()
            }]
        );
        assert!(planned.steps[0].summary.contains("created by this tool"));
        // Someone else's: the operator policy may not change it.
        observed.provider.as_mut().unwrap().tags.clear();
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::ForeignProviderLacksClientId {
                arn: PROVIDER.into()
            }
        );
    }

    #[test]
    fn foreign_role_is_never_taken_over() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        observed.role.as_mut().unwrap().tags.clear();
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::RoleNotOwned {
                role: "km-cluster-dev".into(),
                account: "klanker",
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
    fn a_service_account_serving_another_role_is_refused_unless_overridden() {
        let mut d = desired("ai-pods");
        let mut observed = converged(&d);
        let sa = observed.service_account.as_mut().unwrap();
        sa.annotations.insert(
            trust::ROLE_ARN_ANNOTATION.into(),
            "arn:aws:iam::333333333333:role/other".into(),
        );
        let field = (
            "annotations".to_string(),
            trust::ROLE_ARN_ANNOTATION.to_string(),
        );
        sa.ours.remove(&field);
        sa.others.insert(field, vec!["helm".into()]);
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::ServiceAccountServesOtherRole {
                service_account: "ai-pods/km".into(),
                current_role: "arn:aws:iam::333333333333:role/other".into()
            }
        );
        d.override_service_accounts = true;
        let plan = plan(&d, &observed).unwrap();
        let step = plan.changes().next().unwrap();
        assert_eq!(step.target, Target::Cluster);
        assert!(
            step.details.iter().any(|l| l.contains("role/other -> ")),
            "{:?}",
            step.details
        );
        assert!(matches!(
            step.op,
            Some(Op::ApplyServiceAccount { force: true, .. })
        ));
        assert!(plan.warnings.iter().any(|w| w.contains("re-pointed")));
    }

    /// A ServiceAccount Helm created: only the IRSA annotations are applied,
    /// unforced; the plan says so; its labels are never touched.
    #[test]
    fn a_pre_existing_service_account_gets_only_the_irsa_annotations() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let helm = ObservedServiceAccount {
            labels: BTreeMap::from([(trust::MANAGED_BY_LABEL.into(), "Helm".into())]),
            others: BTreeMap::from([(
                ("labels".into(), trust::MANAGED_BY_LABEL.into()),
                vec!["helm".into()],
            )]),
            ..ObservedServiceAccount::default()
        };
        observed.service_account = Some(helm.clone());
        let plan = plan(&d, &observed).unwrap();
        let step = plan.changes().next().unwrap();
        assert!(
            step.summary.contains("NOT created by this tool"),
            "{}",
            step.summary
        );
        let Some(Op::ApplyServiceAccount {
            annotations,
            labels,
            force,
            ..
        }) = &step.op
        else {
            panic!("{step:?}")
        };
        assert!(labels.is_empty(), "{labels:?}");
        assert!(!force);
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            [
                trust::ROLE_ARN_ANNOTATION,
                trust::TOKEN_EXPIRATION_ANNOTATION
            ]
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("not created by this tool"))
        );

        // Another manager's token-expiration is not overwritten without the flag.
        let mut owned = helm;
        owned
            .annotations
            .insert(trust::TOKEN_EXPIRATION_ANNOTATION.into(), "86400".into());
        owned.others.insert(
            (
                "annotations".into(),
                trust::TOKEN_EXPIRATION_ANNOTATION.into(),
            ),
            vec!["helm".into()],
        );
        observed.service_account = Some(owned);
        let plan = super::plan(&d, &observed).unwrap();
        let step = plan.changes().next().unwrap();
        let Some(Op::ApplyServiceAccount { annotations, .. }) = &step.op else {
            panic!()
        };
        assert!(!annotations.contains_key(trust::TOKEN_EXPIRATION_ANNOTATION));
        assert!(
            step.details
                .iter()
                .any(|l| l.contains("stays 86400 (owned by helm"))
        );
    }

    #[test]
    fn another_onboardings_role_is_refused_naming_it() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        observed
            .role
            .as_mut()
            .unwrap()
            .tags
            .insert(trust::NAME_TAG.into(), "other".into());
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::RoleOfOtherOnboarding {
                role: "km-cluster-dev".into(),
                name: "dev".into(),
                other: Some("other".into())
            }
        );
        assert!(
            plan(&d, &observed)
                .unwrap_err()
                .to_string()
                .contains("onboarding `other`")
        );
    }

    #[test]
    fn a_new_issuer_for_the_same_name_needs_rebind() {
        let old = desired("ai-pods");
        let mut observed = converged(&old);
        let old_provider =
            "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/OLD";
        let old_issuer =
            trust::Issuer::parse("https://oidc.eks.us-west-2.amazonaws.com/id/OLD", "x").unwrap();
        observed.role.as_mut().unwrap().trust_policy = policy::trust_policy(
            old_provider,
            &old_issuer,
            &trust::TrustScope::new("ai-pods", "km"),
        );
        let mut d = desired("ai-pods");
        let err = plan(&d, &observed).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&old_issuer.url()) && text.contains(&d.issuer.url()),
            "{text}"
        );
        assert!(text.contains("--rebind"), "{text}");

        d.rebind = true;
        observed.old_providers = vec![ObservedProvider {
            arn: old_provider.into(),
            client_ids: vec![STS_AUDIENCE.into()],
            tags: BTreeMap::from([(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into())]),
        }];
        let plan = plan(&d, &observed).unwrap();
        assert!(plan.warnings.iter().any(|w| w.contains("--rebind")));
        let ops = ops(&plan);
        let trust_at = ops
            .iter()
            .position(|op| matches!(op, Op::UpdateTrustPolicy { .. }))
            .unwrap();
        let delete_at = ops
            .iter()
            .position(|op| matches!(op, Op::DeleteProvider { arn } if arn == old_provider))
            .unwrap();
        assert!(
            trust_at < delete_at,
            "the trust moves before the old provider goes"
        );

        // A provider this tool did not create is kept, and said so.
        observed.old_providers[0].tags.clear();
        let plan = super::plan(&d, &observed).unwrap();
        assert!(
            !super::tests::ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteProvider { .. }))
        );
        assert!(plan.warnings.iter().any(|w| w.contains("is kept")));
    }

    #[test]
    fn a_moving_trust_releases_or_deletes_the_old_service_account() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let ours = observed.service_account.clone().unwrap();
        observed.previous_service_accounts = vec![PreviousServiceAccount {
            namespace: "old-ns".into(),
            name: "km".into(),
            observed: Some(ours.clone()),
        }];
        let plan = plan(&d, &observed).unwrap();
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("MOVES") && w.contains("old-ns/km"))
        );
        assert_eq!(
            ops(&plan),
            [&Op::DeleteServiceAccount {
                namespace: "old-ns".into(),
                name: "km".into(),
                role_arn: ROLE_ARN.into()
            }]
        );
        let mut theirs = ours;
        theirs.ours.clear();
        observed.previous_service_accounts[0].observed = Some(theirs.clone());
        let plan = super::plan(&d, &observed).unwrap();
        assert_eq!(
            super::tests::ops(&plan),
            [&Op::ReleaseServiceAccount {
                namespace: "old-ns".into(),
                name: "km".into()
            }]
        );
        // Annotated with another role by now: left alone.
        theirs
            .annotations
            .insert(trust::ROLE_ARN_ANNOTATION.into(), "arn:other".into());
        observed.previous_service_accounts[0].observed = Some(theirs);
        assert!(super::plan(&d, &observed).unwrap().is_noop());
    }

    #[test]
    fn manifest_mode_plans_no_cluster_step() {
        let mut d = desired("ai-pods");
        d.cluster = None;
        let plan = plan(&d, &Observed::default()).unwrap();
        assert!(plan.steps.iter().all(|s| s.target != Target::Cluster));
    }

    /// `desired("ai-pods")` with more ServiceAccounts `(namespace, name)`.
    fn several(more: &[(&str, &str)]) -> Desired {
        let mut d = desired("ai-pods");
        let first = d.cluster.clone().unwrap();
        d.more_clusters = more
            .iter()
            .map(|(ns, sa)| DesiredCluster {
                namespace: ns.to_string(),
                service_account: sa.to_string(),
                ..first.clone()
            })
            .collect();
        d
    }

    #[test]
    fn each_more_service_account_is_applied_and_a_shared_new_namespace_created_once() {
        let mut d = several(&[("ci", "b"), ("ci", "c")]);
        let mut observed = converged(&d);
        observed.more_service_accounts = ["b", "c"]
            .iter()
            .map(|sa| ObservedCluster {
                namespace: "ci".into(),
                name: sa.to_string(),
                namespace_exists: false,
                service_account: None,
            })
            .collect();
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::NamespaceMissing {
                namespace: "ci".into()
            }
        );
        for c in &mut d.more_clusters {
            c.create_namespace = true;
        }
        let plan = plan(&d, &observed).unwrap();
        let ops = ops(&plan);
        assert_eq!(ops.len(), 3, "{ops:#?}");
        assert_eq!(ops[0], &Op::CreateNamespace { name: "ci".into() });
        for (op, name) in ops[1..].iter().zip(["b", "c"]) {
            let Op::ApplyServiceAccount {
                namespace,
                name: applied,
                annotations,
                ..
            } = op
            else {
                panic!("{op:?}");
            };
            assert_eq!((namespace.as_str(), applied.as_str()), ("ci", name));
            assert_eq!(annotations[trust::ROLE_ARN_ANNOTATION], ROLE_ARN);
            assert_eq!(annotations[CREATED_BY_ANNOTATION], MANAGED_BY_VALUE);
        }
    }

    #[test]
    fn a_more_service_account_serving_another_role_is_refused() {
        let d = several(&[("ci", "b")]);
        let mut observed = converged(&d);
        let mut theirs = ObservedServiceAccount::default();
        theirs
            .annotations
            .insert(trust::ROLE_ARN_ANNOTATION.into(), "arn:other".into());
        observed.more_service_accounts = vec![ObservedCluster {
            namespace: "ci".into(),
            name: "b".into(),
            namespace_exists: true,
            service_account: Some(theirs),
        }];
        assert_eq!(
            plan(&d, &observed).unwrap_err(),
            PlanError::ServiceAccountServesOtherRole {
                service_account: "ci/b".into(),
                current_role: "arn:other".into()
            }
        );
    }

    #[test]
    fn a_service_account_dropped_from_several_is_deleted_or_released_and_the_rest_stay() {
        let d = several(&[("ci", "b")]);
        let mut observed = converged(&d);
        let ours = observed.service_account.clone().unwrap();
        observed.more_service_accounts = vec![ObservedCluster {
            namespace: "ci".into(),
            name: "b".into(),
            namespace_exists: true,
            service_account: Some(ours.clone()),
        }];
        let dropped = |observed: Option<ObservedServiceAccount>| PreviousServiceAccount {
            namespace: "ci".into(),
            name: "gone".into(),
            observed,
        };
        observed.previous_service_accounts = vec![dropped(Some(ours.clone()))];
        let p = plan(&d, &observed).unwrap();
        assert_eq!(
            ops(&p),
            [&Op::DeleteServiceAccount {
                namespace: "ci".into(),
                name: "gone".into(),
                role_arn: ROLE_ARN.into()
            }]
        );
        assert!(
            p.warnings.iter().any(|w| w
                == "role km-cluster-dev stops trusting ServiceAccount ci/gone; pods using ci/gone lose the role."),
            "{:?}",
            p.warnings
        );
        let mut theirs = ours;
        theirs.ours.clear();
        observed.previous_service_accounts = vec![dropped(Some(theirs))];
        assert_eq!(
            ops(&plan(&d, &observed).unwrap()),
            [&Op::ReleaseServiceAccount {
                namespace: "ci".into(),
                name: "gone".into()
            }]
        );
        // Still in the list: never previous, whatever the observer said.
        observed.previous_service_accounts = vec![PreviousServiceAccount {
            namespace: "ci".into(),
            name: "b".into(),
            observed: None,
        }];
        assert!(plan(&d, &observed).unwrap().is_noop());
    }

    #[test]
    fn an_entry_gaining_or_losing_the_list_is_updated_with_its_diff() {
        let d = desired("ai-pods");
        let mut observed = converged(&d);
        let mut old = d.config_entry.clone().unwrap();
        old.service_accounts = vec!["ai-pods:km".into(), "ci:b".into()];
        observed.config_entry = Some(old);
        let p = plan(&d, &observed).unwrap();
        let step = p.changes().next().unwrap();
        assert_eq!(
            step.details,
            ["service_accounts: ai-pods:km, ci:b -> (none)"]
        );
    }
}
