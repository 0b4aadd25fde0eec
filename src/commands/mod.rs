//! One module per subcommand; each is thin orchestration over the
//! kubeconfig, aws, k8s, plan and store modules.

pub mod add;

use crate::cli::{Cli, Command};
use crate::error::Error;

pub async fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Add(args) => add::run(&cli.global, args).await,
    }
}
