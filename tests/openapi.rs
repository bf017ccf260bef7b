//! The API keeps its contract (issue 15): every route of the router is exercised over the real
//! server (mutual TLS, SQLite and PostgreSQL), with a success and its typical refusals, and
//! every answer is checked against openapi.json: the operation exists, the status is
//! documented for it, the content type is one it documents, and the body validates against the
//! documented JSON schema (`$ref`s resolved, formats checked). Log entries travel inside other
//! answers too (the entry texts of `/v1/log/entries`, the `extra` line of a receipt): those
//! are validated against `LogEntry` as well.
//!
//! Coverage is checked both ways: every route the router declares (read from src/api/mod.rs
//! and src/console/mod.rs) must be in the spec and answered here with a 2xx and a 4xx, unless
//! it is listed in `EXCLUDED` or `NO_REFUSAL` with the reason; and every operation in the spec
//! must be a route.
//!
//! The console's routes (`/console/...`) are not in the spec: they are HTML pages for the
//! privacy officer's browser (session cookie, CSRF-protected forms), not an API for partner
//! software; tests/console.rs and tests/browser.rs cover them.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use base64::Engine;
use common::{
    candidate_bundle, fresh_bsn, mtls_config, pki, raw, raw_exchange, Env, Partner, RawAnswer,
};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

on_both_backends!(
    every_route_answers_as_the_spec_says,
    refusals_are_problem_json_that_names_the_member,
    limits_are_problem_json,
);

/// The slow-client refusals, each on a server with short timeouts of its own.
mod slow_clients {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        slow(common::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        slow(common::Backend::Postgres).await;
    }
}

/// Routes of the router that the spec leaves out on purpose.
const EXCLUDED: &[(&str, &str)] = &[(
    "/console",
    "the privacy officer's HTML console (browser pages and forms), not a partner API",
)];

/// Operations that have no refusal of their own to exercise (no input, no token).
const NO_REFUSAL: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "liveness: no input, no token"),
    ("GET", "/readyz", "readiness: no input, no token"),
    ("GET", "/openapi.json", "the description itself"),
    (
        "GET",
        "/v1/log/checkpoint",
        "the newest checkpoint: no input, mTLS only",
    ),
];

const SPEC_TEXT: &str = include_str!("../openapi.json");

/// Answers refused before any route matched: checked against these shared responses.
const UNROUTED: &[(u16, &str)] = &[
    (404, "NoSuchRoute"),
    (405, "MethodNotAllowed"),
    (400, "RefusedBeforeRouting"),
    (408, "RefusedBeforeRouting"),
    (414, "RefusedBeforeRouting"),
    (431, "RefusedBeforeRouting"),
];

/// openapi.json, with the checks made against it and what they found.
struct Contract {
    spec: Value,
    validators: Mutex<BTreeMap<String, jsonschema::Validator>>,
    covered: Mutex<BTreeSet<(String, String, u16)>>,
    failures: Mutex<Vec<String>>,
}

impl Contract {
    fn load() -> Self {
        Contract {
            spec: serde_json::from_str(SPEC_TEXT).expect("openapi.json parses"),
            validators: Mutex::default(),
            covered: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    fn fail(&self, what: String) {
        eprintln!("CONTRACT: {what}");
        self.failures.lock().expect("lock").push(what);
    }

    /// Validates `instance` against the schema at the JSON pointer `at` in the spec; the
    /// failures, if any.
    fn validate(&self, at: &str, instance: &Value) -> Vec<String> {
        let mut validators = self.validators.lock().expect("lock");
        if !validators.contains_key(at) {
            // The spec itself is the root document, so `#/components/...` resolves in it.
            let mut schema = self.spec.clone();
            schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
            // A URI fragment: the braces of path templates are percent-encoded.
            let fragment = at.replace('{', "%7B").replace('}', "%7D");
            schema["$ref"] = json!(format!("#{fragment}"));
            match jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
            {
                Ok(v) => {
                    validators.insert(at.to_string(), v);
                }
                Err(e) => return vec![format!("the schema at {at} does not compile: {e}")],
            }
        }
        validators[at]
            .iter_errors(instance)
            .map(|e| format!("{} at {}: {e}", at, e.instance_path()))
            .take(5)
            .collect()
    }

    /// Checks one answer of `method template` against the spec, and counts it as covered.
    fn check(&self, method: &str, template: &str, a: &Answer) {
        let what = format!("{method} {template} -> {}", a.status);
        let op_at = format!(
            "/paths/{}/{}",
            pointer_escape(template),
            method.to_ascii_lowercase()
        );
        let documented = self.spec.pointer(&op_at).is_some();
        let unrouted = UNROUTED.iter().find(|(s, _)| *s == a.status);
        let response_at = match (documented, unrouted) {
            (true, _)
                if self
                    .spec
                    .pointer(&format!("{op_at}/responses/{}", a.status))
                    .is_some() =>
            {
                format!("{op_at}/responses/{}", a.status)
            }
            (_, Some((_, shared))) => format!("/components/responses/{shared}"),
            (false, None) => {
                self.fail(format!("{what}: no such operation in the spec"));
                return;
            }
            (true, None) => {
                self.fail(format!(
                    "{what}: status not documented ({})",
                    String::from_utf8_lossy(&a.bytes)
                ));
                return;
            }
        };
        self.covered
            .lock()
            .expect("lock")
            .insert((method.into(), template.into(), a.status));
        let response = self.resolve(&response_at);
        let Some((response_at, response)) = response else {
            self.fail(format!("{what}: {response_at} does not resolve"));
            return;
        };
        let essence = a
            .content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if (400..500).contains(&a.status) && essence != "application/problem+json" {
            self.fail(format!(
                "{what}: a refusal in {:?}, not application/problem+json",
                a.content_type
            ));
        }
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            if !a.bytes.is_empty() {
                self.fail(format!("{what}: a body where the spec documents none"));
            }
            return;
        };
        let Some(media) = content.get(&essence) else {
            self.fail(format!(
                "{what}: content type {essence:?} not documented (only {:?})",
                content.keys().collect::<Vec<_>>()
            ));
            return;
        };
        if media.get("schema").is_none() {
            return;
        }
        let schema_at = format!("{response_at}/content/{}/schema", pointer_escape(&essence));
        let instance = if essence.ends_with("json") {
            match serde_json::from_slice::<Value>(&a.bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.fail(format!("{what}: the body is not JSON ({e})"));
                    return;
                }
            }
        } else {
            Value::String(String::from_utf8_lossy(&a.bytes).into_owned())
        };
        for e in self.validate(&schema_at, &instance) {
            self.fail(format!("{what}: {e}"));
        }
        if essence == "application/problem+json" {
            let p = &instance;
            let ok = p["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:vhgate:problem:"))
                && p["title"].as_str().is_some_and(|t| !t.is_empty())
                && p["status"] == json!(a.status)
                && p["detail"].as_str().is_some_and(|d| !d.is_empty());
            if !ok {
                self.fail(format!("{what}: not an RFC 9457 problem: {p}"));
            }
            // A logged refusal names its entry in the body and the header alike.
            let header = a.headers.get("disclosure-id").and_then(|v| v.to_str().ok());
            if p["disclosure_id"].as_str() != header {
                self.fail(format!(
                    "{what}: disclosure_id {} but header {header:?}",
                    p["disclosure_id"]
                ));
            }
        }
    }

    /// Follows a `$ref` (one level, as responses use them): the pointer and the object.
    fn resolve(&self, at: &str) -> Option<(String, &Value)> {
        let v = self.spec.pointer(at)?;
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let target = r.strip_prefix('#')?.to_string();
                let resolved = self.spec.pointer(&target)?;
                Some((target, resolved))
            }
            None => Some((at.to_string(), v)),
        }
    }

    /// Validates a log entry (parsed) against `LogEntry`.
    fn check_entry(&self, what: &str, entry: &Value) {
        for e in self.validate("/components/schemas/LogEntry", entry) {
            self.fail(format!("{what}: {e}"));
        }
    }

    /// The security requirements of an operation (its own, else the document's): each a list
    /// of the schemes it combines.
    fn security(&self, method: &str, template: &str) -> Vec<Vec<String>> {
        let op = &self.spec["paths"][template][method.to_ascii_lowercase()];
        let requirements = op
            .get("security")
            .unwrap_or(&self.spec["security"])
            .as_array()
            .cloned()
            .unwrap_or_default();
        requirements
            .iter()
            .map(|r| {
                r.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The operations of the spec, as (METHOD, path template).
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.spec["paths"].as_object().expect("paths") {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if item.get(method).is_some() {
                    out.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        out
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The routes the router declares, as (METHOD, path template), read from the source of
/// `api::router` and `console::router`.
fn router_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for file in ["src/api/mod.rs", "src/console/mod.rs"] {
        let text = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR")))
            .expect("router source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let open = rest.find('"').expect("route path");
            let close = open + 1 + rest[open + 1..].find('"').expect("route path end");
            let path = &rest[open + 1..close];
            // The method chain up to the `)` that closes `.route(`.
            let mut depth = 1;
            let mut end = close + 1;
            for (i, c) in rest[close + 1..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = close + 1 + i;
                    break;
                }
            }
            let chain = &rest[close + 1..end];
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = chain.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !chain.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && chain.as_bytes()[i - 1] != b'_'
                });
                if called {
                    out.insert((method.to_ascii_uppercase(), path.to_string()));
                }
            }
            rest = &rest[end..];
        }
    }
    assert!(out.len() > 40, "too few routes read: {out:?}");
    out
}

/// An answer as it came off the wire.
struct Answer {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl From<RawAnswer> for Answer {
    fn from(r: RawAnswer) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &r.headers {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                reqwest::header::HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        Answer {
            status: r.status,
            content_type: r.header("content-type").unwrap_or("").to_string(),
            headers,
            bytes: r.body,
        }
    }
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn str(&self, pointer: &str) -> String {
        self.json()
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.text()))
            .to_string()
    }
}

/// One request under test.
struct Call<'a> {
    api: &'a Api<'a>,
    client: reqwest::Client,
    method: Method,
    template: String,
    path: String,
    token: Option<String>,
    body: Option<(&'static str, Vec<u8>)>,
    headers: Vec<(&'static str, String)>,
}

impl Call<'_> {
    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(("application/json", body.to_string().into_bytes()));
        self
    }

    fn raw(mut self, content_type: &'static str, body: Vec<u8>) -> Self {
        self.body = Some((content_type, body));
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.path = format!("{}?{query}", self.path);
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Sends it, checks the answer against the spec and that its status is `expect`.
    async fn expect(self, expect: u16) -> Answer {
        let (method, template, path) = (
            self.method.clone(),
            self.template.clone(),
            self.path.clone(),
        );
        let contract = self.api.contract;
        let a = self.send().await;
        if a.status != expect {
            contract.fail(format!(
                "{method} {template} ({path}): expected {expect}, got {} {}",
                a.status,
                a.text()
            ));
        }
        a
    }

    /// Sends it and checks the answer against the spec.
    async fn send(self) -> Answer {
        let mut req = self
            .client
            .request(self.method.clone(), self.api.env.url(&self.path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some((ct, body)) = self.body {
            req = req.header("content-type", ct).body(body);
        }
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r.bytes().await.expect("body").to_vec();
        let a = Answer {
            status,
            content_type,
            headers,
            bytes,
        };
        self.api
            .contract
            .check(self.method.as_str(), &self.template, &a);
        a
    }
}

/// The server under test and the contract.
struct Api<'a> {
    env: &'a Env,
    contract: &'a Contract,
}

impl<'a> Api<'a> {
    /// `method template` with the path parameters filled in order, as `who`.
    fn call(&'a self, who: &Partner, method: &str, template: &str, args: &[&str]) -> Call<'a> {
        self.call_with(who.http.clone(), method, template, args)
    }

    fn call_with(
        &'a self,
        client: reqwest::Client,
        method: &str,
        template: &str,
        args: &[&str],
    ) -> Call<'a> {
        let mut path = String::new();
        let mut rest = template;
        let mut args = args.iter();
        while let Some(open) = rest.find('{') {
            let close = rest.find('}').expect("parameter end");
            path.push_str(&rest[..open]);
            path.push_str(args.next().expect("a value for every path parameter"));
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        assert!(
            args.next().is_none(),
            "more values than parameters in {template}"
        );
        Call {
            api: self,
            client,
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            template: template.to_string(),
            path,
            token: None,
            body: None,
            headers: Vec::new(),
        }
    }
}

fn prof(p: &Partner) -> String {
    p.token("professional", "casusoverleg")
}

/// A token of `p` with its own `sub` (four-eyes steps need two people).
fn token_of(p: &Partner, role: &str, purpose: &str, sub: &str) -> String {
    p.sign(&vhgate::auth::Claims {
        sub: sub.into(),
        ..p.claims(role, purpose)
    })
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

const NEW_OIN: &str = "00000099000000000077";

async fn every_route_answers_as_the_spec_says(env: &Env) {
    let contract = Contract::load();
    let api = Api {
        env,
        contract: &contract,
    };
    let politie = env.client("politie");
    let ggz = env.client("ggz");
    let gemeente = env.client("gemeente");
    let om = env.client("om");
    let vh = env.client("veiligheidshuis");
    let pr = vh.token("procesregisseur", "procesregie");
    let officer = vh.token("privacy_officer", "toezicht");
    let nobody = Uuid::now_v7().to_string();
    let ids = &env.ids;
    let (uden_case, uden_man) = (ids.uden_case.to_string(), ids.uden_man.to_string());

    // --- health and the description -------------------------------------------------------
    api.call(&politie, "GET", "/healthz", &[]).expect(200).await;
    api.call(&politie, "GET", "/readyz", &[]).expect(200).await;
    let served = api
        .call(&politie, "GET", "/openapi.json", &[])
        .expect(200)
        .await;
    assert_eq!(
        served.json(),
        contract.spec,
        "the served description is openapi.json"
    );

    // --- metrics: the monitoring role (the demo's Veiligheidshuis certificate) only --------
    api.call(&vh, "GET", "/metrics", &[]).expect(200).await;
    api.call(&politie, "GET", "/metrics", &[]).expect(403).await;

    // --- reads and lookups ----------------------------------------------------------------
    let person = "/v1/cases/{case_id}/persons/{person_id}";
    let read = api
        .call(&politie, "GET", person, &[&uden_case, &uden_man])
        .token(&prof(&politie))
        .expect(200)
        .await;
    let read_id = read.str("/decision/decision_id");
    api.call(&politie, "GET", person, &[&uden_case, &uden_man])
        .query("leefgebieden=wonen,justitie")
        .token(&prof(&politie))
        .expect(200)
        .await;
    api.call(&politie, "GET", person, &[&uden_case, &uden_man])
        .expect(401)
        .await;
    api.call(&politie, "GET", person, &["not-a-case", &uden_man])
        .token(&prof(&politie))
        .expect(400)
        .await;
    api.call(&politie, "GET", person, &[&uden_case, &uden_man])
        .query("leefgebieden=astrologie")
        .token(&prof(&politie))
        .expect(400)
        .await;
    api.call(&politie, "GET", person, &[&uden_case, &nobody])
        .token(&prof(&politie))
        .expect(404)
        .await;
    // ggz is not at the Oss family's table.
    api.call(
        &ggz,
        "GET",
        person,
        &[&ids.gezin_case.to_string(), &ids.gezin_mother.to_string()],
    )
    .token(&prof(&ggz))
    .expect(403)
    .await;
    let stranger = env.raw_client(&pki().stranger);
    api.call_with(stranger, "GET", person, &[&uden_case, &uden_man])
        .token(&prof(&politie))
        .expect(403)
        .await;

    let bevraging = politie.token("professional", "bevraging");
    api.call(&politie, "POST", "/v1/lookup", &[])
        .token(&bevraging)
        .json(json!({"bsn": ids.uden_man_bsn}))
        .expect(200)
        .await;
    api.call(&politie, "POST", "/v1/lookup", &[])
        .token(&bevraging)
        .json(json!({"bsn": "123"}))
        .expect(400)
        .await;
    api.call(&politie, "POST", "/v1/lookup", &[])
        .json(json!({"bsn": ids.uden_man_bsn}))
        .expect(401)
        .await;

    // --- the case life cycle --------------------------------------------------------------
    let registration = json!({
        "kind": "persoon",
        "region": "oost-brabant",
        "title": "aanmelding overlast centrum",
        "reason": "escalating nuisance, addiction and debts; earlier approaches failed",
        "persons": [{"bsn": fresh_bsn(), "naam": "Jan Contract", "geboortedatum": "1980-02-03"}],
        "problems": [
            {"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]},
            {"leefgebied": "wonen", "leads_to": ["overlast"]}
        ],
        "chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
        "system": {"family": true}
    });
    let registered = api
        .call(&politie, "POST", "/v1/cases", &[])
        .token(&prof(&politie))
        .header("idempotency-key", "contract-1")
        .json(registration.clone())
        .expect(201)
        .await;
    let case = registered.str("/case_id");
    let case_person = registered.str("/persons/0/person_id");
    api.call(&politie, "POST", "/v1/cases", &[])
        .token(&prof(&politie))
        .header("idempotency-key", "contract-1")
        .json(registration.clone())
        .expect(200)
        .await;
    let mut other = registration.clone();
    other["reason"] = json!("another reason for another registration entirely");
    api.call(&politie, "POST", "/v1/cases", &[])
        .token(&prof(&politie))
        .header("idempotency-key", "contract-1")
        .json(other)
        .expect(422)
        .await;
    api.call(&politie, "POST", "/v1/cases", &[])
        .token(&prof(&politie))
        .json(json!({"kind": "persoon"}))
        .expect(400)
        .await;
    api.call(&politie, "POST", "/v1/cases", &[])
        .json(registration.clone())
        .expect(401)
        .await;

    let reg = "/v1/cases/{case_id}/registration";
    api.call(&politie, "GET", reg, &[&case])
        .token(&prof(&politie))
        .expect(200)
        .await;
    api.call(&ggz, "GET", reg, &[&case])
        .token(&prof(&ggz))
        .expect(403)
        .await;
    api.call(&politie, "GET", reg, &["x"])
        .token(&prof(&politie))
        .expect(400)
        .await;
    api.call(&politie, "GET", reg, &[&nobody])
        .token(&prof(&politie))
        .expect(404)
        .await;

    let screening = "/v1/cases/{case_id}/screening";
    api.call(&vh, "GET", screening, &[&case])
        .token(&pr)
        .expect(200)
        .await;
    api.call(&ggz, "GET", screening, &[&case])
        .token(&prof(&ggz))
        .expect(403)
        .await;
    api.call(&vh, "GET", screening, &["x"])
        .token(&pr)
        .expect(400)
        .await;

    let decision = "/v1/cases/{case_id}/screening/decision";
    api.call(&vh, "POST", decision, &[&case])
        .token(&pr)
        .json(json!({"decision": "maybe", "reason": "x"}))
        .expect(400)
        .await;
    api.call(&vh, "POST", decision, &[&case])
        .token(&pr)
        .json(json!({"decision": "veiligheidshuis_case", "reason": "meets criteria 1 to 3"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", decision, &[&nobody])
        .token(&pr)
        .json(json!({"decision": "veiligheidshuis_case", "reason": "meets criteria 1 to 3"}))
        .expect(404)
        .await;

    let invitations = "/v1/cases/{case_id}/invitations";
    api.call(&vh, "POST", invitations, &[&case])
        .token(&pr)
        .json(json!({"oins": [politie.oin, ggz.oin, gemeente.oin]}))
        .expect(200)
        .await;
    api.call(&vh, "POST", invitations, &[&case])
        .token(&pr)
        .json(json!({"oins": []}))
        .expect(400)
        .await;
    api.call(&politie, "POST", invitations, &[&case])
        .token(&prof(&politie))
        .json(json!({"oins": [om.oin]}))
        .expect(403)
        .await;

    let accept = "/v1/cases/{case_id}/invitations/accept";
    for p in [&politie, &ggz, &gemeente] {
        api.call(p, "POST", accept, &[&case])
            .token(&prof(p))
            .expect(200)
            .await;
    }
    api.call(&om, "POST", accept, &[&case])
        .token(&prof(&om))
        .expect(403)
        .await;
    api.call(&om, "POST", accept, &["x"])
        .token(&prof(&om))
        .expect(400)
        .await;

    let regisseur = "/v1/cases/{case_id}/casusregisseur";
    api.call(&vh, "PUT", regisseur, &[&case])
        .token(&pr)
        .json(json!({"oin": ggz.oin}))
        .expect(200)
        .await;
    api.call(&vh, "PUT", regisseur, &[&case])
        .token(&pr)
        .json(json!({"oin": "12"}))
        .expect(400)
        .await;
    api.call(&politie, "PUT", regisseur, &[&case])
        .token(&prof(&politie))
        .json(json!({"oin": politie.oin}))
        .expect(403)
        .await;

    // The plan van aanpak, while the case is at the table.
    let afspraken = "/v1/cases/{case_id}/afspraken";
    let made = api
        .call(&politie, "POST", afspraken, &[&case])
        .token(&prof(&politie))
        .json(json!({"partner_oin": ggz.oin, "action": "intake bij de verslavingszorg plannen", "due_date": in_days(14)}))
        .expect(201)
        .await;
    let afspraak = made.str("/afspraak/id");
    api.call(&politie, "POST", afspraken, &[&case])
        .token(&prof(&politie))
        .json(json!({"partner_oin": ggz.oin, "action": "x", "due_date": "yesterday"}))
        .expect(400)
        .await;
    api.call(&om, "POST", afspraken, &[&case])
        .token(&prof(&om))
        .json(json!({"partner_oin": ggz.oin, "action": "iets doen", "due_date": in_days(3)}))
        .expect(403)
        .await;
    api.call(&politie, "GET", afspraken, &[&case])
        .token(&prof(&politie))
        .expect(200)
        .await;
    api.call(&om, "GET", afspraken, &[&case])
        .token(&prof(&om))
        .expect(403)
        .await;
    api.call(&om, "GET", afspraken, &[&nobody])
        .token(&prof(&om))
        .expect(404)
        .await;

    let one = "/v1/cases/{case_id}/afspraken/{afspraak_id}";
    api.call(&ggz, "PATCH", one, &[&case, &afspraak])
        .token(&prof(&ggz))
        .json(json!({"status": "lopend", "note": "intake gepland voor volgende week"}))
        .expect(200)
        .await;
    api.call(&ggz, "PATCH", one, &[&case, "x"])
        .token(&prof(&ggz))
        .json(json!({"status": "lopend"}))
        .expect(400)
        .await;
    api.call(&ggz, "PATCH", one, &[&case, &nobody])
        .token(&prof(&ggz))
        .json(json!({"status": "lopend"}))
        .expect(404)
        .await;
    api.call(&ggz, "PATCH", one, &[&case, &afspraak])
        .token(&prof(&ggz))
        .json(json!({}))
        .expect(400)
        .await;

    let attention = "/v1/cases/{case_id}/attention";
    api.call(&vh, "GET", attention, &[&case])
        .token(&pr)
        .expect(200)
        .await;
    api.call(&om, "GET", attention, &[&case])
        .token(&prof(&om))
        .expect(403)
        .await;
    api.call(&vh, "GET", "/v1/attention", &[])
        .token(&pr)
        .expect(200)
        .await;
    api.call(&politie, "GET", "/v1/attention", &[])
        .token(&prof(&politie))
        .expect(403)
        .await;

    let escalation = "/v1/cases/{case_id}/escalation";
    let regisseur_token = ggz.token("casusregisseur", "casusoverleg");
    let why = "de afspraken lopen vast; opschalen naar het netwerk";
    api.call(&ggz, "POST", escalation, &[&case])
        .token(&regisseur_token)
        .json(json!({"level": 2, "reason": why}))
        .expect(200)
        .await;
    api.call(&ggz, "POST", escalation, &[&case])
        .token(&regisseur_token)
        .json(json!({"level": 2, "reason": why}))
        .expect(422)
        .await;
    api.call(&ggz, "POST", escalation, &[&case])
        .token(&regisseur_token)
        .json(json!({"level": 9, "reason": why}))
        .expect(400)
        .await;
    api.call(&politie, "POST", escalation, &[&case])
        .token(&prof(&politie))
        .json(json!({"level": 3, "reason": why}))
        .expect(403)
        .await;
    api.call(&ggz, "GET", escalation, &[&case])
        .token(&prof(&ggz))
        .expect(200)
        .await;
    api.call(&om, "GET", escalation, &[&case])
        .token(&prof(&om))
        .expect(403)
        .await;

    // Information items (on the seeded Uden case, where gemeente is at the table).
    let information = "/v1/cases/{case_id}/information";
    let item = json!({
        "person_id": uden_man,
        "leefgebied": "wonen",
        "category": "overig",
        "content": "Huurachterstand van drie maanden; ontruiming dreigt.",
        "ground": "gemeente_sociaal_domein",
    });
    let contributed = api
        .call(&gemeente, "POST", information, &[&uden_case])
        .token(&prof(&gemeente))
        .json(item.clone())
        .expect(201)
        .await;
    let item_id = contributed.str("/item_id");
    let mut bad = item.clone();
    bad["category"] = json!("horoscoop");
    api.call(&gemeente, "POST", information, &[&uden_case])
        .token(&prof(&gemeente))
        .json(bad)
        .expect(400)
        .await;
    api.call(&om, "POST", information, &[&case])
        .token(&prof(&om))
        .json(item.clone())
        .expect(403)
        .await;

    let correction = "/v1/cases/{case_id}/information/{item_id}/correction";
    let corrected = api
        .call(&gemeente, "POST", correction, &[&uden_case, &item_id])
        .token(&prof(&gemeente))
        .json(json!({"content": "Huurachterstand van twee maanden.", "reason": "bedrag herzien"}))
        .expect(200)
        .await;
    let item_v2 = corrected.str("/item_id");
    api.call(&gemeente, "POST", correction, &[&uden_case, "x"])
        .token(&prof(&gemeente))
        .json(json!({"content": "x", "reason": "y"}))
        .expect(400)
        .await;
    api.call(&gemeente, "POST", correction, &[&uden_case, &item_id])
        .token(&prof(&gemeente))
        .json(json!({"content": "opnieuw", "reason": "nogmaals"}))
        .expect(409)
        .await;
    api.call(&gemeente, "POST", correction, &[&uden_case, &nobody])
        .token(&prof(&gemeente))
        .json(json!({"content": "x", "reason": "y"}))
        .expect(404)
        .await;

    let recipients = "/v1/cases/{case_id}/information/{item_id}/recipients";
    api.call(&gemeente, "GET", recipients, &[&uden_case, &item_v2])
        .token(&prof(&gemeente))
        .expect(200)
        .await;
    api.call(&politie, "GET", recipients, &[&uden_case, &item_v2])
        .token(&prof(&politie))
        .expect(403)
        .await;
    api.call(&gemeente, "GET", recipients, &[&uden_case, "x"])
        .token(&prof(&gemeente))
        .expect(400)
        .await;

    let withdrawal = "/v1/cases/{case_id}/information/{item_id}/withdrawal";
    api.call(&gemeente, "POST", withdrawal, &[&uden_case, &item_v2])
        .token(&prof(&gemeente))
        .json(json!({"reason": "onjuist opgenomen"}))
        .expect(200)
        .await;
    api.call(&gemeente, "POST", withdrawal, &[&uden_case, &item_v2])
        .token(&prof(&gemeente))
        .json(json!({"reason": "nogmaals"}))
        .expect(409)
        .await;
    api.call(&gemeente, "POST", withdrawal, &[&uden_case, &item_v2])
        .token(&prof(&gemeente))
        .json(json!({"reason": 5}))
        .expect(400)
        .await;

    let contributions = "/v1/cases/{case_id}/contributions";
    api.call(&gemeente, "GET", contributions, &[&uden_case])
        .token(&prof(&gemeente))
        .expect(200)
        .await;
    api.call(&gemeente, "GET", contributions, &["x"])
        .token(&prof(&gemeente))
        .expect(400)
        .await;
    api.call(&gemeente, "GET", contributions, &[&nobody])
        .token(&prof(&gemeente))
        .expect(404)
        .await;

    // Leaving the table, closing and keeping the closed case longer.
    let participant = "/v1/cases/{case_id}/participants/{oin}";
    api.call(&vh, "DELETE", participant, &[&case, &gemeente.oin])
        .token(&pr)
        .expect(200)
        .await;
    api.call(&vh, "DELETE", participant, &[&case, "123"])
        .token(&pr)
        .expect(400)
        .await;
    api.call(&politie, "DELETE", participant, &[&case, &ggz.oin])
        .token(&prof(&politie))
        .expect(403)
        .await;

    let close = "/v1/cases/{case_id}/close";
    let closing = json!({"outcome": "doelen_bereikt", "reason": "plan van aanpak completed"});
    api.call(&ggz, "POST", close, &[&case])
        .token(&prof(&ggz))
        .json(closing.clone())
        .expect(403)
        .await;
    api.call(&ggz, "POST", close, &[&case])
        .token(&regisseur_token)
        .json(json!({"outcome": "Doelen!", "reason": "x"}))
        .expect(400)
        .await;
    api.call(&ggz, "POST", close, &[&case])
        .token(&regisseur_token)
        .json(closing.clone())
        .expect(200)
        .await;

    let retention = "/v1/cases/{case_id}/retention";
    let until = (chrono::Utc::now() + chrono::Duration::days(1000)).to_rfc3339();
    api.call(&vh, "POST", retention, &[&case])
        .token(&pr)
        .json(json!({"keep_until": until, "reason": "lopend strafrechtelijk onderzoek"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", retention, &[&case])
        .token(&pr)
        .json(json!({"keep_until": "2001-01-01T00:00:00Z", "reason": "te laat"}))
        .expect(400)
        .await;
    api.call(&vh, "POST", retention, &[&uden_case])
        .token(&pr)
        .json(json!({"keep_until": until, "reason": "lopend strafrechtelijk onderzoek"}))
        .expect(403)
        .await;
    let _ = case_person;

    // --- the privacy officer's review -----------------------------------------------------
    let page = api
        .call(&vh, "GET", "/v1/disclosures", &[])
        .token(&officer)
        .query("limit=5")
        .expect(200)
        .await;
    for (i, e) in page.json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .enumerate()
    {
        assert!(e["entry_hash"].is_string(), "entry {i}: {e}");
    }
    api.call(&vh, "GET", "/v1/disclosures", &[])
        .token(&officer)
        .query("limit=0")
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/disclosures", &[])
        .token(&prof(&politie))
        .expect(403)
        .await;
    let search = "/v1/disclosures/search";
    api.call(&vh, "POST", search, &[])
        .token(&officer)
        .json(json!({"bsn": ids.uden_man_bsn, "limit": "10"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", search, &[])
        .token(&officer)
        .json(json!({"bsn": "12"}))
        .expect(400)
        .await;
    api.call(&politie, "POST", search, &[])
        .token(&prof(&politie))
        .json(json!({}))
        .expect(403)
        .await;
    let report = "/v1/subjects/access-report";
    for method in ["GET", "POST"] {
        api.call(&vh, method, report, &[])
            .token(&officer)
            .json(json!({"bsn": ids.uden_man_bsn}))
            .expect(200)
            .await;
        api.call(&vh, method, report, &[])
            .token(&officer)
            .json(json!({"bsn": "Henk"}))
            .expect(400)
            .await;
        api.call(&politie, method, report, &[])
            .token(&prof(&politie))
            .json(json!({"bsn": ids.uden_man_bsn}))
            .expect(403)
            .await;
    }
    let embargo_until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    api.call(&politie, "POST", "/v1/embargoes", &[])
        .token(&prof(&politie))
        .json(json!({"bsn": ids.oss_youth_bsn, "until": embargo_until, "reason": "lopend opsporingsonderzoek"}))
        .expect(201)
        .await;
    api.call(&politie, "POST", "/v1/embargoes", &[])
        .token(&prof(&politie))
        .json(json!({"bsn": ids.oss_youth_bsn, "until": "tomorrow", "reason": "x"}))
        .expect(400)
        .await;

    let signalling = vh.token("procesregisseur", "signalering");
    api.call(&vh, "GET", "/v1/signals", &[])
        .token(&signalling)
        .query("period=year")
        .expect(200)
        .await;
    api.call(&vh, "GET", "/v1/signals", &[])
        .token(&signalling)
        .query("period=fortnight")
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/signals", &[])
        .token(&prof(&politie))
        .query("period=year")
        .expect(403)
        .await;

    // A break-glass read opens a review, which the privacy officer settles once.
    let spoed = ggz.sign(&vhgate::auth::Claims {
        reason: Some("acute dreiging: vader gesignaleerd bij de woning van moeder".into()),
        ..ggz.claims("professional", "spoed")
    });
    let spoed_read = api
        .call(
            &ggz,
            "GET",
            person,
            &[&ids.gezin_case.to_string(), &ids.gezin_mother.to_string()],
        )
        .token(&spoed)
        .expect(200)
        .await;
    let review_id = spoed_read.str("/spoed_review/id");
    api.call(&vh, "GET", "/v1/spoed-reviews", &[])
        .token(&officer)
        .expect(200)
        .await;
    api.call(&vh, "GET", "/v1/spoed-reviews", &[])
        .token(&officer)
        .query("state=all")
        .expect(200)
        .await;
    api.call(&vh, "GET", "/v1/spoed-reviews", &[])
        .token(&officer)
        .query("state=sometime")
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/spoed-reviews", &[])
        .token(&prof(&politie))
        .expect(403)
        .await;
    let review = "/v1/spoed-reviews/{id}/review";
    api.call(&vh, "POST", review, &[&review_id])
        .token(&officer)
        .json(json!({"verdict": "maybe"}))
        .expect(400)
        .await;
    api.call(&vh, "POST", review, &[&review_id])
        .token(&officer)
        .json(json!({"verdict": "justified"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", review, &[&review_id])
        .token(&officer)
        .json(json!({"verdict": "unjustified"}))
        .expect(409)
        .await;
    api.call(&vh, "POST", review, &[&nobody])
        .token(&officer)
        .json(json!({"verdict": "justified"}))
        .expect(404)
        .await;
    api.call(&politie, "POST", review, &[&review_id])
        .token(&prof(&politie))
        .json(json!({"verdict": "justified"}))
        .expect(403)
        .await;

    // --- the transparency log -------------------------------------------------------------
    let note = api
        .call(&politie, "GET", "/v1/log/checkpoint", &[])
        .expect(200)
        .await;
    let size: u64 = note
        .text()
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size");
    assert!(size >= 2, "{}", note.text());
    api.call(&politie, "GET", "/v1/log/proof/inclusion", &[])
        .query(&format!("index=0&size={size}"))
        .expect(200)
        .await;
    api.call(&politie, "GET", "/v1/log/proof/inclusion", &[])
        .query("index=-1&size=2")
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/log/proof/inclusion", &[])
        .query(&format!("index=0&size={}", size + 1000))
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/log/proof/consistency", &[])
        .query(&format!("from=1&to={size}"))
        .expect(200)
        .await;
    api.call(&politie, "GET", "/v1/log/proof/consistency", &[])
        .query("from=1")
        .expect(400)
        .await;
    let entries = api
        .call(&vh, "GET", "/v1/log/entries", &[])
        .token(&officer)
        .query(&format!("start=0&end={size}"))
        .expect(200)
        .await;
    let texts = entries.json()["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(texts.len() as u64, size);
    for (i, text) in texts.iter().enumerate() {
        let entry: Value =
            serde_json::from_str(text.as_str().expect("entry text")).expect("entry json");
        contract.check_entry(&format!("/v1/log/entries entry {i}"), &entry);
    }
    api.call(&vh, "GET", "/v1/log/entries", &[])
        .token(&officer)
        .query("start=0")
        .expect(400)
        .await;
    api.call(&politie, "GET", "/v1/log/entries", &[])
        .token(&prof(&politie))
        .query("start=0&end=1")
        .expect(403)
        .await;
    let receipt = "/v1/log/receipts/{disclosure_id}";
    let proof = api
        .call(&politie, "GET", receipt, &[&read_id])
        .token(&prof(&politie))
        .expect(200)
        .await;
    let extra = proof
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("extra ").map(str::to_owned))
        .expect("extra line");
    let entry: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(extra)
            .expect("base64"),
    )
    .expect("entry json");
    assert_eq!(entry["id"], read_id.as_str());
    contract.check_entry("the receipt's entry", &entry);
    api.call(&politie, "GET", receipt, &["x"])
        .token(&prof(&politie))
        .expect(400)
        .await;
    api.call(&politie, "GET", receipt, &[&nobody])
        .token(&prof(&politie))
        .expect(404)
        .await;
    api.call(&politie, "GET", receipt, &[&read_id])
        .expect(401)
        .await;

    // --- administration: policy bundles and the partner registry (last: they change policy) -
    let alice = token_of(&vh, "convenant_administrator", "beheer", "beheerder-alice");
    let bob = token_of(&vh, "convenant_administrator", "beheer", "beheerder-bob");
    let bundles = "/v1/admin/policy-bundles";
    let first = api
        .call(&vh, "POST", bundles, &[])
        .token(&alice)
        .raw("application/gzip", candidate_bundle("2026-2"))
        .expect(201)
        .await;
    let rev = first.str("/revision");
    api.call(&vh, "POST", bundles, &[])
        .token(&alice)
        .raw("application/gzip", b"garbage".to_vec())
        .expect(400)
        .await;
    api.call(&politie, "POST", bundles, &[])
        .token(&prof(&politie))
        .raw("application/gzip", candidate_bundle("2026-2"))
        .expect(403)
        .await;
    api.call(&vh, "GET", bundles, &[])
        .token(&alice)
        .expect(200)
        .await;
    api.call(&politie, "GET", bundles, &[])
        .token(&prof(&politie))
        .expect(403)
        .await;

    let impact = "/v1/admin/policy-bundles/{revision}/impact";
    api.call(&vh, "GET", impact, &[&rev])
        .token(&bob)
        .query("last=50")
        .expect(200)
        .await;
    api.call(&vh, "GET", impact, &[&rev])
        .token(&bob)
        .query("last=0")
        .expect(400)
        .await;
    api.call(&vh, "GET", impact, &["deadbeef"])
        .token(&bob)
        .expect(404)
        .await;

    let approve = "/v1/admin/policy-bundles/{revision}/approve";
    api.call(&vh, "POST", approve, &[&rev])
        .token(&alice)
        .expect(403)
        .await;
    api.call(&vh, "POST", approve, &[&rev])
        .token(&bob)
        .expect(200)
        .await;
    api.call(&vh, "POST", approve, &[&rev])
        .token(&bob)
        .expect(409)
        .await;
    api.call(&vh, "POST", approve, &["deadbeef"])
        .token(&bob)
        .expect(404)
        .await;

    let second = api
        .call(&vh, "POST", bundles, &[])
        .token(&bob)
        .raw("application/gzip", candidate_bundle("2026-3"))
        .expect(201)
        .await;
    let rev2 = second.str("/revision");
    let reject = "/v1/admin/policy-bundles/{revision}/reject";
    api.call(&vh, "POST", reject, &[&rev2])
        .token(&alice)
        .json(json!({"reason": ""}))
        .expect(400)
        .await;
    api.call(&vh, "POST", reject, &[&rev2])
        .token(&alice)
        .json(json!({"reason": "versie niet afgestemd"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", reject, &["deadbeef"])
        .token(&alice)
        .json(json!({"reason": "versie niet afgestemd"}))
        .expect(404)
        .await;

    let third = api
        .call(&vh, "POST", bundles, &[])
        .token(&alice)
        .raw("application/gzip", candidate_bundle("2026-4"))
        .expect(201)
        .await;
    let rev3 = third.str("/revision");
    api.call(&vh, "POST", approve, &[&rev3])
        .token(&bob)
        .expect(200)
        .await;
    let activate = "/v1/admin/policy-bundles/{revision}/activate";
    api.call(&vh, "POST", activate, &[&rev])
        .token(&alice)
        .expect(200)
        .await;
    api.call(&vh, "POST", activate, &[&rev2])
        .token(&alice)
        .expect(409)
        .await;
    api.call(&politie, "POST", activate, &[&rev3])
        .token(&prof(&politie))
        .expect(403)
        .await;

    api.call(&vh, "GET", "/v1/admin/registry", &[])
        .token(&alice)
        .expect(200)
        .await;
    api.call(&politie, "GET", "/v1/admin/registry", &[])
        .token(&prof(&politie))
        .expect(403)
        .await;
    let changes = "/v1/admin/registry/changes";
    let newcomer = json!({"changes": [{
        "kind": "upsert_partner",
        "oin": NEW_OIN,
        "name": "Woonstichting Nieuw",
        "partner_type": "woningcorporatie"
    }], "note": "toetreding per addendum 3"});
    let proposed = api
        .call(&vh, "POST", changes, &[])
        .token(&alice)
        .json(newcomer.clone())
        .expect(201)
        .await;
    let change = proposed.str("/id");
    api.call(&vh, "POST", changes, &[])
        .token(&alice)
        .json(json!({"changes": [{"kind": "upsert_partner", "oin": "12345", "name": "X", "partner_type": "gemeente"}]}))
        .expect(422)
        .await;
    api.call(&vh, "POST", changes, &[])
        .token(&alice)
        .json(json!({"changes": [{"kind": "teleport"}]}))
        .expect(400)
        .await;
    api.call(&vh, "GET", changes, &[])
        .token(&bob)
        .expect(200)
        .await;
    api.call(&politie, "GET", changes, &[])
        .token(&prof(&politie))
        .expect(403)
        .await;
    let approve_change = "/v1/admin/registry/changes/{id}/approve";
    api.call(&vh, "POST", approve_change, &[&change])
        .token(&alice)
        .expect(403)
        .await;
    api.call(&vh, "POST", approve_change, &[&change])
        .token(&bob)
        .expect(200)
        .await;
    api.call(&vh, "POST", approve_change, &[&change])
        .token(&bob)
        .expect(409)
        .await;
    api.call(&vh, "POST", approve_change, &[&nobody])
        .token(&bob)
        .expect(404)
        .await;
    let change_impact = "/v1/admin/registry/changes/{id}/impact";
    api.call(&vh, "GET", change_impact, &[&change])
        .token(&bob)
        .query("last=50")
        .expect(200)
        .await;
    api.call(&vh, "GET", change_impact, &[&change])
        .token(&bob)
        .query("last=0")
        .expect(400)
        .await;
    api.call(&vh, "GET", change_impact, &[&nobody])
        .token(&bob)
        .expect(404)
        .await;
    api.call(&politie, "GET", change_impact, &[&change])
        .token(&prof(&politie))
        .expect(403)
        .await;
    let again = api
        .call(&vh, "POST", changes, &[])
        .token(&alice)
        .json(newcomer)
        .expect(201)
        .await;
    let reject_change = "/v1/admin/registry/changes/{id}/reject";
    api.call(&vh, "POST", reject_change, &[&again.str("/id")])
        .token(&bob)
        .json(json!({"reason": "dubbel ingediend"}))
        .expect(200)
        .await;
    api.call(&vh, "POST", reject_change, &[&again.str("/id")])
        .token(&bob)
        .json(json!({"reason": "dubbel ingediend"}))
        .expect(409)
        .await;
    api.call(&vh, "POST", reject_change, &[&nobody])
        .token(&bob)
        .json(json!({"reason": "dubbel ingediend"}))
        .expect(404)
        .await;

    // --- refusals before any route: unknown path, wrong method ----------------------------
    api.call(&politie, "GET", "/v1/nothing-here", &[])
        .token(&prof(&politie))
        .expect(404)
        .await;
    api.call(&politie, "DELETE", "/v1/lookup", &[])
        .token(&prof(&politie))
        .expect(405)
        .await;

    // --- security as declared: without a token, every operation that names partnerToken is
    // refused with 401, and every one that names mutualTLS alone answers. --------------------
    for (method, template) in contract.operations() {
        let security = contract.security(&method, &template);
        let args: Vec<String> = template
            .split('{')
            .skip(1)
            .map(|p| match p.split('}').next() {
                Some("oin") => NEW_OIN.to_string(),
                Some("revision") => "deadbeef".to_string(),
                _ => Uuid::now_v7().to_string(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut call = api.call(&politie, &method, &template, &args);
        if method != "GET" && method != "DELETE" {
            call = call.json(json!({}));
        }
        if template.starts_with("/v1/log/proof/") {
            call = call.query("index=0&from=1&size=1&to=1");
        }
        let needs_token = security
            .iter()
            .all(|s| s.iter().any(|n| n == "partnerToken"));
        let a = call.send().await;
        if needs_token != (a.status == 401) {
            contract.fail(format!(
                "{method} {template}: security {security:?}, but without a token it answered {}",
                a.status
            ));
        }
        assert!(
            security.iter().all(|s| s.iter().any(|n| n == "mutualTLS")),
            "{method} {template}: every connection is mutual TLS"
        );
    }

    // --- coverage, both ways ---------------------------------------------------------------
    let routes = router_routes();
    let operations = contract.operations();
    let covered = contract.covered.lock().expect("lock").clone();
    let excluded = |path: &str| EXCLUDED.iter().any(|(prefix, _)| path.starts_with(prefix));
    for (method, path) in &routes {
        if excluded(path) {
            continue;
        }
        if !operations.contains(&(method.clone(), path.clone())) {
            contract.fail(format!("{method} {path}: a route, but not in the spec"));
            continue;
        }
        let statuses: Vec<u16> = covered
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .map(|(_, _, s)| *s)
            .collect();
        if !statuses.iter().any(|s| (200..300).contains(s)) {
            contract.fail(format!("{method} {path}: no success exercised"));
        }
        let exempt = NO_REFUSAL.iter().any(|(m, p, _)| m == method && p == path);
        if !exempt && !statuses.iter().any(|s| (400..500).contains(s)) {
            contract.fail(format!("{method} {path}: no refusal exercised"));
        }
    }
    for (method, path) in &operations {
        if !routes.contains(&(method.clone(), path.clone())) {
            contract.fail(format!("{method} {path}: in the spec, but not a route"));
        }
    }
    let failures = contract.failures.lock().expect("lock");
    assert!(
        failures.is_empty(),
        "{} contract failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} routes ({} operations in the spec), {} (operation, status) pairs checked",
        routes.len(),
        operations.len(),
        covered.len()
    );
}

/// What a problem's detail never holds: the parser's wording, Rust's types, a position.
const NOT_IN_A_DETAIL: &[&str] = &[
    "serde",
    "invalid type",
    "at line",
    "line 1 column",
    "struct ",
    "enum ",
    "String",
    "Vec<",
    "Option<",
    "u8",
    "u16",
    "u32",
    "u64",
    "i32",
    "i64",
    "usize",
    "Body",
    "Request",
    "::",
    "`",
];

/// politie's mutual-TLS client configuration, for raw exchanges.
fn politie_tls() -> rustls::ClientConfig {
    let layout = &pki().layout;
    mtls_config(
        &std::fs::read_to_string(layout.partner_cert("politie")).expect("cert"),
        &std::fs::read_to_string(layout.partner_key("politie")).expect("key"),
    )
}

/// Sends `request` as raw bytes over politie's mutual TLS and checks the answer as an answer of
/// `method template`.
async fn raw_call(
    env: &Env,
    contract: &Contract,
    method: &str,
    template: &str,
    request: &[u8],
) -> Answer {
    let a: Answer = raw_exchange(env, politie_tls(), request)
        .await
        .unwrap_or_else(|e| panic!("{method} {template}: {e}"))
        .into();
    contract.check(method, template, &a);
    a
}

/// The answer is the problem `slug` with `status`, and (if `logged`) its refusal is the newest
/// log entry, else no entry was written since `before`.
async fn refused(env: &Env, a: &Answer, status: u16, slug: &str, before: i64, logged: bool) {
    let p = a.json();
    assert_eq!(a.status, status, "{}", a.text());
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(p["type"], format!("urn:vhgate:problem:{slug}"), "{p}");
    if logged {
        assert_eq!(env.log_count().await, before + 1, "one entry for {p}");
        let e = env.last_entry().await;
        assert_eq!(e["event"], "request_refused", "{e}");
        assert_eq!(e["status"], status, "{e}");
        assert_eq!(e["problem_type"], slug, "{e}");
        assert_eq!(p["disclosure_id"], e["id"]);
    } else {
        assert_eq!(env.log_count().await, before, "no entry for {p}");
        assert!(p.get("disclosure_id").is_none(), "{p}");
    }
}

/// A body refused on a route, and what the refusal's detail must say.
struct BadBody<'a> {
    who: &'a Partner,
    token: String,
    template: &'static str,
    args: Vec<&'a str>,
    body: Value,
    says: &'static str,
}

/// Bad input of every kind, on the routes that read it: 400 (or 422) problem+json whose
/// detail says which member or parameter is wrong, in words a client can act on.
async fn refusals_are_problem_json_that_names_the_member(env: &Env) {
    let contract = Contract::load();
    let api = Api {
        env,
        contract: &contract,
    };
    let politie = env.client("politie");
    let vh = env.client("veiligheidshuis");
    let pr = vh.token("procesregisseur", "procesregie");
    let officer = vh.token("privacy_officer", "toezicht");
    let case = env.ids.uden_case.to_string();
    let bodies: &[(&str, &str, &str)] = &[
        // (body, what the detail must say, what it must not)
        ("{\"kind\": \"persoon\"", "ends before its JSON is complete", ""),
        ("{\"kind\": persoon}", "not valid JSON", "persoon"),
        ("[\"persoon\"]", "must be a JSON object", ""),
        ("", "the body is empty", ""),
        ("{\"kind\": \"persoon\", \"region\": \"oost-brabant\", \"persons\": []}", "reason is required", ""),
        (
            "{\"kind\": \"persoon\", \"region\": 5, \"reason\": \"x\", \"persons\": []}",
            "region must be a string, not a number",
            "",
        ),
        (
            "{\"kind\": \"persoon\", \"region\": \"x\", \"reason\": \"x\", \"persons\": [{\"bsn\": 999990019}]}",
            "persons[0].bsn must be a string, not a number",
            "999990019",
        ),
        (
            "{\"kind\": \"persoon\", \"region\": \"x\", \"reason\": \"x\", \"persons\": \"Henk de Vries\"}",
            "persons must be a list, not a string",
            "Henk",
        ),
        (
            "{\"kind\": \"persoon\", \"region\": \"x\", \"reason\": \"x\", \"persons\": [], \"Henk de Vries\": 1}",
            "has an unknown member (allowed: kind, region",
            "Henk",
        ),
        (
            "{\"kind\": \"persoon\", \"region\": \"x\", \"reason\": \"x\", \"persons\": [], \"adviesvraag\": \"ja\"}",
            "adviesvraag must be true or false, not a string",
            "",
        ),
        (
            "{\"kind\": \"persoon\", \"region\": \"x\", \"reason\": \"x\", \"persons\": [{\"bsn\": \"1\", \"bsn\": \"2\"}]}",
            "persons[0].bsn is given twice",
            "",
        ),
    ];
    for (body, says, never) in bodies {
        let before = env.log_count().await;
        let a = api
            .call(&politie, "POST", "/v1/cases", &[])
            .token(&prof(&politie))
            .raw("application/json", body.as_bytes().to_vec())
            .expect(400)
            .await;
        refused(env, &a, 400, "invalid-body", before, true).await;
        let detail = a.json()["detail"].as_str().unwrap_or("").to_string();
        assert!(detail.contains(says), "{body}: {detail}");
        if !never.is_empty() {
            assert!(!detail.contains(never), "{body}: {detail}");
        }
        for banned in NOT_IN_A_DETAIL {
            assert!(!detail.contains(banned), "{body}: {banned:?} in {detail:?}");
        }
    }
    // Other bodies, other routes: the member is named the same way.
    let others = [
        BadBody {
            who: &politie,
            token: prof(&politie),
            template: "/v1/lookup",
            args: vec![],
            body: json!({"bsn": 123456782}),
            says: "bsn must be a string, not a number",
        },
        BadBody {
            who: &politie,
            token: prof(&politie),
            template: "/v1/lookup",
            args: vec![],
            body: json!({}),
            says: "bsn is required",
        },
        BadBody {
            who: &vh,
            token: pr.clone(),
            template: "/v1/cases/{case_id}/escalation",
            args: vec![&case],
            body: json!({"level": "twee", "reason": "waarom ook niet"}),
            says: "level must be a whole number, not a string",
        },
        BadBody {
            who: &vh,
            token: pr.clone(),
            template: "/v1/cases/{case_id}/invitations",
            args: vec![&case],
            body: json!({"oins": "00000001003214345000"}),
            says: "oins must be a list, not a string",
        },
        BadBody {
            who: &vh,
            token: officer.clone(),
            template: "/v1/disclosures/search",
            args: vec![],
            body: json!({"limit": 5}),
            says: "must be a string, not a number",
        },
        BadBody {
            who: &vh,
            token: officer.clone(),
            template: "/v1/admin/registry/changes",
            args: vec![],
            body: json!({"changes": [{"kind": "teleport"}]}),
            says: "must be one of upsert_partner",
        },
        BadBody {
            who: &vh,
            token: officer.clone(),
            template: "/v1/admin/registry/changes",
            args: vec![],
            body: json!({"changes": {}}),
            says: "changes must be a list, not an object",
        },
        BadBody {
            who: &politie,
            token: prof(&politie),
            template: "/v1/embargoes",
            args: vec![],
            body: json!({"bsn": "999990019", "until": 5, "reason": "x"}),
            says: "until must be a string, not a number",
        },
    ];
    for BadBody {
        who,
        token,
        template,
        args,
        body,
        says,
    } in others
    {
        let before = env.log_count().await;
        let a = api
            .call(who, "POST", template, &args)
            .token(&token)
            .json(body.clone())
            .expect(400)
            .await;
        refused(env, &a, 400, "invalid-body", before, true).await;
        let detail = a.json()["detail"].as_str().unwrap_or("").to_string();
        assert!(detail.contains(says), "{template} {body}: {detail}");
        for banned in NOT_IN_A_DETAIL {
            assert!(
                !detail.contains(banned),
                "{template} {body}: {banned:?} in {detail:?}"
            );
        }
    }
    // Path ids and query parameters.
    let person = "/v1/cases/{case_id}/persons/{person_id}";
    let paths: Vec<(&'static str, Vec<&str>, &str, &str, &str)> = vec![
        (
            person,
            vec!["not-a-case", &case],
            "",
            "invalid-case-id",
            "not a valid UUID",
        ),
        (
            person,
            vec![&case, "999990019"],
            "",
            "invalid-person-id",
            "not a valid UUID",
        ),
        (
            person,
            vec![&case, &case],
            "wie=ik",
            "invalid-query",
            "unknown query parameter wie",
        ),
        (
            "/v1/log/receipts/{disclosure_id}",
            vec!["%7Bx%7D"],
            "",
            "invalid-disclosure-id",
            "not a valid UUID",
        ),
        (
            "/v1/disclosures",
            vec![],
            "limit=veel",
            "invalid-query",
            "limit must be 1 to 1000",
        ),
        (
            "/v1/disclosures",
            vec![],
            "since=gisteren",
            "invalid-query",
            "since must be an RFC 3339 time",
        ),
        (
            "/v1/log/entries",
            vec![],
            "start=-1&end=2",
            "invalid-query",
            "start must be a non-negative integer",
        ),
        (
            "/v1/spoed-reviews",
            vec![],
            "state=later",
            "invalid-query",
            "state must be",
        ),
    ];
    for (template, args, query, slug, says) in paths {
        let token = if template.starts_with("/v1/cases") || template.starts_with("/v1/log/receipts")
        {
            prof(&politie)
        } else {
            officer.clone()
        };
        let who = if token == officer { &vh } else { &politie };
        let before = env.log_count().await;
        let mut call = api.call(who, "GET", template, &args).token(&token);
        if !query.is_empty() {
            call = call.query(query);
        }
        let a = call.expect(400).await;
        refused(env, &a, 400, slug, before, true).await;
        let detail = a.json()["detail"].as_str().unwrap_or("").to_string();
        assert!(detail.contains(says), "{template}?{query}: {detail}");
        assert!(!detail.contains("999990019"), "{detail}");
        for banned in NOT_IN_A_DETAIL {
            assert!(
                !detail.contains(banned),
                "{template}: {banned:?} in {detail:?}"
            );
        }
    }
    // No such route, no such method.
    let before = env.log_count().await;
    let a = api
        .call(&politie, "GET", "/v1/personen/999990019", &[])
        .token(&prof(&politie))
        .expect(404)
        .await;
    refused(env, &a, 404, "no-such-route", before, true).await;
    let before = env.log_count().await;
    let a = api
        .call(&politie, "PUT", "/v1/lookup", &[])
        .token(&prof(&politie))
        .json(json!({"bsn": "999990019"}))
        .expect(405)
        .await;
    refused(env, &a, 405, "method-not-allowed", before, true).await;
    let failures = contract.failures.lock().expect("lock");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Bodies and headers over the limits: 413 and 431 problem+json, logged when the gateway
/// refuses them itself and unlogged when the HTTP parser does (no request exists yet).
async fn limits_are_problem_json(env: &Env) {
    let contract = Contract::load();
    let api = Api {
        env,
        contract: &contract,
    };
    let politie = env.client("politie");
    let token = politie.token("professional", "bevraging");
    let auth = format!("Bearer {token}");
    let big = format!("{{\"bsn\": \"{}\"}}", " ".repeat(70 * 1024));

    // Declared too large, and counted too large while reading a chunked body.
    let before = env.log_count().await;
    let a = api
        .call(&politie, "POST", "/v1/lookup", &[])
        .token(&token)
        .raw("application/json", big.clone().into_bytes())
        .expect(413)
        .await;
    refused(env, &a, 413, "body-too-large", before, true).await;
    let mut chunked = Vec::new();
    for chunk in big.as_bytes().chunks(4096) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let request = raw(
        "POST",
        "/v1/lookup",
        &[
            ("authorization", auth.as_bytes()),
            ("content-type", b"application/json"),
            ("transfer-encoding", b"chunked"),
        ],
        &chunked,
    );
    let before = env.log_count().await;
    let a = raw_call(env, &contract, "POST", "/v1/lookup", &request).await;
    refused(env, &a, 413, "body-too-large", before, true).await;

    // Not JSON.
    let before = env.log_count().await;
    let a = api
        .call(&politie, "POST", "/v1/lookup", &[])
        .token(&token)
        .raw("text/plain", b"bsn=999990019".to_vec())
        .expect(415)
        .await;
    refused(env, &a, 415, "unsupported-media-type", before, true).await;

    // Headers: over the gateway's 32 KiB (logged), over the parser's buffer or count (not).
    let filler = vec![b'a'; 40 * 1024];
    let request = raw("GET", "/healthz", &[("x-filler", &filler)], b"");
    let before = env.log_count().await;
    let a = raw_call(env, &contract, "GET", "/healthz", &request).await;
    refused(env, &a, 431, "headers-too-large", before, true).await;
    let huge = vec![b'c'; 1024 * 1024];
    let request = raw("GET", "/healthz", &[("x-filler", &huge)], b"");
    let before = env.log_count().await;
    let a = raw_call(env, &contract, "GET", "/healthz", &request).await;
    refused(env, &a, 431, "headers-too-large", before, false).await;
    assert_eq!(
        a.headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    let many: Vec<(&str, &[u8])> = (0..150).map(|_| ("x-many", &b"1"[..])).collect();
    let request = raw("GET", "/healthz", &many, b"");
    let before = env.log_count().await;
    let a = raw_call(env, &contract, "GET", "/healthz", &request).await;
    refused(env, &a, 431, "headers-too-large", before, false).await;
    // Not HTTP at all.
    let before = env.log_count().await;
    let a = raw_call(
        env,
        &contract,
        "GET",
        "/healthz",
        b"GET /healthz HTTP/1.1\r\nbad header: x\r\n\r\n",
    )
    .await;
    refused(env, &a, 400, "invalid-request", before, false).await;
    let failures = contract.failures.lock().expect("lock");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A client too slow with its request: 408 problem+json. The timeouts are the server's own
/// (short here), so the test waits for the gateway, not for a clock of its own.
async fn slow(backend: common::Backend) {
    let Some(env) = Env::start_with(backend, |c| {
        c.server.header_read_timeout_ms = 500;
        c.server.request_timeout_ms = 1000;
    })
    .await
    else {
        return;
    };
    let contract = Contract::load();
    let politie = env.client("politie");
    let auth = format!("Bearer {}", politie.token("professional", "bevraging"));

    // A head that stops halfway: 408 once the header-read timeout passes; no request exists
    // yet, so no entry.
    let before = env.log_count().await;
    let a = raw_call(
        &env,
        &contract,
        "GET",
        "/healthz",
        b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-slow: ",
    )
    .await;
    refused(&env, &a, 408, "request-timeout", before, false).await;
    assert_eq!(
        a.headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );

    // A connection that never starts a request is closed without an answer.
    let idle = raw_exchange(&env, politie_tls(), b"").await;
    assert!(idle.is_err(), "an idle connection got an answer");

    // A body that stops halfway: 408 once request_timeout_ms passes, logged like every refusal
    // of a request, and the connection closes (the rest of the body would be the next request).
    // (Keep-alive asked for: the gateway's answer itself must close the connection.)
    let request = format!(
        "POST /v1/lookup HTTP/1.1\r\nhost: localhost\r\nauthorization: {auth}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"bsn\": \"99"
    )
    .into_bytes();
    let before = env.log_count().await;
    let a = raw_call(&env, &contract, "POST", "/v1/lookup", &request).await;
    refused(&env, &a, 408, "request-timeout", before, true).await;
    assert_eq!(
        a.headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    {
        let failures = contract.failures.lock().expect("lock");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    env.stop().await;
}
