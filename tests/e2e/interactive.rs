//! The confirmation prompt, answered in a real pseudo-terminal: tmux runs
//! `kubectl klanker-trust add` with the world's environment, the test reads
//! the screen with `capture-pane`, types with `send-keys`, and learns the
//! exit code from a file the shell writes after the plugin exits. The
//! harness is shared with the MFA prompt tests (credentials.rs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{AddArgs, CLUSTER, ROLE, ROLE_ARN, ROLE_ARN_ANNOTATION, World};

const PROMPT: &str = "Apply these changes?";
const DEADLINE: Duration = Duration::from_secs(60);
/// The pane title the wrapper shell sets after the plugin exits.
const EXITED_TITLE: &str = "klanker-test-exited";

pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `world.kubectl()` as a shell command line: `env -i` with exactly the
/// environment the Command carries (it starts from `env_clear`), plus the
/// pane's TERM, then the program and its arguments.
pub(crate) fn shell_command(world: &World, args: &[&str]) -> String {
    let mut cmd = world.kubectl();
    cmd.args(args);
    let mut words = vec![
        "env".to_string(),
        "-i".to_string(),
        "TERM=\"$TERM\"".to_string(),
    ];
    for (key, value) in cmd.get_envs() {
        let value = value.expect("the world sets, never removes, variables");
        words.push(shell_quote(&format!(
            "{}={}",
            key.to_string_lossy(),
            value.to_string_lossy()
        )));
    }
    words.push(shell_quote(&cmd.get_program().to_string_lossy()));
    words.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    words.join(" ")
}

/// A tmux server of its own (socket in the world's directory, no user
/// config), with one 200x50 session running a command. Killed on drop,
/// also when the test panics.
pub(crate) struct Tmux {
    socket: PathBuf,
    exit_file: PathBuf,
}

impl Tmux {
    pub(crate) fn start(dir: &Path, command: &str) -> Tmux {
        Tmux::start_sized(dir, command, 200)
    }

    /// A session `width` columns wide (50 rows).
    pub(crate) fn start_sized(dir: &Path, command: &str, width: u16) -> Tmux {
        let socket = dir.join("tmux.sock");
        let exit_file = dir.join("exit-code");
        let config = dir.join("tmux.conf");
        // The pane stays readable after the command exits.
        std::fs::write(&config, "set-option -g remain-on-exit on\n").expect("tmux config");
        // The wrapper shell ignores SIGINT and the command runs in a subshell
        // with it restored: a Ctrl-C the plugin has already answered by
        // exiting (two presses can reach it as one) must not kill the
        // wrapper before it records the exit code. Last, the wrapper sets
        // the pane's title through the terminal: tmux reads the pane's
        // output in order, so once the title shows, everything the plugin
        // wrote is on the screen too (the exit file alone comes too early
        // under load: seen in CI, a Ctrl-C message missing from the screen).
        let script = format!(
            "trap '' INT; (trap - INT; {command}); echo $? > {tmp}; mv {tmp} {exit}; \
             printf '\\033]2;{EXITED_TITLE}\\033\\\\'",
            tmp = shell_quote(&format!("{}.tmp", exit_file.display())),
            exit = shell_quote(&exit_file.to_string_lossy()),
        );
        let tmux = Tmux { socket, exit_file };
        let out = tmux
            .cmd()
            .arg("-f")
            .arg(&config)
            .args(["new-session", "-d", "-s", "plugin", "-y", "50", "-x"])
            .arg(width.to_string())
            .arg(&script)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    /// The visible screen and its scrollback, as text.
    pub(crate) fn screen(&self) -> String {
        self.capture(&[])
    }

    /// The screen with its colour escape sequences (`capture-pane -e`).
    pub(crate) fn screen_with_colour(&self) -> String {
        self.capture(&["-e"])
    }

    /// The screen and its scrollback row by row, soft wraps kept: lines
    /// as wide as the pane (progress bars) are not joined into one.
    pub(crate) fn screen_rows(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-S", "-", "-t", "plugin"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self, extra: &[&str]) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", "plugin"])
            .args(extra)
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn send_keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "plugin"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success(), "tmux send-keys {keys:?}");
    }

    pub(crate) fn exit_code(&self) -> Option<i32> {
        let text = std::fs::read_to_string(&self.exit_file).ok()?;
        Some(text.trim().parse().expect("exit code"))
    }

    /// Polls the screen until `done` holds, for at most DEADLINE.
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&Tmux, &str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(self, &screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn wait_for_prompt(&self) -> String {
        self.wait_for("the prompt", |tmux, screen| {
            assert!(
                tmux.exit_code().is_none(),
                "the plugin exited before asking:\n{screen}"
            );
            screen.contains(PROMPT)
        })
    }

    /// Waits for the plugin to exit; its exit code and the final screen,
    /// read once the wrapper's title shows that tmux has drawn all of it.
    pub(crate) fn wait_for_exit(&self) -> (i32, String) {
        self.wait_for("the plugin's output to end", |tmux, _| {
            tmux.exit_code().is_some() && tmux.title() == EXITED_TITLE
        });
        // Captured after the title was seen, not before as `wait_for` does.
        (self.exit_code().unwrap(), self.screen())
    }

    fn title(&self) -> String {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "plugin", "#{pane_title}"])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn start_add(world: &World, extra: &[&str]) -> Tmux {
    let args = AddArgs::cluster().service_account("km").args(extra);
    Tmux::start(world.dir.path(), &shell_command(world, &args))
}

#[test]
fn answering_no_at_the_prompt_changes_nothing() {
    let world = World::new();
    let tmux = start_add(&world, &[]);
    let screen = tmux.wait_for_prompt();
    assert_contains!(screen, "change(s) to apply");
    assert_contains!(screen, &format!("role {ROLE}"));
    assert_eq!(
        world.writes(),
        Vec::<String>::new(),
        "written before the answer"
    );

    tmux.send_keys(&["n", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 1, "{screen}");
    assert_contains!(screen, "aborted at the prompt");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(world.block_on(world.klanker.providers()).is_empty());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert!(!world.km_config().exists(), "km-config.yaml written");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn enter_alone_takes_the_default_no() {
    let world = World::new();
    let tmux = start_add(&world, &[]);
    tmux.wait_for_prompt();
    tmux.send_keys(&["Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 1, "{screen}");
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn answering_yes_at_the_prompt_applies_the_plan() {
    let world = World::new();
    let tmux = start_add(&world, &[]);
    tmux.wait_for_prompt();
    assert_eq!(
        world.writes(),
        Vec::<String>::new(),
        "written before the answer"
    );

    tmux.send_keys(&["y", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_contains!(screen, ROLE_ARN);
    let role = world
        .block_on(world.klanker.role(ROLE))
        .expect("the role exists");
    assert_eq!(role.arn, ROLE_ARN);
    let sa = world
        .kube
        .service_account("ai-pods", "km")
        .expect("the ServiceAccount exists");
    assert_eq!(sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION], ROLE_ARN);
    assert_eq!(world.km_config_yaml()["clusters"][0]["name"], CLUSTER);
}

#[test]
fn dry_run_on_a_terminal_neither_asks_nor_applies() {
    let world = World::new();
    let tmux = start_add(&world, &["--dry-run"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_contains!(screen, "change(s) to apply");
    assert_lacks!(screen, PROMPT);
    assert!(world.block_on(world.klanker.role(ROLE)).is_none());
    assert!(world.kube.service_account("ai-pods", "km").is_none());
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Colour on a terminal, none with NO_COLOR (https://no-color.org), and none
/// when the output is not a terminal (every other test reads plain text).
#[test]
fn the_plan_is_coloured_on_a_terminal_unless_no_color() {
    let world = World::new();
    let tmux = start_add(&world, &["--dry-run"]);
    tmux.wait_for_exit();
    let coloured = tmux.screen_with_colour();
    assert_contains!(coloured, "\u{1b}[", "no colour on a terminal");
    drop(tmux);

    let command = shell_command(&world, &AddArgs::cluster().service_account("km").dry_run())
        .replacen("env -i ", "env -i NO_COLOR=1 ", 1);
    // A directory of its own: a fresh tmux socket and exit-code file.
    let second = world.path("no-color");
    std::fs::create_dir_all(&second).unwrap();
    let tmux = Tmux::start(&second, &command);
    let (code, _) = tmux.wait_for_exit();
    assert_eq!(code, 0);
    let plain = tmux.screen_with_colour();
    assert_contains!(plain, "change(s) to apply");
    assert_lacks!(plain, "\u{1b}[3", "colour despite NO_COLOR");
}

/// `command` with NO_COLOR=1 in its environment (a shell_command line).
fn no_color(command: &str) -> String {
    command.replacen("env -i ", "env -i NO_COLOR=1 ", 1)
}

/// The escape sequences right before the first `needle` on the screen.
fn style_before(screen: &str, needle: &str) -> String {
    let at = screen
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not on the screen:\n{screen}"));
    let before = &screen[..at];
    let start = before.rfind(|c: char| c != '\u{1b}' && !"[;0123456789m".contains(c));
    before[start.map_or(0, |s| s + 1)..].to_string()
}

#[test]
fn errors_are_red_on_a_terminal_unless_no_color() {
    let world = World::new();
    let args = AddArgs::new().name("not a name");
    let tmux = Tmux::start(world.dir.path(), &shell_command(&world, &args));
    let (code, _) = tmux.wait_for_exit();
    assert_eq!(code, 2);
    let style = style_before(&tmux.screen_with_colour(), "error:");
    assert!(style.contains("31"), "`error:` is not red: {style:?}");
    drop(tmux);

    let second = world.path("no-color");
    std::fs::create_dir_all(&second).unwrap();
    let tmux = Tmux::start(&second, &no_color(&shell_command(&world, &args)));
    let (code, _) = tmux.wait_for_exit();
    assert_eq!(code, 2);
    let screen = tmux.screen_with_colour();
    assert!(screen.contains("error:"), "{screen}");
    assert!(
        !screen.contains("\u{1b}[3"),
        "colour despite NO_COLOR:\n{screen}"
    );
}

#[test]
fn fail_lines_are_red_on_a_terminal_unless_no_color() {
    let world = World::new();
    world.run(&AddArgs::cluster().yes()).assert_ok();
    world
        .kube
        .admin(&["delete", "serviceaccount", "km", "-n", "ai-pods"], None);
    let args = ["verify", CLUSTER];
    let tmux = Tmux::start(world.dir.path(), &shell_command(&world, &args));
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 4, "{screen}");
    let coloured = tmux.screen_with_colour();
    let style = style_before(&coloured, "FAIL ");
    assert!(
        style.contains("31"),
        "FAIL is not red: {style:?}\n{coloured}"
    );
    // OK lines stay plain.
    let ok = style_before(&coloured, "OK   role");
    assert!(!ok.contains("31"), "OK painted red: {ok:?}");
    drop(tmux);

    let second = world.path("no-color");
    std::fs::create_dir_all(&second).unwrap();
    let tmux = Tmux::start(&second, &no_color(&shell_command(&world, &args)));
    let (code, _) = tmux.wait_for_exit();
    assert_eq!(code, 4);
    let screen = tmux.screen_with_colour();
    assert!(screen.contains("FAIL "), "{screen}");
    assert!(
        !screen.contains("\u{1b}[3"),
        "colour despite NO_COLOR:\n{screen}"
    );
}

#[test]
fn the_plan_header_wraps_to_the_terminal_width() {
    let world = World::new();
    let command = shell_command(&world, &AddArgs::cluster().service_account("km").dry_run());
    let tmux = Tmux::start_sized(world.dir.path(), &command, 80);
    let (code, _) = tmux.wait_for_exit();
    assert_eq!(code, 0);
    // capture-pane -J joins the terminal's own soft wraps back into one
    // line, so a header the plugin did not wrap would come back whole.
    let screen = tmux.screen();
    let lines: Vec<&str> = screen.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("Plan for `"))
        .unwrap_or_else(|| panic!("no plan header:\n{screen}"));
    let header: Vec<&str> = lines[first..]
        .iter()
        .take_while(|l| !l.starts_with("  IAM") && !l.starts_with("  cluster"))
        .copied()
        .collect();
    assert!(header.len() > 1, "the header is one line:\n{screen}");
    for line in &header {
        assert!(
            line.trim_end().chars().count() <= 80,
            "{line:?} is wider than 80:\n{screen}"
        );
    }
    assert!(
        header[1..].iter().all(|l| l.starts_with("  ")),
        "{header:#?}"
    );
    let words: Vec<&str> = header.iter().map(|l| l.trim()).collect();
    assert!(
        words
            .join(" ")
            .contains(", trust system:serviceaccount:ai-pods:km):"),
        "{header:#?}"
    );
}

/// `rm A B` on a terminal: both removal plans, then one prompt that asks
/// for the number of onboardings typed. A wrong number removes nothing;
/// typing it removes both, and only them.
#[test]
fn rm_of_several_names_shows_every_plan_and_asks_once_for_their_number() {
    let fleet = crate::support::fleet::Fleet::new(4);
    let world = &fleet.world;
    world.run(&["add", "--all-contexts", "--yes"]).assert_ok();
    let (a, b) = (&fleet.clusters[0], &fleet.clusters[1]);
    let prompt = format!(
        "This removes 2 onboardings ({}, {}). Type 2 (or yes) to confirm",
        a.name, b.name
    );
    let asked = |tmux: &Tmux, screen: &str| {
        assert!(
            tmux.exit_code().is_none(),
            "the plugin exited before asking:\n{screen}"
        );
        screen.contains(&prompt)
    };
    let rm = shell_command(world, &["rm", &a.name, &b.name]);

    // A wrong number: aborted, nothing removed.
    fleet.clear_calls();
    let tmux = Tmux::start(world.dir.path(), &rm);
    let screen = tmux.wait_for("the count prompt", asked);
    for c in [a, b] {
        assert_contains!(screen, &format!("Removal plan for `{}`", c.name));
        assert_contains!(screen, &format!("role {}", c.role_name()));
    }
    assert_eq!(screen.matches(&prompt).count(), 1, "{screen}");
    assert_eq!(
        fleet.writes(),
        Vec::<String>::new(),
        "written before the answer"
    );
    tmux.send_keys(&["3", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 1, "{screen}");
    assert_contains!(screen, "aborted at the prompt");
    assert_eq!(screen.matches(&prompt).count(), 1, "asked again:\n{screen}");
    assert_eq!(
        fleet.writes(),
        Vec::<String>::new(),
        "written after a wrong answer"
    );
    assert!(fleet.role(0).is_some() && fleet.role(1).is_some());
    drop(tmux);
    // The next session's shell writes its own exit code.
    std::fs::remove_file(world.dir.path().join("exit-code")).expect("the first exit code");

    // The number: both removed, and nothing else.
    let tmux = Tmux::start(world.dir.path(), &rm);
    tmux.wait_for("the count prompt", asked);
    tmux.send_keys(&["2", "Enter"]);
    let (code, screen) = tmux.wait_for_exit();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(screen.matches(&prompt).count(), 1, "asked again:\n{screen}");
    for c in [a, b] {
        let row = screen
            .lines()
            .skip_while(|l| !l.starts_with("NAME "))
            .find(|l| l.split_whitespace().next() == Some(c.name.as_str()))
            .unwrap_or_else(|| panic!("no summary row for {}:\n{screen}", c.name));
        assert!(row.ends_with("removed"), "{row}\n{screen}");
    }
    assert!(fleet.role(0).is_none() && fleet.role(1).is_none());
    assert!(fleet.role(2).is_some() && fleet.role(3).is_some());
    assert!(
        fleet
            .service_account(1, crate::support::fleet::NAMESPACE, "km")
            .is_none()
    );
}
