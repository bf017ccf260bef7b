//! The Rego unit tests in policies/ pass (the same runner as `vhgate policy test`), the
//! shipped policies compile into an engine, and every grant of the shipped convenant cites a
//! registered legal ground.

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

#[test]
fn shipped_grants_resolve_to_registered_citations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let sources = vhgate::policy::PolicySources::read_dir(&dir, false).expect("sources");
    let convenant = sources
        .data
        .iter()
        .find_map(|(_, v)| v.get("convenant"))
        .expect("convenant");
    assert_eq!(vhgate::policy::grounds::problems(convenant), vec![]);
    let summary = sources.convenant().expect("summary");
    let register = &convenant["legal_grounds"]["grounds"];
    for (partner_type, doc) in convenant["partner_types"].as_object().expect("types") {
        for (category, id) in doc["categories"].as_object().expect("categories") {
            let id = id.as_str().expect("a ground id");
            // The access report and the reasons quote the citation, never the id.
            assert_eq!(
                summary.legal_grounds[partner_type][category],
                register[id]["citation"].as_str().expect("citation"),
                "{partner_type} {category}"
            );
            assert!(summary.grounds[partner_type].contains(category));
        }
    }
}
