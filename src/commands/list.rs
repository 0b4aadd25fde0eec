//! `list`: every onboarding in the klanker account (the source of truth),
//! joined with km-config.yaml, with the drift that join reveals and the
//! removals `rm` left pending.

use crate::cli::{GlobalArgs, ListArgs};
use crate::error::Error;
use crate::plan::listing;
use crate::{kubeconfig, observe, output, resolve, store};

pub async fn run(global: &GlobalArgs, args: &ListArgs) -> Result<(), Error> {
    let store = store::open(global.config.as_deref())?;
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
    let (klanker, _, hint) =
        observe::klanker_clients(global, &request.klanker, super::aws_access(global)).await?;
    let observed = observe::list::observe(&request, &klanker, hint, &store, &config).await?;
    let listing = listing::listing(observed, &doc, store.path(), request.current.as_deref());
    output::list::listing(&listing, shape)
}
