//! `list`: every onboarding in the klanker account (the source of truth),
//! joined with km-config.yaml, with the drift that join reveals.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::aws::iam;
use crate::cli::{GlobalArgs, ListArgs, ListOutput};
use crate::error::Error;
use crate::inventory::{self, Drift, ProviderStatus, Row};
use crate::kubeconfig;
use crate::output;
use crate::store::{self, ClusterEntry, Store};

/// Provider tag lookups in flight at once, for roles whose description does
/// not record the provider's ownership.
const PROVIDER_LOOKUPS: usize = 8;

#[derive(Serialize)]
struct Listing<'a> {
    klanker_account: &'a str,
    clusters: &'a [Row],
    drift: &'a [Drift],
}

#[derive(Serialize)]
struct LocalListing<'a> {
    source: &'static str,
    path: String,
    clusters: &'a [ClusterEntry],
}

/// The registry name of the current context's cluster, if the kubeconfig tells.
fn current_name(global: &GlobalArgs) -> Option<String> {
    let kc = kubeconfig::load(global.kubeconfig.as_deref()).ok()?;
    let ctx = kubeconfig::select_context(&kc, global.context.as_deref()).ok()?;
    ctx.eks.cluster_name.or(Some(ctx.context_name))
}

pub async fn run(global: &GlobalArgs, args: &ListArgs) -> Result<(), Error> {
    let store = store::open(global.config.as_deref())?;
    let config_doc = store.load()?;
    let config = config_doc.clusters().unwrap_or_default();
    let current = current_name(global);

    if args.local {
        return print_local(&store, &config, current.as_deref(), args.output);
    }

    let (klanker, _, hint) =
        crate::observe::klanker_clients(global, &crate::resolve::Klanker::resolve(&args.aws)?)
            .await?;

    let (roles, providers, identity) = tokio::try_join!(
        async { iam::list_roles(&klanker.iam).await.map_err(Error::from) },
        async { iam::list_providers(&klanker.iam).await.map_err(Error::from) },
        crate::observe::klanker_identity(&klanker, hint),
    )?;
    crate::plan::guard::check_account(
        &crate::resolve::Klanker::resolve(&args.aws)?,
        &identity.account,
        store.load()?.klanker_account().as_deref(),
        None,
    )?;
    let account = identity.account;
    // Descriptions name the candidates; only their tags prove an onboarding
    // (ListRoles returns no tags, so each candidate costs one GetRole).
    let candidates: BTreeSet<String> = roles
        .iter()
        .filter(|r| inventory::onboarding(r).is_some())
        .map(|r| r.role_name.clone())
        .collect();
    let tagged = crate::observe::tagged_roles(&klanker, &roles, &candidates).await?;
    let (onboardings, proof_drift) = inventory::onboardings_from(&tagged, &config);
    // Ownership as the role descriptions recorded it, for providers that still
    // exist; only providers no description speaks for are looked up (roles
    // written before the description carried it), one call per provider.
    let existing: BTreeSet<&String> = providers.iter().collect();
    let mut ownership: BTreeMap<String, bool> = onboardings
        .iter()
        .filter(|o| existing.contains(&o.oidc_provider_arn))
        .filter_map(|o| {
            o.provider_owned
                .map(|owned| (o.oidc_provider_arn.clone(), owned))
        })
        .collect();
    let unknown: BTreeSet<String> = onboardings
        .iter()
        .map(|o| o.oidc_provider_arn.clone())
        .filter(|arn| existing.contains(arn) && !ownership.contains_key(arn))
        .collect();
    let looked_up: Vec<(String, bool)> = stream::iter(unknown)
        .map(|arn| {
            let iam_client = &klanker.iam;
            async move {
                iam::provider_owned(iam_client, &arn)
                    .await
                    .map(|owned| (arn, owned))
            }
        })
        .buffer_unordered(PROVIDER_LOOKUPS)
        .try_collect()
        .await?;
    ownership.extend(looked_up);
    let (rows, mut drift) =
        inventory::inventory(onboardings, &ownership, &config, current.as_deref());
    drift.extend(proof_drift);
    // Two entries of one name: `km` and this tool would each read only one.
    drift.extend(config_doc.duplicate_names().into_iter().map(|name| Drift {
        problem: format!(
            "{} has more than one `clusters:` entry named {name}; km-config.yaml is not written until that is resolved",
            store.path().display()
        ),
        fix: "keep one entry for the name (remove the others by hand)".into(),
        name,
    }));

    match args.output {
        ListOutput::Json | ListOutput::Yaml => {
            let listing = Listing {
                klanker_account: &account,
                clusters: &rows,
                drift: &drift,
            };
            print_structured(&listing, args.output)?;
        }
        ListOutput::Text | ListOutput::Wide => {
            print!("{}", table(&rows, args.output == ListOutput::Wide));
            if rows.is_empty() {
                println!("No clusters are onboarded in klanker account {account}.");
            }
            if !drift.is_empty() {
                println!("\nDrift:");
                for d in &drift {
                    println!("  {}: {}\n    fix: {}", d.name, d.problem, d.fix);
                }
            }
        }
    }
    Ok(())
}

fn print_structured<T: Serialize>(value: &T, format: ListOutput) -> Result<(), Error> {
    let format = match format {
        ListOutput::Json => output::Structured::Json,
        _ => output::Structured::Yaml,
    };
    output::print_structured(value, format)
}

fn provider_word(status: ProviderStatus) -> &'static str {
    match status {
        ProviderStatus::Owned => "owned",
        ProviderStatus::PreExisting => "pre-existing",
        ProviderStatus::Missing => "MISSING",
    }
}

/// A kubectl-style table; `*` marks the current context's cluster.
pub fn table(rows: &[Row], wide: bool) -> String {
    let mut header = vec![
        "",
        "NAME",
        "ROLE ARN",
        "NAMESPACE",
        "SERVICE ACCOUNT",
        "ISSUER",
        "PROVIDER",
    ];
    if wide {
        header.extend(["PROVIDER ARN", "KM-CONFIG"]);
    }
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let o = &row.onboarding;
        let mut line = vec![
            if row.current { "*" } else { "" }.to_string(),
            o.name.clone(),
            o.role_arn.clone(),
            o.namespace.clone(),
            o.service_account.clone(),
            o.issuer.clone(),
            provider_word(row.provider).to_string(),
        ];
        if wide {
            line.push(o.oidc_provider_arn.clone());
            line.push(if row.in_km_config { "yes" } else { "no" }.to_string());
        }
        lines.push(line);
    }
    render(&lines)
}

fn render(lines: &[Vec<String>]) -> String {
    let columns = lines.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<width$}", width = widths[c]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn print_local(
    store: &Store,
    config: &[ClusterEntry],
    current: Option<&str>,
    format: ListOutput,
) -> Result<(), Error> {
    match format {
        ListOutput::Json | ListOutput::Yaml => print_structured(
            &LocalListing {
                source: "km-config",
                path: store.path().display().to_string(),
                clusters: config,
            },
            format,
        )?,
        ListOutput::Text | ListOutput::Wide => {
            let mut lines = vec![
                [
                    "",
                    "NAME",
                    "ROLE ARN",
                    "NAMESPACE",
                    "SERVICE ACCOUNT",
                    "OIDC PROVIDER ARN",
                ]
                .map(str::to_string)
                .to_vec(),
            ];
            for e in config {
                lines.push(vec![
                    if current == Some(e.name.as_str()) {
                        "*"
                    } else {
                        ""
                    }
                    .to_string(),
                    e.name.clone(),
                    e.role_arn.clone(),
                    e.namespace.clone(),
                    e.service_account.clone(),
                    e.oidc_provider_arn.clone(),
                ]);
            }
            print!("{}", render(&lines));
            println!("(from {}; IAM was not consulted)", store.path().display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Onboarding;

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
        let text = table(&[row], true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("   NAME"), "{text}");
        assert!(lines[1].starts_with("*  dev"), "{text}");
        assert!(
            lines[1].contains("owned") && lines[1].ends_with("no"),
            "{text}"
        );
        assert_eq!(lines[0].find("ROLE ARN"), lines[1].find("arn:aws"));
    }
}
