//! What `rm` shows: the removal plan and its notes, the result, the JSON/YAML
//! report, and what a NotFound says was looked at in the cluster.

use serde::Serialize;

use super::{Structured, visible};
use crate::cli::ReportOutput;
use crate::error::Error;
use crate::plan::Step;
use crate::plan::removal::Removal;
use crate::store::PendingPart;

/// What one `rm` run did, for the result and the report.
pub struct RmOutcome<'a> {
    pub name: &'a str,
    pub role_arn: &'a str,
    pub removal: &'a Removal,
    pub notes: &'a [String],
    pub applied: bool,
    /// Steps a re-check right before the call turned into no-ops, and why.
    pub skipped: Vec<(String, String)>,
}

#[derive(Serialize)]
struct RmReport<'a> {
    name: &'a str,
    dry_run: bool,
    applied: bool,
    role_arn: &'a str,
    plan: &'a [Step],
    notes: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<String>,
    /// The part this run could not do (exit 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<PendingReport<'a>>,
}

#[derive(Serialize)]
struct PendingReport<'a> {
    part: PendingPart,
    reason: &'a str,
    /// km-config.yaml keeps the entry, marked pending, for the next `rm`.
    km_config_entry_kept: bool,
}

/// The plan and its notes, before the prompt (text output only).
/// `acting_as`: which identity acts in each account (a line, or empty).
pub fn plan(acting_as: &str, name: &str, account: &str, removal: &Removal, notes: &[String]) {
    let plan = &removal.plan;
    match (plan.is_noop(), &removal.unfinished) {
        (true, None) => println!(
            "Nothing to remove: `{name}` is not onboarded in klanker account {account} (or was removed already)."
        ),
        (true, Some(_)) => println!(
            "Nothing more can be removed until the cluster can be read: the ServiceAccount of `{name}` is pending."
        ),
        (false, _) => print!(
            "{}",
            super::plan_text(
                &format!("{acting_as}Removal plan for `{name}` in klanker account {account}:"),
                plan,
                &[],
                super::stdout_colour()
            )
        ),
    }
    for note in notes {
        println!("note: {}", visible(note));
    }
}

/// The result: a line per outcome in text, the whole report in JSON/YAML.
pub fn result(format: ReportOutput, outcome: &RmOutcome<'_>) -> Result<(), Error> {
    let plan = &outcome.removal.plan;
    let structured = match format {
        ReportOutput::Text => {
            if outcome.applied {
                println!("Removed: {} change(s) applied.", plan.changes().count());
                for (step, why) in &outcome.skipped {
                    println!("not done: {}: {}", visible(step), visible(why));
                }
            } else if !plan.is_noop() {
                super::nothing_changed("remove");
            }
            return Ok(());
        }
        ReportOutput::Json => Structured::Json,
        ReportOutput::Yaml => Structured::Yaml,
    };
    let report = RmReport {
        name: outcome.name,
        dry_run: !outcome.applied && !plan.is_noop(),
        applied: outcome.applied,
        role_arn: outcome.role_arn,
        plan: &plan.steps,
        notes: outcome.notes,
        skipped: outcome
            .skipped
            .iter()
            .map(|(step, why)| format!("{step}: {why}"))
            .collect(),
        pending: outcome.removal.unfinished.as_ref().map(|u| PendingReport {
            part: u.part,
            reason: &u.why,
            km_config_entry_kept: u.entry_kept,
        }),
    };
    super::print_structured(&report, structured)
}

/// `--dry-run=server`: what the API server accepted (text output; the
/// JSON/YAML report is the plan's).
pub fn server_dry_run(format: ReportOutput, server: &crate::apply::ServerDryRun) {
    if format == ReportOutput::Text {
        print!("{}", super::server_dry_run_text(server));
    }
}
