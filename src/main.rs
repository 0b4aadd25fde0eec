use std::io::Write;
use std::process::ExitCode;

use kubectl_klanker_trust::{apply, cli::Cli, commands, complete, logging, output};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    // A prompt cut off by Ctrl-C leaves its thread blocked on the terminal:
    // exit without waiting for it.
    runtime.shutdown_background();
    code
}

async fn run() -> ExitCode {
    // kubectl's plugin completion calls `__complete WORDS...`; answered before
    // clap so the partial words are never parsed as our own flags.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__complete") {
        let words = &args[1..];
        let sources = complete::LocalSources::load(words).await;
        let answer = complete::complete(words, &sources).render();
        // kubectl reads the answer whole; a shell that stopped reading
        // wants nothing more.
        let _ = write!(std::io::stdout().lock(), "{answer}");
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse_env();
    let verbose = cli.global.verbose;
    logging::init(verbose);
    // One Ctrl-C watcher for the whole run, listening before anything starts.
    let interrupt = apply::Interrupt::new();
    let _watcher = apply::interrupt::watch(&interrupt, leave_interrupted);
    // Boxed: the commands' futures nest deeper than the compiler lays out
    // inline in this one.
    match Box::pin(commands::run(cli, &interrupt)).await {
        Ok(()) => ExitCode::SUCCESS,
        // The reader left (`list | head -1`): quietly, as git and kubectl.
        Err(err) if output::reader_left(&err) => ExitCode::from(output::EXIT_READER_LEFT),
        Err(err) => {
            output::error(&mut std::io::stderr().lock(), &err, verbose);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Ctrl-C with nothing to stop between steps, or pressed twice: leave at
/// once, with the shell's code for it.
fn leave_interrupted() -> ! {
    std::process::exit(i32::from(kubectl_klanker_trust::error::EXIT_INTERRUPTED))
}
