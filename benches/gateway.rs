//! Criterion benchmarks of the headline figures: one policy decision on the prepared engine,
//! and one full request (GET person over keep-alive mTLS, policy, durable log commit) against a
//! real gateway on loopback. `vhgate bench` adds p99 and throughput under concurrency.
//!
//! Run: `cargo bench --bench gateway`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vhgate::bench::{sample_input, BenchGateway};

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
    c.bench_function("policy decision (read_person, 10 fields)", |b| {
        b.iter(|| engine.decide(&input).expect("decision"))
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

criterion_group!(benches, benchmarks);
criterion_main!(benches);
