//! Substring assertions that, on failure, print the needle and the whole
//! haystack (a command's output, a policy, a manifest), so a failing test
//! shows what was there instead. Macros, so the failure points at the test's
//! line and any `&str`-like haystack and needle work (`String`, `&str`,
//! `&format!(..)`). An optional trailing format message says what was checked.

/// Fails unless `haystack` contains `needle`.
#[allow(unused_macros)]
macro_rules! assert_contains {
    ($haystack:expr, $needle:expr $(,)?) => {
        assert_contains!($haystack, $needle, "")
    };
    ($haystack:expr, $needle:expr, $($context:tt)+) => {{
        let haystack: &str = &$haystack;
        let needle: &str = &$needle;
        let context = format!($($context)+);
        assert!(
            haystack.contains(needle),
            "expected {needle:?}{} in\n--- text\n{haystack}\n--- end of text",
            if context.is_empty() { String::new() } else { format!(" ({context})") },
        );
    }};
}

/// Fails if `haystack` contains `needle`.
#[allow(unused_macros)]
macro_rules! assert_lacks {
    ($haystack:expr, $needle:expr $(,)?) => {
        assert_lacks!($haystack, $needle, "")
    };
    ($haystack:expr, $needle:expr, $($context:tt)+) => {{
        let haystack: &str = &$haystack;
        let needle: &str = &$needle;
        let context = format!($($context)+);
        assert!(
            !haystack.contains(needle),
            "did not expect {needle:?}{} in\n--- text\n{haystack}\n--- end of text",
            if context.is_empty() { String::new() } else { format!(" ({context})") },
        );
    }};
}

/// `assert_contains!` inside `proptest!`: fails the case (so proptest
/// shrinks it) instead of panicking, and shows the haystack escaped (the
/// inputs are arbitrary: controls, invisible characters).
#[allow(unused_macros)]
macro_rules! prop_assert_contains {
    ($haystack:expr, $needle:expr $(,)?) => {{
        let haystack: &str = &$haystack;
        let needle: &str = &$needle;
        prop_assert!(
            haystack.contains(needle),
            "expected {:?} in {:?}",
            needle,
            haystack
        );
    }};
}
