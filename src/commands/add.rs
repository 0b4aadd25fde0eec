//! `add`: resolve the context, look at what exists (concurrently), plan,
//! confirm, apply step by step, report. All decisions live in `plan`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::issuer::{Expect, IssuerSource, Resolved, resolve_issuer};
use crate::aws::{self, iam};
use crate::cli::{AddArgs, AddOutput, GlobalArgs};
use crate::error::Error;
use crate::k8s::{self, Cluster};
use crate::kubeconfig::{self, ContextInfo};
use crate::output;
use crate::plan::{self, Desired, DesiredCluster, Observed, RegisterMode};
use crate::store::{self, ClusterEntry};
use crate::trust::{
    self, Issuer, MANAGED_BY_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAME_TAG, OidcProviderArn,
    ROLE_ARN_ANNOTATION, STS_AUDIENCE, TOKEN_EXPIRATION_ANNOTATION, TrustScope, validate,
};

/// Flags checked before anything touches the network.
struct Inputs {
    name: String,
    role_name: String,
    scope: TrustScope,
    sa_namespace: String,
    source: IssuerSource,
    tags: BTreeMap<String, String>,
    policy_arns: Vec<String>,
}

fn validate_inputs(args: &AddArgs, ctx: &ContextInfo) -> Result<Inputs, Error> {
    validate::region(&args.aws.region, "--region")?;
    validate::session_duration(args.session_duration)?;
    validate::service_account_pattern(&args.service_account, args.allow_wide_trust)?;
    if args.service_account.contains(['*', '?']) && args.output == AddOutput::Manifest {
        return Err(trust::ValidationError::new(
            "--service-account",
            &args.service_account,
            "a wildcard names no single ServiceAccount to print",
            "Use -o text, and annotate the matching ServiceAccounts yourself.",
        )
        .into());
    }
    for arn in &args.policy_arns {
        trust::arn::parse_policy_arn(arn, "--policy-arn")?;
    }
    if let Some(b) = &args.permissions_boundary {
        trust::arn::parse_policy_arn(b, "--permissions-boundary")?;
    }
    let tags = validate::tag_set(
        &args.tags,
        &[
            MANAGED_BY_TAG,
            NAME_TAG,
            trust::CLUSTER_TAG,
            trust::SERVER_TAG,
        ],
    )?;
    if let Some(r) = &args.cluster_region {
        validate::region(r, "--cluster-region")?;
    }

    let cluster_name = args
        .cluster_name
        .clone()
        .or_else(|| ctx.eks.cluster_name.clone());
    let source = if let Some(url) = &args.issuer_url {
        IssuerSource::Given {
            issuer: Issuer::parse(url, "--issuer-url")?,
            cluster_account: None,
        }
    } else if let Some(arn) = &args.oidc_provider_arn {
        let parsed = OidcProviderArn::parse(arn, "--oidc-provider-arn")?;
        IssuerSource::Given {
            issuer: parsed.issuer,
            cluster_account: Some(parsed.account),
        }
    } else if cluster_name.is_none() {
        // Not EKS: the API server's discovery document names the issuer, but
        // only a --name can name the registry entry.
        if args.name.is_none() {
            return Err(Error::NotEks {
                context: ctx.context_name.clone(),
            });
        }
        IssuerSource::Discover
    } else {
        let Some(name) = cluster_name.clone() else {
            return Err(Error::NotEks {
                context: ctx.context_name.clone(),
            });
        };
        let region = args
            .cluster_region
            .clone()
            .or_else(|| ctx.eks.region.clone())
            .ok_or_else(|| Error::NoClusterRegion {
                context: ctx.context_name.clone(),
            })?;
        validate::region(&region, "cluster region")?;
        let role_arn = ctx.eks.role_arn.clone();
        if let Some(arn) = &role_arn {
            trust::arn::parse_role_arn(arn, "the context's --role-arn")?;
        }
        // Flags that name the cluster replace what the context says.
        let expect = if args.cluster_name.is_some() || args.cluster_region.is_some() {
            Expect {
                context: ctx.context_name.clone(),
                ..Expect::default()
            }
        } else {
            Expect::of(ctx)
        };
        IssuerSource::Eks {
            name,
            region,
            profile: args
                .cluster_profile
                .clone()
                .or_else(|| ctx.eks.profile.clone()),
            role_arn,
            expect,
        }
    };

    let name = match args.name.clone().or(cluster_name) {
        Some(name) => name,
        None => {
            return Err(trust::ValidationError::new(
                "--name",
                "",
                "it is required when the context does not name an EKS cluster",
                "Pass --name NAME; the role will be km-cluster-NAME.",
            )
            .into());
        }
    };
    validate::registry_name(&name)?;
    let role_name = match &args.role_name {
        Some(r) => {
            validate::role_name(r, "--role-name")?;
            r.clone()
        }
        None => {
            let r = trust::default_role_name(&name);
            validate::role_name(&r, "--name")?;
            r
        }
    };
    let namespace = args
        .namespace
        .clone()
        .or_else(|| ctx.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    validate::namespace(&namespace)?;
    let scope = TrustScope::new(&namespace, &args.service_account);
    // The longer of the two descriptions the role can get.
    validate::description(&trust::role_description(&name, &scope, true), &name)?;
    // A wildcard trust still needs a real namespace to hold the ServiceAccount.
    let sa_namespace = scope
        .namespace
        .clone()
        .or_else(|| ctx.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    Ok(Inputs {
        name,
        role_name,
        scope,
        sa_namespace,
        source,
        tags,
        policy_arns: args.policy_arns.clone(),
    })
}

#[derive(Debug, Serialize)]
struct AddReport<'a> {
    name: &'a str,
    dry_run: bool,
    applied: bool,
    klanker_account: &'a str,
    role_name: &'a str,
    role_arn: &'a str,
    oidc_provider_arn: &'a str,
    issuer: String,
    namespace: &'a str,
    service_account_namespace: &'a str,
    service_account: &'a str,
    config_path: String,
    plan: &'a [plan::Step],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    /// Removals and releases done (or, after a last re-check, not done).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    results: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a [crate::verify::Check]>,
}

pub async fn run(global: &GlobalArgs, args: &AddArgs) -> Result<(), Error> {
    let verbose = global.verbose;
    let kubeconfig = kubeconfig::load(global.kubeconfig.as_deref())?;
    let ctx = kubeconfig::select_context(&kubeconfig, global.context.as_deref())?;
    let inputs = validate_inputs(args, &ctx)?;
    if let IssuerSource::Eks {
        profile: Some(p), ..
    } = &inputs.source
    {
        aws::check_profile_exists(p, "--cluster-profile").await?;
        // Its MFA or SSO trouble is said before the klanker side's first call.
        aws::preflight(p, global.mfa_code.clone(), crate::output::interactive()).await?;
    }
    let store = store::open(global.config.as_deref())?;
    let manifest_only = args.output == AddOutput::Manifest;
    if verbose {
        eprintln!(
            "context {} (cluster {}), trust {}, config {}",
            ctx.context_name,
            ctx.server.as_deref().unwrap_or("?"),
            inputs.scope.subject(),
            store.path().display()
        );
    }

    // Clients are built once here and passed down.
    let (klanker, access, hint) = super::klanker_clients(global, &args.aws).await?;
    // The cluster is contacted to apply the ServiceAccount, or, for a cluster
    // that is not EKS, to read its issuer; `-o manifest` otherwise leaves it alone.
    let discover = matches!(inputs.source, IssuerSource::Discover);
    let kube_client = if manifest_only && !discover {
        None
    } else {
        Some(k8s::client(kubeconfig, &ctx.context_name, global.timeout()).await?)
    };
    let applies_service_account = !manifest_only && !inputs.scope.service_account_is_wildcard();
    let cluster = kube_client
        .as_ref()
        .filter(|_| applies_service_account)
        .map(|client| Cluster::new(client, verbose));

    // Every read at once, in one round where possible: the issuer, who we are
    // in the klanker account (and, from that, whether the policies exist), the
    // role and its policies, the account's providers, the cluster's state. A
    // provider is fetched in detail only if one matches the issuer.
    let sa_ns = inputs.sa_namespace.clone();
    let sa_name = args.service_account.clone();
    let cluster_state = async {
        match &cluster {
            None => Ok((true, None)),
            Some(c) => {
                let (ns, sa) = tokio::try_join!(
                    c.namespace_exists(&sa_ns),
                    c.get_service_account(&sa_ns, &sa_name)
                )?;
                Ok::<_, Error>((ns, sa))
            }
        }
    };
    let identity_and_policies = async {
        let identity = super::klanker_identity(&klanker, hint).await?;
        let policies: BTreeSet<String> = if inputs.policy_arns.is_empty() {
            BTreeSet::from([format!(
                "arn:{}:iam::{}:policy/km-operator-policy",
                identity.partition, identity.account
            )])
        } else {
            inputs.policy_arns.iter().cloned().collect()
        };
        let iam_client = &klanker.iam;
        let checks = policies.iter().map(|arn| async move {
            iam::policy_exists(iam_client, arn)
                .await
                .map(|exists| (arn.clone(), exists))
        });
        let missing: BTreeSet<String> = futures::future::try_join_all(checks)
            .await?
            .into_iter()
            .filter(|(_, exists)| !exists)
            .map(|(arn, _)| arn)
            .collect();
        Ok::<_, Error>((identity, policies, missing))
    };
    let role_state = async {
        let found = iam::role_with_policies(&klanker.iam, &inputs.role_name).await?;
        Ok::<_, Error>(match found {
            None => (None, BTreeSet::new()),
            Some((role, attached)) => (Some(role), attached),
        })
    };
    let (
        Resolved {
            issuer,
            cluster_account,
            cluster_arn,
        },
        (identity, policies, missing_policies),
        (role, attached),
        provider_arns,
        (namespace_exists, service_account),
    ) = tokio::try_join!(
        resolve_issuer(
            &inputs.source,
            &access,
            kube_client.as_ref(),
            &ctx.context_name,
            verbose
        ),
        identity_and_policies,
        role_state,
        async { iam::list_providers(&klanker.iam).await.map_err(Error::from) },
        cluster_state,
    )?;
    let (partition, account) = (identity.partition.clone(), identity.account.clone());
    super::guard_account(
        &args.aws,
        &identity,
        &store,
        cluster_account.as_deref().or(ctx.eks.account.as_deref()),
    )?;
    let provider = match iam::matching_provider(&provider_arns, &issuer) {
        Some(arn) => Some(iam::describe_provider(&klanker.iam, &arn).await?),
        None => None,
    };
    // Providers the role trusts now besides this issuer's: for --replace-issuer.
    let desired_provider = provider
        .as_ref()
        .map(|p| p.arn.clone())
        .unwrap_or_else(|| issuer.provider_arn(&partition, &account));
    let old_provider_arns: Vec<String> = role
        .as_ref()
        .map(|r| crate::inventory::federated_principals(&r.trust_policy))
        .unwrap_or_default()
        .into_iter()
        .filter(|arn| arn != &desired_provider && provider_arns.contains(arn))
        .collect();
    let old_providers = futures::future::try_join_all(
        old_provider_arns
            .iter()
            .map(|arn| iam::describe_provider(&klanker.iam, arn)),
    )
    .await?;
    // The ServiceAccount the role trusted until now, if the trust moves.
    let previous = role
        .as_ref()
        .and_then(|r| crate::inventory::trusted_subject(&r.trust_policy))
        .filter(|(ns, sa)| {
            !ns.contains(['*', '?'])
                && !sa.contains(['*', '?'])
                && (ns != &inputs.sa_namespace || sa != &args.service_account)
        });
    let previous_service_account = match (&previous, &cluster) {
        (Some((ns, sa)), Some(c)) => Some(plan::PreviousServiceAccount {
            namespace: ns.clone(),
            name: sa.clone(),
            observed: c.get_service_account(ns, sa).await?,
        }),
        (Some((ns, sa)), None) => Some(plan::PreviousServiceAccount {
            namespace: ns.clone(),
            name: sa.clone(),
            observed: None,
        }),
        _ => None,
    };

    // A reused provider is named by its own ARN: IAM may have registered it
    // with another spelling of the issuer (a trailing slash).
    let provider_arn = provider
        .as_ref()
        .map(|p| p.arn.clone())
        .unwrap_or_else(|| issuer.provider_arn(&partition, &account));
    let role_arn = format!("arn:{partition}:iam::{account}:role/{}", inputs.role_name);
    let config_doc = store.load()?;

    match (&provider, args.register_oidc_provider) {
        (Some(p), RegisterMode::Auto) => {
            eprintln!("OIDC provider auto-detected: reusing existing {}", p.arn)
        }
        (None, RegisterMode::Auto) => eprintln!("OIDC provider auto-detected: creating"),
        _ => {}
    }

    let entry = ClusterEntry {
        name: inputs.name.clone(),
        // The cluster's own provider; when its account is unknown, the
        // klanker account's, by its real ARN.
        oidc_provider_arn: match &cluster_account {
            Some(cluster) => issuer.provider_arn(&partition, cluster),
            None => provider_arn.clone(),
        },
        namespace: inputs.scope.namespace_label().to_string(),
        service_account: args.service_account.clone(),
        role_arn: role_arn.clone(),
    };
    let mut role_tags = inputs.tags.clone();
    role_tags.insert(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into());
    role_tags.insert(NAME_TAG.into(), inputs.name.clone());
    // Which cluster this onboarding is: `rm` and `verify` act on it alone.
    let cluster_record = cluster_arn.clone().or_else(|| ctx.cluster_arn.clone());
    let server_record = ctx.server.clone();
    for (key, value) in [
        (
            trust::CLUSTER_TAG,
            cluster_record.clone().or_else(|| server_record.clone()),
        ),
        (trust::SERVER_TAG, server_record),
    ] {
        if let Some(value) = value.filter(|v| validate::tag_value_fits(v)) {
            role_tags.insert(key.into(), value);
        }
    }
    if let Some(existing) = &role {
        validate::merged_tag_count(existing.tags.keys(), role_tags.keys(), &inputs.role_name)?;
    }
    let annotations = BTreeMap::from([
        (ROLE_ARN_ANNOTATION.to_string(), role_arn.clone()),
        (
            TOKEN_EXPIRATION_ANNOTATION.to_string(),
            args.session_duration.to_string(),
        ),
    ]);
    let labels = BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string())]);
    let desired = Desired {
        name: inputs.name.clone(),
        trust_policy: trust::policy::trust_policy(&provider_arn, &issuer, &inputs.scope),
        issuer: issuer.clone(),
        provider_arn: provider_arn.clone(),
        provider_tags: BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string())]),
        register: args.register_oidc_provider,
        role_name: inputs.role_name.clone(),
        role_arn: role_arn.clone(),
        max_session: args.session_duration,
        description: trust::role_description(
            &inputs.name,
            &inputs.scope,
            // Created now, or created earlier by this tool.
            provider.as_ref().is_none_or(|p| iam::is_owned(&p.tags)),
        ),
        role_tags,
        permissions_boundary: args.permissions_boundary.clone(),
        policies,
        cluster: applies_service_account.then(|| DesiredCluster {
            namespace: inputs.sa_namespace.clone(),
            create_namespace: args.create_namespace,
            service_account: args.service_account.clone(),
            annotations: annotations.clone(),
            labels: labels.clone(),
        }),
        config_entry: Some(entry),
        replace_issuer: args.replace_issuer,
        override_service_accounts: args.override_existing_serviceaccounts,
    };
    let observed = Observed {
        provider,
        role,
        attached_policies: attached,
        missing_policies,
        namespace_exists,
        service_account,
        config_entry: config_doc.get(&inputs.name),
        old_providers,
        previous_service_account,
    };
    let plan = plan::plan(&desired, &observed)?;

    let mut warnings = plan.warnings.clone();
    if inputs.scope.namespace.is_none() {
        warnings.push(format!(
            "--namespace '*': a ServiceAccount named `{}` in ANY namespace of this cluster can assume {}.",
            args.service_account, role_arn
        ));
    }
    if inputs.scope.service_account_is_wildcard() {
        warnings.push(format!(
            "--service-account '{}': EVERY matching ServiceAccount in {} can assume {}; no ServiceAccount is applied, annotate the ones you mean yourself.",
            args.service_account,
            inputs.scope.namespace.as_deref().map(|n| format!("namespace {n}")).unwrap_or_else(|| "any namespace".into()),
            role_arn
        ));
    }
    let header = format!(
        "{}Plan for `{}` in klanker account {} (context {}, issuer {}, trust {}):",
        access.identities_line(),
        inputs.name,
        account,
        ctx.context_name,
        issuer.url(),
        inputs.scope.subject()
    );
    let plan_on_stdout = args.output == AddOutput::Text;
    let plan_text = output::plan_text(
        &header,
        &plan,
        &warnings,
        if plan_on_stdout {
            output::stdout_colour()
        } else {
            false
        },
    );
    if plan_on_stdout {
        print!("{plan_text}");
    } else if matches!(args.output, AddOutput::Manifest) {
        eprint!("{plan_text}");
    }

    // After applying, the local checks of `verify`, so an onboarding that
    // cannot work is reported at once. They need one fresh fact, a token from
    // the cluster, requested as soon as the ServiceAccount is applied (side by
    // side with the IAM writes); the rest is what was just written. A no-op
    // re-run stays read-only.
    let apply = super::decide(&args.apply, &plan)?;
    let check = cluster.as_ref().filter(|_| apply && !args.no_verify);
    let executor = super::Executor::new(&klanker, cluster.as_ref(), &store, verbose);
    let token = match apply {
        false => None,
        true => {
            super::execute(&plan, &executor, "kubectl klanker-trust add", async {
                match check {
                    Some(c) => Some(
                        c.request_token(
                            &inputs.sa_namespace,
                            &args.service_account,
                            STS_AUDIENCE,
                            600,
                        )
                        .await
                        .map_err(|e| e.to_string()),
                    ),
                    None => None,
                }
            })
            .await?
        }
    };
    let verification = match token {
        Some(token) => {
            let claims =
                token.and_then(|t| crate::trust::token::claims(&t).map_err(|e| e.to_string()));
            let token_issuer = claims
                .as_ref()
                .ok()
                .and_then(|c| Issuer::parse(&c.iss, "token iss").ok());
            // The provider is the one just ensured, unless the token names another issuer.
            let provider = match &token_issuer {
                Some(i) if i == &issuer => Some(crate::verify::ProviderFacts {
                    arn: provider_arn.clone(),
                    client_ids: vec![STS_AUDIENCE.to_string()],
                }),
                Some(other) => iam::find_provider(&klanker.iam, other)
                    .await
                    .map_err(|e| Error::AfterChanges {
                        cause: Box::new(e.into()),
                        rerun: "kubectl klanker-trust add",
                    })?
                    .map(|p| crate::verify::ProviderFacts {
                        arn: p.arn,
                        client_ids: p.client_ids,
                    }),
                None => None,
            };
            // The provider found for the token's issuer is named by its real ARN.
            let provider_arn_for_token = provider
                .as_ref()
                .map(|p| p.arn.clone())
                .or_else(|| token_issuer.map(|i| i.provider_arn(&partition, &account)));
            let facts = crate::verify::Facts {
                name: inputs.name.clone(),
                role_name: inputs.role_name.clone(),
                role_arn: role_arn.clone(),
                role: Some(crate::verify::RoleFacts {
                    arn: role_arn.clone(),
                    trust_policy: desired.trust_policy.clone(),
                    max_session: desired.max_session,
                    attached_policies: desired.policies.clone(),
                }),
                namespace: inputs.sa_namespace.clone(),
                service_account: args.service_account.clone(),
                annotations: Some(annotations.clone()),
                token: claims,
                provider,
                provider_arn_for_token,
                operator_policy: desired
                    .policies
                    .iter()
                    .find(|p| p.ends_with(":policy/km-operator-policy"))
                    .or_else(|| desired.policies.iter().next())
                    .cloned()
                    .unwrap_or_default(),
                requested_session: 3600,
            };
            Some(crate::verify::local_checks(&facts))
        }
        None => None,
    };

    let sa = k8s::service_account(
        &inputs.sa_namespace,
        &args.service_account,
        &annotations,
        &labels,
    );
    // What the user must not miss in the result: an old provider removed
    // (or kept after all), a ServiceAccount released or deleted.
    let skipped = executor.skipped();
    let results: Vec<String> = if apply {
        plan.changes()
            .filter(|s| {
                s.action == plan::Action::Delete
                    || matches!(s.op, Some(plan::Op::ReleaseServiceAccount { .. }))
            })
            .map(
                |s| match skipped.iter().find(|(step, _)| step == &s.summary) {
                    Some((_, why)) => format!("not done: {}: {why}", s.summary),
                    None => format!("done: {}", s.summary),
                },
            )
            .collect()
    } else {
        Vec::new()
    };
    let report = AddReport {
        name: &inputs.name,
        dry_run: !apply && !plan.is_noop(),
        applied: apply,
        klanker_account: &account,
        role_name: &inputs.role_name,
        role_arn: &role_arn,
        oidc_provider_arn: &provider_arn,
        issuer: issuer.url(),
        namespace: inputs.scope.namespace_label(),
        service_account_namespace: &inputs.sa_namespace,
        service_account: &args.service_account,
        config_path: store.path().display().to_string(),
        plan: &plan.steps,
        warnings: &plan.warnings,
        results: &results,
        verification: verification.as_deref(),
    };
    match args.output {
        AddOutput::Text => {
            if apply {
                println!("Applied {} change(s).", plan.changes().count());
                for line in &results {
                    println!("{line}");
                }
            } else if !plan.is_noop() {
                println!(
                    "Dry run: nothing was changed. Run again with --dry-run=false (or --yes) to apply."
                );
            }
            println!("role: {role_arn}");
            println!(
                "service account: {}/{} ({ROLE_ARN_ANNOTATION}: {role_arn})",
                inputs.sa_namespace, args.service_account
            );
            if let Some(checks) = &verification {
                println!(
                    "Verification (the STS step: `kubectl klanker-trust verify {}`):",
                    inputs.name
                );
                print!("{}", super::verify::report_text(checks));
            }
        }
        AddOutput::Json => output::print_structured(&report, output::Structured::Json),
        AddOutput::Yaml => output::print_structured(&report, output::Structured::Yaml),
        AddOutput::Manifest => print!("{}", k8s::manifest_yaml(&sa)),
    }
    match &verification {
        Some(checks) => super::verify::broken(checks),
        None => Ok(()),
    }
}
