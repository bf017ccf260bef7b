//! `vhgate bench`: the headline figures, measured on this machine.
//!
//! 1. One policy decision: the shipped Rego policies deciding a typical person read (six items,
//!    four person attributes), called directly on the prepared engine.
//! 2. Full requests on loopback: a real gateway (generated PKI, SQLite in a temp folder, the
//!    demo cases) and keep-alive mTLS clients reading a person. Each request runs the whole
//!    path: handshake-once TLS, token check (cached), case record, policy, durable log commit
//!    (group commit), JSON response.
//!
//! The bench copies the policies with every daily budget raised to 10^9: otherwise the bulk
//! rule (proportionaliteit) would refuse the partner after its 200th request.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::app::App;
use crate::config::Config;
use crate::demo::{dev_config, dev_token, prepare, DemoIds};
use crate::pki::DevPkiLayout;
use crate::policy::{PolicyEngine, PolicyInput};

/// Errors of the benchmark harness.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("bench setup: {0}")]
    Setup(String),
    #[error("bench request failed: {0}")]
    Request(String),
}

fn setup<E: std::fmt::Display>(e: E) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Policy decisions to time.
    pub decisions: usize,
    /// Keep-alive client connections for the request benchmark.
    pub connections: usize,
    /// How long to send requests (after warm-up).
    pub duration: Duration,
    pub warmup: Duration,
}

/// Latency percentiles of a run.
#[derive(Clone, Debug)]
pub struct Latencies {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Completed operations per second of wall time.
    pub throughput: f64,
}

impl Latencies {
    fn from_samples(mut samples: Vec<Duration>, wall: Duration) -> Latencies {
        samples.sort_unstable();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
                .copied()
        };
        Latencies {
            count: samples.len(),
            p50: at(0.50).unwrap_or_default(),
            p99: at(0.99).unwrap_or_default(),
            max: samples.last().copied().unwrap_or_default(),
            throughput: samples.len() as f64 / wall.as_secs_f64().max(1e-9),
        }
    }
}

impl std::fmt::Display for Latencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} p50={:.1}µs p99={:.1}µs max={:.1}µs throughput={:.0}/s",
            self.count,
            self.p50.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6,
            self.max.as_secs_f64() * 1e6,
            self.throughput
        )
    }
}

/// The results.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub decision: Latencies,
    pub request: Latencies,
    pub connections: usize,
    pub log_entries: i64,
}

/// A folder removed when dropped.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies `policies/` with every partner type's daily budget raised (see the module docs).
fn bench_policies(src: &Path, dst: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dst.join("data")).map_err(setup)?;
    let entries = std::fs::read_dir(src)
        .map_err(|e| BenchError::Setup(format!("policies {}: {e}", src.display())))?;
    for entry in entries {
        let path = entry.map_err(setup)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".rego") && !name.ends_with("_test.rego") {
            std::fs::copy(&path, dst.join(&name)).map_err(setup)?;
        }
    }
    let data_path = src.join("data/convenant.json");
    let mut data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&data_path).map_err(setup)?).map_err(setup)?;
    if let Some(types) = data
        .pointer_mut("/convenant/partner_types")
        .and_then(|v| v.as_object_mut())
    {
        for t in types.values_mut() {
            t["daily_budget"] = serde_json::json!(1_000_000_000u64);
        }
    }
    std::fs::write(
        dst.join("data/convenant.json"),
        serde_json::to_vec_pretty(&data).map_err(setup)?,
    )
    .map_err(setup)
}

/// A typical read: Reclassering at the table of a case in uitvoering, six items.
pub fn sample_input() -> Result<PolicyInput, BenchError> {
    let field = |name: &str, category: &str, leefgebied: Option<&str>, age: i64| serde_json::json!({"name": name, "category": category, "leefgebied": leefgebied, "age_days": age});
    let participants: Vec<_> = (11..=19)
        .map(|n| serde_json::json!({"oin": format!("000000990000000000{n}"), "partner_type": "politie", "since": "2026-10-01T00:00:00Z"}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "action": "read_person",
        "now": "2026-11-24T12:00:00Z",
        "requester": {"oin": "00000099000000000013", "partner_type": "reclassering", "role": "professional",
                      "purpose": "casusoverleg", "sub": "reclassering-medewerker-1"},
        "budget": {"used": 3},
        "case": {"id": "0194a0b0-0000-7000-8000-000000000001", "kind": "persoon", "phase": "uitvoering",
                 "region": "oost-brabant", "requester_is_participant": true, "participants": participants},
        "fields": [
            field("persoon.naam", "identificerend", None, 40),
            field("persoon.geboortedatum", "identificerend", None, 40),
            field("persoon.adres", "identificerend", None, 40),
            field("persoon.bsn", "bsn", None, 40),
            field("item:1", "overig", Some("wonen"), 30),
            field("item:2", "strafrechtelijk", Some("justitie"), 28),
            field("item:3", "bijzonder", Some("psychische_gezondheid"), 25),
            field("item:4", "overig", Some("sociaal_netwerk"), 21),
            field("item:5", "overig", Some("veiligheid"), 14),
            field("item:6", "overig", Some("werk_inkomen"), 10),
        ]
    }))
    .map_err(setup)
}

/// Times `n` decisions on the prepared engine (after a short warm-up), the same input each time.
pub fn bench_decisions(engine: &dyn PolicyEngine, n: usize) -> Result<Latencies, BenchError> {
    time_decisions(engine, n, |_, _| {})
}

/// Times `n` decisions (after a short warm-up) on the sample input as `vary` changes it before
/// each one (it gets the decision's number).
fn time_decisions(
    engine: &dyn PolicyEngine,
    n: usize,
    mut vary: impl FnMut(&mut PolicyInput, usize),
) -> Result<Latencies, BenchError> {
    let mut input = sample_input()?;
    for i in 0..n.min(100) {
        vary(&mut input, i);
        engine.decide(&input).map_err(setup)?;
    }
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        vary(&mut input, n.min(100) + i);
        let t = Instant::now();
        let d = engine.decide(&input).map_err(setup)?;
        samples.push(t.elapsed());
        if !d.allow {
            return Err(BenchError::Setup(
                "the sample decision was not allowed".into(),
            ));
        }
    }
    Ok(Latencies::from_samples(samples, start.elapsed()))
}

/// Lays out a bench gateway in `root`: the dev PKI in `certs_dir` (generated there unless it
/// already holds one), the policies of `policy_dir` with raised budgets in `policies/`, key
/// files and (without `database`) a SQLite database in `data/`; migrates `database` (or the
/// SQLite file) and seeds the demo convenant.
async fn prepare_bench(
    root: &Path,
    certs_dir: &Path,
    policy_dir: &Path,
    listen: std::net::SocketAddr,
    database: Option<&str>,
) -> Result<(Config, DevPkiLayout, DemoIds), BenchError> {
    let pki = DevPkiLayout::new(certs_dir);
    if !pki.exists() {
        pki.generate(false).map_err(setup)?;
    }
    bench_policies(policy_dir, &root.join("policies"))?;
    let mut config = dev_config(Config::default(), &pki, &root.join("data"));
    config.server.listen = listen;
    config.policy.dir = root.join("policies");
    if let Some(url) = database {
        config.database.url = url.to_owned();
    }
    let ids = prepare(&config, &pki).await.map_err(setup)?;
    Ok((config, pki, ids))
}

/// A gateway serving the demo convenant on a loopback port from a scratch folder (generated
/// PKI, SQLite, bench policies), and what a client needs to read a person from it.
pub struct BenchGateway {
    server: Option<crate::app::RunningServer>,
    /// The prepared policy engine the gateway uses.
    pub policy: Arc<dyn PolicyEngine>,
    tls: Arc<rustls::ClientConfig>,
    authorization: String,
    path: String,
    pki: DevPkiLayout,
    _scratch: ScratchDir,
}

impl BenchGateway {
    /// Starts the gateway with the policies in `policy_dir` (budgets raised, see module docs).
    pub async fn start(policy_dir: &Path) -> Result<BenchGateway, BenchError> {
        let scratch = ScratchDir(
            std::env::temp_dir().join(format!("vhgate-bench-{}", uuid::Uuid::new_v4().simple())),
        );
        let (config, pki, ids) = prepare_bench(
            &scratch.0,
            &scratch.0.join("certs"),
            policy_dir,
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            None,
        )
        .await?;
        let server = App::build(config)
            .await
            .map_err(setup)?
            .start()
            .await
            .map_err(setup)?;
        let token = dev_token(
            &pki,
            &crate::demo::DevTokenSpec::new("reclassering", "professional", "casusoverleg", 900),
        )
        .map_err(setup)?;
        Ok(BenchGateway {
            policy: server.gateway.policy(),
            tls: crate::tls::client_config(
                &pki.ca_cert(),
                &pki.partner_cert("reclassering"),
                &pki.partner_key("reclassering"),
            )
            .map_err(setup)?,
            authorization: format!("Bearer {token}"),
            path: format!("/v1/cases/{}/persons/{}", ids.uden_case, ids.uden_man),
            pki,
            server: Some(server),
            _scratch: scratch,
        })
    }

    /// Opens a keep-alive mTLS connection as Reclassering.
    pub async fn connect(&self) -> Result<BenchConnection, BenchError> {
        let addr = self
            .server
            .as_ref()
            .map(|s| s.addr)
            .ok_or_else(|| BenchError::Setup("gateway stopped".into()))?;
        let sender = http1_over_mtls(addr, self.tls.clone()).await?;
        Ok(BenchConnection {
            sender,
            authorization: self.authorization.clone(),
            path: self.path.clone(),
        })
    }

    /// Disclosure-log entries committed so far.
    pub async fn log_entries(&self) -> Result<i64, BenchError> {
        let server = self
            .server
            .as_ref()
            .ok_or_else(|| BenchError::Setup("gateway stopped".into()))?;
        crate::disclosure::store::count(server.gateway.record.db())
            .await
            .map_err(setup)
    }

    /// Stops the gateway (the scratch folder goes when this is dropped).
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}

/// A keep-alive HTTP/1.1 connection over mutual TLS to the gateway at `addr` (as `localhost`).
async fn http1_over_mtls<B>(
    addr: std::net::SocketAddr,
    tls: Arc<rustls::ClientConfig>,
) -> Result<hyper::client::conn::http1::SendRequest<B>, BenchError>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = TcpStream::connect(addr).await.map_err(request)?;
    tcp.set_nodelay(true).map_err(request)?;
    let name = ServerName::try_from("localhost").map_err(request)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(request)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(request)?;
    tokio::spawn(conn);
    Ok(sender)
}

fn request<E: std::fmt::Display>(e: E) -> BenchError {
    BenchError::Request(e.to_string())
}

/// One keep-alive client connection.
pub struct BenchConnection {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    authorization: String,
    path: String,
}

impl BenchConnection {
    /// Reads the Uden man (allowed, six items, one log commit) and returns the latency.
    pub async fn read_person(&mut self) -> Result<Duration, BenchError> {
        let start = Instant::now();
        let req = http::Request::get(self.path.as_str())
            .header(http::header::HOST, "localhost")
            .header(http::header::AUTHORIZATION, self.authorization.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(request)?;
        self.sender.ready().await.map_err(request)?;
        let res = self.sender.send_request(req).await.map_err(request)?;
        let status = res.status();
        let body = res.into_body().collect().await.map_err(request)?.to_bytes();
        if status != http::StatusCode::OK {
            return Err(BenchError::Request(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(start.elapsed())
    }
}

/// Runs both benchmarks against the policies in `policy_dir`.
pub async fn run(policy_dir: &Path, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let gateway = BenchGateway::start(policy_dir).await?;
    let decision = bench_decisions(gateway.policy.as_ref(), opts.decisions)?;
    let warm_until = Instant::now() + opts.warmup;
    let stop_at = warm_until + opts.duration;
    let mut workers = Vec::new();
    for _ in 0..opts.connections.max(1) {
        let mut conn = gateway.connect().await?;
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < stop_at {
                let latency = conn.read_person().await?;
                if Instant::now() >= warm_until + latency {
                    samples.push(latency);
                }
            }
            Ok::<_, BenchError>(samples)
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.map_err(request)??);
    }
    let request = Latencies::from_samples(samples, opts.duration);
    let log_entries = gateway.log_entries().await?;
    gateway.stop().await;
    Ok(BenchReport {
        decision,
        request,
        connections: opts.connections,
        log_entries,
    })
}

/// Decision timings alone (`vhgate bench --decisions-only`).
#[derive(Clone, Debug)]
pub struct DecisionReport {
    /// The same read over and over with the budget count going up, as repeated requests carry
    /// it: what an engine that memoises decisions answers from its memo.
    pub repeated: Latencies,
    /// A new case id each time: nothing decided before applies, the policies run in full.
    pub new_case: Latencies,
}

/// Times `n` policy decisions of each kind of [`DecisionReport`] on the engine a bench gateway
/// prepares, and nothing else.
pub async fn run_decisions(policy_dir: &Path, n: usize) -> Result<DecisionReport, BenchError> {
    let gateway = BenchGateway::start(policy_dir).await?;
    let engine = gateway.policy.clone();
    let report = time_decisions(engine.as_ref(), n, |input, i| {
        input.budget.used = 3 + i as u64;
    })
    .and_then(|repeated| {
        let new_case = time_decisions(engine.as_ref(), n, |input, i| {
            if let Some(case) = input.case.as_mut() {
                case.id = format!("0194a0b0-0000-7000-8000-{i:012}");
            }
        })?;
        Ok(DecisionReport { repeated, new_case })
    });
    gateway.stop().await;
    report
}

/// Where `vhgate bench-serve` lays out and serves its gateway.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Folder for the PKI, policies, keys and (without `database`) the SQLite database; it must
    /// not hold an earlier run (the caller removes it afterwards).
    pub dir: PathBuf,
    /// The dev PKI to serve with (generated there if absent); `None`: `dir/certs`. Several
    /// gateways, and a reference server, can so share one set of certificates.
    pub certs: Option<PathBuf>,
    pub policy_dir: PathBuf,
    pub listen: std::net::SocketAddr,
    /// A fresh database URL (PostgreSQL); `None`: SQLite in `dir`.
    pub database: Option<String>,
}

/// One request a load generator repeats, and who sends it (client certificate and token).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServeRequest {
    pub method: &'static str,
    pub path: String,
    /// JSON request body, if any.
    pub body: Option<String>,
    /// The demo partner, role and purpose of the token (for minting a fresh one with
    /// `vhgate dev token --certs <certs_dir>`).
    pub partner: &'static str,
    pub role: &'static str,
    pub purpose: &'static str,
    /// A token valid for 900 s from start-up.
    pub token: String,
    /// The partner's client certificate and key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The status every one of these requests gets.
    pub expect_status: u16,
}

/// What `vhgate bench-serve` writes once the gateway accepts requests: enough for a load
/// generator and a reference server to use the same certificates and requests.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServeManifest {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub addr: std::net::SocketAddr,
    /// `https://localhost:PORT` (the gateway certificate names `localhost`).
    pub base_url: String,
    pub certs_dir: PathBuf,
    /// The convenant CA (client and server certificates chain to it) and its CRL.
    pub ca: PathBuf,
    pub crl: PathBuf,
    /// The gateway's server certificate and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// `read` (full disclosure: Reclassering reads the Uden man), `lookup_hit` and
    /// `lookup_miss` (hit/no-hit, housing corporation), `refusal` (the housing corporation
    /// reads the mother of the family case: not at the table, refused by the policies).
    pub requests: std::collections::BTreeMap<&'static str, ServeRequest>,
}

/// Lays out, seeds and starts a bench gateway on `opts.listen` (budgets raised as in the module
/// docs), and describes it. The caller runs it until it is told to stop.
pub async fn serve(
    opts: &ServeOptions,
) -> Result<(crate::app::RunningServer, ServeManifest), BenchError> {
    let certs_dir = opts.certs.clone().unwrap_or_else(|| opts.dir.join("certs"));
    let (config, pki, ids) = prepare_bench(
        &opts.dir,
        &certs_dir,
        &opts.policy_dir,
        opts.listen,
        opts.database.as_deref(),
    )
    .await?;
    let backend = if config.database.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let server = App::build(config)
        .await
        .map_err(setup)?
        .start()
        .await
        .map_err(setup)?;
    let request = |method: &'static str,
                   path: String,
                   body: Option<String>,
                   (partner, role, purpose): (&'static str, &'static str, &'static str),
                   expect_status: u16|
     -> Result<ServeRequest, BenchError> {
        Ok(ServeRequest {
            method,
            path,
            body,
            partner,
            role,
            purpose,
            token: dev_token(
                &pki,
                &crate::demo::DevTokenSpec::new(partner, role, purpose, 900),
            )
            .map_err(setup)?,
            cert: pki.partner_cert(partner),
            key: pki.partner_key(partner),
            expect_status,
        })
    };
    let reclassering = ("reclassering", "professional", "casusoverleg");
    let woning = ("woningcorporatie", "professional", "casusoverleg");
    let lookup = |bsn: &str| Some(serde_json::json!({ "bsn": bsn }).to_string());
    let mut requests = std::collections::BTreeMap::new();
    requests.insert(
        "read",
        request(
            "GET",
            format!("/v1/cases/{}/persons/{}", ids.uden_case, ids.uden_man),
            None,
            reclassering,
            200,
        )?,
    );
    requests.insert(
        "lookup_hit",
        request(
            "POST",
            "/v1/lookup".into(),
            lookup(ids.oss_youth_bsn),
            woning,
            200,
        )?,
    );
    requests.insert(
        "lookup_miss",
        request(
            "POST",
            "/v1/lookup".into(),
            lookup(ids.unknown_bsn),
            woning,
            200,
        )?,
    );
    requests.insert(
        "refusal",
        request(
            "GET",
            format!("/v1/cases/{}/persons/{}", ids.gezin_case, ids.gezin_mother),
            None,
            woning,
            403,
        )?,
    );
    let manifest = ServeManifest {
        backend,
        addr: server.addr,
        base_url: format!("https://localhost:{}", server.addr.port()),
        certs_dir,
        ca: pki.ca_cert(),
        crl: pki.crl(),
        server_cert: pki.gateway_cert(),
        server_key: pki.gateway_key(),
        requests,
    };
    Ok((server, manifest))
}

/// Results of the disclosure-log benchmark.
#[derive(Clone, Debug)]
pub struct LogBenchReport {
    pub backend: &'static str,
    pub tasks: usize,
    /// Latency of one append, from hand-over to the writer until its COMMIT released it.
    pub append: Latencies,
}

/// A log entry shaped like a partly withheld person read.
fn sample_entry(policy_revision: &str) -> crate::disclosure::NewEntry {
    use crate::disclosure::{Event, NewEntry, RequesterRecord, SubjectRecord};
    use crate::policy::{Outcome, Principle, Tier, Withheld};
    let withheld = |field: &str| Withheld {
        field: field.into(),
        principle: Principle::Proportionaliteit,
        reason:
            "partner type woningcorporatie has no ground for category bijzonder in the convenant"
                .into(),
    };
    NewEntry {
        id: crate::domain::DisclosureId::new().0,
        time: crate::gateway::timestamp(crate::record::now()),
        event: Event::ReadPerson,
        outcome: Outcome::Partial,
        status: 200,
        requester: RequesterRecord {
            oin: Some("00000099000000000018".into()),
            partner_type: Some("woningcorporatie".into()),
            sub: Some("woningcorporatie-medewerker-1".into()),
            role: Some("professional".into()),
            purpose: Some("casusoverleg".into()),
            cert_thumbprint: Some("n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg".into()),
        },
        case_id: Some(uuid::Uuid::now_v7()),
        subject: Some(SubjectRecord {
            pseudonym: hex::encode([7u8; 32]),
            key_version: 1,
        }),
        subjects: vec![],
        tier: Tier::Full,
        disclosed: vec![
            "persoon.naam".into(),
            "persoon.adres".into(),
            format!("item:{}", uuid::Uuid::now_v7()),
        ],
        categories: vec!["identificerend".into(), "overig".into()],
        sources: vec![],
        withheld: vec![
            withheld("persoon.bsn"),
            withheld(&format!("item:{}", uuid::Uuid::now_v7())),
        ],
        reasons: vec![
            "doelmatigheid: purpose \"casusoverleg\" allows action \"read_person\"".into(),
        ],
        policy_revision: policy_revision.into(),
        problem_type: None,
        traceparent: None,
        trace_id: None,
        span_id: None,
        parent_span_id: None,
        // Real person reads record their policy input; the benchmark writes one of the same size.
        input: Some(serde_json::json!({
            "action": "read_person",
            "now": crate::gateway::timestamp(crate::record::now()),
            "requester": {"oin": "00000099000000000018", "partner_type": "woningcorporatie",
                          "role": "professional", "purpose": "casusoverleg", "sub": "woningcorporatie-medewerker-1"},
            "budget": {"used": 12},
            "case": {"id": uuid::Uuid::now_v7(), "kind": "persoon", "phase": "uitvoering", "region": "oost-brabant",
                     "requester_is_participant": true,
                     "participants": (0..6).map(|i| serde_json::json!({
                         "oin": format!("000000990000000000{i:02}"), "partner_type": "gemeente",
                         "since": "2026-10-21T10:00:00.000000Z"})).collect::<Vec<_>>()},
            "request": {"leefgebieden": null},
            "fields": (0..10).map(|i| serde_json::json!({
                "name": format!("item:{}", uuid::Uuid::now_v7()), "category": "overig",
                "leefgebied": "wonen", "age_days": i})).collect::<Vec<_>>(),
        })),
    }
}

/// Appends entries from `tasks` concurrent callers through the group-commit writer for
/// `duration` (after `warmup`), on the database at `url` (migrated here; use a fresh one).
pub async fn bench_log(
    url: &str,
    tasks: usize,
    batch_max: Option<usize>,
    duration: Duration,
    warmup: Duration,
) -> Result<LogBenchReport, BenchError> {
    use crate::disclosure::checkpoint::NoteSigner;
    use crate::disclosure::writer::WriterConfig;
    use crate::disclosure::{LogSigner, LogWriter};
    let db = crate::store::Db::connect(url, 4).await.map_err(setup)?;
    db.migrate().await.map_err(setup)?;
    let key = NoteSigner::generate_pkcs8().map_err(setup)?;
    let origin = "bench.invalid/vhgate/disclosures";
    let signer = Arc::new(LogSigner::new(
        origin.into(),
        NoteSigner::from_pkcs8(origin, &key).map_err(setup)?,
    ));
    let defaults = Config::default().log;
    let (writer, _task) = LogWriter::spawn(
        db.clone(),
        WriterConfig {
            batch_max: batch_max.unwrap_or(defaults.batch_max),
            batch_wait: Duration::from_micros(defaults.batch_wait_us),
            commit_timeout: Duration::from_secs(30),
            sweep_every: Duration::from_millis(defaults.outbox_sweep_ms),
        },
        signer,
    );
    let warm_until = Instant::now() + warmup;
    let stop_at = warm_until + duration;
    let mut workers = Vec::new();
    for _ in 0..tasks.max(1) {
        let writer = writer.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < stop_at {
                let entry = sample_entry("0123456789abcdef0123456789abcdef");
                let start = Instant::now();
                writer.append(entry).await.map_err(request)?;
                if start >= warm_until {
                    samples.push(start.elapsed());
                }
            }
            Ok::<_, BenchError>(samples)
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.map_err(request)??);
    }
    let backend = match db.backend() {
        crate::store::Backend::Sqlite => "SQLite",
        crate::store::Backend::Postgres => "PostgreSQL",
    };
    db.close().await;
    Ok(LogBenchReport {
        backend,
        tasks,
        append: Latencies::from_samples(samples, duration),
    })
}

/// The demo partners whose entries fill the log for the console benchmark: (OIN, type).
const CONSOLE_BENCH_PARTNERS: [(&str, &str); 4] = [
    ("00000099000000000011", "politie"),
    ("00000099000000000013", "reclassering"),
    ("00000099000000000015", "gemeente"),
    ("00000099000000000018", "woningcorporatie"),
];

impl BenchGateway {
    /// Appends `n` varied entries (four partners, three outcomes, spread over the last 30
    /// days) through the group-commit writer from 64 concurrent tasks, so the console has a
    /// realistic log to page, filter and count.
    pub async fn fill_log(&self, n: usize) -> Result<(), BenchError> {
        use crate::policy::Outcome;
        let server = self
            .server
            .as_ref()
            .ok_or_else(|| BenchError::Setup("gateway stopped".into()))?;
        let revision = server.gateway.policy().revision().to_string();
        let now = crate::record::now();
        let mut workers = Vec::new();
        let per_task = n.div_ceil(64);
        for task in 0..64usize {
            let gateway = server.gateway.clone();
            let revision = revision.clone();
            workers.push(tokio::spawn(async move {
                for i in 0..per_task {
                    let k = task * per_task + i;
                    if k >= n {
                        break;
                    }
                    let mut entry = sample_entry(&revision);
                    let (oin, partner_type) =
                        CONSOLE_BENCH_PARTNERS[k % CONSOLE_BENCH_PARTNERS.len()];
                    entry.requester.oin = Some(oin.into());
                    entry.requester.partner_type = Some(partner_type.into());
                    entry.requester.sub = Some(format!("{partner_type}-medewerker-{}", k % 7));
                    entry.outcome = [Outcome::Allowed, Outcome::Partial, Outcome::Denied][k % 3];
                    let minutes = (k as i64 * 37) % (30 * 24 * 60);
                    entry.time =
                        crate::gateway::timestamp(now - chrono::Duration::minutes(minutes));
                    gateway.commit(entry).await.map_err(request)?;
                }
                Ok::<_, BenchError>(())
            }));
        }
        for w in workers {
            w.await.map_err(request)??;
        }
        Ok(())
    }

    /// Signs the Veiligheidshuis's privacy officer in to the console over its own keep-alive
    /// connection; the answer is a client for timing page loads.
    pub async fn console(&self) -> Result<ConsoleClient, BenchError> {
        let server = self
            .server
            .as_ref()
            .ok_or_else(|| BenchError::Setup("gateway stopped".into()))?;
        let pki = &self.pki;
        let tls = crate::tls::client_config(
            &pki.ca_cert(),
            &pki.partner_cert("veiligheidshuis"),
            &pki.partner_key("veiligheidshuis"),
        )
        .map_err(setup)?;
        let sender = http1_over_mtls(server.addr, tls).await?;
        let mut client = ConsoleClient {
            sender,
            cookie: String::new(),
        };
        let token = dev_token(
            pki,
            &crate::demo::DevTokenSpec::new("veiligheidshuis", "privacy_officer", "toezicht", 900),
        )
        .map_err(setup)?;
        // The sign-in form's CSRF cookie and field, then the post that opens the session.
        let (_, form, cookies) = client.send("GET", "/console/aanmelden", None).await?;
        let csrf = hidden_csrf(&form)?;
        client.cookie = cookies.join("; ");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf)
            .append_pair("token", &token)
            .finish();
        let (status, _, cookies) = client
            .send("POST", "/console/aanmelden", Some(body))
            .await?;
        let session = cookies
            .into_iter()
            .find(|c| c.starts_with("vhgate_console="))
            .ok_or_else(|| BenchError::Request(format!("console sign-in: {status}, no session")))?;
        client.cookie = session;
        Ok(client)
    }
}

fn hidden_csrf(page: &str) -> Result<String, BenchError> {
    let marker = "name=\"csrf\" value=\"";
    let at = page
        .find(marker)
        .ok_or_else(|| BenchError::Request("no CSRF field".into()))?;
    let rest = &page[at + marker.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_string())
}

/// A signed-in console session on one keep-alive connection.
pub struct ConsoleClient {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>,
    cookie: String,
}

impl ConsoleClient {
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<String>,
    ) -> Result<(http::StatusCode, String, Vec<String>), BenchError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost");
        if !self.cookie.is_empty() {
            req = req.header(http::header::COOKIE, self.cookie.as_str());
        }
        if form.is_some() {
            req = req.header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        let req = req
            .body(http_body_util::Full::new(Bytes::from(
                form.unwrap_or_default(),
            )))
            .map_err(request)?;
        self.sender.ready().await.map_err(request)?;
        let res = self.sender.send_request(req).await.map_err(request)?;
        let status = res.status();
        let cookies = res
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next().map(str::to_owned))
            .collect();
        let body = res.into_body().collect().await.map_err(request)?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned(), cookies))
    }

    /// Loads a console page and returns how long the whole answer took.
    pub async fn page(&mut self, path: &str) -> Result<Duration, BenchError> {
        let start = Instant::now();
        let (status, body, _) = self.send("GET", path, None).await?;
        if status != http::StatusCode::OK {
            return Err(BenchError::Request(format!("{path}: {status}: {body}")));
        }
        Ok(start.elapsed())
    }
}
