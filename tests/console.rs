//! The privacy officers' console over the real server and a real mTLS client, on SQLite and
//! PostgreSQL: sign-in exchanges a privacy_officer token for a session cookie bound to the
//! certificate, every form needs its CSRF token, every page of entries is itself logged, and
//! professionals, other certificates and bad tokens get no console.

mod common;

use common::{pki, Env, Partner};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    an_officer_signs_in_searches_and_signs_out,
    the_console_refuses_professionals_bad_tokens_and_forged_forms,
    a_partners_officer_sees_only_its_own_organisations_entries,
    the_overview_and_a_full_verification_from_the_browser,
    an_access_report_in_plain_dutch_and_as_pdf,
);

/// A browser-like client: the partner's certificate, no redirects followed, cookies by hand.
struct Browser {
    http: reqwest::Client,
    base: String,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    /// A form post whose answer may be binary (the PDF).
    async fn post_bytes(
        &self,
        path: &str,
        cookies: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Vec<u8>) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(COOKIE, cookies)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, r.bytes().await.expect("body").to_vec())
    }

    fn new(env: &Env, partner: &str) -> Browser {
        let pki = pki();
        let cert = std::fs::read_to_string(pki.layout.partner_cert(partner)).expect("cert");
        let key = std::fs::read_to_string(pki.layout.partner_key(partner)).expect("key");
        Browser {
            http: common::mtls_client_builder(env.addr, &cert, &key)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: env.url(""),
        }
    }

    async fn page(r: reqwest::Response) -> Page {
        Page {
            status: r.status(),
            location: r
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            set_cookies: r
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
            body: r.text().await.expect("body"),
        }
    }

    async fn get(&self, path: &str, cookies: &str) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if !cookies.is_empty() {
            req = req.header(COOKIE, cookies);
        }
        Self::page(req.send().await.expect("request")).await
    }

    async fn post(&self, path: &str, cookies: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if !cookies.is_empty() {
            req = req.header(COOKIE, cookies);
        }
        Self::page(req.send().await.expect("request")).await
    }
}

impl Page {
    /// `name=value` of a cookie this answer set.
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').expect("end of value")].to_string()
    }
}

/// Signs `who` in with `token`: the form, then the post. Returns the answer to the post and
/// the login cookie it was sent with.
async fn sign_in(browser: &Browser, token: &str) -> Page {
    let form = browser.get("/console/aanmelden", "").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let login = form.cookie("vhgate_console_login").expect("login cookie");
    browser
        .post(
            "/console/aanmelden",
            &login,
            &[("csrf", &form.csrf()), ("token", token)],
        )
        .await
}

fn officer_token(vh: &Partner) -> String {
    vh.token("privacy_officer", "toezicht")
}

/// The one entry since `before` is a logged refusal of the request, with this problem type.
async fn assert_refused(env: &Env, before: i64, problem: &str) {
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["event"], "request_refused", "{}", e[0]);
    assert_eq!(e[0]["problem_type"], problem, "{}", e[0]);
}

async fn entries_since(env: &Env, before: i64) -> Vec<Value> {
    let rows = vhgate::disclosure::store::rows_after(&env.db, before, 1000)
        .await
        .expect("rows");
    rows.iter()
        .map(|r| serde_json::from_str(&r.entry).expect("entry json"))
        .collect()
}

async fn an_officer_signs_in_searches_and_signs_out(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let browser = Browser::new(env, "veiligheidshuis");

    // Something to find: a read of the Uden man by the police.
    let politie = env.client("politie");
    let read = politie
        .read_person(
            env,
            &politie.token("professional", "casusoverleg"),
            env.ids.uden_case,
            env.ids.uden_man,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);

    let before = env.log_count().await;
    let signed_in = sign_in(&browser, &officer_token(&vh)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location.as_deref(), Some("/console/overzicht"));
    let raw = signed_in
        .set_cookies
        .iter()
        .find(|c| c.starts_with("vhgate_console="))
        .expect("session cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(raw.contains(attr), "{raw} lacks {attr}");
    }
    let session = signed_in.cookie("vhgate_console").expect("session");
    let entries = entries_since(env, before).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["event"], "console_session");
    assert_eq!(entries[0]["requester"]["oin"], vh.oin.as_str());
    assert!(!entries[0].to_string().contains(&officer_token(&vh)[..40]));

    // The table, newest first, Dutch, itself logged with its filter.
    let before = env.log_count().await;
    let list = browser.get("/console/verstrekkingen", &session).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.starts_with("<!DOCTYPE html><html lang=\"nl\">"));
    assert!(list.body.contains("<h1>Verstrekkingen</h1>"));
    assert!(list.body.contains("read_person"));
    assert!(list.body.contains("politie-medewerker-7"));
    assert!(list.body.contains("Afmelden"));
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "review_log");

    let before = env.log_count().await;
    let filtered = browser
        .get(
            &format!(
                "/console/verstrekkingen?partner={}&uitkomst=allowed",
                politie.oin
            ),
            &session,
        )
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    let e = entries_since(env, before).await;
    let reasons = e[0]["reasons"].to_string();
    assert!(
        reasons.contains(&format!("partner: {}", politie.oin)),
        "{reasons}"
    );
    assert!(reasons.contains("outcome: allowed"), "{reasons}");

    // An entry's page: per field what left and what was withheld, and its inclusion proof
    // checked now against the newest signed checkpoint; the view is logged.
    let read_id = read.body["decision"]["decision_id"].as_str().expect("id");
    assert!(list
        .body
        .contains(&format!("/console/verstrekkingen/{read_id}")));
    let before = env.log_count().await;
    let entry = browser
        .get(&format!("/console/verstrekkingen/{read_id}"), &session)
        .await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.body);
    for text in [
        "<h1>Verstrekking</h1>",
        "politie-medewerker-7",
        "casusoverleg",
        "Beleidsversie",
        "Handtekening van het checkpoint: <strong>✓ geldig",
        "klopt: deze vermelding staat in het logboek",
    ] {
        assert!(entry.body.contains(text), "{text}: {}", entry.body);
    }
    for (field, principle) in read.withheld() {
        assert!(
            entry.body.contains(&field) && entry.body.contains(&principle),
            "{field}"
        );
    }
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "review_log");
    assert!(e[0]["reasons"]
        .to_string()
        .contains(&format!("entry: {read_id}")));
    let missing = browser
        .get(
            &format!("/console/verstrekkingen/{}", uuid::Uuid::new_v4()),
            &session,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Niet gevonden"));

    // A bad filter is a clear Dutch message; nothing is read, the refusal is logged.
    let before = env.log_count().await;
    let bad = browser
        .get("/console/verstrekkingen?van=gisteren", &session)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("van: geen geldige datum"), "{}", bad.body);
    assert_refused(env, before, "invalid-query").await;

    // Search by BSN (in the form body, never the URL); the entry names the pseudonym only.
    let csrf = list.csrf();
    let before = env.log_count().await;
    let found = browser
        .post(
            "/console/verstrekkingen/zoeken",
            &session,
            &[("csrf", &csrf), ("bsn", env.ids.uden_man_bsn)],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains("read_person"), "{}", found.body);
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "review_log");
    assert!(e[0]["subject"]["pseudonym"].is_string());
    assert!(!e[0].to_string().contains(env.ids.uden_man_bsn));

    let invalid = browser
        .post(
            "/console/verstrekkingen/zoeken",
            &session,
            &[("csrf", &csrf), ("bsn", "123456789")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("elfproef"));

    // The cookie is bound to the certificate that signed in.
    let other = Browser::new(env, "politie");
    let stolen = other.get("/console/verstrekkingen", &session).await;
    assert_eq!(stolen.status, StatusCode::SEE_OTHER);
    assert_eq!(stolen.location.as_deref(), Some("/console/aanmelden"));

    // Sign-out needs the CSRF token, ends the session everywhere and is logged.
    let forged = browser.post("/console/afmelden", &session, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let before = env.log_count().await;
    let out = browser
        .post("/console/afmelden", &session, &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out
        .set_cookies
        .iter()
        .any(|c| c.starts_with("vhgate_console=;") && c.contains("Max-Age=0")));
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "console_session");
    assert!(e[0]["reasons"].to_string().contains("signed out"));
    let after = browser.get("/console/verstrekkingen", &session).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location.as_deref(), Some("/console/aanmelden"));
    env.assert_log_intact().await;
}

async fn the_console_refuses_professionals_bad_tokens_and_forged_forms(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let politie = env.client("politie");

    // Not signed in: to the sign-in page.
    let browser = Browser::new(env, "politie");
    let r = browser.get("/console/verstrekkingen", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/console/aanmelden"));

    // A professional's token gets no console (403, the refusal logged).
    let before = env.log_count().await;
    let r = sign_in(&browser, &politie.token("professional", "casusoverleg")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("Geen toegang"));
    assert!(r.cookie("vhgate_console").is_none());
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["event"], "access_refused");

    // Veiligheidshuis staff without the privacy officer's role: refused too.
    let vh_browser = Browser::new(env, "veiligheidshuis");
    let r = sign_in(&vh_browser, &vh.token("procesregisseur", "procesregie")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A garbage token, and an officer's token over another certificate (cnf): 401, logged.
    let before = env.log_count().await;
    let r = sign_in(&vh_browser, "not.a.token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("Niet aangemeld"));
    let r = sign_in(&browser, &officer_token(&vh)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e.iter().all(|e| e["event"] == "auth_failure"));

    // A sign-in post without the form's own CSRF cookie (a cross-site post): refused, and the
    // token is not even looked at; the refusal is logged.
    let before = env.log_count().await;
    let r = vh_browser
        .post(
            "/console/aanmelden",
            "",
            &[("csrf", "x"), ("token", &officer_token(&vh))],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Geen toegang") || r.body.contains("Er ging iets mis"));
    assert_refused(env, before, "csrf").await;

    // A search post with a wrong CSRF token is refused while signed in.
    let signed_in = sign_in(&vh_browser, &officer_token(&vh)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let session = signed_in.cookie("vhgate_console").expect("session");
    let before = env.log_count().await;
    let r = vh_browser
        .post(
            "/console/verstrekkingen/zoeken",
            &session,
            &[("csrf", "wrong"), ("bsn", env.ids.uden_man_bsn)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing read: the only entry is the refusal.
    assert_refused(env, before, "csrf").await;
    env.assert_log_intact().await;
}

/// The `entries` of `GET /v1/disclosures` as the officer of `partner` sees them.
async fn api_entries(env: &Env, officer: &Partner, query: &str) -> Vec<Value> {
    let r = officer
        .get(
            env,
            &format!("/v1/disclosures?limit=1000{query}"),
            &officer_token(officer),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["entries"].as_array().expect("entries").clone()
}

/// A partner's privacy officer sees the requests its organisation made and the disclosures of
/// data it contributed, nothing else: not in the API, not in the console, not by editing a
/// filter; the parts of the log that are for the Veiligheidshuis's officer are refused.
async fn a_partners_officer_sees_only_its_own_organisations_entries(env: &Env) {
    let (politie, gemeente, ggz, om) = (
        env.client("politie"),
        env.client("gemeente"),
        env.client("ggz"),
        env.client("om"),
    );
    let (case, man) = (env.ids.uden_case, env.ids.uden_man);
    // The gemeente registered the Uden case, so a read of the man's registered data discloses
    // data it supplied; the OM is not at that table (its refusal is its own).
    let read = politie
        .read_person(
            env,
            &politie.token("professional", "casusoverleg"),
            case,
            man,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let read_id = read.body["decision"]["decision_id"]
        .as_str()
        .expect("id")
        .to_string();
    let refused = om
        .read_person(env, &om.token("professional", "casusoverleg"), case, man)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let refused_id = refused.body["disclosure_id"]
        .as_str()
        .expect("id")
        .to_string();

    // The log names the gemeente as a source of the read.
    let all = api_entries(env, &env.client("veiligheidshuis"), "").await;
    let entry = all
        .iter()
        .find(|e| e["id"] == read_id.as_str())
        .expect("read entry");
    assert!(
        entry["sources"]
            .as_array()
            .expect("sources")
            .contains(&Value::from(gemeente.oin.as_str())),
        "{entry}"
    );
    assert!(all.iter().any(|e| e["id"] == refused_id.as_str()));

    let ids = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    };
    let mine = |entries: &[Value], oin: &str| {
        entries.iter().all(|e| {
            e["requester"]["oin"] == oin
                || e["sources"]
                    .as_array()
                    .is_some_and(|s| s.contains(&Value::from(oin)))
        })
    };

    // The gemeente's officer: the politie's read (its data left), never the OM's refusal.
    let seen = api_entries(env, &gemeente, "").await;
    assert!(ids(&seen).contains(&read_id));
    assert!(!ids(&seen).contains(&refused_id));
    assert!(mine(&seen, &gemeente.oin), "{seen:?}");
    // Asking for the OM's entries by filter gives nothing more.
    let edited = api_entries(env, &gemeente, &format!("&partner={}", om.oin)).await;
    assert!(edited.is_empty(), "{edited:?}");

    // The GGZ's officer: neither (nothing of the GGZ left, the GGZ asked nothing).
    let seen = api_entries(env, &ggz, "").await;
    assert!(!ids(&seen).contains(&read_id));
    assert!(!ids(&seen).contains(&refused_id));
    assert!(mine(&seen, &ggz.oin), "{seen:?}");

    // The OM's officer: its own refusal.
    let seen = api_entries(env, &om, "").await;
    assert!(ids(&seen).contains(&refused_id));
    assert!(mine(&seen, &om.oin), "{seen:?}");

    // A search by BSN and the access report stay inside the scope too.
    let r = ggz
        .send(
            env,
            reqwest::Method::POST,
            "/v1/disclosures/search",
            &officer_token(&ggz),
            Some(&serde_json::json!({ "bsn": env.ids.uden_man_bsn })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        mine(r.body["entries"].as_array().expect("entries"), &ggz.oin),
        "{}",
        r.body
    );
    let r = ggz
        .send(
            env,
            reqwest::Method::POST,
            "/v1/subjects/access-report",
            &officer_token(&ggz),
            Some(&serde_json::json!({ "bsn": env.ids.uden_man_bsn })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["disclosures"]
            .as_array()
            .expect("lines")
            .iter()
            .all(|l| l["oin"] == ggz.oin.as_str()),
        "{}",
        r.body
    );

    // What is for the Veiligheidshuis's officer only: refused and logged, or a plain 404.
    for path in ["/v1/log/entries?start=0&end=10", "/v1/spoed-reviews"] {
        let before = env.log_count().await;
        let r = ggz.get(env, path, &officer_token(&ggz)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        let e = entries_since(env, before).await;
        assert_eq!(
            e.last().map(|e| e["event"].clone()),
            Some(Value::from("access_refused"))
        );
    }
    let r = ggz
        .get(
            env,
            &format!("/v1/log/receipts/{read_id}"),
            &officer_token(&ggz),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The console shows the same scope: the gemeente's officer sees the politie read, the
    // GGZ's officer does not, and a filter on another partner shows nothing.
    let browser = Browser::new(env, "gemeente");
    let signed_in = sign_in(&browser, &officer_token(&gemeente)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let session = signed_in.cookie("vhgate_console").expect("session");
    let page = browser.get("/console/verstrekkingen", &session).await;
    assert!(page.body.contains("politie-medewerker-7"), "{}", page.body);
    assert!(!page.body.contains("om-medewerker-7"), "{}", page.body);
    let page = browser
        .get(
            &format!("/console/verstrekkingen?partner={}", om.oin),
            &session,
        )
        .await;
    assert!(
        page.body.contains("Geen verstrekkingen gevonden"),
        "{}",
        page.body
    );
    // Exports hold the same scope: CSV, JSON and the LDV records, one logged review each.
    let before = env.log_count().await;
    let csv = browser
        .get("/console/verstrekkingen/export?formaat=csv", &session)
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.body.starts_with("tijdstip,gebeurtenis,uitkomst"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(&read_id), "{}", csv.body);
    assert!(!csv.body.contains(&refused_id), "{}", csv.body);
    assert!(!csv.body.contains("om-medewerker-7"));
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0]["reasons"].to_string().contains("export: csv"));
    let json = browser
        .get(
            &format!(
                "/console/verstrekkingen/export?formaat=json&partner={}",
                om.oin
            ),
            &session,
        )
        .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let parsed: Value = serde_json::from_str(&json.body).expect("json export");
    assert_eq!(
        parsed,
        serde_json::json!([]),
        "another partner's entries are not exported"
    );
    let ldv = browser
        .get("/console/verstrekkingen/export?formaat=ldv", &session)
        .await;
    assert_eq!(ldv.status, StatusCode::OK);
    assert!(ldv.body.lines().count() >= 1);
    assert!(ldv
        .body
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    let page = browser
        .get(&format!("/console/verstrekkingen/{read_id}"), &session)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let browser = Browser::new(env, "ggz");
    let signed_in = sign_in(&browser, &officer_token(&ggz)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");
    let page = browser.get("/console/verstrekkingen", &session).await;
    assert!(!page.body.contains("politie-medewerker-7"), "{}", page.body);
    // Editing the URL to another organisation's entry: not found, and the attempt is logged.
    let before = env.log_count().await;
    let page = browser
        .get(&format!("/console/verstrekkingen/{read_id}"), &session)
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.body.contains("politie-medewerker-7"));
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "access_refused");
    env.assert_log_intact().await;
}

/// The overview (figures and a server-drawn chart, the log's integrity at a glance) and a full
/// verification started from the console, followed until it finishes.
async fn the_overview_and_a_full_verification_from_the_browser(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    for _ in 0..3 {
        let r = politie
            .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let browser = Browser::new(env, "veiligheidshuis");
    let signed_in = sign_in(&browser, &officer_token(&vh)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");

    let before = env.log_count().await;
    let page = browser.get("/console/overzicht", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "<h1>Overzicht</h1>",
        "<svg",
        "Verzoeken per dag",
        "Meest vragende partners",
        "Politie",
        "casusoverleg",
        "Open signalen",
        "Nieuwste checkpoint",
        "Laatste volledige controle: nog nooit",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["event"], "review_log");
    assert!(e[0]["reasons"].to_string().contains("overview"));

    // The daily counts the writer keeps agree with the entries themselves.
    let today = chrono::Utc::now().date_naive();
    let since = today - chrono::Duration::days(29);
    let daily = vhgate::disclosure::stats::overview(&env.db, since, today, None)
        .await
        .expect("overview");
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, 100_000)
        .await
        .expect("rows");
    let counted = rows
        .iter()
        .filter(|r| r.recorded_at.date_naive() >= since)
        .filter_map(|r| serde_json::from_str::<vhgate::disclosure::LogEntry>(&r.entry).ok())
        .filter(|e| vhgate::disclosure::stats::is_partner_request(e.entry.event))
        .count();
    assert_eq!(daily.total() as usize, counted);
    assert!(counted >= 3);

    // A full verification, started with the form's CSRF token, followed to its end.
    let page = browser.get("/console/integriteit", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Volledige controle starten"),
        "{}",
        page.body
    );
    let forged = browser
        .post(
            "/console/integriteit/controle",
            &session,
            &[("csrf", "nee")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let started = browser
        .post(
            "/console/integriteit/controle",
            &session,
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert_eq!(started.location.as_deref(), Some("/console/integriteit"));
    let mut done = None;
    for _ in 0..200 {
        let page = browser.get("/console/integriteit", &session).await;
        assert_eq!(page.status, StatusCode::OK);
        if page.body.contains("Controle loopt") {
            assert!(page.body.contains("<meta http-equiv=\"refresh\""));
            assert!(page.body.contains("<progress"));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        done = Some(page);
        break;
    }
    let done = done.expect("the verification finished");
    assert!(done.body.contains("✓ intact"), "{}", done.body);
    assert!(
        done.body.contains("signatures checked with the log"),
        "{}",
        done.body
    );
    assert!(done.body.contains("<h2>Checkpoints</h2>"));
    let page = browser.get("/console/overzicht", &session).await;
    assert!(page.body.contains("✓ intact"), "{}", page.body);

    // A partner's officer: its own figures, no break-glass card.
    let browser = Browser::new(env, "politie");
    let signed_in = sign_in(&browser, &officer_token(&politie)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");
    let page = browser.get("/console/overzicht", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("de verzoeken van uw organisatie"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Open signalen"));
    env.assert_log_intact().await;
}

/// The data subject's access report: plain Dutch for the citizen (who received what, why, on
/// which ground, from which source, how long it is kept, the citizen's rights), printable, and
/// as a PDF printed by headless Chromium. Drawing it up is logged; a bad BSN is refused.
async fn an_access_report_in_plain_dutch_and_as_pdf(env: &Env) {
    let vh = env.client("veiligheidshuis");
    let politie = env.client("politie");
    let read = politie
        .read_person(
            env,
            &politie.token("professional", "casusoverleg"),
            env.ids.uden_case,
            env.ids.uden_man,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let browser = Browser::new(env, "veiligheidshuis");
    let signed_in = sign_in(&browser, &officer_token(&vh)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");
    let form = browser.get("/console/inzageverzoek", &session).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf();

    let before = env.log_count().await;
    let page = browser
        .post(
            "/console/inzageverzoek",
            &session,
            &[
                ("csrf", &csrf),
                ("bsn", env.ids.uden_man_bsn),
                ("vorm", "html"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "Inzage in de verstrekking van uw gegevens",
        "Politie",
        "om samen met andere organisaties een plan van aanpak te maken",
        "Op grond van",
        "Afkomstig van",
        "eindigt op 019",
        "2 jaar",
        "Autoriteit Persoonsgegevens",
        "artikel 15",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(
        !page.body.contains(env.ids.uden_man_bsn),
        "the full BSN is not printed"
    );
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["event"], "access_report");

    // A bad BSN: a clear message, the refusal logged, no report.
    let before = env.log_count().await;
    let bad = browser
        .post(
            "/console/inzageverzoek",
            &session,
            &[("csrf", &csrf), ("bsn", "123456789"), ("vorm", "html")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("elfproef"), "{}", bad.body);
    assert_refused(env, before, "invalid-bsn").await;

    // The PDF, printed by a real engine.
    let has_chromium = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_chromium && !common::in_ci() {
        eprintln!("SKIPPED (PDF): no chromium on PATH");
        return;
    }
    let (status, kind, pdf) = browser
        .post_bytes(
            "/console/inzageverzoek",
            &session,
            &[
                ("csrf", &csrf),
                ("bsn", env.ids.uden_man_bsn),
                ("vorm", "pdf"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(kind, "application/pdf");
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    assert!(pdf.len() > 5_000, "{} bytes", pdf.len());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join(format!("inzageverzoek-{:?}.pdf", env.backend)),
        &pdf,
    )
    .expect("write");
    env.assert_log_intact().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_signals_are_raised_and_reviewed() {
    signals_are_raised_and_reviewed(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_signals_are_raised_and_reviewed() {
    signals_are_raised_and_reviewed(common::Backend::Postgres).await;
}

/// Anomaly signals from the log (low thresholds from the configuration): an employee looking
/// up several persons, an employee refused twice in a row. The officer marks one reviewed with a
/// note (logged without the note; a second review is a logged conflict); a partner's officer sees
/// only its own organisation's signals.
async fn signals_are_raised_and_reviewed(backend: common::Backend) {
    let Some(env) = Env::start_with(backend, |c| {
        c.console.snoop_persons = 2;
        c.console.refusal_run = 2;
    })
    .await
    else {
        return;
    };
    signals_scenario(&env).await;
    env.stop().await;
}

async fn signals_scenario(env: &Env) {
    let woning = env.client("woningcorporatie");
    let token = woning.token("professional", "bevraging");
    for bsn in [
        env.ids.uden_man_bsn,
        env.ids.oss_youth_bsn,
        env.ids.unknown_bsn,
    ] {
        let r = woning.lookup(env, &token, bsn).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let om = env.client("om");
    for _ in 0..2 {
        let r = om
            .read_person(
                env,
                &om.token("professional", "casusoverleg"),
                env.ids.uden_case,
                env.ids.uden_man,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }

    let vh = env.client("veiligheidshuis");
    let browser = Browser::new(env, "veiligheidshuis");
    let signed_in = sign_in(&browser, &officer_token(&vh)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");
    let page = browser.get("/console/signalen", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("(snuffelen)"), "{}", page.body);
    assert!(
        page.body.contains("woningcorporatie-medewerker-7"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Veel weigeringen achter elkaar"),
        "{}",
        page.body
    );
    assert!(page.body.contains("om-medewerker-7"), "{}", page.body);

    let key_at = page
        .body
        .find("name=\"signaal\" value=\"snuffelen:")
        .expect("a snuffelen form");
    let rest = &page.body[key_at + "name=\"signaal\" value=\"".len()..];
    let key = rest[..rest.find('"').expect("end")].to_string();
    let note = "Besproken met de teamleider: adresonderzoek voor urgentieaanvraag";
    let before = env.log_count().await;
    let done = browser
        .post(
            "/console/signalen/beoordeling",
            &session,
            &[("csrf", &page.csrf()), ("signaal", &key), ("notitie", note)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let e = entries_since(env, before).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["event"], "signal_reviewed");
    assert!(e[0]["reasons"].to_string().contains(&key));
    assert!(
        !e[0].to_string().contains("teamleider"),
        "the note stays out of the log"
    );
    let page = browser.get("/console/signalen", &session).await;
    assert!(page.body.contains("Beoordeeld"), "{}", page.body);
    assert!(page.body.contains("teamleider"));
    let again = browser
        .post(
            "/console/signalen/beoordeling",
            &session,
            &[
                ("csrf", &page.csrf()),
                ("signaal", &key),
                ("notitie", "nogmaals"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let unknown = browser
        .post(
            "/console/signalen/beoordeling",
            &session,
            &[
                ("csrf", &page.csrf()),
                ("signaal", "piek:x:*:2026-01-01"),
                ("notitie", "x"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);

    // The OM's officer sees the OM's refusals, not the housing corporation's lookups.
    let browser = Browser::new(env, "om");
    let signed_in = sign_in(&browser, &officer_token(&om)).await;
    let session = signed_in.cookie("vhgate_console").expect("session");
    let page = browser.get("/console/signalen", &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("om-medewerker-7"), "{}", page.body);
    assert!(
        !page.body.contains("woningcorporatie-medewerker-7"),
        "{}",
        page.body
    );
    env.assert_log_intact().await;
}
