//! `describe NAME`: the live state of one onboarding, read-only: its role
//! (found on proof, as `verify` finds it), trust policy, attached policies,
//! the provider the trust names, the ServiceAccounts in its own cluster
//! that carry the role, and drift.

use crate::cli::{DescribeArgs, GlobalArgs};
use crate::error::Error;
use crate::resolve::describe as resolve;
use crate::{observe, output, plan, store};

pub async fn run(global: &GlobalArgs, args: &DescribeArgs) -> Result<(), Error> {
    // resolve
    let req = resolve::resolve(args)?;
    let store = store::open(global.config.as_deref())?;

    // observe: which onboarding (on proof), then its role, provider and cluster.
    let (klanker, _, hint) =
        observe::klanker_clients(global, &req.klanker, super::aws_access(global)).await?;
    let found = observe::verify::onboarding(&klanker, hint, &req.name, store.load()?).await?;
    crate::observe::require_onboarded("describe", &req.name, &found, store.path())?;
    let seen = observe::describe::observe(global, &klanker, &req.name, &found).await?;

    // plan: drift (nothing is applied).
    let drift = plan::describe::drift(&plan::describe::facts(&req.name, &found, &seen));

    // render
    let description = output::describe::description(&req.name, &found, &seen, drift);
    output::describe::report(&description, req.output)
}
