//! What `add` says: the plan before applying, the result after.

use serde::Serialize;

use super::{Structured, visible};
use crate::apply::Outcome;
use crate::cli::AddOutput;
use crate::error::Error;
use crate::k8s;
use crate::observe::add::AddSnapshot;
use crate::plan::mirror::AddPlan;
use crate::plan::{self, RegisterMode};
use crate::resolve::add::AddRequest;
use crate::trust::ROLE_ARN_ANNOTATION;
use crate::verify::Check;

/// `--verbose`: which context, cluster, trust and file this run uses.
pub fn context_line(req: &AddRequest, config: &std::path::Path) {
    eprintln!(
        "context {} (cluster {}), trust {}, config {}",
        req.context.context_name,
        req.context.server.as_deref().unwrap_or("?"),
        req.scope.subject(),
        config.display()
    );
}

/// The plan, on stdout for text output, on stderr beside `-o manifest`
/// (stdout is the manifest), not at all for JSON/YAML (it is in the report).
/// `acting_as`: which identity acts in each account (a line, or empty).
pub fn plan(req: &AddRequest, snap: &AddSnapshot, add: &AddPlan, acting_as: &str) {
    if snap.issuer.discovered {
        eprintln!(
            "OIDC issuer discovered from the API server: {}",
            visible(&snap.issuer.issuer.url())
        );
    }
    if req.register == RegisterMode::Auto {
        match &add.reuses_provider {
            Some(arn) => eprintln!(
                "OIDC provider auto-detected: reusing existing {}",
                visible(arn)
            ),
            None => eprintln!("OIDC provider auto-detected: creating"),
        }
    }
    let header = format!(
        "{acting_as}Plan for `{}` in klanker account {} (context {}, issuer {}, trust {}):",
        req.name,
        add.account,
        req.context.context_name,
        add.desired.issuer.url(),
        req.scope.subject()
    );
    match req.output {
        AddOutput::Text => print!(
            "{}",
            super::plan_text(&header, &add.plan, &add.warnings, super::stdout_colour())
        ),
        AddOutput::Manifest => eprint!(
            "{}",
            super::plan_text(&header, &add.plan, &add.warnings, false)
        ),
        AddOutput::Json | AddOutput::Yaml => {}
    }
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
    config_path: String,
    plan: &'a [plan::Step],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    /// Removals and releases done (or, after a last re-check, not done).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    results: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a [Check]>,
}

/// What happened, once the plan was applied (`outcome`) or not.
pub struct Done<'a> {
    pub outcome: Option<&'a Outcome>,
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

pub fn result(req: &AddRequest, add: &AddPlan, done: Done<'_>) -> Result<(), Error> {
    let applied = done.outcome.is_some();
    let results = done.outcome.map(|o| results(add, o)).unwrap_or_default();
    let role_arn = &add.desired.role_arn;
    match req.output {
        AddOutput::Text => {
            if applied {
                println!("Applied {} change(s).", add.plan.changes().count());
                for line in &results {
                    println!("{}", visible(line));
                }
            } else if !add.plan.is_noop() {
                super::nothing_changed("apply");
            }
            println!("role: {role_arn}");
            println!(
                "service account: {}/{} ({ROLE_ARN_ANNOTATION}: {role_arn})",
                req.sa_namespace, req.service_account
            );
            if let Some(checks) = done.verification {
                println!(
                    "Verification (the STS step: `kubectl klanker-trust verify {}`):",
                    req.name
                );
                print!("{}", super::verify::checks_text(checks));
            }
            Ok(())
        }
        AddOutput::Json | AddOutput::Yaml => {
            let report = AddReport {
                name: &req.name,
                dry_run: !applied && !add.plan.is_noop(),
                applied,
                klanker_account: &add.account,
                role_name: &req.role_name,
                role_arn,
                oidc_provider_arn: &add.desired.provider_arn,
                issuer: add.desired.issuer.url(),
                namespace: req.scope.namespace_label(),
                service_account_namespace: &req.sa_namespace,
                service_account: &req.service_account,
                config_path: done.config_path.display().to_string(),
                plan: &add.plan.steps,
                warnings: &add.plan.warnings,
                results: &results,
                verification: done.verification,
            };
            let format = if req.output == AddOutput::Json {
                Structured::Json
            } else {
                Structured::Yaml
            };
            super::print_structured(&report, format)
        }
        AddOutput::Manifest => {
            let sa = k8s::service_account(
                &req.sa_namespace,
                &req.service_account,
                &add.annotations,
                &add.labels,
            );
            // k8s-openapi's serializer writes apiVersion and kind itself.
            print!("{}", serde_yaml::to_string(&sa)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
