//! Everything the user sees: plan and result rendering, the prompt,
//! progress. Colour and progress only on a terminal; `NO_COLOR` is honoured
//! by `console`. Renderers write to the `Out` they are given, never to the
//! process's streams themselves, so a report renders the same into a test's
//! buffer; the progress bar and the prompt draw on the terminal (stderr).

pub mod list;
pub mod rm;

use std::io::{IsTerminal, Write};

use console::{Style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub mod add;
pub mod audit;
pub mod describe;
pub mod fleet;
pub mod policy;
pub mod prompt;
pub mod verify;

pub use crate::text::{visible, visible_lines};

use crate::error::Error;
use crate::plan::{Action, Plan, Target};

/// Where a renderer writes: `out` for the result (what a pipe reads), `err`
/// for what accompanies it (notes, the plan beside a manifest), and what
/// `out` is, so the text fits it.
pub struct Out<'a> {
    pub out: Stream<'a>,
    pub err: Stream<'a>,
    /// Whether `out` gets colour: a terminal, `NO_COLOR` unset.
    pub colour: bool,
    /// `out`'s width when it is a terminal; `None` (no wrapping) for a
    /// pipe or a file, which a program reads line by line.
    pub width: Option<usize>,
}

impl<'a> Out<'a> {
    /// No colour, no wrapping: what a pipe, a file or a test gets.
    pub fn plain(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Self {
            out: Stream(out),
            err: Stream(err),
            colour: false,
            width: None,
        }
    }

    /// Colour and width as the process's stdout has them.
    pub fn for_stdout(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Self {
            colour: stdout_colour(),
            width: stdout_width(),
            ..Self::plain(out, err)
        }
    }

    /// Writes what the streams still buffer: a failure shows here, not
    /// unseen at exit.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.out.0.flush().map_err(Error::Write)?;
        self.err.0.flush().map_err(Error::Write)
    }
}

/// One stream of `Out`. `write!`/`writeln!` on it fail with `Error::Write`,
/// so a renderer's `?` ends the run at the first refused write.
pub struct Stream<'a>(&'a mut dyn Write);

impl Stream<'_> {
    pub fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), Error> {
        self.0.write_fmt(args).map_err(Error::Write)
    }
}

/// Exit status when the reader of our output left (`list | head -1`):
/// 128 + SIGPIPE, what the shell reports for git and kubectl, which die
/// of the signal there. Quiet, as they are, but not 0: a pipeline with
/// `pipefail` sees the output was cut. Returned, not raised, so nothing
/// else the run holds is cut short by a signal.
pub const EXIT_READER_LEFT: u8 = 128 + 13;

/// Whether `err` is a write into a pipe whose reader left: nothing to
/// render, nobody to tell.
pub fn reader_left(err: &Error) -> bool {
    match err {
        Error::Write(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
        Error::AfterChanges { cause, .. } => reader_left(cause),
        _ => false,
    }
}

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
        Target::ClusterIam => "cluster IAM",
        Target::Cluster => "cluster",
        Target::Eks => "EKS",
        Target::Local => "local",
    }
}

/// The plan as text lines, coloured when `colour`, not wrapped: for a
/// stream that is not a terminal.
pub fn plan_text(header: &str, plan: &Plan, warnings: &[String], colour: bool) -> String {
    plan_text_to(header, plan, warnings, colour, None)
}

/// The plan as text lines, coloured when `colour` (the stream is a
/// terminal), and its header, steps and warnings wrapped at words to
/// `width` with a hanging indent, so the terminal never breaks one mid-word.
pub fn plan_text_to(
    header: &str,
    plan: &Plan,
    warnings: &[String],
    colour: bool,
    width: Option<usize>,
) -> String {
    let paint = |style: Style, text: &str| {
        if colour {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    // Steps and warnings quote what IAM and the cluster hold: made visible.
    let mut out = format!("{}\n", wrap_header(&visible_lines(header), width));
    // As wide as the widest target word of this plan ("cluster IAM" with a cluster role).
    let target_width = plan
        .steps
        .iter()
        .map(|s| target_word(s.target).len())
        .max()
        .unwrap_or(0)
        .max(7);
    // The summary starts after the target and the action word (9 wide).
    let hang = " ".repeat(target_width + 13);
    let indent = " ".repeat(target_width + 15);
    let detail_hang = " ".repeat(target_width + 17);
    for step in &plan.steps {
        let word = format!("{:<9}", action_word(step.action));
        let first = format!(
            "  {:<target_width$} {} ",
            target_word(step.target),
            paint(action_style(step.action), &word),
        );
        out.push_str(&wrap_hanging(&visible(&step.summary), width, &first, &hang));
        out.push('\n');
        for detail in &step.details {
            out.push_str(&wrap_hanging(
                &visible(detail),
                width,
                &indent,
                &detail_hang,
            ));
            out.push('\n');
        }
    }
    for warning in warnings {
        let text = format!("WARNING: {}", visible(warning));
        // Painted line by line, so each wrapped line ends its colour.
        for line in wrap_hanging(&text, width, "", "         ").lines() {
            out.push_str(&paint(Style::new().red().bold(), line));
            out.push('\n');
        }
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

/// Writes `value` in `format` to stdout; a value the serializer refuses
/// is an error, never an empty document.
pub fn write_structured<T: serde::Serialize>(
    o: &mut Out,
    value: &T,
    format: Structured,
) -> Result<(), Error> {
    match format {
        Structured::Json => writeln!(o.out, "{}", serde_json::to_string_pretty(value)?),
        Structured::Yaml => write!(o.out, "{}", serde_yaml::to_string(value)?),
    }
}

/// Text written exactly as given (a completion script).
pub fn text(o: &mut Out, text: &str) -> Result<(), Error> {
    write!(o.out, "{text}")
}

/// `version`: the crate version, the commit and the target it was built for.
pub fn version(o: &mut Out) -> Result<(), Error> {
    writeln!(
        o.out,
        "kubectl-klanker_trust {} (commit {}, target {})",
        env!("CARGO_PKG_VERSION"),
        env!("KLANKER_GIT_COMMIT"),
        env!("KLANKER_TARGET")
    )
}

/// `--dry-run=server`'s report: the API server authorized and admitted
/// these writes (`dryRun=All`) and persisted none; IAM has no dry run.
pub fn server_dry_run_text(server: &crate::apply::ServerDryRun) -> String {
    let mut out = String::from("Server dry run (dryRun=All): the Kubernetes API server\n");
    if server.accepted.is_empty() {
        out.push_str("  was sent no write: the plan has no cluster step it can dry-run\n");
    }
    for summary in &server.accepted {
        out.push_str(&format!("  accepted: {}\n", visible(summary)));
    }
    for summary in &server.not_sent {
        out.push_str(&format!(
            "  not sent: {summary} (its namespace does not exist yet, and a dry run creates none)\n"
        ));
    }
    out.push_str(
        "IAM and km-config.yaml have no server-side dry run: their steps were planned only.\n",
    );
    out
}

/// The dry-run report's last line.
pub fn nothing_changed(o: &mut Out, verb: &str) -> Result<(), Error> {
    writeln!(
        o.out,
        "Dry run: nothing was changed. Run again with --dry-run=false (or --yes) to {verb}."
    )
}

/// Asks y/N on the terminal (stderr) and waits for Enter, so a typed
/// `yes` is read whole; anything but y/yes is no.
pub fn confirm(question: &str) -> Result<bool, Error> {
    let answer: String = dialoguer::Input::new()
        .with_prompt(format!("{question} [y/N]"))
        .allow_empty(true)
        .interact_text_on(&Term::stderr())
        .map_err(Error::Prompt)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Asks for the onboarding's name (or `yes`) to be typed before removing it.
pub fn confirm_by_name(name: &str) -> Result<bool, Error> {
    let answer: String = dialoguer::Input::new()
        .with_prompt(format!(
            "This removes `{name}`. Type its name (or yes) to confirm"
        ))
        .allow_empty(true)
        .interact_text_on(&Term::stderr())
        .map_err(Error::Prompt)?;
    let answer = answer.trim();
    Ok(answer == name || answer == "yes")
}

/// Asks for the number of onboardings (or `yes`) to be typed before
/// removing several.
pub fn confirm_by_count(names: &[String]) -> Result<bool, Error> {
    let count = names.len().to_string();
    let answer: String = dialoguer::Input::new()
        .with_prompt(format!(
            "This removes {count} onboardings ({}). Type {count} (or yes) to confirm",
            visible(&names.join(", "))
        ))
        .allow_empty(true)
        .interact_text_on(&Term::stderr())
        .map_err(Error::Prompt)?;
    let answer = answer.trim();
    Ok(answer == count || answer == "yes")
}

/// After Ctrl-C at the prompt: the terminal's line is left as typed.
pub fn after_interrupted_prompt(o: &mut Out) -> Result<(), Error> {
    writeln!(o.err)
}

/// Per-step progress on stderr, drawn only when stderr is a terminal.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    verbose: bool,
    /// Set at the first Ctrl-C: a chain finishing its step then must not
    /// draw the bar again below the notice.
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    /// A bar on stderr when it is a terminal; `verbose` also logs each step.
    /// Leaving at once (a second Ctrl-C) wipes the bar first.
    pub fn new(total: usize, verbose: bool, interrupt: &crate::apply::Interrupt) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::term_like(Box::new(EchoRoom(Term::stderr())))
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}") {
            bar.set_style(style);
        }
        let wiped = bar.clone();
        interrupt.before_leaving(Box::new(move || wiped.finish_and_clear()));
        Self {
            bar,
            verbose,
            stopped: Default::default(),
        }
    }

    fn stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Draws nothing (tests).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            verbose: false,
            stopped: Default::default(),
        }
    }
}

impl crate::apply::Progress for Progress {
    fn start(&self, summary: &str) {
        if self.stopped() {
            return;
        }
        if self.verbose {
            self.bar
                .suspend(|| stderr_line(&format!("step: {}", visible(summary))));
        }
        self.bar.set_message(visible(summary).into_owned());
    }

    fn note(&self, why: &str) {
        self.bar
            .suspend(|| stderr_line(&format!("note: {}", visible(why))));
    }

    fn done(&self) {
        if !self.stopped() {
            self.bar.inc(1);
        }
    }

    /// Clears the bar for good.
    fn finish(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.bar.finish_and_clear();
    }
}

/// A line of the progress sink, which steps running at once share (so it
/// holds no writer): straight to stderr, beside the bar. A closed stderr
/// has nobody left to tell, and the steps go on.
fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Stderr for the progress bar, narrower than the terminal by the echo of
/// both presses (`^C^C`): indicatif pads its line to the full width, so
/// the terminal's echo would wrap onto the next line and the bar's clear
/// would miss its own line, leaving a stale frame. With room left, the
/// echo stays on the bar's line and is cleared with it.
#[derive(Debug)]
struct EchoRoom(Term);

const ECHO_OF_TWO_PRESSES: u16 = "^C^C".len() as u16;

impl indicatif::TermLike for EchoRoom {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(ECHO_OF_TWO_PRESSES).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `error:` in bold red, as clap writes its own, when `colour`.
pub fn paint_error(text: &str, colour: bool) -> String {
    match (colour, text.strip_prefix("error:")) {
        (true, Some(rest)) => format!(
            "{}{rest}",
            console::Style::new()
                .red()
                .bold()
                .force_styling(true)
                .apply_to("error:")
        ),
        _ => text.to_string(),
    }
}

/// Writes `error: ...` to `stderr`: one paragraph, no debug dumps, `error:`
/// red on a terminal (never with NO_COLOR). With `verbose`, the cause
/// chain follows. A stderr that refuses it has nobody left to tell.
pub fn error(stderr: &mut dyn Write, err: &Error, verbose: bool) {
    let colour =
        console::Term::stderr().features().colors_supported() && console::colors_enabled_stderr();
    // Messages quote API servers, IAM and files: nothing of theirs reaches
    // the terminal raw; our own colour is added after.
    let shown = visible_lines(&crate::error::text(err, verbose)).into_owned();
    let _ = writeln!(stderr, "{}", paint_error(&shown, colour));
}

/// Said when `add`/`rm` would ask but cannot.
/// `-o json|yaml` without --yes or --dry-run: a prompt would ask about a
/// plan nobody was shown, so none is asked.
pub fn no_prompt_for_machine_output(o: &mut Out) -> Result<(), Error> {
    writeln!(
        o.err,
        "-o json/yaml shows no plan, so nothing is asked: planning only. Pass --yes (or --dry-run=false) to apply, or --dry-run=server to have the API server check the writes."
    )
}

pub fn planning_only(o: &mut Out) -> Result<(), Error> {
    writeln!(
        o.err,
        "stdin is not a terminal: planning only. Pass --dry-run=false or --yes to apply."
    )
}

/// The terminal's width when stdout is one; `None` (no wrapping) for a
/// pipe or a file, which a program reads line by line.
fn stdout_width() -> Option<usize> {
    let term = Term::stdout();
    term.is_term()
        .then(|| term.size_checked())
        .flatten()
        .map(|(_rows, cols)| usize::from(cols))
}

/// A header wrapped to `width`, continuation lines indented; words (ARNs,
/// URLs) are never split, so each stays copyable.
pub fn wrap_header(header: &str, width: Option<usize>) -> String {
    // Each line of the header on its own (the identities line, then the plan's).
    header
        .lines()
        .map(|line| wrap_hanging(line, width, "", "  "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Narrower than this, wrapping would leave a word or two a line: the
/// terminal is left to it.
const MIN_WRAP_WIDTH: usize = 20;

/// `text` after `first`, wrapped at words to `width`, its further lines
/// after `hang` (a hanging indent); one line when there is no width.
/// `first` may carry colour (its escapes take no column). Words (ARNs,
/// URLs, commands) are never split, so each stays copyable; one longer
/// than the line overflows it whole.
pub fn wrap_hanging(text: &str, width: Option<usize>, first: &str, hang: &str) -> String {
    match width {
        Some(width) if width > MIN_WRAP_WIDTH && !text.trim().is_empty() => textwrap::wrap(
            text,
            textwrap::Options::new(width)
                .initial_indent(first)
                .subsequent_indent(hang)
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation),
        )
        .join("\n"),
        _ => format!("{first}{text}"),
    }
}

/// Whether stdout gets colour.
fn stdout_colour() -> bool {
    Term::stdout().features().colors_supported() && console::colors_enabled()
}

/// What `render` wrote to stdout and to stderr, without colour or wrapping.
#[cfg(test)]
pub(crate) fn rendered(render: impl FnOnce(&mut Out) -> Result<(), Error>) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    render(&mut Out::plain(&mut out, &mut err)).expect("rendered");
    let text = |bytes| String::from_utf8(bytes).expect("UTF-8");
    (text(out), text(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that refuses every write with `kind`.
    struct Refusing(std::io::ErrorKind);

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_the_reader_leaving_and_other_refusals_an_error() {
        let mut err = Vec::new();
        let mut closed = Refusing(std::io::ErrorKind::BrokenPipe);
        let left = version(&mut Out::plain(&mut closed, &mut err)).unwrap_err();
        assert!(reader_left(&left), "{left:?}");
        let after = Error::AfterChanges {
            cause: Box::new(left),
            rerun: "kubectl klanker-trust add",
        };
        assert!(reader_left(&after), "applied, then the reader left");

        let mut full = Refusing(std::io::ErrorKind::StorageFull);
        let refused = version(&mut Out::plain(&mut full, &mut err)).unwrap_err();
        assert!(!reader_left(&refused));
        assert!(matches!(refused, Error::Write(_)), "{refused:?}");
        let text = crate::error::text(&refused, false);
        assert!(
            text.starts_with("error: could not write the output: "),
            "{text}"
        );
        assert!(
            err.is_empty(),
            "nothing on stderr: the error is rendered once, by main"
        );
    }

    #[test]
    fn the_error_goes_to_the_writer_given() {
        let mut err = Vec::new();
        error(&mut err, &Error::Aborted, false);
        // Red when the test's own stderr is a terminal: the words are the same.
        assert_eq!(
            console::strip_ansi_codes(&String::from_utf8(err).unwrap()),
            "error: aborted at the prompt; nothing was changed.\n"
        );
        // A stderr that refuses it: nobody left to tell, and no panic.
        error(
            &mut Refusing(std::io::ErrorKind::BrokenPipe),
            &Error::Aborted,
            false,
        );
    }

    #[test]
    fn only_the_error_word_is_painted_and_only_with_colour() {
        let text = "error: bad\nNothing was changed";
        assert_eq!(paint_error(text, false), text);
        let red = paint_error(text, true);
        assert!(red.starts_with("\u{1b}[31m\u{1b}[1merror:"), "{red:?}");
        assert!(red.ends_with(" bad\nNothing was changed"), "{red:?}");
    }

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
    fn each_line_of_the_header_wraps_on_its_own() {
        let header = "Acting as arn:aws:sts::333333333333:assumed-role/ops/s in the klanker account.\nPlan for `dev` in klanker account 333333333333:";
        let wrapped = wrap_header(header, Some(40));
        assert!(
            wrapped.lines().any(|l| l.starts_with("Plan for")),
            "{wrapped}"
        );
        assert!(wrapped.starts_with("Acting as"), "{wrapped}");
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
    fn steps_details_and_warnings_wrap_at_words_with_a_hanging_indent() {
        let long = "OIDC provider arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF for the cluster dev";
        let plan = Plan {
            steps: vec![step(Action::Create, long, None)],
            warnings: Vec::new(),
        };
        let warning = "a wildcard ServiceAccount lets any matching ServiceAccount in the namespace assume the role".to_string();
        let unwrapped = plan_text("Plan:", &plan, std::slice::from_ref(&warning), false);
        assert!(
            unwrapped.contains(long),
            "no width, no wrapping:\n{unwrapped}"
        );
        let text = plan_text_to("Plan:", &plan, &[warning], true, Some(60));
        let plain = console::strip_ansi_codes(&text).into_owned();
        for line in plain.lines() {
            assert!(
                line.chars().count() <= 60 || !line.trim().contains(' '),
                "{line:?} in\n{plain}"
            );
        }
        // Continuations hang under the summary (2 + 7 + 1 + 9 + 1 columns)
        // and under the warning's text; no word is split.
        let lines: Vec<&str> = plain.lines().collect();
        assert!(
            lines[1].starts_with("  IAM     create    OIDC provider"),
            "{plain}"
        );
        assert!(
            lines[2].starts_with(&format!("{}arn:aws:iam::", " ".repeat(20))),
            "{plain}"
        );
        let warned: Vec<&&str> = lines
            .iter()
            .skip_while(|l| !l.starts_with("WARNING:"))
            .collect();
        assert!(
            warned.len() > 2 && warned[1].starts_with("         "),
            "{plain}"
        );
        // Each wrapped warning line carries its own colour.
        assert!(
            text.lines()
                .filter(|l| l.contains("WARNING") || l.starts_with("\u{1b}[31m\u{1b}[1m  "))
                .count()
                > 1,
            "{text:?}"
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
