//! AWS errors as users should read them: which call, in which account, why.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Side;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "AWS profile `{profile}` ({flag}) is not defined in the AWS config or credentials file (known profiles: {known}). Add it to ~/.aws/config, or pass another {flag}."
    )]
    UnknownProfile {
        profile: String,
        flag: String,
        known: String,
    },
    #[error("could not read the AWS config files: {message}")]
    ProfileFile { message: String },
    #[error(
        "{operation} was denied in the {side}: {message}. Grant the {side} identity permission for `{operation}` (see `kubectl klanker-trust policy`)."
    )]
    AccessDenied {
        operation: &'static str,
        side: Side,
        message: String,
    },
    #[error("{operation} failed in the {side} ({code}): {message}")]
    Service {
        operation: &'static str,
        side: Side,
        code: String,
        message: String,
    },
    #[error(
        "{operation} could not be sent to the {side}: {message}. Check the AWS credentials of that profile and the network."
    )]
    Transport {
        operation: &'static str,
        side: Side,
        message: String,
    },
    #[error(
        "EKS cluster `{name}` was not found in {region} of the {side}. Check --cluster-name and --cluster-region, or pass --issuer-url."
    )]
    ClusterNotFound {
        name: String,
        region: String,
        side: Side,
    },
    #[error(
        "{entity} exists but was not created by kubectl-klanker-trust (no klanker-trust/managed-by tag); it was left untouched. Delete or tag it yourself, or pick another name."
    )]
    NotOwned { entity: String },
    #[error(
        "{entity} now belongs to onboarding `{other}` (its klanker-trust/name tag), not `{name}`; it was left untouched and nothing more was changed for it."
    )]
    OtherOnboarding {
        entity: String,
        name: String,
        other: String,
    },
    #[error("{operation} returned no {what}")]
    Incomplete {
        operation: &'static str,
        what: &'static str,
    },
}

impl AwsError {
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
    pub fn from_sdk<E, R>(operation: &'static str, side: Side, err: SdkError<E, R>) -> Self
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
                message: DisplayErrorContext(&err).to_string(),
            },
        }
    }
}
