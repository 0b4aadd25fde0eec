//! Writes the man pages into docs/man/ (or the directory given), one per
//! command, and removes pages of commands that no longer exist.
//! Run through `scripts/gen-man`.

mod pages;

use std::path::PathBuf;

use kubectl_klanker_trust::cli::Cli;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("docs/man"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let pages = pages::render(Cli::command_for_help())?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".1") && !pages.iter().any(|(page, _)| page == name) {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, text) in pages {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
