//! `verify [NAME]`: find the onboarding on proof, read the facts of its trust
//! chain (IAM, the cluster, a fresh ServiceAccount token), check each link
//! locally, then prove it with STS AssumeRoleWithWebIdentity. The token is
//! never printed.

use crate::aws::iam;
use crate::cli::VerifyArgs;
use crate::env::Env;
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::observe::verify as observe;
use crate::resolve::verify as resolve;
use crate::resolve::{ClusterSide, IssuerSource};
use crate::{kubeconfig, output, verify};

pub async fn run(env: &Env, args: &VerifyArgs) -> Result<(), Error> {
    let global = &env.global;
    // resolve: with no NAME, the context's EKS cluster names it, as for `add`.
    let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
    let current = match &args.name {
        Some(_) => None,
        None => Some(kubeconfig::select_context(&kc, global.context.as_deref())?),
    };
    let req = resolve::resolve(args, current.as_ref())?;
    let store = &env.store;

    // observe: which onboarding, then (only in a context pointing at its
    // cluster) the facts of its chain.
    let (klanker, hint) = crate::observe::klanker_clients(env, &req.klanker).await?;
    let access = &env.access;
    let found = observe::onboarding(&klanker, hint, &req.name, store.load()?).await?;
    let onboarding = found.located.onboarding.as_ref();
    let context =
        crate::resolve::context_for(&kc, &req.name, onboarding, global.context.as_deref())?;
    let ctx = kubeconfig::select_context(&kc, context.as_deref())?;
    let identity = &found.identity;
    req.klanker.check_account(
        &identity.account,
        found.config.klanker_account().as_deref(),
        ctx.eks.account.as_deref(),
    )?;
    // Nothing to verify: one error naming it, not a list of broken links.
    crate::observe::require_onboarded("verify", &req.name, &found, store.path())?;
    let target = verify::target(
        &req.name,
        &found.located,
        found.entry.as_ref(),
        &identity.partition,
        &identity.account,
        ctx.namespace.as_deref(),
    );
    let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
    let cluster =
        Cluster::new(&client, global.verbose).at(&ctx.context_name, ctx.server.as_deref());
    // Chained mode: role A is read, and assumed, in the cluster's account.
    let cluster_account = match &target.chained {
        None => None,
        Some(_) => {
            let source = IssuerSource::from_context(&ctx);
            let side = ClusterSide::of(
                source.as_ref(),
                req.cluster_profile.as_deref(),
                &req.klanker,
            )
            .ok_or_else(|| Error::chained_role_unreachable(&req.name, &target.role_arn))?;
            Some(crate::observe::issuer::cluster_clients(&side, access, global.verbose).await?)
        }
    };
    // Several ServiceAccounts: each one's chain, read side by side.
    let subjects = target.subjects();
    let chains = futures::future::try_join_all(subjects.iter().map(|subject| {
        observe::chain(
            &klanker,
            cluster_account.as_ref(),
            &cluster,
            &target,
            subject,
        )
    }))
    .await?;

    // plan: every link that can be checked locally, for each ServiceAccount.
    let per_subject: Vec<Vec<verify::Check>> = chains
        .iter()
        .map(|chain| {
            let mut checks = verify::local_checks(&chain.facts);
            if let Some(token) = &chain.token {
                checks.extend(verify::signature_check(
                    Some(token.secret()),
                    chain.jwks.clone(),
                ));
            }
            checks
        })
        .collect();
    let mut checks = verify::merge_subject_checks(per_subject.clone());
    let others = chains.first().map(|c| c.others.clone()).unwrap_or_default();
    checks.extend(verify::drift_checks(
        &req.name,
        &others,
        &found.located.notes(),
    ));

    // apply: STS itself for each ServiceAccount, unless one of its local
    // links is already broken; in chained mode, role A then role B.
    let shown = |r: Result<iam::AssumedRole, crate::aws::AwsError>| {
        r.map(|assumed| (assumed.arn, assumed.expiration))
            .map_err(|e| e.to_string())
    };
    for ((namespace, name), (chain, own)) in subjects.iter().zip(chains.iter().zip(&per_subject)) {
        let token = chain.token.as_ref().filter(|_| !verify::has_failure(own));
        let named = |check: verify::Check| match subjects.len() {
            1 => check,
            _ => verify::named_assume_check(&format!("{namespace}/{name}"), check),
        };
        match (&target.chained, token) {
            (None, token) => {
                let answer = match token {
                    Some(token) => Some(shown(
                        iam::assume_role_with_web_identity(
                            &klanker.sts,
                            &target.role_arn,
                            token.secret(),
                        )
                        .await,
                    )),
                    None => None,
                };
                checks.push(named(verify::assume_check(answer)));
            }
            (Some(chained), Some(token)) => {
                let (first, second) = iam::assume_chain(
                    &klanker.sts,
                    &target.role_arn,
                    token.secret(),
                    &chained.klanker_role_arn,
                    &req.name,
                )
                .await;
                checks.push(named(verify::assume_check(Some(shown(first)))));
                checks.push(named(verify::chained_assume_check(second.map(shown))));
            }
            (Some(_), None) => {
                checks.push(named(verify::assume_check(None)));
                checks.push(named(verify::chained_assume_check(None)));
            }
        }
    }

    // render
    output::verify::report(&req.name, &target.role_arn, &checks, req.output)?;
    Error::broken_chain(&checks)
}
