//! `rm NAME...` and `verify NAME...|--all`: the one-onboarding unit of
//! each (`rm::prepare`/`rm::apply`, `verify::run`) for every name, at most
//! `--parallel` at a time, with a fleet's progress, summary and exit rules
//! (`fleet::outcome`): one combined plan and one prompt for `rm`.

use super::fleet::{bounded, cause, failed, not_started, outcome};
use super::rm as remove;
use super::verify as check;
use crate::cli::{ListArgs, ListOutput, ReportOutput, RmArgs, VerifyArgs};
use crate::env::Env;
use crate::error::Error;
use crate::output::fleet::{ClusterResult, FleetProgress, Row};
use crate::output::{self, Out, Structured, prompt};

/// Each name once, in the order given.
fn distinct(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names.iter().filter(|n| seen.insert(*n)).cloned().collect()
}

fn structured(format: ReportOutput) -> Option<Structured> {
    match format {
        ReportOutput::Text => None,
        ReportOutput::Json => Some(Structured::Json),
        ReportOutput::Yaml => Some(Structured::Yaml),
    }
}

/// `rm NAME...`: every removal planned, shown, asked for once (the number
/// of onboardings typed), applied side by side, summed up.
pub async fn rm(env: &Env, args: &RmArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let names = distinct(&args.names);
    let members: Vec<(&String, Result<remove::Prepared<'_>, Error>)> =
        bounded(&names, args.parallel, |name| async move {
            (name, remove::prepare(env, args, name).await)
        })
        .await;
    let format = structured(args.output);
    if format.is_none() {
        show_removals(o, &members)?;
    }
    let planned = || members.iter().filter_map(|(_, p)| p.as_ref().ok());
    if planned().count() == 0 {
        let causes: Vec<(&str, Option<&Error>)> = members
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_ref().err()))
            .collect();
        return Err(not_started(&causes));
    }
    let noop = planned().all(|p| p.removal.plan.is_noop());
    let confirm = prompt::Confirm::TypeCount(&names);
    let go = prompt::decide(
        &args.apply,
        noop,
        confirm,
        format.is_some(),
        o,
        &env.interrupt,
    );
    let go = go.await?;
    let progress = FleetProgress::new(env.verbose(), &env.interrupt);
    let progress = &progress;
    let removed: Vec<Option<Result<remove::RmReport, Error>>> =
        bounded(&members, args.parallel, |(name, prepared)| async move {
            let p = prepared.as_ref().ok()?;
            let line = progress.cluster(name, p.removal.plan.changes().count());
            let report = remove::apply(env, p, go, &line).await;
            Some(report.and_then(|r| remove::pending(env, p, &r).map(|()| r)))
        })
        .await;
    let rows: Vec<Row> = members
        .iter()
        .zip(removed)
        .map(|((name, prepared), report)| rm_row(name, prepared, report))
        .collect();
    output::fleet::summary(o, "FleetRmResult", &rows, format)?;
    outcome(&rows, "onboardings", false)
}

fn show_removals(
    o: &mut Out<'_>,
    members: &[(&String, Result<remove::Prepared<'_>, Error>)],
) -> Result<(), Error> {
    let mut first = true;
    for (name, prepared) in members {
        match prepared {
            Ok(p) => {
                // Which identity acts in each account: said once, on the first plan.
                let acting_as = if first { p.acting_as.as_str() } else { "" };
                first = false;
                let account = &p.seen.account;
                output::rm::plan(o, acting_as, name, account, &p.removal, &p.notes)?;
            }
            Err(e) => output::fleet::not_planned(o, name, &cause(e))?,
        }
    }
    Ok(())
}

fn rm_row(
    name: &str,
    prepared: &Result<remove::Prepared<'_>, Error>,
    report: Option<Result<remove::RmReport, Error>>,
) -> Row {
    let p = prepared.as_ref().ok();
    let (result, error) = match (prepared, report) {
        (Err(e), _) => (ClusterResult::Failed, Some(cause(e))),
        (Ok(_), None) => (ClusterResult::Failed, None),
        (Ok(_), Some(Err(e))) => (failed(&e), Some(cause(&e))),
        (Ok(p), Some(Ok(_))) if p.removal.plan.is_noop() => (ClusterResult::Unchanged, None),
        (Ok(_), Some(Ok(r))) if r.applied => (ClusterResult::Removed, None),
        (Ok(_), Some(Ok(_))) => (ClusterResult::Planned, None),
    };
    let mode = p.and_then(|p| p.request.entry.as_ref()).map(|e| e.mode);
    Row {
        context: p.and_then(|p| p.seen.context.clone()),
        name: name.to_string(),
        mode: mode.map_or("-", |m| m.as_str()).to_string(),
        role: p
            .map_or("-", |p| role_name(&p.seen.observed.role_arn))
            .to_string(),
        converge: (!result.succeeded()).then(|| format!("kubectl klanker-trust rm {name}")),
        result,
        error,
        report: None,
    }
}

/// A role's name, as `add`'s summary shows it (its ARN's last part).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `verify NAME...|--all`: every onboarding's links, side by side; each
/// report in turn, then the summary. Exit 3 when any is broken or could
/// not be verified.
pub async fn verify(env: &Env, args: &VerifyArgs, o: &mut Out<'_>) -> Result<(), Error> {
    let names = match args.all {
        true => every_onboarding(env, args).await?,
        false => distinct(&args.names),
    };
    let verified: Vec<(&String, Result<check::VerifyReport, Error>)> =
        bounded(&names, args.parallel, |name| async move {
            (name, check::run(env, args, Some(name)).await)
        })
        .await;
    let format = structured(args.output);
    let mut rows = Vec::new();
    for (name, report) in &verified {
        if format.is_none() {
            writeln!(o.out)?;
        }
        rows.push(verify_row(o, name, report, format)?);
    }
    if verified.iter().all(|(_, r)| r.is_err()) && !verified.is_empty() {
        let causes: Vec<(&str, Option<&Error>)> = verified
            .iter()
            .map(|(n, r)| (n.as_str(), r.as_ref().err()))
            .collect();
        return Err(not_started(&causes));
    }
    output::fleet::summary(o, "FleetVerifyResult", &rows, format)?;
    outcome(&rows, "onboardings", true)
}

/// One onboarding's report (as text, in turn), and its line of the summary.
fn verify_row(
    o: &mut Out<'_>,
    name: &str,
    report: &Result<check::VerifyReport, Error>,
    format: Option<Structured>,
) -> Result<Row, Error> {
    let mode = report.as_ref().map_or("-", |r| r.mode.as_str()).to_string();
    let (result, error, role, document) = match report {
        Ok(r) => {
            if format.is_none() {
                output::verify::report(o, name, &r.role_arn, &r.checks, ReportOutput::Text)?;
            }
            let broken = Error::broken_chain(&r.checks).err();
            let result = match broken {
                Some(_) => ClusterResult::Broken,
                None => ClusterResult::Verified,
            };
            let document = output::verify::report_value(name, &r.role_arn, &r.checks);
            let role = role_name(&r.role_arn).to_string();
            (result, broken.map(|e| cause(&e)), role, Some(document))
        }
        Err(e) => {
            if format.is_none() {
                output::fleet::not_planned(o, name, &cause(e))?;
            }
            (ClusterResult::Failed, Some(cause(e)), "-".to_string(), None)
        }
    };
    Ok(Row {
        context: None,
        name: name.to_string(),
        mode,
        role,
        converge: (!result.succeeded()).then(|| format!("kubectl klanker-trust verify {name}")),
        result,
        error,
        report: document,
    })
}

/// `--all`: every onboarding `list` shows in the klanker account.
async fn every_onboarding(env: &Env, args: &VerifyArgs) -> Result<Vec<String>, Error> {
    let list = ListArgs {
        aws: args.aws.clone(),
        output: ListOutput::Name,
        local: false,
        no_headers: true,
    };
    match super::list::run(env, &list).await?.1 {
        super::list::ListReport::Live(listing) => Ok(listing
            .clusters
            .into_iter()
            .map(|row| row.onboarding.name)
            .collect()),
        super::list::ListReport::Local { entries, .. } => {
            Ok(entries.into_iter().map(|e| e.name).collect())
        }
    }
}
