//! The plan van aanpak through the real server over mutual TLS, on SQLite and PostgreSQL:
//! afspraken (create, list, update with monitoring notes), the afspraken needing attention
//! (overdue, stalled, gestagneerd), op- en afschalen on the AVE ladder; every call exactly one
//! disclosure-log entry that names afspraken by id, never their text.

mod common;

use common::{fresh_bsn, Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    afspraken_are_made_listed_and_updated,
    outsiders_are_refused_and_removal_ends_access_at_once,
    overdue_stalled_and_gestagneerd_afspraken_are_flagged,
    escalation_goes_up_and_down_the_ave_ladder,
    bad_plan_input_gets_problem_json,
    every_plan_call_is_logged_exactly_once_without_text,
    retention_destroys_notes_and_escalations,
    openapi_describes_the_plan_routes,
    procesregisseur_sees_attention_across_the_region,
);

const ACTION_TEXT: &str = "intake verslavingszorg plannen met de hoofdpersoon";
const NOTE_TEXT: &str = "eerste gesprek gevoerd, vervolgafspraak staat";
const REASON_TEXT: &str = "afspraken lopen vast, bestuurlijke aandacht nodig";

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

fn regisseur(p: &Partner) -> String {
    p.token("casusregisseur", "casusoverleg")
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// A case in phase mdo with politie and ggz at the table and ggz as casusregisseur.
async fn at_the_table(env: &Env, a: &Actors) -> String {
    let body = json!({
        "kind": "persoon",
        "region": "oost-brabant",
        "title": "aanmelding overlast centrum",
        "reason": "escalating nuisance, addiction and debts; earlier approaches failed",
        "persons": [{"bsn": fresh_bsn(), "naam": "Jan Testpersoon-Plan", "geboortedatum": "1980-02-03"}],
        "problems": [
            {"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]},
            {"leefgebied": "wonen", "leads_to": ["overlast"]}
        ],
        "chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
        "system": {"family": true}
    });
    let r = a
        .politie
        .send(
            env,
            Method::POST,
            "/v1/cases",
            &prof(&a.politie),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().expect("case id").to_string();
    let steps: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            format!("/v1/cases/{case}/screening/decision"),
            json!({"decision": "veiligheidshuis_case", "reason": "meets criteria 1 to 3"}),
        ),
        (
            Method::POST,
            format!("/v1/cases/{case}/invitations"),
            json!({"oins": [a.politie.oin, a.ggz.oin]}),
        ),
    ];
    for (m, path, body) in steps {
        let r = a.vh.send(env, m, &path, &a.pr(), Some(&body), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    for p in [&a.politie, &a.ggz] {
        let r = p
            .send(
                env,
                Method::POST,
                &format!("/v1/cases/{case}/invitations/accept"),
                &prof(p),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
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
    case
}

async fn create(env: &Env, p: &Partner, token: &str, case: &str, body: &Value) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/afspraken"),
        token,
        Some(body),
        &[],
    )
    .await
}

fn afspraak_for(partner: &Partner, due_in_days: i64) -> Value {
    json!({"partner_oin": partner.oin, "action": ACTION_TEXT, "due_date": in_days(due_in_days)})
}

async fn patch(
    env: &Env,
    p: &Partner,
    token: &str,
    case: &str,
    id: &str,
    body: &Value,
) -> Response {
    p.send(
        env,
        Method::PATCH,
        &format!("/v1/cases/{case}/afspraken/{id}"),
        token,
        Some(body),
        &[],
    )
    .await
}

async fn escalate(env: &Env, p: &Partner, token: &str, case: &str, level: i64) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/escalation"),
        token,
        Some(&json!({"level": level, "reason": REASON_TEXT})),
        &[],
    )
    .await
}

/// Makes an afspraak (politie, for ggz) and returns its id.
async fn made(env: &Env, a: &Actors, case: &str, due_in_days: i64) -> String {
    let r = create(
        env,
        &a.politie,
        &prof(&a.politie),
        case,
        &afspraak_for(&a.ggz, due_in_days),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["afspraak"]["id"]
        .as_str()
        .expect("afspraak id")
        .to_string()
}

async fn afspraken_are_made_listed_and_updated(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;

    // The first afspraak moves the case from mdo to uitvoering.
    let r = create(
        env,
        &a.politie,
        &prof(&a.politie),
        &case,
        &afspraak_for(&a.ggz, 30),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["phase"], "uitvoering");
    let first = &r.body["afspraak"];
    assert_eq!(first["partner_oin"], a.ggz.oin.as_str());
    assert_eq!(first["action"], ACTION_TEXT);
    assert_eq!(first["due_date"], in_days(30));
    assert_eq!(first["status"], "open");
    assert_eq!(first["created_by"], a.politie.oin.as_str());
    assert_eq!(first["created_at"], first["updated_at"]);
    assert_eq!(first["notes"], json!([]));
    assert!(r.headers.contains_key("disclosure-id"));
    assert_eq!(
        r.body["decision_id"],
        r.headers["disclosure-id"].to_str().unwrap_or("")
    );
    let id = first["id"].as_str().expect("id").to_string();

    // A second one, due today, with a status; the case stays in uitvoering.
    let mut body = afspraak_for(&a.politie, 0);
    body["status"] = json!("lopend");
    let r = create(env, &a.ggz, &prof(&a.ggz), &case, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["phase"], "uitvoering");
    assert_eq!(r.body["afspraak"]["status"], "lopend");

    // Participants and procesregie staff read the plan.
    for (p, token) in [
        (&a.politie, prof(&a.politie)),
        (&a.ggz, prof(&a.ggz)),
        (&a.vh, a.pr()),
        (&a.vh, a.ic()),
    ] {
        let r = p
            .get(env, &format!("/v1/cases/{case}/afspraken"), &token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["case_id"], case.as_str());
        assert_eq!(r.body["phase"], "uitvoering");
        assert_eq!(r.body["ave_level"], Value::Null);
        assert_eq!(r.body["afspraken"].as_array().map(Vec::len), Some(2));
        assert_eq!(r.body["afspraken"][0]["id"], id.as_str());
    }

    // The partner it is for reports progress with a note; updated_at moves.
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &id,
        &json!({"status": "lopend", "note": NOTE_TEXT}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let updated = &r.body["afspraak"];
    assert_eq!(updated["status"], "lopend");
    assert_ne!(updated["updated_at"], first["updated_at"]);
    assert_eq!(updated["notes"][0]["note"], NOTE_TEXT);
    assert_eq!(updated["notes"][0]["written_by"], a.ggz.oin.as_str());

    // The casusregisseur moves the due date; the procesregisseur adds a note.
    let r = patch(
        env,
        &a.ggz,
        &regisseur(&a.ggz),
        &case,
        &id,
        &json!({"due_date": in_days(60)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["afspraak"]["due_date"], in_days(60));
    assert_eq!(r.body["afspraak"]["status"], "lopend");
    let r = patch(
        env,
        &a.vh,
        &a.pr(),
        &case,
        &id,
        &json!({"note": "besproken in het MDO"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["afspraak"]["notes"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        r.body["afspraak"]["notes"][1]["written_by"],
        a.vh.oin.as_str()
    );

    // Another participant does not change someone else's afspraak.
    let r = patch(
        env,
        &a.politie,
        &prof(&a.politie),
        &case,
        &id,
        &json!({"status": "afgerond"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(
        r.body["afspraken"][0]["notes"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(r.body["afspraken"][0]["status"], "lopend");

    // An unknown afspraak is a logged 404.
    let before = env.log_count().await;
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        "0195f3a0-0000-7000-8000-00000000dead",
        &json!({"status": "afgerond"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(env.log_count().await, before + 1);
    env.assert_log_intact().await;
}

async fn outsiders_are_refused_and_removal_ends_access_at_once(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let id = made(env, &a, &case, 10).await;

    // gemeente is not at the table: it neither makes nor reads afspraken, and no afspraak is
    // made for it.
    let before = env.log_count().await;
    let r = create(
        env,
        &a.gemeente,
        &prof(&a.gemeente),
        &case,
        &afspraak_for(&a.ggz, 5),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "denied");
    assert_eq!(env.log_count().await, before + 1);
    let e = env.last_entry().await;
    assert_eq!(e["event"], "create_afspraak");
    assert_eq!(e["status"], 403);
    let r = a
        .gemeente
        .get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&a.gemeente),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = create(
        env,
        &a.politie,
        &prof(&a.politie),
        &case,
        &afspraak_for(&a.gemeente, 5),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The informatiecoordinator records afspraken for the partners at the table (seed 001), but
    // not for a partner that is not at it; the privacy officer records none.
    let r = create(env, &a.vh, &a.ic(), &case, &afspraak_for(&a.ggz, 5)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = create(env, &a.vh, &a.ic(), &case, &afspraak_for(&a.gemeente, 5)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let officer = a.vh.token("privacy_officer", "toezicht");
    let r = create(env, &a.vh, &officer, &case, &afspraak_for(&a.ggz, 5)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Partners do not watch the plan or escalate; only the casusregisseur of this case does.
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/attention"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/attention"),
            &regisseur(&a.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = escalate(env, &a.politie, &prof(&a.politie), &case, 3).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = escalate(env, &a.vh, &a.ic(), &case, 3).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // ggz reads and updates its afspraak until it is removed; then at once neither.
    let r = a
        .ggz
        .get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&a.ggz))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
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
    let r = a
        .ggz
        .get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&a.ggz))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &id,
        &json!({"status": "afgerond"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // ... nor, as the removed casusregisseur, watches or escalates.
    let r = a
        .ggz
        .get(
            env,
            &format!("/v1/cases/{case}/attention"),
            &regisseur(&a.ggz),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = escalate(env, &a.ggz, &regisseur(&a.ggz), &case, 2).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = a
        .ggz
        .get(env, &format!("/v1/cases/{case}/escalation"), &prof(&a.ggz))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A closed case has no plan to read or change.
    let r =
        a.vh.send(
            env,
            Method::POST,
            &format!("/v1/cases/{case}/close"),
            &a.pr(),
            Some(&json!({"outcome": "doelen_bereikt", "reason": "plan afgerond"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r =
        a.vh.get(env, &format!("/v1/cases/{case}/attention"), &a.pr())
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

/// A uuid as an SQL literal of the backend (SQLite stores uuids as 16-byte blobs).
fn id_sql(env: &Env, id: &str) -> String {
    match env.backend {
        common::Backend::Sqlite => format!("X'{}'", id.replace('-', "")),
        common::Backend::Postgres => format!("'{id}'"),
    }
}

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

async fn overdue_stalled_and_gestagneerd_afspraken_are_flagged(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let fine = made(env, &a, &case, 30).await;
    let overdue = made(env, &a, &case, 30).await;
    let stalled = made(env, &a, &case, 30).await;
    let stuck = made(env, &a, &case, 30).await;
    let done = made(env, &a, &case, 30).await;

    let r =
        a.vh.get(env, &format!("/v1/cases/{case}/attention"), &a.pr())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["flags"], json!([]));

    // Backdate: one was due yesterday, one has not changed for 20 days (the convenant's
    // stall_after_days is 14), and the one that is done is both (but afgerond).
    env.exec(&format!(
        "UPDATE afspraken SET due_date = '{}' WHERE id = {}",
        in_days(-1),
        id_sql(env, &overdue)
    ))
    .await;
    for id in [&stalled, &done] {
        env.exec(&format!(
            "UPDATE afspraken SET created_at = '{}' WHERE id = {}",
            days_ago(20),
            id_sql(env, id)
        ))
        .await;
    }
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &stuck,
        &json!({"status": "gestagneerd"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &done,
        &json!({"status": "afgerond"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    env.exec(&format!(
        "UPDATE afspraken SET updated_at = '{}', due_date = '{}' WHERE id = {}",
        days_ago(20),
        in_days(-3),
        id_sql(env, &done)
    ))
    .await;

    for (p, token) in [(&a.vh, a.pr()), (&a.ggz, regisseur(&a.ggz))] {
        let r = p
            .get(env, &format!("/v1/cases/{case}/attention"), &token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["case_id"], case.as_str());
        assert_eq!(r.body["phase"], "uitvoering");
        let flags = r.body["flags"].as_array().expect("flags");
        let kinds = |id: &str| -> Option<Value> {
            flags
                .iter()
                .find(|f| f["afspraak_id"] == id)
                .map(|f| f["kinds"].clone())
        };
        assert_eq!(flags.len(), 3, "{}", r.body);
        assert_eq!(kinds(&overdue), Some(json!(["overdue"])));
        assert_eq!(kinds(&stalled), Some(json!(["stalled"])));
        assert_eq!(kinds(&stuck), Some(json!(["gestagneerd"])));
        assert_eq!(kinds(&fine), None);
        assert_eq!(kinds(&done), None);
        let f = flags
            .iter()
            .find(|f| f["afspraak_id"] == overdue.as_str())
            .expect("flag");
        assert_eq!(f["partner_oin"], a.ggz.oin.as_str());
        assert_eq!(f["due_date"], in_days(-1));
        assert_eq!(f["status"], "open");
        assert!(f["reasons"][0]
            .as_str()
            .is_some_and(|s| s.contains("due on")));
    }
    // The entry names the flagged afspraken only.
    let e = env.last_entry().await;
    assert_eq!(e["event"], "read_attention");
    assert_eq!(e["disclosed"].as_array().map(Vec::len), Some(3));

    // A note is a change: the stalled afspraak is no longer stalled.
    let r = patch(
        env,
        &a.vh,
        &a.pr(),
        &case,
        &stalled,
        &json!({"note": "nagebeld, loopt weer"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        a.vh.get(env, &format!("/v1/cases/{case}/attention"), &a.pr())
            .await;
    assert_eq!(
        r.body["flags"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );
}

async fn escalation_goes_up_and_down_the_ave_ladder(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;

    let r =
        a.vh.get(env, &format!("/v1/cases/{case}/escalation"), &a.pr())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ave_level"], Value::Null);
    assert_eq!(r.body["history"], json!([]));

    // The procesregisseur starts at 2 and escalates to 3; the casusregisseur de-escalates to 1.
    let r = escalate(env, &a.vh, &a.pr(), &case, 2).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["level"], 2);
    assert_eq!(r.body["previous_level"], Value::Null);
    assert_eq!(r.body["direction"], "start");
    let r = escalate(env, &a.vh, &a.pr(), &case, 3).await;
    assert_eq!(r.body["direction"], "opschalen", "{}", r.body);
    assert_eq!(r.body["previous_level"], 2);
    let r = escalate(env, &a.ggz, &regisseur(&a.ggz), &case, 1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["direction"], "afschalen");
    assert_eq!(r.body["previous_level"], 3);

    // The same level again is refused with a logged 422.
    let before = env.log_count().await;
    let r = escalate(env, &a.vh, &a.pr(), &case, 1).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem(), "same-ave-level");
    assert_eq!(r.content_type(), "application/problem+json");
    assert!(r.body["disclosure_id"].is_string());
    assert_eq!(env.log_count().await, before + 1);
    let e = env.last_entry().await;
    assert_eq!(e["event"], "escalate_case");
    assert_eq!(e["status"], 422);

    // Participants read the history, oldest first, with the reasons.
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/escalation"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ave_level"], 1);
    let history = r.body["history"].as_array().expect("history");
    let steps: Vec<(i64, Value, &str)> = history
        .iter()
        .map(|h| {
            (
                h["level"].as_i64().unwrap_or(0),
                h["previous_level"].clone(),
                h["direction"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (2, Value::Null, "start"),
            (3, json!(2), "opschalen"),
            (1, json!(3), "afschalen")
        ]
    );
    assert_eq!(history[0]["reason"], REASON_TEXT);
    assert_eq!(history[0]["decided_by"], a.vh.oin.as_str());
    assert_eq!(history[2]["decided_by"], a.ggz.oin.as_str());
    // The plan shows the level too.
    let r = a
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&a.politie),
        )
        .await;
    assert_eq!(r.body["ave_level"], 1, "{}", r.body);
    // Outsiders do not read it.
    let r = a
        .gemeente
        .get(
            env,
            &format!("/v1/cases/{case}/escalation"),
            &prof(&a.gemeente),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn bad_plan_input_gets_problem_json(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let id = made(env, &a, &case, 10).await;
    let token = prof(&a.politie);
    let before = env.log_count().await;
    let bad_creates = [
        json!({"partner_oin": a.ggz.oin, "action": ACTION_TEXT, "due_date": "31-12-2030"}),
        json!({"partner_oin": a.ggz.oin, "action": ACTION_TEXT, "due_date": "2030-02-30"}),
        json!({"partner_oin": a.ggz.oin, "action": ACTION_TEXT, "due_date": in_days(-1)}),
        json!({"partner_oin": a.ggz.oin, "action": ACTION_TEXT, "due_date": in_days(3), "status": "klaar"}),
        json!({"partner_oin": a.ggz.oin, "due_date": in_days(3)}),
        json!({"action": ACTION_TEXT, "due_date": in_days(3)}),
        json!({"partner_oin": a.ggz.oin, "action": "   ", "due_date": in_days(3)}),
        json!({"partner_oin": "123", "action": ACTION_TEXT, "due_date": in_days(3)}),
        json!({"partner_oin": a.ggz.oin, "action": ACTION_TEXT, "due_date": in_days(3), "extra": 1}),
    ];
    for body in &bad_creates {
        let r = create(env, &a.politie, &token, &case, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
        assert!(r.problem().starts_with("invalid-"), "{}", r.body);
    }
    let bad_patches = [
        json!({}),
        json!({"status": "klaar"}),
        json!({"due_date": "morgen"}),
        json!({"note": ""}),
        json!({"colour": "red"}),
    ];
    for body in &bad_patches {
        let r = patch(env, &a.ggz, &prof(&a.ggz), &case, &id, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        "not-a-uuid",
        &json!({"status": "lopend"}),
    )
    .await;
    assert_eq!(r.problem(), "invalid-afspraak-id", "{}", r.body);
    let bad_escalations = [
        json!({"level": 0, "reason": REASON_TEXT}),
        json!({"level": 5, "reason": REASON_TEXT}),
        json!({"level": "3", "reason": REASON_TEXT}),
        json!({"level": 3}),
        json!({"level": 3, "reason": "te laat"}),
        json!({"reason": REASON_TEXT}),
    ];
    for body in &bad_escalations {
        let r =
            a.vh.send(
                env,
                Method::POST,
                &format!("/v1/cases/{case}/escalation"),
                &a.pr(),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    let r =
        a.vh.get(env, "/v1/cases/not-a-case/afspraken", &a.pr())
            .await;
    assert_eq!(r.problem(), "invalid-case-id");
    // Malformed requests never reach the policy; each refusal is logged as request_refused
    // (route template and problem type, none of the body).
    let refused = (bad_creates.len() + bad_patches.len() + 1 + bad_escalations.len() + 1) as i64;
    assert_eq!(env.log_count().await, before + refused);
    let rows = vhgate::disclosure::store::rows_after(&env.db, before, refused)
        .await
        .expect("rows");
    for row in &rows {
        let e: Value = serde_json::from_str(&row.entry).expect("entry");
        assert_eq!(e["event"], "request_refused", "{e}");
        assert_eq!(e["status"], 400, "{e}");
        assert!(
            e["problem_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("invalid-")),
            "{e}"
        );
        assert!(!row.entry.contains(ACTION_TEXT) && !row.entry.contains(REASON_TEXT));
    }
    let before = env.log_count().await;
    // An unknown case is a logged 404.
    let r =
        a.vh.get(
            env,
            "/v1/cases/0195f3a0-0000-7000-8000-00000000dead/attention",
            &a.pr(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(env.log_count().await, before + 1);
}

/// Runs a request and checks it wrote exactly one entry with this event and status, naming
/// no action text, note or reason.
async fn one_entry(
    env: &Env,
    r: impl std::future::Future<Output = Response>,
    event: &str,
    status: u16,
) -> Response {
    let before = env.log_count().await;
    let r = r.await;
    assert_eq!(r.status.as_u16(), status, "{event}: {}", r.body);
    assert_eq!(env.log_count().await, before + 1, "{event}");
    let e = env.last_entry().await;
    assert_eq!(e["event"], event);
    assert_eq!(e["status"], status);
    let text = e.to_string();
    for secret in [ACTION_TEXT, NOTE_TEXT, REASON_TEXT] {
        assert!(
            !text.contains(secret),
            "{event} entry holds free text: {text}"
        );
    }
    r
}

async fn every_plan_call_is_logged_exactly_once_without_text(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let r = one_entry(
        env,
        create(
            env,
            &a.politie,
            &prof(&a.politie),
            &case,
            &afspraak_for(&a.ggz, 7),
        ),
        "create_afspraak",
        201,
    )
    .await;
    let id = r.body["afspraak"]["id"].as_str().expect("id").to_string();
    let e = env.last_entry().await;
    assert_eq!(e["disclosed"], json!([format!("afspraak:{id}")]));
    one_entry(
        env,
        create(
            env,
            &a.gemeente,
            &prof(&a.gemeente),
            &case,
            &afspraak_for(&a.ggz, 7),
        ),
        "create_afspraak",
        403,
    )
    .await;
    one_entry(
        env,
        a.ggz
            .get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&a.ggz)),
        "read_afspraken",
        200,
    )
    .await;
    one_entry(
        env,
        a.gemeente.get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&a.gemeente),
        ),
        "read_afspraken",
        403,
    )
    .await;
    one_entry(
        env,
        patch(
            env,
            &a.ggz,
            &prof(&a.ggz),
            &case,
            &id,
            &json!({"status": "lopend", "note": NOTE_TEXT}),
        ),
        "update_afspraak",
        200,
    )
    .await;
    one_entry(
        env,
        patch(
            env,
            &a.politie,
            &prof(&a.politie),
            &case,
            &id,
            &json!({"note": NOTE_TEXT}),
        ),
        "update_afspraak",
        403,
    )
    .await;
    one_entry(
        env,
        a.vh.get(env, &format!("/v1/cases/{case}/attention"), &a.pr()),
        "read_attention",
        200,
    )
    .await;
    one_entry(
        env,
        a.politie.get(
            env,
            &format!("/v1/cases/{case}/attention"),
            &prof(&a.politie),
        ),
        "read_attention",
        403,
    )
    .await;
    one_entry(
        env,
        escalate(env, &a.vh, &a.pr(), &case, 3),
        "escalate_case",
        200,
    )
    .await;
    one_entry(
        env,
        escalate(env, &a.vh, &a.pr(), &case, 3),
        "escalate_case",
        422,
    )
    .await;
    one_entry(
        env,
        escalate(env, &a.politie, &prof(&a.politie), &case, 4),
        "escalate_case",
        403,
    )
    .await;
    one_entry(
        env,
        a.politie.get(
            env,
            &format!("/v1/cases/{case}/escalation"),
            &prof(&a.politie),
        ),
        "read_escalation",
        200,
    )
    .await;
    one_entry(
        env,
        a.gemeente.get(
            env,
            &format!("/v1/cases/{case}/escalation"),
            &prof(&a.gemeente),
        ),
        "read_escalation",
        403,
    )
    .await;
    env.assert_log_intact().await;
}

async fn retention_destroys_notes_and_escalations(env: &Env) {
    use vhgate::domain::CaseId;
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let id = made(env, &a, &case, 7).await;
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &id,
        &json!({"note": NOTE_TEXT}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = escalate(env, &a.vh, &a.pr(), &case, 3).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case_id = CaseId(case.parse().expect("uuid"));
    let destroyed = vhgate::casework::store::destroy_case(&env.db, case_id)
        .await
        .expect("destroy");
    assert_eq!(destroyed.afspraken, 1);
    assert!(vhgate::casework::plan_store::notes(&env.db, case_id)
        .await
        .expect("notes")
        .is_empty());
    assert!(vhgate::casework::plan_store::escalations(&env.db, case_id)
        .await
        .expect("escalations")
        .is_empty());
    assert!(vhgate::casework::plan_store::afspraken(&env.db, case_id)
        .await
        .expect("afspraken")
        .is_empty());
}

async fn openapi_describes_the_plan_routes(env: &Env) {
    let r = env.client("politie").get(env, "/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    for (path, method) in [
        ("/v1/cases/{case_id}/afspraken", "get"),
        ("/v1/cases/{case_id}/afspraken", "post"),
        ("/v1/cases/{case_id}/afspraken/{afspraak_id}", "patch"),
        ("/v1/cases/{case_id}/attention", "get"),
        ("/v1/cases/{case_id}/escalation", "get"),
        ("/v1/cases/{case_id}/escalation", "post"),
    ] {
        assert!(
            r.body["paths"][path][method].is_object(),
            "{method} {path} missing from openapi.json"
        );
    }
}

async fn procesregisseur_sees_attention_across_the_region(env: &Env) {
    let a = Actors::new(env);
    let case = at_the_table(env, &a).await;
    let quiet = at_the_table(env, &a).await;
    let stuck = made(env, &a, &case, 30).await;
    made(env, &a, &quiet, 30).await;
    let r = patch(
        env,
        &a.ggz,
        &prof(&a.ggz),
        &case,
        &stuck,
        &json!({"status": "gestagneerd"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = one_entry(
        env,
        a.vh.get(env, "/v1/attention", &a.pr()),
        "read_attention",
        200,
    )
    .await;
    let cases = r.body["cases"].as_array().expect("cases");
    let mine = cases
        .iter()
        .find(|c| c["case_id"] == case.as_str())
        .expect("the case with a gestagneerd afspraak");
    assert_eq!(mine["flags"][0]["afspraak_id"], stuck.as_str());
    assert_eq!(mine["flags"][0]["kinds"], json!(["gestagneerd"]));
    assert!(!cases.iter().any(|c| c["case_id"] == quiet.as_str()));
    let e = env.last_entry().await;
    assert_eq!(e["case_id"], Value::Null);
    assert!(e["disclosed"]
        .as_array()
        .expect("disclosed")
        .contains(&json!(format!("afspraak:{stuck}"))));

    // Only the procesregisseur: not the informatiecoordinator, not a casusregisseur.
    one_entry(
        env,
        a.vh.get(env, "/v1/attention", &a.ic()),
        "read_attention",
        403,
    )
    .await;
    one_entry(
        env,
        a.ggz.get(env, "/v1/attention", &regisseur(&a.ggz)),
        "read_attention",
        403,
    )
    .await;
}
