//! Pod identity mode, the third planner for `add`: EKS Pod Identity hands
//! pods the association role (`km-podid-NAME`) in the cluster's account,
//! and assumes the target role (`km-cluster-NAME`, the klanker role) with
//! it, sending session tags and the association's external ID. No OIDC
//! provider anywhere, no annotation on the ServiceAccount.
//!
//! The external ID exists only once the association does, so `add` writes
//! the target role trusting the association role (and its session tags),
//! then the associations, then pins each external ID in the trust.
//!
//! Leaving pod identity (`add` of another mode): this onboarding's
//! associations go, then the association role.

pub mod names;
pub mod policy;
pub mod recognise;
pub mod resolve;
pub mod trust;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};

use super::Mode;
use super::cluster_role;
use crate::plan::add::{self, AddPlan, KlankerSide};
use crate::plan::removal::{self, RoleToRemove};
use crate::plan::snapshot::{AddSnapshot, AgentAddon, ClusterAccount, EksSide};
use crate::plan::{Action, Desired, Op, PlanError, Step, Target};
use crate::resolve::add::{AddRequest, ClusterRoleRequest, ModeFlags};
use crate::trust::{self as iam_trust, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, TrustMode};

/// EKS allows this many Pod Identity associations per cluster.
pub const MAX_ASSOCIATIONS: usize = 5000;

/// Pod identity mode's own refusals, before any write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PodIdentityError {
    /// Pod Identity is an EKS feature: the context is not an EKS cluster.
    #[error(
        "--mode pod-identity needs an EKS cluster, and context `{context}` names none (no EKS cluster name in its exec block, ARN or --cluster-name), so DescribeCluster could not tell its ARN. EKS Pod Identity does not serve Fargate, Windows, Outposts, EKS Anywhere or self-managed clusters. Use --mode mirror or --mode chained, which need only the cluster's OIDC issuer."
    )]
    NotEks { context: String },
    /// The cluster already holds EKS's maximum of associations.
    #[error(
        "cluster {cluster} holds {count} Pod Identity associations and this run would add {adding}: EKS allows {MAX_ASSOCIATIONS} per cluster. Remove unused associations, or use --mode mirror or --mode chained for this onboarding."
    )]
    AssociationsFull {
        cluster: String,
        count: usize,
        adding: usize,
    },
    /// The target trust, one statement per ServiceAccount, exceeds IAM's quota.
    #[error(
        "the target role's trust for {subjects} ServiceAccounts would be {size} characters once each association's external ID is pinned (whitespace not counted), over the quota of {limit}: pod-identity mode needs one statement per ServiceAccount (its namespace, name and external ID go together). Onboard fewer ServiceAccounts under this name (another --name for the rest), or raise the account's role trust policy quota (4096 or 8192) and pass --max-trust-policy-size."
    )]
    TrustTooLarge {
        subjects: usize,
        size: usize,
        limit: usize,
    },
    /// An association for the ServiceAccount exists and is not this onboarding's.
    #[error(
        "ServiceAccount {service_account} already has Pod Identity association {id} (role {role}), which {owner}: re-pointing it would silently take that role from its pods. Use another --service-account, or pass --override-existing-serviceaccounts to re-point it."
    )]
    ForeignAssociation {
        service_account: String,
        id: String,
        role: String,
        owner: String,
    },
}

impl PodIdentityError {
    /// A flag to change (exit 2), rather than something to change first.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            PodIdentityError::NotEks { .. } | PodIdentityError::TrustTooLarge { .. }
        )
    }
}

impl From<PodIdentityError> for PlanError {
    fn from(e: PodIdentityError) -> Self {
        PlanError::Mode(super::ModeError::PodIdentity(e))
    }
}

/// The association role in the cluster's account, the target role in the klanker account.
pub struct PodIdentity;

impl ModeFlags for PodIdentity {
    fn resolve_flags(
        &self,
        args: &crate::cli::AddArgs,
        name: &str,
    ) -> Result<crate::resolve::add::ModeRequest, crate::resolve::ResolveError> {
        resolve::resolve(args, name)
    }
}

impl Mode for PodIdentity {
    fn plan_add(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
        plan(
            req,
            cluster_role::names_of(TrustMode::PodIdentity, req)?,
            snap,
        )
    }

    fn plan_leave(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<Vec<Step>, PlanError> {
        let mut steps = match &snap.eks {
            Some(eks) => owned_associations(eks, &req.name, &[])
                .map(|a| delete_step(eks, a, &req.name))
                .collect(),
            None => Vec::new(),
        };
        if let Some(side) = &snap.cluster_account {
            steps.extend(leave_role(req, side)?);
        }
        Ok(steps)
    }

    fn uses_associations(&self) -> bool {
        true
    }

    fn association_checks(
        &self,
        facts: &crate::verify::AssociationFacts,
    ) -> Vec<crate::verify::Check> {
        verify::checks(facts)
    }

    // `policy`: see policy.rs.
    fn policy_flags(&self, args: &crate::cli::PolicyArgs) -> Vec<(&'static str, bool)> {
        policy::flags(args)
    }

    fn cluster_roles(&self) -> Option<crate::permissions::ClusterRoles> {
        Some(policy::ROLES)
    }

    fn cluster_role_statements(
        &self,
        scope: &crate::permissions::ClusterRoleScope,
    ) -> Vec<serde_json::Value> {
        policy::statements(scope)
    }

    fn cluster_boundary_policy(
        &self,
        partition: &str,
        klanker_account: &str,
    ) -> Option<serde_json::Value> {
        Some(policy::boundary_policy(partition, klanker_account))
    }

    fn rbac_rules(
        &self,
        args: &crate::cli::PolicyArgs,
    ) -> Result<Vec<crate::permissions::Rule>, crate::trust::ValidationError> {
        policy::rbac_rules(args)
    }
}

/// The plan of `add --mode pod-identity`.
fn plan(
    req: &AddRequest,
    names: &ClusterRoleRequest,
    snap: &AddSnapshot,
) -> Result<AddPlan, PlanError> {
    let klanker = &snap.identity;
    let side = cluster_role::checked_side(
        TrustMode::PodIdentity,
        req,
        snap.cluster_account.as_ref(),
        klanker,
        &names.cluster_role_name,
    )?;
    let (Some(eks), Some(cluster_arn)) = (&snap.eks, &snap.issuer.cluster_arn) else {
        return Err(PodIdentityError::NotEks {
            context: req.context.context_name.clone(),
        }
        .into());
    };
    let target_arn = iam_trust::role_arn(&klanker.partition, &klanker.account, &req.role_name);
    let role = association_role(req, names, snap, side, cluster_arn, &target_arn)?;
    let cluster_steps = crate::plan::plan(&role, &side.observed)?;
    let links = Links {
        association_role: &role.role_arn,
        target_role: &target_arn,
        session_tags: req.mode.session_tags,
    };
    let associations = plan_associations(req, eks, &links)?;
    let target = trust::TargetTrust {
        partition: &klanker.partition,
        cluster_account: &side.identity.account,
        association_role_arn: &role.role_arn,
        cluster_arn,
        session_tags: req.mode.session_tags,
    };
    let (trust_policy, pins) = target.document(&associations.known);
    let limit = snap.trust_limit(req.max_trust_policy_size).value;
    let near = check_size(&target, &associations.known, limit)?;
    let side_b = KlankerSide {
        trust_policy: trust_policy.clone(),
        description: names::target_role_description(&req.name, &req.scopes, req.mode.session_tags),
        annotated_role: None,
        provider_arn: String::new(),
        config_map: None,
        cluster_role_arn: Some(role.role_arn.clone()),
        entry_provider_arn: String::new(),
        tags: associations.tag(),
    };
    let mut add = add::plan_klanker(req, snap, side_b)?;
    let mut eks_steps = associations.steps;
    eks_steps.extend(pin_step(req, eks, trust_policy, pins));
    let changes_associations = eks_steps.iter().any(|s| s.op.is_some());
    let klanker_steps = std::mem::take(&mut add.plan.steps);
    add.plan.steps = ordered(cluster_steps.steps, klanker_steps, eks_steps);
    let mut warnings = cluster_steps.warnings;
    warnings.extend(agent_warning(eks));
    warnings.append(&mut add.plan.warnings);
    add.plan.warnings = warnings.clone();
    warnings.append(&mut add.warnings);
    warnings.extend(prefix_warning(names));
    warnings.extend(changes_associations.then(|| restart_warning(req)));
    warnings.extend(near);
    add.warnings = warnings;
    add.cluster_role_arn = Some(role.role_arn);
    add.cluster_account = Some(side.identity.account.clone());
    Ok(add)
}

/// The step that pins each new association's external ID, when there is
/// one to pin: in EKS's chain, it reads what the associations just made hold.
fn pin_step(
    req: &AddRequest,
    eks: &EksSide,
    trust_policy: serde_json::Value,
    pins: Vec<crate::plan::ExternalIdPin>,
) -> Option<Step> {
    (!pins.is_empty()).then(|| {
        Step::new(
            Target::Eks,
            Action::Update,
            format!(
                "trust of role {}: pin each new association's external ID",
                req.role_name
            ),
            Some(Op::PinExternalIds {
                role: req.role_name.clone(),
                owner: req.name.clone(),
                cluster: eks.cluster_name.clone(),
                trust_policy,
                pins,
                pairs: req.service_accounts(),
                tag: iam_trust::ASSOCIATIONS_TAG.to_string(),
            }),
        )
    })
}

fn restart_warning(req: &AddRequest) -> String {
    format!(
        "Pods already running as {} keep their old credentials until restarted: EKS hands out an association's credentials when a pod starts, and caches a target role's for up to 59 minutes (changing an association does not reset that cache).",
        req.subjects_line()
    )
}

/// The trust as it will be once every external ID is pinned fits IAM's
/// quota: an ID still unknown is counted at the length of EKS's (a UUID).
/// Near the quota, the warning that says so.
fn check_size(
    target: &trust::TargetTrust,
    known: &[(String, String, Option<String>)],
    limit: usize,
) -> Result<Option<String>, PlanError> {
    const PLACEHOLDER: &str = "00000000-0000-0000-0000-000000000000";
    let pinned: Vec<_> = known
        .iter()
        .map(|(ns, sa, id)| {
            let id = id.clone().unwrap_or_else(|| PLACEHOLDER.into());
            (ns.clone(), sa.clone(), Some(id))
        })
        .collect();
    let pinned = target.document(&pinned).0;
    let size = iam_trust::policy::policy_size(&pinned);
    if size > limit {
        return Err(PodIdentityError::TrustTooLarge {
            subjects: known.len(),
            size,
            limit,
        }
        .into());
    }
    Ok(add::near_quota(&pinned, limit))
}

/// The steps in the order they can run: the association role, the target
/// role (named by the associations), the associations and the pin, then
/// the cluster and km-config.yaml.
fn ordered(cluster_iam: Vec<Step>, mut klanker: Vec<Step>, eks: Vec<Step>) -> Vec<Step> {
    let split = klanker
        .iter()
        .position(|s| s.target != Target::Iam)
        .unwrap_or(klanker.len());
    let rest = klanker.split_off(split);
    cluster_iam
        .into_iter()
        .chain(klanker)
        .chain(eks)
        .chain(rest)
        .collect()
}

/// The association role as it should be in the cluster's account: trusting
/// EKS for this cluster, allowed only to assume and tag the target role,
/// under its boundary.
fn association_role(
    req: &AddRequest,
    names: &ClusterRoleRequest,
    snap: &AddSnapshot,
    side: &ClusterAccount,
    cluster_arn: &str,
    target_arn: &str,
) -> Result<Desired, PlanError> {
    let permissions_boundary = cluster_role::boundary(TrustMode::PodIdentity, names, side)?;
    let tags = add::role_tags(req, &snap.issuer);
    if let Some(existing) = &side.observed.role {
        iam_trust::validate::merged_tag_count(
            existing.tags.keys(),
            tags.keys(),
            &names.cluster_role_name,
        )?;
    }
    let description = names::association_role_description(&req.name, &req.scopes, target_arn);
    iam_trust::validate::description(&description, &req.name)?;
    Ok(Desired {
        name: req.name.clone(),
        iam: Target::ClusterIam,
        ensure_provider: false,
        inline_policies: BTreeMap::from([(
            trust::ASSUME_POLICY_NAME.to_string(),
            trust::assume_policy(target_arn),
        )]),
        issuer: snap.issuer.issuer.clone(),
        provider_arn: String::new(),
        provider_tags: BTreeMap::new(),
        register: req.register,
        role_name: names.cluster_role_name.clone(),
        role_arn: iam_trust::role_arn(
            &side.identity.partition,
            &side.identity.account,
            &names.cluster_role_name,
        ),
        trust_policy: trust::association_trust(&side.identity.account, cluster_arn),
        max_session: req.session_duration,
        description,
        role_tags: tags,
        permissions_boundary,
        policies: BTreeSet::new(),
        cluster: None,
        more_clusters: Vec::new(),
        config_entry: None,
        rebind: req.rebind,
        drop_old_providers: false,
        override_service_accounts: false,
    })
}

/// What every association of the onboarding names.
struct Links<'a> {
    association_role: &'a str,
    target_role: &'a str,
    session_tags: bool,
}

/// The associations' steps, and each ServiceAccount with the external ID
/// its association has now (None: one to pin after it is made or changed).
struct AssociationPlan {
    steps: Vec<Step>,
    known: Vec<(String, String, Option<String>)>,
    /// Each ServiceAccount's association ID, when it exists and stays.
    ids: Vec<Option<String>>,
}

impl AssociationPlan {
    /// The klanker role's tag naming the associations, when every one is
    /// known (else the pin step writes it once they exist).
    fn tag(&self) -> BTreeMap<String, String> {
        if !self.ids.iter().all(Option::is_some) {
            return BTreeMap::new();
        }
        let ids: Vec<&str> = self.ids.iter().flatten().map(String::as_str).collect();
        BTreeMap::from([(iam_trust::ASSOCIATIONS_TAG.to_string(), ids.join(" "))])
    }
}

fn plan_associations(
    req: &AddRequest,
    eks: &EksSide,
    links: &Links,
) -> Result<AssociationPlan, PlanError> {
    let pairs = req.service_accounts();
    let adding = pairs
        .iter()
        .filter(|(ns, sa)| eks.association(ns, sa).is_none())
        .count();
    if adding > 0 && eks.association_count + adding > MAX_ASSOCIATIONS {
        return Err(PodIdentityError::AssociationsFull {
            cluster: eks.cluster_name.clone(),
            count: eks.association_count,
            adding,
        }
        .into());
    }
    let mut plan = AssociationPlan {
        steps: Vec::new(),
        known: Vec::new(),
        ids: Vec::new(),
    };
    for (namespace, service_account) in &pairs {
        let (step, known) = association_step(req, eks, links, namespace, service_account)?;
        // An association that stays keeps its ID; a new or changed one is read after.
        let stays = known
            .as_ref()
            .and(eks.association(namespace, service_account));
        plan.ids.push(stays.map(|a| a.id.clone()));
        plan.steps.push(step);
        plan.known
            .push((namespace.clone(), service_account.clone(), known));
    }
    plan.steps
        .extend(owned_associations(eks, &req.name, &pairs).map(|a| delete_step(eks, a, &req.name)));
    Ok(plan)
}

/// One ServiceAccount's association: created, unchanged (its external ID
/// known), or changed (re-pinned after). Another owner's is refused unless
/// `--override-existing-serviceaccounts`.
fn association_step(
    req: &AddRequest,
    eks: &EksSide,
    links: &Links,
    namespace: &str,
    service_account: &str,
) -> Result<(Step, Option<String>), PlanError> {
    let pair = format!("{namespace}/{service_account}");
    let tags = association_tags(req);
    let Some(found) = eks.association(namespace, service_account) else {
        let op = Op::CreateAssociation {
            cluster: eks.cluster_name.clone(),
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            role_arn: links.association_role.to_string(),
            target_role_arn: links.target_role.to_string(),
            session_tags: links.session_tags,
            tags,
        };
        let step = Step::new(
            Target::Eks,
            Action::Create,
            format!("Pod Identity association for {pair}"),
            Some(op),
        )
        .with_details(association_details(links));
        return Ok((step, None));
    };
    let ours = crate::inventory::proves(&found.tags, &req.name);
    if !ours && !req.override_service_accounts {
        return Err(PodIdentityError::ForeignAssociation {
            service_account: pair,
            id: found.id.clone(),
            role: found.role_arn.clone(),
            owner: owner_words(&found.tags),
        }
        .into());
    }
    let same = found.role_arn == links.association_role
        && found.target_role_arn.as_deref() == Some(links.target_role)
        && found.session_tags_disabled != links.session_tags;
    let summary = format!("Pod Identity association {} for {pair}", found.id);
    if same && ours {
        return Ok((
            Step::new(Target::Eks, Action::Unchanged, summary, None),
            found.external_id.clone(),
        ));
    }
    let op = Op::UpdateAssociation {
        cluster: eks.cluster_name.clone(),
        id: found.id.clone(),
        role_arn: links.association_role.to_string(),
        target_role_arn: links.target_role.to_string(),
        session_tags: links.session_tags,
        owner: ours.then(|| req.name.clone()),
        tags: (!ours).then_some(tags),
    };
    let mut details = association_details(links);
    if !ours {
        details.push(format!(
            "taken over from {} (--override-existing-serviceaccounts)",
            owner_words(&found.tags)
        ));
    }
    Ok((
        Step::new(Target::Eks, Action::Update, summary, Some(op)).with_details(details),
        None,
    ))
}

fn association_details(links: &Links) -> Vec<String> {
    vec![
        format!("role {}", links.association_role),
        format!("target role {}", links.target_role),
        match links.session_tags {
            true => "session tags on".to_string(),
            false => "session tags off (--disable-session-tags)".to_string(),
        },
    ]
}

/// The tool's tags on an association: ownership and the onboarding's name.
fn association_tags(req: &AddRequest) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
        (NAME_TAG.to_string(), req.name.clone()),
    ])
}

/// Who an association belongs to, as the refusal says it.
fn owner_words(tags: &BTreeMap<String, String>) -> String {
    match (iam_trust::is_owned(tags), tags.get(NAME_TAG)) {
        (true, Some(other)) => format!("belongs to onboarding `{other}`"),
        _ => "was not created by kubectl-klanker-trust".to_string(),
    }
}

/// This onboarding's associations for ServiceAccounts other than `keep`.
fn owned_associations<'a>(
    eks: &'a EksSide,
    name: &'a str,
    keep: &'a [(String, String)],
) -> impl Iterator<Item = &'a crate::plan::snapshot::ObservedAssociation> {
    eks.associations.iter().filter(move |a| {
        crate::inventory::proves(&a.tags, name)
            && !keep
                .iter()
                .any(|(ns, sa)| *ns == a.namespace && *sa == a.service_account)
    })
}

fn delete_step(eks: &EksSide, a: &crate::plan::snapshot::ObservedAssociation, name: &str) -> Step {
    Step::new(
        Target::Eks,
        Action::Delete,
        format!(
            "Pod Identity association {} for {}/{}",
            a.id, a.namespace, a.service_account
        ),
        Some(Op::DeleteAssociation {
            cluster: eks.cluster_name.clone(),
            id: a.id.clone(),
            owner: name.to_string(),
        }),
    )
}

/// The agent add-on hands pods their credentials: without it the
/// association does nothing. Installing it is the cluster admin's call.
fn agent_warning(eks: &EksSide) -> Option<String> {
    let install = format!(
        "aws eks create-addon --cluster-name {} --addon-name {}",
        eks.cluster_name,
        crate::plan::snapshot::AGENT_ADDON
    );
    match &eks.agent {
        AgentAddon::Active => None,
        AgentAddon::Missing => Some(format!(
            "the EKS Pod Identity agent add-on is not installed in cluster {}: pods get no credentials from their association until it is. Install it: {install}",
            eks.cluster_name
        )),
        AgentAddon::Other(status) => Some(format!(
            "the EKS Pod Identity agent add-on of cluster {} is {status}, not ACTIVE: pods get no credentials from their association until it is.",
            eks.cluster_name
        )),
        AgentAddon::Unknown(why) => Some(format!(
            "could not check the EKS Pod Identity agent add-on of cluster {} ({why}); pods get credentials from their association only when it runs. If it is missing: {install}",
            eks.cluster_name
        )),
    }
}

fn prefix_warning(names: &ClusterRoleRequest) -> Option<String> {
    (!names.cluster_role_name.starts_with(names::CLUSTER_ROLE_PREFIX)).then(|| {
        format!(
            "--cluster-role-name {}: the cluster-side policy `policy --for cluster --mode pod-identity` prints covers only roles named {}*.",
            names.cluster_role_name,
            names::CLUSTER_ROLE_PREFIX
        )
    })
}

/// Another mode taking back a name that was pod identity: the association
/// role goes (its tags must prove this onboarding).
fn leave_role(req: &AddRequest, side: &ClusterAccount) -> Result<Vec<Step>, PlanError> {
    let Some(left) = cluster_role::left_role(req, side, trust::is_association_role) else {
        return Ok(Vec::new());
    };
    let Some(role) = &left.observed.role else {
        return Ok(Vec::new());
    };
    removal::role_removal(
        &RoleToRemove {
            role_name: role.arn.rsplit('/').next().unwrap_or_default().to_string(),
            arn: role.arn.clone(),
            owned: iam_trust::is_owned(&role.tags),
            name_tag: role.tags.get(NAME_TAG).cloned(),
            attached_policies: left.observed.attached_policies.clone(),
            inline_policies: left.observed.inline_policies.keys().cloned().collect(),
            instance_profiles: left.instance_profiles.clone(),
        },
        &req.name,
        Target::ClusterIam,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::snapshot::ObservedAssociation;
    use crate::plan::testing::{self, CLUSTER_ARN};
    use crate::plan::{Observed, Op};

    const ASSOCIATION_ROLE: &str = "arn:aws:iam::222222222222:role/km-podid-dev";
    const TARGET_ROLE: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    fn request(flags: &[&str]) -> AddRequest {
        testing::cluster_account_request(TrustMode::PodIdentity, flags)
    }

    /// Nothing exists yet but the cluster, with `associations`.
    fn snapshot(req: &AddRequest, associations: Vec<ObservedAssociation>) -> AddSnapshot {
        let side = testing::cluster_side(Observed::default(), true);
        let mut snap = testing::snapshot(
            req,
            testing::CLUSTER_ACCOUNT,
            Observed::default(),
            Some(side),
        );
        snap.issuer.cluster_arn = Some(CLUSTER_ARN.into());
        snap.eks = Some(EksSide {
            cluster_name: "dev".into(),
            association_count: associations.len(),
            associations,
            agent: AgentAddon::Active,
        });
        snap
    }

    fn ours(namespace: &str, service_account: &str, owner: &str) -> ObservedAssociation {
        ObservedAssociation {
            id: format!("a-{service_account}"),
            arn: format!(
                "arn:aws:eks:us-east-1:222222222222:podidentityassociation/dev/a-{service_account}"
            ),
            namespace: namespace.into(),
            service_account: service_account.into(),
            role_arn: ASSOCIATION_ROLE.into(),
            target_role_arn: Some(TARGET_ROLE.into()),
            session_tags_disabled: false,
            external_id: Some(format!("ext-{service_account}")),
            tags: BTreeMap::from([
                (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
                (NAME_TAG.to_string(), owner.to_string()),
            ]),
        }
    }

    fn ops(add: &AddPlan) -> Vec<&Op> {
        add.plan.changes().filter_map(|s| s.op.as_ref()).collect()
    }

    #[test]
    fn a_fresh_add_orders_the_roles_then_the_association_then_the_pin() {
        let req = request(&[]);
        let add = PodIdentity
            .plan_add(&req, &snapshot(&req, Vec::new()))
            .unwrap();
        let targets: Vec<Target> = add.plan.changes().map(|s| s.target).collect();
        let first_eks = targets.iter().position(|t| *t == Target::Eks).unwrap();
        assert!(
            targets[..first_eks]
                .iter()
                .all(|t| matches!(t, Target::Iam | Target::ClusterIam)),
            "{targets:?}"
        );
        let ops = ops(&add);
        let create = ops
            .iter()
            .position(|o| matches!(o, Op::CreateAssociation { .. }))
            .unwrap();
        let pin = ops
            .iter()
            .position(|o| matches!(o, Op::PinExternalIds { .. }))
            .unwrap();
        assert!(create < pin);
        match ops[create] {
            Op::CreateAssociation {
                role_arn,
                target_role_arn,
                session_tags,
                tags,
                ..
            } => {
                assert_eq!(
                    (role_arn.as_str(), target_role_arn.as_str()),
                    (ASSOCIATION_ROLE, TARGET_ROLE)
                );
                assert!(*session_tags);
                assert_eq!(tags[NAME_TAG], "dev");
            }
            other => panic!("{other:?}"),
        }
        // The role is written unpinned; the pin names its one statement.
        assert!(
            !add.desired
                .trust_policy
                .to_string()
                .contains(crate::plan::EXTERNAL_ID_KEY)
        );
        assert!(matches!(ops[pin], Op::PinExternalIds { pins, .. } if pins.len() == 1));
        assert!(add.annotations.is_empty());
        assert!(!add.desired.ensure_provider);
    }

    #[test]
    fn an_association_in_place_is_unchanged_and_its_external_id_pinned_at_once() {
        let req = request(&[]);
        let add = PodIdentity
            .plan_add(&req, &snapshot(&req, vec![ours("ai-pods", "km", "dev")]))
            .unwrap();
        assert!(!ops(&add).iter().any(|o| matches!(
            o,
            Op::CreateAssociation { .. } | Op::UpdateAssociation { .. } | Op::PinExternalIds { .. }
        )));
        assert!(add.desired.trust_policy.to_string().contains("ext-km"));
        assert_eq!(
            add.desired.role_tags[crate::trust::ASSOCIATIONS_TAG],
            "a-km"
        );
    }

    #[test]
    fn another_owners_association_is_refused_unless_overridden_then_taken_over() {
        let req = request(&[]);
        let mut foreign = ours("ai-pods", "km", "other");
        foreign.role_arn = "arn:aws:iam::222222222222:role/app".into();
        let refused = PodIdentity.plan_add(&req, &snapshot(&req, vec![foreign.clone()]));
        assert!(matches!(
            refused,
            Err(PlanError::Mode(super::super::ModeError::PodIdentity(
                PodIdentityError::ForeignAssociation { .. }
            )))
        ));
        let req = request(&["--override-existing-serviceaccounts"]);
        let add = PodIdentity
            .plan_add(&req, &snapshot(&req, vec![foreign]))
            .unwrap();
        let update = ops(&add)
            .into_iter()
            .find(|o| matches!(o, Op::UpdateAssociation { .. }))
            .unwrap();
        assert!(
            matches!(update, Op::UpdateAssociation { owner: None, tags: Some(t), .. } if t[NAME_TAG] == "dev")
        );
    }

    #[test]
    fn a_full_cluster_is_refused_and_a_dropped_service_account_loses_its_association() {
        let req = request(&[]);
        let mut snap = snapshot(&req, Vec::new());
        if let Some(eks) = snap.eks.as_mut() {
            eks.association_count = MAX_ASSOCIATIONS;
        }
        assert!(matches!(
            PodIdentity.plan_add(&req, &snap),
            Err(PlanError::Mode(super::super::ModeError::PodIdentity(
                PodIdentityError::AssociationsFull { .. }
            )))
        ));
        let snap = snapshot(
            &req,
            vec![
                ours("ai-pods", "km", "dev"),
                ours("ai-pods", "web", "dev"),
                ours("ai-pods", "x", "other"),
            ],
        );
        let add = PodIdentity.plan_add(&req, &snap).unwrap();
        let deletes: Vec<&Op> = ops(&add)
            .into_iter()
            .filter(|o| matches!(o, Op::DeleteAssociation { .. }))
            .collect();
        assert_eq!(
            deletes,
            [&Op::DeleteAssociation {
                cluster: "dev".into(),
                id: "a-web".into(),
                owner: "dev".into()
            }]
        );
    }

    #[test]
    fn a_cluster_that_is_not_eks_is_refused_and_leaving_removes_only_our_associations() {
        let req = request(&[]);
        let mut snap = snapshot(&req, Vec::new());
        snap.eks = None;
        assert!(matches!(
            PodIdentity.plan_add(&req, &snap),
            Err(PlanError::Mode(super::super::ModeError::PodIdentity(
                PodIdentityError::NotEks { .. }
            )))
        ));
        let mirror = testing::cluster_account_request(TrustMode::Mirror, &[]);
        let snap = snapshot(
            &mirror,
            vec![ours("ai-pods", "km", "dev"), ours("ai-pods", "x", "other")],
        );
        let steps = PodIdentity.plan_leave(&mirror, &snap).unwrap();
        let ids: Vec<&str> = steps
            .iter()
            .filter_map(|s| match &s.op {
                Some(Op::DeleteAssociation { id, .. }) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["a-km"]);
    }
}
