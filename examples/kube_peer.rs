//! Runs the test suite's real Kubernetes control plane standalone, for
//! `scripts/demo` and `scripts/bench`: etcd and kube-apiserver (built by
//! `scripts/test-env`) on loopback, signing ServiceAccount tokens for ISSUER,
//! and accepting TOKEN as the cluster admin (`system:masters`).
//!
//!   kube_peer ISSUER TOKEN [ISSUER...]
//!
//! Each further ISSUER gets its own kube-apiserver (on the same etcd, under
//! its own prefix, as the tests' fleet does), so a fleet of clusters, each
//! signing for its own issuer, costs one etcd rather than one per cluster.
//! Prints `{"url": ..., "ca": ..., "admin_kubeconfig": ...}` on one line per
//! issuer, in the order given, once every API server is ready, then serves
//! until stdin reaches EOF, so all servers die with the process that started it.

#[allow(dead_code, unused_imports)] // the tests use more of it than the demo
#[path = "../tests/support/kube/mod.rs"]
mod kube;

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(token)) = (args.next(), args.next()) else {
        eprintln!("usage: kube_peer ISSUER TOKEN [ISSUER...]");
        std::process::exit(2);
    };
    let issuers: Vec<String> = std::iter::once(issuer).chain(args).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let clusters = start_all(dir.path(), &issuers, &token);
    let mut stdout = std::io::stdout().lock();
    for (i, cluster) in clusters.iter().enumerate() {
        let ready = serde_json::json!({
            "url": cluster.direct_url,
            "ca": kube::pki::Pki::get().ca_cert,
            "admin_kubeconfig": cluster.admin_kubeconfig(),
            "issuer": issuers[i],
        });
        writeln!(stdout, "{ready}").expect("write ready line");
    }
    stdout.flush().expect("flush stdout");
    drop(stdout);
    // Serve until the parent closes our stdin (or exits).
    for line in std::io::stdin().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(clusters);
}

/// One API server per issuer, a few at a time: each takes seconds of CPU
/// to become ready and has its own readiness deadline, so on 2 cores twenty
/// started at once could each miss it; a few at a time still overlap the
/// waiting. In the order given.
fn start_all(dir: &std::path::Path, issuers: &[String], token: &str) -> Vec<kube::KubeCluster> {
    const AT_ONCE: usize = 4;
    let mut clusters = Vec::with_capacity(issuers.len());
    for (n, batch) in issuers.chunks(AT_ONCE).enumerate() {
        std::thread::scope(|scope| {
            let started: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(i, issuer)| {
                    let dir = dir.join(format!("cluster-{}", n * AT_ONCE + i));
                    scope.spawn(move || start_one(&dir, issuer, token))
                })
                .collect();
            clusters.extend(
                started
                    .into_iter()
                    .map(|s| s.join().expect("API server start")),
            );
        });
    }
    clusters
}

fn start_one(dir: &std::path::Path, issuer: &str, token: &str) -> kube::KubeCluster {
    std::fs::create_dir_all(dir).expect("cluster dir");
    let users = kube::Users {
        admin_token: token.to_string(),
        rbac_token: "unused-rbac-token".into(),
    };
    kube::KubeCluster::start(dir, issuer, &users)
}
