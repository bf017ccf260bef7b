//! The Rego unit tests in policies/ pass (the same runner as `vhgate policy test`), and the
//! shipped policies compile into an engine.

use std::path::Path;

#[test]
fn rego_unit_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let results = vhgate::policy::testing::run_tests(&dir).expect("run policy tests");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{} {}: {}",
                r.file,
                r.rule,
                r.message.as_deref().unwrap_or("false")
            )
        })
        .collect();
    assert!(
        results.len() >= 60,
        "expected at least 60 Rego tests, found {}",
        results.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} Rego tests failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
}

#[test]
fn shipped_policies_prepare() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    vhgate::app::load_policy(&dir).expect("policies compile");
}
