//! One module per subcommand; each is thin orchestration over the
//! kubeconfig, aws, k8s, plan and store modules. The pieces they share
//! (when to apply, running a plan step by step) live here.

pub mod add;
pub mod list;
pub mod policy;
pub mod rm;
pub mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::aws::{self, KlankerClients, iam};
use crate::cli::{ApplyArgs, Cli, Command, GlobalArgs, KlankerArgs};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::output;
use crate::plan::{Op, Plan, Step};
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
) -> Result<(KlankerClients, SharedHttpClient), Error> {
    crate::trust::validate::region(&args.region, "--region")?;
    aws::check_profile_exists(&args.aws_profile, "--aws-profile").await?;
    let http = aws::http_client();
    let sdk = aws::load_config(
        Some(&args.aws_profile),
        &args.region,
        &http,
        global.timeout(),
    )
    .await;
    Ok((KlankerClients::new(&sdk, global.verbose), http))
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
        execute(plan, executor, rerun).await?;
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

/// Runs each changing step in order; on failure, says what was done, what
/// failed and what was not started.
pub async fn execute(
    plan: &Plan,
    executor: &Executor<'_>,
    rerun: &'static str,
) -> Result<(), Error> {
    let steps: Vec<&Step> = plan.changes().collect();
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
    let mut done = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            progress.finish();
            watcher.abort();
            return Err(Error::Interrupted {
                done,
                not_started: steps[index..].iter().map(|s| s.summary.clone()).collect(),
                rerun,
            });
        }
        progress.start(step.summary.clone());
        if executor.verbose {
            eprintln!("step {}/{}: {}", index + 1, steps.len(), step.summary);
        }
        let result = match &step.op {
            Some(op) => run_op(op, executor).await,
            None => Ok(()),
        };
        if let Err(cause) = result {
            progress.finish();
            watcher.abort();
            return Err(Error::Partial {
                done,
                failed: step.summary.clone(),
                not_started: steps[index + 1..]
                    .iter()
                    .map(|s| s.summary.clone())
                    .collect(),
                cause: Box::new(cause),
                rerun,
            });
        }
        done.push(step.summary.clone());
        progress.done();
    }
    progress.finish();
    watcher.abort();
    Ok(())
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
