//! What `rm` shows: the removal plan and its notes, the result, the JSON/YAML
//! report, and what a NotFound says was looked at in the cluster.

use serde::Serialize;

use super::{Out, Structured, visible};
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
pub fn plan(
    o: &mut Out,
    acting_as: &str,
    name: &str,
    account: &str,
    removal: &Removal,
    notes: &[String],
) -> Result<(), Error> {
    let plan = &removal.plan;
    match (plan.is_noop(), &removal.unfinished) {
        (true, None) => writeln!(
            o.out,
            "Nothing to remove: `{name}` is not onboarded in klanker account {account} (or was removed already)."
        )?,
        (true, Some(_)) => writeln!(
            o.out,
            "Nothing more can be removed until the cluster can be read: the ServiceAccount of `{name}` is pending."
        )?,
        (false, _) => write!(
            o.out,
            "{}",
            super::plan_text_to(
                &format!("{acting_as}Removal plan for `{name}` in klanker account {account}:"),
                plan,
                &[],
                o.colour,
                o.width,
            )
        )?,
    }
    for note in notes {
        writeln!(o.out, "note: {}", visible(note))?;
    }
    Ok(())
}

/// The result: a line per outcome in text, the whole report in JSON/YAML.
pub fn result(o: &mut Out, format: ReportOutput, outcome: &RmOutcome<'_>) -> Result<(), Error> {
    let plan = &outcome.removal.plan;
    let structured = match format {
        ReportOutput::Text => {
            if outcome.applied {
                writeln!(
                    o.out,
                    "Removed: {} change(s) applied.",
                    plan.changes().count()
                )?;
                for (step, why) in &outcome.skipped {
                    writeln!(o.out, "not done: {}: {}", visible(step), visible(why))?;
                }
            } else if !plan.is_noop() {
                super::nothing_changed(o, "remove")?;
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
    super::write_structured(o, &report, structured)
}

/// `--dry-run=server`: what the API server accepted (text output; the
/// JSON/YAML report is the plan's).
pub fn server_dry_run(
    o: &mut Out,
    format: ReportOutput,
    server: &crate::apply::ServerDryRun,
    plan: &crate::plan::Plan,
) -> Result<(), Error> {
    if format == ReportOutput::Text {
        write!(
            o.out,
            "{}",
            super::server_dry_run_text(&with_verbs(server, plan))
        )?;
    }
    Ok(())
}

/// The server dry run's summaries with each step's verb: "accepted:
/// ServiceAccount ai-pods/km" did not say that it was a deletion (issue 26,
/// item 14). The summaries are the plan's steps', so the step says it.
pub(super) fn with_verbs(
    server: &crate::apply::ServerDryRun,
    plan: &crate::plan::Plan,
) -> crate::apply::ServerDryRun {
    let verbed = |summary: &String| match plan.changes().find(|s| &s.summary == summary) {
        Some(step) => format!("{} {summary}", super::action_word(step.action)),
        None => summary.clone(),
    };
    crate::apply::ServerDryRun {
        accepted: server.accepted.iter().map(verbed).collect(),
        not_sent: server.not_sent.iter().map(verbed).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::rendered;
    use crate::plan::removal::Unfinished;
    use crate::plan::{Action, Op, Plan, Target};

    const ROLE: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    fn removal(unfinished: Option<Unfinished>) -> Removal {
        let delete = Op::DeleteRole {
            role: "km-cluster-dev".into(),
            owner: "dev".into(),
        };
        Removal {
            plan: Plan {
                steps: vec![
                    Step::new(
                        Target::Iam,
                        Action::Delete,
                        "role km-cluster-dev",
                        Some(delete),
                    ),
                    Step::new(
                        Target::Cluster,
                        Action::Unchanged,
                        "namespace ai-pods",
                        None,
                    ),
                ],
                warnings: Vec::new(),
            },
            notes: Vec::new(),
            unfinished,
        }
    }

    fn outcome<'a>(removal: &'a Removal, notes: &'a [String], applied: bool) -> RmOutcome<'a> {
        RmOutcome {
            name: "dev",
            role_arn: ROLE,
            removal,
            notes,
            applied,
            skipped: Vec::new(),
        }
    }

    /// Issue 26, item 14: the server dry run says what it accepted, verb
    /// included ("accepted: ServiceAccount ai-pods/km" hid the deletion).
    #[test]
    fn the_server_dry_run_names_the_verb_of_what_it_accepted() {
        let delete_sa = Op::DeleteServiceAccount {
            namespace: "ai-pods".into(),
            name: "km".into(),
            role_arn: ROLE.into(),
        };
        let mut removal = removal(None);
        removal.plan.steps.push(Step::new(
            Target::Cluster,
            Action::Delete,
            "ServiceAccount ai-pods/km",
            Some(delete_sa),
        ));
        let server = crate::apply::ServerDryRun {
            accepted: vec!["ServiceAccount ai-pods/km".into()],
            not_sent: Vec::new(),
        };
        let (out, _) = rendered(|o| server_dry_run(o, ReportOutput::Text, &server, &removal.plan));
        assert!(
            out.contains("  accepted: delete ServiceAccount ai-pods/km\n"),
            "{out}"
        );
        let (out, _) = rendered(|o| server_dry_run(o, ReportOutput::Json, &server, &removal.plan));
        assert_eq!(out, "");
    }

    #[test]
    fn the_plan_and_its_notes_go_to_stdout() {
        let notes = ["the cluster \u{1b}[2Kwas not read".to_string()];
        let removal = removal(None);
        let (out, err) = rendered(|o| plan(o, "", "dev", "333333333333", &removal, &notes));
        assert!(
            out.starts_with("Removal plan for `dev` in klanker account 333333333333:\n"),
            "{out}"
        );
        assert!(
            out.contains("IAM     delete    role km-cluster-dev\n"),
            "{out}"
        );
        assert!(out.contains("1 change(s) to apply.\n"), "{out}");
        assert!(
            out.ends_with("note: the cluster \\e[2Kwas not read\n"),
            "notes are made visible: {out}"
        );
        assert_eq!(err, "");

        let nothing = Removal {
            plan: Plan {
                steps: Vec::new(),
                warnings: Vec::new(),
            },
            ..removal
        };
        let (out, _) = rendered(|o| plan(o, "", "dev", "333333333333", &nothing, &[]));
        assert_eq!(
            out,
            "Nothing to remove: `dev` is not onboarded in klanker account 333333333333 (or was removed already).\n"
        );
    }

    #[test]
    fn the_text_result_says_what_was_removed_or_that_it_was_a_dry_run() {
        let removal = removal(None);
        let mut applied = outcome(&removal, &[], true);
        applied.skipped = vec![("role km-cluster-dev".into(), "it is not ours".into())];
        let (out, err) = rendered(|o| result(o, ReportOutput::Text, &applied));
        assert_eq!(
            out,
            "Removed: 1 change(s) applied.\nnot done: role km-cluster-dev: it is not ours\n"
        );
        assert_eq!(err, "");

        let planned = outcome(&removal, &[], false);
        let (out, _) = rendered(|o| result(o, ReportOutput::Text, &planned));
        assert_eq!(
            out,
            "Dry run: nothing was changed. Run again with --dry-run=false (or --yes) to remove.\n"
        );
    }

    #[test]
    fn the_yaml_report_has_the_plan_and_what_is_left_pending() {
        let removal = removal(Some(Unfinished {
            part: PendingPart::Cluster,
            why: "the cluster could not be reached".into(),
            entry_kept: true,
        }));
        let notes = ["a note".to_string()];
        let applied = outcome(&removal, &notes, true);
        let (out, _) = rendered(|o| result(o, ReportOutput::Yaml, &applied));
        let doc: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(doc["name"], "dev");
        assert_eq!(doc["applied"], true);
        assert_eq!(doc["dry_run"], false);
        assert_eq!(doc["role_arn"], ROLE);
        assert_eq!(doc["plan"][0]["summary"], "role km-cluster-dev", "{out}");
        assert_eq!(doc["notes"][0], "a note");
        assert_eq!(doc["pending"]["part"], "cluster", "{out}");
        assert_eq!(doc["pending"]["km_config_entry_kept"], true, "{out}");
    }
}
