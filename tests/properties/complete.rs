//! complete.rs: completion words, and AWS profile names read like the SDK
//! reads them.

use std::collections::BTreeSet;

use kubectl_klanker_trust::complete::{self, Sources};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::cases;
use crate::strategies::{short_text, text};

struct FixedSources;

impl Sources for FixedSources {
    fn cluster_names(&self) -> Vec<String> {
        vec!["dev-use1-0".into(), "prod-euw1-0".into(), "x".into()]
    }
    fn contexts(&self) -> Vec<String> {
        vec![
            "kind-dev".into(),
            "arn:aws:eks:us-east-1:222222222222:cluster/x".into(),
        ]
    }
    fn aws_profiles(&self) -> Vec<String> {
        vec!["default".into(), "klanker-application".into()]
    }
}

fn completion_word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&[
            "add", "list", "rm", "verify", "policy", "completion", "version", "help", "r", "a", "",
            "--context", "--aws-profile", "--cluster-profile", "--kubeconfig", "--config", "-o", "--output",
            "-n", "--namespace", "--register-oidc-provider", "--region", "--tag", "--dry-run", "--dry-run=false",
            "-y", "--help", "-h", "-v", "--name", "--context=", "--aws-profile=k", "--output=j", "-", "--",
            "=", "--=", "-é", "--é=x", "-oj", "--context=\n", "dev-use1-0", "bash", "--reg",
        ][..]).prop_map(String::from),
        1 => short_text(),
        1 => text(),
    ]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn completion_never_panics_and_candidates_extend_the_word(words in vec(completion_word(), 0..7)) {
        let got = complete::complete(&words, &FixedSources);
        let partial = words.last().map(String::as_str).unwrap_or_default();
        for candidate in &got.candidates {
            prop_assert!(!candidate.contains(['\n', '\r']), "{candidate:?}");
            prop_assert!(candidate.starts_with(partial), "{candidate:?} for {partial:?}");
        }
        let unique: BTreeSet<&String> = got.candidates.iter().collect();
        prop_assert_eq!(unique.len(), got.candidates.len(), "{:?}", got.candidates);
        prop_assert!([0, 2, 4, 6].contains(&got.directive));
        let rendered = got.render();
        let lines: Vec<&str> = rendered.lines().collect();
        prop_assert_eq!(lines.len(), got.candidates.len() + 1);
        let directive = format!(":{}", got.directive);
        prop_assert_eq!(lines.last().copied(), Some(directive.as_str()));
    }
}

// Profile names for completion are no longer parsed here: LocalSources
// takes them from the SDK's own profile loader (see complete.rs), so the
// properties comparing a hand-written parser with the SDK went with it.
