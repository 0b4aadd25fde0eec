//! A ServiceAccount in the one-account reconciler: its namespace, then the
//! ServiceAccount created with the IRSA annotations, or, when it exists,
//! only the fields this tool may set: never one another field manager owns
//! (unless --override-existing-serviceaccounts, for the IRSA annotations).

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, DesiredCluster, Field, ObservedServiceAccount, Op, PlanError, Step, Target};
use crate::trust::{
    CREATED_BY_ANNOTATION, MANAGED_BY_VALUE, ROLE_ARN_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION,
};

pub(super) fn plan_cluster(
    override_existing: bool,
    cluster: &DesiredCluster,
    (namespace_exists, service_account): (bool, Option<&ObservedServiceAccount>),
    created_namespaces: &mut BTreeSet<String>,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) -> Result<(), PlanError> {
    let ns = &cluster.namespace;
    if !namespace_exists && !created_namespaces.contains(ns) {
        if !cluster.create_namespace {
            return Err(PlanError::NamespaceMissing {
                namespace: ns.clone(),
            });
        }
        created_namespaces.insert(ns.clone());
        steps.push(Step::new(
            Target::Cluster,
            Action::Create,
            format!("namespace {ns}"),
            Some(Op::CreateNamespace { name: ns.clone() }),
        ));
    }
    let Some(current) = service_account else {
        steps.push(create(cluster));
        return Ok(());
    };
    warnings.extend(check_role_annotation(override_existing, cluster, current)?);
    let (want, force, mut details) = wanted_fields(override_existing, cluster, current);
    let changed = changes(current, &want, &mut details);
    let id = format!("{ns}/{}", cluster.service_account);
    let summary = match current.created_by_us() {
        true => format!("ServiceAccount {id}"),
        false => format!(
            "ServiceAccount {id} (NOT created by this tool: only the IRSA annotations are applied, everything else on it stays)"
        ),
    };
    if !current.created_by_us() && changed {
        let role = cluster
            .annotations
            .get(crate::trust::ROLE_ARN_ANNOTATION)
            .map(String::as_str)
            .unwrap_or("the role");
        warnings.push(format!(
            "ServiceAccount {id} exists and was not created by this tool: every pod that runs as it, now or later, can assume {role}; check that is meant (a controller's ServiceAccount lends the role to all it runs). It is annotated, never taken over, and `rm` will only remove these annotations."
        ));
    }
    let split = |section: &str| -> BTreeMap<String, String> {
        want.iter()
            .filter(|((s, _), _)| s == section)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    };
    let step = match changed {
        true => Step::new(
            Target::Cluster,
            Action::Update,
            summary,
            Some(Op::ApplyServiceAccount {
                namespace: ns.clone(),
                name: cluster.service_account.clone(),
                annotations: split("annotations"),
                labels: split("labels"),
                force,
                create: false,
            }),
        ),
        false => Step::new(Target::Cluster, Action::Unchanged, summary, None),
    };
    steps.push(step.with_details(details));
    Ok(())
}

/// A new ServiceAccount, ours from the start: the created-by annotation records it.
fn create(cluster: &DesiredCluster) -> Step {
    let mut annotations = cluster.annotations.clone();
    annotations.insert(CREATED_BY_ANNOTATION.into(), MANAGED_BY_VALUE.into());
    let details = annotations
        .iter()
        .map(|(k, v)| format!("annotation {k}={v}"))
        .collect();
    let step = Step::new(
        Target::Cluster,
        Action::Create,
        format!(
            "ServiceAccount {}/{}",
            cluster.namespace, cluster.service_account
        ),
        Some(Op::ApplyServiceAccount {
            namespace: cluster.namespace.clone(),
            name: cluster.service_account.clone(),
            annotations,
            labels: cluster.labels.clone(),
            force: false,
            create: true,
        }),
    );
    step.with_details(details)
}

/// A ServiceAccount annotated with a role that is not this onboarding's:
/// refused, or with --override-existing-serviceaccounts said loudly.
fn check_role_annotation(
    override_existing: bool,
    cluster: &DesiredCluster,
    current: &ObservedServiceAccount,
) -> Result<Option<String>, PlanError> {
    let id = format!("{}/{}", cluster.namespace, cluster.service_account);
    match current.annotations.get(ROLE_ARN_ANNOTATION) {
        Some(existing)
            if existing != cluster.role_arn() && !cluster.own_role_arns.contains(existing) =>
        {
            if !override_existing {
                return Err(PlanError::ServiceAccountServesOtherRole {
                    service_account: id,
                    current_role: existing.clone(),
                });
            }
            Ok(Some(format!(
                "--override-existing-serviceaccounts: ServiceAccount {id} is re-pointed from {existing} to {}; pods using it lose {existing}.",
                cluster.role_arn()
            )))
        }
        _ => Ok(None),
    }
}

/// The fields to set, whether the IRSA annotations are taken over (force),
/// and what is said about fields another manager owns. On an object someone
/// else created, only the IRSA annotations are ours to set.
fn wanted_fields(
    override_existing: bool,
    cluster: &DesiredCluster,
    current: &ObservedServiceAccount,
) -> (BTreeMap<Field, String>, bool, Vec<String>) {
    let mut want: BTreeMap<Field, String> = cluster
        .annotations
        .iter()
        .map(|(k, v)| (("annotations".to_string(), k.clone()), v.clone()))
        .collect();
    if current.created_by_us() {
        want.insert(
            ("annotations".into(), CREATED_BY_ANNOTATION.into()),
            MANAGED_BY_VALUE.into(),
        );
        want.extend(
            cluster
                .labels
                .iter()
                .map(|(k, v)| (("labels".to_string(), k.clone()), v.clone())),
        );
    }
    let mut details = Vec::new();
    let mut force = false;
    want.retain(|field, value| {
        let others = current.others.get(field).cloned().unwrap_or_default();
        if others.is_empty() || current.value(field) == Some(value) {
            return true;
        }
        let irsa = field.0 == "annotations"
            && (field.1 == ROLE_ARN_ANNOTATION || field.1 == TOKEN_EXPIRATION_ANNOTATION);
        let (kind, key, owners) = (singular(&field.0), &field.1, others.join(", "));
        if irsa && override_existing {
            force = true;
            details.push(format!(
                "{kind} {key} taken over from {owners} (--override-existing-serviceaccounts)"
            ));
            true
        } else {
            let now = current.value(field).map(String::as_str).unwrap_or("unset");
            details.push(format!(
                "{kind} {key} stays {now} (owned by {owners}; never overwritten)"
            ));
            false
        }
    });
    (want, force, details)
}

/// Whether applying `want` changes anything (a field set, changed, claimed
/// or released), with a line for each change.
fn changes(
    current: &ObservedServiceAccount,
    want: &BTreeMap<Field, String>,
    details: &mut Vec<String>,
) -> bool {
    let mut changed = false;
    for (field, value) in want {
        let (kind, key) = (singular(&field.0), &field.1);
        match current.value(field) {
            Some(old) if old == value => changed |= !current.ours.contains(field),
            Some(old) => {
                changed = true;
                details.push(format!("{kind} {key}: {old} -> {value}"));
            }
            None => {
                changed = true;
                details.push(format!("{kind} {key}={value}"));
            }
        }
    }
    for field in current.ours.iter().filter(|f| !want.contains_key(*f)) {
        changed = true;
        details.push(format!("{} {} released", singular(&field.0), field.1));
    }
    changed
}

fn singular(section: &str) -> &'static str {
    if section == "labels" {
        "label"
    } else {
        "annotation"
    }
}
