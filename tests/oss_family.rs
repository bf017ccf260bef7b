//! End to end, on SQLite and PostgreSQL, through the real server over mutual TLS: the family
//! case from Oss (seed 003: a Burmese family on three addresses, six minor children, domestic
//! violence and possible abuse) from aanmelding through screening, an MDO with five partners, a
//! plan with afspraken of which one stalls and one runs late, information contributed and
//! corrected, op- and afschalen, to closing and destruction after retention. At every step it
//! asserts who can and cannot see what, and that the step wrote exactly the expected
//! disclosure-log entries (and nothing that names the family).

mod common;

use common::{fresh_bsn, Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(the_oss_family_from_aanmelding_to_destruction);

/// The five partners at the MDO table, the Veiligheidshuis, and three outsiders.
struct Table {
    vh: Partner,
    politie: Partner,
    om: Partner,
    rvdk: Partner,
    veilig_thuis: Partner,
    gemeente: Partner,
    ggz: Partner,
    woningcorporatie: Partner,
    reclassering: Partner,
}

impl Table {
    fn new(env: &Env) -> Self {
        Table {
            vh: env.client("veiligheidshuis"),
            politie: env.client("politie"),
            om: env.client("om"),
            rvdk: env.client("rvdk"),
            veilig_thuis: env.client("veilig-thuis"),
            gemeente: env.client("gemeente"),
            ggz: env.client("ggz"),
            woningcorporatie: env.client("woningcorporatie"),
            reclassering: env.client("reclassering"),
        }
    }

    /// The partners at the table, with their partner type in the convenant.
    fn five(&self) -> [(&Partner, &'static str); 5] {
        [
            (&self.politie, "politie"),
            (&self.om, "om"),
            (&self.rvdk, "rvdk"),
            (&self.veilig_thuis, "veilig_thuis"),
            (&self.gemeente, "gemeente"),
        ]
    }

    fn outsiders(&self) -> [&Partner; 3] {
        [&self.ggz, &self.woningcorporatie, &self.reclassering]
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

/// Names of the (invented) family; none may ever appear in the log.
const FATHER: &str = "Thant Zin Oo";
const MOTHER: &str = "Hnin Ei Phyu";
const CHILDREN: [&str; 6] = [
    "Aung Min Oo",
    "Su Mon Oo",
    "Kyaw Zaw Oo",
    "May Thu Oo",
    "Zaw Win Oo",
    "Ei Mon Oo",
];

/// Veilig Thuis registers the family: a family-centred case (systeemgericht).
fn aanmelding(father_bsn: &str, mother_bsn: &str) -> Value {
    let mut persons = vec![
        json!({"bsn": father_bsn, "naam": FATHER, "geboortedatum": "1981-04-12", "relation": "vader"}),
        json!({"bsn": mother_bsn, "naam": MOTHER, "geboortedatum": "1984-09-30", "relation": "moeder"}),
    ];
    for (i, child) in CHILDREN.iter().enumerate() {
        persons.push(json!({
            "naam": child,
            "geboortedatum": format!("{}-0{}-15", 2008 + i, i + 1),
            "relation": "kind",
        }));
    }
    json!({
        "kind": "systeem",
        "region": "oost-brabant",
        "title": "gezin op drie adressen, Oss",
        "reason": "huiselijk geweld en mogelijk misbruik; zes minderjarige kinderen, drie adressen, drie basisscholen; veel betrokken partijen zonder regie op het systeem",
        "persons": persons,
        "problems": [
            {"leefgebied": "gezin_relaties", "leads_to": ["crimineel", "afglijden"]},
            {"leefgebied": "veiligheid", "leads_to": ["crimineel"]},
            {"leefgebied": "wonen", "leads_to": ["afglijden"]},
            {"leefgebied": "opleiding_dagbesteding", "leads_to": ["afglijden"]}
        ],
        "chains": {
            "involved": ["zorg", "strafrecht", "civiel"],
            "needed": ["strafrecht", "zorg", "civiel", "bestuur"],
            "dwang_en_drang": true
        },
        "system": {"family": true, "social_environment": false}
    })
}

/// The log entries written since `before`, parsed.
async fn entries_since(env: &Env, before: i64) -> Vec<Value> {
    let n = env.log_count().await;
    vhgate::disclosure::store::rows_after(&env.db, before, n - before)
        .await
        .expect("log rows")
        .iter()
        .map(|r| serde_json::from_str(&r.entry).expect("entry json"))
        .collect()
}

/// Asserts that exactly these (event, status, requester OIN) entries were written since
/// `before`, in this order, each naming the case; returns the log count now.
async fn expect_log(env: &Env, before: i64, case: &str, expected: &[(&str, u16, &str)]) -> i64 {
    let got = entries_since(env, before).await;
    let summary: Vec<(String, u64, String)> = got
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("").to_string(),
                e["status"].as_u64().unwrap_or(0),
                e["requester"]["oin"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, u64, String)> = expected
        .iter()
        .map(|(e, s, o)| (e.to_string(), u64::from(*s), o.to_string()))
        .collect();
    assert_eq!(summary, want, "log entries since {before}");
    for e in &got {
        if e["event"] != "lookup" {
            assert_eq!(e["case_id"], case, "{e}");
        }
    }
    before + got.len() as i64
}

async fn send(
    env: &Env,
    p: &Partner,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    p.send(env, method, path, token, body.as_ref(), &[]).await
}

/// A participant contributes an information item on a ground of the convenant.
#[allow(clippy::too_many_arguments)]
async fn contribute(
    env: &Env,
    case: &str,
    p: &Partner,
    ground: &str,
    person: &str,
    leefgebied: &str,
    category: &str,
    content: &str,
) -> Response {
    let body = json!({
        "person_id": person,
        "leefgebied": leefgebied,
        "category": category,
        "content": content,
        "ground": ground,
    });
    let path = format!("/v1/cases/{case}/information");
    p.send(env, Method::POST, &path, &prof(p), Some(&body), &[])
        .await
}

/// The categories of the items a read disclosed.
fn item_categories(r: &Response) -> Vec<String> {
    let mut c: Vec<String> = r.body["information"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["category"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    c.sort();
    c.dedup();
    c
}

fn item_ids(r: &Response) -> Vec<String> {
    r.body["information"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The categories a partner type may receive under the shipped convenant.
fn convenant_categories(partner_type: &str) -> Vec<String> {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/data/convenant.json"
    ))
    .expect("convenant");
    let c: Value = serde_json::from_str(&raw).expect("convenant json");
    let c = if c["convenant"].is_object() {
        &c["convenant"]
    } else {
        &c
    };
    c["partner_types"][partner_type]["categories"]
        .as_object()
        .expect("partner type")
        .keys()
        .cloned()
        .collect()
}

async fn the_oss_family_from_aanmelding_to_destruction(env: &Env) {
    let t = Table::new(env);
    let father_bsn = fresh_bsn();
    let mother_bsn = fresh_bsn();
    let start = env.log_count().await;

    // --- 1. Aanmelding by Veilig Thuis -------------------------------------------------------
    let mut n = env.log_count().await;
    let r = t
        .veilig_thuis
        .send(
            env,
            Method::POST,
            "/v1/cases",
            &prof(&t.veilig_thuis),
            Some(&aanmelding(&father_bsn, &mother_bsn)),
            &[("idempotency-key", "oss-gezin-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["phase"], "aanmelding");
    let case = r.body["case_id"].as_str().expect("case id").to_string();
    let persons: Vec<(String, String)> = r.body["persons"]
        .as_array()
        .expect("persons")
        .iter()
        .map(|p| {
            (
                p["person_id"].as_str().expect("person id").to_string(),
                p["relation"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(persons.len(), 8, "two parents and six children");
    let father = persons[0].0.clone();
    let child = persons[2].0.clone();
    n = expect_log(
        env,
        n,
        &case,
        &[("register_case", 201, &t.veilig_thuis.oin)],
    )
    .await;

    // Only the registrant sees the registration; nobody at all sees the persons yet.
    let own = t
        .veilig_thuis
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&t.veilig_thuis),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["persons"][0]["naam"], FATHER);
    let r = t
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&t.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t
        .rvdk
        .read_person(env, &prof(&t.rvdk), &case, &father)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    n = expect_log(
        env,
        n,
        &case,
        &[
            ("read_registration", 200, &t.veilig_thuis.oin),
            ("read_registration", 403, &t.politie.oin),
            ("read_person", 403, &t.rvdk.oin),
        ],
    )
    .await;

    // --- 2. Screening: advice, a hit/no-hit lookup, the procesregisseur's decision -------------
    let r =
        t.vh.get(env, &format!("/v1/cases/{case}/screening"), &t.ic())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["screening"]["outcome"], "veiligheidshuis_case",
        "{}",
        r.body
    );
    for c in ["meervoudige_problematiek", "ketenoverstijgend", "systeem"] {
        assert_eq!(
            r.body["screening"]["criteria"][c]["met"], true,
            "{c}: {}",
            r.body
        );
    }
    // During screening the procesregisseur asks the partners only whether they know the father.
    let r =
        t.vh.lookup(
            env,
            &t.vh.token("procesregisseur", "bevraging"),
            &father_bsn,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["hit"], true, "{}", r.body);
    assert!(
        r.body.get("person").is_none(),
        "a lookup never returns the record"
    );
    // Screening is the Veiligheidshuis's: a partner gets no advice.
    let r = t
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/screening"),
            &prof(&t.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = send(
        env,
        &t.vh,
        Method::POST,
        &format!("/v1/cases/{case}/screening/decision"),
        &t.pr(),
        Some(json!({"decision": "veiligheidshuis_case", "reason": "meervoudige problematiek in het gezin, drie ketens nodig, geen regie"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "mdo");
    let before_lookup = n;
    let got = entries_since(env, before_lookup).await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0]["event"], "screen_case");
    assert_eq!(got[1]["event"], "lookup");
    assert_eq!(got[1]["status"], 200);
    assert_eq!(got[2]["event"], "screen_case");
    assert_eq!(got[2]["status"], 403);
    assert_eq!(got[3]["event"], "screening_decision");
    assert_eq!(got[3]["status"], 200);
    n += 4;

    // --- 3. MDO: exactly the five partners the case needs -----------------------------------
    let oins: Vec<&str> = t.five().iter().map(|(p, _)| p.oin.as_str()).collect();
    let r = send(
        env,
        &t.vh,
        Method::POST,
        &format!("/v1/cases/{case}/invitations"),
        &t.pr(),
        Some(json!({ "oins": oins })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Invited is not yet at the table.
    let r = t.rvdk.read_person(env, &prof(&t.rvdk), &case, &child).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.problem(), "hit-no-hit-only");
    let mut expected = vec![
        ("invite_participants", 200, t.vh.oin.as_str()),
        ("read_person", 403, t.rvdk.oin.as_str()),
    ];
    for (p, _) in t.five() {
        let r = send(
            env,
            p,
            Method::POST,
            &format!("/v1/cases/{case}/invitations/accept"),
            &prof(p),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        expected.push(("accept_invitation", 200, p.oin.as_str()));
    }
    // An outsider cannot join by accepting.
    let r = send(
        env,
        &t.ggz,
        Method::POST,
        &format!("/v1/cases/{case}/invitations/accept"),
        &prof(&t.ggz),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    expected.push(("accept_invitation", 403, t.ggz.oin.as_str()));
    // Eén gezin, één plan, één regisseur: the gemeente directs the case.
    let r = send(
        env,
        &t.vh,
        Method::PUT,
        &format!("/v1/cases/{case}/casusregisseur"),
        &t.pr(),
        Some(json!({"oin": t.gemeente.oin})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    expected.push(("set_casusregisseur", 200, t.vh.oin.as_str()));
    n = expect_log(env, n, &case, &expected).await;

    // --- 4. Information at the table -----------------------------------------------------------
    let r = contribute(
        env,
        &case,
        &t.politie,
        "wpg_politie",
        &father,
        "veiligheid",
        "strafrechtelijk",
        "drie meldingen huiselijk geweld in zes maanden; aangifte door de moeder ingetrokken",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let police_item = r.body["item_id"].as_str().expect("item id").to_string();
    let r = contribute(
        env,
        &case,
        &t.veilig_thuis,
        "wmo_veilig_thuis",
        &father,
        "psychische_gezondheid",
        "bijzonder",
        "vader in behandeling voor trauma; behandelaar maakt zich zorgen over agressie",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let vt_item = r.body["item_id"].as_str().expect("item id").to_string();
    let r = contribute(
        env,
        &case,
        &t.gemeente,
        "gemeente_sociaal_domein",
        &father,
        "wonen",
        "overig",
        "gezin staat ingeschreven op drie adressen in Oss",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gemeente_item = r.body["item_id"].as_str().expect("item id").to_string();
    // An outsider contributes nothing.
    let r = contribute(
        env,
        &case,
        &t.ggz,
        "ggz_toestemming",
        &father,
        "psychische_gezondheid",
        "bijzonder",
        "x",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    n = expect_log(
        env,
        n,
        &case,
        &[
            ("contribute_information", 201, &t.politie.oin),
            ("contribute_information", 201, &t.veilig_thuis.oin),
            ("contribute_information", 201, &t.gemeente.oin),
            ("contribute_information", 403, &t.ggz.oin),
        ],
    )
    .await;

    // Who sees what of the father: each at the table only the categories its type may receive;
    // the Raad (child protection) everything, the gemeente neither the criminal-law item nor the
    // health item (each withheld with a principle), outsiders nothing at all.
    let mut expected = vec![];
    let mut rvdk_saw = vec![];
    for (p, ptype) in t.five() {
        let r = p.read_person(env, &prof(p), &case, &father).await;
        assert_eq!(r.status, StatusCode::OK, "{ptype}: {}", r.body);
        expected.push(("read_person", 200, p.oin.as_str()));
        let may = convenant_categories(ptype);
        for c in item_categories(&r) {
            assert!(may.contains(&c), "{ptype} received {c}: {}", r.body);
        }
        let ids = item_ids(&r);
        // Everyone at the table sees its own contribution.
        for (mine, owner) in [
            (&police_item, &t.politie),
            (&vt_item, &t.veilig_thuis),
            (&gemeente_item, &t.gemeente),
        ] {
            if owner.oin == p.oin {
                assert!(
                    ids.contains(mine),
                    "{ptype} misses its own item: {}",
                    r.body
                );
            }
        }
        let withheld: Vec<String> = r.withheld().into_iter().map(|(f, _)| f).collect();
        match ptype {
            "rvdk" => {
                assert!(
                    ids.contains(&police_item) && ids.contains(&vt_item),
                    "{}",
                    r.body
                );
                assert_eq!(r.body["person"]["naam"], FATHER);
                rvdk_saw = ids.clone();
            }
            "gemeente" => {
                assert!(
                    !ids.contains(&police_item) && !ids.contains(&vt_item),
                    "{}",
                    r.body
                );
                assert!(ids.contains(&gemeente_item), "{}", r.body);
                // Items of categories the gemeente has no ground for are not even listed as
                // withheld (that would tell it they exist); the answer names the categories.
                assert!(
                    !withheld
                        .iter()
                        .any(|f| f.contains(&police_item) || f.contains(&vt_item)),
                    "{withheld:?}"
                );
                assert!(
                    r.body["decision"]["reasons"]
                        .to_string()
                        .contains("has no ground for the categories"),
                    "{}",
                    r.body
                );
                assert!(
                    !r.body.to_string().contains("aangifte"),
                    "withheld content leaked"
                );
            }
            "veilig_thuis" => {
                assert!(
                    ids.contains(&vt_item) && !ids.contains(&police_item),
                    "{}",
                    r.body
                );
            }
            "politie" | "om" => {
                assert!(
                    ids.contains(&police_item) && !ids.contains(&vt_item),
                    "{}",
                    r.body
                );
            }
            _ => unreachable!(),
        }
    }
    for p in t.outsiders() {
        let r = p.read_person(env, &prof(p), &case, &father).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(!r.body.to_string().contains(FATHER));
        expected.push(("read_person", 403, p.oin.as_str()));
    }
    n = expect_log(env, n, &case, &expected).await;

    // --- 5. The plan van aanpak -----------------------------------------------------------------
    let today = chrono::Utc::now().date_naive();
    let due = |days: i64| (today + chrono::Duration::days(days)).to_string();
    let gem = regisseur(&t.gemeente);
    let mut afspraken = vec![];
    for (p, action, days) in [
        (
            &t.veilig_thuis,
            "veiligheidsplan met beide ouders opstellen",
            7,
        ),
        (&t.politie, "toezicht op het tijdelijk huisverbod", 14),
        (
            &t.rvdk,
            "raadsonderzoek naar de veiligheid van de zes kinderen",
            28,
        ),
        (&t.om, "beslissen over vervolging na de meldingen", 42),
        (&t.gemeente, "één woonadres voor het gezin regelen", 60),
    ] {
        let r = send(
            env,
            &t.gemeente,
            Method::POST,
            &format!("/v1/cases/{case}/afspraken"),
            &gem,
            Some(json!({"partner_oin": p.oin, "action": action, "due_date": due(days)})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["phase"], "uitvoering", "the plan is carried out");
        afspraken.push(
            r.body["afspraak"]["id"]
                .as_str()
                .expect("afspraak id")
                .to_string(),
        );
    }
    let [vt_afspraak, politie_afspraak, rvdk_afspraak, om_afspraak, _gemeente_afspraak] =
        <[String; 5]>::try_from(afspraken).expect("five afspraken");
    // Participants see the plan; an outsider does not.
    let r = t
        .rvdk
        .get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&t.rvdk))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["afspraken"].as_array().map(Vec::len),
        Some(5),
        "{}",
        r.body
    );
    let r = t
        .woningcorporatie
        .get(
            env,
            &format!("/v1/cases/{case}/afspraken"),
            &prof(&t.woningcorporatie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Veilig Thuis reports its afspraak stalled; the politie cannot change another's afspraak.
    let r = send(
        env,
        &t.veilig_thuis,
        Method::PATCH,
        &format!("/v1/cases/{case}/afspraken/{vt_afspraak}"),
        &prof(&t.veilig_thuis),
        Some(json!({"status": "gestagneerd", "note": "moeder weigert contact sinds de laatste melding"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["afspraak"]["status"], "gestagneerd");
    let r = send(
        env,
        &t.politie,
        Method::PATCH,
        &format!("/v1/cases/{case}/afspraken/{rvdk_afspraak}"),
        &prof(&t.politie),
        Some(json!({"status": "afgerond"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = send(
        env,
        &t.politie,
        Method::PATCH,
        &format!("/v1/cases/{case}/afspraken/{politie_afspraak}"),
        &prof(&t.politie),
        Some(json!({"status": "lopend", "note": "huisverbod opgelegd, eerste controle gedaan"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut expected = vec![];
    for _ in 0..5 {
        expected.push(("create_afspraak", 201, t.gemeente.oin.as_str()));
    }
    expected.extend([
        ("read_afspraken", 200, t.rvdk.oin.as_str()),
        ("read_afspraken", 403, t.woningcorporatie.oin.as_str()),
        ("update_afspraak", 200, t.veilig_thuis.oin.as_str()),
        ("update_afspraak", 403, t.politie.oin.as_str()),
        ("update_afspraak", 200, t.politie.oin.as_str()),
    ]);
    n = expect_log(env, n, &case, &expected).await;

    // The OM's afspraak runs late: its due date passes without it being done.
    let past = (today - chrono::Duration::days(3)).to_string();
    env.exec(&format!(
        "UPDATE afspraken SET due_date = '{past}' WHERE status = 'open' AND partner_oin = '{}' AND action LIKE 'beslissen over vervolging%'",
        t.om.oin
    ))
    .await;

    // The procesregisseur (and the casusregisseur) see what needs attention: exactly the stalled
    // and the late afspraak. A partner at the table does not get the attention list.
    let r =
        t.vh.get(env, &format!("/v1/cases/{case}/attention"), &t.pr())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let flags = r.body["flags"].as_array().expect("flags").clone();
    let flagged: Vec<&str> = flags
        .iter()
        .filter_map(|f| f["afspraak_id"].as_str())
        .collect();
    assert_eq!(flagged.len(), 2, "{}", r.body);
    assert!(flagged.contains(&vt_afspraak.as_str()), "{}", r.body);
    assert!(flagged.contains(&om_afspraak.as_str()), "{}", r.body);
    let kinds = |id: &str| -> String {
        flags
            .iter()
            .find(|f| f["afspraak_id"] == id)
            .map(|f| f["kinds"].to_string())
            .unwrap_or_default()
    };
    assert!(kinds(&vt_afspraak).contains("gestagneerd"), "{}", r.body);
    assert!(kinds(&om_afspraak).contains("overdue"), "{}", r.body);
    let r = t
        .gemeente
        .get(env, &format!("/v1/cases/{case}/attention"), &gem)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/attention"),
            &prof(&t.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Opschalen: the stalled safety plan moves the case up the AVE ladder; later afschalen.
    let escalate = |level: u8, reason: &str| {
        let body = json!({"level": level, "reason": reason});
        let token = t.pr();
        let path = format!("/v1/cases/{case}/escalation");
        let vh = &t.vh;
        async move {
            vh.send(env, Method::POST, &path, &token, Some(&body), &[])
                .await
        }
    };
    let r = escalate(2, "gezamenlijke aanpak aan de COM-tafel").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = escalate(
        3,
        "veiligheidsplan stagneert; moeder weigert contact, zes kinderen in beeld",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["direction"], "opschalen");
    assert_eq!(r.body["previous_level"], 2);
    n = expect_log(
        env,
        n,
        &case,
        &[
            ("read_attention", 200, &t.vh.oin),
            ("read_attention", 200, &t.gemeente.oin),
            ("read_attention", 403, &t.politie.oin),
            ("escalate_case", 200, &t.vh.oin),
            ("escalate_case", 200, &t.vh.oin),
        ],
    )
    .await;

    // --- 6. A correction, and who must be told (AVG art. 19) -----------------------------------
    let r = send(
        env,
        &t.politie,
        Method::POST,
        &format!("/v1/cases/{case}/information/{police_item}/correction"),
        &prof(&t.politie),
        Some(json!({"content": "twee meldingen huiselijk geweld in zes maanden; aangifte door de moeder ingetrokken", "reason": "een melding betrof een ander adres"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["replaces"], police_item.as_str());
    let corrected = r.body["item_id"].as_str().expect("new item").to_string();
    let told: Vec<&str> = r.body["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .filter_map(|x| x["oin"].as_str())
        .collect();
    // The Raad and the OM received the old version; the gemeente and Veilig Thuis never did,
    // and the politie is the contributor itself.
    assert!(rvdk_saw.contains(&police_item));
    assert!(told.contains(&t.rvdk.oin.as_str()), "{}", r.body);
    assert!(told.contains(&t.om.oin.as_str()), "{}", r.body);
    assert!(!told.contains(&t.gemeente.oin.as_str()), "{}", r.body);
    assert!(!told.contains(&t.veilig_thuis.oin.as_str()), "{}", r.body);
    assert!(!told.contains(&t.politie.oin.as_str()), "{}", r.body);
    // Only the contributor corrects.
    let r = send(
        env,
        &t.rvdk,
        Method::POST,
        &format!("/v1/cases/{case}/information/{vt_item}/correction"),
        &prof(&t.rvdk),
        Some(json!({"content": "x", "reason": "not mine"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t
        .rvdk
        .read_person(env, &prof(&t.rvdk), &case, &father)
        .await;
    let ids = item_ids(&r);
    assert!(
        ids.contains(&corrected) && !ids.contains(&police_item),
        "{}",
        r.body
    );
    n = expect_log(
        env,
        n,
        &case,
        &[
            ("correct_information", 200, &t.politie.oin),
            ("correct_information", 403, &t.rvdk.oin),
            ("read_person", 200, &t.rvdk.oin),
        ],
    )
    .await;

    // --- 7. The OM leaves the table; its access ends at once ------------------------------------
    let r = send(
        env,
        &t.vh,
        Method::DELETE,
        &format!("/v1/cases/{case}/participants/{}", t.om.oin),
        &t.pr(),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t.om.read_person(env, &prof(&t.om), &case, &father).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r =
        t.om.get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&t.om))
            .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Afschalen once the children are safe.
    let r = escalate(
        2,
        "kinderen veilig ondergebracht; reguliere zorg neemt over",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["direction"], "afschalen");
    n = expect_log(
        env,
        n,
        &case,
        &[
            ("remove_participant", 200, &t.vh.oin),
            ("read_person", 403, &t.om.oin),
            ("read_afspraken", 403, &t.om.oin),
            ("escalate_case", 200, &t.vh.oin),
        ],
    )
    .await;

    // --- 8. Closing: sharing ends for everyone, read-back of one's own remains -------------------
    let r = send(
        env,
        &t.gemeente,
        Method::POST,
        &format!("/v1/cases/{case}/close"),
        &gem,
        Some(json!({"outcome": "doelen_bereikt", "reason": "veiligheid van de kinderen geborgd; regie bij het wijkteam"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["phase"], "afgesloten");
    let mut expected = vec![("close_case", 200, t.gemeente.oin.as_str())];
    for (p, _) in t.five() {
        if p.oin == t.om.oin {
            continue;
        }
        let r = p.read_person(env, &prof(p), &case, &father).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        expected.push(("read_person", 403, p.oin.as_str()));
    }
    let r = t
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/contributions"),
            &prof(&t.politie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let own: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(
        own,
        vec![corrected.as_str()],
        "only the politie's current item: {}",
        r.body
    );
    expected.push(("read_own_contributions", 200, t.politie.oin.as_str()));
    let r = t
        .veilig_thuis
        .get(
            env,
            &format!("/v1/cases/{case}/registration"),
            &prof(&t.veilig_thuis),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    expected.push(("read_registration", 200, t.veilig_thuis.oin.as_str()));
    let r = t
        .rvdk
        .get(env, &format!("/v1/cases/{case}/afspraken"), &prof(&t.rvdk))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    expected.push(("read_afspraken", 403, t.rvdk.oin.as_str()));
    n = expect_log(env, n, &case, &expected).await;
    // A closed case is no longer a hit.
    let r = t
        .politie
        .lookup(
            env,
            &t.politie.token("professional", "bevraging"),
            &father_bsn,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["hit"], false, "{}", r.body);
    n += 1;

    // --- 9. Destruction after the retention period ----------------------------------------------
    let gw = env.gateway();
    let now = chrono::Utc::now();
    let case_id: vhgate::domain::CaseId = case.parse().expect("case id");
    let early = vhgate::casework::destroy_expired(&gw, now + chrono::Duration::days(700))
        .await
        .expect("retention run");
    assert!(!early.contains(&case_id));
    let destroyed = vhgate::casework::destroy_expired(&gw, now + chrono::Duration::days(731))
        .await
        .expect("retention run");
    assert!(destroyed.contains(&case_id), "{destroyed:?}");
    let got = entries_since(env, n).await;
    let ours: Vec<&Value> = got
        .iter()
        .filter(|e| e["case_id"] == case.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "one destruction entry: {got:?}");
    assert_eq!(ours[0]["event"], "case_destroyed");
    let record = env.record();
    for (person, _) in &persons {
        let id: vhgate::domain::PersonId = person.parse().expect("person id");
        assert!(record
            .person_in_case(case_id, id)
            .await
            .expect("read")
            .is_none());
    }
    let r = t
        .politie
        .get(
            env,
            &format!("/v1/cases/{case}/contributions"),
            &prof(&t.politie),
        )
        .await;
    assert!(
        r.body["items"].as_array().is_none_or(Vec::is_empty),
        "nothing is left after destruction: {}",
        r.body
    );

    // The whole story is in the log, without a BSN or a name of the family, and it verifies.
    for e in entries_since(env, start).await {
        let s = e.to_string();
        for secret in [father_bsn.as_str(), mother_bsn.as_str(), FATHER, MOTHER]
            .into_iter()
            .chain(CHILDREN)
        {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(!s.contains("aangifte"), "item content in {s}");
        assert!(!s.contains("moeder weigert"), "monitoring note in {s}");
    }
    env.assert_log_intact().await;
}
