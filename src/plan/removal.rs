//! Pure: what `rm` removes, in order, and what it deliberately leaves.

use std::collections::BTreeSet;

use super::{Action, Op, Plan, PlanError, Step, Target};

/// What exists now for the onboarding being removed.
#[derive(Debug, Clone, Default)]
pub struct RemovalObserved {
    pub name: String,
    /// The onboarding's role ARN (from the role, km-config.yaml or the
    /// default name): ServiceAccounts annotated with it are ours to delete.
    pub role_arn: String,
    pub role: Option<RoleToRemove>,
    pub provider: Option<ProviderToRemove>,
    pub cluster: ClusterView,
    pub config_entry: bool,
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

#[derive(Debug, Clone, Default)]
pub struct ProviderToRemove {
    pub arn: String,
    /// Carries the tool's managed-by tag.
    pub owned: bool,
    /// Other roles whose trust policy names this provider.
    pub trusted_by: Vec<String>,
}

/// The ServiceAccounts carrying this tool's label, as far as the cluster could be read.
#[derive(Debug, Clone, Default)]
pub enum ClusterView {
    /// `--keep-service-account`.
    #[default]
    Kept,
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

/// The removal plan and the notes that explain what stays and why.
pub fn plan_removal(observed: &RemovalObserved) -> Result<(Plan, Vec<String>), PlanError> {
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let iam = |action, summary: String, op| Step::new(Target::Iam, action, summary, Some(op));

    if let Some(role) = &observed.role {
        if !role.owned {
            return Err(PlanError::RoleNotOwned {
                role: role.role_name.clone(),
            });
        }
        if role.name_tag.as_deref() != Some(observed.name.as_str()) {
            return Err(PlanError::RoleOfOtherOnboarding {
                role: role.role_name.clone(),
                name: observed.name.clone(),
                other: role.name_tag.clone(),
            });
        }
        let r = &role.role_name;
        // The first write and DeleteRole re-read the role's tags: the plan
        // may be minutes old (a prompt), and another onboarding may have
        // claimed the role meanwhile.
        let mut owner = Some(observed.name.clone());
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
        for name in &role.inline_policies {
            steps.push(iam(
                Action::Delete,
                format!("delete inline policy {name} of role {r}"),
                Op::DeleteInlinePolicy {
                    role: r.clone(),
                    name: name.clone(),
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
                owner: observed.name.clone(),
            },
        ));
    }

    if let Some(provider) = &observed.provider {
        if !provider.owned {
            notes.push(format!(
                "OIDC provider {} was not created by this tool: it is never deleted.",
                provider.arn
            ));
        } else if !provider.trusted_by.is_empty() {
            notes.push(format!(
                "OIDC provider {} is kept: still trusted by {}.",
                provider.arn,
                provider.trusted_by.join(", ")
            ));
        } else {
            steps.push(iam(
                Action::Delete,
                format!(
                    "OIDC provider {} (created by this tool, no other role trusts it; checked again right before deleting)",
                    provider.arn
                ),
                Op::DeleteProvider {
                    arn: provider.arn.clone(),
                },
            ));
        }
    }

    let role_arn = Some(observed.role_arn.as_str());
    match &observed.cluster {
        ClusterView::Kept => notes.push("ServiceAccount kept (--keep-service-account).".into()),
        ClusterView::Unreachable(why) => notes.push(format!(
            "could not read the cluster ({why}): its ServiceAccount was not removed. Run `rm` again against that cluster's context to finish."
        )),
        ClusterView::Found(found) => {
            for sa in found {
                let id = format!("{}/{}", sa.namespace, sa.name);
                match (&sa.role_arn, role_arn) {
                    (Some(annotated), Some(arn)) if annotated == arn && sa.created_by_us => {
                        steps.push(Step::new(
                            Target::Cluster,
                            Action::Delete,
                            format!("ServiceAccount {id} (created by this tool)"),
                            Some(Op::DeleteServiceAccount {
                                namespace: sa.namespace.clone(),
                                name: sa.name.clone(),
                                role_arn: arn.to_string(),
                            }),
                        ))
                    }
                    (Some(annotated), Some(arn)) if annotated == arn => steps.push(Step::new(
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
                    (annotated, _) => notes.push(format!(
                        "ServiceAccount {id} is left alone: it is annotated with {} now.",
                        annotated.as_deref().unwrap_or("no role")
                    )),
                }
            }
        }
    }

    if observed.config_entry {
        steps.push(Step::new(
            Target::Local,
            Action::Delete,
            format!("km-config.yaml entry {}", observed.name),
            Some(Op::RemoveConfigEntry {
                name: observed.name.clone(),
            }),
        ));
    }
    Ok((
        Plan {
            steps,
            warnings: Vec::new(),
        },
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    fn ops(plan: &Plan) -> Vec<&Op> {
        plan.changes().filter_map(|s| s.op.as_ref()).collect()
    }

    #[test]
    fn removes_everything_in_dependency_order() {
        let (plan, notes) = plan_removal(&full()).unwrap();
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
        let (plan, notes) = plan_removal(&obs).unwrap();
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
        let (plan, notes) = plan_removal(&obs).unwrap();
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
        let (plan, notes) = plan_removal(&obs).unwrap();
        assert!(
            !ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteServiceAccount { .. }))
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("role/other"));

        obs.cluster = ClusterView::Unreachable("connection refused".into());
        let (plan, notes) = plan_removal(&obs).unwrap();
        assert!(
            ops(&plan)
                .iter()
                .any(|op| matches!(op, Op::DeleteRole { .. })),
            "IAM cleanup proceeds"
        );
        assert!(notes[0].contains("connection refused"));

        obs.cluster = ClusterView::Kept;
        let (_, notes) = plan_removal(&obs).unwrap();
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
        let (plan, _) = plan_removal(&full()).unwrap();
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
        let (plan, _) = plan_removal(&obs).unwrap();
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
        let (plan, _) = plan_removal(&obs).unwrap();
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
        };
        let (plan, _) = plan_removal(&obs).unwrap();
        assert!(matches!(
            ops(&plan)[..],
            [
                Op::DeleteServiceAccount { .. },
                Op::RemoveConfigEntry { .. }
            ]
        ));
    }
}
