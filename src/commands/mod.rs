//! One module per subcommand. Each is the five stages in order: resolve
//! (`resolve/`), observe (`observe/`), plan (`plan/`), apply (`apply/`),
//! and returns what happened; this dispatcher builds the run's `Env` once,
//! renders (`output/`), and asks at the prompt between plan and apply.

pub mod add;
pub mod describe;
pub mod list;
pub mod policy;
pub mod rm;
pub mod verify;

use crate::cli::{AddArgs, Cli, Command};
use crate::env::Env;
use crate::error::Error;
use crate::output::{self, prompt};

pub async fn run(cli: Cli) -> Result<(), Error> {
    let env = || Env::new(&cli.global, output::interactive());
    match &cli.command {
        Command::Add(args) => add(&env()?, args).await,
        Command::List(args) => list::run(&env()?, args).await,
        Command::Rm(args) => rm::run(&env()?, args).await,
        Command::Verify(args) => verify::run(&env()?, args).await,
        Command::Describe(args) => describe::run(&env()?, args).await,
        Command::Policy(args) => policy::run(&env()?, args).await,
        Command::Completion(args) => {
            output::text(&crate::complete::script(args.shell));
            Ok(())
        }
        Command::Version => {
            output::version();
            Ok(())
        }
    }
}

/// `add`: plan, show it, ask (or not), apply, report.
async fn add(env: &Env, args: &AddArgs) -> Result<(), Error> {
    let prepared = add::prepare(env, args).await?;
    let (req, planned) = (&prepared.req, &prepared.add);
    output::add::plan(req, &prepared.snapshot, planned, &prepared.acting_as);
    let go = prompt::decide(&req.apply, &planned.plan, prompt::Confirm::YesNo).await?;
    let progress = output::Progress::new(planned.plan.changes().count(), env.verbose());
    let report = add::apply(env, &prepared, go, &progress).await?;
    let done = output::add::Done {
        outcome: report.outcome.as_ref(),
        server: report.server.as_ref(),
        verification: report.verification.as_deref(),
        config_path: env.store.path(),
    };
    output::add::result(req, planned, done)?;
    report
        .verification
        .map_or(Ok(()), |checks| Error::broken_chain(&checks))
}
