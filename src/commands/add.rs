//! `add`, as two stages a caller runs around its own prompt: `prepare`
//! (resolve → observe → plan) and `apply` (apply → verify). Neither prints:
//! the caller renders the plan, decides whether to apply, and renders the
//! report.

use crate::apply::{self, Live, Outcome, ServerDryRun};
use crate::aws::{ClusterClients, KlankerClients};
use crate::cli::AddArgs;
use crate::env::Env;
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::observe::add::{self as observe, Sources};
use crate::observe::issuer;
use crate::plan::add::AddPlan;
use crate::plan::mode;
use crate::plan::snapshot::AddSnapshot;
use crate::resolve::{IssuerSource, add as resolve};
use crate::verify::Check;
use crate::{aws, kubeconfig, verify};

pub(crate) const RERUN: &str = "kubectl klanker-trust add";

/// One cluster's onboarding, planned and not yet applied.
pub struct Prepared {
    pub req: resolve::AddRequest,
    pub snapshot: AddSnapshot,
    pub add: AddPlan,
    /// Which identity each account acts as, for the plan's first line.
    pub acting_as: String,
    /// Cluster ops the server accepted as dry runs while IAM was read.
    preflighted: Vec<crate::plan::Op>,
    klanker: KlankerClients,
    cluster_account: Option<ClusterClients>,
    kube: Option<kube::Client>,
}

/// What applying did.
#[derive(Default)]
pub struct AddReport {
    /// None when nothing was applied (a dry run, a no-op, planning only).
    pub outcome: Option<Outcome>,
    /// `--dry-run=server`: what the API server accepted.
    pub server: Option<ServerDryRun>,
    /// `verify`'s local checks after applying.
    pub verification: Option<Vec<Check>>,
}

/// resolve → observe → plan for one context (None: the current one); a
/// fleet's unit of work. Clients are built once here and kept for `apply`.
pub async fn prepare_in(
    env: &Env,
    args: &AddArgs,
    context: Option<&str>,
) -> Result<Prepared, Error> {
    let (req, kubeconfig) = request(env, args, context).await?;
    // The entry is written last: a doubled name would refuse that write
    // after every other change was made.
    env.store
        .load()?
        .refuse_ambiguous(env.store.path(), &req.name, true)?;
    let first = first_round(env, &req, kubeconfig).await?;
    let FirstRound {
        klanker,
        hint,
        cluster_account,
        kube,
        state,
    } = first;
    let cluster = applied_cluster(&req, kube.as_ref(), env.verbose());
    // Only when nothing will be asked: after a prompt, the executor's own
    // preflight runs, as fresh as the answer.
    let early_steps = hint
        .as_ref()
        .filter(|_| req.apply.applies_without_asking())
        .and_then(|klanker| {
            mode::early_service_account_steps(&req, klanker, &observe::cluster_observed(&state))
        });
    let live = Live {
        iam: &klanker.iam,
        cluster_account: None,
        cluster: cluster.as_ref(),
        store: &env.store,
    };
    let early = async {
        match (early_steps, &cluster) {
            (Some(steps), Some(_)) => apply::preflight_ahead(&steps, &live).await,
            _ => Vec::new(),
        }
    };
    let sources = Sources {
        klanker: &klanker,
        cluster_account: cluster_account.as_ref(),
        access: &env.access,
        hint,
        kube: kube.as_ref(),
        cluster: cluster.as_ref(),
        config: env.store.load()?,
        verbose: env.verbose(),
    };
    // The ServiceAccounts' dry runs, when they are known now, beside the IAM reads.
    let (snapshot, preflighted) = tokio::join!(observe::observe(&req, sources, state), early);
    let snapshot = snapshot?;
    let add = mode::plan_add(&req, &snapshot)?;
    Ok(Prepared {
        acting_as: env.access.identities_line(),
        req,
        snapshot,
        add,
        preflighted,
        klanker,
        cluster_account,
        kube,
    })
}

/// The request, from the flags and the kubeconfig's context; a cluster
/// profile's MFA or SSO trouble is said before the klanker side's first call.
async fn request(
    env: &Env,
    args: &AddArgs,
    context: Option<&str>,
) -> Result<(resolve::AddRequest, kube::config::Kubeconfig), Error> {
    let global = &env.global;
    let kubeconfig = kubeconfig::load(global.kubeconfig.as_deref())?;
    let ctx = kubeconfig::select_context(&kubeconfig, context)?;
    let req = resolve::resolve(args, &ctx, mode::of(args.mode))?;
    if let IssuerSource::Eks {
        profile: Some(p), ..
    } = &req.source
    {
        aws::check_profile_exists(p, "--cluster-profile").await?;
        aws::preflight(p, global.mfa_code.clone(), env.interactive).await?;
    }
    tracing::debug!(
        "context {} (cluster {}), trust {}, config {}",
        req.context.context_name,
        req.context.server.as_deref().unwrap_or("?"),
        req.subjects_line(),
        env.store.path().display()
    );
    Ok((req, kubeconfig))
}

/// What the first round of requests gives: each account's clients and the
/// cluster's state.
struct FirstRound {
    klanker: KlankerClients,
    hint: Option<aws::Identity>,
    cluster_account: Option<ClusterClients>,
    kube: Option<kube::Client>,
    state: observe::ClusterState,
}

/// Each account's credentials side by side (one round trip, not two), and
/// the cluster read in the same round: it needs no AWS credentials. The
/// cluster's account: a mode with a cluster role writes it there, and
/// another mode taking the name back removes it.
async fn first_round(
    env: &Env,
    req: &resolve::AddRequest,
    kubeconfig: kube::config::Kubeconfig,
) -> Result<FirstRound, Error> {
    let cluster_account = async {
        match &req.cluster_side {
            Some(side) => Ok(Some(
                issuer::cluster_clients(side, &env.access, env.verbose()).await?,
            )),
            None => Ok::<_, Error>(None),
        }
    };
    let kube = async {
        let client = match req.needs_cluster() {
            true => {
                let (context, timeout) = (&req.context.context_name, env.global.timeout());
                Some(k8s::client(kubeconfig, context, timeout).await?)
            }
            false => None,
        };
        let cluster = applied_cluster(req, client.as_ref(), env.verbose());
        let state = observe::cluster_state(req, cluster.as_ref()).await?;
        Ok::<_, Error>((client, state))
    };
    // The klanker profile's own credentials first: a broken one (a failing
    // credential process) stops the run with nothing sent to either account.
    // The cluster's reads need no AWS credentials, so they start at once:
    // in a fleet, the other clusters wait here for the first one's session.
    let accounts = async {
        aws::check_profile(&req.klanker.profile, "--aws-profile").await?;
        aws::local_credentials(&req.klanker.profile, &req.klanker.region, &env.access).await?;
        tokio::try_join!(
            crate::observe::klanker_clients(env, &req.klanker),
            cluster_account
        )
    };
    let (((klanker, hint), cluster_account), (kube, state)) = tokio::try_join!(accounts, kube)?;
    Ok(FirstRound {
        klanker,
        hint,
        cluster_account,
        kube,
        state,
    })
}

/// The cluster, when the ServiceAccounts are applied there.
fn applied_cluster<'a>(
    req: &'a resolve::AddRequest,
    kube: Option<&'a kube::Client>,
    verbose: bool,
) -> Option<Cluster<'a>> {
    kube.filter(|_| req.applies_service_account())
        .map(|client| {
            let ctx = &req.context;
            Cluster::new(client, verbose).at(&ctx.context_name, ctx.server.as_deref())
        })
}

/// apply → verify: `--dry-run=server` sends only the preflight's dry runs;
/// `go` (the caller's decision) applies, drawn on `progress`, then
/// `verify`'s local checks run.
pub async fn apply(
    env: &Env,
    prepared: &Prepared,
    go: bool,
    progress: &impl apply::Progress,
) -> Result<AddReport, Error> {
    let Prepared { req, add, .. } = prepared;
    let cluster = applied_cluster(req, prepared.kube.as_ref(), env.verbose());
    let live = Live {
        iam: &prepared.klanker.iam,
        cluster_account: prepared.cluster_account.as_ref(),
        cluster: cluster.as_ref(),
        store: &env.store,
    };
    let mut report = AddReport::default();
    if req.apply.server_dry_run() && !add.plan.is_noop() {
        report.server = Some(apply::server_dry_run(&add.plan, &live).await?);
    }
    if !go {
        return Ok(report);
    }
    // The verification token is asked for as soon as each ServiceAccount
    // is applied (a cluster role's links are read afresh instead).
    let applier = observe::WithToken {
        inner: &live,
        cluster: cluster
            .as_ref()
            .filter(|_| req.verify && add.cluster_role_arn.is_none()),
        req,
        tokens: Default::default(),
    };
    let preflighted = &prepared.preflighted;
    let outcome = apply::execute(
        &add.plan,
        &applier,
        RERUN,
        (progress, &env.interrupt),
        preflighted,
    );
    report.outcome = Some(outcome.await?);
    // The local checks of `verify`, so an onboarding that cannot work is
    // reported at once.
    if let Some(cluster) = cluster.as_ref().filter(|_| req.verify) {
        let checks = verification(prepared, cluster, applier.take_tokens());
        report.verification = Some(checks.await.map_err(|cause| Error::AfterChanges {
            cause: Box::new(cause),
            rerun: RERUN,
        })?);
    }
    Ok(report)
}

/// Each ServiceAccount's links after applying; the shared ones said once.
async fn verification(
    prepared: &Prepared,
    cluster: &Cluster<'_>,
    tokens: observe::Tokens,
) -> Result<Vec<Check>, Error> {
    let Prepared { req, add, .. } = prepared;
    let asked = mode::of(req.mode.kind());
    if asked.uses_associations() {
        return association_checks(prepared, cluster).await;
    }
    // A cluster role's links are in two accounts: read afresh, as `verify` reads them.
    if add.cluster_role_arn.is_some() {
        return read_afresh(prepared, cluster).await;
    }
    let after = observe::after_apply(&prepared.klanker, cluster, req, &add.desired.issuer, tokens);
    let facts: Option<Vec<verify::Facts>> = after
        .await?
        .into_iter()
        .map(|(subject, after)| asked.facts_after_apply(req, add, &subject, after))
        .collect();
    match facts {
        Some(facts) => Ok(verify::merge_subject_checks(
            facts.iter().map(verify::local_checks_after_add).collect(),
        )),
        None => read_afresh(prepared, cluster).await,
    }
}

/// The links of an onboarding whose pods get credentials from EKS Pod
/// Identity, read afresh after applying, as `verify` reads them.
async fn association_checks(
    prepared: &Prepared,
    cluster: &Cluster<'_>,
) -> Result<Vec<Check>, Error> {
    let req = &prepared.req;
    let target = observe::applied_target(req, &prepared.add);
    let (Some(clients), IssuerSource::Eks { name, .. }) =
        (prepared.cluster_account.as_ref(), &req.source)
    else {
        return Ok(Vec::new());
    };
    let facts = crate::observe::verify::association_facts(
        &prepared.klanker,
        clients,
        cluster,
        name,
        &target,
    );
    Ok(mode::of(req.mode.kind()).association_checks(&facts.await?))
}

/// `verify`'s local links of each ServiceAccount, read afresh after
/// applying (the ServiceAccount's role, then any second hop and its ConfigMap).
async fn read_afresh(prepared: &Prepared, cluster: &Cluster<'_>) -> Result<Vec<Check>, Error> {
    let target = observe::applied_target(&prepared.req, &prepared.add);
    let subjects = target.subjects();
    let chains = futures::future::try_join_all(subjects.iter().map(|subject| {
        crate::observe::verify::chain(
            &prepared.klanker,
            prepared.cluster_account.as_ref(),
            cluster,
            &target,
            subject,
        )
    }))
    .await?;
    Ok(verify::merge_subject_checks(
        chains
            .iter()
            .map(|chain| verify::local_checks_after_add(&chain.facts))
            .collect(),
    ))
}
