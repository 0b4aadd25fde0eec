//! `list`: every onboarding in the klanker account (the source of truth),
//! joined with km-config.yaml, with the drift that join reveals and the
//! removals `rm` left pending.

use crate::cli::ListArgs;
use crate::env::Env;
use crate::error::Error;
use crate::plan::listing;
use crate::{kubeconfig, observe, output, resolve};

pub async fn run(env: &Env, args: &ListArgs) -> Result<(), Error> {
    let global = &env.global;
    let store = &env.store;
    let doc = store.load()?;
    let config = doc.clusters().unwrap_or_default();
    // No kubeconfig is no error for `list`: nothing is marked current then.
    let kc = kubeconfig::load(global.kubeconfig.as_deref()).ok();
    let request = resolve::list::request(global, args, kc.as_ref())?;

    let shape = output::list::Shape {
        format: request.output,
        headers: !request.no_headers,
    };
    if request.local {
        return output::list::local(
            store.path(),
            &config,
            &listing::pending_removals(&doc),
            request.current.as_deref(),
            shape,
        );
    }
    let (klanker, hint) = crate::observe::klanker_clients(env, &request.klanker).await?;
    let observed = observe::list::observe(&request, &klanker, hint, store, &config).await?;
    let listing = listing::listing(observed, &doc, store.path(), request.current.as_deref());
    output::list::listing(&listing, shape)
}
