//! What the loaded policies read of `input`, found by walking their syntax trees.
//!
//! The decision memo (see [`super::memo`]) may key a decision on a projection of the input only
//! when that projection provably holds everything the decision reads. This module computes, for
//! an entry point, the rules it depends on (transitively) and the top-level `input` keys those
//! rules refer to. Anything it cannot follow statically counts against the memo: a bare
//! `input` (`x := input`, `walk(input)`), a computed key (`input[k]`), a computed rule path
//! (`data.vhgate[p]`) or a non-deterministic builtin (`time.now_ns`, `rand.intn`, ...). The
//! analysis over-approximates (a local variable that shares a rule's name counts as a use of
//! the rule), which can only make the key larger, never too small.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::PolicyError;

/// Builtins whose value is not a function of their arguments: a policy that calls one is never
/// memoised.
const NON_DETERMINISTIC: &[&str] = &[
    "time.now_ns",
    "rand.intn",
    "uuid.rfc4122",
    "http.send",
    "opa.runtime",
    "net.lookup_ip_addr",
];

/// What one rule (all its definitions together) reads directly.
#[derive(Debug, Default, Clone)]
struct RuleReads {
    /// Top-level `input` keys it refers to.
    input_keys: BTreeSet<String>,
    /// Why it may read all of `input` (a bare or computed reference), if it may.
    whole_input: Option<String>,
    /// Rules (dotted paths without `data.`) it refers to.
    rules: BTreeSet<String>,
    /// A non-deterministic builtin it calls.
    non_deterministic: Option<String>,
}

/// The input footprint of every rule of a set of modules.
#[derive(Debug, Default)]
pub struct Footprint {
    rules: BTreeMap<String, RuleReads>,
}

/// What an entry point reads, transitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReads {
    /// Top-level `input` keys read by the entry point or any rule it depends on.
    pub input_keys: BTreeSet<String>,
    /// Rules in the closure that refer to each input key directly.
    pub readers: BTreeMap<String, BTreeSet<String>>,
    /// Why the closure cannot be projected (whole input, computed rule path, non-determinism).
    pub unprojectable: Option<String>,
}

impl Footprint {
    /// Analyses the modules' syntax trees (regorus's AST as JSON).
    pub fn from_ast_json(ast: &str) -> Result<Footprint, PolicyError> {
        let modules: Vec<Json> = serde_json::from_str(ast)
            .map_err(|e| PolicyError::Eval(format!("policy syntax tree: {e}")))?;
        let mut parsed = Vec::new();
        let mut all_rules = BTreeSet::new();
        for module in &modules {
            let ast = &module["ast"];
            let package = chain(&ast["package"]["refr"])
                .and_then(|(root, rest)| {
                    let mut parts = vec![root];
                    for p in rest {
                        parts.push(p?);
                    }
                    Some(parts.join("."))
                })
                .ok_or_else(|| PolicyError::Eval("a module has a computed package path".into()))?;
            let mut names = Vec::new();
            for rule in ast["rules"].as_array().into_iter().flatten() {
                let name = rule_name(rule).ok_or_else(|| {
                    PolicyError::Eval(format!("a rule in package {package} has no name"))
                })?;
                all_rules.insert(format!("{package}.{name}"));
                names.push(name);
            }
            parsed.push((package, ast, names));
        }
        let mut footprint = Footprint::default();
        for (package, ast, names) in parsed {
            let local: BTreeSet<&str> = names.iter().map(String::as_str).collect();
            let imports = imports(ast);
            for (rule, name) in ast["rules"].as_array().into_iter().flatten().zip(&names) {
                let mut walker = Walker {
                    package: &package,
                    local: &local,
                    all_rules: &all_rules,
                    imports: &imports,
                    reads: RuleReads::default(),
                };
                walker.visit(rule);
                footprint
                    .rules
                    .entry(format!("{package}.{name}"))
                    .or_default()
                    .merge(walker.reads);
            }
        }
        Ok(footprint)
    }

    /// Whether the modules define `path` (dotted, without `data.`).
    pub fn has_rule(&self, path: &str) -> bool {
        self.rules.contains_key(path)
    }

    /// What `entry` (a rule path like `data.vhgate.decision.decision`) reads, transitively.
    pub fn entry(&self, entry: &str) -> EntryReads {
        let start = entry.strip_prefix("data.").unwrap_or(entry).to_string();
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        let mut reads = EntryReads {
            input_keys: BTreeSet::new(),
            readers: BTreeMap::new(),
            unprojectable: None,
        };
        while let Some(path) = todo.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let Some(rule) = self.rules.get(&path) else {
                continue;
            };
            for key in &rule.input_keys {
                reads.input_keys.insert(key.clone());
                reads
                    .readers
                    .entry(key.clone())
                    .or_default()
                    .insert(path.clone());
            }
            if reads.unprojectable.is_none() {
                if let Some(why) = &rule.whole_input {
                    reads.unprojectable = Some(format!("{path} reads {why}"));
                } else if let Some(name) = &rule.non_deterministic {
                    reads.unprojectable = Some(format!("{path} calls {name}"));
                }
            }
            todo.extend(rule.rules.iter().cloned());
        }
        reads
    }
}

impl RuleReads {
    fn merge(&mut self, other: RuleReads) {
        self.input_keys.extend(other.input_keys);
        self.rules.extend(other.rules);
        self.whole_input = self.whole_input.take().or(other.whole_input);
        self.non_deterministic = self.non_deterministic.take().or(other.non_deterministic);
    }
}

/// The name a rule defines: the root of its head reference.
pub(super) fn rule_name(rule: &Json) -> Option<String> {
    let (kind, body) = single(rule)?;
    let refr = match kind {
        "Spec" => {
            let (_, head) = single(&body["head"])?;
            &head["refr"]
        }
        "Default" => &body["refr"],
        _ => return None,
    };
    chain(refr).map(|(root, _)| root)
}

/// `import data.x.y as z` → `z` ↦ (`data`, [`x`, `y`]).
fn imports(ast: &Json) -> BTreeMap<String, (String, Vec<Option<String>>)> {
    let mut map = BTreeMap::new();
    for import in ast["imports"].as_array().into_iter().flatten() {
        let Some((root, rest)) = chain(&import["refr"]) else {
            continue;
        };
        let alias = import["as"]
            .as_array()
            .and_then(|a| a.get(1))
            .and_then(Json::as_str)
            .or_else(|| import["as"].as_str())
            .map(str::to_string)
            .or_else(|| rest.last().cloned().flatten())
            .unwrap_or_else(|| root.clone());
        map.insert(alias, (root, rest));
    }
    map
}

/// The one `{"Variant": {...}}` pair of a serialised enum.
pub(super) fn single(node: &Json) -> Option<(&str, &Json)> {
    let obj = node.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// A reference as its root variable and its components (`None` for a computed one).
fn chain(node: &Json) -> Option<(String, Vec<Option<String>>)> {
    let (kind, body) = single(node)?;
    match kind {
        "Var" => Some((body["value"].as_str()?.to_string(), Vec::new())),
        "RefDot" => {
            let (root, mut rest) = chain(&body["refr"])?;
            rest.push(
                body["field"]
                    .get(1)
                    .and_then(Json::as_str)
                    .map(str::to_string),
            );
            Some((root, rest))
        }
        "RefBrack" => {
            let (root, mut rest) = chain(&body["refr"])?;
            let index = single(&body["index"])
                .filter(|(k, _)| *k == "String" || *k == "RawString")
                .and_then(|(_, b)| b["value"].as_str())
                .map(str::to_string);
            rest.push(index);
            Some((root, rest))
        }
        _ => None,
    }
}

struct Walker<'a> {
    package: &'a str,
    local: &'a BTreeSet<&'a str>,
    all_rules: &'a BTreeSet<String>,
    imports: &'a BTreeMap<String, (String, Vec<Option<String>>)>,
    reads: RuleReads,
}

impl Walker<'_> {
    fn visit(&mut self, node: &Json) {
        match node {
            Json::Array(items) => items.iter().for_each(|n| self.visit(n)),
            Json::Object(obj) => {
                if let Some((kind, body)) = single(node) {
                    match kind {
                        "Var" | "RefDot" | "RefBrack" => {
                            self.reference(node);
                            return;
                        }
                        "Call" => {
                            if let Some((root, rest)) = chain(&body["fcn"]) {
                                let name = std::iter::once(Some(root))
                                    .chain(rest)
                                    .collect::<Option<Vec<_>>>()
                                    .map(|p| p.join("."));
                                if let Some(name) =
                                    name.filter(|n| NON_DETERMINISTIC.contains(&n.as_str()))
                                {
                                    self.reads.non_deterministic.get_or_insert(name);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                obj.iter()
                    .filter(|(k, _)| k.as_str() != "span")
                    .for_each(|(_, v)| self.visit(v));
            }
            _ => {}
        }
    }

    /// A variable or a reference chain: input keys, rules, and the computed indexes inside.
    fn reference(&mut self, node: &Json) {
        // Visit computed indexes (they may themselves read input or rules).
        let mut cursor = node;
        while let Some((kind, body)) = single(cursor) {
            match kind {
                "RefDot" => cursor = &body["refr"],
                "RefBrack" => {
                    self.visit(&body["index"]);
                    cursor = &body["refr"];
                }
                _ => break,
            }
        }
        let Some((mut root, mut rest)) = chain(node) else {
            // The chain starts at something else (a call, a comprehension): visit that.
            self.visit(cursor);
            return;
        };
        if let Some((target, prefix)) = self.imports.get(&root) {
            let mut full = prefix.clone();
            full.extend(rest);
            root = target.clone();
            rest = full;
        }
        match root.as_str() {
            "input" => match rest.first() {
                Some(Some(key)) => {
                    self.reads.input_keys.insert(key.clone());
                }
                Some(None) => {
                    self.reads
                        .whole_input
                        .get_or_insert_with(|| "input with a computed key".into());
                }
                None => {
                    self.reads
                        .whole_input
                        .get_or_insert_with(|| "the whole input".into());
                }
            },
            "data" => self.data_reference(&rest),
            name if self.local.contains(name) => {
                self.reads.rules.insert(format!("{}.{name}", self.package));
            }
            _ => {}
        }
    }

    /// `data.a.b.c...`: the rule it names, or every rule under a partial or computed path.
    fn data_reference(&mut self, rest: &[Option<String>]) {
        let mut prefix = String::new();
        for component in rest {
            let Some(component) = component else {
                break;
            };
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(component);
            if self.all_rules.contains(&prefix) {
                self.reads.rules.insert(prefix);
                return;
            }
        }
        // A package, a partial or computed path: every rule under it (plain data otherwise).
        let under = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}.")
        };
        for rule in self.all_rules.iter().filter(|r| r.starts_with(&under)) {
            self.reads.rules.insert(rule.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footprint(modules: &[&str]) -> Footprint {
        let mut engine = regorus::Engine::new();
        for (i, m) in modules.iter().enumerate() {
            engine
                .add_policy(format!("m{i}.rego"), (*m).to_string())
                .expect("parses");
        }
        Footprint::from_ast_json(&engine.get_ast_as_json().expect("ast")).expect("analysed")
    }

    #[test]
    fn follows_rules_across_packages_and_imports() {
        let fp = footprint(&[
            "package a\nimport data.b\nx if b.y\nz := input.now\n",
            "package b\ny if input.requester.role == \"r\"\nw := input.budget\n",
        ]);
        let reads = fp.entry("data.a.x");
        assert_eq!(reads.input_keys, BTreeSet::from(["requester".to_string()]));
        assert_eq!(reads.unprojectable, None);
        let reads = fp.entry("data.b");
        assert!(reads.input_keys.is_empty(), "no such rule: nothing");
    }

    #[test]
    fn whole_input_computed_paths_and_clocks_are_unprojectable() {
        for module in [
            "package a\nx := count(input)\n",
            "package a\nx := input[k] if k := \"budget\"\n",
            "package a\nx := walk(input)\n",
            "package a\nx := time.now_ns()\n",
            "package a\nx := data.b[k] if k := \"y\"\n",
        ] {
            let fp = footprint(&[module, "package b\ny := input.z\n"]);
            let reads = fp.entry("data.a.x");
            let computed_data = module.contains("data.b[k]");
            assert!(
                reads.unprojectable.is_some() || (computed_data && reads.input_keys.contains("z")),
                "{module}: {reads:?}"
            );
        }
    }

    #[test]
    fn a_package_reference_depends_on_all_its_rules() {
        let fp = footprint(&[
            "package a\nx := data.b\n",
            "package b\ny := input.one\nz := input.two\n",
        ]);
        assert_eq!(
            fp.entry("data.a.x").input_keys,
            BTreeSet::from(["one".to_string(), "two".to_string()])
        );
    }

    #[test]
    fn the_shipped_policies_read_the_budget_only_in_budget_denials() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let sources = super::super::PolicySources::read_dir(&dir, false).expect("policies");
        let engine = super::super::regorus_engine::load_engine(&sources).expect("loads");
        let fp = Footprint::from_ast_json(&engine.get_ast_as_json().expect("ast")).expect("ok");
        let reads = fp.entry("data.vhgate.decision.decision");
        assert_eq!(reads.unprojectable, None);
        assert_eq!(
            reads.readers.get("budget"),
            Some(&BTreeSet::from([
                "vhgate.proportionaliteit.budget_denials".to_string()
            ]))
        );
        assert!(!reads.input_keys.contains("now"), "{reads:?}");
    }
}
