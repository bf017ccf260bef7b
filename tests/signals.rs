//! Signalling (`GET /v1/signals`): aggregate figures per region and ended calendar period for
//! Veiligheidshuis staff with purpose signalering; no count below the threshold ever appears,
//! whatever granularity or window is asked; everyone else gets 403.

mod common;

use common::Env;
use reqwest::StatusCode;
use serde_json::Value;
use vhgate::domain::{CaseKind, Category, Leefgebied, Oin, Phase};
use vhgate::record::{NewCase, NewItem, NewPerson};

on_both_backends!(
    small_cells_never_show,
    only_signalling_staff_may_read_signals
);

const REGION: &str = "signaaltest";
const K: u64 = 5;

/// March 2025 in region `signaaltest`: 7 persoon and 2 systeem cases (9 in all); 3 with a
/// verslaving item; politie at every table, ggz at 2; 6 with a plan. April: one gebied case.
async fn seed(env: &Env) {
    let record = env.record();
    let oin = |name: &str| -> Oin { env.client(name).oin.parse().expect("oin") };
    let (politie, ggz, vh) = (oin("politie"), oin("ggz"), oin("veiligheidshuis"));
    let mut tx = record.db().begin().await.expect("begin");
    for i in 0..10 {
        let kind = match i {
            0..=6 => CaseKind::Persoon,
            7 | 8 => CaseKind::Systeem,
            _ => CaseKind::Gebied,
        };
        let case = record
            .insert_case(
                &mut tx,
                &NewCase {
                    kind,
                    phase: if i < 8 { Phase::Mdo } else { Phase::Screening },
                    region: REGION.into(),
                    title: format!("signaaltest {i}"),
                    registered_by: vh.clone(),
                    casusregisseur: None,
                },
            )
            .await
            .expect("case");
        let person = record
            .insert_person(
                &mut tx,
                &NewPerson {
                    naam: format!("Persoon {i}"),
                    geboortedatum: None,
                    adres: None,
                    bsn: None,
                },
            )
            .await
            .expect("person");
        record
            .add_case_person(&mut tx, case, person, "betrokkene")
            .await
            .expect("case person");
        let now = vhgate::record::now();
        record
            .add_participant(&mut tx, case, &politie, now)
            .await
            .expect("participant");
        if i < 2 {
            record
                .add_participant(&mut tx, case, &ggz, now)
                .await
                .expect("ggz");
        }
        let leefgebied = if i < 3 {
            Leefgebied::Verslaving
        } else {
            Leefgebied::Wonen
        };
        record
            .add_item(
                &mut tx,
                &NewItem {
                    case_id: case,
                    person_id: person,
                    leefgebied,
                    category: Category::Overig,
                    content: "signaaltest".into(),
                    contributed_by: politie.clone(),
                    recorded_at: now,
                },
            )
            .await
            .expect("item");
        if i < 6 {
            let due = now.date_naive() + chrono::Duration::days(30);
            record
                .add_afspraak(&mut tx, case, &politie, "huisbezoek", due, "open")
                .await
                .expect("afspraak");
        }
    }
    tx.commit().await.expect("commit");
    // Backdate: the open period is never published.
    env.exec(&format!(
        "UPDATE cases SET created_at = '2025-03-10T10:00:00+00:00' WHERE region = '{REGION}' AND kind <> 'gebied'"
    ))
    .await;
    env.exec(&format!(
        "UPDATE cases SET created_at = '2025-04-10T10:00:00+00:00' WHERE region = '{REGION}' AND kind = 'gebied'"
    ))
    .await;
    env.exec(&format!(
        "UPDATE afspraken SET created_at = '2025-03-24T10:00:00+00:00' WHERE case_id IN (SELECT id FROM cases WHERE region = '{REGION}')"
    ))
    .await;
}

/// Every number under a `count` key, and checks each cell is `{count: n}` with n >= k and a
/// multiple of k, or `{count: null, suppressed: true}`.
fn check_cells(v: &Value, path: &str, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            if let Some(count) = m.get("count") {
                match count {
                    Value::Number(n) => {
                        let n = n.as_u64().expect("count is a whole number");
                        assert!(n >= K && n % K == 0, "{path}: count {n}");
                        assert!(m.get("suppressed").is_none(), "{path}");
                        out.push(n);
                    }
                    Value::Null => assert_eq!(m["suppressed"], true, "{path}"),
                    other => panic!("{path}: count {other}"),
                }
            }
            for (k, x) in m {
                check_cells(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_cells(x, &format!("{path}[{i}]"), out);
            }
        }
        // No bare numbers other than the metadata and medians.
        _ => {}
    }
}

fn period<'a>(body: &'a Value, region: &str, label: &str) -> &'a Value {
    body["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["region"] == region)
        .and_then(|r| {
            r["periods"]
                .as_array()
                .expect("periods")
                .iter()
                .find(|p| p["period"] == label)
        })
        .unwrap_or_else(|| panic!("no {region} {label} in {body}"))
}

async fn small_cells_never_show(env: &Env) {
    seed(env).await;
    let vh = env.client("veiligheidshuis");
    let token = vh.token("procesregisseur", "signalering");
    let mut bodies = Vec::new();
    for query in [
        "period=month&from=2025-01&until=2025-07",
        "period=quarter&from=2025-01-01&until=2025-07-01",
        "period=year&from=2025-01-01&until=2026-01-01",
        "period=month&from=2025-02-15&until=2025-04-15",
        "period=month",
    ] {
        let r = vh
            .get(env, &format!("/v1/signals?region={REGION}&{query}"), &token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        let mut counts = Vec::new();
        check_cells(&r.body, query, &mut counts);
        assert_eq!(r.body["min_cell"], K);
        bodies.push(r.body);
    }
    let months = &bodies[0];
    let march = period(months, REGION, "2025-03");
    // 9 cases: rounded (with a key the reader does not know) to 5 or 10, never shown as 9.
    let n = march["cases"]["count"].as_u64().expect("march shown");
    assert!(n == 5 || n == 10, "{n}");
    // The empty months before are suppressed, whatever the rounding.
    assert_eq!(
        period(months, REGION, "2025-01")["cases"]["suppressed"],
        true
    );
    assert_eq!(
        period(months, REGION, "2025-02")["cases"]["suppressed"],
        true
    );
    let q1 = period(&bodies[1], REGION, "2025-Q1");
    let year = period(&bodies[2], REGION, "2025");
    // A quarter is exactly the sum of its published months (January and February add 0),
    // so subtracting one granularity from another reveals nothing new.
    assert_eq!(q1["cases"]["count"], march["cases"]["count"]);
    assert_eq!(
        year["cases"]["count"], 10,
        "10 cases in 2025: a multiple stays"
    );
    // Asking again gives exactly the same figures: no second sample to average.
    let again = vh
        .get(
            env,
            &format!("/v1/signals?region={REGION}&period=month&from=2025-01&until=2025-07"),
            &token,
        )
        .await;
    assert_eq!(&again.body, months);
    // The window is snapped to whole months: mid-February to mid-April = Feb, Mar, Apr.
    let labels: Vec<&str> = bodies[3]["regions"][0]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2025-02", "2025-03", "2025-04"]);

    // Without a region: every region with cases (the demo's oost-brabant too), same rules.
    let r = vh
        .get(env, "/v1/signals?period=quarter&from=2025-01", &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut counts = Vec::new();
    check_cells(&r.body, "all", &mut counts);
    let regions: Vec<&str> = r.body["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert!(regions.contains(&REGION) && regions.contains(&"oost-brabant"));
    // No identifiers anywhere: no case titles or ids.
    assert!(!r.body.to_string().contains("signaaltest "));

    // Bad queries are problems, not panics.
    for bad in [
        "period=week",
        "region=Oost%20Brabant",
        "from=gisteren",
        "limit=5",
        "from=1999-01",
        "from=2030-01",
    ] {
        let r = vh.get(env, &format!("/v1/signals?{bad}"), &token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.problem(), "invalid-query", "{bad}");
    }
}

async fn only_signalling_staff_may_read_signals(env: &Env) {
    let vh = env.client("veiligheidshuis");
    for role in [
        "procesregisseur",
        "informatiecoordinator",
        "convenant_administrator",
    ] {
        let r = vh
            .get(
                env,
                "/v1/signals?period=year",
                &vh.token(role, "signalering"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{role}: {}", r.body);
    }
    let politie = env.client("politie");
    for (who, token) in [
        (&vh, vh.token("procesregisseur", "procesregie")),
        (&vh, vh.token("privacy_officer", "toezicht")),
        (&vh, vh.token("convenant_administrator", "beheer")),
        (&politie, politie.token("professional", "casusoverleg")),
        (&politie, politie.token("casusregisseur", "nazorg")),
    ] {
        let r = who.get(env, "/v1/signals?period=year", &token).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.problem(), "forbidden");
        assert!(r.body.get("regions").is_none());
    }
    // A partner asking for the purpose anyway: the role is not open to it.
    let r = politie
        .get(
            env,
            "/v1/signals?period=year",
            &politie.token("professional", "signalering"),
        )
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::UNAUTHORIZED,
        "{}",
        r.status
    );
    assert!(r.body.get("regions").is_none());
}
