//! trust/validate.rs: every typed flag value names its input when refused,
//! and accepts exactly what IAM and Kubernetes accept.

use kubectl_klanker_trust::trust::validate;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::strategies::{dns_label, text};
use crate::{assert_error_names_input, cases};

fn role_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn validators_never_panic_and_name_the_input(value in text(), n in any::<u32>()) {
        let r = validate::registry_name(&value);
        assert_error_names_input(&r, "--name", &value)?;
        // At most 256 characters: the name is the klanker-trust/name tag value.
        let expected = value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.chars().count() <= 256;
        prop_assert_eq!(r.is_ok(), expected);

        let r = validate::role_name(&value, "--role-name");
        assert_error_names_input(&r, "--role-name", &value)?;
        let count = value.chars().count();
        prop_assert_eq!(r.is_ok(), (1..=64).contains(&count) && value.chars().all(role_name_char));

        let r = validate::namespace(&value);
        assert_error_names_input(&r, "--namespace", &value)?;
        prop_assert_eq!(r.is_ok(), value == "*" || is_dns_label(&value));

        let r = validate::service_account(&value);
        assert_error_names_input(&r, "--service-account", &value)?;
        prop_assert_eq!(r.is_ok(), value.len() <= 253 && value.split('.').all(is_dns_label));

        let r = validate::region(&value, "--region");
        assert_error_names_input(&r, "--region", &value)?;
        if r.is_ok() {
            let (rest, number) = value.rsplit_once('-').unwrap();
            prop_assert!(!number.is_empty() && number.chars().all(|c| c.is_ascii_digit()));
            prop_assert!(rest.split('-').count() >= 2);
            prop_assert!(rest.split('-').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase())));
        }

        let r = validate::tag(&value);
        assert_error_names_input(&r, "--tag", &value)?;
        if let Ok((key, tag_value)) = r {
            prop_assert_eq!(format!("{key}={tag_value}"), value.clone());
            prop_assert!((1..=128).contains(&key.chars().count()));
            prop_assert!(tag_value.chars().count() <= 256);
            prop_assert!(!key.to_ascii_lowercase().starts_with("aws:"));
            // IAM compares keys without case.
            prop_assert!(!key.to_lowercase().starts_with("klanker-trust/"));
        }

        let r = validate::session_duration(n);
        // Echoed as typed most likely: a whole number of hours in hours
        // (`13h`), anything else in seconds (issue 26, item 14).
        let shown = match n > 0 && n % 3600 == 0 {
            true => format!("{}h", n / 3600),
            false => n.to_string(),
        };
        assert_error_names_input(&r, "--session-duration", &shown)?;
        prop_assert_eq!(r.is_ok(), (3600..=43200).contains(&n));
    }

    #[test]
    fn role_names_from_the_allowed_set_up_to_64_characters(
        ok in "[A-Za-z0-9+=,.@_-]{1,64}",
        long in "[A-Za-z0-9+=,.@_-]{65,100}",
    ) {
        prop_assert!(validate::role_name(&ok, "x").is_ok());
        let err = validate::role_name(&long, "x").unwrap_err();
        prop_assert_contains!(err.problem, format!("{} characters", long.len()));
    }

    #[test]
    fn valid_names_are_accepted(
        labels in vec(dns_label(), 1..5),
        registry in "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}",
        region in "[a-z]{2}(-[a-z]{3,9}){1,2}-[0-9]{1,2}",
    ) {
        prop_assert!(validate::namespace(&labels[0]).is_ok());
        prop_assert!(validate::service_account(&labels.join(".")).is_ok());
        prop_assert!(validate::registry_name(&registry).is_ok());
        prop_assert!(validate::region(&region, "x").is_ok());
    }

    #[test]
    fn multi_byte_strings_at_the_length_limits(
        letter in select(&['é', 'ß', 'ｱ', 'Ж', 'Σ', '中'][..]),
        symbol in select(&['€', '😀', '\u{a0}', '²'][..]),
        ascii in "[a-z]{1,8}",
    ) {
        // Tag limits count characters, not bytes (tags allow letters of any script).
        let key = |n: usize| letter.to_string().repeat(n);
        let long_key = |n: usize| format!("{}=v", key(n));
        let long_value = |n: usize| format!("k={}", key(n));
        prop_assert!(validate::tag(&long_key(128)).is_ok());
        prop_assert!(validate::tag(&long_key(129)).is_err());
        prop_assert!(validate::tag(&long_value(256)).is_ok());
        prop_assert!(validate::tag(&long_value(257)).is_err());
        // ASCII-only rules reject any non-ASCII character, whatever the length.
        for (c, n) in [letter, symbol].into_iter().flat_map(|c| [1, 31, 32, 63, 64, 126, 127, 128, 253, 254].map(|n| (c, n))) {
            let s = format!("{ascii}{}", c.to_string().repeat(n));
            prop_assert!(validate::role_name(&s, "x").is_err());
            prop_assert!(validate::namespace(&s).is_err());
            prop_assert!(validate::service_account(&s).is_err());
            prop_assert!(validate::registry_name(&s).is_err());
            prop_assert!(validate::region(&s, "x").is_err());
        }
    }
}

// ---------------------------------------------------------------------------
// Bugs the properties found, one concrete input each (see the reasons)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn tag_sets_refuse_keys_equal_but_for_case_and_more_than_fifty_in_all(
        keys in vec("[a-cA-C]{1,2}|k[0-9]{1,2}", 0..60),
    ) {
        let raw: Vec<String> = keys.iter().map(|k| format!("{k}=v")).collect();
        let r = validate::tag_set(&raw, &["klanker-trust/managed-by", "klanker-trust/name"]);
        let distinct: std::collections::BTreeSet<String> = keys.iter().map(|k| k.to_lowercase()).collect();
        prop_assert_eq!(r.is_ok(), distinct.len() == keys.len() && keys.len() + 2 <= 50, "{:?}", keys);
    }

    #[test]
    fn tags_accept_only_iam_tag_characters(key in "[a-z]{1,5}", value in "[ -~\t\n\r\x0b\x0c]{0,12}") {
        let raw = format!("{key}={value}");
        if validate::tag(&raw).is_ok() {
            let iam = |c: char| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
            prop_assert!(value.chars().all(iam), "{raw:?} accepted");
        }
    }

    #[test]
    fn length_complaints_count_characters(c in select(&['é', '€', '😀', 'ｱ'][..]), n in 32usize..300) {
        let value = c.to_string().repeat(n);
        for problem in [validate::namespace(&value).unwrap_err().problem, validate::service_account(&value).unwrap_err().problem] {
            if let Some(rest) = problem.strip_prefix("it is ") {
                let said: usize = rest.split(' ').next().unwrap().parse().unwrap();
                prop_assert_eq!(said, n, "{}", problem);
            }
        }
    }
}

#[test]
fn tag_with_a_tab_is_rejected() {
    assert!(validate::tag("team=a\tb").is_err());
    assert!(validate::tag("te\nam=x").is_err());
}

#[test]
fn namespace_length_is_counted_in_characters() {
    let problem = validate::namespace(&"é".repeat(40)).unwrap_err().problem;
    assert_lacks!(problem, "80 characters");
}
