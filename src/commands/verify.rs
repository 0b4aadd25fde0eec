//! `verify NAME`: gather the facts of one trust chain (IAM, the cluster, a
//! fresh ServiceAccount token), check each link locally, then prove it with
//! STS AssumeRoleWithWebIdentity. The token is never printed.

use serde::Serialize;

use crate::aws::{KlankerClients, iam};
use crate::cli::{GlobalArgs, ReportOutput, VerifyArgs};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::kubeconfig;
use crate::output;
use crate::store;
use crate::trust::{Issuer, STS_AUDIENCE, token, validate};
use crate::verify::{self, Check, Facts, ProviderFacts, RoleFacts, Status};

/// Lifetime asked of the verification token: the API server's minimum.
const TOKEN_SECONDS: i64 = 600;
/// Session length IRSA SDKs request by default.
const DEFAULT_SESSION: u32 = 3600;

/// The onboarding to check.
pub struct Target {
    pub name: String,
    pub role_name: String,
    pub role_arn: String,
    pub namespace: String,
    pub service_account: String,
    pub operator_policy: String,
    pub partition: String,
    pub account: String,
}

/// A token kept only to hand to STS; Debug never shows it.
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Reads everything the local checks need. Errors reaching IAM or the
/// cluster become failed links where they are about the chain itself.
pub async fn gather(
    klanker: &KlankerClients,
    cluster: &Cluster<'_>,
    target: &Target,
) -> Result<(Facts, Option<Token>), Error> {
    let role = async {
        let found = iam::role_with_policies(&klanker.iam, &target.role_name).await?;
        Ok::<_, Error>(found.map(|(role, attached)| RoleFacts {
            arn: role.arn,
            trust_policy: role.trust_policy,
            max_session: role.max_session,
            attached_policies: attached,
        }))
    };
    let cluster_side = async {
        let sa = cluster
            .get_service_account(&target.namespace, &target.service_account)
            .await?;
        let token = match &sa {
            None => Err(format!(
                "ServiceAccount {}/{} does not exist",
                target.namespace, target.service_account
            )),
            Some(_) => cluster
                .request_token(
                    &target.namespace,
                    &target.service_account,
                    STS_AUDIENCE,
                    TOKEN_SECONDS,
                )
                .await
                .map_err(|e| e.to_string()),
        };
        Ok::<_, Error>((sa, token))
    };
    let (role, (sa, raw_token)) = tokio::try_join!(role, cluster_side)?;

    let claims = raw_token
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|t| token::claims(t).map_err(|e| e.to_string()));
    let issuer = claims
        .as_ref()
        .ok()
        .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
    let provider = match &issuer {
        Some(issuer) => iam::find_provider(&klanker.iam, issuer)
            .await?
            .map(|p| ProviderFacts {
                arn: p.arn,
                client_ids: p.client_ids,
            }),
        None => None,
    };
    // A provider registered with another spelling of the issuer (a trailing
    // slash) is named by its real ARN.
    let provider_arn_for_token = provider
        .as_ref()
        .map(|p| p.arn.clone())
        .or_else(|| issuer.map(|i| i.provider_arn(&target.partition, &target.account)));
    let facts = Facts {
        name: target.name.clone(),
        role_name: target.role_name.clone(),
        role_arn: target.role_arn.clone(),
        role,
        namespace: target.namespace.clone(),
        service_account: target.service_account.clone(),
        annotations: sa.map(|s| s.annotations),
        token: claims,
        provider,
        provider_arn_for_token,
        operator_policy: target.operator_policy.clone(),
        requested_session: DEFAULT_SESSION,
    };
    Ok((facts, raw_token.ok().map(Token)))
}

/// Text rendering: one line per link, the fix under each FAIL/WARN.
pub fn report_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let word = match check.status {
            Status::Ok => "OK  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("{word} {:<16} {}\n", check.link, check.message));
        if let (Some(fix), true) = (&check.fix, check.status != Status::Ok) {
            out.push_str(&format!("     {:<16} fix: {fix}\n", ""));
        }
    }
    out
}

/// The failed links, as the error that ends the command.
pub fn broken(checks: &[Check]) -> Result<(), Error> {
    let links: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.link.to_string())
        .collect();
    if links.is_empty() {
        Ok(())
    } else {
        Err(Error::BrokenChain { links })
    }
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    name: &'a str,
    role_arn: &'a str,
    ok: bool,
    checks: &'a [Check],
}

pub async fn run(global: &GlobalArgs, args: &VerifyArgs) -> Result<(), Error> {
    validate::registry_name(&args.name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    let store = store::open(global.config.as_deref())?;
    let config_doc = store.load()?;
    let entry = config_doc.get(&args.name);
    let kc = kubeconfig::load(global.kubeconfig.as_deref())?;
    let (klanker, _, hint) = super::klanker_clients(global, &args.aws).await?;

    let (roles, identity) = tokio::try_join!(
        async { iam::list_roles(&klanker.iam).await.map_err(Error::from) },
        super::klanker_identity(&klanker, hint),
    )?;
    let (partition, account) = (identity.partition.clone(), identity.account.clone());
    // The role is picked on proof (its tags); it also records NAME's cluster,
    // and only a context pointing at that cluster is checked.
    let located = super::locate(&klanker, &args.name, &roles, entry.as_ref()).await?;
    let onboarding = located.onboarding.clone();
    let role_name = located.role_name.clone();
    let context_name = super::context_for(
        &kc,
        &args.name,
        onboarding.as_ref(),
        global.context.as_deref(),
    )?;
    let ctx = kubeconfig::select_context(&kc, context_name.as_deref())?;
    super::guard_account(&args.aws, &identity, &store, ctx.eks.account.as_deref())?;
    // Nothing to verify: one error naming it, not a list of broken links.
    if onboarding.is_none() && entry.is_none() && !roles.iter().any(|r| r.role_name == role_name) {
        return Err(super::not_onboarded(
            "verify",
            &args.name,
            vec![
                format!("the IAM roles of klanker account {account}"),
                format!("{}", store.path().display()),
            ],
            &roles,
            &config_doc,
        ));
    }
    let client = k8s::client(kc, &ctx.context_name, global.timeout()).await?;
    let cluster = Cluster::new(&client, global.verbose);
    let role_arn = onboarding
        .as_ref()
        .map(|o| o.role_arn.clone())
        .or_else(|| entry.as_ref().map(|e| e.role_arn.clone()))
        .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/{role_name}"));
    // Which ServiceAccount: the subject the onboarding records (the trust
    // policy, else km-config.yaml), never one that merely carries our label
    // and annotation; for wildcard namespaces, the context's namespace.
    // km-config.yaml first: when the trust was changed by hand, checking
    // the subject the tool set up shows the mismatch.
    let recorded = entry
        .as_ref()
        .filter(|e| e.role_arn == role_arn)
        .map(|e| (e.namespace.clone(), e.service_account.clone()))
        .or_else(|| {
            onboarding
                .as_ref()
                .filter(|o| o.namespace != "?")
                .map(|o| (o.namespace.clone(), o.service_account.clone()))
        });
    let (namespace, service_account) = match recorded {
        Some((ns, sa)) if ns != "*" => (ns, sa),
        Some((_, sa)) => (
            ctx.namespace.clone().unwrap_or_else(|| "default".into()),
            sa,
        ),
        None => (
            ctx.namespace.clone().unwrap_or_else(|| "default".into()),
            "km".into(),
        ),
    };
    // Other ServiceAccounts annotated with this role are drift, never the target.
    let others: Vec<String> = cluster
        .managed_service_accounts()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|f| {
            f.observed
                .annotations
                .get(crate::trust::ROLE_ARN_ANNOTATION)
                .map(String::as_str)
                == Some(role_arn.as_str())
                && !(f.namespace == namespace && f.name == service_account)
        })
        .map(|f| format!("{}/{}", f.namespace, f.name))
        .collect();

    let target = Target {
        name: args.name.clone(),
        role_name,
        role_arn: role_arn.clone(),
        namespace,
        service_account,
        operator_policy: format!("arn:{partition}:iam::{account}:policy/km-operator-policy"),
        partition,
        account,
    };
    let (facts, token) = gather(&klanker, &cluster, &target).await?;
    let mut checks = verify::local_checks(&facts);
    if let Some(token) = &token {
        let jwks = cluster.read_jwks().await.map_err(|e| e.to_string());
        checks.extend(verify::signature_check(Some(&token.0), jwks));
    }
    checks.extend(verify::drift_checks(&args.name, &others, &located.notes()));

    // The final word: STS itself. Skipped when a local link is already broken,
    // since STS would only refuse (and a test peer might not).
    match (&token, verify::has_failure(&checks)) {
        (Some(token), false) => checks.push(
            match iam::assume_role_with_web_identity(&klanker.sts, &role_arn, &token.0).await {
                Ok(assumed) => Check {
                    link: "assume",
                    status: Status::Ok,
                    message: format!("AssumeRoleWithWebIdentity gave {} until {}", assumed.arn, assumed.expiration),
                    fix: None,
                },
                Err(err) => Check {
                    link: "assume",
                    status: Status::Fail,
                    message: format!("STS refused: {err}"),
                    fix: Some("see the checks above; if they all pass, IAM may need a minute more to propagate".into()),
                },
            },
        ),
        _ => checks.push(Check {
            link: "assume",
            status: Status::Warn,
            message: "AssumeRoleWithWebIdentity not attempted: fix the failures above first".into(),
            fix: Some("re-run verify after fixing".into()),
        }),
    }

    let ok = !verify::has_failure(&checks);
    match args.output {
        ReportOutput::Text => {
            println!("Verifying `{}` ({role_arn}):", args.name);
            print!("{}", report_text(&checks));
            if ok {
                println!("The trust chain works.");
            }
        }
        ReportOutput::Json | ReportOutput::Yaml => {
            let report = VerifyReport {
                name: &args.name,
                role_arn: &role_arn,
                ok,
                checks: &checks,
            };
            let format = match args.output {
                ReportOutput::Json => output::Structured::Json,
                _ => output::Structured::Yaml,
            };
            output::print_structured(&report, format);
        }
    }
    broken(&checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(format!("{:?}", Token("secret".into())), "Token(<redacted>)");
    }

    #[test]
    fn report_shows_fix_only_for_problems() {
        let checks = vec![
            Check {
                link: "role",
                status: Status::Ok,
                message: "fine".into(),
                fix: None,
            },
            Check {
                link: "trust",
                status: Status::Fail,
                message: "sub mismatch".into(),
                fix: Some("do x".into()),
            },
        ];
        let text = report_text(&checks);
        assert!(text.contains("OK   role"), "{text}");
        assert!(
            text.contains("FAIL trust            sub mismatch\n"),
            "{text}"
        );
        assert!(text.contains("fix: do x"), "{text}");
        assert!(matches!(broken(&checks), Err(Error::BrokenChain { links }) if links == ["trust"]));
    }
}
