//! Parsing of the ARNs and issuer URLs the tool reads from users and servers.

use super::validate::ValidationError;

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// A 12-digit AWS account ID given by the user.
pub fn parse_account(raw: &str, input: &str) -> Result<String, ValidationError> {
    if is_account_id(raw) {
        Ok(raw.to_string())
    } else {
        Err(ValidationError::new(
            input,
            raw,
            "an AWS account ID is 12 digits",
            "Pass the 12-digit ID, e.g. 333333333333.",
        ))
    }
}

/// The partition, account and resource of an IAM ARN
/// (`arn:<partition>:iam::<account>:<resource>`), or what is wrong with it.
fn iam_arn_fields(raw: &str) -> Result<(&str, &str, &str), &'static str> {
    let parts: Vec<&str> = raw.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err("it does not have the six ARN fields");
    };
    if arn != "arn" || !PARTITIONS.contains(&partition) {
        return Err("it does not start with arn:aws:, arn:aws-cn: or arn:aws-us-gov:");
    }
    if service != "iam" || !region.is_empty() {
        return Err("it is not an IAM ARN (arn:<partition>:iam::...)");
    }
    Ok((partition, account, resource))
}

/// An OIDC issuer, as a cluster reports it (`https://host/path`). IAM names
/// providers by the issuer without its scheme; that form is `host_path`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Issuer {
    host_path: String,
}

impl Issuer {
    /// Parses an issuer URL. Validates shape (https, host, optional path, no
    /// query or fragment), not the EKS ID length: emulators use other IDs.
    pub fn parse(raw: &str, input: &str) -> Result<Issuer, ValidationError> {
        let err = |problem: &str| {
            ValidationError::new(
                input,
                raw,
                problem,
                "An issuer looks like https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE.",
            )
        };
        let url = url::Url::parse(raw).map_err(|e| err(&format!("it is not a URL ({e})")))?;
        if url.scheme() != "https" {
            return Err(err("IAM only accepts https issuers"));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(err("it has no host"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("it must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(err("it must not have a query or fragment"));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = url.path().trim_end_matches('/');
        Ok(Issuer {
            host_path: format!("{}{port}{path}", host.to_ascii_lowercase()),
        })
    }

    /// Whether STS could plausibly fetch this issuer's keys: not a
    /// cluster-internal name (`kubernetes.default.svc`), localhost or a
    /// private/loopback address, which is what kind and kubeadm default to.
    pub fn is_public(&self) -> bool {
        let host = self
            .host_path
            .split('/')
            .next()
            .unwrap_or_default()
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map(|(h, _)| h)
            .unwrap_or_else(|| self.host_path.split('/').next().unwrap_or_default());
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            return match ip {
                std::net::IpAddr::V4(v4) => {
                    !(v4.is_private()
                        || v4.is_loopback()
                        || v4.is_link_local()
                        || v4.is_unspecified())
                }
                std::net::IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified()),
            };
        }
        let internal = [
            ".svc",
            ".local",
            ".internal",
            ".cluster.local",
            ".localdomain",
        ];
        host.contains('.')
            && host != "localhost"
            && !internal.iter().any(|suffix| host.ends_with(suffix))
    }

    /// Issuer as IAM keys it: `host/path`, no scheme.
    pub fn host_path(&self) -> &str {
        &self.host_path
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.host_path)
    }

    /// The ARN of the IAM OIDC provider for this issuer in `account`.
    pub fn provider_arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:oidc-provider/{}",
            self.host_path
        )
    }
}

/// `arn:aws:iam::<account>:oidc-provider/<host/path>`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderArn {
    pub partition: String,
    pub account: String,
    pub issuer: Issuer,
}

impl OidcProviderArn {
    pub fn parse(raw: &str, input: &str) -> Result<Self, ValidationError> {
        let err = |problem: &str| {
            ValidationError::new(
                input,
                raw,
                problem,
                "An OIDC provider ARN looks like arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE.",
            )
        };
        let (partition, account, resource) = iam_arn_fields(raw).map_err(err)?;
        if !is_account_id(account) {
            return Err(err("the account ID must be 12 digits"));
        }
        let Some(host_path) = resource.strip_prefix("oidc-provider/") else {
            return Err(err(
                "the resource must be oidc-provider/<issuer host and path>",
            ));
        };
        let issuer = Issuer::parse(&format!("https://{host_path}"), input)
            .map_err(|e| err(&format!("its issuer part is invalid: {}", e.problem)))?;
        Ok(Self {
            partition: partition.into(),
            account: account.into(),
            issuer,
        })
    }
}

/// `arn:aws:iam::<account|aws>:policy/<path/>name`
pub fn parse_policy_arn(raw: &str, input: &str) -> Result<(), ValidationError> {
    let err = |problem: &str| {
        ValidationError::new(
            input,
            raw,
            problem,
            "A policy ARN looks like arn:aws:iam::333333333333:policy/km-operator-policy.",
        )
    };
    let (_, account, resource) = iam_arn_fields(raw).map_err(err)?;
    if !(is_account_id(account) || account == "aws") {
        return Err(err(
            "the account must be 12 digits (or `aws` for AWS managed policies)",
        ));
    }
    let Some(path_name) = resource.strip_prefix("policy/") else {
        return Err(err("the resource must be policy/<name>"));
    };
    let name = path_name.rsplit('/').next().unwrap_or_default();
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err(err(
            "the policy name must be 1-128 characters of letters, digits and + = , . @ _ -",
        ));
    }
    Ok(())
}

/// `arn:aws:iam::<account>:role/<path/>name`, as found in `--role-arn` of an exec block.
pub fn parse_role_arn(raw: &str, input: &str) -> Result<String, ValidationError> {
    let err = |problem: &str| {
        ValidationError::new(
            input,
            raw,
            problem,
            "A role ARN looks like arn:aws:iam::222222222222:role/cluster-admin.",
        )
    };
    let (_, account, resource) = iam_arn_fields(raw).map_err(err)?;
    if !is_account_id(account) {
        return Err(err("the account ID must be 12 digits"));
    }
    match resource.strip_prefix("role/") {
        Some(name) if !name.is_empty() && !name.ends_with('/') => Ok(account.to_string()),
        _ => Err(err("the resource must be role/<name>")),
    }
}

/// `arn:aws:eks:<region>:<account>:cluster/<name>`, the name `aws eks
/// update-kubeconfig` gives contexts and clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksClusterArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl EksClusterArn {
    /// Returns None for anything that is not an EKS cluster ARN (most context names).
    pub fn parse(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return None;
        };
        let name = resource.strip_prefix("cluster/")?;
        let valid = arn == "arn"
            && PARTITIONS.contains(&partition)
            && service == "eks"
            && !region.is_empty()
            && is_account_id(account)
            && !name.is_empty()
            && !name.contains('/');
        valid.then(|| Self {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            name: name.into(),
        })
    }
}

/// The account ID in any ARN (`arn:aws:sts::123456789012:assumed-role/...`).
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

/// The partition of any ARN, defaulting to `aws`.
pub fn partition_of(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| PARTITIONS.contains(p))
        .unwrap_or("aws")
}

/// The partition a region belongs to (`cn-north-1` is in `aws-cn`), for
/// identities known without an ARN (SSO profiles name only the account).
/// None for what is not a region name.
pub fn partition_of_region(region: &str) -> Option<&'static str> {
    if super::validate::region(region, "region").is_err() {
        return None;
    }
    Some(if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_of_regions() {
        assert_eq!(partition_of_region("cn-northwest-1"), Some("aws-cn"));
        assert_eq!(partition_of_region("us-gov-west-1"), Some("aws-us-gov"));
        assert_eq!(partition_of_region("eu-west-1"), Some("aws"));
        assert_eq!(partition_of_region("junk"), None);
    }

    const EKS: &str =
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    #[test]
    fn issuer_normalises_to_host_path() {
        let i = Issuer::parse(EKS, "--issuer-url").unwrap();
        assert_eq!(
            i.host_path(),
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
        );
        assert_eq!(i.url(), EKS);
        let trailing = Issuer::parse(&format!("{EKS}/"), "--issuer-url").unwrap();
        assert_eq!(trailing, i);
        let upper = Issuer::parse("https://OIDC.example.com/x", "--issuer-url").unwrap();
        assert_eq!(upper.host_path(), "oidc.example.com/x");
        let bare = Issuer::parse("https://k3s.example.com", "--issuer-url").unwrap();
        assert_eq!(bare.host_path(), "k3s.example.com");
        let port = Issuer::parse("https://k.example.com:8443/o", "--issuer-url").unwrap();
        assert_eq!(port.host_path(), "k.example.com:8443/o");
    }

    #[test]
    fn public_issuers() {
        for public in [
            EKS,
            "https://k3s.example.com/oidc",
            "https://1.2.3.4/x",
            "https://oidc.example.com:8443",
        ] {
            assert!(Issuer::parse(public, "x").unwrap().is_public(), "{public}");
        }
        for internal in [
            "https://kubernetes.default.svc",
            "https://kubernetes.default.svc.cluster.local",
            "https://localhost:6443",
            "https://127.0.0.1:6443",
            "https://10.0.0.1",
            "https://192.168.1.5/x",
            "https://kube",
            "https://api.corp.internal",
        ] {
            assert!(
                !Issuer::parse(internal, "x").unwrap().is_public(),
                "{internal}"
            );
        }
    }

    #[test]
    fn issuer_rejects_bad_shapes() {
        for bad in [
            "http://oidc.example.com/id/1",
            "oidc.example.com/id/1",
            "https://",
            "https://u:p@oidc.example.com/x",
            "https://oidc.example.com/x?y=1",
            "https://oidc.example.com/x#f",
            "",
        ] {
            let e = Issuer::parse(bad, "--issuer-url").unwrap_err();
            assert_eq!(e.input, "--issuer-url");
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn provider_arn_roundtrip() {
        let raw = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
        let p = OidcProviderArn::parse(raw, "--oidc-provider-arn").unwrap();
        assert_eq!(p.account, "222222222222");
        assert_eq!(p.partition, "aws");
        assert_eq!(p.issuer.provider_arn("aws", "222222222222"), raw);
        assert_eq!(
            p.issuer.provider_arn("aws", "333333333333"),
            "arn:aws:iam::333333333333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
    }

    #[test]
    fn provider_arn_rejects() {
        for bad in [
            "",
            "arn:aws:iam::222222222222:role/x",
            "arn:aws:iam::22222222222:oidc-provider/oidc.example.com",
            "arn:aws:iam:us-east-1:222222222222:oidc-provider/oidc.example.com",
            "arn:aws:eks::222222222222:oidc-provider/oidc.example.com",
            "arn:foo:iam::222222222222:oidc-provider/oidc.example.com",
            "arn:aws:iam::222222222222:oidc-provider/",
            "arn:aws:iam::222222222222:oidc-provider/host?x=1",
            "not-an-arn",
        ] {
            assert!(
                OidcProviderArn::parse(bad, "--oidc-provider-arn").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn policy_arns() {
        for ok in [
            "arn:aws:iam::333333333333:policy/km-operator-policy",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::333333333333:policy/team/x/km-operator-policy",
            "arn:aws-cn:iam::333333333333:policy/p",
        ] {
            assert!(parse_policy_arn(ok, "--policy-arn").is_ok(), "{ok}");
        }
        for bad in [
            "km-operator-policy",
            "arn:aws:iam::333333333333:role/x",
            "arn:aws:iam::3333:policy/p",
            "arn:aws:iam::333333333333:policy/",
            "arn:aws:iam::333333333333:policy/a b",
            "arn:aws:s3:::bucket",
        ] {
            assert!(parse_policy_arn(bad, "--policy-arn").is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::222222222222:role/admin", "x").unwrap(),
            "222222222222"
        );
        assert!(parse_role_arn("arn:aws:iam::222222222222:role/path/admin", "x").is_ok());
        assert!(parse_role_arn("arn:aws:iam::222222222222:role/", "x").is_err());
        assert!(parse_role_arn("arn:aws:iam::222222222222:user/u", "x").is_err());
    }

    #[test]
    fn eks_cluster_arns() {
        let a =
            EksClusterArn::parse("arn:aws:eks:eu-west-1:222222222222:cluster/dev-use1-0").unwrap();
        assert_eq!(
            (a.region.as_str(), a.account.as_str(), a.name.as_str()),
            ("eu-west-1", "222222222222", "dev-use1-0")
        );
        for not in [
            "kind-dev",
            "arn:aws:eks:eu-west-1:222222222222:nodegroup/x",
            "arn:aws:eks::222222222222:cluster/x",
            "arn:aws:eks:eu-west-1:2222:cluster/x",
            "arn:aws:eks:eu-west-1:222222222222:cluster/",
        ] {
            assert!(EksClusterArn::parse(not).is_none(), "{not}");
        }
    }

    #[test]
    fn account_and_partition() {
        assert_eq!(
            account_of("arn:aws:sts::333333333333:assumed-role/r/s"),
            Some("333333333333")
        );
        assert_eq!(account_of("garbage"), None);
        assert_eq!(partition_of("arn:aws-cn:iam::1:x"), "aws-cn");
        assert_eq!(partition_of("junk"), "aws");
    }
}
