//! Trust (issue 12), over the real server on SQLite and PostgreSQL: a registration echoes only
//! what its registrant supplied; a state-changing step and its log entry commit together (a
//! log fault leaves the entry durable in the outbox, appended once the fault clears); steps
//! that race on one case serialise (a stale decision is a logged 409); two activations never
//! leave two active bundles; free-text reasons stay out of the append-only log; the privacy
//! office's own reads and every refused access rule are logged; a break-glass (spoed) read gets
//! the minimum, opens a review item in its own unit of work, and an overdue review is signalled.

mod common;

use std::sync::Arc;

use common::{fresh_bsn, Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

on_both_backends!(
    registration_echoes_only_what_the_registrant_supplied,
    a_change_and_its_entry_commit_together_when_the_log_fails,
    concurrent_steps_on_one_case_serialise,
    accept_racing_a_removal_never_seats_a_removed_partner,
    concurrent_activations_leave_one_active_bundle,
    screening_reasons_stay_out_of_the_log,
    two_instances_share_one_daily_budget,
    every_person_whose_data_left_finds_the_entry,
    refusals_tell_an_outsider_nothing_about_the_case,
    privacy_office_reads_and_every_access_refusal_are_logged,
    spoed_gets_the_minimum_and_opens_a_review,
    spoed_refusals_and_bad_reasons,
    spoed_reviews_are_signalled_when_overdue_and_reviewed_once,
);

fn prof(p: &Partner) -> String {
    p.token("professional", "casusoverleg")
}

fn pr(vh: &Partner) -> String {
    vh.token("procesregisseur", "procesregie")
}

fn registration(persons: Value) -> Value {
    json!({
        "kind": "persoon",
        "region": "oost-brabant",
        "title": "aanmelding overlast",
        "reason": "escalating nuisance and debts; earlier approaches failed",
        "persons": persons,
        "problems": [{"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]}],
        "chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
        "system": {"family": false}
    })
}

async fn register(env: &Env, p: &Partner, body: &Value) -> Response {
    p.send(env, Method::POST, "/v1/cases", &prof(p), Some(body), &[])
        .await
}

async fn registered(env: &Env) -> String {
    let politie = env.client("politie");
    let r = register(env, &politie, &registration(json!([{"bsn": fresh_bsn()}]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["case_id"].as_str().expect("case id").to_string()
}

async fn step(env: &Env, p: &Partner, token: &str, path: &str, body: Value) -> Response {
    p.send(env, Method::POST, path, token, Some(&body), &[])
        .await
}

async fn decide(env: &Env, case: &str, decision: &str, reason: &str) -> Response {
    let vh = env.client("veiligheidshuis");
    step(
        env,
        &vh,
        &pr(&vh),
        &format!("/v1/cases/{case}/screening/decision"),
        json!({"decision": decision, "reason": reason}),
    )
    .await
}

/// One number from the database, for a query with one uuid parameter.
async fn count(env: &Env, sql: &str, id: Uuid) -> i64 {
    vhgate::with_pool!(&env.db, p => sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_one(p).await)
        .expect("count")
}

async fn count_all(env: &Env, sql: &str) -> i64 {
    vhgate::with_pool!(&env.db, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await)
        .expect("count")
}

fn uuid(s: &str) -> Uuid {
    s.parse().expect("uuid")
}

async fn registration_echoes_only_what_the_registrant_supplied(env: &Env) {
    // The demo's Uden man is in the record with his name and date of birth. A partner that
    // registers him by BSN alone must not learn either from the read-back.
    let politie = env.client("politie");
    let r = register(
        env,
        &politie,
        &registration(json!([{"bsn": env.ids.uden_man_bsn}])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().expect("case").to_string();
    let back = politie
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&politie),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let person = &back.body["persons"][0];
    assert_eq!(person["bsn"], env.ids.uden_man_bsn, "{}", back.body);
    assert!(person.get("naam").is_none(), "{}", back.body);
    assert!(person.get("geboortedatum").is_none(), "{}", back.body);
    assert!(
        !back.body.to_string().contains("Verhoeven"),
        "{}",
        back.body
    );

    // A name given with a BSN comes back as given, not as the record has it.
    let r = register(
        env,
        &politie,
        &registration(json!([{"bsn": env.ids.uden_man_bsn, "naam": "H. V."}])),
    )
    .await;
    let case = r.body["case_id"].as_str().expect("case").to_string();
    let back = politie
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&politie),
        )
        .await;
    assert_eq!(back.body["persons"][0]["naam"], "H. V.", "{}", back.body);
    assert!(back.body["persons"][0].get("geboortedatum").is_none());
}

/// Makes every insert into the disclosure log fail (a storage fault in the log alone).
async fn break_the_log(env: &Env) {
    match env.backend {
        common::Backend::Sqlite => {
            env.exec(
                "CREATE TRIGGER log_fault BEFORE INSERT ON disclosure_log \
                 BEGIN SELECT RAISE(ABORT, 'injected log fault'); END",
            )
            .await
        }
        common::Backend::Postgres => {
            env.exec(
                "CREATE FUNCTION log_fault() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected log fault'; END $$ LANGUAGE plpgsql",
            )
            .await;
            env.exec(
                "CREATE TRIGGER log_fault BEFORE INSERT ON disclosure_log \
                 FOR EACH ROW EXECUTE FUNCTION log_fault()",
            )
            .await
        }
    }
}

async fn mend_the_log(env: &Env) {
    match env.backend {
        common::Backend::Sqlite => env.exec("DROP TRIGGER log_fault").await,
        common::Backend::Postgres => {
            env.exec("DROP TRIGGER log_fault ON disclosure_log").await;
            env.exec("DROP FUNCTION log_fault()").await
        }
    }
}

async fn a_change_and_its_entry_commit_together_when_the_log_fails(env: &Env) {
    let case = registered(env).await;
    let id = uuid(&case);
    let before = env.log_count().await;
    break_the_log(env).await;
    let r = decide(
        env,
        &case,
        "veiligheidshuis_case",
        "voldoet aan de criteria een tot en met drie volgens de screening",
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    // The change stands, and so does its entry: durable in the outbox, not lost.
    let phase: String = vhgate::with_pool!(&env.db, p => sqlx::query_scalar("SELECT phase FROM cases WHERE id = $1")
        .bind(id).fetch_one(p).await)
    .expect("phase");
    assert_eq!(phase, "mdo");
    assert_eq!(count_all(env, "SELECT COUNT(*) FROM log_outbox").await, 1);
    assert_eq!(env.log_count().await, before);

    // The fault clears; the next sweep appends the entry exactly once.
    mend_the_log(env).await;
    assert_eq!(env.gateway().sweep_outbox().await.expect("sweep"), 1);
    assert_eq!(count_all(env, "SELECT COUNT(*) FROM log_outbox").await, 0);
    assert_eq!(env.log_count().await, before + 1);
    let last = env.last_entry().await;
    assert_eq!(last["event"], "screening_decision", "{last}");
    assert_eq!(last["status"], 200, "{last}");
    assert_eq!(last["case_id"], case.as_str(), "{last}");
    assert_eq!(env.gateway().sweep_outbox().await.expect("sweep"), 0);
    env.assert_log_intact().await;
}

async fn concurrent_steps_on_one_case_serialise(env: &Env) {
    let case = registered(env).await;
    let mut tasks = Vec::new();
    let env_url = Arc::new(env.client("veiligheidshuis"));
    for _ in 0..8 {
        let vh = env_url.clone();
        let url = env.url(&format!("/v1/cases/{case}/screening/decision"));
        let token = pr(&vh);
        tasks.push(tokio::spawn(async move {
            vh.http
                .post(url)
                .bearer_auth(token)
                .json(&json!({"decision": "veiligheidshuis_case", "reason": "voldoet aan de criteria een tot en met drie volgens de screening"}))
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join").expect("request"));
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "exactly one decision wins: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
    let id = uuid(&case);
    assert_eq!(
        count(
            env,
            "SELECT COUNT(*) FROM case_screening_decisions WHERE case_id = $1",
            id
        )
        .await,
        1
    );
    // Every request has its entry; the winner's is the only allowed decision.
    let entries: Vec<Value> = vhgate::with_pool!(&env.db, p => sqlx::query_scalar::<_, String>(
        "SELECT entry FROM disclosure_log WHERE case_id = $1 AND event = 'screening_decision'")
        .bind(id).fetch_all(p).await)
    .expect("entries")
    .iter()
    .map(|t| serde_json::from_str(t).expect("json"))
    .collect();
    assert_eq!(entries.len(), 8);
    assert_eq!(entries.iter().filter(|e| e["status"] == 200).count(), 1);
    env.assert_log_intact().await;
}

async fn accept_racing_a_removal_never_seats_a_removed_partner(env: &Env) {
    let vh = Arc::new(env.client("veiligheidshuis"));
    let ggz = Arc::new(env.client("ggz"));
    let mut tally = std::collections::BTreeMap::new();
    for _ in 0..6 {
        let case = registered(env).await;
        let r = decide(
            env,
            &case,
            "veiligheidshuis_case",
            "voldoet aan de criteria een tot en met drie volgens de screening",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = step(
            env,
            &vh,
            &pr(&vh),
            &format!("/v1/cases/{case}/invitations"),
            json!({"oins": [ggz.oin]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let accept = {
            let (ggz, url, token) = (
                ggz.clone(),
                env.url(&format!("/v1/cases/{case}/invitations/accept")),
                prof(&ggz),
            );
            tokio::spawn(async move {
                ggz.http
                    .post(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .map(|r| r.status())
            })
        };
        let remove = {
            let (vh, url, token) = (
                vh.clone(),
                env.url(&format!("/v1/cases/{case}/participants/{}", ggz.oin)),
                pr(&vh),
            );
            tokio::spawn(async move {
                vh.http
                    .delete(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .map(|r| r.status())
            })
        };
        let accepted = accept.await.expect("join").expect("accept");
        let removed = remove.await.expect("join").expect("remove");
        let seated = vhgate::with_pool!(&env.db, p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM case_participants WHERE case_id = $1 AND oin = $2 AND until IS NULL")
            .bind(uuid(&case)).bind(ggz.oin.as_str()).fetch_one(p).await)
        .expect("seated");
        // Whatever the order, a removal that was answered 200 is never undone.
        if removed == StatusCode::OK {
            assert_eq!(seated, 0, "accept {accepted}, remove {removed}");
        } else {
            assert_eq!(accepted, StatusCode::OK);
            assert_eq!(seated, 1);
        }
        *tally
            .entry(format!("accept {accepted} / remove {removed}"))
            .or_insert(0) += 1;
    }
    eprintln!("accept/remove races: {tally:?}");
    env.assert_log_intact().await;
}

async fn concurrent_activations_leave_one_active_bundle(env: &Env) {
    let vh = Arc::new(env.client("veiligheidshuis"));
    let admin = |sub: &str| {
        vh.sign(&vhgate::auth::Claims {
            sub: sub.into(),
            ..vh.claims("convenant_administrator", "beheer")
        })
    };
    let (alice, bob) = (admin("beheerder-alice"), admin("beheerder-bob"));
    let mut revisions = Vec::new();
    for v in ["2026-race-a", "2026-race-b", "2026-race-c"] {
        let r = vh
            .http
            .post(env.url("/v1/admin/policy-bundles"))
            .bearer_auth(&alice)
            .body(common::candidate_bundle(v))
            .send()
            .await
            .expect("propose");
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.expect("json");
        revisions.push(body["revision"].as_str().expect("revision").to_string());
    }
    let mut tasks = Vec::new();
    for rev in &revisions {
        let (vh, url, token) = (
            vh.clone(),
            env.url(&format!("/v1/admin/policy-bundles/{rev}/approve")),
            bob.clone(),
        );
        tasks.push(tokio::spawn(async move {
            vh.http
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join").expect("approve"));
    }
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        count_all(
            env,
            "SELECT COUNT(*) FROM policy_bundles WHERE status = 'active'"
        )
        .await,
        1,
        "{statuses:?}"
    );
    // The bundle that is active is the one the gateway runs, and its activation is logged.
    let active: String = vhgate::with_pool!(&env.db, p => sqlx::query_scalar(
        "SELECT revision FROM policy_bundles WHERE status = 'active'").fetch_one(p).await)
    .expect("active");
    let logged: i64 = vhgate::with_pool!(&env.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM disclosure_log WHERE event = 'policy_change' AND policy_revision = $1")
        .bind(active.as_str()).fetch_one(p).await)
    .expect("logged");
    assert!(logged >= 1);
    env.assert_log_intact().await;
}

async fn screening_reasons_stay_out_of_the_log(env: &Env) {
    let case = registered(env).await;
    let reason = "ZEER-VERTROUWELIJK moeder belde huilend over de schulden van haar zoon";
    let r = decide(env, &case, "veiligheidshuis_case", reason).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A too-short override reason is still measured (and refused) by the policy.
    let regular = registered(env).await;
    let r = decide(env, &regular, "advies", "x").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hits = count_all(
        env,
        "SELECT COUNT(*) FROM disclosure_log WHERE entry LIKE '%VERTROUWELIJK%' OR entry LIKE '%huilend%'",
    )
    .await;
    assert_eq!(hits, 0, "the reason's text reached the log");
    // The case record keeps it, until the case is destroyed.
    let kept = count(
        env,
        "SELECT COUNT(*) FROM case_screening_decisions WHERE case_id = $1 AND reason LIKE '%huilend%'",
        uuid(&case),
    )
    .await;
    assert_eq!(kept, 1);
}

async fn two_instances_share_one_daily_budget(env: &Env) {
    // woningcorporatie may make 50 person-level requests per 24 hours in the demo convenant;
    // 60 lookups spread over two instances on one database get 50 answers and 10 refusals.
    let second = env.start_instance().await;
    let woco = Arc::new(env.client("woningcorporatie"));
    let token = woco.token("professional", "bevraging");
    let mut tasks = Vec::new();
    for i in 0..60 {
        let port = if i % 2 == 0 {
            env.addr.port()
        } else {
            second.addr.port()
        };
        let url = format!("https://localhost:{port}/v1/lookup");
        let (p, t, bsn) = (woco.clone(), token.clone(), env.ids.unknown_bsn);
        tasks.push(tokio::spawn(async move {
            p.http
                .post(url)
                .bearer_auth(t)
                .json(&json!({"bsn": bsn}))
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        *statuses
            .entry(t.await.expect("join").expect("lookup").as_u16())
            .or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&200), Some(&50), "{statuses:?}");
    assert_eq!(statuses.get(&403), Some(&10), "{statuses:?}");
    second.stop().await;
    env.assert_log_intact().await;
}

async fn access_report(env: &Env, bsn: &str) -> Value {
    let vh = env.client("veiligheidshuis");
    let r = vh
        .send(
            env,
            Method::POST,
            "/v1/subjects/access-report",
            &vh.token("privacy_officer", "toezicht"),
            Some(&json!({ "bsn": bsn })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// The events of an access report's lines.
fn report_events(report: &Value) -> Vec<&str> {
    report["disclosures"]
        .as_array()
        .expect("disclosures")
        .iter()
        .filter_map(|l| l["event"].as_str())
        .collect()
}

async fn every_person_whose_data_left_finds_the_entry(env: &Env) {
    // A registration of a parent and a child: its read-back discloses both.
    let (parent, child) = (fresh_bsn(), fresh_bsn());
    let politie = env.client("politie");
    let r = register(
        env,
        &politie,
        &registration(json!([
            {"bsn": parent, "relation": "ouder"},
            {"bsn": child, "relation": "kind"}
        ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().expect("case").to_string();
    let back = politie
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&politie),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    for bsn in [&parent, &child] {
        let report = access_report(env, bsn).await;
        let events = report_events(&report);
        assert!(events.contains(&"register_case"), "{bsn}: {report}");
        assert!(events.contains(&"read_registration"), "{bsn}: {report}");
    }

    // The report pages through everything: more entries than one page (1,000) about one
    // person all appear.
    let token = politie.token("professional", "casusoverleg");
    let mut tasks = Vec::new();
    let politie = Arc::new(politie);
    for _ in 0..1_050 {
        let (p, url, t) = (
            politie.clone(),
            env.url(&format!(
                "/v1/cases/{}/persons/{}",
                env.ids.oss_case, env.ids.oss_youth
            )),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            p.http
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status())
        }));
        if tasks.len() == 50 {
            for t in tasks.drain(..) {
                assert_eq!(t.await.expect("join").expect("read"), StatusCode::OK);
            }
            // Politie's daily budget (200) is not what this test is about.
            env.exec("DELETE FROM request_budget").await;
        }
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("read"), StatusCode::OK);
    }
    let report = access_report(env, env.ids.oss_youth_bsn).await;
    let reads = report["disclosures"]
        .as_array()
        .expect("disclosures")
        .iter()
        .filter(|l| l["event"] == "read_person")
        .count();
    assert_eq!(reads, 1_050);
    env.assert_log_intact().await;
}

async fn refusals_tell_an_outsider_nothing_about_the_case(env: &Env) {
    // The woningcorporatie is not at the Oss table. Its refusal must not list the case's items,
    // nor say whether the person has a BSN or an address, nor anything of the case's state.
    let woco = env.client("woningcorporatie");
    let token = woco.token("professional", "casusoverleg");
    let oss = woco
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(oss.status, StatusCode::FORBIDDEN, "{}", oss.body);
    let text = oss.body.to_string();
    for leak in [
        "item:",
        "persoon.bsn",
        "persoon.adres",
        "persoon.geboortedatum",
        "field(s)",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert!(oss.withheld().is_empty());
    // Two different outsider refusals (another case, another person) read the same, apart from
    // their ids: nothing in them depends on the record.
    let boekel = woco
        .read_person(env, &token, env.ids.new_case, env.ids.new_person)
        .await;
    assert_eq!(boekel.status, StatusCode::FORBIDDEN, "{}", boekel.body);
    assert_eq!(oss.body["decision"], boekel.body["decision"]);
    // The log keeps the detail for the privacy officer.
    let entry = env.last_entry().await;
    assert!(
        entry["withheld"].as_array().is_some_and(|w| !w.is_empty()),
        "{entry}"
    );
}

/// The entry with this id, from the log.
async fn entry_of(env: &Env, r: &Response) -> Value {
    let id = r
        .headers
        .get("disclosure-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no disclosure-id on {} {}", r.status, r.body));
    let id = uuid(id);
    let text: String = vhgate::with_pool!(&env.db, p => sqlx::query_scalar("SELECT entry FROM disclosure_log WHERE id = $1")
        .bind(id).fetch_one(p).await)
    .expect("entry");
    serde_json::from_str::<Value>(&text).expect("entry json")
}

async fn privacy_office_reads_and_every_access_refusal_are_logged(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let politie = env.client("politie");
    let officer = vh.token("privacy_officer", "toezicht");
    let bsn = env.ids.oss_youth_bsn;

    // Refusals of the access rules: each answered 403 with the id of its entry.
    let refusals = [
        (
            &politie,
            prof(&politie),
            Method::GET,
            "/v1/disclosures",
            None,
            "review_disclosures",
        ),
        (
            &politie,
            prof(&politie),
            Method::POST,
            "/v1/subjects/access-report",
            Some(json!({"bsn": bsn})),
            "review_disclosures",
        ),
        (
            &politie,
            prof(&politie),
            Method::GET,
            "/v1/log/entries?start=0&end=1",
            None,
            "review_disclosures",
        ),
        (
            &vh,
            pr(&vh),
            Method::GET,
            "/v1/admin/policy-bundles",
            None,
            "administer",
        ),
        (
            &politie,
            prof(&politie),
            Method::GET,
            "/v1/signals?period=month&from=2025-01&until=2025-02",
            None,
            "read_signals",
        ),
    ];
    for (partner, token, method, path, body, action) in refusals {
        let before = env.log_count().await;
        let r = partner
            .send(env, method, path, &token, body.as_ref(), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
        assert_eq!(env.log_count().await, before + 1, "{path}");
        let entry = entry_of(env, &r).await;
        assert_eq!(entry["event"], "access_refused", "{entry}");
        assert_eq!(entry["outcome"], "denied", "{entry}");
        assert_eq!(entry["status"], 403, "{entry}");
        assert_eq!(entry["reasons"][0], format!("action: {action}"), "{entry}");
    }

    // The officer's reads: a page of the list, a search about a person, a range, a report
    // (about a person of whom something left).
    let read = politie
        .read_person(env, &prof(&politie), env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let before = env.log_count().await;
    let list = vh.get(env, "/v1/disclosures?limit=5", &officer).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "review_log", "{entry}");
    assert!(
        entry["reasons"].to_string().contains("entries returned: 5"),
        "{entry}"
    );
    let search = vh
        .send(
            env,
            Method::POST,
            "/v1/disclosures/search",
            &officer,
            Some(&json!({"bsn": bsn})),
            &[],
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.body);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "review_log", "{entry}");
    let pseudonym = entry["subject"]["pseudonym"]
        .as_str()
        .expect("subject")
        .to_string();
    assert!(!entry.to_string().contains(bsn), "a BSN in {entry}");
    let range = vh.get(env, "/v1/log/entries?start=0&end=3", &officer).await;
    assert_eq!(range.status, StatusCode::OK, "{}", range.body);
    assert_eq!(env.last_entry().await["event"], "review_log");
    let report = access_report(env, bsn).await;
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "access_report", "{entry}");
    assert_eq!(entry["subject"]["pseudonym"], pseudonym.as_str(), "{entry}");
    assert_eq!(env.log_count().await, before + 4);
    // The office's own work is not a disclosure: it stays out of the person's report.
    let events = report_events(&report);
    assert!(!events.is_empty());
    for own in ["review_log", "access_report", "access_refused", "embargo"] {
        assert!(!events.contains(&own), "{own} in {report}");
    }

    // An embargo is a logged step (its free-text reason stays in the embargo, out of the log).
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let r = step(
        env,
        &politie,
        &prof(&politie),
        "/v1/embargoes",
        json!({"bsn": bsn, "until": until, "reason": "lopend onderzoek naar de broer"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "embargo", "{entry}");
    assert_eq!(entry["subject"]["pseudonym"], pseudonym.as_str(), "{entry}");
    assert!(!entry.to_string().contains("broer"), "free text in {entry}");
    env.assert_log_intact().await;
}

// --- break-glass (spoed) -------------------------------------------------------------------

const SPOED_REASON: &str = "acute dreiging: vader gesignaleerd bij de woning van moeder";

/// A ggz professional's spoed token (ggz is not at the Oss family's table).
fn spoed_token(p: &Partner, reason: Option<&str>) -> String {
    p.sign(&vhgate::auth::Claims {
        reason: reason.map(str::to_string),
        ..p.claims("professional", "spoed")
    })
}

async fn spoed_read(env: &Env, p: &Partner, token: &str) -> Response {
    p.read_person(env, token, env.ids.gezin_case, env.ids.gezin_mother)
        .await
}

async fn spoed_reviews(env: &Env, state: &str) -> Response {
    let vh = env.client("veiligheidshuis");
    vh.get(
        env,
        &format!("/v1/spoed-reviews?state={state}"),
        &vh.token("privacy_officer", "toezicht"),
    )
    .await
}

async fn spoed_gets_the_minimum_and_opens_a_review(env: &Env) {
    let ggz = env.client("ggz");
    let r = spoed_read(env, &ggz, &spoed_token(&ggz, Some(SPOED_REASON))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"]["tier"], "summary", "{}", r.body);
    assert!(r.body["person"]["naam"].is_string(), "{}", r.body);
    assert!(r.body["person"].get("bsn").is_none(), "{}", r.body);
    // Only identifying data and safety information: not the trauma, not the child protection.
    let leefgebieden: Vec<&str> = r.body["information"]
        .as_array()
        .expect("information")
        .iter()
        .filter_map(|i| i["leefgebied"].as_str())
        .collect();
    assert!(leefgebieden.contains(&"veiligheid"), "{}", r.body);
    for never in ["psychische_gezondheid", "gezin_relaties"] {
        assert!(!leefgebieden.contains(&never), "{never} in {}", r.body);
    }
    let review_id = r.body["spoed_review"]["id"].as_str().expect("review id");

    // The entry marks the break-glass read and names its review; the stated reason stays out.
    let entry = entry_of(env, &r).await;
    assert_eq!(entry["requester"]["purpose"], "spoed", "{entry}");
    assert!(
        entry["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|x| x.as_str().is_some_and(
                |x| x.starts_with(&format!("spoed (break-glass): review {review_id} due"))
            )),
        "{entry}"
    );
    assert!(!entry.to_string().contains("vader gesignaleerd"), "{entry}");
    let in_log = count_all(
        env,
        "SELECT COUNT(*) FROM disclosure_log WHERE entry LIKE '%vader gesignaleerd%'",
    )
    .await;
    assert_eq!(in_log, 0);

    // The privacy officer sees the open item with its reason; the read is logged.
    let before = env.log_count().await;
    let open = spoed_reviews(env, "open").await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert_eq!(env.log_count().await, before + 1);
    assert_eq!(env.last_entry().await["event"], "review_log");
    let items = open.body["reviews"].as_array().expect("reviews");
    assert_eq!(items.len(), 1, "{}", open.body);
    assert_eq!(items[0]["id"], review_id);
    assert_eq!(items[0]["reason"], SPOED_REASON);
    assert_eq!(items[0]["overdue"], false);
    assert_eq!(items[0]["requester_oin"], ggz.oin.as_str());
    let overdue = spoed_reviews(env, "overdue").await;
    assert_eq!(overdue.body["reviews"], json!([]), "{}", overdue.body);

    // Destroying the case's person data erases the stated reason; the item remains.
    vhgate::casework::store::destroy_case(&env.db, env.ids.gezin_case)
        .await
        .expect("destroy");
    let all = spoed_reviews(env, "all").await;
    assert_eq!(all.body["reviews"][0]["id"], review_id);
    assert_eq!(
        all.body["reviews"][0]["reason"],
        Value::Null,
        "{}",
        all.body
    );
}

async fn spoed_refusals_and_bad_reasons(env: &Env) {
    let ggz = env.client("ggz");
    // No stated reason: refused by doelmatigheid, logged, no review item.
    let r = spoed_read(env, &ggz, &spoed_token(&ggz, None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(entry_of(env, &r).await["outcome"], "denied");
    // A partner type the convenant's spoed section does not name.
    let gemeente = env.client("gemeente");
    let r = spoed_read(env, &gemeente, &spoed_token(&gemeente, Some(SPOED_REASON))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // A reason that is blank, too long or holds control characters: the token is refused.
    let long = "x".repeat(vhgate::auth::MAX_REASON_CHARS + 1);
    for bad in ["   ", long.as_str(), "dreiging\u{7}\nkopie"] {
        let r = spoed_read(env, &ggz, &spoed_token(&ggz, Some(bad))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        assert_eq!(r.problem(), "token-claim-invalid", "{}", r.body);
    }
    assert_eq!(
        count_all(env, "SELECT COUNT(*) FROM spoed_reviews").await,
        0,
        "a refused spoed read opens no review"
    );
    // Only the privacy officer sees the review items (the refusal is logged).
    let politie = env.client("politie");
    let r = politie.get(env, "/v1/spoed-reviews", &prof(&politie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(entry_of(env, &r).await["event"], "access_refused");
    let bad = spoed_reviews(env, "sometime").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

async fn spoed_reviews_are_signalled_when_overdue_and_reviewed_once(env: &Env) {
    let ggz = env.client("ggz");
    let r = spoed_read(env, &ggz, &spoed_token(&ggz, Some(SPOED_REASON))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let review_id = r.body["spoed_review"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let gw = env.gateway();
    let now = chrono::Utc::now();

    // Not yet due: nothing to signal. Past the 72 hours: signalled once, on any instance.
    assert_eq!(
        vhgate::spoed::signal_overdue(&gw, now)
            .await
            .expect("check"),
        0
    );
    let later = now + chrono::Duration::hours(73);
    let before = env.log_count().await;
    assert_eq!(
        vhgate::spoed::signal_overdue(&gw, later)
            .await
            .expect("check"),
        1
    );
    assert_eq!(env.log_count().await, before + 1);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "spoed_review_overdue", "{entry}");
    assert_eq!(entry["case_id"], env.ids.gezin_case.to_string(), "{entry}");
    let other = env.start_instance().await;
    assert_eq!(
        vhgate::spoed::signal_overdue(&other.gateway, later)
            .await
            .expect("check"),
        0
    );
    other.stop().await;

    // The verdict: once (a second is a logged 409), for a known item, with a known verdict.
    let vh = env.client("veiligheidshuis");
    let officer = vh.token("privacy_officer", "toezicht");
    let path = format!("/v1/spoed-reviews/{review_id}/review");
    let verdict = |v: Value| {
        let (vh, officer, path) = (&vh, &officer, &path);
        async move {
            vh.send(env, Method::POST, path, officer, Some(&v), &[])
                .await
        }
    };
    let bad = verdict(json!({"verdict": "maybe"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let first = verdict(json!({"verdict": "justified"})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["verdict"], "justified");
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "spoed_reviewed", "{entry}");
    assert!(!entry.to_string().contains("vader gesignaleerd"), "{entry}");
    let again = verdict(json!({"verdict": "unjustified"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(entry_of(env, &again).await["status"], 409);
    let unknown = vh
        .send(
            env,
            Method::POST,
            &format!("/v1/spoed-reviews/{}/review", Uuid::now_v7()),
            &officer,
            Some(&json!({"verdict": "justified"})),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let reviewed = spoed_reviews(env, "reviewed").await;
    assert_eq!(
        reviewed.body["reviews"][0]["reviewed_by"],
        "veiligheidshuis-medewerker-7"
    );
    assert_eq!(spoed_reviews(env, "open").await.body["reviews"], json!([]));
    // A reviewed item is never signalled.
    assert_eq!(
        vhgate::spoed::signal_overdue(&gw, later + chrono::Duration::hours(1))
            .await
            .expect("check"),
        0
    );
    env.assert_log_intact().await;
}
