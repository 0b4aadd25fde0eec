//! Which clusters a fleet `add` works on (the contexts named, or every
//! context of the kubeconfig, narrowed by a pattern), and the flags a
//! fleet refuses: all checked before the first request.

use kube::config::Kubeconfig;

use crate::cli::{AddArgs, AddOutput, GlobalArgs};

/// Bad input for a run over several clusters (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FleetInputError {
    #[error(
        "{flag} names one cluster's {what}, so it cannot be given with {count} contexts. Nothing was changed. Drop it (each cluster is onboarded under its own EKS cluster name), or run `add --context CONTEXT {flag} ...` once per cluster."
    )]
    SingleClusterFlag {
        flag: &'static str,
        what: &'static str,
        count: usize,
    },
    #[error(
        "--context is given {count} times, and only `add` works on several clusters in one run. Give `{command}` one --context."
    )]
    SeveralContexts { command: &'static str, count: usize },
    #[error(
        "--all-contexts takes every context of the kubeconfig, and --context names some: give one or the other (--context-pattern GLOB narrows --all-contexts)."
    )]
    AllAndNamed,
    #[error("no context of the kubeconfig matches `{pattern}`. Its contexts: {known}.")]
    NoneMatched { pattern: String, known: String },
    #[error("the kubeconfig has no contexts to onboard.")]
    NoContexts,
    #[error(
        "contexts `{first}` and `{second}` would both be onboarded as `{name}` (one role, km-cluster-{name}, cannot serve two clusters). Nothing was changed. Leave one of them out, or onboard it alone with `add --context {second} --name OTHER`."
    )]
    SameName {
        name: String,
        first: String,
        second: String,
    },
}

/// The flags that name one cluster's own thing: with several contexts,
/// every cluster would get the same one.
fn single_cluster_flags(args: &AddArgs) -> Vec<(&'static str, &'static str)> {
    let given = [
        (args.name.is_some(), "--name", "registry name"),
        (args.role_name.is_some(), "--role-name", "role"),
        (args.issuer_url.is_some(), "--issuer-url", "issuer"),
        (
            args.oidc_provider_arn.is_some(),
            "--oidc-provider-arn",
            "issuer",
        ),
        (
            args.cluster_role_name.is_some(),
            "--cluster-role-name",
            "cluster-account role",
        ),
        (args.cluster_name.is_some(), "--cluster-name", "EKS name"),
        (
            args.cluster_region.is_some(),
            "--cluster-region",
            "EKS region",
        ),
        (
            args.output == AddOutput::Manifest,
            "-o manifest",
            "ServiceAccount manifest",
        ),
    ];
    given
        .into_iter()
        .filter(|(given, ..)| *given)
        .map(|(_, flag, what)| (flag, what))
        .collect()
}

/// The contexts of a fleet run, in the order given (or the kubeconfig's
/// order), each once; refused when a flag names one cluster's own thing.
pub fn contexts(
    args: &AddArgs,
    global: &GlobalArgs,
    kubeconfig: &Kubeconfig,
) -> Result<Vec<String>, FleetInputError> {
    if args.all_contexts && !global.contexts.is_empty() {
        return Err(FleetInputError::AllAndNamed);
    }
    let mut chosen: Vec<String> = match args.all_contexts {
        true => every_context(kubeconfig, args.context_pattern.as_deref())?,
        false => global.contexts.clone(),
    };
    let mut seen = std::collections::HashSet::new();
    chosen.retain(|c| seen.insert(c.clone()));
    if let (Some((flag, what)), count @ 2..) =
        (single_cluster_flags(args).into_iter().next(), chosen.len())
    {
        return Err(FleetInputError::SingleClusterFlag { flag, what, count });
    }
    Ok(chosen)
}

fn every_context(
    kubeconfig: &Kubeconfig,
    pattern: Option<&str>,
) -> Result<Vec<String>, FleetInputError> {
    let all: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    if all.is_empty() {
        return Err(FleetInputError::NoContexts);
    }
    let Some(pattern) = pattern else {
        return Ok(all);
    };
    let matching: Vec<String> = all
        .iter()
        .filter(|name| crate::trust::document::string_like(pattern, name))
        .cloned()
        .collect();
    match matching.is_empty() {
        true => Err(FleetInputError::NoneMatched {
            pattern: pattern.to_string(),
            known: all.join(", "),
        }),
        false => Ok(matching),
    }
}

/// A command other than `add` acts on one context.
pub fn one_context(global: &GlobalArgs, command: &'static str) -> Result<(), FleetInputError> {
    match global.contexts.len() {
        0 | 1 => Ok(()),
        count => Err(FleetInputError::SeveralContexts { command, count }),
    }
}

/// Two contexts that would be onboarded under one name: the first such
/// pair, in the given order. `names`: (context, registry name).
pub fn same_name(names: &[(String, String)]) -> Result<(), FleetInputError> {
    for (i, (second, name)) in names.iter().enumerate() {
        if let Some((first, _)) = names[..i].iter().find(|(_, other)| other == name) {
            return Err(FleetInputError::SameName {
                name: name.clone(),
                first: first.clone(),
                second: second.clone(),
            });
        }
    }
    Ok(())
}

/// The command that converges one cluster of a fleet: the arguments as
/// given, for that context alone. Never with `--yes` or `--dry-run=none`
/// (whoever runs it sees the plan first), nor an MFA code (a secret).
pub fn converge_command(argv: &[String], context: &str) -> String {
    // Flags dropped with the value that follows them (unless `=` joins it).
    const WITH_VALUE: [&str; 4] = ["--context", "--context-pattern", "--parallel", "--mfa-code"];
    const ALONE: [&str; 4] = ["--all-contexts", "--yes", "-y", "--dry-run=none"];
    let mut words = vec!["kubectl".to_string(), "klanker-trust".to_string()];
    let (mut args, mut placed) = (argv.iter(), false);
    while let Some(arg) = args.next() {
        let flag = arg.split('=').next().unwrap_or(arg);
        if WITH_VALUE.contains(&flag) {
            if !arg.contains('=') {
                args.next();
            }
            continue;
        }
        if ALONE.contains(&arg.as_str()) {
            continue;
        }
        words.push(shell_word(arg));
        // After the subcommand (its first `add`; a later one is a value).
        if arg == "add" && !placed {
            words.extend(["--context".to_string(), shell_word(context)]);
            placed = true;
        }
    }
    words.join(" ")
}

/// One word as a POSIX shell reads it back: quoted unless it is plain.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c);
    match !word.is_empty() && word.chars().all(plain) {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parsed(argv: &[&str]) -> (AddArgs, GlobalArgs) {
        let mut full = vec!["kubectl-klanker_trust"];
        full.extend_from_slice(argv);
        let cli = crate::cli::Cli::try_parse_from(full).expect("parses");
        match cli.command {
            crate::cli::Command::Add(args) => (*args, cli.global),
            other => panic!("parsed {other:?}"),
        }
    }

    fn kubeconfig(names: &[&str]) -> Kubeconfig {
        let contexts: Vec<String> = names
            .iter()
            .map(|n| format!("- name: {n}\n  context:\n    cluster: c\n    user: u\n"))
            .collect();
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\ncontexts:\n{}",
            contexts.concat()
        ))
        .expect("kubeconfig")
    }

    #[test]
    fn named_contexts_keep_their_order_and_repeat_once() {
        let (args, global) = parsed(&["add", "--context", "b", "--context", "a", "--context", "b"]);
        let chosen = contexts(&args, &global, &kubeconfig(&["a", "b"])).unwrap();
        assert_eq!(chosen, ["b", "a"]);
        assert!(args.is_fleet(&global));
    }

    #[test]
    fn all_contexts_narrowed_by_a_pattern() {
        let kc = kubeconfig(&["prod-a", "dev-a", "prod-b"]);
        let (args, global) = parsed(&["add", "--all-contexts", "--context-pattern", "prod-*"]);
        assert_eq!(contexts(&args, &global, &kc).unwrap(), ["prod-a", "prod-b"]);
        let (args, global) = parsed(&["add", "--all-contexts", "--context-pattern", "qa-*"]);
        let err = contexts(&args, &global, &kc).unwrap_err().to_string();
        assert!(err.contains("prod-a, dev-a, prod-b"), "{err}");
    }

    #[test]
    fn single_cluster_flags_are_refused_with_several_contexts_only() {
        let kc = kubeconfig(&["a", "b"]);
        for flag in [
            ["--name", "x"],
            ["--role-name", "r"],
            ["--issuer-url", "https://i.example.com"],
            ["--cluster-role-name", "r"],
            ["--cluster-name", "c"],
            ["-o", "manifest"],
        ] {
            let mut argv = vec!["add", "--context", "a", "--context", "b"];
            argv.extend_from_slice(&flag);
            let (args, global) = parsed(&argv);
            let err = contexts(&args, &global, &kc).unwrap_err();
            assert!(
                matches!(err, FleetInputError::SingleClusterFlag { .. }),
                "{flag:?}: {err}"
            );
            let mut one = vec!["add", "--context", "a"];
            one.extend_from_slice(&flag);
            let (args, global) = parsed(&one);
            assert_eq!(contexts(&args, &global, &kc).unwrap(), ["a"]);
        }
    }

    #[test]
    fn all_contexts_beside_named_ones_and_several_for_another_command() {
        let (args, global) = parsed(&["add", "--all-contexts", "--context", "a"]);
        let err = contexts(&args, &global, &kubeconfig(&["a"])).unwrap_err();
        assert!(matches!(err, FleetInputError::AllAndNamed));
        let (_, global) = parsed(&["add", "--context", "a", "--context", "b"]);
        assert!(one_context(&global, "list").is_err());
    }

    #[test]
    fn a_clusters_converge_command_is_the_run_for_its_context_alone() {
        let argv: Vec<String> = [
            "--kubeconfig",
            "/tmp/k c",
            "add",
            "--all-contexts",
            "--context-pattern",
            "prod-*",
            "--parallel=4",
            "--yes",
            "--mfa-code",
            "123456",
            "-n",
            "ai-pods",
            "--mode",
            "chained",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            converge_command(&argv, "arn:aws:eks:us-east-1:1:cluster/a b"),
            "kubectl klanker-trust --kubeconfig '/tmp/k c' add --context 'arn:aws:eks:us-east-1:1:cluster/a b' -n ai-pods --mode chained"
        );
        let argv: Vec<String> = [
            "add",
            "--context=a",
            "--context",
            "b",
            "-y",
            "--dry-run=none",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            converge_command(&argv, "b"),
            "kubectl klanker-trust add --context b"
        );
    }

    #[test]
    fn two_contexts_of_one_name_are_refused_naming_both() {
        let names = [
            ("ctx-1".to_string(), "dev".to_string()),
            ("ctx-2".to_string(), "prod".to_string()),
            ("ctx-3".to_string(), "dev".to_string()),
        ];
        let err = same_name(&names).unwrap_err().to_string();
        assert!(
            err.contains("`ctx-1` and `ctx-3`") && err.contains("`dev`"),
            "{err}"
        );
        assert!(same_name(&names[..2]).is_ok());
    }
}
