//! The man pages in docs/man/ are the ones the CLI definition renders
//! today (as completion.rs holds the completion scripts to theirs).

use std::path::Path;

use kubectl_klanker_trust::cli::Cli;

#[path = "../../examples/gen_man/pages.rs"]
mod pages;

#[test]
fn checked_in_man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let pages = pages::render(Cli::command_for_help()).expect("rendering into memory");
    for (name, text) in &pages {
        let checked_in = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(
            *text == checked_in,
            "docs/man/{name} is stale: run scripts/gen-man and commit"
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("docs/man exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".1"))
        .collect();
    on_disk.sort();
    let rendered: Vec<String> = pages.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(
        on_disk, rendered,
        "docs/man/ holds a page no command renders (or lacks one): run scripts/gen-man and commit"
    );
}
