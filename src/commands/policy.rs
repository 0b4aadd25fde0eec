//! `policy`: print what the two identities and the kubeconfig user must be
//! allowed to do. The documents are built in `permissions`; this module only
//! gathers their inputs. Offline, except one STS GetCallerIdentity when the
//! klanker account is neither given nor named by the profile's configuration.

use serde_json::Value;

use crate::aws::{self, Identity, KlankerClients};
use crate::cli::{PolicyArgs, PolicyFor, PolicyOutput};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig;
use crate::permissions::{self, KlankerScope, PolicyError, RbacScope, Subject};
use crate::trust::{TrustMode, ValidationError, arn, validate};

fn account_id(value: &str, input: &str) -> Result<String, Error> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(ValidationError::new(
            input,
            value,
            "an AWS account ID is 12 digits",
            "Pass the 12-digit account ID.",
        )
        .into())
    }
}

/// The klanker account and partition: `--klanker-account` (partition from
/// `--region`), else what the profile's configuration names, else STS.
async fn klanker_identity(env: &Env, args: &PolicyArgs) -> Result<Identity, Error> {
    validate::region(&args.aws.region, "--region")?;
    if let Some(account) = &args.aws.klanker_account {
        return Ok(Identity {
            account: account_id(account, "--klanker-account")?,
            partition: permissions::partition_of_region(&args.aws.region).to_string(),
        });
    }
    let unknown = |source| PolicyError::KlankerAccount { source };
    let hint = aws::check_profile(&args.aws.aws_profile, "--aws-profile")
        .await
        .map_err(unknown)?;
    if let Some(identity) = hint {
        return Ok(identity);
    }
    let sdk = aws::load_config(
        Some(&args.aws.aws_profile),
        &args.aws.region,
        &env.access,
        aws::Side::Klanker,
    )
    .await
    .map_err(unknown)?;
    let clients = KlankerClients::new(&sdk, env.verbose());
    let (account, caller) = aws::iam::caller_identity(&clients.sts)
        .await
        .map_err(unknown)?;
    Ok(Identity {
        partition: arn::partition_of(&caller).to_string(),
        account,
    })
}

fn klanker_scope(identity: Identity, args: &PolicyArgs) -> Result<KlankerScope, Error> {
    let same_partition = |value: &str, input: &str| -> Result<(), Error> {
        arn::parse_policy_arn(value, input)?;
        if arn::partition_of(value) != identity.partition {
            return Err(ValidationError::new(
                input,
                value,
                format!(
                    "it is not in the klanker account's partition, {}",
                    identity.partition
                ),
                "Name a policy in the klanker account's partition.",
            )
            .into());
        }
        Ok(())
    };
    for value in &args.allow_policy_arns {
        same_partition(value, "--allow-policy-arn")?;
    }
    if let Some(boundary) = &args.permissions_boundary {
        same_partition(boundary, "--permissions-boundary")?;
    }
    Ok(KlankerScope {
        partition: identity.partition,
        account: identity.account,
        extra_policies: args.allow_policy_arns.clone(),
        permissions_boundary: args.permissions_boundary.clone(),
    })
}

/// The onboarding's namespace and ServiceAccounts: NAME's km-config entry,
/// else the flags, else add's defaults: the context's namespace (or
/// `default`) with `km`.
fn rbac_scope(
    env: &Env,
    args: &PolicyArgs,
    context: Option<&kubeconfig::ContextInfo>,
) -> Result<RbacScope, Error> {
    let (mode, namespace, service_accounts) = match &args.name {
        Some(name) => onboarding_subjects(env, args, name)?,
        None => {
            // As add: the flag, else the context's namespace, else `default`.
            let namespace = args
                .namespace
                .clone()
                .or_else(|| context.and_then(|c| c.namespace.clone()))
                .unwrap_or_else(|| crate::trust::DEFAULT_NAMESPACE.to_string());
            let accounts = if args.service_accounts.is_empty() {
                vec!["km".to_string()]
            } else {
                args.service_accounts.clone()
            };
            (args.mode, namespace, accounts)
        }
    };
    // RBAC names exact objects: a wildcard trust has no Role that fits it.
    let exact =
        "RBAC names exact objects: pass the namespace and ServiceAccount names the pods use";
    validate::namespace(&namespace)?;
    if namespace == "*" {
        return Err(
            ValidationError::new("--namespace", "*", "a wildcard has no Role", exact).into(),
        );
    }
    for sa in &service_accounts {
        validate::service_account(sa)?;
    }
    let mut unique: Vec<String> = Vec::new();
    for sa in service_accounts {
        if !unique.contains(&sa) {
            unique.push(sa);
        }
    }
    Ok(RbacScope {
        namespace,
        service_accounts: unique,
        subject: rbac_subject(args)?,
        config_maps: config_maps(mode, args)?,
        create_namespace: args.create_namespace,
    })
}

/// NAME's km-config.yaml entry: its mode, namespace and every ServiceAccount
/// of that namespace (a Role is namespaced; those in other namespaces need
/// their own). A chained onboarding's RBAC covers its ConfigMap too.
fn onboarding_subjects(
    env: &Env,
    args: &PolicyArgs,
    name: &str,
) -> Result<(TrustMode, String, Vec<String>), Error> {
    validate::registry_name(name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    let store = &env.store;
    let entry = store
        .load()?
        .get(name)
        .ok_or_else(|| PolicyError::UnknownOnboarding {
            name: name.to_string(),
            path: store.path().display().to_string(),
        })?;
    let mode = match entry.mode {
        TrustMode::Chained => TrustMode::Chained,
        TrustMode::Mirror => args.mode,
    };
    let names = entry
        .subjects()
        .into_iter()
        .filter(|(ns, _)| *ns == entry.namespace)
        .map(|(_, sa)| sa)
        .collect();
    Ok((mode, entry.namespace, names))
}

/// Whom the RBAC binds: `--user`, else `--group`, else the default group.
fn rbac_subject(args: &PolicyArgs) -> Result<Subject, Error> {
    for (input, name) in [("--user", &args.user), ("--group", &args.group)] {
        if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ValidationError::new(input, "", "it is empty", "Name the subject.").into());
        }
    }
    Ok(match (&args.user, &args.group) {
        (Some(user), _) => Subject::User(user.clone()),
        (None, Some(group)) => Subject::Group(group.clone()),
        (None, None) => Subject::Group(permissions::DEFAULT_GROUP.to_string()),
    })
}

/// Chained mode's ConfigMap, by the name pods read it under.
fn config_maps(mode: TrustMode, args: &PolicyArgs) -> Result<Vec<String>, Error> {
    match mode {
        TrustMode::Mirror => Ok(vec![]),
        TrustMode::Chained => {
            let name = args
                .config_map_name
                .clone()
                .unwrap_or_else(|| permissions::CHAINED_CONFIG_MAP.to_string());
            // A ConfigMap name is a DNS-1123 subdomain, as a ServiceAccount's.
            validate::service_account(&name).map_err(|mut e| {
                e.input = "--config-map-name".into();
                e.problem = e.problem.replace("ServiceAccount", "ConfigMap");
                e.hint = format!(
                    "Use a name like `{}`: lower-case letters, digits, '-' and '.'.",
                    permissions::CHAINED_CONFIG_MAP
                );
                e
            })?;
            Ok(vec![name])
        }
    }
}

/// The cluster account and partition the cluster-side policy names.
struct ClusterSide {
    account: String,
    partition: String,
    policy: Value,
}

/// The cluster-account policy, when its account is known: mirror mode's,
/// or with `--mode chained` also the km-irsa-* roles and providers.
fn cluster_policy(
    args: &PolicyArgs,
    hints: &kubeconfig::EksHints,
    fallback_partition: &str,
    chained: bool,
) -> Result<Option<ClusterSide>, Error> {
    let Some(account) = args.cluster_account.clone().or(hints.account.clone()) else {
        return Ok(None);
    };
    let account = account_id(&account, "--cluster-account")?;
    let region = args
        .cluster_region
        .clone()
        .or(hints.region.clone())
        .unwrap_or_else(|| "*".into());
    let name = args
        .cluster_name
        .clone()
        .or(hints.cluster_name.clone())
        .unwrap_or_else(|| "*".into());
    let partition = if region == "*" {
        fallback_partition.to_string()
    } else {
        permissions::partition_of_region(&region).to_string()
    };
    let mirror = permissions::cluster_policy(&account, &region, &name, &partition);
    let policy = match chained {
        false => mirror,
        true => {
            let boundary = cluster_boundary(args, &partition, &account)?;
            permissions::chained_cluster_policy(
                &mirror,
                &permissions::ChainedScope {
                    partition: partition.clone(),
                    account: account.clone(),
                    boundary,
                },
            )
        }
    };
    Ok(Some(ClusterSide {
        account,
        partition,
        policy,
    }))
}

/// The boundary of the km-irsa-* roles: `--cluster-permissions-boundary`,
/// else km-irsa-boundary in the cluster account. IAM takes a boundary from
/// the role's own account (or AWS managed policies, which do not say what
/// this one says), so any other account or partition is refused here.
fn cluster_boundary(args: &PolicyArgs, partition: &str, account: &str) -> Result<String, Error> {
    let Some(boundary) = &args.cluster_permissions_boundary else {
        return Ok(permissions::cluster_boundary_arn(partition, account));
    };
    let input = "--cluster-permissions-boundary";
    arn::parse_policy_arn(boundary, input)?;
    let fields: Vec<&str> = boundary.splitn(6, ':').collect();
    if fields.get(1) != Some(&partition) || fields.get(4) != Some(&account) {
        return Err(ValidationError::new(
            input,
            boundary,
            format!("it is not a policy of the cluster account, {account} (partition {partition})"),
            "Name the boundary policy you created in the cluster account.",
        )
        .into());
    }
    Ok(boundary.clone())
}

/// The documents `policy` prints, each only when asked for.
#[derive(Default)]
pub struct PolicyReport {
    /// `--for audit`: the read-only policy `audit` needs, alone.
    pub audit: Option<Value>,
    pub klanker: Option<Value>,
    pub cluster: Option<Value>,
    /// Chained mode: the km-irsa-* roles' permissions boundary.
    pub boundary: Option<Value>,
    /// Chained mode: the ARN that boundary must be created under.
    pub boundary_arn: Option<String>,
    pub rbac: Option<RbacScope>,
}

pub async fn run(env: &Env, args: &PolicyArgs) -> Result<PolicyReport, Error> {
    let global = &env.global;
    let target = args.target;
    if target == PolicyFor::Audit {
        return audit_policy(args);
    }
    let chained = chained_flags(args)?;
    // What the kubeconfig tells, offline: the cluster's ARN, the namespace.
    let context = kubeconfig::load(global.kubeconfig.as_deref())
        .ok()
        .and_then(|kc| kubeconfig::select_context(&kc, global.context.as_deref()).ok());
    let hints = context.as_ref().map(|c| c.eks.clone()).unwrap_or_default();

    // The boundary names the klanker account's roles: printed for
    // --for cluster-boundary, and beside a chained cluster policy in text
    // and in --for all (JSON keeps --for cluster one document to pipe).
    let boundary_wanted = match target {
        PolicyFor::ClusterBoundary => true,
        PolicyFor::All => chained,
        PolicyFor::Cluster => chained && args.output == PolicyOutput::Text,
        PolicyFor::Klanker | PolicyFor::Rbac | PolicyFor::Audit => false,
    };
    let klanker_wanted = matches!(target, PolicyFor::All | PolicyFor::Klanker);
    let identity = match klanker_wanted || boundary_wanted {
        true => Some(klanker_identity(env, args).await?),
        false => None,
    };
    let klanker = match (&identity, klanker_wanted) {
        (Some(identity), true) => {
            let scope = klanker_scope(identity.clone(), args)?;
            Some(permissions::klanker_policy(&scope))
        }
        _ => None,
    };
    // A cluster region that is not known (`*`) takes the partition of
    // --region, as mirror mode always has; chained mode, whose roles must
    // share the klanker account's partition, takes that one when known.
    let fallback_partition = identity
        .as_ref()
        .filter(|_| chained)
        .map(|i| i.partition.clone())
        .unwrap_or_else(|| permissions::partition_of_region(&args.aws.region).to_string());
    // For --for cluster-boundary, only to check the boundary's ARN against the account.
    let cluster = match target {
        PolicyFor::All | PolicyFor::Cluster | PolicyFor::ClusterBoundary => {
            cluster_policy(args, &hints, &fallback_partition, chained)?
        }
        PolicyFor::Klanker | PolicyFor::Rbac | PolicyFor::Audit => None,
    };
    let boundary = match (&identity, boundary_wanted) {
        (Some(identity), true) => Some(boundary_policy(identity, cluster.as_ref())?),
        _ => None,
    };
    let boundary_arn = boundary_arn(args, cluster.as_ref(), identity.as_ref(), chained)?;
    Ok(PolicyReport {
        audit: None,
        klanker,
        cluster: cluster.map(|side| side.policy),
        boundary,
        boundary_arn,
        rbac: rbac(env, args, context.as_ref())?,
    })
}

/// `--for audit`: the read-only policy `audit` needs, alone (offline).
fn audit_policy(args: &PolicyArgs) -> Result<PolicyReport, Error> {
    if args.output == PolicyOutput::Yaml {
        return Err(PolicyError::YamlIsRbacOnly.into());
    }
    validate::region(&args.aws.region, "--region")?;
    let partition = permissions::partition_of_region(&args.aws.region);
    Ok(PolicyReport {
        audit: Some(permissions::audit_policy(partition)),
        ..PolicyReport::default()
    })
}

/// The chained-mode flags are refused elsewhere; `-o yaml` is the RBAC's
/// alone. Whether chained mode's documents are asked for.
fn chained_flags(args: &PolicyArgs) -> Result<bool, Error> {
    if args.output == PolicyOutput::Yaml && args.target != PolicyFor::Rbac {
        return Err(PolicyError::YamlIsRbacOnly.into());
    }
    // The km-irsa-* boundary exists only in chained mode.
    let chained = args.mode == TrustMode::Chained || args.target == PolicyFor::ClusterBoundary;
    for (flag, given) in [
        (
            "--cluster-permissions-boundary",
            args.cluster_permissions_boundary.is_some(),
        ),
        ("--config-map-name", args.config_map_name.is_some()),
    ] {
        if given && !chained {
            return Err(PolicyError::ChainedOnly { flag }.into());
        }
    }
    Ok(chained)
}

/// The boundary of the cluster account's roles, which names the klanker
/// account's: both must be in one partition.
fn boundary_policy(identity: &Identity, cluster: Option<&ClusterSide>) -> Result<Value, Error> {
    if let Some(side) = cluster
        && side.partition != identity.partition
    {
        return Err(PolicyError::PartitionMismatch {
            cluster: side.partition.clone(),
            klanker: identity.partition.clone(),
        }
        .into());
    }
    Ok(permissions::cluster_boundary_policy(
        &identity.partition,
        &identity.account,
    ))
}

/// Where the boundary is to be created: checked against the cluster
/// account when it is known, else at least against the partition.
fn boundary_arn(
    args: &PolicyArgs,
    cluster: Option<&ClusterSide>,
    identity: Option<&Identity>,
    chained: bool,
) -> Result<Option<String>, Error> {
    match (cluster, &args.cluster_permissions_boundary, identity) {
        (Some(side), _, _) if chained => Ok(Some(cluster_boundary(
            args,
            &side.partition,
            &side.account,
        )?)),
        (None, Some(named), Some(identity)) => {
            let input = "--cluster-permissions-boundary";
            arn::parse_policy_arn(named, input)?;
            if arn::partition_of(named) != identity.partition || named.contains(":iam::aws:") {
                return Err(ValidationError::new(
                    input,
                    named,
                    format!(
                        "it is not a customer managed policy in the partition {}",
                        identity.partition
                    ),
                    "Name the boundary policy you created in the cluster account.",
                )
                .into());
            }
            Ok(Some(named.clone()))
        }
        _ => Ok(None),
    }
}

/// The RBAC, for the targets that include it.
fn rbac(
    env: &Env,
    args: &PolicyArgs,
    context: Option<&kubeconfig::ContextInfo>,
) -> Result<Option<RbacScope>, Error> {
    match args.target {
        PolicyFor::Klanker | PolicyFor::ClusterBoundary | PolicyFor::Audit => Ok(None),
        PolicyFor::All | PolicyFor::Cluster | PolicyFor::Rbac => {
            Ok(Some(rbac_scope(env, args, context)?))
        }
    }
}
