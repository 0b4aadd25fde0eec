//! Chained mode, the second planner for `add`: role A (`km-irsa-NAME`) in
//! the cluster's account trusts the cluster's own OIDC provider and may
//! only assume role B; role B (`km-cluster-NAME`) in the klanker account
//! trusts role A. No provider in the klanker account. The ServiceAccount is
//! annotated with role A, and a ConfigMap beside it holds the AWS config
//! file whose profile chain pods follow.
//!
//! Also what mirror mode does with the cluster's account when it takes back
//! a chained name: role A goes, and the cluster's provider if ours and unused.

use std::collections::{BTreeMap, BTreeSet};

use super::mirror::{self, AddPlan};
use super::removal::{self, ProviderToRemove, RoleToRemove};
use super::{Desired, DesiredConfigMap, Step, Target};
use crate::error::Error;
use crate::observe::add::{AddSnapshot, ClusterAccount};
use crate::resolve::add::{AddRequest, Chained};
use crate::trust::{self, MANAGED_BY_TAG, MANAGED_BY_VALUE, chain, validate};

/// The plan of `add --mode chained`.
pub fn plan(req: &AddRequest, chained: &Chained, snap: &AddSnapshot) -> Result<AddPlan, Error> {
    let Some(side) = &snap.cluster_account else {
        return Err(Error::ChainedNeedsClusterAccount {
            context: req.context.context_name.clone(),
        });
    };
    let klanker = &snap.identity;
    let issuer = &snap.issuer.issuer;
    let role_b_arn = trust::role_arn(&klanker.partition, &klanker.account, &req.role_name);
    let role_a_arn = trust::role_arn(
        &side.identity.partition,
        &side.identity.account,
        &chained.cluster_role_name,
    );
    let provider_a = mirror::provider_arn(side.observed.provider.as_ref(), issuer, &side.identity);
    let boundary = match &side.boundary {
        Some((arn, _))
            if crate::trust::arn::account_of(arn) != Some(side.identity.account.as_str()) =>
        {
            return Err(Error::ClusterBoundaryElsewhere {
                arn: arn.clone(),
                account: side.identity.account.clone(),
            });
        }
        Some((arn, true)) => Some(arn.clone()),
        Some((arn, false)) => {
            return Err(Error::ClusterBoundaryMissing {
                arn: arn.clone(),
                name: arn.rsplit('/').next().unwrap_or_default().to_string(),
                account: side.identity.account.clone(),
                role: chained.cluster_role_name.clone(),
            });
        }
        None => chained.cluster_permissions_boundary.clone(),
    };
    let tags = mirror::role_tags(req, snap.issuer.cluster_arn.as_deref());
    if let Some(existing) = &side.observed.role {
        validate::merged_tag_count(
            existing.tags.keys(),
            tags.keys(),
            &chained.cluster_role_name,
        )?;
    }
    let role_a = Desired {
        name: req.name.clone(),
        iam: Target::ClusterIam,
        ensure_provider: true,
        inline_policies: BTreeMap::from([(
            chain::ASSUME_POLICY_NAME.to_string(),
            chain::assume_policy(&role_b_arn),
        )]),
        issuer: issuer.clone(),
        provider_arn: provider_a.clone(),
        provider_tags: BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]),
        register: req.register,
        role_name: chained.cluster_role_name.clone(),
        role_arn: role_a_arn.clone(),
        trust_policy: trust::policy::trust_policy(&provider_a, issuer, &req.scope),
        max_session: req.session_duration,
        description: trust::cluster_role_description(&req.name, &req.scope, &role_b_arn),
        role_tags: tags,
        permissions_boundary: boundary,
        policies: BTreeSet::new(),
        cluster: None,
        config_entry: None,
        replace_issuer: req.replace_issuer,
        drop_old_providers: false,
        override_service_accounts: false,
    };
    let cluster_steps = super::plan(&role_a, &side.observed)?;

    let config = chain::aws_config(&role_b_arn, &role_a_arn, &req.name);
    let mut add = mirror::plan_klanker(
        req,
        snap,
        mirror::KlankerSide {
            trust_policy: chain::klanker_trust_policy(
                &klanker.partition,
                &side.identity.account,
                &role_a_arn,
            ),
            description: trust::chained_role_description(&req.name, &req.scope),
            annotated_role: role_a_arn.clone(),
            provider_arn: provider_a.clone(),
            config_map: Some(DesiredConfigMap {
                name: chained.config_map.clone(),
                data: BTreeMap::from([(chain::CONFIG_MAP_KEY.to_string(), config)]),
            }),
            cluster_role_arn: Some(role_a_arn.clone()),
            entry_provider_arn: provider_a,
        },
    )?;
    let mut steps = cluster_steps.steps;
    steps.append(&mut add.plan.steps);
    add.plan.steps = steps;
    let mut warnings = cluster_steps.warnings;
    warnings.append(&mut add.plan.warnings);
    add.plan.warnings = warnings.clone();
    warnings.append(&mut add.warnings);
    if !chained
        .cluster_role_name
        .starts_with(trust::CLUSTER_ROLE_PREFIX)
    {
        warnings.push(format!(
            "--cluster-role-name {}: the cluster-side policy `policy --for cluster --mode chained` prints covers only roles named {}*.",
            chained.cluster_role_name,
            trust::CLUSTER_ROLE_PREFIX
        ));
    }
    add.warnings = warnings;
    add.cluster_role_arn = Some(role_a_arn);
    add.cluster_account = Some(side.identity.account.clone());
    Ok(add)
}

/// Mirror mode taking back a name that was chained: role A goes (its tags
/// must prove this onboarding), and the cluster's provider if this tool
/// created it and no other role there trusts it.
pub fn leave(req: &AddRequest, side: &ClusterAccount) -> Result<Vec<Step>, Error> {
    let Some(role) = &side.observed.role else {
        return Ok(Vec::new());
    };
    let mut steps = removal::role_removal(
        &RoleToRemove {
            role_name: role.arn.rsplit('/').next().unwrap_or_default().to_string(),
            arn: role.arn.clone(),
            owned: crate::aws::iam::is_owned(&role.tags),
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
                owned: crate::aws::iam::is_owned(&provider.tags),
                trusted_by: side.others_trusting_provider.clone(),
            },
            Target::ClusterIam,
        )
    {
        steps.push(step);
    }
    Ok(steps)
}
