//! What `verify` (and `add`'s verification) says: one line per link, the
//! fix under each problem, then a verdict.

use serde::Serialize;

use super::{Structured, visible};
use crate::cli::ReportOutput;
use crate::error::Error;
use crate::verify::{Check, Status};

/// One line per link, the fix under each FAIL/WARN.
pub fn checks_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let word = match check.status {
            Status::Ok => "OK  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        // Messages quote annotations, policies and STS's answers as read.
        out.push_str(&format!(
            "{word} {:<16} {}\n",
            check.link,
            visible(&check.message)
        ));
        if let (Some(fix), true) = (&check.fix, check.status != Status::Ok) {
            out.push_str(&format!("     {:<16} fix: {}\n", "", visible(fix)));
        }
    }
    out
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    name: &'a str,
    role_arn: &'a str,
    ok: bool,
    checks: &'a [Check],
}

/// `verify`'s whole report.
pub fn report(
    name: &str,
    role_arn: &str,
    checks: &[Check],
    format: ReportOutput,
) -> Result<(), Error> {
    let ok = !crate::verify::has_failure(checks);
    let format = match format {
        ReportOutput::Text => {
            println!("Verifying `{name}` ({}):", visible(role_arn));
            print!("{}", checks_text(checks));
            if ok {
                println!("The trust chain works.");
            }
            return Ok(());
        }
        ReportOutput::Json => Structured::Json,
        ReportOutput::Yaml => Structured::Yaml,
    };
    super::print_structured(
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
        let text = checks_text(&checks);
        assert!(text.contains("OK   role"), "{text}");
        assert!(
            text.contains("FAIL trust            sub mismatch\n"),
            "{text}"
        );
        assert!(text.contains("fix: do x"), "{text}");
        assert!(!text.contains("never shown"), "{text}");
    }
}
