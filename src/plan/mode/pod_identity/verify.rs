//! Pod identity mode's links for `verify` and `add`'s own check, each with
//! its verdict and fix: the ServiceAccount, its association (naming both
//! roles, its external ID pinned in the target trust), the agent add-on, the
//! association role (trust, inline policy) and the target role's trust,
//! evaluated as IAM would for the request EKS makes, and for the requests
//! it must refuse. No token and no pod are needed.

use serde_json::Value;

use super::names::{
    CLUSTER_TAG_KEY, NAMESPACE_TAG_KEY, SERVICE_ACCOUNT_TAG_KEY, SERVICE_PRINCIPAL,
};
use super::trust::TARGET_ACTIONS;
use crate::plan::EXTERNAL_ID_KEY;
use crate::trust::conditions::{RoleRequest, TrustVerdict, evaluate_request};
use crate::trust::document::PolicyDocument;
use crate::verify::{AgentAddon, AssociationFacts, Check, SubjectAssociation};

/// Every link, the shared ones once, each ServiceAccount's own after.
pub fn checks(f: &AssociationFacts) -> Vec<Check> {
    let add = &fix_add(f);
    let mut checks = vec![agent_check(f)];
    checks.extend(association_role_checks(f, add));
    let Some(target) = &f.target_role else {
        checks.push(Check::fail(
            "target-role",
            format!(
                "target role {} does not exist in the klanker account",
                f.target_role_arn
            ),
            format!("{add} re-creates it"),
        ));
        return checks;
    };
    checks.push(
        match target.attached_policies.contains(&f.operator_policy) {
            true => Check::ok(
                "policy",
                format!("{} is attached to {}", f.operator_policy, target.arn),
            ),
            false => Check::warn(
                "policy",
                format!("{} is not attached to {}", f.operator_policy, target.arn),
                format!("{add} attaches it, unless other --policy-arn were chosen"),
            ),
        },
    );
    for subject in &f.subjects {
        checks.extend(subject_checks(f, subject, &target.trust_policy, add));
    }
    checks
}

/// The `add` each fix prints: the recorded one, naming the association role
/// when it is not the default (without it, that add would make and use
/// `km-podid-NAME` instead of the onboarding's own role).
fn fix_add(f: &AssociationFacts) -> String {
    let role = f
        .association_role_arn
        .rsplit('/')
        .next()
        .unwrap_or_default();
    match role == super::names::default_cluster_role_name(&f.name) {
        true => f.fix_add.clone(),
        false => format!("{} --cluster-role-name '{role}'", f.fix_add),
    }
}

fn agent_check(f: &AssociationFacts) -> Check {
    let install = format!(
        "aws eks create-addon --cluster-name {} --addon-name {}",
        f.cluster_name,
        crate::plan::snapshot::AGENT_ADDON
    );
    match &f.agent {
        AgentAddon::Active => Check::ok(
            "agent",
            format!(
                "the Pod Identity agent add-on of cluster {} is ACTIVE",
                f.cluster_name
            ),
        ),
        AgentAddon::Missing => Check::fail(
            "agent",
            format!(
                "the Pod Identity agent add-on is not installed in cluster {}: pods get no credentials from an association",
                f.cluster_name
            ),
            install,
        ),
        AgentAddon::Other(status) => Check::fail(
            "agent",
            format!(
                "the Pod Identity agent add-on of cluster {} is {status}, not ACTIVE",
                f.cluster_name
            ),
            format!(
                "`aws eks describe-addon --cluster-name {} --addon-name {}` says why",
                f.cluster_name,
                crate::plan::snapshot::AGENT_ADDON
            ),
        ),
        AgentAddon::Unknown(why) => Check::warn(
            "agent",
            format!(
                "could not read the Pod Identity agent add-on of cluster {}: {why}",
                f.cluster_name
            ),
            format!("grant eks:DescribeAddon, or check it yourself; if it is missing: {install}"),
        ),
    }
}

/// The association role: it exists, trusts EKS for this cluster alone, and
/// may do exactly what EKS needs on the target role.
fn association_role_checks(f: &AssociationFacts, add: &str) -> Vec<Check> {
    let Some(role) = &f.association_role else {
        return vec![Check::fail(
            "association-role",
            format!(
                "association role {} does not exist in the cluster's account",
                f.association_role_arn
            ),
            format!("{add} re-creates it"),
        )];
    };
    let mut checks = vec![service_trust_check(f, &role.trust_policy, add)];
    let policy = f.inline_policies.get(super::trust::ASSUME_POLICY_NAME);
    let others: Vec<&String> = f
        .inline_policies
        .keys()
        .filter(|k| *k != super::trust::ASSUME_POLICY_NAME)
        .collect();
    checks.push(match (policy.map(|p| exactly_target_actions(p, &f.target_role_arn)), others.is_empty(), role.attached_policies.is_empty()) {
        (Some(true), true, true) => Check::ok(
            "association-policy",
            format!("{} may only sts:AssumeRole and sts:TagSession on {}", role.arn, f.target_role_arn),
        ),
        (None, ..) => Check::fail(
            "association-policy",
            format!("{} has no inline policy {}: EKS cannot assume the target role with it", role.arn, super::trust::ASSUME_POLICY_NAME),
            format!("{add} writes it"),
        ),
        _ => Check::fail(
            "association-policy",
            format!(
                "{} may do more or less than sts:AssumeRole and sts:TagSession on {} (inline policies {}; {} attached)",
                role.arn,
                f.target_role_arn,
                f.inline_policies.keys().cloned().collect::<Vec<_>>().join(", "),
                role.attached_policies.len()
            ),
            format!("{add} rewrites its own policy; remove the others by hand"),
        ),
    });
    checks
}

/// Whether a policy allows exactly the target actions, on the target alone.
fn exactly_target_actions(policy: &Value, target: &str) -> bool {
    let doc = PolicyDocument::read(policy);
    let allowing: Vec<_> = doc.allowing().collect();
    let covered = TARGET_ACTIONS.iter().all(|a| {
        allowing
            .iter()
            .any(|s| s.allows_action(a) && s.resource.0.iter().any(|r| r == target))
    });
    let nothing_else = allowing.iter().all(|s| {
        // NotAction and NotResource grant what they do not name (the
        // document reader keeps neither): never exactly the target's.
        let negated = ["NotAction", "NotResource"]
            .iter()
            .any(|k| s.raw.get(k).is_some());
        !negated
            && s.resource.0.iter().all(|r| r == target)
            && s.action
                .0
                .iter()
                .all(|a| TARGET_ACTIONS.iter().any(|t| t.eq_ignore_ascii_case(a)))
            && s.condition.is_none()
    });
    covered && nothing_else && !doc.statements().any(|s| s.denies())
}

/// EKS for this cluster is let in; the same service for another cluster
/// (of this account, or of another) is not.
fn service_trust_check(f: &AssociationFacts, trust: &Value, add: &str) -> Check {
    let Some(cluster_arn) = f.cluster_arn.as_deref() else {
        return Check::warn(
            "association-trust",
            "the cluster's ARN is unknown: the association role's trust was not judged",
            add.to_string(),
        );
    };
    let account = crate::trust::arn::account_of(&f.association_role_arn).unwrap_or_default();
    let same_account = other_cluster(cluster_arn);
    let request = |action, account, arn| RoleRequest {
        action,
        principal_arn: None,
        service: Some(SERVICE_PRINCIPAL),
        context: vec![("aws:SourceAccount", account), ("aws:SourceArn", arn)],
    };
    let admits = evaluate_request(trust, &request(TARGET_ACTIONS[0], account, cluster_arn));
    let tags = evaluate_request(trust, &request(TARGET_ACTIONS[1], account, cluster_arn));
    // Another cluster of this account (a wildcard over its clusters lets it
    // in), and one of another account.
    let intruder = [
        (account, same_account.as_str()),
        (
            "000000000000",
            "arn:aws:eks:us-east-1:000000000000:cluster/another",
        ),
    ]
    .into_iter()
    .any(|(account, arn)| {
        evaluate_request(trust, &request(TARGET_ACTIONS[0], account, arn)) == TrustVerdict::Allowed
    });
    match (admits, tags, intruder) {
        (TrustVerdict::Allowed, TrustVerdict::Allowed, true) => Check::fail(
            "association-trust",
            format!(
                "the trust of {} lets EKS in for any cluster, not only {cluster_arn}: any association in the account can use it",
                f.association_role_arn
            ),
            format!("{add} rewrites it with aws:SourceAccount and aws:SourceArn"),
        ),
        (TrustVerdict::Allowed, TrustVerdict::Allowed, _) => Check::ok(
            "association-trust",
            format!(
                "{} trusts {SERVICE_PRINCIPAL} for {cluster_arn} only (sts:AssumeRole, sts:TagSession)",
                f.association_role_arn
            ),
        ),
        (admits, tags, _) => Check::fail(
            "association-trust",
            format!(
                "the trust of {} does not let {SERVICE_PRINCIPAL} in for {cluster_arn}: {}",
                f.association_role_arn,
                verdict_words(if admits == TrustVerdict::Allowed {
                    &tags
                } else {
                    &admits
                })
            ),
            format!("{add} rewrites it"),
        ),
    }
}

/// One ServiceAccount: it exists, its association names both roles, and the
/// target trust admits the request EKS makes for it, and only that.
fn subject_checks(
    f: &AssociationFacts,
    s: &SubjectAssociation,
    trust: &Value,
    add: &str,
) -> Vec<Check> {
    let id = format!("{}/{}", s.namespace, s.service_account);
    let mut checks = vec![match s.service_account_exists {
        true => Check::ok("service-account", format!("ServiceAccount {id} exists")),
        false => Check::fail(
            "service-account",
            format!("ServiceAccount {id} does not exist"),
            format!("{add} creates it"),
        ),
    }];
    let Some(a) = &s.association else {
        checks.push(Check::fail(
            "association",
            format!(
                "no Pod Identity association for {id} in cluster {}",
                f.cluster_name
            ),
            format!("{add} creates it"),
        ));
        return checks;
    };
    let mut wrong = Vec::new();
    if a.role_arn != f.association_role_arn {
        wrong.push(format!(
            "its role is {}, not {}",
            a.role_arn, f.association_role_arn
        ));
    }
    if a.target_role_arn.as_deref() != Some(f.target_role_arn.as_str()) {
        wrong.push(format!(
            "its target role is {}, not {}",
            a.target_role_arn.as_deref().unwrap_or("(none)"),
            f.target_role_arn
        ));
    }
    checks.push(match wrong.is_empty() {
        true => Check::ok(
            "association",
            format!(
                "association {} for {id} names {} and target {}",
                a.id, a.role_arn, f.target_role_arn
            ),
        ),
        false => Check::fail(
            "association",
            format!("association {} for {id}: {}", a.id, wrong.join("; ")),
            format!("{add} re-points it"),
        ),
    });
    checks.push(target_trust_check(f, a, trust, &id, add));
    checks
}

/// The request EKS makes for the association, admitted; the same request
/// for another namespace, ServiceAccount, cluster, external ID or principal,
/// refused.
fn target_trust_check(
    f: &AssociationFacts,
    a: &crate::verify::ObservedAssociation,
    trust: &Value,
    id: &str,
    add: &str,
) -> Check {
    let fail =
        |message: String, fix: &str| Check::fail("target-trust", message, format!("{add} {fix}"));
    let Some(external_id) = a.external_id.as_deref() else {
        return fail(
            format!("EKS reports no external ID for the association of {id}"),
            "pins it once EKS has one",
        );
    };
    if !pins(trust, external_id) {
        let message = format!(
            "the trust of {} does not pin the external ID of the association of {id}",
            f.target_role_arn
        );
        return fail(message, "pins it");
    }
    let case = Case {
        namespace: &a.namespace,
        service_account: &a.service_account,
        cluster: f.cluster_arn.as_deref().unwrap_or_default(),
        external_id,
        principal: &f.association_role_arn,
    };
    let tags_sent = !a.session_tags_disabled;
    let verdict = |c: &Case, action: &str| evaluate_request(trust, &c.request(action, tags_sent));
    let refused = [TARGET_ACTIONS[0]]
        .into_iter()
        .chain(tags_sent.then_some(TARGET_ACTIONS[1]))
        .map(|action| verdict(&case, action))
        .find(|v| *v != TrustVerdict::Allowed);
    if let Some(refused) = refused {
        let message = format!(
            "the trust of {} refuses EKS's request for {id}: {}",
            f.target_role_arn,
            verdict_words(&refused)
        );
        return fail(message, "rewrites it");
    }
    let other_principal = format!("{}-other", f.association_role_arn);
    let other = other_cluster(case.cluster);
    let intruders = intruders(f, a, case, (&other_principal, &other), tags_sent);
    let mut let_in: Vec<&str> = intruders
        .iter()
        .filter(|(_, c)| verdict(c, TARGET_ACTIONS[0]) == TrustVerdict::Allowed)
        .map(|(what, _)| *what)
        .collect();
    let_in.dedup();
    if !let_in.is_empty() {
        return fail(
            format!(
                "the trust of {} also admits {} for {id}",
                f.target_role_arn,
                let_in.join(", ")
            ),
            "rewrites it",
        );
    }
    let mut refused: Vec<&str> = intruders.iter().map(|(w, _)| *w).collect();
    refused.dedup();
    let tags = if tags_sent {
        "session tags"
    } else {
        "no session tags"
    };
    Check::ok(
        "target-trust",
        format!(
            "the trust of {} admits EKS's request for {id} (external ID pinned, {tags}) and refuses {}",
            f.target_role_arn,
            refused.join(", ")
        ),
    )
}

/// The requests the target trust must refuse for one association: the
/// same request with one thing changed, and (with session tags) another
/// onboarded ServiceAccount's tags with this association's external ID,
/// since each statement binds its ServiceAccount's tags and external ID.
fn intruders<'a>(
    f: &'a AssociationFacts,
    a: &'a crate::verify::ObservedAssociation,
    case: Case<'a>,
    (other_principal, other_cluster): (&'a str, &'a str),
    tags_sent: bool,
) -> Vec<(&'static str, Case<'a>)> {
    let mut intruders = case.intruders(other_principal, other_cluster, tags_sent);
    if tags_sent {
        let onboarded = f
            .subjects
            .iter()
            .filter(|o| (&o.namespace, &o.service_account) != (&a.namespace, &a.service_account));
        intruders.extend(onboarded.map(|o| {
            let case = Case {
                namespace: &o.namespace,
                service_account: &o.service_account,
                ..case
            };
            (
                "another onboarded ServiceAccount's tags with this external ID",
                case,
            )
        }));
    }
    intruders
}

/// Whether a statement of the trust pins `external_id`.
fn pins(trust: &Value, external_id: &str) -> bool {
    PolicyDocument::read(trust).allowing().any(|s| {
        s.keys_of("StringEquals").any(|k| {
            k.key.eq_ignore_ascii_case(EXTERNAL_ID_KEY) && k.values.iter().any(|v| v == external_id)
        })
    })
}

/// Another cluster of the same account and region, named as this one with
/// a suffix: the one a trust loosened by hand with a wildcard (`cluster/*`,
/// `cluster/NAME*`) lets in as well.
fn other_cluster(cluster_arn: &str) -> String {
    format!("{cluster_arn}-other")
}

/// One request EKS would make to the target role.
#[derive(Clone, Copy)]
struct Case<'a> {
    namespace: &'a str,
    service_account: &'a str,
    cluster: &'a str,
    external_id: &'a str,
    principal: &'a str,
}

impl<'a> Case<'a> {
    /// The same request with one thing changed, each the trust must refuse
    /// (the tags only when EKS sends them).
    fn intruders(
        self,
        other_principal: &'a str,
        other_cluster: &'a str,
        tags_sent: bool,
    ) -> Vec<(&'static str, Case<'a>)> {
        let mut intruders = vec![
            (
                "another external ID",
                Case {
                    external_id: "not-the-external-id",
                    ..self
                },
            ),
            (
                "another principal",
                Case {
                    principal: other_principal,
                    ..self
                },
            ),
        ];
        if tags_sent {
            intruders.extend([
                (
                    "another namespace",
                    Case {
                        namespace: "not-the-namespace",
                        ..self
                    },
                ),
                (
                    "another ServiceAccount",
                    Case {
                        service_account: "not-the-service-account",
                        ..self
                    },
                ),
                (
                    "another cluster",
                    Case {
                        cluster: other_cluster,
                        ..self
                    },
                ),
            ]);
        }
        intruders
    }

    fn request(&self, action: &'a str, tags_sent: bool) -> RoleRequest<'a> {
        let mut context = vec![
            (EXTERNAL_ID_KEY, self.external_id),
            ("aws:PrincipalArn", self.principal),
        ];
        if tags_sent {
            context.extend([
                (CLUSTER_TAG_KEY, self.cluster),
                (NAMESPACE_TAG_KEY, self.namespace),
                (SERVICE_ACCOUNT_TAG_KEY, self.service_account),
            ]);
        }
        RoleRequest {
            action,
            principal_arn: Some(self.principal),
            service: None,
            context,
        }
    }
}

fn verdict_words(v: &TrustVerdict) -> String {
    match v {
        TrustVerdict::Allowed => "allowed".into(),
        TrustVerdict::ProviderNotTrusted => {
            "no statement names that principal for the action".into()
        }
        TrustVerdict::ConditionFailed {
            key,
            wanted,
            actual,
        } => format!("condition {key} wants {wanted}, the request carries {actual}"),
        TrustVerdict::Unsupported(what) => format!("{what} is not modelled here"),
    }
}
