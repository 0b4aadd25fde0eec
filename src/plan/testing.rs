//! One set of fixtures for every planner's tests: requests resolved from
//! real flags, identities and snapshots of each account.

use crate::cli::{Cli, Command};
use crate::kubeconfig::ContextInfo;
use crate::plan::snapshot::{AddSnapshot, ClusterAccount, Resolved};
use crate::plan::{Observed, ObservedCluster};
use crate::resolve::add::AddRequest;
use crate::trust::{Identity, Issuer, TrustMode};
use clap::Parser;

pub const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC";
pub const KLANKER_ACCOUNT: &str = "333333333333";
pub const CLUSTER_ACCOUNT: &str = "222222222222";
/// The issuer's account when a request names only the issuer URL.
pub const ISSUER_ACCOUNT: &str = "111111111111";
pub const CLUSTER_PROVIDER: &str =
    "arn:aws:iam::222222222222:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
pub const BOUNDARY: &str = "arn:aws:iam::222222222222:policy/km-irsa-boundary";
/// The EKS cluster `dev` in the cluster's account.
pub const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";

/// `add --name dev FLAGS` resolved against context `ctx` (namespace ai-pods).
pub fn request(flags: &[&str]) -> AddRequest {
    let mut argv = vec!["kubectl-klanker_trust", "add", "--name", "dev"];
    argv.extend_from_slice(flags);
    let Ok(Cli {
        command: Command::Add(args),
        ..
    }) = Cli::try_parse_from(argv)
    else {
        panic!("not add");
    };
    let ctx = ContextInfo {
        context_name: "ctx".into(),
        namespace: Some("ai-pods".into()),
        server: Some("https://127.0.0.1:6443".into()),
        ..ContextInfo::default()
    };
    crate::resolve::add::resolve(&args, &ctx, crate::plan::mode::of(args.mode)).expect("request")
}

/// A request of the default mode: the issuer given by URL.
pub fn issuer_url_request(flags: &[&str]) -> AddRequest {
    request(&[&["--issuer-url", ISSUER], flags].concat())
}

/// A request in `mode`: the cluster's provider named, its account's profile given.
pub fn cluster_account_request(mode: TrustMode, flags: &[&str]) -> AddRequest {
    let base = [
        "--mode",
        mode.as_str(),
        "--oidc-provider-arn",
        CLUSTER_PROVIDER,
        "--cluster-profile",
        "cluster-admin",
    ];
    request(&[&base, flags].concat())
}

pub fn identity(account: &str) -> Identity {
    Identity {
        partition: "aws".into(),
        account: account.into(),
    }
}

/// The cluster's account as a mode with a cluster role reads it.
pub fn cluster_side(observed: Observed, boundary_exists: bool) -> ClusterAccount {
    ClusterAccount {
        identity: identity(CLUSTER_ACCOUNT),
        observed,
        instance_profiles: Vec::new(),
        others_trusting_provider: Vec::new(),
        boundary: Some((BOUNDARY.into(), boundary_exists)),
        left: None,
        provider_quota: None,
        trust_quota: None,
        role_quota: None,
    }
}

/// What exists for `req`: the klanker account's `klanker` (its namespace
/// there), the issuer in `issuer_account`, and the cluster's account when read.
pub fn snapshot(
    req: &AddRequest,
    issuer_account: &str,
    klanker: Observed,
    cluster: Option<ClusterAccount>,
) -> AddSnapshot {
    AddSnapshot {
        issuer: Resolved {
            issuer: Issuer::parse(ISSUER, "t").expect("issuer"),
            cluster_account: Some(issuer_account.into()),
            cluster_arn: None,
            discovered: false,
        },
        identity: identity(KLANKER_ACCOUNT),
        cluster_account: cluster,
        policies: crate::plan::add::policy_arns(req, &identity(KLANKER_ACCOUNT)),
        observed: Observed {
            namespace_exists: true,
            ..klanker
        },
        config: crate::store::Document::default(),
        eks: None,
        provider_quota: None,
        trust_quota: None,
        role_quota: None,
    }
}

/// Every namespace of `req`'s ServiceAccounts exists; none of them yet.
pub fn with_more_service_accounts(req: &AddRequest, observed: Observed) -> Observed {
    Observed {
        more_service_accounts: req
            .service_accounts()
            .into_iter()
            .skip(1)
            .map(|(namespace, name)| ObservedCluster {
                namespace,
                name,
                namespace_exists: true,
                service_account: None,
            })
            .collect(),
        ..observed
    }
}
