//! The fast path (RVM bytecode and the decision memo) against the reference semantics (the
//! regorus interpreter, no memo): zero differences on a large generated input set, with the
//! budget count varied so memoised decisions are reused, and on every decision input recorded
//! in a real gateway's disclosure log.
//!
//! `VHGATE_DIFFERENTIAL_INPUTS` sets the generated set's size (default 4,000).

mod common;

use serde_json::{json, Value};
use vhgate::policy::{
    differential, EngineMode, PolicyEngine, PolicyInput, PolicySources, RegorusEngine,
};

fn sources() -> PolicySources {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    PolicySources::read_dir(&dir, false).expect("policies")
}

fn data(sources: &PolicySources) -> Value {
    let mut merged = serde_json::Map::new();
    for (_, value) in &sources.data {
        merged.extend(value.as_object().cloned().unwrap_or_default());
    }
    Value::Object(merged)
}

fn input_count() -> usize {
    std::env::var("VHGATE_DIFFERENTIAL_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}

/// A decision or its error, as comparable JSON.
fn outcome(engine: &dyn PolicyEngine, input: &PolicyInput) -> Value {
    match engine.decide(input) {
        Ok(d) => serde_json::to_value(d).expect("decision"),
        Err(e) => json!({"error": e.to_string()}),
    }
}

#[test]
fn rvm_entry_points_equal_the_interpreter_on_generated_inputs() {
    let sources = sources();
    let fast = RegorusEngine::prepare(&sources).expect("fast engine");
    let inputs = differential::generated_inputs(&data(&sources), 1, input_count());
    let report = fast.compare_fast_path(&inputs);
    println!(
        "RVM vs interpreter: {} evaluations over {} inputs, {} differences, {} RVM fallbacks",
        report.compared,
        inputs.len(),
        report.differences.len(),
        report.fallbacks
    );
    assert!(
        report.differences.is_empty(),
        "differences (rule, generated input index from seed 1): {:?}",
        &report.differences[..report.differences.len().min(20)]
    );
    assert!(report.compared >= inputs.len() * 5, "every entry point ran");
}

#[test]
fn memoised_decisions_equal_the_reference_whatever_the_budget() {
    let sources = sources();
    let fast = RegorusEngine::prepare(&sources).expect("fast engine");
    assert!(fast.memo_status().is_ok(), "{:?}", fast.memo_status());
    let reference =
        RegorusEngine::prepare_with(&sources, EngineMode::Reference).expect("reference engine");
    let inputs = differential::generated_inputs(&data(&sources), 1_000_001, input_count());
    let (mut compared, mut differences) = (0, Vec::new());
    for (i, raw) in inputs.iter().enumerate() {
        let Ok(mut input) = serde_json::from_value::<PolicyInput>(raw.clone()) else {
            continue; // malformed beyond the typed input: covered by the RVM test above
        };
        let used = input.budget.used;
        // The same request again (a memo hit), then with other budget counts around it.
        for next in [used, used, used + 1, used.saturating_sub(1), 0, 1_000_000] {
            input.budget.used = next;
            compared += 1;
            let (a, b) = (outcome(&fast, &input), outcome(&reference, &input));
            if a != b {
                differences.push((i, next, a, b));
            }
        }
    }
    println!(
        "memoised vs reference: {compared} decisions, {} differences, {} decisions memoised",
        differences.len(),
        fast.memo_status().unwrap_or_default()
    );
    assert!(
        differences.is_empty(),
        "first differences: {:?}",
        &differences[..differences.len().min(5)]
    );
    assert!(
        compared > input_count() * 3,
        "most generated inputs are typed"
    );
}

#[test]
fn a_bundle_whose_rvm_differs_is_refused_at_load() {
    // Break the RVM's known gap (an assignment from an undefined value must fail the body)
    // into the decision's entry point: the self-check must notice and refuse the bundle.
    let mut sources = sources();
    for (path, text) in &mut sources.modules {
        if path.ends_with("decision.rego") {
            text.push_str(
                "\nmissing_partner_note := n if {\n\tn := {\"a\": 1}[data.vhgate.lib.partner_type]\n}\n\nundefined_is_refused if {\n\tv := {\"a\": 1}[data.vhgate.lib.partner_type]\n\tnot v == 1\n}\n",
            );
            *text = text.replace(
                "\"obligations\": obligations,\n}",
                "\"obligations\": obligations,\n\t\"probe\": undefined_is_refused,\n}",
            );
        }
    }
    match RegorusEngine::prepare(&sources) {
        Err(vhgate::policy::PolicyError::SelfCheck(message)) => {
            assert!(
                message.contains("data.vhgate.decision.decision"),
                "{message}"
            )
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("the RVM's gap went unnoticed"),
    }
    // The reference engine (no RVM) still loads the same bundle.
    RegorusEngine::prepare_with(&sources, EngineMode::Reference).expect("reference loads");
}

on_both_backends!(recorded_inputs_decide_the_same_on_the_fast_path);

/// Every decision input a real gateway recorded in its log (reads and lookups by every demo
/// partner, refusals included) gives the same decision on the fast path and the reference.
async fn recorded_inputs_decide_the_same_on_the_fast_path(env: &common::Env) {
    let ids = &env.ids;
    let paths = [
        format!("/v1/cases/{}/persons/{}", ids.uden_case, ids.uden_man),
        format!("/v1/cases/{}/persons/{}", ids.oss_case, ids.oss_youth),
        format!("/v1/cases/{}/persons/{}", ids.gezin_case, ids.gezin_mother),
        format!(
            "/v1/cases/{}/persons/{}",
            ids.closed_case, ids.closed_person
        ),
        format!("/v1/cases/{}/persons/{}", ids.new_case, ids.new_person),
    ];
    let partners = [
        "politie",
        "om",
        "reclassering",
        "rvdk",
        "gemeente",
        "ggz",
        "veilig-thuis",
        "woningcorporatie",
        "veiligheidshuis",
    ];
    for partner in partners {
        let client = env.client(partner);
        for (role, purpose) in [
            ("professional", "casusoverleg"),
            ("professional", "nazorg"),
            ("procesregisseur", "procesregie"),
            ("professional", "bevraging"),
        ] {
            let token = client.token(role, purpose);
            for path in &paths {
                client.get(env, path, &token).await;
            }
            client.lookup(env, &token, ids.uden_man_bsn).await;
            client.lookup(env, &token, ids.unknown_bsn).await;
        }
    }
    let gateway = env.gateway();
    let rows = vhgate::disclosure::store::decisions(gateway.record.db(), None, None, 100_000)
        .await
        .expect("recorded decisions");
    let reference =
        RegorusEngine::prepare_with(&sources(), EngineMode::Reference).expect("reference engine");
    let fast = gateway.policy();
    let mut compared = 0;
    for row in &rows {
        let entry: Value = serde_json::from_str(&row.entry).expect("entry JSON");
        let Ok(input) = serde_json::from_value::<PolicyInput>(entry["input"].clone()) else {
            continue;
        };
        compared += 1;
        assert_eq!(
            outcome(fast.as_ref(), &input),
            outcome(&reference, &input),
            "log entry {}",
            row.seq
        );
    }
    println!(
        "recorded inputs compared: {compared} of {} rows",
        rows.len()
    );
    assert!(compared >= 100, "only {compared} recorded inputs");
}
