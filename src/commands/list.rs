//! `list`: every onboarding in the klanker account (the source of truth),
//! joined with km-config.yaml, with the drift that join reveals and the
//! removals `rm` left pending. Prints nothing: returns what to render.

use crate::cli::ListArgs;
use crate::env::Env;
use crate::error::Error;
use crate::inventory::Drift;
use crate::plan::listing::{self, Listing, PendingRemoval};
use crate::resolve::list::ListRequest;
use crate::store::ClusterEntry;
use crate::{kubeconfig, observe, resolve};

/// What `list` found.
pub enum ListReport {
    /// `--local`: km-config.yaml alone.
    Local {
        entries: Vec<ClusterEntry>,
        pending: Vec<PendingRemoval>,
        /// Names more than one entry carries.
        drift: Vec<Drift>,
    },
    Live(Listing),
}

pub async fn run(env: &Env, args: &ListArgs) -> Result<(ListRequest, ListReport), Error> {
    let doc = env.store.load()?;
    let entries = doc.clusters().unwrap_or_default();
    // No kubeconfig is no error for `list`: nothing is marked current then.
    // A context named with `--context` is, like for any other command, so
    // the kubeconfig that should hold it must be readable.
    let kc = match kubeconfig::load(env.global.kubeconfig.as_deref()) {
        Ok(kc) => Some(kc),
        Err(e) if env.global.context().is_some() => return Err(e.into()),
        Err(_) => None,
    };
    let request = resolve::list::request(&env.global, args, kc.as_ref())?;
    if request.local {
        let pending = listing::pending_removals(&doc);
        let drift = listing::duplicate_drift(&doc, env.store.path());
        return Ok((
            request,
            ListReport::Local {
                entries,
                pending,
                drift,
            },
        ));
    }
    let (klanker, hint) = observe::klanker_clients(env, &request.klanker).await?;
    let observed = observe::list::observe(&request, &klanker, hint, &env.store, &entries).await?;
    let current = request.current.as_deref();
    let listing = listing::listing(observed, &doc, env.store.path(), current);
    Ok((request, ListReport::Live(listing)))
}
