//! What `add` over several clusters says: each cluster's plan under its
//! name and a total, one line per cluster while applying (indicatif's
//! MultiProgress on a terminal, plain lines prefixed with the cluster's
//! name without one), and a summary: a table, or one document.

use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{Out, Structured, visible};
use crate::error::Error;
use crate::plan::add::AddPlan;
use crate::plan::snapshot::AddSnapshot;
use crate::resolve::add::AddRequest;

/// How one cluster of the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterResult {
    /// Changes were applied, and verified when asked.
    Applied,
    /// Already as asked: nothing to change.
    Unchanged,
    /// Planned only (a dry run, or no terminal to ask on).
    Planned,
    /// Failed before any write to this cluster's onboarding.
    Failed,
    /// Failed after some changes were applied: re-running converges.
    FailedPartWay,
    /// Applied, and a link of the trust chain fails.
    Broken,
    /// Stopped by Ctrl-C between steps.
    Interrupted,
    /// `verify`: every link of the chain holds.
    #[serde(rename = "ok")]
    Verified,
    /// `rm`: removed.
    Removed,
}

impl ClusterResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterResult::Applied => "applied",
            ClusterResult::Unchanged => "unchanged",
            ClusterResult::Planned => "planned",
            ClusterResult::Failed => "failed",
            ClusterResult::FailedPartWay => "failed part-way",
            ClusterResult::Broken => "broken",
            ClusterResult::Interrupted => "interrupted",
            ClusterResult::Verified => "ok",
            ClusterResult::Removed => "removed",
        }
    }

    pub fn succeeded(self) -> bool {
        matches!(
            self,
            ClusterResult::Applied
                | ClusterResult::Unchanged
                | ClusterResult::Planned
                | ClusterResult::Verified
                | ClusterResult::Removed
        )
    }
}

/// One cluster's line of the summary, and its entry in the document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The kubeconfig context it was worked on in, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The registry name; the context's when it could not be resolved.
    pub name: String,
    pub mode: String,
    pub role: String,
    pub result: ClusterResult,
    /// What went wrong, as the error message says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that converges this cluster (it plans first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converge: Option<String>,
    /// The cluster's own `add -o json` document, when it was planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

/// The document of `add|rm|verify -o json|yaml` over several clusters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FleetReport<'a> {
    kind: &'static str,
    clusters: &'a [Row],
    succeeded: usize,
    failed: usize,
}

/// One cluster's part of the combined plan.
pub enum ClusterPlan<'a> {
    Planned {
        req: &'a AddRequest,
        snapshot: &'a AddSnapshot,
        add: &'a AddPlan,
        /// Which identity acts in each account: said once, on the first plan.
        acting_as: &'a str,
    },
    NotPlanned {
        context: &'a str,
        cause: String,
    },
}

/// Each cluster's plan (the plan's header names the cluster and its
/// context), the clusters that could not be planned and why, then the
/// total.
pub fn plans(o: &mut Out, plans: &[ClusterPlan<'_>], warnings: &[String]) -> Result<(), Error> {
    let (mut changing, mut unchanged, mut failed) = (0, 0, 0);
    for plan in plans {
        writeln!(o.out)?;
        match plan {
            ClusterPlan::Planned {
                req,
                snapshot,
                add,
                acting_as,
            } => {
                let first = changing + unchanged == 0;
                let heading = (if first { *acting_as } else { "" }, true);
                super::add::plan(o, req, snapshot, add, heading)?;
                match add.plan.is_noop() {
                    true => unchanged += 1,
                    false => changing += 1,
                }
            }
            ClusterPlan::NotPlanned { context, cause } => {
                failed += 1;
                writeln!(
                    o.out,
                    "Context {} was not planned: {}",
                    visible(context),
                    visible(cause)
                )?;
            }
        }
    }
    let total = changing + unchanged + failed;
    writeln!(
        o.out,
        "\nFleet: {total} cluster(s): {changing} to change, {unchanged} unchanged, {failed} not planned."
    )?;
    for warning in warnings {
        writeln!(o.out, "WARNING: {}", visible(warning))?;
    }
    Ok(())
}

/// One onboarding that could not be planned (or read), and why.
pub fn not_planned(o: &mut Out, what: &str, cause: &str) -> Result<(), Error> {
    writeln!(
        o.out,
        "\n{} was not planned: {}",
        visible(what),
        visible(cause)
    )
}

/// The summary: a table (name, mode, role, result), then each failure
/// with its cause and the command that converges it; or one document of
/// `kind` (FleetAddResult, FleetRmResult, FleetVerifyResult).
pub fn summary(
    o: &mut Out,
    kind: &'static str,
    rows: &[Row],
    format: Option<Structured>,
) -> Result<(), Error> {
    let failed = rows.iter().filter(|r| !r.result.succeeded()).count();
    if let Some(format) = format {
        let report = FleetReport {
            kind,
            clusters: rows,
            succeeded: rows.len() - failed,
            failed,
        };
        return super::write_structured(o, &report, format);
    }
    writeln!(o.out)?;
    for line in table(rows) {
        writeln!(o.out, "{}", line.trim_end())?;
    }
    for row in rows.iter().filter(|r| !r.result.succeeded()) {
        writeln!(
            o.out,
            "\n{} ({}): {}",
            visible(&row.name),
            row.result.as_str(),
            visible(row.error.as_deref().unwrap_or(""))
        )?;
        if let Some(command) = &row.converge {
            writeln!(o.out, "  converge: {}", visible(command))?;
        }
    }
    Ok(())
}

fn table(rows: &[Row]) -> Vec<String> {
    let header = ["NAME", "MODE", "ROLE", "RESULT"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                visible(&r.name).into_owned(),
                r.mode.clone(),
                visible(&r.role).into_owned(),
                r.result.as_str().to_string(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let line = |c: [&str; 4]| {
        format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    std::iter::once(line(header))
        .chain(cells.iter().map(|c| line([&c[0], &c[1], &c[2], &c[3]])))
        .collect()
}

/// The run's progress: one bar per cluster on a terminal; otherwise
/// (and also with --verbose) a plain line per step, prefixed with the
/// cluster's name, so interleaved lines still say whose they are.
#[derive(Clone)]
pub struct FleetProgress {
    multi: Option<MultiProgress>,
    verbose: bool,
}

impl FleetProgress {
    /// Leaving at once (a second Ctrl-C) wipes the bars first.
    pub fn new(verbose: bool, interrupt: &crate::apply::Interrupt) -> Self {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        if let Some(multi) = &multi {
            let wiped = multi.clone();
            interrupt.before_leaving(Box::new(move || {
                // Nothing more can be said to a terminal that refuses this.
                let _ = wiped.clear();
            }));
        }
        Self { multi, verbose }
    }

    /// One cluster's line, `steps` long.
    pub fn cluster(&self, name: &str, steps: usize) -> ClusterProgress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new(steps as u64));
            if let Ok(style) = ProgressStyle::with_template("{prefix} [{pos}/{len}] {wide_msg}") {
                bar.set_style(style);
            }
            bar.set_prefix(visible(name).into_owned());
            bar
        });
        ClusterProgress {
            name: visible(name).into_owned(),
            bar,
            lines: self.multi.is_none() || self.verbose,
        }
    }
}

/// One cluster's line of the fleet's progress.
#[derive(Clone)]
pub struct ClusterProgress {
    name: String,
    bar: Option<ProgressBar>,
    /// Plain `NAME: step` lines on stderr.
    lines: bool,
}

impl ClusterProgress {
    fn line(&self, text: &str) {
        let line = format!("{}: {}", self.name, visible(text));
        match &self.bar {
            Some(bar) => bar.suspend(|| stderr_line(&line)),
            None => stderr_line(&line),
        }
    }
}

impl crate::apply::Progress for ClusterProgress {
    fn start(&self, summary: &str) {
        if self.lines {
            self.line(summary);
        }
        if let Some(bar) = &self.bar {
            bar.set_message(visible(summary).into_owned());
        }
    }

    fn note(&self, why: &str) {
        self.line(&format!("note: {why}"));
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message("done");
        }
    }
}

/// Progress lines go straight to stderr, which clusters applying at once
/// share; a closed stderr has nobody left to tell, and the steps go on.
fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, result: ClusterResult) -> Row {
        Row {
            context: Some(format!("ctx-{name}")),
            name: name.into(),
            mode: "mirror".into(),
            role: format!("km-cluster-{name}"),
            result,
            error: (!result.succeeded()).then(|| "the EKS cluster was not found".into()),
            converge: (!result.succeeded())
                .then(|| format!("kubectl klanker-trust add --context ctx-{name}")),
            report: None,
        }
    }

    #[test]
    fn the_table_aligns_and_failures_say_why_and_how_to_converge() {
        let rows = [
            row("a", ClusterResult::Applied),
            row("bb", ClusterResult::Failed),
        ];
        let (out, _) = super::super::rendered(|o| summary(o, "FleetAddResult", &rows, None));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "NAME  MODE    ROLE           RESULT");
        assert_eq!(lines[2], "a     mirror  km-cluster-a   applied");
        assert_eq!(lines[3], "bb    mirror  km-cluster-bb  failed");
        assert!(
            out.contains("bb (failed): the EKS cluster was not found"),
            "{out}"
        );
        assert!(
            out.contains("converge: kubectl klanker-trust add --context ctx-bb"),
            "{out}"
        );
    }

    #[test]
    fn the_document_counts_and_lists_every_cluster() {
        let rows = [
            row("a", ClusterResult::Unchanged),
            row("b", ClusterResult::FailedPartWay),
        ];
        let (out, _) =
            super::super::rendered(|o| summary(o, "FleetAddResult", &rows, Some(Structured::Json)));
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["kind"], "FleetAddResult");
        assert_eq!(
            (doc["succeeded"].as_u64(), doc["failed"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(doc["clusters"][1]["result"], "failed-part-way");
        assert_eq!(doc["clusters"][0].get("error"), None);
    }
}
