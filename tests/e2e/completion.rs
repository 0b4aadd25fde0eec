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
        ("kubectl-plugin", "kubectl_complete-klanker_trust"),
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

/// Runs the checked-in bash script as bash would on <TAB>: COMP_LINE up to
/// the cursor, the executable found on PATH; what COMPREPLY holds.
fn bash_complete(world: &World, line: &str) -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl-klanker_trust.bash");
    let probe = format!(
        "source {}; COMP_LINE={line:?}; COMP_POINT=${{#COMP_LINE}}; _kubectl_klanker_trust; echo \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let cmd = world.kubectl_bare(); // PATH with the executable, the world's files
    let out = world.run_cmd(
        std::process::Command::new("bash")
            .envs(
                cmd.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .arg("-c")
            .arg(probe),
    );
    out.assert_ok();
    out.stdout.trim().to_string()
}

#[test]
fn bash_script_completes_subcommands_flags_and_names() {
    let world = World::bare();
    onboarded_config(&world);
    assert_eq!(
        bash_complete(&world, "kubectl-klanker_trust add --reg"),
        "--region --register-oidc-provider"
    );
    // Names, as `kubectl klanker-trust rm <TAB>` completes them.
    assert_eq!(
        bash_complete(&world, "kubectl-klanker_trust rm "),
        format!("{CLUSTER} prod-euw1-0")
    );
    assert_eq!(
        bash_complete(&world, "kubectl-klanker_trust delete pr"),
        "prod-euw1-0"
    );
    // bash splits `--flag=value` at `=`: only the value part is offered.
    assert_eq!(
        bash_complete(&world, "kubectl-klanker_trust add --aws-profile=kl"),
        "klanker-application"
    );
    assert!(
        world.moto.calls().is_empty(),
        "completion must not call AWS"
    );
}

#[test]
fn the_plugin_helper_comes_from_the_binary_and_is_what_kubectl_runs() {
    let world = World::bare();
    onboarded_config(&world);
    // A krew install holds only the binary: the helper is printed by it.
    let out = world.run(&["completion", "kubectl-plugin"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("exec kubectl-klanker_trust __complete \"$@\""),
        "{}",
        out.stdout
    );
    let bin = world.path("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("kubectl_complete-klanker_trust");
    std::fs::write(&helper, &out.stdout).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = world.kubectl_bare();
    // Only the printed helper, not the checked-in one, on PATH.
    let path: Vec<_> = std::env::split_paths(
        cmd.get_envs()
            .find(|(k, _)| *k == "PATH")
            .and_then(|(_, v)| v)
            .unwrap(),
    )
    .filter(|p| !p.ends_with("completions"))
    .chain([bin.clone()])
    .collect();
    cmd.env("PATH", std::env::join_paths(path).unwrap());
    cmd.args(["__complete", "klanker-trust", "rm", ""]);
    let out = world.run_cmd(&mut cmd);
    out.assert_ok();
    assert!(
        out.stdout.starts_with(&format!("{CLUSTER}\nprod-euw1-0\n")),
        "{}",
        out.stdout
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
