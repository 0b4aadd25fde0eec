//! `rm NAME`: find what the onboarding created (from IAM, km-config.yaml and
//! the cluster), plan its removal, confirm, remove. Never touches what the
//! tool did not create.

use serde::Serialize;

use super::issuer::{IssuerSource, resolve_issuer};
use crate::aws::{KlankerClients, iam};
use crate::cli::{GlobalArgs, ReportOutput, RmArgs};
use crate::error::Error;
use crate::inventory::{self, RoleSummary};
use crate::k8s::{self, Cluster};
use crate::kubeconfig;
use crate::output;
use crate::plan::removal::{
    self, ClusterView, FoundServiceAccount, ProviderToRemove, RemovalObserved, RoleToRemove,
};
use crate::store;
use crate::trust::{OidcProviderArn, validate};

#[derive(Serialize)]
struct RmReport<'a> {
    name: &'a str,
    dry_run: bool,
    applied: bool,
    role_arn: &'a str,
    plan: &'a [crate::plan::Step],
    notes: &'a [String],
    /// Steps a re-check right before the call turned into no-ops, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<String>,
}

async fn role_details(
    klanker: &KlankerClients,
    role_name: &str,
) -> Result<Option<RoleToRemove>, Error> {
    let Some(role) = iam::get_role(&klanker.iam, role_name).await? else {
        return Ok(None);
    };
    let (attached, inline, profiles) = tokio::try_join!(
        iam::attached_policies(&klanker.iam, role_name),
        iam::inline_policies(&klanker.iam, role_name),
        iam::instance_profiles(&klanker.iam, role_name),
    )?;
    Ok(Some(RoleToRemove {
        role_name: role_name.to_string(),
        arn: role.arn,
        owned: iam::is_owned(&role.tags),
        name_tag: role.tags.get(crate::trust::NAME_TAG).cloned(),
        attached_policies: attached,
        inline_policies: inline,
        instance_profiles: profiles,
    }))
}

/// When nothing of the onboarding exists (no role, provider, km-config.yaml
/// entry or ServiceAccount), what was looked at in the cluster; None when
/// something is left to remove.
fn onboarded_nowhere(observed: &RemovalObserved, context: Option<&str>) -> Option<String> {
    if observed.role.is_some() || observed.provider.is_some() || observed.config_entry {
        return None;
    }
    match &observed.cluster {
        ClusterView::Found(found) if !found.is_empty() => None,
        ClusterView::Found(_) => Some(format!(
            "the ServiceAccounts of context `{}`",
            context.unwrap_or("?")
        )),
        ClusterView::Kept => Some("(ServiceAccounts not looked at: --keep-service-account)".into()),
        ClusterView::Unreachable(why) => Some(format!("(the cluster could not be checked: {why})")),
    }
}

pub async fn run(global: &GlobalArgs, args: &RmArgs) -> Result<(), Error> {
    validate::registry_name(&args.name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    let verbose = global.verbose;
    let store = store::open(global.config.as_deref())?;
    let config_doc = store.load()?;
    let entry = config_doc.get(&args.name);
    let (klanker, access, hint) = super::klanker_clients(global, &args.aws).await?;

    // IAM first: the role whose tags prove NAME also records NAME's cluster.
    let (roles, providers, identity) = tokio::try_join!(
        async { iam::list_roles(&klanker.iam).await.map_err(Error::from) },
        async { iam::list_providers(&klanker.iam).await.map_err(Error::from) },
        super::klanker_identity(&klanker, hint),
    )?;
    let (partition, account) = (identity.partition.clone(), identity.account.clone());
    let located = super::locate(&klanker, &args.name, &roles, entry.as_ref()).await?;
    let onboarding = located.onboarding.clone();
    let role_name = located.role_name.clone();

    // The kubeconfig is read once; the cluster may be gone, which is no error
    // for rm. Only the context that points at NAME's cluster is used.
    let kubeconfig = kubeconfig::load(global.kubeconfig.as_deref()).map_err(|e| e.to_string());
    let chosen = match (&kubeconfig, args.keep_service_account) {
        (Ok(kc), false) => Some(super::context_for(
            kc,
            &args.name,
            onboarding.as_ref(),
            global.context.as_deref(),
        )?),
        _ => None,
    };
    let context = match (kubeconfig, chosen) {
        (Ok(kc), Some(Some(name))) => kubeconfig::select_context(&kc, Some(&name))
            .map(|ctx| (kc, ctx))
            .map_err(|e| e.to_string()),
        (Ok(_), _) => Err("no context".to_string()),
        (Err(why), _) => Err(why),
    };
    let ctx = context.as_ref().ok().map(|(_, ctx)| ctx.clone());
    super::guard_account(
        &args.aws,
        &identity,
        &store,
        ctx.as_ref().and_then(|c| c.eks.account.as_deref()),
    )?;
    let kube_client = match (args.keep_service_account, context) {
        (true, _) => Err("kept".to_string()),
        (false, Ok((kc, ctx))) => k8s::client(kc, &ctx.context_name, global.timeout())
            .await
            .map_err(|e| e.to_string()),
        (false, Err(why)) => Err(why),
    };
    let cluster = kube_client
        .as_ref()
        .ok()
        .map(|client| Cluster::new(client, verbose));

    let expected_role_arn = onboarding
        .as_ref()
        .map(|o| o.role_arn.clone())
        .or_else(|| entry.as_ref().map(|e| e.role_arn.clone()))
        .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/{role_name}"));
    // The ServiceAccounts: those carrying our label (created by this tool)
    // and the subject(s) the onboarding records (a pre-existing object we
    // only annotated carries no label of ours).
    let mut recorded: Vec<(String, String)> = Vec::new();
    if let Some(o) = &onboarding {
        recorded.push((o.namespace.clone(), o.service_account.clone()));
    }
    if let Some(e) = &entry {
        recorded.push((e.namespace.clone(), e.service_account.clone()));
    }
    recorded.retain(|(ns, sa)| !ns.contains(['*', '?']) && !sa.contains(['*', '?']) && ns != "?");
    recorded.sort();
    recorded.dedup();
    let sas: Result<Vec<k8s::FoundAccount>, String> = match (&cluster, &kube_client) {
        (Some(c), _) => {
            let listed = c.managed_service_accounts().await;
            let direct =
                futures::future::try_join_all(recorded.iter().map(|(ns, sa)| async move {
                    c.get_service_account(ns, sa).await.map(|o| {
                        o.map(|observed| k8s::FoundAccount {
                            namespace: ns.clone(),
                            name: sa.clone(),
                            observed,
                        })
                    })
                }))
                .await;
            // A cluster that refuses us is no unreachable cluster: removing the
            // IAM side now would leave its ServiceAccount pointing at a deleted
            // role, so stop before any write and say which permission is missing.
            let (listed, direct) = match (listed, direct) {
                (Err(denied @ k8s::KubeError::Forbidden { .. }), _)
                | (_, Err(denied @ k8s::KubeError::Forbidden { .. })) => {
                    return Err(Error::Kube(denied));
                }
                both => both,
            };
            match (listed, direct) {
                (Ok(mut all), Ok(direct)) => {
                    for found in direct.into_iter().flatten() {
                        if !all
                            .iter()
                            .any(|a| a.namespace == found.namespace && a.name == found.name)
                        {
                            all.push(found);
                        }
                    }
                    Ok(all)
                }
                (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
            }
        }
        (None, Err(why)) => Err(why.clone()),
        (None, Ok(_)) => Err("no client".to_string()),
    };

    // Which provider: the one the role trusts, else the one mirroring km-config's issuer.
    let provider_arn = onboarding
        .as_ref()
        .map(|o| o.oidc_provider_arn.clone())
        .or_else(|| {
            entry.as_ref().and_then(|e| {
                OidcProviderArn::parse(&e.oidc_provider_arn, "km-config.yaml oidc_provider_arn")
                    .ok()
                    .map(|p| p.issuer.provider_arn(&partition, &account))
            })
        })
        .filter(|arn| providers.contains(arn));
    let role_exists = roles.iter().any(|r: &RoleSummary| r.role_name == role_name);
    // An add that failed after creating the provider but before the role and
    // the km-config entry leaves nothing that names the provider. When this
    // context is that cluster (its name, or a ServiceAccount annotated with the
    // role), its issuer names it; plan_removal still deletes it only if this
    // tool created it and no role trusts it.
    let provider_arn = match provider_arn {
        Some(arn) => Some(arn),
        None if !role_exists && entry.is_none() => {
            let annotated = sas.as_ref().is_ok_and(|found| {
                found.iter().any(|f| {
                    f.observed
                        .annotations
                        .get(crate::trust::ROLE_ARN_ANNOTATION)
                        .map(String::as_str)
                        == Some(expected_role_arn.as_str())
                })
            });
            let this_cluster = ctx
                .as_ref()
                .is_some_and(|c| c.eks.cluster_name.as_deref() == Some(args.name.as_str()));
            match (
                ctx.as_ref().and_then(IssuerSource::from_context),
                annotated || this_cluster,
            ) {
                (Some(source), true) => {
                    match resolve_issuer(&source, &access, kube_client.as_ref().ok(), "", verbose)
                        .await
                    {
                        Ok(resolved) => Some(resolved.issuer.provider_arn(&partition, &account))
                            .filter(|arn| providers.contains(arn)),
                        Err(err) => {
                            if verbose {
                                eprintln!(
                                    "  could not read this cluster's issuer to look for a left-over provider: {err}"
                                );
                            }
                            None
                        }
                    }
                }
                _ => None,
            }
        }
        None => None,
    };
    // The role's details and the provider's ownership, side by side.
    let (role, provider_owned) = tokio::try_join!(
        async {
            match role_exists {
                true => role_details(&klanker, &role_name).await,
                false => Ok(None),
            }
        },
        async {
            match &provider_arn {
                Some(arn) => iam::provider_owned(&klanker.iam, arn)
                    .await
                    .map(Some)
                    .map_err(Error::from),
                None => Ok(None),
            }
        },
    )?;
    let role_arn = role
        .as_ref()
        .map(|r| r.arn.clone())
        .unwrap_or(expected_role_arn);
    let provider = match (provider_arn, provider_owned) {
        (Some(arn), Some(owned)) => Some(ProviderToRemove {
            owned,
            trusted_by: inventory::roles_trusting(&roles, &arn, &role_name)
                .into_iter()
                .map(str::to_string)
                .collect(),
            arn,
        }),
        _ => None,
    };

    let cluster_view = if args.keep_service_account {
        ClusterView::Kept
    } else {
        match sas {
            Err(why) => ClusterView::Unreachable(why),
            Ok(found) => ClusterView::Found(
                found
                    .into_iter()
                    .filter(|f| {
                        let annotated = f
                            .observed
                            .annotations
                            .get(crate::trust::ROLE_ARN_ANNOTATION);
                        annotated == Some(&role_arn)
                            || recorded
                                .iter()
                                .any(|(ns, sa)| ns == &f.namespace && sa == &f.name)
                    })
                    .map(|f| FoundServiceAccount {
                        created_by_us: f.observed.created_by_us(),
                        role_arn: f
                            .observed
                            .annotations
                            .get(crate::trust::ROLE_ARN_ANNOTATION)
                            .cloned(),
                        namespace: f.namespace,
                        name: f.name,
                    })
                    .collect(),
            ),
        }
    };

    let observed = RemovalObserved {
        name: args.name.clone(),
        role_arn: role_arn.clone(),
        role,
        provider,
        cluster: cluster_view,
        config_entry: entry.is_some(),
    };
    // Onboarded nowhere (kubectl delete's NotFound): an error, unless
    // --ignore-not-found. Anything left of a half-removed onboarding is
    // still found, planned and removed below.
    let context_name = ctx.as_ref().map(|c| c.context_name.as_str());
    if let (Some(cluster_looked_at), false) = (
        onboarded_nowhere(&observed, context_name),
        args.ignore_not_found,
    ) {
        return Err(super::not_onboarded(
            "rm",
            &args.name,
            vec![
                format!("the IAM roles and OIDC providers of klanker account {account}"),
                format!("{}", store.path().display()),
                cluster_looked_at,
            ],
            &roles,
            &config_doc,
        ));
    }
    let (plan, mut notes) = removal::plan_removal(&observed)?;
    notes.extend(located.notes());

    let text = args.output == ReportOutput::Text;
    if text {
        if plan.is_noop() {
            println!(
                "Nothing to remove: `{}` is not onboarded in klanker account {account} (or was removed already).",
                args.name
            );
        } else {
            print!(
                "{}",
                output::plan_text(
                    &format!(
                        "{}Removal plan for `{}` in klanker account {account}:",
                        access.identities_line(),
                        args.name
                    ),
                    &plan,
                    &[],
                    output::stdout_colour()
                )
            );
        }
        for note in &notes {
            println!("note: {note}");
        }
    }

    let executor = super::Executor::new(&klanker, cluster.as_ref(), &store, verbose);
    let apply = super::decide(&args.apply, &plan)?;
    if apply {
        // A fresh read after the prompt, before the first write of either
        // chain (the cluster chain runs beside the IAM one): the role must
        // still be NAME's. Each IAM removal step re-checks again.
        if let Some(role) = &observed.role {
            iam::check_role_of(&klanker.iam, &role.role_name, &args.name).await?;
        }
        super::execute(&plan, &executor, "kubectl klanker-trust rm", async {}).await?;
    }

    match args.output {
        ReportOutput::Text => {
            if apply {
                println!("Removed: {} change(s) applied.", plan.changes().count());
                for (step, why) in executor.skipped() {
                    println!("not done: {step}: {why}");
                }
            } else if !plan.is_noop() {
                println!(
                    "Dry run: nothing was changed. Run again with --dry-run=false (or --yes) to remove."
                );
            }
        }
        ReportOutput::Json | ReportOutput::Yaml => {
            let report = RmReport {
                name: &args.name,
                dry_run: !apply && !plan.is_noop(),
                applied: apply,
                role_arn: &role_arn,
                plan: &plan.steps,
                notes: &notes,
                skipped: executor
                    .skipped()
                    .into_iter()
                    .map(|(step, why)| format!("{step}: {why}"))
                    .collect(),
            };
            let format = match args.output {
                ReportOutput::Json => output::Structured::Json,
                _ => output::Structured::Yaml,
            };
            output::print_structured(&report, format);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing() -> RemovalObserved {
        RemovalObserved {
            name: "dev".into(),
            role_arn: "arn:aws:iam::333333333333:role/km-cluster-dev".into(),
            role: None,
            provider: None,
            cluster: ClusterView::Found(vec![]),
            config_entry: false,
        }
    }

    #[test]
    fn onboarded_nowhere_only_when_nothing_is_left() {
        assert_eq!(
            onboarded_nowhere(&nothing(), Some("ctx")).as_deref(),
            Some("the ServiceAccounts of context `ctx`")
        );
        let mut entry = nothing();
        entry.config_entry = true;
        assert_eq!(onboarded_nowhere(&entry, Some("ctx")), None);
        let mut role = nothing();
        role.role = Some(RoleToRemove::default());
        assert_eq!(onboarded_nowhere(&role, Some("ctx")), None);
        // Half-removed: only the ServiceAccount is left.
        let mut sa = nothing();
        sa.cluster = ClusterView::Found(vec![FoundServiceAccount {
            namespace: "ai-pods".into(),
            name: "km".into(),
            role_arn: Some(sa.role_arn.clone()),
            created_by_us: true,
        }]);
        assert_eq!(onboarded_nowhere(&sa, Some("ctx")), None);
        let mut down = nothing();
        down.cluster = ClusterView::Unreachable("refused".into());
        assert!(
            onboarded_nowhere(&down, None)
                .unwrap()
                .contains("could not be checked: refused")
        );
    }
}
