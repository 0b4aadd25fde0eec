//! One module per subcommand. Each is the five stages in order: resolve
//! (`resolve/`), observe (`observe/`), plan (`plan/`), apply (`apply/`),
//! and returns what happened; this dispatcher builds the run's `Env` and
//! its writers once, renders (`output/`), and asks at the prompt between
//! plan and apply.

pub mod add;
pub mod audit;
pub mod describe;
pub mod fleet;
pub mod list;
pub mod many;
pub mod policy;
pub mod rm;
pub mod verify;

use crate::apply::Interrupt;
use crate::cli::{
    AddArgs, AuditArgs, Cli, Command, DescribeArgs, ListArgs, PolicyArgs, ReportOutput, RmArgs,
    VerifyArgs,
};
use crate::env::Env;
use crate::error::Error;
use crate::output::{self, Out, prompt};

/// Runs the command, its output on stdout and stderr. `interrupt`: the
/// process's one Ctrl-C, watched from the start (`main`).
pub async fn run(cli: Cli, interrupt: &Interrupt) -> Result<(), Error> {
    // Stdout is ours alone for the run: locked once. Stderr is not: the
    // logger, the progress bar and the prompt write to it too, from other
    // threads, so each write takes its lock for that line only.
    let stdout = std::io::stdout();
    let (mut stdout, mut stderr) = (stdout.lock(), std::io::stderr());
    let mut o = Out::for_stdout(&mut stdout, &mut stderr);
    dispatch(&cli, &mut o, interrupt).await?;
    o.flush()
}

async fn dispatch(cli: &Cli, o: &mut Out<'_>, interrupt: &Interrupt) -> Result<(), Error> {
    let env = || Env::new(&cli.global, output::interactive(), interrupt);
    if !matches!(cli.command, Command::Add(_)) {
        crate::resolve::fleet::one_context(&cli.global, cli.command.name())?;
    }
    match &cli.command {
        // Boxed: the fleet's future nests every cluster's, too deep to
        // lay out inline in `main`'s.
        Command::Add(args) if args.is_fleet(&cli.global) => {
            Box::pin(fleet::run(&env()?.for_fleet(), args, &cli.argv, o)).await
        }
        Command::Add(args) => add(&env()?, args, o).await,
        Command::List(args) => list(&env()?, args, o).await,
        Command::Rm(args) if args.names.len() > 1 => {
            Box::pin(many::rm(&env()?.for_fleet(), args, o)).await
        }
        Command::Rm(args) => rm(&env()?, args, o).await,
        Command::Verify(args) if args.all || args.names.len() > 1 => {
            Box::pin(many::verify(&env()?.for_fleet(), args, o)).await
        }
        Command::Verify(args) => verify(&env()?, args, o).await,
        Command::Describe(args) => describe(&env()?, args, o).await,
        Command::Audit(args) => audit(&env()?, args, o).await,
        Command::Policy(args) => policy(&env()?, args, o).await,
        Command::Completion(args) => output::text(o, &crate::complete::script(args.shell)),
        Command::Version => output::version(o),
    }
}

/// A result that could not be written once changes were applied: they
/// stay, so the error must not say that nothing was changed.
fn after_changes(applied: bool, rerun: &'static str) -> impl FnOnce(Error) -> Error {
    move |cause| match applied {
        true => Error::AfterChanges {
            cause: Box::new(cause),
            rerun,
        },
        false => cause,
    }
}

/// `add`: plan, show it, ask (or not), apply, report.
async fn add(env: &Env, args: &AddArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let prepared = add::prepare_in(env, args, env.global.context()).await?;
    let (req, planned) = (&prepared.req, &prepared.add);
    let heading = (prepared.acting_as.as_str(), false);
    output::add::plan(o, req, &prepared.snapshot, planned, heading)?;
    let machine = matches!(
        req.output,
        crate::cli::AddOutput::Json | crate::cli::AddOutput::Yaml
    );
    let confirm = prompt::Confirm::YesNo;
    let go = prompt::decide(
        &req.apply,
        planned.plan.is_noop(),
        confirm,
        machine,
        o,
        &env.interrupt,
    )
    .await?;
    let progress = output::Progress::new(
        planned.plan.changes().count(),
        env.verbose(),
        &env.interrupt,
    );
    let report = add::apply(env, &prepared, go, &progress).await?;
    let done = output::add::Done {
        outcome: report.outcome.as_ref(),
        server: report.server.as_ref(),
        verification: report.verification.as_deref(),
        config_path: env.store.path(),
    };
    output::add::result(o, req, planned, done)
        .map_err(after_changes(report.outcome.is_some(), add::RERUN))?;
    report
        .verification
        .map_or(Ok(()), |checks| Error::broken_chain(&checks))
}

/// `rm`: plan, show it, ask for the name (or not), remove, report.
async fn rm(env: &Env, args: &RmArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let name = args.names.first().map_or("", String::as_str);
    let prepared = rm::prepare(env, args, name).await?;
    let (request, removal) = (&prepared.request, &prepared.removal);
    if request.output == ReportOutput::Text {
        let account = &prepared.seen.account;
        let acting_as = &prepared.acting_as;
        output::rm::plan(
            o,
            acting_as,
            request.name,
            account,
            removal,
            &prepared.notes,
        )?;
    }
    let confirm = prompt::Confirm::TypeName(request.name);
    let machine = request.output != ReportOutput::Text;
    let go = prompt::decide(
        request.apply,
        removal.plan.is_noop(),
        confirm,
        machine,
        o,
        &env.interrupt,
    )
    .await?;
    let progress = output::Progress::new(
        removal.plan.changes().count(),
        env.verbose(),
        &env.interrupt,
    );
    let report = rm::apply(env, &prepared, go, &progress).await?;
    if let Some(server) = &report.server {
        output::rm::server_dry_run(o, request.output, server, &removal.plan)?;
    }
    let outcome = output::rm::RmOutcome {
        name: request.name,
        role_arn: &prepared.seen.observed.role_arn,
        removal,
        notes: &prepared.notes,
        applied: report.applied,
        skipped: report.outcome.skipped_steps(&removal.plan),
    };
    output::rm::result(o, request.output, &outcome)
        .map_err(after_changes(report.applied, rm::RERUN))?;
    rm::pending(env, &prepared, &report)
}

/// `list`: the onboardings, as a table or a document.
async fn list(env: &Env, args: &ListArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let (request, report) = list::run(env, args).await?;
    let shape = output::list::Shape {
        format: request.output,
        headers: !request.no_headers,
    };
    let current = request.current.as_deref();
    match report {
        list::ListReport::Local {
            entries,
            pending,
            drift,
        } => {
            let path = env.store.path();
            output::list::local(o, path, &entries, &pending, &drift, current, shape)
        }
        list::ListReport::Live(listing) => output::list::listing(o, &listing, shape),
    }
}

/// `describe`: one onboarding's live state.
async fn describe(env: &Env, args: &DescribeArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let report = describe::run(env, args).await?;
    let description =
        output::describe::description(&report.name, &report.found, &report.seen, report.drift);
    output::describe::report(o, &description, args.output)
}

/// `verify`: each link's verdict; exit 4 when one is broken.
async fn verify(env: &Env, args: &VerifyArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let report = verify::run(env, args, args.names.first().map(String::as_str)).await?;
    let request = &report.request;
    output::verify::report(
        o,
        &request.name,
        &report.role_arn,
        &report.checks,
        request.output,
    )?;
    Error::broken_chain(&report.checks)
}

/// `policy`: the documents asked for.
async fn policy(env: &Env, args: &PolicyArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let report = policy::run(env, args).await?;
    if let Some(doc) = &report.audit {
        return output::policy::audit(o, doc, args.output);
    }
    let docs = output::policy::Documents {
        target: args.target,
        output: args.output,
        klanker: report.klanker.as_ref(),
        cluster: report.cluster.as_ref(),
        boundary: report.boundary.as_ref(),
        boundary_arn: report.boundary_arn.as_deref(),
        rbac: report.rbac.as_ref(),
    };
    output::policy::documents(o, &docs)
}

/// `audit`: the findings (exit 1 at or above `--fail-on`), or one fixed document.
async fn audit(env: &Env, args: &AuditArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let report = match audit::run(env, args).await? {
        audit::AuditReport::FixDocument(doc) => return output::audit::document(o, &doc),
        audit::AuditReport::Findings(report) => report,
    };
    output::audit::report(o, &report, args.output)?;
    match args.fail_on {
        Some(severity) if report.at_or_above(severity) > 0 => {
            Err(crate::audit::AuditError::FailOn {
                severity,
                count: report.at_or_above(severity),
            }
            .into())
        }
        _ => Ok(()),
    }
}
