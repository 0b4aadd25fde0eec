//! `verify [NAME]`: find the onboarding on proof, read the facts of its trust
//! chain (IAM, the cluster, a fresh ServiceAccount token), check each link
//! locally, then prove it with STS AssumeRoleWithWebIdentity. The token is
//! never printed; the command prints nothing and returns the checks.

use crate::aws::{AwsError, ClusterClients, KlankerClients, iam};
use crate::cli::VerifyArgs;
use crate::env::Env;
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::observe::verify::{self as observe, Chain};
use crate::plan::snapshot::Onboarding;
use crate::resolve::verify::{self as resolve, VerifyRequest};
use crate::resolve::{ClusterSide, IssuerSource};
use crate::verify::{self as checks, Check, Target};
use crate::{kubeconfig, observe as observing};

/// What `verify` found, link by link.
pub struct VerifyReport {
    pub request: VerifyRequest,
    /// The mode the onboarding was made in.
    pub mode: crate::trust::TrustMode,
    pub role_arn: String,
    pub checks: Vec<Check>,
}

/// One onboarding's verification: `name`, else the current context's.
pub async fn run(env: &Env, args: &VerifyArgs, name: Option<&str>) -> Result<VerifyReport, Error> {
    let global = &env.global;
    // resolve: with no NAME, the context's EKS cluster names it, as for `add`.
    let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
    let current = match name {
        Some(_) => None,
        None => Some(kubeconfig::select_context(&kc, global.context())?),
    };
    let req = resolve::resolve(args, name, current.as_ref())?;

    // observe: which onboarding, then (only in a context pointing at its
    // cluster) the facts of its chain.
    let config = env.store.load()?;
    config.refuse_ambiguous(env.store.path(), &req.name, false)?;
    let (klanker, hint) = observing::klanker_clients(env, &req.klanker).await?;
    let found = observe::onboarding(&klanker, hint, &req.name, config).await?;
    let onboarding = found.located.onboarding.as_ref();
    let context = crate::resolve::context_for(&kc, &req.name, onboarding, global.context())?;
    let ctx = kubeconfig::select_context(&kc, context.as_deref())?;
    let identity = &found.identity;
    let recorded = found.config.klanker_account();
    let cluster_account = ctx.eks.account.as_deref();
    req.klanker
        .check_account(&identity.account, recorded.as_deref(), cluster_account)?;
    // Nothing to verify: one error naming it, not a list of broken links.
    observing::require_onboarded("verify", &req.name, &found, env.store.path())?;
    let target = checks::target(
        &req.name,
        &found.located,
        found.entry.as_ref(),
        &identity.partition,
        &identity.account,
        ctx.namespace.as_deref(),
    );
    let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
    let cluster = Cluster::new(&client, env.verbose()).at(&ctx.context_name, ctx.server.as_deref());
    if crate::plan::mode::of(target.mode).uses_associations() {
        // Each fix's add writes the onboarding back as it was made: one made
        // with --disable-session-tags (its role's description says so) keeps
        // them off, where add's default would turn them back on.
        let mut target = target;
        if onboarding.and_then(|o| o.session_tags) == Some(false) {
            target.fix_add.push_str(" --disable-session-tags");
        }
        let checks = association_checks(env, &req, (&klanker, &cluster), &ctx, &target).await?;
        let mut checks = checks;
        checks.extend(checks::trust_drift_check(
            found.located.trust_drift.as_ref(),
        ));
        return Ok(VerifyReport {
            mode: target.mode,
            role_arn: target.role_arn,
            request: req,
            checks,
        });
    }
    let chains = read_chains(env, &req, (&klanker, &cluster), &ctx, &target).await?;

    // plan: every link that can be checked locally; apply: STS itself.
    let (mut checks, per_subject) = local_checks(&req, &found, &target, &chains);
    checks.extend(sts_checks(&klanker, &req, &target, &chains, &per_subject).await);
    Ok(VerifyReport {
        mode: target.mode,
        role_arn: target.role_arn,
        request: req,
        checks,
    })
}

/// Each ServiceAccount's chain, read side by side, and (with a cluster
/// role) the check that the cluster-side identity acts in its account.
async fn read_chains(
    env: &Env,
    req: &VerifyRequest,
    (klanker, cluster): (&KlankerClients, &Cluster<'_>),
    ctx: &kubeconfig::ContextInfo,
    target: &Target,
) -> Result<Vec<observe::Chain>, Error> {
    let cluster_iam = match &target.second_hop {
        None => None,
        Some(_) => Some(cluster_clients(env, req, ctx, target).await?),
    };
    // Several ServiceAccounts: each one's chain, read side by side.
    let subjects = target.subjects();
    let chains =
        futures::future::try_join_all(subjects.iter().map(|subject| {
            observe::chain(klanker, cluster_iam.as_ref(), cluster, target, subject)
        }));
    let cluster_side = async {
        match (&cluster_iam, &target.second_hop) {
            // The cluster role is what the ServiceAccount names.
            (Some(clients), Some(_)) => {
                observing::issuer::check_cluster_side(clients, &target.role_arn).await
            }
            _ => Ok(()),
        }
    };
    let (chains, ()) = tokio::try_join!(chains, cluster_side)?;
    Ok(chains)
}

/// An onboarding whose pods get credentials from EKS Pod Identity: its
/// links as its mode judges them, read in the cluster's account and EKS.
async fn association_checks(
    env: &Env,
    req: &VerifyRequest,
    (klanker, cluster): (&KlankerClients, &Cluster<'_>),
    ctx: &kubeconfig::ContextInfo,
    target: &Target,
) -> Result<Vec<Check>, Error> {
    let clients = cluster_clients(env, req, ctx, target).await?;
    let Some(cluster_name) = ctx.eks.cluster_name.as_deref() else {
        return Err(Error::cluster_role_unreachable(
            "checking",
            &req.name,
            &target.role_arn,
        ));
    };
    let (facts, ()) = tokio::try_join!(
        observe::association_facts(klanker, &clients, cluster, cluster_name, target),
        observing::issuer::check_cluster_side(&clients, &target.role_arn),
    )?;
    Ok(crate::plan::mode::of(target.mode).association_checks(&facts))
}

/// A second hop: the cluster role is read, and assumed, in the cluster's account.
async fn cluster_clients(
    env: &Env,
    req: &VerifyRequest,
    ctx: &kubeconfig::ContextInfo,
    target: &Target,
) -> Result<ClusterClients, Error> {
    let source = IssuerSource::from_context(ctx);
    let profile = req.cluster_profile.as_deref();
    let side = ClusterSide::of(source.as_ref(), profile, &req.klanker)
        .ok_or_else(|| Error::cluster_role_unreachable("checking", &req.name, &target.role_arn))?;
    observing::issuer::cluster_clients(&side, &env.access, env.verbose()).await
}

/// Each ServiceAccount's local links (merged: the shared ones said once),
/// then drift; and each one's own, which decide whether STS is asked.
fn local_checks(
    req: &VerifyRequest,
    found: &Onboarding,
    target: &Target,
    chains: &[Chain],
) -> (Vec<Check>, Vec<Vec<Check>>) {
    let per_subject: Vec<Vec<Check>> = chains
        .iter()
        .map(|chain| {
            let mut own = checks::local_checks(&chain.facts);
            if let Some(token) = &chain.token {
                own.extend(checks::signature_check(
                    Some(token.secret()),
                    chain.jwks.clone(),
                ));
            }
            own
        })
        .collect();
    let mut merged = checks::merge_subject_checks(per_subject.clone());
    let others = chains.first().map(|c| c.others.clone()).unwrap_or_default();
    merged.extend(checks::drift_checks(
        &req.name,
        &others,
        &found.located.notes(),
    ));
    merged.extend(checks::trust_drift_check(
        found.located.trust_drift.as_ref(),
    ));
    merged.extend(cluster_role_drift(found, target, chains));
    (merged, per_subject)
}

/// A second hop: the cluster role's trust, judged against what the tool
/// writes for the recorded ServiceAccounts (a hand-widened one still passes
/// the trust link, since it admits them too).
fn cluster_role_drift(found: &Onboarding, target: &Target, chains: &[Chain]) -> Option<Check> {
    target.second_hop.as_ref()?;
    let role = chains.first()?.facts.role.as_ref()?;
    let written = target.subjects();
    let diff = crate::inventory::intent::cluster_role_drift(&role.trust_policy, &written);
    if diff.is_empty() {
        return None;
    }
    let fix = match &found.located.onboarding {
        Some(o) => crate::inventory::intent::add_command(o, &written),
        None => target.fix_add.clone(),
    };
    checks::trust_drift_check(Some(&crate::inventory::Drift {
        name: found.located.role_name.clone(),
        problem: format!(
            "the trust policy of role {} in the cluster's account was changed by hand: {}",
            role.arn,
            diff.join("; ")
        ),
        fix: format!("{fix} (from that cluster's context) rewrites it"),
    }))
}

/// STS itself for each ServiceAccount, unless one of its local links is
/// already broken; with a second hop, the cluster role then the klanker role.
async fn sts_checks(
    klanker: &KlankerClients,
    req: &VerifyRequest,
    target: &Target,
    chains: &[Chain],
    per_subject: &[Vec<Check>],
) -> Vec<Check> {
    let shown = |r: Result<iam::AssumedRole, AwsError>| {
        r.map(|assumed| (assumed.arn, assumed.expiration))
            .map_err(|e| e.to_string())
    };
    let subjects = target.subjects();
    let mut out = Vec::new();
    for ((namespace, name), (chain, own)) in subjects.iter().zip(chains.iter().zip(per_subject)) {
        let token = chain.token.as_ref().filter(|_| !checks::has_failure(own));
        let named = |check: Check| match subjects.len() {
            1 => check,
            _ => checks::named_assume_check(&format!("{namespace}/{name}"), check),
        };
        match (&target.second_hop, token) {
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
                out.push(named(checks::assume_check(answer)));
            }
            (Some(hop), Some(token)) => {
                let (first, second) = iam::assume_chain(
                    &klanker.sts,
                    &target.role_arn,
                    token.secret(),
                    &hop.klanker_role_arn,
                    &req.name,
                )
                .await;
                out.push(named(checks::assume_check(Some(shown(first)))));
                out.push(named(checks::second_hop_assume_check(second.map(shown))));
            }
            (Some(_), None) => {
                out.push(named(checks::assume_check(None)));
                out.push(named(checks::second_hop_assume_check(None)));
            }
        }
    }
    out
}
