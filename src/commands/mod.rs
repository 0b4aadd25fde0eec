//! One module per subcommand; each is thin orchestration over the
//! kubeconfig, aws, k8s, plan and store modules. The pieces they share
//! (when to apply, running a plan step by step) live here.

pub mod add;
pub mod list;
pub mod policy;
pub mod rm;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::error::Error;

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
