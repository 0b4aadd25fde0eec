//! The real AWS CLI (`awscli`, pinned in the test venv) with a world's
//! environment, pointed at its moto server, for the shared session cache
//! tests; and AWS config files written for one test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::World;

/// The venv's `aws` (next to the moto Python).
pub fn aws_bin() -> PathBuf {
    let bin = super::moto::python()
        .parent()
        .expect("venv bin dir")
        .join("aws");
    assert!(
        bin.exists(),
        "no AWS CLI at {}: run scripts/test-env (tests/requirements.txt pins awscli)",
        bin.display()
    );
    bin
}

/// `aws ARGS` with exactly the world's AWS environment (its HOME, so its
/// `~/.aws/cli/cache`), nothing inherited.
pub fn aws(world: &World, args: &[&str]) -> Command {
    let mut cmd = Command::new(aws_bin());
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", world.dir.path())
        .env("AWS_CONFIG_FILE", world.path("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", world.path("aws-credentials"))
        .env("AWS_ENDPOINT_URL", world.moto.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A command as one shell line (`env -i` with exactly its environment),
/// for running it in a pseudo-terminal.
pub fn shell_line(cmd: &Command) -> String {
    let mut words = vec![
        "env".to_string(),
        "-i".to_string(),
        "TERM=\"$TERM\"".to_string(),
    ];
    for (key, value) in cmd.get_envs() {
        let value = value
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        words.push(shell_quote(&format!("{}={value}", key.to_string_lossy())));
    }
    words.push(shell_quote(&cmd.get_program().to_string_lossy()));
    words.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    words.join(" ")
}

/// Replaces the world's AWS config file.
pub fn write_config(world: &World, text: &str) {
    std::fs::write(world.path("aws-config"), text).expect("write AWS config");
}

/// The AWS CLI's assume-role cache directory of the world's HOME.
pub fn cache_dir(world: &World) -> PathBuf {
    world.dir.path().join(".aws/cli/cache")
}

/// Every cache file: (path, parsed JSON).
pub fn cache_entries(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, serde_json::Value)> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read cache file");
            let json = serde_json::from_str(&text).expect("cache file JSON");
            (p, json)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
