//! Which trust mode an onboarding is in, and what that mode writes for it.
//! Only the modes know, and they sit above this module (`plan::mode`), so
//! this module declares what it asks and the modes implement it: each
//! mode's [`Recognise`], and [`Registry`] on [`Modes`], the way to them.

use serde_json::Value;

use super::{Onboarding, RoleSummary, Tags};
use crate::store::ClusterEntry;
use crate::trust::TrustMode;

/// What recognising an onboarding needs to know of one trust mode.
pub trait Recognise: Sync {
    /// The mode this is (its word is `as_str`).
    fn mode(&self) -> TrustMode;

    /// Whether the mode's klanker role trusts a role in the cluster's
    /// account (the cluster role) rather than an OIDC provider.
    fn has_cluster_role(&self) -> bool;

    /// Whether a web-identity trust on an OIDC provider is part of the
    /// onboarding (in either account).
    fn trusts_a_provider(&self) -> bool {
        true
    }

    /// Whether the cluster role's trust names the ServiceAccounts, so the
    /// klanker role's trust stays one statement however many there are.
    fn scopes_in_cluster_role(&self) -> bool {
        false
    }

    /// Onboarding `name` when `role`'s trust has the shape this mode
    /// writes: the scope it grants, [`super::UNKNOWN`] where the records
    /// do not tell. `tags`: the role's, empty when not read.
    fn recognise(&self, role: &RoleSummary, name: &str, tags: &Tags) -> Option<Onboarding>;

    /// Whether the role's description records this mode, whatever its
    /// trust says now (a trust changed by hand keeps its description).
    fn recorded_by(&self, description: &str) -> bool;

    /// Fills in what a trust changed by hand no longer says, from the
    /// role and km-config.yaml's entry for it.
    fn recover(&self, o: &mut Onboarding, role: &RoleSummary, entry: Option<&ClusterEntry>);

    /// The trust this mode writes for `o` and the ServiceAccounts it
    /// wrote; None when the records no longer tell.
    fn expected_trust(
        &self,
        o: &Onboarding,
        written: &[(String, String)],
        partition: &str,
    ) -> Option<Value>;

    /// How `trust` differs from `expected`, one line each.
    fn trust_changes(
        &self,
        o: &Onboarding,
        trust: &Value,
        expected: &Value,
        written: &[(String, String)],
    ) -> Vec<String>;

    /// The ConfigMap the mode writes beside the ServiceAccounts, by the
    /// name recorded, else its default; None when it writes none.
    fn config_map(&self, recorded: Option<&str>) -> Option<String>;
}

/// Every trust mode, as this module reaches them: `plan::mode`
/// implements [`Registry`] for it.
pub struct Modes;

/// The modes, each once, and the one a mode value names.
pub trait Registry {
    fn all(&self) -> Vec<&'static dyn Recognise>;
    fn of(&self, mode: TrustMode) -> &'static dyn Recognise;
}

/// The mode whose klanker role trusts a cluster role that names the
/// ServiceAccounts (`true`), or a provider (`false`); the default mode when
/// none does.
pub fn mode_by_cluster_role(has: bool) -> TrustMode {
    Modes
        .all()
        .into_iter()
        .find(|m| m.has_cluster_role() == has && m.scopes_in_cluster_role() == has)
        .map(|m| m.mode())
        .unwrap_or_default()
}

/// Onboarding `name` as the mode whose shape `role` has recognises it.
pub fn recognised(role: &RoleSummary, name: &str, tags: &Tags) -> Option<Onboarding> {
    Modes
        .all()
        .into_iter()
        .find_map(|m| m.recognise(role, name, tags))
}

/// The mode the role's description records, if one does.
pub fn recorded_mode(description: &str) -> Option<TrustMode> {
    Modes
        .all()
        .into_iter()
        .find(|m| m.recorded_by(description))
        .map(|m| m.mode())
}
