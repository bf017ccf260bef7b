//! Observability over the real server: `/metrics` for the monitoring role only (and never a
//! BSN, case id, name or subject in a label), W3C trace context (`traceparent` continued,
//! `traceresponse` echoed, the ids in the log entry), and the real binary's logs: JSON lines
//! with one access event per request and no ANSI codes, BSNs or names.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{pki, Backend, Env, ServeConfig};
use reqwest::StatusCode;
use serde_json::Value;
use vhgate::config::LogFormat;
use vhgate::demo::{dev_token, DevTokenSpec, DEMO_MONITORING_PARTNER};

on_both_backends!(
    metrics_are_for_the_monitoring_role_and_name_nobody,
    a_partner_trace_continues_through_the_gateway_into_the_log,
    without_a_partner_trace_the_gateway_starts_one,
);

const PARTNER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARTNER_SPAN: &str = "00f067aa0ba902b7";

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `(trace id, span id, flags)` of a `traceresponse` header.
fn traceresponse(headers: &reqwest::header::HeaderMap) -> (String, String, String) {
    let v = headers
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .expect("a traceresponse header");
    let parts: Vec<&str> = v.split('-').collect();
    assert_eq!(parts.len(), 4, "{v}");
    assert_eq!(parts[0], "00", "{v}");
    assert!(
        is_hex(parts[1], 32) && is_hex(parts[2], 16) && is_hex(parts[3], 2),
        "{v}"
    );
    (parts[1].into(), parts[2].into(), parts[3].into())
}

/// The log entry with this disclosure id (parsed JSON).
async fn entry(env: &Env, disclosure_id: &str) -> Value {
    let n = env.log_count().await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, n)
        .await
        .expect("rows");
    rows.iter()
        .map(|r| serde_json::from_str::<Value>(&r.entry).expect("entry"))
        .find(|e| e["id"] == disclosure_id)
        .expect("the entry the answer named")
}

fn disclosure_id(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("disclosure-id")
        .and_then(|v| v.to_str().ok())
        .expect("a Disclosure-Id")
        .to_string()
}

/// Label values of every sample line.
fn label_values(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line.split_once('{').and_then(|(_, r)| r.rsplit_once('}')) else {
            continue;
        };
        let mut rest = labels.0;
        while let Some((_, after)) = rest.split_once("=\"") {
            let end = after.find('"').expect("closing quote");
            values.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    values
}

async fn metrics_are_for_the_monitoring_role_and_name_nobody(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let read = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let name = read.body["person"]["naam"]
        .as_str()
        .expect("a disclosed name")
        .to_string();
    // The same token again: a cache hit.
    let again = politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let hit = politie.lookup(env, &token, env.ids.oss_youth_bsn).await;
    assert_eq!(hit.status, StatusCode::OK, "{}", hit.body);
    let woning = env.client("woningcorporatie");
    let refused = woning
        .read_person(
            env,
            &woning.token("professional", "casusoverleg"),
            env.ids.gezin_case,
            env.ids.gezin_mother,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A raw path with a BSN in it matches no route: only "unmatched" may be counted.
    let unmatched = politie
        .get(
            env,
            &format!("/v1/persons/{}", env.ids.uden_man_bsn),
            &token,
        )
        .await;
    assert_eq!(unmatched.status, StatusCode::NOT_FOUND);

    // A partner without the monitoring role: 403 problem+json, logged like every refusal.
    let denied = politie.get(env, "/metrics", "").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.content_type(), "application/problem+json");
    assert_eq!(denied.problem(), "forbidden");
    let logged = entry(env, &disclosure_id(&denied.headers)).await;
    assert_eq!(logged["event"], "request_refused");
    assert_eq!(logged["reasons"][0], "GET /metrics");

    let monitoring = env.client(DEMO_MONITORING_PARTNER);
    let scrape = monitoring
        .http
        .get(env.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(scrape.status(), StatusCode::OK);
    let content_type = scrape
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = scrape.text().await.expect("body");

    let sample = |name: &str, labels: &[&str]| {
        text.lines().any(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with(['{', ' '])
                && labels.iter().all(|want| l.contains(want))
        })
    };
    for (name, labels) in [
        (
            "vhgate_http_requests_total",
            &[
                "route=\"/v1/cases/{case_id}/persons/{person_id}\"",
                "method=\"GET\"",
                "status=\"200\"",
                "partner_type=\"politie\"",
            ][..],
        ),
        (
            "vhgate_http_requests_total",
            &["route=\"/v1/lookup\"", "method=\"POST\"", "status=\"200\""][..],
        ),
        (
            "vhgate_http_requests_total",
            &["status=\"403\"", "partner_type=\"woningcorporatie\""][..],
        ),
        (
            "vhgate_http_requests_total",
            &["route=\"unmatched\"", "status=\"404\""][..],
        ),
        (
            "vhgate_http_requests_total",
            &[
                "route=\"/metrics\"",
                "status=\"403\"",
                "partner_type=\"none\"",
            ][..],
        ),
        (
            "vhgate_http_request_duration_seconds_bucket",
            &["route=\"/v1/lookup\"", "le=\""][..],
        ),
        (
            "vhgate_policy_decision_duration_seconds_bucket",
            &["event=\"read_person\""][..],
        ),
        (
            "vhgate_policy_decision_duration_seconds_count",
            &["event=\"lookup\""][..],
        ),
        ("vhgate_log_commit_duration_seconds_bucket", &[][..]),
        ("vhgate_log_commit_batch_size_bucket", &[][..]),
        ("vhgate_log_writer_queue_depth", &[][..]),
        ("vhgate_token_cache_hits_total", &[][..]),
        ("vhgate_token_cache_misses_total", &[][..]),
        ("vhgate_db_pool_connections", &[][..]),
        ("vhgate_db_pool_idle_connections", &[][..]),
    ] {
        assert!(
            sample(name, labels),
            "no {name} with {labels:?} in:\n{text}"
        );
    }
    let revision = env.gateway().policy().revision().to_string();
    assert!(
        text.lines()
            .any(|l| l == format!("vhgate_policy_revision_info{{revision=\"{revision}\"}} 1")),
        "{text}"
    );

    // Nothing personal in a label: no BSN, case or person id, name or token subject.
    let personal = [
        env.ids.uden_man_bsn.to_string(),
        env.ids.oss_youth_bsn.to_string(),
        env.ids.unknown_bsn.to_string(),
        env.ids.oss_case.to_string(),
        env.ids.oss_youth.to_string(),
        env.ids.gezin_case.to_string(),
        env.ids.gezin_mother.to_string(),
        name.clone(),
        politie.claims("professional", "casusoverleg").sub,
    ];
    let values = label_values(&text);
    assert!(values.iter().any(|v| v == "/v1/lookup"), "labels parsed");
    for v in &values {
        assert!(
            !personal.iter().any(|p| v.contains(p.as_str())),
            "personal data in a label: {v}"
        );
        let longest_number = v
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            *v == revision || longest_number < 9,
            "a label with a long number (a BSN?): {v}"
        );
    }
    for p in &personal {
        assert!(!text.contains(p.as_str()), "{p} in the metrics");
    }
    let openapi = politie.get(env, "/openapi.json", "").await;
    assert!(openapi.body["paths"]["/metrics"]["get"].is_object());
    env.assert_log_intact().await;
}

async fn a_partner_trace_continues_through_the_gateway_into_the_log(env: &Env) {
    let traceparent = format!("00-{PARTNER_TRACE}-{PARTNER_SPAN}-01");
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let path = format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    );

    // Allowed, refused before authentication, and refused by the guard (unknown route): each
    // answer names the gateway's span, and the entry it wrote records the same ids.
    let allowed = politie
        .send(
            env,
            reqwest::Method::GET,
            &path,
            &token,
            None,
            &[("traceparent", &traceparent)],
        )
        .await;
    let no_token = politie
        .send(
            env,
            reqwest::Method::GET,
            &path,
            "",
            None,
            &[("traceparent", &traceparent)],
        )
        .await;
    let no_route = politie
        .send(
            env,
            reqwest::Method::GET,
            "/v1/nowhere",
            &token,
            None,
            &[("traceparent", &traceparent)],
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_route.status, StatusCode::NOT_FOUND);
    let mut spans = Vec::new();
    for answer in [&allowed, &no_token, &no_route] {
        let (trace, span, flags) = traceresponse(&answer.headers);
        assert_eq!(trace, PARTNER_TRACE, "the partner's trace continues");
        assert_ne!(span, PARTNER_SPAN, "the gateway's own span");
        assert_eq!(flags, "01", "the partner's flags");
        let e = entry(env, &disclosure_id(&answer.headers)).await;
        assert_eq!(e["trace_id"], PARTNER_TRACE, "{e}");
        assert_eq!(e["span_id"], span.as_str(), "{e}");
        assert_eq!(e["parent_span_id"], PARTNER_SPAN, "{e}");
        assert_eq!(e["traceparent"], traceparent.as_str(), "{e}");
        spans.push(span);
    }
    spans.sort();
    spans.dedup();
    assert_eq!(spans.len(), 3, "a new span per request");

    // Answers without an entry carry it too.
    let health = politie.get(env, "/healthz", "").await;
    assert_eq!(traceresponse(&health.headers).0.len(), 32);
    env.assert_log_intact().await;
}

async fn without_a_partner_trace_the_gateway_starts_one(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let uppercase = format!(
        "00-{}-{PARTNER_SPAN}-01",
        PARTNER_TRACE.to_ascii_uppercase()
    );
    let mut traces = Vec::new();
    for header in [None, Some(uppercase.as_str()), Some("garbage")] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("traceparent", h)).into_iter().collect();
        let hit = politie
            .send(
                env,
                reqwest::Method::POST,
                "/v1/lookup",
                &token,
                Some(&serde_json::json!({ "bsn": env.ids.oss_youth_bsn })),
                &headers,
            )
            .await;
        assert_eq!(hit.status, StatusCode::OK, "{}", hit.body);
        let (trace, span, flags) = traceresponse(&hit.headers);
        assert_ne!(trace, PARTNER_TRACE);
        assert_ne!(trace, "0".repeat(32));
        assert_eq!(flags, "03", "sampled, random trace id");
        let e = entry(env, &disclosure_id(&hit.headers)).await;
        assert_eq!(e["trace_id"], trace.as_str(), "{e}");
        assert_eq!(e["span_id"], span.as_str(), "{e}");
        assert!(e.get("parent_span_id").is_none(), "{e}");
        assert!(
            e["traceparent"].is_null(),
            "an invalid traceparent is not kept: {e}"
        );
        traces.push(trace);
    }
    traces.dedup();
    assert_eq!(traces.len(), 3, "a new trace per request");
    env.assert_log_intact().await;
}

// ---- The real binary's diagnostic log ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serve_writes_json_logs_with_one_access_line_per_request() {
    serve_logs(Backend::Sqlite, LogFormat::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_writes_json_logs_with_one_access_line_per_request() {
    serve_logs(Backend::Postgres, LogFormat::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serve_writes_text_logs_without_colours_to_a_pipe() {
    serve_logs(Backend::Sqlite, LogFormat::Text).await;
}

/// `vhgate serve` with its stderr on a pipe, its lines as they come.
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: std::thread::JoinHandle<String>,
}

impl Served {
    fn start(config_file: &Path) -> Served {
        let mut command = Command::new(common::vhgate_bin());
        // The file is the whole configuration: the test run's own VHGATE_* variables (the
        // gateway reads them as settings) and RUST_LOG (the default filter is under test) go.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("VHGATE_") {
                command.env_remove(k);
            }
        }
        let mut child = command
            .args(["serve", "--config"])
            .arg(config_file)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vhgate serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
            out
        });
        Served {
            child,
            lines,
            stdout,
        }
    }

    /// The next line (a generous bound only so a broken start fails instead of hanging).
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the gateway wrote a line")
    }

    /// Stops the gateway; what it wrote on stderr after `seen` and on stdout.
    /// Stops the gateway as an operator would (SIGTERM: it drains and writes the diagnostic
    /// lines still queued), then gives the lines not read yet and stdout.
    fn stop(mut self) -> (Vec<String>, String) {
        let terminated = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let rest = self.lines.iter().collect();
        (rest, self.stdout.join().expect("stdout reader"))
    }
}

async fn serve_logs(backend: Backend, format: LogFormat) {
    let pki = pki();
    // Port 0: the gateway says where it listens.
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let Some(serve) = ServeConfig::prepare(backend, listen, |c| c.log.format = format).await else {
        return;
    };
    let ids = &serve.ids;
    let served = Served::start(&serve.file);
    let mut before = Vec::new();
    let addr: SocketAddr = loop {
        let line = served.next_line();
        let found = if format == LogFormat::Json {
            let v: Value = serde_json::from_str(&line).expect("a JSON line");
            (v["message"] == "vhgate listening (mutual TLS)")
                .then(|| v["addr"].as_str().expect("addr").parse().expect("address"))
        } else {
            line.split_once("addr=")
                .filter(|_| line.contains("vhgate listening"))
                .map(|(_, a)| {
                    a.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .parse()
                        .expect("address")
                })
        };
        before.push(line);
        if let Some(addr) = found {
            break addr;
        }
    };

    let client = |partner: &str| {
        let cert = std::fs::read_to_string(pki.layout.partner_cert(partner)).expect("cert");
        let key = std::fs::read_to_string(pki.layout.partner_key(partner)).expect("key");
        common::mtls_client(addr, &cert, &key)
    };
    let token = |partner: &str| {
        dev_token(
            &pki.layout,
            &DevTokenSpec::new(partner, "professional", "casusoverleg", 600),
        )
        .expect("token")
    };
    let url = |path: &str| format!("https://localhost:{}{path}", addr.port());
    let reclassering = client("reclassering");
    let politie = client("politie");
    let traceparent = format!("00-{PARTNER_TRACE}-{PARTNER_SPAN}-01");

    // 1. A full read with the partner's trace (the name is disclosed, never logged).
    let read = reclassering
        .get(url(&format!(
            "/v1/cases/{}/persons/{}",
            ids.uden_case, ids.uden_man
        )))
        .bearer_auth(token("reclassering"))
        .header("traceparent", &traceparent)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), StatusCode::OK);
    let read_id = disclosure_id(read.headers());
    let (_, read_span, _) = traceresponse(read.headers());
    let body: Value = read.json().await.expect("json");
    let name = body["person"]["naam"].as_str().expect("name").to_string();
    // 2. A lookup by BSN.
    let lookup = politie
        .post(url("/v1/lookup"))
        .bearer_auth(token("politie"))
        .json(&serde_json::json!({ "bsn": ids.oss_youth_bsn }))
        .send()
        .await
        .expect("lookup");
    assert_eq!(lookup.status(), StatusCode::OK);
    // 3. No token.
    let no_token = politie
        .get(url(&format!(
            "/v1/cases/{}/persons/{}",
            ids.uden_case, ids.uden_man
        )))
        .send()
        .await
        .expect("no token");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    // 4. A BSN in a path no route matches.
    let unmatched = politie
        .get(url(&format!("/v1/persons/{}", ids.uden_man_bsn)))
        .send()
        .await
        .expect("unmatched");
    assert_eq!(unmatched.status(), StatusCode::NOT_FOUND);
    // 5. Health, 6. metrics for the monitoring role.
    let health = politie.get(url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let scrape = client(DEMO_MONITORING_PARTNER)
        .get(url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(scrape.status(), StatusCode::OK);
    let requests = 6;

    // Every access line is out once the gateway has stopped.
    let (rest, stdout) = served.stop();
    let lines: Vec<String> = before.into_iter().chain(rest).collect();
    let all = lines.join("\n");
    assert!(!all.contains('\u{1b}'), "ANSI escapes on a pipe:\n{all}");
    for secret in [ids.uden_man_bsn, ids.oss_youth_bsn, name.as_str()] {
        assert!(!all.contains(secret), "{secret} in the log:\n{all}");
        assert!(!stdout.contains(secret), "{secret} on stdout:\n{stdout}");
    }

    if format == LogFormat::Text {
        let access: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("vhgate::access"))
            .collect();
        assert_eq!(access.len(), requests, "{all}");
        assert!(
            access
                .iter()
                .any(|l| l.contains(&read_id) && l.contains(PARTNER_TRACE)),
            "{all}"
        );
    } else {
        let events: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let access: Vec<&Value> = events
            .iter()
            .filter(|e| e["target"] == "vhgate::access")
            .collect();
        assert_eq!(access.len(), requests, "{all}");
        for a in &access {
            for field in [
                "method",
                "route",
                "status",
                "duration_ms",
                "trace_id",
                "span_id",
                "oin",
            ] {
                assert!(!a[field].is_null(), "{field} missing: {a}");
            }
            assert!(is_hex(a["trace_id"].as_str().unwrap_or(""), 32), "{a}");
            // The span carries the same ids, so every line inside the request does.
            assert_eq!(a["span"]["trace_id"], a["trace_id"], "{a}");
            assert_eq!(a["span"]["name"], "request", "{a}");
        }
        let read = access
            .iter()
            .find(|a| a["decision_id"] == read_id.as_str())
            .expect("the read's access line names its decision");
        assert_eq!(read["route"], "/v1/cases/{case_id}/persons/{person_id}");
        assert_eq!(read["method"], "GET");
        assert_eq!(read["status"], 200);
        assert_eq!(read["trace_id"], PARTNER_TRACE);
        assert_eq!(read["span_id"], read_span.as_str());
        assert_eq!(read["parent_span_id"], PARTNER_SPAN);
        assert_eq!(read["traceparent"], traceparent.as_str());
        assert_eq!(
            read["oin"],
            vhgate::pki::demo_partner("reclassering")
                .expect("partner")
                .oin
        );
        let routes: Vec<&str> = access.iter().filter_map(|a| a["route"].as_str()).collect();
        for route in ["/v1/lookup", "unmatched", "/healthz", "/metrics"] {
            assert!(routes.contains(&route), "{route} not in {routes:?}");
        }
        assert!(
            access
                .iter()
                .all(|a| a.get("traceparent").is_none() || a["decision_id"] == read_id.as_str()),
            "only the traced request names a traceparent"
        );
    }

    serve.drop_database().await;
}
