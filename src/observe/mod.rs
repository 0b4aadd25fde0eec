//! The observe stage (I/O): one function per command reads what exists in
//! each account and in the cluster into a typed snapshot. Independent reads
//! run concurrently. The shared pieces: the klanker account's clients and
//! identity, and the roles that may be an onboarding's.

pub mod add;
pub mod audit;
pub mod describe;
pub mod issuer;
pub mod list;
pub mod rm;
pub mod verify;

use std::collections::BTreeSet;

use crate::aws::{self, Identity, KlankerClients, iam};
use crate::env::Env;
use crate::error::Error;
use crate::inventory::Located;
use crate::inventory::{self, RoleSummary};
use crate::resolve::Klanker;

/// The klanker account's clients, built from its profile and region with
/// the run's AWS access, and the account when the profile's configuration
/// names it.
pub async fn klanker_clients(
    env: &Env,
    klanker: &Klanker,
) -> Result<(KlankerClients, Option<Identity>), Error> {
    let hint = aws::check_profile(&klanker.profile, "--aws-profile").await?;
    let sdk = aws::load_config(
        Some(&klanker.profile),
        &klanker.region,
        &env.access,
        aws::Side::Klanker,
    )
    .await?;
    let (profile, region) = (Some(klanker.profile.as_str()), &klanker.region);
    let reads = env
        .access
        .reads_of(aws::Side::Klanker, profile, None, region);
    Ok((KlankerClients::new(&sdk, env.verbose(), reads), hint))
}

/// The klanker account, as STS GetCallerIdentity says: the profile's
/// configuration (`hint`) is never taken on trust, since a cached session
/// or the environment may hold credentials of another account. Callers run
/// it beside their first reads.
pub async fn klanker_identity(
    klanker: &KlankerClients,
    hint: Option<Identity>,
) -> Result<Identity, Error> {
    let (account, arn) = (klanker.reads.caller)
        .get((), || iam::caller_identity(&klanker.sts))
        .await?;
    if let Some(named) = hint.filter(|h| h.account != account) {
        return Err(crate::trust::guard::GuardError::CredentialsInOtherAccount {
            named: named.account,
            actual: account,
            caller: arn,
        }
        .into());
    }
    Ok(Identity {
        partition: crate::trust::arn::partition_of(&arn).to_string(),
        account,
    })
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
    Ok(inventory::located(name, &tagged, entry))
}

/// Nothing to verify or describe: no proven role, no km-config.yaml entry,
/// no role of the expected name. One error naming what was searched.
pub fn require_onboarded(
    command: &'static str,
    name: &str,
    found: &crate::plan::snapshot::Onboarding,
    config_path: &std::path::Path,
) -> Result<(), Error> {
    let role_name = &found.located.role_name;
    if found.located.onboarding.is_some()
        || found.entry.is_some()
        || found.roles.iter().any(|r| &r.role_name == role_name)
    {
        return Ok(());
    }
    Err(not_onboarded(
        command,
        name,
        vec![
            format!(
                "the IAM roles of klanker account {}",
                found.identity.account
            ),
            format!("{}", config_path.display()),
        ],
        &found.roles,
        &found.config,
    ))
}

/// The error for a NAME onboarded nowhere: what was searched and which
/// names are onboarded (from the roles and km-config.yaml).
pub fn not_onboarded(
    command: &'static str,
    name: &str,
    looked_at: Vec<String>,
    roles: &[inventory::RoleSummary],
    config: &crate::store::Document,
) -> Error {
    let mut onboarded: Vec<String> = roles
        .iter()
        .filter_map(inventory::onboarding)
        .map(|o| o.name)
        .chain(
            config
                .clusters()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.name),
        )
        .collect();
    onboarded.sort();
    onboarded.dedup();
    Error::NotOnboarded {
        command,
        name: name.to_string(),
        looked_at,
        suggestion: crate::error::did_you_mean(name, &onboarded).map(str::to_string),
        onboarded,
    }
}
