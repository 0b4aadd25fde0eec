//! What `add` reads before planning, and the one fresh fact its
//! verification needs afterwards (a token from the cluster).

use std::collections::BTreeSet;

use super::issuer::resolve_issuer;
use crate::aws::eks;
use crate::aws::memo::AccountReads;
use crate::aws::{ClusterClients, Identity, KlankerClients, Side, iam, quotas};
use crate::error::Error;
use crate::k8s::Cluster;
use crate::plan::add as planned;
use crate::plan::quota::{
    PROVIDERS, ProviderQuota, Quota, QuotaCode, ROLES, RoleCount, RoleQuota, TRUST_LENGTH,
};
use crate::plan::snapshot::{
    AddSnapshot, AfterApply, ClusterAccount, EksSide, LeftClusterRole, Resolved,
};
use crate::plan::{
    Observed, ObservedCluster, ObservedConfigMap, ObservedRole, ObservedServiceAccount,
    PreviousServiceAccount,
};
use crate::resolve::IssuerSource;
use crate::resolve::add::AddRequest;
use crate::store::{ClusterEntry, Document};
use crate::trust::{Issuer, STS_AUDIENCE};
use crate::verify::NoToken;
use crate::verify::ProviderFacts;

/// The connections `add` reads through.
pub struct Sources<'a> {
    pub klanker: &'a KlankerClients,
    /// The run's AWS access (HTTP client, credentials session), for the cluster account.
    pub access: &'a crate::aws::Access,
    pub hint: Option<Identity>,
    pub kube: Option<&'a kube::Client>,
    /// Only when the ServiceAccount is applied.
    pub cluster: Option<&'a Cluster<'a>>,
    /// The cluster's account (when the request names its identity).
    pub cluster_account: Option<&'a ClusterClients>,
    pub config: Document,
    pub verbose: bool,
}

/// Every read at once, in one round where possible: the issuer, who we are
/// in the klanker account (and, from that, whether the policies exist), the
/// role and its policies, the account's providers, the cluster's state.
/// Then what depends on those: the matching provider in detail, the ones
/// the role trusts besides it, and a ServiceAccount the trust moves from.
/// `cluster`: the cluster's state, read beside the credentials (`cluster_state`).
pub async fn observe(
    req: &AddRequest,
    from: Sources<'_>,
    cluster: ClusterState,
) -> Result<AddSnapshot, Error> {
    let klanker = from.klanker;
    let issuer = resolve_issuer(
        &req.source,
        from.access,
        from.kube,
        &req.context.context_name,
        from.verbose,
    );
    let config_entry = from.config.get(&req.name);
    let recorded = config_entry.as_ref().map(|e| e.role_arn.as_str());
    let room = Room::of(true, recorded, &req.role_name);
    let (
        issuer,
        (identity, policies, missing_policies),
        (role, role_quota),
        (provider_arns, provider_quota, trust_quota),
    ) = tokio::try_join!(
        issuer,
        identity_and_policies(req, klanker, from.hint.clone()),
        async { Ok::<_, Error>(role_and_room(klanker_iam(klanker), &req.role_name, room).await?) },
        klanker_providers(req, klanker),
    )?;
    let (first, more_service_accounts, mut config_maps) = cluster;
    let (role, attached_policies) = role.map_or((None, BTreeSet::new()), |(r, a)| (Some(r), a));
    let known = (&issuer.issuer, &identity, role.as_ref());
    let (provider, old_providers) =
        providers_in_detail(req, klanker, known, &provider_arns).await?;
    let cluster_account =
        cluster_account(req, &from, &issuer, role.as_ref(), config_entry.as_ref());
    let (cluster_account, eks) = tokio::try_join!(
        cluster_account,
        eks_side(req, &from, role.as_ref(), config_entry.as_ref())
    )?;
    let cluster_role = cluster_account
        .as_ref()
        .and_then(|c| c.observed.role.as_ref());
    let previous_service_accounts =
        previous_service_accounts(req, from.cluster, role.as_ref(), cluster_role).await?;
    let left = left_config_maps(
        req,
        &from,
        role.as_ref(),
        &cluster_account,
        &previous_service_accounts,
    );
    config_maps.extend(left.await?);
    let observed = Observed {
        provider,
        role,
        attached_policies,
        missing_policies,
        namespace_exists: first.0,
        service_account: first.1,
        config_entry,
        old_providers,
        previous_service_accounts,
        more_service_accounts,
        inline_policies: Default::default(),
        config_maps,
    };
    Ok(AddSnapshot {
        issuer,
        identity,
        cluster_account,
        policies,
        observed,
        config: from.config,
        eks,
        provider_quota,
        trust_quota,
        role_quota,
    })
}

/// When an account's roles are counted against their quota (`role_and_room`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    /// The run creates no role there.
    Never,
    /// The role is likely new: counted beside its read, in the same round.
    Beside,
    /// km-config.yaml records the role, so it likely exists: counted only
    /// once it is found missing (a round more, on that rare path), so a
    /// re-run makes no call for a check it does not need.
    IfMissing,
}

impl Room {
    /// `creates`: the mode creates role `name` when it is missing;
    /// `recorded`: the role ARN km-config.yaml records for the name.
    fn of(creates: bool, recorded: Option<&str>, name: &str) -> Room {
        let known = recorded.and_then(|arn| arn.rsplit('/').next()) == Some(name);
        match (creates, known) {
            (false, _) => Room::Never,
            (true, false) => Room::Beside,
            (true, true) => Room::IfMissing,
        }
    }
}

/// An account's IAM clients, and which side of the run it is.
type AccountIam<'a> = (
    &'a aws_sdk_iam::Client,
    &'a aws_sdk_servicequotas::Client,
    &'a AccountReads,
    Side,
);

fn klanker_iam(klanker: &KlankerClients) -> AccountIam<'_> {
    (&klanker.iam, &klanker.quotas, &klanker.reads, Side::Klanker)
}

fn cluster_iam(clients: &ClusterClients) -> AccountIam<'_> {
    (&clients.iam, &clients.quotas, &clients.reads, Side::Cluster)
}

/// Role `name` with its attached policies, and, when it is missing (the
/// plan creates it), the account's roles against their quota, as `room` says.
async fn role_and_room(
    account @ (iam_client, .., side): AccountIam<'_>,
    name: &str,
    room: Room,
) -> Result<(Option<(ObservedRole, BTreeSet<String>)>, Option<RoleQuota>), crate::aws::AwsError> {
    let read = iam::role_with_policies(iam_client, name);
    let (role, counted) = match room {
        Room::Beside => {
            let (role, counted) = tokio::join!(read, role_room(account));
            (role.map_err(|e| e.on_side(side))?, Some(counted))
        }
        _ => (read.await.map_err(|e| e.on_side(side))?, None),
    };
    let counted = match (&role, counted) {
        (Some(_), _) => None,
        (None, Some(counted)) => Some(counted),
        (None, None) if room == Room::IfMissing => Some(role_room(account).await),
        (None, None) => None,
    };
    Ok((role, counted))
}

/// The account's roles (one iam:GetAccountSummary, whatever their number)
/// and its roles quota, read side by side. Neither failing fails `add`:
/// an uncounted account skips the check, an unread quota is the default;
/// the plan says which.
async fn role_room((iam_client, quotas, reads, side): AccountIam<'_>) -> RoleQuota {
    let (count, quota) = tokio::join!(
        reads.roles.get((), || iam::role_count(iam_client)),
        read_quota(reads, quotas, ROLES, side)
    );
    let count = match count {
        Ok(count) => RoleCount::Counted(count),
        Err(e) => {
            tracing::debug!("{}: {e}", ROLES.code);
            let why = match e {
                crate::aws::AwsError::AccessDenied { .. } => {
                    "iam:GetAccountSummary was refused".to_string()
                }
                // Each other error names the call already.
                other => other.on_side(side).to_string(),
            };
            RoleCount::Unread { why }
        }
    };
    RoleQuota {
        count,
        quota: Quota::from_read(ROLES, quota),
    }
}

/// The klanker account's providers, and the quotas `add` checks there.
async fn klanker_providers(
    req: &AddRequest,
    klanker: &KlankerClients,
) -> Result<(Vec<String>, Option<ProviderQuota>, Option<Quota>), Error> {
    let holds_provider = provider_account(req) == Some(crate::plan::Target::Iam);
    let wants_trust = req.max_trust_policy_size.is_none();
    let found = providers_and_quotas(klanker_iam(klanker), (holds_provider, wants_trust));
    Ok(found.await?)
}

/// An account's providers, and its provider quota and trust quota when
/// wanted, read side by side: the quotas cost no round trip of their own.
async fn providers_and_quotas(
    account @ (iam_client, _, reads, _): AccountIam<'_>,
    (wants_providers, wants_trust): (bool, bool),
) -> Result<(Vec<String>, Option<ProviderQuota>, Option<Quota>), crate::aws::AwsError> {
    let (providers, quota, trust_quota) = tokio::join!(
        (reads.providers).get((), || iam::list_providers(iam_client)),
        quota_if(wants_providers, account, PROVIDERS),
        quota_if(wants_trust, account, TRUST_LENGTH),
    );
    let providers = providers?;
    let provider_quota = quota.map(|quota| ProviderQuota {
        count: providers.len(),
        quota,
    });
    Ok((providers, provider_quota, trust_quota))
}

/// The account `add` may create a provider in, in the asked mode.
fn provider_account(req: &AddRequest) -> Option<crate::plan::Target> {
    crate::plan::mode::of(req.mode.kind()).provider_account()
}

/// Quota `of` as `quotas` reads it, when `wanted`: the applied value, or
/// AWS's default when it cannot be read (the plan says which).
async fn quota_if(
    wanted: bool,
    (_, quotas, reads, side): AccountIam<'_>,
    of: QuotaCode,
) -> Option<Quota> {
    match wanted {
        true => Some(Quota::from_read(
            of,
            read_quota(reads, quotas, of, side).await,
        )),
        false => None,
    }
}

/// Quota `of`'s applied value, read once per account and run.
async fn read_quota(
    reads: &AccountReads,
    quotas: &aws_sdk_servicequotas::Client,
    of: QuotaCode,
    side: Side,
) -> Result<f64, crate::plan::quota::QuotaUnread> {
    let read = || async { Ok::<_, std::convert::Infallible>(quotas::read(quotas, of, side).await) };
    match reads.quotas.get(of.code, read).await {
        Ok(read) => read,
        Err(never) => match never {},
    }
}

/// The klanker-account provider for the issuer, and those the role trusts
/// besides the one its mode wants (they go if ours and unused), in detail.
async fn providers_in_detail(
    req: &AddRequest,
    klanker: &KlankerClients,
    (issuer, identity, role): (&Issuer, &Identity, Option<&ObservedRole>),
    provider_arns: &[String],
) -> Result<
    (
        Option<crate::plan::ObservedProvider>,
        Vec<crate::plan::ObservedProvider>,
    ),
    Error,
> {
    let provider = match crate::trust::matching_provider(provider_arns, issuer) {
        Some(arn) => Some(iam::describe_provider(&klanker.iam, &arn).await?),
        None => None,
    };
    let desired_provider = crate::plan::mode::of(req.mode.kind())
        .klanker_provider(provider.as_ref(), issuer, identity)
        .unwrap_or_default();
    let trusted = planned::other_trusted_providers(role, &desired_provider, provider_arns);
    let old = trusted
        .iter()
        .map(|arn| iam::describe_provider(&klanker.iam, arn));
    Ok((provider, futures::future::try_join_all(old).await?))
}

/// The first ServiceAccount's state (its namespace exists; it, if it
/// does), the others' (several --service-account), and the mode's
/// ConfigMap in each namespace holding a ServiceAccount, when it writes one.
pub async fn cluster_state(
    req: &AddRequest,
    cluster: Option<&Cluster<'_>>,
) -> Result<ClusterState, Error> {
    let Some(c) = cluster else {
        return Ok(((true, None), Vec::new(), Vec::new()));
    };
    let wanted = req.service_accounts();
    let reads = wanted.iter().map(|(ns, name)| async move {
        let (namespace_exists, service_account) =
            tokio::try_join!(c.namespace_exists(ns), c.get_service_account(ns, name))?;
        Ok::<_, Error>(ObservedCluster {
            namespace: ns.clone(),
            name: name.clone(),
            namespace_exists,
            service_account,
        })
    });
    let namespaces: BTreeSet<&String> = wanted.iter().map(|(ns, _)| ns).collect();
    let config_maps = futures::future::try_join_all(namespaces.into_iter().map(|ns| async move {
        match req.mode.cluster_role().and_then(|r| r.config_map.as_ref()) {
            Some(name) => Ok::<_, Error>(c.get_config_map(ns, name).await?),
            None => Ok(None),
        }
    }));
    let (all, config_maps) = tokio::try_join!(futures::future::try_join_all(reads), config_maps)?;
    let mut all = all.into_iter();
    let first = all
        .next()
        .map_or((true, None), |o| (o.namespace_exists, o.service_account));
    let config_maps = config_maps.into_iter().flatten().collect();
    Ok((first, all.collect(), config_maps))
}

/// `(namespace exists, the ServiceAccount)` of the first, the others, the ConfigMaps.
pub type ClusterState = (
    (bool, Option<ObservedServiceAccount>),
    Vec<ObservedCluster>,
    Vec<ObservedConfigMap>,
);

/// The cluster's part of `Observed`, as read (for planning its steps early).
pub fn cluster_observed(state: &ClusterState) -> Observed {
    let ((namespace_exists, service_account), more, _) = state;
    Observed {
        namespace_exists: *namespace_exists,
        service_account: service_account.clone(),
        more_service_accounts: more.clone(),
        ..Observed::default()
    }
}

/// Who we are in the klanker account, the policies the role should have,
/// and those of them that do not exist.
async fn identity_and_policies(
    req: &AddRequest,
    klanker: &KlankerClients,
    hint: Option<Identity>,
) -> Result<(Identity, BTreeSet<String>, BTreeSet<String>), Error> {
    // The profile's account names the policies to look for while STS
    // confirms it (no extra round trip); without one, STS comes first.
    let identity = match &hint {
        Some(named) => named.clone(),
        None => super::klanker_identity(klanker, None).await?,
    };
    let policies = planned::policy_arns(req, &identity);
    let checks = policies.iter().map(|arn| async move {
        (klanker.reads.policies)
            .get(arn.clone(), || iam::policy_exists(&klanker.iam, arn))
            .await
            .map(|exists| (arn.clone(), exists))
    });
    let confirm = async {
        match hint {
            Some(_) => super::klanker_identity(klanker, hint).await.map(Some),
            None => Ok(None),
        }
    };
    let (found, confirmed) = tokio::try_join!(
        async { Ok(futures::future::try_join_all(checks).await?) },
        confirm
    )?;
    let identity = confirmed.unwrap_or(identity);
    let missing: BTreeSet<String> = found
        .into_iter()
        .filter_map(|(arn, exists)| (!exists).then_some(arn))
        .collect();
    Ok((identity, policies, missing))
}

/// The cluster's account, read when a cluster role matters: the mode makes
/// one, or the name had one (the klanker role trusts a cluster role, or
/// km-config.yaml records one) that leaving this mode removes.
async fn cluster_account(
    req: &AddRequest,
    from: &Sources<'_>,
    issuer: &Resolved,
    role: Option<&ObservedRole>,
    entry: Option<&ClusterEntry>,
) -> Result<Option<ClusterAccount>, Error> {
    let name_of = |arn: String| arn.rsplit('/').next().map(str::to_string);
    let recorded = role
        .and_then(|r| crate::trust::chain::trusted_cluster_role(&r.trust_policy))
        .or_else(|| entry.and_then(|e| e.cluster_role_arn.clone()))
        .and_then(name_of);
    let asked = req.mode.cluster_role().map(|r| r.cluster_role_name.clone());
    let asked_is_some = asked.is_some();
    // The role read is the one asked for; another mode's, being left, beside it.
    let (cluster_role, left) = match asked {
        Some(asked) => {
            let left = recorded.filter(|r| *r != asked);
            (Some(asked), left)
        }
        None => (recorded, None),
    };
    match (cluster_role, from.cluster_account) {
        (None, _) => Ok(None),
        (Some(cluster_role_name), Some(clients)) => {
            // Only the asked mode's cluster role is created when missing.
            let recorded = entry.and_then(|e| e.cluster_role_arn.as_deref());
            let room = Room::of(asked_is_some, recorded, &cluster_role_name);
            let role = (cluster_role_name.as_str(), room);
            Ok(Some(
                observe_cluster_account(req, clients, issuer, role, left).await?,
            ))
        }
        (Some(cluster_role_name), None) => Err(Error::ClusterRoleUnreachable {
            doing: "changing",
            name: req.name.clone(),
            role: cluster_role_name,
            account: issuer
                .cluster_account
                .clone()
                .unwrap_or_else(|| "of the cluster".into()),
        }),
    }
}

/// EKS Pod Identity in the cluster, read when the asked mode uses its
/// associations, or the name's recorded mode did (they are then left): how
/// many there are, and in detail those of the ServiceAccounts this run names
/// or the onboarding named.
async fn eks_side(
    req: &AddRequest,
    from: &Sources<'_>,
    role: Option<&ObservedRole>,
    entry: Option<&ClusterEntry>,
) -> Result<Option<EksSide>, Error> {
    let uses = |m: crate::trust::TrustMode| crate::plan::mode::of(m).uses_associations();
    let asked = uses(req.mode.kind());
    let recorded = entry
        .map(|e| e.mode)
        .into_iter()
        .chain(role.and_then(|r| crate::inventory::recognise::recorded_mode(&r.description)));
    let was = recorded.into_iter().any(uses);
    let (IssuerSource::Eks { name, .. }, Some(clients)) = (&req.source, from.cluster_account)
    else {
        return Ok(None);
    };
    if !asked && !was {
        return Ok(None);
    }
    let agent = async {
        match asked {
            true => eks::agent_addon(&clients.eks, name).await,
            false => Default::default(),
        }
    };
    let wanted: Vec<(String, String)> =
        association_subjects(req, role, entry).into_iter().collect();
    let read = eks::associations_of(&clients.eks, name, &wanted);
    let (read, agent) = tokio::join!(read, agent);
    let (association_count, associations) = read.map_err(on_cluster)?;
    Ok(Some(EksSide {
        cluster_name: name.clone(),
        association_count,
        associations,
        agent,
    }))
}

/// The ServiceAccounts whose associations matter: those this run names,
/// km-config.yaml's record, and those the klanker role's trust names.
fn association_subjects(
    req: &AddRequest,
    role: Option<&ObservedRole>,
    entry: Option<&ClusterEntry>,
) -> BTreeSet<(String, String)> {
    let mut subjects: BTreeSet<(String, String)> = req.service_accounts().into_iter().collect();
    if let Some(e) = entry {
        subjects.insert((e.namespace.clone(), e.service_account.clone()));
        subjects.extend(e.service_accounts.iter().filter_map(|s| {
            s.split_once(':')
                .map(|(ns, sa)| (ns.to_string(), sa.to_string()))
        }));
    }
    if let Some(r) = role {
        subjects.extend(crate::inventory::trusted_subjects(&r.trust_policy));
    }
    subjects
}

/// The ServiceAccounts trusted until now and no longer (by the klanker
/// role, or by the cluster role), as they are in the cluster.
async fn previous_service_accounts(
    req: &AddRequest,
    cluster: Option<&Cluster<'_>>,
    role: Option<&ObservedRole>,
    cluster_role: Option<&ObservedRole>,
) -> Result<Vec<PreviousServiceAccount>, Error> {
    let mut previous = planned::previous_subjects(req, role);
    for subject in planned::previous_subjects(req, cluster_role) {
        if !previous.contains(&subject) {
            previous.push(subject);
        }
    }
    let reads = previous.into_iter().map(|(namespace, name)| async move {
        let observed = match cluster {
            Some(c) => c.get_service_account(&namespace, &name).await?,
            None => None,
        };
        Ok::<_, Error>(PreviousServiceAccount {
            namespace,
            name,
            observed,
        })
    });
    futures::future::try_join_all(reads).await
}

/// ConfigMaps that would be left behind: the mode's own in a namespace no
/// ServiceAccount is left in, and, when a mode without a cluster role takes
/// the name back, the one written beside the old cluster role, by the name
/// the klanker role's tag recorded (the printed RBAC grants no list).
async fn left_config_maps(
    req: &AddRequest,
    from: &Sources<'_>,
    role: Option<&ObservedRole>,
    cluster_account: &Option<ClusterAccount>,
    previous: &[PreviousServiceAccount],
) -> Result<Vec<ObservedConfigMap>, Error> {
    let Some(c) = from.cluster else {
        return Ok(Vec::new());
    };
    let wanted: BTreeSet<String> = req
        .service_accounts()
        .into_iter()
        .map(|(ns, _)| ns)
        .collect();
    let previous_namespaces = previous.iter().map(|p| p.namespace.clone());
    let written = req.mode.cluster_role().and_then(|r| r.config_map.clone());
    let recorded = role.and_then(|r| r.tags.get(crate::trust::CONFIG_MAP_TAG).cloned());
    let (name, namespaces): (String, BTreeSet<String>) = match (written, cluster_account) {
        (Some(name), _) => (
            name,
            previous_namespaces
                .filter(|ns| !wanted.contains(ns))
                .collect(),
        ),
        // A mode writing no ConfigMap takes the name from one that did.
        (None, Some(_)) if recorded.is_some() || req.mode.cluster_role().is_none() => (
            recorded.unwrap_or_else(|| crate::trust::chain::DEFAULT_CONFIG_MAP.to_string()),
            wanted
                .iter()
                .cloned()
                .chain(previous_namespaces)
                .chain([req.sa_namespace.clone()])
                .collect(),
        ),
        _ => return Ok(Vec::new()),
    };
    let mut found = Vec::new();
    for ns in &namespaces {
        found.extend(c.get_config_map(ns, &name).await?);
    }
    Ok(found)
}

fn on_cluster(e: crate::aws::AwsError) -> crate::aws::AwsError {
    e.on_side(crate::aws::Side::Cluster)
}

/// The cluster role and the cluster's provider, read with the cluster-side
/// identity, which must act in the cluster's account.
async fn observe_cluster_account(
    req: &AddRequest,
    clients: &ClusterClients,
    issuer: &Resolved,
    (cluster_role_name, room): (&str, Room),
    left: Option<String>,
) -> Result<ClusterAccount, Error> {
    let ((account, caller), (role, role_quota), (providers, provider_quota, trust_quota)) =
        tokio::try_join!(
            (clients.reads.caller).get((), || iam::caller_identity(&clients.sts)),
            role_and_room(cluster_iam(clients), cluster_role_name, room),
            cluster_providers(req, clients),
        )
        .map_err(on_cluster)?;
    if let Some(cluster) = issuer.cluster_account.as_ref().filter(|c| **c != account) {
        return Err(Error::ClusterSideWrongAccount {
            identity: caller,
            actual: account,
            cluster: cluster.clone(),
            role: cluster_role_name.to_string(),
        });
    }
    let identity = Identity {
        partition: crate::trust::arn::partition_of(&caller).to_string(),
        account,
    };
    let provider = match crate::trust::matching_provider(&providers, &issuer.issuer) {
        Some(arn) => Some(
            iam::describe_provider(&clients.iam, &arn)
                .await
                .map_err(on_cluster)?,
        ),
        None => None,
    };
    let (role, attached_policies) = match role {
        Some((role, attached)) => (Some(role), attached),
        None => (None, BTreeSet::new()),
    };
    let leaving = req.mode.cluster_role().is_none() && role.is_some();
    let (inline_policies, instance_profiles, others) = match &role {
        None => Default::default(),
        Some(_) => {
            cluster_role_details(clients, cluster_role_name, provider.as_ref(), leaving).await?
        }
    };
    let (boundary, left) = tokio::try_join!(
        cluster_boundary(req, clients, &identity),
        left_cluster_role(clients, left, provider.as_ref()),
    )?;
    Ok(ClusterAccount {
        provider_quota,
        trust_quota,
        role_quota,
        left,
        boundary,
        identity,
        observed: cluster_role_observed(provider, role, attached_policies, inline_policies),
        instance_profiles,
        others_trusting_provider: others,
    })
}

/// The cluster account's providers, and, when a cluster role rests on the
/// account's provider (chained mode's role A, the trust checked there),
/// its provider quota and, unless given, its trust quota.
async fn cluster_providers(
    req: &AddRequest,
    clients: &ClusterClients,
) -> Result<(Vec<String>, Option<ProviderQuota>, Option<Quota>), crate::aws::AwsError> {
    let holds_provider = provider_account(req) == Some(crate::plan::Target::ClusterIam);
    let wants_trust = holds_provider && req.max_trust_policy_size.is_none();
    providers_and_quotas(cluster_iam(clients), (holds_provider, wants_trust)).await
}

/// Another mode's cluster role, which this run's mode leaves: read as
/// for removing it.
async fn left_cluster_role(
    clients: &ClusterClients,
    name: Option<String>,
    provider: Option<&crate::plan::ObservedProvider>,
) -> Result<Option<LeftClusterRole>, Error> {
    let Some(name) = name else {
        return Ok(None);
    };
    let Some((role, attached_policies)) = iam::role_with_policies(&clients.iam, &name)
        .await
        .map_err(on_cluster)?
    else {
        return Ok(None);
    };
    let (inline_policies, instance_profiles, others) =
        cluster_role_details(clients, &name, provider, true).await?;
    let observed = cluster_role_observed(
        provider.cloned(),
        Some(role),
        attached_policies,
        inline_policies,
    );
    Ok(Some(LeftClusterRole {
        observed,
        instance_profiles,
        others_trusting_provider: others,
    }))
}

/// The cluster's account as `Observed`: its provider and a cluster role.
fn cluster_role_observed(
    provider: Option<crate::plan::ObservedProvider>,
    role: Option<ObservedRole>,
    attached_policies: BTreeSet<String>,
    inline_policies: std::collections::BTreeMap<String, serde_json::Value>,
) -> Observed {
    Observed {
        provider,
        role,
        attached_policies,
        inline_policies,
        namespace_exists: true,
        ..Observed::default()
    }
}

/// The cluster role is created under its boundary (the cluster-side policy
/// allows nothing else): whether it exists, checked before any write.
async fn cluster_boundary(
    req: &AddRequest,
    clients: &ClusterClients,
    identity: &Identity,
) -> Result<Option<(String, bool)>, Error> {
    let Some(wanted) = req.mode.cluster_role() else {
        return Ok(None);
    };
    let default = crate::plan::mode::of(req.mode.kind())
        .cluster_roles()
        .map(|roles| roles.boundary_arn(&identity.partition, &identity.account));
    let Some(arn) = wanted.cluster_permissions_boundary.clone().or(default) else {
        return Ok(None);
    };
    let exists = (clients.reads.policies)
        .get(arn.clone(), || iam::policy_exists(&clients.iam, &arn))
        .await
        .map_err(on_cluster)?;
    Ok(Some((arn, exists)))
}

/// The cluster role's inline policies and, when a mode without one takes the
/// name back (it is removed), its instance profiles and the other roles that
/// trust the cluster's provider.
async fn cluster_role_details(
    clients: &ClusterClients,
    cluster_role_name: &str,
    provider: Option<&crate::plan::ObservedProvider>,
    leaving: bool,
) -> Result<ClusterRoleDetails, Error> {
    let inline = async {
        Ok::<_, Error>(
            iam::inline_policy_documents(&clients.iam, cluster_role_name)
                .await
                .map_err(on_cluster)?,
        )
    };
    let profiles = async {
        match leaving {
            true => Ok::<_, Error>(
                iam::instance_profiles(&clients.iam, cluster_role_name)
                    .await
                    .map_err(on_cluster)?,
            ),
            false => Ok(Vec::new()),
        }
    };
    let others = async {
        match (provider, leaving) {
            (Some(p), true) => Ok::<_, Error>(
                iam::roles_trusting_now(&clients.iam, &p.arn)
                    .await
                    .map_err(on_cluster)?
                    .into_iter()
                    .filter(|r| r != cluster_role_name)
                    .collect(),
            ),
            _ => Ok(Vec::new()),
        }
    };
    tokio::try_join!(inline, profiles, others)
}

/// The cluster role's inline policies, instance profiles, and the other
/// roles that trust the cluster's provider.
type ClusterRoleDetails = (
    std::collections::BTreeMap<String, serde_json::Value>,
    Vec<String>,
    Vec<String>,
);

/// What `verify` checks of an onboarding just applied: the role the
/// ServiceAccounts name, and, when that is a cluster role, the klanker
/// role as its second hop.
pub fn applied_target(req: &AddRequest, add: &planned::AddPlan) -> crate::verify::Target {
    let klanker_role_arn = add.desired.role_arn.clone();
    let (role_arn, second_hop) = match &add.cluster_role_arn {
        Some(cluster_role) => (
            cluster_role.clone(),
            Some(crate::verify::SecondHop {
                klanker_role_name: req.role_name.clone(),
                klanker_role_arn,
                config_map: add
                    .config_map
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            }),
        ),
        None => (klanker_role_arn, None),
    };
    let mut target = crate::verify::Target {
        name: req.name.clone(),
        role_name: role_arn.rsplit('/').next().unwrap_or_default().to_string(),
        role_arn,
        namespace: req.sa_namespace.clone(),
        service_account: req.service_account.clone(),
        more: req.service_accounts().into_iter().skip(1).collect(),
        operator_policy: add.checked_policy(),
        partition: add.partition.clone(),
        account: add.account.clone(),
        fix_add: String::new(),
        second_hop,
        mode: req.mode.kind(),
    };
    // The `add` that writes this onboarding again, as `verify` prints it.
    target.fix_add =
        crate::inventory::intent::add_command_for(&req.name, req.mode.kind(), &target.subjects());
    if crate::plan::mode::of(req.mode.kind()).uses_associations() && !req.mode.session_tags {
        target.fix_add.push_str(" --disable-session-tags");
    }
    target
}

/// Tokens by ServiceAccount `(namespace, name)`.
pub type Tokens = std::collections::BTreeMap<(String, String), Result<String, NoToken>>;

/// An applier that also asks the cluster for the verification tokens as
/// soon as it has applied each ServiceAccount: in the cluster chain, side by
/// side with the IAM writes, so verifying adds no sequential round trip.
pub struct WithToken<'a, A> {
    pub inner: &'a A,
    /// None: no token is asked for (no verification, or no cluster).
    pub cluster: Option<&'a Cluster<'a>>,
    pub req: &'a AddRequest,
    pub tokens: std::sync::Mutex<Tokens>,
}

impl<A> WithToken<'_, A> {
    pub fn take_tokens(&self) -> Tokens {
        std::mem::take(&mut *crate::lock(&self.tokens))
    }
}

impl<A: crate::apply::Apply> crate::apply::Apply for WithToken<'_, A> {
    async fn apply(
        &self,
        target: crate::plan::Target,
        op: &crate::plan::Op,
        dry_run: bool,
    ) -> Result<Option<String>, Error> {
        let note = self.inner.apply(target, op, dry_run).await?;
        if let (
            crate::plan::Op::ApplyServiceAccount {
                namespace, name, ..
            },
            false,
            Some(cluster),
        ) = (op, dry_run, self.cluster)
        {
            let subject = (namespace.clone(), name.clone());
            let token = request_token(cluster, &subject).await;
            crate::lock(&self.tokens).insert(subject, token);
        }
        Ok(note)
    }
}

async fn request_token(
    cluster: &Cluster<'_>,
    (namespace, name): &(String, String),
) -> Result<String, NoToken> {
    cluster
        .request_token(namespace, name, STS_AUDIENCE, crate::verify::TOKEN_SECONDS)
        .await
        .map_err(NoToken::from)
}

/// The verification's facts after applying, for each ServiceAccount `add`
/// applies, in order: the token `WithToken` got (or, when the
/// ServiceAccount needed no change, one asked for now).
pub async fn after_apply(
    klanker: &KlankerClients,
    cluster: &Cluster<'_>,
    req: &AddRequest,
    issuer: &Issuer,
    mut tokens: Tokens,
) -> Result<Vec<((String, String), AfterApply)>, Error> {
    let each = req.service_accounts().into_iter().map(|subject| {
        let got = tokens.remove(&subject);
        async move {
            let token = match got {
                Some(token) => token,
                None => request_token(cluster, &subject).await,
            };
            let after = with_provider(klanker, issuer, token).await?;
            Ok::<_, Error>((subject, after))
        }
    });
    futures::future::try_join_all(each).await
}

/// The token, and the provider of its issuer when that is another one.
async fn with_provider(
    klanker: &KlankerClients,
    issuer: &Issuer,
    token: Result<String, NoToken>,
) -> Result<AfterApply, Error> {
    let token_issuer = token
        .as_ref()
        .ok()
        .and_then(|t| crate::trust::token::claims(t).ok())
        .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
    let other_provider = match token_issuer {
        Some(other) if &other != issuer => {
            iam::find_provider(&klanker.iam, &other)
                .await?
                .map(|p| ProviderFacts {
                    arn: p.arn,
                    client_ids: p.client_ids,
                })
        }
        _ => None,
    };
    Ok(AfterApply {
        token,
        other_provider,
    })
}

#[cfg(test)]
mod room_tests {
    use super::Room;

    #[test]
    fn roles_are_counted_beside_a_new_role_and_late_for_a_recorded_one() {
        let arn = "arn:aws:iam::333333333333:role/km-cluster-dev";
        assert_eq!(Room::of(true, None, "km-cluster-dev"), Room::Beside);
        assert_eq!(Room::of(true, Some(arn), "km-cluster-dev"), Room::IfMissing);
        // Recorded under another name (renamed --role-name): likely new.
        assert_eq!(Room::of(true, Some(arn), "km-cluster-prod"), Room::Beside);
        // A cluster role being left is never created.
        assert_eq!(Room::of(false, None, "km-irsa-dev"), Room::Never);
    }
}
