//! kubeconfig.rs: exec-block hints, regions from server URLs, kubeconfig
//! text and context selection.

use std::collections::HashMap;

use kube::config::{ExecConfig, Kubeconfig};
use kubectl_klanker_trust::kubeconfig::{hints_from_exec, region_from_server, select_context};
use kubectl_klanker_trust::trust::validate;
use proptest::collection::{hash_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use crate::cases;
use crate::strategies::{short_text, text, urlish, yamlish};

fn exec_config(
    command: Option<&str>,
    args: &[String],
    env: &[HashMap<String, String>],
) -> ExecConfig {
    serde_json::from_value(json!({
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": command,
        "args": args,
        "env": env,
    }))
    .expect("an ExecConfig from strings always deserializes")
}

fn env_entry(name: &str, value: &str) -> HashMap<String, String> {
    HashMap::from([("name".into(), name.into()), ("value".into(), value.into())])
}

/// Is `value` what an `args` element says for one of `flags`, in either form?
fn arg_provides(args: &[String], flags: &[&str], value: &str) -> bool {
    args.windows(2)
        .any(|w| flags.contains(&w[0].as_str()) && w[1] == value && !value.starts_with('-'))
        || args
            .iter()
            .any(|a| flags.iter().any(|f| *a == format!("{f}={value}")))
}

/// A kubeconfig as JSON (which is YAML), with names drawn from a small pool
/// so that references between contexts, clusters and users sometimes resolve.
fn kubeconfig_json() -> impl Strategy<Value = Value> {
    let name = || {
        prop_oneof![
            4 => select(&[
                "a", "b", "",
                "arn:aws:eks:us-east-1:222222222222:cluster/arn-named",
                "arn:aws:eks:eu-west-1:2222:cluster/short-account",
                "arn:aws:eks::222222222222:cluster/no-region",
                "arn:aws:eks:us-west-2:222222222222:cluster/",
                "arn:aws:eks:us-west-2:222222222222:cluster/a/b",
            ][..]).prop_map(String::from),
            1 => short_text(),
        ]
    };
    let server = prop_oneof![
        select(
            &[
                "https://ABC.gr7.us-east-1.eks.amazonaws.com",
                "https://x.yl4.cn-north-1.eks.amazonaws.com.cn",
                "https://127.0.0.1:6443",
                "https://eks.amazonaws.com.evil.io",
                "not a url",
                "",
            ][..]
        )
        .prop_map(String::from),
        urlish(),
    ];
    let context = (name(), prop::option::of(name()), prop::option::of(short_text())).prop_map(
        |(cluster, user, namespace)| json!({"cluster": cluster, "user": user, "namespace": namespace}),
    );
    let contexts = vec(
        (name(), prop::option::of(context)).prop_map(|(n, c)| match c {
            Some(c) => json!({"name": n, "context": c}),
            None => json!({"name": n}),
        }),
        0..4,
    );
    let clusters = vec(
        (name(), prop::option::of(server))
            .prop_map(|(n, s)| json!({"name": n, "cluster": {"server": s}})),
        0..4,
    );
    let exec = (
        prop::option::of(select(&["aws", "/usr/local/bin/aws", "aws-iam-authenticator", "kubelogin"][..])),
        vec(exec_arg(), 0..8),
        vec(env_map(), 0..3),
    )
        .prop_map(|(command, args, env)| {
            json!({"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command, "args": args, "env": env})
        });
    let users = vec(
        (name(), prop::option::of(exec)).prop_map(|(n, e)| match e {
            Some(e) => json!({"name": n, "user": {"exec": e}}),
            None => json!({"name": n, "user": {"token": "t"}}),
        }),
        0..4,
    );
    (prop::option::of(name()), contexts, clusters, users).prop_map(
        |(current, contexts, clusters, users)| {
            json!({
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "contexts": contexts,
                "clusters": clusters,
                "users": users,
            })
        },
    )
}

fn exec_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&[
            "eks", "get-token", "token", "--cluster-name", "--cluster-name=", "--region", "--region=",
            "--profile", "--profile=", "--role-arn", "--role-arn=", "-i", "-r", "--cluster-id", "--role",
            "-", "--", "=", "", "--output", "json", "us-east-1", "dev", "é", "--cluster-name==x",
            "--cluster-names", "-ix", "arn:aws:iam::222222222222:role/admin",
        ][..]).prop_map(String::from),
        1 => (select(&["--cluster-name=", "--region=", "--profile=", "--role-arn=", "-i=", "-r=", "--cluster-id=", "--role="][..]), short_text())
            .prop_map(|(f, v)| format!("{f}{v}")),
        2 => short_text(),
        1 => text(),
    ]
}

fn env_map() -> impl Strategy<Value = HashMap<String, String>> {
    let key = prop_oneof![
        3 => select(&["name", "value"][..]).prop_map(String::from),
        1 => short_text(),
    ];
    let value = prop_oneof![
        3 => select(&["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "", "p", "us-west-2"][..])
            .prop_map(String::from),
        1 => short_text(),
    ];
    hash_map(key, value, 0..3)
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn exec_hints_never_panic_and_only_report_what_the_block_says(
        command in prop::option::of(prop_oneof![
            4 => select(&["aws", "/usr/local/bin/aws", "C:\\bin\\aws.exe", "aws.exe", "aws-iam-authenticator",
                "aws-iam-authenticator.exe", "./aws", "aws/", "gke-gcloud-auth-plugin", ""][..]).prop_map(String::from),
            1 => short_text(),
        ]),
        args in vec(exec_arg(), 0..12),
        env in vec(env_map(), 0..4),
    ) {
        let hints = hints_from_exec(&exec_config(command.as_deref(), &args, &env));
        let env_values: Vec<&String> = env.iter().filter_map(|e| e.get("value")).collect();
        for value in [&hints.cluster_name, &hints.region, &hints.profile, &hints.role_arn].into_iter().flatten() {
            prop_assert!(!value.is_empty());
        }
        if !command.as_deref().unwrap_or_default().contains("aws") {
            prop_assert_eq!(&hints.cluster_name, &None);
            prop_assert_eq!(&hints.role_arn, &None);
        }
        if let Some(name) = &hints.cluster_name {
            prop_assert!(arg_provides(&args, &["--cluster-name", "-i", "--cluster-id"], name), "{name:?} from {args:?}");
        }
        if let Some(role) = &hints.role_arn {
            prop_assert!(arg_provides(&args, &["--role-arn", "-r", "--role"], role), "{role:?} from {args:?}");
        }
        if let Some(region) = &hints.region {
            prop_assert!(arg_provides(&args, &["--region"], region) || env_values.contains(&region));
        }
        if let Some(profile) = &hints.profile {
            prop_assert!(arg_provides(&args, &["--profile"], profile) || env_values.contains(&profile));
        }
    }

    #[test]
    fn the_last_cluster_name_flag_wins(
        junk in vec(exec_arg(), 0..10),
        name in "[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,20}",
        equals_form in any::<bool>(),
        command in select(&["aws", "/opt/aws", "aws.exe"][..]),
    ) {
        let mut args = junk;
        args.extend(["eks".to_string(), "get-token".to_string()]);
        if equals_form {
            args.push(format!("--cluster-name={name}"));
        } else {
            args.extend(["--cluster-name".to_string(), name.clone()]);
        }
        let hints = hints_from_exec(&exec_config(Some(command), &args, &[]));
        prop_assert_eq!(hints.cluster_name, Some(name));
    }

    #[test]
    fn a_flag_without_value_at_the_end_falls_back_to_the_environment(
        region in "[a-z]{2}-[a-z]{4,9}-[0-9]",
        flag in select(&["--region", "--region="][..]),
    ) {
        let args: Vec<String> = ["eks", "get-token", "--cluster-name", "c", flag].map(String::from).to_vec();
        let hints = hints_from_exec(&exec_config(Some("aws"), &args, &[env_entry("AWS_REGION", &region)]));
        prop_assert_eq!(hints.region, Some(region));
        prop_assert_eq!(hints.cluster_name.as_deref(), Some("c"));
    }

    #[test]
    fn region_from_server_never_panics_and_returns_valid_regions(server in urlish()) {
        if let Some(region) = region_from_server(&server) {
            prop_assert!(validate::region(&region, "x").is_ok(), "{region:?} from {server:?}");
        }
    }

    #[test]
    fn region_from_server_reads_eks_endpoints(
        id in "[A-F0-9]{32}",
        cell in "[a-z]{2}[0-9]",
        region in "[a-z]{2}(-gov)?-[a-z]{4,9}-[0-9]",
        china in any::<bool>(),
        upper in any::<bool>(),
        port in select(&["", ":443"][..]),
    ) {
        let suffix = if china { "amazonaws.com.cn" } else { "amazonaws.com" };
        let mut host = format!("{id}.{cell}.{region}.eks.{suffix}");
        if upper {
            host = host.to_uppercase();
        }
        prop_assert_eq!(region_from_server(&format!("https://{host}{port}")), Some(region.clone()));
        // The same name under another domain is not an EKS endpoint.
        prop_assert_eq!(region_from_server(&format!("https://{host}.evil.io")), None);
    }
}

proptest! {
    #![proptest_config(cases(1500))]

    #[test]
    fn kubeconfig_text_never_panics(text in yamlish(), context in prop::option::of(short_text())) {
        if let Ok(kc) = Kubeconfig::from_yaml(&text) {
            let _ = select_context(&kc, None);
            let _ = select_context(&kc, context.as_deref());
        }
    }

    #[test]
    fn select_context_reports_only_consistent_hints(
        doc in kubeconfig_json(),
        context in prop::option::of(select(&["a", "b", "", "arn:aws:eks:us-east-1:222222222222:cluster/arn-named"][..])),
    ) {
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let kc = match Kubeconfig::from_yaml(&text) {
            Ok(kc) => kc,
            Err(_) => return Ok(()),
        };
        if let Ok(info) = select_context(&kc, context) {
            let expected = context.map(String::from).or_else(|| kc.current_context.clone());
            prop_assert_eq!(Some(info.context_name.clone()), expected);
            prop_assert!(info.namespace.as_deref() != Some(""));
            if let Some(account) = &info.eks.account {
                prop_assert!(account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()), "{account:?}");
            }
            for value in [&info.eks.cluster_name, &info.eks.region, &info.eks.profile, &info.eks.role_arn].into_iter().flatten() {
                prop_assert!(!value.is_empty());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Cross-checks that keep a corner case pinned
// ---------------------------------------------------------------------------

#[test]
fn env_entries_without_value_are_ignored() {
    let env = vec![
        HashMap::from([("name".to_string(), "AWS_PROFILE".to_string())]),
        env_entry("AWS_REGION", ""),
        HashMap::from([("value".to_string(), "v".to_string())]),
    ];
    let hints = hints_from_exec(&exec_config(Some("aws"), &[], &env));
    assert_eq!((hints.profile, hints.region), (None, None));
}
