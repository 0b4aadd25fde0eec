//! Runs the test suite's Kubernetes API emulator standalone, for the demo script.
//!
//! Prints `{"url":"http://127.0.0.1:PORT"}` on one line, then serves until stdin reaches EOF,
//! so the emulator dies with the process that started it.

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
    // Block until the parent closes our stdin (or exits); read errors end the wait too.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    emulator.stop();
}
