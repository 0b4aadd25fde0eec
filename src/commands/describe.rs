//! `describe NAME`: the live state of one onboarding, read-only: its role
//! (found on proof, as `verify` finds it), trust policy, attached policies,
//! the provider the trust names, the ServiceAccounts in its own cluster
//! that carry the role, and drift.

use crate::cli::DescribeArgs;
use crate::env::Env;
use crate::error::Error;
use crate::resolve::describe as resolve;
use crate::{observe, output, plan};

pub async fn run(env: &Env, args: &DescribeArgs) -> Result<(), Error> {
    let global = &env.global;
    // resolve
    let req = resolve::resolve(args)?;
    let store = &env.store;

    // observe: which onboarding (on proof), then its role, provider and cluster.
    let (klanker, hint) = crate::observe::klanker_clients(env, &req.klanker).await?;
    let found = observe::verify::onboarding(&klanker, hint, &req.name, store.load()?).await?;
    crate::observe::require_onboarded("describe", &req.name, &found, store.path())?;
    let seen = observe::describe::observe(global, &klanker, &req.name, &found).await?;

    // plan: drift (nothing is applied).
    let drift = plan::describe::drift(&plan::describe::facts(&req.name, &found, &seen));

    // render
    let description = output::describe::description(&req.name, &found, &seen, drift);
    output::describe::report(&description, req.output)
}
