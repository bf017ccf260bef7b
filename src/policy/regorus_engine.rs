//! The in-process Rego engine (regorus). Policies are parsed and compiled once per entry point;
//! a compiled policy is shared (`Arc`) and evaluated with fresh input per request.
//!
//! The fast path, in front of the interpreter (the reference semantics):
//! - the decision and access entry points also run as RVM bytecode ([`super::rvm`]) once a
//!   self-check at load found RVM and interpreter equal on the bundle's own inputs
//!   ([`super::differential`]); a bundle that differs is refused;
//! - decisions are memoised on the projection of the input they read ([`super::memo`],
//!   [`super::footprint`]), when the analysis shows the budget count is read only by
//!   `data.vhgate.proportionaliteit.budget_denials`, which then runs per request.
//!
//! Casework stays on the interpreter: regorus 0.14's RVM does not fail a body whose
//! assignment's right side is undefined (`v := m[missing]`), which the casework rules rely on.

use std::sync::Arc;

use regorus::{CompiledPolicy, Engine, Value};

use super::footprint::Footprint;
use super::memo::{DecisionMemo, Members};
use super::rvm::RvmEntry;
use super::{
    CaseworkDecision, CaseworkInput, ConvenantSummary, Decision, PolicyEngine, PolicyError,
    PolicyInput, PolicySources, ReviewScope,
};

/// Rule that yields the decision object for `read_person` and `lookup`.
pub const DECISION_RULE: &str = "data.vhgate.decision.decision";
/// Rule that says whether the requester may review the disclosure log.
pub const REVIEW_RULE: &str = "data.vhgate.access.review_disclosures";
/// Rule that says whether the requester may administer the convenant.
pub const ADMIN_RULE: &str = "data.vhgate.access.administer";
/// Rule that decides a step of the case life cycle.
pub const CASEWORK_RULE: &str = "data.vhgate.casework.decision";
/// Rule that says whether the requester may read the aggregate signalling figures.
pub const SIGNALS_RULE: &str = "data.vhgate.access.read_signals";
/// Rule that says which log entries a reviewing privacy officer sees ("all" or "own").
pub const REVIEW_SCOPE_RULE: &str = "data.vhgate.access.review_scope";
/// The one rule that may read the per-request budget count (see [`super::memo`]).
pub const BUDGET_RULE: &str = "data.vhgate.proportionaliteit.budget_denials";

/// Decisions a memo holds per generation (two generations; a key and its decision are a few KiB,
/// so at most some 30 MiB).
const MEMO_CAPACITY: usize = 4_096;

/// Which evaluator runs the entry points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineMode {
    /// RVM where the self-check holds, memoised decisions where the analysis allows.
    #[default]
    Fast,
    /// The interpreter only, no memo: the reference semantics.
    Reference,
}

/// What [`RegorusEngine::compare_fast_path`] found.
#[derive(Clone, Debug, Default)]
pub struct FastPathReport {
    /// Evaluations compared (entry points × inputs).
    pub compared: usize,
    /// Evaluations the RVM could not finish (the interpreter answers those at run time).
    pub fallbacks: usize,
    /// (entry point, input index) where the two differ.
    pub differences: Vec<(String, usize)>,
}

/// An entry point: the interpreter's compiled policy and, on the fast path, its RVM program.
struct Entry {
    rule: &'static str,
    policy: CompiledPolicy,
    rvm: Option<RvmEntry>,
}

/// The decision memo and how to key it.
struct MemoPlan {
    /// Top-level input keys the decision reads, but `budget` (sorted).
    keys: Vec<String>,
    /// The budget rule and the top-level keys it reads, when the decision reads the budget.
    budget: Option<(Entry, Vec<String>)>,
    memo: DecisionMemo,
}

/// Regorus-backed [`PolicyEngine`].
pub struct RegorusEngine {
    decision: Entry,
    review: Entry,
    admin: Entry,
    /// Entry points newer than some stored bundles: absent in a bundle made before them, the
    /// engine still loads (so an upgrade can start on the approved bundle) and refuses what
    /// they would decide.
    casework: Option<CompiledPolicy>,
    signals: Option<Entry>,
    review_scope: Option<Entry>,
    memo: Option<MemoPlan>,
    /// Why decisions are not memoised (for the start-up log), when they are not.
    memo_off: Option<String>,
    revision: String,
    convenant: ConvenantSummary,
}

impl std::fmt::Debug for RegorusEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegorusEngine")
            .field("revision", &self.revision)
            .finish()
    }
}

/// Builds an engine with every module and data document loaded (nothing compiled yet).
pub(crate) fn load_engine(sources: &PolicySources) -> Result<Engine, PolicyError> {
    let mut engine = Engine::new();
    for (path, text) in &sources.modules {
        engine
            .add_policy(path.clone(), text.clone())
            .map_err(|e| PolicyError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
    }
    for (path, value) in &sources.data {
        engine
            .add_data(Value::from(value.clone()))
            .map_err(|e| PolicyError::Data {
                path: path.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(engine)
}

impl RegorusEngine {
    /// Parses and compiles the policies once, with the fast path (see the module docs).
    pub fn prepare(sources: &PolicySources) -> Result<Self, PolicyError> {
        Self::prepare_with(sources, EngineMode::Fast)
    }

    /// Parses and compiles the policies once for `mode`.
    pub fn prepare_with(sources: &PolicySources, mode: EngineMode) -> Result<Self, PolicyError> {
        let mut engine = load_engine(sources)?;
        let data = merged_data(sources);
        let fast = mode == EngineMode::Fast;
        let data_value = Value::from(data.clone());
        let entry = |engine: &mut Engine, rule: &'static str, rvm: bool| {
            let policy =
                engine
                    .compile_with_entrypoint(&rule.into())
                    .map_err(|e| PolicyError::Parse {
                        path: rule.to_string(),
                        message: e.to_string(),
                    })?;
            let rvm = if fast && rvm {
                Some(RvmEntry::compile(&policy, rule, &data_value)?)
            } else {
                None
            };
            Ok::<_, PolicyError>(Entry { rule, policy, rvm })
        };
        let decision = entry(&mut engine, DECISION_RULE, true)?;
        let review = entry(&mut engine, REVIEW_RULE, true)?;
        let admin = entry(&mut engine, ADMIN_RULE, true)?;
        let footprint = Footprint::from_ast_json(
            &engine
                .get_ast_as_json()
                .map_err(|e| PolicyError::Eval(format!("policy syntax tree: {e}")))?,
        )?;
        let exists = |rule: &str| footprint.has_rule(rule.strip_prefix("data.").unwrap_or(rule));
        let casework = if exists(CASEWORK_RULE) {
            Some(
                engine
                    .compile_with_entrypoint(&CASEWORK_RULE.into())
                    .map_err(|e| PolicyError::Parse {
                        path: CASEWORK_RULE.to_string(),
                        message: e.to_string(),
                    })?,
            )
        } else {
            None
        };
        let signals = if exists(SIGNALS_RULE) {
            Some(entry(&mut engine, SIGNALS_RULE, true)?)
        } else {
            None
        };
        let review_scope = if exists(REVIEW_SCOPE_RULE) {
            Some(entry(&mut engine, REVIEW_SCOPE_RULE, true)?)
        } else {
            None
        };
        let (memo, memo_off) = if fast {
            match memo_plan(&footprint) {
                Ok((keys, budget_keys)) => {
                    let budget = match budget_keys {
                        Some(bk) => Some((entry(&mut engine, BUDGET_RULE, true)?, bk)),
                        None => None,
                    };
                    (
                        Some(MemoPlan {
                            keys,
                            budget,
                            memo: DecisionMemo::new(MEMO_CAPACITY),
                        }),
                        None,
                    )
                }
                Err(why) => (None, Some(why)),
            }
        } else {
            (None, Some("reference engine".to_string()))
        };
        let prepared = RegorusEngine {
            decision,
            review,
            admin,
            casework,
            signals,
            review_scope,
            memo,
            memo_off,
            revision: sources.revision(),
            convenant: sources.convenant()?,
        };
        if fast {
            prepared.self_check(&super::differential::self_check_inputs(&data))?;
            match &prepared.memo_off {
                None => tracing::debug!(revision = %prepared.revision, "decisions memoised"),
                Some(why) => {
                    tracing::info!(revision = %prepared.revision, reason = %why, "decisions not memoised")
                }
            }
        }
        Ok(prepared)
    }

    /// Refuses the bundle when an RVM entry point differs from the interpreter on `inputs`.
    pub fn self_check(&self, inputs: &[serde_json::Value]) -> Result<(), PolicyError> {
        match self.compare_fast_path(inputs).differences.first() {
            None => Ok(()),
            Some((rule, i)) => Err(PolicyError::SelfCheck(format!(
                "{rule} on the RVM differs from the interpreter on self-check input {i}; \
                 the bundle is refused (see policies/README.md, \"Fast path\")"
            ))),
        }
    }

    /// Evaluates every RVM entry point on `inputs` on both the RVM and the interpreter.
    pub fn compare_fast_path(&self, inputs: &[serde_json::Value]) -> FastPathReport {
        let budget = self
            .memo
            .as_ref()
            .and_then(|m| m.budget.as_ref().map(|(e, _)| e));
        let entries = [
            Some(&self.decision),
            Some(&self.review),
            Some(&self.admin),
            self.signals.as_ref(),
            self.review_scope.as_ref(),
            budget,
        ];
        let mut report = FastPathReport::default();
        for entry in entries.into_iter().flatten() {
            let Some(rvm) = &entry.rvm else { continue };
            for (i, input) in inputs.iter().enumerate() {
                let input = Value::from(input.clone());
                let reference = entry.policy.eval_with_input(input.clone());
                report.compared += 1;
                let equal = match (&reference, rvm.eval(input)) {
                    (Ok(a), Ok(b)) => *a == b,
                    // An RVM error falls back to the interpreter at run time: not a difference.
                    (_, Err(_)) => {
                        report.fallbacks += 1;
                        true
                    }
                    (Err(_), Ok(_)) => false,
                };
                if !equal {
                    report.differences.push((entry.rule.to_string(), i));
                }
            }
        }
        report
    }

    /// Whether decisions are memoised, and if not, why (for the start-up log and the bench).
    pub fn memo_status(&self) -> Result<usize, String> {
        match (&self.memo, &self.memo_off) {
            (Some(m), _) => Ok(m.memo.len()),
            (None, why) => Err(why.clone().unwrap_or_default()),
        }
    }

    /// Evaluates an entry point: the RVM when it has one (the interpreter if that fails).
    fn eval_value(&self, entry: &Entry, input: Value) -> Result<Value, PolicyError> {
        if let Some(rvm) = &entry.rvm {
            match rvm.eval(input.clone()) {
                Ok(out) => return Ok(out),
                Err(e) => {
                    tracing::warn!(rule = entry.rule, error = %e, "RVM failed; interpreter used")
                }
            }
        }
        entry
            .policy
            .eval_with_input(input)
            .map_err(|e| PolicyError::Eval(e.to_string()))
    }

    fn eval_json(&self, entry: &Entry, input: Value) -> Result<serde_json::Value, PolicyError> {
        let out = self.eval_value(entry, input)?;
        if out == Value::Undefined {
            return Ok(serde_json::Value::Null);
        }
        serde_json::to_value(&out).map_err(|e| PolicyError::Eval(e.to_string()))
    }

    fn eval<I: serde::Serialize>(
        &self,
        entry: &Entry,
        input: &I,
    ) -> Result<serde_json::Value, PolicyError> {
        self.eval_json(entry, to_value(input)?)
    }

    /// The decision from the policy, unmemoised.
    fn decide_uncached(
        &self,
        input: Value,
        fields: &[super::FieldInput],
    ) -> Result<Decision, PolicyError> {
        let out = self.eval_json(&self.decision, input)?;
        if out.is_null() {
            return Err(PolicyError::Shape(format!("{DECISION_RULE} is undefined")));
        }
        let decision: Decision =
            serde_json::from_value(out).map_err(|e| PolicyError::Shape(e.to_string()))?;
        decision.validate(fields)?;
        Ok(decision)
    }
}

/// The merged data document (every data file's top-level keys).
fn merged_data(sources: &PolicySources) -> serde_json::Value {
    let mut merged = serde_json::Map::new();
    for (_, value) in &sources.data {
        if let Some(obj) = value.as_object() {
            merged.extend(obj.clone());
        }
    }
    serde_json::Value::Object(merged)
}

fn to_value<I: serde::Serialize>(input: &I) -> Result<Value, PolicyError> {
    let json = serde_json::to_value(input).map_err(|e| PolicyError::Eval(e.to_string()))?;
    Ok(Value::from(json))
}

/// The memo's key layout: the decision's input keys without `budget`, and the keys the budget
/// rule reads when the decision reads the budget through it; `Err`: why the decision cannot be
/// memoised.
fn memo_plan(footprint: &Footprint) -> Result<(Vec<String>, Option<Vec<String>>), String> {
    let reads = footprint.entry(DECISION_RULE);
    if let Some(why) = reads.unprojectable {
        return Err(why);
    }
    let budget_rule = BUDGET_RULE.strip_prefix("data.").unwrap_or(BUDGET_RULE);
    let keys: Vec<String> = reads
        .input_keys
        .iter()
        .filter(|k| k.as_str() != "budget")
        .cloned()
        .collect();
    match reads.readers.get("budget") {
        None => Ok((keys, None)),
        Some(readers) if readers.iter().all(|r| r == budget_rule) => {
            let budget_reads = footprint.entry(BUDGET_RULE);
            if let Some(why) = budget_reads.unprojectable {
                return Err(why);
            }
            Ok((keys, Some(budget_reads.input_keys.into_iter().collect())))
        }
        Some(readers) => Err(format!(
            "the budget count is read outside {BUDGET_RULE} (by {})",
            readers.iter().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
}

impl PolicyEngine for RegorusEngine {
    fn decide(&self, input: &PolicyInput) -> Result<Decision, PolicyError> {
        let Some(plan) = &self.memo else {
            return self.decide_uncached(to_value(input)?, &input.fields);
        };
        let eval_err = |e: serde_json::Error| PolicyError::Eval(e.to_string());
        // Serialised once, member by member: the key and the evaluators' documents are made of
        // these slices.
        let members = Members::of(input).map_err(eval_err)?;
        let mut key = Vec::with_capacity(2048);
        for k in &plan.keys {
            key.extend_from_slice(k.as_bytes());
            match members.get(k) {
                Some(v) => {
                    key.push(b'=');
                    key.extend_from_slice(v);
                }
                None => key.push(b'!'),
            }
            key.push(b'\n');
        }
        if let Some((budget, budget_keys)) = &plan.budget {
            let doc = Value::from_json_str(&members.object(Some(budget_keys)))
                .map_err(|e| PolicyError::Eval(e.to_string()))?;
            let verdict = self.eval_value(budget, doc)?;
            key.extend_from_slice(b"budget_denials=");
            key.extend(serde_json::to_vec(&verdict).map_err(eval_err)?);
        }
        if let Some(decision) = plan.memo.get(&key) {
            return Ok((*decision).clone());
        }
        let doc = Value::from_json_str(&members.object(None))
            .map_err(|e| PolicyError::Eval(e.to_string()))?;
        let decision = self.decide_uncached(doc, &input.fields)?;
        plan.memo.insert(key, Arc::new(decision.clone()));
        Ok(decision)
    }

    fn may_review_disclosures(&self, input: &PolicyInput) -> Result<bool, PolicyError> {
        // Undefined means no: default deny.
        Ok(self.eval(&self.review, input)? == serde_json::Value::Bool(true))
    }

    fn may_administer(&self, input: &PolicyInput) -> Result<bool, PolicyError> {
        Ok(self.eval(&self.admin, input)? == serde_json::Value::Bool(true))
    }

    fn decide_casework(&self, input: &CaseworkInput) -> Result<CaseworkDecision, PolicyError> {
        let Some(casework) = &self.casework else {
            return Err(PolicyError::Eval(format!(
                "{CASEWORK_RULE} is not in this policy bundle"
            )));
        };
        let out = casework
            .eval_with_input(to_value(input)?)
            .map_err(|e| PolicyError::Eval(e.to_string()))?;
        if out == Value::Undefined {
            return Err(PolicyError::Shape(format!("{CASEWORK_RULE} is undefined")));
        }
        let out = serde_json::to_value(&out).map_err(|e| PolicyError::Eval(e.to_string()))?;
        serde_json::from_value(out).map_err(|e| PolicyError::Shape(e.to_string()))
    }

    fn may_read_signals(&self, input: &PolicyInput) -> Result<bool, PolicyError> {
        let Some(signals) = &self.signals else {
            return Ok(false);
        };
        Ok(self.eval(signals, input)? == serde_json::Value::Bool(true))
    }

    fn review_scope(&self, input: &PolicyInput) -> Result<ReviewScope, PolicyError> {
        let Some(scope) = &self.review_scope else {
            return Ok(ReviewScope::Own);
        };
        // Anything but an explicit "all" (undefined included) is the least.
        Ok(match self.eval(scope, input)?.as_str() {
            Some("all") => ReviewScope::All,
            _ => ReviewScope::Own,
        })
    }

    fn revision(&self) -> &str {
        &self.revision
    }

    fn convenant(&self) -> &ConvenantSummary {
        &self.convenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle approved before the case life cycle and signalling existed still loads after
    /// an upgrade, and refuses those steps.
    #[test]
    fn bundles_without_newer_entry_points_load_and_refuse_them() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut sources = PolicySources::read_dir(&dir, false).expect("policies");
        sources
            .modules
            .retain(|(path, _)| !path.ends_with("casework.rego"));
        for (path, text) in &mut sources.modules {
            if path.ends_with("access.rego") {
                *text = text.replace("read_signals", "read_signals_old");
            }
        }
        let engine = RegorusEngine::prepare(&sources).expect("an older bundle loads");
        assert!(engine.casework.is_none() && engine.signals.is_none());
        let input: PolicyInput = serde_json::from_value(serde_json::json!({
            "action": "read_signals", "now": "2026-01-01T00:00:00Z",
            "requester": {"oin": "", "partner_type": "veiligheidshuis", "role": "procesregisseur",
                          "purpose": "signalering", "sub": ""},
            "budget": {"used": 0}
        }))
        .expect("input");
        assert!(!engine.may_read_signals(&input).expect("decided"));
    }
}
