//! The privacy officer's view: searching the log (also by subject, with the BSN in the body)
//! and the data subject's access report (GDPR art. 15).

mod common;

use common::Env;
use reqwest::StatusCode;
use serde_json::{json, Value};
use vhgate::config::PreviousKey;

on_both_backends!(
    search_and_access_report,
    rotated_pseudonym_key_keeps_subjects_findable,
    embargo_holds_back_from_the_access_report,
);

async fn post(
    env: &Env,
    partner: &common::Partner,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    post_to(env.addr.port(), partner, token, path, body).await
}

async fn search_and_access_report(env: &Env) {
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    let r = politie
        .read_person(env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let woco = env.client("woningcorporatie");
    let wt = woco.token("professional", "bevraging");
    assert_eq!(
        woco.lookup(env, &wt, env.ids.oss_youth_bsn).await.body["hit"],
        true
    );
    // Refused: not at the table. Refusals disclose nothing and stay out of the report.
    let wt2 = woco.token("professional", "casusoverleg");
    assert_eq!(
        woco.read_person(env, &wt2, env.ids.oss_case, env.ids.oss_youth)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Someone else.
    politie
        .read_person(env, &pt, env.ids.uden_case, env.ids.uden_man)
        .await;

    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let (status, report) = post(
        env,
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let lines = report["disclosures"].as_array().expect("disclosures");
    assert_eq!(lines.len(), 2, "{report}");
    assert_eq!(lines[0]["organisation"], "Politie Eenheid Oost-Brabant");
    assert_eq!(lines[0]["purpose"], "casusoverleg");
    let categories = lines[0]["categories"].as_array().expect("categories");
    assert!(
        categories.iter().any(|c| c == "strafrechtelijk")
            && !categories.iter().any(|c| c == "bijzonder"),
        "{report}"
    );
    assert_eq!(lines[1]["oin"], woco.oin);
    assert_eq!(lines[1]["categories"], json!(["known_in_active_case"]));
    assert!(
        !report.to_string().contains(env.ids.oss_youth_bsn),
        "the report does not echo the BSN"
    );

    // Search by subject and outcome, by employee, by purpose.
    let (status, page) = post(
        env,
        &vh,
        &fg,
        "/v1/disclosures/search",
        json!({"bsn": env.ids.oss_youth_bsn, "outcome": "denied"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["requester"]["oin"], woco.oin);
    let (_, page) = post(
        env,
        &vh,
        &fg,
        "/v1/disclosures/search",
        json!({"sub": "politie-medewerker-7", "limit": "10"}),
    )
    .await;
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(2), "{page}");
    let (_, page) = post(
        env,
        &vh,
        &fg,
        "/v1/disclosures/search",
        json!({"purpose": "bevraging"}),
    )
    .await;
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1), "{page}");

    // Only the privacy officer; never a BSN in a URL; bad input is a problem.
    let (status, _) = post(
        env,
        &politie,
        &pt,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let r = vh
        .get(
            env,
            &format!("/v1/disclosures?bsn={}", env.ids.oss_youth_bsn),
            &fg,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        env,
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": "123456789"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        env,
        &vh,
        &fg,
        "/v1/disclosures/search",
        json!({"outcome": "maybe"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// POSTs JSON to a gateway instance on `port` (the partner's client resolves localhost).
async fn post_to(
    port: u16,
    partner: &common::Partner,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let url = format!("https://localhost:{port}{path}");
    let r = partner
        .http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn rotated_pseudonym_key_keeps_subjects_findable(env: &Env) {
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    politie
        .read_person(env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;

    // Rotate: a new current key (version 2), the old one kept as previous.
    let new_key = env
        .config
        .secrets
        .pseudonym_key_file
        .with_file_name("pseudonym-v2.key");
    vhgate::crypto::ensure_key_file(&new_key).expect("new key");
    let mut rotated = env.config.clone();
    rotated.secrets.pseudonym_key_file = new_key.clone();
    rotated.secrets.pseudonym_key_version = 2;
    rotated.secrets.previous_pseudonym_keys = vec![PreviousKey {
        version: 1,
        file: env.config.secrets.pseudonym_key_file.clone(),
    }];
    let second = env.start_instance_with(rotated.clone()).await;
    let port = second.addr.port();

    // The case record still holds version-1 pseudonyms: lookups keep working.
    let (status, hit) = post_to(
        port,
        &politie,
        &pt,
        "/v1/lookup",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(
        (status, hit["hit"].clone()),
        (StatusCode::OK, json!(true)),
        "{hit}"
    );
    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let (status, report) = post_to(
        port,
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["disclosures"].as_array().map(Vec::len),
        Some(2),
        "old and new entries: {report}"
    );
    let last = env.last_entry().await;
    assert_eq!(
        last["subject"]["key_version"], 2,
        "new entries use the new key: {last}"
    );
    second.stop().await;

    // Without the previous key, the version-1 entries are out of reach.
    let mut forgotten = rotated;
    forgotten.secrets.previous_pseudonym_keys.clear();
    let third = env.start_instance_with(forgotten).await;
    let (_, report) = post_to(
        third.addr.port(),
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(
        report["disclosures"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    third.stop().await;
}

async fn embargo_holds_back_from_the_access_report(env: &Env) {
    let politie = env.client("politie");
    let pt = politie.token("professional", "casusoverleg");
    politie
        .read_person(env, &pt, env.ids.oss_case, env.ids.oss_youth)
        .await;
    let gemeente = env.client("gemeente");
    let gt = gemeente.token("professional", "casusoverleg");
    gemeente
        .read_person(env, &gt, env.ids.oss_case, env.ids.oss_youth)
        .await;

    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let body = json!({"bsn": env.ids.oss_youth_bsn, "until": until, "reason": "lopend opsporingsonderzoek"});
    let (status, created) = post(env, &politie, &pt, "/v1/embargoes", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for bad in [
        json!({"bsn": env.ids.oss_youth_bsn, "until": "2020-01-01T00:00:00Z", "reason": "x"}),
        json!({"bsn": env.ids.oss_youth_bsn, "until": until, "reason": ""}),
        json!({"bsn": env.ids.oss_youth_bsn, "until": "tomorrow", "reason": "x"}),
    ] {
        let (status, problem) = post(env, &politie, &pt, "/v1/embargoes", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    }

    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let (_, report) = post(
        env,
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    let lines = report["disclosures"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{report}");
    assert_eq!(lines[0]["oin"], gemeente.oin);
    assert!(
        report.get("held_back").is_none(),
        "by default the report does not even say so: {report}"
    );
    // The privacy officer's own search still sees everything.
    let (_, page) = post(
        env,
        &vh,
        &fg,
        "/v1/disclosures/search",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    // Both reads, and (newest first) the embargo and the report about this person, logged.
    let events: Vec<&str> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["access_report", "embargo", "read_person", "read_person"],
        "{page}"
    );

    // Where the convenant allows it, the report says that something is held back.
    let mut config = env.config.clone();
    config.log.report_embargo_existence = true;
    let other = env.start_instance_with(config).await;
    let (_, report) = post_to(
        other.addr.port(),
        &vh,
        &fg,
        "/v1/subjects/access-report",
        json!({"bsn": env.ids.oss_youth_bsn}),
    )
    .await;
    assert_eq!(report["held_back"], true, "{report}");
    other.stop().await;
}
