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

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn profile_names_never_panic_and_come_from_the_text(
        text in prop_oneof![
            text(),
            vec(prop_oneof![
                3 => select(&[
                    "[default]", "[profile x]", "[profile  y ]", "[profilex]", "[profile]", "[ profile z ]",
                    "[sso-session s]", "[services s]", "[x]", "[]", "[", "]", "[[a]]", "region = us-east-1",
                    "# [profile c]", "; [profile d]", "\t[profile t]\t", "[profile é]", "[profile a b]",
                ][..]).prop_map(String::from),
                1 => short_text(),
            ], 0..10).prop_map(|l| l.join("\n")),
        ],
        is_config in any::<bool>(),
    ) {
        for name in complete::profile_names(&text, is_config) {
            prop_assert!(!name.is_empty());
            prop_assert_eq!(name.trim(), name.as_str());
            prop_assert!(!name.contains('\n'));
            prop_assert_contains!(text, name);
        }
    }
}

// ---------------------------------------------------------------------------
// Bugs the properties found, one concrete input each (see the reasons)
// ---------------------------------------------------------------------------

/// Profile names as the AWS SDK reads them from one file of either kind.
fn sdk_profile_names(text: &str, is_config: bool) -> Option<BTreeSet<String>> {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_types::os_shim_internal::{Env, Fs};
    let kind = if is_config {
        EnvConfigFileKind::Config
    } else {
        EnvConfigFileKind::Credentials
    };
    let files = EnvConfigFiles::builder().with_contents(kind, text).build();
    let loaded = futures::executor::block_on(aws_config::profile::load(
        &Fs::from_slice(&[]),
        &Env::from_slice(&[]),
        &files,
        None,
    ));
    Some(loaded.ok()?.profiles().map(String::from).collect())
}

fn profile_file() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        3 => select(&[
            "[default]", "[profile default]", "[profile x]", "[profile  y ]", "[profilex]", "[profile-x]",
            "[profile]", "[ profile z ]", "[sso-session s]", "[services s]", "[x]", "[profile a b]",
            "[profile é]", "[a b]", "[ x ]", "\t[profile t]",
        ][..]).prop_map(String::from),
        1 => "\\[(profile )?[a-z._@-]{1,6}\\]",
    ];
    vec(
        (
            header,
            select(&["", "region = us-east-1", "output=json"][..]),
        ),
        0..6,
    )
    .prop_map(|sections| {
        sections
            .into_iter()
            .map(|(h, p)| format!("{h}\n{p}\n"))
            .collect()
    })
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn profile_names_match_the_sdk(text in profile_file(), is_config in any::<bool>()) {
        if let Some(sdk) = sdk_profile_names(&text, is_config) {
            let ours: BTreeSet<String> = complete::profile_names(&text, is_config).into_iter().collect();
            prop_assert_eq!(ours, sdk, "{:?}", text);
        }
    }
}

#[test]
fn profile_sections_need_a_space_after_profile() {
    assert!(complete::profile_names("[profilefoo]\n[profile-x]\n", true).is_empty());
    assert_eq!(
        sdk_profile_names("[profilefoo]\n[profile-x]\n", true),
        Some(BTreeSet::new())
    );
}
