//! The privacy officers' console: Dutch, server-rendered HTML over the disclosure log, on the
//! gateway's own mutual-TLS listener (the officer's browser presents its client certificate like
//! every caller). Sign-in exchanges a privacy_officer token once for a session cookie (Secure,
//! HttpOnly, SameSite=Strict, bound to the certificate; see [`session`]); every form carries a
//! CSRF token; every page that shows log entries is itself logged by the gateway's review calls.
//! Handlers stay thin: parse, call the gateway, render.

mod chart;
mod html;
mod report;
pub mod session;
mod store;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};

use crate::api::problem::Problem;
use crate::api::AppState;
use crate::disclosure::store::{LogFilter, LogRow};
use crate::disclosure::LogEntry;
use crate::domain::{Bsn, CaseId, DisclosureId, Oin};
use crate::gateway::{IntegrityReport, OverviewReport, ReviewedEntry};
use crate::policy::ReviewScope;
use crate::tls::PeerIdentity;
use html::{dutch_time, esc, Officer};
use session::{ConsoleError, Session, SESSION_COOKIE};

/// Cookie of the sign-in form's CSRF token (double submit: cookie and field must match).
const LOGIN_COOKIE: &str = "vhgate_console_login";

/// Entries per page of the Verstrekkingen table.
const PAGE_SIZE: i64 = 50;

/// The console's routes, under `/console`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/aanmelden", get(sign_in_form).post(sign_in))
        .route("/console/afmelden", post(sign_out))
        .route("/console/verstrekkingen", get(disclosures))
        .route("/console/verstrekkingen/zoeken", post(search))
        .route("/console/verstrekkingen/export", get(export))
        .route("/console/verstrekkingen/{id}", get(entry_page))
        .route("/console/overzicht", get(overview_page))
        .route("/console/integriteit", get(integrity_page))
        .route("/console/integriteit/controle", post(start_verification))
        .route("/console/signalen", get(signals_page))
        .route("/console/signalen/beoordeling", post(review_signal))
        .route(
            "/console/inzageverzoek",
            get(access_request_form).post(access_request),
        )
}

/// An HTML answer with the console's security headers: nothing cached, no framing, no
/// scripts or foreign resources.
fn html_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

fn redirect(to: &'static str, cookies: &[String]) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn cookie(name: &str, value: &str, max_age_secs: i64) -> String {
    format!(
        "{name}={value}; Path=/console; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    )
}

fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The fields of a form post (`application/x-www-form-urlencoded`).
fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An error page: the status and a Dutch explanation; a refusal names its log entry.
fn error_page(problem: Problem, officer: Option<&Officer<'_>>) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (title, text) = match status.as_u16() {
        401 => ("Niet aangemeld", "Het token is geweigerd. Vraag een nieuw token aan bij de identiteitsvoorziening van uw organisatie en meld u opnieuw aan."),
        403 => ("Geen toegang", "U heeft voor deze handeling geen toegang. Alleen een privacyfunctionaris (rol privacy_officer, doel toezicht) mag het verstrekkingenlogboek inzien."),
        404 => ("Niet gevonden", "Deze vermelding bestaat niet, of valt buiten het deel van het logboek dat u mag inzien."),
        409 => ("Al vastgelegd", "Dit is al eerder vastgelegd. Ververs de pagina voor de laatste stand."),
        400 | 422 => ("Ongeldige invoer", "De invoer is niet geldig. Controleer de velden en probeer het opnieuw."),
        503 => ("Tijdelijk niet beschikbaar", "Het logboek is op dit moment niet bereikbaar. Er is niets getoond of verstrekt. Probeer het over enkele ogenblikken opnieuw."),
        _ => ("Er ging iets mis", "Het verzoek kon niet worden afgehandeld. Er is niets getoond of verstrekt."),
    };
    let mut body = format!("<p class=\"fout\" role=\"alert\">{}</p>", esc(text));
    if let Some(id) = &problem.disclosure_id {
        body.push_str(&format!(
            "<p class=\"muted\">Kenmerk in het logboek: <code>{}</code></p>",
            esc(id)
        ));
    }
    if officer.is_none() {
        body.push_str("<p><a href=\"/console/aanmelden\">Naar aanmelden</a></p>");
    }
    let slug = problem.slug().to_owned();
    let mut res = html_response(status, html::page(title, officer, &body));
    // Already in the log (the gateway refused): the guard must not log it twice.
    if let Some(v) = problem
        .disclosure_id
        .as_deref()
        .and_then(|id| HeaderValue::from_str(id).ok())
    {
        res.headers_mut().insert("disclosure-id", v);
    }
    res.extensions_mut()
        .insert(crate::api::guard::RefusalSlug(slug));
    res
}

fn console_error(e: ConsoleError, officer: Option<&Officer<'_>>) -> Response {
    match e {
        ConsoleError::Gateway(g) => error_page(Problem::from(g), officer),
        ConsoleError::NotSignedIn => redirect("/console/aanmelden", &[]),
        ConsoleError::Csrf => error_page(
            Problem::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Forbidden",
                "missing or wrong CSRF token",
            ),
            officer,
        ),
        ConsoleError::Store(_) | ConsoleError::Rng => error_page(
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-unavailable",
                "Service unavailable",
                "",
            ),
            officer,
        ),
    }
}

/// The peer identity the mTLS acceptor attached (always there behind the real listener).
fn peer(parts: &Parts) -> Option<Arc<PeerIdentity>> {
    parts.extensions.get::<Arc<PeerIdentity>>().cloned()
}

/// A signed-in officer: the session behind the cookie, presented over the same certificate.
/// Anyone else is sent to the sign-in page.
pub struct SignedInOfficer(Session);

impl FromRequestParts<AppState> for SignedInOfficer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (Some(peer), Some(secret)) = (peer(parts), read_cookie(&parts.headers, SESSION_COOKIE))
        else {
            return Err(redirect("/console/aanmelden", &[]));
        };
        session::resume(
            gateway,
            &peer,
            secret,
            crate::api::request_trace(&parts.extensions),
        )
        .await
        .map(SignedInOfficer)
        .map_err(|e| console_error(e, None))
    }
}

impl SignedInOfficer {
    fn officer(&self) -> Officer<'_> {
        Officer {
            organisation: &self.0.caller.partner.name,
            sub: &self.0.caller.token.claims.sub,
            csrf: &self.0.csrf,
        }
    }

    /// Checks a form post's CSRF field against the session's.
    fn check_csrf(&self, form: &[(String, String)]) -> Result<(), ConsoleError> {
        match field(form, "csrf") {
            Some(c) if session::same_token(c, &self.0.csrf) => Ok(()),
            _ => Err(ConsoleError::Csrf),
        }
    }
}

async fn home(_officer: SignedInOfficer) -> Response {
    redirect("/console/overzicht", &[])
}

fn sign_in_page(status: StatusCode, login_csrf: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!("<p class=\"fout\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "{error}<p>Meld u aan met uw persoonlijke token van de identiteitsvoorziening van uw \
         organisatie (rol <code>privacy_officer</code>, doel <code>toezicht</code>). Het token \
         wordt één keer ingewisseld voor een sessie van 30 minuten die aan het certificaat van \
         deze browser is gebonden.</p>\
         <form method=\"post\" action=\"/console/aanmelden\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"token\">Token</label>\
         <textarea id=\"token\" name=\"token\" rows=\"5\" required autocomplete=\"off\" spellcheck=\"false\"></textarea>\
         <div><button type=\"submit\">Aanmelden</button></div></form>",
        esc(login_csrf)
    );
    let mut res = html_response(status, html::page("Aanmelden", None, &body));
    if let Ok(v) = HeaderValue::from_str(&cookie(LOGIN_COOKIE, login_csrf, 900)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn sign_in_form() -> Response {
    match session::random_token() {
        Ok(t) => sign_in_page(StatusCode::OK, &t, None),
        Err(e) => console_error(e, None),
    }
}

/// The certificate identity of the caller, if any (the sign-in form needs it before a session).
struct MaybePeer(Option<Arc<PeerIdentity>>);

impl FromRequestParts<AppState> for MaybePeer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _gateway: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybePeer(peer(parts)))
    }
}

async fn sign_in(
    State(gateway): State<AppState>,
    MaybePeer(peer): MaybePeer,
    crate::api::RequestTrace(trace): crate::api::RequestTrace,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form(&body);
    let login_ok = match (read_cookie(&headers, LOGIN_COOKIE), field(&form, "csrf")) {
        (Some(c), Some(f)) => session::same_token(c, f),
        _ => false,
    };
    if !login_ok {
        return console_error(ConsoleError::Csrf, None);
    }
    let Some(peer) = peer else {
        return console_error(ConsoleError::NotSignedIn, None);
    };
    let token = field(&form, "token").map(str::trim).unwrap_or_default();
    match session::sign_in(&gateway, &peer, token, trace).await {
        Ok(signed_in) => {
            let max_age = (signed_in.expires_at - crate::record::now())
                .num_seconds()
                .max(0);
            redirect(
                "/console/overzicht",
                &[
                    cookie(SESSION_COOKIE, &signed_in.secret, max_age),
                    cookie(LOGIN_COOKIE, "", 0),
                ],
            )
        }
        Err(e) => console_error(e, None),
    }
}

async fn sign_out(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    body: Bytes,
) -> Response {
    let form = form(&body);
    if let Err(e) = officer.check_csrf(&form) {
        return console_error(e, Some(&officer.officer()));
    }
    match session::sign_out(&gateway, &officer.0).await {
        Ok(()) => redirect("/console/aanmelden", &[cookie(SESSION_COOKIE, "", 0)]),
        Err(e) => console_error(e, Some(&officer.officer())),
    }
}

/// The filters of the Verstrekkingen table, in the officer's words.
#[derive(Default)]
struct Filters {
    partner: String,
    medewerker: String,
    zaak: String,
    doel: String,
    uitkomst: String,
    van: String,
    tot: String,
}

impl Filters {
    const KEYS: [&'static str; 7] = [
        "partner",
        "medewerker",
        "zaak",
        "doel",
        "uitkomst",
        "van",
        "tot",
    ];

    fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> (Filters, Option<i64>) {
        let mut f = Filters::default();
        let mut before = None;
        for (k, v) in pairs {
            let v = v.trim().to_string();
            match k {
                "partner" => f.partner = v,
                "medewerker" => f.medewerker = v,
                "zaak" => f.zaak = v,
                "doel" => f.doel = v,
                "uitkomst" => f.uitkomst = v,
                "van" => f.van = v,
                "tot" => f.tot = v,
                "voor" => before = v.parse().ok(),
                _ => {}
            }
        }
        (f, before)
    }

    /// The log filter, or a Dutch message naming the field that is wrong.
    fn to_log_filter(&self, before: Option<i64>) -> Result<LogFilter, String> {
        let day = |name: &str, v: &str| -> Result<Option<DateTime<Utc>>, String> {
            if v.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Some(t.and_utc()))
                .ok_or_else(|| format!("{name}: geen geldige datum (jjjj-mm-dd)"))
        };
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let partner = match some(&self.partner) {
            Some(p) => Some(
                p.parse::<Oin>()
                    .map_err(|_| "partner: geen geldig OIN (20 cijfers)".to_string())?
                    .to_string(),
            ),
            None => None,
        };
        let case_id = match some(&self.zaak) {
            Some(z) => Some(
                z.parse::<CaseId>()
                    .map_err(|_| "zaak: geen geldig zaaknummer (UUID)".to_string())?
                    .0,
            ),
            None => None,
        };
        let outcome = match self.uitkomst.as_str() {
            "" => None,
            o @ ("allowed" | "partial" | "denied") => Some(o.to_string()),
            _ => return Err("uitkomst: kies toegestaan, deels of geweigerd".into()),
        };
        let until = day("tot en met", &self.tot)?.map(|t| t + chrono::Duration::days(1));
        Ok(LogFilter {
            case_id,
            partner,
            subject_pseudonym: None,
            sub: some(&self.medewerker),
            purpose: some(&self.doel),
            outcome,
            since: day("van", &self.van)?,
            until,
            before_seq: before,
            limit: PAGE_SIZE,
            visible_to: None,
        })
    }

    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in Filters::KEYS.iter().zip(self.values()) {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }

    fn values(&self) -> [&str; 7] {
        [
            &self.partner,
            &self.medewerker,
            &self.zaak,
            &self.doel,
            &self.uitkomst,
            &self.van,
            &self.tot,
        ]
    }
}

fn outcome_nl(outcome: &str) -> &'static str {
    match outcome {
        "allowed" => "toegestaan",
        "partial" => "deels achtergehouden",
        "denied" => "geweigerd",
        _ => "onbekend",
    }
}

fn filter_form(f: &Filters, officer: &Officer<'_>) -> String {
    let input = |id: &str, label: &str, value: &str, kind: &str| {
        format!(
            "<div><label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\"></div>",
            esc(value)
        )
    };
    let selected = |v: &str| if f.uitkomst == v { " selected" } else { "" };
    format!(
        "<form method=\"get\" action=\"/console/verstrekkingen\" class=\"filters\" aria-label=\"Filters\">\
         {}{}{}{}\
         <div><label for=\"uitkomst\">Uitkomst</label><select id=\"uitkomst\" name=\"uitkomst\">\
         <option value=\"\">alle</option><option value=\"allowed\"{}>toegestaan</option>\
         <option value=\"partial\"{}>deels achtergehouden</option><option value=\"denied\"{}>geweigerd</option></select></div>\
         {}{}<div><button type=\"submit\">Filteren</button></div></form>\
         <form method=\"post\" action=\"/console/verstrekkingen/zoeken\" class=\"filters\" aria-label=\"Zoeken op persoon\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <div><label for=\"bsn\">Betrokkene (BSN)</label><input id=\"bsn\" name=\"bsn\" inputmode=\"numeric\" autocomplete=\"off\" pattern=\"[0-9]{{8,9}}\"></div>\
         <div><button type=\"submit\">Zoeken op persoon</button></div></form>",
        input("partner", "Organisatie (OIN)", &f.partner, "text"),
        input("medewerker", "Medewerker", &f.medewerker, "text"),
        input("zaak", "Zaak", &f.zaak, "text"),
        input("doel", "Doel", &f.doel, "text"),
        selected("allowed"),
        selected("partial"),
        selected("denied"),
        input("van", "Van", &f.van, "date"),
        input("tot", "Tot en met", &f.tot, "date"),
        esc(officer.csrf),
    )
}

/// The table of entries; rows whose entry does not parse are shown as such, never skipped.
fn table(gateway: &AppState, rows: &[LogRow]) -> String {
    if rows.is_empty() {
        return "<p>Geen verstrekkingen gevonden met deze filters.</p>".into();
    }
    let registry = gateway.registry();
    let mut out = String::from(
        "<table><caption class=\"muted\">Nieuwste eerst</caption><thead><tr>\
         <th scope=\"col\">Tijdstip</th><th scope=\"col\">Gebeurtenis</th><th scope=\"col\">Uitkomst</th>\
         <th scope=\"col\">Organisatie</th><th scope=\"col\">Medewerker</th><th scope=\"col\">Doel</th>\
         <th scope=\"col\">Verstrekt</th><th scope=\"col\">Achtergehouden</th></tr></thead><tbody>",
    );
    for row in rows {
        let entry = serde_json::from_str::<LogEntry>(&row.entry).ok();
        let organisation = row
            .requester_oin
            .as_deref()
            .map(|oin| match registry.get(oin) {
                Some(p) => format!(
                    "{} <span class=\"muted\">({})</span>",
                    esc(&p.name),
                    esc(oin)
                ),
                None => esc(oin),
            })
            .unwrap_or_else(|| "<span class=\"muted\">onbekend</span>".into());
        let (disclosed, withheld) = entry
            .as_ref()
            .map(|e| {
                let cats = if e.entry.categories.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", esc(&e.entry.categories.join(", ")))
                };
                (
                    format!("{} velden{cats}", e.entry.disclosed.len()),
                    e.entry.withheld.len().to_string(),
                )
            })
            .unwrap_or_else(|| ("onleesbaar".into(), "onleesbaar".into()));
        out.push_str(&format!(
            "<tr><td class=\"tijd\"><a href=\"/console/verstrekkingen/{}\">{}</a></td><td>{}</td><td>{}</td><td>{organisation}</td><td>{}</td><td>{}</td><td>{disclosed}</td><td>{withheld}</td></tr>",
            row.id,
            esc(&dutch_time(row.recorded_at)),
            esc(&row.event),
            outcome_nl(&row.outcome),
            esc(row.requester_sub.as_deref().unwrap_or("")),
            esc(row.purpose.as_deref().unwrap_or("")),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

async fn disclosures(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = form(query.unwrap_or_default().as_bytes());
    let (filters, before) =
        Filters::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let who = officer.officer();
    let log_filter = match filters.to_log_filter(before) {
        Ok(f) => f,
        Err(msg) => return invalid(&filters, &who, &msg),
    };
    match gateway.disclosures(&officer.0.caller, &log_filter).await {
        Ok(rows) => {
            let next = (rows.len() as i64 == PAGE_SIZE)
                .then(|| rows.last().map(|r| r.seq))
                .flatten()
                .map(|seq| {
                    let q = filters.query();
                    let sep = if q.is_empty() { "" } else { "&" };
                    format!("<p><a href=\"/console/verstrekkingen?{}{sep}voor={seq}\">Oudere verstrekkingen</a></p>", esc(&q))
                })
                .unwrap_or_default();
            let q = filters.query();
            let sep = if q.is_empty() { "" } else { "&" };
            let exports: String = [
                ("csv", "CSV"),
                ("json", "JSON"),
                ("ldv", "Logboek Dataverwerkingen (JSON lines)"),
            ]
            .iter()
            .map(|(f, label)| {
                format!(
                    "<a href=\"/console/verstrekkingen/export?{}{sep}formaat={f}\">{label}</a>",
                    esc(&q)
                )
            })
            .collect::<Vec<_>>()
            .join(" · ");
            let above = format!(
                "<h2>Resultaat</h2><p>Exporteren (alle resultaten van deze filters, tot {EXPORT_MAX}): {exports}</p>"
            );
            results_page(&gateway, &filters, &who, &above, &rows, &next)
        }
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

/// The Verstrekkingen page with results: the filters, what goes above the table, the table,
/// and what goes below it (the link to older entries).
fn results_page(
    gateway: &AppState,
    filters: &Filters,
    who: &Officer<'_>,
    above: &str,
    rows: &[LogRow],
    below: &str,
) -> Response {
    let body = format!(
        "{}{above}{}{below}",
        filter_form(filters, who),
        table(gateway, rows)
    );
    html_response(
        StatusCode::OK,
        html::page("Verstrekkingen", Some(who), &body),
    )
}

fn invalid(filters: &Filters, who: &Officer<'_>, msg: &str) -> Response {
    let body = format!(
        "<p class=\"fout\" role=\"alert\">{}</p>{}",
        esc(msg),
        filter_form(filters, who)
    );
    let mut res = html_response(
        StatusCode::BAD_REQUEST,
        html::page("Verstrekkingen", Some(who), &body),
    );
    res.extensions_mut()
        .insert(crate::api::guard::RefusalSlug("invalid-query".into()));
    res
}

async fn search(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    body: Bytes,
) -> Response {
    let form = form(&body);
    let who = officer.officer();
    if let Err(e) = officer.check_csrf(&form) {
        return console_error(e, Some(&who));
    }
    let (filters, before) = Filters::from_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let log_filter = match filters.to_log_filter(before) {
        Ok(f) => f,
        Err(msg) => return invalid(&filters, &who, &msg),
    };
    let bsn: Bsn = match field(&form, "bsn").unwrap_or_default().trim().parse() {
        Ok(b) => b,
        Err(_) => {
            return invalid(
                &filters,
                &who,
                "BSN: geen geldig burgerservicenummer (9 cijfers, elfproef)",
            )
        }
    };
    match gateway
        .disclosures_about(&officer.0.caller, &bsn, &log_filter)
        .await
    {
        Ok(rows) => {
            let above = "<h2>Verstrekkingen over deze persoon</h2>";
            results_page(&gateway, &filters, &who, above, &rows, "")
        }
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

fn yes_no(ok: bool, yes: &str, no: &str) -> String {
    if ok {
        format!("<strong>✓ {}</strong>", esc(yes))
    } else {
        format!("<strong class=\"fout\">✗ {}</strong>", esc(no))
    }
}

/// One entry: who asked what, why, what left and what was withheld per field with principle
/// and reason, and its inclusion in the log checked now against the newest checkpoint.
fn entry_body(gateway: &AppState, r: &ReviewedEntry) -> String {
    let e = &r.entry.entry;
    let registry = gateway.registry();
    let oin = e.requester.oin.as_deref().unwrap_or("");
    let organisation = registry
        .get(oin)
        .map(|p| p.name.as_str())
        .unwrap_or("onbekend");
    // Entries written before the gateway recorded its own trace id have only the partner's.
    let trace = e
        .trace_id
        .clone()
        .or_else(|| {
            let partner = e.traceparent.as_deref()?;
            crate::trace::trace_and_parent(partner).map(|(trace, _)| trace.to_string())
        })
        .unwrap_or_else(|| "geen".into());
    let people = e.subject.iter().count() + e.subjects.len();
    let item = |label: &str, value: String| format!("<dt>{label}</dt><dd>{value}</dd>");
    let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("—"));
    let mut out = String::from("<dl>");
    out.push_str(&item("Tijdstip", esc(&dutch_time(r.row.recorded_at))));
    out.push_str(&item("Gebeurtenis", esc(e.event.as_str())));
    out.push_str(&item(
        "Uitkomst",
        format!("{} (HTTP {})", outcome_nl(&r.row.outcome), e.status),
    ));
    out.push_str(&item(
        "Organisatie",
        format!(
            "{} ({}), type {}",
            esc(organisation),
            esc(oin),
            opt(&e.requester.partner_type)
        ),
    ));
    out.push_str(&item("Medewerker", opt(&e.requester.sub)));
    out.push_str(&item("Rol", opt(&e.requester.role)));
    out.push_str(&item("Doel", opt(&e.requester.purpose)));
    out.push_str(&item(
        "Zaak",
        esc(&e
            .case_id
            .map(|c| c.to_string())
            .unwrap_or_else(|| "—".into())),
    ));
    out.push_str(&item(
        "Betrokkenen",
        format!("{people} (gepseudonimiseerd; het logboek bevat geen BSN)"),
    ));
    out.push_str(&item(
        "Beleidsversie",
        format!("<code>{}</code>", esc(&e.policy_revision)),
    ));
    out.push_str(&item("Trace-id", format!("<code>{}</code>", esc(&trace))));
    out.push_str(&item(
        "Kenmerk",
        format!("<code>{}</code> (volgnummer {})", e.id, r.row.seq),
    ));
    out.push_str("</dl><h2>Verstrekt</h2>");
    if e.disclosed.is_empty() {
        out.push_str("<p>Niets.</p>");
    } else {
        out.push_str("<ul>");
        for f in &e.disclosed {
            out.push_str(&format!("<li><code>{}</code></li>", esc(f)));
        }
        out.push_str("</ul>");
        if !e.categories.is_empty() {
            out.push_str(&format!(
                "<p>Categorieën: {}</p>",
                esc(&e.categories.join(", "))
            ));
        }
    }
    out.push_str("<h2>Achtergehouden</h2>");
    if e.withheld.is_empty() {
        out.push_str("<p>Niets.</p>");
    } else {
        out.push_str(
            "<table><thead><tr><th scope=\"col\">Veld</th><th scope=\"col\">Beginsel</th><th scope=\"col\">Reden</th></tr></thead><tbody>",
        );
        for w in &e.withheld {
            let principle = serde_json::to_value(w.principle)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&w.field),
                esc(&principle),
                esc(&w.reason)
            ));
        }
        out.push_str("</tbody></table>");
    }
    if !e.reasons.is_empty() {
        out.push_str("<h2>Overwegingen</h2><ul>");
        for reason in &e.reasons {
            out.push_str(&format!("<li>{}</li>", esc(reason)));
        }
        out.push_str("</ul>");
    }
    let p = &r.proof;
    out.push_str(&format!(
        "<h2>Bewijs van opname in het logboek</h2><p>Zojuist gecontroleerd tegen het nieuwste \
         checkpoint ({} vermeldingen, ondertekend {}; wortel <code>{}</code>).</p><ul>\
         <li>Handtekening van het checkpoint: {}</li><li>Opnamebewijs ({} hashes): {}</li>\
         <li>Medeondertekeningen door getuigen: {}</li></ul>",
        p.checkpoint_size,
        esc(&dutch_time(p.checkpoint_signed_at)),
        esc(&p.root),
        yes_no(p.signature_ok, "geldig", "ongeldig"),
        p.proof_len,
        yes_no(
            p.inclusion_ok,
            "klopt: deze vermelding staat in het logboek",
            "klopt niet"
        ),
        p.cosignatures
    ));
    out.push_str("<p><a href=\"/console/verstrekkingen\">Terug naar de verstrekkingen</a></p>");
    out
}

async fn entry_page(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    Path(id): Path<String>,
) -> Response {
    let who = officer.officer();
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return error_page(
            Problem::bad_request("invalid-id", "not a disclosure id"),
            Some(&who),
        );
    };
    match gateway
        .review_entry(&officer.0.caller, DisclosureId(id))
        .await
    {
        Ok(r) => html_response(
            StatusCode::OK,
            html::page("Verstrekking", Some(&who), &entry_body(&gateway, &r)),
        ),
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

/// Days the overview covers.
const OVERVIEW_DAYS: u32 = 30;

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    format!("{}%", (part * 100 + whole / 2) / whole)
}

/// "1 verzoek", "3 verzoeken".
fn requests(n: i64) -> String {
    if n == 1 {
        "1 verzoek".into()
    } else {
        format!("{n} verzoeken")
    }
}

fn overview_body(gateway: &AppState, r: &OverviewReport) -> String {
    let s = &r.stats;
    let total = s.total();
    let (allowed, partial, denied) = s.days.iter().fold((0, 0, 0), |(a, p, d), day| {
        (a + day.allowed, p + day.partial, d + day.denied)
    });
    let scope = match r.scope {
        ReviewScope::All => "alle verzoeken van alle partners".to_string(),
        ReviewScope::Own => {
            "de verzoeken van uw organisatie en de verstrekkingen van gegevens die zij aanleverde"
                .to_string()
        }
    };
    let mut out = format!(
        "<p>De afgelopen {OVERVIEW_DAYS} dagen: {scope}.</p><div class=\"kaarten\">\
         <section class=\"kaart\"><h2>Verzoeken</h2><p class=\"groot\">{total}</p></section>\
         <section class=\"kaart\"><h2>Toegestaan</h2><p class=\"groot\">{}</p><p>{}</p></section>\
         <section class=\"kaart\"><h2>Deels achtergehouden</h2><p class=\"groot\">{}</p><p>{}</p></section>\
         <section class=\"kaart\"><h2>Geweigerd</h2><p class=\"groot\">{}</p><p>{}</p></section></div>",
        percent(allowed, total),
        requests(allowed),
        percent(partial, total),
        requests(partial),
        percent(denied, total),
        requests(denied),
    );
    let legend: String = chart::COLOURS
        .iter()
        .map(|(label, c)| {
            format!(
                "<span style=\"background:#{:02x}{:02x}{:02x}\"></span>{label}",
                c.0, c.1, c.2
            )
        })
        .collect();
    match chart::requests_per_day(&s.days) {
        Ok(svg) => out.push_str(&format!(
            "<figure role=\"group\" aria-labelledby=\"grafiek\"><figcaption id=\"grafiek\">Verzoeken per dag \
             <span class=\"legenda\">{legend}</span></figcaption>{svg}</figure>"
        )),
        Err(e) => {
            tracing::warn!(error = %e, "overview chart could not be drawn");
            out.push_str("<p class=\"fout\">De grafiek kon niet worden getekend; de cijfers staan hieronder.</p>");
        }
    }
    out.push_str("<details><summary>Verzoeken per dag als tabel</summary><table><thead><tr><th scope=\"col\">Dag</th><th scope=\"col\">Toegestaan</th><th scope=\"col\">Deels</th><th scope=\"col\">Geweigerd</th></tr></thead><tbody>");
    for d in &s.days {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&html::dutch_date(
                d.day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
            )),
            d.allowed,
            d.partial,
            d.denied
        ));
    }
    out.push_str("</tbody></table></details>");
    let registry = gateway.registry();
    let list = |rows: &[(String, i64)], name: &dyn Fn(&str) -> String| -> String {
        if rows.is_empty() {
            return "<p>Geen verzoeken.</p>".into();
        }
        let items: String = rows
            .iter()
            .map(|(k, n)| format!("<li>{} — {n}</li>", name(k)))
            .collect();
        format!("<ol>{items}</ol>")
    };
    out.push_str(&format!(
        "<div class=\"kaarten\"><section class=\"kaart\"><h2>Meest vragende partners</h2>{}</section>\
         <section class=\"kaart\"><h2>Meest gebruikte doelen</h2>{}</section>",
        list(&s.top_partners, &|oin| match registry.get(oin) {
            Some(p) => format!("{} <span class=\"muted\">({})</span>", esc(&p.name), esc(oin)),
            None => esc(oin),
        }),
        list(&s.top_purposes, &|p| esc(p)),
    ));
    if let Some((open, overdue)) = r.spoed_awaiting {
        out.push_str(&format!(
            "<section class=\"kaart\"><h2>Open signalen</h2><p>{open} spoedraadplegingen wachten op beoordeling, \
             waarvan {overdue} te laat.</p></section>"
        ));
    }
    let checkpoint = r
        .latest_checkpoint
        .as_ref()
        .map(|c| {
            format!(
                "{} vermeldingen, ondertekend {}",
                c.size,
                esc(&dutch_time(c.signed_at))
            )
        })
        .unwrap_or_else(|| "nog geen".into());
    let cosigned = r
        .last_cosignature
        .map(|t| esc(&dutch_time(t)))
        .unwrap_or_else(|| "nog nooit".into());
    let verified = match &r.last_verification {
        Some(v) => format!(
            "{}: {}",
            esc(&v.finished_at.map(dutch_time).unwrap_or_default()),
            match v.outcome.as_deref() {
                Some("intact") => "<strong>✓ intact</strong>".to_string(),
                Some(other) => format!("<strong class=\"fout\">✗ {}</strong>", esc(other)),
                None => "bezig".into(),
            }
        ),
        None => "nog nooit vanuit de console".into(),
    };
    out.push_str(&format!(
        "<section class=\"kaart\"><h2>Integriteit van het logboek</h2><ul>\
         <li>Nieuwste checkpoint: {checkpoint}</li><li>Laatste medeondertekening door een getuige: {cosigned}</li>\
         <li>Laatste volledige controle: {verified}</li></ul>\
         <p><a href=\"/console/integriteit\">Naar Integriteit</a></p></section></div>"
    ));
    out
}

async fn overview_page(State(gateway): State<AppState>, officer: SignedInOfficer) -> Response {
    let who = officer.officer();
    match gateway.overview(&officer.0.caller, OVERVIEW_DAYS).await {
        Ok(r) => html_response(
            StatusCode::OK,
            html::page("Overzicht", Some(&who), &overview_body(&gateway, &r)),
        ),
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

fn outcome_of_run(outcome: Option<&str>) -> String {
    match outcome {
        Some("intact") => "<strong>✓ intact</strong>".into(),
        Some("broken") => "<strong class=\"fout\">✗ gebroken</strong>".into(),
        Some(_) => "<strong class=\"fout\">✗ mislukt</strong>".into(),
        None => "bezig".into(),
    }
}

fn integrity_body(r: &IntegrityReport, officer: &Officer<'_>) -> (String, bool) {
    let now = crate::record::now();
    let running = r.runs.first().filter(|run| run.is_running(now));
    let mut out = String::new();
    match running {
        Some(run) => out.push_str(&format!(
            "<section aria-live=\"polite\"><h2>Controle loopt</h2>\
             <p><label for=\"voortgang\">{} van {} vermeldingen gecontroleerd</label></p>\
             <progress id=\"voortgang\" max=\"{}\" value=\"{}\">{}</progress>\
             <p class=\"muted\">Deze pagina ververst zichzelf elke twee seconden.</p></section>",
            run.checked,
            run.total,
            run.total.max(1),
            run.checked,
            percent(run.checked, run.total.max(1)),
        )),
        None => out.push_str(&format!(
            "<p>Een volledige controle herberekent elke vermelding (hashketen en Merkle-boom), \
             controleert elk ondertekend checkpoint met de sleutel van het logboek en de indexen, \
             precies zoals <code>vhgate log verify</code>.</p>\
             <form method=\"post\" action=\"/console/integriteit/controle\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Volledige controle starten</button></form>",
            esc(officer.csrf)
        )),
    }
    out.push_str("<h2>Controles</h2>");
    if r.runs.is_empty() {
        out.push_str("<p>Nog geen controle gedaan vanuit de console.</p>");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">Gestart</th><th scope=\"col\">Door</th><th scope=\"col\">Uitkomst</th><th scope=\"col\">Toelichting</th></tr></thead><tbody>");
        for run in &r.runs {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&dutch_time(run.started_at)),
                esc(&run.started_by_sub),
                outcome_of_run(run.outcome.as_deref()),
                esc(run.detail.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<h2>Checkpoints</h2><table><thead><tr><th scope=\"col\">Vermeldingen</th><th scope=\"col\">Ondertekend</th><th scope=\"col\">Getuigen</th></tr></thead><tbody>");
    for c in &r.checkpoints {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.size,
            esc(&dutch_time(c.signed_at)),
            c.cosignatures
        ));
    }
    out.push_str("</tbody></table><h2>Medeondertekeningen</h2>");
    if r.cosignatures.is_empty() {
        out.push_str("<p>Nog geen getuige heeft een checkpoint medeondertekend.</p>");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">Checkpoint</th><th scope=\"col\">Getuige</th><th scope=\"col\">Ontvangen</th></tr></thead><tbody>");
        for (size, witness, at) in &r.cosignatures {
            out.push_str(&format!(
                "<tr><td>{size}</td><td>{}</td><td>{}</td></tr>",
                esc(witness),
                esc(&dutch_time(*at))
            ));
        }
        out.push_str("</tbody></table>");
    }
    (out, running.is_some())
}

async fn integrity_page(State(gateway): State<AppState>, officer: SignedInOfficer) -> Response {
    let who = officer.officer();
    match gateway.integrity(&officer.0.caller).await {
        Ok(r) => {
            let (body, running) = integrity_body(&r, &who);
            html_response(
                StatusCode::OK,
                html::page_with("Integriteit", Some(&who), &body, running.then_some(2)),
            )
        }
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

async fn start_verification(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    body: Bytes,
) -> Response {
    let who = officer.officer();
    if let Err(e) = officer.check_csrf(&form(&body)) {
        return console_error(e, Some(&who));
    }
    match gateway.start_verification(&officer.0.caller).await {
        Ok(_) => redirect("/console/integriteit", &[]),
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}

async fn access_request_form(officer: SignedInOfficer) -> Response {
    let who = officer.officer();
    html_response(
        StatusCode::OK,
        html::page(
            "Inzageverzoek",
            Some(&who),
            &access_request_body(&who, None),
        ),
    )
}

fn access_request_body(who: &Officer<'_>, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"fout\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    format!(
        "{error}<p>Stel het overzicht op dat een burger krijgt die vraagt welke organisaties \
         gegevens over hem of haar hebben ontvangen (AVG artikel 15). Het overzicht is in \
         gewone taal, om af te drukken of als PDF te versturen. Het opstellen wordt vastgelegd \
         in het logboek.</p>\
         <form method=\"post\" action=\"/console/inzageverzoek\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"bsn\">Burgerservicenummer van de aanvrager</label>\
         <input id=\"bsn\" name=\"bsn\" inputmode=\"numeric\" autocomplete=\"off\" required pattern=\"[0-9]{{8,9}}\">\
         <div><button type=\"submit\" name=\"vorm\" value=\"html\">Overzicht tonen</button> \
         <button type=\"submit\" name=\"vorm\" value=\"pdf\">Als PDF</button></div></form>",
        esc(who.csrf)
    )
}

async fn access_request(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    body: Bytes,
) -> Response {
    let form = form(&body);
    let who = officer.officer();
    if let Err(e) = officer.check_csrf(&form) {
        return console_error(e, Some(&who));
    }
    let raw = field(&form, "bsn").unwrap_or_default().trim().to_string();
    let Ok(bsn) = raw.parse::<Bsn>() else {
        let mut res = html_response(
            StatusCode::BAD_REQUEST,
            html::page(
                "Inzageverzoek",
                Some(&who),
                &access_request_body(
                    &who,
                    Some("Dit is geen geldig burgerservicenummer (9 cijfers, elfproef)."),
                ),
            ),
        );
        res.extensions_mut()
            .insert(crate::api::guard::RefusalSlug("invalid-bsn".into()));
        return res;
    };
    let report = match gateway.access_report(&officer.0.caller, &bsn).await {
        Ok(r) => r,
        Err(e) => return error_page(Problem::from(e), Some(&who)),
    };
    let tail: String = raw
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let policy = gateway.policy();
    let ctx = report::ReportContext {
        organisation: &officer.0.caller.partner.name,
        retention_days: policy.convenant().retention_days,
        bsn_tail: &tail,
        drawn_up: crate::record::now(),
    };
    let document = report::document(&report, &ctx);
    if field(&form, "vorm") != Some("pdf") {
        return html_response(StatusCode::OK, document);
    }
    match report::print_pdf(gateway.pdf_printer(), &document).await {
        Ok(pdf) => {
            let mut res = (StatusCode::OK, pdf).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"inzageverzoek.pdf\""),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "access report PDF could not be printed");
            let body = format!(
                "<p class=\"fout\" role=\"alert\">De PDF kon niet worden gemaakt. Het overzicht \
                 zelf is wel opgesteld: kies 'Overzicht tonen' en druk het af vanuit de browser.</p>{}",
                access_request_body(&who, None)
            );
            html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                html::page("Inzageverzoek", Some(&who), &body),
            )
        }
    }
}

/// The most entries one export holds (held in memory while it is written; narrow the filters
/// for more).
const EXPORT_MAX: usize = 20_000;

/// A CSV field: quoted, quotes doubled, and a leading formula character neutralised so a
/// spreadsheet never runs a cell.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn csv_export(gateway: &AppState, rows: &[LogRow]) -> String {
    let registry = gateway.registry();
    let mut out = String::from(
        "tijdstip,gebeurtenis,uitkomst,status,organisatie_oin,organisatie,medewerker,rol,doel,zaak,verstrekt,achtergehouden,beleidsversie,kenmerk\r\n",
    );
    for row in rows {
        let entry = serde_json::from_str::<LogEntry>(&row.entry).ok();
        let e = entry.as_ref().map(|e| &e.entry);
        let oin = row.requester_oin.as_deref().unwrap_or("");
        let fields = [
            crate::gateway::timestamp(row.recorded_at),
            row.event.clone(),
            row.outcome.clone(),
            e.map(|e| e.status.to_string()).unwrap_or_default(),
            oin.to_string(),
            registry
                .get(oin)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            row.requester_sub.clone().unwrap_or_default(),
            e.and_then(|e| e.requester.role.clone()).unwrap_or_default(),
            row.purpose.clone().unwrap_or_default(),
            row.case_id.map(|c| c.to_string()).unwrap_or_default(),
            e.map(|e| e.disclosed.join(" ")).unwrap_or_default(),
            e.map(|e| {
                e.withheld
                    .iter()
                    .map(|w| w.field.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
            row.policy_revision.clone(),
            row.id.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

async fn export(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    RawQuery(query): RawQuery,
) -> Response {
    let who = officer.officer();
    let pairs = form(query.unwrap_or_default().as_bytes());
    let (filters, before) =
        Filters::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let format = field(&pairs, "formaat").unwrap_or("csv");
    if !["csv", "json", "ldv"].contains(&format) {
        return invalid(&filters, &who, "formaat: kies csv, json of ldv");
    }
    let log_filter = match filters.to_log_filter(before) {
        Ok(f) => f,
        Err(msg) => return invalid(&filters, &who, &msg),
    };
    let rows = match gateway
        .export_disclosures(&officer.0.caller, &log_filter, format, EXPORT_MAX)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return error_page(Problem::from(e), Some(&who)),
    };
    let entries = || {
        rows.iter()
            .filter_map(|r| serde_json::from_str::<LogEntry>(&r.entry).ok())
    };
    let (body, kind, name) = match format {
        "json" => (
            serde_json::to_string_pretty(
                &entries()
                    .map(|e| serde_json::to_value(&e).unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            "application/json",
            "verstrekkingen.json",
        ),
        "ldv" => (
            entries()
                .flat_map(|e| crate::disclosure::export::ldv::to_ldv(&e))
                .map(|record| record.to_string() + "\n")
                .collect(),
            "application/x-ndjson",
            "verstrekkingen-ldv.jsonl",
        ),
        _ => (
            csv_export(&gateway, &rows),
            "text/csv; charset=utf-8",
            "verstrekkingen.csv",
        ),
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The most characters a review note may have.
const MAX_NOTE: usize = 1000;

fn kind_nl(kind: crate::disclosure::anomalies::Kind) -> &'static str {
    use crate::disclosure::anomalies::Kind;
    match kind {
        Kind::Snuffelen => "Veel verschillende personen buiten de eigen zaken (snuffelen)",
        Kind::Weigeringen => "Veel weigeringen achter elkaar",
        Kind::OngebruikelijkeTijd => "Verzoeken op ongebruikelijke tijden",
        Kind::Piek => "Piek in verzoeken van een partner",
    }
}

async fn signals_page(State(gateway): State<AppState>, officer: SignedInOfficer) -> Response {
    let who = officer.officer();
    let signals = match gateway.anomaly_signals(&officer.0.caller).await {
        Ok(s) => s,
        Err(e) => return error_page(Problem::from(e), Some(&who)),
    };
    let registry = gateway.registry();
    let mut body = String::from(
        "<p>Signalen uit het logboek van de afgelopen zeven dagen. Een signaal is een vraag, \
         geen oordeel: bekijk de verstrekkingen erachter en leg uw beoordeling vast. De \
         drempels staan in de configuratie (<code>[console]</code>).</p>",
    );
    if signals.is_empty() {
        body.push_str("<p>Geen signalen.</p>");
    }
    for s in &signals {
        let org = registry
            .get(&s.oin)
            .map(|p| format!("{} ({})", esc(&p.name), esc(&s.oin)))
            .unwrap_or_else(|| esc(&s.oin));
        let who_line = match &s.sub {
            Some(sub) => format!("Medewerker {} van {org}", esc(sub)),
            None => org,
        };
        let filter = match &s.sub {
            Some(sub) => format!(
                "/console/verstrekkingen?partner={}&medewerker={}",
                esc(&s.oin),
                esc(&url::form_urlencoded::byte_serialize(sub.as_bytes()).collect::<String>())
            ),
            None => format!("/console/verstrekkingen?partner={}", esc(&s.oin)),
        };
        let state = match &s.reviewed {
            Some(r) => format!(
                "<p><strong>Beoordeeld</strong> op {} door {}: {}</p>",
                esc(&dutch_time(r.reviewed_at)),
                esc(&r.reviewed_by_sub),
                esc(&r.note)
            ),
            None => format!(
                "<form method=\"post\" action=\"/console/signalen/beoordeling\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"signaal\" value=\"{}\">\
                 <label for=\"notitie-{id}\">Beoordeling</label>\
                 <textarea id=\"notitie-{id}\" name=\"notitie\" rows=\"2\" required maxlength=\"{MAX_NOTE}\"></textarea>\
                 <div><button type=\"submit\">Markeren als beoordeeld</button></div></form>",
                esc(who.csrf),
                esc(&s.key),
                id = esc(&s.key.replace([':', '@', '.'], "-")),
            ),
        };
        body.push_str(&format!(
            "<section class=\"kaart\"><h2>{}</h2><p>{who_line}: <strong>{}</strong> (drempel: {}). \
             <a href=\"{filter}\">Bekijk de verstrekkingen</a></p>{state}</section>",
            kind_nl(s.kind),
            s.count,
            esc(&s.threshold),
        ));
    }
    html_response(StatusCode::OK, html::page("Signalen", Some(&who), &body))
}

async fn review_signal(
    State(gateway): State<AppState>,
    officer: SignedInOfficer,
    body: Bytes,
) -> Response {
    let form = form(&body);
    let who = officer.officer();
    if let Err(e) = officer.check_csrf(&form) {
        return console_error(e, Some(&who));
    }
    let key = field(&form, "signaal").unwrap_or_default();
    let note = field(&form, "notitie").unwrap_or_default().trim();
    if key.is_empty() || note.is_empty() || note.chars().count() > MAX_NOTE {
        let mut res = error_page(
            Problem::bad_request(
                "invalid-body",
                "a signal and a note of 1 to 1000 characters",
            ),
            Some(&who),
        );
        res.extensions_mut()
            .insert(crate::api::guard::RefusalSlug("invalid-body".into()));
        return res;
    }
    match gateway.review_signal(&officer.0.caller, key, note).await {
        Ok(()) => redirect("/console/signalen", &[]),
        Err(e) => error_page(Problem::from(e), Some(&who)),
    }
}
