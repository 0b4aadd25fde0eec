//! `describe NAME`: the live state of one onboarding, read-only: its role
//! (found on proof, as `verify` finds it), trust policy, attached policies,
//! the provider the trust names, the ServiceAccounts in its own cluster
//! that carry the role, and drift.

use crate::cli::{DescribeArgs, GlobalArgs};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::observe::describe::{self as observe, Provider, SeenAccount};
use crate::output::describe::{AccountView, Description, ProviderView, RoleView};
use crate::plan::describe::{self as plan, DriftFacts};
use crate::resolve::describe as resolve;
use crate::trust::{ROLE_ARN_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION};
use crate::{kubeconfig, output, store, verify};

pub async fn run(global: &GlobalArgs, args: &DescribeArgs) -> Result<(), Error> {
    // resolve
    let req = resolve::resolve(args)?;
    let store = store::open(global.config.as_deref())?;

    // observe: which onboarding (on proof), its role and provider.
    let (klanker, _, hint) = crate::observe::klanker_clients(global, &req.klanker).await?;
    let found =
        crate::observe::verify::onboarding(&klanker, hint, &req.name, store.load()?).await?;
    let onboarding = found.located.onboarding.as_ref();
    let role_name = &found.located.role_name;
    if onboarding.is_none()
        && found.entry.is_none()
        && !found.roles.iter().any(|r| &r.role_name == role_name)
    {
        return Err(crate::plan::lookup::not_onboarded(
            "describe",
            &req.name,
            vec![
                format!(
                    "the IAM roles of klanker account {}",
                    found.identity.account
                ),
                format!("{}", store.path().display()),
            ],
            &found.roles,
            &found.config,
        ));
    }
    let role = observe::role(&klanker, role_name).await?;
    let provider_arn = onboarding
        .map(|o| o.oidc_provider_arn.clone())
        .filter(|arn| !arn.is_empty())
        .or_else(|| {
            role.as_ref()
                .and_then(|(r, _)| plan::federated_principal(&r.trust_policy))
        });
    let provider = observe::provider(&klanker, provider_arn.as_deref()).await?;

    // observe: the cluster, only through a context pointing at NAME's own
    // cluster; what stops that is reported, not fatal (this only reads).
    let cluster_side = async {
        let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
        let context =
            crate::resolve::context_for(&kc, &req.name, onboarding, global.context.as_deref())?;
        let ctx = kubeconfig::select_context(&kc, context.as_deref())?;
        let target = verify::target(
            &req.name,
            &found.located,
            found.entry.as_ref(),
            &found.identity.partition,
            &found.identity.account,
            ctx.namespace.as_deref(),
        );
        let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
        let cluster =
            Cluster::new(&client, global.verbose).at(&ctx.context_name, ctx.server.as_deref());
        let seen = observe::service_accounts(&cluster, &target).await?;
        Ok::<_, Error>((ctx.context_name, target, seen))
    }
    .await;

    // plan: drift.
    let (context, target, seen, not_read) = match cluster_side {
        Ok((context, target, seen)) => (Some(context), Some(target), seen, None),
        Err(e) => (None, None, Vec::new(), Some(e.to_string())),
    };
    let is_subject = |sa: &SeenAccount| {
        target
            .as_ref()
            .is_some_and(|t| t.namespace == sa.namespace && t.service_account == sa.name)
    };
    let client_ids = match &provider {
        Provider::Found(p) => Some(Some(p.client_ids.as_slice())),
        Provider::Missing(_) => Some(None),
        Provider::Unknown => None,
    };
    let facts = DriftFacts {
        name: &req.name,
        role_name,
        role_arn: role.as_ref().map(|(r, _)| r.arn.as_str()),
        entry_role_arn: found.entry.as_ref().map(|e| e.role_arn.as_str()),
        provider: client_ids,
        provider_arn: provider_arn.as_deref(),
        subject: target.as_ref().map(|t| {
            let subject = seen.iter().find(|sa| is_subject(sa));
            (
                format!("{}/{}", t.namespace, t.service_account),
                subject.map(|sa| {
                    sa.observed
                        .annotations
                        .get(ROLE_ARN_ANNOTATION)
                        .map(String::as_str)
                }),
            )
        }),
        others: seen
            .iter()
            .filter(|sa| !is_subject(sa))
            .map(|sa| format!("{}/{}", sa.namespace, sa.name))
            .collect(),
        notes: found.located.notes(),
    };
    let drift = plan::drift(&facts);

    // render
    let description = Description {
        name: req.name.clone(),
        klanker_account: found.identity.account.clone(),
        role_name: role_name.clone(),
        role: role.as_ref().map(|(r, attached)| RoleView {
            arn: r.arn.clone(),
            max_session_seconds: r.max_session,
            tags: r.tags.clone(),
            permissions_boundary: r.permissions_boundary.clone(),
            trust_policy: r.trust_policy.clone(),
            attached_policies: attached.iter().cloned().collect(),
        }),
        oidc_provider: match &provider {
            Provider::Unknown => None,
            Provider::Missing(arn) => Some(ProviderView {
                arn: arn.clone(),
                exists: false,
                created_by_this_tool: None,
                client_ids: Vec::new(),
            }),
            Provider::Found(p) => Some(ProviderView {
                arn: p.arn.clone(),
                exists: true,
                created_by_this_tool: Some(crate::aws::iam::is_owned(&p.tags)),
                client_ids: p.client_ids.clone(),
            }),
        },
        context,
        service_accounts: seen
            .iter()
            .map(|sa| AccountView {
                namespace: sa.namespace.clone(),
                name: sa.name.clone(),
                trusted_subject: is_subject(sa),
                role_arn: sa.observed.annotations.get(ROLE_ARN_ANNOTATION).cloned(),
                token_expiration: sa
                    .observed
                    .annotations
                    .get(TOKEN_EXPIRATION_ANNOTATION)
                    .cloned(),
                created_by_this_tool: sa.observed.created_by_us(),
            })
            .collect(),
        cluster_not_read: not_read,
        drift,
    };
    output::describe::report(&description, req.output)
}
