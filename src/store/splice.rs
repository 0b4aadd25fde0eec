//! Writing km-config.yaml back by replacing the bytes of its top-level
//! `clusters:` block alone. The other keys belong to other tools, so their
//! comments, anchors, quoting and scalars (`version: 1.10`) stay byte for
//! byte. A shape whose `clusters:` block cannot be found for certain is
//! refused, and every result is read back and compared before it is used.

use serde_yaml::{Mapping, Value};

/// The one key this tool owns.
const KEY: &str = "clusters";

/// `original` (the file's text, without its byte-order mark) with its
/// top-level `clusters:` block replaced by `root`'s `clusters:`, or that
/// block appended when the file has none. `root` is the whole document as
/// it must read back; the error says why the file cannot be spliced.
pub fn splice(original: &str, root: &Mapping) -> Result<String, String> {
    if root.contains_key("<<") {
        return Err(
            "a top-level merge key (`<<`) may supply `clusters:`, and only a `clusters:` key written out can be rewritten".into(),
        );
    }
    let crlf = original.contains("\r\n");
    let block = render(root, crlf)?;
    let found: Vec<Block> = blocks(original)?
        .into_iter()
        .filter(|b| b.clusters)
        .collect();
    let text = match found[..] {
        [] => append(original, &block, crlf),
        [one] => format!("{}{block}{}", &original[..one.start], &original[one.end..]),
        _ => return Err("`clusters:` is written more than once".into()),
    };
    read_back(&text, root)?;
    Ok(text)
}

/// A top-level key's lines: from its key line to its value's last line
/// (comment and blank lines at column 0 after the value are not its own).
#[derive(Debug, Clone, Copy)]
struct Block {
    start: usize,
    end: usize,
    clusters: bool,
}

/// What a line of the file is, by its first characters.
enum Line {
    /// Blank, or a comment at column 0: nobody's value.
    Gap,
    /// Indented, or a sequence item at column 0: the value of the key above.
    Content,
    /// A key at column 0.
    Key,
    /// `---`, `...` or a `%` directive.
    Marker,
}

fn kind(line: &str) -> Result<Line, String> {
    let marker = |m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    };
    Ok(match line.chars().next() {
        None => Line::Gap,
        Some('#') => Line::Gap,
        // YAML's white space is space and tab: a no-break space (which
        // `str::trim` would take) is a value's content.
        Some(' ' | '\t') if line.trim_matches([' ', '\t']).is_empty() => Line::Gap,
        Some(' ' | '\t') => Line::Content,
        Some('-') if marker("-") => Line::Content,
        Some('%') => Line::Marker,
        _ if marker("---") || marker("...") => {
            let rest = line[3..].trim_start();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err("the document starts on its `---` line".into());
            }
            Line::Marker
        }
        // A key, or a flow-style top level (`{...}`), which `read_back` refuses.
        Some(_) => Line::Key,
    })
}

/// YAML 1.1's line breaks, as the parser (and the emitter) take them: a
/// key after `\u{2028}` starts a line of its own.
const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// `text`'s lines, each with its line break (`\r\n` one break).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = match rest.find(BREAKS) {
            None => rest.len(),
            Some(at) if rest[at..].starts_with("\r\n") => at + 2,
            Some(at) => at + rest[at..].chars().next().map_or(1, char::len_utf8),
        };
        let (line, after) = rest.split_at(end);
        rest = after;
        Some(line)
    })
}

/// The top-level keys' blocks, in file order.
fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut offset = 0;
    for raw in lines(text) {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(BREAKS);
        match kind(line)? {
            Line::Gap => {}
            Line::Key => blocks.push(Block {
                start,
                end: offset,
                clusters: is_clusters(line)?,
            }),
            Line::Content => match blocks.last_mut() {
                Some(block) => block.end = offset,
                None => return Err("the top level does not start with a key".into()),
            },
            // Only before the first key: after it, a second document or a
            // document end, where nothing may be appended.
            Line::Marker if blocks.is_empty() => {}
            Line::Marker => return Err("a document marker (`---`, `...`) follows the keys".into()),
        }
    }
    Ok(blocks)
}

/// Whether a key line is `clusters:` (plain or quoted); refused when its
/// value is an anchor or an alias, which other keys may share.
fn is_clusters(line: &str) -> Result<bool, String> {
    let rest = ["\"clusters\"", "'clusters'", KEY]
        .iter()
        .find_map(|key| line.strip_prefix(key));
    let Some(value) = rest.and_then(|r| r.trim_start_matches([' ', '\t']).strip_prefix(':')) else {
        return Ok(false);
    };
    if !(value.is_empty() || value.starts_with([' ', '\t'])) {
        return Ok(false);
    }
    match value.trim_start().chars().next() {
        Some('&') => Err("`clusters:` carries an anchor that other keys may use".into()),
        Some('*') => Err("`clusters:` is an alias of another node".into()),
        _ => Ok(true),
    }
}

/// `clusters:` and its list, as the block that replaces the old one.
fn render(root: &Mapping, crlf: bool) -> Result<String, String> {
    let mut only = Mapping::new();
    let list = root
        .get(KEY)
        .cloned()
        .unwrap_or(Value::Sequence(Vec::new()));
    only.insert(Value::from(KEY), list);
    let text = serde_yaml::to_string(&only).map_err(|e| e.to_string())?;
    Ok(if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    })
}

fn append(original: &str, block: &str, crlf: bool) -> String {
    let newline = if crlf { "\r\n" } else { "\n" };
    let gap = match original.is_empty() || original.ends_with('\n') {
        true => "",
        false => newline,
    };
    format!("{original}{gap}{block}")
}

/// The spliced text must read back as exactly the document meant.
fn read_back(text: &str, root: &Mapping) -> Result<(), String> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Mapping(read)) if read == *root => Ok(()),
        _ => Err("its `clusters:` block could not be told apart from the rest of the file (a top level in flow style `{...}`, or a value continued at column 0)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(text: &str, clusters: Value) -> Mapping {
        let mut root: Mapping = serde_yaml::from_str(text).unwrap_or_default();
        root.insert(Value::from(KEY), clusters);
        root
    }

    fn list(names: &[&str]) -> Value {
        Value::Sequence(
            names
                .iter()
                .map(|n| serde_yaml::from_str(&format!("{{name: {n}}}")).unwrap())
                .collect(),
        )
    }

    const FILE: &str = "# owned by other tools\nversion: 1.10 # not 1.1\nbase: &b {region: us-east-1}\n\nclusters: # ours\n  - name: old\n    # a comment inside\n# about next\nother: *b\nquoted: 'x'\n";

    #[test]
    fn only_the_clusters_block_is_replaced() {
        let text = splice(FILE, &root_of(FILE, list(&["new"]))).unwrap();
        assert_eq!(
            text,
            "# owned by other tools\nversion: 1.10 # not 1.1\nbase: &b {region: us-east-1}\n\nclusters:\n- name: new\n# about next\nother: *b\nquoted: 'x'\n"
        );
    }

    #[test]
    fn a_missing_block_is_appended_and_line_endings_kept() {
        let text = splice("a: 1 # c", &root_of("a: 1", list(&["x"]))).unwrap();
        assert_eq!(text, "a: 1 # c\nclusters:\n- name: x\n");
        let crlf = "a: 1\r\nclusters: []\r\nb: 2\r\n";
        let text = splice(crlf, &root_of(crlf, list(&["x"]))).unwrap();
        assert_eq!(text, "a: 1\r\nclusters:\r\n- name: x\r\nb: 2\r\n");
        let text = splice("--- # c\n", &root_of("", list(&[]))).unwrap();
        assert_eq!(text, "--- # c\nclusters: []\n");
    }

    #[test]
    fn quoted_keys_and_column_zero_lists_are_found() {
        let file = "\"clusters\":\n- name: a\n-   name: b\nz: 1\n";
        let text = splice(file, &root_of(file, list(&["c"]))).unwrap();
        assert_eq!(text, "clusters:\n- name: c\nz: 1\n");
        // Another key that begins with the word is not ours.
        let file = "clusters_old: 1\n";
        let text = splice(file, &root_of(file, list(&["c"]))).unwrap();
        assert_eq!(text, "clusters_old: 1\nclusters:\n- name: c\n");
    }

    #[test]
    fn a_line_of_indentation_and_a_no_break_space_stays_in_its_value() {
        let mut entry = Mapping::new();
        entry.insert("name".into(), "a".into());
        entry.insert("role_arn".into(), "\n\u{a0}".into());
        let old = root_of("", Value::Sequence(vec![Value::Mapping(entry)]));
        let file = format!("{}z: 1\n", serde_yaml::to_string(&old).unwrap());
        let text = splice(&file, &root_of(&file, list(&["c"]))).unwrap();
        assert_eq!(text, "clusters:\n- name: c\nz: 1\n");
    }

    #[test]
    fn a_key_after_a_yaml_1_1_line_break_starts_its_own_line() {
        // The emitter ends a kept `\u{2028}` with no `\n`: the parser reads
        // the key after it as the next line, and so must the splice.
        let mut entry = Mapping::new();
        entry.insert("role_arn".into(), "\n\u{2028}".into());
        let old = root_of("", Value::Sequence(vec![Value::Mapping(entry)]));
        let file = format!("{}z: 1\n", serde_yaml::to_string(&old).unwrap());
        assert!(!file.contains("\u{2028}\n"), "{file:?}");
        let text = splice(&file, &root_of(&file, list(&["c"]))).unwrap();
        assert!(text.starts_with("clusters:\n- name: c\n"), "{text:?}");
        assert!(text.ends_with("z: 1\n"), "{text:?}");
        let lines: Vec<&str> = lines("a\r\nb\u{85}c\rd").collect();
        assert_eq!(lines, ["a\r\n", "b\u{85}", "c\r", "d"]);
    }

    #[test]
    fn shapes_that_cannot_be_spliced_for_certain_are_refused() {
        for (file, why) in [
            ("{a: 1, clusters: []}\n", "flow style"),
            ("clusters: &c []\nother: *c\n", "anchor"),
            ("base: &c []\nclusters: *c\n", "alias"),
            ("base: &c {clusters: []}\n<<: *c\n", "merge key"),
            ("--- {a: 1}\n", "`---` line"),
            ("a: 1\n...\n", "document marker"),
            ("a: \"x\nclusters: y\"\n", "told apart"),
        ] {
            let root = match serde_yaml::from_str::<Value>(file) {
                Ok(Value::Mapping(m)) => {
                    let mut m = m;
                    m.insert(Value::from(KEY), list(&["n"]));
                    m
                }
                _ => root_of("", list(&["n"])),
            };
            let err = splice(file, &root).unwrap_err();
            assert!(err.contains(why), "{file:?}: {err}");
        }
    }
}
