//! Errors a person can act on (issue 15): which profile has no
//! credentials and how to fix it, which server and context are
//! unreachable, which variable or flag named a missing kubeconfig, and why
//! `-n '*'` puts the ServiceAccount where it does.

use crate::support::{AddArgs, CLUSTER, World};

#[test]
fn missing_credentials_name_the_profile_its_source_and_the_fix() {
    let world = World::new();
    let out = world.run_cmd(
        world
            .kubectl()
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .args(["list"]),
    );
    assert_ne!(out.code, 0);
    assert_contains!(out.stderr, "`klanker-application`");
    assert_contains!(out.stderr, "`base`");
    assert_contains!(out.stderr, "aws configure --profile base");
    assert_lacks!(out.stderr, "ispatch");
    assert_lacks!(out.stderr, "provider initialization error");
    // Said once, also by add.
    let out = world.run_cmd(
        world
            .kubectl()
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .args(AddArgs::cluster().yes()),
    );
    assert_ne!(out.code, 0);
    assert_eq!(
        out.stderr.matches("aws configure --profile base").count(),
        1,
        "{}",
        out.stderr
    );
}

/// Issue 26: the fix named ~/.aws/config even when AWS_CONFIG_FILE (as in
/// every test world) points elsewhere.
#[test]
fn an_unknown_profile_points_at_the_config_file_actually_read() {
    let world = World::new();
    let out = world.run(&AddArgs::cluster().flag("--aws-profile", "no-such-profile"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let config = world.path("aws-config");
    assert_contains!(out.stderr, "`no-such-profile`");
    assert_contains!(out.stderr, &format!("Add it to {}", config.display()));
    assert_lacks!(out.stderr, "~/.aws/config");
}

#[test]
fn an_unreachable_api_server_is_named_with_its_context() {
    let world = World::new();
    let url = world.kube.url();
    world.kube.stop();
    let out = world.run(&AddArgs::cluster().yes());
    assert_ne!(out.code, 0);
    assert_contains!(out.stderr, &format!("The connection to the server {url}"));
    assert_contains!(out.stderr, "(context ");
    assert_contains!(out.stderr, "is the cluster reachable from here?");
    assert_lacks!(out.stderr, "tcp connect error");
    assert_lacks!(out.stderr, "client error (Connect)");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_missing_kubeconfig_says_which_variable_or_flag_named_it() {
    let world = World::new();
    let add = AddArgs::cluster().yes();
    let out = world.run_cmd(world.kubectl().env("KUBECONFIG", "/nonexistent").args(&add));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_contains!(out.stderr, "KUBECONFIG names /nonexistent");
    assert_eq!(
        out.stderr.matches("/nonexistent").count(),
        1,
        "{}",
        out.stderr
    );
    assert_lacks!(out.stderr, "or set KUBECONFIG");
    let mut args = vec!["--kubeconfig", "/nonexistent"];
    args.extend(add);
    let out = world.run(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_contains!(out.stderr, "--kubeconfig names /nonexistent");
}

#[test]
fn a_wildcard_namespace_says_where_the_service_account_goes_and_how_to_choose() {
    let world = World::new();
    let out = world.run(&AddArgs::new().name(CLUSTER).flag("-n", "*").dry_run());
    out.assert_ok();
    // The world's context namespace is ai-pods.
    assert_contains!(out.stdout, "in the context's namespace `ai-pods`");
    assert_contains!(
        out.stdout,
        "kubectl config set-context --current --namespace=NS"
    );
}

/// Issue 26, item 13: a `--context` that is not in the kubeconfig is the
/// same bad input for `list` as for `add`: exit 2, the context named.
#[test]
fn an_unknown_context_is_bad_input_for_list_as_for_add() {
    let world = World::new();
    let add = world.run(&AddArgs::new().yes().args(&["--context", "nope"]));
    assert_eq!(add.code, 2, "{}", add.stderr);
    for args in [
        &["list", "--context", "nope"][..],
        &["list", "--context", "nope", "-o", "json"],
    ] {
        let list = world.run(args);
        assert_eq!(list.code, 2, "{args:?}: {}", list.stderr);
        assert_contains!(list.stderr, "context `nope`");
        assert_eq!(list.stdout, "");
    }
    // No context named: a kubeconfig without it still lists.
    world.run(&["list"]).assert_ok();
}
