//! Runs the test suite's real Kubernetes control plane standalone, for
//! `scripts/demo` and `scripts/bench`: etcd and kube-apiserver (built by
//! `scripts/test-env`) on loopback, signing ServiceAccount tokens for ISSUER,
//! and accepting TOKEN as the cluster admin (`system:masters`).
//!
//!   kube_peer ISSUER TOKEN
//!
//! Prints `{"url": ..., "ca": ..., "admin_kubeconfig": ...}` on one line once
//! the API server is ready, then serves until stdin reaches EOF, so both
//! servers die with the process that started it.

#[allow(dead_code, unused_imports)] // the tests use more of it than the demo
#[path = "../tests/support/kube/mod.rs"]
mod kube;

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(token)) = (args.next(), args.next()) else {
        eprintln!("usage: kube_peer ISSUER TOKEN");
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let users = kube::Users {
        admin_token: token,
        rbac_token: "unused-rbac-token".into(),
    };
    let cluster = kube::KubeCluster::start(dir.path(), &issuer, &users);
    let ready = serde_json::json!({
        "url": cluster.direct_url,
        "ca": kube::pki::Pki::get().ca_cert,
        "admin_kubeconfig": cluster.admin_kubeconfig(),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}").expect("write ready line");
    stdout.flush().expect("flush stdout");
    drop(stdout);
    // Serve until the parent closes our stdin (or exits).
    for line in std::io::stdin().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(cluster);
}
