//! Impact preview: recorded decision inputs replayed against a candidate bundle, with numbers
//! that match a small case computed by hand, and no person data in the report.

mod common;

use common::Env;
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(impact_preview_matches_a_hand_computed_case);

/// The shipped rules and data with one change: reclassering loses its ground for special
/// category data (bijzonder). The pinned `_test` files are left out, as a convenant
/// administrator would rewrite them for the new rule.
fn candidate_without_reclassering_bijzonder() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
    for entry in std::fs::read_dir(&policies).expect("policies") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".rego") && !name.ends_with("_test.rego") {
            std::fs::copy(&path, dir.path().join(name)).expect("copy");
        }
    }
    let text = std::fs::read_to_string(policies.join("data/convenant.json")).expect("data");
    let mut data: Value = serde_json::from_str(&text).expect("json");
    let categories = data["convenant"]["partner_types"]["reclassering"]["categories"]
        .as_object_mut()
        .expect("reclassering categories");
    assert!(categories.remove("bijzonder").is_some());
    std::fs::write(
        dir.path().join("data/convenant.json"),
        serde_json::to_vec_pretty(&data).expect("json"),
    )
    .expect("write");
    vhgate::policy::bundle::Bundle::build(dir.path()).expect("build")
}

async fn call(env: &Env, p: &common::Partner, token: &str, path: &str) -> (StatusCode, Value) {
    let r = p.get(env, path, token).await;
    (r.status, r.body)
}

fn items_of(body: &Value, category: &str) -> Vec<String> {
    body["information"]
        .as_array()
        .expect("information")
        .iter()
        .filter(|i| i["category"] == category)
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

async fn impact_preview_matches_a_hand_computed_case(env: &Env) {
    let ids = &env.ids;
    let reclassering = env.client("reclassering");
    let politie = env.client("politie");
    let vh = env.client("veiligheidshuis");

    // Four decisions: reclassering reads the Uden man twice (it may see his GGZ item today),
    // politie reads him once (no ground for bijzonder: withheld already) and looks him up.
    let rt = reclassering.token("professional", "casusoverleg");
    let mut disclosed_bijzonder = Vec::new();
    for _ in 0..2 {
        let r = reclassering
            .read_person(env, &rt, ids.uden_case, ids.uden_man)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        disclosed_bijzonder = items_of(&r.body, "bijzonder");
    }
    assert_eq!(
        disclosed_bijzonder.len(),
        1,
        "reclassering sees the one GGZ item"
    );
    let pt = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(env, &pt, ids.uden_case, ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(items_of(&r.body, "bijzonder").is_empty());
    let all_item_ids: Vec<String> = r.body["decision"]["withheld"]
        .as_array()
        .expect("withheld")
        .iter()
        .filter_map(|w| w["field"].as_str())
        .chain(disclosed_bijzonder.iter().map(String::as_str))
        .map(str::to_owned)
        .collect();
    let r = politie.lookup(env, &pt, ids.uden_man_bsn).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Every decision entry carries the input it was decided on.
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "lookup");
    assert_eq!(entry["input"]["action"], "lookup");
    assert_eq!(entry["input"]["requester"]["partner_type"], "politie");

    let bob = vh.sign(&vhgate::auth::Claims {
        sub: "beheerder-bob".into(),
        ..vh.claims("convenant_administrator", "beheer")
    });
    let alice = vh.sign(&vhgate::auth::Claims {
        sub: "beheerder-alice".into(),
        ..vh.claims("convenant_administrator", "beheer")
    });
    let proposed = vh
        .http
        .post(env.url("/v1/admin/policy-bundles"))
        .bearer_auth(&alice)
        .body(candidate_without_reclassering_bijzonder())
        .send()
        .await
        .expect("propose");
    assert_eq!(proposed.status(), StatusCode::CREATED);
    let proposed: Value = proposed.json().await.expect("json");
    let rev = proposed["revision"].as_str().expect("revision").to_string();
    let path = format!("/v1/admin/policy-bundles/{rev}/impact");

    // Default window (last 7 days), baseline = the recorded decisions.
    let (status, report) = call(env, &vh, &bob, &path).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["candidate"], rev.as_str());
    assert_eq!(report["baseline"], "recorded");
    assert_eq!(report["considered"], 4);
    assert_eq!(report["replayed"], 4);
    assert_eq!(report["not_replayable"], 0);
    assert_eq!(report["truncated"], false);
    assert_eq!(report["changed"], 2, "{report}");
    assert_eq!(report["unchanged"], 2);
    assert_eq!(report["newly_withheld_fields"], 2);
    assert_eq!(report["newly_allowed_fields"], 0);
    assert_eq!(report["newly_denied_requests"], 0);
    assert_eq!(report["newly_allowed_requests"], 0);
    assert_eq!(report["narrowed_requests"], 2);
    // The one line first shown: changed decisions by partner type and kind.
    assert_eq!(
        report["summary"],
        "impact: 2 of 4 decisions change — reclassering: 2 narrowed, 2 fields newly withheld"
    );
    let rk = &report["by_partner_type"]["reclassering"];
    assert_eq!(
        (rk["decisions"].as_u64(), rk["changed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(rk["newly_withheld_fields"], 2);
    let pk = &report["by_partner_type"]["politie"];
    assert_eq!(
        (pk["decisions"].as_u64(), pk["changed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(report["by_category"]["bijzonder"]["newly_withheld"], 2);
    let examples = report["examples"].as_array().expect("examples");
    assert_eq!(examples.len(), 2);
    let w = &examples[0]["newly_withheld"][0];
    assert_eq!(w["kind"], "item");
    assert_eq!(w["category"], "bijzonder");
    assert_eq!(w["leefgebied"], "psychische_gezondheid");
    assert_eq!(w["principle"], "proportionaliteit");
    assert_eq!(examples[0]["partner_type"], "reclassering");
    // Reclassering saw everything before; now one item is withheld.
    assert_eq!(examples[0]["before"]["outcome"], "allowed");
    assert_eq!(examples[0]["after"]["outcome"], "partial");

    // No person data: no item id, name, address or BSN anywhere in the report.
    let text = report.to_string();
    for secret in all_item_ids
        .iter()
        .map(|f| f.trim_start_matches("item:").to_string())
        .chain([
            "Henk".into(),
            "Verhoeven".into(),
            "Kerkstraat".into(),
            ids.uden_man_bsn.into(),
        ])
    {
        assert!(!text.contains(&secret), "report leaks {secret}: {text}");
    }

    // The last decision only (the lookup): nothing changes.
    let (status, last) = call(env, &vh, &bob, &format!("{path}?last=1")).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_eq!(
        (last["replayed"].as_u64(), last["changed"].as_u64()),
        (Some(1), Some(0))
    );

    // Against the revision in force (which made all four): the same answer.
    let (status, active) = call(env, &vh, &bob, &format!("{path}?baseline=active")).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    assert_eq!(
        active["baseline_revision"],
        env.gateway().policy().revision()
    );
    assert_eq!(active["changed"], 2);

    // A window before the requests holds nothing.
    let (status, empty) = call(
        env,
        &vh,
        &bob,
        &format!("{path}?since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["considered"], 0);

    // Bad input, strangers and unknown revisions get problems, not previews.
    for bad in [
        "?last=0",
        "?last=x",
        "?since=gisteren",
        "?baseline=nope",
        "?what=1",
    ] {
        let (status, body) = call(env, &vh, &bob, &format!("{path}{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = call(env, &reclassering, &rt, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(env, &vh, &bob, "/v1/admin/policy-bundles/deadbeef/impact").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Previewing changed nothing.
    assert_ne!(env.gateway().policy().revision(), rev);
    env.assert_log_intact().await;
}
