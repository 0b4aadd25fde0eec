//! Which cluster are we talking about? Reads the kubeconfig the way kubectl
//! does and learns the EKS cluster name, region and cluster-account AWS
//! identity from the context's `exec` block, server host and ARN names.

use std::path::{Path, PathBuf};

use kube::config::{ExecConfig, Kubeconfig};

use crate::trust::EksClusterArn;

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The kubeconfig file could not be read or parsed.
    #[error("{}", read_message(.origin, .source))]
    Read {
        origin: Origin,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No `--context` and no current context.
    #[error(
        "the kubeconfig has no current context. Pick one with --context NAME or `kubectl config use-context NAME`."
    )]
    NoCurrentContext,
    /// `--context` names a context the kubeconfig lacks.
    #[error(
        "context `{0}` is not in the kubeconfig. See `kubectl config get-contexts` for the names."
    )]
    UnknownContext(String),
    /// The context names a cluster entry the kubeconfig lacks.
    #[error(
        "context `{context}` names cluster `{cluster}`, which is not in the kubeconfig. Fix the kubeconfig or pick another --context."
    )]
    UnknownCluster { context: String, cluster: String },
}

/// What the kubeconfig says about the selected context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    pub context_name: String,
    /// The context's namespace; `None` means kubectl's default, `default`.
    pub namespace: Option<String>,
    pub server: Option<String>,
    /// The EKS cluster ARN the context or its cluster entry is named by
    /// (`aws eks update-kubeconfig` names both so): what the context says
    /// the cluster is, to compare with what DescribeCluster returns.
    pub cluster_arn: Option<String>,
    pub eks: EksHints,
}

/// What the kubeconfig reveals about the EKS cluster behind a context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EksHints {
    pub cluster_name: Option<String>,
    pub region: Option<String>,
    /// Cluster account, when a cluster ARN names it.
    pub account: Option<String>,
    /// AWS profile the exec plugin uses (`--profile` or `AWS_PROFILE`).
    pub profile: Option<String>,
    /// Role the exec plugin assumes (`--role-arn`, or `-r` for aws-iam-authenticator).
    pub role_arn: Option<String>,
}

/// Loads the kubeconfig: `--kubeconfig` if given, else `KUBECONFIG` (several
/// paths merged, first wins) else `~/.kube/config`, as kubectl does.
pub fn load(explicit: Option<&Path>) -> Result<Kubeconfig, KubeconfigError> {
    match explicit {
        Some(path) => Kubeconfig::read_from(path).map_err(|source| KubeconfigError::Read {
            origin: Origin::Flag(path.to_path_buf()),
            source,
        }),
        None => Kubeconfig::read().map_err(|source| KubeconfigError::Read {
            origin: match std::env::var("KUBECONFIG") {
                Ok(value) if !value.is_empty() => Origin::Env(value),
                _ => Origin::Default,
            },
            source,
        }),
    }
}

/// Who named the kubeconfig that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(PathBuf),
    /// `KUBECONFIG`, as set (it may list several paths).
    Env(String),
    /// Neither: `~/.kube/config`.
    Default,
}

/// One paragraph: which file, who named it, what is wrong, the fix that
/// applies (never "set KUBECONFIG" to someone who did).
fn read_message(origin: &Origin, source: &kube::config::KubeconfigError) -> String {
    use kube::config::KubeconfigError as K;
    let (path, problem) = match source {
        K::ReadConfig(err, path) => (Some(path.display().to_string()), err.to_string()),
        K::Parse(err) => (None, format!("it is not kubeconfig YAML ({err})")),
        other => (None, other.to_string()),
    };
    let which = |named: String| {
        path.clone()
            .filter(|p| p != &named)
            .map_or(named.clone(), |p| format!("{named} (at {p})"))
    };
    match origin {
        Origin::Flag(p) => format!(
            "could not read the kubeconfig: --kubeconfig names {}: {problem}. Pass --kubeconfig PATH of a readable kubeconfig.",
            which(p.display().to_string())
        ),
        Origin::Env(value) => format!(
            "could not read the kubeconfig: KUBECONFIG names {}: {problem}. Fix or unset KUBECONFIG, or pass --kubeconfig PATH.",
            which(value.clone())
        ),
        Origin::Default => format!(
            "could not read the default kubeconfig{}: {problem}. Pass --kubeconfig PATH or set KUBECONFIG.",
            path.map(|p| format!(" {p}")).unwrap_or_default()
        ),
    }
}

/// Selects the context (`--context` or current-context) and gathers what it reveals.
pub fn select_context(
    kubeconfig: &Kubeconfig,
    context_override: Option<&str>,
) -> Result<ContextInfo, KubeconfigError> {
    let name = match context_override {
        Some(name) => name.to_string(),
        None => kubeconfig
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(KubeconfigError::NoCurrentContext)?,
    };
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| KubeconfigError::UnknownContext(name.clone()))?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .ok_or_else(|| KubeconfigError::UnknownCluster {
            context: name.clone(),
            cluster: context.cluster.clone(),
        })?;
    let server = cluster.cluster.as_ref().and_then(|c| c.server.clone());
    let exec = context.user.as_ref().and_then(|user| {
        kubeconfig
            .auth_infos
            .iter()
            .find(|a| &a.name == user)
            .and_then(|a| a.auth_info.as_ref())
            .and_then(|a| a.exec.as_ref())
    });

    let mut eks = exec.map(hints_from_exec).unwrap_or_default();
    // `aws eks update-kubeconfig` names the context and cluster by the cluster ARN.
    let (arn, cluster_arn) = match EksClusterArn::parse(&name) {
        Some(arn) => (Some(arn), Some(name.clone())),
        None => (
            EksClusterArn::parse(&cluster.name),
            EksClusterArn::parse(&cluster.name).map(|_| cluster.name.clone()),
        ),
    };
    if let Some(arn) = arn {
        eks.cluster_name.get_or_insert(arn.name);
        eks.account.get_or_insert(arn.account);
        eks.region.get_or_insert(arn.region);
    }
    if eks.region.is_none() {
        eks.region = server.as_deref().and_then(region_from_server);
    }
    Ok(ContextInfo {
        context_name: name,
        namespace: context.namespace.clone().filter(|n| !n.is_empty()),
        server,
        cluster_arn,
        eks,
    })
}

/// Whether the context points at the cluster an onboarding recorded: its
/// cluster ARN (context or cluster entry name) equals the recorded cluster,
/// or its server URL equals the recorded server (or cluster, for clusters
/// recorded by URL).
pub fn points_at(ctx: &ContextInfo, cluster: &str, server: Option<&str>) -> bool {
    let same_url = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    ctx.cluster_arn.as_deref() == Some(cluster)
        || ctx.server.as_deref().is_some_and(|s| {
            same_url(s, cluster) || server.is_some_and(|recorded| same_url(s, recorded))
        })
}

/// The contexts that point at the recorded cluster, the current one first.
pub fn contexts_for(kubeconfig: &Kubeconfig, cluster: &str, server: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = kubeconfig
        .contexts
        .iter()
        .filter_map(|c| select_context(kubeconfig, Some(&c.name)).ok())
        .filter(|ctx| points_at(ctx, cluster, server))
        .map(|ctx| ctx.context_name)
        .collect();
    if let Some(current) = &kubeconfig.current_context
        && let Some(i) = names.iter().position(|n| n == current)
    {
        let first = names.remove(i);
        names.insert(0, first);
    }
    names
}

/// Whether `server` is an EKS API endpoint (`https://ID.xxx.REGION.eks.amazonaws.com`).
pub fn is_eks_endpoint(server: &str) -> bool {
    region_from_server(server).is_some()
}

/// Reads `aws eks get-token ...` and `aws-iam-authenticator token ...` exec blocks.
pub fn hints_from_exec(exec: &ExecConfig) -> EksHints {
    let args: Vec<&str> = exec.args.iter().flatten().map(String::as_str).collect();
    let command = exec.command.as_deref().unwrap_or_default();
    let program = command
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(command)
        .trim_end_matches(".exe");
    let env = |key: &str| -> Option<String> {
        exec.env.iter().flatten().find_map(|entry| {
            (entry.get("name").map(String::as_str) == Some(key))
                .then(|| entry.get("value").cloned())
                .flatten()
                .filter(|v| !v.is_empty())
        })
    };

    let mut hints = EksHints {
        profile: env("AWS_PROFILE"),
        region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
        ..EksHints::default()
    };
    match program {
        "aws" if args.contains(&"eks") && args.contains(&"get-token") => {
            hints.cluster_name = flag(&args, &["--cluster-name"]);
            hints.role_arn = flag(&args, &["--role-arn"]);
            if let Some(p) = flag(&args, &["--profile"]) {
                hints.profile = Some(p);
            }
            if let Some(r) = flag(&args, &["--region"]) {
                hints.region = Some(r);
            }
        }
        "aws-iam-authenticator" if args.contains(&"token") => {
            hints.cluster_name = flag(&args, &["-i", "--cluster-id"]);
            hints.role_arn = flag(&args, &["-r", "--role"]);
            if let Some(r) = flag(&args, &["--region"]) {
                hints.region = Some(r);
            }
        }
        _ => {}
    }
    hints
}

/// Value of a flag written `--flag value` or `--flag=value`; the last one wins, as in the CLIs.
fn flag(args: &[&str], names: &[&str]) -> Option<String> {
    let mut found = None;
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        for name in names {
            if arg == name {
                if let Some(value) = iter.peek().filter(|v| !v.starts_with('-')) {
                    found = Some(value.to_string());
                }
            } else if let Some(value) = arg
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
            {
                found = Some(value.to_string());
            }
        }
    }
    found.filter(|v| !v.is_empty())
}

/// EKS API endpoints look like `https://ABC.gr7.us-east-1.eks.amazonaws.com`.
pub fn region_from_server(server: &str) -> Option<String> {
    let host = url::Url::parse(server)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let eks = labels.iter().position(|l| *l == "eks")?;
    let tail = &labels[eks + 1..];
    let is_amazon = tail == ["amazonaws", "com"] || tail == ["amazonaws", "com", "cn"];
    (is_amazon && eks >= 1)
        .then(|| labels[eks - 1].to_string())
        .filter(|r| crate::trust::validate::region(r, "server").is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(command: &str, args: &[&str], env: &[(&str, &str)]) -> ExecConfig {
        let yaml = serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": args,
            "env": env.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
        });
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn aws_eks_get_token_full() {
        let h = hints_from_exec(&exec(
            "aws",
            &[
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "dev-use1-0",
                "--profile",
                "cluster",
                "--role-arn",
                "arn:aws:iam::222222222222:role/admin",
                "--output",
                "json",
            ],
            &[],
        ));
        assert_eq!(h.cluster_name.as_deref(), Some("dev-use1-0"));
        assert_eq!(h.region.as_deref(), Some("eu-west-1"));
        assert_eq!(h.profile.as_deref(), Some("cluster"));
        assert_eq!(
            h.role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/admin")
        );
    }

    #[test]
    fn aws_eks_get_token_equals_form_and_env() {
        let h = hints_from_exec(&exec(
            "/usr/local/bin/aws",
            &["eks", "get-token", "--cluster-name=prod"],
            &[("AWS_PROFILE", "p1"), ("AWS_DEFAULT_REGION", "us-west-2")],
        ));
        assert_eq!(h.cluster_name.as_deref(), Some("prod"));
        assert_eq!(h.profile.as_deref(), Some("p1"));
        assert_eq!(h.region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn args_override_env_and_aws_region_beats_default_region() {
        let h = hints_from_exec(&exec(
            "aws",
            &[
                "eks",
                "get-token",
                "--cluster-name",
                "c",
                "--profile",
                "argp",
            ],
            &[
                ("AWS_PROFILE", "envp"),
                ("AWS_REGION", "ap-south-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
            ],
        ));
        assert_eq!(h.profile.as_deref(), Some("argp"));
        assert_eq!(h.region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn aws_iam_authenticator() {
        let h = hints_from_exec(&exec(
            "aws-iam-authenticator",
            &[
                "token",
                "-i",
                "legacy",
                "-r",
                "arn:aws:iam::222222222222:role/x",
            ],
            &[("AWS_PROFILE", "p")],
        ));
        assert_eq!(h.cluster_name.as_deref(), Some("legacy"));
        assert_eq!(
            h.role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/x")
        );
        assert_eq!(h.profile.as_deref(), Some("p"));
        let h = hints_from_exec(&exec(
            "aws-iam-authenticator.exe",
            &["token", "--cluster-id=x"],
            &[],
        ));
        assert_eq!(h.cluster_name.as_deref(), Some("x"));
    }

    #[test]
    fn other_exec_plugins_give_no_cluster() {
        let h = hints_from_exec(&exec("gke-gcloud-auth-plugin", &[], &[]));
        assert_eq!(h.cluster_name, None);
        let h = hints_from_exec(&exec("aws", &["sts", "get-caller-identity"], &[]));
        assert_eq!(h.cluster_name, None);
        // a flag with no value is ignored, not mistaken for the next flag
        let h = hints_from_exec(&exec(
            "aws",
            &["eks", "get-token", "--cluster-name", "--region", "x"],
            &[],
        ));
        assert_eq!(h.cluster_name, None);
    }

    #[test]
    fn server_regions() {
        assert_eq!(
            region_from_server("https://ABCDEF.gr7.us-east-1.eks.amazonaws.com").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            region_from_server("https://x.yl4.cn-north-1.eks.amazonaws.com.cn").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(region_from_server("https://127.0.0.1:6443"), None);
        assert_eq!(
            region_from_server("https://eks.amazonaws.com.evil.io"),
            None
        );
        assert_eq!(region_from_server("not a url"), None);
    }

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: arn:aws:eks:eu-west-1:222222222222:cluster/arn-named
contexts:
- name: arn:aws:eks:eu-west-1:222222222222:cluster/arn-named
  context: {cluster: arn:aws:eks:eu-west-1:222222222222:cluster/arn-named, user: arn-user}
- name: plain
  context: {cluster: plain, user: plain-user, namespace: ai-pods}
- name: kind
  context: {cluster: kind, user: kind-user}
- name: dangling
  context: {cluster: nowhere, user: kind-user}
clusters:
- name: arn:aws:eks:eu-west-1:222222222222:cluster/arn-named
  cluster: {server: "https://A.gr7.eu-west-1.eks.amazonaws.com"}
- name: plain
  cluster: {server: "https://B.yl4.us-west-2.eks.amazonaws.com"}
- name: kind
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: arn-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, arn-named]
- name: plain-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, plain-name]
      env: [{name: AWS_PROFILE, value: cluster-admin}]
- name: kind-user
  user: {token: abc}
"#;

    #[test]
    fn selects_current_context_and_reads_arn() {
        let kc = Kubeconfig::from_yaml(KUBECONFIG).unwrap();
        let info = select_context(&kc, None).unwrap();
        assert_eq!(info.eks.cluster_name.as_deref(), Some("arn-named"));
        assert_eq!(info.eks.account.as_deref(), Some("222222222222"));
        assert_eq!(info.eks.region.as_deref(), Some("eu-west-1"));
        assert_eq!(info.namespace, None);
    }

    #[test]
    fn context_override_namespace_and_server_region() {
        let kc = Kubeconfig::from_yaml(KUBECONFIG).unwrap();
        let info = select_context(&kc, Some("plain")).unwrap();
        assert_eq!(info.namespace.as_deref(), Some("ai-pods"));
        assert_eq!(info.eks.cluster_name.as_deref(), Some("plain-name"));
        assert_eq!(info.eks.region.as_deref(), Some("us-west-2"));
        assert_eq!(info.eks.profile.as_deref(), Some("cluster-admin"));
        assert_eq!(info.eks.account, None);
    }

    #[test]
    fn non_eks_context_has_no_hints() {
        let kc = Kubeconfig::from_yaml(KUBECONFIG).unwrap();
        let info = select_context(&kc, Some("kind")).unwrap();
        assert_eq!(info.eks, EksHints::default());
    }

    #[test]
    fn finds_the_contexts_of_a_recorded_cluster() {
        let kc = Kubeconfig::from_yaml(KUBECONFIG).unwrap();
        let arn = "arn:aws:eks:eu-west-1:222222222222:cluster/arn-named";
        let info = select_context(&kc, None).unwrap();
        assert_eq!(info.cluster_arn.as_deref(), Some(arn));
        assert_eq!(contexts_for(&kc, arn, None), [arn]);
        // By server URL (non-EKS clusters are recorded by it), trailing slash or not.
        assert_eq!(contexts_for(&kc, "https://127.0.0.1:6443/", None), ["kind"]);
        assert_eq!(
            contexts_for(
                &kc,
                "arn:aws:eks:us-west-2:1:cluster/x",
                Some("https://B.yl4.us-west-2.eks.amazonaws.com")
            ),
            ["plain"]
        );
        assert!(contexts_for(&kc, "https://elsewhere.example.com", None).is_empty());
        assert!(is_eks_endpoint("https://B.yl4.us-west-2.eks.amazonaws.com"));
        assert!(!is_eks_endpoint("https://127.0.0.1:6443"));
    }

    #[test]
    fn context_errors() {
        let kc = Kubeconfig::from_yaml(KUBECONFIG).unwrap();
        assert!(matches!(
            select_context(&kc, Some("missing")),
            Err(KubeconfigError::UnknownContext(n)) if n == "missing"
        ));
        assert!(matches!(
            select_context(&kc, Some("dangling")),
            Err(KubeconfigError::UnknownCluster { .. })
        ));
        let empty = Kubeconfig::from_yaml("apiVersion: v1\nkind: Config\n").unwrap();
        assert!(matches!(
            select_context(&empty, None),
            Err(KubeconfigError::NoCurrentContext)
        ));
    }
}
