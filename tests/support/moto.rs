//! A moto server (pinned in the test venv) per test, on an ephemeral loopback
//! port, with every request recorded to a file so tests can count calls.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One recorded AWS request.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub service: String,
    pub action: String,
    pub method: String,
    /// The account the call acted in (None: unsigned, e.g. AssumeRoleWithWebIdentity).
    #[serde(default)]
    pub account: Option<String>,
    /// The assumed role whose keys signed it (None: long-term keys, unsigned).
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub path: String,
    /// The request's parameters (first value of each), credentials left out.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
    /// Calls of this action the peer was serving when this one arrived,
    /// itself included (held calls count until released).
    #[serde(default)]
    pub in_flight: usize,
}

/// Read-only calls; everything else counts as a write.
const READ_PREFIXES: &[&str] = &["Get", "List", "Describe", "AssumeRole", "GET "];

impl Call {
    pub fn is_write(&self) -> bool {
        !READ_PREFIXES.iter().any(|p| self.action.starts_with(p))
    }
}

pub struct Moto {
    child: Child,
    port: u16,
    calls: PathBuf,
    faults: PathBuf,
}

/// A call held by a `hang` fault until released.
pub struct Hang {
    pub arrived: PathBuf,
    pub release: PathBuf,
}

impl Hang {
    pub fn new(dir: &Path, name: &str) -> Hang {
        Hang {
            arrived: dir.join(format!("{name}.arrived")),
            release: dir.join(format!("{name}.release")),
        }
    }

    /// Waits (bounded) until the held call reached the peer.
    pub fn wait_arrived(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.arrived.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the call never reached the peer"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn release(&self) {
        std::fs::write(&self.release, "go").expect("release hang");
    }
}

/// The Python that has `moto[server]` installed (scripts/test creates it).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("KLANKER_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no moto venv at {}: run scripts/test (it creates it) or set KLANKER_TEST_PYTHON",
        venv.display()
    );
    venv
}

impl Moto {
    pub fn start(dir: &Path) -> Moto {
        let calls = dir.join("moto-calls.jsonl");
        let faults = dir.join("moto-faults.json");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg("--calls")
            .arg(&calls)
            .arg("--faults")
            .arg(&faults)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto server");
        // The launcher prints its port only once it is listening: no polling, no sleeps.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("moto stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read moto port");
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| panic!("moto did not report a port: {line:?}"))
            as u16;
        Moto {
            child,
            port,
            calls,
            faults,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> Vec<Call> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("call record"))
            .collect()
    }

    /// The most calls of `action` the peer served at once: a concurrency
    /// peak is only reached when a call arrives, so the largest count of one.
    pub fn peak_in_flight(&self, action: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.in_flight)
            .max()
            .unwrap_or(0)
    }

    /// Waits (bounded) until at least `n` calls of `action` reached the
    /// peer; how many did.
    pub fn wait_calls(&self, action: &str, n: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let seen = self.calls().iter().filter(|c| c.action == action).count();
            if seen >= n {
                return seen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{seen} of {n} {action} calls reached the peer"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(Call::is_write)
            .map(|c| format!("{}:{}", c.service, c.action))
            .collect()
    }

    /// Replaces the fault rules (see tests/support/moto_server.py); counting restarts.
    pub fn inject(&self, rules: serde_json::Value) {
        // Written aside and renamed, so the server never reads half a file.
        let tmp = self.faults.with_extension("tmp");
        std::fs::write(&tmp, rules.to_string()).expect("write faults");
        std::fs::rename(&tmp, &self.faults).expect("install faults");
    }

    pub fn clear_faults(&self) {
        self.inject(serde_json::json!([]));
    }

    /// Holds the next `action` call until the returned hang is released.
    pub fn hang(&self, action: &str, dir: &Path) -> Hang {
        let hang = Hang::new(dir, &format!("moto-{action}"));
        self.inject(serde_json::json!([{"action": action, "fault": "hang",
            "arrived": hang.arrived, "release": hang.release}]));
        hang
    }

    pub fn clear_calls(&self) {
        let _ = std::fs::remove_file(&self.calls);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin ends the launcher; kill as a backstop.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
