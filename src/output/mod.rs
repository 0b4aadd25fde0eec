//! Everything the user sees: plan and result rendering, the prompt,
//! progress. Colour and progress only on a terminal; `NO_COLOR` is honoured
//! by `console`.

use std::io::IsTerminal;

use console::{Style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub mod add;
pub mod describe;
pub mod policy;
pub mod verify;

use crate::error::Error;
use crate::plan::{Action, Plan, Target};

/// Whether we may ask questions: both stdin and stderr must be terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn action_style(action: Action) -> Style {
    match action {
        Action::Create => Style::new().green(),
        Action::Update => Style::new().yellow(),
        Action::Delete => Style::new().red(),
        Action::Unchanged => Style::new().dim(),
    }
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Unchanged => "unchanged",
    }
}

fn target_word(target: Target) -> &'static str {
    match target {
        Target::Iam => "IAM",
        Target::Cluster => "cluster",
        Target::Local => "local",
    }
}

/// The plan as text lines, coloured when `colour` (the stream is a terminal).
pub fn plan_text(header: &str, plan: &Plan, warnings: &[String], colour: bool) -> String {
    let paint = |style: Style, text: &str| {
        if colour {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = format!("{header}\n");
    for step in &plan.steps {
        let word = format!("{:<9}", action_word(step.action));
        out.push_str(&format!(
            "  {:<7} {} {}\n",
            target_word(step.target),
            paint(action_style(step.action), &word),
            step.summary
        ));
        for detail in &step.details {
            out.push_str(&format!("                      {detail}\n"));
        }
    }
    for warning in warnings {
        out.push_str(&paint(
            Style::new().red().bold(),
            &format!("WARNING: {warning}"),
        ));
        out.push('\n');
    }
    let changes = plan.changes().count();
    out.push_str(&if changes == 0 {
        "No changes: everything is already in place.\n".to_string()
    } else {
        format!("{changes} change(s) to apply.\n")
    });
    out
}

/// Machine-readable output: the same shapes in JSON and YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structured {
    Json,
    Yaml,
}

/// Prints `value` in `format`; a value the serializer refuses is an error,
/// never an empty document.
pub fn print_structured<T: serde::Serialize>(value: &T, format: Structured) -> Result<(), Error> {
    match format {
        Structured::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Structured::Yaml => print!("{}", serde_yaml::to_string(value)?),
    }
    Ok(())
}

/// Text printed exactly as given (a completion script).
pub fn text(text: &str) {
    print!("{text}");
}

/// `version`: the crate version, the commit and the target it was built for.
pub fn version() {
    println!(
        "kubectl-klanker_trust {} (commit {}, target {})",
        env!("CARGO_PKG_VERSION"),
        env!("KLANKER_GIT_COMMIT"),
        env!("KLANKER_TARGET")
    );
}

/// The dry-run report's last line.
pub fn nothing_changed(verb: &str) {
    println!("Dry run: nothing was changed. Run again with --dry-run=false (or --yes) to {verb}.");
}

/// Asks on the terminal (stderr); default is no.
pub fn confirm(question: &str) -> Result<bool, Error> {
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on(&Term::stderr())
        .map_err(Error::Prompt)
}

/// Per-step progress on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    bar: ProgressBar,
    verbose: bool,
}

impl Progress {
    /// A bar on stderr when it is a terminal; `verbose` also logs each step.
    pub fn new(total: usize, verbose: bool) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}") {
            bar.set_style(style);
        }
        Self { bar, verbose }
    }

    /// Draws nothing (tests).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            verbose: false,
        }
    }

    pub fn start(&self, summary: &str) {
        if self.verbose {
            self.bar.suspend(|| eprintln!("step: {summary}"));
        }
        self.bar.set_message(summary.to_string());
    }

    /// A step a fresh re-check turned into a no-op says why.
    pub fn note(&self, why: &str) {
        self.bar.suspend(|| eprintln!("note: {why}"));
    }

    pub fn done(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Said when `add`/`rm` would ask but cannot.
pub fn planning_only() {
    eprintln!("stdin is not a terminal: planning only. Pass --dry-run=false or --yes to apply.");
}

/// Said at the first Ctrl-C while steps run.
pub fn interrupted_notice() {
    eprintln!(
        "\ninterrupted: finishing the current step, then stopping (Ctrl-C again aborts at once)"
    );
}

/// The terminal's width when stdout is one; `None` (no wrapping) for a
/// pipe or a file, which a program reads line by line.
pub fn stdout_width() -> Option<usize> {
    let term = Term::stdout();
    term.is_term()
        .then(|| term.size_checked())
        .flatten()
        .map(|(_rows, cols)| usize::from(cols))
}

/// A header wrapped to `width`, continuation lines indented; words (ARNs,
/// URLs) are never split, so each stays copyable.
pub fn wrap_header(header: &str, width: Option<usize>) -> String {
    match width {
        Some(width) if width > 20 => textwrap::wrap(
            header,
            textwrap::Options::new(width)
                .subsequent_indent("  ")
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation),
        )
        .join("\n"),
        _ => header.to_string(),
    }
}

/// Whether stdout gets colour.
pub fn stdout_colour() -> bool {
    Term::stdout().features().colors_supported() && console::colors_enabled()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Op, Step};

    fn step(action: Action, summary: &str, op: Option<Op>) -> Step {
        Step {
            target: Target::Iam,
            action,
            summary: summary.into(),
            details: vec!["- old".into(), "+ new".into()],
            op,
        }
    }

    #[test]
    fn the_header_wraps_to_the_width_without_splitting_words() {
        let header = "Plan for `dev` in klanker account 333333333333 (context arn:aws:eks:us-east-1:222222222222:cluster/dev, trust x):";
        assert_eq!(wrap_header(header, None), header);
        let wrapped = wrap_header(header, Some(40));
        assert!(wrapped.lines().count() > 2, "{wrapped}");
        for line in wrapped.lines() {
            assert!(
                line.len() <= 40 || !line.trim().contains(' '),
                "{line:?} in\n{wrapped}"
            );
        }
        assert!(
            wrapped.contains("arn:aws:eks:us-east-1:222222222222:cluster/dev,"),
            "{wrapped}"
        );
        assert!(
            wrapped.lines().skip(1).all(|l| l.starts_with("  ")),
            "{wrapped}"
        );
    }

    #[test]
    fn plan_text_lists_steps_details_and_warnings() {
        let plan = Plan {
            steps: vec![
                step(Action::Unchanged, "role r", None),
                step(
                    Action::Update,
                    "role r: trust policy",
                    Some(Op::DeletePermissionsBoundary { role: "r".into() }),
                ),
            ],
            warnings: Vec::new(),
        };
        let text = plan_text("Plan:", &plan, &["wide".into()], false);
        assert!(text.contains("IAM     unchanged role r\n"), "{text}");
        assert!(
            text.contains("IAM     update    role r: trust policy"),
            "{text}"
        );
        assert!(text.contains("- old"), "{text}");
        assert!(text.contains("WARNING: wide"), "{text}");
        assert!(text.ends_with("1 change(s) to apply.\n"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "no colour codes when colour is off"
        );
    }
}
