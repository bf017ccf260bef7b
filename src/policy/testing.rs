//! `vhgate policy test`: runs the `test_` rules of every package, as `opa test` would.
//!
//! regorus has no evaluation trace like OPA's, so for a failing test the runner finds the
//! failing expression itself: it takes the test rule's body from the module's syntax tree and
//! evaluates ever longer prefixes of it (statements 1..k, as a rule in the test's own package,
//! with its imports) until one is not true. Statement k is the first that failed, with the
//! bindings of the statements before it; the values of the variables it shares with them are
//! evaluated the same way.

use std::path::Path;
use std::time::{Duration, Instant};

use regorus::{Engine, Value};
use serde_json::Value as Json;

use super::footprint::{rule_name, single};
use super::{regorus_engine::load_engine, PolicyError, PolicySources};

/// Why a test whose body did not hold failed.
const UNDEFINED: &str = "undefined (a condition failed)";

/// Result of one `test_` rule.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub file: String,
    /// The test's package, without `data.`.
    pub package: String,
    pub rule: String,
    pub passed: bool,
    pub message: Option<String>,
    /// How long evaluating the rule took.
    pub duration: Duration,
    /// For a failed test: where each of its definitions stopped, when that could be found.
    pub failures: Vec<FailedExpression>,
}

/// The first expression of a failed test's body that was not true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedExpression {
    pub file: String,
    /// 1-based line of the expression's first token.
    pub line: u32,
    /// The expression as written (`with` modifiers included; continuation lines keep their
    /// indentation relative to the first).
    pub text: String,
    /// The evaluation error, when the expression raised one rather than being false or
    /// undefined.
    pub error: Option<String>,
    /// Variables the expression shares with the statements before it, and their values there.
    pub values: Vec<(String, String)>,
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
            let started = Instant::now();
            let outcome = e.eval_rule(path);
            let duration = started.elapsed();
            let (passed, message) = match outcome {
                Ok(Value::Bool(true)) => (true, None),
                Ok(Value::Undefined) => (false, Some(UNDEFINED.into())),
                Ok(other) => (false, Some(format!("evaluated to {other}"))),
                Err(err) => (false, Some(err.to_string())),
            };
            let failures = if passed {
                Vec::new()
            } else {
                failed_expressions(&engine, file, text, &package, &rule)
            };
            results.push(TestResult {
                file: file.clone(),
                package: package.clone(),
                rule,
                passed,
                message,
                duration,
                failures,
            });
        }
    }
    Ok(results)
}

/// One statement of a rule body: its source text and where it starts.
struct Statement {
    text: String,
    line: u32,
    /// Variables it mentions.
    vars: Vec<String>,
    /// Its variables and the references rooted in one (`d.tier`), as written, with their root.
    terms: Vec<(String, String)>,
}

/// The first failing statement of every definition of `rule` (best effort: an empty list when
/// the body cannot be taken apart, e.g. a rule without one).
fn failed_expressions(
    engine: &Engine,
    file: &str,
    source: &str,
    package: &str,
    rule: &str,
) -> Vec<FailedExpression> {
    let Some((imports, bodies)) = bodies_of(file, source, rule) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for body in bodies {
        for k in 1..=body.len() {
            let probe = Probe {
                engine,
                file,
                package,
                imports: &imports,
            };
            let conditions: Vec<&str> = body[..k].iter().map(|s| s.text.as_str()).collect();
            let error = match probe.eval(&conditions, "true") {
                Ok(Value::Bool(true)) => continue,
                Ok(_) => None,
                Err(e) => Some(e),
            };
            let failed = &body[k - 1];
            let before: Vec<&str> = conditions[..k - 1].to_vec();
            // The terms rooted in a variable the statements before bound (not an import).
            let values = failed
                .terms
                .iter()
                .filter(|(_, root)| {
                    !imports.aliases.contains(root)
                        && body[..k - 1].iter().any(|s| s.vars.contains(root))
                })
                .filter_map(|(term, _)| {
                    let value = probe.eval(&before, term).ok()?;
                    (value != Value::Undefined).then(|| (term.clone(), shorten(&value.to_string())))
                })
                .collect();
            found.push(FailedExpression {
                file: file.to_string(),
                line: failed.line,
                text: failed.text.clone(),
                error,
                values,
            });
            break;
        }
    }
    found
}

/// A module's imports: their source lines, and the names they bind.
#[derive(Default)]
struct Imports {
    lines: Vec<String>,
    aliases: Vec<String>,
}

/// Evaluates conditions as the body of a rule in a test's package (with its imports).
struct Probe<'a> {
    engine: &'a Engine,
    file: &'a str,
    package: &'a str,
    imports: &'a Imports,
}

impl Probe<'_> {
    /// The value of `value` after `conditions` (undefined when they do not all hold).
    fn eval(&self, conditions: &[&str], value: &str) -> Result<Value, String> {
        const RULE: &str = "vhgate_probe_result";
        let module = format!(
            "package {}\n\n{}\n\n{RULE} := {value} if {{\n\ttrue\n{}\n}}\n",
            self.package,
            self.imports.lines.join("\n"),
            conditions
                .iter()
                .map(|c| format!("\t{c}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let mut e = self.engine.clone();
        e.add_policy(format!("{} (probe)", self.file), module)
            .map_err(|e| e.to_string())?;
        e.eval_rule(format!("data.{}.{RULE}", self.package))
            .map_err(|e| e.to_string())
    }
}

/// The imports of the module and the statements of each definition of `rule`, from its
/// syntax tree.
fn bodies_of(file: &str, source: &str, rule: &str) -> Option<(Imports, Vec<Vec<Statement>>)> {
    let mut engine = Engine::new();
    engine
        .add_policy(file.to_string(), source.to_string())
        .ok()?;
    let modules: Vec<Json> = serde_json::from_str(&engine.get_ast_as_json().ok()?).ok()?;
    let ast = &modules.first()?["ast"];
    let mut imports = Imports::default();
    for import in ast["imports"].as_array().into_iter().flatten() {
        imports.lines.push(span_text(source, &import["span"])?.0);
        let alias = import["as"]
            .get("start")
            .and_then(|_| span_text(source, &import["as"]))
            .map(|(text, _)| text)
            .or_else(|| last_component(&import["refr"]));
        imports.aliases.extend(alias);
    }
    let mut bodies = Vec::new();
    for definition in ast["rules"].as_array().into_iter().flatten() {
        if rule_name(definition).as_deref() != Some(rule) {
            continue;
        }
        let Some(("Spec", spec)) = single(definition) else {
            continue;
        };
        for body in spec["bodies"].as_array().into_iter().flatten() {
            let statements = body["query"]["stmts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|stmt| {
                    let (text, line) = span_text(source, &stmt["span"])?;
                    let mut vars = Vec::new();
                    collect_vars(stmt, &mut vars);
                    let mut terms = Vec::new();
                    collect_terms(source, stmt, &mut terms);
                    Some(Statement {
                        text,
                        line,
                        vars,
                        terms,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            bodies.push(statements);
        }
    }
    Some((imports, bodies))
}

/// The source text a span covers and its line; continuation lines lose the indentation the
/// first line's statement has, so the text reads as it does in the file.
fn span_text(source: &str, span: &Json) -> Option<(String, u32)> {
    let number = |k: &str| span[k].as_u64().and_then(|n| usize::try_from(n).ok());
    let (start, mut end) = (number("start")?, number("end")?);
    let line = u32::try_from(span["line"].as_u64()?).ok()?;
    // A statement that ends in a string literal ends, in regorus's span, before the closing
    // quote (a string token's span is its content).
    for quote in ['"', '`'] {
        let open = source.get(start..end)?.matches(quote).count()
            - source
                .get(start..end)?
                .matches(&format!("\\{quote}"))
                .count();
        if open % 2 == 1 && source.get(end..)?.starts_with(quote) {
            end += 1;
        }
    }
    let text = source.get(start..end)?;
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &source[line_start..start];
    let indent = &indent[..indent.len() - indent.trim_start().len()];
    let text = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l
            } else {
                l.strip_prefix(indent).unwrap_or(l)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Some((text, line))
}

/// `data.vhgate.fixtures` → `fixtures` (the name an import without `as` binds).
fn last_component(refr: &Json) -> Option<String> {
    let (kind, body) = single(refr)?;
    match kind {
        "Var" => body["value"].as_str().map(str::to_string),
        "RefDot" => body["field"]
            .get(1)
            .and_then(Json::as_str)
            .map(str::to_string),
        _ => None,
    }
}

/// Every variable name a syntax tree node mentions, once, in order.
fn collect_vars(node: &Json, vars: &mut Vec<String>) {
    match node {
        Json::Array(items) => items.iter().for_each(|n| collect_vars(n, vars)),
        Json::Object(obj) => {
            if let Some(("Var", body)) = single(node) {
                if let Some(name) = body["value"].as_str() {
                    if !matches!(name, "_" | "input" | "data") && !vars.iter().any(|v| v == name) {
                        vars.push(name.to_string());
                    }
                }
                return;
            }
            obj.iter()
                .filter(|(k, _)| k.as_str() != "span")
                .for_each(|(_, v)| collect_vars(v, vars));
        }
        _ => {}
    }
}

/// The variables and variable-rooted references a node mentions (outermost reference only:
/// `d.tier`, not also `d`), once each, as written, with the variable they start at.
fn collect_terms(source: &str, node: &Json, terms: &mut Vec<(String, String)>) {
    let mut push = |text: String, root: &str| {
        if !matches!(root, "_" | "input" | "data") && !terms.iter().any(|(t, _)| *t == text) {
            terms.push((text, root.to_string()));
        }
    };
    match node {
        Json::Array(items) => items.iter().for_each(|n| collect_terms(source, n, terms)),
        Json::Object(obj) => match single(node) {
            Some(("Var", body)) => {
                if let Some(name) = body["value"].as_str() {
                    push(name.to_string(), name);
                }
            }
            Some(("RefDot" | "RefBrack", body)) => {
                // Down the chain to its root, through the computed indexes on the way.
                let mut cursor = node;
                let mut indexes = Vec::new();
                while let Some((kind @ ("RefDot" | "RefBrack"), b)) = single(cursor) {
                    if kind == "RefBrack" {
                        indexes.push(&b["index"]);
                    }
                    cursor = &b["refr"];
                }
                match single(cursor) {
                    Some(("Var", root)) => {
                        if let (Some(name), Some((text, _))) =
                            (root["value"].as_str(), span_text(source, &body["span"]))
                        {
                            push(text, name);
                        }
                    }
                    _ => collect_terms(source, cursor, terms),
                }
                for index in indexes {
                    collect_terms(source, index, terms);
                }
            }
            _ => obj
                .iter()
                .filter(|(k, _)| k.as_str() != "span")
                .for_each(|(_, v)| collect_terms(source, v, terms)),
        },
        _ => {}
    }
}

/// A value as one line of at most 200 characters.
fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

/// The report `vhgate policy test -v` prints, laid out as `opa test -v` lays out its own: the
/// failures with the expression that failed (file:line, the expression, the values of its
/// variables), then every test by file with PASS or FAIL and its duration, then the counts.
pub fn verbose_report(results: &[TestResult]) -> String {
    let rule = "-".repeat(80);
    let mut out = String::new();
    let name = |r: &TestResult| format!("data.{}.{}", r.package, r.rule);
    let line = |r: &TestResult| {
        let outcome = if r.passed { "PASS" } else { "FAIL" };
        format!("{}: {outcome} ({})\n", name(r), format_duration(r.duration))
    };
    let failed: Vec<&TestResult> = results.iter().filter(|r| !r.passed).collect();
    if !failed.is_empty() {
        out.push_str(&format!("FAILURES\n{rule}\n"));
        for r in &failed {
            out.push_str(&line(r));
            out.push('\n');
            for f in &r.failures {
                out.push_str(&format!("  {}:{}:\n", f.file, f.line));
                for text in f.text.lines() {
                    out.push_str(&format!("    {text}\n"));
                }
                if let Some(error) = &f.error {
                    for (i, text) in error.trim().lines().enumerate() {
                        let label = if i == 0 { "error: " } else { "  " };
                        out.push_str(&format!("    {label}{text}\n"));
                    }
                }
                for (var, value) in &f.values {
                    out.push_str(&format!("      {var} = {value}\n"));
                }
                out.push('\n');
            }
            let undefined = r.message.as_deref() == Some(UNDEFINED);
            if let Some(message) = r
                .message
                .as_deref()
                .filter(|_| r.failures.is_empty() || !undefined)
            {
                out.push_str(&format!("  {message}\n\n"));
            }
        }
        out.push_str(&format!("SUMMARY\n{rule}\n"));
    }
    let mut file: Option<&str> = None;
    for r in results {
        if file != Some(r.file.as_str()) {
            if file.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("{}:\n", r.file));
            file = Some(&r.file);
        }
        out.push_str(&line(r));
    }
    out.push_str(&format!("{rule}\n"));
    let total = results.len();
    let passed = total - failed.len();
    if passed > 0 {
        out.push_str(&format!("PASS: {passed}/{total}\n"));
    }
    if !failed.is_empty() {
        out.push_str(&format!("FAIL: {}/{total}\n", failed.len()));
    }
    out
}

/// A duration as Go prints one (what `opa test` shows): `812µs`, `1.204ms`, `2.5s`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let (unit, scale) = match nanos {
        0 => return "0s".into(),
        n if n < 1_000 => return format!("{n}ns"),
        n if n < 1_000_000 => ("µs", 1_000),
        n if n < 1_000_000_000 => ("ms", 1_000_000),
        _ => ("s", 1_000_000_000),
    };
    let whole = nanos / scale;
    let fraction = nanos % scale;
    let digits = scale.ilog10() as usize;
    let fraction = format!("{fraction:0digits$}");
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{whole}{unit}")
    } else {
        format!("{whole}.{fraction}{unit}")
    }
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

    #[test]
    fn durations_read_as_go_prints_them() {
        for (nanos, text) in [
            (0, "0s"),
            (999, "999ns"),
            (812_000, "812µs"),
            (1_204_000, "1.204ms"),
            (2_500_000_000, "2.5s"),
        ] {
            assert_eq!(format_duration(Duration::from_nanos(nanos)), text);
        }
    }

    #[test]
    fn a_failing_test_names_its_first_false_expression_and_the_values_it_saw() {
        let sources = PolicySources {
            modules: vec![
                (
                    "p.rego".into(),
                    "package p\n\ndouble(x) := 2 * x\n".into(),
                ),
                (
                    "p_test.rego".into(),
                    "package p_test\n\nimport data.p\n\ntest_ok if p.double(2) == 4\n\n\
                     test_bad if {\n\tn := p.double(3)\n\tn > 1\n\tn == [\n\t\t7,\n\t][0]\n\tfalse\n}\n\n\
                     test_bad if {\n\tinput.x == \"1\"\n}\n"
                        .into(),
                ),
            ],
            data: vec![],
        };
        let results = run_tests_on(&sources).expect("runs");
        let ok = results.iter().find(|r| r.rule == "test_ok").expect("ok");
        assert!(ok.passed && ok.failures.is_empty() && ok.package == "p_test");
        let bad = results.iter().find(|r| r.rule == "test_bad").expect("bad");
        assert!(!bad.passed);
        assert_eq!(
            bad.failures,
            vec![
                FailedExpression {
                    file: "p_test.rego".into(),
                    line: 10,
                    text: "n == [\n\t7,\n][0]".into(),
                    error: None,
                    values: vec![("n".into(), "6".into())],
                },
                FailedExpression {
                    file: "p_test.rego".into(),
                    line: 17,
                    text: "input.x == \"1\"".into(),
                    error: None,
                    values: vec![],
                },
            ]
        );
    }
}
