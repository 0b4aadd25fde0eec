//! Completion for `kubectl klanker-trust <TAB>`: kubectl (1.26+) runs
//! `kubectl_complete-klanker_trust ARGS...`, which calls our hidden
//! `__complete ARGS...`. We answer in cobra's protocol: one candidate per
//! line, then `:<directive>`. Dynamic values come from local files only
//! (km-config.yaml, the kubeconfig, the AWS config): never the network.

use std::path::PathBuf;

use clap::{Arg, ArgAction, Command, CommandFactory, ValueEnum};

use crate::cli::{Cli, CompletionShell};

/// Cobra's ShellCompDirective bits.
pub const DIRECTIVE_DEFAULT: u8 = 0;
pub const DIRECTIVE_NO_SPACE: u8 = 2;
pub const DIRECTIVE_NO_FILE: u8 = 4;

/// Where dynamic candidates come from.
pub trait Sources {
    fn cluster_names(&self) -> Vec<String>;
    fn contexts(&self) -> Vec<String>;
    fn aws_profiles(&self) -> Vec<String>;
}

/// What to print: candidates and the directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub candidates: Vec<String>,
    pub directive: u8,
}

impl Completion {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
        && arg.get_num_args().is_none_or(|n| n.min_values() > 0)
}

fn find_flag<'a>(cmd: &'a Command, root: &'a Command, word: &str) -> Option<&'a Arg> {
    let by_long = |c: &'a Command| {
        c.get_arguments().find(|a| {
            if let Some(long) = word.strip_prefix("--") {
                a.get_long() == Some(long)
                    || a.get_all_aliases().is_some_and(|al| al.contains(&long))
            } else if let Some(short) = word.strip_prefix('-').and_then(|s| s.chars().next()) {
                word.len() == 2 && a.get_short() == Some(short)
            } else {
                false
            }
        })
    };
    by_long(cmd).or_else(|| by_long(root))
}

fn values_for(arg: &Arg, sources: &dyn Sources) -> Option<Completion> {
    let values = |candidates: Vec<String>| {
        Some(Completion {
            candidates,
            directive: DIRECTIVE_NO_FILE,
        })
    };
    match arg.get_id().as_str() {
        "context" => values(sources.contexts()),
        "aws_profile" | "cluster_profile" => values(sources.aws_profiles()),
        "kubeconfig" | "config" => Some(Completion {
            candidates: Vec::new(),
            directive: DIRECTIVE_DEFAULT,
        }),
        _ => {
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            values(possible)
        }
    }
}

/// Completes the last word of `words` (the arguments after the plugin name).
pub fn complete(words: &[String], sources: &dyn Sources) -> Completion {
    let root = Cli::command();
    let (partial, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let (current, positionals, expecting) = walk(&root, before);
    if let Some(arg) = expecting {
        return filter(values_for(arg, sources), partial, "");
    }
    if let Some((flag, value)) = partial.split_once('=')
        && flag.starts_with("--")
        && let Some(arg) = find_flag(current, &root, flag)
    {
        return filter(values_for(arg, sources), value, &format!("{flag}="));
    }
    let candidates = match partial.starts_with('-') {
        true => flags_of(current, &root),
        false => words_after(current, &root, positionals, sources),
    };
    filter(
        Some(Completion {
            candidates,
            directive: DIRECTIVE_NO_FILE,
        }),
        partial,
        "",
    )
}

/// The subcommand the words before the cursor chose, how many positionals
/// it has been given, and the flag still waiting for its value.
fn walk<'c>(
    root: &'c clap::Command,
    before: &[String],
) -> (&'c clap::Command, usize, Option<&'c Arg>) {
    let mut current = root;
    let mut positionals = 0;
    let mut expecting: Option<&Arg> = None;
    for word in before {
        if expecting.take().is_some() {
            continue;
        }
        if word.starts_with('-') && word != "-" {
            if !word.contains('=')
                && let Some(arg) = find_flag(current, root, word)
                && takes_value(arg)
            {
                expecting = Some(arg);
            }
        } else if std::ptr::eq(current, root) {
            if let Some(sub) = root.find_subcommand(word) {
                current = sub;
            }
        } else {
            positionals += 1;
        }
    }
    (current, positionals, expecting)
}

/// The long flags of the subcommand and the global ones, visible only.
fn flags_of(current: &clap::Command, root: &clap::Command) -> Vec<String> {
    let mut flags: Vec<String> = current
        .get_arguments()
        .chain(root.get_arguments().filter(|a| a.is_global_set()))
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    flags.extend(["--help".to_string()]);
    flags.sort();
    flags.dedup();
    flags
}

/// A word that is not a flag: a subcommand, an onboarding's name, a shell.
fn words_after(
    current: &clap::Command,
    root: &clap::Command,
    positionals: usize,
    sources: &dyn Sources,
) -> Vec<String> {
    if std::ptr::eq(current, root) {
        root.get_subcommands()
            .filter(|c| !c.is_hide_set())
            .flat_map(|c| {
                std::iter::once(c.get_name().to_string())
                    .chain(c.get_visible_aliases().map(str::to_string))
            })
            .chain(["help".to_string()])
            .collect()
    } else if matches!(current.get_name(), "rm" | "verify" | "describe") && positionals == 0 {
        sources.cluster_names()
    } else if current.get_name() == "completion" && positionals == 0 {
        CompletionShell::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect()
    } else {
        Vec::new()
    }
}

fn filter(completion: Option<Completion>, partial: &str, prefix: &str) -> Completion {
    let mut completion = completion.unwrap_or(Completion {
        candidates: Vec::new(),
        directive: DIRECTIVE_NO_FILE,
    });
    completion.candidates.retain(|c| c.starts_with(partial));
    completion.candidates = completion
        .candidates
        .into_iter()
        .map(|c| format!("{prefix}{c}"))
        .collect();
    completion.candidates.dedup();
    completion
}

/// The helper kubectl (1.26+) runs for `kubectl klanker-trust <TAB>`: an
/// executable named `kubectl_complete-klanker_trust` on PATH, handed the
/// words after the plugin name, answering in cobra's protocol.
const KUBECTL_PLUGIN_HELPER: &str = r#"#!/usr/bin/env sh
# kubectl (1.26+) runs this executable, found on PATH, to complete
# `kubectl klanker-trust <TAB>`: it passes the words typed after the plugin
# name and expects cobra's answer (candidates, then `:<directive>`).
exec kubectl-klanker_trust __complete "$@"
"#;

/// bash completion for the executable itself: it asks the executable
/// (`__complete`, the protocol kubectl's helper uses), so `rm <TAB>`
/// completes cluster names and `--context <TAB>` contexts, as `kubectl
/// klanker-trust` does; a static script could only list flags.
const BASH_SCRIPT: &str = r#"# bash completion for kubectl-klanker_trust (generated by `kubectl-klanker_trust completion bash`).
# Candidates come from `kubectl-klanker_trust __complete WORDS...` (local files only, never the network).
_kubectl_klanker_trust() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local -a words
    read -r -a words <<<"$line"
    [[ "$line" == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
    local last="${words[${#words[@]}-1]}"
    local out
    out=$("${words[0]}" __complete "${words[@]:1}" 2>/dev/null) || return 0
    local directive="${out##*:}"
    out="${out%:*}"
    # bash splits the word at `=` and `:` (COMP_WORDBREAKS): offer only the part after the last one.
    local strip=""
    if [[ "$last" == *[=:]* ]]; then
        strip="${last%"${last##*[=:]}"}"
    fi
    COMPREPLY=()
    local candidate
    while IFS= read -r candidate; do
        [[ -n "$candidate" ]] && COMPREPLY+=("${candidate#"$strip"}")
    done <<<"$out"
    if (( directive & 2 )); then
        compopt -o nospace 2>/dev/null
    fi
    if (( ${#COMPREPLY[@]} == 0 )) && ! (( directive & 4 )); then
        compopt -o default 2>/dev/null
    fi
    return 0
}
complete -F _kubectl_klanker_trust kubectl-klanker_trust
"#;

/// What `completion SHELL` prints.
pub fn script(shell: CompletionShell) -> String {
    const BIN: &str = "kubectl-klanker_trust";
    let generated = match shell {
        CompletionShell::KubectlPlugin => return KUBECTL_PLUGIN_HELPER.to_string(),
        CompletionShell::Bash => return BASH_SCRIPT.to_string(),
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
        CompletionShell::Powershell => clap_complete::Shell::PowerShell,
        CompletionShell::Elvish => clap_complete::Shell::Elvish,
    };
    let mut out = Vec::new();
    let mut cmd = Cli::command_for_help().bin_name(BIN);
    clap_complete::generate(generated, &mut cmd, BIN, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Dynamic values from the files the user's environment points at.
pub struct LocalSources {
    pub kubeconfig: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// The AWS profiles, as the SDK itself reads the config and credentials files.
    pub aws_profiles: Vec<String>,
}

impl LocalSources {
    /// Honours `--kubeconfig` / `--config` typed earlier on the line.
    pub async fn load(words: &[String]) -> Self {
        let value_of = |flag: &str| {
            words
                .windows(2)
                .find(|w| w[0] == flag)
                .map(|w| PathBuf::from(&w[1]))
                .or_else(|| {
                    words
                        .iter()
                        .find_map(|w| w.strip_prefix(&format!("{flag}=")).map(PathBuf::from))
                })
        };
        // Unreadable files complete nothing: completion never fails aloud.
        let mut aws_profiles: Vec<String> = crate::aws::credentials::load_profiles()
            .await
            .map(|set| set.profiles().map(String::from).collect())
            .unwrap_or_default();
        aws_profiles.sort();
        Self {
            kubeconfig: value_of("--kubeconfig"),
            config: value_of("--config")
                .or_else(|| std::env::var_os("KM_CONFIG").map(PathBuf::from)),
            aws_profiles,
        }
    }
}

impl Sources for LocalSources {
    fn cluster_names(&self) -> Vec<String> {
        crate::store::open(self.config.as_deref())
            .ok()
            .and_then(|store| store.load().ok())
            .and_then(|doc| doc.clusters().ok())
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    fn contexts(&self) -> Vec<String> {
        crate::kubeconfig::load(self.kubeconfig.as_deref())
            .map(|kc| kc.contexts.into_iter().map(|c| c.name).collect())
            .unwrap_or_default()
    }

    fn aws_profiles(&self) -> Vec<String> {
        self.aws_profiles.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Sources for Fixed {
        fn cluster_names(&self) -> Vec<String> {
            vec!["dev-use1-0".into(), "prod-euw1-0".into()]
        }
        fn contexts(&self) -> Vec<String> {
            vec![
                "kind-dev".into(),
                "arn:aws:eks:us-east-1:1:cluster/x".into(),
            ]
        }
        fn aws_profiles(&self) -> Vec<String> {
            vec!["default".into(), "klanker-application".into()]
        }
    }

    fn c(words: &[&str]) -> Completion {
        complete(
            &words.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &Fixed,
        )
    }

    #[test]
    fn subcommands_at_the_top() {
        let got = c(&[""]);
        for sub in [
            "add",
            "list",
            "rm",
            "verify",
            "policy",
            "completion",
            "version",
        ] {
            assert!(got.candidates.contains(&sub.to_string()), "{sub}: {got:?}");
        }
        assert_eq!(c(&["r"]).candidates, ["rm"]);
        // kubectl's spellings are offered too.
        assert_eq!(c(&["de"]).candidates, ["delete", "describe"]);
        assert_eq!(c(&["l"]).candidates, ["list", "ls"]);
        assert_eq!(c(&["g"]).candidates, ["get"]);
        assert_eq!(c(&["r"]).directive, DIRECTIVE_NO_FILE);
        assert!(c(&[]).candidates.contains(&"add".to_string()));
    }

    #[test]
    fn cluster_names_for_rm_and_verify_only_once() {
        assert_eq!(c(&["rm", ""]).candidates, ["dev-use1-0", "prod-euw1-0"]);
        assert_eq!(c(&["verify", "pr"]).candidates, ["prod-euw1-0"]);
        assert!(c(&["rm", "dev-use1-0", ""]).candidates.is_empty());
        // Aliases complete as the command they stand for.
        assert_eq!(c(&["delete", ""]).candidates, ["dev-use1-0", "prod-euw1-0"]);
        assert_eq!(c(&["describe", "d"]).candidates, ["dev-use1-0"]);
        assert_eq!(c(&["get", "-o", "w"]).candidates, ["wide"]);
        assert!(
            c(&["completion", ""])
                .candidates
                .contains(&"kubectl-plugin".to_string())
        );
        assert!(c(&["add", ""]).candidates.is_empty());
    }

    #[test]
    fn flags_and_their_values() {
        let flags = c(&["add", "--reg"]).candidates;
        assert_eq!(flags, ["--region", "--register-oidc-provider"]);
        assert!(
            c(&["add", "--"])
                .candidates
                .contains(&"--kubeconfig".to_string()),
            "global flags too"
        );
        assert_eq!(c(&["add", "--context", ""]).candidates.len(), 2);
        assert_eq!(c(&["add", "--context", "ki"]).candidates, ["kind-dev"]);
        assert_eq!(
            c(&["add", "--aws-profile", "k"]).candidates,
            ["klanker-application"]
        );
        assert_eq!(
            c(&["add", "--register-oidc-provider", ""]).candidates,
            ["auto", "true", "false"]
        );
        assert_eq!(c(&["list", "-o", "w"]).candidates, ["wide"]);
        assert_eq!(
            c(&["add", "--aws-profile=kl"]).candidates,
            ["--aws-profile=klanker-application"]
        );
        // A value-taking flag's value is skipped when counting positionals.
        assert_eq!(
            c(&["rm", "--aws-profile", "x", ""]).candidates,
            ["dev-use1-0", "prod-euw1-0"]
        );
        // Paths complete as files.
        assert_eq!(c(&["add", "--kubeconfig", ""]).directive, DIRECTIVE_DEFAULT);
    }

    #[test]
    fn render_follows_cobra() {
        let text = Completion {
            candidates: vec!["a".into(), "b".into()],
            directive: 4,
        }
        .render();
        assert_eq!(text, "a\nb\n:4\n");
    }
}
