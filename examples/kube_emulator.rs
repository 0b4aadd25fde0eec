//! Runs the test suite's Kubernetes API emulator standalone, for the demo script.
//!
//! Prints `{"url":"http://127.0.0.1:PORT"}` on one line, then serves until stdin reaches EOF,
//! so the emulator dies with the process that started it. A stdin line `issuer URL` sets the
//! issuer of the ServiceAccount tokens it signs.

#[path = "../tests/support/kube_emulator.rs"]
mod kube_emulator;

use std::io::Write;

fn main() {
    let token = std::env::var("KUBE_EMULATOR_TOKEN").unwrap_or_else(|_| "demo-token".to_string());
    let emulator = kube_emulator::KubeEmulator::start(&token);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::json!({ "url": emulator.url() })).expect("write url");
    stdout.flush().expect("flush stdout");
    drop(stdout);
    // Serve until the parent closes our stdin (or exits). A line `issuer URL`
    // sets the issuer of the tokens it signs (the demo learns it from EKS).
    for line in std::io::stdin().lines() {
        let Ok(line) = line else { break };
        if let Some(issuer) = line.strip_prefix("issuer ") {
            emulator.set_issuer(issuer.trim());
        }
    }
    emulator.stop();
}
