//! The AWS side: building SDK configs and clients once per account, and
//! mapping SDK errors to messages that say what was denied or missing.
//! Endpoints come from the standard `AWS_ENDPOINT_URL*` variables, so the
//! same code talks to AWS and to the test peers.

pub mod credentials;
pub mod eks;
pub mod error;
pub mod iam;
pub mod memo;
mod proxy;
pub mod quotas;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

pub use crate::cli::MfaCode;
pub use credentials::Session;
pub use error::AwsError;

/// One HTTPS client (ring-based rustls) shared by every AWS client of a run.
/// It goes through `HTTPS_PROXY`/`HTTP_PROXY` (or `ALL_PROXY`) unless
/// `NO_PROXY` names the endpoint, by kubectl's rules (`crate::no_proxy`,
/// as for the API server); the SDK's builder would connect directly, so
/// the connectors are built here with the settings and runtime components
/// it would have been given.
pub fn http_client() -> SharedHttpClient {
    let env = |name: &str| std::env::var(name).ok();
    SharedHttpClient::new(proxy::RoutedClient::from_env(&env))
}

/// Which account a call is made in, for logs and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Klanker,
    Cluster,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Klanker => "klanker account",
            Side::Cluster => "cluster account",
        })
    }
}

/// The account (and partition) a profile acts as; known without an STS
/// call when its configuration names it (`role_arn` of an assume-role
/// profile, `sso_account_id`).
pub use crate::trust::Identity;

/// Fails early, with the profile named, when it is not in the AWS config or
/// credentials file: the SDK's own error surfaces only at the first call.
/// Returns the identity the profile's configuration names, if any.
pub async fn check_profile(profile: &str, flag: &str) -> Result<Option<Identity>, AwsError> {
    let set = credentials::load_profiles().await?;
    let Some(found) = set.get_profile(profile) else {
        let mut known: Vec<&str> = set.profiles().collect();
        known.sort_unstable();
        return Err(AwsError::UnknownProfile {
            profile: profile.to_string(),
            flag: flag.to_string(),
            known: known.join(", "),
            config_file: std::env::var("AWS_CONFIG_FILE")
                .ok()
                .filter(|path| !path.is_empty())
                .unwrap_or_else(|| "~/.aws/config".into()),
        });
    };
    Ok(identity_of_profile(|key| found.get(key)))
}

/// The identity a profile's settings name: the account and partition of its
/// `role_arn`, else its `sso_account_id` in the partition of its region.
fn identity_of_profile<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<Identity> {
    let from_role = get("role_arn").and_then(|arn| {
        crate::trust::arn::account_of(arn).map(|account| Identity {
            partition: crate::trust::arn::partition_of(arn).to_string(),
            account: account.to_string(),
        })
    });
    // An SSO profile names the account but no ARN: its partition follows
    // from its region; without one, STS says (None here).
    let sso_partition = get("region")
        .or_else(|| get("sso_region"))
        .and_then(crate::trust::arn::partition_of_region);
    let from_sso = get("sso_account_id")
        .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
        .zip(sso_partition)
        .map(|(account, partition)| Identity {
            partition: partition.to_string(),
            account: account.to_string(),
        });
    from_role.or(from_sso)
}

/// Like `check_profile`, for callers that need only the check.
pub async fn check_profile_exists(profile: &str, flag: &str) -> Result<(), AwsError> {
    check_profile(profile, flag).await.map(|_| ())
}

/// What every AWS config of one run shares: one HTTPS client, the request
/// timeout, and the credentials session (MFA codes typed, sessions assumed).
#[derive(Debug, Clone)]
pub struct Access {
    pub http: SharedHttpClient,
    pub timeout: Duration,
    pub verbose: bool,
    pub session: Arc<Session>,
    /// How every client of the run retries (see [`Access::for_fleet`]).
    pub retry: RetryConfig,
    /// Each account's planning reads, made once however many clusters ask.
    pub accounts: Arc<memo::Accounts>,
}

impl Access {
    /// `interactive`: whether an MFA code may be asked for on the terminal.
    pub fn new(
        mfa_code: Option<MfaCode>,
        timeout: Duration,
        verbose: bool,
        interactive: bool,
    ) -> Self {
        Self {
            http: http_client(),
            timeout,
            verbose,
            session: Arc::new(
                Session::new(
                    mfa_code,
                    interactive,
                    std::env::var_os("HOME").map(std::path::PathBuf::from),
                )
                .with_process_timeout(timeout),
            ),
            retry: RetryConfig::standard().with_max_attempts(5),
            accounts: Arc::default(),
        }
    }

    /// Many clusters at once share each account's IAM request rate: the
    /// SDK's adaptive mode adds a client-side rate limiter (shared by the
    /// clients of one service in this process) that slows every cluster
    /// down when IAM throttles, and more attempts, so throttling slows the
    /// fleet instead of failing it.
    pub fn for_fleet(mut self) -> Self {
        self.retry = RetryConfig::adaptive().with_max_attempts(10);
        self
    }

    /// The reads shared by the clients of `side` built from `profile` (None:
    /// the default chain), then `role` when one is assumed, in `region`'s
    /// partition: IAM and STS answer the same there whatever the region.
    pub fn reads_of(
        &self,
        side: Side,
        profile: Option<&str>,
        role: Option<&str>,
        region: &str,
    ) -> Arc<memo::AccountReads> {
        let (profile, role) = (profile.unwrap_or_default(), role.unwrap_or_default());
        let partition = quotas::quota_region(region);
        // NUL cannot occur in a profile name, a role ARN or a region.
        let source = format!("{side}\0{profile}\0{role}\0{partition}");
        self.accounts.of(source)
    }
}

impl Access {
    /// The line plans start with: which identity each account acts as
    /// (the assumed-role ARN; never a key). Empty when no profile was resolved.
    pub fn identities_line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (side, who) in self.session.identities() {
            let part = format!("{who} in the {side}");
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("Acting as {}.\n", parts.join("; "))
        }
    }
}

/// Fails before any call where `profile` could not sign in later in the
/// run: an MFA step with neither a code nor a terminal, an SSO session
/// missing or expired. (For a profile the run resolves after others.)
pub async fn preflight(
    profile: &str,
    mfa_code: Option<MfaCode>,
    interactive: bool,
) -> Result<(), AwsError> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    Session::new(mfa_code, interactive, home)
        .preflight(profile)
        .await
}

/// Loads the SDK config for one account. A named profile's credentials
/// come from the run's [`Session`] (assume-role chains with MFA, the AWS
/// CLI's session cache, SSO, credential_process), resolved here, before
/// the first call, so a missing MFA code or SSO login is said at once.
/// Without a profile, aws-config's default chain is used.
/// Every attempt is bounded by the request timeout; the whole operation,
/// retries included, by four times that.
pub async fn load_config(
    profile: Option<&str>,
    region: &str,
    access: &Access,
    side: Side,
) -> Result<SdkConfig, AwsError> {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(access.http.clone())
        .region(Region::new(region.to_string()))
        // Standard mode retries throttling and 5xx with jittered backoff;
        // a fleet's is adaptive (`Access::for_fleet`).
        .retry_config(access.retry.clone())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(access.timeout)
                .operation_timeout(access.timeout * 4)
                .build(),
        );
    let Some(profile) = profile else {
        access.session.record(
            side,
            "the default AWS credential chain (no profile named)".into(),
        );
        return Ok(loader.load().await);
    };
    // Only the named profile's credentials: exported AWS_ACCESS_KEY_ID
    // and friends (often the other account's) must not win over it. The
    // session's STS calls use this config, without credentials of its own.
    let base = profile_base(loader, profile).await;
    // Resolving records (and with --verbose logs, once) the identity.
    access.session.resolve(profile, side, &base).await?;
    let provider = credentials::SessionProvider {
        session: access.session.clone(),
        profile: profile.to_string(),
        side,
        base: base.clone(),
    };
    Ok(base
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build())
}

/// The config the session's own calls use for `profile`: the named
/// profile alone, without credentials of its own. Exported
/// AWS_ACCESS_KEY_ID and friends (often the other account's) must not win
/// over it.
async fn profile_base(loader: aws_config::ConfigLoader, profile: &str) -> SdkConfig {
    loader
        .profile_name(profile)
        .credentials_provider(aws_credential_types::Credentials::new(
            "", "", None, None, "none",
        ))
        .load()
        .await
}

/// Has the bottom of `profile`'s chain now (keys, a credential process, an
/// SSO sign-in), so a broken profile stops the run before any call to an
/// account is sent; `load_config` reuses it.
pub async fn local_credentials(
    profile: &str,
    region: &str,
    access: &Access,
) -> Result<(), AwsError> {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(access.http.clone())
        .region(Region::new(region.to_string()));
    let base = profile_base(loader, profile).await;
    access.session.prepare_leaf(profile, &base).await
}

/// The config for `role_arn`, assumed with the credentials of `base`
/// (`aws eks get-token --role-arn` does the same).
pub async fn assume_role(base: &SdkConfig, role_arn: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("kubectl-klanker-trust")
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// Logs each AWS call (service and operation only, never credentials) for `--verbose`.
#[derive(Debug, Clone)]
pub struct CallLog {
    pub side: Side,
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(meta) => tracing::debug!(
                "  [aws {}] {}:{}",
                self.side,
                meta.service().to_ascii_lowercase(),
                meta.name()
            ),
            None => tracing::debug!("  [aws {}] (unnamed call)", self.side),
        }
        Ok(())
    }
}

/// Clients for the klanker account.
#[derive(Debug, Clone)]
pub struct KlankerClients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// Service Quotas, in the partition's region of IAM's quotas.
    pub quotas: aws_sdk_servicequotas::Client,
    /// The account's planning reads, shared with the run's other clients of it.
    pub reads: Arc<memo::AccountReads>,
}

impl KlankerClients {
    /// `reads`: from [`Access::reads_of`], or fresh for a command that plans once.
    pub fn new(config: &SdkConfig, verbose: bool, reads: Arc<memo::AccountReads>) -> Self {
        let mut iam = aws_sdk_iam::config::Builder::from(config);
        let mut sts = aws_sdk_sts::config::Builder::from(config);
        let mut quotas = quotas_config(config);
        if verbose {
            iam = iam.interceptor(CallLog {
                side: Side::Klanker,
            });
            sts = sts.interceptor(CallLog {
                side: Side::Klanker,
            });
            quotas = quotas.interceptor(CallLog {
                side: Side::Klanker,
            });
        }
        Self {
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            quotas: aws_sdk_servicequotas::Client::from_conf(quotas.build()),
            reads,
        }
    }
}

/// Clients for the cluster's account: EKS, and (for a cluster role) IAM and STS.
#[derive(Debug, Clone)]
pub struct ClusterClients {
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// Service Quotas, in the partition's region of IAM's quotas.
    pub quotas: aws_sdk_servicequotas::Client,
    /// The account's planning reads, shared with the run's other clients of it.
    pub reads: Arc<memo::AccountReads>,
}

/// Service Quotas for `config`'s account, asked in the region that keeps
/// IAM's (global) quotas.
/// One attempt, bounded by one attempt's timeout: the read is optional
/// (its default is used when it fails), so an endpoint that cannot be
/// reached must not hold `add` for the retries of a read it needs.
fn quotas_config(config: &SdkConfig) -> aws_sdk_servicequotas::config::Builder {
    let region = config.region().map(|r| r.as_ref()).unwrap_or_default();
    let attempt = config
        .timeout_config()
        .and_then(|t| t.operation_attempt_timeout())
        .unwrap_or(Duration::from_secs(10));
    aws_sdk_servicequotas::config::Builder::from(config)
        .region(Region::new(quotas::quota_region(region)))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(attempt)
                .operation_timeout(attempt)
                .build(),
        )
}

impl ClusterClients {
    /// `reads`: from [`Access::reads_of`].
    pub fn new(config: &SdkConfig, verbose: bool, reads: Arc<memo::AccountReads>) -> Self {
        let mut eks = aws_sdk_eks::config::Builder::from(config);
        let mut iam = aws_sdk_iam::config::Builder::from(config);
        let mut sts = aws_sdk_sts::config::Builder::from(config);
        let mut quotas = quotas_config(config);
        if verbose {
            let log = CallLog {
                side: Side::Cluster,
            };
            eks = eks.interceptor(log.clone());
            iam = iam.interceptor(log.clone());
            quotas = quotas.interceptor(log.clone());
            sts = sts.interceptor(log);
        }
        Self {
            eks: aws_sdk_eks::Client::from_conf(eks.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            quotas: aws_sdk_servicequotas::Client::from_conf(quotas.build()),
            reads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(settings: &[(&'static str, &'static str)]) -> Option<Identity> {
        identity_of_profile(|key| settings.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
    }

    #[test]
    fn sso_accounts_take_the_partition_of_their_region() {
        let cn = identity(&[("sso_account_id", "333333333333"), ("region", "cn-north-1")]);
        assert_eq!(cn.unwrap().partition, "aws-cn");
        let gov = identity(&[
            ("sso_account_id", "333333333333"),
            ("sso_region", "us-gov-west-1"),
        ]);
        assert_eq!(gov.unwrap().partition, "aws-us-gov");
        // No region: STS is asked rather than guessing `aws`.
        assert_eq!(identity(&[("sso_account_id", "333333333333")]), None);
    }

    #[test]
    fn role_profiles_take_the_partition_of_their_arn() {
        let id = identity(&[
            ("role_arn", "arn:aws-us-gov:iam::333333333333:role/x"),
            ("region", "us-east-1"),
        ]);
        assert_eq!(
            id,
            Some(Identity {
                partition: "aws-us-gov".into(),
                account: "333333333333".into()
            })
        );
    }
}
