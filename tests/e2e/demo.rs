//! `scripts/demo` touches nothing of the user's and runs again at once
//! (issue 26, item 3): twice in a row, both exit 0, and the caller's HOME
//! gains no AWS session cache. Its audit finds what README shows.

use std::process::Command;

#[test]
fn the_demo_runs_twice_in_a_row_and_leaves_the_callers_home_alone() {
    let home = tempfile::tempdir().expect("a HOME for the caller");
    let real_home = std::env::var_os("HOME").expect("HOME");
    let root = env!("CARGO_MANIFEST_DIR");
    for run in 1..=2 {
        let out = Command::new("bash")
            .arg(format!("{root}/scripts/demo"))
            .env("HOME", home.path())
            // The toolchain and the peers stay where they are.
            .env(
                "CARGO_HOME",
                std::env::var_os("CARGO_HOME")
                    .unwrap_or_else(|| std::path::Path::new(&real_home).join(".cargo").into()),
            )
            .env(
                "RUSTUP_HOME",
                std::env::var_os("RUSTUP_HOME")
                    .unwrap_or_else(|| std::path::Path::new(&real_home).join(".rustup").into()),
            )
            .env("KLANKER_TRUST_DEMO_PREBUILT", "1")
            .env(
                "KLANKER_TRUST_PEER_CACHE",
                std::env::var_os("KLANKER_TRUST_PEER_CACHE").unwrap_or_else(|| {
                    std::path::Path::new(&real_home)
                        .join(".cache/kubectl-klanker-trust/peers")
                        .into()
                }),
            )
            .output()
            .expect("run scripts/demo");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "run {run}:\n{all}");
        assert!(
            all.contains("No changes: everything is already in place."),
            "run {run}:\n{all}"
        );
        assert!(
            all.contains("ServiceAccount in the cluster"),
            "run {run}:\n{all}"
        );
        // The audit README shows: the hand-made role's two findings, and
        // none for the onboarding's own role.
        assert!(
            all.contains("Total: 0 critical, 1 high, 1 medium, 0 low, 0 info (2 findings)."),
            "run {run}:\n{all}"
        );
        let findings: Vec<&str> = all
            .lines()
            .filter(|l| l.starts_with("high ") || l.starts_with("medium "))
            .collect();
        assert_eq!(findings.len(), 2, "run {run}:\n{all}");
        assert!(
            findings.iter().all(|l| l.contains("external-dns")),
            "run {run}:\n{all}"
        );
    }
    assert!(
        !home.path().join(".aws").exists(),
        "the demo wrote into the caller's HOME"
    );
}
