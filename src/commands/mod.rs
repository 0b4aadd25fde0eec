//! One module per subcommand. Each `run` is the same five stages in order:
//! resolve (pure, `resolve/`), observe (I/O, `observe/`), plan (pure,
//! `plan/`), apply (`apply.rs`), render (`output/`).

pub mod add;
pub mod audit;
pub mod describe;
pub mod list;
pub mod policy;
pub mod rm;
pub mod verify;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::Error;

pub async fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Add(args) => add::run(&cli.global, args).await,
        Command::List(args) => list::run(&cli.global, args).await,
        Command::Rm(args) => rm::run(&cli.global, args).await,
        Command::Verify(args) => verify::run(&cli.global, args).await,
        Command::Describe(args) => describe::run(&cli.global, args).await,
        Command::Audit(args) => audit::run(&cli.global, args).await,
        Command::Policy(args) => policy::run(&cli.global, args).await,
        Command::Completion(args) => {
            crate::output::text(&crate::complete::script(args.shell));
            Ok(())
        }
        Command::Version => {
            crate::output::version();
            Ok(())
        }
    }
}

/// The run's AWS access: one HTTP client and one credentials session.
pub fn aws_access(global: &GlobalArgs) -> crate::aws::Access {
    crate::aws::Access::new(
        global.mfa_code.clone(),
        global.timeout(),
        global.verbose,
        crate::output::interactive(),
    )
}
