//! store.rs: km-config.yaml text, and upserts that keep every other key
//! and entry.

use kubectl_klanker_trust::store::{ClusterEntry, Document, Store};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::cases;
use crate::strategies::{short_text, yamlish};

fn entry_strategy() -> impl Strategy<Value = ClusterEntry> {
    let field = || {
        prop_oneof![
            2 => "[a-z0-9-]{1,12}",
            1 => select(&[
                "~", "null", "Null", "yes", "no", "on", "off", "true", "0x1F", "0o17", "1e3", "+1", "-1",
                ".inf", ".nan", "1_000", "12:30", "2001-12-14", "- a", ": b", "#c", "'", "\"", "&a",
                "*a", "!t", "|", ">", "%", "@", "`", "[]", "{}", " lead", "trail ", "", "a\nb", "\t",
                "=", "<<", "?", "---", "...", "0", "00", "010", "1.0", "é",
            ][..]).prop_map(String::from),
            1 => short_text(),
        ]
    };
    (field(), field(), field(), field(), field()).prop_map(
        |(name, oidc_provider_arn, namespace, service_account, role_arn)| ClusterEntry {
            name,
            oidc_provider_arn,
            namespace,
            service_account,
            role_arn,
            ..ClusterEntry::default()
        },
    )
}

fn entry_yaml(e: &ClusterEntry) -> serde_yaml::Value {
    serde_yaml::to_value(e).expect("an entry serializes")
}

/// YAML values for the other top-level keys of km-config.yaml (no floats
/// that do not compare equal to themselves).
fn yaml_value(complex_keys: bool) -> impl Strategy<Value = serde_yaml::Value> {
    use serde_yaml::Value as Y;
    let leaf = prop_oneof![
        Just(Y::Null),
        any::<bool>().prop_map(Y::Bool),
        any::<i64>().prop_map(|n| Y::Number(n.into())),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Y::Number(f.into())),
        prop_oneof![
            select(
                &[
                    "~", "null", "yes", "0x1F", "1e3", "- a", ": b", "#c", "&a", "*a", "!t", "<<",
                    "---", "é"
                ][..]
            )
            .prop_map(String::from),
            short_text(),
        ]
        .prop_map(Y::String),
    ];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Y::Sequence),
            vec((yaml_key(complex_keys), inner.clone()), 0..5)
                .prop_map(|kv| Y::Mapping(kv.into_iter().collect())),
            // One tag per node: YAML cannot write a tag on a tagged node.
            ("[a-z]{1,6}", inner)
                .prop_filter("no nested tags", |(_, v)| !matches!(v, Y::Tagged(_)))
                .prop_map(|(tag, value)| {
                    Y::Tagged(Box::new(serde_yaml::value::TaggedValue {
                        tag: serde_yaml::value::Tag::new(tag),
                        value,
                    }))
                }),
        ]
    })
}

/// Mapping keys: scalars and sequences of scalars, plus mappings and tagged
/// scalars when `complex` (those are the keys serde_yaml cannot always write
/// back: see `a_parseable_km_config_is_never_emptied`).
fn yaml_key(complex: bool) -> BoxedStrategy<serde_yaml::Value> {
    use serde_yaml::Value as Y;
    let scalar = prop_oneof![
        6 => "[a-z_]{1,8}".prop_map(Y::String),
        2 => short_text().prop_map(Y::String),
        1 => any::<i64>().prop_map(|n| Y::Number(n.into())),
        1 => any::<bool>().prop_map(Y::Bool),
        1 => Just(Y::Null),
    ];
    let simple = prop_oneof![
        10 => scalar.clone(),
        1 => vec(scalar.clone(), 0..3).prop_map(Y::Sequence),
    ];
    if !complex {
        return simple.boxed();
    }
    prop_oneof![
        4 => simple,
        1 => vec(("[a-z]{1,4}".prop_map(Y::String), scalar.clone()), 0..3)
            .prop_map(|kv| Y::Mapping(kv.into_iter().collect())),
        1 => ("[a-z]{1,6}", scalar).prop_map(|(tag, value)| {
            Y::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: serde_yaml::value::Tag::new(tag),
                value,
            }))
        }),
    ]
    .boxed()
}

/// Writes a YAML value in flow style (`{? k : v}`), which can spell every
/// key, including the mapping and tagged keys serde_yaml's emitter trips on.
fn flow_yaml(value: &serde_yaml::Value) -> String {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => "null".into(),
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        Y::String(s) => {
            // Double-quoted, every character outside printable ASCII escaped.
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' | '\\' => out.extend(['\\', c]),
                    ' '..='~' => out.push(c),
                    c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push_str(&format!("\\U{:08x}", c as u32)),
                }
            }
            out.push('"');
            out
        }
        Y::Sequence(items) => format!(
            "[{}]",
            items.iter().map(flow_yaml).collect::<Vec<_>>().join(", ")
        ),
        Y::Mapping(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("? {} : {}", flow_yaml(k), flow_yaml(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Y::Tagged(tagged) => format!("{} {}", tagged.tag, flow_yaml(&tagged.value)),
    }
}

/// Writes a km-config.yaml with `others` top-level keys and `existing`
/// entries (the first one carrying `extra_keys`), upserts `entry` (under an
/// existing name when `reuse_name`), and checks what comes back.
fn check_upsert(
    others: Vec<(serde_yaml::Value, serde_yaml::Value)>,
    existing: Vec<ClusterEntry>,
    extra_keys: Vec<(String, serde_yaml::Value)>,
    entry: ClusterEntry,
    reuse_name: Option<prop::sample::Index>,
    flow: bool,
    complex: bool,
) -> Result<(), TestCaseError> {
    use serde_yaml::Value as Y;
    const ENTRY_FIELDS: [&str; 5] = [
        "name",
        "oidc_provider_arn",
        "namespace",
        "service_account",
        "role_arn",
    ];
    let mut root = serde_yaml::Mapping::new();
    for (k, v) in others {
        if k != "clusters" {
            root.insert(k, v);
        }
    }
    let mut listed: Vec<Y> = existing.iter().map(entry_yaml).collect();
    // An entry may carry keys the km tool added; they stay.
    if let (Some(Y::Mapping(first)), false) = (listed.first_mut(), extra_keys.is_empty()) {
        for (k, v) in &extra_keys {
            if !ENTRY_FIELDS.contains(&k.as_str()) {
                first.insert(Y::from(k.as_str()), v.clone());
            }
        }
    }
    root.insert(Y::from("clusters"), Y::Sequence(listed.clone()));
    let text = if flow {
        flow_yaml(&Y::Mapping(root.clone()))
    } else {
        serde_yaml::to_string(&root).unwrap()
    };
    let mut doc = match Document::parse(&text) {
        Ok(doc) => doc,
        // The flow writer here is ours, not the tool's: skip what it gets wrong.
        Err(_) if flow => return Err(TestCaseError::reject("flow text does not parse")),
        Err(e) => return Err(TestCaseError::fail(format!("{e}: {text}"))),
    };
    prop_assert_eq!(doc.clusters().unwrap(), existing.clone());

    let mut entry = entry;
    if let (Some(i), false) = (reuse_name, existing.is_empty()) {
        entry.name = existing[i.index(existing.len())].name.clone();
    }
    let mut expected = existing.clone();
    match expected.iter_mut().find(|e| e.name == entry.name) {
        Some(e) => *e = entry.clone(),
        None => expected.push(entry.clone()),
    }
    doc.upsert(&entry);
    // Documents with complex keys may not be writable: then the store refuses
    // (and leaves the file alone, see a_parseable_km_config_is_never_emptied).
    let written = match doc.to_yaml() {
        Ok(written) => written,
        Err(_) if complex => return Ok(()),
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "plain document not writable: {e}"
            )));
        }
    };
    let reparsed =
        Document::parse(&written).map_err(|e| TestCaseError::fail(format!("{e}: {written}")))?;
    prop_assert_eq!(reparsed.clusters().unwrap(), expected);
    prop_assert_eq!(reparsed.get(&entry.name), Some(entry.clone()));

    let mut value: Y = serde_yaml::from_str(&written).unwrap();
    let mut original = Y::Mapping(root);
    let written_clusters = value.as_mapping_mut().unwrap().remove("clusters").unwrap();
    original.as_mapping_mut().unwrap().remove("clusters");
    prop_assert_eq!(value, original, "{}", written);
    // The extra keys of an entry survive its replacement.
    if let Some(Y::Mapping(first)) = written_clusters.as_sequence().and_then(|s| s.first())
        && let Some(Y::Mapping(before)) = listed.first()
    {
        for (k, v) in before {
            if !ENTRY_FIELDS.contains(&k.as_str().unwrap_or_default()) {
                prop_assert_eq!(first.get(k), Some(v));
            }
        }
    }

    let mut removed = reparsed;
    prop_assert!(removed.remove(&entry.name));
    prop_assert_eq!(removed.get(&entry.name), None);
    Ok(())
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn km_config_text_never_panics_and_parsed_documents_survive_an_upsert(
        text in yamlish(),
        entry in entry_strategy(),
    ) {
        if let Ok(mut doc) = Document::parse(&text) {
            let before = doc.clusters().unwrap();
            doc.upsert(&entry);
            // An unwritable document is refused, never written lossily.
            let Ok(written) = doc.to_yaml() else { return Ok(()) };
            prop_assert!(!written.is_empty());
            let reparsed = Document::parse(&written);
            prop_assert!(reparsed.is_ok(), "{:?} -> {:?}: {:?}", text, written, reparsed);
            let reparsed = reparsed.unwrap();
            prop_assert_eq!(reparsed.get(&entry.name), Some(entry.clone()));
            let after = reparsed.clusters().unwrap();
            prop_assert!(after.len() == before.len() || after.len() == before.len() + 1);
        }
    }

    #[test]
    fn upsert_keeps_every_other_key_and_entry(
        others in vec((yaml_key(false), yaml_value(false)), 0..6),
        existing in vec(entry_strategy(), 0..4),
        extra_keys in vec(("[a-z]{1,6}", yaml_value(false)), 0..2),
        entry in entry_strategy(),
        reuse_name in prop::option::of(any::<prop::sample::Index>()),
    ) {
        check_upsert(others, existing, extra_keys, entry, reuse_name, false, false)?;
    }

    #[test]
    fn upsert_keeps_every_other_key_and_entry_with_complex_keys(
        others in vec((yaml_key(true), yaml_value(true)), 0..6),
        existing in vec(entry_strategy(), 0..4),
        extra_keys in vec(("[a-z]{1,6}", yaml_value(true)), 0..2),
        entry in entry_strategy(),
        reuse_name in prop::option::of(any::<prop::sample::Index>()),
    ) {
        check_upsert(others, existing, extra_keys, entry, reuse_name, true, true)?;
    }
}

/// Top-level blocks other tools write, as they wrote them: comments,
/// anchors and aliases, quoting, and scalars a YAML emitter would respell.
const OTHER_BLOCKS: [&str; 10] = [
    "version: 1.10 # kept as written, not 1.1\n",
    "# a comment of its own\n",
    "\n",
    "base: &base\n  region: us-east-1 # here\n  tags: {a: 1}\n",
    "derived:\n  <<: *base\n  extra: 'single'\n",
    "flags: [on, off, yes, 0o17, 0x1F, 1_000, ~]\n",
    "quoted: \"dou\\u0062le\"\nliteral: |\n  line one\n   line two\n",
    "list:\n- a # item\n-   b\n",
    "empty:\n",
    "'single key': \"x\" # trailing\n",
];

/// Other tools' blocks (in order, each once, so anchors come before their
/// aliases), then the `generated` keys as serde_yaml writes them.
fn other_text(picked: &[bool], generated: &serde_yaml::Mapping) -> Vec<String> {
    let mut blocks: Vec<String> = OTHER_BLOCKS
        .iter()
        .zip(picked)
        .filter(|(_, keep)| **keep)
        .map(|(b, _)| b.to_string())
        .collect();
    for (k, v) in generated {
        let mut one = serde_yaml::Mapping::new();
        let named = [
            "clusters",
            "<<",
            "version",
            "base",
            "derived",
            "flags",
            "quoted",
            "literal",
            "list",
            "empty",
            "single key",
        ];
        if k.as_str().is_some_and(|k| named.contains(&k)) {
            continue;
        }
        one.insert(k.clone(), v.clone());
        blocks.push(serde_yaml::to_string(&one).unwrap());
    }
    blocks
}

proptest! {
    #![proptest_config(cases(300))]

    /// Issue 22, item 14: rewriting km-config.yaml changes its `clusters:`
    /// block and nothing else, byte for byte, wherever that block is (or
    /// appends one), and the result reads back as the document meant.
    #[test]
    fn every_byte_outside_clusters_is_kept(
        picked in vec(any::<bool>(), OTHER_BLOCKS.len()),
        generated in vec((yaml_key(false), yaml_value(false)), 0..3),
        existing in prop::option::of(vec(entry_strategy(), 0..3)),
        at in any::<prop::sample::Index>(),
        comment_inside in any::<bool>(),
        entry in entry_strategy(),
    ) {
        let generated: serde_yaml::Mapping = generated.into_iter().collect();
        let blocks = other_text(&picked, &generated);
        let at = at.index(blocks.len() + 1);
        let (before, after) = (blocks[..at].concat(), blocks[at..].concat());
        let clusters = match &existing {
            None => String::new(),
            Some(list) => {
                let mut one = serde_yaml::Mapping::new();
                let entries = list.iter().map(entry_yaml).collect();
                one.insert("clusters".into(), serde_yaml::Value::Sequence(entries));
                let text = serde_yaml::to_string(&one).unwrap();
                match comment_inside {
                    true => text.replacen('\n', " # ours\n  # inside\n", 1),
                    false => text,
                }
            }
        };
        let original = format!("{before}{clusters}{after}");
        let Ok(mut doc) = Document::parse(&original) else {
            // Doubled names or entries the schema refuses: not this property's subject.
            return Err(TestCaseError::reject("not a km-config document"));
        };
        if !doc.duplicate_names().is_empty() {
            return Err(TestCaseError::reject("doubled names"));
        }
        doc.upsert(&entry);
        let written = doc.to_yaml().map_err(|e| TestCaseError::fail(format!("{e}: {original}")))?;
        match existing {
            Some(_) => {
                prop_assert!(written.starts_with(&before), "{}\n->\n{}", original, written);
                prop_assert!(written.ends_with(&after), "{}\n->\n{}", original, written);
            }
            // Appended: the whole file comes first.
            None => prop_assert!(written.starts_with(&original), "{}\n->\n{}", original, written),
        }
        let reparsed = Document::parse(&written).map_err(TestCaseError::fail)?;
        prop_assert_eq!(reparsed.get(&entry.name), Some(entry.clone()));
    }
}

// ---------------------------------------------------------------------------
// Bugs the properties found, one concrete input each (see the reasons)
// ---------------------------------------------------------------------------

fn sample_entry(name: &str) -> ClusterEntry {
    ClusterEntry {
        name: name.into(),
        oidc_provider_arn: "arn:aws:iam::222222222222:oidc-provider/oidc.example.com/id/A".into(),
        namespace: "ai-pods".into(),
        service_account: "km".into(),
        role_arn: format!("arn:aws:iam::333333333333:role/km-cluster-{name}"),
        ..ClusterEntry::default()
    }
}

#[test]
fn a_parseable_km_config_is_never_emptied() {
    for original in [
        "settings:\n  ? {a: 1}\n  : d\nclusters: []\n",
        "settings: {!t k: v}\nclusters: []\n",
        "settings:\n  ? !t k\n  : v\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("km-config.yaml");
        std::fs::write(&path, original).unwrap();
        let store = Store::new(path.clone());
        assert!(store.load().is_ok(), "the file parses: {original:?}");
        // Either the whole document is written back, or the file is refused
        // and left byte for byte as it was.
        match store.update(|d| d.upsert(&sample_entry("dev"))) {
            Ok(_) => {
                let written = std::fs::read_to_string(&path).unwrap();
                assert_contains!(written, "settings", "{original:?} was rewritten");
                assert_eq!(
                    Document::parse(&written).unwrap().get("dev"),
                    Some(sample_entry("dev"))
                );
            }
            Err(err) => {
                assert_contains!(err.to_string(), "left untouched");
                assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
            }
        }
    }
}
