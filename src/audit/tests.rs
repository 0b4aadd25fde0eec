//! The corpus (tests/fixtures/audit/corpus.json): each hand-made document
//! reports exactly what it is tagged with; the fixed documents audit clean.
//! And the property: every trust this tool writes, in every mode, audits clean.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::inventory::RoleSummary;
use crate::trust::{TrustScope, chain, policy};

const CORPUS: &str = include_str!("../../tests/fixtures/audit/corpus.json");
const KLANKER: &str = "333333333333";
const WORKLOAD: &str = "222222222222";

fn corpus() -> Value {
    serde_json::from_str(CORPUS).expect("corpus JSON")
}

fn role(account: &str, name: &str, trust: Value) -> RoleSummary {
    RoleSummary {
        role_name: name.to_string(),
        arn: format!("arn:aws:iam::{account}:role/{name}"),
        description: String::new(),
        trust_policy: trust,
    }
}

fn account(id: &str, roles: Vec<RoleSummary>, providers: Vec<Provider>) -> AccountScan {
    AccountScan {
        profile: format!("profile-{id}"),
        account: id.to_string(),
        partition: "aws".into(),
        roles,
        providers,
        tagged: Vec::new(),
        limits: None,
        quota_sources: Vec::new(),
    }
}

fn provider_arn(account: &str, url: &str) -> String {
    format!(
        "arn:aws:iam::{account}:oidc-provider/{}",
        url.trim_start_matches("https://")
    )
}

/// The corpus as one account, beside a workload account holding an IRSA role.
pub(crate) fn corpus_scan(with_cluster: bool) -> Scan {
    let c = corpus();
    let roles = c["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            role(
                KLANKER,
                &format!("corpus-{}", d["name"].as_str().unwrap()),
                d["trust"].clone(),
            )
        })
        .collect();
    let providers = c["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Provider {
            arn: provider_arn(KLANKER, p["url"].as_str().unwrap()),
            client_ids: Some(
                p["client_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect(),
            ),
        })
        .collect();
    let issuer =
        Issuer::parse("https://oidc.eks.us-east-1.amazonaws.com/id/WORKLOAD", "x").unwrap();
    let workload_provider = issuer.provider_arn("aws", WORKLOAD);
    let irsa = role(
        WORKLOAD,
        "irsa",
        policy::trust_policy(&workload_provider, &issuer, &TrustScope::new("ns", "sa")),
    );
    let cluster = with_cluster.then(|| ClusterScan {
        context: "corpus".into(),
        issuer: Issuer::parse(c["issuer"].as_str().unwrap(), "x").unwrap(),
        service_accounts: users(&c),
    });
    Scan {
        accounts: vec![
            account(KLANKER, roles, providers),
            account(
                WORKLOAD,
                vec![irsa],
                vec![Provider {
                    arn: workload_provider,
                    client_ids: Some(vec![STS.into()]),
                }],
            ),
        ],
        cluster,
        ..Scan::default()
    }
}

const STS: &str = crate::trust::STS_AUDIENCE;

fn users(c: &Value) -> Vec<ServiceAccount> {
    c["documents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            let arn = format!(
                "arn:aws:iam::{KLANKER}:role/corpus-{}",
                d["name"].as_str().unwrap()
            );
            d["users"].as_array().into_iter().flatten().map(move |u| {
                let (ns, name) = u.as_str().unwrap().split_once(':').unwrap();
                ServiceAccount {
                    namespace: ns.into(),
                    name: name.into(),
                    role_arn: Some(arn.clone()),
                }
            })
        })
        .collect()
}

fn ids_by_arn(report: &Report, skip_cluster: bool) -> BTreeMap<String, Vec<&'static str>> {
    let mut out: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for f in &report.findings {
        let cluster_side = matches!(
            f.id,
            FindingId::ServiceAccountMissing | FindingId::ServiceAccountNotAdmitted
        );
        if skip_cluster && cluster_side {
            continue;
        }
        out.entry(f.arn.clone()).or_default().push(f.id.as_str());
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

fn expected(d: &Value, key: &str) -> Vec<String> {
    d[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_corpus_has_thirty_documents_and_covers_every_trust_finding() {
    let c = corpus();
    let docs = c["documents"].as_array().unwrap();
    assert!(docs.len() >= 30, "{}", docs.len());
    let tagged: BTreeSet<String> = docs
        .iter()
        .flat_map(|d| [expected(d, "expect"), expected(d, "cluster_expect")].concat())
        .chain(
            c["provider_expect"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|v| {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                }),
        )
        .collect();
    // Every kind but those a corpus document cannot show: drift needs a
    // role the tool owns, a missing ServiceAccount is reported beside most
    // documents (both have tests of their own below).
    let elsewhere = [FindingId::Drift, FindingId::ServiceAccountMissing];
    for id in FindingId::ALL
        .into_iter()
        .filter(|id| !elsewhere.contains(id))
    {
        assert!(
            tagged.contains(id.as_str()),
            "no corpus document is tagged {}",
            id.as_str()
        );
    }
    let clean = docs
        .iter()
        .filter(|d| expected(d, "expect").is_empty())
        .count();
    assert!(clean >= 10, "{clean} clean look-alikes");
}

/// Issue 25's list: each kind's stable ID, its severity (cross-account-root
/// may be lowered, see the corpus) and whether it marks the trust broken.
#[test]
fn every_finding_kind_keeps_its_stable_id_severity_and_broken_marker() {
    let want = [
        ("web-identity-no-sub", "critical", false),
        ("sub-wildcard", "high", false),
        ("sub-namespace-wildcard", "medium", false),
        ("aud-unbound", "medium", false),
        ("string-equals-wildcard", "high", true),
        ("condition-other-issuer", "high", true),
        ("provider-missing", "medium", true),
        ("provider-no-sts-client-id", "high", true),
        ("provider-unused", "info", false),
        ("pod-identity-unbound", "medium", false),
        ("cross-account-root", "high", false),
        ("tag-session-missing", "high", true),
        ("trust-near-quota", "low", false),
        ("service-account-not-admitted", "high", true),
        ("service-account-missing", "low", false),
        ("drift", "high", false),
        ("principal-anyone", "critical", false),
    ];
    let got: Vec<(&str, &str, bool)> = FindingId::ALL
        .iter()
        .map(|id| (id.as_str(), id.severity().as_str(), id.broken()))
        .collect();
    assert_eq!(got, want);
    // JSON and YAML carry the same ID the text shows.
    for id in FindingId::ALL {
        assert_eq!(serde_json::to_value(id).unwrap(), json!(id.as_str()));
        let severity = id.severity();
        assert_eq!(
            serde_json::to_value(severity).unwrap(),
            json!(severity.as_str())
        );
    }
}

/// docs/commands/audit.md's table names every kind with the severity and
/// the broken marker the code gives it.
#[test]
fn the_documented_table_lists_every_kind_as_the_code_reports_it() {
    let docs = include_str!("../../docs/commands/audit.md");
    for id in FindingId::ALL {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", id.as_str())))
            .unwrap_or_else(|| panic!("docs/commands/audit.md has no row for {}", id.as_str()));
        let severity = row.split('|').nth(2).unwrap_or_default().trim();
        assert!(
            severity.starts_with(id.severity().as_str()),
            "{}: documented {severity:?}",
            id.as_str()
        );
        assert_eq!(severity.contains("broken"), id.broken(), "{}", id.as_str());
    }
}

#[test]
fn each_corpus_document_reports_exactly_what_it_is_tagged_with() {
    let c = corpus();
    for with_cluster in [false, true] {
        let report = analyze(&corpus_scan(with_cluster));
        let by_arn = ids_by_arn(&report, false);
        for d in c["documents"].as_array().unwrap() {
            let arn = format!(
                "arn:aws:iam::{KLANKER}:role/corpus-{}",
                d["name"].as_str().unwrap()
            );
            let mut want = expected(d, "expect");
            if with_cluster {
                want.extend(expected(d, "cluster_expect"));
                want.sort();
            }
            let got: Vec<String> = by_arn
                .get(&arn)
                .map(|ids| ids.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
            // With a cluster, literal subjects naming no ServiceAccount are reported too.
            let got: Vec<String> = got
                .into_iter()
                .filter(|id| !(with_cluster && id == "service-account-missing"))
                .collect();
            assert_eq!(
                got, want,
                "{} (cluster: {with_cluster}): {}",
                d["name"], d["why"]
            );
            if let Some(severities) = d["severities"].as_object() {
                for (id, severity) in severities {
                    let f = report
                        .findings
                        .iter()
                        .find(|f| f.arn == arn && f.id.as_str() == id)
                        .unwrap();
                    assert_eq!(f.severity.as_str(), severity, "{}", d["name"]);
                }
            }
        }
        for (arn, ids) in c["provider_expect"].as_object().unwrap() {
            let got = by_arn.get(arn).cloned().unwrap_or_default();
            assert_eq!(got, expected(&json!({"e": ids}), "e"), "{arn}");
        }
        // Nothing else: the workload account's own IRSA role is clean.
        let known: usize = c["documents"].as_array().unwrap().len() + 2;
        assert!(by_arn.len() <= known, "{by_arn:?}");
        assert!(!by_arn.keys().any(|a| a.contains(WORKLOAD)), "{by_arn:?}");
    }
}

/// Findings a document cannot fix (they are about the provider, the
/// quota, or need a name only the owner knows).
const NOT_FIXED_BY_A_DOCUMENT: [FindingId; 3] = [
    FindingId::TrustNearQuota,
    FindingId::CrossAccountRoot,
    FindingId::ServiceAccountNotAdmitted,
];

#[test]
fn the_fixed_documents_audit_clean_and_keep_who_used_the_role() {
    let mut scan = corpus_scan(true);
    let report = analyze(&scan);
    let mut fixed = BTreeSet::new();
    for r in scan.accounts[0].roles.iter_mut() {
        let Some(doc) = report
            .findings
            .iter()
            .find(|f| f.arn == r.arn && f.fix.document.is_some())
            .and_then(|f| f.fix.document.clone())
        else {
            continue;
        };
        r.trust_policy = doc;
        fixed.insert(r.arn.clone());
    }
    assert!(fixed.len() >= 15, "{} fixed documents", fixed.len());
    let again = analyze(&scan);
    let left: Vec<_> = again
        .findings
        .iter()
        .filter(|f| fixed.contains(&f.arn) && !NOT_FIXED_BY_A_DOCUMENT.contains(&f.id))
        .filter(|f| f.id != FindingId::ServiceAccountMissing)
        .map(|f| (f.arn.as_str(), f.id.as_str()))
        .collect();
    // A dropped statement of a lost provider leaves the role with only what works.
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_wildcard_without_the_cluster_has_no_document_and_says_why() {
    let report = analyze(&corpus_scan(false));
    let f = report
        .findings
        .iter()
        .find(|f| f.arn.ends_with("corpus-sub-all-serviceaccounts"))
        .unwrap();
    assert!(f.fix.document.is_none());
    assert!(f.fix.text.contains("--context"), "{}", f.fix.text);
    let with = analyze(&corpus_scan(true));
    let f = with
        .findings
        .iter()
        .find(|f| f.arn.ends_with("corpus-sub-all-serviceaccounts"))
        .unwrap();
    let doc = f.fix.document.as_ref().unwrap();
    let sub = doc.pointer(
        "/Statement/0/Condition/StringEquals/oidc.eks.us-east-1.amazonaws.com~1id~1CORPUS:sub",
    );
    assert_eq!(
        sub,
        Some(&json!([
            "system:serviceaccount:u-sub-all-serviceaccounts:km",
            "system:serviceaccount:ci:deployer"
        ])),
        "{doc}"
    );
    assert!(
        f.fix
            .diff
            .iter()
            .any(|l| l.starts_with('-') && l.contains("system:serviceaccount:*"))
    );
}

#[test]
fn fix_doc_finds_a_role_by_name_or_arn_and_refuses_a_clean_one() {
    let scan = corpus_scan(true);
    let doc = fix_document(&scan, "corpus-no-sub").unwrap();
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/CORPUS:sub"],
        "system:serviceaccount:u-no-sub:km"
    );
    let arn = format!("arn:aws:iam::{KLANKER}:role/corpus-no-sub");
    assert_eq!(fix_document(&scan, &arn).unwrap(), doc);
    assert!(matches!(
        fix_document(&scan, "corpus-clean-tool-trust"),
        Err(AuditError::NothingToFix { .. })
    ));
    assert!(matches!(
        fix_document(&scan, "nope"),
        Err(AuditError::NoSuchRole { .. })
    ));
    assert!(matches!(
        fix_document(&scan, "corpus-cross-account-root"),
        Err(AuditError::CannotTighten { .. })
    ));
    // Its IRSA statement alone could be tightened; kept, the wildcard beside
    // it would still let anyone in, and dropped, lock out whom it was for.
    match fix_document(&scan, "corpus-anyone-beside-no-sub") {
        Err(AuditError::CannotTighten { why, .. }) => {
            assert!(why.contains("statement 1 lets anyone in"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

/// A clean trust has nothing to tighten, with or without the cluster: no
/// finding of it carries a document (a missing ServiceAccount is fixed by
/// dropping the subject, which a rewrite keeping it does not do), and
/// --fix-doc refuses it rather than print a rewrite of a clean trust.
#[test]
fn a_clean_look_alike_gets_no_fixed_document_even_beside_a_missing_service_account() {
    let c = corpus();
    let scan = corpus_scan(true);
    let report = analyze(&scan);
    for d in c["documents"].as_array().unwrap() {
        if !expected(d, "expect").is_empty() || !expected(d, "cluster_expect").is_empty() {
            continue;
        }
        let name = format!("corpus-{}", d["name"].as_str().unwrap());
        let with_document: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.role.as_deref() == Some(name.as_str()) && f.fix.document.is_some())
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(with_document, Vec::<&str>::new(), "{name}");
        assert!(
            matches!(
                fix_document(&scan, &name),
                Err(AuditError::NothingToFix { .. })
            ),
            "{name}: {:?}",
            fix_document(&scan, &name)
        );
    }
}

#[test]
fn the_report_sorts_worst_first_and_counts_each_severity() {
    let report = analyze(&corpus_scan(false));
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
    let totals = report.totals();
    assert_eq!(totals.values().sum::<usize>(), report.findings.len());
    assert_eq!(totals.len(), 5);
    assert_eq!(report.at_or_above(Severity::Info), report.findings.len());
    assert_eq!(
        report.at_or_above(Severity::Critical),
        totals[&Severity::Critical]
    );
    assert_eq!(report.accounts[0].providers, 3);
    assert_eq!(report.accounts[1].workload_identity_roles, 1);
}

// ---- drift and the cluster side

fn owned_scan(live: Value, entry: bool) -> Scan {
    let issuer = Issuer::parse("https://oidc.example.com/id/DEV", "x").unwrap();
    let provider = issuer.provider_arn("aws", KLANKER);
    let scopes = [
        TrustScope::new("ai-pods", "km"),
        TrustScope::new("ci", "deployer"),
    ];
    let trust = if live.is_null() {
        policy::trust_policy_for(&provider, &issuer, &scopes)
    } else {
        live
    };
    let mut summary = role(KLANKER, "km-cluster-dev", trust);
    summary.description = crate::trust::role_description_for("dev", &scopes, true);
    let tags: crate::inventory::Tags = [
        (
            crate::trust::MANAGED_BY_TAG.to_string(),
            crate::trust::MANAGED_BY_VALUE.to_string(),
        ),
        (crate::trust::NAME_TAG.to_string(), "dev".to_string()),
    ]
    .into();
    let mut scan_account = account(
        KLANKER,
        vec![summary.clone()],
        vec![Provider {
            arn: provider.clone(),
            client_ids: Some(vec![STS.into()]),
        }],
    );
    scan_account.tagged = vec![(summary, tags)];
    let config = entry
        .then(|| crate::store::ClusterEntry {
            name: "dev".into(),
            oidc_provider_arn: provider,
            namespace: "ai-pods".into(),
            service_account: "km".into(),
            role_arn: format!("arn:aws:iam::{KLANKER}:role/km-cluster-dev"),
            service_accounts: vec!["ai-pods:km".into(), "ci:deployer".into()],
            ..Default::default()
        })
        .into_iter()
        .collect();
    Scan {
        accounts: vec![scan_account],
        config,
        ..Scan::default()
    }
}

#[test]
fn an_owned_role_as_written_is_clean_and_widened_by_hand_is_drift_with_the_add_command() {
    for entry in [false, true] {
        let clean = analyze(&owned_scan(Value::Null, entry));
        assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    }
    let widened = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{KLANKER}:oidc-provider/oidc.example.com/id/DEV")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"oidc.example.com/id/DEV:aud": STS}},
    }]});
    let report = analyze(&owned_scan(widened, true));
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["web-identity-no-sub", "drift"]);
    // The role trusts a provider: the default mode's.
    let mode: crate::trust::TrustMode = Default::default();
    for f in &report.findings {
        assert_eq!(
            f.fix.command.as_deref(),
            Some(
                format!("kubectl klanker-trust add --name dev --mode {} --namespace 'ai-pods' --service-account 'km' --service-account 'ci:deployer'", mode.as_str()).as_str()
            ),
            "{f:?}"
        );
    }
    let drift = &report.findings[1];
    assert_eq!(drift.severity, Severity::High);
    assert!(
        drift
            .fix
            .diff
            .iter()
            .any(|l| l.starts_with('+') && l.contains("ci:deployer"))
    );
}

#[test]
fn the_cluster_side_names_refused_annotations_and_missing_service_accounts() {
    let mut scan = owned_scan(Value::Null, true);
    scan.cluster = Some(ClusterScan {
        context: "dev".into(),
        issuer: Issuer::parse("https://oidc.example.com/id/DEV", "x").unwrap(),
        service_accounts: vec![
            ServiceAccount {
                namespace: "ai-pods".into(),
                name: "km".into(),
                role_arn: Some(format!("arn:aws:iam::{KLANKER}:role/km-cluster-dev")),
            },
            ServiceAccount {
                namespace: "other".into(),
                name: "km".into(),
                role_arn: Some(format!("arn:aws:iam::{KLANKER}:role/km-cluster-dev")),
            },
        ],
    });
    let report = analyze(&scan);
    let got: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.who.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "service-account-not-admitted");
    assert!(got[0].1.contains("other/km"), "{got:?}");
    assert_eq!(got[1].0, "service-account-missing");
    assert!(got[1].1.contains("ci/deployer"), "{got:?}");
}

// ---- the property: every trust this tool writes audits clean

// The same property over the planners' outputs, for every mode, is
// plan::mode's (`audit_clean.rs`): the planners sit above this module.

pub(crate) fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,14}[a-z0-9]"
}

pub(crate) fn scopes(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((label(), label()), 1..=max).prop_map(|mut v| {
        v.sort();
        v.dedup();
        v
    })
}

fn issuer() -> impl Strategy<Value = Issuer> {
    ("[a-z]{2}-[a-z]{4,7}-[1-3]", "[A-F0-9]{32}").prop_map(|(region, id)| {
        Issuer::parse(
            &format!("https://oidc.eks.{region}.amazonaws.com/id/{id}"),
            "x",
        )
        .unwrap()
    })
}

/// The roles of one account, with its providers: the report of just them.
fn audit_of(roles: Vec<RoleSummary>, providers: Vec<String>) -> Report {
    let providers = providers
        .into_iter()
        .map(|arn| Provider {
            arn,
            client_ids: Some(vec![STS.into()]),
        })
        .collect();
    analyze(&Scan {
        accounts: vec![account(KLANKER, roles, providers)],
        ..Scan::default()
    })
}

/// A `"*"` principal is narrowed only by a condition every caller must meet
/// and no stranger can meet by naming things in an account of their own.
#[test]
fn a_wildcard_principal_is_pinned_only_by_a_condition_no_stranger_meets() {
    for (condition, reported) in [
        (
            json!({"StringEquals": {"aws:PrincipalAccount": "444444444444"}}),
            false,
        ),
        (json!({"StringEquals": {"sts:ExternalId": "d1b2c3"}}), false),
        (
            json!({"StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
            false,
        ),
        (
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::444444444444:*"}}),
            false,
        ),
        // Any account may hold a number that matches, or an organization.
        (
            json!({"StringLike": {"aws:PrincipalAccount": "4444*"}}),
            true,
        ),
        (
            json!({"StringLike": {"aws:PrincipalOrgPaths": "o-*/*"}}),
            true,
        ),
        (
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci"}}),
            true,
        ),
        // Passes when the caller carries no such key.
        (
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            true,
        ),
        (
            json!({"StringEqualsIfExists": {"sts:ExternalId": "d1b2c3"}}),
            true,
        ),
        // Names no one: tags are the caller's own, a negation admits the rest.
        (
            json!({"StringEquals": {"aws:PrincipalTag/team": "platform"}}),
            true,
        ),
        (
            json!({"StringNotEquals": {"aws:PrincipalAccount": "555555555555"}}),
            true,
        ),
        (json!({"StringLike": {"sts:ExternalId": "*"}}), true),
    ] {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "sts:AssumeRole", "Condition": condition}]});
        let report = audit_of(vec![role(KLANKER, "r", trust)], Vec::new());
        let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        let want: &[&str] = if reported { &["principal-anyone"] } else { &[] };
        assert_eq!(ids, want, "{condition}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A provider's trust, literal ServiceAccounts: `trust_policy_for`'s document audits clean.
    #[test]
    fn every_provider_trust_the_tool_writes_audits_clean(issuer in issuer(), subjects in scopes(12)) {
        let provider = issuer.provider_arn("aws", KLANKER);
        let scopes: Vec<TrustScope> = subjects.iter().map(|(ns, sa)| TrustScope::new(ns, sa)).collect();
        let doc = policy::trust_policy_for(&provider, &issuer, &scopes);
        let report = audit_of(vec![role(KLANKER, "km-cluster-x", doc)], vec![provider]);
        prop_assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    /// The role chain: the klanker role (`klanker_trust_policy`) in the
    /// klanker account and the cluster role (`trust_policy_for`, the
    /// cluster's own provider) in the cluster account both audit clean,
    /// with both accounts audited.
    #[test]
    fn every_role_chain_the_tool_writes_audits_clean(issuer in issuer(), subjects in scopes(12), name in label()) {
        let provider = issuer.provider_arn("aws", WORKLOAD);
        let scopes: Vec<TrustScope> = subjects.iter().map(|(ns, sa)| TrustScope::new(ns, sa)).collect();
        let cluster_role = role(WORKLOAD, &format!("km-irsa-{name}"), policy::trust_policy_for(&provider, &issuer, &scopes));
        let klanker_role = role(KLANKER, &format!("km-cluster-{name}"), chain::klanker_trust_policy("aws", WORKLOAD, &cluster_role.arn));
        let report = analyze(&Scan {
            accounts: vec![
                account(KLANKER, vec![klanker_role], Vec::new()),
                account(WORKLOAD, vec![cluster_role], vec![Provider { arn: provider, client_ids: Some(vec![STS.into()]) }]),
            ],
            ..Scan::default()
        });
        prop_assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    /// The wildcards `add` writes only when asked (`--namespace '*'`, a
    /// name pattern with --allow-wide-trust): exactly the wildcard finding,
    /// nothing else (aud, provider, broken).
    #[test]
    fn a_wildcard_the_tool_was_asked_for_is_exactly_its_wildcard_finding(
        issuer in issuer(), subjects in scopes(4), wild_ns in any::<bool>(), sa in label()
    ) {
        let provider = issuer.provider_arn("aws", KLANKER);
        let mut scopes: Vec<TrustScope> = subjects.iter().map(|(ns, sa)| TrustScope::new(ns, sa)).collect();
        let (wild, id) = match wild_ns {
            true => (TrustScope::new("*", &sa), FindingId::SubNamespaceWildcard),
            false => (TrustScope::new(&sa, &format!("{sa}-*")), FindingId::SubWildcard),
        };
        scopes.push(wild);
        let doc = policy::trust_policy_for(&provider, &issuer, &scopes);
        let report = audit_of(vec![role(KLANKER, "km-cluster-x", doc)], vec![provider]);
        let ids: Vec<FindingId> = report.findings.iter().map(|f| f.id).collect();
        prop_assert_eq!(ids, vec![id]);
    }
}

/// Hostile shapes IAM itself would refuse: a string where a statement
/// belongs, a statement without `Principal`, lists of one. Reading them
/// must neither panic nor lose the findings of the statements beside them,
/// which keep their positions in the document.
#[test]
fn odd_statements_read_as_nothing_and_leave_the_rest_reported_in_place() {
    let provider = provider_arn(KLANKER, "https://oidc.example.com/id/ODD");
    let open = json!({"Effect": "Allow", "Principal": {"Federated": [provider]},
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Condition": {"StringEquals": {"oidc.example.com/id/ODD:aud": ["sts.amazonaws.com"]}}});
    let doc =
        json!({"Statement": ["nonsense", {"Effect": "Allow", "Action": "sts:AssumeRole"}, open]});
    let report = audit_of(vec![role(KLANKER, "odd", doc)], vec![provider.clone()]);
    let no_sub: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.id == FindingId::WebIdentityNoSub)
        .collect();
    assert_eq!(no_sub.len(), 1, "{:?}", report.findings);
    assert_eq!(no_sub[0].statement.as_deref(), Some("statement 2"));
    for doc in [
        json!({"Statement": "nonsense"}),
        json!({"Statement": {"Effect": "Allow"}}),
        json!(null),
    ] {
        let report = audit_of(vec![role(KLANKER, "odd", doc)], vec![provider.clone()]);
        // Only the provider nobody trusts is left to say.
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.id == FindingId::ProviderUnused),
            "{:?}",
            report.findings
        );
    }
}

#[test]
fn a_provider_without_sts_is_broken_only_for_roles_that_expect_sts_tokens() {
    let url = "oidc.example.com/id/VAULT";
    let arn = provider_arn(KLANKER, url);
    let trust = |aud: Option<&str>| {
        let mut conditions = json!({format!("{url}:sub"): "system:serviceaccount:ai-pods:km"});
        if let Some(aud) = aud {
            conditions[format!("{url}:aud")] = json!(aud);
        }
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": conditions}}]})
    };
    let provider = Provider {
        arn: arn.clone(),
        client_ids: Some(vec!["vault.example.com".into()]),
    };
    let flagged = |auds: &[Option<&str>]| {
        let roles = auds
            .iter()
            .enumerate()
            .map(|(i, aud)| role(KLANKER, &format!("r{i}"), trust(*aud)))
            .collect();
        let scan = Scan {
            accounts: vec![account(KLANKER, roles, vec![provider.clone()])],
            ..Scan::default()
        };
        analyze(&scan)
            .findings
            .iter()
            .any(|f| f.id == FindingId::ProviderNoStsClientId && f.arn == arn)
    };
    // Tokens minted for the provider's own audience: STS admits them.
    assert!(!flagged(&[Some("vault.example.com")]));
    // A role that takes STS's audience, or any: nobody gets in through it.
    assert!(flagged(&[Some(STS)]));
    assert!(flagged(&[None]));
    assert!(flagged(&[Some("vault.example.com"), None]));
}
