//! The man pages, one per command, rendered from the CLI definition.
//! Shared by the generator (`scripts/gen-man`) and the test that fails
//! when the pages in docs/man/ are stale, so both render alike.

use clap_mangen::Man;
use clap_mangen::roff::{Roff, roman};

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
    pages.push(page(cmd)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages)?;
    }
    Ok(())
}

/// clap_mangen's page, except the examples (`after_help`, or the full ones
/// `--help` shows, `after_long_help`): it prints them as filled text, which
/// the formatter rewraps mid-command, so a copied example breaks. Here they
/// are a section of their own, set unfilled.
fn page(cmd: &clap::Command) -> std::io::Result<(String, Vec<u8>)> {
    let examples = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|text| text.to_string());
    let man = Man::new(
        cmd.clone()
            .after_help(None::<&str>)
            .after_long_help(None::<&str>),
    );
    let mut text = Vec::new();
    man.render(&mut text)?;
    let mut text = String::from_utf8_lossy(&text).into_owned();
    if let Some(examples) = examples {
        let section = examples_section(&examples);
        match text.find("\n.SH VERSION\n") {
            Some(at) => text.insert_str(at + 1, &section),
            None => text.push_str(&section),
        }
    }
    Ok((man.get_filename(), text.into_bytes()))
}

/// `.SH EXAMPLES` and the lines as they are (`.nf`: no filling, no wrapping).
fn examples_section(examples: &str) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]).control("nf", []);
    // The first line is the help's own "Examples:" / "Example:" heading.
    for line in examples
        .lines()
        .skip_while(|l| l.trim_end().ends_with(':') && !l.starts_with(' '))
    {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    let rendered = roff.render();
    // render() starts with the apostrophe preamble the page already has.
    let body = rendered
        .find(".SH EXAMPLES")
        .map_or(rendered.as_str(), |at| &rendered[at..]);
    body.to_string()
}
