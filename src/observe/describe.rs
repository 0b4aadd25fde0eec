//! What `describe` reads, read-only: the role NAME's tags prove (with its
//! trust policy and attached policies), the provider its trust names, and
//! the ServiceAccounts in the onboarding's cluster that carry the role.

use std::collections::BTreeSet;

use crate::aws::{KlankerClients, iam};
use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::plan::ObservedRole;
use crate::plan::snapshot::{Onboarding, Provider, Seen, SeenAccount};
use crate::trust::ROLE_ARN_ANNOTATION;
use crate::verify::Target;
use crate::{kubeconfig, verify};

/// The role and the provider its trust names, then the cluster, only
/// through a context pointing at NAME's own cluster.
pub async fn observe(
    (global, access): (&GlobalArgs, &crate::aws::Access),
    (klanker, klanker_request): (&KlankerClients, &crate::resolve::Klanker),
    name: &str,
    found: &Onboarding,
) -> Result<Seen, Error> {
    let onboarding = found.located.onboarding.as_ref();
    let role = role(klanker, &found.located.role_name).await?;
    let provider_arn = onboarding
        .map(|o| o.oidc_provider_arn.clone())
        .filter(|arn| !arn.is_empty())
        .or_else(|| {
            role.as_ref()
                .and_then(|(r, _)| crate::plan::describe::federated_principal(&r.trust_policy))
        });
    let provider = provider(klanker, provider_arn.as_deref()).await?;
    let cluster = async {
        let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
        let context = crate::resolve::context_for(&kc, name, onboarding, global.context())?;
        let ctx = kubeconfig::select_context(&kc, context.as_deref())?;
        let target = verify::target(
            name,
            &found.located,
            found.entry.as_ref(),
            &found.identity.partition,
            &found.identity.account,
            ctx.namespace.as_deref(),
        );
        let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
        let cluster =
            Cluster::new(&client, global.verbose).at(&ctx.context_name, ctx.server.as_deref());
        let seen = service_accounts(&cluster, &target).await?;
        let links = match crate::plan::mode::of(target.mode).uses_associations() {
            true => {
                let reach = (access, klanker, klanker_request, global.verbose);
                Some(association_links(reach, &cluster, &ctx, &target).await)
            }
            false => None,
        };
        Ok::<_, Error>(((ctx.context_name, target, seen), links))
    }
    .await
    .map_err(|e| e.to_string());
    let (cluster, associations) = match cluster {
        Ok((cluster, links)) => (Ok(cluster), links),
        Err(why) => (Err(why.clone()), Some(Err(why))),
    };
    let associations = associations
        .filter(|_| onboarding.is_some_and(|o| crate::plan::mode::of(o.mode).uses_associations()));
    Ok(Seen {
        role,
        provider_arn,
        provider,
        cluster,
        associations,
    })
}

/// A Pod Identity onboarding's links, read with the cluster-side identity
/// the context names; why not, when it cannot be (reported, not fatal).
async fn association_links(
    (access, klanker, klanker_request, verbose): (
        &crate::aws::Access,
        &KlankerClients,
        &crate::resolve::Klanker,
        bool,
    ),
    cluster: &Cluster<'_>,
    ctx: &kubeconfig::ContextInfo,
    target: &Target,
) -> Result<verify::AssociationFacts, String> {
    let source = crate::resolve::IssuerSource::from_context(ctx);
    let (Some(side), Some(cluster_name)) = (
        crate::resolve::ClusterSide::of(source.as_ref(), None, klanker_request),
        ctx.eks.cluster_name.as_deref(),
    ) else {
        return Err(format!(
            "context {} names no EKS cluster and no identity in its account",
            ctx.context_name
        ));
    };
    let clients = super::issuer::cluster_clients(&side, access, verbose)
        .await
        .map_err(|e| e.to_string())?;
    super::verify::association_facts(klanker, &clients, cluster, cluster_name, target)
        .await
        .map_err(|e| e.to_string())
}

async fn role(
    klanker: &KlankerClients,
    role_name: &str,
) -> Result<Option<(ObservedRole, BTreeSet<String>)>, crate::error::Error> {
    Ok(iam::role_with_policies(&klanker.iam, role_name).await?)
}

async fn provider(
    klanker: &KlankerClients,
    arn: Option<&str>,
) -> Result<Provider, crate::error::Error> {
    let Some(arn) = arn else {
        return Ok(Provider::Unknown);
    };
    let registered = iam::list_providers(&klanker.iam).await?;
    match registered.iter().any(|r| r == arn) {
        true => Ok(Provider::Found(
            iam::describe_provider(&klanker.iam, arn).await?,
        )),
        false => Ok(Provider::Missing(arn.to_string())),
    }
}

/// The trusted ServiceAccounts (those that exist), then every other one
/// this tool labelled that is annotated with the role.
async fn service_accounts(
    cluster: &Cluster<'_>,
    target: &Target,
) -> Result<Vec<SeenAccount>, crate::error::Error> {
    let subjects = target.subjects();
    let reads = subjects.iter().map(|(ns, sa)| async move {
        cluster.get_service_account(ns, sa).await.map(|found| {
            found.map(|observed| SeenAccount {
                namespace: ns.clone(),
                name: sa.clone(),
                observed,
            })
        })
    });
    let (trusted, managed) = tokio::try_join!(
        futures::future::try_join_all(reads),
        cluster.managed_service_accounts(),
    )?;
    let mut seen: Vec<SeenAccount> = trusted.into_iter().flatten().collect();
    for found in managed {
        let same = subjects
            .iter()
            .any(|(ns, sa)| &found.namespace == ns && &found.name == sa);
        let annotated =
            found.observed.annotations.get(ROLE_ARN_ANNOTATION) == Some(&target.role_arn);
        if !same && annotated {
            seen.push(SeenAccount {
                namespace: found.namespace,
                name: found.name,
                observed: found.observed,
            });
        }
    }
    Ok(seen)
}
