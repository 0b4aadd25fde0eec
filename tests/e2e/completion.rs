//! Shell completion: the checked-in scripts are current, and `kubectl
//! klanker-trust <TAB>` works through kubectl's own plugin completion,
//! with dynamic values from local files only.

use std::path::Path;

use crate::support::{CLUSTER, World};

#[test]
fn checked_in_completion_scripts_are_current() {
    let world = World::bare();
    let files = [
        ("bash", "kubectl-klanker_trust.bash"),
        ("zsh", "_kubectl-klanker_trust"),
        ("fish", "kubectl-klanker_trust.fish"),
        ("powershell", "kubectl-klanker_trust.ps1"),
    ];
    for (shell, file) in files {
        let out = world.run(&["completion", shell]);
        out.assert_ok();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("completions")
            .join(file);
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            out.stdout == checked_in,
            "completions/{file} is stale: run scripts/gen-completions and commit"
        );
    }
}

#[test]
fn bash_script_completes_subcommands_and_flags() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl-klanker_trust.bash");
    let probe = format!(
        "source {}; COMP_WORDS=(kubectl-klanker_trust add --reg); COMP_CWORD=2; _kubectl_klanker_trust kubectl-klanker_trust --reg add; echo \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(probe)
        .output()
        .expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "--region --register-oidc-provider"
    );
}

fn onboarded_config(world: &World) {
    std::fs::write(
        world.km_config(),
        format!("clusters:\n- name: {CLUSTER}\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/o.example.com\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-{CLUSTER}\n- name: prod-euw1-0\n  oidc_provider_arn: arn:aws:iam::222222222222:oidc-provider/p.example.com\n  namespace: ai-pods\n  service_account: km\n  role_arn: arn:aws:iam::333333333333:role/km-cluster-prod-euw1-0\n"),
    )
    .unwrap();
}

#[test]
fn the_helper_answers_in_cobras_protocol() {
    let world = World::bare();
    onboarded_config(&world);
    let helper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl_complete-klanker_trust");
    // kubectl passes the words after the plugin name, the last one partial.
    let cmd = world.kubectl_bare(); // the environment kubectl would pass on
    let out = world.run_cmd(
        std::process::Command::new(&helper)
            .envs(
                cmd.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .args(["rm", ""]),
    );
    out.assert_ok();
    assert_eq!(out.stdout, format!("{CLUSTER}\nprod-euw1-0\n:4\n"));
    assert!(
        world.moto.calls().is_empty(),
        "completion must not call AWS"
    );
}

#[test]
fn kubectl_completes_the_plugin_through_the_helper() {
    let world = World::bare();
    onboarded_config(&world);
    let complete = |words: &[&str]| {
        let mut cmd = world.kubectl_bare();
        cmd.arg("__complete").arg("klanker-trust").args(words);
        let out = world.run_cmd(&mut cmd);
        out.assert_ok();
        out.stdout
    };
    let subcommands = complete(&[""]);
    for sub in [
        "add",
        "list",
        "rm",
        "verify",
        "policy",
        "completion",
        "version",
    ] {
        assert!(
            subcommands.lines().any(|l| l == sub),
            "{sub} missing:\n{subcommands}"
        );
    }
    assert!(
        complete(&["verify", "pr"]).starts_with("prod-euw1-0\n"),
        "cluster names from km-config.yaml"
    );
    let contexts = complete(&["add", "--context", ""]);
    assert!(
        contexts.lines().any(|l| l == crate::support::CONTEXT),
        "contexts from the kubeconfig:\n{contexts}"
    );
    let profiles = complete(&["add", "--aws-profile", "kl"]);
    assert!(
        profiles.starts_with("klanker-application\n"),
        "profiles from the AWS config:\n{profiles}"
    );
    assert!(
        world.moto.calls().is_empty(),
        "completion must not call AWS"
    );
}

#[test]
fn version_names_the_commit_and_target() {
    let world = World::bare();
    let out = world.run(&["version"]);
    out.assert_ok();
    assert!(
        out.stdout.starts_with(&format!(
            "kubectl-klanker_trust {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("target x86_64") || out.stdout.contains("target aarch64"),
        "{}",
        out.stdout
    );
}
