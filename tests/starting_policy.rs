//! The starting policy becomes an ordinary bundle at the first start: recorded once as the
//! active bundle (with its `policy_change` log entry), never again on a restart or by a second
//! instance starting at the same moment, and a later rollback to it works and decides as before.
//! After the first start the history decides, not `policy.dir`.

mod common;

use common::Env;
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    first_start_records_the_starting_bundle_once,
    instances_starting_at_once_record_one_starting_bundle,
    rollback_to_the_starting_bundle_decides_as_before,
);

fn administrator(vh: &common::Partner, sub: &str) -> String {
    vh.sign(&vhgate::auth::Claims {
        sub: sub.into(),
        ..vh.claims("convenant_administrator", "beheer")
    })
}

/// The bundle history as the admin API shows it.
async fn history(env: &Env) -> Vec<Value> {
    let vh = env.client("veiligheidshuis");
    let r = vh
        .get(
            env,
            "/v1/admin/policy-bundles",
            &administrator(&vh, "beheerder-alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().expect("history").clone()
}

/// The revisions of the `policy_change` log entries, oldest first.
async fn policy_changes(env: &Env) -> Vec<String> {
    vhgate::disclosure::store::rows_after(&env.db, 0, 100_000)
        .await
        .expect("rows")
        .into_iter()
        .filter(|r| r.event == "policy_change")
        .map(|r| r.policy_revision)
        .collect()
}

async fn first_start_records_the_starting_bundle_once(env: &Env) {
    let start = vhgate::policy::PolicySources::read_dir(&env.config.policy.dir, false)
        .expect("policies")
        .revision();
    assert_eq!(env.gateway().policy().revision(), start);
    let bundles = history(env).await;
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let b = &bundles[0];
    assert_eq!(b["revision"], start.as_str());
    assert_eq!(b["status"], "active");
    assert_eq!(b["source"], "starting_policy");
    assert_eq!(b["proposed_by"], "vhgate (starting policy)");
    assert!(
        b["reason"]
            .as_str()
            .is_some_and(|r| r.contains("starting policy")),
        "{b}"
    );
    // Its log entry: the gateway's own step, naming the revision.
    assert_eq!(policy_changes(env).await, std::slice::from_ref(&start));
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 100_000)
        .await
        .expect("rows");
    let entry: Value = serde_json::from_str(
        &rows
            .iter()
            .find(|r| r.event == "policy_change")
            .expect("policy_change")
            .entry,
    )
    .expect("entry");
    assert_eq!(entry["requester"]["sub"], "vhgate-start");
    assert_eq!(entry["outcome"], "allowed");

    // A restart adds nothing, and one with another policy directory keeps the active bundle.
    let restarted = env.start_instance().await;
    assert_eq!(restarted.gateway.policy().revision(), start);
    restarted.stop().await;
    let elders = common::candidate_dir("2026-elders");
    let mut config = env.config.clone();
    config.policy.dir = elders.path().to_path_buf();
    let elsewhere = env.start_instance_with(config).await;
    assert_eq!(elsewhere.gateway.policy().revision(), start);
    elsewhere.stop().await;
    assert_eq!(history(env).await.len(), 1);
    assert_eq!(policy_changes(env).await, [start]);
    env.assert_log_intact().await;
}

/// Two instances with different policy directories start at the same moment on a database
/// where no bundle is active: one starting bundle is recorded, and both run it.
async fn instances_starting_at_once_record_one_starting_bundle(env: &Env) {
    // As if the history were empty (a database from before the starting bundle existed).
    env.exec("DELETE FROM policy_bundles").await;
    let before = policy_changes(env).await.len();
    let dir = common::candidate_dir("2026-gelijktijdig");
    let mut other = env.config.clone();
    other.policy.dir = dir.path().to_path_buf();
    let (a, b) = tokio::join!(env.start_instance(), env.start_instance_with(other));
    let bundles = history(env).await;
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let active = bundles[0]["revision"]
        .as_str()
        .expect("revision")
        .to_string();
    assert_eq!(bundles[0]["status"], "active");
    assert_eq!(bundles[0]["source"], "starting_policy");
    assert_eq!(a.gateway.policy().revision(), active);
    assert_eq!(b.gateway.policy().revision(), active);
    let changes = policy_changes(env).await;
    assert_eq!(changes.len(), before + 1, "{changes:?}");
    assert_eq!(changes.last(), Some(&active));
    a.stop().await;
    b.stop().await;
    env.assert_log_intact().await;
}

/// After another bundle is activated, the starting revision can be reactivated (rollback), and
/// then decides the same request as it did at the start.
async fn rollback_to_the_starting_bundle_decides_as_before(env: &Env) {
    let start = env.gateway().policy().revision().to_string();
    let vh = env.client("veiligheidshuis");
    let (alice, bob) = (
        administrator(&vh, "beheerder-alice"),
        administrator(&vh, "beheerder-bob"),
    );
    let woning = env.client("woningcorporatie");
    let token = woning.token("professional", "casusoverleg");
    let read = || woning.read_person(env, &token, env.ids.uden_case, env.ids.uden_man);
    let first = read().await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["decision"]["policy_revision"], start.as_str());

    let proposed = vh
        .http
        .post(env.url("/v1/admin/policy-bundles"))
        .bearer_auth(&alice)
        .body(common::candidate_bundle("2026-na-start"))
        .send()
        .await
        .expect("propose");
    assert_eq!(proposed.status(), StatusCode::CREATED);
    let rev = proposed.json::<Value>().await.expect("json")["revision"]
        .as_str()
        .expect("revision")
        .to_string();
    let approve = |token: String, path: String| {
        let http = vh.http.clone();
        let url = env.url(&path);
        async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("post");
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = approve(
        bob.clone(),
        format!("/v1/admin/policy-bundles/{rev}/approve"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.gateway().policy().revision(), rev);
    assert_eq!(
        read().await.body["decision"]["policy_revision"],
        rev.as_str()
    );

    // Rollback to the starting revision (retired by the approval).
    let (status, body) = approve(alice, format!("/v1/admin/policy-bundles/{start}/activate")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "active");
    assert_eq!(body["source"], "starting_policy");
    assert_eq!(env.gateway().policy().revision(), start);
    let again = read().await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    // The same decision (its own id aside) from the same revision.
    let decided = |r: &common::Response| {
        let mut d = r.body["decision"].clone();
        d.as_object_mut().expect("decision").remove("decision_id");
        d
    };
    assert_eq!(decided(&again), decided(&first));
    assert_eq!(
        policy_changes(env).await,
        [start.clone(), rev, start.clone()]
    );

    // A restart after the rollback runs the starting bundle, and records nothing new.
    let restarted = env.start_instance().await;
    assert_eq!(restarted.gateway.policy().revision(), start);
    restarted.stop().await;
    assert_eq!(history(env).await.len(), 2);
    env.assert_log_intact().await;
}
