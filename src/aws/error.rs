//! AWS errors as users should read them: which call, in which account, why.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Side;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The profile a flag names is in neither AWS file.
    #[error(
        "AWS profile `{profile}` ({flag}) is not defined in the AWS config or credentials file (known profiles: {known}). Add it to {config_file}, or pass another {flag}."
    )]
    UnknownProfile {
        profile: String,
        flag: String,
        known: String,
        /// The config file the SDK reads: AWS_CONFIG_FILE, else ~/.aws/config.
        config_file: String,
    },
    /// The AWS config or credentials file could not be read or parsed.
    #[error("could not read the AWS config files: {message}")]
    ProfileFile { message: String },
    /// IAM or STS refused the call: a permission is missing.
    #[error(
        "{operation} was denied in the {side}: {message}. Grant the {side} identity permission for `{operation}` (see `kubectl klanker-trust policy`)."
    )]
    AccessDenied {
        operation: &'static str,
        side: Side,
        message: String,
    },
    /// Any other error answer of an AWS service.
    #[error("{operation} failed in the {side} ({code}): {message}")]
    Service {
        operation: &'static str,
        side: Side,
        code: String,
        message: String,
    },
    /// The call never got an answer (network, endpoint, timeout).
    #[error(
        "{operation} could not reach {endpoint} in the {side}: {why}. Check the network (and any proxy) and that profile's AWS credentials and endpoint settings."
    )]
    Transport {
        operation: &'static str,
        side: Side,
        /// The configured endpoint URL, or which service and region.
        endpoint: String,
        /// What happened, in words: never the SDK's or hyper's text.
        why: String,
        /// The causes' own text, for --verbose alone.
        #[source]
        detail: Option<Detail>,
    },
    /// DescribeCluster found no such EKS cluster.
    #[error(
        "EKS cluster `{name}` was not found in {region} of the {side}. Check --cluster-name and --cluster-region, or pass --issuer-url."
    )]
    ClusterNotFound {
        name: String,
        region: String,
        side: Side,
    },
    /// An entity to change or remove lacks our ownership tag.
    #[error(
        "{entity} exists but was not created by kubectl-klanker-trust (no klanker-trust/managed-by tag); it was left untouched. Delete or tag it yourself, or pick another name."
    )]
    NotOwned { entity: String },
    /// An entity to change or remove is tagged for another onboarding.
    #[error(
        "{entity} now belongs to onboarding `{other}` (its klanker-trust/name tag), not `{name}`; it was left untouched and nothing more was changed for it."
    )]
    OtherOnboarding {
        entity: String,
        name: String,
        other: String,
    },
    /// Credentials for a profile could not be had (MFA, SSO, credential_process, the profile chain).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// An answer lacked a field the call always returns.
    #[error("{operation} returned no {what}")]
    Incomplete {
        operation: &'static str,
        what: &'static str,
    },
}

impl AwsError {
    /// The same error, said of `side`: the IAM adapter serves both accounts
    /// (a cluster role is in the cluster's), and names the klanker one.
    pub fn on_side(mut self, to: Side) -> Self {
        match &mut self {
            AwsError::AccessDenied { side, .. }
            | AwsError::Service { side, .. }
            | AwsError::Transport { side, .. }
            | AwsError::ClusterNotFound { side, .. } => *side = to,
            _ => {}
        }
        self
    }

    /// The AWS error code, where the service gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Service { code, .. } => Some(code),
            AwsError::AccessDenied { .. } => Some("AccessDenied"),
            _ => None,
        }
    }

    /// Maps any SDK error: access denials are singled out since they are the
    /// most common failure of a tool that needs two sets of permissions.
    pub fn from_sdk<E, R>(
        operation: &'static str,
        side: Side,
        endpoint: &dyn Endpoint,
        err: SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("Unknown").to_string();
                let message = e.message().unwrap_or("no message").to_string();
                if matches!(
                    code.as_str(),
                    "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
                ) {
                    AwsError::AccessDenied {
                        operation,
                        side,
                        message,
                    }
                } else {
                    AwsError::Service {
                        operation,
                        side,
                        code,
                        message,
                    }
                }
            }
            _ => {
                let (why, detail) = transport_why(&err);
                AwsError::Transport {
                    operation,
                    side,
                    endpoint: endpoint.endpoint(),
                    why: why.to_string(),
                    detail: (!detail.is_empty()).then_some(Detail(detail)),
                }
            }
        }
    }
}

/// An error and its causes, by their Display text only, each once
/// (`DisplayErrorContext` would add the Debug form).
pub fn display_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The causes of a transport failure as the libraries say them (hyper's
/// `client error (SendRequest): ...`): shown by --verbose only, as a
/// "caused by" line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Detail(String);

/// What the causes' text says happened to the connection, in words; `None`
/// when it says nothing known.
fn connection_words(chain: &str) -> Option<&'static str> {
    let lower = chain.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if any(&[
        "closed before message completed",
        "connection reset",
        "broken pipe",
        "unexpected eof",
        "unexpected end of file",
        "connection closed",
    ]) {
        Some("the connection closed before the answer came")
    } else if any(&["refused"]) {
        Some("the connection was refused")
    } else if any(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]) {
        Some("its host name could not be resolved")
    } else if any(&["certificate", "handshake"]) {
        Some("the TLS handshake failed (check its certificate, or the proxy's)")
    } else if any(&["timed out", "timeout"]) {
        Some("the connection timed out")
    } else {
        None
    }
}

/// Why a request got no answer, in words, from the error's kind and what
/// its causes say; and the causes' own text (the libraries' words, for
/// --verbose).
fn transport_why<E, R>(err: &SdkError<E, R>) -> (&'static str, String)
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let causes = |from: Option<&(dyn std::error::Error + 'static)>| {
        from.map(display_chain).unwrap_or_default()
    };
    match err {
        SdkError::DispatchFailure(failure) => {
            let detail = failure
                .as_connector_error()
                .map(|c| causes(std::error::Error::source(c)))
                .unwrap_or_default();
            let what = if failure.is_timeout() {
                "the connection timed out"
            } else if failure.is_user() {
                "the request could not be sent"
            } else {
                // I/O errors and hyper's own (a dropped connection is one).
                connection_words(&detail).unwrap_or("the connection failed before an answer came")
            };
            (what, detail)
        }
        SdkError::TimeoutError(_) => (
            "no answer came within the time allowed (--request-timeout)",
            String::new(),
        ),
        SdkError::ResponseError(_) => {
            let detail = causes(std::error::Error::source(err));
            let what = match connection_words(&detail) {
                Some("the connection closed before the answer came") => {
                    "the connection closed before the whole answer came"
                }
                _ => "the answer could not be read",
            };
            (what, detail)
        }
        SdkError::ConstructionFailure(_) => (
            "the request could not be prepared, often because the credentials could not be loaded",
            causes(std::error::Error::source(err)),
        ),
        _ => ("the request failed", causes(std::error::Error::source(err))),
    }
}

/// Where a client sends its requests, for error messages: the configured
/// endpoint URL (`AWS_ENDPOINT_URL*`), else the service in its region.
pub trait Endpoint {
    fn endpoint(&self) -> String;
}

fn endpoint_text(service: &str, url: Option<&str>, region: Option<&str>) -> String {
    match (url, region) {
        (Some(url), _) => format!("the {service} endpoint {url}"),
        (None, Some(region)) => format!("the {service} endpoint of {region}"),
        (None, None) => format!("the {service} endpoint"),
    }
}

/// The endpoint URL the standard variables set for a service (the SDK's
/// config keeps it, but has no getter for it).
fn configured_url(service: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()
        .filter(|u| !u.is_empty())
}

macro_rules! endpoint_of {
    ($client:ty, $service:literal) => {
        impl Endpoint for $client {
            fn endpoint(&self) -> String {
                endpoint_text(
                    $service,
                    configured_url($service).as_deref(),
                    self.config().region().map(|r| r.as_ref()),
                )
            }
        }
    };
}
endpoint_of!(aws_sdk_iam::Client, "IAM");
endpoint_of!(aws_sdk_sts::Client, "STS");
endpoint_of!(aws_sdk_eks::Client, "EKS");
endpoint_of!(aws_sdk_servicequotas::Client, "SERVICE_QUOTAS");

/// Why credentials could not be had. Never carries a secret: no key, token,
/// MFA code or process output.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// An MFA step must run, and there is neither a code nor a terminal to ask on.
    #[error(
        "AWS profile `{profile}` assumes {role_arn} with MFA device {serial}, and there is no terminal to ask for the code on. Pass the device's current code with --mfa-code CODE (or KLANKER_TRUST_MFA_CODE), or sign in once with the AWS CLI (`aws sts get-caller-identity --profile {profile}`): the session it caches is reused."
    )]
    MfaCodeNeeded {
        profile: String,
        role_arn: String,
        serial: String,
    },
    /// The code given or typed is not what an MFA device shows.
    #[error("the MFA code for {serial} ({from}) must be the 6 digits the device shows.")]
    BadMfaCode { serial: String, from: &'static str },
    /// The MFA prompt could not be shown or read.
    #[error("could not read the MFA code for {serial} from the terminal: {message}")]
    Prompt { serial: String, message: String },
    /// The SSO profile at the bottom of the chain has no usable SSO session.
    #[error(
        "AWS profile `{profile}` gets its credentials from AWS IAM Identity Center (SSO){through}, and the SSO session on this machine {state}. Sign in again with `aws sso login --profile {login}`, then re-run this command."
    )]
    SsoLogin {
        profile: String,
        /// ", through SSO profile `x`" when the SSO profile is a source profile.
        through: String,
        login: String,
        state: &'static str,
    },
    /// `credential_process` exited with a failure.
    #[error(
        "the credential_process of AWS profile `{profile}` failed ({status}){stderr}. Run that command yourself to see why; its output is not shown, since it carries credentials."
    )]
    ProcessFailed {
        profile: String,
        status: String,
        /// ": <first line of stderr>", or nothing.
        stderr: String,
    },
    /// `credential_process` ran longer than --request-timeout; it and what
    /// it started were stopped.
    #[error(
        "the credential_process of AWS profile `{profile}` did not finish within {seconds} s (--request-timeout), so it was stopped with every process it started. Run that command yourself to see why (a login prompt, a network problem), or raise --request-timeout."
    )]
    ProcessTimedOut { profile: String, seconds: u64 },
    /// `credential_process` could not be started.
    #[error("the credential_process of AWS profile `{profile}` could not be started: {message}")]
    ProcessStart { profile: String, message: String },
    /// `credential_process` succeeded but printed no usable credentials.
    #[error(
        "the credential_process of AWS profile `{profile}` printed no usable credentials ({problem}); it must print the JSON of the AWS CLI's credential_process format (Version 1, AccessKeyId, SecretAccessKey)."
    )]
    ProcessOutput {
        profile: String,
        problem: &'static str,
    },
    /// `source_profile` names a profile the config files do not define.
    #[error(
        "AWS profile `{profile}` names source_profile `{source_profile}`, which is not defined in the AWS config or credentials file."
    )]
    MissingSourceProfile {
        profile: String,
        source_profile: String,
    },
    /// The `source_profile` chain comes back to a profile it already passed.
    #[error("the source_profile chain of AWS profile `{profile}` loops: {chain}.")]
    Loop { profile: String, chain: String },
    /// A `role_arn` profile says nowhere where its own credentials come from.
    #[error(
        "AWS profile `{profile}` has role_arn but neither source_profile nor credential_source: it cannot say with which credentials to assume the role."
    )]
    NoSource { profile: String },
    /// A setting has a value AWS would refuse.
    #[error("AWS profile `{profile}`: {setting} {problem}.")]
    BadSetting {
        profile: String,
        setting: &'static str,
        problem: String,
    },
    /// The SDK's own provider (SSO, web identity, credential_source) failed.
    #[error("could not get credentials for AWS profile `{profile}`: {message}")]
    Provider { profile: String, message: String },
    /// The bottom of the chain has no credentials at all (no keys, no
    /// process, no SSO, no web identity).
    #[error(
        "AWS profile `{top}`{} has no credentials: run `aws configure --profile {profile}`, or `aws sso login --profile {profile}` for SSO profiles.",
        if .top == .profile { String::new() } else { format!(" (source profile `{}`)", .profile) }
    )]
    NoCredentials { top: String, profile: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[derive(Debug)]
    struct Closed;
    impl std::fmt::Display for Closed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection closed before message completed")
        }
    }
    impl std::error::Error for Closed {}

    struct At;
    impl Endpoint for At {
        fn endpoint(&self) -> String {
            endpoint_text("EKS", None, Some("us-east-1"))
        }
    }

    #[test]
    fn a_dropped_connection_is_said_in_words() {
        let err: SdkError<aws_sdk_eks::operation::describe_cluster::DescribeClusterError, ()> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(Closed)));
        let err = AwsError::from_sdk("eks:DescribeCluster", Side::Cluster, &At, err);
        let text = err.to_string();
        assert_eq!(
            text,
            "eks:DescribeCluster could not reach the EKS endpoint of us-east-1 in the cluster account: the connection closed before the answer came. Check the network (and any proxy) and that profile's AWS credentials and endpoint settings."
        );
        assert!(!text.contains("DispatchFailure"), "{text}");
        assert!(!text.contains("message completed"), "{text}");
        // The libraries' own words are kept for --verbose, as the cause.
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("connection closed before message completed")
        );
    }

    #[test]
    fn connection_failures_in_words() {
        let cases = [
            (
                "client error (SendRequest): connection closed before message completed",
                "closed before the answer came",
            ),
            (
                "client error (Connect): tcp connect error: Connection refused (os error 111)",
                "was refused",
            ),
            (
                "client error (Connect): dns error: failed to lookup address information",
                "could not be resolved",
            ),
            (
                "client error (Connect): invalid peer certificate: UnknownIssuer",
                "TLS handshake failed",
            ),
            (
                "client error (Connect): Connection reset by peer (os error 104)",
                "closed before the answer came",
            ),
        ];
        for (chain, words) in cases {
            let said = connection_words(chain).unwrap_or_default();
            assert!(said.contains(words), "{chain}: {said}");
        }
        assert_eq!(connection_words("something new"), None);
    }

    #[test]
    fn timeouts_and_endpoints() {
        let err: SdkError<aws_sdk_eks::operation::describe_cluster::DescribeClusterError, ()> =
            SdkError::timeout_error(Box::new(Closed));
        assert!(transport_why(&err).0.contains("--request-timeout"));
        assert_eq!(
            endpoint_text("IAM", Some("http://127.0.0.1:1"), Some("us-east-1")),
            "the IAM endpoint http://127.0.0.1:1"
        );
    }
}
