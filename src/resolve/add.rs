//! `add`'s request: the flags and the context, checked, with every default
//! filled in.

use std::collections::BTreeMap;

use super::ResolveError as Error;
use super::{ClusterSide, Expect, IssuerSource, Klanker};
use crate::cli::{AddArgs, AddOutput, ApplyArgs};
use crate::kubeconfig::ContextInfo;
use crate::trust::RegisterMode;
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
    /// Every ServiceAccount the trust admits, in flag order; the first is
    /// `scope` (several `--service-account`s).
    pub scopes: Vec<TrustScope>,
    /// `--max-trust-policy-size`: IAM's quota for the trust policy; None:
    /// the account's applied quota is read (`plan::quota::trust_limit`).
    pub max_trust_policy_size: Option<usize>,
    pub source: IssuerSource,
    /// `--tag`s, without the tool's own.
    pub tags: BTreeMap<String, String>,
    /// `--policy-arn`s; empty means the klanker account's operator policy.
    pub policy_arns: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub session_duration: u32,
    pub register: RegisterMode,
    pub create_namespace: bool,
    pub rebind: bool,
    pub override_service_accounts: bool,
    /// The trust mode, with its own pieces: held here once.
    pub mode: ModeRequest,
    /// The identity that reads and writes the cluster's account: needed by a
    /// mode with a cluster role, and to leave one (that role is removed).
    pub cluster_side: Option<ClusterSide>,
    pub klanker: Klanker,
    pub apply: ApplyArgs,
    pub output: AddOutput,
    /// Run `verify`'s local checks after applying.
    pub verify: bool,
    pub context: ContextInfo,
}

/// The trust mode asked for, with the pieces it makes in the cluster's account.
#[derive(Debug, Clone)]
pub struct ModeRequest {
    /// Which mode, as the CLI and km-config.yaml name it.
    pub kind: TrustMode,
    /// The role the mode makes in the cluster's account; None when it makes none there.
    pub cluster_role: Option<ClusterRoleRequest>,
    /// Whether the cluster's identity service tags the sessions it opens
    /// (the klanker role's trust then pins those tags); false when the mode
    /// has no such service or `--disable-session-tags` is given.
    pub session_tags: bool,
}

impl ModeRequest {
    /// Which mode, as the CLI and km-config.yaml name it.
    pub fn kind(&self) -> TrustMode {
        self.kind
    }

    /// The cluster-account role's names; None in a mode without one.
    pub fn cluster_role(&self) -> Option<&ClusterRoleRequest> {
        self.cluster_role.as_ref()
    }
}

/// A mode's names in the cluster's account and in the cluster, checked.
#[derive(Debug, Clone)]
pub struct ClusterRoleRequest {
    /// The role in the cluster's account (the one the ServiceAccount or the
    /// pod identity reaches first).
    pub cluster_role_name: String,
    /// The ConfigMap pods read the role chain from, when the mode writes one.
    pub config_map: Option<String>,
    pub cluster_permissions_boundary: Option<String>,
}

/// What resolving `add` asks of the chosen mode: its own flags, checked,
/// and another mode's refused. Each mode module implements it.
pub trait ModeFlags {
    fn resolve_flags(&self, args: &AddArgs, name: &str) -> Result<ModeRequest, Error>;
}

impl AddRequest {
    /// The trusted subjects, as the plan's header names them.
    pub fn subjects_line(&self) -> String {
        self.scopes
            .iter()
            .map(|s| s.subject())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `-o manifest`: print the ServiceAccount instead of applying it.
    pub fn manifest_only(&self) -> bool {
        self.output == AddOutput::Manifest
    }

    /// Whether a ServiceAccount is applied (a wildcard names none).
    pub fn applies_service_account(&self) -> bool {
        !self.manifest_only() && !self.service_accounts().is_empty()
    }

    /// The ServiceAccounts a trust names, as `(namespace, name)` in flag
    /// order: a wildcard name names none, and a wildcard namespace's lives
    /// in `sa_namespace`.
    pub fn service_accounts(&self) -> Vec<(String, String)> {
        self.scopes
            .iter()
            .filter(|s| !s.service_account_is_wildcard())
            .map(|s| {
                (
                    s.namespace
                        .clone()
                        .unwrap_or_else(|| self.sa_namespace.clone()),
                    s.service_account.clone(),
                )
            })
            .collect()
    }

    /// The cluster is contacted to apply the ServiceAccount or to read its
    /// issuer; `-o manifest` otherwise leaves it alone.
    pub fn needs_cluster(&self) -> bool {
        !self.manifest_only() || matches!(self.source, IssuerSource::Discover)
    }
}

/// Checks every flag locally, before anything touches the network.
pub fn resolve(
    args: &AddArgs,
    ctx: &ContextInfo,
    mode: &dyn ModeFlags,
) -> Result<AddRequest, Error> {
    let klanker = Klanker::resolve(&args.aws)?;
    let tags = check_flags(args)?;
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
    let role_name = role_name(args, &name)?;
    let context_namespace = ctx
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| context_namespace.clone());
    validate::namespace(&namespace)?;
    let scopes = scopes(&args.service_accounts, &namespace)?;
    let Some(scope) = scopes.first().cloned() else {
        return Err(trust::ValidationError::new(
            "--service-account",
            "",
            "no ServiceAccount is named",
            "Pass --service-account NAME (default: km).",
        )
        .into());
    };
    // The longer of the two descriptions the role can get.
    validate::description(&trust::role_description_for(&name, &scopes, true), &name)?;
    // A wildcard trust still needs a real namespace to hold the ServiceAccount.
    let sa_namespace = scope.namespace.clone().unwrap_or(context_namespace);
    let mode = mode.resolve_flags(args, &name)?;
    let cluster_side = ClusterSide::of(Some(&source), args.cluster_profile.as_deref(), &klanker);
    if mode.cluster_role().is_some() && cluster_side.is_none() {
        return Err(Error::ClusterRoleNeedsClusterAccount {
            mode: mode.kind(),
            context: ctx.context_name.clone(),
        });
    }
    Ok(AddRequest {
        name,
        role_name,
        sa_namespace,
        service_account: scope.service_account.clone(),
        scope,
        scopes,
        max_trust_policy_size: args.max_trust_policy_size,
        source,
        tags,
        policy_arns: args.policy_arns.clone(),
        permissions_boundary: args.permissions_boundary.clone(),
        session_duration: args.session_duration,
        register: args.register_oidc_provider,
        create_namespace: args.create_namespace,
        rebind: args.rebind,
        override_service_accounts: args.override_existing_serviceaccounts,
        mode,
        cluster_side,
        klanker,
        apply: args.apply,
        output: args.output,
        verify: !args.no_verify,
        context: ctx.clone(),
    })
}

/// The flags checked on their own, before anything is derived from them;
/// the role's tags, with the tool's own keys reserved.
fn check_flags(args: &AddArgs) -> Result<BTreeMap<String, String>, Error> {
    validate::session_duration(args.session_duration)?;
    if let Some(size) = args
        .max_trust_policy_size
        .filter(|s| !(1..=trust::policy::MAX_TRUST_POLICY_QUOTA).contains(s))
    {
        return Err(trust::ValidationError::new(
            "--max-trust-policy-size",
            size.to_string(),
            format!(
                "IAM's trust policy quota is at most {} characters",
                trust::policy::MAX_TRUST_POLICY_QUOTA
            ),
            "Pass the quota your account has: 2048 by default, 4096 or 8192 after a quota increase.",
        )
        .into());
    }
    for value in &args.service_accounts {
        let name = value.split_once(':').map_or(value.as_str(), |(_, n)| n);
        validate::service_account_pattern(name, args.allow_wide_trust).map_err(|mut e| {
            e.value = value.clone();
            e
        })?;
        if name.contains(['*', '?']) && args.output == AddOutput::Manifest {
            return Err(trust::ValidationError::new(
                "--service-account",
                value,
                "a wildcard names no single ServiceAccount to print",
                "Use -o text, and annotate the matching ServiceAccounts yourself.",
            )
            .into());
        }
    }
    for arn in &args.policy_arns {
        trust::arn::parse_policy_arn(arn, "--policy-arn")?;
    }
    if let Some(b) = &args.permissions_boundary {
        trust::arn::parse_policy_arn(b, "--permissions-boundary")?;
    }
    let reserved = [
        MANAGED_BY_TAG,
        NAME_TAG,
        trust::CLUSTER_TAG,
        trust::SERVER_TAG,
    ];
    let tags = validate::tag_set(&args.tags, &reserved)?;
    if let Some(r) = &args.cluster_region {
        validate::region(r, "--cluster-region")?;
    }
    Ok(tags)
}

/// `--role-name`, else `km-cluster-NAME`, each within IAM's limits.
fn role_name(args: &AddArgs, name: &str) -> Result<String, Error> {
    match &args.role_name {
        Some(r) => {
            validate::role_name(r, "--role-name")?;
            Ok(r.clone())
        }
        None => {
            let r = trust::default_role_name(name);
            validate::role_name(&r, "--name")?;
            Ok(r)
        }
    }
}

/// The trusted subjects of the `--service-account` values (each already
/// checked as a name or pattern): `NAME` is in `namespace`, `NAMESPACE:NAME`
/// in that namespace. A namespace wildcard already admits every namespace,
/// so naming one beside it would mean nothing: refused, as are repeats.
fn scopes(values: &[String], namespace: &str) -> Result<Vec<TrustScope>, trust::ValidationError> {
    let mut scopes: Vec<TrustScope> = Vec::new();
    for value in values {
        let scope = match value.split_once(':') {
            None => TrustScope::new(namespace, value),
            Some(_) if namespace == "*" => {
                return Err(trust::ValidationError::new(
                    "--service-account",
                    value,
                    "--namespace '*' already trusts every namespace, so a NAMESPACE:NAME beside it has no meaning",
                    "Name the namespaces instead: --namespace NS --service-account NAME --service-account OTHER-NS:NAME.",
                ));
            }
            Some((ns, name)) => {
                if ns.contains(['*', '?']) {
                    return Err(trust::ValidationError::new(
                        "--service-account",
                        value,
                        "a namespace in NAMESPACE:NAME cannot be a wildcard",
                        "Use --namespace '*' to trust a name in any namespace.",
                    ));
                }
                validate::namespace(ns).map_err(|mut e| {
                    e.input = "--service-account".into();
                    e.value = value.clone();
                    e
                })?;
                TrustScope::new(ns, name)
            }
        };
        if scopes.contains(&scope) {
            return Err(trust::ValidationError::new(
                "--service-account",
                value,
                format!(
                    "it names {} again; each ServiceAccount is trusted once",
                    scope.subject()
                ),
                "Drop the repeated --service-account.",
            ));
        }
        scopes.push(scope);
    }
    Ok(scopes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn resolved(flags: &[&str]) -> Result<AddRequest, Error> {
        let mut argv = vec![
            "kubectl-klanker_trust",
            "add",
            "--name",
            "dev",
            "--issuer-url",
            "https://oidc.example.com/id/A",
        ];
        argv.extend_from_slice(flags);
        let Command::Add(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not add");
        };
        let ctx = ContextInfo {
            context_name: "ctx".into(),
            namespace: Some("ai-pods".into()),
            ..ContextInfo::default()
        };
        resolve(&args, &ctx, &SharedFlagsOnly)
    }

    /// A mode with no flags of its own: these tests are about the shared
    /// flags (each mode's own are tested in its module).
    struct SharedFlagsOnly;

    impl ModeFlags for SharedFlagsOnly {
        fn resolve_flags(&self, args: &AddArgs, _: &str) -> Result<ModeRequest, Error> {
            Ok(ModeRequest {
                kind: args.mode,
                cluster_role: None,
                session_tags: false,
            })
        }
    }

    fn refusal(flags: &[&str]) -> String {
        match resolved(flags) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("accepted {flags:?}: {:?}", r.scopes),
        }
    }

    #[test]
    fn one_service_account_is_the_default_km_as_before() {
        let req = resolved(&[]).unwrap();
        assert_eq!(req.scopes, [TrustScope::new("ai-pods", "km")]);
        assert_eq!(req.service_accounts(), [("ai-pods".into(), "km".into())]);
        assert_eq!(req.max_trust_policy_size, None);
    }

    #[test]
    fn names_are_in_the_namespace_and_namespace_name_in_its_own() {
        let req = resolved(&[
            "--namespace",
            "argocd",
            "--service-account",
            "server",
            "--service-account",
            "repo-server",
            "--service-account",
            "ci:deployer",
        ])
        .unwrap();
        assert_eq!(
            req.scopes,
            [
                TrustScope::new("argocd", "server"),
                TrustScope::new("argocd", "repo-server"),
                TrustScope::new("ci", "deployer"),
            ]
        );
        // The first is the entry's namespace/service_account, as before.
        assert_eq!(
            (req.sa_namespace.as_str(), req.service_account.as_str()),
            ("argocd", "server")
        );
        assert_eq!(req.service_accounts().len(), 3);
        assert!(req.applies_service_account());
    }

    #[test]
    fn repeats_bad_names_and_bad_namespaces_are_refused_before_anything() {
        let twice = refusal(&["--service-account", "a", "--service-account", "ai-pods:a"]);
        assert!(
            twice.contains("system:serviceaccount:ai-pods:a again"),
            "{twice}"
        );
        let bad_ns = refusal(&["--service-account", "Bad_NS:a"]);
        assert!(bad_ns.contains("`Bad_NS:a`"), "{bad_ns}");
        assert!(bad_ns.contains("DNS-1123 labels"), "{bad_ns}");
        let bad_name = refusal(&["--service-account", "ns:A_B"]);
        assert!(bad_name.contains("`ns:A_B`"), "{bad_name}");
        let wide = refusal(&["--service-account", "a", "--service-account", "ci-*"]);
        assert!(wide.contains("--allow-wide-trust"), "{wide}");
        let wild_ns = refusal(&["--service-account", "*:a", "--allow-wide-trust"]);
        assert!(wild_ns.contains("cannot be a wildcard"), "{wild_ns}");
        let empty_ns = refusal(&["--service-account", ":a"]);
        assert!(empty_ns.contains("`:a`"), "{empty_ns}");
    }

    #[test]
    fn namespace_name_beside_a_wildcard_namespace_has_no_meaning() {
        let msg = refusal(&["--namespace", "*", "--service-account", "other:km"]);
        assert!(
            msg.contains("--namespace '*' already trusts every namespace"),
            "{msg}"
        );
        // Plain names with `*` still mean that name in any namespace.
        let req = resolved(&[
            "--namespace",
            "*",
            "--service-account",
            "a",
            "--service-account",
            "b",
        ])
        .unwrap();
        assert_eq!(
            req.service_accounts(),
            [
                ("ai-pods".into(), "a".into()),
                ("ai-pods".into(), "b".into())
            ]
        );
    }

    #[test]
    fn a_wildcard_name_among_several_applies_only_the_named_ones() {
        let req = resolved(&[
            "--service-account",
            "ci-*",
            "--service-account",
            "km",
            "--allow-wide-trust",
        ])
        .unwrap();
        assert_eq!(req.service_accounts(), [("ai-pods".into(), "km".into())]);
        assert!(req.applies_service_account());
    }

    #[test]
    fn the_trust_policy_quota_must_be_one_iam_can_have() {
        assert!(resolved(&["--max-trust-policy-size", "4096"]).is_ok());
        let msg = refusal(&["--max-trust-policy-size", "9000"]);
        assert!(msg.contains("at most 8192"), "{msg}");
        assert!(refusal(&["--max-trust-policy-size", "0"]).contains("8192"));
    }
}
