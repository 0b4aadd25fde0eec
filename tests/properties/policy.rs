//! trust/policy.rs: trust policy documents read back from IAM (plain and
//! percent-encoded), normalisation, equivalence and diffs.

use kubectl_klanker_trust::trust::policy::{
    decode_policy_document, diff_lines, equivalent, normalize,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use crate::cases;
use crate::strategies::{json_object, json_value, short_text, text};

/// `%7B` -> `%7b`: only the hex digits of percent escapes change case.
fn lower_case_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut after_percent = 0;
    for c in encoded.chars() {
        if after_percent > 0 {
            out.push(c.to_ascii_lowercase());
            after_percent -= 1;
        } else {
            out.push(c);
            if c == '%' {
                after_percent = 2;
            }
        }
    }
    out
}

/// Strings built from percent escapes (valid, invalid UTF-8, broken) and JSON punctuation.
fn percent_garbage() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(
            &[
                "%7B",
                "%7D",
                "%22",
                "%3A",
                "%2C",
                "%5B",
                "%5D",
                "%FF",
                "%C3",
                "%A9",
                "%C3%A9",
                "%E2%82",
                "%F0%9F%98%80",
                "%00",
                "%",
                "%Z",
                "%7",
                "%%",
                "%25",
                "{",
                "}",
                "\"",
                ":",
                ",",
                "a",
                "1",
                " ",
                "+",
                "%2B",
                "%20",
                "\\u0000",
                "\\ud800",
                "%5Cud800",
                "true",
                "null",
            ][..]
        )
        .prop_map(String::from),
        short_text(),
    ];
    vec(piece, 0..30).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn decode_policy_document_never_panics(raw in prop_oneof![text(), percent_garbage()]) {
        let _ = decode_policy_document(&raw);
    }

    #[test]
    fn policy_documents_decode_plain_and_percent_encoded(
        doc in json_object(false),
        pretty in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
        prop_assert_eq!(decode_policy_document(&text).unwrap(), doc.clone());
        let encoded = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).to_string();
        prop_assert_eq!(decode_policy_document(&encoded).unwrap(), doc.clone());
        // Lower-case hex digits in the escapes decode the same.
        let lower = lower_case_escapes(&encoded);
        prop_assert_eq!(decode_policy_document(&lower).unwrap(), doc);
        // A truncated or corrupted document is an error, not a panic.
        let at = cut.index(encoded.len());
        let _ = decode_policy_document(&encoded[..at]);
        let _ = decode_policy_document(&format!("{}%FF{}", &encoded[..at], &encoded[at..]));
    }

    #[test]
    fn normalize_is_idempotent_and_equivalence_reflexive(doc in json_value(true), other in json_value(true)) {
        let once = normalize(&doc);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(equivalent(&doc, &doc));
        prop_assert!(equivalent(&doc, &once));
        prop_assert!(equivalent(&doc, &json!([doc.clone()])));
        prop_assert_eq!(equivalent(&doc, &other), equivalent(&other, &doc));
        prop_assert!(diff_lines(&doc, &doc).is_empty());
    }

    #[test]
    fn arrays_are_equivalent_whatever_their_order(
        (items, shuffled) in vec(json_value(true), 0..8).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        prop_assert!(equivalent(&Value::Array(items), &Value::Array(shuffled)));
    }

    #[test]
    fn diff_lines_is_empty_exactly_for_equivalent_documents(a in json_value(true), b in json_value(true)) {
        let lines = diff_lines(&a, &b);
        prop_assert_eq!(lines.is_empty(), equivalent(&a, &b));
        for line in &lines {
            prop_assert!(line.starts_with("- ") || line.starts_with("+ "), "{line:?}");
            prop_assert!(!line.contains('\n'), "{line:?}");
        }
    }
}
