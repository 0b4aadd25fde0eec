//! What `list` shows: kubectl-style tables (IAM's onboardings, or
//! km-config.yaml alone with `--local`), the drift, the removals left
//! pending, and the same data as JSON/YAML.

use std::path::Path;

use serde::Serialize;

use super::{Out, Structured, visible};
use crate::cli::ListOutput;
use crate::error::Error;
use crate::inventory::{Drift, ProviderStatus, Row};
use crate::plan::listing::{Listing, PendingRemoval};
use crate::store::ClusterEntry;

#[derive(Serialize)]
struct LocalListing<'a> {
    source: &'static str,
    path: String,
    clusters: &'a [ClusterEntry],
    pending_removal: &'a [PendingRemoval],
    /// Names more than one entry carries (absent when none).
    #[serde(skip_serializing_if = "<[Drift]>::is_empty")]
    drift: &'a [Drift],
}

/// JSON/YAML for those formats; None for the tables and names.
fn structured(format: ListOutput) -> Option<Structured> {
    match format {
        ListOutput::Json => Some(Structured::Json),
        ListOutput::Yaml => Some(Structured::Yaml),
        ListOutput::Text | ListOutput::Wide | ListOutput::Name => None,
    }
}

/// How a table is shown: which format, and whether with its header row.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub format: ListOutput,
    pub headers: bool,
}

impl Shape {
    fn wide(self) -> bool {
        self.format == ListOutput::Wide
    }

    /// `-o name` and `--no-headers` are for programs: their stdout holds
    /// the rows alone (no mark column), so `while read` sees only names.
    fn for_programs(self) -> bool {
        self.format == ListOutput::Name || !self.headers
    }

    /// Where the words around the rows go (the drift, the removals left
    /// pending, "no clusters"): stdout for a person, stderr for a program,
    /// which still sees them without parsing them as rows.
    fn notes<'o, 'a>(self, o: &'o mut Out<'a>) -> &'o mut super::Stream<'a> {
        match self.for_programs() {
            true => &mut o.err,
            false => &mut o.out,
        }
    }
}

/// The listing of the klanker account.
pub fn listing(o: &mut Out, listing: &Listing, shape: Shape) -> Result<(), Error> {
    if let Some(structured) = structured(shape.format) {
        return super::write_structured(o, listing, structured);
    }
    if shape.format == ListOutput::Name {
        let names = listing.clusters.iter().map(|r| r.onboarding.name.as_str());
        write!(o.out, "{}", names_text(names))?;
    } else if listing.clusters.is_empty() {
        let none = format!(
            "No clusters are onboarded in klanker account {}.\n",
            listing.klanker_account
        );
        write!(shape.notes(o), "{none}")?;
    } else {
        write!(o.out, "{}", onboardings_table(&listing.clusters, shape))?;
    }
    let drift = drift_text(&listing.drift, o.width);
    write!(shape.notes(o), "{drift}")?;
    let notes = shape.notes(o);
    write!(notes, "{}", pending_text(&listing.pending_removal))
}

/// km-config.yaml alone (`--local`): IAM is not consulted.
pub fn local(
    o: &mut Out,
    path: &Path,
    config: &[ClusterEntry],
    pending: &[PendingRemoval],
    drift: &[Drift],
    current: Option<&str>,
    shape: Shape,
) -> Result<(), Error> {
    if let Some(structured) = structured(shape.format) {
        let listing = LocalListing {
            source: "km-config",
            path: path.display().to_string(),
            clusters: config,
            pending_removal: pending,
            drift,
        };
        return super::write_structured(o, &listing, structured);
    }
    if shape.format == ListOutput::Name {
        let names = config.iter().map(|e| e.name.as_str());
        write!(o.out, "{}", names_text(names))?;
    } else if config.is_empty() {
        let none = format!("No clusters are recorded in {}.\n", path.display());
        write!(shape.notes(o), "{none}")?;
    } else {
        write!(o.out, "{}", local_table(config, current, shape))?;
    }
    let drift = drift_text(drift, o.width);
    let notes = shape.notes(o);
    writeln!(notes, "(from {}; IAM was not consulted)", path.display())?;
    write!(notes, "{drift}")?;
    write!(notes, "{}", pending_text(pending))
}

/// The drift section, empty when there is none. Each problem wraps at
/// words to `width` with a hanging indent; a fix line is a command to paste,
/// so it is never broken.
fn drift_text(drift: &[Drift], width: Option<usize>) -> String {
    if drift.is_empty() {
        return String::new();
    }
    let mut out = "\nDrift:\n".to_string();
    for d in drift {
        let problem = format!("{}: {}", visible(&d.name), visible(&d.problem));
        out.push_str(&super::wrap_hanging(&problem, width, "  ", "    "));
        out.push_str(&format!("\n    fix: {}\n", visible(&d.fix)));
    }
    out
}

fn names_text<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("{}\n", visible(n))).collect()
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
        let accounts = match p.service_accounts.is_empty() {
            true => format!("ServiceAccount {}/{}", p.namespace, p.service_account),
            false => format!("ServiceAccounts {}", slashed(&p.service_accounts)),
        };
        let config_map = p
            .config_map
            .as_ref()
            .map(|cm| format!(", and ConfigMap {cm} beside it"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {}: {}{}, annotated with {}{}\n    fix: kubectl klanker-trust rm {} (against that cluster's context)\n",
            visible(&p.name),
            visible(&accounts),
            visible(&cluster),
            visible(&p.annotated_role),
            visible(&config_map),
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
        ProviderStatus::ClusterAccount => "cluster's",
        ProviderStatus::None => "none",
    }
}

/// IAM's onboardings: role names, to fit 80 columns (issue 26, item 9);
/// `-o wide` adds full ARNs and the issuer, the provider ARN and whether
/// km-config.yaml has the onboarding. The issuer waits for `-o wide`
/// because the role name already repeats the onboarding's name.
pub fn onboardings_table(rows: &[Row], shape: Shape) -> String {
    let wide = shape.wide();
    let mut header = vec![role_column(wide), "MODE", "SERVICE ACCOUNT"];
    if wide {
        header.push("ISSUER");
    }
    header.push("PROVIDER");
    if wide {
        header.extend(["CLUSTER ROLE", "PROVIDER ARN", "ASSOCIATIONS", "KM-CONFIG"]);
    }
    let lines = rows.iter().map(|row| {
        let o = &row.onboarding;
        let role = if wide { &o.role_arn } else { &o.role_name };
        let mut cells = lead_cells(row.current, &o.name);
        cells.extend([
            role.clone(),
            o.mode.as_str().to_string(),
            service_account_cell(&o.namespace, &o.service_account, &o.service_accounts),
        ]);
        if wide {
            cells.push(o.issuer.clone());
        }
        cells.push(provider_word(row.provider).to_string());
        if wide {
            cells.push(o.cluster_role_arn.clone().unwrap_or_else(|| "-".into()));
            cells.push(dash_if_empty(&o.oidc_provider_arn));
            cells.push(dash_if_empty(&o.associations.join(",")));
            cells.push(if row.in_km_config { "yes" } else { "no" }.to_string());
        }
        cells
    });
    table(&header, lines, shape.headers)
}

fn local_table(config: &[ClusterEntry], current: Option<&str>, shape: Shape) -> String {
    let wide = shape.wide();
    let mut header = vec![role_column(wide), "SERVICE ACCOUNT"];
    if wide {
        header.push("OIDC PROVIDER ARN");
    }
    let rows = config.iter().map(|e| {
        let mut cells = lead_cells(current == Some(e.name.as_str()), &e.name);
        cells.extend([
            if wide {
                e.role_arn.clone()
            } else {
                role_name_of(&e.role_arn).to_string()
            },
            service_account_cell(&e.namespace, &e.service_account, &e.service_accounts),
        ]);
        if wide {
            cells.push(e.oidc_provider_arn.clone());
        }
        cells
    });
    table(&header, rows, shape.headers)
}

/// `namespace:name` items as `namespace/name`, joined with `,`.
fn slashed(listed: &[String]) -> String {
    listed
        .iter()
        .map(|s| s.replacen(':', "/", 1))
        .collect::<Vec<_>>()
        .join(",")
}

/// The SERVICE ACCOUNT cell: `namespace/name`, or every one of several.
fn service_account_cell(namespace: &str, service_account: &str, listed: &[String]) -> String {
    match listed.is_empty() {
        true => format!("{namespace}/{service_account}"),
        false => slashed(listed),
    }
}

fn dash_if_empty(cell: &str) -> String {
    match cell {
        "" => "-".to_string(),
        cell => cell.to_string(),
    }
}

fn role_column(wide: bool) -> &'static str {
    if wide { "ROLE ARN" } else { "ROLE" }
}

/// The role's name from its ARN (after `role/` and any path).
fn role_name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The columns every table starts with: the current mark (`*`), the name.
const LEAD_COLUMNS: [&str; 2] = ["", "NAME"];

fn lead_cells(current: bool, name: &str) -> Vec<String> {
    vec![if current { "*" } else { "" }.to_string(), name.to_string()]
}

/// A kubectl-style table: the lead columns, then `more`; each column as
/// wide as its widest cell. Cells hold what IAM and km-config.yaml hold:
/// made visible first. Without headers (for programs) the mark column
/// goes too: a row then starts with its name.
fn table(more: &[&str], rows: impl Iterator<Item = Vec<String>>, headers: bool) -> String {
    let skip = usize::from(!headers);
    let header: Vec<String> = LEAD_COLUMNS
        .iter()
        .chain(more)
        .skip(skip)
        .map(|h| h.to_string())
        .collect();
    let rows = rows.map(|row| {
        row.iter()
            .skip(skip)
            .map(|c| visible(c).into_owned())
            .collect()
    });
    let lines: Vec<Vec<String>> = std::iter::once(header)
        .filter(|_| headers)
        .chain(rows)
        .collect();
    let columns = LEAD_COLUMNS.len() + more.len() - skip;
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

    const EKS: &str =
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    fn row() -> Row {
        Row {
            onboarding: Onboarding {
                name: "dev".into(),
                provider_owned: Some(true),
                role_name: "km-cluster-dev".into(),
                role_arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
                namespace: "ai-pods".into(),
                service_account: "km".into(),
                service_accounts: Vec::new(),
                oidc_provider_arn: "arn:p".into(),
                issuer: EKS.into(),
                cluster: None,
                server: None,
                mode: Default::default(),
                cluster_role_arn: None,
                config_map: None,
                session_tags: None,
                external_ids: Vec::new(),
                associations: Vec::new(),
            },
            provider: ProviderStatus::Owned,
            current: true,
            in_km_config: false,
        }
    }

    fn shape(format: ListOutput, headers: bool) -> Shape {
        Shape { format, headers }
    }

    #[test]
    fn the_wide_table_aligns_marks_current_and_has_full_arns() {
        let text = onboardings_table(&[row()], shape(ListOutput::Wide, true));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("   NAME"), "{text}");
        assert!(
            lines[0].ends_with("PROVIDER ARN  ASSOCIATIONS  KM-CONFIG"),
            "{text}"
        );
        assert!(lines[1].starts_with("*  dev"), "{text}");
        assert!(
            lines[1].contains("owned") && lines[1].ends_with("no"),
            "{text}"
        );
        assert_eq!(lines[0].find("ROLE ARN"), lines[1].find("arn:aws"));
        assert!(lines[1].contains(EKS), "{text}");
    }

    /// Issue 26, item 9: with a name like the test world's and the longest
    /// provider word, the default table fits an 80-column terminal (it was
    /// 93 columns wide with the issuer in it).
    #[test]
    fn the_default_table_fits_80_columns() {
        let mut r = row();
        r.onboarding.name = "dev-use1-0".into();
        r.onboarding.role_name = "km-cluster-dev-use1-0".into();
        r.provider = ProviderStatus::PreExisting;
        let text = onboardings_table(&[r], shape(ListOutput::Text, true));
        assert!(!text.contains("arn:aws"), "{text}");
        assert!(text.contains("km-cluster-dev-use1-0"), "{text}");
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{widest} columns:\n{text}");
    }

    fn listing_of(clusters: Vec<Row>) -> Listing {
        Listing {
            klanker_account: "333333333333".into(),
            clusters,
            drift: vec![Drift {
                name: "dev".into(),
                problem: "two roles claim it".into(),
                fix: "delete one".into(),
            }],
            pending_removal: Vec::new(),
        }
    }

    /// Issue 26, item 9: a long problem wraps at words under its name;
    /// the fix, a command to paste, stays one line.
    #[test]
    fn drift_wraps_its_problem_at_words_and_never_its_fix() {
        let drift = vec![Drift {
            name: "dev".into(),
            problem: "the trust policy admits system:serviceaccount:ci:deployer, which the tool never wrote".into(),
            fix: "kubectl klanker-trust add --name dev --mode mirror --namespace 'ai-pods' --service-account 'km'".into(),
        }];
        let text = drift_text(&drift, Some(40));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "Drift:", "{text}");
        assert!(lines[2].starts_with("  dev: the trust policy"), "{text}");
        assert!(lines[3].starts_with("    "), "hanging indent: {text}");
        let fix = lines.iter().find(|l| l.contains("fix:")).copied();
        assert_eq!(
            fix,
            Some(format!("    fix: {}", drift[0].fix).as_str()),
            "{text}"
        );
        for line in lines.iter().filter(|l| !l.contains("fix:")) {
            assert!(
                line.chars().count() <= 40 || !line.trim().contains(' '),
                "{line:?}"
            );
        }
        // Without a terminal width, one line as before.
        assert_eq!(drift_text(&drift, None).lines().count(), 4);
    }

    #[test]
    fn the_listing_is_the_table_then_the_drift_on_stdout() {
        let listing = listing_of(vec![row()]);
        let text = shape(ListOutput::Text, true);
        let (out, err) = crate::output::rendered(|o| super::listing(o, &listing, text));
        assert_eq!(
            out,
            format!(
                "{}\nDrift:\n  dev: two roles claim it\n    fix: delete one\n",
                onboardings_table(&listing.clusters, text)
            )
        );
        assert!(
            out.starts_with("   NAME") && out.contains("*  dev"),
            "{out}"
        );
        assert_eq!(err, "");

        let empty = listing_of(Vec::new());
        let (out, _) = crate::output::rendered(|o| super::listing(o, &empty, text));
        assert!(
            out.starts_with("No clusters are onboarded in klanker account 333333333333.\n\nDrift:"),
            "{out}"
        );
    }

    #[test]
    fn the_listing_as_names_or_json_is_for_programs() {
        let listing = listing_of(vec![row()]);
        let names = shape(ListOutput::Name, true);
        let (out, _) = crate::output::rendered(|o| super::listing(o, &listing, names));
        assert_eq!(out, "dev\n");
        let json = shape(ListOutput::Json, true);
        let (out, _) = crate::output::rendered(|o| super::listing(o, &listing, json));
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["klanker_account"], "333333333333");
        assert_eq!(doc["clusters"][0]["name"], "dev", "{doc}");
        assert_eq!(doc["drift"][0]["problem"], "two roles claim it", "{doc}");
    }

    #[test]
    fn the_local_listing_says_iam_was_not_consulted() {
        let path = Path::new("/home/u/.km/km-config.yaml");
        let text = shape(ListOutput::Text, true);
        let (out, err) = crate::output::rendered(|o| local(o, path, &[], &[], &[], None, text));
        assert_eq!(
            out,
            "No clusters are recorded in /home/u/.km/km-config.yaml.\n\
             (from /home/u/.km/km-config.yaml; IAM was not consulted)\n"
        );
        assert_eq!(err, "");
    }

    #[test]
    fn no_headers_drops_the_header_row_and_the_mark_column() {
        let text = onboardings_table(&[row()], shape(ListOutput::Text, false));
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("dev  km-cluster-dev"), "{text}");
    }

    /// Issue 26, item 5: `--no-headers` and `-o name` put only rows on
    /// stdout; the drift and the pending removals go to stderr.
    #[test]
    fn for_programs_stdout_holds_only_the_rows() {
        let mut listing = listing_of(vec![row()]);
        listing.pending_removal = vec![pending()];
        for format in [ListOutput::Text, ListOutput::Wide, ListOutput::Name] {
            let bare = shape(format, false);
            let (out, err) = crate::output::rendered(|o| super::listing(o, &listing, bare));
            assert!(out.starts_with("dev"), "{format:?}: {out}");
            assert_eq!(out.lines().count(), 1, "{format:?}: {out}");
            assert!(err.contains("Drift:\n  dev: two roles claim it"), "{err}");
            assert!(err.contains("Pending removal"), "{err}");
        }
        let (out, err) =
            crate::output::rendered(|o| super::listing(o, &listing, shape(ListOutput::Name, true)));
        assert_eq!(out, "dev\n");
        assert!(err.contains("Drift:"), "-o name hides no drift: {err}");

        let empty = listing_of(Vec::new());
        let bare = shape(ListOutput::Text, false);
        let (out, err) = crate::output::rendered(|o| super::listing(o, &empty, bare));
        assert_eq!(out, "");
        assert!(err.starts_with("No clusters are onboarded"), "{err}");
    }

    #[test]
    fn the_local_listing_for_programs_keeps_stdout_to_rows() {
        let path = Path::new("/home/u/.km/km-config.yaml");
        let drift = listing_of(Vec::new()).drift;
        let bare = shape(ListOutput::Text, false);
        let (out, err) = crate::output::rendered(|o| local(o, path, &[], &[], &drift, None, bare));
        assert_eq!(out, "");
        assert!(err.contains("IAM was not consulted"), "{err}");
        assert!(err.contains("Drift:"), "{err}");
    }

    #[test]
    fn names_are_one_per_line_and_visible() {
        assert_eq!(names_text(["a", "b\u{1b}[2K"].into_iter()), "a\nb\\e[2K\n");
    }

    fn pending() -> PendingRemoval {
        PendingRemoval {
            name: "dev".into(),
            part: PendingPart::Cluster,
            role_arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            service_accounts: Vec::new(),
            cluster: Some("arn:aws:eks:us-east-1:222222222222:cluster/dev".into()),
            annotated_role: "arn:aws:iam::222222222222:role/km-irsa-dev".into(),
            config_map: Some("team-aws".into()),
        }
    }

    #[test]
    fn pending_removals_say_what_is_left_and_the_fix() {
        assert_eq!(pending_text(&[]), "");
        let text = pending_text(&[pending()]);
        assert!(text.contains("Pending removal"), "{text}");
        assert!(
            text.contains(
                "dev: ServiceAccount ai-pods/km in arn:aws:eks:us-east-1:222222222222:cluster/dev"
            ),
            "{text}"
        );
        // Issue 26, item 11: the cluster role, and the ConfigMap too.
        assert!(
            text.contains(
                "annotated with arn:aws:iam::222222222222:role/km-irsa-dev, and ConfigMap team-aws beside it"
            ),
            "{text}"
        );
        assert!(text.contains("fix: kubectl klanker-trust rm dev"), "{text}");
    }

    #[test]
    fn several_service_accounts_share_one_cell_joined_with_commas() {
        let mut r = row();
        r.onboarding.service_accounts = vec!["ai-pods:km".into(), "ci:b".into()];
        let text = onboardings_table(
            &[r],
            Shape {
                format: ListOutput::Text,
                headers: true,
            },
        );
        assert!(text.contains("ai-pods/km,ci/b"), "{text}");
        assert_eq!(service_account_cell("ns", "km", &[]), "ns/km");
    }
}
