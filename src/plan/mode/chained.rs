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

use super::{Mode, ModeError};
use crate::cli::PolicyArgs;
use crate::permissions::{ClusterRoleScope, ClusterRoles, Rule};
use crate::plan::add::{self, AddPlan, KlankerSide};
use crate::plan::removal::{self, ProviderToRemove, RoleToRemove};
use crate::plan::snapshot::{AddSnapshot, ClusterAccount};
use crate::plan::{Desired, DesiredConfigMap, PlanError, Step, Target};
use crate::resolve::add::{AddRequest, ClusterRoleRequest as ChainedNames, ModeFlags};
use crate::trust::{self, MANAGED_BY_TAG, MANAGED_BY_VALUE, ValidationError, chain, validate};

/// Chained mode's own refusals, before any write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChainedError {
    /// Role A is written in the cluster's account, and no identity there was read.
    #[error(
        "--mode chained creates a role in the cluster's account, and no AWS identity for that account is known for context `{context}`. Pass --cluster-profile PROFILE for the cluster's account."
    )]
    NoClusterIdentity { context: String },
    /// Chained mode's role A is created under a permissions boundary that does not exist.
    #[error(
        "permissions boundary {arn} does not exist in the cluster's account {account}: chained mode creates role {role} under it, so that no inline policy can give that role more than assuming klanker roles. Create it first: `kubectl klanker-trust policy --for cluster-boundary --mode chained > boundary.json`, then `aws iam create-policy --policy-name {name} --policy-document file://boundary.json` with the cluster account's profile; or pass --cluster-permissions-boundary ARN."
    )]
    BoundaryMissing {
        arn: String,
        name: String,
        account: String,
        role: String,
    },
    /// The cluster's account and the klanker account are in different partitions.
    #[error(
        "the cluster's account is in partition {cluster} and the klanker account in {klanker}: a role can only assume a role of its own partition, so chained mode cannot link them. Use mirror mode (--mode mirror)."
    )]
    AcrossPartitions { cluster: String, klanker: String },
    /// The cluster-side identity acts in the klanker account itself.
    #[error(
        "the cluster-side identity acts in account {account}, which is the klanker account: chained mode puts role {role} and the cluster's provider in the cluster's own account, never in the klanker account. Nothing was changed. Pass --cluster-profile with a profile of the cluster's account."
    )]
    ClusterSideIsKlanker { account: String, role: String },
    /// `--cluster-permissions-boundary` names a policy of another account.
    #[error(
        "--cluster-permissions-boundary {arn} is not a policy of the cluster's account {account}: IAM only sets a boundary of the role's own account. Pass a policy ARN of account {account}."
    )]
    BoundaryElsewhere { arn: String, account: String },
}

impl ChainedError {
    /// A flag to change (exit 2), rather than something to create first.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ChainedError::BoundaryMissing { .. })
    }
}

impl From<ChainedError> for PlanError {
    fn from(e: ChainedError) -> Self {
        PlanError::Mode(ModeError::Chained(e))
    }
}

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
        match req.mode.cluster_role() {
            Some(names) => plan(req, names, snap),
            // The request was resolved for another mode: nothing of role A is named.
            None => Err(ChainedError::NoClusterIdentity {
                context: req.context.context_name.clone(),
            }
            .into()),
        }
    }

    fn plan_leave(&self, req: &AddRequest, snap: &AddSnapshot) -> Result<Vec<Step>, PlanError> {
        match &snap.cluster_account {
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
    let Some(side) = &snap.cluster_account else {
        return Err(ChainedError::NoClusterIdentity {
            context: req.context.context_name.clone(),
        }
        .into());
    };
    let klanker = &snap.identity;
    // AssumeRole never crosses partitions: IAM would refuse role B's trust.
    if side.identity.partition != klanker.partition {
        return Err(ChainedError::AcrossPartitions {
            cluster: side.identity.partition.clone(),
            klanker: klanker.partition.clone(),
        }
        .into());
    }
    if side.identity.account == klanker.account {
        return Err(ChainedError::ClusterSideIsKlanker {
            account: klanker.account.clone(),
            role: chained.cluster_role_name.clone(),
        }
        .into());
    }
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
        annotated_role: role_a.role_arn.clone(),
        provider_arn: role_a.provider_arn.clone(),
        config_map: Some(DesiredConfigMap {
            name: chained.config_map.clone(),
            data: BTreeMap::from([(chain::CONFIG_MAP_KEY.to_string(), config)]),
        }),
        cluster_role_arn: Some(role_a.role_arn.clone()),
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
    add.cluster_account = Some(side.identity.account.clone());
    Ok(add)
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
    let permissions_boundary = boundary(chained, side)?;
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
    add::check_trust_size(&trust_policy, req.scopes.len(), req.max_trust_policy_size)?;
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

/// Role A's permissions boundary: it must exist, in role A's own account.
fn boundary(chained: &ChainedNames, side: &ClusterAccount) -> Result<Option<String>, PlanError> {
    let account = &side.identity.account;
    match &side.boundary {
        Some((arn, _)) if crate::trust::arn::account_of(arn) != Some(account.as_str()) => {
            Err(ChainedError::BoundaryElsewhere {
                arn: arn.clone(),
                account: account.clone(),
            }
            .into())
        }
        Some((arn, true)) => Ok(Some(arn.clone())),
        Some((arn, false)) => Err(ChainedError::BoundaryMissing {
            arn: arn.clone(),
            name: arn.rsplit('/').next().unwrap_or_default().to_string(),
            account: account.clone(),
            role: chained.cluster_role_name.clone(),
        }
        .into()),
        None => Ok(chained.cluster_permissions_boundary.clone()),
    }
}

/// Another mode taking back a name that was chained: role A goes (its tags
/// must prove this onboarding), and the cluster's provider if this tool
/// created it and no other role there trusts it.
fn leave(req: &AddRequest, side: &ClusterAccount) -> Result<Vec<Step>, PlanError> {
    let Some(role) = &side.observed.role else {
        return Ok(Vec::new());
    };
    let mut steps = removal::role_removal(
        &RoleToRemove {
            role_name: role.arn.rsplit('/').next().unwrap_or_default().to_string(),
            arn: role.arn.clone(),
            owned: crate::trust::is_owned(&role.tags),
            name_tag: role.tags.get(trust::NAME_TAG).cloned(),
            attached_policies: side.observed.attached_policies.clone(),
            inline_policies: side.observed.inline_policies.keys().cloned().collect(),
            instance_profiles: side.instance_profiles.clone(),
        },
        &req.name,
        Target::ClusterIam,
    )?;
    if let Some(provider) = &side.observed.provider
        && let Ok(step) = removal::provider_removal(
            &ProviderToRemove {
                arn: provider.arn.clone(),
                owned: crate::trust::is_owned(&provider.tags),
                trusted_by: side.others_trusting_provider.clone(),
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
            Err(PlanError::Mode(ModeError::Chained(
                ChainedError::BoundaryMissing { .. }
            )))
        ));
        let mut elsewhere = side(Observed::default(), true);
        elsewhere.boundary = Some(("arn:aws:iam::333333333333:policy/b".into(), true));
        assert!(matches!(
            chained_plan(&snapshot(Observed::default(), elsewhere)),
            Err(PlanError::Mode(ModeError::Chained(
                ChainedError::BoundaryElsewhere { .. }
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
            Err(PlanError::Mode(ModeError::Chained(
                ChainedError::AcrossPartitions { .. }
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
