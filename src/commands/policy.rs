//! `policy`: print what the two identities and the kubeconfig user must be
//! allowed to do. The generic documents are built in `permissions`, what a
//! trust mode adds by its `Mode`; this module only gathers their inputs. Offline, except one STS GetCallerIdentity when the
//! klanker account is neither given nor named by the profile's configuration.

use serde_json::Value;

use crate::aws::{self, AwsError, Identity, KlankerClients};
use crate::cli::{PolicyArgs, PolicyFor, PolicyOutput};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig;
use crate::permissions::{
    self, BoundaryDoc, ClusterRoleScope, ClusterRoles, KlankerScope, ModeRules, PolicyError,
    RbacScope, Subject,
};
use crate::plan::mode;
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
    let unknown = |source: AwsError| PolicyError::KlankerAccount {
        unknown_profile: matches!(source, AwsError::UnknownProfile { .. }),
        source: Box::new(source),
    };
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
    let clients = KlankerClients::new(&sdk, env.verbose(), Default::default());
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
    let (recorded, namespace, service_accounts) = match &args.name {
        Some(name) => {
            let (mode, namespace, accounts) = onboarding_subjects(env, name)?;
            (Some(mode), namespace, accounts)
        }
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
            (None, namespace, accounts)
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
        mode_rules: mode_rules(args, recorded)?,
        create_namespace: args.create_namespace,
    })
}

/// NAME's km-config.yaml entry: its mode, namespace and every ServiceAccount
/// of that namespace (a Role is namespaced; those in other namespaces need
/// their own).
fn onboarding_subjects(env: &Env, name: &str) -> Result<(TrustMode, String, Vec<String>), Error> {
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
    let names = entry
        .subjects()
        .into_iter()
        .filter(|(ns, _)| *ns == entry.namespace)
        .map(|(_, sa)| sa)
        .collect();
    Ok((entry.mode, entry.namespace, names))
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

/// What the modes add to the Role for their own objects: `--mode`'s, and
/// the onboarding's own (its objects stay covered while `--mode` plans a
/// switch to another mode).
fn mode_rules(args: &PolicyArgs, recorded: Option<TrustMode>) -> Result<Vec<ModeRules>, Error> {
    let mut modes = vec![args.mode];
    modes.extend(recorded.filter(|m| *m != args.mode));
    let mut added = Vec::new();
    for mode in modes {
        let rules = mode::of(mode).rbac_rules(args)?;
        if !rules.is_empty() {
            added.push(ModeRules { mode, rules });
        }
    }
    Ok(added)
}

/// The cluster account and partition the cluster-side policy names.
struct ClusterSide {
    account: String,
    partition: String,
    policy: Value,
}

/// The cluster-account policy, when its account is known: the generic
/// statement, then what the mode adds for the roles it makes there.
fn cluster_policy(
    args: &PolicyArgs,
    hints: &kubeconfig::EksHints,
    fallback_partition: &str,
    mode: TrustMode,
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
    let module = mode::of(mode);
    let extra = match module.cluster_roles() {
        None => Vec::new(),
        Some(roles) => module.cluster_role_statements(&ClusterRoleScope {
            partition: partition.clone(),
            account: account.clone(),
            region: region.clone(),
            cluster: name.clone(),
            boundary: cluster_boundary(args, &partition, &account, roles)?,
        }),
    };
    let policy = permissions::cluster_policy(&account, &region, &name, &partition, extra);
    Ok(Some(ClusterSide {
        account,
        partition,
        policy,
    }))
}

/// The boundary of the cluster roles: `--cluster-permissions-boundary`,
/// else the mode's default policy in the cluster account. IAM takes a
/// boundary from the role's own account (or AWS managed policies, which do
/// not say what this one says), so any other account or partition is
/// refused here.
fn cluster_boundary(
    args: &PolicyArgs,
    partition: &str,
    account: &str,
    roles: ClusterRoles,
) -> Result<String, Error> {
    let Some(boundary) = &args.cluster_permissions_boundary else {
        return Ok(roles.boundary_arn(partition, account));
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
    /// A mode with cluster roles: their permissions boundary.
    pub boundary: Option<BoundaryDoc>,
    /// The ARN that boundary must be created under, when it is known.
    pub boundary_arn: Option<String>,
    pub rbac: Option<RbacScope>,
}

/// Which documents: the mode asked for, and whether its cluster roles'
/// boundary is printed.
struct Asked {
    mode: TrustMode,
    roles: Option<ClusterRoles>,
    boundary: bool,
    klanker: bool,
}

impl Asked {
    fn of(args: &PolicyArgs) -> Result<Asked, Error> {
        let mode = documents_mode(args)?;
        let roles = mode::of(mode).cluster_roles();
        let with_roles = roles.is_some();
        // The boundary names the klanker account's roles: printed for
        // --for cluster-boundary, and beside a cluster policy with cluster
        // roles in text and in --for all (JSON keeps --for cluster one
        // document to pipe).
        let boundary = match args.target {
            PolicyFor::ClusterBoundary => true,
            PolicyFor::All => with_roles,
            PolicyFor::Cluster => with_roles && args.output == PolicyOutput::Text,
            PolicyFor::Klanker | PolicyFor::Rbac | PolicyFor::Audit => false,
        };
        Ok(Asked {
            mode,
            roles,
            boundary,
            klanker: matches!(args.target, PolicyFor::All | PolicyFor::Klanker),
        })
    }
}

pub async fn run(env: &Env, args: &PolicyArgs) -> Result<PolicyReport, Error> {
    let global = &env.global;
    let target = args.target;
    if target == PolicyFor::Audit {
        return audit_policy(args);
    }
    let asked = Asked::of(args)?;
    // What the kubeconfig tells, offline: the cluster's ARN, the namespace.
    let context = kubeconfig::load(global.kubeconfig.as_deref())
        .ok()
        .and_then(|kc| kubeconfig::select_context(&kc, global.context()).ok());
    let hints = context.as_ref().map(|c| c.eks.clone()).unwrap_or_default();

    let identity = match asked.klanker || asked.boundary {
        true => Some(klanker_identity(env, args).await?),
        false => None,
    };
    let klanker = match (&identity, asked.klanker) {
        (Some(identity), true) => {
            let scope = klanker_scope(identity.clone(), args)?;
            Some(permissions::klanker_policy(&scope))
        }
        _ => None,
    };
    // A cluster region that is not known (`*`) takes the partition of
    // --region; cluster roles, which must share the klanker account's
    // partition to reach its roles, take that one when known.
    let fallback_partition = identity
        .as_ref()
        .filter(|_| asked.roles.is_some())
        .map(|i| i.partition.clone())
        .unwrap_or_else(|| permissions::partition_of_region(&args.aws.region).to_string());
    // For --for cluster-boundary, only to check the boundary's ARN against the account.
    let cluster = match target {
        PolicyFor::All | PolicyFor::Cluster | PolicyFor::ClusterBoundary => {
            cluster_policy(args, &hints, &fallback_partition, asked.mode)?
        }
        PolicyFor::Klanker | PolicyFor::Rbac | PolicyFor::Audit => None,
    };
    let boundary = match (&identity, asked.boundary) {
        (Some(identity), true) => boundary_policy(identity, cluster.as_ref(), asked.mode)?,
        _ => None,
    };
    let boundary_arn = boundary_arn(args, cluster.as_ref(), identity.as_ref(), asked.roles)?;
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

/// The mode whose documents are printed: `--mode`'s, except that `--for
/// cluster-boundary` asks for a boundary only a mode with cluster roles
/// has. A flag only another mode takes is refused; `-o yaml` is the RBAC's
/// alone.
fn documents_mode(args: &PolicyArgs) -> Result<TrustMode, Error> {
    if args.output == PolicyOutput::Yaml && args.target != PolicyFor::Rbac {
        return Err(PolicyError::YamlIsRbacOnly.into());
    }
    let mut asked = args.mode;
    if args.target == PolicyFor::ClusterBoundary && mode::of(asked).cluster_roles().is_none() {
        let with_roles = in_cli_order().find(|(_, m)| m.cluster_roles().is_some());
        asked = with_roles.map_or(asked, |(mode, _)| mode);
    }
    let own = mode::of(asked).policy_flags(args);
    for (other, module) in in_cli_order().filter(|(m, _)| *m != asked) {
        for (flag, given) in module.policy_flags(args) {
            if given && !own.iter().any(|(f, _)| *f == flag) {
                return Err(PolicyError::ModeOnly { flag, mode: other }.into());
            }
        }
    }
    Ok(asked)
}

/// Every mode in the order `--mode` lists them: a boundary asked without
/// `--mode`, and a flag several modes take, go to the first mode there
/// (`mode::all()` orders them for recognising, which is another matter).
fn in_cli_order() -> impl Iterator<Item = (TrustMode, &'static dyn mode::Mode)> {
    <TrustMode as clap::ValueEnum>::value_variants()
        .iter()
        .map(|m| (*m, mode::of(*m)))
}

/// The boundary of the cluster roles, which names the klanker account's:
/// both must be in one partition.
fn boundary_policy(
    identity: &Identity,
    cluster: Option<&ClusterSide>,
    mode: TrustMode,
) -> Result<Option<BoundaryDoc>, Error> {
    if let Some(side) = cluster
        && side.partition != identity.partition
    {
        return Err(PolicyError::PartitionMismatch {
            cluster: side.partition.clone(),
            klanker: identity.partition.clone(),
            mode,
        }
        .into());
    }
    let module = mode::of(mode);
    let (Some(roles), Some(policy)) = (
        module.cluster_roles(),
        module.cluster_boundary_policy(&identity.partition, &identity.account),
    ) else {
        return Ok(None);
    };
    let printed_without_mode = in_cli_order()
        .find(|(_, m)| m.cluster_roles().is_some())
        .map(|(m, _)| m);
    Ok(Some(BoundaryDoc {
        mode,
        roles,
        policy,
        needs_mode_flag: printed_without_mode != Some(mode),
    }))
}

/// Where the boundary is to be created: checked against the cluster
/// account when it is known, else at least against the partition.
fn boundary_arn(
    args: &PolicyArgs,
    cluster: Option<&ClusterSide>,
    identity: Option<&Identity>,
    roles: Option<ClusterRoles>,
) -> Result<Option<String>, Error> {
    match (cluster, &args.cluster_permissions_boundary, identity, roles) {
        (Some(side), _, _, Some(roles)) => Ok(Some(cluster_boundary(
            args,
            &side.partition,
            &side.account,
            roles,
        )?)),
        (None, Some(named), Some(identity), _) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `service:Operation` literals in the modules that call AWS.
    fn operations_in_code() -> Vec<String> {
        let sources = [
            include_str!("../aws/iam.rs"),
            include_str!("../aws/eks.rs"),
            include_str!("../aws/mod.rs"),
            include_str!("../aws/quotas.rs"),
        ];
        let mut found = Vec::new();
        for source in sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let Some((service, op)) = piece.split_once(':') else {
                    continue;
                };
                if matches!(service, "iam" | "sts" | "eks" | "servicequotas")
                    && !op.is_empty()
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && op.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    found.push(piece.to_string());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    /// What the klanker policy and every mode's cluster-account policy allow.
    fn granted() -> Vec<String> {
        let klanker = permissions::klanker_policy(&KlankerScope {
            partition: "aws".into(),
            account: "333333333333".into(),
            extra_policies: vec![],
            permissions_boundary: None,
        });
        let mut docs = vec![klanker];
        for (_, module) in mode::all() {
            let extra = match module.cluster_roles() {
                None => Vec::new(),
                Some(roles) => module.cluster_role_statements(&ClusterRoleScope {
                    partition: "aws".into(),
                    account: "222222222222".into(),
                    region: "us-east-1".into(),
                    cluster: "dev".into(),
                    boundary: roles.boundary_arn("aws", "222222222222"),
                }),
            };
            docs.push(permissions::cluster_policy(
                "222222222222",
                "us-east-1",
                "dev",
                "aws",
                extra,
            ));
        }
        docs.iter()
            .flat_map(|doc| doc["Statement"].as_array().unwrap().clone())
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_aws_call_in_the_code_is_in_a_policy() {
        let granted = granted();
        let calls = operations_in_code();
        assert!(calls.len() >= 20, "the scan found too little: {calls:?}");
        for call in calls {
            // Unsigned: STS checks the token and the trust policy, not the caller's IAM.
            if call == "sts:AssumeRoleWithWebIdentity" {
                continue;
            }
            // Made by verify with the cluster role's session: that role's own
            // inline policy grants it (trust::chain::assume_policy), not these
            // identities'.
            if call == "sts:AssumeRole" {
                continue;
            }
            assert!(granted.contains(&call), "{call} is called but not granted");
        }
    }
}
