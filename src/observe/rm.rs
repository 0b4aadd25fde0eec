//! `rm`'s reads: the onboarding in IAM (the role whose tags prove NAME
//! records NAME's cluster), then that cluster's ServiceAccounts, then the
//! role's details and the provider's ownership. The cluster may be gone,
//! which is no error for `rm`: the snapshot says why it was not read.

use std::sync::Arc;

use super::issuer::resolve_issuer;
use crate::aws::{Identity, KlankerClients, eks, iam};
use crate::error::{ClusterUnread, Error};
use crate::inventory::{self, Onboarding, RoleSummary};
use crate::k8s::{self, Cluster, KubeError};
use crate::kubeconfig::{self, ContextInfo};
use crate::plan::removal::{
    self, AssociationToRemove, ClusterView, LeftOverClues, ProviderToRemove, RemovalObserved,
    RoleToRemove, Seen,
};
use crate::resolve::IssuerSource;
use crate::resolve::rm::RmRequest;
use crate::store::{ClusterEntry, Store};

/// What exists of the onboarding, and what the removal acts through.
pub struct RmSnapshot {
    pub account: String,
    /// Every role in the klanker account (for "what is onboarded" in a NotFound).
    pub roles: Vec<RoleSummary>,
    /// What the user should know about other roles claiming the name.
    pub located_notes: Vec<String>,
    /// The context the cluster was looked at through.
    pub context: Option<String>,
    pub kube_client: Option<kube::Client>,
    /// Set when the cluster was to be read and could not be.
    pub unread: Option<ClusterUnread>,
    pub observed: RemovalObserved,
    /// The cluster account's clients, when the onboarding has a cluster role
    /// (it is removed there).
    pub cluster_account: Option<crate::aws::ClusterClients>,
}

/// The onboarding's side of the cluster's account, as `rm` reads it.
struct ClusterRoleSide {
    clients: crate::aws::ClusterClients,
    role: Option<RoleToRemove>,
    provider: Option<ProviderToRemove>,
    associations: Vec<AssociationToRemove>,
}

/// What the onboarding's mode wrote beside its cluster role, as `rm` reads it.
#[derive(Clone, Copy)]
struct Recorded<'a> {
    cluster_role_arn: &'a str,
    /// Its pods get credentials from EKS Pod Identity associations (of these subjects).
    associations: Option<&'a [(String, String)]>,
}

/// The cluster role and the provider it trusts, read with the cluster-side
/// identity (the context's EKS profile, or `--cluster-profile`).
async fn cluster_account(
    (request, access, kube_client): Reach<'_, '_>,
    ctx: Option<&ContextInfo>,
    recorded: Option<Recorded<'_>>,
) -> Result<Option<ClusterRoleSide>, Error> {
    let Some(recorded) = recorded else {
        return Ok(None);
    };
    let cluster_role_arn = recorded.cluster_role_arn;
    let role_name = cluster_role_arn
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let source = ctx.and_then(IssuerSource::from_context);
    let side =
        crate::resolve::ClusterSide::of(source.as_ref(), request.cluster_profile, &request.klanker)
            .ok_or_else(|| {
                Error::cluster_role_unreachable("changing", request.name, cluster_role_arn)
            })?;
    let clients = super::issuer::cluster_clients(&side, access, request.verbose).await?;
    let (role, ()) = tokio::try_join!(
        async {
            role_details(&clients.iam, &role_name)
                .await
                .map_err(|e| match e {
                    Error::Aws(e) => Error::Aws(e.on_side(crate::aws::Side::Cluster)),
                    other => other,
                })
        },
        super::issuer::check_cluster_side(&clients, cluster_role_arn),
    )?;
    let (role, trusted) = match role {
        Some((role, trust_policy)) => (Some(role), inventory::federated_principals(&trust_policy)),
        None => (None, Default::default()),
    };
    if let Some(subjects) = recorded.associations {
        // No provider in this mode: the cluster's associations instead.
        let Some(cluster) = ctx.and_then(|c| c.eks.cluster_name.as_deref()) else {
            return Err(Error::AssociationsUnreachable {
                name: request.name.to_string(),
                context: ctx.map(|c| c.context_name.clone()).unwrap_or_default(),
            });
        };
        let associations = associations(&clients, cluster, subjects).await?;
        return Ok(Some(ClusterRoleSide {
            clients,
            role,
            provider: None,
            associations,
        }));
    }
    let reach = (request, access, kube_client);
    let provider = cluster_provider(reach, ctx, &clients, trusted.into_iter().next(), &role_name);
    let provider = provider.await?;
    Ok(Some(ClusterRoleSide {
        clients,
        role,
        provider,
        associations: Vec::new(),
    }))
}

/// The provider the cluster role trusts, as `rm` removes it; the cluster
/// role gone (or never created), the cluster's issuer names it.
async fn cluster_provider(
    (request, access, kube_client): Reach<'_, '_>,
    ctx: Option<&ContextInfo>,
    clients: &crate::aws::ClusterClients,
    trusted: Option<String>,
    role_name: &str,
) -> Result<Option<ProviderToRemove>, Error> {
    let provider_arn = match (trusted, ctx.and_then(IssuerSource::from_context)) {
        (Some(arn), _) => Some(arn),
        (None, Some(source)) => {
            match resolve_issuer(&source, access, kube_client, "", request.verbose).await {
                Ok(resolved) => iam::list_providers(&clients.iam)
                    .await
                    .ok()
                    .and_then(|arns| crate::trust::matching_provider(&arns, &resolved.issuer)),
                Err(err) => {
                    issuer_unread(&err);
                    None
                }
            }
        }
        (None, None) => None,
    };
    let Some(arn) = provider_arn else {
        return Ok(None);
    };
    let roles = iam::list_roles(&clients.iam)
        .await
        .map_err(|e| e.on_side(crate::aws::Side::Cluster))?;
    Ok(match iam::provider_owned(&clients.iam, &arn).await {
        Ok(owned) => Some(ProviderToRemove {
            owned,
            trusted_by: inventory::roles_trusting(&roles, &arn, role_name)
                .into_iter()
                .map(str::to_string)
                .collect(),
            arn,
        }),
        // Gone already.
        Err(_) => None,
    })
}

/// The associations of the recorded ServiceAccounts in the cluster, as
/// `rm` removes them (only those whose tags prove the onboarding).
async fn associations(
    clients: &crate::aws::ClusterClients,
    cluster: &str,
    subjects: &[(String, String)],
) -> Result<Vec<AssociationToRemove>, Error> {
    let on_cluster = |e: crate::aws::AwsError| e.on_side(crate::aws::Side::Cluster);
    let (_, found) = eks::associations_of(&clients.eks, cluster, subjects)
        .await
        .map_err(on_cluster)?;
    Ok(found
        .into_iter()
        .map(|a| AssociationToRemove {
            cluster: cluster.to_string(),
            owner: a.tags.clone(),
            association: a,
        })
        .collect())
}

/// Reads everything `plan_removal` decides on. Stops before any write when
/// the klanker profile is in the wrong account, or when the cluster refuses
/// us (removing the IAM side then would leave its ServiceAccount pointing at
/// a deleted role).
pub async fn observe(
    request: &RmRequest<'_>,
    klanker: &KlankerClients,
    access: &crate::aws::Access,
    hint: Option<Identity>,
    store: &Store,
) -> Result<RmSnapshot, Error> {
    let name = request.name;
    let entry = request.entry.as_ref();
    // IAM first: the role whose tags prove NAME also records NAME's cluster.
    let (roles, providers, identity) = super::list::account(klanker, hint).await?;
    let ids = (identity.partition.as_str(), identity.account.as_str());
    let located = super::locate(klanker, name, &roles, entry).await?;
    let onboarding = located.onboarding.as_ref();
    let recorded = removal::recorded_onboarding(onboarding, entry, request.pending.as_ref());
    let context = checked_context(request, recorded.as_ref(), &identity.account, store)?;
    let ctx = context
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|(_, c)| c.clone());
    let recorded_subjects = removal::recorded_subjects(onboarding, entry);
    let (kube_client, read) = read_cluster(request, context, &recorded_subjects).await?;
    let ctx = ctx.as_ref();
    let seen = read.as_ref().and_then(|r| r.as_ref().ok());
    let found = Found {
        name,
        entry,
        onboarding,
        ids,
        ctx,
        seen,
        role_name: &located.role_name,
        roles: &roles,
        providers: &providers,
    };
    let reach = (request, access, kube_client.as_ref());
    let (role, provider, role_arn) = klanker_side(reach, klanker, &found).await?;
    let cluster_role_arn = cluster_role_arn(name, recorded.as_ref(), entry, seen);
    let recorded_ref = (recorded.as_ref(), recorded_subjects.as_slice());
    let (side, by_associations, writes_config_map) =
        cluster_side(reach, ctx, recorded_ref, cluster_role_arn.as_deref()).await?;
    // The ServiceAccounts are annotated with the cluster role when there is
    // one, and with no role when EKS associations serve them.
    let role_arn = match (by_associations, cluster_role_arn) {
        (true, _) => String::new(),
        (false, cluster_role) => cluster_role.unwrap_or(role_arn),
    };
    let (cluster, unread) = cluster_view(read, &role_arn, &recorded_subjects);
    let client = kube_client.as_ref().filter(|_| writes_config_map);
    let api = client.map(|c| Cluster::new(c, request.verbose));
    let config_maps = cluster_role_config_maps(api.as_ref(), recorded_ref, &cluster).await?;
    let (cluster_clients, cluster_role, cluster_provider, associations) = side
        .map(|c| (Some(c.clients), c.role, c.provider, c.associations))
        .unwrap_or_default();
    let observed = RemovalObserved {
        associations,
        cluster_role,
        cluster_provider,
        config_maps,
        name: name.to_string(),
        role_arn,
        role,
        provider,
        cluster,
        config_entry: entry.is_some(),
        pending: request.pending.clone(),
        keep: removal::keep_of(entry, onboarding, recorded.as_ref()),
    };
    Ok(RmSnapshot {
        cluster_account: cluster_clients,
        account: identity.account,
        located_notes: located.notes(),
        context: ctx.map(|c| c.context_name.clone()),
        kube_client,
        unread,
        roles,
        observed,
    })
}

/// The cluster's account as the recorded mode wrote it, with whether EKS
/// associations serve the ServiceAccounts and whether a ConfigMap was written.
async fn cluster_side(
    reach: Reach<'_, '_>,
    ctx: Option<&ContextInfo>,
    (recorded, subjects): (Option<&Onboarding>, &[(String, String)]),
    cluster_role_arn: Option<&str>,
) -> Result<(Option<ClusterRoleSide>, bool, bool), Error> {
    let mode = recorded.map(|o| crate::plan::mode::of(o.mode));
    let by_associations = mode.is_some_and(|m| m.uses_associations());
    let wrote = cluster_role_arn.map(|arn| Recorded {
        cluster_role_arn: arn,
        associations: by_associations.then_some(subjects),
    });
    let side = cluster_account(reach, ctx, wrote).await?;
    // A ConfigMap is written beside a cluster role, in a mode that writes
    // one (a failed `add` that recorded no mode may have left one).
    let writes_config_map =
        cluster_role_arn.is_some() && mode.is_none_or(|m| m.config_map(None).is_some());
    Ok((side, by_associations, writes_config_map))
}

/// What `rm`'s later reads go through: the request, the AWS access, the
/// cluster's client when it was reached.
type Reach<'a, 'r> = (
    &'a RmRequest<'r>,
    &'a crate::aws::Access,
    Option<&'a kube::Client>,
);

/// What the first reads found, for the reads that depend on them.
struct Found<'a> {
    name: &'a str,
    entry: Option<&'a ClusterEntry>,
    onboarding: Option<&'a Onboarding>,
    role_name: &'a str,
    ids: (&'a str, &'a str),
    roles: &'a [RoleSummary],
    providers: &'a [String],
    ctx: Option<&'a ContextInfo>,
    seen: Option<&'a Vec<Seen>>,
}

/// The klanker role and the klanker-account provider as `rm` removes them
/// (the recorded provider, else one a failed `add` left), and the role's ARN.
async fn klanker_side(
    reach: Reach<'_, '_>,
    klanker: &KlankerClients,
    found: &Found<'_>,
) -> Result<(Option<RoleToRemove>, Option<ProviderToRemove>, String), Error> {
    let default_role_arn = || {
        format!(
            "arn:{}:iam::{}:role/{}",
            found.ids.0, found.ids.1, found.role_name
        )
    };
    let expected_role_arn = found
        .onboarding
        .map(|o| o.role_arn.clone())
        .or_else(|| found.entry.map(|e| e.role_arn.clone()))
        .unwrap_or_else(default_role_arn);
    let role_exists = found.roles.iter().any(|r| r.role_name == found.role_name);
    let named = removal::named_provider(found.onboarding, found.entry, found.ids, found.providers);
    let clues = LeftOverClues {
        provider_named: named.is_some(),
        role_exists,
        config_entry: found.entry.is_some(),
        seen: found.seen.map(Vec::as_slice),
        expected_role_arn: &expected_role_arn,
        context_is_named_cluster: found
            .ctx
            .is_some_and(|c| c.eks.cluster_name.as_deref() == Some(found.name)),
    };
    let provider_arn = match (
        named,
        removal::look_for_left_over_provider(&clues),
        found.ctx,
    ) {
        (Some(arn), _, _) => Some(arn),
        (None, true, Some(ctx)) => left_over_provider(reach, ctx, found.ids, found.providers).await,
        (None, _, _) => None,
    };

    let role_name = found.role_name;
    let (role, provider) =
        role_and_provider(klanker, found.roles, role_name, role_exists, provider_arn).await?;
    let role_arn = role
        .as_ref()
        .map(|r| r.arn.clone())
        .unwrap_or(expected_role_arn);
    Ok((role, provider, role_arn))
}

type Context = (kube::config::Kubeconfig, ContextInfo);

/// The cluster as `rm` saw it: its ServiceAccounts of this onboarding
/// (annotated with `annotated_role` or recorded), kept, or unreachable.
fn cluster_view(
    read: Read,
    annotated_role: &str,
    recorded_subjects: &[(String, String)],
) -> (ClusterView, Option<ClusterUnread>) {
    match read {
        None => (ClusterView::Kept, None),
        Some(Ok(seen)) => (
            ClusterView::Found(removal::service_accounts_of(
                seen,
                annotated_role,
                recorded_subjects,
            )),
            None,
        ),
        Some(Err(why)) => (ClusterView::Unreachable(why.to_string()), Some(why)),
    }
}

/// The cluster's ServiceAccounts, or why they could not be read; None when
/// they are not to be read.
type Read = Option<Result<Vec<Seen>, ClusterUnread>>;

/// The ServiceAccounts, when the cluster is to be read (None:
/// --keep-service-account), through a client the executor reuses. A
/// cluster that refuses us stops `rm` here, before any write.
async fn read_cluster(
    request: &RmRequest<'_>,
    context: Option<Result<Context, ClusterUnread>>,
    recorded: &[(String, String)],
) -> Result<(Option<kube::Client>, Read), Error> {
    let (kc, ctx) = match context {
        None => return Ok((None, None)),
        Some(Err(why)) => return Ok((None, Some(Err(why)))),
        Some(Ok(context)) => context,
    };
    let client = match k8s::client(kc, &ctx.context_name, request.timeout).await {
        Ok(client) => client,
        Err(e) => return Ok((None, Some(Err(ClusterUnread::Kube(Arc::new(e)))))),
    };
    let cluster =
        Cluster::new(&client, request.verbose).at(&ctx.context_name, ctx.server.as_deref());
    match read_service_accounts(&cluster, recorded).await {
        Err(denied @ KubeError::Forbidden { .. }) => Err(Error::Kube(denied)),
        read => {
            let read = read.map_err(|e| ClusterUnread::Kube(Arc::new(e)));
            Ok((Some(client), Some(read)))
        }
    }
}

/// The context `rm` reads the cluster through (None: --keep-service-account),
/// once the klanker identity is known to be in the right account for it.
fn checked_context(
    request: &RmRequest<'_>,
    recorded: Option<&inventory::Onboarding>,
    account: &str,
    store: &Store,
) -> Result<Option<Result<Context, ClusterUnread>>, Error> {
    let context = match request.keep_service_account {
        true => None,
        false => Some(choose_context(request, recorded)?),
    };
    let ctx = context.as_ref().and_then(|c| c.as_ref().ok());
    request.klanker.check_account(
        account,
        store.load()?.klanker_account().as_deref(),
        ctx.and_then(|(_, c)| c.eks.account.as_deref()),
    )?;
    Ok(context)
}

/// The context that points at NAME's recorded cluster (never another one),
/// or why there is none to read. A `--context` naming another cluster is an
/// error, as for any other command.
fn choose_context(
    request: &RmRequest<'_>,
    recorded: Option<&inventory::Onboarding>,
) -> Result<Result<Context, ClusterUnread>, Error> {
    let kc = match kubeconfig::load(request.kubeconfig) {
        Ok(kc) => kc,
        Err(e) => return Ok(Err(ClusterUnread::Kubeconfig(Arc::new(e)))),
    };
    let Some(name) = crate::resolve::context_for(&kc, request.name, recorded, request.context)?
    else {
        return Ok(Err(ClusterUnread::NoContext));
    };
    Ok(kubeconfig::select_context(&kc, Some(&name))
        .map(|ctx| (kc, ctx))
        .map_err(|e| ClusterUnread::Kubeconfig(Arc::new(e))))
}

/// The labelled ServiceAccounts and the recorded ones, read side by side.
async fn read_service_accounts(
    cluster: &Cluster<'_>,
    recorded: &[(String, String)],
) -> Result<Vec<Seen>, KubeError> {
    let listed = async {
        cluster.managed_service_accounts().await.map(|found| {
            found
                .into_iter()
                .map(|f| Seen {
                    namespace: f.namespace,
                    name: f.name,
                    observed: f.observed,
                })
                .collect::<Vec<_>>()
        })
    };
    let direct = futures::future::try_join_all(recorded.iter().map(|(ns, sa)| async move {
        cluster.get_service_account(ns, sa).await.map(|o| {
            o.map(|observed| Seen {
                namespace: ns.clone(),
                name: sa.clone(),
                observed,
            })
        })
    }));
    // Both are awaited before judging, so a refusal of either wins over
    // another failure (it names the missing permission).
    let (listed, direct) = tokio::join!(listed, direct);
    match (listed, direct) {
        (Ok(listed), Ok(direct)) => Ok(removal::merge_seen(listed, direct)),
        (Err(denied @ KubeError::Forbidden { .. }), _)
        | (_, Err(denied @ KubeError::Forbidden { .. })) => Err(denied),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// The provider a failed `add` left, found through this context's issuer;
/// None when the issuer cannot be read (said with --verbose).
async fn left_over_provider(
    (request, access, kube_client): Reach<'_, '_>,
    ctx: &ContextInfo,
    (partition, account): (&str, &str),
    providers: &[String],
) -> Option<String> {
    let source = IssuerSource::from_context(ctx)?;
    match resolve_issuer(&source, access, kube_client, "", request.verbose).await {
        Ok(resolved) => Some(resolved.issuer.provider_arn(partition, account))
            .filter(|arn| providers.contains(arn)),
        Err(err) => {
            issuer_unread(&err);
            None
        }
    }
}

/// The role's details and the provider's ownership, side by side.
async fn role_and_provider(
    klanker: &KlankerClients,
    roles: &[RoleSummary],
    role_name: &str,
    role_exists: bool,
    provider_arn: Option<String>,
) -> Result<(Option<RoleToRemove>, Option<ProviderToRemove>), Error> {
    let (role, provider_owned) = tokio::try_join!(
        async {
            match role_exists {
                true => Ok(role_details(&klanker.iam, role_name)
                    .await?
                    .map(|(role, _)| role)),
                false => Ok(None),
            }
        },
        async {
            match &provider_arn {
                Some(arn) => iam::provider_owned(&klanker.iam, arn)
                    .await
                    .map(Some)
                    .map_err(Error::from),
                None => Ok(None),
            }
        },
    )?;
    let provider = match (provider_arn, provider_owned) {
        (Some(arn), Some(owned)) => Some(ProviderToRemove {
            owned,
            trusted_by: inventory::roles_trusting(roles, &arn, role_name)
                .into_iter()
                .map(str::to_string)
                .collect(),
            arn,
        }),
        _ => None,
    };
    Ok((role, provider))
}

/// The onboarding's cluster role: as recorded (the role's tags,
/// km-config.yaml), else, after an `add` that failed before the klanker role
/// and the entry were written, the ServiceAccount it left annotated with the
/// cluster role's default name.
fn cluster_role_arn(
    name: &str,
    recorded: Option<&Onboarding>,
    entry: Option<&ClusterEntry>,
    seen: Option<&Vec<Seen>>,
) -> Option<String> {
    let left_by_failed_add = || {
        let defaults: Vec<String> = crate::plan::mode::all()
            .filter_map(|(_, mode)| mode.cluster_roles())
            .map(|roles| roles.default_name(name))
            .collect();
        seen.into_iter().flatten().find_map(|s| {
            s.observed
                .annotations
                .get(crate::trust::ROLE_ARN_ANNOTATION)
                .filter(|arn| {
                    let role = arn.rsplit('/').next().unwrap_or_default();
                    defaults.iter().any(|d| d == role)
                })
                .filter(|_| s.observed.created_by_us())
                .cloned()
        })
    };
    recorded
        .and_then(|o| o.cluster_role_arn.clone())
        .or_else(|| entry.and_then(|e| e.cluster_role_arn.clone()))
        .or_else(left_by_failed_add)
}

/// The ConfigMap written beside the cluster role, next to the recorded
/// ServiceAccounts and the ones found annotated, by the name the role
/// recorded (the printed RBAC grants no list).
async fn cluster_role_config_maps(
    cluster: Option<&Cluster<'_>>,
    (recorded, recorded_subjects): (Option<&Onboarding>, &[(String, String)]),
    view: &ClusterView,
) -> Result<Vec<crate::plan::ObservedConfigMap>, Error> {
    // Only a cluster that was read shows where they are (and only a mode
    // with a cluster role that writes one puts them there).
    let (Some(cluster), ClusterView::Found(found)) = (cluster, view) else {
        return Ok(Vec::new());
    };
    let namespaces: std::collections::BTreeSet<String> = recorded_subjects
        .iter()
        .map(|(ns, _)| ns.clone())
        .chain(found.iter().map(|f| f.namespace.clone()))
        .collect();
    let config_map = recorded
        .and_then(|o| o.config_map.clone())
        .unwrap_or_else(|| crate::trust::chain::DEFAULT_CONFIG_MAP.to_string());
    let mut maps = Vec::new();
    for ns in &namespaces {
        maps.extend(cluster.get_config_map(ns, &config_map).await?);
    }
    Ok(maps)
}

/// The role as `rm` removes it, and its trust policy (a cluster role's
/// names the cluster's provider), from one GetRole.
async fn role_details(
    iam_client: &aws_sdk_iam::Client,
    role_name: &str,
) -> Result<Option<(RoleToRemove, serde_json::Value)>, Error> {
    let Some(role) = iam::get_role(iam_client, role_name).await? else {
        return Ok(None);
    };
    let (attached, inline, profiles) = tokio::try_join!(
        iam::attached_policies(iam_client, role_name),
        iam::inline_policies(iam_client, role_name),
        iam::instance_profiles(iam_client, role_name),
    )?;
    Ok(Some((
        RoleToRemove {
            role_name: role_name.to_string(),
            arn: role.arn,
            owned: crate::trust::is_owned(&role.tags),
            name_tag: role.tags.get(crate::trust::NAME_TAG).cloned(),
            attached_policies: attached,
            inline_policies: inline,
            instance_profiles: profiles,
        },
        role.trust_policy,
    )))
}

/// For `--verbose`: why no left-over provider could be looked for.
fn issuer_unread(err: &Error) {
    tracing::debug!(
        "  could not read this cluster's issuer to look for a left-over provider: {err}"
    );
}
