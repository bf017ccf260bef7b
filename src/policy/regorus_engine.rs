//! The in-process Rego engine (regorus). Policies are parsed and compiled once per entry point;
//! a compiled policy is shared (`Arc`) and evaluated with fresh input per request.

use regorus::{CompiledPolicy, Engine, Value};

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

/// Regorus-backed [`PolicyEngine`].
pub struct RegorusEngine {
    decision: CompiledPolicy,
    review: CompiledPolicy,
    admin: CompiledPolicy,
    /// Entry points newer than some stored bundles: absent in a bundle made before them, the
    /// engine still loads (so an upgrade can start on the approved bundle) and refuses what
    /// they would decide.
    casework: Option<CompiledPolicy>,
    signals: Option<CompiledPolicy>,
    review_scope: Option<CompiledPolicy>,
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
    /// Parses and compiles the policies once.
    pub fn prepare(sources: &PolicySources) -> Result<Self, PolicyError> {
        let mut engine = load_engine(sources)?;
        let compile = |engine: &mut Engine, rule: &str| {
            engine
                .compile_with_entrypoint(&rule.into())
                .map_err(|e| PolicyError::Parse {
                    path: rule.to_string(),
                    message: e.to_string(),
                })
        };
        let decision = compile(&mut engine, DECISION_RULE)?;
        let review = compile(&mut engine, REVIEW_RULE)?;
        let admin = compile(&mut engine, ADMIN_RULE)?;
        let optional =
            |engine: &mut Engine, rule: &str| match engine.compile_with_entrypoint(&rule.into()) {
                Ok(policy) => Ok(Some(policy)),
                Err(e) if e.to_string().contains("not a valid rule path") => Ok(None),
                Err(e) => Err(PolicyError::Parse {
                    path: rule.to_string(),
                    message: e.to_string(),
                }),
            };
        let casework = optional(&mut engine, CASEWORK_RULE)?;
        let signals = optional(&mut engine, SIGNALS_RULE)?;
        let review_scope = optional(&mut engine, REVIEW_SCOPE_RULE)?;
        Ok(RegorusEngine {
            decision,
            review,
            admin,
            casework,
            signals,
            review_scope,
            revision: sources.revision(),
            convenant: sources.convenant()?,
        })
    }

    fn eval<I: serde::Serialize>(
        &self,
        policy: &CompiledPolicy,
        input: &I,
    ) -> Result<serde_json::Value, PolicyError> {
        let input = serde_json::to_value(input).map_err(|e| PolicyError::Eval(e.to_string()))?;
        let out = policy
            .eval_with_input(Value::from(input))
            .map_err(|e| PolicyError::Eval(e.to_string()))?;
        if out == Value::Undefined {
            return Ok(serde_json::Value::Null);
        }
        serde_json::to_value(&out).map_err(|e| PolicyError::Eval(e.to_string()))
    }
}

impl PolicyEngine for RegorusEngine {
    fn decide(&self, input: &PolicyInput) -> Result<Decision, PolicyError> {
        let out = self.eval(&self.decision, input)?;
        if out.is_null() {
            return Err(PolicyError::Shape(format!("{DECISION_RULE} is undefined")));
        }
        let decision: Decision =
            serde_json::from_value(out).map_err(|e| PolicyError::Shape(e.to_string()))?;
        decision.validate(&input.fields)?;
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
        let out = self.eval(casework, input)?;
        if out.is_null() {
            return Err(PolicyError::Shape(format!("{CASEWORK_RULE} is undefined")));
        }
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
