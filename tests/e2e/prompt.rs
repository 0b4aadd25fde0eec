//! The confirmation prompt reads a whole line, rm asks for the name, and
//! Ctrl-C at the prompt or while steps run tells the truth (issue 15), in
//! a real pseudo-terminal (see interactive.rs for the tmux harness).

use crate::interactive::{Tmux, shell_command};
use crate::support::{AddArgs, CLUSTER, ROLE, World};

fn start(world: &World, args: &[&str]) -> Tmux {
    Tmux::start(world.dir.path(), &shell_command(world, args))
}

#[test]
fn yes_is_read_whole_on_enter_and_nothing_reaches_the_shell() {
    let world = World::new();
    let tmux = start(&world, &AddArgs::cluster());
    tmux.wait_for_prompt();
    // Each key alone: a one-key prompt would act on the `y`.
    tmux.send_keys(&["y"]);
    tmux.send_keys(&["e"]);
    tmux.send_keys(&["s"]);
    assert!(
        world.block_on(world.klanker.role(ROLE)).is_none(),
        "applied before Enter"
    );
    tmux.send_keys(&["Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
    assert_lacks!(screen, "command not found");
}

#[test]
fn ctrl_c_at_the_prompt_exits_130_and_changes_nothing() {
    let world = World::new();
    let tmux = start(&world, &AddArgs::cluster());
    tmux.wait_for_prompt();
    tmux.send_keys(&["C-c"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 130, "{screen}");
    assert_contains!(screen, "interrupted at the prompt; nothing was changed");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(!world.km_config().exists());
}

#[test]
fn rm_asks_for_the_name_to_be_typed() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();

    // A plain y is not the name: nothing is removed.
    let tmux = start(&world, &["rm", CLUSTER]);
    tmux.wait_for("the rm prompt", |_, s| s.contains("Type its name"));
    tmux.send_keys(&["y", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 1, "{screen}");
    assert_contains!(screen, "aborted at the prompt");
    assert!(world.block_on(world.klanker.role(ROLE)).is_some());
    drop(tmux);

    // A tmux server of its own in another directory (the first one's socket
    // may still be going away).
    let again = world.path("again");
    std::fs::create_dir_all(&again).unwrap();
    let tmux = Tmux::start(&again, &shell_command(&world, &["rm", CLUSTER]));
    tmux.wait_for("the rm prompt", |_, s| s.contains("Type its name"));
    tmux.send_keys(&[CLUSTER, "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
}

#[test]
fn a_double_ctrl_c_leaves_no_spinner_on_the_screen() {
    let world = World::new();
    let hang = world.moto.hang("CreateRole", world.dir.path());
    let tmux = start(&world, &AddArgs::cluster().yes());
    hang.wait_arrived();
    // The spinner is drawn while the call is held.
    tmux.wait_for("the spinner", |_, s| s.contains("/6]") || s.contains("/5]"));
    tmux.send_keys(&["C-c"]);
    tmux.send_keys(&["C-c"]);
    let (code, screen) = tmux.wait_for_exit();
    hang.release();
    assert_eq!(code, 130, "{screen}");
    assert_lacks!(screen, "/6]");
    assert_lacks!(screen, "/5]");
}

/// Issue 22, item 2: an object the plan found missing is created with a
/// create, so one someone made while the prompt waited is never merged
/// into and claimed (and `rm` never deletes it as ours).
#[test]
fn a_service_account_made_during_the_prompt_is_left_alone() {
    let world = World::new();
    let tmux = start(&world, &AddArgs::cluster());
    tmux.wait_for_prompt();
    world
        .kube
        .admin(&["create", "serviceaccount", "km", "-n", "ai-pods"], None);
    tmux.send_keys(&["yes", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_ne!(code, 0, "{screen}");
    assert_contains!(
        screen,
        "ServiceAccount ai-pods/km was created by someone else"
    );
    let sa = world.kube.service_account("ai-pods", "km").expect("theirs");
    assert!(sa["metadata"]["annotations"].is_null(), "{sa}");
    let managers: Vec<&str> = sa["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(!managers.contains(&"kubectl-klanker-trust"), "{sa}");
    drop(tmux);

    // Converges on a re-run as for any ServiceAccount of someone else's,
    // and rm then keeps it.
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world
        .run(&["rm", crate::support::CLUSTER, "--yes"])
        .assert_ok();
    assert!(world.kube.service_account("ai-pods", "km").is_some());
}

#[test]
fn a_config_map_made_during_the_prompt_is_left_alone() {
    let world = World::new();
    world.block_on(world.cluster.create_policy("km-irsa-boundary"));
    let tmux = start(&world, &AddArgs::cluster().flag("--mode", "chained"));
    tmux.wait_for_prompt();
    world.kube.admin(
        &[
            "create",
            "configmap",
            "km-aws-config",
            "-n",
            "ai-pods",
            "--from-literal=config=theirs",
        ],
        None,
    );
    tmux.send_keys(&["yes", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_ne!(code, 0, "{screen}");
    assert_contains!(
        screen,
        "ConfigMap ai-pods/km-aws-config was created by someone else"
    );
    let cm = world
        .kube
        .config_map("ai-pods", "km-aws-config")
        .expect("theirs");
    assert_eq!(cm["data"], serde_json::json!({"config": "theirs"}), "{cm}");
    assert!(cm["metadata"]["annotations"].is_null(), "{cm}");
}

/// Issue 26, item 4: `-o json` on a terminal shows no plan, so it asks
/// nothing: it plans only and says how to apply.
#[test]
fn machine_output_on_a_terminal_asks_nothing_and_plans_only() {
    let world = World::new();
    let tmux = start(&world, &AddArgs::cluster().output("json"));
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_contains!(screen, "shows no plan, so nothing is asked: planning only");
    assert_lacks!(screen, "Apply these changes?");
    assert_eq!(world.writes(), Vec::<String>::new());
}
