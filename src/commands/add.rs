//! `add`: resolve the request, observe what exists, plan (mirror mode),
//! confirm, apply, then check the result with `verify`'s local checks.

use crate::apply::{self, Live};
use crate::cli::{AddArgs, GlobalArgs};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::observe::add::{self as observe, Sources};
use crate::observe::issuer;
use crate::plan::add::AddPlan;
use crate::plan::mode::{self, mirror};
use crate::resolve::{IssuerSource, add as resolve};
use crate::{aws, kubeconfig, output, store, verify};

const RERUN: &str = "kubectl klanker-trust add";

pub async fn run(global: &GlobalArgs, args: &AddArgs) -> Result<(), Error> {
    // resolve
    let kubeconfig = kubeconfig::load(global.kubeconfig.as_deref())?;
    let ctx = kubeconfig::select_context(&kubeconfig, global.context.as_deref())?;
    let req = resolve::resolve(args, &ctx)?;
    if let IssuerSource::Eks {
        profile: Some(p), ..
    } = &req.source
    {
        aws::check_profile_exists(p, "--cluster-profile").await?;
        // Its MFA or SSO trouble is said before the klanker side's first call.
        aws::preflight(p, global.mfa_code.clone(), output::interactive()).await?;
    }
    let store = store::open(global.config.as_deref())?;
    if global.verbose {
        output::add::context_line(&req, store.path());
    }

    // observe: clients are built once here and passed down.
    let (klanker, access, hint) =
        crate::observe::klanker_clients(global, &req.klanker, super::aws_access(global)).await?;
    let kube_client = match req.needs_cluster() {
        true => Some(k8s::client(kubeconfig, &ctx.context_name, global.timeout()).await?),
        false => None,
    };
    let cluster = kube_client
        .as_ref()
        .filter(|_| req.applies_service_account())
        .map(|client| {
            Cluster::new(client, global.verbose).at(&ctx.context_name, ctx.server.as_deref())
        });
    // The cluster's account: chained mode writes role A there, and mirror
    // mode taking a chained name back removes it.
    let cluster_account = match &req.cluster_side {
        Some(side) => Some(issuer::cluster_clients(side, &access, global.verbose).await?),
        None => None,
    };
    let sources = Sources {
        klanker: &klanker,
        cluster_account: cluster_account.as_ref(),
        access: &access,
        hint,
        kube: kube_client.as_ref(),
        cluster: cluster.as_ref(),
        config: store.load()?,
        verbose: global.verbose,
    };
    let snapshot = observe::observe(&req, sources).await?;

    // plan
    let add = mode::plan_add(&req, &snapshot)?;
    output::add::plan(&req, &snapshot, &add, &access.identities_line());

    // apply: `--dry-run=server` sends only the preflight's dry runs.
    let live = Live {
        iam: &klanker.iam,
        cluster_iam: cluster_account.as_ref().map(|c| &c.iam),
        cluster: cluster.as_ref(),
        store: &store,
    };
    let server = match req.apply.server_dry_run() && !add.plan.is_noop() {
        true => Some(apply::server_dry_run(&add.plan, &live).await?),
        false => None,
    };
    // The verification token is asked for as soon as the ServiceAccount is
    // applied (mirror mode; chained mode's walk reads its links afresh).
    let applier = observe::WithToken {
        inner: &live,
        cluster: cluster
            .as_ref()
            .filter(|_| req.verify && req.mode.chained().is_none()),
        req: &req,
        tokens: Default::default(),
    };
    let confirm = output::prompt::Confirm::YesNo;
    let outcome = match output::prompt::decide(&req.apply, &add.plan, confirm).await? {
        false => None,
        true => {
            let progress = output::Progress::new(add.plan.changes().count(), global.verbose);
            Some(apply::execute(&add.plan, &applier, RERUN, &progress).await?)
        }
    };
    // The local checks of `verify`, so an onboarding that cannot work is
    // reported at once; a no-op re-run stays read-only.
    let checked = cluster.as_ref().filter(|_| req.verify);
    let verification = match (&outcome, checked, &add.cluster_role_arn) {
        (Some(_), Some(cluster), None) => {
            let tokens = applier.take_tokens();
            let after = observe::after_apply(&klanker, cluster, &req, &add.desired.issuer, tokens);
            let after = after.await.map_err(|cause| Error::AfterChanges {
                cause: Box::new(cause),
                rerun: RERUN,
            })?;
            // Each ServiceAccount's links; the shared ones said once.
            Some(verify::merge_subject_checks(
                after
                    .into_iter()
                    .map(|(subject, after)| {
                        verify::local_checks(&mirror::verification_facts(
                            &req, &add, &subject, after,
                        ))
                    })
                    .collect(),
            ))
        }
        (Some(_), Some(cluster), Some(_)) => {
            let checks = chained_checks(&klanker, cluster_account.as_ref(), cluster, &req, &add);
            Some(checks.await.map_err(|cause| Error::AfterChanges {
                cause: Box::new(cause),
                rerun: RERUN,
            })?)
        }
        _ => None,
    };

    // render
    output::add::result(
        &req,
        &add,
        output::add::Done {
            outcome: outcome.as_ref(),
            server: server.as_ref(),
            verification: verification.as_deref(),
            config_path: store.path(),
        },
    )?;
    verification.map_or(Ok(()), |checks| Error::broken_chain(&checks))
}

/// Chained mode's check after applying: `verify`'s local links of each
/// ServiceAccount (role A, then role B and the ConfigMap), read afresh.
async fn chained_checks(
    klanker: &aws::KlankerClients,
    cluster_account: Option<&aws::ClusterClients>,
    cluster: &Cluster<'_>,
    req: &resolve::AddRequest,
    add: &AddPlan,
) -> Result<Vec<verify::Check>, Error> {
    let target = observe::chained_target(req, add);
    let subjects = target.subjects();
    let chains = futures::future::try_join_all(subjects.iter().map(|subject| {
        crate::observe::verify::chain(klanker, cluster_account, cluster, &target, subject)
    }))
    .await?;
    Ok(verify::merge_subject_checks(
        chains
            .iter()
            .map(|chain| verify::local_checks(&chain.facts))
            .collect(),
    ))
}
