//! Pure: what `rm` removes, in order, what it deliberately leaves, and what
//! it keeps when a part cannot be done now. Also the decisions `rm` makes
//! while observing: which ServiceAccounts are the onboarding's, which
//! provider is its, and when a provider a failed `add` left is worth
//! looking for.

use std::collections::BTreeSet;

use super::{Action, ObservedServiceAccount, Op, Plan, PlanError, Step, Target};
use crate::inventory::Onboarding;
use crate::store::{ClusterEntry, Pending, PendingPart};
use crate::trust::{OidcProviderArn, ROLE_ARN_ANNOTATION};

/// What exists now for the onboarding being removed.
#[derive(Debug, Clone, Default)]
pub struct RemovalObserved {
    pub name: String,
    /// The onboarding's role ARN (from the role, km-config.yaml or the
    /// default name): ServiceAccounts annotated with it are ours to delete.
    pub role_arn: String,
    pub role: Option<RoleToRemove>,
    pub provider: Option<ProviderToRemove>,
    /// The cluster role and the cluster's own provider, in the cluster's account.
    pub cluster_role: Option<RoleToRemove>,
    pub cluster_provider: Option<ProviderToRemove>,
    /// The EKS Pod Identity associations of the recorded ServiceAccounts.
    pub associations: Vec<AssociationToRemove>,
    /// The ConfigMaps written beside the cluster role (found by label and name).
    pub config_maps: Vec<super::ObservedConfigMap>,
    pub cluster: ClusterView,
    pub config_entry: bool,
    /// The mark an earlier `rm` left on the km-config.yaml entry.
    pub pending: Option<Pending>,
    /// What the entry keeps if the cluster part cannot be done now.
    pub keep: Option<Keep>,
}

/// What a pending km-config.yaml entry keeps for the next `rm`.
#[derive(Debug, Clone, PartialEq)]
pub struct Keep {
    /// km-config.yaml's entry, else one made from the role's onboarding.
    pub entry: ClusterEntry,
    /// The cluster the onboarding recorded (its role's tags, else an earlier
    /// pending mark), so that `rm` acts on that cluster alone.
    pub mark: Pending,
}

#[derive(Debug, Clone, Default)]
pub struct RoleToRemove {
    pub role_name: String,
    pub arn: String,
    /// Carries the tool's managed-by tag.
    pub owned: bool,
    /// Its `klanker-trust/name` tag: the onboarding it belongs to.
    pub name_tag: Option<String>,
    pub attached_policies: BTreeSet<String>,
    pub inline_policies: Vec<String>,
    pub instance_profiles: Vec<String>,
}

/// An association of a recorded ServiceAccount, as read.
#[derive(Debug, Clone, Default)]
pub struct AssociationToRemove {
    pub cluster: String,
    pub association: crate::verify::ObservedAssociation,
    /// Its tags: only one they prove this onboarding's is removed.
    pub owner: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProviderToRemove {
    pub arn: String,
    /// Carries the tool's managed-by tag.
    pub owned: bool,
    /// Other roles whose trust policy names this provider.
    pub trusted_by: Vec<String>,
}

/// The onboarding's ServiceAccounts, as far as the cluster could be read.
#[derive(Debug, Clone, Default)]
pub enum ClusterView {
    /// `--keep-service-account`: not looked at.
    #[default]
    Kept,
    /// Not read; why, in words (the typed cause stays with the caller).
    Unreachable(String),
    Found(Vec<FoundServiceAccount>),
}

#[derive(Debug, Clone)]
pub struct FoundServiceAccount {
    pub namespace: String,
    pub name: String,
    /// Its `eks.amazonaws.com/role-arn` annotation.
    pub role_arn: Option<String>,
    /// This tool created it (our field manager owns the created-by annotation).
    pub created_by_us: bool,
}

/// A ServiceAccount the cluster returned: one carrying this tool's label,
/// or one the onboarding records by name.
#[derive(Debug, Clone)]
pub struct Seen {
    pub namespace: String,
    pub name: String,
    pub observed: ObservedServiceAccount,
}

impl Seen {
    fn role_arn(&self) -> Option<&String> {
        self.observed.annotations.get(ROLE_ARN_ANNOTATION)
    }
}

/// What `rm` decided: the plan, the notes that explain what stays and why,
/// and whether the removal stays unfinished after it.
#[derive(Debug, Clone)]
pub struct Removal {
    pub plan: Plan,
    pub notes: Vec<String>,
    pub unfinished: Option<Unfinished>,
}

/// A part of the removal this run cannot do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub part: PendingPart,
    /// Why it cannot be done now.
    pub why: String,
    /// km-config.yaml keeps the entry, marked pending, for the next `rm`.
    pub entry_kept: bool,
}

/// The ServiceAccounts the onboarding records by name (its role's trust and
/// km-config.yaml's entry), to read directly: a pre-existing object the tool
/// only annotated carries no label of ours. Wildcard scopes and unknown
/// subjects (`?`) name no object.
pub fn recorded_subjects(
    onboarding: Option<&Onboarding>,
    entry: Option<&ClusterEntry>,
) -> Vec<(String, String)> {
    let mut recorded: Vec<(String, String)> = onboarding
        .map(Onboarding::subjects)
        .into_iter()
        .flatten()
        .chain(entry.map(ClusterEntry::subjects).into_iter().flatten())
        .filter(|(ns, sa)| !ns.contains(['*', '?']) && !sa.contains(['*', '?']))
        .collect();
    recorded.sort();
    recorded.dedup();
    recorded
}

/// The labelled ServiceAccounts, then the recorded ones the label did not find.
pub fn merge_seen(mut listed: Vec<Seen>, direct: Vec<Option<Seen>>) -> Vec<Seen> {
    for found in direct.into_iter().flatten() {
        if !listed
            .iter()
            .any(|a| a.namespace == found.namespace && a.name == found.name)
        {
            listed.push(found);
        }
    }
    listed
}

/// The onboarding's ServiceAccounts among those seen: annotated with its
/// role, or recorded by name (whatever they are annotated with now; the plan
/// leaves those alone and says so).
pub fn service_accounts_of(
    seen: Vec<Seen>,
    role_arn: &str,
    recorded: &[(String, String)],
) -> Vec<FoundServiceAccount> {
    seen.into_iter()
        .filter(|s| {
            s.role_arn().map(String::as_str) == Some(role_arn)
                || recorded
                    .iter()
                    .any(|(ns, sa)| ns == &s.namespace && sa == &s.name)
        })
        .map(|s| FoundServiceAccount {
            created_by_us: s.observed.created_by_us(),
            role_arn: s.role_arn().cloned(),
            namespace: s.namespace,
            name: s.name,
        })
        .collect()
}

/// The provider the onboarding names: the one its role trusts, else the one
/// for km-config.yaml's issuer in the klanker account; only if it exists.
pub fn named_provider(
    onboarding: Option<&Onboarding>,
    entry: Option<&ClusterEntry>,
    (partition, account): (&str, &str),
    providers: &[String],
) -> Option<String> {
    onboarding
        .map(|o| o.oidc_provider_arn.clone())
        .or_else(|| {
            entry.and_then(|e| {
                OidcProviderArn::parse(&e.oidc_provider_arn, "km-config.yaml oidc_provider_arn")
                    .ok()
                    .map(|p| p.issuer.provider_arn(partition, account))
            })
        })
        .filter(|arn| providers.contains(arn))
}

/// What tells whether a provider a failed `add` left may be behind this context.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeftOverClues<'a> {
    /// A provider was found by name already.
    pub provider_named: bool,
    pub role_exists: bool,
    pub config_entry: bool,
    /// The ServiceAccounts seen, when the cluster was read.
    pub seen: Option<&'a [Seen]>,
    /// The role ARN the onboarding would have.
    pub expected_role_arn: &'a str,
    /// The context's EKS cluster name is the onboarding's name.
    pub context_is_named_cluster: bool,
}

/// An `add` that failed after creating the provider but before the role and
/// the km-config.yaml entry leaves nothing that names the provider. When
/// this context is that cluster (its name, or a ServiceAccount annotated
/// with the role), its issuer names it; `plan_removal` still deletes it only
/// if this tool created it and no role trusts it.
pub fn look_for_left_over_provider(clues: &LeftOverClues<'_>) -> bool {
    if clues.provider_named || clues.role_exists || clues.config_entry {
        return false;
    }
    let annotated = clues.seen.is_some_and(|seen| {
        seen.iter()
            .any(|s| s.role_arn().map(String::as_str) == Some(clues.expected_role_arn))
    });
    annotated || clues.context_is_named_cluster
}

/// What a pending mark keeps: km-config.yaml's entry, else (the onboarding
/// was added from another workstation) what the role records; and the
/// cluster the onboarding recorded. None when neither names the subject.
pub fn keep_of(
    entry: Option<&ClusterEntry>,
    onboarding: Option<&Onboarding>,
    recorded: Option<&Onboarding>,
) -> Option<Keep> {
    let entry = entry.cloned().or_else(|| {
        onboarding.map(|o| ClusterEntry {
            name: o.name.clone(),
            oidc_provider_arn: o.oidc_provider_arn.clone(),
            namespace: o.namespace.clone(),
            service_account: o.service_account.clone(),
            role_arn: o.role_arn.clone(),
            service_accounts: o.service_accounts.clone(),
            mode: o.mode,
            cluster_role_arn: o.cluster_role_arn.clone(),
        })
    })?;
    Some(Keep {
        entry,
        mark: Pending {
            part: PendingPart::Cluster,
            cluster: recorded.and_then(|o| o.cluster.clone()),
            server: recorded.and_then(|o| o.server.clone()),
            config_map: recorded.and_then(|o| o.config_map.clone()),
        },
    })
}

/// The onboarding as far as choosing its cluster's context goes: its
/// role's, else what a pending km-config.yaml entry recorded (the role is
/// gone then, and the mark names the cluster it was made from). None for
/// onboardings that recorded no cluster: the current context is used.
pub fn recorded_onboarding(
    onboarding: Option<&Onboarding>,
    entry: Option<&ClusterEntry>,
    pending: Option<&Pending>,
) -> Option<Onboarding> {
    if let Some(o) = onboarding {
        return Some(o.clone());
    }
    let (entry, pending) = (entry?, pending?);
    Some(Onboarding {
        name: entry.name.clone(),
        provider_owned: None,
        role_name: entry
            .role_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        role_arn: entry.role_arn.clone(),
        namespace: entry.namespace.clone(),
        service_account: entry.service_account.clone(),
        service_accounts: entry.service_accounts.clone(),
        oidc_provider_arn: entry.oidc_provider_arn.clone(),
        issuer: String::new(),
        cluster: pending.cluster.clone(),
        server: pending.server.clone(),
        mode: entry.mode,
        cluster_role_arn: entry.cluster_role_arn.clone(),
        config_map: pending.config_map.clone(),
        session_tags: None,
        external_ids: Vec::new(),
        associations: Vec::new(),
    })
}

/// Nothing of the onboarding exists anywhere that was looked at (no role,
/// provider, km-config.yaml entry or ServiceAccount): kubectl delete's NotFound.
pub fn onboarded_nowhere(observed: &RemovalObserved) -> bool {
    observed.role.is_none()
        && observed.provider.is_none()
        && !observed.config_entry
        && !matches!(&observed.cluster, ClusterView::Found(found) if !found.is_empty())
}

/// The ServiceAccounts: deleted when this tool created them, released
/// (its annotations only) when it did not; the rest is said, not touched.
fn cluster_removal(observed: &RemovalObserved, steps: &mut Vec<Step>, notes: &mut Vec<String>) {
    let arn = observed.role_arn.as_str();
    let found = match &observed.cluster {
        ClusterView::Kept => {
            notes.push("ServiceAccount kept (--keep-service-account).".into());
            return;
        }
        ClusterView::Unreachable(why) => {
            notes.push(format!(
                "could not read the cluster ({why}): its ServiceAccount was not removed.{} Run `rm` again against that cluster's context to finish.",
                if observed.keep.is_some() {
                    " km-config.yaml keeps the entry, marked pending, until then."
                } else {
                    ""
                }
            ));
            return;
        }
        ClusterView::Found(found) => found,
    };
    for sa in found {
        let id = format!("{}/{}", sa.namespace, sa.name);
        // No role annotation is this onboarding's mark when EKS
        // associations serve its ServiceAccounts (`arn` is then empty).
        let marked = sa.role_arn.as_deref().unwrap_or_default() == arn;
        match &sa.role_arn {
            _ if marked && sa.created_by_us => steps.push(Step::new(
                Target::Cluster,
                Action::Delete,
                format!("ServiceAccount {id} (created by this tool)"),
                Some(Op::DeleteServiceAccount {
                    namespace: sa.namespace.clone(),
                    name: sa.name.clone(),
                    role_arn: arn.to_string(),
                }),
            )),
            Some(annotated) if annotated == arn => steps.push(Step::new(
                Target::Cluster,
                Action::Update,
                format!(
                    "ServiceAccount {id} (not created by this tool): remove this tool's annotations only, everything else stays"
                ),
                Some(Op::ReleaseServiceAccount {
                    namespace: sa.namespace.clone(),
                    name: sa.name.clone(),
                }),
            )),
            None if arn.is_empty() => notes.push(format!(
                "ServiceAccount {id} is left alone: this tool did not create it, and set nothing on it."
            )),
            annotated => notes.push(format!(
                "ServiceAccount {id} is left alone: it is annotated with {} now.",
                annotated.as_deref().unwrap_or("no role")
            )),
        }
    }
}

/// The removal plan, the notes that explain what stays and why, and what is
/// left unfinished. A cluster that could not be read does not stop the IAM
/// removal; the km-config.yaml entry then stays, marked pending, so the next
/// `rm` knows which ServiceAccount to release.
pub fn plan_removal(observed: &RemovalObserved) -> Result<Removal, PlanError> {
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    association_removal(observed, &mut steps, &mut notes);
    if let Some(role) = &observed.role {
        steps.extend(role_removal(role, &observed.name, Target::Iam)?);
    }
    if let Some(provider) = &observed.provider {
        match provider_removal(provider, Target::Iam) {
            Ok(step) => steps.push(step),
            Err(note) => notes.push(note),
        }
    }
    // The cluster role and its provider, in the cluster's account.
    if let Some(role) = &observed.cluster_role {
        steps.extend(role_removal(role, &observed.name, Target::ClusterIam)?);
    }
    if let Some(provider) = &observed.cluster_provider {
        match provider_removal(provider, Target::ClusterIam) {
            Ok(step) => steps.push(step),
            Err(note) => notes.push(note),
        }
    }

    cluster_removal(observed, &mut steps, &mut notes);
    for cm in observed.config_maps.iter().filter(|c| c.of(&observed.name)) {
        steps.push(Step::new(
            Target::Cluster,
            Action::Delete,
            format!(
                "ConfigMap {}/{} (created by this tool)",
                cm.namespace, cm.name
            ),
            Some(Op::DeleteConfigMap {
                namespace: cm.namespace.clone(),
                name: cm.name.clone(),
                onboarding: observed.name.clone(),
            }),
        ));
    }

    let unreachable = match &observed.cluster {
        ClusterView::Unreachable(why) => Some(why),
        _ => None,
    };
    let kept = observed.keep.as_ref().filter(|_| unreachable.is_some());
    match (kept, observed.config_entry) {
        (Some(keep), had_entry) => steps.push(pending_step(observed, keep, had_entry)),
        (None, true) => steps.push(Step::new(
            Target::Local,
            Action::Delete,
            format!("km-config.yaml entry {}", observed.name),
            Some(Op::RemoveConfigEntry {
                name: observed.name.clone(),
            }),
        )),
        (None, false) => {}
    }
    // Something of the onboarding was found, so its cluster part exists or
    // may: not knowing is not done.
    let something = observed.role.is_some()
        || observed.provider.is_some()
        || observed.config_entry
        || !observed.associations.is_empty();
    Ok(Removal {
        plan: Plan {
            steps,
            warnings: Vec::new(),
        },
        notes,
        unfinished: unreachable.filter(|_| something).map(|why| Unfinished {
            part: PendingPart::Cluster,
            why: why.clone(),
            entry_kept: kept.is_some(),
        }),
    })
}

/// The associations whose tags prove the onboarding go first (they name
/// both roles); any other is said and left alone.
fn association_removal(observed: &RemovalObserved, steps: &mut Vec<Step>, notes: &mut Vec<String>) {
    for found in &observed.associations {
        let a = &found.association;
        let id = format!("{}/{}", a.namespace, a.service_account);
        if !crate::inventory::proves(&found.owner, &observed.name) {
            notes.push(format!(
                "Pod Identity association {} for {id} is left alone: it is not this onboarding's (its tags do not name `{}`).",
                a.id, observed.name
            ));
            continue;
        }
        steps.push(Step::new(
            Target::Eks,
            Action::Delete,
            format!("Pod Identity association {} for {id}", a.id),
            Some(Op::DeleteAssociation {
                cluster: found.cluster.clone(),
                id: a.id.clone(),
                owner: observed.name.clone(),
            }),
        ));
    }
}

/// The steps that remove an onboarding's role from one account's IAM:
/// its policies, its instance profiles, then the role. The first write and
/// DeleteRole re-read the role's tags: the plan may be minutes old (a
/// prompt), and another onboarding may have claimed the role meanwhile.
pub fn role_removal(
    role: &RoleToRemove,
    name: &str,
    target: Target,
) -> Result<Vec<Step>, PlanError> {
    let account = target.account_word();
    if !role.owned {
        return Err(PlanError::RoleNotOwned {
            role: role.role_name.clone(),
            account,
        });
    }
    if role.name_tag.as_deref() != Some(name) {
        return Err(PlanError::RoleOfOtherOnboarding {
            role: role.role_name.clone(),
            name: name.to_string(),
            other: role.name_tag.clone(),
        });
    }
    let iam = |action, summary: String, op| Step::new(target, action, summary, Some(op));
    let mut steps = Vec::new();
    let r = &role.role_name;
    let mut owner = Some(name.to_string());
    for arn in &role.attached_policies {
        steps.push(iam(
            Action::Delete,
            format!("detach policy {arn}"),
            Op::DetachPolicy {
                role: r.clone(),
                arn: arn.clone(),
                owner: owner.take(),
            },
        ));
    }
    for policy in &role.inline_policies {
        steps.push(iam(
            Action::Delete,
            format!("inline policy {policy} of role {r}"),
            Op::DeleteInlinePolicy {
                role: r.clone(),
                name: policy.clone(),
                owner: owner.take(),
            },
        ));
    }
    for profile in &role.instance_profiles {
        steps.push(iam(
            Action::Delete,
            format!("remove role {r} from instance profile {profile}"),
            Op::RemoveRoleFromInstanceProfile {
                role: r.clone(),
                profile: profile.clone(),
                owner: owner.take(),
            },
        ));
    }
    steps.push(iam(
        Action::Delete,
        format!("role {r} ({})", role.arn),
        Op::DeleteRole {
            role: r.clone(),
            owner: name.to_string(),
        },
    ));
    Ok(steps)
}

/// The step that deletes a provider this tool created and nothing else
/// trusts (checked again right before deleting), or the note saying why it stays.
pub fn provider_removal(provider: &ProviderToRemove, target: Target) -> Result<Step, String> {
    if !provider.owned {
        return Err(format!(
            "OIDC provider {} was not created by this tool: it is never deleted.",
            provider.arn
        ));
    }
    if !provider.trusted_by.is_empty() {
        return Err(format!(
            "OIDC provider {} is kept: still trusted by {}.",
            provider.arn,
            provider.trusted_by.join(", ")
        ));
    }
    Ok(Step::new(
        target,
        Action::Delete,
        format!(
            "OIDC provider {} (created by this tool, no other role trusts it; checked again right before deleting)",
            provider.arn
        ),
        Some(Op::DeleteProvider {
            arn: provider.arn.clone(),
        }),
    ))
}

/// The local step when the cluster part is left: the entry stays (or is
/// written, when this workstation had none) with a pending mark naming the
/// recorded cluster; unchanged when an earlier run marked it so already.
fn pending_step(observed: &RemovalObserved, keep: &Keep, had_entry: bool) -> Step {
    let name = &observed.name;
    if had_entry && observed.pending.as_ref() == Some(&keep.mark) {
        return Step::new(
            Target::Local,
            Action::Unchanged,
            format!("km-config.yaml entry {name}: pending its cluster part"),
            None,
        );
    }
    Step::new(
        Target::Local,
        if had_entry {
            Action::Update
        } else {
            Action::Create
        },
        format!(
            "km-config.yaml entry {name}: kept, marked pending its cluster part (the next `rm` finishes it)"
        ),
        Some(Op::MarkConfigEntryPending {
            entry: keep.entry.clone(),
            pending: keep.mark.clone(),
        }),
    )
}

/// What a NotFound says about the cluster: which context was looked at, or
/// why none was.
pub fn cluster_looked_at(view: &ClusterView, context: Option<&str>) -> String {
    match view {
        ClusterView::Found(_) => format!(
            "the ServiceAccounts of context `{}`",
            context.unwrap_or("?")
        ),
        ClusterView::Kept => "(ServiceAccounts not looked at: --keep-service-account)".into(),
        ClusterView::Unreachable(why) => format!("(the cluster could not be checked: {why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_looked_at_in_the_cluster() {
        assert_eq!(
            cluster_looked_at(&ClusterView::Found(vec![]), Some("ctx")),
            "the ServiceAccounts of context `ctx`"
        );
        assert!(cluster_looked_at(&ClusterView::Kept, None).contains("--keep-service-account"));
        assert!(
            cluster_looked_at(&ClusterView::Unreachable("refused".into()), None)
                .contains("could not be checked: refused")
        );
    }

    const ROLE_ARN: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    fn role() -> RoleToRemove {
        RoleToRemove {
            role_name: "km-cluster-dev".into(),
            arn: ROLE_ARN.into(),
            owned: true,
            name_tag: Some("dev".into()),
            attached_policies: BTreeSet::from(["arn:p1".to_string(), "arn:p2".to_string()]),
            inline_policies: vec!["inline".into()],
            instance_profiles: vec!["ip".into()],
        }
    }

    fn sa(name: &str, role_arn: Option<&str>) -> FoundServiceAccount {
        FoundServiceAccount {
            namespace: "ai-pods".into(),
            name: name.into(),
            role_arn: role_arn.map(str::to_string),
            created_by_us: true,
        }
    }

    fn full() -> RemovalObserved {
        RemovalObserved {
            name: "dev".into(),
            role_arn: ROLE_ARN.into(),
            role: Some(role()),
            provider: Some(ProviderToRemove {
                arn: "arn:provider".into(),
                owned: true,
                trusted_by: vec![],
            }),
            cluster: ClusterView::Found(vec![sa("km", Some(ROLE_ARN))]),
            config_entry: true,
            keep: Some(keep()),
            ..RemovalObserved::default()
        }
    }

    const CLUSTER: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";

    fn entry() -> ClusterEntry {
        ClusterEntry {
            name: "dev".into(),
            oidc_provider_arn: "arn:aws:iam::222222222222:oidc-provider/o.example.com/id/A".into(),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            role_arn: ROLE_ARN.into(),
            ..ClusterEntry::default()
        }
    }

    fn pending() -> Pending {
        Pending {
            part: PendingPart::Cluster,
            cluster: Some(CLUSTER.into()),
            server: None,
            config_map: None,
        }
    }

    fn keep() -> Keep {
        Keep {
            entry: entry(),
            mark: pending(),
        }
    }

    fn planned(observed: &RemovalObserved) -> (Plan, Vec<String>) {
        let removal = plan_removal(observed).unwrap();
        (removal.plan, removal.notes)
    }

    fn ops(plan: &Plan) -> Vec<&Op> {
        plan.changes().filter_map(|s| s.op.as_ref()).collect()
    }

    #[test]
    fn removes_everything_in_dependency_order() {
        let (plan, notes) = planned(&full());
        let kinds: Vec<&str> = ops(&plan)
            .iter()
            .map(|op| match op {
                Op::DetachPolicy { .. } => "detach",
                Op::DeleteInlinePolicy { .. } => "inline",
                Op::RemoveRoleFromInstanceProfile { .. } => "profile",
                Op::DeleteRole { .. } => "role",
                Op::DeleteProvider { .. } => "provider",
                Op::DeleteServiceAccount { .. } => "sa",
                Op::RemoveConfigEntry { .. } => "config",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "detach", "detach", "inline", "profile", "role", "provider", "sa", "config"
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn shared_or_foreign_providers_are_kept() {
        let mut obs = full();
        obs.provider.as_mut().unwrap().trusted_by = vec!["km-cluster-other".into()];
        let (plan, notes) = planned(&obs);
        assert!(
            !ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteProvider { .. }))
        );
        assert!(
            notes[0].contains("still trusted by km-cluster-other"),
            "{notes:?}"
        );

        let mut obs = full();
        obs.provider.as_mut().unwrap().owned = false;
        let (plan, notes) = planned(&obs);
        assert!(
            !ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteProvider { .. }))
        );
        assert!(notes[0].contains("never deleted"), "{notes:?}");
    }

    #[test]
    fn foreign_role_is_refused() {
        let mut obs = full();
        obs.role.as_mut().unwrap().owned = false;
        assert!(matches!(
            plan_removal(&obs),
            Err(PlanError::RoleNotOwned { .. })
        ));
    }

    #[test]
    fn service_accounts_owned_by_others_and_unreachable_clusters_are_noted() {
        let mut obs = full();
        obs.cluster = ClusterView::Found(vec![
            sa("km", Some("arn:aws:iam::333333333333:role/other")),
            sa("x", None),
        ]);
        let (plan, notes) = planned(&obs);
        assert!(
            !ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteServiceAccount { .. }))
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("role/other"));

        obs.cluster = ClusterView::Unreachable("connection refused".into());
        let (plan, notes) = planned(&obs);
        assert!(
            ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteRole { .. })),
            "IAM cleanup proceeds"
        );
        assert!(notes[0].contains("connection refused"));

        obs.cluster = ClusterView::Kept;
        let (_, notes) = planned(&obs);
        assert!(notes[0].contains("--keep-service-account"));
    }

    #[test]
    fn another_onboardings_role_is_refused_before_any_write() {
        let mut obs = full();
        obs.role.as_mut().unwrap().name_tag = Some("b".into());
        assert_eq!(
            plan_removal(&obs).unwrap_err(),
            PlanError::RoleOfOtherOnboarding {
                role: "km-cluster-dev".into(),
                name: "dev".into(),
                other: Some("b".into()),
            }
        );
        let mut obs = full();
        obs.role.as_mut().unwrap().name_tag = None;
        assert!(plan_removal(&obs).is_err());
    }

    #[test]
    fn the_first_write_and_delete_role_recheck_the_name_tag() {
        let (plan, _) = planned(&full());
        let owners: Vec<Option<&str>> = ops(&plan)
            .iter()
            .filter_map(|op| match op {
                Op::DetachPolicy { owner, .. }
                | Op::DeleteInlinePolicy { owner, .. }
                | Op::RemoveRoleFromInstanceProfile { owner, .. } => Some(owner.as_deref()),
                Op::DeleteRole { owner, .. } => Some(Some(owner.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(owners, [Some("dev"), None, None, None, Some("dev")]);
    }

    #[test]
    fn a_service_account_it_did_not_create_is_released_not_deleted() {
        let mut obs = full();
        let mut found = sa("km", Some(ROLE_ARN));
        found.created_by_us = false;
        obs.cluster = ClusterView::Found(vec![found]);
        let (plan, _) = planned(&obs);
        let cluster: Vec<&Op> = ops(&plan)
            .into_iter()
            .filter(|op| {
                matches!(
                    op,
                    Op::DeleteServiceAccount { .. } | Op::ReleaseServiceAccount { .. }
                )
            })
            .collect();
        assert_eq!(
            cluster,
            [&Op::ReleaseServiceAccount {
                namespace: "ai-pods".into(),
                name: "km".into()
            }]
        );
    }

    #[test]
    fn nothing_left_is_a_noop() {
        let obs = RemovalObserved {
            name: "dev".into(),
            cluster: ClusterView::Found(vec![]),
            ..RemovalObserved::default()
        };
        let (plan, _) = planned(&obs);
        assert!(plan.is_noop());
    }

    #[test]
    fn half_removed_onboarding_finishes() {
        // Role already gone; the ServiceAccount is still found by the role ARN.
        let obs = RemovalObserved {
            name: "dev".into(),
            role_arn: ROLE_ARN.into(),
            role: None,
            provider: None,
            cluster: ClusterView::Found(vec![sa("km", Some(ROLE_ARN))]),
            config_entry: true,
            ..RemovalObserved::default()
        };
        let (plan, _) = planned(&obs);
        assert!(matches!(
            ops(&plan)[..],
            [
                Op::DeleteServiceAccount { .. },
                Op::RemoveConfigEntry { .. }
            ]
        ));
    }

    #[test]
    fn an_unreachable_cluster_keeps_the_entry_marked_pending_and_is_unfinished() {
        let mut obs = full();
        obs.cluster = ClusterView::Unreachable("connection refused".into());
        let removal = plan_removal(&obs).unwrap();
        let ops = ops(&removal.plan);
        assert!(ops.iter().any(|op| matches!(op, Op::DeleteRole { .. })));
        assert!(
            !ops.iter()
                .any(|op| matches!(op, Op::RemoveConfigEntry { .. })),
            "the entry must stay"
        );
        assert_eq!(
            ops.last(),
            Some(&&Op::MarkConfigEntryPending {
                entry: entry(),
                pending: pending(),
            })
        );
        assert_eq!(
            removal.unfinished,
            Some(Unfinished {
                part: PendingPart::Cluster,
                why: "connection refused".into(),
                entry_kept: true
            })
        );
        assert!(removal.notes[0].contains("keeps the entry, marked pending"));
    }

    #[test]
    fn without_an_entry_here_the_pending_record_is_written_from_the_role() {
        let mut obs = full();
        obs.config_entry = false;
        obs.cluster = ClusterView::Unreachable("refused".into());
        let removal = plan_removal(&obs).unwrap();
        let last = removal.plan.steps.last().unwrap();
        assert_eq!((last.target, last.action), (Target::Local, Action::Create));
        // Nothing to record from: exit 3 all the same, no entry invented.
        obs.keep = None;
        let removal = plan_removal(&obs).unwrap();
        assert!(
            !ops(&removal.plan)
                .iter()
                .any(|op| matches!(op, Op::MarkConfigEntryPending { .. }))
        );
        assert_eq!(removal.unfinished.map(|u| u.entry_kept), Some(false));
    }

    #[test]
    fn a_rerun_still_without_the_cluster_writes_nothing_and_stays_unfinished() {
        let obs = RemovalObserved {
            name: "dev".into(),
            role_arn: ROLE_ARN.into(),
            cluster: ClusterView::Unreachable("refused".into()),
            config_entry: true,
            pending: Some(pending()),
            keep: Some(keep()),
            ..RemovalObserved::default()
        };
        let removal = plan_removal(&obs).unwrap();
        assert!(removal.plan.is_noop(), "{:?}", removal.plan.steps);
        assert_eq!(removal.plan.steps[0].action, Action::Unchanged);
        assert!(removal.unfinished.is_some());
    }

    #[test]
    fn a_rerun_against_the_cluster_releases_then_removes_the_entry() {
        let mut found = sa("km", Some(ROLE_ARN));
        found.created_by_us = false;
        let obs = RemovalObserved {
            name: "dev".into(),
            role_arn: ROLE_ARN.into(),
            cluster: ClusterView::Found(vec![found]),
            config_entry: true,
            pending: Some(pending()),
            keep: Some(keep()),
            ..RemovalObserved::default()
        };
        let removal = plan_removal(&obs).unwrap();
        assert!(matches!(
            ops(&removal.plan)[..],
            [
                Op::ReleaseServiceAccount { .. },
                Op::RemoveConfigEntry { .. }
            ]
        ));
        assert_eq!(removal.unfinished, None);
    }

    #[test]
    fn keeping_the_service_account_or_finding_nothing_is_finished() {
        let mut obs = full();
        obs.cluster = ClusterView::Kept;
        let removal = plan_removal(&obs).unwrap();
        assert!(
            ops(&removal.plan)
                .iter()
                .any(|op| matches!(op, Op::RemoveConfigEntry { .. }))
        );
        assert_eq!(removal.unfinished, None);
        // Onboarded nowhere, cluster unknown: nothing was found to finish.
        let obs = RemovalObserved {
            name: "dev".into(),
            cluster: ClusterView::Unreachable("refused".into()),
            ..RemovalObserved::default()
        };
        assert_eq!(plan_removal(&obs).unwrap().unfinished, None);
    }

    fn onboarding() -> Onboarding {
        Onboarding {
            name: "dev".into(),
            provider_owned: Some(true),
            role_name: "km-cluster-dev".into(),
            role_arn: ROLE_ARN.into(),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            service_accounts: Vec::new(),
            oidc_provider_arn: "arn:aws:iam::333333333333:oidc-provider/o.example.com/id/A".into(),
            issuer: "https://o.example.com/id/A".into(),
            cluster: Some(CLUSTER.into()),
            server: None,
            mode: Default::default(),
            cluster_role_arn: None,
            config_map: None,
            session_tags: None,
            external_ids: Vec::new(),
            associations: Vec::new(),
        }
    }

    #[test]
    fn recorded_subjects_skip_wildcards_and_unknowns_and_dedupe() {
        let mut wide = entry();
        wide.namespace = "*".into();
        assert!(recorded_subjects(None, Some(&wide)).is_empty());
        let mut unknown = onboarding();
        unknown.namespace = "?".into();
        assert!(recorded_subjects(Some(&unknown), None).is_empty());
        let mut other = entry();
        other.service_account = "km-b".into();
        assert_eq!(
            recorded_subjects(Some(&onboarding()), Some(&entry())),
            [("ai-pods".to_string(), "km".to_string())]
        );
        assert_eq!(
            recorded_subjects(Some(&onboarding()), Some(&other)).len(),
            2
        );
    }

    fn seen(name: &str, role_arn: Option<&str>) -> Seen {
        let mut observed = ObservedServiceAccount::default();
        if let Some(arn) = role_arn {
            observed
                .annotations
                .insert(ROLE_ARN_ANNOTATION.into(), arn.into());
        }
        Seen {
            namespace: "ai-pods".into(),
            name: name.into(),
            observed,
        }
    }

    #[test]
    fn seen_service_accounts_merge_once_and_only_the_onboardings_count() {
        let merged = merge_seen(
            vec![seen("km", Some(ROLE_ARN))],
            vec![
                Some(seen("km", Some(ROLE_ARN))),
                None,
                Some(seen("pre", None)),
            ],
        );
        assert_eq!(merged.len(), 2);
        let recorded = [("ai-pods".to_string(), "pre".to_string())];
        let mut all = merged;
        all.push(seen("unrelated", Some("arn:aws:iam::333333333333:role/x")));
        let ours = service_accounts_of(all, ROLE_ARN, &recorded);
        let names: Vec<(&str, Option<&str>, bool)> = ours
            .iter()
            .map(|f| (f.name.as_str(), f.role_arn.as_deref(), f.created_by_us))
            .collect();
        assert_eq!(names, [("km", Some(ROLE_ARN), false), ("pre", None, false)]);
    }

    #[test]
    fn the_named_provider_is_the_roles_else_km_configs_issuers_and_must_exist() {
        let klanker = "arn:aws:iam::333333333333:oidc-provider/o.example.com/id/A".to_string();
        let exists = std::slice::from_ref(&klanker);
        let ids = ("aws", "333333333333");
        assert_eq!(
            named_provider(Some(&onboarding()), None, ids, exists),
            Some(klanker.clone())
        );
        // km-config.yaml records the cluster account's provider: the klanker
        // account's for the same issuer is named here.
        assert_eq!(
            named_provider(None, Some(&entry()), ids, exists),
            Some(klanker.clone())
        );
        assert_eq!(named_provider(None, Some(&entry()), ids, &[]), None);
        let mut bad = entry();
        bad.oidc_provider_arn = "not an arn".into();
        assert_eq!(named_provider(None, Some(&bad), ids, &[klanker]), None);
    }

    #[test]
    fn a_left_over_provider_is_looked_for_only_when_nothing_names_one_and_this_is_the_cluster() {
        let annotated = [seen("km", Some(ROLE_ARN))];
        let other = [seen("km", Some("arn:aws:iam::333333333333:role/x"))];
        let clues = LeftOverClues {
            seen: Some(&annotated),
            expected_role_arn: ROLE_ARN,
            ..LeftOverClues::default()
        };
        assert!(look_for_left_over_provider(&clues));
        for blocked in [
            LeftOverClues {
                provider_named: true,
                ..clues
            },
            LeftOverClues {
                role_exists: true,
                ..clues
            },
            LeftOverClues {
                config_entry: true,
                ..clues
            },
            LeftOverClues {
                seen: Some(&other),
                ..clues
            },
            LeftOverClues {
                seen: None,
                ..clues
            },
        ] {
            assert!(!look_for_left_over_provider(&blocked), "{blocked:?}");
        }
        assert!(look_for_left_over_provider(&LeftOverClues {
            seen: None,
            context_is_named_cluster: true,
            ..clues
        }));
    }

    #[test]
    fn the_recorded_cluster_is_the_roles_else_the_pending_marks() {
        let from_role = recorded_onboarding(Some(&onboarding()), Some(&entry()), None);
        assert_eq!(from_role, Some(onboarding()));
        let mut mark = pending();
        mark.server = Some("https://api.example.com".into());
        let from_mark = recorded_onboarding(None, Some(&entry()), Some(&mark)).unwrap();
        assert_eq!(from_mark.cluster.as_deref(), Some(CLUSTER));
        assert_eq!(from_mark.server.as_deref(), Some("https://api.example.com"));
        assert_eq!(from_mark.role_name, "km-cluster-dev");
        // An entry that is not pending records no cluster.
        assert_eq!(recorded_onboarding(None, Some(&entry()), None), None);
    }

    #[test]
    fn a_pending_mark_keeps_the_entry_else_the_roles_record_and_the_recorded_cluster() {
        let from_entry = keep_of(Some(&entry()), Some(&onboarding()), Some(&onboarding()));
        assert_eq!(from_entry, Some(keep()));
        let from_role = keep_of(None, Some(&onboarding()), Some(&onboarding())).unwrap();
        assert_eq!(from_role.entry.role_arn, ROLE_ARN);
        assert_eq!(
            from_role.entry.oidc_provider_arn,
            onboarding().oidc_provider_arn
        );
        assert_eq!(from_role.mark.cluster.as_deref(), Some(CLUSTER));
        // An onboarding that recorded no cluster: the mark names none.
        assert_eq!(
            keep_of(Some(&entry()), None, None).unwrap().mark.cluster,
            None
        );
        assert_eq!(keep_of(None, None, Some(&onboarding())), None);
    }

    #[test]
    fn onboarded_nowhere_only_when_nothing_is_left() {
        let nothing = RemovalObserved {
            name: "dev".into(),
            role_arn: ROLE_ARN.into(),
            cluster: ClusterView::Found(vec![]),
            ..RemovalObserved::default()
        };
        assert!(onboarded_nowhere(&nothing));
        let entry = RemovalObserved {
            config_entry: true,
            ..nothing.clone()
        };
        assert!(!onboarded_nowhere(&entry));
        let role = RemovalObserved {
            role: Some(RoleToRemove::default()),
            ..nothing.clone()
        };
        assert!(!onboarded_nowhere(&role));
        // Half-removed: only the ServiceAccount is left.
        let sa_only = RemovalObserved {
            cluster: ClusterView::Found(vec![sa("km", Some(ROLE_ARN))]),
            ..nothing.clone()
        };
        assert!(!onboarded_nowhere(&sa_only));
        for unseen in [
            ClusterView::Kept,
            ClusterView::Unreachable("refused".into()),
        ] {
            assert!(onboarded_nowhere(&RemovalObserved {
                cluster: unseen,
                ..nothing.clone()
            }));
        }
    }

    #[test]
    fn every_recorded_subject_of_several_is_read_and_kept_when_pending() {
        let mut o = onboarding();
        o.service_accounts = vec!["ai-pods:km".into(), "ci:b".into(), "ai-pods:ci-*".into()];
        let mut e = entry();
        e.service_accounts = vec!["ai-pods:km".into(), "other:c".into()];
        assert_eq!(
            recorded_subjects(Some(&o), Some(&e)),
            [
                ("ai-pods".to_string(), "km".to_string()),
                ("ci".to_string(), "b".to_string()),
                ("other".to_string(), "c".to_string())
            ]
        );
        // A pending mark made from the role keeps the whole list.
        let keep = keep_of(None, Some(&o), Some(&o)).unwrap();
        assert_eq!(keep.entry.service_accounts, o.service_accounts);
        let back = recorded_onboarding(None, Some(&keep.entry), Some(&keep.mark)).unwrap();
        assert_eq!(back.subjects().len(), 3);
    }
}
