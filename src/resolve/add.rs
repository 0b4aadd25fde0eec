//! `add`'s request: the flags and the context, checked, with every default
//! filled in.

use std::collections::BTreeMap;

use super::{ClusterSide, Expect, IssuerSource, Klanker};
use crate::cli::{AddArgs, AddOutput, ApplyArgs};
use crate::error::Error;
use crate::kubeconfig::ContextInfo;
use crate::plan::RegisterMode;
use crate::trust::{
    self, DEFAULT_NAMESPACE, Issuer, MANAGED_BY_TAG, NAME_TAG, OidcProviderArn, TrustMode,
    TrustScope, validate,
};

/// Everything `add` was asked to do.
#[derive(Debug, Clone)]
pub struct AddRequest {
    /// The registry name (km-config.yaml, the role's name tag).
    pub name: String,
    pub role_name: String,
    pub scope: TrustScope,
    /// Where the ServiceAccount lives: the trusted namespace, or, for a
    /// wildcard trust, the context's.
    pub sa_namespace: String,
    pub service_account: String,
    pub source: IssuerSource,
    /// `--tag`s, without the tool's own.
    pub tags: BTreeMap<String, String>,
    /// `--policy-arn`s; empty means the klanker account's operator policy.
    pub policy_arns: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub session_duration: u32,
    pub register: RegisterMode,
    pub create_namespace: bool,
    pub replace_issuer: bool,
    pub override_service_accounts: bool,
    pub mode: TrustMode,
    /// Chained mode's pieces; None in mirror mode.
    pub chained: Option<Chained>,
    /// The identity that reads and writes the cluster's account: needed in
    /// chained mode, and to leave chained mode (role A is removed).
    pub cluster_side: Option<ClusterSide>,
    pub klanker: Klanker,
    pub apply: ApplyArgs,
    pub output: AddOutput,
    /// Run `verify`'s local checks after applying.
    pub verify: bool,
    pub context: ContextInfo,
}

/// Chained mode's names in the cluster's account and in the cluster.
#[derive(Debug, Clone)]
pub struct Chained {
    /// Role A, in the cluster's account.
    pub cluster_role_name: String,
    pub config_map: String,
    pub cluster_permissions_boundary: Option<String>,
}

impl AddRequest {
    /// `-o manifest`: print the ServiceAccount instead of applying it.
    pub fn manifest_only(&self) -> bool {
        self.output == AddOutput::Manifest
    }

    /// Whether the ServiceAccount is applied (a wildcard names none).
    pub fn applies_service_account(&self) -> bool {
        !self.manifest_only() && !self.scope.service_account_is_wildcard()
    }

    /// The cluster is contacted to apply the ServiceAccount or to read its
    /// issuer; `-o manifest` otherwise leaves it alone.
    pub fn needs_cluster(&self) -> bool {
        !self.manifest_only() || matches!(self.source, IssuerSource::Discover)
    }
}

/// Checks every flag locally, before anything touches the network.
pub fn resolve(args: &AddArgs, ctx: &ContextInfo) -> Result<AddRequest, Error> {
    let klanker = Klanker::resolve(&args.aws)?;
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
    let source = issuer_source(args, ctx, cluster_name.as_deref())?;
    let Some(name) = args.name.clone().or(cluster_name) else {
        return Err(trust::ValidationError::new(
            "--name",
            "",
            "it is required when the context does not name an EKS cluster",
            "Pass --name NAME; the role will be km-cluster-NAME.",
        )
        .into());
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
    let context_namespace = ctx
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| context_namespace.clone());
    validate::namespace(&namespace)?;
    let scope = TrustScope::new(&namespace, &args.service_account);
    // The longer of the two descriptions the role can get.
    validate::description(&trust::role_description(&name, &scope, true), &name)?;
    // A wildcard trust still needs a real namespace to hold the ServiceAccount.
    let sa_namespace = scope.namespace.clone().unwrap_or(context_namespace);
    let chained = match args.mode {
        TrustMode::Mirror => {
            for (flag, given) in [
                ("--cluster-role-name", args.cluster_role_name.is_some()),
                ("--config-map-name", args.config_map_name.is_some()),
                (
                    "--cluster-permissions-boundary",
                    args.cluster_permissions_boundary.is_some(),
                ),
            ] {
                if given {
                    return Err(trust::ValidationError::new(
                        flag,
                        "",
                        "it names a piece of chained mode",
                        "Add --mode chained, or drop the flag.",
                    )
                    .into());
                }
            }
            None
        }
        TrustMode::Chained => Some(chained(args, &name)?),
    };
    let cluster_side = ClusterSide::of(&source, args.cluster_profile.as_deref(), &klanker);
    if chained.is_some() && cluster_side.is_none() {
        return Err(Error::ChainedNeedsClusterAccount {
            context: ctx.context_name.clone(),
        });
    }
    Ok(AddRequest {
        name,
        role_name,
        scope,
        sa_namespace,
        service_account: args.service_account.clone(),
        source,
        tags,
        policy_arns: args.policy_arns.clone(),
        permissions_boundary: args.permissions_boundary.clone(),
        session_duration: args.session_duration,
        register: args.register_oidc_provider,
        create_namespace: args.create_namespace,
        replace_issuer: args.replace_issuer,
        override_service_accounts: args.override_existing_serviceaccounts,
        mode: args.mode,
        chained,
        cluster_side,
        klanker,
        apply: args.apply,
        output: args.output,
        verify: !args.no_verify,
        context: ctx.clone(),
    })
}

/// Chained mode's names, checked.
fn chained(args: &AddArgs, name: &str) -> Result<Chained, Error> {
    let cluster_role_name = match &args.cluster_role_name {
        Some(r) => {
            validate::role_name(r, "--cluster-role-name")?;
            r.clone()
        }
        None => {
            let r = trust::default_cluster_role_name(name);
            validate::role_name(&r, "--name")?;
            r
        }
    };
    let config_map = args
        .config_map_name
        .clone()
        .unwrap_or_else(|| trust::chain::DEFAULT_CONFIG_MAP.to_string());
    validate::config_map_name(&config_map)?;
    if let Some(b) = &args.cluster_permissions_boundary {
        trust::arn::parse_policy_arn(b, "--cluster-permissions-boundary")?;
    }
    if args.role_name.as_deref() == Some(cluster_role_name.as_str()) {
        return Err(trust::ValidationError::new(
            "--cluster-role-name",
            &cluster_role_name,
            "it is the same as --role-name",
            "Give the two roles different names; they live in different accounts but are named apart so `list` and the policies can tell them apart.",
        )
        .into());
    }
    Ok(Chained {
        cluster_role_name,
        config_map,
        cluster_permissions_boundary: args.cluster_permissions_boundary.clone(),
    })
}

/// Where the issuer comes from: a flag, EKS (flags or the context), or,
/// for a cluster that is not EKS, its discovery document.
fn issuer_source(
    args: &AddArgs,
    ctx: &ContextInfo,
    cluster_name: Option<&str>,
) -> Result<IssuerSource, Error> {
    if let Some(url) = &args.issuer_url {
        return Ok(IssuerSource::Given {
            issuer: Issuer::parse(url, "--issuer-url")?,
            cluster_account: None,
        });
    }
    if let Some(arn) = &args.oidc_provider_arn {
        let parsed = OidcProviderArn::parse(arn, "--oidc-provider-arn")?;
        return Ok(IssuerSource::Given {
            issuer: parsed.issuer,
            cluster_account: Some(parsed.account),
        });
    }
    let Some(name) = cluster_name else {
        // Not EKS: the API server's discovery document names the issuer, but
        // only a --name can name the registry entry.
        if args.name.is_none() {
            return Err(Error::NotEks {
                context: ctx.context_name.clone(),
            });
        }
        return Ok(IssuerSource::Discover);
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
    Ok(IssuerSource::Eks {
        name: name.to_string(),
        region,
        profile: args
            .cluster_profile
            .clone()
            .or_else(|| ctx.eks.profile.clone()),
        role_arn,
        expect,
    })
}
