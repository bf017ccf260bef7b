//! Swapping the prepared policy engine under sustained load: no request fails, and every
//! logged decision names the revision (old or new) that made it entirely.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Env;
use vhgate::policy::bundle::{validate, Bundle};
use vhgate::policy::PolicyEngine;

on_both_backends!(policy_swap_and_rollback_under_load);

async fn policy_swap_and_rollback_under_load(env: &Env) {
    // The candidate: the shipped policies as a new convenant version (a tighter budget would be
    // refused: the bundle's own tests pin the budgets).
    let prepared_at = Instant::now();
    let bundle = Bundle::from_tar_gz(&common::candidate_bundle("2026-2")).expect("read");
    let candidate: Arc<dyn PolicyEngine> =
        Arc::new(validate(&bundle.sources).expect("valid candidate"));
    let prepare_time = prepared_at.elapsed();

    let gateway = env.gateway();
    let original = gateway.policy();
    let (old_rev, new_rev) = (
        original.revision().to_string(),
        candidate.revision().to_string(),
    );
    assert_ne!(old_rev, new_rev);

    let politie = Arc::new(env.client("politie"));
    let token = politie.token("professional", "casusoverleg");
    let url = env.url(&format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (p, t, u, stop, ok, failed) = (
            politie.clone(),
            token.clone(),
            url.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // A decision (200, or 403 once politie's daily budget runs out) is fine; a
                // transport error or a 5xx is a failed request.
                match p.http.get(&u).bearer_auth(&t).send().await {
                    Ok(r) if !r.status().is_server_error() => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let swapped_at = Instant::now();
    gateway.set_policy(candidate.clone());
    let swap_time = swapped_at.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.set_policy(original.clone()); // rollback
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("load task");
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during the swap"
    );
    assert!(ok.load(Ordering::Relaxed) > 10);

    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 100_000)
        .await
        .expect("rows");
    let mut seen = std::collections::BTreeMap::new();
    for row in &rows {
        assert!(
            row.policy_revision == old_rev || row.policy_revision == new_rev,
            "{}",
            row.policy_revision
        );
        *seen.entry(row.policy_revision.clone()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2, "both revisions decided requests: {seen:?}");
    env.assert_log_intact().await;
    eprintln!("prepare (build+read+validate) {prepare_time:?}, swap {swap_time:?}, decisions per revision {seen:?}");
}
