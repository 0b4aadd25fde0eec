//! Service Quotas: the applied value of an IAM quota, read where the
//! identity may. A failure is the caller's to degrade on (AWS's default).

use aws_sdk_servicequotas::Client;

use super::{AwsError, Side};
use crate::plan::quota::{IAM_SERVICE, QuotaCode, QuotaUnread};

/// The applied value of IAM quota `of`, as Service Quotas answers it.
pub async fn applied(quotas: &Client, of: QuotaCode, side: Side) -> Result<f64, AwsError> {
    let got = quotas
        .get_service_quota()
        .service_code(IAM_SERVICE)
        .quota_code(of.code)
        .send()
        .await
        .map_err(|err| AwsError::from_sdk("servicequotas:GetServiceQuota", side, quotas, err))?;
    got.quota()
        .and_then(|q| q.value())
        .ok_or(AwsError::Incomplete {
            operation: "servicequotas:GetServiceQuota",
            what: "Quota.Value",
        })
}

/// The applied value, or why it is not known (logged: the plan says the default is used).
pub async fn read(quotas: &Client, of: QuotaCode, side: Side) -> Result<f64, QuotaUnread> {
    applied(quotas, of, side).await.map_err(|e| {
        tracing::debug!("{}: {e}", of.code);
        match e {
            AwsError::AccessDenied { .. } => QuotaUnread::Refused,
            other => QuotaUnread::Failed(other.to_string()),
        }
    })
}

/// IAM's quotas are global, kept in the partition's first region; Service
/// Quotas is regional, so it is asked there, whatever region the run uses.
pub fn quota_region(region: &str) -> &'static str {
    match crate::trust::arn::partition_of_region(region) {
        Some("aws-cn") => "cn-north-1",
        Some("aws-us-gov") => "us-gov-west-1",
        _ => "us-east-1",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn iam_quotas_are_read_in_the_partitions_first_region() {
        assert_eq!(super::quota_region("eu-west-1"), "us-east-1");
        assert_eq!(super::quota_region("cn-northwest-1"), "cn-north-1");
        assert_eq!(super::quota_region("us-gov-east-1"), "us-gov-west-1");
    }
}
