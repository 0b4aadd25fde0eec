//! Command-line surface (clap derive): one struct per subcommand, shared
//! global flags. Parsing only; validation of values happens in `trust`.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::trust::{RegisterMode, TrustMode};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-klanker_trust",
    bin_name = "kubectl klanker-trust",
    version,
    about = "Trust a cluster's ServiceAccount to assume a role in the klanker AWS account (IRSA), in one step.",
    propagate_version = true,
    after_help = ROOT_EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
    /// The arguments as given (after the program's name): a fleet's
    /// failed cluster is converged by the same command for its context.
    #[arg(skip)]
    pub argv: Vec<String>,
}

const ROOT_EXAMPLES: &str = "Examples:
  kubectl klanker-trust add --namespace ai-pods        # plan an onboarding
  kubectl klanker-trust add --namespace ai-pods --yes  # ... and apply it
  kubectl klanker-trust list                # every onboarded cluster, drift
  kubectl klanker-trust verify dev-use1-0   # prove the chain works
  kubectl klanker-trust describe dev-use1-0 # its live state
  kubectl klanker-trust rm dev-use1-0       # plan the removal
  kubectl klanker-trust policy              # the IAM policies and RBAC needed

Exit codes: 0 ok; 1 failed, nothing changed; 2 bad input; 3 failed part-way
(re-run converges); 4 a link of the trust chain is broken; 130 interrupted
between steps.";

/// The heading global flags are listed under, apart from each command's own.
pub const GLOBAL_HEADING: &str = "Global options";

/// `add`'s flags, grouped so `-h` reads as the questions it asks: what to
/// trust, where it lives, how safely, what to print, as whom.
const TRUST_HEADING: &str = "What to trust";
const PLACE_HEADING: &str = "Where it lives";
const SAFETY_HEADING: &str = "Safety";
const OUTPUT_HEADING: &str = "Output";
const CREDENTIALS_HEADING: &str = "Credentials";

/// The global flags that mean nothing to `completion` and `version`, so
/// their help does not list them.
const GLOBALS_UNUSED_BY_LOCAL_COMMANDS: [&str; 6] = [
    "kubeconfig",
    "context",
    "config",
    "verbose",
    "request_timeout",
    "mfa_code",
];

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path of the kubeconfig file.
    ///
    /// Default: $KUBECONFIG, then ~/.kube/config.
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL_HEADING)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the current one).
    ///
    /// `add` takes it more than once to onboard several clusters in one run.
    #[arg(long = "context", id = "context", global = true, value_name = "NAME", action = clap::ArgAction::Append, help_heading = GLOBAL_HEADING)]
    pub contexts: Vec<String>,
    /// Path of km-config.yaml.
    ///
    /// Default: $KM_CONFIG, then $XDG_CONFIG_HOME/km/km-config.yaml or
    /// ~/.config/km/km-config.yaml.
    // KM_CONFIG is read after parsing (`Cli::parse_env`), not by clap's
    // `env`: clap puts an env-set flag into the usage line of every error
    // as if it were required.
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL_HEADING, hide_short_help = true)]
    pub config: Option<PathBuf>,
    /// Log each step and each AWS/Kubernetes call.
    ///
    /// Never credentials or tokens.
    #[arg(short, long, global = true, help_heading = GLOBAL_HEADING)]
    pub verbose: bool,
    /// How long one AWS or Kubernetes request may take.
    ///
    /// After it, the request is retried or fails: seconds, or a duration
    /// (30s, 2m; at most 10m).
    #[arg(long, global = true, default_value = "30", value_name = "DURATION", value_parser = parse_request_timeout, help_heading = GLOBAL_HEADING, hide_short_help = true)]
    pub request_timeout: u64,
    /// Code of the profile's MFA device.
    ///
    /// The current code of the device a profile's `mfa_serial` names (else
    /// asked on a terminal).
    #[arg(
        long,
        global = true,
        env = "KLANKER_TRUST_MFA_CODE",
        hide_env_values = true,
        value_name = "CODE",
        help_heading = CREDENTIALS_HEADING,
        hide_short_help = true
    )]
    pub mfa_code: Option<MfaCode>,
}

/// A duration in whole seconds: a plain number of seconds (`3600`), or
/// with units as kubectl and the AWS CLI take them (`1h`, `90m`, `1h30m`).
pub fn parse_seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let duration = humantime::parse_duration(text).map_err(|_| {
        format!(
            "`{text}` is not a duration: give seconds (3600) or a number with units (1h, 90m, 30s)"
        )
    })?;
    if duration.subsec_nanos() != 0 {
        return Err(format!("`{text}` is not a whole number of seconds"));
    }
    Ok(duration.as_secs())
}

fn parse_request_timeout(text: &str) -> Result<u64, String> {
    match parse_seconds(text)? {
        seconds @ 1..=600 => Ok(seconds),
        seconds => Err(format!(
            "{seconds} seconds is out of range: a request timeout is 1s to 10m (600 seconds)"
        )),
    }
}

fn parse_session_duration(text: &str) -> Result<u32, String> {
    let seconds = parse_seconds(text)?;
    u32::try_from(seconds).map_err(|_| {
        format!("{seconds} seconds is out of range: a session lasts 1h to 12h (3600-43200 seconds)")
    })
}

impl Cli {
    /// The command as the user sees it: global flags listed under their
    /// own heading, and not at all by `completion` and `version`, which
    /// take none of them.
    pub fn command_for_help() -> clap::Command {
        let mut cmd = Cli::command();
        // clap propagates a global flag only to subcommands that do not
        // define one of that ID: a hidden copy keeps it out of their help.
        let hidden: Vec<clap::Arg> = cmd
            .get_arguments()
            .filter(|a| GLOBALS_UNUSED_BY_LOCAL_COMMANDS.contains(&a.get_id().as_str()))
            .map(|a| a.clone().global(false).hide(true))
            .collect();
        for sub in ["completion", "version"] {
            cmd = cmd.mut_subcommand(sub, |sub| sub.args(hidden.clone()));
        }
        cmd
    }

    /// Parses the process's arguments (exits with clap's message on bad input).
    pub fn parse_env() -> Cli {
        let matches = Cli::command_for_help().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.argv = std::env::args_os()
            .skip(1)
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        cli.global.config = config_path(cli.global.config.take(), std::env::var_os("KM_CONFIG"));
        cli
    }
}

/// `--config`, else `KM_CONFIG` when it is set and not empty.
pub fn config_path(flag: Option<PathBuf>, env: Option<std::ffi::OsString>) -> Option<PathBuf> {
    flag.or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
}

impl Command {
    /// The subcommand as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Add(_) => "add",
            Command::List(_) => "list",
            Command::Rm(_) => "rm",
            Command::Verify(_) => "verify",
            Command::Describe(_) => "describe",
            Command::Audit(_) => "audit",
            Command::Policy(_) => "policy",
            Command::Completion(_) => "completion",
            Command::Version => "version",
        }
    }
}

impl GlobalArgs {
    /// The one context a command acts on (`--context`), when named; a
    /// command other than `add` refuses several before it runs.
    pub fn context(&self) -> Option<&str> {
        self.contexts.first().map(String::as_str)
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Onboard the current context's cluster: OIDC provider, role, policy, ServiceAccount.
    #[command(after_help = ADD_SHORT_EXAMPLES, after_long_help = ADD_EXAMPLES)]
    Add(Box<AddArgs>),
    /// List every onboarded cluster in the klanker account, and drift.
    #[command(after_help = LIST_EXAMPLES, visible_aliases = ["get", "ls"])]
    List(ListArgs),
    /// Remove an onboarding: role, owned and unused OIDC provider, ServiceAccount, km-config entry.
    #[command(after_help = RM_EXAMPLES, visible_alias = "delete")]
    Rm(RmArgs),
    /// Prove the trust works end to end, or say which link is broken.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Show the live state of one onboarding: role, trust policy, policies, provider, ServiceAccounts, drift.
    #[command(after_help = DESCRIBE_EXAMPLES)]
    Describe(DescribeArgs),
    /// Find weak workload-identity trusts in an account (IRSA, chained, Pod Identity) and print the fix; read-only.
    #[command(after_help = AUDIT_EXAMPLES)]
    Audit(AuditArgs),
    /// Print the least-privilege IAM policies (and RBAC) the two identities need.
    #[command(after_help = POLICY_SHORT_EXAMPLES, after_long_help = POLICY_EXAMPLES)]
    Policy(Box<PolicyArgs>),
    /// Print the shell completion script (see docs/install.md for installing it).
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
    /// Print version, git commit and target.
    #[command(after_help = "Example:\n  kubectl klanker-trust version")]
    Version,
}

const COMPLETION_EXAMPLES: &str = "Examples:
  # `kubectl klanker-trust <TAB>` (kubectl 1.26+): a helper on PATH
  kubectl klanker-trust completion kubectl-plugin \\
      > ~/.local/bin/kubectl_complete-klanker_trust
  chmod +x ~/.local/bin/kubectl_complete-klanker_trust
  # `kubectl-klanker_trust <TAB>`
  kubectl klanker-trust completion bash \\
      > ~/.local/share/bash-completion/completions/kubectl-klanker_trust
  kubectl klanker-trust completion zsh > \"${fpath[1]}/_kubectl-klanker_trust\"";

#[derive(Debug, Args)]
pub struct CompletionArgs {
    pub shell: CompletionShell,
}

/// What `completion` prints: a shell's script for the executable, or the
/// helper kubectl runs for `kubectl klanker-trust <TAB>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
    /// The `kubectl_complete-klanker_trust` helper: put it on PATH, executable.
    KubectlPlugin,
}

const AUDIT_EXAMPLES: &str = "Examples:
  kubectl klanker-trust audit                       # the klanker account
  kubectl klanker-trust audit --aws-profile a --aws-profile b  # two accounts
  kubectl klanker-trust audit --context dev -o wide # and that cluster's SAs
  kubectl klanker-trust audit --fail-on high -o json > audit.json  # gate CI
  kubectl klanker-trust audit --context dev --fix-doc my-role > trust.json
  aws iam update-assume-role-policy --role-name my-role \\
      --policy-document file://trust.json

Exit codes: 0 audited (whatever was found, without --fail-on); 1 a finding at
or above --fail-on, or a read was denied (`policy --for audit` prints what to
grant); 2 bad input.";

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditOutput {
    /// One line per finding, fitting 100 columns, and the totals.
    Text,
    /// Full ARNs, the statement and the fix on each line.
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// AWS profile of an account to audit (repeatable; default: the klanker profile).
    #[arg(long = "aws-profile", value_name = "PROFILE", default_values_t = ["klanker-application".to_string()])]
    pub aws_profiles: Vec<String>,
    /// Region for the STS/IAM calls.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: AuditOutput,
    /// Exit 1 when any finding is at or above this severity (for CI); without it, exit 0 whatever was found.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<crate::audit::Severity>,
    /// Print only the fixed trust document of this role (name or ARN), for `aws iam update-assume-role-policy`.
    #[arg(long, value_name = "ROLE")]
    pub fix_doc: Option<String>,
    /// The accounts' role trust policy quota, in characters.
    ///
    /// Default: each account's applied quota (Service Quotas iam
    /// L-C07B4B0D), read where the identity may, else 2048.
    #[arg(long, value_name = "CHARS")]
    pub max_trust_policy_size: Option<usize>,
    /// The accounts' OIDC provider quota.
    ///
    /// Default: each account's applied quota (Service Quotas iam
    /// L-858F3967), read where the identity may, else 100.
    #[arg(long, value_name = "N")]
    pub provider_quota: Option<usize>,
}

/// `policy -h`'s examples: the common three.
const POLICY_SHORT_EXAMPLES: &str = "Examples:
  kubectl klanker-trust policy                       # everything, as text
  kubectl klanker-trust policy --for klanker -o json > operator.json
  kubectl klanker-trust policy --for rbac -o yaml | kubectl apply -f -

--help: every flag, in detail, and more examples.";

const POLICY_EXAMPLES: &str = "Examples:
  # Both IAM policies and the RBAC, for the current context
  kubectl klanker-trust policy
  # The operator's policy, created in the klanker account
  kubectl klanker-trust policy --for klanker --klanker-account 333333333333 \\
      -o json > operator.json
  aws iam create-policy --policy-name km-trust-operator \\
      --policy-document file://operator.json
  kubectl klanker-trust policy --for klanker \\
      --allow-policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess \\
      --permissions-boundary arn:aws:iam::333333333333:policy/km-boundary \\
      -o json
  # The RBAC, applied
  kubectl klanker-trust policy --for rbac --namespace ai-pods --user alice \\
      -o yaml | kubectl apply -f -
  # Namespace and ServiceAccount from km-config.yaml
  kubectl klanker-trust policy --for rbac dev-use1-0 -o yaml
  kubectl klanker-trust policy --for cluster --mode chained -o json \\
      > cluster-operator.json
  # The km-irsa-* boundary, and audit's read-only policy
  kubectl klanker-trust policy --for cluster-boundary -o json > b.json
  kubectl klanker-trust policy --for audit -o json > audit.json
  aws iam create-policy --policy-name km-irsa-boundary \\
      --policy-document file://b.json";

/// Which identity's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFor {
    /// Both IAM policies and the RBAC.
    All,
    /// The klanker operator profile's IAM policy.
    Klanker,
    /// The cluster side: its account's IAM policy and the kubeconfig user's RBAC
    /// (with `--mode chained` or `pod-identity`, text output also shows the boundary below).
    Cluster,
    /// Chained mode (or `--mode pod-identity`, which adds sts:TagSession): the
    /// permissions boundary every km-irsa-* (km-podid-*) role in the cluster
    /// account carries (create it there as km-irsa-boundary).
    ClusterBoundary,
    /// The kubeconfig user's Kubernetes RBAC only.
    Rbac,
    /// The read-only IAM policy `audit` needs in each account it reads.
    Audit,
}

/// Output formats of `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyOutput {
    Text,
    Json,
    /// RBAC only (`--for rbac`): multi-document YAML for `kubectl apply -f -`.
    Yaml,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Onboarding whose namespace and ServiceAccount (from km-config.yaml) the RBAC is for.
    #[arg(conflicts_with_all = ["namespace", "service_accounts"])]
    pub name: Option<String>,
    /// Which identity's policy.
    ///
    /// The klanker operator profile, the cluster side, the RBAC, or all.
    #[arg(long = "for", value_enum, default_value = "all")]
    pub target: PolicyFor,
    /// Trust mode the cluster side is for (`add --mode`).
    ///
    /// chained adds the km-irsa-* roles, the account's OIDC provider and
    /// their boundary; pod-identity adds the km-podid-* roles (passed only
    /// to EKS Pod Identity), the cluster's associations and their boundary.
    #[arg(long, value_enum, default_value_t = TrustMode::Mirror)]
    pub mode: TrustMode,
    /// The profile, region and klanker account; here `--klanker-account` is
    /// the account the ARNs name (default: the account --aws-profile acts in).
    #[command(flatten)]
    pub aws: KlankerArgs,
    /// Managed policy `add --policy-arn` may attach besides km-operator-policy (repeatable).
    #[arg(long = "allow-policy-arn", value_name = "ARN", hide_short_help = true)]
    pub allow_policy_arns: Vec<String>,
    /// Permissions boundary every role must be created with (`add --permissions-boundary`).
    #[arg(long, value_name = "ARN", hide_short_help = true)]
    pub permissions_boundary: Option<String>,
    /// Chained and pod-identity modes: the boundary every km-irsa-* or
    /// km-podid-* role must carry, in the cluster account (default: its
    /// policy/km-irsa-boundary).
    #[arg(long, value_name = "ARN", hide_short_help = true)]
    pub cluster_permissions_boundary: Option<String>,
    /// Cluster account ID (default: from the context's cluster ARN).
    #[arg(long, value_name = "ID", hide_short_help = true)]
    pub cluster_account: Option<String>,
    /// EKS cluster name (default: from the context, else `*`).
    #[arg(long, hide_short_help = true)]
    pub cluster_name: Option<String>,
    /// EKS cluster region (default: from the context, else `*`).
    #[arg(long, hide_short_help = true)]
    pub cluster_region: Option<String>,
    /// Namespace of the onboarding's ServiceAccount (default: the context's namespace).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// ServiceAccount the RBAC may write and request tokens for (repeatable; default: km).
    #[arg(long = "service-account", value_name = "NAME")]
    pub service_accounts: Vec<String>,
    /// Also allow creating the namespace (`add --create-namespace`).
    #[arg(long, hide_short_help = true)]
    pub create_namespace: bool,
    /// Chained mode: the ConfigMap with the pods' AWS profile chain the RBAC
    /// may write (`add --config-map-name`; default: km-aws-config).
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub config_map_name: Option<String>,
    /// Bind the RBAC to this Kubernetes user (default: the group klanker-trust-admins).
    #[arg(long, value_name = "NAME", conflicts_with = "group")]
    pub user: Option<String>,
    /// Bind the RBAC to this Kubernetes group (default: klanker-trust-admins).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Output format: text (commented), raw JSON documents, or YAML (RBAC only).
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: PolicyOutput,
}

const VERIFY_EXAMPLES: &str = "Examples:
  kubectl klanker-trust verify                # the current context's cluster
  kubectl klanker-trust verify dev-use1-0
  kubectl klanker-trust verify dev-use1-0 -o json \\
      | jq '.checks[] | select(.status != \"OK\")'

Exit codes: 0 the chain works; 4 a link is broken (FAIL lines say which and
how to fix it); 1 other errors.";

const DESCRIBE_EXAMPLES: &str = "Examples:
  kubectl klanker-trust describe dev-use1-0
  kubectl klanker-trust describe dev-use1-0 -o json | jq .role.trust_policy";

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Registry name of the onboarding (as `list` shows it).
    pub name: String,
    #[command(flatten)]
    pub aws: KlankerArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: ReportOutput,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Registry names of onboardings (default: the EKS cluster name of the current context, as `add` derives it).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Verify every onboarding of the klanker account (as `list` shows them).
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// How many onboardings are verified at once (1 to 64).
    #[arg(long, default_value = "8", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64), hide_short_help = true)]
    pub parallel: u16,
    #[command(flatten)]
    pub aws: KlankerArgs,
    /// Chained mode: AWS profile for the cluster's account, where role A lives (default: from the context's exec block).
    #[arg(long, value_name = "PROFILE")]
    pub cluster_profile: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: ReportOutput,
}

/// The klanker account: which profile and region.
#[derive(Debug, Clone, Args)]
pub struct KlankerArgs {
    /// AWS profile for the klanker account.
    #[arg(long, default_value = "klanker-application", value_name = "PROFILE", help_heading = CREDENTIALS_HEADING)]
    pub aws_profile: String,
    /// Region for the klanker-side STS/IAM calls.
    #[arg(long, default_value = "us-east-1", help_heading = CREDENTIALS_HEADING, hide_short_help = true)]
    pub region: String,
    /// The klanker account ID the profile must land in.
    ///
    /// Any other account stops the command before any write.
    #[arg(long, value_name = "ID", help_heading = CREDENTIALS_HEADING, hide_short_help = true)]
    pub klanker_account: Option<String>,
}

/// `--dry-run`'s modes, as kubectl names them; `true` and `false` are
/// this tool's older spellings of `client` and `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Plan only (also `true`, and a bare --dry-run).
    #[value(alias = "true")]
    Client,
    /// Plan, and have the Kubernetes API server dry-run its writes (dryRun=All).
    Server,
    /// Apply (also `false`).
    #[value(alias = "false")]
    None,
}

/// When to change things.
#[derive(Debug, Clone, Copy, Args)]
pub struct ApplyArgs {
    /// Plan only (client), or also have the API server check (server).
    ///
    /// client: plan only (a bare --dry-run); server: plan, and the Kubernetes
    /// server dry-runs its writes; none: apply. Default: client when stdin is
    /// not a terminal, else ask.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_enum, value_name = "MODE", help_heading = SAFETY_HEADING)]
    pub dry_run: Option<DryRun>,
    /// Apply without asking (--dry-run still wins).
    #[arg(short = 'y', long, help_heading = SAFETY_HEADING)]
    pub yes: bool,
}

impl ApplyArgs {
    /// Applied with no question asked: `--dry-run=none`, or `--yes` alone.
    pub fn applies_without_asking(&self) -> bool {
        match self.dry_run {
            Some(DryRun::None) => true,
            Some(DryRun::Client | DryRun::Server) => false,
            None => self.yes,
        }
    }

    /// `--dry-run=server`: plan, then have the API server dry-run the cluster writes.
    pub fn server_dry_run(&self) -> bool {
        self.dry_run == Some(DryRun::Server)
    }
}

const LIST_EXAMPLES: &str = "Examples:
  kubectl klanker-trust list
  kubectl klanker-trust list -o wide
  kubectl klanker-trust list -o json | jq '.clusters[].role_arn'
  kubectl klanker-trust list --local      # km-config.yaml only, no AWS calls";

const RM_EXAMPLES: &str = "Examples:
  # Preview what would be removed
  kubectl klanker-trust rm dev-use1-0

  # Remove without a prompt, keeping the ServiceAccount in the cluster
  kubectl klanker-trust rm dev-use1-0 --yes --keep-service-account

  # In a script: exit 0 when dev-use1-0 is onboarded nowhere (gone already)
  kubectl klanker-trust rm dev-use1-0 --yes --ignore-not-found";

/// Output formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    /// A table that fits a terminal: role names, shortened issuers.
    Text,
    /// Full ARNs and issuers, the provider ARN, whether km-config.yaml has it.
    Wide,
    /// One onboarding name per line (for scripts: `| xargs -n1 ... verify`).
    Name,
    Json,
    Yaml,
}

/// Output formats of `rm` and `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportOutput {
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub aws: KlankerArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: ListOutput,
    /// List km-config.yaml only, without AWS calls (offline).
    #[arg(long)]
    pub local: bool,
    /// Tables without their header row.
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Registry names of the onboardings (as `list` shows them).
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    /// How many onboardings are removed at once (1 to 64).
    #[arg(long, default_value = "8", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64), hide_short_help = true)]
    pub parallel: u16,
    #[command(flatten)]
    pub aws: KlankerArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Leave the ServiceAccount in the cluster.
    #[arg(long)]
    pub keep_service_account: bool,
    /// Chained mode: AWS profile for the cluster's account, where role A lives (default: from the context's exec block).
    #[arg(long, value_name = "PROFILE")]
    pub cluster_profile: Option<String>,
    /// Exit 0 when NAME is onboarded nowhere (as `kubectl delete --ignore-not-found`); without it that is exit 1.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: ReportOutput,
}

/// `add -h`'s examples: the two commands a first run needs.
const ADD_SHORT_EXAMPLES: &str = "Examples:
  kubectl klanker-trust add --namespace ai-pods        # plan, change nothing
  kubectl klanker-trust add --namespace ai-pods --yes  # apply

--help: every flag, in detail, and more examples.";

const ADD_EXAMPLES: &str = "Examples:
  # Preview what would change (the default when stdin is not a terminal)
  kubectl klanker-trust add --name dev-use1-0 --namespace ai-pods

  # Apply without a prompt
  kubectl klanker-trust add --name dev-use1-0 --namespace ai-pods \\
      --dry-run=false

  # Create the IAM side; print the ServiceAccount for GitOps, not applied
  kubectl klanker-trust add --namespace ai-pods --yes -o manifest > sa.yaml

  # A non-EKS cluster with a public issuer
  kubectl klanker-trust add --name k3s-lab \\
      --issuer-url https://oidc.example.com --yes";

/// Output formats of `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AddOutput {
    Text,
    Json,
    Yaml,
    /// Print the ServiceAccount YAML instead of applying it.
    Manifest,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Registry name; the role is km-cluster-NAME.
    ///
    /// Default: the EKS cluster name of the context.
    #[arg(long, help_heading = TRUST_HEADING)]
    pub name: Option<String>,
    /// The cluster's own OIDC provider ARN.
    ///
    /// Only its issuer part is used.
    #[arg(long, value_name = "ARN", conflicts_with = "issuer_url", help_heading = PLACE_HEADING, hide_short_help = true)]
    pub oidc_provider_arn: Option<String>,
    /// OIDC issuer URL of a cluster that is not EKS.
    #[arg(long, value_name = "URL", help_heading = PLACE_HEADING)]
    pub issuer_url: Option<String>,
    /// Namespace the trust is scoped to; `*` = any.
    ///
    /// Default: the context's namespace.
    #[arg(long, short = 'n', help_heading = TRUST_HEADING)]
    pub namespace: Option<String>,
    /// ServiceAccount to trust (repeatable).
    ///
    /// In the trust policy and in the cluster: NAME in --namespace, or
    /// NAMESPACE:NAME.
    #[arg(
        long = "service-account",
        default_value = "km",
        value_name = "SA",
        help_heading = TRUST_HEADING
    )]
    pub service_accounts: Vec<String>,
    /// Largest trust policy IAM accepts, in characters without whitespace.
    ///
    /// Default: the account's role trust policy quota (Service Quotas iam
    /// L-C07B4B0D), read where the identity may, else 2048.
    #[arg(long, value_name = "N", help_heading = TRUST_HEADING, hide_short_help = true)]
    pub max_trust_policy_size: Option<usize>,
    #[command(flatten)]
    pub aws: KlankerArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Whether to create the OIDC provider.
    ///
    /// auto: reuse the issuer's provider or create it; true: always create;
    /// false: require an existing one.
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE", help_heading = PLACE_HEADING, hide_short_help = true)]
    pub register_oidc_provider: RegisterMode,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text", help_heading = OUTPUT_HEADING)]
    pub output: AddOutput,
    /// Create the namespace if it does not exist.
    #[arg(long, help_heading = PLACE_HEADING)]
    pub create_namespace: bool,
    /// Managed policy to attach (repeatable).
    ///
    /// Default: the klanker account's km-operator-policy.
    #[arg(long = "policy-arn", value_name = "ARN", help_heading = TRUST_HEADING)]
    pub policy_arns: Vec<String>,
    /// Role name (default: km-cluster-NAME).
    #[arg(long, help_heading = TRUST_HEADING, hide_short_help = true)]
    pub role_name: Option<String>,
    /// Trust mode (see --help).
    ///
    /// How the klanker role trusts the cluster. mirror: mirror the issuer as an OIDC provider in the klanker account;
    /// chained: an IRSA role in the cluster's account assumes the klanker role;
    /// pod-identity: an EKS Pod Identity association's role assumes the klanker role.
    #[arg(long, value_enum, default_value = "mirror", help_heading = TRUST_HEADING)]
    pub mode: TrustMode,
    /// Chained and pod-identity modes: the role in the cluster's account.
    ///
    /// Default: km-irsa-NAME (chained), km-podid-NAME (pod-identity).
    #[arg(long, value_name = "NAME", help_heading = PLACE_HEADING, hide_short_help = true)]
    pub cluster_role_name: Option<String>,
    /// Chained mode: the ConfigMap holding the pods' AWS config file.
    ///
    /// Default: km-aws-config.
    #[arg(long, value_name = "NAME", help_heading = PLACE_HEADING, hide_short_help = true)]
    pub config_map_name: Option<String>,
    /// Chained and pod-identity modes: permissions boundary policy ARN for the cluster-account role.
    #[arg(long, value_name = "ARN", help_heading = TRUST_HEADING, hide_short_help = true)]
    pub cluster_permissions_boundary: Option<String>,
    /// Pod-identity mode: EKS sends no session tags.
    ///
    /// The klanker role's trust then rests on the association role and the
    /// external ID alone; use it when the app chains the role further and
    /// hits the packed-policy limit.
    #[arg(long, help_heading = TRUST_HEADING, hide_short_help = true)]
    pub disable_session_tags: bool,
    /// Permissions boundary policy ARN for the role.
    #[arg(long, value_name = "ARN", help_heading = TRUST_HEADING, hide_short_help = true)]
    pub permissions_boundary: Option<String>,
    /// Extra role tag KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", help_heading = TRUST_HEADING, hide_short_help = true)]
    pub tags: Vec<String>,
    /// The role's MaxSessionDuration and the token-expiration annotation.
    ///
    /// Seconds, or a duration (1h, 90m; 1h to 12h).
    #[arg(long, default_value = "3600", value_name = "DURATION", value_parser = parse_session_duration, help_heading = TRUST_HEADING, hide_short_help = true)]
    pub session_duration: u32,
    /// Allow wildcards in --service-account.
    ///
    /// Any matching ServiceAccount may then assume the role.
    #[arg(long, help_heading = SAFETY_HEADING)]
    pub allow_wide_trust: bool,
    /// After applying, check every link of the trust chain (the default).
    #[arg(long, overrides_with = "no_verify", help_heading = SAFETY_HEADING, hide_short_help = true)]
    pub verify: bool,
    /// Skip the checks after applying.
    #[arg(long, help_heading = SAFETY_HEADING)]
    pub no_verify: bool,
    /// EKS cluster name (default: from the context's exec block or ARN).
    #[arg(long, help_heading = PLACE_HEADING, hide_short_help = true)]
    pub cluster_name: Option<String>,
    /// EKS cluster region (default: from the context).
    #[arg(long, help_heading = PLACE_HEADING, hide_short_help = true)]
    pub cluster_region: Option<String>,
    /// AWS profile for the cluster's account.
    ///
    /// Default: from the context's exec block.
    #[arg(long, value_name = "PROFILE", help_heading = CREDENTIALS_HEADING)]
    pub cluster_profile: Option<String>,
    /// Move an onboarding of this name to this cluster.
    ///
    /// Its issuer, account or ARN change: the old cluster loses access.
    #[arg(long, visible_alias = "replace-issuer", help_heading = SAFETY_HEADING, hide_short_help = true)]
    pub rebind: bool,
    /// Re-point a ServiceAccount annotated with another role.
    ///
    /// Its pods lose that role.
    #[arg(long, help_heading = SAFETY_HEADING, hide_short_help = true)]
    pub override_existing_serviceaccounts: bool,
    /// Onboard every kubeconfig context (a fleet).
    ///
    /// Each cluster under its own EKS cluster name, --parallel at a time,
    /// after one combined plan and one prompt.
    #[arg(long, help_heading = PLACE_HEADING)]
    pub all_contexts: bool,
    /// With --all-contexts: only the contexts whose name matches GLOB (`*`, `?`).
    #[arg(long, value_name = "GLOB", requires = "all_contexts", help_heading = PLACE_HEADING, hide_short_help = true)]
    pub context_pattern: Option<String>,
    /// How many clusters of a fleet are worked on at once (1 to 64).
    #[arg(long, default_value = "8", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64), help_heading = PLACE_HEADING, hide_short_help = true)]
    pub parallel: u16,
}

impl AddArgs {
    /// Several clusters in one run: more than one `--context`, or `--all-contexts`.
    pub fn is_fleet(&self, global: &GlobalArgs) -> bool {
        self.all_contexts || global.contexts.len() > 1
    }
}

/// An MFA code from `--mfa-code` / `KLANKER_TRUST_MFA_CODE`. Its Debug form
/// is redacted; parsing never fails, so clap never echoes it in an error
/// (it is checked, without being shown, when it is used).
#[derive(Clone, PartialEq, Eq)]
pub struct MfaCode(String);

impl std::fmt::Debug for MfaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaCode(<redacted>)")
    }
}

impl std::str::FromStr for MfaCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(MfaCode(s.trim().to_string()))
    }
}

impl MfaCode {
    /// The code itself, for the STS call alone.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn add(args: &[&str]) -> AddArgs {
        let mut argv = vec!["kubectl-klanker_trust", "add"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Add(a) => *a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn dry_run_forms() {
        assert_eq!(add(&[]).apply.dry_run, None);
        assert_eq!(add(&["--dry-run"]).apply.dry_run, Some(DryRun::Client));
        assert_eq!(add(&["--dry-run=false"]).apply.dry_run, Some(DryRun::None));
        assert_eq!(add(&["--dry-run=true"]).apply.dry_run, Some(DryRun::Client));
        assert_eq!(
            add(&["--dry-run=client"]).apply.dry_run,
            Some(DryRun::Client)
        );
        assert_eq!(
            add(&["--dry-run=server"]).apply.dry_run,
            Some(DryRun::Server)
        );
        assert_eq!(add(&["--dry-run=none"]).apply.dry_run, Some(DryRun::None));
        assert!(Cli::try_parse_from(["k", "add", "--dry-run=maybe"]).is_err());
    }

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(add(&["--session-duration", "1h"]).session_duration, 3600);
        assert_eq!(add(&["--session-duration", "90m"]).session_duration, 5400);
        assert_eq!(add(&["--session-duration", "7200"]).session_duration, 7200);
        assert_eq!(add(&["--session-duration", "1h30m"]).session_duration, 5400);
        let err = Cli::try_parse_from(["k", "add", "--session-duration", "1x"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("give seconds (3600) or a number with units"),
            "{err}"
        );
        assert!(Cli::try_parse_from(["k", "add", "--session-duration", "1500ms"]).is_err());
        let global = |v: &str| Cli::try_parse_from(["k", "list", "--request-timeout", v]);
        assert_eq!(global("30s").unwrap().global.request_timeout, 30);
        assert_eq!(global("2m").unwrap().global.request_timeout, 120);
        assert_eq!(global("45").unwrap().global.request_timeout, 45);
        let err = global("1h").unwrap_err();
        assert!(err.to_string().contains("1s to 10m"), "{err}");
        assert!(global("0").is_err());
    }

    #[test]
    fn kubectl_aliases() {
        for alias in ["get", "ls"] {
            assert!(matches!(
                Cli::try_parse_from(["k", alias]).unwrap().command,
                Command::List(_)
            ));
        }
        assert!(matches!(
            Cli::try_parse_from(["k", "delete", "x"]).unwrap().command,
            Command::Rm(_)
        ));
    }

    #[test]
    fn config_comes_from_the_flag_then_a_non_empty_km_config() {
        let flag = Some(PathBuf::from("/flag"));
        assert_eq!(config_path(flag.clone(), Some("/env".into())), flag);
        assert_eq!(
            config_path(None, Some("/env".into())),
            Some(PathBuf::from("/env"))
        );
        assert_eq!(config_path(None, Some("".into())), None);
        assert_eq!(config_path(None, None), None);
    }

    fn help(sub: &str) -> String {
        let mut cmd = Cli::command_for_help();
        // Propagates the global flags, as parsing does.
        cmd.build();
        cmd.find_subcommand_mut(sub)
            .unwrap()
            .render_long_help()
            .to_string()
    }

    #[test]
    fn global_flags_have_their_own_heading_and_stay_out_of_local_commands() {
        let add = help("add");
        let (own, global) = add.split_once(&format!("{GLOBAL_HEADING}:")).expect(&add);
        assert!(
            global.contains("--kubeconfig") && global.contains("--request-timeout"),
            "{add}"
        );
        assert!(
            !own.contains("--kubeconfig") && !own.contains("--context <"),
            "{add}"
        );
        for sub in ["completion", "version"] {
            let text = help(sub);
            assert!(
                !text.contains("--kubeconfig") && !text.contains("--context"),
                "{text}"
            );
        }
    }

    #[test]
    fn seed_defaults() {
        let a = add(&[]);
        assert_eq!(a.service_accounts, ["km"]);
        // Repeated, the values replace the default, in order.
        let several = add(&["--service-account", "a", "--service-account", "ci:b"]);
        assert_eq!(several.service_accounts, ["a", "ci:b"]);
        // None: the account's quota is read.
        assert_eq!(a.max_trust_policy_size, None);
        assert_eq!(a.aws.aws_profile, "klanker-application");
        assert_eq!(a.aws.region, "us-east-1");
        assert_eq!(a.register_oidc_provider, RegisterMode::Auto);
        assert_eq!(a.session_duration, 3600);
        assert_eq!(a.apply.dry_run, None);
        assert_eq!(a.output, AddOutput::Text);
    }

    #[test]
    fn repeatable_flags_and_conflicts() {
        let a = add(&[
            "--policy-arn",
            "a",
            "--policy-arn",
            "b",
            "--tag",
            "k=v",
            "--tag",
            "x=y",
        ]);
        assert_eq!(a.policy_arns, ["a", "b"]);
        assert_eq!(a.tags, ["k=v", "x=y"]);
        assert!(
            Cli::try_parse_from([
                "k",
                "add",
                "--issuer-url",
                "https://x",
                "--oidc-provider-arn",
                "arn"
            ])
            .is_err()
        );
    }

    fn policy(args: &[&str]) -> Result<PolicyArgs, clap::Error> {
        let mut argv = vec!["kubectl-klanker_trust", "policy"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Policy(p) => Ok(*p),
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn policy_flags() {
        let p = policy(&[
            "--allow-policy-arn",
            "a",
            "--allow-policy-arn",
            "b",
            "--service-account",
            "x",
            "--service-account",
            "y",
            "-n",
            "ns",
        ])
        .unwrap();
        assert_eq!(p.allow_policy_arns, ["a", "b"]);
        assert_eq!(p.service_accounts, ["x", "y"]);
        assert_eq!(p.aws.klanker_account, None);
        assert_eq!(p.target, PolicyFor::All);
        // One subject; a NAME or the flags, not both.
        assert!(policy(&["--user", "u", "--group", "g"]).is_err());
        assert!(policy(&["dev-use1-0", "--namespace", "ns"]).is_err());
        assert!(policy(&["dev-use1-0", "--service-account", "km"]).is_err());
        let named = policy(&["dev-use1-0", "--for", "rbac", "-o", "yaml"]).unwrap();
        assert_eq!(named.name.as_deref(), Some("dev-use1-0"));
        assert_eq!(named.output, PolicyOutput::Yaml);
    }

    #[test]
    fn policy_mode_and_cluster_boundary() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.mode, TrustMode::Mirror);
        assert_eq!(p.cluster_permissions_boundary, None);
        let p = policy(&[
            "--for",
            "cluster-boundary",
            "--mode",
            "chained",
            "--cluster-permissions-boundary",
            "arn:aws:iam::222222222222:policy/b",
        ])
        .unwrap();
        assert_eq!(p.target, PolicyFor::ClusterBoundary);
        assert_eq!(p.mode, TrustMode::Chained);
        assert_eq!(
            p.cluster_permissions_boundary.as_deref(),
            Some("arn:aws:iam::222222222222:policy/b")
        );
        assert!(policy(&["--mode", "assume"]).is_err());
    }
}
