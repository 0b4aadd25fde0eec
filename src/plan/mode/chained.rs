//! Chained mode, the second planner for `add`: role A (`km-irsa-NAME`) in
//! the cluster's account trusts the cluster's own OIDC provider and may
//! only assume role B; role B (`km-cluster-NAME`) in the klanker account
//! trusts role A. No provider in the klanker account. The ServiceAccount is
//! annotated with role A, and a ConfigMap beside it holds the AWS config
//! file whose profile chain pods follow.
//!
//! Leaving chained mode (`add` of another mode): role A goes, and the
//! cluster's provider if ours and unused.

pub mod names;
pub mod policy;
pub mod recognise;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Mode;
use super::cluster_role;
use crate::cli::PolicyArgs;
use crate::permissions::{ClusterRoleScope, ClusterRoles, Rule};
use crate::plan::add::{self, AddPlan, KlankerSide};
use crate::plan::removal::{self, ProviderToRemove, RoleToRemove};
use crate::plan::snapshot::{AddSnapshot, ClusterAccount};
use crate::plan::{Desired, DesiredConfigMap, PlanError, Step, Target};
use crate::resolve::add::{AddRequest, ClusterRoleRequest as ChainedNames, ModeFlags};
use crate::trust::{
    self, MANAGED_BY_TAG, MANAGED_BY_VALUE, TrustMode, ValidationError, chain, validate,
};

/// Role A in the cluster's account, role B in the klanker account.
pub struct Chained;

impl ModeFlags for Chained {
    fn resolve_flags(
        &self,
        args: &crate::cli::AddArgs,
        name: &str,
    ) -> Result<crate::resolve::add::ModeRequest, crate::resolve::ResolveError> {
        resolve::resolve(args, name)
    }
}

impl Mode for Chained {
    fn plan_add(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
        plan(req, cluster_role::names_of(TrustMode::Chained, req)?, snap)
    }

    /// Role A trusts the cluster account's own provider, ensured there.
    fn provider_account(&self) -> Option<Target> {
        Some(Target::ClusterIam)
    }

    fn plan_leave(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<Vec<Step>, PlanError> {
        match snap.cluster_account.as_ref() {
            Some(side) => leave(req, side),
            None => Ok(Vec::new()),
        }
    }

    // `policy`: see `policy.rs`.
    fn policy_flags(&self, args: &PolicyArgs) -> Vec<(&'static str, bool)> {
        policy::flags(args)
    }

    fn cluster_roles(&self) -> Option<ClusterRoles> {
        Some(policy::ROLES)
    }

    fn cluster_role_statements(&self, scope: &ClusterRoleScope) -> Vec<Value> {
        policy::statements(scope)
    }

    fn cluster_boundary_policy(&self, partition: &str, klanker_account: &str) -> Option<Value> {
        Some(policy::boundary_policy(partition, klanker_account))
    }

    fn rbac_rules(&self, args: &PolicyArgs) -> Result<Vec<Rule>, ValidationError> {
        policy::rbac_rules(args)
    }
}

/// The plan of `add --mode chained`.
fn plan(
    req: &AddRequest,
    chained: &ChainedNames,
    snap: &AddSnapshot,
) -> Result<AddPlan, PlanError> {
    let klanker = &snap.identity;
    let side = cluster_role::checked_side(
        TrustMode::Chained,
        req,
        snap.cluster_account.as_ref(),
        klanker,
        &chained.cluster_role_name,
    )?;
    let role_a = role_a(req, chained, snap, side)?;
    let cluster_steps = crate::plan::plan(&role_a, &side.observed)?;
    let role_b_arn = trust::role_arn(&klanker.partition, &klanker.account, &req.role_name);
    let config = chain::aws_config(&role_b_arn, &role_a.role_arn, &req.name);
    let side_b = KlankerSide {
        trust_policy: chain::klanker_trust_policy(
            &klanker.partition,
            &side.identity.account,
            &role_a.role_arn,
        ),
        description: names::chained_role_description(&req.name, &req.scopes),
        annotated_role: Some(role_a.role_arn.clone()),
        provider_arn: role_a.provider_arn.clone(),
        config_map: Some(DesiredConfigMap {
            name: chained
                .config_map
                .clone()
                .unwrap_or_else(|| chain::DEFAULT_CONFIG_MAP.to_string()),
            data: BTreeMap::from([(chain::CONFIG_MAP_KEY.to_string(), config)]),
        }),
        cluster_role_arn: Some(role_a.role_arn.clone()),
        tags: BTreeMap::new(),
        entry_provider_arn: role_a.provider_arn.clone(),
    };
    let mut add = add::plan_klanker(req, snap, side_b)?;
    // Role A's steps and warnings come first: role B names it.
    let mut steps = cluster_steps.steps;
    steps.append(&mut add.plan.steps);
    add.plan.steps = steps;
    let mut warnings = cluster_steps.warnings;
    warnings.append(&mut add.plan.warnings);
    add.plan.warnings = warnings.clone();
    warnings.append(&mut add.warnings);
    warnings.extend(add::near_quota(
        &role_a.trust_policy,
        role_a_trust_limit(req, side).value,
    ));
    if !chained
        .cluster_role_name
        .starts_with(names::CLUSTER_ROLE_PREFIX)
    {
        warnings.push(format!(
            "--cluster-role-name {}: the cluster-side policy `policy --for cluster --mode chained` prints covers only roles named {}*.",
            chained.cluster_role_name,
            names::CLUSTER_ROLE_PREFIX
        ));
    }
    add.warnings = warnings;
    add.cluster_role_arn = Some(role_a.role_arn);
    add.cluster_provider = true;
    add.cluster_account = Some(side.identity.account.clone());
    Ok(add)
}

/// Role A's trust is checked against the cluster account's quota.
fn role_a_trust_limit(req: &AddRequest, side: &ClusterAccount) -> crate::plan::quota::Quota {
    crate::plan::quota::trust_limit(req.max_trust_policy_size, side.trust_quota.as_ref())
}

/// Role A as it should be in the cluster's account: trusting the cluster's
/// own provider, allowed only to assume role B, under its boundary.
fn role_a(
    req: &AddRequest,
    chained: &ChainedNames,
    snap: &AddSnapshot,
    side: &ClusterAccount,
) -> Result<Desired, PlanError> {
    let (klanker, issuer) = (&snap.identity, &snap.issuer.issuer);
    let role_b_arn = trust::role_arn(&klanker.partition, &klanker.account, &req.role_name);
    let provider_a = add::provider_arn(side.observed.provider.as_ref(), issuer, &side.identity);
    let permissions_boundary = cluster_role::boundary(TrustMode::Chained, chained, side)?;
    let tags = add::role_tags(req, &snap.issuer);
    if let Some(existing) = &side.observed.role {
        validate::merged_tag_count(
            existing.tags.keys(),
            tags.keys(),
            &chained.cluster_role_name,
        )?;
    }
    let description = names::cluster_role_description(&req.name, &req.scopes, &role_b_arn);
    validate::description(&description, &req.name)?;
    let trust_policy = trust::policy::trust_policy_for(&provider_a, issuer, &req.scopes);
    let limit = role_a_trust_limit(req, side);
    add::check_trust_size(&trust_policy, req.scopes.len(), &limit)?;
    Ok(Desired {
        name: req.name.clone(),
        iam: Target::ClusterIam,
        ensure_provider: true,
        inline_policies: BTreeMap::from([(
            chain::ASSUME_POLICY_NAME.to_string(),
            chain::assume_policy(&role_b_arn),
        )]),
        issuer: issuer.clone(),
        provider_arn: provider_a,
        provider_tags: BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]),
        register: req.register,
        role_name: chained.cluster_role_name.clone(),
        role_arn: trust::role_arn(
            &side.identity.partition,
            &side.identity.account,
            &chained.cluster_role_name,
        ),
        trust_policy,
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

/// Another mode taking back a name that was chained: role A goes (its tags
/// must prove this onboarding), and the cluster's provider if this tool
/// created it and no other role there trusts it.
fn leave(req: &AddRequest, side: &ClusterAccount) -> Result<Vec<Step>, PlanError> {
    // Role A: its trust is the cluster's provider, or its inline policy is chained mode's.
    let role_a = |o: &crate::plan::Observed| {
        o.inline_policies.contains_key(chain::ASSUME_POLICY_NAME)
            || o.role.as_ref().is_some_and(|r| {
                !crate::inventory::federated_principals(&r.trust_policy).is_empty()
            })
    };
    let Some(left) = cluster_role::left_role(req, side, role_a) else {
        return Ok(Vec::new());
    };
    let Some(role) = &left.observed.role else {
        return Ok(Vec::new());
    };
    let mut steps = removal::role_removal(
        &RoleToRemove {
            role_name: role.arn.rsplit('/').next().unwrap_or_default().to_string(),
            arn: role.arn.clone(),
            owned: crate::trust::is_owned(&role.tags),
            name_tag: role.tags.get(trust::NAME_TAG).cloned(),
            attached_policies: left.observed.attached_policies.clone(),
            inline_policies: left.observed.inline_policies.keys().cloned().collect(),
            instance_profiles: left.instance_profiles.clone(),
        },
        &req.name,
        Target::ClusterIam,
    )?;
    if let Some(provider) = &left.observed.provider
        && let Ok(step) = removal::provider_removal(
            &ProviderToRemove {
                arn: provider.arn.clone(),
                owned: crate::trust::is_owned(&provider.tags),
                trusted_by: left.others_trusting_provider.clone(),
            },
            Target::ClusterIam,
        )
    {
        steps.push(step);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::testing::{self, CLUSTER_ACCOUNT, CLUSTER_PROVIDER, ISSUER};
    use crate::plan::{Action, Observed, ObservedConfigMap, ObservedProvider, ObservedRole, Op};
    use crate::trust::{Issuer, TrustMode};

    const ROLE_A: &str = "arn:aws:iam::222222222222:role/km-irsa-dev";
    const ROLE_B: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";
    const BOUNDARY: &str = testing::BOUNDARY;

    /// A request naming the cluster's provider and its account's profile
    /// (any mode: `--mode chained` is one of `flags`).
    fn request(flags: &[&str]) -> AddRequest {
        let base = [
            "--oidc-provider-arn",
            CLUSTER_PROVIDER,
            "--cluster-profile",
            "cluster-admin",
        ];
        testing::request(&[&base, flags].concat())
    }

    fn side(observed: Observed, boundary_exists: bool) -> ClusterAccount {
        testing::cluster_side(observed, boundary_exists)
    }

    fn snapshot(klanker: Observed, cluster: ClusterAccount) -> AddSnapshot {
        let req = testing::cluster_account_request(TrustMode::Chained, &[]);
        testing::snapshot(&req, CLUSTER_ACCOUNT, klanker, Some(cluster))
    }

    /// Through the trait, as `add` plans.
    fn chained_plan(snap: &AddSnapshot) -> Result<AddPlan, PlanError> {
        Chained.plan_add(
            &testing::cluster_account_request(TrustMode::Chained, &[]),
            snap,
        )
    }

    #[test]
    fn a_fresh_chained_add_writes_role_a_in_the_cluster_account_and_role_b_trusting_it() {
        let add = chained_plan(&snapshot(
            Observed::default(),
            side(Observed::default(), true),
        ))
        .unwrap();
        let cluster_iam: Vec<&Op> = add
            .plan
            .changes()
            .filter(|s| s.target == Target::ClusterIam)
            .filter_map(|s| s.op.as_ref())
            .collect();
        assert!(
            matches!(cluster_iam[0], Op::CreateProvider { .. }),
            "{cluster_iam:?}"
        );
        match cluster_iam[1] {
            Op::CreateRole {
                name,
                permissions_boundary,
                ..
            } => {
                assert_eq!(name, "km-irsa-dev");
                assert_eq!(permissions_boundary.as_deref(), Some(BOUNDARY));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(cluster_iam[2], Op::PutInlinePolicy { name, .. } if name == chain::ASSUME_POLICY_NAME)
        );
        // The klanker account gets no provider; role B trusts role A.
        assert!(!add.plan.changes().any(|s| s.target == Target::Iam
            && matches!(s.op, Some(Op::CreateProvider { .. }))));
        assert_eq!(
            chain::trusted_cluster_role(&add.desired.trust_policy).as_deref(),
            Some(ROLE_A)
        );
        assert_eq!(add.annotations[trust::ROLE_ARN_ANNOTATION], ROLE_A);
        assert_eq!(add.cluster_role_arn.as_deref(), Some(ROLE_A));
        let entry = add.desired.config_entry.as_ref().unwrap();
        assert_eq!(entry.mode, trust::TrustMode::Chained);
        assert_eq!(entry.cluster_role_arn.as_deref(), Some(ROLE_A));
        assert_eq!(entry.role_arn, ROLE_B);
        let cm = add.config_map.as_ref().unwrap();
        assert_eq!(cm.name, chain::DEFAULT_CONFIG_MAP);
        assert!(cm.data[chain::CONFIG_MAP_KEY].contains(ROLE_A));
    }

    #[test]
    fn a_missing_or_foreign_boundary_stops_the_plan() {
        let missing = chained_plan(&snapshot(
            Observed::default(),
            side(Observed::default(), false),
        ));
        assert!(matches!(
            missing,
            Err(PlanError::Mode(crate::plan::mode::ModeError::ClusterRole(
                cluster_role::ClusterRoleError::BoundaryMissing { .. }
            )))
        ));
        let mut elsewhere = side(Observed::default(), true);
        elsewhere.boundary = Some(("arn:aws:iam::333333333333:policy/b".into(), true));
        assert!(matches!(
            chained_plan(&snapshot(Observed::default(), elsewhere)),
            Err(PlanError::Mode(crate::plan::mode::ModeError::ClusterRole(
                cluster_role::ClusterRoleError::BoundaryElsewhere { .. }
            )))
        ));
    }

    #[test]
    fn a_mirrored_name_moves_and_its_klanker_provider_goes_if_ours() {
        let klanker_provider =
            "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
        let issuer = Issuer::parse(ISSUER, "t").unwrap();
        let scope = trust::TrustScope::new("ai-pods", "km");
        let owned = BTreeMap::from([
            (
                trust::MANAGED_BY_TAG.to_string(),
                trust::MANAGED_BY_VALUE.to_string(),
            ),
            (trust::NAME_TAG.to_string(), "dev".to_string()),
        ]);
        let klanker = Observed {
            role: Some(ObservedRole {
                arn: ROLE_B.into(),
                trust_policy: trust::policy::trust_policy(klanker_provider, &issuer, &scope),
                max_session: 3600,
                description: trust::role_description("dev", &scope, true),
                tags: owned.clone(),
                permissions_boundary: None,
            }),
            old_providers: vec![ObservedProvider {
                arn: klanker_provider.into(),
                client_ids: vec![trust::STS_AUDIENCE.into()],
                tags: owned,
            }],
            ..Observed::default()
        };
        let add = chained_plan(&snapshot(klanker, side(Observed::default(), true))).unwrap();
        let deletes: Vec<&Op> = add
            .plan
            .changes()
            .filter(|s| s.target == Target::Iam && s.action == Action::Delete)
            .filter_map(|s| s.op.as_ref())
            .collect();
        assert_eq!(
            deletes,
            [&Op::DeleteProvider {
                arn: klanker_provider.into()
            }]
        );
        assert!(
            add.plan
                .changes()
                .any(|s| matches!(s.op, Some(Op::UpdateTrustPolicy { .. })))
        );
    }

    #[test]
    fn mirror_mode_taking_a_chained_name_back_removes_role_a_and_only_an_unused_provider_of_ours() {
        let tags = |name: &str| {
            BTreeMap::from([
                (
                    trust::MANAGED_BY_TAG.to_string(),
                    trust::MANAGED_BY_VALUE.to_string(),
                ),
                (trust::NAME_TAG.to_string(), name.to_string()),
            ])
        };
        let role_a = |name: &str| Observed {
            role: Some(ObservedRole {
                arn: ROLE_A.into(),
                trust_policy: serde_json::json!({}),
                max_session: 3600,
                description: String::new(),
                tags: tags(name),
                permissions_boundary: Some(BOUNDARY.into()),
            }),
            inline_policies: BTreeMap::from([(
                chain::ASSUME_POLICY_NAME.to_string(),
                chain::assume_policy(ROLE_B),
            )]),
            provider: Some(ObservedProvider {
                arn: "arn:aws:iam::222222222222:oidc-provider/x".into(),
                client_ids: Vec::new(),
                tags: tags("dev"),
            }),
            ..Observed::default()
        };
        let req = request(&[]);
        let steps = leave(&req, &side(role_a("dev"), true)).unwrap();
        let ops: Vec<&Op> = steps.iter().filter_map(|s| s.op.as_ref()).collect();
        assert!(matches!(ops[0], Op::DeleteInlinePolicy { .. }), "{ops:?}");
        assert!(matches!(ops[1], Op::DeleteRole { owner, .. } if owner == "dev"));
        assert!(matches!(ops[2], Op::DeleteProvider { .. }));
        assert!(steps.iter().all(|s| s.target == Target::ClusterIam));
        // Another role trusts the provider: it stays.
        let mut shared = side(role_a("dev"), true);
        shared.others_trusting_provider = vec!["app-irsa".into()];
        let steps = leave(&req, &shared).unwrap();
        assert!(
            !steps
                .iter()
                .any(|s| matches!(s.op, Some(Op::DeleteProvider { .. })))
        );
        // Role A of another onboarding is never removed.
        assert!(leave(&req, &side(role_a("other"), true)).is_err());
    }

    #[test]
    fn partitions_never_chain_and_role_a_descriptions_fit_iam() {
        let mut cluster = side(Observed::default(), true);
        cluster.identity.partition = "aws-cn".into();
        assert!(matches!(
            chained_plan(&snapshot(Observed::default(), cluster)),
            Err(PlanError::Mode(crate::plan::mode::ModeError::ClusterRole(
                cluster_role::ClusterRoleError::AcrossPartitions { .. }
            )))
        ));
        let add = chained_plan(&snapshot(
            Observed::default(),
            side(Observed::default(), true),
        ))
        .unwrap();
        let described = add
            .plan
            .changes()
            .find_map(|s| match &s.op {
                Some(Op::CreateRole {
                    name, description, ..
                }) if name == "km-irsa-dev" => Some(description.clone()),
                _ => None,
            })
            .unwrap();
        assert!(described.contains(ROLE_B), "{described}");
    }

    #[test]
    fn a_config_map_this_tool_did_not_create_is_never_overwritten() {
        let mut snap = snapshot(Observed::default(), side(Observed::default(), true));
        snap.observed.config_maps = vec![ObservedConfigMap {
            namespace: "ai-pods".into(),
            name: chain::DEFAULT_CONFIG_MAP.into(),
            data: BTreeMap::new(),
            created_by_us: false,
            onboarding: None,
        }];
        assert!(matches!(
            chained_plan(&snap),
            Err(PlanError::ConfigMapNotOwned { .. })
        ));
    }
}
