//! The man pages, one per command, rendered from the CLI definition.
//! Shared by the generator (`scripts/gen-man`) and the test that fails
//! when the pages in docs/man/ are stale, so both render alike.

use clap_mangen::Man;

/// `(file name, roff text)` of the top-level page and of each visible
/// subcommand's, e.g. `kubectl-klanker_trust-add.1`.
pub fn render(cmd: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    // No `help` subcommand page: it only repeats `--help`.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, &mut pages)?;
    pages.sort();
    Ok(pages)
}

fn collect(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    let man = Man::new(cmd.clone());
    let mut text = Vec::new();
    man.render(&mut text)?;
    pages.push((man.get_filename(), text));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages)?;
    }
    Ok(())
}
