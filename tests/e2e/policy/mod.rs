//! `policy` judged from outside: the printed operator policy goes through
//! an IAM linter (parliament) and a local IAM policy evaluator
//! (principalmapper) that are not this code, by tests/support/policy_check.py.
//! Plus the RBAC documents as kubectl would take them, and verify's session.
//! Chained and pod identity modes' cluster-account policies and their
//! boundaries are judged the same way.
//!
//! Here what the subjects share: the evaluator's questions and answers, and
//! the scan of the calls the code makes.

mod calls;
mod cluster;
mod klanker;
mod pod_identity;
mod rbac;
mod session;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::aws_peer::KLANKER_ACCOUNT;
use crate::support::{World, moto};

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// One question for the evaluator, and the answer the test demands.
struct Case {
    name: String,
    action: String,
    resource: String,
    conditions: Value,
    allowed: bool,
}

fn case(name: &str, action: &str, resource: &str, conditions: Value, allowed: bool) -> Case {
    Case {
        name: name.into(),
        action: action.into(),
        resource: resource.into(),
        conditions,
        allowed,
    }
}

/// What policy_check.py answered.
struct Judgement {
    findings: Vec<Value>,
    verdicts: Vec<Value>,
}

fn judge(world: &World, policy: &str, cases: &[Case]) -> Judgement {
    judge_as(
        world,
        policy,
        cases,
        json!({"principal": format!("arn:aws:iam::{KLANKER_ACCOUNT}:user/klanker-operator")}),
    )
}

/// `request`: who holds the policy, and how (policy_check.py's optional
/// keys `as` and `also_attached`).
fn judge_as(world: &World, policy: &str, cases: &[Case], mut request: Value) -> Judgement {
    let policy_path = world.path(&format!("policy-{}.json", cases.len()));
    let cases_path = world.path(&format!("cases-{}.json", cases.len()));
    std::fs::write(&policy_path, policy).expect("write policy");
    request["cases"] = cases
        .iter()
        .map(|c| {
            json!({"name": c.name, "action": c.action,
            "resource": c.resource, "conditions": c.conditions})
        })
        .collect();
    std::fs::write(&cases_path, request.to_string()).expect("write cases");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/policy_check.py");
    let out = Command::new(moto::python())
        .arg(script)
        .arg(&policy_path)
        .arg(&cases_path)
        .output()
        .expect("run policy_check.py");
    assert!(
        out.status.success(),
        "policy_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("verdicts JSON");
    Judgement {
        findings: answer["findings"].as_array().cloned().unwrap_or_default(),
        verdicts: answer["verdicts"].as_array().cloned().unwrap_or_default(),
    }
}

#[track_caller]
fn assert_judgement(judgement: &Judgement, cases: &[Case], policy: &str) {
    let serious: Vec<&Value> = judgement
        .findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("MEDIUM" | "HIGH" | "CRITICAL")))
        .collect();
    assert!(
        serious.is_empty(),
        "parliament findings: {serious:#?}\n{policy}"
    );
    assert_eq!(judgement.verdicts.len(), cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .zip(&judgement.verdicts)
        .filter(|(c, v)| v["allowed"].as_bool() != Some(c.allowed))
        .map(|(c, _)| {
            format!(
                "{}: {} on {} with {} should be {}",
                c.name,
                c.action,
                c.resource,
                c.conditions,
                if c.allowed { "allowed" } else { "denied" }
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{policy}");
}

/// `service:Operation` literals in the modules that call AWS (the same scan
/// as the unit test), so a new call must be placed here before it passes.
fn calls_in_code() -> Vec<String> {
    let sources = [
        include_str!("../../../src/aws/iam.rs"),
        include_str!("../../../src/aws/eks.rs"),
        include_str!("../../../src/aws/mod.rs"),
    ];
    let mut found: Vec<String> = sources
        .iter()
        .flat_map(|s| s.split('"').skip(1).step_by(2))
        .filter(|piece| {
            piece.split_once(':').is_some_and(|(service, op)| {
                matches!(service, "iam" | "sts" | "eks")
                    && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && op.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}
