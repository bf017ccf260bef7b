//! `vhgate policy test`: runs the `test_` rules of every package, as `opa test` would.

use std::path::Path;

use regorus::Value;

use super::{regorus_engine::load_engine, PolicyError, PolicySources};

/// Result of one `test_` rule.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub file: String,
    pub rule: String,
    pub passed: bool,
    pub message: Option<String>,
}

/// Finds `package` and `test_*` rule names in a module's source. Rules are named at the start
/// of a line in Rego; a test rule defined in several bodies is reported once.
fn test_rules(source: &str) -> (Option<String>, Vec<String>) {
    let mut package = None;
    let mut rules: Vec<String> = Vec::new();
    for line in source.lines() {
        if let Some(rest) = line.strip_prefix("package ") {
            package = Some(rest.trim().to_string());
        } else if line.starts_with("test_") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !rules.contains(&name) {
                rules.push(name);
            }
        }
    }
    (package, rules)
}

/// Loads every module (tests included) and data file in `dir` and evaluates each test rule.
pub fn run_tests(dir: &Path) -> Result<Vec<TestResult>, PolicyError> {
    run_tests_on(&PolicySources::read_dir(dir, true)?)
}

/// Evaluates every `test_` rule of already loaded sources (e.g. a bundle's).
pub fn run_tests_on(sources: &PolicySources) -> Result<Vec<TestResult>, PolicyError> {
    let engine = load_engine(sources)?;
    let mut results = Vec::new();
    for (file, text) in &sources.modules {
        let (Some(package), rules) = test_rules(text) else {
            continue;
        };
        for rule in rules {
            // A fresh clone per test keeps one test's evaluation state out of the next.
            let mut e = engine.clone();
            let path = format!("data.{package}.{rule}");
            let (passed, message) = match e.eval_rule(path) {
                Ok(Value::Bool(true)) => (true, None),
                Ok(Value::Undefined) => (false, Some("undefined (a condition failed)".into())),
                Ok(other) => (false, Some(format!("evaluated to {other}"))),
                Err(err) => (false, Some(err.to_string())),
            };
            results.push(TestResult {
                file: file.clone(),
                rule,
                passed,
                message,
            });
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_package_and_tests() {
        let src = "package a.b\n\ntest_one if { true }\ntest_one if { 1 == 1 }\nnot_a_test := 1\ntest_two if {\n}\n";
        let (pkg, rules) = test_rules(src);
        assert_eq!(pkg.as_deref(), Some("a.b"));
        assert_eq!(rules, vec!["test_one", "test_two"]);
    }
}
