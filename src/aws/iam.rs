//! IAM reads and writes in the klanker account.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{AwsError, Side};
use crate::inventory::RoleSummary;
use crate::plan::{ObservedProvider, ObservedRole};
use crate::trust::{Issuer, is_owned, matching_provider, policy};

const SIDE: Side = Side::Klanker;

fn sdk<'a, E, R>(
    client: &'a dyn super::error::Endpoint,
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> AwsError + 'a
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |err| AwsError::from_sdk(operation, SIDE, client, err)
}

/// Every item of an IAM list call, all pages, through the SDK's own
/// paginator. A macro, not a function: the paginators' stream type lives
/// in a crate this one does not depend on by name.
macro_rules! all_items {
    ($iam:expr, $request:expr, $operation:literal) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(sdk($iam, $operation))
    };
}

/// The klanker account ID and the caller's ARN (STS GetCallerIdentity).
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<(String, String), AwsError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(sdk(sts, "sts:GetCallerIdentity"))?;
    let account = out.account().ok_or(AwsError::Incomplete {
        operation: "sts:GetCallerIdentity",
        what: "account",
    })?;
    Ok((
        account.to_string(),
        out.arn().unwrap_or_default().to_string(),
    ))
}

/// What STS answered to AssumeRoleWithWebIdentity (no credentials kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    pub arn: String,
    pub expiration: String,
}

/// The verification session is only a proof that the chain works: it asks
/// for STS's minimum, not the role's (usually one-hour) default.
pub const VERIFY_SESSION_SECONDS: i32 = 900;

/// Exchanges a web-identity token for a session, as a pod's SDK does. The
/// returned credentials are dropped at once: only the identity is reported.
/// Retries, for about 20 seconds, the answers IAM gives while a new provider
/// or trust policy propagates.
pub async fn assume_role_with_web_identity(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    token: &str,
) -> Result<AssumedRole, AwsError> {
    web_identity_session(sts, role_arn, token)
        .await
        .map(|(assumed, _)| assumed)
}

/// The role chain's walk, as the pod's SDK does it: the token gives the
/// cluster role's (role A's) session, and that session assumes role B. Role A's credentials live
/// only for the second call; role B's are dropped at once.
pub async fn assume_chain(
    sts: &aws_sdk_sts::Client,
    role_a: &str,
    token: &str,
    role_b: &str,
    session_name: &str,
) -> (
    Result<AssumedRole, AwsError>,
    Option<Result<AssumedRole, AwsError>>,
) {
    let (first, credentials) = match web_identity_session(sts, role_a, token).await {
        Ok(pair) => pair,
        Err(e) => return (Err(e), None),
    };
    let Some(credentials) = credentials else {
        return (Ok(first), None);
    };
    let config = sts
        .config()
        .to_builder()
        .credentials_provider(credentials)
        .build();
    let as_role_a = aws_sdk_sts::Client::from_conf(config);
    let second = as_role_a
        .assume_role()
        .role_arn(role_b)
        .role_session_name(session_name)
        .duration_seconds(VERIFY_SESSION_SECONDS)
        .send()
        .await
        .map(|out| assumed(out.assumed_role_user(), out.credentials()))
        .map_err(|err| AwsError::from_sdk("sts:AssumeRole", SIDE, &as_role_a, err));
    (Ok(first), Some(second))
}

/// The identity an STS answer names; its credentials are not kept.
fn assumed(
    user: Option<&aws_sdk_sts::types::AssumedRoleUser>,
    credentials: Option<&aws_sdk_sts::types::Credentials>,
) -> AssumedRole {
    AssumedRole {
        arn: user.map(|u| u.arn().to_string()).unwrap_or_default(),
        expiration: credentials
            .map(|c| c.expiration().to_string())
            .unwrap_or_default(),
    }
}

/// AssumeRoleWithWebIdentity with the propagation retries, and the
/// session's credentials (redacted in Debug; never printed).
async fn web_identity_session(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    token: &str,
) -> Result<(AssumedRole, Option<aws_credential_types::Credentials>), AwsError> {
    let mut delay = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        let result = sts
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name("kubectl-klanker-trust-verify")
            .duration_seconds(VERIFY_SESSION_SECONDS)
            .web_identity_token(token)
            .send()
            .await;
        match result {
            Ok(out) => {
                let credentials = out.credentials().map(|c| {
                    aws_credential_types::Credentials::new(
                        c.access_key_id(),
                        c.secret_access_key(),
                        Some(c.session_token().to_string()),
                        None,
                        "verify-role-a",
                    )
                });
                return Ok((
                    assumed(out.assumed_role_user(), out.credentials()),
                    credentials,
                ));
            }
            Err(err) => {
                let code = err.code().unwrap_or_default().to_string();
                let propagating = matches!(
                    code.as_str(),
                    "InvalidIdentityToken" | "AccessDenied" | "IDPCommunicationError"
                );
                if !propagating || waited >= Duration::from_secs(20) {
                    return Err(AwsError::from_sdk(
                        "sts:AssumeRoleWithWebIdentity",
                        SIDE,
                        sts,
                        err,
                    ));
                }
                tracing::info!(
                    "  waiting {:.1}s: IAM may still be propagating a new provider or trust policy ({code})",
                    delay.as_secs_f32()
                );
                tokio::time::sleep(delay).await;
                waited += delay;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
        }
    }
}

/// Client IDs and tags of one provider.
pub async fn describe_provider(iam: &Client, arn: &str) -> Result<ObservedProvider, AwsError> {
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(sdk(iam, "iam:GetOpenIDConnectProvider"))?;
    Ok(ObservedProvider {
        arn: arn.to_string(),
        client_ids: got.client_id_list().to_vec(),
        tags: tag_map(got.tags()),
    })
}

/// The provider registered for `issuer`, if any (one list call, one get).
pub async fn find_provider(
    iam: &Client,
    issuer: &Issuer,
) -> Result<Option<ObservedProvider>, AwsError> {
    let arns = list_providers(iam).await?;
    match matching_provider(&arns, issuer) {
        Some(arn) => describe_provider(iam, &arn).await.map(Some),
        None => Ok(None),
    }
}

/// The role, or None if it does not exist.
pub async fn get_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>, AwsError> {
    let out = match iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(None),
        Err(err) => return Err(AwsError::from_sdk("iam:GetRole", SIDE, iam, err)),
    };
    let role = out.role().ok_or(AwsError::Incomplete {
        operation: "iam:GetRole",
        what: "role",
    })?;
    let trust_policy = role
        .assume_role_policy_document()
        .map(policy::decode_policy_document)
        .transpose()
        .map_err(|e| AwsError::Service {
            operation: "iam:GetRole",
            side: SIDE,
            code: "MalformedPolicyDocument".into(),
            message: e.to_string(),
        })?
        .unwrap_or_default();
    Ok(Some(ObservedRole {
        arn: role.arn().to_string(),
        trust_policy,
        max_session: role
            .max_session_duration()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(3600),
        description: role.description().unwrap_or_default().to_string(),
        tags: tag_map(role.tags()),
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
    }))
}

/// ARNs of the managed policies attached to the role (all pages).
pub async fn attached_policies(iam: &Client, role: &str) -> Result<BTreeSet<String>, AwsError> {
    let policies: Vec<_> = all_items!(
        iam,
        iam.list_attached_role_policies().role_name(role),
        "iam:ListAttachedRolePolicies"
    )?;
    Ok(policies
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(str::to_string)
        .collect())
}

/// The role and the managed policies attached to it; None if there is no role.
pub async fn role_with_policies(
    iam: &Client,
    name: &str,
) -> Result<Option<(ObservedRole, BTreeSet<String>)>, AwsError> {
    match get_role(iam, name).await? {
        None => Ok(None),
        Some(role) => Ok(Some((role, attached_policies(iam, name).await?))),
    }
}

pub async fn policy_exists(iam: &Client, arn: &str) -> Result<bool, AwsError> {
    match iam.get_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(false),
        Err(err) => Err(AwsError::from_sdk("iam:GetPolicy", SIDE, iam, err)),
    }
}

/// Every role in the account with its description and trust policy: one
/// paginated call carries all `list` and `rm` need (1000 roles a page).
pub async fn list_roles(iam: &Client) -> Result<Vec<RoleSummary>, AwsError> {
    let roles: Vec<_> = all_items!(iam, iam.list_roles().max_items(1000), "iam:ListRoles")?;
    Ok(roles
        .iter()
        .map(|role| RoleSummary {
            role_name: role.role_name().to_string(),
            arn: role.arn().to_string(),
            description: role.description().unwrap_or_default().to_string(),
            // A role we cannot parse is not one of ours; do not fail the listing.
            trust_policy: role
                .assume_role_policy_document()
                .and_then(|d| policy::decode_policy_document(d).ok())
                .unwrap_or_default(),
        })
        .collect())
}

/// ARNs of every OIDC provider in the account.
pub async fn list_providers(iam: &Client) -> Result<Vec<String>, AwsError> {
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(sdk(iam, "iam:ListOpenIDConnectProviders"))?;
    Ok(list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect())
}

/// How many roles the account holds, in one call whatever their number
/// (iam:GetAccountSummary's `Roles`), where ListRoles would page through them.
pub async fn role_count(iam: &Client) -> Result<usize, AwsError> {
    const OPERATION: &str = "iam:GetAccountSummary";
    let summary = iam
        .get_account_summary()
        .send()
        .await
        .map_err(sdk(iam, OPERATION))?;
    let incomplete = || AwsError::Incomplete {
        operation: OPERATION,
        what: "SummaryMap.Roles",
    };
    let roles = summary
        .summary_map()
        .and_then(|m| m.get(&aws_sdk_iam::types::SummaryKeyType::Roles))
        .ok_or_else(incomplete)?;
    // A negative count is no count: not trusted, the check is skipped.
    usize::try_from(*roles).map_err(|_| incomplete())
}

/// Whether the provider carries the tool's managed-by tag.
pub async fn provider_owned(iam: &Client, arn: &str) -> Result<bool, AwsError> {
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(sdk(iam, "iam:GetOpenIDConnectProvider"))?;
    Ok(is_owned(&tag_map(got.tags())))
}

/// Names of the role's inline policies (all pages).
pub async fn inline_policies(iam: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    all_items!(
        iam,
        iam.list_role_policies().role_name(role),
        "iam:ListRolePolicies"
    )
}

/// The role's inline policies with their documents (a cluster role's
/// carries one; the plan compares it).
pub async fn inline_policy_documents(
    iam: &Client,
    role: &str,
) -> Result<BTreeMap<String, serde_json::Value>, AwsError> {
    let mut docs = BTreeMap::new();
    for name in inline_policies(iam, role).await? {
        let got = match iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
        {
            Ok(got) => got,
            // Deleted between the listing and the read.
            Err(err) if err.code() == Some("NoSuchEntity") => continue,
            Err(err) => return Err(AwsError::from_sdk("iam:GetRolePolicy", SIDE, iam, err)),
        };
        let doc = policy::decode_policy_document(got.policy_document()).map_err(|e| {
            AwsError::Service {
                operation: "iam:GetRolePolicy",
                side: SIDE,
                code: "MalformedPolicyDocument".into(),
                message: e.to_string(),
            }
        })?;
        docs.insert(name, doc);
    }
    Ok(docs)
}

/// Instance profiles the role is in (they block DeleteRole).
pub async fn instance_profiles(iam: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let profiles: Vec<_> = all_items!(
        iam,
        iam.list_instance_profiles_for_role().role_name(role),
        "iam:ListInstanceProfilesForRole"
    )?;
    Ok(profiles
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .collect())
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn tags(map: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    map.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::Service {
                    operation: "iam:TagRole",
                    side: SIDE,
                    code: "InvalidInput".into(),
                    message: e.to_string(),
                })
        })
        .collect()
}

/// IAM is eventually consistent: a provider or role created a moment ago may
/// not be visible to the next call yet. Retry those specific errors with
/// bounded backoff (about 30 seconds in all), saying what we wait for.
async fn retry_consistency<F, Fut>(what: &str, mut call: F) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), AwsError>>,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..6 {
        match call().await {
            Err(err) if is_consistency_error(&err) => {
                tracing::info!(
                    "  waiting {:.1}s for IAM to become consistent before retrying {what} ({err})",
                    delay.as_secs_f32()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
    call().await
}

fn is_consistency_error(err: &AwsError) -> bool {
    match err {
        AwsError::Service { code, message, .. } => {
            code == "NoSuchEntity"
                || (code == "MalformedPolicyDocument"
                    && message.to_ascii_lowercase().contains("principal"))
        }
        _ => false,
    }
}

/// For removals: an entity that is already gone (a retried call that had
/// landed, or a concurrent `rm`) means the goal is reached.
fn gone_is_fine<O, E, R>(
    iam: &Client,
    operation: &'static str,
    result: Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
) -> Result<(), AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(()),
        other => other.map(|_| ()).map_err(sdk(iam, operation)),
    }
}

/// Ok(true) if the role exists and carries our tag, Ok(false) if it is gone,
/// an error if it belongs to someone else.
async fn ensure_owned_role(iam: &Client, name: &str) -> Result<bool, AwsError> {
    match get_role(iam, name).await? {
        None => Ok(false),
        Some(role) if is_owned(&role.tags) => Ok(true),
        Some(_) => Err(AwsError::NotOwned {
            entity: format!("role {name}"),
        }),
    }
}

/// Ok(true) if the role exists and its tags prove onboarding `owner`,
/// Ok(false) if it is gone, an error if it is not ours or not `owner`'s.
/// A fresh read, right before a destructive call.
pub async fn check_role_of(iam: &Client, name: &str, owner: &str) -> Result<bool, AwsError> {
    match get_role(iam, name).await? {
        None => Ok(false),
        Some(role) if crate::inventory::proves(&role.tags, owner) => Ok(true),
        Some(role) if is_owned(&role.tags) => Err(AwsError::OtherOnboarding {
            entity: format!("role {name}"),
            name: owner.to_string(),
            other: role
                .tags
                .get(crate::trust::NAME_TAG)
                .cloned()
                .unwrap_or_else(|| "(none)".into()),
        }),
        Some(_) => Err(AwsError::NotOwned {
            entity: format!("role {name}"),
        }),
    }
}

/// The roles (other than any already gone) whose trust names the provider,
/// read fresh: a concurrent `add` may have started to trust it.
pub async fn roles_trusting_now(iam: &Client, provider_arn: &str) -> Result<Vec<String>, AwsError> {
    let roles = list_roles(iam).await?;
    Ok(crate::inventory::roles_trusting(&roles, provider_arn, "")
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// What one IAM step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// Deliberately not done, and why (said in the result).
    Skipped(String),
}

/// A removal step that re-reads its role first: `Some(Skipped)` when the
/// role is gone (nothing left to remove); an error when its tags no longer
/// prove `owner` (see `check_role_of`).
async fn gone_already(
    iam: &Client,
    role: &str,
    owner: Option<&str>,
) -> Result<Option<Applied>, AwsError> {
    Ok(match owner {
        Some(owner) if !check_role_of(iam, role, owner).await? => {
            Some(Applied::Skipped(format!("role {role} is gone already")))
        }
        _ => None,
    })
}

/// Registers the issuer. One registered meanwhile (a concurrent run, or a
/// retried request that did land) reaches the goal: one provider for it.
pub async fn create_provider(
    iam: &Client,
    url: &str,
    client_ids: &[String],
    provider_tags: &BTreeMap<String, String>,
) -> Result<Applied, AwsError> {
    let created = iam
        .create_open_id_connect_provider()
        .url(url)
        .set_client_id_list(Some(client_ids.to_vec()))
        .set_tags(Some(tags(provider_tags)?))
        .send()
        .await;
    match created {
        Err(err) if err.code() == Some("EntityAlreadyExists") => Ok(Applied::Done),
        other => other
            .map(|_| Applied::Done)
            .map_err(sdk(iam, "iam:CreateOpenIDConnectProvider")),
    }
}

pub async fn add_provider_client_id(
    iam: &Client,
    arn: &str,
    client_id: &str,
) -> Result<Applied, AwsError> {
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .client_id(client_id)
        .send()
        .await
        .map_err(sdk(iam, "iam:AddClientIDToOpenIDConnectProvider"))?;
    Ok(Applied::Done)
}

/// What a role is created with.
pub struct NewRole<'a> {
    pub name: &'a str,
    pub trust_policy: &'a serde_json::Value,
    pub max_session: u32,
    pub description: &'a str,
    pub tags: &'a BTreeMap<String, String>,
    pub permissions_boundary: Option<&'a str>,
}

/// Creates the role. One created meanwhile (a concurrent run, or a retried
/// request that did land) is converged if it is ours, never taken over.
pub async fn create_role(iam: &Client, role: &NewRole<'_>) -> Result<Applied, AwsError> {
    let tags = tags(role.tags)?;
    let created = retry_consistency("iam:CreateRole", || async {
        iam.create_role()
            .role_name(role.name)
            .assume_role_policy_document(role.trust_policy.to_string())
            .max_session_duration(role.max_session as i32)
            .description(role.description)
            .set_permissions_boundary(role.permissions_boundary.map(str::to_string))
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(iam, "iam:CreateRole"))
    })
    .await;
    match created {
        Err(err) if err.code() == Some("EntityAlreadyExists") => {
            match role.tags.get(crate::trust::NAME_TAG) {
                Some(owner) => check_role_of(iam, role.name, owner).await?,
                None => ensure_owned_role(iam, role.name).await?,
            };
            update_trust_policy(iam, role.name, role.trust_policy).await?;
            update_role(iam, role.name, role.max_session, role.description).await
        }
        other => other.map(|()| Applied::Done),
    }
}

pub async fn update_trust_policy(
    iam: &Client,
    role: &str,
    trust_policy: &serde_json::Value,
) -> Result<Applied, AwsError> {
    retry_consistency("iam:UpdateAssumeRolePolicy", || async {
        iam.update_assume_role_policy()
            .role_name(role)
            .policy_document(trust_policy.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(iam, "iam:UpdateAssumeRolePolicy"))
    })
    .await?;
    Ok(Applied::Done)
}

pub async fn update_role(
    iam: &Client,
    role: &str,
    max_session: u32,
    description: &str,
) -> Result<Applied, AwsError> {
    iam.update_role()
        .role_name(role)
        .max_session_duration(max_session as i32)
        .description(description)
        .send()
        .await
        .map_err(sdk(iam, "iam:UpdateRole"))?;
    Ok(Applied::Done)
}

pub async fn tag_role(
    iam: &Client,
    role: &str,
    role_tags: &BTreeMap<String, String>,
) -> Result<Applied, AwsError> {
    iam.tag_role()
        .role_name(role)
        .set_tags(Some(tags(role_tags)?))
        .send()
        .await
        .map_err(sdk(iam, "iam:TagRole"))?;
    Ok(Applied::Done)
}

pub async fn put_permissions_boundary(
    iam: &Client,
    role: &str,
    arn: &str,
) -> Result<Applied, AwsError> {
    iam.put_role_permissions_boundary()
        .role_name(role)
        .permissions_boundary(arn)
        .send()
        .await
        .map_err(sdk(iam, "iam:PutRolePermissionsBoundary"))?;
    Ok(Applied::Done)
}

pub async fn delete_permissions_boundary(iam: &Client, role: &str) -> Result<Applied, AwsError> {
    iam.delete_role_permissions_boundary()
        .role_name(role)
        .send()
        .await
        .map_err(sdk(iam, "iam:DeleteRolePermissionsBoundary"))?;
    Ok(Applied::Done)
}

pub async fn attach_policy(iam: &Client, role: &str, arn: &str) -> Result<Applied, AwsError> {
    retry_consistency("iam:AttachRolePolicy", || async {
        iam.attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(iam, "iam:AttachRolePolicy"))
    })
    .await?;
    Ok(Applied::Done)
}

pub async fn put_inline_policy(
    iam: &Client,
    role: &str,
    name: &str,
    document: &serde_json::Value,
) -> Result<Applied, AwsError> {
    retry_consistency("iam:PutRolePolicy", || async {
        iam.put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(iam, "iam:PutRolePolicy"))
    })
    .await?;
    Ok(Applied::Done)
}

/// A removal on `role`, sent only after a fresh read proves the role still
/// `owner`'s (gone already: nothing to do; a future sends nothing until
/// awaited). What is gone meanwhile is fine.
async fn remove_on_owned_role<O, E, R>(
    iam: &Client,
    role: &str,
    owner: Option<&str>,
    operation: &'static str,
    call: impl Future<Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
) -> Result<Applied, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(gone) = gone_already(iam, role, owner).await? {
        return Ok(gone);
    }
    gone_is_fine(iam, operation, call.await)?;
    Ok(Applied::Done)
}

/// Detaches `arn`, after a fresh read proves the role still `owner`'s.
pub async fn detach_policy(
    iam: &Client,
    role: &str,
    arn: &str,
    owner: Option<&str>,
) -> Result<Applied, AwsError> {
    let call = iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send();
    remove_on_owned_role(iam, role, owner, "iam:DetachRolePolicy", call).await
}

/// Deletes an inline policy, after a fresh read proves the role still `owner`'s.
pub async fn delete_inline_policy(
    iam: &Client,
    role: &str,
    name: &str,
    owner: Option<&str>,
) -> Result<Applied, AwsError> {
    let call = iam
        .delete_role_policy()
        .role_name(role)
        .policy_name(name)
        .send();
    remove_on_owned_role(iam, role, owner, "iam:DeleteRolePolicy", call).await
}

/// Takes the role out of an instance profile, after a fresh ownership read.
pub async fn remove_role_from_instance_profile(
    iam: &Client,
    role: &str,
    profile: &str,
    owner: Option<&str>,
) -> Result<Applied, AwsError> {
    let call = iam
        .remove_role_from_instance_profile()
        .role_name(role)
        .instance_profile_name(profile)
        .send();
    let operation = "iam:RemoveRoleFromInstanceProfile";
    remove_on_owned_role(iam, role, owner, operation, call).await
}

/// Deletes the role. Its tags are checked again right before: the plan may
/// be minutes old (a prompt), and another onboarding's role is never deleted.
pub async fn delete_role(iam: &Client, role: &str, owner: &str) -> Result<Applied, AwsError> {
    if !check_role_of(iam, role, owner).await? {
        return Ok(Applied::Done);
    }
    let result = iam.delete_role().role_name(role).send().await;
    gone_is_fine(iam, "iam:DeleteRole", result)?;
    Ok(Applied::Done)
}

/// Deletes the provider if it is still ours and, checked right before
/// deleting (a concurrent `add` may have made a role trust it), unused.
pub async fn delete_provider(iam: &Client, arn: &str) -> Result<Applied, AwsError> {
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await;
    match got {
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(Applied::Done),
        Err(err) => {
            return Err(AwsError::from_sdk(
                "iam:GetOpenIDConnectProvider",
                SIDE,
                iam,
                err,
            ));
        }
        Ok(got) if !is_owned(&tag_map(got.tags())) => {
            return Err(AwsError::NotOwned {
                entity: format!("OIDC provider {arn}"),
            });
        }
        Ok(_) => {}
    }
    let trusting = roles_trusting_now(iam, arn).await?;
    if !trusting.is_empty() {
        return Ok(Applied::Skipped(format!(
            "OIDC provider {arn} was kept: {} trusts it now (checked right before deleting)",
            trusting.join(", ")
        )));
    }
    let result = iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await;
    gone_is_fine(iam, "iam:DeleteOpenIDConnectProvider", result)?;
    Ok(Applied::Done)
}
