//! Trust modes: each is one module behind the [`Mode`] trait, and nothing
//! outside this folder asks which mode is in use. Adding a mode is one
//! module here, its line in [`of`], its `Op` variants if it makes new
//! calls, and the adapter calls behind them; docs/layout.md lists what
//! else the third mode needed (trait hooks, snapshot fields, an executor
//! phase for EKS).

#[cfg(test)]
mod audit_clean;
pub mod chained;
pub mod cluster_role;
pub mod mirror;
pub mod pod_identity;

use serde_json::Value;

use super::add::AddPlan;
use super::snapshot::{AddSnapshot, AfterApply};
use super::{Observed, ObservedProvider};
use super::{PlanError, Step};
use crate::cli::PolicyArgs;
use crate::inventory::recognise::{Modes, Recognise, Registry};
use crate::permissions::{ClusterRoleScope, ClusterRoles, Rule};
use crate::resolve::add::{AddRequest, ModeFlags};
use crate::trust::{Identity, Issuer, TrustMode, ValidationError};
use crate::verify::Facts;

/// What one trust mode decides. Recognising its onboardings (`list`,
/// `describe`, `audit`) is [`Recognise`], asked from `inventory`, and
/// resolving its own `add` flags is [`ModeFlags`], asked from `resolve`:
/// both sit below this layer, so each mode implements them in its
/// `recognise` and `resolve` submodules.
pub trait Mode: Sync + Recognise + ModeFlags {
    /// The plan of `add` in this mode, from the request and what exists.
    fn plan_add(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError>;

    /// What `add` in another mode removes of what this mode made: the name
    /// was onboarded in this mode and moves.
    fn plan_leave(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<Vec<Step>, PlanError>;

    /// The role the ServiceAccounts are annotated with, when the request
    /// and the klanker identity alone tell (before any IAM read).
    fn annotated_role(&self, _req: &AddRequest, _klanker: &Identity) -> Option<String> {
        None
    }

    /// The klanker-account provider the klanker role trusts in this mode,
    /// `found` when it exists; None when it trusts none there, so every
    /// provider it trusts now is an old one.
    fn klanker_provider(
        &self,
        _found: Option<&ObservedProvider>,
        _issuer: &Issuer,
        _klanker: &Identity,
    ) -> Option<String> {
        None
    }

    /// The account `add` may create an OIDC provider in for this mode (its
    /// IAM target), if any: observe reads that account's provider quota.
    fn provider_account(&self) -> Option<super::Target> {
        None
    }

    /// Whether the mode hands pods credentials through EKS Pod Identity
    /// associations: observe then reads them (to make them, or to leave them).
    fn uses_associations(&self) -> bool {
        false
    }

    // --- verify and the check after `add` ---

    /// The facts of `verify`'s local checks right after `add` applied, from
    /// the plan just written and what the cluster issued for `subject`
    /// (its token). None when the plan alone does not tell them: the links
    /// are then read afresh, as `verify` reads them (a second hop's roles
    /// sit in two accounts).
    fn facts_after_apply(
        &self,
        _req: &AddRequest,
        _add: &AddPlan,
        _subject: &(String, String),
        _after: AfterApply,
    ) -> Option<Facts> {
        None
    }

    /// `verify`'s links of an onboarding whose pods get credentials from
    /// EKS Pod Identity associations (`uses_associations`), from what was read.
    fn association_checks(
        &self,
        _facts: &crate::verify::AssociationFacts,
    ) -> Vec<crate::verify::Check> {
        Vec::new()
    }

    // --- `policy`: what this mode adds to the generic permission documents
    // of `crate::permissions`. The defaults are a mode that adds nothing:
    // no flags of its own, no role in the cluster's account, no namespaced
    // object beside the ServiceAccounts. ---

    /// The `policy` flags only this mode takes, each with whether it was
    /// given: `policy` refuses a given one when another mode's documents are asked for.
    fn policy_flags(&self, _args: &PolicyArgs) -> Vec<(&'static str, bool)> {
        Vec::new()
    }

    /// The roles this mode makes in the cluster's account, if any.
    fn cluster_roles(&self) -> Option<ClusterRoles> {
        None
    }

    /// The statements this mode adds to the cluster-account identity's
    /// policy, for its cluster roles.
    fn cluster_role_statements(&self, _scope: &ClusterRoleScope) -> Vec<Value> {
        Vec::new()
    }

    /// The permissions boundary of this mode's cluster roles, which names
    /// the klanker account's roles (in `partition`).
    fn cluster_boundary_policy(&self, _partition: &str, _klanker_account: &str) -> Option<Value> {
        None
    }

    /// The rules this mode's own namespaced objects (named by `policy`'s
    /// flags) add to the RBAC's Role.
    fn rbac_rules(&self, _args: &PolicyArgs) -> Result<Vec<Rule>, ValidationError> {
        Ok(Vec::new())
    }
}

/// The module of `mode`.
pub fn of(mode: TrustMode) -> &'static dyn Mode {
    match mode {
        TrustMode::Mirror => &mirror::Mirror,
        TrustMode::Chained => &chained::Chained,
        TrustMode::PodIdentity => &pod_identity::PodIdentity,
    }
}

// --- Recognising onboardings: `inventory` reaches the modes through this.
impl Registry for Modes {
    fn all(&self) -> Vec<&'static dyn Recognise> {
        TrustMode::ALL.iter().map(|m| of(*m) as _).collect()
    }

    fn of(&self, mode: TrustMode) -> &'static dyn Recognise {
        of(mode)
    }
}

/// Every mode with its module, for what must ask each one.
pub fn all() -> impl Iterator<Item = (TrustMode, &'static dyn Mode)> {
    TrustMode::ALL.into_iter().map(|mode| (mode, of(mode)))
}

/// `add`'s plan: the asked mode's, after what leaving every other mode
/// removes (each removes only what it made, and only when it is there).
pub fn plan_add(req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
    let asked = req.mode.kind();
    let rebind = super::binding::check(req, snap)?;
    let mut add = of(asked).plan_add(req, snap)?;
    if let Some(warning) = rebind {
        add.plan.warnings.insert(0, warning.clone());
        add.warnings.insert(0, warning);
    }
    let mut steps = Vec::new();
    for other in TrustMode::ALL.iter().filter(|m| **m != asked) {
        steps.extend(of(*other).plan_leave(req, snap)?);
    }
    steps.append(&mut add.plan.steps);
    add.plan.steps = steps;
    let quotas = [check_providers(&add, snap)?, check_roles(&add, snap)?];
    for warning in quotas.into_iter().flatten() {
        add.plan.warnings.push(warning.clone());
        add.warnings.push(warning);
    }
    Ok(add)
}

/// The namespace and ServiceAccount steps `add` will plan, known as soon as
/// the cluster is read when the mode names the annotated role without IAM
/// reads: the preflight dry-runs them beside those reads. None when they
/// cannot be known yet (the final plan's own preflight then runs).
pub fn early_service_account_steps(
    req: &AddRequest,
    klanker: &Identity,
    cluster: &Observed,
) -> Option<Vec<Step>> {
    let role = of(req.mode.kind()).annotated_role(req, klanker)?;
    let clusters = super::add::desired_clusters(req, Some(&role), Vec::new(), &None);
    let all: Vec<_> = clusters.iter().collect();
    let (steps, _) =
        super::service_account_steps(&all, req.override_service_accounts, cluster).ok()?;
    Some(steps)
}

/// A mode's own refusal, before any write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ModeError {
    #[error(transparent)]
    ClusterRole(#[from] cluster_role::ClusterRoleError),
    #[error(transparent)]
    PodIdentity(#[from] pod_identity::PodIdentityError),
}

impl ModeError {
    /// A flag to change (exit 2), rather than something to create first.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ModeError::ClusterRole(e) => e.is_bad_input(),
            ModeError::PodIdentity(e) => e.is_bad_input(),
        }
    }
}

/// Which account a provider quota is of, for the messages.
fn account_of(target: super::Target) -> &'static str {
    match target {
        super::Target::ClusterIam => "cluster",
        _ => "klanker",
    }
}

/// The plan creates a provider in an account at its quota: refused before
/// any write. Within 10% of it: a warning, since the next one will not fit.
fn check_providers(add: &AddPlan, snap: &AddSnapshot) -> Result<Vec<String>, PlanError> {
    let mut warnings = Vec::new();
    for target in [super::Target::Iam, super::Target::ClusterIam] {
        let creates =
            add.plan.steps.iter().any(|s| {
                s.target == target && matches!(s.op, Some(super::Op::CreateProvider { .. }))
            });
        let read = match target {
            super::Target::ClusterIam => snap
                .cluster_account
                .as_ref()
                .and_then(|c| c.provider_quota.as_ref()),
            _ => snap.provider_quota.as_ref(),
        };
        let (true, Some(read)) = (creates, read) else {
            continue;
        };
        warnings.extend(super::quota::judge_providers(read, account_of(target))?);
    }
    Ok(warnings)
}

/// The names of the roles the plan creates in `target`'s account.
fn roles_created(add: &AddPlan, target: super::Target) -> Vec<String> {
    add.plan
        .steps
        .iter()
        .filter(|s| s.target == target)
        .filter_map(|s| match &s.op {
            Some(super::Op::CreateRole { name, .. }) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The plan creates roles in an account its roles quota has no room left
/// in: refused before any write. Ending within 10% of it, or with its
/// roles uncounted: a warning.
fn check_roles(add: &AddPlan, snap: &AddSnapshot) -> Result<Vec<String>, PlanError> {
    let mut sides = vec![(
        "klanker",
        roles_created(add, super::Target::Iam),
        snap.role_quota.as_ref(),
    )];
    if let Some(cluster) = &snap.cluster_account {
        let mut created = roles_created(add, super::Target::ClusterIam);
        if cluster.identity.account == snap.identity.account {
            // A cluster in the klanker account: both roles take its room.
            sides[0].1.append(&mut created);
            sides[0].2 = sides[0].2.or(cluster.role_quota.as_ref());
        } else {
            sides.push(("cluster", created, cluster.role_quota.as_ref()));
        }
    }
    let mut warnings = Vec::new();
    for (account, created, read) in sides {
        let (false, Some(read)) = (created.is_empty(), read) else {
            continue;
        };
        warnings.extend(super::quota::judge_roles(read, account, &created)?);
    }
    Ok(warnings)
}

#[cfg(test)]
mod quota_tests {
    use crate::plan::PlanError;

    /// Mirror `add` of a new issuer, through `mode::plan_add`, with the
    /// klanker account holding `count` providers under a quota of `value`.
    fn mirror_add(count: usize, value: usize) -> Result<super::AddPlan, PlanError> {
        use crate::plan::testing;
        let req = testing::issuer_url_request(&[]);
        let observed = crate::plan::Observed::default();
        let mut snap = testing::snapshot(&req, testing::ISSUER_ACCOUNT, observed, None);
        snap.provider_quota = Some(crate::plan::quota::tests::read(
            count,
            value,
            crate::plan::quota::QuotaSource::Applied,
        ));
        super::plan_add(&req, &snap)
    }

    /// Chained `add` from scratch: the klanker role and role A are new.
    fn chained_add(
        klanker: Option<crate::plan::quota::RoleQuota>,
        cluster: Option<crate::plan::quota::RoleQuota>,
    ) -> Result<super::AddPlan, PlanError> {
        use crate::plan::testing;
        let req = testing::cluster_account_request(crate::trust::TrustMode::Chained, &[]);
        let mut side = testing::cluster_side(crate::plan::Observed::default(), true);
        side.role_quota = cluster;
        let observed = crate::plan::Observed::default();
        let mut snap = testing::snapshot(&req, testing::CLUSTER_ACCOUNT, observed, Some(side));
        snap.role_quota = klanker;
        super::plan_add(&req, &snap)
    }

    #[test]
    fn each_account_a_role_is_created_in_is_judged_against_its_roles_quota() {
        use crate::plan::quota::{RoleCount, tests::roles};
        let full = || Some(roles(RoleCount::Counted(1000), 1000));
        let room = || Some(roles(RoleCount::Counted(10), 1000));
        assert!(matches!(
            chained_add(full(), room()),
            Err(PlanError::RoleQuotaReached {
                account: "klanker",
                ..
            })
        ));
        assert!(matches!(
            chained_add(room(), full()),
            Err(PlanError::RoleQuotaReached {
                account: "cluster",
                ..
            })
        ));
        let near = Some(roles(RoleCount::Counted(950), 1000));
        let warned = chained_add(room(), near).expect("room left");
        assert!(
            warned
                .warnings
                .iter()
                .any(|w| w.contains("cluster account holds 950 IAM roles")),
            "{:?}",
            warned.warnings
        );
        let unread = Some(roles(
            RoleCount::Unread {
                why: "refused".into(),
            },
            1000,
        ));
        let said = chained_add(unread, room()).expect("not counted: not checked");
        assert!(
            said.warnings
                .iter()
                .any(|w| w.contains("roles were not counted")),
            "{:?}",
            said.warnings
        );
    }

    #[test]
    fn an_existing_role_is_not_judged_whatever_the_count() {
        use crate::plan::quota::{RoleCount, tests::roles};
        use crate::plan::testing;
        let req = testing::issuer_url_request(&[]);
        let tags = std::collections::BTreeMap::from([
            (
                crate::trust::MANAGED_BY_TAG.to_string(),
                crate::trust::MANAGED_BY_VALUE.to_string(),
            ),
            (crate::trust::NAME_TAG.to_string(), "dev".to_string()),
        ]);
        // Ours, trusting nobody yet: updated, not created.
        let existing = crate::plan::ObservedRole {
            arn: format!(
                "arn:aws:iam::{}:role/{}",
                testing::KLANKER_ACCOUNT,
                req.role_name
            ),
            trust_policy: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
            max_session: 3600,
            description: String::new(),
            tags,
            permissions_boundary: None,
        };
        let observed = crate::plan::Observed {
            role: Some(existing),
            ..Default::default()
        };
        let mut snap = testing::snapshot(&req, testing::ISSUER_ACCOUNT, observed, None);
        snap.role_quota = Some(roles(RoleCount::Counted(1000), 1000));
        assert!(super::plan_add(&req, &snap).is_ok());
    }

    #[test]
    fn a_provider_the_plan_creates_is_judged_against_its_accounts_quota() {
        assert!(matches!(
            mirror_add(100, 100),
            Err(PlanError::ProviderQuotaReached { count: 100, .. })
        ));
        let warned = mirror_add(95, 100).expect("below the quota");
        assert!(
            warned
                .warnings
                .iter()
                .any(|w| w.contains("holds 95 OIDC providers")),
            "{:?}",
            warned.warnings
        );
        assert!(
            mirror_add(100, 200)
                .expect("raised")
                .warnings
                .iter()
                .all(|w| !w.contains("OIDC providers"))
        );
    }
}
