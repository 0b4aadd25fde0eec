//! What the observe stage fills and the planners read: a typed snapshot
//! of each account, the cluster and km-config.yaml, per command. Data only.

use std::collections::BTreeSet;

use crate::inventory::{Located, RoleSummary};
use crate::store::{ClusterEntry, Document};
use crate::trust::{Identity, Issuer};
pub use crate::verify::{AgentAddon, ObservedAssociation};
use crate::verify::{ProviderFacts, Target};

use super::quota::{ProviderQuota, Quota, RoleQuota};
use super::{Observed, ObservedProvider, ObservedRole, ObservedServiceAccount};

/// The issuer and what else was learnt about the cluster.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub issuer: Issuer,
    /// The cluster's account, where known.
    pub cluster_account: Option<String>,
    /// DescribeCluster's cluster ARN (EKS only).
    pub cluster_arn: Option<String>,
    /// Read from the API server's discovery document (said in the plan).
    pub discovered: bool,
}

/// What exists, in the klanker account, the cluster and km-config.yaml
/// (and the cluster's account, when a mode's cluster role is asked for or left).
pub struct AddSnapshot {
    pub issuer: Resolved,
    pub identity: Identity,
    pub cluster_account: Option<ClusterAccount>,
    /// The policies the role should have (the operator policy by default).
    pub policies: BTreeSet<String>,
    pub observed: Observed,
    pub config: Document,
    /// The cluster's EKS side, read when a mode uses EKS Pod Identity or
    /// leaves it.
    pub eks: Option<EksSide>,
    /// The klanker account's OIDC providers and their quota, read when the
    /// mode may create a provider there.
    pub provider_quota: Option<ProviderQuota>,
    /// The klanker account's role trust policy quota, read when no
    /// --max-trust-policy-size was given.
    pub trust_quota: Option<Quota>,
    /// The klanker account's roles and their quota, read when the klanker
    /// role is missing (or, not recorded in km-config.yaml, may be).
    pub role_quota: Option<RoleQuota>,
}

/// EKS Pod Identity in the cluster, as read with the cluster-side identity.
#[derive(Debug, Clone, Default)]
pub struct EksSide {
    pub cluster_name: String,
    /// How many associations the cluster holds (EKS allows 5,000).
    pub association_count: usize,
    /// The associations of the ServiceAccounts this onboarding names or
    /// named, in detail.
    pub associations: Vec<ObservedAssociation>,
    pub agent: AgentAddon,
}

impl EksSide {
    /// The association of `(namespace, service_account)`, if one exists.
    pub fn association(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> Option<&ObservedAssociation> {
        self.associations
            .iter()
            .find(|a| a.namespace == namespace && a.service_account == service_account)
    }
}

/// The cluster role of another mode that `add` leaves, read beside the one
/// it asks for (the two differ by name).
#[derive(Debug, Clone, Default)]
pub struct LeftClusterRole {
    pub observed: Observed,
    pub instance_profiles: Vec<String>,
    pub others_trusting_provider: Vec<String>,
}

/// The cluster's account as a cluster role needs it: that role, the cluster's own
/// provider, and what removing them would need.
#[derive(Debug, Clone)]
pub struct ClusterAccount {
    /// Where the cluster-side identity acts.
    pub identity: Identity,
    /// The cluster's provider, role A, its policies and inline policies.
    pub observed: Observed,
    pub instance_profiles: Vec<String>,
    /// Roles there other than role A that trust the cluster's provider.
    pub others_trusting_provider: Vec<String>,
    /// The cluster role's permissions boundary, and whether it exists.
    pub boundary: Option<(String, bool)>,
    /// The previous mode's cluster role, when this run asks for another one.
    pub left: Option<LeftClusterRole>,
    /// The account's OIDC providers and their quota, read when the mode
    /// may create a provider there.
    pub provider_quota: Option<ProviderQuota>,
    /// The account's role trust policy quota, read when no
    /// --max-trust-policy-size was given and a cluster role's trust rests
    /// on the account's provider.
    pub trust_quota: Option<Quota>,
    /// The account's roles and their quota, read when the mode's cluster
    /// role is missing (or, not recorded in km-config.yaml, may be).
    pub role_quota: Option<RoleQuota>,
}

impl AddSnapshot {
    /// The limit the klanker role's trust is checked against.
    pub fn trust_limit(&self, flag: Option<usize>) -> Quota {
        super::quota::trust_limit(flag, self.trust_quota.as_ref())
    }

    /// The cluster role's ARN when it exists.
    pub fn cluster_role_arn(&self) -> Option<String> {
        self.cluster_account
            .as_ref()
            .and_then(|c| c.observed.role.as_ref())
            .map(|r| r.arn.clone())
    }

    /// Every cluster role of this onboarding that exists: the one asked
    /// for, and another mode's being left.
    pub fn cluster_role_arns(&self) -> Vec<String> {
        let left = self
            .cluster_account
            .as_ref()
            .and_then(|c| c.left.as_ref())
            .and_then(|l| l.observed.role.as_ref())
            .map(|r| r.arn.clone());
        self.cluster_role_arn().into_iter().chain(left).collect()
    }
}

/// The add-on that hands pods their Pod Identity credentials.
pub const AGENT_ADDON: &str = "eks-pod-identity-agent";

/// What the local checks of `verify` need after applying, for one
/// ServiceAccount: a token the cluster issues for it (never printed), and
/// the provider of the token's issuer when it is not the one just ensured.
pub struct AfterApply {
    pub token: Result<String, crate::verify::NoToken>,
    pub other_provider: Option<ProviderFacts>,
}

/// The onboarding a name is, as far as the klanker account and
/// km-config.yaml tell.
pub struct Onboarding {
    pub roles: Vec<RoleSummary>,
    pub identity: Identity,
    pub located: Located,
    pub entry: Option<ClusterEntry>,
    pub config: Document,
}

/// Everything `describe` shows, as read.
pub struct Seen {
    pub role: Option<(ObservedRole, BTreeSet<String>)>,
    pub provider_arn: Option<String>,
    pub provider: Provider,
    /// The context read, the subject checked and the ServiceAccounts seen;
    /// or why the cluster was not read (reported, not fatal: this only reads).
    pub cluster: Result<(String, Target, Vec<SeenAccount>), String>,
    /// In a mode whose pods get credentials from EKS Pod Identity: the
    /// association role, the associations and the agent add-on, or why
    /// they were not read.
    pub associations: Option<Result<crate::verify::AssociationFacts, String>>,
}

/// The provider the onboarding's trust names, and whether it exists.
pub enum Provider {
    /// No provider ARN is known (no proven role, no km-config.yaml entry).
    Unknown,
    Missing(String),
    Found(ObservedProvider),
}

/// A ServiceAccount of the onboarding's cluster as `describe` shows it.
pub struct SeenAccount {
    pub namespace: String,
    pub name: String,
    pub observed: ObservedServiceAccount,
}
