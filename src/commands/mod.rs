//! One module per subcommand; each is thin orchestration over the
//! kubeconfig, aws, k8s, plan and store modules. The pieces they share
//! (when to apply, running a plan step by step) live here.

pub mod add;
pub mod issuer;
pub mod list;
pub mod policy;
pub mod rm;
pub mod verify;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::collections::BTreeSet;

use crate::aws::{self, Identity, KlankerClients, iam};
use crate::cli::{ApplyArgs, Cli, Command, GlobalArgs, KlankerArgs};
use crate::error::Error;
use crate::inventory::{self, RoleSummary};
use crate::k8s::{self, Cluster};
use crate::output;
use crate::plan::{Op, Plan, Step, Target};
use crate::store::Store;

pub async fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Add(args) => add::run(&cli.global, args).await,
        Command::List(args) => list::run(&cli.global, args).await,
        Command::Rm(args) => rm::run(&cli.global, args).await,
        Command::Verify(args) => verify::run(&cli.global, args).await,
        Command::Policy(args) => policy::run(&cli.global, args).await,
        Command::Completion(args) => {
            print!("{}", crate::complete::script(args.shell));
            Ok(())
        }
        Command::Version => {
            println!(
                "kubectl-klanker_trust {} (commit {}, target {})",
                env!("CARGO_PKG_VERSION"),
                env!("KLANKER_GIT_COMMIT"),
                env!("KLANKER_TARGET")
            );
            Ok(())
        }
    }
}

/// Apply or not: an explicit --dry-run wins; --dry-run=false or --yes
/// applies; otherwise ask on a terminal, and only plan without one.
pub fn decide(args: &ApplyArgs, plan: &Plan) -> Result<bool, Error> {
    if plan.is_noop() {
        return Ok(false);
    }
    match (args.dry_run, args.yes) {
        (Some(true), _) => Ok(false),
        (Some(false), _) | (None, true) => Ok(true),
        (None, false) if output::interactive() => {
            if output::confirm("Apply these changes?")? {
                Ok(true)
            } else {
                Err(Error::Aborted)
            }
        }
        (None, false) => {
            eprintln!(
                "stdin is not a terminal: planning only. Pass --dry-run=false or --yes to apply."
            );
            Ok(false)
        }
    }
}

/// The klanker account's clients, built once from `--aws-profile`/`--region`
/// after checking both locally. Returns the run's AWS access too (HTTP
/// client and credentials session), for a second account's config.
pub async fn klanker_clients(
    global: &GlobalArgs,
    args: &KlankerArgs,
) -> Result<(KlankerClients, aws::Access, Option<Identity>), Error> {
    crate::trust::validate::region(&args.region, "--region")?;
    let hint = aws::check_profile(&args.aws_profile, "--aws-profile").await?;
    let access = global.aws_access();
    let sdk = aws::load_config(
        Some(&args.aws_profile),
        &args.region,
        &access,
        aws::Side::Klanker,
    )
    .await?;
    Ok((KlankerClients::new(&sdk, global.verbose), access, hint))
}

/// The klanker account: from the profile's configuration when it names it
/// (no round trip), else from STS GetCallerIdentity.
pub async fn klanker_identity(
    klanker: &KlankerClients,
    hint: Option<Identity>,
) -> Result<Identity, Error> {
    match hint {
        Some(identity) => Ok(identity),
        None => {
            let (account, arn) = iam::caller_identity(&klanker.sts).await?;
            Ok(Identity {
                partition: crate::trust::arn::partition_of(&arn).to_string(),
                account,
            })
        }
    }
}

/// Role lookups in flight at once when reading candidates' tags.
const ROLE_LOOKUPS: usize = 8;

/// The tags of the named roles (ListRoles does not return tags), read fresh
/// with GetRole, a few at a time. A role gone meanwhile is skipped.
pub async fn tagged_roles(
    klanker: &KlankerClients,
    roles: &[RoleSummary],
    names: &BTreeSet<String>,
) -> Result<Vec<(RoleSummary, inventory::Tags)>, Error> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let found: Vec<Option<(RoleSummary, inventory::Tags)>> =
        stream::iter(roles.iter().filter(|r| names.contains(&r.role_name)))
            .map(|summary| async move {
                iam::get_role(&klanker.iam, &summary.role_name)
                    .await
                    .map(|role| {
                        role.map(|role| {
                            // The fresh read wins over the listing.
                            let mut summary = summary.clone();
                            summary.trust_policy = role.trust_policy;
                            summary.description = role.description;
                            (summary, role.tags)
                        })
                    })
            })
            .buffered(ROLE_LOOKUPS)
            .try_collect()
            .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The role onboarding `name` owns, picked on proof (its tags), and what
/// else claims the name.
pub struct Located {
    pub onboarding: Option<inventory::Onboarding>,
    /// The proven role, else the one to expect (km-config.yaml's or the default).
    pub role_name: String,
    pub picked: inventory::Picked,
}

impl Located {
    /// What the user should know about other roles claiming the name.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(role), false) = (&self.picked.role, self.picked.duplicates.is_empty()) {
            notes.push(format!(
                "drift: the tags of {} also claim this name; {role} is the one used (see `list`).",
                self.picked.duplicates.join(", ")
            ));
        }
        for r in &self.picked.look_alikes {
            notes.push(format!(
                "role {r} has a look-alike description but its tags do not prove this onboarding: it is ignored and left alone."
            ));
        }
        notes
    }
}

/// Reads the tags of the roles that may be `name`'s and picks the one they prove.
pub async fn locate(
    klanker: &KlankerClients,
    name: &str,
    roles: &[RoleSummary],
    entry: Option<&crate::store::ClusterEntry>,
) -> Result<Located, Error> {
    let candidates: BTreeSet<String> = inventory::candidates(name, roles, entry)
        .into_iter()
        .collect();
    let tagged = tagged_roles(klanker, roles, &candidates).await?;
    let picked = inventory::pick(name, &tagged, entry);
    let onboarding = picked.role.as_ref().and_then(|role| {
        tagged
            .iter()
            .find(|(r, _)| &r.role_name == role)
            .and_then(|(r, tags)| inventory::proven_onboarding(r, tags))
    });
    Ok(Located {
        role_name: picked
            .role
            .clone()
            .unwrap_or_else(|| inventory::expected_role_name(name, entry)),
        onboarding,
        picked,
    })
}

/// The kubeconfig context to act on for onboarding `name`: one that points
/// at the cluster its role recorded (never another cluster), or, for
/// onboardings that recorded none, `--context` or the current context.
pub fn context_for(
    kubeconfig: &kube::config::Kubeconfig,
    name: &str,
    onboarding: Option<&inventory::Onboarding>,
    explicit: Option<&str>,
) -> Result<Option<String>, Error> {
    let recorded = onboarding.and_then(|o| o.cluster.as_deref());
    let pointing = match recorded {
        Some(cluster) => crate::kubeconfig::contexts_for(
            kubeconfig,
            cluster,
            onboarding.and_then(|o| o.server.as_deref()),
        ),
        None => Vec::new(),
    };
    Ok(crate::plan::guard::choose_context(
        name,
        recorded,
        explicit,
        kubeconfig
            .current_context
            .as_deref()
            .filter(|c| !c.is_empty()),
        &pointing,
    )?)
}

/// Stops before any write when the klanker profile is not in the klanker
/// account: `--klanker-account`, km-config.yaml's `klanker_account`, and
/// never the cluster's own account.
pub fn guard_account(
    args: &KlankerArgs,
    identity: &Identity,
    store: &Store,
    cluster_account: Option<&str>,
) -> Result<(), Error> {
    if let Some(id) = &args.klanker_account {
        crate::trust::arn::parse_account(id, "--klanker-account")?;
    }
    let recorded = store.load()?.klanker_account();
    crate::plan::guard::check_klanker_account(
        &args.aws_profile,
        &identity.account,
        &crate::plan::guard::ExpectedAccount {
            flag: args.klanker_account.as_deref(),
            recorded: recorded.as_deref(),
        },
        cluster_account,
    )?;
    Ok(())
}

/// What steps act on; built once by the command and passed in.
pub struct Executor<'a> {
    pub klanker: &'a KlankerClients,
    pub cluster: Option<&'a Cluster<'a>>,
    pub store: &'a Store,
    pub verbose: bool,
    /// Steps a fresh re-check turned into no-ops: `(step summary, why)`.
    pub skipped: Mutex<Vec<(String, String)>>,
}

impl<'a> Executor<'a> {
    pub fn new(
        klanker: &'a KlankerClients,
        cluster: Option<&'a Cluster<'a>>,
        store: &'a Store,
        verbose: bool,
    ) -> Self {
        Self {
            klanker,
            cluster,
            store,
            verbose,
            skipped: Mutex::new(Vec::new()),
        }
    }

    /// The skipped steps so far.
    pub fn skipped(&self) -> Vec<(String, String)> {
        lock(&self.skipped).clone()
    }
}

/// Runs the changing steps. The IAM chain (provider, role, policies) and the
/// cluster chain (namespace, ServiceAccount) depend on nothing of each
/// other (the role ARN is known before anything exists), so they run side by
/// side, each in order; `after_cluster` runs once the cluster chain is done
/// (add requests its verification token there); the local file comes last.
/// On failure or Ctrl-C it says what was done, what failed and what was not
/// started.
pub async fn execute<T>(
    plan: &Plan,
    executor: &Executor<'_>,
    rerun: &'static str,
    after_cluster: impl Future<Output = T>,
) -> Result<T, Error> {
    let steps: Vec<&Step> = plan.changes().collect();
    let chain = |target: Target| -> Vec<&Step> {
        steps
            .iter()
            .copied()
            .filter(|s| s.target == target)
            .collect()
    };
    let progress = output::Progress::new(steps.len());
    // Ctrl-C stops between steps, so no step is left half-sent; a second one aborts at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let interrupted = interrupted.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ninterrupted: finishing the current step, then stopping (Ctrl-C again aborts at once)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(crate::error::EXIT_INTERRUPTED));
                }
            }
        }
    });
    if let Err(cause) = preflight(&steps, executor).await {
        progress.finish();
        watcher.abort();
        return Err(cause);
    }
    let done = Mutex::new(Vec::new());
    let run = |steps| run_chain(steps, executor, &done, &interrupted, &progress);
    let (iam, cluster) = tokio::join!(run(chain(Target::Iam)), async {
        run(chain(Target::Cluster)).await?;
        Ok(after_cluster.await)
    });
    let result = match (iam, cluster) {
        (Ok(()), Ok(value)) => run(chain(Target::Local)).await.map(|()| value),
        (Err(stop), _) | (_, Err(stop)) => Err(stop),
    };
    progress.finish();
    watcher.abort();
    // Reported in plan order, whichever chain finished first.
    let finished = lock(&done).clone();
    let done: Vec<String> = steps
        .iter()
        .map(|s| s.summary.clone())
        .filter(|s| finished.contains(s))
        .collect();
    let not_started = |failed: Option<&str>| -> Vec<String> {
        steps
            .iter()
            .map(|s| s.summary.clone())
            .filter(|s| !done.contains(s) && Some(s.as_str()) != failed)
            .collect()
    };
    match result {
        Ok(value) => Ok(value),
        Err(Stop::Interrupted) => Err(Error::Interrupted {
            not_started: not_started(None),
            done,
            rerun,
        }),
        Err(Stop::Failed(failed, cause)) => Err(Error::Partial {
            not_started: not_started(Some(&failed)),
            done,
            failed,
            cause: Box::new(cause),
            rerun,
        }),
    }
}

/// Every cluster write, sent first as a server-side dry run (`dryRun=All`):
/// the API server authorizes (RBAC) and admits it exactly as the real one,
/// so a missing permission or a rejected object stops the command before
/// anything, in IAM or in the cluster, is written. A ServiceAccount in a
/// namespace this plan creates is skipped: a dry run creates no namespace.
async fn preflight(steps: &[&Step], executor: &Executor<'_>) -> Result<(), Error> {
    let Some(cluster) = executor.cluster else {
        return Ok(());
    };
    let dry = Cluster {
        dry_run: true,
        ..*cluster
    };
    let dry_executor = Executor::new(
        executor.klanker,
        Some(&dry),
        executor.store,
        executor.verbose,
    );
    let created: Vec<&str> = steps
        .iter()
        .filter_map(|s| match &s.op {
            Some(Op::CreateNamespace { name }) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    for step in steps.iter().filter(|s| s.target == Target::Cluster) {
        let in_new_namespace = match &step.op {
            Some(Op::ApplyServiceAccount { namespace, .. }) => {
                created.contains(&namespace.as_str())
            }
            _ => false,
        };
        if let (Some(op), false) = (&step.op, in_new_namespace) {
            run_op(op, &dry_executor).await?;
        }
    }
    Ok(())
}

/// One chain of steps, in order, stopping at a failure or a Ctrl-C.
async fn run_chain(
    chain: Vec<&Step>,
    executor: &Executor<'_>,
    done: &Mutex<Vec<String>>,
    interrupted: &AtomicBool,
    progress: &output::Progress,
) -> Result<(), Stop> {
    for step in chain {
        if interrupted.load(Ordering::SeqCst) {
            return Err(Stop::Interrupted);
        }
        progress.start(step.summary.clone());
        if executor.verbose {
            eprintln!("step: {}", step.summary);
        }
        if let Some(op) = &step.op {
            let note = run_op(op, executor)
                .await
                .map_err(|e| Stop::Failed(step.summary.clone(), e))?;
            // A step the executor's fresh re-check turned into a no-op says so.
            if let Some(note) = note {
                eprintln!("note: {note}");
                lock(&executor.skipped).push((step.summary.clone(), note));
            }
        }
        lock(done).push(step.summary.clone());
        progress.done();
    }
    Ok(())
}

/// Why a chain stopped.
enum Stop {
    Interrupted,
    Failed(String, Error),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn run_op(op: &Op, executor: &Executor<'_>) -> Result<Option<String>, Error> {
    let cluster = || {
        executor.cluster.ok_or_else(|| {
            Error::Kube(k8s::KubeError::Unreachable {
                action: "a cluster step".into(),
                message: "no cluster client was set up".into(),
            })
        })
    };
    match op {
        Op::CreateNamespace { name } => cluster()?.create_namespace(name).await?,
        Op::ApplyServiceAccount {
            namespace,
            name,
            annotations,
            labels,
            force,
        } => {
            cluster()?
                .apply_service_account(
                    &k8s::service_account(namespace, name, annotations, labels),
                    *force,
                )
                .await?
        }
        Op::ReleaseServiceAccount { namespace, name } => {
            cluster()?.release_service_account(namespace, name).await?
        }
        Op::DeleteServiceAccount {
            namespace,
            name,
            role_arn,
        } => {
            return Ok(cluster()?
                .delete_service_account_if_ours(namespace, name, role_arn)
                .await?);
        }
        Op::WriteConfigEntry { entry } => {
            executor.store.update(|doc| doc.upsert(entry))?;
        }
        Op::RemoveConfigEntry { name } => {
            executor.store.update(|doc| {
                doc.remove(name);
            })?;
        }
        iam_op => {
            if let iam::Applied::Skipped(why) = iam::apply(&executor.klanker.iam, iam_op).await? {
                return Ok(Some(why));
            }
        }
    }
    Ok(None)
}

/// The error for a NAME onboarded nowhere: what was searched and which
/// names are onboarded (from the roles and km-config.yaml).
pub fn not_onboarded(
    command: &'static str,
    name: &str,
    looked_at: Vec<String>,
    roles: &[crate::inventory::RoleSummary],
    config: &crate::store::Document,
) -> Error {
    let mut onboarded: Vec<String> = roles
        .iter()
        .filter_map(crate::inventory::onboarding)
        .map(|o| o.name)
        .chain(
            config
                .clusters()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.name),
        )
        .collect();
    onboarded.sort();
    onboarded.dedup();
    Error::NotOnboarded {
        command,
        name: name.to_string(),
        looked_at,
        suggestion: crate::error::did_you_mean(name, &onboarded).map(str::to_string),
        onboarded,
    }
}
