//! What `audit` shows: one line per finding, worst first, fitting 100
//! columns, and the totals; `-o wide` with ARNs, statements and fixes;
//! JSON/YAML in the shape docs/commands/audit.md documents; `--fix-doc`'s document alone.
//! Everything read from IAM or the cluster is escaped (`visible`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Out, Structured, visible};
use crate::audit::{AccountSummary, Finding, Report};
use crate::cli::AuditOutput;
use crate::error::Error;

/// The width text output fits.
const COLUMNS: usize = 100;
const SEVERITY_WIDTH: usize = 9;
const ID_WIDTH: usize = 29;
const WHERE_WIDTH: usize = 26;

/// The JSON/YAML document: the report and its totals.
#[derive(Serialize)]
struct Document<'a> {
    accounts: &'a [AccountSummary],
    totals: BTreeMap<&'static str, usize>,
    findings: &'a [Finding],
}

pub fn report(o: &mut Out, report: &Report, format: AuditOutput) -> Result<(), Error> {
    let structured = match format {
        AuditOutput::Json => Some(Structured::Json),
        AuditOutput::Yaml => Some(Structured::Yaml),
        AuditOutput::Text | AuditOutput::Wide => None,
    };
    if let Some(structured) = structured {
        let doc = Document {
            accounts: &report.accounts,
            totals: report
                .totals()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            findings: &report.findings,
        };
        return super::write_structured(o, &doc, structured);
    }
    write!(o.out, "{}", text(report, format == AuditOutput::Wide))
}

/// `--fix-doc`: the document alone, for `aws iam update-assume-role-policy`.
pub fn document(o: &mut Out, doc: &Value) -> Result<(), Error> {
    super::write_structured(o, doc, Structured::Json)
}

/// Cuts `text` to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn pad(text: &str, width: usize) -> String {
    format!("{:<width$}", fit(text, width.saturating_sub(1)))
}

/// The role's name, or the provider's issuer, for the narrow table.
fn short_where(f: &Finding) -> String {
    match &f.role {
        Some(role) => role.clone(),
        None => f
            .arn
            .split_once(":oidc-provider/")
            .map_or(f.arn.clone(), |(_, issuer)| format!("provider {issuer}")),
    }
}

/// The whole text report.
pub fn text(report: &Report, wide: bool) -> String {
    let mut out = String::new();
    for a in &report.accounts {
        // The profile name is cut, not the counts: used/quota is the point.
        let counts = format!(
            ": {} roles, {} with workload identity; OIDC providers {}/{}",
            a.roles, a.workload_identity_roles, a.providers, a.provider_quota
        );
        let account = format!("Account {} (", visible(&a.account));
        let room = COLUMNS.saturating_sub(account.chars().count() + counts.chars().count() + 1);
        let line = format!("{account}{}){counts}", fit(&visible(&a.profile), room));
        out.push_str(&fit(&line, COLUMNS));
        out.push('\n');
        // Which quotas the findings are measured against, when the account's were read.
        if !a.quota_sources.is_empty() {
            let sources = format!("  quotas: {}", visible(&a.quota_sources.join("; ")));
            out.push_str(&fit(&sources, COLUMNS));
            out.push('\n');
        }
    }
    if report.findings.is_empty() {
        out.push_str("\nNo findings.\n");
        return out;
    }
    out.push('\n');
    out.push_str(&header(wide));
    for f in &report.findings {
        out.push_str(&match wide {
            true => wide_line(f),
            false => line(f),
        });
        out.push('\n');
    }
    out.push_str(&totals(report));
    if !wide {
        out.push_str("Fixes: -o wide (or -o yaml) shows each one; --fix-doc ROLE prints a role's fixed trust.\n");
    }
    out
}

fn header(wide: bool) -> String {
    match wide {
        true => "SEVERITY  ID  ACCOUNT  ARN  STATEMENT  WHO GETS IN  FIX\n".into(),
        false => format!(
            "{}{}{}{}\n",
            pad("SEVERITY", SEVERITY_WIDTH),
            pad("ID", ID_WIDTH),
            pad("ROLE/PROVIDER", WHERE_WIDTH),
            "WHO GETS IN"
        ),
    }
}

fn severity_word(f: &Finding) -> String {
    match f.broken {
        true => format!("{}!", f.severity.as_str()),
        false => f.severity.as_str().to_string(),
    }
}

fn line(f: &Finding) -> String {
    let start = format!(
        "{}{}{}",
        pad(&severity_word(f), SEVERITY_WIDTH),
        pad(f.id.as_str(), ID_WIDTH),
        pad(&visible(&short_where(f)), WHERE_WIDTH)
    );
    let rest = COLUMNS - start.chars().count();
    format!("{start}{}", fit(&visible(&f.who), rest))
}

fn wide_line(f: &Finding) -> String {
    let fix = match (&f.fix.command, f.fix.document.is_some()) {
        (Some(command), _) => format!("{} (`{command}`)", f.fix.text),
        (None, true) => format!("{} (--fix-doc {})", f.fix.text, f.arn),
        (None, false) => f.fix.text.clone(),
    };
    visible(&format!(
        "{}  {}  {}  {}  {}  {}  fix: {}",
        severity_word(f),
        f.id.as_str(),
        f.account,
        f.arn,
        f.statement.as_deref().unwrap_or("-"),
        f.who,
        fix
    ))
    .into_owned()
}

fn totals(report: &Report) -> String {
    let counts: Vec<String> = report
        .totals()
        .into_iter()
        .rev()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let broken = report.findings.iter().filter(|f| f.broken).count();
    let mut out = format!(
        "\nTotal: {} ({} findings).\n",
        counts.join(", "),
        report.findings.len()
    );
    if broken > 0 {
        out.push_str(&format!(
            "{broken} marked ! leave a trust broken: it admits nobody it was meant for.\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{FindingId, Fix};

    fn finding(id: FindingId, role: &str, who: &str) -> Finding {
        Finding {
            id,
            severity: id.severity(),
            broken: id.broken(),
            account: "333333333333".into(),
            arn: format!("arn:aws:iam::333333333333:role/{role}"),
            role: Some(role.into()),
            statement: Some("statement 0".into()),
            who: who.into(),
            fix: Fix {
                text: "do this".into(),
                ..Fix::default()
            },
        }
    }

    #[test]
    fn every_text_line_fits_a_hundred_columns_and_the_totals_count_each_severity() {
        let long = "x".repeat(300);
        let report = Report {
            accounts: vec![AccountSummary {
                profile: "p".into(),
                account: "333333333333".into(),
                roles: 2,
                workload_identity_roles: 2,
                providers: 1,
                provider_quota: 100,
                quota_sources: Vec::new(),
            }],
            findings: vec![
                finding(FindingId::WebIdentityNoSub, &long, &long),
                finding(FindingId::StringEqualsWildcard, "r\u{1b}[31m", "nobody"),
            ],
        };
        let out = text(&report, false);
        for l in out.lines() {
            assert!(
                l.chars().count() <= COLUMNS,
                "{l:?} is {} long",
                l.chars().count()
            );
        }
        assert!(out.contains("high!"), "{out}");
        assert!(!out.contains('\u{1b}'), "escaped: {out}");
        assert!(
            out.contains("Total: 1 critical, 1 high, 0 medium, 0 low, 0 info"),
            "{out}"
        );
        let wide = text(&report, true);
        assert!(wide.contains("fix: do this"), "{wide}");
    }

    /// The whole corpus as text: every line within 100 columns, narrow and
    /// wide alike except wide's finding lines (ARNs and fixes in full, for
    /// scripts and wide terminals), and the unused provider says used/quota.
    #[test]
    fn the_corpus_as_text_fits_a_hundred_columns_and_shows_the_provider_slots() {
        let report = crate::audit::analyze(&crate::audit::tests::corpus_scan(true));
        let narrow = text(&report, false);
        for line in narrow.lines() {
            assert!(line.chars().count() <= 100, "{line:?}");
        }
        assert_eq!(
            narrow.lines().filter(|l| l.contains("corpus-")).count(),
            report.findings.iter().filter(|f| f.role.is_some()).count(),
            "one line per finding: {narrow}"
        );
        assert!(
            narrow.contains("OIDC providers 3/100"),
            "the account's used/quota: {narrow}"
        );
        let unused = report
            .findings
            .iter()
            .find(|f| f.id == FindingId::ProviderUnused)
            .expect("the unused provider");
        assert!(unused.who.contains("(3 used of 100)"), "{}", unused.who);
        let wide = text(&report, true);
        for f in &report.findings {
            assert!(wide.contains(&f.arn), "wide shows {}", f.arn);
        }
    }
}
