use std::process::ExitCode;

use clap::Parser;
use kubectl_klanker_trust::{cli::Cli, commands, error};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.global.verbose;
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error::render(&err, verbose);
            ExitCode::from(err.exit_code())
        }
    }
}
