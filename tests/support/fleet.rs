//! A fleet of EKS clusters for the multi-cluster commands (`add --context A
//! --context B`, `--all-contexts`): a `World` whose kubeconfig has one
//! context per cluster, the clusters spread over two cluster accounts and
//! two regions, each with its own issuer (tests/support/eks_issuers.py) and
//! its own kube-apiserver. What one cluster's onboarding does can then be
//! seen, or not, in each of the others.
//!
//! Cluster 0 is the world's own `dev-use1-0` (222222222222, us-east-1), so
//! the single-cluster constants (`CLUSTER`, `CONTEXT`, `ROLE`) still name it.

use std::collections::HashMap;

use serde_json::Value;

use super::aws_peer::{self, Account, CLUSTER_ACCOUNT, KLANKER_ACCOUNT, Role};
use super::kube::{self, KubeCluster};
use super::{CLUSTER, KUBE_TOKEN, Outcome, RBAC_TOKEN, World};

/// The fleet's second cluster account.
pub const FLEET_ACCOUNT: &str = "444444444444";
/// The AWS profile of the second cluster account (the first's is `cluster-admin`).
pub const FLEET_PROFILE: &str = "cluster-admin-b";
pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// The namespace every cluster has, and every context defaults to.
pub const NAMESPACE: &str = "ai-pods";

/// One EKS cluster of the fleet.
pub struct FleetCluster {
    pub name: String,
    /// Its cluster account.
    pub account: String,
    pub region: String,
    /// Its kubeconfig context, named by the cluster ARN as `aws eks
    /// update-kubeconfig` names it.
    pub context: String,
    /// The issuer its EKS cluster reports and its API server signs for.
    pub issuer: String,
    /// The AWS profile its context's exec block names.
    pub profile: String,
    /// Its account at the peer, in its region: to read roles and EKS there.
    pub cluster_account: Account,
    /// Its own API server; None for cluster 0, which is the world's.
    kube: Option<KubeCluster>,
}

impl FleetCluster {
    /// The issuer without scheme, as IAM keys it.
    pub fn issuer_host_path(&self) -> String {
        self.issuer.trim_start_matches("https://").to_string()
    }

    /// The klanker role `add` creates for it.
    pub fn role_name(&self) -> String {
        format!("km-cluster-{}", self.name)
    }

    /// That role's ARN, as the ServiceAccount annotation carries it.
    pub fn role_arn(&self) -> String {
        format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/{}", self.role_name())
    }
}

pub struct Fleet {
    /// First, so their API servers stop before the world's directory, which
    /// holds theirs, is removed.
    pub clusters: Vec<FleetCluster>,
    /// The world: its `run`, `spawn` and `kubectl` see every context.
    pub world: World,
}

/// Where cluster `i` lives: the account alternates, the region every other
/// cluster, so any 4 consecutive clusters cover each account in each region.
pub fn placement(i: usize) -> (&'static str, &'static str) {
    let account = [CLUSTER_ACCOUNT, FLEET_ACCOUNT][i % 2];
    let region = REGIONS[i.div_ceil(2) % 2];
    (account, region)
}

fn profile_of(account: &str) -> &'static str {
    if account == CLUSTER_ACCOUNT {
        "cluster-admin"
    } else {
        FLEET_PROFILE
    }
}

/// The name of cluster `i`: cluster 0 keeps the world's.
pub fn cluster_name(i: usize) -> String {
    if i == 0 {
        CLUSTER.to_string()
    } else {
        format!("fleet-{i:02}")
    }
}

impl Fleet {
    /// A world with `n` EKS clusters (at least 4, so both accounts and both
    /// regions hold one), each with its own API server holding namespace
    /// `ai-pods`, and one kubeconfig with a context per cluster (the first
    /// current). Calls made while building are cleared.
    pub fn new(n: usize) -> Fleet {
        assert!(n >= 4, "a fleet spans 2 accounts x 2 regions: n >= 4");
        let world = World::new();
        let accounts = account_handles(&world);
        let mut clusters = vec![FleetCluster {
            name: CLUSTER.to_string(),
            account: CLUSTER_ACCOUNT.to_string(),
            region: REGIONS[0].to_string(),
            context: super::CONTEXT.to_string(),
            issuer: world.issuer.clone(),
            profile: profile_of(CLUSTER_ACCOUNT).to_string(),
            cluster_account: world.cluster.clone(),
            kube: None,
        }];
        // EKS first (cheap calls), so each API server can sign for its issuer.
        for i in 1..n {
            let (account, region) = placement(i);
            let name = cluster_name(i);
            let handle = accounts[&(account, region)].clone();
            let issuer = world.block_on(handle.create_cluster_in(account, &name));
            clusters.push(FleetCluster {
                context: format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
                name,
                account: account.to_string(),
                region: region.to_string(),
                issuer,
                profile: profile_of(account).to_string(),
                cluster_account: handle,
                kube: None,
            });
        }
        start_api_servers(&world, &mut clusters[1..]);
        let fleet = Fleet { world, clusters };
        fleet.write_aws_profile();
        fleet.write_kubeconfig();
        fleet.clear_calls();
        fleet
    }

    /// Cluster `i`'s API server (the world's own for cluster 0).
    pub fn kube(&self, i: usize) -> &KubeCluster {
        self.clusters[i].kube.as_ref().unwrap_or(&self.world.kube)
    }

    /// Every context, in cluster order.
    pub fn contexts(&self) -> Vec<String> {
        self.clusters.iter().map(|c| c.context.clone()).collect()
    }

    /// The ARN of the klanker account's OIDC provider for cluster `i`'s issuer.
    pub fn provider_arn(&self, i: usize) -> String {
        format!(
            "arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{}",
            self.clusters[i].issuer_host_path()
        )
    }

    /// The klanker role `km-cluster-NAME` of cluster `i`, if it exists.
    pub fn role(&self, i: usize) -> Option<Role> {
        let name = self.clusters[i].role_name();
        self.world.block_on(self.world.klanker.role(&name))
    }

    /// A ServiceAccount as cluster `i`'s own API server has it.
    pub fn service_account(&self, i: usize, ns: &str, name: &str) -> Option<Value> {
        self.kube(i).service_account(ns, name)
    }

    /// Plain `kubectl --context CONTEXT_OF_i ARGS` through the world's
    /// kubeconfig (and so its exec block and the fault proxy).
    pub fn kubectl_on(&self, i: usize, args: &[&str]) -> Outcome {
        let mut cmd = self.world.kubectl_bare();
        cmd.arg("--context")
            .arg(&self.clusters[i].context)
            .args(args);
        self.world.run_cmd(&mut cmd)
    }

    /// Deletes cluster `i` at EKS, leaving its context and API server: the
    /// context then names a cluster EKS does not know (ResourceNotFound).
    /// The deletion is recorded like any call: clear calls after arranging.
    pub fn delete_eks_cluster(&self, i: usize) {
        let cluster = &self.clusters[i];
        self.world
            .block_on(
                cluster
                    .cluster_account
                    .eks
                    .delete_cluster()
                    .name(&cluster.name)
                    .send(),
            )
            .expect("delete EKS cluster");
    }

    /// Every write so far: AWS's (`service:Action`), then each API server's
    /// as `kube:NAME:METHOD PATH`, so a test can tell which cluster was written.
    pub fn writes(&self) -> Vec<String> {
        let mut writes = self.world.moto.writes();
        for (i, cluster) in self.clusters.iter().enumerate() {
            writes.extend(
                self.kube(i)
                    .write_requests()
                    .into_iter()
                    .map(|r| format!("kube:{}:{} {}", cluster.name, r.method, r.path)),
            );
        }
        writes
    }

    /// Forgets the calls recorded at the AWS peer and every API server.
    pub fn clear_calls(&self) {
        self.world.clear_calls();
        for cluster in &self.clusters {
            if let Some(kube) = &cluster.kube {
                kube.clear_requests();
            }
        }
    }

    /// The second cluster account's profile, beside the first's: assumed
    /// like `cluster-admin` (moto lets any role be assumed, and puts the
    /// session's calls in the role's account).
    fn write_aws_profile(&self) {
        let path = self.world.path("aws-config");
        let config = std::fs::read_to_string(&path).expect("aws config");
        std::fs::write(
            &path,
            format!(
                "{config}\n[profile {FLEET_PROFILE}]\nrole_arn = arn:aws:iam::{FLEET_ACCOUNT}:role/cluster-admin\nsource_profile = base\nregion = us-east-1\n"
            ),
        )
        .expect("write aws config");
    }

    /// One kubeconfig, at the world's path, with a cluster, user and context
    /// per cluster (each named by its context), the first current.
    fn write_kubeconfig(&self) {
        let ca = kube::pki::Pki::get().ca_cert.display().to_string();
        let (mut servers, mut contexts, mut users) = (String::new(), String::new(), String::new());
        for (i, c) in self.clusters.iter().enumerate() {
            let ctx = &c.context;
            let server = self.kube(i).url();
            servers += &format!(
                "- name: \"{ctx}\"\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n"
            );
            contexts += &format!(
                "- name: \"{ctx}\"\n  context:\n    cluster: \"{ctx}\"\n    user: \"{ctx}\"\n    namespace: {NAMESPACE}\n"
            );
            let exec =
                super::eks_exec_user_for(&c.region, &c.name, &format!("--profile {}", c.profile));
            users += &format!("- name: \"{ctx}\"\n  user:\n    {exec}\n");
        }
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: \"{}\"\nclusters:\n{servers}contexts:\n{contexts}users:\n{users}",
            self.clusters[0].context
        );
        std::fs::write(self.world.kubeconfig(), text).expect("write kubeconfig");
    }
}

/// A seeded handle on each cluster account in each region; moto keeps EKS
/// per account and region, so each needs its own.
fn account_handles(world: &World) -> HashMap<(&'static str, &'static str), Account> {
    let mut accounts = HashMap::new();
    for account in [CLUSTER_ACCOUNT, FLEET_ACCOUNT] {
        for region in REGIONS {
            let handle = if (account, region) == (CLUSTER_ACCOUNT, REGIONS[0]) {
                world.cluster.clone()
            } else {
                let url = world.moto.url();
                world.block_on(aws_peer::account_in(&url, account, region, "aws"))
            };
            accounts.insert((account, region), handle);
        }
    }
    accounts
}

/// Starts each cluster's API server, signing for its issuer, with namespace
/// `ai-pods`, in its own directory. In parallel: each takes seconds to
/// become ready, and they do not depend on one another.
fn start_api_servers(world: &World, clusters: &mut [FleetCluster]) {
    std::thread::scope(|scope| {
        for cluster in clusters.iter_mut() {
            let dir = world.path(&format!("clusters/{}", cluster.name));
            let issuer = cluster.issuer.clone();
            let kube = &mut cluster.kube;
            scope.spawn(move || {
                std::fs::create_dir_all(&dir).expect("cluster dir");
                // Same tokens as the world's: the stand-in `aws` yields one
                // token whatever the cluster, as one IAM identity would.
                let users = kube::Users {
                    admin_token: KUBE_TOKEN.into(),
                    rbac_token: RBAC_TOKEN.into(),
                };
                let started = KubeCluster::start(&dir, &issuer, &users);
                started.add_namespace(NAMESPACE);
                *kube = Some(started);
            });
        }
    });
}
