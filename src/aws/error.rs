//! AWS errors as users should read them: which call, in which account, why.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Side;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The profile a flag names is in neither AWS file.
    #[error(
        "AWS profile `{profile}` ({flag}) is not defined in the AWS config or credentials file (known profiles: {known}). Add it to ~/.aws/config, or pass another {flag}."
    )]
    UnknownProfile {
        profile: String,
        flag: String,
        known: String,
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
        /// What happened, in words: never the SDK's Debug text.
        why: String,
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
    Credentials(#[from] super::credentials::CredentialsError),
    /// An answer lacked a field the call always returns.
    #[error("{operation} returned no {what}")]
    Incomplete {
        operation: &'static str,
        what: &'static str,
    },
}

impl AwsError {
    /// The same error, said of `side`: the IAM adapter serves both accounts
    /// (chained mode's role A is in the cluster's), and names the klanker one.
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
            _ => AwsError::Transport {
                operation,
                side,
                endpoint: endpoint.endpoint(),
                why: transport_why(&err),
            },
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

/// Why a request got no answer, in words, from the error's kind and the
/// Display text of its causes (the SDK's own Display adds its Debug form).
fn transport_why<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let causes = |from: Option<&(dyn std::error::Error + 'static)>| {
        from.map(display_chain).unwrap_or_default()
    };
    let with = |what: &str, detail: String| match detail.is_empty() {
        true => what.to_string(),
        false => format!("{what} ({detail})"),
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
                "the connection failed before an answer came"
            };
            with(what, detail)
        }
        SdkError::TimeoutError(_) => {
            "no answer came within the time allowed (--request-timeout)".to_string()
        }
        SdkError::ResponseError(_) => with(
            "the answer could not be read",
            causes(std::error::Error::source(err)),
        ),
        SdkError::ConstructionFailure(_) => with(
            "the request could not be prepared, often because the credentials could not be loaded",
            causes(std::error::Error::source(err)),
        ),
        _ => with("the request failed", causes(std::error::Error::source(err))),
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
        let text = AwsError::from_sdk("eks:DescribeCluster", Side::Cluster, &At, err).to_string();
        assert_eq!(
            text,
            "eks:DescribeCluster could not reach the EKS endpoint of us-east-1 in the cluster account: the connection failed before an answer came (connection closed before message completed). Check the network (and any proxy) and that profile's AWS credentials and endpoint settings."
        );
        assert!(!text.contains("DispatchFailure"), "{text}");
        assert!(!text.contains('{'), "{text}");
    }

    #[test]
    fn timeouts_and_endpoints() {
        let err: SdkError<aws_sdk_eks::operation::describe_cluster::DescribeClusterError, ()> =
            SdkError::timeout_error(Box::new(Closed));
        assert!(transport_why(&err).contains("--request-timeout"));
        assert_eq!(
            endpoint_text("IAM", Some("http://127.0.0.1:1"), Some("us-east-1")),
            "the IAM endpoint http://127.0.0.1:1"
        );
    }
}
