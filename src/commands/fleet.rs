//! `add` over several clusters: the one-cluster unit (`add::prepare_in`,
//! then `add::apply`) run for each context, at most `--parallel` at a
//! time, on one `Env` (one credentials session, so each account's
//! credentials and each MFA device are asked once). Neither stage prints:
//! the caller shows one combined plan, asks once, and renders the summary.

use futures::StreamExt;

use super::add::{self, AddReport, Prepared};
use crate::apply;
use crate::cli::{AddArgs, AddOutput};
use crate::env::Env;
use crate::error::Error;
use crate::output::fleet::{ClusterResult, FleetProgress, Row};
use crate::output::{self, Out, Structured, prompt};
use crate::plan::quota::{BatchProviders, BatchRoles};
use crate::plan::{Op, Target};
use crate::resolve::fleet as select;

/// One context of the run, planned or not.
pub struct Member {
    pub context: String,
    pub prepared: Result<Prepared, Error>,
}

/// resolve → observe → plan for every context, `--parallel` at a time.
/// A context that cannot be planned does not stop the others; two that
/// would be onboarded under one name stop the run before any write.
pub async fn prepare(
    env: &Env,
    args: &AddArgs,
    contexts: Vec<String>,
) -> Result<Vec<Member>, Error> {
    let members: Vec<Member> = bounded(contexts, args.parallel, |context| async move {
        let prepared = add::prepare_in(env, args, Some(&context)).await;
        Member { context, prepared }
    })
    .await;
    let names: Vec<(String, String)> = members
        .iter()
        .filter_map(|m| {
            let name = &m.prepared.as_ref().ok()?.req.name;
            Some((m.context.clone(), name.clone()))
        })
        .collect();
    select::same_name(&names)?;
    Ok(members)
}

/// The planned clusters' new OIDC providers, by the account that would
/// hold them, judged together against its quota (`plan::quota::judge_batch`).
pub fn batch_providers(members: &[Member]) -> Vec<BatchProviders> {
    let mut batch: Vec<BatchProviders> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in members.iter().filter_map(|m| m.prepared.as_ref().ok()) {
        for step in &p.add.plan.steps {
            let Some(Op::CreateProvider { url, .. }) = &step.op else {
                continue;
            };
            let (account, read) = match step.target {
                Target::ClusterIam => (
                    p.add.cluster_account.clone(),
                    p.snapshot
                        .cluster_account
                        .as_ref()
                        .and_then(|c| c.provider_quota.clone()),
                ),
                _ => (
                    Some(p.add.account.clone()),
                    p.snapshot.provider_quota.clone(),
                ),
            };
            let (Some(account), Some(read)) = (account, read) else {
                continue;
            };
            // Two clusters of one issuer share its provider.
            let new = seen.insert((account.clone(), url.clone()));
            match batch.iter_mut().find(|b| b.account == account) {
                Some(b) => b.creating += usize::from(new),
                None => batch.push(BatchProviders {
                    account,
                    read,
                    creating: usize::from(new),
                }),
            }
        }
    }
    batch
}

/// The planned clusters' new roles, by the account that would hold them
/// (the klanker account's km-cluster-*, a cluster account's km-irsa-* or
/// km-podid-*), judged together against its roles quota
/// (`plan::quota::judge_batch_roles`).
pub fn batch_roles(members: &[Member]) -> Vec<BatchRoles> {
    let mut batch: Vec<BatchRoles> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in members.iter().filter_map(|m| m.prepared.as_ref().ok()) {
        let cluster = p.snapshot.cluster_account.as_ref();
        for step in &p.add.plan.steps {
            let Some(Op::CreateRole { name, .. }) = &step.op else {
                continue;
            };
            let (account, read) = match step.target {
                Target::ClusterIam => (
                    cluster.map(|c| c.identity.account.clone()),
                    cluster.and_then(|c| c.role_quota.clone()),
                ),
                _ => (
                    Some(p.snapshot.identity.account.clone()),
                    p.snapshot.role_quota.clone(),
                ),
            };
            let (Some(account), Some(read)) = (account, read) else {
                continue;
            };
            let new = usize::from(seen.insert((account.clone(), name.clone())));
            match batch.iter_mut().find(|b| b.account == account) {
                Some(b) => b.creating += new,
                None => batch.push(BatchRoles {
                    account,
                    read,
                    creating: new,
                }),
            }
        }
    }
    batch
}

/// apply → verify for every planned cluster, `--parallel` at a time, each
/// on its own line of `progress`. One cluster failing does not stop the
/// others; Ctrl-C stops each between steps. In the members' order.
pub async fn apply<P: apply::Progress>(
    env: &Env,
    members: &[Member],
    go: bool,
    parallel: u16,
    progress: impl Fn(&Prepared) -> P,
) -> Vec<Option<Result<AddReport, Error>>> {
    let progress = &progress;
    bounded(members, parallel, |member| async move {
        let prepared = member.prepared.as_ref().ok()?;
        // A cluster with nothing to change is not applied, as alone.
        let go = go && !prepared.add.plan.is_noop();
        Some(add::apply(env, prepared, go, &progress(prepared)).await)
    })
    .await
}

/// `work` on each item, at most `parallel` at once, the next started as
/// soon as any finishes (not held behind a slower one); the results in
/// the items' order.
pub(super) async fn bounded<T, R, Fut>(
    items: impl IntoIterator<Item = T>,
    parallel: u16,
    work: impl Fn(T) -> Fut,
) -> Vec<R>
where
    Fut: std::future::Future<Output = R>,
{
    let work = &work;
    let mut done: Vec<(usize, R)> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| async move { (i, work(item).await) })
        .buffer_unordered(usize::from(parallel))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// `add` over several clusters: every plan, one prompt, every apply, the
/// summary; exit 0 when every cluster succeeded, 3 when some did not,
/// 1 when none could be planned. `argv`: the arguments as given.
pub async fn run(env: &Env, args: &AddArgs, argv: &[String], o: &mut Out<'_>) -> Result<(), Error> {
    let kubeconfig = crate::kubeconfig::load(env.global.kubeconfig.as_deref())?;
    let contexts = select::contexts(args, &env.global, &kubeconfig)?;
    let members = prepare(env, args, contexts).await?;
    let format = match args.output {
        AddOutput::Json => Some(Structured::Json),
        AddOutput::Yaml => Some(Structured::Yaml),
        AddOutput::Text | AddOutput::Manifest => None,
    };
    // Each plan judged its own provider; the batch is judged whole, up front.
    let mut quota_warnings = crate::plan::quota::judge_batch(&batch_providers(&members))?;
    quota_warnings.extend(crate::plan::quota::judge_batch_roles(&batch_roles(
        &members,
    ))?);
    if format.is_none() {
        // Every account's identity, now that every cluster was planned.
        let acting_as = env.access.identities_line();
        show_plans(o, &members, &quota_warnings, &acting_as)?;
    }
    let planned = || members.iter().filter_map(|m| m.prepared.as_ref().ok());
    if planned().count() == 0 {
        return Err(none_planned(&members));
    }
    let noop = planned().all(|p| p.add.plan.is_noop());
    let confirm = prompt::Confirm::YesNo;
    let machine = format.is_some();
    let go = prompt::decide(&args.apply, noop, confirm, machine, o, &env.interrupt).await?;
    let progress = FleetProgress::new(env.verbose(), &env.interrupt);
    let reports = apply(env, &members, go, args.parallel, |p| {
        progress.cluster(&p.req.name, p.add.plan.changes().count())
    })
    .await;
    let rows: Vec<Row> = members
        .iter()
        .zip(reports)
        .map(|(member, report)| row(env, args, argv, member, report))
        .collect();
    output::fleet::summary(o, "FleetAddResult", &rows, format)?;
    outcome(&rows, "clusters", false)
}

/// Each cluster's plan, or why it has none, then the total.
fn show_plans(
    o: &mut Out<'_>,
    members: &[Member],
    warnings: &[String],
    acting_as: &str,
) -> Result<(), Error> {
    let plans: Vec<output::fleet::ClusterPlan<'_>> = members
        .iter()
        .map(|m| match &m.prepared {
            Ok(p) => output::fleet::ClusterPlan::Planned {
                req: &p.req,
                snapshot: &p.snapshot,
                add: &p.add,
                acting_as,
            },
            Err(e) => output::fleet::ClusterPlan::NotPlanned {
                context: &m.context,
                cause: cause(e),
            },
        })
        .collect();
    output::fleet::plans(o, &plans, warnings)
}

/// No context could be planned: nothing was changed. Bad input when
/// every cause is bad input (the same flags fail everywhere).
fn none_planned(members: &[Member]) -> Error {
    let members: Vec<(&str, Option<&Error>)> = members
        .iter()
        .map(|m| (m.context.as_str(), m.prepared.as_ref().err()))
        .collect();
    not_started(&members)
}

/// None of `members` (what, its error if it failed) could start: nothing
/// was changed. Bad input when every cause is (the same flags fail everywhere).
pub(super) fn not_started(members: &[(&str, Option<&Error>)]) -> Error {
    let causes: Vec<(String, String, u8)> = members
        .iter()
        .filter_map(|(what, e)| Some((what.to_string(), cause((*e)?), (*e)?.exit_code())))
        .collect();
    let bad_input = causes
        .iter()
        .all(|(.., code)| *code == crate::error::EXIT_BAD_INPUT);
    Error::FleetNotStarted {
        causes: causes
            .into_iter()
            .map(|(c, text, _)| format!("{c}: {text}"))
            .collect(),
        bad_input,
    }
}

/// One cluster's line of the summary.
fn row(
    env: &Env,
    args: &AddArgs,
    argv: &[String],
    member: &Member,
    report: Option<Result<AddReport, Error>>,
) -> Row {
    let failure = |result: ClusterResult, e: &Error| (result, Some(cause(e)), None);
    let (p, (result, error, report)) = match (&member.prepared, report) {
        (Err(e), _) => (None, failure(ClusterResult::Failed, e)),
        (Ok(p), None) => (Some(p), (ClusterResult::Failed, None, None)),
        (Ok(p), Some(Err(e))) => (Some(p), failure(failed(&e), &e)),
        (Ok(p), Some(Ok(report))) => (Some(p), applied(env, p, &report)),
    };
    Row {
        context: Some(member.context.clone()),
        name: p.map_or(&member.context, |p| &p.req.name).clone(),
        mode: p
            .map_or(args.mode, |p| p.req.mode.kind())
            .as_str()
            .to_string(),
        role: p.map_or("-", |p| p.req.role_name.as_str()).to_string(),
        converge: (!result.succeeded()).then(|| select::converge_command(argv, &member.context)),
        result,
        error,
        report,
    }
}

/// How an applied (or planned only) cluster ended, with its own document.
fn applied(
    env: &Env,
    p: &Prepared,
    report: &AddReport,
) -> (ClusterResult, Option<String>, Option<serde_json::Value>) {
    let done = output::add::Done {
        outcome: report.outcome.as_ref(),
        server: report.server.as_ref(),
        verification: report.verification.as_deref(),
        config_path: env.store.path(),
    };
    let document = Some(output::add::cluster_report(&p.req, &p.add, done));
    let broken = report
        .verification
        .as_deref()
        .and_then(|checks| Error::broken_chain(checks).err());
    match (broken, &report.outcome) {
        (Some(e), _) => (ClusterResult::Broken, Some(cause(&e)), document),
        (None, Some(_)) => (ClusterResult::Applied, None, document),
        (None, None) if p.add.plan.is_noop() => (ClusterResult::Unchanged, None, document),
        (None, None) => (ClusterResult::Planned, None, document),
    }
}

/// A cluster's failure while applying, by what it left behind.
pub(super) fn failed(e: &Error) -> ClusterResult {
    match e.exit_code() {
        crate::error::EXIT_PARTIAL => ClusterResult::FailedPartWay,
        crate::error::EXIT_INTERRUPTED => ClusterResult::Interrupted,
        _ => ClusterResult::Failed,
    }
}

/// An error as the user reads it, on one line, without the `error:` the
/// summary's line already stands for.
pub(super) fn cause(e: &Error) -> String {
    let text = crate::error::text(e, false);
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    // One line in the summary: the lines of a composite message joined.
    text.lines().collect::<Vec<_>>().join(" ")
}

/// The run's exit: 0 when every cluster succeeded; interrupted (130)
/// when Ctrl-C stopped any; 3 when some failed and anything was changed
/// (or, for `verify`, which changes nothing, when any failed); 1 when
/// nothing was.
/// `what`: what a row is (clusters, onboardings).
pub(super) fn outcome(
    rows: &[Row],
    what: &'static str,
    changes_nothing: bool,
) -> Result<(), Error> {
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.result.succeeded())
        .map(|r| r.name.clone())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let changed = rows.iter().any(|r| {
        matches!(
            r.result,
            ClusterResult::Applied
                | ClusterResult::Removed
                | ClusterResult::FailedPartWay
                | ClusterResult::Broken
        )
    });
    let interrupted = rows.iter().any(|r| r.result == ClusterResult::Interrupted);
    let code = match (interrupted, changed || changes_nothing) {
        (true, _) => crate::error::EXIT_INTERRUPTED,
        (false, true) => crate::error::EXIT_PARTIAL,
        (false, false) => crate::error::EXIT_FAILURE,
    };
    Err(Error::FleetIncomplete {
        failed,
        total: rows.len(),
        what,
        code,
    })
}
