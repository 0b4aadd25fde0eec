//! `audit` (issue 25) end to end: the hand-made corpus
//! (tests/fixtures/audit/corpus.json) created as real roles at moto,
//! audited through `kubectl klanker-trust`, with and without the real API
//! server's ServiceAccounts. Every finding's claim, and every fixed
//! document, is judged by principalmapper (tests/support/trust_check.py),
//! not by this code.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::aws_peer::{CLUSTER_ACCOUNT, KLANKER_ACCOUNT};
use crate::support::{CONTEXT, ROLE_ARN_ANNOTATION, World};

/// The corpus's placeholder issuer; replaced by the test cluster's own, so
/// the API server's tokens and discovery document name the same issuer.
const CORPUS_ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/CORPUS";

fn corpus(world: &World) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/corpus.json");
    let text = std::fs::read_to_string(path).expect("corpus");
    serde_json::from_str(&text.replace(CORPUS_ISSUER, &world.issuer_host_path()))
        .expect("corpus JSON")
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/corpus-{name}")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

/// The corpus's providers and roles in the klanker account, and an IRSA
/// role in the cluster account (so a root trust of it is high).
fn seed(world: &World, corpus: &Value) {
    world.block_on(async {
        for p in corpus["providers"].as_array().unwrap() {
            let ids = strings(&p["client_ids"]);
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            world.klanker.create_provider(p["url"].as_str().unwrap(), &ids).await;
        }
        for d in corpus["documents"].as_array().unwrap() {
            world
                .klanker
                .iam
                .create_role()
                .role_name(format!("corpus-{}", d["name"].as_str().unwrap()))
                .assume_role_policy_document(d["trust"].to_string())
                .send()
                .await
                .expect("create corpus role");
        }
        let provider = world.cluster.create_provider(&world.issuer, &["sts.amazonaws.com"]).await;
        let host = world.issuer_host_path();
        let irsa = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{host}:sub"): "system:serviceaccount:ns:sa", format!("{host}:aud"): "sts.amazonaws.com"}},
        }]});
        world
            .cluster
            .iam
            .create_role()
            .role_name("irsa")
            .assume_role_policy_document(irsa.to_string())
            .send()
            .await
            .expect("create IRSA role");
    });
    world.clear_calls();
}

/// The ServiceAccounts the corpus says use each role, annotated with it.
fn annotate_users(world: &World, corpus: &Value) {
    let mut namespaces = world.kube.namespaces();
    for d in corpus["documents"].as_array().unwrap() {
        for user in strings(&d["users"]) {
            let (ns, name) = user.split_once(':').unwrap();
            if !namespaces.iter().any(|n| n == ns) {
                world.kube.add_namespace(ns);
                namespaces.push(ns.to_string());
            }
            world.kube.put_service_account(
                ns,
                json!({"metadata": {"name": name, "annotations": {ROLE_ARN_ANNOTATION: role_arn(d["name"].as_str().unwrap())}}}),
            );
        }
    }
    world.clear_calls();
}

const BOTH_ACCOUNTS: [&str; 4] = [
    "--aws-profile",
    "klanker-application",
    "--aws-profile",
    "cluster-admin",
];

fn audit_json(world: &World, extra: &[&str]) -> Value {
    let mut args = vec!["audit", "-o", "json"];
    args.extend_from_slice(&BOTH_ACCOUNTS);
    args.extend_from_slice(extra);
    let out = world.run(&args);
    out.assert_ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn ids_by_arn(report: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        out.entry(f["arn"].as_str().unwrap().to_string())
            .or_default()
            .push(f["id"].as_str().unwrap().to_string());
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

/// The keys of `-o json|yaml` as docs/commands/audit.md documents them.
const ACCOUNT_KEYS: [&str; 7] = [
    "profile",
    "account",
    "roles",
    "workload_identity_roles",
    "providers",
    "provider_quota",
    "quota_sources",
];
const FINDING_KEYS: [&str; 8] = [
    "id",
    "severity",
    "broken",
    "account",
    "arn",
    "role",
    "statement",
    "who",
];
const FIX_KEYS: [&str; 4] = ["text", "command", "document", "diff"];
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// The report has the documented shape and the docs still say it: each
/// finding carries at least ID, severity, broken, account, ARN, who and the
/// fix's text, and no key the docs do not name.
fn assert_documented_shape(report: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands/audit.md");
    let docs = std::fs::read_to_string(path).expect("docs/commands/audit.md");
    let flat = docs.split_whitespace().collect::<Vec<_>>().join(" ");
    let shape = format!(
        "{{\"accounts\": [{{{}}}], \"totals\": {{severity: count}}, \"findings\": [{{{}, fix: {{{}}}}}]}}",
        ACCOUNT_KEYS.join(", "),
        FINDING_KEYS.join(", "),
        FIX_KEYS.join(", ")
    );
    assert_contains!(flat, shape.as_str());
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(report), ["accounts", "findings", "totals"]);
    let mut severities = SEVERITIES.map(String::from).to_vec();
    severities.sort();
    assert_eq!(keys(&report["totals"]), severities);
    for a in report["accounts"].as_array().unwrap() {
        let mut want = ACCOUNT_KEYS.map(String::from).to_vec();
        want.sort();
        assert_eq!(keys(a), want, "{a}");
    }
    for f in report["findings"].as_array().unwrap() {
        for k in keys(f) {
            assert!(
                k == "fix" || FINDING_KEYS.contains(&k.as_str()),
                "undocumented {k}: {f}"
            );
        }
        for k in ["id", "account", "arn", "who"] {
            assert!(f[k].as_str().is_some_and(|v| !v.is_empty()), "{k}: {f}");
        }
        assert!(
            SEVERITIES.contains(&f["severity"].as_str().unwrap_or_default()),
            "{f}"
        );
        assert!(f["broken"].is_boolean(), "{f}");
        for k in keys(&f["fix"]) {
            assert!(FIX_KEYS.contains(&k.as_str()), "undocumented fix.{k}: {f}");
        }
        assert!(
            f["fix"]["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{f}"
        );
    }
}

#[test]
fn audit_reports_every_corpus_document_as_tagged_with_a_handful_of_reads_and_no_write() {
    let world = World::new();
    let corpus = corpus(&world);
    seed(&world, &corpus);
    let report = audit_json(&world, &[]);
    let by_arn = ids_by_arn(&report);
    for d in corpus["documents"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let got = by_arn.get(&role_arn(name)).cloned().unwrap_or_default();
        assert_eq!(got, strings(&d["expect"]), "{name}: {}", d["why"]);
    }
    for (provider, ids) in corpus["provider_expect"].as_object().unwrap() {
        assert_eq!(
            by_arn.get(provider).cloned().unwrap_or_default(),
            strings(ids),
            "{provider}"
        );
    }
    let high_root = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["arn"] == role_arn("cross-account-root-of-workload-account"));
    assert_eq!(
        high_root.unwrap()["severity"],
        "high",
        "the cluster account holds an IRSA role"
    );
    assert_eq!(report["accounts"][0]["account"], KLANKER_ACCOUNT);
    assert_eq!(report["accounts"][1]["account"], CLUSTER_ACCOUNT);
    assert_eq!(report["accounts"][1]["workload_identity_roles"], 1);
    assert_eq!(report["accounts"][0]["providers"], 3);
    let totals = report["totals"].as_object().unwrap();
    let sum: u64 = totals.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sum as usize, report["findings"].as_array().unwrap().len());
    assert_documented_shape(&report);
    let unused = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "provider-unused")
        .expect("the unused provider");
    assert_contains!(unused["who"].as_str().unwrap(), "(3 used of 100)");

    // Read-only, and no per-role call where a list call carries the data:
    // GetOpenIDConnectProvider only for the providers some role trusts.
    assert_eq!(world.writes(), Vec::<String>::new());
    let calls = world.moto.calls();
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("ListRoles"), 2, "{calls:?}");
    assert_eq!(count("ListOpenIDConnectProviders"), 2);
    assert_eq!(
        count("GetOpenIDConnectProvider"),
        3,
        "two trusted in the klanker account, one in the cluster's"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.params.values().any(|v| v.contains("UNUSED"))),
        "the unused provider is only listed"
    );
    assert_eq!(
        count("GetRole"),
        0,
        "no role of the corpus claims to be the tool's"
    );

    // Once the reads are counted, the same audit as text: one line per finding, each within 100
    // columns, the provider slots used of the quota in the header.
    let mut args = vec!["audit"];
    args.extend_from_slice(&BOTH_ACCOUNTS);
    let text = world.run(&args);
    text.assert_ok();
    for line in text.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line:?}");
    }
    assert_contains!(text.stdout, "OIDC providers 3/100");
    let lines = text
        .stdout
        .lines()
        .filter(|l| SEVERITIES.iter().any(|s| l.starts_with(s)))
        .count();
    assert_eq!(
        lines,
        report["findings"].as_array().unwrap().len(),
        "{}",
        text.stdout
    );
}

/// An account no corpus document names: its principals are intruders.
const INTRUDER_ACCOUNT: &str = "555555555555";

/// Whether the entry claims (for principalmapper to confirm) that a caller
/// the trust never names gets in: a principal of the intruder account, or
/// a ServiceAccount of a namespace no document names.
fn admits_an_intruder(d: &Value) -> bool {
    assert!(!d["trust"].to_string().contains(INTRUDER_ACCOUNT));
    d["probes"].as_array().unwrap().iter().any(|p| {
        p["admitted"] == true
            && (p["aws"]
                .as_str()
                .is_some_and(|a| a.contains(&format!(":{INTRUDER_ACCOUNT}:")))
                || p["sub"] == "system:serviceaccount:evil:intruder")
    })
}

/// principalmapper's verdicts for the probes of a corpus entry, against `doc`.
fn judge(world: &World, role: &str, doc: &Value, probes: &Value) -> Vec<(String, bool, bool)> {
    let host = world.issuer_host_path();
    let provider = format!("arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{host}");
    let cases: Vec<Value> = probes
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = format!("{i}");
            if let Some(sub) = p["sub"].as_str() {
                json!({"name": name, "action": "sts:AssumeRoleWithWebIdentity",
                    "principal": {"federated": provider},
                    "conditions": {format!("{host}:sub"): sub, format!("{host}:aud"): p["aud"]}})
            } else if let Some(service) = p["service"].as_str() {
                json!({"name": name, "action": p["action"], "principal": {"federated": service}, "conditions": p["conditions"]})
            } else {
                json!({"name": name, "action": p["action"], "principal": {"aws": p["aws"]}, "conditions": p["conditions"]})
            }
        })
        .collect();
    let verdicts = world.evaluate(
        "trust_check.py",
        doc,
        &json!({"resource": role, "cases": cases}),
    );
    verdicts
        .into_iter()
        .zip(probes.as_array().unwrap())
        .map(|((name, allowed), p)| (name, allowed, p["admitted"] == true))
        .collect()
}

#[test]
fn each_claim_and_each_fixed_document_holds_under_an_iam_evaluator_that_is_not_ours() {
    let world = World::new();
    let corpus = corpus(&world);
    seed(&world, &corpus);
    annotate_users(&world, &corpus);
    let report = audit_json(&world, &["--context", CONTEXT]);
    assert_eq!(world.writes(), Vec::<String>::new(), "audit writes nothing");
    let by_arn = ids_by_arn(&report);
    let mut judged = 0;
    let mut anyone_judged = 0;
    for d in corpus["documents"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let arn = role_arn(name);
        // With the cluster: the cluster-side findings too.
        let got: Vec<String> = by_arn
            .get(&arn)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|id| id != "service-account-missing")
            .collect();
        let mut want = [strings(&d["expect"]), strings(&d["cluster_expect"])].concat();
        want.sort();
        assert_eq!(got, want, "{name}");
        if strings(&d["expect"])
            .iter()
            .any(|id| id == "principal-anyone")
            && d["probes"].is_array()
        {
            assert!(
                admits_an_intruder(d),
                "{name}: principal-anyone's claim is judged by an intruder being admitted"
            );
            anyone_judged += 1;
        }
        if d["probes"].is_array() {
            for (case, allowed, claimed) in judge(&world, &arn, &d["trust"], &d["probes"]) {
                assert_eq!(
                    allowed,
                    claimed,
                    "{name}: probe {case} of the live trust: {}",
                    d["probes"][case.parse::<usize>().unwrap()]
                );
                judged += 1;
            }
        }
        // Every fixed document the audit prints is judged, not only some.
        let has_fix = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["arn"] == arn.as_str() && f["fix"]["document"].is_object());
        assert_eq!(
            has_fix,
            d["fixed_probes"].is_array(),
            "{name}: a fixed document is printed exactly when the corpus has fixed_probes for it"
        );
        if d["fixed_probes"].is_array() {
            let fixed = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["arn"] == arn.as_str() && f["fix"]["document"].is_object())
                .map(|f| f["fix"]["document"].clone())
                .unwrap_or_else(|| {
                    panic!(
                        "{name}: no fixed document: {:?}",
                        report["findings"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|f| f["arn"] == arn.as_str())
                            .collect::<Vec<_>>()
                    )
                });
            for (case, allowed, claimed) in judge(&world, &arn, &fixed, &d["fixed_probes"]) {
                assert_eq!(
                    allowed, claimed,
                    "{name}: probe {case} of the fixed document {fixed}"
                );
                judged += 1;
            }
        }
    }
    assert!(judged >= 60, "{judged} verdicts");
    // Every principal-anyone document but the Federated wildcard, which
    // principalmapper matches literally and so cannot judge.
    assert!(
        anyone_judged >= 7,
        "{anyone_judged} principal-anyone documents judged"
    );
    // A literal subject naming no ServiceAccount of the cluster: low, and said.
    let missing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["arn"] == role_arn("clean-tool-trust").as_str())
        .expect("the cluster has no ai-pods/km");
    assert_eq!(missing["id"], "service-account-missing");
    assert_eq!(missing["severity"], "low");
    assert_contains!(
        missing["who"].as_str().unwrap(),
        "ServiceAccount ai-pods/km"
    );
}

/// A role's trust, replaced as `aws iam update-assume-role-policy` would.
fn set_trust(world: &World, role: &str, doc: &Value) {
    world
        .block_on(
            world
                .klanker
                .iam
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(doc.to_string())
                .send(),
        )
        .expect("update trust");
}

/// `kubectl klanker-trust add ...` as a fix prints it, run with --yes.
fn run_fix_command(world: &World, command: &str) -> crate::support::Outcome {
    let words: Vec<String> = command
        .strip_prefix("kubectl klanker-trust ")
        .expect("a kubectl klanker-trust command")
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
    args.push("--yes");
    world.run(&args)
}

#[test]
fn what_add_writes_audits_clean_and_a_hand_widened_trust_is_drift_fixed_by_the_printed_add() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    world.clear_calls();
    let config = std::fs::read(world.km_config()).expect("km-config.yaml");
    let out = world.run(&["audit", "--context", CONTEXT]);
    out.assert_ok();
    assert_contains!(out.stdout, "No findings.");
    // It writes nothing, anywhere: not IAM, not the cluster, not km-config.yaml.
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(
        std::fs::read(world.km_config()).expect("km-config.yaml"),
        config
    );

    // Someone drops the `sub` condition by hand.
    let host = world.issuer_host_path();
    let mut trust = world
        .block_on(world.klanker.role(crate::support::ROLE))
        .unwrap()
        .trust_policy;
    trust["Statement"][0]["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove(&format!("{host}:sub"));
    set_trust(&world, crate::support::ROLE, &trust);
    let report = audit_json(&world, &["--context", CONTEXT]);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["web-identity-no-sub", "drift"], "{report:#}");
    let command = report["findings"][1]["fix"]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        command,
        "kubectl klanker-trust add --name dev-use1-0 --mode mirror --namespace 'ai-pods' --service-account 'km'"
    );
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(
            f["fix"]["command"],
            command.as_str(),
            "an owned role's fix is the add command"
        );
    }

    // --fail-on gates CI; without it the audit exits 0 whatever it found.
    let gated = world.run(&["audit", "--fail-on", "high"]);
    gated.assert_code(1);
    assert_contains!(
        gated.stderr,
        "2 findings at or above `high` (--fail-on high)"
    );
    assert_contains!(gated.stdout, "web-identity-no-sub");
    world
        .run(&["audit", "--fail-on", "critical"])
        .assert_code(1);
    world.run(&["audit"]).assert_ok();

    // The printed command converges, and the audit is clean again.
    run_fix_command(&world, &command).assert_ok();
    let after = world.run(&["audit", "--context", CONTEXT, "--fail-on", "info"]);
    after.assert_ok();
    assert_contains!(after.stdout, "No findings.");
}

#[test]
fn fix_doc_prints_a_document_that_cuts_the_intruder_and_keeps_the_user() {
    let world = World::new();
    let host = world.issuer_host_path();
    let provider = world.block_on(
        world
            .klanker
            .create_provider(&world.issuer, &["sts.amazonaws.com"]),
    );
    let open = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {format!("{host}:sub"): "system:serviceaccount:*"}},
    }]});
    world
        .block_on(
            world
                .klanker
                .iam
                .create_role()
                .role_name("vendor-role")
                .assume_role_policy_document(open.to_string())
                .send(),
        )
        .expect("create role");
    let arn = format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/vendor-role");
    world.kube.put_service_account(
        "ai-pods",
        json!({"metadata": {"name": "vendor", "annotations": {ROLE_ARN_ANNOTATION: arn}}}),
    );
    world.clear_calls();

    // Text: one line per finding within 100 columns, worst first, totals.
    let text = world.run(&["audit", "--context", CONTEXT]);
    text.assert_ok();
    for line in text.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line:?}");
    }
    let critical = text.stdout.find("sub-wildcard").expect("sub-wildcard line");
    let medium = text.stdout.find("aud-unbound").expect("aud-unbound line");
    assert!(critical < medium, "{}", text.stdout);
    assert_contains!(
        text.stdout,
        "Total: 0 critical, 1 high, 1 medium, 0 low, 0 info (2 findings)."
    );
    let wide = world.run(&["audit", "--context", CONTEXT, "-o", "wide"]);
    assert_contains!(wide.stdout, arn.as_str());
    assert_contains!(wide.stdout, "--fix-doc");
    let yaml = world.run(&["audit", "-o", "yaml"]);
    let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml.stdout).expect("YAML");
    assert_eq!(parsed["findings"][0]["id"], "sub-wildcard");
    let as_json: Value = serde_yaml::from_str(&yaml.stdout).expect("YAML as JSON values");
    assert_documented_shape(&as_json);

    // --fail-on gates on the worst finding only: high and medium pass a
    // critical gate (the report still printed), and fail a high one.
    let below = world.run(&["audit", "--fail-on", "critical"]);
    below.assert_ok();
    assert_contains!(below.stdout, "sub-wildcard");
    world.run(&["audit", "--fail-on", "high"]).assert_code(1);
    let medium = world.run(&["audit", "--fail-on", "medium", "-o", "json"]);
    medium.assert_code(1);
    assert_contains!(medium.stderr, "2 findings at or above `medium`");
    let low = world.run(&["audit", "--fail-on", "low"]);
    low.assert_code(1);

    // Without the cluster nobody can know whom the wildcard was for.
    let unknown = world.run(&["audit", "--fix-doc", "vendor-role"]);
    unknown.assert_code(1);
    assert_contains!(unknown.stderr, "--context");

    let out = world.run(&["audit", "--context", CONTEXT, "--fix-doc", "vendor-role"]);
    out.assert_ok();
    let fixed: Value = serde_json::from_str(&out.stdout).expect("the document alone");
    let verdicts = judge(
        &world,
        &arn,
        &fixed,
        &json!([
            {"sub": "system:serviceaccount:ai-pods:vendor", "aud": "sts.amazonaws.com", "admitted": true},
            {"sub": "system:serviceaccount:ai-pods:km", "aud": "sts.amazonaws.com", "admitted": false},
            {"sub": "system:serviceaccount:ai-pods:vendor", "aud": "vault", "admitted": false},
        ]),
    );
    for (case, allowed, claimed) in verdicts {
        assert_eq!(allowed, claimed, "case {case}: {fixed}");
    }
    // Applied as printed, the role audits clean; the tool itself changed nothing.
    assert_eq!(
        world
            .writes()
            .iter()
            .filter(|w| w.starts_with("iam:"))
            .count(),
        0
    );
    set_trust(&world, "vendor-role", &fixed);
    let clean = world.run(&["audit", "--context", CONTEXT, "--fail-on", "info"]);
    clean.assert_ok();
    assert_contains!(clean.stdout, "No findings.");
    let nothing = world.run(&["audit", "--fix-doc", "vendor-role"]);
    nothing.assert_code(1);
    assert_contains!(nothing.stderr, "nothing to tighten");
}

#[test]
fn a_denied_list_roles_is_exit_1_naming_the_permission_and_the_policy_to_grant() {
    let world = World::new();
    world.moto.inject(json!([{"action": "ListRoles", "fault": "error", "status": 403,
        "code": "AccessDenied", "message": "User is not authorized to perform: iam:ListRoles", "count": 10}]));
    let out = world.run(&["audit"]);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert_contains!(
        out.stderr,
        "iam:ListRoles was denied for profile `klanker-application` (account 333333333333)"
    );
    assert_contains!(out.stderr, "kubectl klanker-trust policy --for audit");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn policy_for_audit_allows_every_call_an_audit_makes_and_no_write() {
    let world = World::new();
    // An onboarding (its role is read with GetRole) and a trusted provider.
    world.add(&["--yes"]).assert_ok();
    let printed = world.run(&["policy", "--for", "audit", "-o", "json"]);
    printed.assert_ok();
    let policy: Value = serde_json::from_str(&printed.stdout).expect("policy JSON");
    let text = world.run(&["policy", "--for", "audit"]);
    assert_contains!(text.stdout, "# audit: read-only IAM policy");
    world.clear_calls();
    world.run(&["audit", "--context", CONTEXT]).assert_ok();
    let calls = world.moto.calls();
    assert!(calls.iter().any(|c| c.action == "GetRole"), "{calls:?}");
    let mut cases: Vec<Value> = calls
        .iter()
        .filter(|c| c.service == "iam")
        .map(|c| {
            let resource = match c.action.as_str() {
                "GetOpenIDConnectProvider" => c.params["OpenIDConnectProviderArn"].clone(),
                "GetRole" => format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/{}", c.params["RoleName"]),
                _ => "*".to_string(),
            };
            json!({"name": format!("iam:{}", c.action), "action": format!("iam:{}", c.action), "resource": resource, "allowed": true})
        })
        .collect();
    assert!(cases.len() >= 4, "{calls:?}");
    // And nothing that writes.
    for write in [
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteOpenIDConnectProvider",
        "iam:TagRole",
    ] {
        cases.push(json!({"name": write, "action": write, "resource": format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/{}", crate::support::ROLE), "allowed": false}));
    }
    let request = json!({
        "principal": format!("arn:aws:iam::{KLANKER_ACCOUNT}:role/auditor"),
        "cases": cases.iter().map(|c| json!({"name": c["name"], "action": c["action"], "resource": c["resource"], "conditions": {}})).collect::<Vec<_>>(),
    });
    let verdicts = world.evaluate("policy_check.py", &policy, &request);
    assert_eq!(verdicts.len(), cases.len());
    for ((name, allowed), case) in verdicts.iter().zip(&cases) {
        assert_eq!(
            *allowed,
            case["allowed"] == true,
            "{name} on {}: {policy:#}",
            case["resource"]
        );
    }
}

/// The issue's size: 1,000 roles, 200 of them web-identity roles over 10
/// providers, and 100 providers in all. The reads stay a handful: one
/// ListRoles page, one provider list, GetOpenIDConnectProvider for the 10
/// trusted providers only, no call per role; about 15 AWS calls in all,
/// credentials included. (Wall time at 50 ms per request is scripts/bench's.)
#[test]
fn a_thousand_roles_and_a_hundred_providers_are_audited_in_about_fifteen_calls() {
    use futures::stream::{self, StreamExt};
    let world = World::new();
    let host = |i: usize| format!("oidc.eks.us-east-1.amazonaws.com/id/SCALE{i:04}");
    let existing = world.block_on(async {
        let roles = world
            .klanker
            .iam
            .list_roles()
            .send()
            .await
            .expect("list roles");
        roles.roles().len()
    });
    let creates: Vec<(String, Value)> = (0..1000 - existing)
        .map(|n| match n < 200 {
            // Half as `add` writes it, half with no `sub`.
            true => {
                let h = host(n % 10);
                let mut condition = json!({format!("{h}:aud"): "sts.amazonaws.com"});
                if n % 2 == 0 {
                    condition[format!("{h}:sub")] = json!(format!("system:serviceaccount:team:app-{n}"));
                }
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{KLANKER_ACCOUNT}:oidc-provider/{h}")},
                    "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": condition}}]});
                (format!("irsa-{n:04}"), trust)
            }
            false => (
                format!("app-{n:04}"),
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            ),
        })
        .collect();
    let klanker = &world.klanker;
    world.block_on(async {
        stream::iter(0..100)
            .for_each_concurrent(8, |i| {
                let url = format!("https://{}", host(i));
                async move {
                    klanker.create_provider(&url, &["sts.amazonaws.com"]).await;
                }
            })
            .await;
        stream::iter(&creates)
            .for_each_concurrent(8, |(name, trust)| async move {
                klanker
                    .iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust.to_string())
                    .send()
                    .await
                    .expect("create role");
            })
            .await;
    });
    world.clear_calls();

    let out = world.run(&["audit", "-o", "json"]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["accounts"][0]["roles"], 1000);
    assert_eq!(report["accounts"][0]["providers"], 100);
    let ids = |id: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == id)
            .count()
    };
    assert_eq!(ids("web-identity-no-sub"), 100);
    assert_eq!(ids("provider-unused"), 90);

    let calls = world.moto.calls();
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("ListRoles"), 1, "1,000 roles are one page");
    assert_eq!(count("ListOpenIDConnectProviders"), 1);
    assert_eq!(
        count("GetOpenIDConnectProvider"),
        10,
        "the trusted ones only"
    );
    assert_eq!(count("GetRole"), 0);
    // The applied provider quota, read beside the lists; no trust is near
    // even the default trust-length quota, so that one is not read.
    assert_eq!(count("GetServiceQuota"), 1);
    assert!(
        calls.len() <= 15,
        "{} AWS calls: {:?}",
        calls.len(),
        calls.iter().map(|c| &c.action).collect::<Vec<_>>()
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Two profiles of one account audit it once, and a refused read after the
/// role list (a trusted provider's client IDs) is exit 1 naming that
/// permission, as a refused ListRoles is.
#[test]
fn two_profiles_of_one_account_audit_it_once_and_a_denied_provider_read_is_named() {
    let world = World::new();
    world.add(&["--yes"]).assert_ok();
    let config = world.path("aws-config");
    let mut text = std::fs::read_to_string(&config).expect("aws config");
    text.push_str(&format!(
        "\n[profile klanker-again]\nrole_arn = arn:aws:iam::{KLANKER_ACCOUNT}:role/klanker-operator\nsource_profile = base\nregion = us-east-1\n"
    ));
    std::fs::write(&config, text).expect("aws config");
    let out = world.run(&[
        "audit",
        "-o",
        "json",
        "--aws-profile",
        "klanker-application",
        "--aws-profile",
        "klanker-again",
    ]);
    out.assert_ok();
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        report["accounts"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert_eq!(report["accounts"][0]["account"], KLANKER_ACCOUNT);
    assert_eq!(report["findings"], json!([]), "what add wrote is clean");

    world.moto.inject(json!([{"action": "GetOpenIDConnectProvider", "fault": "error", "status": 403,
        "code": "AccessDenied", "message": "User is not authorized to perform: iam:GetOpenIDConnectProvider", "count": 10}]));
    let denied = world.run(&["audit"]);
    denied.assert_code(1);
    assert_eq!(denied.stdout, "");
    assert_contains!(
        denied.stderr,
        "iam:GetOpenIDConnectProvider was denied for profile `klanker-application`"
    );
    assert_contains!(denied.stderr, "kubectl klanker-trust policy --for audit");
}

/// GetOpenIDConnectProvider runs at most 8 at a time (`PROVIDER_READS`),
/// shown without timing: 20 trusted providers, every read held at the peer
/// until the test releases it. No held read is answered, so a bounded
/// client sends exactly 8 and waits; an unbounded one sends more, which
/// the peer records as arriving with more than 8 in flight.
#[test]
fn provider_reads_are_held_to_eight_in_flight_at_once() {
    const READ: &str = "GetOpenIDConnectProvider";
    let world = World::new();
    world.block_on(async {
        for i in 0..20 {
            let host = format!("oidc.eks.us-east-1.amazonaws.com/id/BOUND{i:02}");
            let provider = world
                .klanker
                .create_provider(&format!("https://{host}"), &["sts.amazonaws.com"])
                .await;
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{host}:sub"): "system:serviceaccount:ns:sa",
                    format!("{host}:aud"): "sts.amazonaws.com"}}}]});
            world
                .klanker
                .iam
                .create_role()
                .role_name(format!("bound-{i:02}"))
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .expect("create role");
        }
    });
    world.clear_calls();
    let hang = crate::support::moto::Hang::new(world.dir.path(), "provider-reads");
    // Every read held (not only the first), far longer than the test takes.
    world
        .moto
        .inject(json!([{"action": READ, "fault": "hang", "count": 1000,
        "seconds": 600, "arrived": hang.arrived, "release": hang.release}]));
    // A held read must not time out and be sent again: that would be a 9th arrival.
    let child = world.spawn(&["audit", "-o", "json", "--request-timeout", "10m"]);
    let arrived = world.moto.wait_calls(READ, 8);
    let held_peak = world.moto.peak_in_flight(READ);
    // Released before asserting, so a failure leaves no plugin waiting.
    hang.release();
    let out = child.wait_with_output().expect("audit ends");
    assert_eq!(
        arrived, 8,
        "no read is answered while held, so a 9th means more than 8 at once"
    );
    assert_eq!(held_peak, 8, "the 8 arrived overlapping");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["accounts"][0]["providers"], 20);
    assert_eq!(
        world
            .moto
            .calls()
            .iter()
            .filter(|c| c.action == READ)
            .count(),
        20,
        "each trusted provider read once"
    );
    assert_eq!(
        world.moto.peak_in_flight(READ),
        8,
        "never more than 8 at once after the release either"
    );
}

#[test]
fn findings_are_measured_against_each_accounts_applied_quotas_unless_a_flag_says() {
    let world = World::new();
    world.set_applied_quota(KLANKER_ACCOUNT, "L-858F3967", 250);
    let report = audit_json(&world, &[]);
    let account = &report["accounts"][0];
    assert_eq!(account["provider_quota"], 250);
    let sources = strings(&account["quota_sources"]);
    assert!(
        sources.contains(&"OIDC providers: quota 250 (applied)".to_string()),
        "{sources:?}"
    );
    // No trust near even the default: the trust-length quota is not read.
    assert!(
        sources
            .contains(&"trust policy length: 2048 (the default: no trust is near it)".to_string()),
        "{sources:?}"
    );
    let report = audit_json(&world, &["--provider-quota", "7"]);
    assert_eq!(report["accounts"][0]["provider_quota"], 7);
    assert!(
        strings(&report["accounts"][0]["quota_sources"])
            .contains(&"OIDC providers: 7 (--provider-quota)".to_string()),
        "{report}"
    );
    // A refused read is no failure: the default, with why.
    world.moto.inject(
        json!([{"action": "GetServiceQuota", "fault": "error", "status": 400,
        "code": "AccessDeniedException", "message": "denied", "count": 10}]),
    );
    let out = world.run(&["audit"]);
    out.assert_ok();
    assert_contains!(
        out.stdout,
        "quotas: OIDC providers: quota 100 (the default:"
    );
}
