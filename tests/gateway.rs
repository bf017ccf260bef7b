//! End to end through the real server over mutual TLS: decisions per principle, hit/no-hit,
//! refusals, and one disclosure-log entry per decision. Every scenario runs on SQLite and on
//! PostgreSQL (`sqlite::*`, `postgres::*`).

mod common;

use common::{Backend, Env};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    participant_with_grounds_gets_everything,
    housing_corporation_gets_a_partial_disclosure,
    municipality_never_sees_health_or_criminal_data,
    leefgebieden_narrow_the_disclosure,
    old_information_beyond_the_horizon_is_withheld,
    closed_case_is_refused_by_doelmatigheid,
    role_not_open_to_partner_type_is_refused_by_doelmatigheid,
    purpose_without_read_is_refused_by_doelmatigheid,
    non_participant_gets_hit_no_hit_only,
    unscreened_case_gives_a_summary_only,
    procesregie_staff_reads_without_a_seat_at_the_table,
    lookup_answers_hit_or_no_hit_and_whom_to_contact,
    exhausted_budget_is_refused_by_proportionaliteit,
    unknown_person_is_not_found_and_logged,
    every_decision_is_logged_exactly_once,
    the_log_never_holds_a_bsn_or_name,
    concurrent_requests_are_each_logged_once,
    privacy_officer_reviews_disclosures,
    bad_input_gets_problem_json,
    openapi_describes_every_route,
    log_failure_discloses_nothing,
);

const PROFESSIONAL: &str = "professional";

fn item_count(body: &Value) -> usize {
    body["information"].as_array().map(Vec::len).unwrap_or(0)
}

fn leefgebieden(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["information"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["leefgebied"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn participant_with_grounds_gets_everything(env: &Env) {
    let reclassering = env.client("reclassering");
    let token = reclassering.token(PROFESSIONAL, "casusoverleg");
    let r = reclassering
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"]["outcome"], "allowed");
    assert_eq!(r.body["decision"]["tier"], "full");
    assert_eq!(r.body["person"]["bsn"], env.ids.uden_man_bsn);
    assert_eq!(r.body["person"]["naam"], "Henk Verhoeven");
    assert_eq!(item_count(&r.body), 6);
    assert!(r.withheld().is_empty());
    let obligations = r.body["decision"]["obligations"]
        .as_array()
        .expect("obligations");
    assert!(
        obligations
            .iter()
            .any(|o| o == "strafrechtelijk_no_onward_sharing"),
        "{obligations:?}"
    );
    assert_eq!(
        r.headers["disclosure-id"].to_str().ok(),
        r.body["decision"]["decision_id"].as_str()
    );
}

async fn housing_corporation_gets_a_partial_disclosure(env: &Env) {
    let woco = env.client("woningcorporatie");
    let token = woco.token(PROFESSIONAL, "casusoverleg");
    let r = woco
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"]["outcome"], "partial");
    assert_eq!(
        leefgebieden(&r.body),
        ["sociaal_netwerk", "veiligheid", "wonen"]
    );
    assert!(
        r.body["person"].get("bsn").is_none(),
        "no ground for the BSN"
    );
    assert_eq!(r.body["person"]["naam"], "Henk Verhoeven");
    // The answer lists only what is withheld in categories the woningcorporatie has a ground
    // for (werk en inkomen: outside its leefgebieden), and names, whatever the record holds,
    // the categories it never sees; the BSN and the justitie and health items are not listed.
    let withheld = r.withheld();
    assert!(
        !withheld.iter().any(|(f, _)| f == "persoon.bsn"),
        "{withheld:?}"
    );
    let items: Vec<_> = withheld
        .iter()
        .filter(|(f, _)| f.starts_with("item:"))
        .collect();
    assert_eq!(items.len(), 1, "{withheld:?}");
    let reasons = r.body["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("has no ground for the categories")
            && reasons.contains("strafrechtelijk")
            && reasons.contains("bijzonder")
            && reasons.contains("bsn"),
        "{reasons}"
    );
    assert!(
        !r.body["decision"]["withheld"]
            .to_string()
            .contains("strafrechtelijk"),
        "{}",
        r.body
    );
    // The log keeps the full detail for the privacy officer: the BSN and all three items
    // (justitie: strafrechtelijk, psychische gezondheid: bijzonder, werk en inkomen: leefgebied).
    let entry = env.last_entry().await;
    let logged: Vec<&str> = entry["withheld"]
        .as_array()
        .expect("withheld")
        .iter()
        .filter_map(|w| w["field"].as_str())
        .collect();
    assert!(logged.contains(&"persoon.bsn"), "{entry}");
    assert_eq!(
        logged.iter().filter(|f| f.starts_with("item:")).count(),
        3,
        "{entry}"
    );
    // Nothing withheld leaks into the body.
    let text = r.body.to_string();
    assert!(
        !text.contains("zedendelict")
            && !text.contains("GGZ-behandeling")
            && !text.contains(env.ids.uden_man_bsn)
    );
}

async fn municipality_never_sees_health_or_criminal_data(env: &Env) {
    let gemeente = env.client("gemeente");
    let token = gemeente.token("casusregisseur", "nazorg");
    let r = gemeente
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        leefgebieden(&r.body),
        ["sociaal_netwerk", "veiligheid", "werk_inkomen", "wonen"]
    );
    assert_eq!(
        r.body["person"]["bsn"], env.ids.uden_man_bsn,
        "gemeente has a BSN ground"
    );
    let categories: Vec<_> = r.body["information"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|i| i["category"].clone())
        .collect();
    assert!(!categories
        .iter()
        .any(|c| c == "bijzonder" || c == "strafrechtelijk"));
}

async fn leefgebieden_narrow_the_disclosure(env: &Env) {
    let reclassering = env.client("reclassering");
    let token = reclassering.token(PROFESSIONAL, "casusoverleg");
    let path = format!(
        "/v1/cases/{}/persons/{}?leefgebieden=wonen,justitie",
        env.ids.uden_case, env.ids.uden_man
    );
    let r = reclassering.get(env, &path, &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(leefgebieden(&r.body), ["justitie", "wonen"]);
    // Items of other leefgebieden are not part of the request: not disclosed, and not listed as
    // withheld either (that would reveal that they exist).
    assert_eq!(r.body["decision"]["outcome"], "allowed");
    assert!(r.withheld().is_empty(), "{}", r.body["decision"]);
}

async fn old_information_beyond_the_horizon_is_withheld(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let r = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let text = r.body.to_string();
    assert!(
        !text.contains("Halt-afdoening"),
        "2400-day-old item disclosed"
    );
    assert!(
        !text.contains("cannabis"),
        "politie has no ground for bijzonder"
    );
    assert!(
        r.body["decision"]["withheld"]
            .to_string()
            .contains("horizon"),
        "{}",
        r.body["decision"]
    );
    assert_eq!(item_count(&r.body), 3);
}

async fn closed_case_is_refused_by_doelmatigheid(env: &Env) {
    let gemeente = env.client("gemeente");
    let token = gemeente.token(PROFESSIONAL, "casusoverleg");
    let before = env.log_count().await;
    let r = gemeente
        .read_person(env, &token, env.ids.closed_case, env.ids.closed_person)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "denied");
    assert_eq!(r.content_type(), "application/problem+json");
    // A refusal names no field (not even which exist); the log keeps each with its principle.
    assert!(r.withheld().is_empty(), "{}", r.body);
    assert!(r.body["decision"]["reasons"]
        .to_string()
        .contains("afgesloten"));
    let logged = env.last_entry().await["withheld"].clone();
    assert!(
        logged
            .as_array()
            .is_some_and(|w| !w.is_empty() && w.iter().all(|w| w["principle"] == "doelmatigheid")),
        "{logged}"
    );
    assert!(!r.body.to_string().contains("Peter van Dijk"));
    assert_eq!(env.log_count().await, before + 1);
    let entry = env.last_entry().await;
    assert_eq!(entry["outcome"], "denied", "{entry}");
}

async fn role_not_open_to_partner_type_is_refused_by_doelmatigheid(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token("procesregisseur", "casusoverleg");
    let r = politie
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "denied");
    assert!(r.body["decision"]["reasons"]
        .to_string()
        .contains("not open to partner type"));
}

async fn purpose_without_read_is_refused_by_doelmatigheid(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "bevraging");
    let r = politie
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.withheld().iter().all(|(_, p)| p == "doelmatigheid"));
}

async fn non_participant_gets_hit_no_hit_only(env: &Env) {
    let woco = env.client("woningcorporatie");
    let token = woco.token(PROFESSIONAL, "casusoverleg");
    let r = woco
        .read_person(env, &token, env.ids.gezin_case, env.ids.gezin_mother)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "hit-no-hit-only");
    assert_eq!(r.body["decision"]["tier"], "hit_no_hit");
    assert!(r.withheld().iter().all(|(_, p)| p == "subsidiariteit"));
    let text = r.body.to_string();
    assert!(!text.contains("Aye Thandar") && !text.contains("huiselijk geweld"));
    // The same partner may ask whether the mother is known.
    let r = woco.lookup(env, &token, "999990032").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["hit"], true);
}

async fn unscreened_case_gives_a_summary_only(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let r = politie
        .read_person(env, &token, env.ids.new_case, env.ids.new_person)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"]["tier"], "summary");
    assert_eq!(r.body["person"]["naam"], "Sanne Jacobs");
    assert!(r.body["person"].get("bsn").is_none());
    assert_eq!(item_count(&r.body), 0);
    let withheld = r.withheld();
    assert!(
        withheld.contains(&("persoon.bsn".into(), "subsidiariteit".into())),
        "{withheld:?}"
    );
}

async fn procesregie_staff_reads_without_a_seat_at_the_table(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let token = vh.token("procesregisseur", "procesregie");
    // The Veiligheidshuis sits at every demo table; remove it to show procesregie needs none.
    let oin: vhgate::domain::Oin = vh.oin.parse().expect("oin");
    let mut tx = env.db.begin().await.expect("begin");
    assert!(env
        .record()
        .remove_participant(&mut tx, env.ids.oss_case, &oin)
        .await
        .expect("remove"));
    tx.commit().await.expect("commit");
    let r = vh
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"]["tier"], "full");
    // ... but a Veiligheidshuis employee for casusoverleg does need the seat.
    let token = vh.token("procesregisseur", "casusoverleg");
    let r = vh
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "hit-no-hit-only");
}

async fn lookup_answers_hit_or_no_hit_and_whom_to_contact(env: &Env) {
    let woco = env.client("woningcorporatie");
    let token = woco.token(PROFESSIONAL, "bevraging");
    let before = env.log_count().await;
    let hit = woco.lookup(env, &token, env.ids.oss_youth_bsn).await;
    assert_eq!(hit.status, StatusCode::OK, "{}", hit.body);
    assert_eq!(hit.body["hit"], true);
    let contacts = hit.body["contacts"].as_array().expect("contacts");
    assert!(
        contacts.iter().any(|c| c["role"] == "procesregie"),
        "{contacts:?}"
    );
    let text = hit.body.to_string();
    assert!(
        !text.contains("Daan") && !text.contains(&env.ids.oss_case.to_string()),
        "a lookup discloses no case data"
    );
    let miss = woco.lookup(env, &token, env.ids.unknown_bsn).await;
    assert_eq!(miss.status, StatusCode::OK, "{}", miss.body);
    assert_eq!(miss.body["hit"], false);
    assert!(miss.body["contacts"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(
        env.log_count().await,
        before + 2,
        "both the hit and the miss are logged"
    );
    // A person only known in a closed case is not a hit.
    let closed = woco.lookup(env, &token, "999990135").await;
    assert_eq!(closed.body["hit"], false, "{}", closed.body);
}

async fn exhausted_budget_is_refused_by_proportionaliteit(env: &Env) {
    // woningcorporatie: 50 person-level requests per 24 hours in the demo convenant.
    let woco = env.client("woningcorporatie");
    let token = woco.token(PROFESSIONAL, "bevraging");
    for i in 0..50 {
        let r = woco.lookup(env, &token, env.ids.unknown_bsn).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.body);
    }
    let r = woco.lookup(env, &token, env.ids.unknown_bsn).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body["decision"]["reasons"].to_string().contains("budget"),
        "{}",
        r.body
    );
    assert_eq!(env.last_entry().await["outcome"], "denied");
    // Other partners keep their own budget.
    let politie = env.client("politie");
    let r = politie
        .lookup(
            env,
            &politie.token(PROFESSIONAL, "bevraging"),
            env.ids.unknown_bsn,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn unknown_person_is_not_found_and_logged(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let before = env.log_count().await;
    // A person who exists, but in another case.
    let r = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(env.log_count().await, before + 1);
}

async fn every_decision_is_logged_exactly_once(env: &Env) {
    let reclassering = env.client("reclassering");
    let token = reclassering.token(PROFESSIONAL, "casusoverleg");
    let mut expected = env.log_count().await;
    for (case, person) in [
        (env.ids.uden_case, env.ids.uden_man),        // allowed
        (env.ids.closed_case, env.ids.closed_person), // denied
        (env.ids.gezin_case, env.ids.gezin_mother),   // hit/no-hit only
    ] {
        let r = reclassering.read_person(env, &token, case, person).await;
        expected += 1;
        assert_eq!(env.log_count().await, expected, "{}", r.body);
        let entry = env.last_entry().await;
        let id = r
            .headers
            .get("disclosure-id")
            .and_then(|v| v.to_str().ok())
            .expect("Disclosure-Id header");
        assert_eq!(entry["id"], id, "the response names its log entry");
        assert_eq!(entry["case_id"], case.to_string());
        assert_eq!(entry["requester"]["oin"], reclassering.oin);
        assert_eq!(entry["requester"]["sub"], "reclassering-medewerker-7");
    }
    reclassering.lookup(env, &token, env.ids.unknown_bsn).await;
    expected += 1;
    assert_eq!(env.log_count().await, expected);
    // A malformed id is refused before any decision, and that refusal is logged too (by
    // route template, never the raw path); health checks are not logged.
    let r = reclassering
        .get(env, "/v1/cases/not-a-uuid/persons/x", &token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    expected += 1;
    assert_eq!(env.log_count().await, expected);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "request_refused");
    assert_eq!(entry["problem_type"], "invalid-case-id");
    assert_eq!(entry["requester"]["sub"], "reclassering-medewerker-7");
    assert_eq!(
        entry["reasons"][0],
        "GET /v1/cases/{case_id}/persons/{person_id}"
    );
    assert_eq!(r.body["disclosure_id"], entry["id"]);
    reclassering.get(env, "/healthz", &token).await;
    assert_eq!(env.log_count().await, expected);
    env.assert_log_intact().await;
}

async fn the_log_never_holds_a_bsn_or_name(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    politie.lookup(env, &token, env.ids.oss_youth_bsn).await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 1000)
        .await
        .expect("rows");
    assert!(rows.len() >= 2);
    for row in rows {
        assert!(
            !row.entry.contains(env.ids.oss_youth_bsn),
            "BSN in log: {}",
            row.entry
        );
        assert!(!row.entry.contains("Daan"), "name in log: {}", row.entry);
        let entry: Value = serde_json::from_str(&row.entry).expect("json");
        // Authentication failures and the starting policy's activation concern no person.
        if !["auth_failure", "policy_change"].contains(&entry["event"].as_str().unwrap_or("")) {
            assert!(
                entry["subject"]["pseudonym"]
                    .as_str()
                    .is_some_and(|p| p.len() >= 32),
                "{entry}"
            );
        }
    }
}

async fn concurrent_requests_are_each_logged_once(env: &Env) {
    let politie = std::sync::Arc::new(env.client("politie"));
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let before = env.log_count().await;
    let url = env.url(&format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    ));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (p, t, u) = (politie.clone(), token.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            p.http
                .get(u)
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("request"), StatusCode::OK);
    }
    assert_eq!(env.log_count().await, before + 64);
    env.assert_log_intact().await;
}

async fn privacy_officer_reviews_disclosures(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let r = vh
        .get(
            env,
            &format!("/v1/disclosures?case_id={}&limit=10", env.ids.oss_case),
            &fg,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = r.body["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(entries
        .iter()
        .all(|e| e["case_id"] == env.ids.oss_case.to_string()));
    // A professional may not review the log.
    let r = politie.get(env, "/v1/disclosures", &token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = vh.get(env, "/v1/disclosures?limit=0", &fg).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn bad_input_gets_problem_json(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let bad_leefgebied = format!(
        "/v1/cases/{}/persons/{}?leefgebieden=tuinieren",
        env.ids.oss_case, env.ids.oss_youth
    );
    let unknown_query = format!(
        "/v1/cases/{}/persons/{}?bsn=1",
        env.ids.oss_case, env.ids.oss_youth
    );
    for path in [
        "/v1/cases/x/persons/y",
        bad_leefgebied.as_str(),
        unknown_query.as_str(),
    ] {
        let r = politie.get(env, path, &token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json", "{path}");
    }
    let r = politie.lookup(env, &token, "123456789").await;
    assert_eq!(
        (r.status, r.problem()),
        (StatusCode::BAD_REQUEST, "invalid-bsn"),
        "{}",
        r.body
    );
    let r = politie
        .http
        .post(env.url("/v1/lookup"))
        .bearer_auth(&token)
        .body("{\"bsn\": \"999990020\", \"naam\": \"x\"}")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = politie.get(env, "/v1/nothing-here", &token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.content_type(), "application/problem+json");
}

async fn openapi_describes_every_route(env: &Env) {
    let politie = env.client("politie");
    let r = politie.get(env, "/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.1.0");
    for path in [
        "/v1/cases/{case_id}/persons/{person_id}",
        "/v1/lookup",
        "/v1/disclosures",
        "/healthz",
        "/readyz",
        "/v1/admin/registry",
        "/v1/admin/registry/changes",
        "/v1/admin/registry/changes/{id}/approve",
        "/v1/admin/registry/changes/{id}/reject",
        "/v1/admin/registry/changes/{id}/impact",
        "/v1/spoed-reviews",
        "/v1/spoed-reviews/{id}/review",
    ] {
        assert!(
            r.body["paths"][path].is_object(),
            "{path} missing from openapi.json"
        );
    }
    let r = politie.get(env, "/readyz", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn log_failure_discloses_nothing(env: &Env) {
    // The log refuses every new entry (a full disk, a broken replica ...).
    match env.backend {
        Backend::Sqlite => {
            env.exec("CREATE TRIGGER fail_append BEFORE INSERT ON disclosure_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                .await
        }
        Backend::Postgres => {
            env.exec("CREATE FUNCTION fail_append() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql")
                .await;
            env.exec("CREATE TRIGGER fail_append BEFORE INSERT ON disclosure_log FOR EACH ROW EXECUTE FUNCTION fail_append()")
                .await;
        }
    }
    let before = env.log_count().await;
    let reclassering = env.client("reclassering");
    let token = reclassering.token(PROFESSIONAL, "casusoverleg");
    let r = reclassering
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.problem(), "log-unavailable");
    assert!(r.headers.get("retry-after").is_some());
    let text = r.body.to_string();
    assert!(
        !text.contains("Henk")
            && !text.contains(env.ids.uden_man_bsn)
            && !text.contains("zedendelict"),
        "{text}"
    );
    let r = reclassering.lookup(env, &token, env.ids.uden_man_bsn).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.get("hit").is_none());
    assert_eq!(env.log_count().await, before);
    // The log is intact and the gateway recovers once the database accepts entries again.
    env.exec(if env.backend == Backend::Sqlite {
        "DROP TRIGGER fail_append"
    } else {
        "DROP TRIGGER fail_append ON disclosure_log"
    })
    .await;
    let r = reclassering
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    env.assert_log_intact().await;
}

/// 200 slowloris connections from one address (TCP open, the first bytes of a TLS record, then
/// silence) hold at most `server.max_handshakes_per_ip` of the gateway's connection slots; the
/// rest are closed at once, and a partner from another address is served while the flood holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_from_one_address_does_not_stop_another_partner() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const FLOOD: usize = 200;
    const PER_IP: usize = 16;
    let env = Env::start_with(Backend::Sqlite, |c| {
        c.server.max_connections = 100;
        c.server.max_handshakes_per_ip = PER_IP;
    })
    .await
    .expect("sqlite env");
    // The gateway runs in this process: its resident memory before and while the flood holds.
    let rss_kib = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    let rss_before = rss_kib();
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("addr"))
            .expect("bind 127.0.0.2");
        let mut s = socket.connect(env.addr).await.expect("connect");
        // A TLS handshake record header announcing 512 bytes that never come.
        let _ = s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await;
        flood.push(s);
    }
    let politie = env.client("politie");
    let token = politie.token(PROFESSIONAL, "casusoverleg");
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        politie.read_person(&env, &token, env.ids.oss_case, env.ids.oss_youth),
    )
    .await
    .expect("another partner is served while the flood holds its connections");
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rss_during = rss_kib();

    // Every flood connection beyond the allowance was closed by the gateway (EOF or reset);
    // the allowance itself is still waiting for its handshake.
    let reads = flood.into_iter().map(|mut s| {
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            matches!(
                tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        })
    });
    let mut closed = 0;
    for read in reads.collect::<Vec<_>>() {
        if read.await.expect("read task") {
            closed += 1;
        }
    }
    let grew = rss_during.saturating_sub(rss_before);
    println!(
        "slowloris: {FLOOD} connections from 127.0.0.2, {closed} closed at once, {} held; \
         resident memory {rss_before} KiB before, {rss_during} KiB during (+{grew} KiB)",
        FLOOD - closed
    );
    assert_eq!(closed, FLOOD - PER_IP);
    // Bounded: the held handshakes cost buffers, not memory per byte the flood announces.
    assert!(
        grew < 32 * 1024,
        "memory grew by {grew} KiB under the flood"
    );
    env.stop().await;
}
