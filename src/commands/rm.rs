//! `rm NAME`, as two stages a caller runs around its own prompt: `prepare`
//! (find what the onboarding created in IAM, km-config.yaml and the
//! cluster, and plan its removal) and `apply`. Never touches what the tool
//! did not create; what it cannot do now (the cluster is unreachable) stays
//! recorded, and `pending` says so with exit 3.

use crate::apply::{self, Live, Outcome, ServerDryRun};
use crate::aws::{KlankerClients, iam};
use crate::cli::RmArgs;
use crate::env::Env;
use crate::error::Error;
use crate::k8s::Cluster;
use crate::observe::rm::RmSnapshot;
use crate::plan::removal::{self, Removal};
use crate::resolve::rm::RmRequest;
use crate::{observe, resolve};

pub(crate) const RERUN: &str = "kubectl klanker-trust rm";

/// One onboarding's removal, planned and not yet applied.
pub struct Prepared<'a> {
    pub request: RmRequest<'a>,
    pub seen: RmSnapshot,
    pub removal: Removal,
    /// The removal's notes, then those about other roles claiming the name.
    pub notes: Vec<String>,
    /// Which identity each account acts as, for the plan's first line.
    pub acting_as: String,
    klanker: KlankerClients,
}

/// What applying did.
#[derive(Default)]
pub struct RmReport {
    pub applied: bool,
    pub outcome: Outcome,
    /// `--dry-run=server`: what the API server accepted.
    pub server: Option<ServerDryRun>,
}

/// resolve → observe → plan. A name onboarded nowhere is kubectl delete's
/// NotFound, unless --ignore-not-found; anything left of a half-removed
/// onboarding is still found and planned.
pub async fn prepare<'a>(
    env: &'a Env,
    args: &'a RmArgs,
    name: &'a str,
) -> Result<Prepared<'a>, Error> {
    let config = env.store.load()?;
    // Its entry is removed (or marked) at the end: a doubled name anywhere
    // would refuse that write after the rest was removed.
    let writes = config.get(name).is_some();
    config.refuse_ambiguous(env.store.path(), name, writes)?;
    let request = resolve::rm::request(&env.global, args, name, config)?;
    let (klanker, hint) = observe::klanker_clients(env, &request.klanker).await?;
    let seen = observe::rm::observe(&request, &klanker, &env.access, hint, &env.store).await?;
    let observed = &seen.observed;
    if removal::onboarded_nowhere(observed) && !request.ignore_not_found {
        return Err(observe::not_onboarded(
            "rm",
            request.name,
            vec![
                format!(
                    "the IAM roles and OIDC providers of klanker account {}",
                    seen.account
                ),
                format!("{}", env.store.path().display()),
                removal::cluster_looked_at(&observed.cluster, seen.context.as_deref()),
            ],
            &seen.roles,
            &request.config,
        ));
    }
    let removal = removal::plan_removal(observed)?;
    let mut notes = removal.notes.clone();
    notes.extend(seen.located_notes.iter().cloned());
    Ok(Prepared {
        acting_as: env.access.identities_line(),
        request,
        seen,
        removal,
        notes,
        klanker,
    })
}

/// `--dry-run=server` sends the cluster's removals as dry runs; `go` (the
/// caller's decision) removes, drawn on `progress`.
pub async fn apply(
    env: &Env,
    prepared: &Prepared<'_>,
    go: bool,
    progress: &impl apply::Progress,
) -> Result<RmReport, Error> {
    let Prepared { request, seen, .. } = prepared;
    let plan = &prepared.removal.plan;
    let cluster = seen
        .kube_client
        .as_ref()
        .map(|client| Cluster::new(client, request.verbose));
    let live = Live {
        iam: &prepared.klanker.iam,
        cluster_account: seen.cluster_account.as_ref(),
        cluster: cluster.as_ref(),
        store: &env.store,
    };
    let mut report = RmReport::default();
    if request.apply.server_dry_run() && !plan.is_noop() {
        report.server = Some(apply::server_dry_run(plan, &live).await?);
    }
    if !go {
        return Ok(report);
    }
    // A fresh read after the prompt, before the first write of either
    // chain (the cluster chain runs beside the IAM one): the role must
    // still be NAME's. Each IAM removal step re-checks again.
    let observed = &seen.observed;
    if let Some(role) = &observed.role {
        iam::check_role_of(&prepared.klanker.iam, &role.role_name, request.name).await?;
    }
    if let (Some(role), Some(clients)) = (&observed.cluster_role, &seen.cluster_account) {
        iam::check_role_of(&clients.iam, &role.role_name, request.name).await?;
    }
    report.applied = true;
    report.outcome = apply::execute(plan, &live, RERUN, (progress, &env.interrupt), &[]).await?;
    Ok(report)
}

/// The cluster part is left: exit 3, once this run has done what it could
/// (a dry run that still has changes to show is only a plan).
pub fn pending(env: &Env, prepared: &Prepared<'_>, report: &RmReport) -> Result<(), Error> {
    let removal = &prepared.removal;
    match (&removal.unfinished, prepared.seen.unread.clone()) {
        (Some(unfinished), Some(cause)) if report.applied || removal.plan.is_noop() => {
            Err(Error::RemovalPending {
                name: prepared.request.name.to_string(),
                cause,
                kept: unfinished
                    .entry_kept
                    .then(|| env.store.path().to_path_buf()),
            })
        }
        _ => Ok(()),
    }
}
