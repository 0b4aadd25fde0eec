//! What `add` says: the plan before applying, the result after.

use serde::Serialize;

use super::{Out, Structured, visible};
use crate::apply::{Outcome, ServerDryRun};
use crate::cli::AddOutput;
use crate::error::Error;
use crate::k8s;
use crate::plan;
use crate::plan::add::AddPlan;
use crate::plan::snapshot::AddSnapshot;
use crate::resolve::add::AddRequest;
use crate::trust::ROLE_ARN_ANNOTATION;
use crate::trust::RegisterMode;
use crate::verify::Check;

/// The plan, on stdout for text output, on stderr beside `-o manifest`
/// (stdout is the manifest), not at all for JSON/YAML (it is in the report).
/// `acting_as`: which identity acts in each account (a line, or empty);
/// `in_fleet`: among other clusters' plans, so its notes name it.
pub fn plan(
    o: &mut Out,
    req: &AddRequest,
    snap: &AddSnapshot,
    add: &AddPlan,
    (acting_as, in_fleet): (&str, bool),
) -> Result<(), Error> {
    let label = match in_fleet {
        true => format!("{}: ", req.name),
        false => String::new(),
    };
    for note in discovery_notes(req, snap, add) {
        writeln!(o.err, "{label}{note}")?;
    }
    let mode = req.mode.kind();
    let through = match (&add.cluster_account, &add.cluster_role_arn) {
        (Some(account), Some(role)) => {
            format!(", {mode} mode: assumed from {role} in the cluster's account {account}")
        }
        _ => String::new(),
    };
    let header = format!(
        "{acting_as}Plan for `{}` in klanker account {} (context {}, issuer {}, trust {}{through}):",
        req.name,
        add.account,
        req.context.context_name,
        add.desired.issuer.url(),
        req.subjects_line()
    );
    let notes = pod_notes(&add.plan);
    match req.output {
        AddOutput::Text => {
            let text = super::plan_text_to(&header, &add.plan, &add.warnings, o.colour, o.width);
            write!(o.out, "{text}")?;
            for note in &notes {
                let line = super::wrap_hanging(&visible(note), o.width, "Note: ", "      ");
                writeln!(o.out, "{line}")?;
            }
            Ok(())
        }
        AddOutput::Manifest => {
            let text = super::plan_text(&header, &add.plan, &add.warnings, false);
            write!(o.err, "{text}")?;
            for note in &notes {
                writeln!(o.err, "Note: {}", visible(note))?;
            }
            Ok(())
        }
        AddOutput::Json | AddOutput::Yaml => Ok(()),
    }
}

/// What `add` found out for itself (the issuer, the provider to reuse or
/// create), said on stderr before the plan.
fn discovery_notes(req: &AddRequest, snap: &AddSnapshot, add: &AddPlan) -> Vec<String> {
    let mut notes = Vec::new();
    if snap.issuer.discovered {
        let issuer = snap.issuer.issuer.url();
        let issuer = visible(&issuer);
        notes.push(format!(
            "OIDC issuer discovered from the API server: {issuer}"
        ));
    }
    if let (Some(account), Some(cluster), true) = (
        &add.cluster_account,
        &snap.cluster_account,
        add.cluster_provider,
    ) {
        notes.push(match &cluster.observed.provider {
            Some(p) => format!(
                "OIDC provider of the cluster's account {account}: reusing {}",
                visible(&p.arn)
            ),
            None => format!("OIDC provider of the cluster's account {account}: creating"),
        });
    } else if req.register == RegisterMode::Auto && add.cluster_account.is_none() {
        notes.push(match &add.reuses_provider {
            Some(arn) => format!(
                "OIDC provider auto-detected: reusing existing {}",
                visible(arn)
            ),
            None => "OIDC provider auto-detected: creating".to_string(),
        });
    }
    notes
}

/// What the plan's changes mean for pods already running, said before
/// anything is applied: a pod reads its AWS config and gets its IRSA token
/// when it starts, so a new ConfigMap or a changed role annotation reaches
/// only pods that mount it and are (re)started.
fn pod_notes(plan: &plan::Plan) -> Vec<String> {
    let mut notes = Vec::new();
    for step in plan.changes() {
        match &step.op {
            Some(plan::Op::ApplyConfigMap {
                namespace, name, ..
            }) => notes.push(format!(
                "running pods in namespace `{namespace}` must mount ConfigMap `{name}` \
                 (key `{key}`, with AWS_CONFIG_FILE and AWS_PROFILE set to it) and be \
                 restarted: a pod reads its AWS config when it starts.",
                key = crate::trust::chain::CONFIG_MAP_KEY
            )),
            Some(plan::Op::ApplyServiceAccount {
                namespace,
                name,
                create: false,
                ..
            }) if step.details.iter().any(|d| d.contains(ROLE_ARN_ANNOTATION)) => {
                notes.push(format!(
                    "running pods of ServiceAccount `{namespace}/{name}` keep the role they \
                     started with until they are restarted: IRSA is injected when a pod is created."
                ))
            }
            _ => {}
        }
    }
    notes
}

#[derive(Debug, Serialize)]
struct AddReport<'a> {
    name: &'a str,
    dry_run: bool,
    applied: bool,
    klanker_account: &'a str,
    role_name: &'a str,
    role_arn: &'a str,
    oidc_provider_arn: &'a str,
    issuer: String,
    namespace: &'a str,
    service_account_namespace: &'a str,
    service_account: &'a str,
    mode: &'static str,
    /// A mode with a cluster role: the role the ServiceAccount is annotated
    /// with, and the ConfigMap with the pods' AWS config.
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_role_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_map: Option<&'a str>,
    /// Every ServiceAccount as `namespace:name`, when there are several.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    service_accounts: &'a [String],
    config_path: String,
    plan: &'a [plan::Step],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    /// Removals and releases done (or, after a last re-check, not done).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    results: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a [Check]>,
    /// `--dry-run=server`: the cluster steps the API server accepted as a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    server_dry_run: Option<ServerDryRunReport<'a>>,
}

#[derive(Debug, Serialize)]
struct ServerDryRunReport<'a> {
    accepted: &'a [String],
    not_sent: &'a [String],
}

/// What happened, once the plan was applied (`outcome`) or not.
pub struct Done<'a> {
    pub outcome: Option<&'a Outcome>,
    /// `--dry-run=server`: what the API server accepted.
    pub server: Option<&'a ServerDryRun>,
    pub verification: Option<&'a [Check]>,
    pub config_path: &'a std::path::Path,
}

/// What the user must not miss in the result: an old provider removed (or
/// kept after all), a ServiceAccount released or deleted.
fn results(add: &AddPlan, outcome: &Outcome) -> Vec<String> {
    add.plan
        .numbered_changes()
        .filter(|(_, s)| {
            s.action == plan::Action::Delete
                || matches!(s.op, Some(plan::Op::ReleaseServiceAccount { .. }))
        })
        .map(|(id, s)| match outcome.skipped_because(id) {
            Some(why) => format!("not done: {}: {why}", s.summary),
            None => format!("done: {}", s.summary),
        })
        .collect()
}

/// What a dry run would do to the role and the ServiceAccounts, from the
/// plan's own steps: nothing is said to exist that the plan would create.
fn dry_run_lines(
    plan: &plan::Plan,
    (role_arn, annotated): (&str, Option<&str>),
    service_accounts: &[(String, String)],
) -> Vec<String> {
    let how = match annotated {
        Some(role) => format!(" ({ROLE_ARN_ANNOTATION}: {role})"),
        None => String::new(),
    };
    // The klanker role's own step: a cluster role created beside an
    // existing one must not make it "would create".
    let creates_role = plan.changes().any(|s| {
        s.target == plan::Target::Iam && matches!(s.op, Some(plan::Op::CreateRole { .. }))
    });
    let role = match creates_role {
        true => format!("would create role: {role_arn}"),
        false => format!("role (exists): {role_arn}"),
    };
    let mut lines = vec![role];
    for (sa_namespace, service_account) in service_accounts {
        let sa_step = plan.changes().find(|s| {
            matches!(&s.op, Some(plan::Op::ApplyServiceAccount { namespace, name, .. })
                if namespace == sa_namespace && name == service_account)
        });
        lines.push(match sa_step.map(|s| s.action) {
            Some(plan::Action::Create) => {
                format!("would create service account: {sa_namespace}/{service_account}{how}")
            }
            Some(_) if annotated.is_none() => {
                format!("would update service account: {sa_namespace}/{service_account}")
            }
            Some(_) => {
                format!("would annotate service account: {sa_namespace}/{service_account}{how}")
            }
            None => format!("service account: {sa_namespace}/{service_account} (unchanged)"),
        });
    }
    lines
}

/// After an applied `add`: how a pod gets the role, said once for every
/// ServiceAccount (issue 26, item 13). IRSA's webhook injects the token and
/// AWS variables when a pod is created, so running pods keep their old
/// identity until they are re-created.
fn next_steps(accounts: &[(String, String)], by_association: bool) -> String {
    let restart = "Pods already running must be restarted";
    let injected = match by_association {
        true => "EKS hands a pod its association's credentials when it starts.",
        false => "IRSA is injected when a pod is created.",
    };
    match accounts {
        [] => String::new(),
        [(sa_namespace, service_account)] => format!(
            "Next: pods in namespace `{sa_namespace}` get the role when their spec says\n\
             \x20 serviceAccountName: {service_account}\n\
             {restart} (e.g. `kubectl rollout restart deployment/NAME -n {sa_namespace}`): {injected}\n"
        ),
        several => {
            let mut text = String::from(
                "Next: pods get the role when their spec names one of these ServiceAccounts in its namespace:\n",
            );
            for (namespace, name) in several {
                text.push_str(&format!(
                    "  namespace `{namespace}`: serviceAccountName: {name}\n"
                ));
            }
            text.push_str(&format!(
                "{restart} (e.g. `kubectl rollout restart deployment/NAME -n NAMESPACE`): {injected}\n"
            ));
            text
        }
    }
}

/// With a ConfigMap, the SDK must read the profile chain from it.
fn config_map_next_steps(mode: crate::trust::TrustMode, config_map: &str) -> String {
    let key = crate::trust::chain::CONFIG_MAP_KEY;
    let profile = crate::trust::chain::KLANKER_PROFILE;
    let mut mode = mode.to_string();
    if let Some(first) = mode.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!(
        "{mode} mode: mount ConfigMap `{config_map}` in the pod (e.g. at /etc/klanker, key `{key}`) and set\n\
         \x20 AWS_CONFIG_FILE=/etc/klanker/{key}\n\
         \x20 AWS_PROFILE={profile}\n\
         The SDK then assumes the cluster role with the pod's token and the klanker role from it.\n"
    )
}

/// The mode's ConfigMap goes in each namespace holding a ServiceAccount.
fn config_map_namespaces(req: &AddRequest) -> std::collections::BTreeSet<String> {
    shown_service_accounts(req)
        .into_iter()
        .map(|(namespace, _)| namespace)
        .collect()
}

/// The ServiceAccounts the text names: those applied, else (a wildcard
/// name) the first subject as given, as before several existed.
fn shown_service_accounts(req: &AddRequest) -> Vec<(String, String)> {
    match req.service_accounts() {
        named if named.is_empty() => vec![(req.sa_namespace.clone(), req.service_account.clone())],
        named => named,
    }
}

pub fn result(o: &mut Out, req: &AddRequest, add: &AddPlan, done: Done<'_>) -> Result<(), Error> {
    match req.output {
        AddOutput::Text => text_result(o, req, add, &done),
        AddOutput::Json => structured_result(o, req, add, &done, Structured::Json),
        AddOutput::Yaml => structured_result(o, req, add, &done, Structured::Yaml),
        AddOutput::Manifest => manifest(o, req, add),
    }
}

fn text_result(o: &mut Out, req: &AddRequest, add: &AddPlan, done: &Done<'_>) -> Result<(), Error> {
    let applied = done.outcome.is_some();
    let role_arn = &add.desired.role_arn;
    let annotated = add.annotations.get(ROLE_ARN_ANNOTATION).unwrap_or(role_arn);
    if let Some(server) = done.server {
        let server = super::rm::with_verbs(server, &add.plan);
        write!(o.out, "{}", super::server_dry_run_text(&server))?;
    }
    if let Some(outcome) = done.outcome {
        writeln!(o.out, "Applied {} change(s).", add.plan.changes().count())?;
        for line in &results(add, outcome) {
            writeln!(o.out, "{}", visible(line))?;
        }
    } else if !add.plan.is_noop() {
        let accounts = shown_service_accounts(req);
        let annotated = add.annotations.get(ROLE_ARN_ANNOTATION).map(String::as_str);
        for line in dry_run_lines(&add.plan, (role_arn, annotated), &accounts) {
            writeln!(o.out, "{line}")?;
        }
        return super::nothing_changed(o, "apply");
    }
    writeln!(o.out, "role: {role_arn}")?;
    if let Some(cluster_role) = &add.cluster_role_arn {
        let mode = req.mode.kind();
        writeln!(
            o.out,
            "cluster role: {cluster_role} ({mode}: it assumes {role_arn})"
        )?;
    }
    // No role annotation: EKS Pod Identity associations hand the pods the role.
    let by_association = add.annotations.is_empty();
    for (namespace, name) in shown_service_accounts(req) {
        match by_association {
            true => writeln!(
                o.out,
                "service account: {namespace}/{name} (EKS Pod Identity association)"
            )?,
            false => writeln!(
                o.out,
                "service account: {namespace}/{name} ({ROLE_ARN_ANNOTATION}: {annotated})"
            )?,
        }
    }
    if let Some(cm) = &add.config_map {
        for namespace in config_map_namespaces(req) {
            writeln!(
                o.out,
                "config map: {namespace}/{} (key {})",
                cm.name,
                crate::trust::chain::CONFIG_MAP_KEY
            )?;
        }
    }
    if applied && req.applies_service_account() {
        write!(
            o.out,
            "{}",
            next_steps(&req.service_accounts(), by_association)
        )?;
        if let Some(cm) = &add.config_map {
            write!(
                o.out,
                "{}",
                config_map_next_steps(req.mode.kind(), &cm.name)
            )?;
        }
    }
    match done.verification {
        Some(checks) => verification_text(o, req, checks),
        None => Ok(()),
    }
}

fn verification_text(o: &mut Out, req: &AddRequest, checks: &[Check]) -> Result<(), Error> {
    writeln!(o.out, "Verifying the trust chain:")?;
    let text = super::verify::checks_text_to(checks, o.colour, o.width);
    write!(o.out, "{text}")?;
    writeln!(o.out, "{}", super::verify::verdict(checks))?;
    // A token's check by STS is verify's, where there is a token to check.
    let by_association = crate::plan::mode::of(req.mode.kind()).uses_associations();
    if !crate::verify::has_failure(checks) && !by_association {
        writeln!(
            o.out,
            "(`kubectl klanker-trust verify {}` also has STS assume the role with a real token.)",
            req.name
        )?;
    }
    Ok(())
}

fn structured_result(
    o: &mut Out,
    req: &AddRequest,
    add: &AddPlan,
    done: &Done<'_>,
    format: Structured,
) -> Result<(), Error> {
    let results = done.outcome.map(|o| results(add, o)).unwrap_or_default();
    super::write_structured(o, &report(req, add, done, &results), format)
}

/// `results`: what the user must not miss (see `results`).
fn report<'a>(
    req: &'a AddRequest,
    add: &'a AddPlan,
    done: &Done<'a>,
    results: &'a [String],
) -> AddReport<'a> {
    let applied = done.outcome.is_some();
    AddReport {
        name: &req.name,
        dry_run: !applied && !add.plan.is_noop(),
        applied,
        klanker_account: &add.account,
        role_name: &req.role_name,
        role_arn: &add.desired.role_arn,
        oidc_provider_arn: &add.desired.provider_arn,
        issuer: add.desired.issuer.url(),
        namespace: req.scope.namespace_label(),
        service_account_namespace: &req.sa_namespace,
        service_account: &req.service_account,
        mode: req.mode.kind().as_str(),
        cluster_role_arn: add.cluster_role_arn.as_deref(),
        config_map: add.config_map.as_ref().map(|c| c.name.as_str()),
        service_accounts: add
            .desired
            .config_entry
            .as_ref()
            .map(|e| e.service_accounts.as_slice())
            .unwrap_or_default(),
        config_path: done.config_path.display().to_string(),
        plan: &add.plan.steps,
        warnings: &add.plan.warnings,
        results,
        verification: done.verification,
        server_dry_run: done.server.map(|s| ServerDryRunReport {
            accepted: &s.accepted,
            not_sent: &s.not_sent,
        }),
    }
}

/// One cluster's `add -o json|yaml` document, for a fleet's document.
pub fn cluster_report(req: &AddRequest, add: &AddPlan, done: Done<'_>) -> serde_json::Value {
    let results = done.outcome.map(|o| results(add, o)).unwrap_or_default();
    serde_json::to_value(report(req, add, &done, &results)).unwrap_or_default()
}

/// One YAML document per ServiceAccount, as `kubectl apply -f` reads them.
fn manifest(o: &mut Out, req: &AddRequest, add: &AddPlan) -> Result<(), Error> {
    for (i, (namespace, name)) in req.service_accounts().iter().enumerate() {
        let sa = k8s::service_account(namespace, name, &add.annotations, &add.labels);
        if i > 0 {
            writeln!(o.out, "---")?;
        }
        // k8s-openapi's serializer writes apiVersion and kind itself.
        write!(o.out, "{}", serde_yaml::to_string(&sa)?)?;
    }
    if let Some(cm) = &add.config_map {
        for namespace in config_map_namespaces(req) {
            let cm = k8s::config_map(&namespace, &cm.name, &req.name, &cm.data);
            write!(o.out, "---\n{}", serde_yaml::to_string(&cm)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Op, Plan, Step, Target};

    fn sa_step(action: Action) -> Step {
        Step::new(
            Target::Cluster,
            action,
            "ServiceAccount ai-pods/km",
            Some(Op::ApplyServiceAccount {
                namespace: "ai-pods".into(),
                name: "km".into(),
                annotations: Default::default(),
                labels: Default::default(),
                force: false,
                create: false,
            }),
        )
    }

    #[test]
    fn a_dry_run_says_what_it_would_create_and_never_that_it_exists() {
        let create_role = Step::new(
            Target::Iam,
            Action::Create,
            "role r",
            Some(Op::CreateRole {
                name: "r".into(),
                trust_policy: serde_json::json!({}),
                max_session: 3600,
                description: String::new(),
                tags: Default::default(),
                permissions_boundary: None,
            }),
        );
        let plan = Plan {
            steps: vec![create_role, sa_step(Action::Create)],
            warnings: Vec::new(),
        };
        let lines = dry_run_lines(
            &plan,
            ("arn:r", Some("arn:r")),
            &[("ai-pods".into(), "km".into())],
        );
        assert_eq!(lines[0], "would create role: arn:r");
        assert!(
            lines[1].starts_with("would create service account: ai-pods/km"),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("role: ")), "{lines:?}");

        let plan = Plan {
            steps: vec![sa_step(Action::Update)],
            warnings: Vec::new(),
        };
        let lines = dry_run_lines(
            &plan,
            ("arn:r", Some("arn:r")),
            &[("ai-pods".into(), "km".into())],
        );
        assert_eq!(lines[0], "role (exists): arn:r");
        assert!(
            lines[1].starts_with("would annotate service account"),
            "{lines:?}"
        );
    }

    #[test]
    fn next_steps_name_the_service_account_and_the_restart() {
        let text = next_steps(&[("ai-pods".into(), "km".into())], false);
        assert!(text.contains("serviceAccountName: km"), "{text}");
        assert!(text.contains("namespace `ai-pods`"), "{text}");
        assert!(text.contains("restarted"), "{text}");
        assert!(
            text.contains("IRSA is injected when a pod is created"),
            "{text}"
        );
    }

    /// Issue 26, item 13: one "Next:" block for three ServiceAccounts.
    #[test]
    fn next_steps_are_said_once_for_several_service_accounts() {
        let accounts = [
            ("team-b".to_string(), "km".to_string()),
            ("team-b".to_string(), "argocd-server".to_string()),
            ("ci".to_string(), "deployer".to_string()),
        ];
        let text = next_steps(&accounts, false);
        assert_eq!(text.matches("Next:").count(), 1, "{text}");
        assert_eq!(text.matches("restarted").count(), 1, "{text}");
        for name in ["km", "argocd-server", "deployer"] {
            assert!(
                text.contains(&format!("serviceAccountName: {name}\n")),
                "{text}"
            );
        }
        assert!(text.contains("namespace `ci`"), "{text}");
        assert_eq!(next_steps(&[], true), "");
    }

    #[test]
    fn the_server_dry_run_says_what_was_accepted_and_what_was_not_sent() {
        let text = crate::output::server_dry_run_text(&ServerDryRun {
            accepted: vec!["namespace ns".into()],
            not_sent: vec!["ServiceAccount ns/km".into()],
        });
        assert!(text.contains("accepted: namespace ns"), "{text}");
        assert!(text.contains("not sent: ServiceAccount ns/km"), "{text}");
        assert!(text.contains("planned only"), "{text}");
    }

    #[test]
    fn the_manifest_names_its_kind() {
        let sa = k8s::service_account(
            "ai-pods",
            "km",
            &[(ROLE_ARN_ANNOTATION.to_string(), "arn".to_string())].into(),
            &Default::default(),
        );
        let yaml = serde_yaml::to_string(&sa).unwrap();
        assert!(
            yaml.starts_with("apiVersion: v1\nkind: ServiceAccount\n"),
            "{yaml}"
        );
        assert!(yaml.contains("namespace: ai-pods"), "{yaml}");
    }
}
