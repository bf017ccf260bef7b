//! The case life cycle through the real server over mutual TLS, on SQLite and PostgreSQL:
//! registration (idempotent), read-back, screening advice and decision, invitation and
//! acceptance, removal, closing; every step exactly one disclosure-log entry.

mod common;

use common::{fresh_bsn, Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    registration_is_idempotent,
    registrant_reads_its_registration_and_others_do_not,
    screening_advice_and_decision_move_the_phase,
    invited_partner_sees_data_from_acceptance_until_removal,
    closing_ends_sharing_for_everyone_at_once,
    every_step_is_logged_exactly_once_without_bsn_or_name,
    bad_casework_input_gets_problem_json,
    openapi_describes_the_casework_routes,
    retention_destroys_case_data_and_an_extension_postpones_it,
    contributors_read_back_their_own_items_after_closing,
);

const NAAM: &str = "Jan Testpersoon-Aanmelding";

fn registration(bsn: &str) -> Value {
    json!({
        "kind": "persoon",
        "region": "oost-brabant",
        "title": "aanmelding overlast centrum",
        "reason": "escalating nuisance, addiction and debts; earlier approaches failed",
        "persons": [{"bsn": bsn, "naam": NAAM, "geboortedatum": "1980-02-03"}],
        "problems": [
            {"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]},
            {"leefgebied": "wonen", "leads_to": ["overlast"]}
        ],
        "chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
        "system": {"family": true}
    })
}

struct Actors {
    politie: Partner,
    ggz: Partner,
    gemeente: Partner,
    vh: Partner,
}

impl Actors {
    fn new(env: &Env) -> Self {
        Actors {
            politie: env.client("politie"),
            ggz: env.client("ggz"),
            gemeente: env.client("gemeente"),
            vh: env.client("veiligheidshuis"),
        }
    }
    fn pr(&self) -> String {
        self.vh.token("procesregisseur", "procesregie")
    }
    fn ic(&self) -> String {
        self.vh.token("informatiecoordinator", "procesregie")
    }
}

fn prof(p: &Partner) -> String {
    p.token("professional", "casusoverleg")
}

async fn register(env: &Env, p: &Partner, body: &Value, key: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    p.send(
        env,
        Method::POST,
        "/v1/cases",
        &prof(p),
        Some(body),
        &headers,
    )
    .await
}

/// Registers a case as politie; returns (case id, first person id).
async fn registered(env: &Env, a: &Actors) -> (String, String) {
    let r = register(env, &a.politie, &registration(&fresh_bsn()), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["case_id"].as_str().expect("case id").to_string(),
        r.body["persons"][0]["person_id"]
            .as_str()
            .expect("person id")
            .to_string(),
    )
}

/// A registered case taken on by the Veiligheidshuis (phase mdo).
async fn in_mdo(env: &Env, a: &Actors) -> (String, String) {
    let (case, person) = registered(env, a).await;
    let r = decide(
        env,
        a,
        &case,
        "veiligheidshuis_case",
        "meets criteria 1 to 3",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "mdo");
    (case, person)
}

async fn decide(env: &Env, a: &Actors, case: &str, decision: &str, reason: &str) -> Response {
    a.vh.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/screening/decision"),
        &a.pr(),
        Some(&json!({"decision": decision, "reason": reason})),
        &[],
    )
    .await
}

async fn invite(env: &Env, a: &Actors, case: &str, oins: &[&str]) -> Response {
    a.vh.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/invitations"),
        &a.pr(),
        Some(&json!({ "oins": oins })),
        &[],
    )
    .await
}

async fn accept(env: &Env, p: &Partner, case: &str) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/invitations/accept"),
        &prof(p),
        None,
        &[],
    )
    .await
}

async fn read_registration(env: &Env, p: &Partner, token: &str, case: &str) -> Response {
    p.get(env, &format!("/v1/cases/{case}/registration"), token)
        .await
}

async fn registration_is_idempotent(env: &Env) {
    let a = Actors::new(env);
    let body = registration(&fresh_bsn());
    let before = env.log_count().await;
    let first = register(env, &a.politie, &body, Some("aanmelding-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["phase"], "aanmelding");
    assert_eq!(first.body["repeated"], false);
    let case = first.body["case_id"].as_str().expect("case id");
    assert_eq!(
        first.headers["location"].to_str().ok(),
        Some(format!("/v1/cases/{case}/registration").as_str())
    );

    let again = register(env, &a.politie, &body, Some("aanmelding-1")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["case_id"], case);
    assert_eq!(again.body["repeated"], true);
    assert_eq!(again.body["persons"], first.body["persons"]);

    let mut other = body.clone();
    other["reason"] = json!("a different registration under the same key");
    let conflict = register(env, &a.politie, &other, Some("aanmelding-1")).await;
    assert_eq!(
        conflict.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        conflict.body
    );
    assert_eq!(conflict.problem(), "idempotency-key-reused");
    assert_eq!(conflict.content_type(), "application/problem+json");

    // The same key from another partner is another key.
    let ggz = register(
        env,
        &a.ggz,
        &registration(&fresh_bsn()),
        Some("aanmelding-1"),
    )
    .await;
    assert_eq!(ggz.status, StatusCode::CREATED, "{}", ggz.body);
    assert_ne!(ggz.body["case_id"], case);

    // Without a key, every registration is a new case.
    let r1 = register(env, &a.politie, &registration(&fresh_bsn()), None).await;
    let r2 = register(env, &a.politie, &registration(&fresh_bsn()), None).await;
    assert_ne!(r1.body["case_id"], r2.body["case_id"]);

    // One entry per request: 201, 200, 422, 201, 201, 201.
    assert_eq!(env.log_count().await, before + 6);
    let n = env.log_count().await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, before, n - before)
        .await
        .expect("rows");
    let statuses: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            let e: Value = serde_json::from_str(&r.entry).expect("entry");
            (
                e["event"].as_str().unwrap_or("").to_string(),
                e["status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<(String, i64)> = [201, 200, 422, 201, 201, 201]
        .iter()
        .map(|s| ("register_case".to_string(), *s))
        .collect();
    assert_eq!(statuses, expected);
    env.assert_log_intact().await;
}

async fn registrant_reads_its_registration_and_others_do_not(env: &Env) {
    let a = Actors::new(env);
    let bsn = fresh_bsn();
    let r = register(env, &a.politie, &registration(&bsn), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().expect("case").to_string();
    let person = r.body["persons"][0]["person_id"]
        .as_str()
        .expect("person")
        .to_string();

    let own = read_registration(env, &a.politie, &prof(&a.politie), &case).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["persons"][0]["bsn"], bsn.as_str());
    assert_eq!(own.body["persons"][0]["naam"], NAAM);
    assert_eq!(own.body["registered_by"], a.politie.oin.as_str());
    assert_eq!(own.body["aanmelding"]["kind"], "persoonsgericht");
    assert!(own.headers.contains_key("disclosure-id"));

    // Another partner sees nothing of it: not the registration, not the person.
    let other = read_registration(env, &a.ggz, &prof(&a.ggz), &case).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.body);
    assert_eq!(other.problem(), "denied");
    let read = a.ggz.read_person(env, &prof(&a.ggz), &case, &person).await;
    assert_eq!(read.status, StatusCode::FORBIDDEN, "{}", read.body);
    // ... nor does the registrant read the person through read_person before screening.
    let read = a
        .politie
        .read_person(env, &prof(&a.politie), &case, &person)
        .await;
    assert_eq!(read.status, StatusCode::FORBIDDEN, "{}", read.body);

    // Veiligheidshuis staff screen it.
    let staff = read_registration(env, &a.vh, &a.ic(), &case).await;
    assert_eq!(staff.status, StatusCode::OK, "{}", staff.body);

    // An unknown case is a logged 404.
    let before = env.log_count().await;
    let missing = read_registration(
        env,
        &a.politie,
        &prof(&a.politie),
        "0195f3a0-0000-7000-8000-00000000dead",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(env.log_count().await, before + 1);
}

async fn screening_advice_and_decision_move_the_phase(env: &Env) {
    let a = Actors::new(env);
    let (case, _) = registered(env, &a).await;

    let advice =
        a.vh.get(env, &format!("/v1/cases/{case}/screening"), &a.ic())
            .await;
    assert_eq!(advice.status, StatusCode::OK, "{}", advice.body);
    assert_eq!(advice.body["screening"]["outcome"], "veiligheidshuis_case");
    for c in ["meervoudige_problematiek", "ketenoverstijgend", "systeem"] {
        assert_eq!(advice.body["screening"]["criteria"][c]["met"], true, "{c}");
    }
    assert_eq!(
        advice.body["screening"]["criteria"]["gebiedsgebonden"]["met"],
        false
    );
    assert_eq!(advice.body["phase"], "aanmelding");

    // Partners do not screen.
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/screening"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The informatiecoordinator does not decide; a decision without a reason is refused.
    let r =
        a.vh.send(
            env,
            Method::POST,
            &format!("/v1/cases/{case}/screening/decision"),
            &a.ic(),
            Some(&json!({"decision": "advies", "reason": "advice only"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = decide(env, &a, &case, "veiligheidshuis_case", "   ").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Advice keeps the case in screening; then the procesregisseur takes it on.
    let r = decide(env, &a, &case, "advies", "first advise the chain").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "screening");
    assert_eq!(r.body["check"]["follows_advice"], false);
    let r = decide(
        env,
        &a,
        &case,
        "veiligheidshuis_case",
        "advice did not help",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "mdo");
    assert_eq!(r.body["check"]["valid"], true);
    // Screening is over once the MDO is being prepared.
    let r = decide(env, &a, &case, "terug_naar_keten", "changed my mind").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Back to the chain closes the case; the registrant still reads its own registration back,
    // staff no longer do.
    let (other, _) = registered(env, &a).await;
    let r = decide(
        env,
        &a,
        &other,
        "terug_naar_keten",
        "regular casework for the chain",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "afgesloten");
    let own = read_registration(env, &a.politie, &prof(&a.politie), &other).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["phase"], "afgesloten");
    let staff = read_registration(env, &a.vh, &a.pr(), &other).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN, "{}", staff.body);
}

async fn invited_partner_sees_data_from_acceptance_until_removal(env: &Env) {
    let a = Actors::new(env);
    let (case, person) = in_mdo(env, &a).await;
    let ggz_token = prof(&a.ggz);

    let r = invite(env, &a, &case, &[&a.ggz.oin]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Invited is not yet at the table.
    let r = a.ggz.read_person(env, &ggz_token, &case, &person).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "hit-no-hit-only");

    let r = accept(env, &a.ggz, &case).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = a.ggz.read_person(env, &ggz_token, &case, &person).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["person"]["naam"], NAAM);
    // Accepting twice is refused (the invitation is used).
    let r = accept(env, &a.ggz, &case).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A partner that was not invited cannot join and gets no more than hit/no-hit.
    let r = accept(env, &a.gemeente, &case).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = a
        .gemeente
        .read_person(env, &prof(&a.gemeente), &case, &person)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "hit-no-hit-only");
    let own = read_registration(env, &a.politie, &prof(&a.politie), &case).await;
    let bsn = own.body["persons"][0]["bsn"]
        .as_str()
        .expect("bsn")
        .to_string();
    let r = a
        .gemeente
        .lookup(env, &a.gemeente.token("professional", "bevraging"), &bsn)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["hit"], true);
    // Partners do not invite.
    let r = a
        .politie
        .send(
            env,
            Method::POST,
            &format!("/v1/cases/{case}/invitations"),
            &prof(&a.politie),
            Some(&json!({"oins": [a.gemeente.oin]})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // The casusregisseur must be a participant.
    let r = set_regisseur(env, &a, &case, &a.gemeente.oin).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = set_regisseur(env, &a, &case, &a.ggz.oin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Removal ends access at once.
    let r =
        a.vh.send(
            env,
            Method::DELETE,
            &format!("/v1/cases/{case}/participants/{}", a.ggz.oin),
            &a.pr(),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = a.ggz.read_person(env, &ggz_token, &case, &person).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // A removed partner cannot rejoin by accepting again.
    let r = accept(env, &a.ggz, &case).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn close(env: &Env, p: &Partner, case: &str, token: String) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/close"),
        &token,
        Some(&json!({"outcome": "doelen_bereikt", "reason": "plan van aanpak completed"})),
        &[],
    )
    .await
}

async fn set_regisseur(env: &Env, a: &Actors, case: &str, who: &str) -> Response {
    a.vh.send(
        env,
        Method::PUT,
        &format!("/v1/cases/{case}/casusregisseur"),
        &a.pr(),
        Some(&json!({ "oin": who })),
        &[],
    )
    .await
}

async fn closing_ends_sharing_for_everyone_at_once(env: &Env) {
    let a = Actors::new(env);
    let (case, person) = in_mdo(env, &a).await;
    invite(env, &a, &case, &[&a.ggz.oin]).await;
    assert_eq!(accept(env, &a.ggz, &case).await.status, StatusCode::OK);
    let r =
        a.vh.send(
            env,
            Method::PUT,
            &format!("/v1/cases/{case}/casusregisseur"),
            &a.pr(),
            Some(&json!({"oin": a.ggz.oin})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let own = read_registration(env, &a.politie, &prof(&a.politie), &case).await;
    let bsn = own.body["persons"][0]["bsn"]
        .as_str()
        .expect("bsn")
        .to_string();
    assert_eq!(
        a.ggz
            .read_person(env, &prof(&a.ggz), &case, &person)
            .await
            .status,
        StatusCode::OK
    );

    // A professional is not the casusregisseur; the casusregisseur of the case closes it.
    let r = close(env, &a.ggz, &case, prof(&a.ggz)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = close(
        env,
        &a.gemeente,
        &case,
        a.gemeente.token("casusregisseur", "casusoverleg"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = close(
        env,
        &a.ggz,
        &case,
        a.ggz.token("casusregisseur", "casusoverleg"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "afgesloten");

    // Nobody reads the person any more, Veiligheidshuis staff included, and lookups miss.
    let r = a.ggz.read_person(env, &prof(&a.ggz), &case, &person).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = a.vh.read_person(env, &a.pr(), &case, &person).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = a
        .politie
        .lookup(env, &a.politie.token("professional", "bevraging"), &bsn)
        .await;
    assert_eq!(r.body["hit"], false, "{}", r.body);
    // The registrant still reads back its own registration; closing again is refused.
    let own = read_registration(env, &a.politie, &prof(&a.politie), &case).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let r = close(env, &a.vh, &case, a.pr()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

/// Runs a request and checks it wrote exactly one entry with this event and status.
async fn one_entry(
    env: &Env,
    r: impl std::future::Future<Output = Response>,
    event: &str,
    status: u16,
) {
    let before = env.log_count().await;
    let r = r.await;
    assert_eq!(r.status.as_u16(), status, "{event}: {}", r.body);
    assert_eq!(env.log_count().await, before + 1, "{event}");
    let e = env.last_entry().await;
    assert_eq!(e["event"], event);
    assert_eq!(e["status"], status);
    assert_eq!(
        r.headers.get("disclosure-id").and_then(|v| v.to_str().ok()),
        e["id"].as_str(),
        "{event}"
    );
}

async fn every_step_is_logged_exactly_once_without_bsn_or_name(env: &Env) {
    let a = Actors::new(env);
    let bsn = fresh_bsn();
    let before_all = env.log_count().await;
    let body = registration(&bsn);
    let before = env.log_count().await;
    let r = register(env, &a.politie, &body, Some("k-1")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(env.log_count().await, before + 1);
    let e = env.last_entry().await;
    assert_eq!(e["event"], "register_case");
    assert!(e["subject"]["pseudonym"].is_string());
    let case = r.body["case_id"].as_str().expect("case").to_string();
    assert_eq!(e["case_id"], case.as_str());

    one_entry(
        env,
        read_registration(env, &a.politie, &prof(&a.politie), &case),
        "read_registration",
        200,
    )
    .await;
    one_entry(
        env,
        read_registration(env, &a.ggz, &prof(&a.ggz), &case),
        "read_registration",
        403,
    )
    .await;
    one_entry(
        env,
        a.vh.get(env, &format!("/v1/cases/{case}/screening"), &a.ic()),
        "screen_case",
        200,
    )
    .await;
    one_entry(
        env,
        decide(env, &a, &case, "veiligheidshuis_case", "meets criteria"),
        "screening_decision",
        200,
    )
    .await;
    one_entry(
        env,
        invite(env, &a, &case, &[&a.ggz.oin, &a.gemeente.oin]),
        "invite_participants",
        200,
    )
    .await;
    one_entry(env, accept(env, &a.ggz, &case), "accept_invitation", 200).await;
    one_entry(
        env,
        accept(env, &a.politie, &case),
        "accept_invitation",
        403,
    )
    .await;
    one_entry(
        env,
        a.vh.send(
            env,
            Method::PUT,
            &format!("/v1/cases/{case}/casusregisseur"),
            &a.pr(),
            Some(&json!({"oin": a.ggz.oin})),
            &[],
        ),
        "set_casusregisseur",
        200,
    )
    .await;
    one_entry(
        env,
        a.vh.send(
            env,
            Method::DELETE,
            &format!("/v1/cases/{case}/participants/{}", a.ggz.oin),
            &a.pr(),
            None,
            &[],
        ),
        "remove_participant",
        200,
    )
    .await;
    one_entry(
        env,
        a.vh.send(
            env,
            Method::POST,
            &format!("/v1/cases/{case}/close"),
            &a.pr(),
            Some(&json!({"outcome": "overgedragen", "reason": "handed over"})),
            &[],
        ),
        "close_case",
        200,
    )
    .await;

    // Nothing in the entries of these steps names the person.
    let n = env.log_count().await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, before_all, n - before_all)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 11);
    for row in rows {
        assert!(!row.entry.contains(&bsn), "BSN in {}", row.entry);
        assert!(!row.entry.contains("Testpersoon"), "name in {}", row.entry);
    }
    env.assert_log_intact().await;
}

async fn bad_casework_input_gets_problem_json(env: &Env) {
    let a = Actors::new(env);
    let token = prof(&a.politie);
    let before = env.log_count().await;
    let mut bad_bsn = registration("123456789");
    let r = register(env, &a.politie, &bad_bsn, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem(), "invalid-bsn");
    bad_bsn["persons"] = json!([{"naam": "Only A Name"}]);
    let r = register(env, &a.politie, &bad_bsn, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let mut bad_lg = registration(&fresh_bsn());
    bad_lg["problems"] = json!([{"leefgebied": "gezondheid", "leads_to": []}]);
    let r = register(env, &a.politie, &bad_lg, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem(), "invalid-leefgebied");
    let r = a
        .politie
        .send(
            env,
            Method::POST,
            "/v1/cases",
            &token,
            Some(&json!({"kind": "x"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = a
        .politie
        .get(env, "/v1/cases/not-a-uuid/registration", &token)
        .await;
    assert_eq!(r.problem(), "invalid-case-id");
    // Parse errors are refused before anything is decided; each refusal is logged, by route
    // template and problem type only.
    assert_eq!(env.log_count().await, before + 5);
    let entry = env.last_entry().await;
    assert_eq!(entry["event"], "request_refused");
    assert_eq!(entry["problem_type"], "invalid-case-id");
    assert_eq!(entry["reasons"][0], "GET /v1/cases/{case_id}/registration");
    let before = env.log_count().await;
    // Another region is the policy's to refuse, and that is logged.
    let mut elsewhere = registration(&fresh_bsn());
    elsewhere["region"] = json!("zeeland");
    let r = register(env, &a.politie, &elsewhere, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(env.log_count().await, before + 1);
}

async fn openapi_describes_the_casework_routes(env: &Env) {
    let r = env.client("politie").get(env, "/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    for (path, method) in [
        ("/v1/cases", "post"),
        ("/v1/cases/{case_id}/registration", "get"),
        ("/v1/cases/{case_id}/screening", "get"),
        ("/v1/cases/{case_id}/screening/decision", "post"),
        ("/v1/cases/{case_id}/invitations", "post"),
        ("/v1/cases/{case_id}/invitations/accept", "post"),
        ("/v1/cases/{case_id}/participants/{oin}", "delete"),
        ("/v1/cases/{case_id}/casusregisseur", "put"),
        ("/v1/cases/{case_id}/close", "post"),
        ("/v1/cases/{case_id}/retention", "post"),
        ("/v1/cases/{case_id}/contributions", "get"),
    ] {
        assert!(
            r.body["paths"][path][method].is_object(),
            "{method} {path} missing from openapi.json"
        );
    }
}

async fn retention_destroys_case_data_and_an_extension_postpones_it(env: &Env) {
    use vhgate::domain::{CaseId, PersonId};
    let a = Actors::new(env);
    let (kept, kept_person) = registered(env, &a).await;
    let (gone, gone_person) = registered(env, &a).await;

    // Only a closed case's retention is extended.
    let until = (chrono::Utc::now() + chrono::Duration::days(1000)).to_rfc3339();
    let extend = |token: String, case: String| {
        let body = json!({"keep_until": until, "reason": "lopend strafrechtelijk onderzoek"});
        let vh = &a.vh;
        async move {
            vh.send(
                env,
                Method::POST,
                &format!("/v1/cases/{case}/retention"),
                &token,
                Some(&body),
                &[],
            )
            .await
        }
    };
    let r = extend(a.pr(), kept.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    for case in [&kept, &gone] {
        let r = close(env, &a.vh, case, a.pr()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = extend(a.ic(), kept.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    one_entry(env, extend(a.pr(), kept.clone()), "retention_extended", 200).await;

    let gw = env.gateway();
    let now = chrono::Utc::now();
    let before = env.log_count().await;
    let run = |days: i64| {
        let gw = gw.clone();
        async move {
            vhgate::casework::destroy_expired(&gw, now + chrono::Duration::days(days))
                .await
                .expect("retention run")
        }
    };
    // Within the convenant's 730 days nothing is destroyed.
    assert!(run(700).await.is_empty());
    assert_eq!(env.log_count().await, before);

    // After them, the case without an extension is destroyed (so is the demo's closed case),
    // and each destruction is logged.
    let gone_id: CaseId = gone.parse().expect("case id");
    let kept_id: CaseId = kept.parse().expect("case id");
    let destroyed = run(731).await;
    assert!(destroyed.contains(&gone_id), "{destroyed:?}");
    assert!(!destroyed.contains(&kept_id), "{destroyed:?}");
    assert_eq!(env.log_count().await, before + destroyed.len() as i64);
    let n = env.log_count().await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, before, n - before)
        .await
        .expect("rows");
    let e: Value = rows
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.entry).expect("entry"))
        .find(|e| e["case_id"] == gone.as_str())
        .expect("the destruction entry");
    assert_eq!(e["event"], "case_destroyed");
    assert_eq!(e["case_id"], gone.as_str());
    assert!(e["subject"]["pseudonym"].is_string());
    let record = env.record();
    let person = |p: &str| p.parse::<PersonId>().expect("person id");
    assert!(record
        .person_in_case(gone_id, person(&gone_person))
        .await
        .expect("read")
        .is_none());
    assert!(record
        .person_in_case(kept_id, person(&kept_person))
        .await
        .expect("read")
        .is_some());
    // The registration is gone too, for the registrant as well.
    let r = read_registration(env, &a.politie, &prof(&a.politie), &gone).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Nothing is destroyed twice.
    assert!(run(731).await.is_empty());

    // The extended case goes when its extension ends.
    assert!(run(999).await.is_empty());
    assert_eq!(run(1001).await, vec![kept_id]);
    env.assert_log_intact().await;
}

async fn contributors_read_back_their_own_items_after_closing(env: &Env) {
    let a = Actors::new(env);
    let case = env.ids.uden_case.to_string();
    let path = format!("/v1/cases/{case}/contributions");
    let r = close(env, &a.vh, &case, a.pr()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = a
        .ggz
        .read_person(env, &prof(&a.ggz), &case, env.ids.uden_man)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let before = env.log_count().await;
    let r = a.ggz.get(env, &path, &prof(&a.ggz)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "afgesloten");
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["leefgebied"], "psychische_gezondheid");
    assert_eq!(env.log_count().await, before + 1);
    let e = env.last_entry().await;
    assert_eq!(e["event"], "read_own_contributions");
    assert_eq!(e["categories"], json!(["bijzonder"]));
    // Another organisation gets only its own (here: nothing of ggz's).
    let r = a.gemeente.get(env, &path, &prof(&a.gemeente)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let theirs = r.body["items"].as_array().expect("items");
    assert!(theirs
        .iter()
        .all(|i| i["leefgebied"] != "psychische_gezondheid"));
    // Not for a lookup-only purpose.
    let r = a
        .ggz
        .get(env, &path, &a.ggz.token("professional", "bevraging"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}
