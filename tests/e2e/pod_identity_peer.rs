//! The test AWS peer's EKS Pod Identity API (moto has none; see
//! tests/support/eks_pod_identity.py) answers as EKS's own model says:
//! every operation, error and fault, checked by botocore's service model.
//! The Pod Identity mode's tests (issue 23) rest on it.

use std::path::Path;
use std::process::Command;

#[test]
fn the_pod_identity_peer_answers_as_the_eks_model_says() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/check_pod_identity_peer.py");
    let out = Command::new(crate::support::moto::python())
        .arg(&script)
        .output()
        .expect("run the peer check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "peer check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok: "), "no summary line:\n{stdout}");
}
