//! IAM reads and writes in the klanker account.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{AwsError, Side};
use crate::plan::{ObservedProvider, ObservedRole, Op};
use crate::trust::{Issuer, OidcProviderArn, policy};

const SIDE: Side = Side::Klanker;

fn sdk<E, R>(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |err| AwsError::from_sdk(operation, SIDE, err)
}

/// The klanker account ID and the caller's ARN (STS GetCallerIdentity).
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<(String, String), AwsError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(sdk("sts:GetCallerIdentity"))?;
    let account = out.account().ok_or(AwsError::Incomplete {
        operation: "sts:GetCallerIdentity",
        what: "account",
    })?;
    Ok((
        account.to_string(),
        out.arn().unwrap_or_default().to_string(),
    ))
}

/// The provider registered for `issuer`, if any. Provider ARNs embed the
/// issuer, so one list call finds it without a Get per provider.
pub async fn find_provider(
    iam: &Client,
    issuer: &Issuer,
) -> Result<Option<ObservedProvider>, AwsError> {
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(sdk("iam:ListOpenIDConnectProviders"))?;
    // Compare parsed issuers: hosts are case-insensitive, paths are not.
    let Some(arn) = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| OidcProviderArn::parse(arn, "provider ARN").is_ok_and(|p| &p.issuer == issuer))
    else {
        return Ok(None);
    };
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(sdk("iam:GetOpenIDConnectProvider"))?;
    Ok(Some(ObservedProvider {
        arn: arn.to_string(),
        client_ids: got.client_id_list().to_vec(),
        tags: tag_map(got.tags()),
    }))
}

/// The role, or None if it does not exist.
pub async fn get_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>, AwsError> {
    let out = match iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(None),
        Err(err) => return Err(AwsError::from_sdk("iam:GetRole", SIDE, err)),
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
    let mut pages = iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut arns = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("iam:ListAttachedRolePolicies"))?;
        arns.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(str::to_string),
        );
    }
    Ok(arns)
}

pub async fn policy_exists(iam: &Client, arn: &str) -> Result<bool, AwsError> {
    match iam.get_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(false),
        Err(err) => Err(AwsError::from_sdk("iam:GetPolicy", SIDE, err)),
    }
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
                eprintln!(
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

/// Carries out one IAM step of the plan. Returns false for non-IAM ops.
pub async fn apply(iam: &Client, op: &Op) -> Result<bool, AwsError> {
    match op {
        Op::CreateProvider {
            url,
            client_ids,
            tags: t,
        } => {
            iam.create_open_id_connect_provider()
                .url(url)
                .set_client_id_list(Some(client_ids.clone()))
                .set_tags(Some(tags(t)?))
                .send()
                .await
                .map_err(sdk("iam:CreateOpenIDConnectProvider"))?;
        }
        Op::AddProviderClientId { arn, client_id } => {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id)
                .send()
                .await
                .map_err(sdk("iam:AddClientIDToOpenIDConnectProvider"))?;
        }
        Op::CreateRole {
            name,
            trust_policy,
            max_session,
            description,
            tags: t,
            permissions_boundary,
        } => {
            let tags = tags(t)?;
            retry_consistency("iam:CreateRole", || async {
                iam.create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust_policy.to_string())
                    .max_session_duration(*max_session as i32)
                    .description(description)
                    .set_permissions_boundary(permissions_boundary.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("iam:CreateRole"))
            })
            .await?;
        }
        Op::UpdateTrustPolicy { role, trust_policy } => {
            retry_consistency("iam:UpdateAssumeRolePolicy", || async {
                iam.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy.to_string())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("iam:UpdateAssumeRolePolicy"))
            })
            .await?;
        }
        Op::UpdateRole {
            role,
            max_session,
            description,
        } => {
            iam.update_role()
                .role_name(role)
                .max_session_duration(*max_session as i32)
                .description(description)
                .send()
                .await
                .map_err(sdk("iam:UpdateRole"))?;
        }
        Op::TagRole { role, tags: t } => {
            iam.tag_role()
                .role_name(role)
                .set_tags(Some(tags(t)?))
                .send()
                .await
                .map_err(sdk("iam:TagRole"))?;
        }
        Op::PutPermissionsBoundary { role, arn } => {
            iam.put_role_permissions_boundary()
                .role_name(role)
                .permissions_boundary(arn)
                .send()
                .await
                .map_err(sdk("iam:PutRolePermissionsBoundary"))?;
        }
        Op::DeletePermissionsBoundary { role } => {
            iam.delete_role_permissions_boundary()
                .role_name(role)
                .send()
                .await
                .map_err(sdk("iam:DeleteRolePermissionsBoundary"))?;
        }
        Op::AttachPolicy { role, arn } => {
            retry_consistency("iam:AttachRolePolicy", || async {
                iam.attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("iam:AttachRolePolicy"))
            })
            .await?;
        }
        Op::DetachPolicy { role, arn } => {
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .map_err(sdk("iam:DetachRolePolicy"))?;
        }
        Op::CreateNamespace { .. }
        | Op::ApplyServiceAccount { .. }
        | Op::WriteConfigEntry { .. } => {
            return Ok(false);
        }
    }
    Ok(true)
}
