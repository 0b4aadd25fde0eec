//! What `list` shows: kubectl-style tables (IAM's onboardings, or
//! km-config.yaml alone with `--local`), the drift, the removals left
//! pending, and the same data as JSON/YAML.

use std::path::Path;

use serde::Serialize;

use super::{Structured, visible};
use crate::cli::ListOutput;
use crate::error::Error;
use crate::inventory::{ProviderStatus, Row};
use crate::plan::listing::{Listing, PendingRemoval};
use crate::store::ClusterEntry;

#[derive(Serialize)]
struct LocalListing<'a> {
    source: &'static str,
    path: String,
    clusters: &'a [ClusterEntry],
    pending_removal: &'a [PendingRemoval],
}

/// JSON/YAML for those formats; None for the tables.
fn structured(format: ListOutput) -> Option<Structured> {
    match format {
        ListOutput::Json => Some(Structured::Json),
        ListOutput::Yaml => Some(Structured::Yaml),
        ListOutput::Text | ListOutput::Wide => None,
    }
}

/// The listing of the klanker account.
pub fn listing(listing: &Listing, format: ListOutput) -> Result<(), Error> {
    if let Some(structured) = structured(format) {
        return super::print_structured(listing, structured);
    }
    print!(
        "{}",
        onboardings_table(&listing.clusters, format == ListOutput::Wide)
    );
    if listing.clusters.is_empty() {
        println!(
            "No clusters are onboarded in klanker account {}.",
            listing.klanker_account
        );
    }
    if !listing.drift.is_empty() {
        println!("\nDrift:");
        for d in &listing.drift {
            println!(
                "  {}: {}\n    fix: {}",
                visible(&d.name),
                visible(&d.problem),
                visible(&d.fix)
            );
        }
    }
    print!("{}", pending_text(&listing.pending_removal));
    Ok(())
}

/// km-config.yaml alone (`--local`): IAM is not consulted.
pub fn local(
    path: &Path,
    config: &[ClusterEntry],
    pending: &[PendingRemoval],
    current: Option<&str>,
    format: ListOutput,
) -> Result<(), Error> {
    if let Some(structured) = structured(format) {
        let listing = LocalListing {
            source: "km-config",
            path: path.display().to_string(),
            clusters: config,
            pending_removal: pending,
        };
        return super::print_structured(&listing, structured);
    }
    let rows = config.iter().map(|e| {
        let mut cells = subject_cells(
            current == Some(e.name.as_str()),
            [&e.name, &e.role_arn, &e.namespace, &e.service_account],
        );
        cells.push(e.oidc_provider_arn.clone());
        cells
    });
    print!("{}", table(&["OIDC PROVIDER ARN"], rows));
    println!("(from {}; IAM was not consulted)", path.display());
    print!("{}", pending_text(pending));
    Ok(())
}

/// The removals `rm` could not finish, with the command that does.
fn pending_text(pending: &[PendingRemoval]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let mut out =
        "\nPending removal (the IAM side is removed; the ServiceAccount is not released yet):\n"
            .to_string();
    for p in pending {
        let cluster = p
            .cluster
            .as_deref()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {}: ServiceAccount {}/{}{}, annotated with {}\n    fix: kubectl klanker-trust rm {} (against that cluster's context)\n",
            visible(&p.name),
            visible(&p.namespace),
            visible(&p.service_account),
            visible(&cluster),
            visible(&p.role_arn),
            visible(&p.name)
        ));
    }
    out
}

fn provider_word(status: ProviderStatus) -> &'static str {
    match status {
        ProviderStatus::Owned => "owned",
        ProviderStatus::PreExisting => "pre-existing",
        ProviderStatus::Missing => "MISSING",
    }
}

/// IAM's onboardings; `wide` adds the provider ARN and whether km-config.yaml has it.
pub fn onboardings_table(rows: &[Row], wide: bool) -> String {
    let mut header = vec!["ISSUER", "PROVIDER"];
    if wide {
        header.extend(["PROVIDER ARN", "KM-CONFIG"]);
    }
    let lines = rows.iter().map(|row| {
        let o = &row.onboarding;
        let mut cells = subject_cells(
            row.current,
            [&o.name, &o.role_arn, &o.namespace, &o.service_account],
        );
        cells.extend([o.issuer.clone(), provider_word(row.provider).to_string()]);
        if wide {
            cells.push(o.oidc_provider_arn.clone());
            cells.push(if row.in_km_config { "yes" } else { "no" }.to_string());
        }
        cells
    });
    table(&header, lines)
}

/// The columns every table starts with: the current mark (`*`), the name,
/// the role and the trusted subject.
const SUBJECT_COLUMNS: [&str; 5] = ["", "NAME", "ROLE ARN", "NAMESPACE", "SERVICE ACCOUNT"];

fn subject_cells(current: bool, [name, role_arn, namespace, sa]: [&String; 4]) -> Vec<String> {
    vec![
        if current { "*" } else { "" }.to_string(),
        name.clone(),
        role_arn.clone(),
        namespace.clone(),
        sa.clone(),
    ]
}

/// A kubectl-style table: the subject columns, then `more`; each column as
/// wide as its widest cell.
fn table(more: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let header = SUBJECT_COLUMNS.iter().chain(more).map(|h| h.to_string());
    let rows = rows.map(|row| row.iter().map(|c| visible(c).into_owned()).collect());
    let lines: Vec<Vec<String>> = std::iter::once(header.collect()).chain(rows).collect();
    let columns = SUBJECT_COLUMNS.len() + more.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l.get(c).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            // Cells hold what IAM and km-config.yaml hold: made visible first.
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Onboarding;
    use crate::store::PendingPart;

    #[test]
    fn table_aligns_and_marks_current() {
        let row = Row {
            onboarding: Onboarding {
                name: "dev".into(),
                provider_owned: Some(true),
                role_name: "km-cluster-dev".into(),
                role_arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
                namespace: "ai-pods".into(),
                service_account: "km".into(),
                oidc_provider_arn: "arn:p".into(),
                issuer: "https://o.example.com".into(),
                cluster: None,
                server: None,
            },
            provider: ProviderStatus::Owned,
            current: true,
            in_km_config: false,
        };
        let text = onboardings_table(&[row], true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("   NAME"), "{text}");
        assert!(lines[0].ends_with("PROVIDER ARN  KM-CONFIG"), "{text}");
        assert!(lines[1].starts_with("*  dev"), "{text}");
        assert!(
            lines[1].contains("owned") && lines[1].ends_with("no"),
            "{text}"
        );
        assert_eq!(lines[0].find("ROLE ARN"), lines[1].find("arn:aws"));
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(
            table(&["X"], std::iter::empty()),
            "  NAME  ROLE ARN  NAMESPACE  SERVICE ACCOUNT  X\n"
        );
    }

    #[test]
    fn pending_removals_say_what_is_left_and_the_fix() {
        assert_eq!(pending_text(&[]), "");
        let text = pending_text(&[PendingRemoval {
            name: "dev".into(),
            part: PendingPart::Cluster,
            role_arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            cluster: Some("arn:aws:eks:us-east-1:222222222222:cluster/dev".into()),
        }]);
        assert!(text.contains("Pending removal"), "{text}");
        assert!(
            text.contains(
                "dev: ServiceAccount ai-pods/km in arn:aws:eks:us-east-1:222222222222:cluster/dev"
            ),
            "{text}"
        );
        assert!(text.contains("fix: kubectl klanker-trust rm dev"), "{text}");
    }
}
