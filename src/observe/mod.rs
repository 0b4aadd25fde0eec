//! The observe stage (I/O): one function per command reads what exists in
//! each account and in the cluster into a typed snapshot. Independent reads
//! run concurrently. The shared pieces: the klanker account's clients and
//! identity, and the roles that may be an onboarding's.

pub mod add;
pub mod describe;
pub mod issuer;
pub mod list;
pub mod rm;
pub mod verify;

use std::collections::BTreeSet;

use crate::aws::{self, Identity, KlankerClients, iam};
use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::inventory::{self, RoleSummary};
use crate::plan::lookup::Located;
use crate::resolve::Klanker;

/// The klanker account's clients, built once from its profile and region.
/// Returns the run's AWS access too (HTTP client and credentials session),
/// for a second account's config, and the account when the profile's
/// configuration names it.
pub async fn klanker_clients(
    global: &GlobalArgs,
    klanker: &Klanker,
) -> Result<(KlankerClients, aws::Access, Option<Identity>), Error> {
    let hint = aws::check_profile(&klanker.profile, "--aws-profile").await?;
    let access = global.aws_access();
    let sdk = aws::load_config(
        Some(&klanker.profile),
        &klanker.region,
        &access,
        aws::Side::Klanker,
    )
    .await?;
    Ok((KlankerClients::new(&sdk, global.verbose), access, hint))
}

/// The klanker account: from the profile's configuration when it names it
/// (no round trip), else from STS GetCallerIdentity.
pub async fn klanker_identity(
    klanker: &KlankerClients,
    hint: Option<Identity>,
) -> Result<Identity, Error> {
    match hint {
        Some(identity) => Ok(identity),
        None => {
            let (account, arn) = iam::caller_identity(&klanker.sts).await?;
            Ok(Identity {
                partition: crate::trust::arn::partition_of(&arn).to_string(),
                account,
            })
        }
    }
}

/// Role lookups in flight at once when reading candidates' tags.
const ROLE_LOOKUPS: usize = 8;

/// The tags of the named roles (ListRoles does not return tags), read fresh
/// with GetRole, a few at a time. A role gone meanwhile is skipped.
pub async fn tagged_roles(
    klanker: &KlankerClients,
    roles: &[RoleSummary],
    names: &BTreeSet<String>,
) -> Result<Vec<(RoleSummary, inventory::Tags)>, Error> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let found: Vec<Option<(RoleSummary, inventory::Tags)>> =
        stream::iter(roles.iter().filter(|r| names.contains(&r.role_name)))
            .map(|summary| async move {
                iam::get_role(&klanker.iam, &summary.role_name)
                    .await
                    .map(|role| {
                        role.map(|role| {
                            // The fresh read wins over the listing.
                            let mut summary = summary.clone();
                            summary.trust_policy = role.trust_policy;
                            summary.description = role.description;
                            (summary, role.tags)
                        })
                    })
            })
            .buffered(ROLE_LOOKUPS)
            .try_collect()
            .await?;
    Ok(found.into_iter().flatten().collect())
}

/// Reads the tags of the roles that may be `name`'s and picks the one they prove.
pub async fn locate(
    klanker: &KlankerClients,
    name: &str,
    roles: &[RoleSummary],
    entry: Option<&crate::store::ClusterEntry>,
) -> Result<Located, Error> {
    let candidates: BTreeSet<String> = inventory::candidates(name, roles, entry)
        .into_iter()
        .collect();
    let tagged = tagged_roles(klanker, roles, &candidates).await?;
    Ok(crate::plan::lookup::located(name, &tagged, entry))
}
