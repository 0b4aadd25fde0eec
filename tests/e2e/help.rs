//! The help as an 80-column terminal shows it, held in checked-in files
//! under tests/help/ (as man.rs holds the man pages): a change to the
//! help shows in review, and `-h` stays short. A plain expected file, not
//! a snapshot crate: the help is rendered in-process from the same
//! definition the binary parses with, so no new dependency is needed.
//! After a deliberate change: `KLANKER_UPDATE_HELP=1 cargo test --test e2e help`
//! rewrites the files; review and commit them.

use std::path::PathBuf;

use kubectl_klanker_trust::cli::Cli;

const WIDTH: usize = 80;

/// The short help a first look needs fits one screen (50 rows).
const SCREEN_ROWS: usize = 50;

/// `(file name, rendered text)` of `-h` for the top level and each
/// command, and of `add --help`.
fn rendered() -> Vec<(String, String, Option<String>)> {
    let mut cmd = Cli::command_for_help().term_width(WIDTH);
    cmd.build();
    let mut all = vec![(
        "kubectl-klanker_trust-h.txt".to_string(),
        cmd.render_help().to_string(),
        cmd.get_after_help().map(|t| t.to_string()),
    )];
    for sub in cmd.get_subcommands_mut() {
        let name = sub.get_name().to_string();
        if name == "help" {
            continue;
        }
        let mut sub = sub.clone().term_width(WIDTH);
        let after = sub.get_after_help().map(|t| t.to_string());
        all.push((
            format!("{name}-h.txt"),
            sub.render_help().to_string(),
            after,
        ));
        if name == "add" {
            let long = sub.get_after_long_help().map(|t| t.to_string());
            all.push((
                format!("{name}-help.txt"),
                sub.render_long_help().to_string(),
                long,
            ));
        }
    }
    all
}

#[test]
fn help_matches_its_checked_in_text_fits_80_columns_and_never_wraps_an_example() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let update = std::env::var_os("KLANKER_UPDATE_HELP").is_some();
    for (name, text, examples) in rendered() {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).expect("tests/help");
            std::fs::write(&path, &text).expect("write the help");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text == checked_in,
            "tests/help/{name} differs from the help: review, then rerun with KLANKER_UPDATE_HELP=1 and commit\n{text}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "{name}: {line:?}");
        }
        // Each example line comes out as written: clap rewrapped none, so
        // a copied command is whole.
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        for line in examples.iter().flat_map(|e| e.lines()) {
            assert!(
                lines.contains(&line.trim_end()),
                "{name}: the example line {line:?} was rewrapped:\n{text}"
            );
        }
    }
}

#[test]
fn the_short_help_of_the_first_commands_fits_one_screen() {
    for (name, text, _) in rendered() {
        if [
            "kubectl-klanker_trust-h.txt",
            "add-h.txt",
            "rm-h.txt",
            "list-h.txt",
            "verify-h.txt",
            "policy-h.txt",
        ]
        .contains(&name.as_str())
        {
            let rows = text.lines().count();
            assert!(rows <= SCREEN_ROWS, "{name} is {rows} lines:\n{text}");
        }
    }
    let add = rendered()
        .into_iter()
        .find(|(name, ..)| name == "add-h.txt")
        .expect("add -h")
        .1;
    // Grouped: the questions `add` asks, each under its heading.
    for heading in [
        "What to trust:",
        "Where it lives:",
        "Safety:",
        "Output:",
        "Credentials:",
    ] {
        assert!(add.contains(heading), "{heading}\n{add}");
    }
}
