//! `list`'s reads: every role and provider of the klanker account, the tags
//! of the roles whose description names an onboarding (only tags prove
//! one), and the ownership of providers no description speaks for.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::aws::{Identity, KlankerClients, iam};
use crate::error::Error;
use crate::inventory::{self, RoleSummary};
use crate::plan::listing::{self, Observed};
use crate::resolve::list::ListRequest;
use crate::store::{ClusterEntry, Store};

/// Provider tag lookups in flight at once, for roles whose description does
/// not record the provider's ownership.
const PROVIDER_LOOKUPS: usize = 8;

/// Every role and provider of the klanker account, and which account it is,
/// read side by side (`list` and `rm` both start here).
pub async fn account(
    klanker: &KlankerClients,
    hint: Option<Identity>,
) -> Result<(Vec<RoleSummary>, Vec<String>, Identity), Error> {
    tokio::try_join!(
        async { iam::list_roles(&klanker.iam).await.map_err(Error::from) },
        async { iam::list_providers(&klanker.iam).await.map_err(Error::from) },
        super::klanker_identity(klanker, hint),
    )
}

/// A handful of paginated calls plus one GetRole per candidate role (never
/// one per unrelated role), and one call per provider of unknown ownership.
pub async fn observe(
    request: &ListRequest,
    klanker: &KlankerClients,
    hint: Option<Identity>,
    store: &Store,
    config: &[ClusterEntry],
) -> Result<Observed, Error> {
    let (roles, providers, identity) = account(klanker, hint).await?;
    request.klanker.check_account(
        &identity.account,
        store.load()?.klanker_account().as_deref(),
        None,
    )?;
    // Descriptions name the candidates; only their tags prove an onboarding
    // (ListRoles returns no tags, so each candidate costs one GetRole).
    let candidates: BTreeSet<String> = roles
        .iter()
        .filter(|r| inventory::onboarding(r).is_some())
        .map(|r| r.role_name.clone())
        .collect();
    let tagged = super::tagged_roles(klanker, &roles, &candidates).await?;
    let (onboardings, proof_drift) = inventory::onboardings_from(&tagged, config);
    let (mut ownership, unknown) = listing::recorded_ownership(&onboardings, &providers);
    let looked_up: Vec<(String, bool)> = stream::iter(unknown)
        .map(|arn| async move {
            iam::provider_owned(&klanker.iam, &arn)
                .await
                .map(|owned| (arn, owned))
        })
        .buffer_unordered(PROVIDER_LOOKUPS)
        .try_collect()
        .await?;
    ownership.extend(looked_up);
    Ok(Observed {
        klanker_account: identity.account,
        onboardings,
        proof_drift,
        ownership,
    })
}
