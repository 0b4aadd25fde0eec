//! Everything the user sees: plan and result rendering, the prompt,
//! progress. Colour and progress only on a terminal; `NO_COLOR` is honoured
//! by `console`.

pub mod list;
pub mod rm;

use std::io::IsTerminal;

use console::{Style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

pub fn print_structured<T: serde::Serialize>(value: &T, format: Structured) {
    match format {
        Structured::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Structured::Yaml => print!("{}", serde_yaml::to_string(value).unwrap_or_default()),
    }
}

/// Asks on the terminal (stderr); default is no.
pub fn confirm(question: &str) -> Result<bool, Error> {
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on(&Term::stderr())
        .map_err(|e| Error::Prompt(e.to_string()))
}

/// Per-step progress on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}") {
            bar.set_style(style);
        }
        Self { bar }
    }

    pub fn start(&self, message: String) {
        self.bar.set_message(message);
    }

    pub fn done(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
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
