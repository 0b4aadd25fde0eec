//! The klanker (or cluster) account's role in the one-account reconciler:
//! created if missing; else proven ours for this name, bound to its issuer,
//! and each setting that differs updated (trust, session and description,
//! tags, permissions boundary).

use std::collections::BTreeMap;

use super::{Action, Desired, Observed, ObservedRole, Op, PlanError, Step};
use crate::inventory::{self, RoleSummary};
use crate::trust::{self, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, policy};

pub(super) fn plan_role(
    desired: &Desired,
    observed: &Observed,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) -> Result<(), PlanError> {
    let Some(current) = &observed.role else {
        steps.push(create(desired));
        return Ok(());
    };
    check_owner(desired, current)?;
    warnings.extend(check_issuer(desired, current)?);
    let updates: Vec<Step> = [
        trust_update(desired, current),
        settings_update(desired, current),
        tags_update(desired, current),
        boundary_update(desired, current),
    ]
    .into_iter()
    .flatten()
    .collect();
    match updates.is_empty() {
        true => steps.push(Step::new(
            desired.iam,
            Action::Unchanged,
            format!("role {} ({})", desired.role_name, current.arn),
            None,
        )),
        false => steps.extend(updates),
    }
    Ok(())
}

fn create(desired: &Desired) -> Step {
    Step::new(
        desired.iam,
        Action::Create,
        format!(
            "role {} (max session {}s)",
            desired.role_name, desired.max_session
        ),
        Some(Op::CreateRole {
            name: desired.role_name.clone(),
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
    )
}

/// Ours for this name only if its name tag says so (or, for a role
/// written before the tag existed, its description does).
fn check_owner(desired: &Desired, current: &ObservedRole) -> Result<(), PlanError> {
    let role = desired.role_name.clone();
    if current.tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return Err(PlanError::RoleNotOwned {
            role,
            account: desired.account_word(),
        });
    }
    let other_onboarding = |other| PlanError::RoleOfOtherOnboarding {
        role: role.clone(),
        name: desired.name.clone(),
        other,
    };
    match current.tags.get(NAME_TAG) {
        Some(other) if other != &desired.name => Err(other_onboarding(Some(other.clone()))),
        Some(_) => Ok(()),
        None => {
            let described = inventory::onboarding(&RoleSummary {
                role_name: role.clone(),
                arn: current.arn.clone(),
                description: current.description.clone(),
                trust_policy: current.trust_policy.clone(),
            });
            match described.is_none_or(|o| o.name != desired.name) {
                true => Err(other_onboarding(None)),
                false => Ok(()),
            }
        }
    }
}

/// The issuer the role trusts never changes silently: refused, or with
/// `--replace-issuer` said loudly (the warning returned).
fn check_issuer(desired: &Desired, current: &ObservedRole) -> Result<Option<String>, PlanError> {
    let trusted = inventory::federated_principals(&current.trust_policy);
    let issuer_of = |arn: &String| trust::OidcProviderArn::parse(arn, "provider").map(|p| p.issuer);
    // A klanker role reached through a cluster role trusts no provider:
    // moving there keeps the issuer, which is what must not change silently.
    let moved = match desired.ensure_provider {
        true => !trusted.contains(&desired.provider_arn),
        false => trusted
            .iter()
            .any(|arn| issuer_of(arn).map_or(true, |i| i != desired.issuer)),
    };
    if trusted.is_empty() || !moved {
        return Ok(None);
    }
    let old = trusted
        .iter()
        .map(|arn| {
            issuer_of(arn)
                .map(|i| i.url())
                .unwrap_or_else(|_| arn.clone())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let role = &desired.role_name;
    if !desired.rebind {
        return Err(PlanError::IssuerChanged {
            name: desired.name.clone(),
            role: role.clone(),
            old,
            new: desired.issuer.url(),
        });
    }
    Ok(Some(format!(
        "--rebind: role {role} stops trusting {old} and trusts {} instead; the cluster behind {old} loses access.",
        desired.issuer.url()
    )))
}

fn trust_update(desired: &Desired, current: &ObservedRole) -> Option<Step> {
    if policy::equivalent(&current.trust_policy, &desired.trust_policy) {
        return None;
    }
    let role = &desired.role_name;
    let step = Step::new(
        desired.iam,
        Action::Update,
        format!("role {role}: trust policy"),
        Some(Op::UpdateTrustPolicy {
            role: role.clone(),
            trust_policy: desired.trust_policy.clone(),
        }),
    );
    Some(step.with_details(policy::diff_lines(
        &current.trust_policy,
        &desired.trust_policy,
    )))
}

fn settings_update(desired: &Desired, current: &ObservedRole) -> Option<Step> {
    let mut details = Vec::new();
    if current.max_session != desired.max_session {
        details.push(format!(
            "max session {}s -> {}s",
            current.max_session, desired.max_session
        ));
    }
    if current.description != desired.description {
        details.push(format!(
            "description \"{}\" -> \"{}\"",
            current.description, desired.description
        ));
    }
    if details.is_empty() {
        return None;
    }
    let role = &desired.role_name;
    let step = Step::new(
        desired.iam,
        Action::Update,
        format!("role {role}: settings"),
        Some(Op::UpdateRole {
            role: role.clone(),
            max_session: desired.max_session,
            description: desired.description.clone(),
        }),
    );
    Some(step.with_details(details))
}

/// Tags are only added or changed, never removed: others may tag our roles.
fn tags_update(desired: &Desired, current: &ObservedRole) -> Option<Step> {
    let missing: BTreeMap<String, String> = desired
        .role_tags
        .iter()
        .filter(|(k, v)| current.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let details = missing
        .iter()
        .map(|(k, v)| match current.tags.get(k) {
            Some(old) => format!("tag {k}: \"{old}\" -> \"{v}\""),
            None => format!("tag {k}=\"{v}\""),
        })
        .collect();
    let role = &desired.role_name;
    let step = Step::new(
        desired.iam,
        Action::Update,
        format!("role {role}: tags"),
        Some(Op::TagRole {
            role: role.clone(),
            tags: missing,
        }),
    );
    Some(step.with_details(details))
}

fn boundary_update(desired: &Desired, current: &ObservedRole) -> Option<Step> {
    let role = desired.role_name.clone();
    match (&current.permissions_boundary, &desired.permissions_boundary) {
        (old, Some(new)) if old.as_ref() != Some(new) => Some(Step::new(
            desired.iam,
            Action::Update,
            format!("role {role}: permissions boundary -> {new}"),
            Some(Op::PutPermissionsBoundary {
                role,
                arn: new.clone(),
            }),
        )),
        (Some(old), None) => Some(Step::new(
            desired.iam,
            Action::Update,
            format!("role {role}: remove permissions boundary {old}"),
            Some(Op::DeletePermissionsBoundary { role }),
        )),
        _ => None,
    }
}
