//! Criterion benchmarks of the privacy officers' console over a log of 100,000 entries on
//! SQLite: the overview page and a filtered search, each a whole page load over keep-alive
//! mTLS with a signed-in session (the view's own log entry included). Goal: p50 under 50 ms.
//!
//! Run: `cargo bench --bench console` (`VHGATE_BENCH_ENTRIES` changes the log size).

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vhgate::bench::BenchGateway;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn benchmarks(c: &mut Criterion) {
    let entries: usize = std::env::var("VHGATE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let gateway = rt
        .block_on(BenchGateway::start(&policies))
        .expect("start bench gateway");
    let filled = Instant::now();
    rt.block_on(gateway.fill_log(entries))
        .expect("fill the log");
    eprintln!(
        "log filled with {entries} entries in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let mut console = rt.block_on(gateway.console()).expect("sign in");
    let mut group = c.benchmark_group(format!("console ({entries} log entries, SQLite)"));
    group.measurement_time(Duration::from_secs(10));
    for (name, path) in [
        ("overview page", "/console/overzicht".to_string()),
        (
            "filtered search (partner, outcome, period)",
            "/console/verstrekkingen?partner=00000099000000000018&uitkomst=denied&van=2026-01-01"
                .to_string(),
        ),
        ("unfiltered list", "/console/verstrekkingen".to_string()),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += console.page(&path).await.expect("page");
                    }
                    total
                })
            })
        });
    }
    group.finish();
    rt.block_on(gateway.stop());
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
