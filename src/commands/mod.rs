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

use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::aws::{self, Identity, KlankerClients, iam};
use crate::cli::{ApplyArgs, Cli, Command, GlobalArgs, KlankerArgs};
use crate::error::Error;
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
        Command::Policy(args) => policy::run(&cli.global, args),
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
/// after checking both locally. Returns the shared HTTP client too, for a
/// second account's config.
pub async fn klanker_clients(
    global: &GlobalArgs,
    args: &KlankerArgs,
) -> Result<(KlankerClients, SharedHttpClient, Option<Identity>), Error> {
    crate::trust::validate::region(&args.region, "--region")?;
    let hint = aws::check_profile(&args.aws_profile, "--aws-profile").await?;
    let http = aws::http_client();
    let sdk = aws::load_config(
        Some(&args.aws_profile),
        &args.region,
        &http,
        global.timeout(),
    )
    .await;
    Ok((KlankerClients::new(&sdk, global.verbose), http, hint))
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

/// Decides (flags, prompt) and, if so, applies the plan. Returns whether it applied.
pub async fn confirm_and_apply(
    args: &ApplyArgs,
    plan: &Plan,
    executor: &Executor<'_>,
    rerun: &'static str,
) -> Result<bool, Error> {
    let apply = decide(args, plan)?;
    if apply {
        execute(plan, executor, rerun, async {}).await?;
    }
    Ok(apply)
}

/// What steps act on; built once by the command and passed in.
pub struct Executor<'a> {
    pub klanker: &'a KlankerClients,
    pub cluster: Option<&'a Cluster<'a>>,
    pub store: &'a Store,
    pub verbose: bool,
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
            run_op(op, executor)
                .await
                .map_err(|e| Stop::Failed(step.summary.clone(), e))?;
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

async fn run_op(op: &Op, executor: &Executor<'_>) -> Result<(), Error> {
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
        } => {
            cluster()?
                .apply_service_account(&k8s::service_account(namespace, name, annotations, labels))
                .await?
        }
        Op::DeleteServiceAccount { namespace, name } => {
            cluster()?.delete_service_account(namespace, name).await?
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
            iam::apply(&executor.klanker.iam, iam_op).await?;
        }
    }
    Ok(())
}
