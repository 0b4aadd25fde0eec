//! Which role is an onboarding's, on proof (its tags), and the error for a
//! name onboarded nowhere.

use crate::error::Error;
use crate::inventory;

/// The role onboarding `name` owns, picked on proof (its tags), and what
/// else claims the name.
pub struct Located {
    pub onboarding: Option<inventory::Onboarding>,
    /// The proven role, else the one to expect (km-config.yaml's or the default).
    pub role_name: String,
    pub picked: inventory::Picked,
}

impl Located {
    /// What the user should know about other roles claiming the name.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(role), false) = (&self.picked.role, self.picked.duplicates.is_empty()) {
            notes.push(format!(
                "drift: the tags of {} also claim this name; {role} is the one used (see `list`).",
                self.picked.duplicates.join(", ")
            ));
        }
        for r in &self.picked.look_alikes {
            notes.push(format!(
                "role {r} has a look-alike description but its tags do not prove this onboarding: it is ignored and left alone."
            ));
        }
        notes
    }
}

/// Picks the role the tags prove `name`'s among the candidates read.
pub fn located(
    name: &str,
    tagged: &[(inventory::RoleSummary, inventory::Tags)],
    entry: Option<&crate::store::ClusterEntry>,
) -> Located {
    let picked = inventory::pick(name, tagged, entry);
    let onboarding = picked.role.as_ref().and_then(|role| {
        tagged
            .iter()
            .find(|(r, _)| &r.role_name == role)
            .and_then(|(r, tags)| inventory::proven_onboarding(r, tags))
    });
    Located {
        role_name: picked
            .role
            .clone()
            .unwrap_or_else(|| inventory::expected_role_name(name, entry)),
        onboarding,
        picked,
    }
}

/// Nothing to verify or describe: no proven role, no km-config.yaml entry,
/// no role of the expected name. One error naming what was searched.
pub fn require_onboarded(
    command: &'static str,
    name: &str,
    found: &crate::observe::verify::Onboarding,
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
