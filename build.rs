//! Records the git commit and target triple for `kubectl klanker-trust version`.

use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KLANKER_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=KLANKER_TARGET={}",
        std::env::var("TARGET").unwrap_or_else(|_| "unknown".into())
    );
    // Re-run when HEAD moves, not on every source change. Git names the
    // files: in a worktree `.git` is a file and they live elsewhere, and a
    // path that does not exist would make cargo re-run this (and relink a
    // fat-LTO release) on every build.
    println!("cargo:rerun-if-changed=build.rs");
    for file in ["HEAD", "refs/heads", "packed-refs"] {
        let path = git(&["rev-parse", "--git-path", file]);
        if let Some(path) = path.filter(|p| std::path::Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// What `git ARGS` prints, trimmed; None outside a checkout or without git.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
