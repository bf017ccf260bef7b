//! Criterion benchmarks of the headline figures: one policy decision on the prepared engine,
//! and one full request (GET person over keep-alive mTLS, policy, durable log commit) against a
//! real gateway on loopback. `vhgate bench` adds p99 and throughput under concurrency.
//!
//! Run: `cargo bench --bench gateway`.

use std::path::Path;
use std::sync::RwLock;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vhgate::bench::{sample_input, BenchGateway};
use vhgate::disclosure::{Event, LogEntry, NewEntry, RequesterRecord, ENTRY_VERSION};
use vhgate::policy::{CaseworkInput, Decision, PolicyEngine as _, PolicyInput};

// Same allocator as the `vhgate` binary, so the figures match what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn policies() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

fn benchmarks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let gateway = rt
        .block_on(BenchGateway::start(&policies()))
        .expect("start bench gateway");

    let input = sample_input().expect("sample input");
    let engine = gateway.policy.clone();
    // Every request carries a new budget count, as in production: the memo is keyed on the
    // rest of the input plus the budget rule's verdict, which runs each time.
    let mut counted = input.clone();
    c.bench_function("policy decision (read_person, 10 fields)", |b| {
        b.iter(|| {
            counted.budget.used += 1;
            engine.decide(&counted).expect("decision")
        })
    });
    // A memo miss each time (a new case id): the full decision on the RVM.
    let mut fresh = input.clone();
    let mut n = 0u64;
    c.bench_function("policy decision, memo miss (RVM, 10 fields)", |b| {
        b.iter(|| {
            n += 1;
            if let Some(case) = fresh.case.as_mut() {
                case.id = format!("0194a0b0-0000-7000-8000-{n:012}");
            }
            engine.decide(&fresh).expect("decision")
        })
    });
    let sources = vhgate::policy::PolicySources::read_dir(&policies(), false).expect("policies");
    let reference = vhgate::policy::RegorusEngine::prepare_with(
        &sources,
        vhgate::policy::EngineMode::Reference,
    )
    .expect("reference engine");
    c.bench_function("policy decision, reference interpreter (10 fields)", |b| {
        b.iter(|| reference.decide(&input).expect("decision"))
    });

    // One step of the case life cycle: Reclassering contributes a criminal-law item (the
    // casework package with the convenant's contribution grounds).
    let step = contribution_input(&input);
    assert!(engine.decide_casework(&step).expect("decision").allow);
    c.bench_function("casework decision (contribute_information)", |b| {
        b.iter(|| engine.decide_casework(&step).expect("decision"))
    });

    // Impact preview: 1,000 recorded decisions replayed against a candidate (the same rules).
    let decision = engine.decide(&input).expect("decision");
    let recorded: Vec<LogEntry> = (0..1000)
        .map(|seq| recorded_entry(seq, &input, &decision, engine.revision()))
        .collect();
    c.bench_function("impact preview (replay 1000 recorded decisions)", |b| {
        b.iter(|| {
            let window = vhgate::admin::impact::ImpactWindow {
                since: None,
                until: None,
                last: Some(1000),
            };
            let report =
                vhgate::admin::impact::replay(&recorded, engine.as_ref(), None, window, false);
            assert_eq!(report.replayed, 1000);
        })
    });

    // Activation: the atomic swap of the prepared engine that requests pick up.
    let swap_target = RwLock::new(engine.clone());
    c.bench_function("policy activation swap (prepared engine)", |b| {
        b.iter(|| {
            let mut slot = swap_target.write().expect("lock");
            *slot = engine.clone();
        })
    });

    let mut conn = rt.block_on(gateway.connect()).expect("connect");
    c.bench_function("full request (GET person, mTLS keep-alive, logged)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += conn.read_person().await.expect("request");
                }
                total
            })
        })
    });
    rt.block_on(gateway.stop());
}

/// The sample request turned into a casework step: contributing an information item.
fn contribution_input(base: &PolicyInput) -> CaseworkInput {
    let mut v = serde_json::to_value(base).expect("input");
    v["action"] = "contribute_information".into();
    v["fields"] = serde_json::json!([]);
    v["casework"] = serde_json::json!({
        "registered_by": "00000099000000000011",
        "requester_is_registrant": false,
        "casusregisseur": "00000099000000000013",
        "requester_is_casusregisseur": false,
        "invited": [],
        "requester_is_invited": false,
        "targets": [],
        "information": {
            "category": "strafrechtelijk",
            "leefgebied": "justitie",
            "ground": "reclassering_toezicht",
            "status": "actief",
            "contributed_by": "00000099000000000013",
            "contributor_partner_type": "reclassering",
            "requester_is_contributor": true,
            "person_in_case": true
        }
    });
    serde_json::from_value(v).expect("casework input")
}

/// A log entry as the gateway writes it for `decision` on `input`.
fn recorded_entry(seq: i64, input: &PolicyInput, decision: &Decision, revision: &str) -> LogEntry {
    LogEntry {
        v: ENTRY_VERSION,
        seq,
        entry: NewEntry {
            id: uuid::Uuid::now_v7(),
            time: "2026-11-24T12:00:00.000000Z".into(),
            event: Event::ReadPerson,
            outcome: decision.outcome(),
            status: 200,
            requester: RequesterRecord::default(),
            case_id: None,
            subject: None,
            subjects: vec![],
            tier: decision.tier,
            disclosed: decision.allowed_fields.clone(),
            categories: vec![],
            sources: vec![],
            withheld: decision.withheld.clone(),
            reasons: vec![],
            policy_revision: revision.into(),
            problem_type: None,
            traceparent: None,
            trace_id: None,
            span_id: None,
            parent_span_id: None,
            input: Some(serde_json::to_value(input).expect("input")),
        },
    }
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
