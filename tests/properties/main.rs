//! Property tests of every parser that reads outside input (kubeconfig exec
//! blocks and server URLs, ARNs and issuer URLs, typed flag values, trust
//! policy documents read back from IAM, ServiceAccount tokens, km-config.yaml,
//! ListRoles results, completion words and AWS profile files), through the
//! library's public API: no input makes them panic, and the invariants below
//! hold. One module per subject, one test binary (`cargo test --test
//! properties`), so the dependency set is linked once.
//!
//! Each block has a fixed number of cases sized so the whole binary runs in
//! well under a minute in a debug build on two cores. `PROPTEST_CASES=N`
//! overrides every block for a longer exploratory run, e.g.
//! `PROPTEST_CASES=100000 cargo test --test properties -- --test-threads=2`.
//! The concrete inputs of the bugs these properties found are kept as plain
//! tests at the end of each module. Failing seeds proptest saves go next to
//! the module that found them (`<module>.proptest-regressions`).

// Only the assertion macros of tests/support, first so they are in scope below.
#[macro_use]
#[path = "../support/assert.rs"]
mod assert;

mod arn;
mod complete;
mod conditions;
mod inventory;
mod kubeconfig;
mod policy;
mod store;
mod strategies;
mod token;
mod validate;

use kubectl_klanker_trust::trust::ValidationError;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// A block's config: `cases` unless `PROPTEST_CASES` asks for another number.
fn cases(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    // Next to the module's source, as proptest did for the single file
    // (its default would make a tests/proptest-regressions/ tree).
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
}

fn assert_error_names_input(
    result: &Result<impl std::fmt::Debug, ValidationError>,
    input: &str,
    value: &str,
) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert_eq!(&e.input, input);
        prop_assert_eq!(&e.value, value);
        let shown = e.to_string();
        prop_assert_contains!(shown, input);
        prop_assert!(!e.problem.is_empty() && !e.hint.is_empty());
    }
    Ok(())
}
