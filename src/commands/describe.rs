//! `describe NAME`: the live state of one onboarding, read-only: its role
//! (found on proof, as `verify` finds it), trust policy, attached policies,
//! the provider the trust names, the ServiceAccounts in its own cluster
//! that carry the role, and drift. Prints nothing: returns what to render.

use crate::cli::DescribeArgs;
use crate::env::Env;
use crate::error::Error;
use crate::plan::snapshot::{Onboarding, Seen};
use crate::resolve::describe as resolve;
use crate::{observe, plan};

/// What `describe` found.
pub struct DescribeReport {
    pub name: String,
    pub found: Onboarding,
    pub seen: Seen,
    pub drift: Vec<String>,
}

pub async fn run(env: &Env, args: &DescribeArgs) -> Result<DescribeReport, Error> {
    // resolve
    let req = resolve::resolve(args)?;

    // observe: which onboarding (on proof), then its role, provider and cluster.
    let config = env.store.load()?;
    config.refuse_ambiguous(env.store.path(), &req.name, false)?;
    let (klanker, hint) = observe::klanker_clients(env, &req.klanker).await?;
    let found = observe::verify::onboarding(&klanker, hint, &req.name, config).await?;
    observe::require_onboarded("describe", &req.name, &found, env.store.path())?;
    let global = (&env.global, &env.access);
    let seen = observe::describe::observe(global, (&klanker, &req.klanker), &req.name, &found);
    let seen = seen.await?;

    // plan: drift (nothing is applied), with each Pod Identity link that is not as written.
    let mut drift = plan::describe::drift(&plan::describe::facts(&req.name, &found, &seen));
    if let Some(Ok(facts)) = &seen.associations {
        let mode = plan::describe::mode(&found, &seen);
        let checks = plan::mode::of(mode).association_checks(facts);
        drift.extend(
            checks
                .iter()
                .filter(|c| c.status != crate::verify::Status::Ok)
                .map(|c| format!("{}: {}", c.link, c.message)),
        );
    }
    Ok(DescribeReport {
        name: req.name,
        found,
        seen,
        drift,
    })
}
