//! Information items through the real server over mutual TLS, on SQLite and PostgreSQL:
//! participants contribute per leefgebied and category on a ground of the convenant, others
//! read them, and the contributor corrects or withdraws its own item and learns who received
//! it (GDPR art. 16, 17, 19). Every call is exactly one log entry, without content or reason.

mod common;

use common::{Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    a_participant_contributes_and_another_reads_it,
    non_participants_and_wrong_phases_are_refused_and_logged,
    bad_contributions_get_clear_problem_json,
    a_correction_lists_the_readers_of_the_old_version,
    a_withdrawal_erases_the_content_and_lists_the_recipients,
    withdrawn_items_are_not_counted_in_the_signals,
    openapi_describes_the_information_routes,
    old_information_ages_from_the_date_it_dates_from,
);

fn prof(p: &Partner) -> String {
    p.token("professional", "casusoverleg")
}

fn item(person: impl std::fmt::Display, lg: &str, cat: &str, content: &str, ground: &str) -> Value {
    json!({
        "person_id": person.to_string(),
        "leefgebied": lg,
        "category": cat,
        "content": content,
        "ground": ground,
    })
}

async fn contribute(
    env: &Env,
    p: &Partner,
    case: impl std::fmt::Display,
    body: &Value,
) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/information"),
        &prof(p),
        Some(body),
        &[],
    )
    .await
}

async fn correct(
    env: &Env,
    p: &Partner,
    case: impl std::fmt::Display,
    item: &str,
    content: &str,
    reason: &str,
) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/information/{item}/correction"),
        &prof(p),
        Some(&json!({"content": content, "reason": reason})),
        &[],
    )
    .await
}

async fn withdraw(
    env: &Env,
    p: &Partner,
    case: impl std::fmt::Display,
    item: &str,
    reason: &str,
) -> Response {
    p.send(
        env,
        Method::POST,
        &format!("/v1/cases/{case}/information/{item}/withdrawal"),
        &prof(p),
        Some(&json!({ "reason": reason })),
        &[],
    )
    .await
}

async fn recipients(
    env: &Env,
    p: &Partner,
    token: &str,
    case: impl std::fmt::Display,
    item: &str,
) -> Response {
    p.get(
        env,
        &format!("/v1/cases/{case}/information/{item}/recipients"),
        token,
    )
    .await
}

/// The ids of the items a person read disclosed.
fn read_ids(r: &Response) -> Vec<String> {
    r.body["information"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that the call just made wrote exactly one entry, of `event` with `status`, that
/// holds none of `secrets`; returns the entry.
async fn one_entry(env: &Env, before: i64, event: &str, status: u64, secrets: &[&str]) -> Value {
    assert_eq!(env.log_count().await, before + 1, "exactly one log entry");
    let e = env.last_entry().await;
    assert_eq!(e["event"], event, "{e}");
    assert_eq!(e["status"], status, "{e}");
    let text = e.to_string();
    for s in secrets {
        assert!(!text.contains(s), "the log entry holds {s:?}: {text}");
    }
    e
}

const WONEN: &str = "Huurachterstand van drie maanden; ontruiming dreigt per februari.";
const GGZ_V1: &str = "Behandeling tweewekelijks; medicatie recent gewijzigd (onjuist).";
const GGZ_V2: &str = "Behandeling wekelijks; medicatie ongewijzigd.";
const JUSTITIE: &str = "Verdacht van bedreiging buurman, aangifte 12 november.";

async fn a_participant_contributes_and_another_reads_it(env: &Env) {
    let gemeente = env.client("gemeente");
    let politie = env.client("politie");
    let case = env.ids.uden_case;
    let person = env.ids.uden_man;

    let before = env.log_count().await;
    let r = contribute(
        env,
        &gemeente,
        case,
        &item(person, "wonen", "overig", WONEN, "gemeente_sociaal_domein"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["item_id"].as_str().expect("item id").to_string();
    assert_eq!(r.body["case_id"], case.to_string());
    assert_eq!(r.body["person_id"], person.to_string());
    assert_eq!(r.body["leefgebied"], "wonen");
    assert_eq!(r.body["category"], "overig");
    assert_eq!(r.body["ground"], "gemeente_sociaal_domein");
    assert_eq!(r.body["contributed_by"], gemeente.oin);
    assert!(r.body["recorded_at"].is_string());
    let decision = r.body["decision_id"]
        .as_str()
        .expect("decision id")
        .to_string();
    assert_eq!(
        r.headers.get("disclosure-id").and_then(|v| v.to_str().ok()),
        Some(decision.as_str())
    );
    let e = one_entry(env, before, "contribute_information", 201, &[WONEN]).await;
    assert_eq!(e["id"], decision);
    assert_eq!(e["outcome"], "allowed");
    assert_eq!(e["disclosed"], json!([format!("item:{id}")]));
    assert_eq!(e["categories"], json!(["overig"]));
    assert!(e["subject"]["pseudonym"].is_string());

    // Another participant reads it, with who contributed it.
    let read = politie
        .read_person(env, &prof(&politie), case, person)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let got = read.body["information"]
        .as_array()
        .expect("information")
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .expect("the contributed item is disclosed");
    assert_eq!(got["content"], WONEN);
    assert_eq!(got["contributed_by"]["oin"], gemeente.oin);
    let read_id = read.body["decision"]["decision_id"]
        .as_str()
        .expect("read decision id")
        .to_string();

    // The contributor reads it back, and its own read does not make it a recipient.
    let own = gemeente
        .get(
            env,
            &format!("/v1/cases/{case}/contributions"),
            &prof(&gemeente),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["id"] == id.as_str() && i["content"] == WONEN));
    let r = gemeente
        .read_person(env, &prof(&gemeente), case, person)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let before = env.log_count().await;
    let r = recipients(env, &gemeente, &prof(&gemeente), case, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["item_id"], id.as_str());
    assert_eq!(r.body["status"], "actief");
    let list = r.body["recipients"].as_array().expect("recipients");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["oin"], politie.oin);
    assert_eq!(list[0]["partner_type"], "politie");
    assert_eq!(list[0]["times"], 1);
    assert_eq!(list[0]["decision_ids"], json!([read_id]));
    assert_eq!(list[0]["first_disclosed_at"], list[0]["last_disclosed_at"]);
    let e = one_entry(env, before, "read_recipients", 200, &[WONEN]).await;
    assert_eq!(e["disclosed"], json!([format!("item:{id}")]));

    // Veiligheidshuis staff (procesregie) may see the recipients; another participant not.
    let vh = env.client("veiligheidshuis");
    let r = recipients(
        env,
        &vh,
        &vh.token("procesregisseur", "procesregie"),
        case,
        &id,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let before = env.log_count().await;
    let r = recipients(env, &politie, &prof(&politie), case, &id).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    one_entry(env, before, "read_recipients", 403, &[]).await;
    env.assert_log_intact().await;
}

async fn non_participants_and_wrong_phases_are_refused_and_logged(env: &Env) {
    // OM is not at the table of the Uden case.
    let om = env.client("om");
    let before = env.log_count().await;
    let r = contribute(
        env,
        &om,
        env.ids.uden_case,
        &item(
            env.ids.uden_man,
            "justitie",
            "strafrechtelijk",
            JUSTITIE,
            "wjsg_om",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.problem(), "denied");
    let reasons = r.body["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("only a participant of the case"),
        "{reasons}"
    );
    let e = one_entry(env, before, "contribute_information", 403, &[JUSTITIE]).await;
    assert_eq!(e["outcome"], "denied");
    assert_eq!(e["disclosed"], json!([]));

    // A case just registered (aanmelding) takes no contributions, not even from its registrant.
    let r = env.client("politie");
    let before = env.log_count().await;
    let resp = contribute(
        env,
        &r,
        env.ids.new_case,
        &item(
            env.ids.new_person,
            "wonen",
            "overig",
            WONEN,
            "convenant_zvh",
        ),
    )
    .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{}", resp.body);
    one_entry(env, before, "contribute_information", 403, &[WONEN]).await;

    // An unknown case is a logged 404.
    let before = env.log_count().await;
    let resp = contribute(
        env,
        &r,
        uuid::Uuid::now_v7(),
        &item(
            env.ids.new_person,
            "wonen",
            "overig",
            WONEN,
            "convenant_zvh",
        ),
    )
    .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND, "{}", resp.body);
    one_entry(env, before, "contribute_information", 404, &[WONEN]).await;
}

async fn bad_contributions_get_clear_problem_json(env: &Env) {
    let gemeente = env.client("gemeente");
    let politie = env.client("politie");
    let case = env.ids.uden_case;
    let man = env.ids.uden_man;

    // Refused by policy (403, logged), with a reason that names the problem.
    let refusals: Vec<(&Partner, Value, &str)> = vec![
        (
            &gemeente,
            item(man, "wonen", "overig", WONEN, "wpg_politie"),
            "is not open to partner type \\\"gemeente\\\"",
        ),
        (
            &gemeente,
            item(man, "wonen", "overig", WONEN, "avg_algemeen"),
            "is not a contribution ground of the convenant",
        ),
        (
            &gemeente,
            item(man, "justitie", "strafrechtelijk", WONEN, "convenant_zvh"),
            "may not contribute category \\\"strafrechtelijk\\\"",
        ),
        (
            &politie,
            item(man, "justitie", "strafrechtelijk", WONEN, "convenant_zvh"),
            "does not cover category \\\"strafrechtelijk\\\"",
        ),
        (
            &politie,
            item(man, "justitie", "bsn", WONEN, "wpg_politie"),
            "category bsn is never an information item",
        ),
        (
            &gemeente,
            item(env.ids.oss_youth, "wonen", "overig", WONEN, "convenant_zvh"),
            "the person is not a person of this case",
        ),
    ];
    for (p, body, reason) in refusals {
        let before = env.log_count().await;
        let r = contribute(env, p, case, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
        let reasons = r.body["decision"]["reasons"].to_string();
        assert!(reasons.contains(reason), "{reason} not in {reasons}");
        let e = one_entry(env, before, "contribute_information", 403, &[WONEN]).await;
        assert_eq!(e["disclosed"], json!([]));
        if body["person_id"] == env.ids.oss_youth.to_string() {
            // Not attributed to the case's own person.
            assert!(e["subject"].is_null(), "{e}");
        }
    }

    // Malformed bodies (400, before anything is decided or shared).
    let long = "x".repeat(4001);
    let bad: Vec<(Value, &str)> = vec![
        (
            item(man, "astrologie", "overig", WONEN, "convenant_zvh"),
            "invalid-leefgebied",
        ),
        (
            item(man, "wonen", "geheim", WONEN, "convenant_zvh"),
            "invalid-category",
        ),
        (
            item(man, "wonen", "overig", "   ", "convenant_zvh"),
            "invalid-body",
        ),
        (
            item(man, "wonen", "overig", &long, "convenant_zvh"),
            "invalid-body",
        ),
        (
            item(man, "wonen", "overig", WONEN, "Convenant ZVH"),
            "invalid-ground",
        ),
        (
            item("12", "wonen", "overig", WONEN, "convenant_zvh"),
            "invalid-person-id",
        ),
        (
            json!({"person_id": man.to_string(), "leefgebied": "wonen"}),
            "invalid-body",
        ),
        (
            {
                let mut b = item(man, "wonen", "overig", WONEN, "convenant_zvh");
                b["extra"] = json!(1);
                b
            },
            "invalid-body",
        ),
    ];
    for (body, problem) in bad {
        let r = contribute(env, &gemeente, case, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.problem(), problem, "{}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    }
    let r = correct(env, &gemeente, case, "not-an-id", WONEN, "typo").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.problem(), "invalid-item-id");

    // An unknown item is a logged 404.
    let before = env.log_count().await;
    let r = withdraw(
        env,
        &gemeente,
        case,
        &uuid::Uuid::now_v7().to_string(),
        "wrong person",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.problem(), "not-found");
    assert_eq!(r.body["detail"], "no such information item in this case");
    let e = one_entry(env, before, "withdraw_information", 404, &["wrong person"]).await;
    assert_eq!(
        r.headers.get("disclosure-id").and_then(|v| v.to_str().ok()),
        e["id"].as_str()
    );
}

async fn a_correction_lists_the_readers_of_the_old_version(env: &Env) {
    let ggz = env.client("ggz");
    let reclassering = env.client("reclassering");
    let politie = env.client("politie");
    let case = env.ids.uden_case;
    let man = env.ids.uden_man;

    let r = contribute(
        env,
        &ggz,
        case,
        &item(
            man,
            "psychische_gezondheid",
            "bijzonder",
            GGZ_V1,
            "ggz_toestemming",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v1 = r.body["item_id"].as_str().expect("item id").to_string();

    // Reclassering receives bijzonder (supervision of special conditions); politie does not,
    // so politie's read withholds v1 and politie is no recipient.
    let read = reclassering
        .read_person(env, &prof(&reclassering), case, man)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(read_ids(&read).contains(&v1));
    let read = politie.read_person(env, &prof(&politie), case, man).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(!read_ids(&read).contains(&v1));

    // Nobody but the contributor corrects.
    let before = env.log_count().await;
    let r = correct(env, &politie, case, &v1, "iets anders", "not mine").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    one_entry(
        env,
        before,
        "correct_information",
        403,
        &["iets anders", "not mine"],
    )
    .await;

    let before = env.log_count().await;
    let reason = "medicatie was niet gewijzigd; frequentie verkeerd overgenomen";
    let r = correct(env, &ggz, case, &v1, GGZ_V2, reason).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v2 = r.body["item_id"].as_str().expect("new version").to_string();
    assert_ne!(v2, v1);
    assert_eq!(r.body["replaces"], v1.as_str());
    let list = r.body["recipients"].as_array().expect("recipients");
    let oins: Vec<&str> = list.iter().filter_map(|x| x["oin"].as_str()).collect();
    assert_eq!(oins, vec![reclassering.oin.as_str()], "{list:?}");
    assert_eq!(list[0]["partner_type"], "reclassering");
    let e = one_entry(
        env,
        before,
        "correct_information",
        200,
        &[GGZ_V1, GGZ_V2, reason],
    )
    .await;
    assert_eq!(
        e["disclosed"],
        json!([format!("item:{v2}"), format!("item:{v1}")])
    );
    assert_eq!(e["categories"], json!(["bijzonder"]));

    // v1 is never disclosed again; v2 is.
    let read = reclassering
        .read_person(env, &prof(&reclassering), case, man)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let ids = read_ids(&read);
    assert!(!ids.contains(&v1), "{ids:?}");
    assert!(ids.contains(&v2), "{ids:?}");
    assert!(!read.body.to_string().contains(GGZ_V1));
    let own = ggz
        .get(env, &format!("/v1/cases/{case}/contributions"), &prof(&ggz))
        .await;
    assert!(!own.body.to_string().contains(GGZ_V1), "{}", own.body);

    // The old version cannot be corrected again (409, logged).
    let before = env.log_count().await;
    let r = correct(env, &ggz, case, &v1, GGZ_V2, "again").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.problem(), "item-not-active");
    assert_eq!(r.content_type(), "application/problem+json");
    one_entry(env, before, "correct_information", 409, &[GGZ_V2]).await;

    // The chain: whoever received v1 or v2.
    let r = recipients(env, &ggz, &prof(&ggz), case, &v2).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.body["recipients"].as_array().expect("recipients");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["times"], 2);

    // Rectification continues after closing.
    let vh = env.client("veiligheidshuis");
    let r = vh
        .send(
            env,
            Method::POST,
            &format!("/v1/cases/{case}/close"),
            &vh.token("procesregisseur", "procesregie"),
            Some(&json!({"outcome": "doelen_bereikt", "reason": "plan completed"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = correct(env, &ggz, case, &v2, "Behandeling wekelijks.", "ingekort").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["replaces"], v2.as_str());
    // But nothing new is contributed to a closed case.
    let r = contribute(
        env,
        &ggz,
        case,
        &item(man, "wonen", "overig", WONEN, "convenant_zvh"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    env.assert_log_intact().await;
}

async fn a_withdrawal_erases_the_content_and_lists_the_recipients(env: &Env) {
    let politie = env.client("politie");
    let reclassering = env.client("reclassering");
    let gemeente = env.client("gemeente");
    let case = env.ids.uden_case;
    let man = env.ids.uden_man;

    let r = contribute(
        env,
        &politie,
        case,
        &item(man, "justitie", "strafrechtelijk", JUSTITIE, "wpg_politie"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["item_id"].as_str().expect("item id").to_string();
    let read = reclassering
        .read_person(env, &prof(&reclassering), case, man)
        .await;
    assert!(read_ids(&read).contains(&id), "{}", read.body);

    let before = env.log_count().await;
    let r = withdraw(env, &gemeente, case, &id, "not mine").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    one_entry(env, before, "withdraw_information", 403, &["not mine"]).await;

    let before = env.log_count().await;
    let reason = "aangifte ingetrokken, verdenking vervallen";
    let r = withdraw(env, &politie, case, &id, reason).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["item_id"], id.as_str());
    let list = r.body["recipients"].as_array().expect("recipients");
    let oins: Vec<&str> = list.iter().filter_map(|x| x["oin"].as_str()).collect();
    assert_eq!(oins, vec![reclassering.oin.as_str()], "{list:?}");
    let e = one_entry(
        env,
        before,
        "withdraw_information",
        200,
        &[JUSTITIE, reason],
    )
    .await;
    assert_eq!(e["disclosed"], json!([format!("item:{id}")]));
    assert_eq!(e["categories"], json!(["strafrechtelijk"]));

    // Gone for readers, and its content erased in the record.
    let read = reclassering
        .read_person(env, &prof(&reclassering), case, man)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(!read_ids(&read).contains(&id));
    let uuid: uuid::Uuid = id.parse().expect("uuid");
    const SQL: &str = "SELECT content, status FROM information_items WHERE id = $1";
    let (content, status): (String, String) = match &env.db {
        vhgate::store::Db::Sqlite(p) => sqlx::query_as(SQL).bind(uuid).fetch_one(p).await,
        vhgate::store::Db::Postgres(p) => sqlx::query_as(SQL).bind(uuid).fetch_one(p).await,
    }
    .expect("item row");
    assert_eq!(content, "");
    assert_eq!(status, "ingetrokken");

    // The contributor still sees who received it; a second withdrawal is a conflict.
    let r = recipients(env, &politie, &prof(&politie), case, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ingetrokken");
    assert_eq!(r.body["recipients"].as_array().map(Vec::len), Some(1));
    let before = env.log_count().await;
    let r = withdraw(env, &politie, case, &id, "again").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    one_entry(env, before, "withdraw_information", 409, &["again"]).await;
    env.assert_log_intact().await;
}

/// Cases of the demo region with an item on `leefgebied`, as the signalling figures count them.
async fn cases_with(env: &Env, leefgebied: &str) -> usize {
    vhgate::signals::store::case_facts(&env.db, "oost-brabant")
        .await
        .expect("case facts")
        .iter()
        .filter(|c| c.leefgebieden.contains(leefgebied))
        .count()
}

async fn withdrawn_items_are_not_counted_in_the_signals(env: &Env) {
    let gemeente = env.client("gemeente");
    let case = env.ids.uden_case;
    let before = cases_with(env, "opleiding_dagbesteding").await;
    let r = contribute(
        env,
        &gemeente,
        case,
        &item(
            env.ids.uden_man,
            "opleiding_dagbesteding",
            "overig",
            "Dagbesteding via wijkteam vanaf januari.",
            "gemeente_sociaal_domein",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["item_id"].as_str().expect("item id").to_string();
    assert_eq!(cases_with(env, "opleiding_dagbesteding").await, before + 1);
    let r = withdraw(env, &gemeente, case, &id, "verkeerde casus").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(cases_with(env, "opleiding_dagbesteding").await, before);
}

async fn openapi_describes_the_information_routes(env: &Env) {
    let r = env.client("politie").get(env, "/openapi.json", "").await;
    assert_eq!(r.status, StatusCode::OK);
    for (path, method) in [
        ("/v1/cases/{case_id}/information", "post"),
        (
            "/v1/cases/{case_id}/information/{item_id}/correction",
            "post",
        ),
        (
            "/v1/cases/{case_id}/information/{item_id}/withdrawal",
            "post",
        ),
        (
            "/v1/cases/{case_id}/information/{item_id}/recipients",
            "get",
        ),
    ] {
        assert!(
            r.body["paths"][path][method].is_object(),
            "{method} {path} is not described"
        );
    }
    let shipped: Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json parses");
    assert_eq!(
        shipped["paths"]["/v1/cases/{case_id}/information"],
        r.body["paths"]["/v1/cases/{case_id}/information"]
    );
}

/// The convenant's horizon (proportionaliteit, `horizon_days` 1826) counts from the date the
/// information dates from, not from when it was entered; a reader also learns whom to contact.
async fn old_information_ages_from_the_date_it_dates_from(env: &Env) {
    let gemeente = env.client("gemeente");
    let politie = env.client("politie");
    let case = env.ids.uden_case;
    let man = env.ids.uden_man;
    let today = chrono::Utc::now().date_naive();
    let old_date = (today - chrono::Duration::days(1826 + 30)).to_string();
    let recent_date = (today - chrono::Duration::days(400)).to_string();

    let mut old = item(
        man,
        "wonen",
        "overig",
        "Huurachterstand uit 2020",
        "gemeente_sociaal_domein",
    );
    old["dates_from"] = json!(old_date);
    let r = contribute(env, &gemeente, case, &old).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["dates_from"], old_date.as_str());
    let old_id = r.body["item_id"].as_str().expect("item id").to_string();

    let mut recent = item(
        man,
        "wonen",
        "overig",
        "Huurachterstand recent",
        "gemeente_sociaal_domein",
    );
    recent["dates_from"] = json!(recent_date);
    let r = contribute(env, &gemeente, case, &recent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let recent_id = r.body["item_id"].as_str().expect("item id").to_string();

    // Entered today, but dated more than five years back: withheld by proportionaliteit.
    let read = politie.read_person(env, &prof(&politie), case, man).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let ids = read_ids(&read);
    assert!(!ids.contains(&old_id), "old information disclosed: {ids:?}");
    assert!(ids.contains(&recent_id), "{ids:?}");
    let withheld = read.withheld();
    assert!(
        withheld.contains(&(format!("item:{old_id}"), "proportionaliteit".to_string())),
        "{withheld:?}"
    );
    let shown = read.body["information"]
        .as_array()
        .expect("information")
        .iter()
        .find(|i| i["id"] == recent_id.as_str())
        .cloned()
        .expect("recent item");
    assert_eq!(shown["dates_from"], recent_date.as_str());

    // Whom to contact: procesregie (the Veiligheidshuis) and the case's casusregisseur.
    let contacts = read.body["contacts"].as_array().expect("contacts");
    let roles: Vec<(&str, &str)> = contacts
        .iter()
        .map(|c| {
            (
                c["role"].as_str().unwrap_or(""),
                c["oin"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let vh = env.client("veiligheidshuis");
    let reclassering = env.client("reclassering");
    assert_eq!(
        roles,
        vec![
            ("procesregie", vh.oin.as_str()),
            ("casusregisseur", reclassering.oin.as_str())
        ]
    );
    assert!(contacts.iter().all(|c| c["organisation"].is_string()));

    // The contributor's read-back keeps the date; a correction does not change it.
    let own = gemeente
        .get(
            env,
            &format!("/v1/cases/{case}/contributions"),
            &prof(&gemeente),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["id"] == old_id.as_str() && i["dates_from"] == old_date.as_str()));
    let r = correct(
        env,
        &gemeente,
        case,
        &old_id,
        "Huurachterstand uit 2020 (gecorrigeerd)",
        "bedrag",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let corrected = r.body["item_id"].as_str().expect("new id").to_string();
    let read = politie.read_person(env, &prof(&politie), case, man).await;
    assert!(
        !read_ids(&read).contains(&corrected),
        "a correction made old information young"
    );

    // Dates that cannot be right are refused before anything is stored.
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    for bad in [
        json!(tomorrow),
        json!("1899-12-31"),
        json!("2020-1-5"),
        json!("2020-02-30"),
        json!("05-01-2020"),
        json!("2020-01-05T00:00:00Z"),
        json!(""),
        json!(20200105),
    ] {
        let mut body = item(man, "wonen", "overig", WONEN, "gemeente_sociaal_domein");
        body["dates_from"] = bad.clone();
        let before = env.log_count().await;
        let r = contribute(env, &gemeente, case, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.problem(), "invalid-body", "{bad}: {}", r.body);
        if bad.is_string() {
            let detail = r.body["detail"].as_str().unwrap_or("");
            assert!(detail.contains("dates_from"), "{}", r.body);
        }
        assert_eq!(
            env.log_count().await,
            before,
            "nothing stored or logged for {bad}"
        );
    }
    env.assert_log_intact().await;
}
