//! Pure: the checks that stop a command before any write because it would
//! act on the wrong account or the wrong cluster.

/// Why a command stops before writing anything.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    /// The klanker profile lands in another account than the one expected.
    #[error(
        "the klanker profile `{profile}` lands in account {actual}, but {expected_by} expects klanker account {expected}. Nothing was changed. Pick the right --aws-profile."
    )]
    WrongKlankerAccount {
        profile: String,
        actual: String,
        expected: String,
        expected_by: &'static str,
    },
    /// STS says the klanker credentials act in another account than the
    /// profile's configuration names.
    #[error(
        "the klanker profile's configuration names account {named}, but STS says its credentials act as {caller} in account {actual} (a stale or planted cached session, or credentials from the environment?). Nothing was changed. Check where the profile's credentials come from (`aws sts get-caller-identity --profile ...` shows the same)."
    )]
    CredentialsInOtherAccount {
        named: String,
        actual: String,
        caller: String,
    },
    /// The klanker profile lands in the cluster's own account.
    #[error(
        "the klanker profile `{profile}` lands in account {account}, which is the cluster's own account, not the central klanker account. Nothing was changed. Pass the klanker account's profile with --aws-profile (the cluster's profile belongs in the kubeconfig or --cluster-profile)."
    )]
    KlankerIsClusterAccount { profile: String, account: String },
    /// DescribeCluster answered for another cluster than the context's.
    #[error(
        "context `{context}` says the cluster is {said}, but DescribeCluster answered for {described}: its issuer is not this cluster's. Nothing was changed. Fix the exec block's --region/--cluster-name, or pass --cluster-name/--cluster-region for the cluster the context points at."
    )]
    ClusterMismatch {
        context: String,
        said: String,
        described: String,
    },
    /// No kubeconfig context points at the onboarding's cluster.
    #[error(
        "`{name}` was onboarded from cluster {cluster}, and no kubeconfig context points at it; no other cluster is checked or changed. Pass --context NAME of a context for {cluster}."
    )]
    NoContextForCluster { name: String, cluster: String },
    /// The chosen context points at another cluster than the onboarding's.
    #[error(
        "context `{context}` does not point at cluster {cluster}, where `{name}` was onboarded; no other cluster is checked or changed. Pass --context NAME of a context for {cluster}{}.",
        if .candidates.is_empty() { String::new() } else { format!(" (e.g. {})", .candidates.join(", ")) }
    )]
    ContextIsOtherCluster {
        name: String,
        context: String,
        cluster: String,
        candidates: Vec<String>,
    },
}

/// Where the expected klanker account comes from.
#[derive(Debug, Clone, Default)]
pub struct ExpectedAccount<'a> {
    /// `--klanker-account`.
    pub flag: Option<&'a str>,
    /// km-config.yaml's top-level `klanker_account`.
    pub recorded: Option<&'a str>,
}

/// The klanker profile must land in the klanker account: the one
/// `--klanker-account` or km-config.yaml names, and never the cluster's own.
pub fn check_klanker_account(
    profile: &str,
    actual: &str,
    expected: &ExpectedAccount<'_>,
    cluster_account: Option<&str>,
) -> Result<(), GuardError> {
    for (want, source) in [
        (expected.flag, "--klanker-account"),
        (expected.recorded, "km-config.yaml (klanker_account)"),
    ] {
        if let Some(want) = want
            && want != actual
        {
            return Err(GuardError::WrongKlankerAccount {
                profile: profile.to_string(),
                actual: actual.to_string(),
                expected: want.to_string(),
                expected_by: source,
            });
        }
    }
    if cluster_account == Some(actual) {
        return Err(GuardError::KlankerIsClusterAccount {
            profile: profile.to_string(),
            account: actual.to_string(),
        });
    }
    Ok(())
}

/// What DescribeCluster returned must be the cluster the context names: its
/// ARN when the context (or its cluster entry) is named by one, its endpoint
/// when the context's server is an EKS endpoint.
pub fn check_described_cluster(
    context: &str,
    context_arn: Option<&str>,
    context_eks_server: Option<&str>,
    described_arn: &str,
    described_endpoint: Option<&str>,
) -> Result<(), GuardError> {
    if let Some(said) = context_arn
        && said != described_arn
    {
        return Err(GuardError::ClusterMismatch {
            context: context.to_string(),
            said: said.to_string(),
            described: described_arn.to_string(),
        });
    }
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    if let (Some(server), Some(endpoint)) = (context_eks_server, described_endpoint)
        && host(server) != host(endpoint)
    {
        return Err(GuardError::ClusterMismatch {
            context: context.to_string(),
            said: server.to_string(),
            described: format!("{described_arn} (endpoint {endpoint})"),
        });
    }
    Ok(())
}

/// Which context `rm`/`verify NAME` use: the one pointing at the cluster the
/// onboarding recorded (`--context` if given must be one of them), the
/// current context for onboardings that recorded none.
pub fn choose_context(
    name: &str,
    recorded: Option<&str>,
    explicit: Option<&str>,
    current: Option<&str>,
    pointing: &[String],
) -> Result<Option<String>, GuardError> {
    let Some(cluster) = recorded else {
        return Ok(explicit.or(current).map(str::to_string));
    };
    match explicit {
        Some(ctx) if pointing.iter().any(|p| p == ctx) => Ok(Some(ctx.to_string())),
        Some(ctx) => Err(GuardError::ContextIsOtherCluster {
            name: name.to_string(),
            context: ctx.to_string(),
            cluster: cluster.to_string(),
            candidates: pointing.to_vec(),
        }),
        None => {
            pointing
                .first()
                .cloned()
                .map(Some)
                .ok_or_else(|| GuardError::NoContextForCluster {
                    name: name.to_string(),
                    cluster: cluster.to_string(),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";

    #[test]
    fn klanker_account_guard() {
        let none = ExpectedAccount::default();
        assert!(check_klanker_account("p", "333", &none, Some("222")).is_ok());
        assert!(check_klanker_account("p", "333", &none, None).is_ok());
        assert_eq!(
            check_klanker_account("cluster-admin", "222", &none, Some("222")),
            Err(GuardError::KlankerIsClusterAccount {
                profile: "cluster-admin".into(),
                account: "222".into()
            })
        );
        let flag = ExpectedAccount {
            flag: Some("333"),
            recorded: None,
        };
        assert!(check_klanker_account("p", "333", &flag, None).is_ok());
        let err = check_klanker_account("p", "444", &flag, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("--klanker-account expects klanker account 333")
        );
        let recorded = ExpectedAccount {
            flag: None,
            recorded: Some("333"),
        };
        let err = check_klanker_account("p", "444", &recorded, None).unwrap_err();
        assert!(err.to_string().contains("km-config.yaml"), "{err}");
    }

    #[test]
    fn described_cluster_must_be_the_contexts() {
        assert!(check_described_cluster("c", Some(ARN), None, ARN, None).is_ok());
        let other = "arn:aws:eks:us-west-2:222222222222:cluster/dev";
        let err = check_described_cluster("c", Some(ARN), None, other, None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(ARN) && text.contains(other), "{text}");
        let server = "https://ABC.gr7.us-east-1.eks.amazonaws.com";
        assert!(
            check_described_cluster(
                "c",
                None,
                Some(server),
                other,
                Some("https://abc.gr7.us-east-1.eks.amazonaws.com")
            )
            .is_ok()
        );
        assert!(
            check_described_cluster(
                "c",
                None,
                Some(server),
                other,
                Some("https://XYZ.gr7.us-west-2.eks.amazonaws.com")
            )
            .is_err()
        );
        // Nothing to compare with: not refused.
        assert!(check_described_cluster("c", None, None, other, None).is_ok());
    }

    #[test]
    fn context_choice_stays_on_the_recorded_cluster() {
        let pointing = vec!["prd".to_string()];
        assert_eq!(
            choose_context("n", Some(ARN), None, Some("dev"), &pointing),
            Ok(Some("prd".into()))
        );
        assert!(matches!(
            choose_context("n", Some(ARN), Some("dev"), Some("dev"), &pointing),
            Err(GuardError::ContextIsOtherCluster { .. })
        ));
        assert_eq!(
            choose_context("n", Some(ARN), Some("prd"), Some("dev"), &pointing),
            Ok(Some("prd".into()))
        );
        let err = choose_context("n", Some(ARN), None, Some("dev"), &[]).unwrap_err();
        assert!(err.to_string().contains("--context") && err.to_string().contains(ARN));
        // Recorded nowhere (older onboardings): the current context, as before.
        assert_eq!(
            choose_context("n", None, None, Some("dev"), &[]),
            Ok(Some("dev".into()))
        );
    }
}
