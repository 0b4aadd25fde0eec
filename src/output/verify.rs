//! What `verify` (and `add`'s verification) says: one line per link, the
//! fix under each problem, then a verdict.

use serde::Serialize;

use super::{Out, Structured, visible};
use crate::cli::ReportOutput;
use crate::error::Error;
use crate::verify::{Check, Status};

/// One line per link, the fix under each FAIL/WARN; with `colour`, FAIL
/// lines red and WARN yellow. Not wrapped: for a stream that is not a terminal.
pub fn checks_text(checks: &[Check], colour: bool) -> String {
    checks_text_to(checks, colour, None)
}

/// The narrowest the name column is, so short reports keep their shape.
const MIN_LINK_WIDTH: usize = 16;

/// `checks_text`, each check's line wrapped at words to `width` with a
/// hanging indent under the message, and the name column as wide as the longest
/// name (`assume-permission`), so no message is pushed out of line.
pub fn checks_text_to(checks: &[Check], colour: bool, width: Option<usize>) -> String {
    let column = checks
        .iter()
        .map(|c| c.link.len())
        .max()
        .unwrap_or(0)
        .max(MIN_LINK_WIDTH);
    let hang = " ".repeat(5 + column + 1);
    let mut out = String::new();
    for check in checks {
        let (word, style) = match check.status {
            Status::Ok => ("OK  ", None),
            Status::Warn => ("WARN", Some(console::Style::new().yellow())),
            Status::Fail => ("FAIL", Some(console::Style::new().red())),
        };
        // Messages quote annotations, policies and STS's answers as read.
        let first = format!("{word} {:<column$} ", check.link);
        let text = super::wrap_hanging(&visible(&check.message), width, &first, &hang);
        // Painted line by line, so each wrapped line ends its colour.
        for line in text.lines() {
            match (&style, colour) {
                (Some(style), true) => out.push_str(&format!(
                    "{}\n",
                    style.clone().force_styling(true).apply_to(line)
                )),
                _ => out.push_str(&format!("{line}\n")),
            }
        }
        if let (Some(fix), true) = (&check.fix, check.status != Status::Ok) {
            // Never wrapped: a fix holds a command, which a hard line
            // break would cut in two when pasted; the terminal's own soft
            // wrap copies as one line.
            out.push_str(&format!("{hang}fix: {}\n", visible(fix)));
        }
    }
    out
}

/// The one-line verdict under the checks.
pub fn verdict(checks: &[Check]) -> String {
    let broken: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.link)
        .collect();
    match broken.is_empty() {
        true => "The trust chain works.".to_string(),
        false => format!("The trust chain is broken at: {}.", broken.join(", ")),
    }
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    name: &'a str,
    role_arn: &'a str,
    ok: bool,
    checks: &'a [Check],
}

/// One onboarding's report as a value, for a document of several.
pub fn report_value(name: &str, role_arn: &str, checks: &[Check]) -> serde_json::Value {
    let ok = !crate::verify::has_failure(checks);
    let report = VerifyReport {
        name,
        role_arn,
        ok,
        checks,
    };
    serde_json::to_value(report).unwrap_or_default()
}

/// `verify`'s whole report.
pub fn report(
    o: &mut Out,
    name: &str,
    role_arn: &str,
    checks: &[Check],
    format: ReportOutput,
) -> Result<(), Error> {
    let ok = !crate::verify::has_failure(checks);
    let format = match format {
        ReportOutput::Text => {
            writeln!(o.out, "Verifying `{name}` ({}):", visible(role_arn))?;
            write!(o.out, "{}", checks_text_to(checks, o.colour, o.width))?;
            return writeln!(o.out, "{}", verdict(checks));
        }
        ReportOutput::Json => Structured::Json,
        ReportOutput::Yaml => Structured::Yaml,
    };
    super::write_structured(
        o,
        &VerifyReport {
            name,
            role_arn,
            ok,
            checks,
        },
        format,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_column_fits_the_longest_name_and_messages_wrap_under_it() {
        let checks = vec![
            Check {
                link: "role",
                status: Status::Ok,
                message: "fine".into(),
                fix: None,
            },
            Check {
                link: "assume-permission",
                status: Status::Fail,
                message: "the cluster role may not assume arn:aws:iam::333333333333:role/km-cluster-dev: its policy allows another role".into(),
                fix: Some("kubectl klanker-trust add --name dev --namespace team-b re-applies the policy".into()),
            },
        ];
        let text = checks_text(&checks, false);
        assert!(text.contains("OK   role              fine\n"), "{text}");
        assert!(
            text.contains("FAIL assume-permission the cluster"),
            "{text}"
        );
        let wrapped = checks_text_to(&checks, false, Some(60));
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 3, "{wrapped}");
        for line in &lines[1..lines.len() - 1] {
            assert!(
                line.chars().count() <= 60 || !line.trim().contains(' '),
                "{line:?}\n{wrapped}"
            );
        }
        assert!(
            lines[2].starts_with(&" ".repeat(23)),
            "hangs under the message:\n{wrapped}"
        );
        // The fix is a command: one line, whatever the width.
        assert!(
            wrapped.contains(
                "fix: kubectl klanker-trust add --name dev --namespace team-b re-applies the policy\n"
            ),
            "{wrapped}"
        );
    }

    #[test]
    fn the_fix_shows_only_under_problems() {
        let checks = vec![
            Check {
                link: "role",
                status: Status::Ok,
                message: "fine".into(),
                fix: Some("never shown".into()),
            },
            Check {
                link: "trust",
                status: Status::Fail,
                message: "sub mismatch".into(),
                fix: Some("do x".into()),
            },
        ];
        let text = checks_text(&checks, false);
        assert!(text.contains("OK   role"), "{text}");
        assert!(
            text.contains("FAIL trust            sub mismatch\n"),
            "{text}"
        );
        assert!(text.contains("fix: do x"), "{text}");
        assert!(!text.contains("never shown"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        let red = checks_text(&checks, true);
        assert!(red.contains("\u{1b}[31mFAIL trust"), "{red}");
        assert!(red.contains("OK   role"), "{red}");
        assert_eq!(verdict(&checks), "The trust chain is broken at: trust.");
        assert_eq!(verdict(&checks[..1]), "The trust chain works.");
    }

    fn checks() -> Vec<Check> {
        vec![
            Check {
                link: "role",
                status: Status::Ok,
                message: "exists".into(),
                fix: None,
            },
            Check {
                link: "service account",
                status: Status::Fail,
                message: "not annotated".into(),
                fix: Some("kubectl klanker-trust add dev".into()),
            },
        ]
    }

    const ROLE: &str = "arn:aws:iam::333333333333:role/km-cluster-dev";

    #[test]
    fn the_text_report_is_the_heading_the_links_and_the_verdict_on_stdout() {
        let (out, err) =
            crate::output::rendered(|o| report(o, "dev", ROLE, &checks(), ReportOutput::Text));
        assert_eq!(
            out,
            format!(
                "Verifying `dev` ({ROLE}):\n\
                 OK   role             exists\n\
                 FAIL service account  not annotated\n     \
                 {:16} fix: kubectl klanker-trust add dev\n\
                 The trust chain is broken at: service account.\n",
                ""
            )
        );
        assert_eq!(err, "");
    }

    #[test]
    fn the_json_report_says_not_ok_with_every_check() {
        let (out, _) =
            crate::output::rendered(|o| report(o, "dev", ROLE, &checks(), ReportOutput::Json));
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["name"], "dev");
        assert_eq!(doc["role_arn"], ROLE);
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["checks"][1]["status"], "FAIL", "{doc}");
        assert_eq!(doc["checks"][1]["link"], "service account");
        assert!(out.ends_with("}\n"), "one document, one newline: {out:?}");
    }
}
