//! Test harness: a real gateway on a loopback port, with a generated PKI, a fresh database
//! (SQLite file or a new PostgreSQL database), the demo convenant seeded, and real mTLS clients.
//!
//! PostgreSQL: `VHGATE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! must reach a server on which the user may create databases; every test gets its own database,
//! dropped when the test stops its environment. Unreachable: the PostgreSQL variant is skipped
//! with a message, unless `CI=true`, where it fails.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use vhgate::app::{open_record, App, RunningServer};
use vhgate::auth::{sign_token, Claims};
use vhgate::config::Config;
use vhgate::demo::{demo_kid, dev_config, prepare, DemoIds};
use vhgate::pki::{demo_partner, Ca, ClientCertOptions, DevPkiLayout, IssuedCert};
use vhgate::store::Db;

/// Which database the environment runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Client certificates that must not get through the handshake, plus the dev PKI.
pub struct TestPki {
    pub layout: DevPkiLayout,
    pub ca_pem: String,
    /// politie's OIN, but revoked in the CRL the gateway loads.
    pub revoked: IssuedCert,
    /// politie's OIN, validity ended yesterday.
    pub expired: IssuedCert,
    /// politie's OIN, valid only from tomorrow.
    pub not_yet_valid: IssuedCert,
    /// politie's OIN, but marked for server authentication only.
    pub server_only: IssuedCert,
    /// politie's OIN, issued by a CA the gateway does not trust.
    pub untrusted: IssuedCert,
    /// Chains to the convenant CA, but its OIN is not a partner.
    pub stranger: IssuedCert,
    pub stranger_oin: &'static str,
}

static PKI: OnceLock<TestPki> = OnceLock::new();

/// The PKI shared by every test in a binary (generated once; keys live in a temp dir).
pub fn pki() -> &'static TestPki {
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let layout = DevPkiLayout::new(dir.join("certs"));
        layout.generate(false).expect("generate dev PKI");
        let ca = layout.load_ca().expect("load CA");
        let politie = demo_partner("politie").expect("politie").oin;
        let now = time::OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let revoked = ca
            .issue_client(politie, "Politie (revoked)", &ClientCertOptions::default())
            .expect("revoked");
        let expired = ca
            .issue_client(
                politie,
                "Politie (expired)",
                &ClientCertOptions {
                    not_before: now - day * 30,
                    not_after: now - day,
                    ..Default::default()
                },
            )
            .expect("expired");
        let not_yet_valid = ca
            .issue_client(
                politie,
                "Politie (future)",
                &ClientCertOptions {
                    not_before: now + day,
                    not_after: now + day * 30,
                    ..Default::default()
                },
            )
            .expect("future");
        let server_only = ca
            .issue_client(
                politie,
                "Politie (server)",
                &ClientCertOptions {
                    server_auth_only: true,
                    ..Default::default()
                },
            )
            .expect("server-only");
        let other_ca = Ca::generate("some other CA").expect("other CA");
        let untrusted = other_ca
            .issue_client(
                politie,
                "Politie (untrusted)",
                &ClientCertOptions::default(),
            )
            .expect("untrusted");
        let stranger_oin = "00000099000000000099";
        let stranger = ca
            .issue_client(
                stranger_oin,
                "Onbekende organisatie",
                &ClientCertOptions::default(),
            )
            .expect("stranger");
        std::fs::write(layout.crl(), ca.crl(&[revoked.serial]).expect("crl")).expect("write crl");
        TestPki {
            ca_pem: ca.cert_pem.clone(),
            layout,
            revoked,
            expired,
            not_yet_valid,
            server_only,
            untrusted,
            stranger,
            stranger_oin,
        }
    })
}

/// A running gateway with the demo convenant.
pub struct Env {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub ids: DemoIds,
    pub config: Config,
    pub db: Db,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
    pg_admin: Option<(String, String)>,
}

fn postgres_admin_url() -> String {
    std::env::var("VHGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// True when `CI` is `true` or `1`: missing infrastructure fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Creates a fresh PostgreSQL database; `None` (skip) when the server is unreachable outside CI.
pub async fn create_pg_database() -> Option<(String, String, String)> {
    let admin = postgres_admin_url();
    let conn = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&admin)
        .await;
    let pool = match conn {
        Ok(p) => p,
        Err(e) if in_ci() => panic!("CI=true but PostgreSQL at {admin} is unreachable: {e}"),
        Err(e) => {
            eprintln!("SKIPPED (PostgreSQL): {admin} unreachable ({e}); set CI=true to make this a failure");
            return None;
        }
    };
    let name = format!("vhgate_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let mut url = url::Url::parse(&admin).expect("postgres url");
    url.set_path(&name);
    Some((admin, name, url.to_string()))
}

/// Drops a database [`create_pg_database`] made (connections still open are ended).
pub async fn drop_pg_database(admin: &str, name: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}

/// A configuration file for the real `vhgate serve` binary: the dev PKI, the shipped policies
/// and a fresh database (SQLite in `dir`, or a new PostgreSQL database) with the demo convenant
/// seeded.
pub struct ServeConfig {
    pub config: Config,
    pub file: PathBuf,
    pub ids: DemoIds,
    pub dir: tempfile::TempDir,
    pg_admin: Option<(String, String)>,
}

impl ServeConfig {
    /// Prepares the database and writes the file; `None` when PostgreSQL is unavailable and
    /// skipping is allowed.
    pub async fn prepare(
        backend: Backend,
        listen: SocketAddr,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<ServeConfig> {
        let pki = pki();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = dev_config(Config::default(), &pki.layout, dir.path());
        config.server.listen = listen;
        config.policy.dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut pg_admin = None;
        if backend == Backend::Postgres {
            let (admin, name, url) = create_pg_database().await?;
            config.database.url = url;
            pg_admin = Some((admin, name));
        }
        adjust(&mut config);
        let ids = prepare(&config, &pki.layout).await.expect("prepare");
        let file = dir.path().join("vhgate.toml");
        std::fs::write(&file, toml::to_string(&config).expect("toml")).expect("write config");
        Some(ServeConfig {
            config,
            file,
            ids,
            dir,
            pg_admin,
        })
    }

    /// Drops the PostgreSQL database (the SQLite one goes with `dir`).
    pub async fn drop_database(mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            drop_pg_database(&admin, &name).await;
        }
    }
}

impl Env {
    /// Starts a gateway on 127.0.0.1:0 with the demo convenant; `None` when the backend is
    /// unavailable and skipping is allowed.
    pub async fn start(backend: Backend) -> Option<Env> {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`Env::start`], with a chance to adjust the configuration first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Env> {
        let pki = pki();
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_admin) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("vhgate.db").display()),
                None,
            ),
            Backend::Postgres => {
                let (admin, name, url) = create_pg_database().await?;
                (url, Some((admin, name)))
            }
        };
        let mut config = dev_config(Config::default(), &pki.layout, dir.path());
        config.server.listen = "127.0.0.1:0".parse().expect("addr");
        config.server.shutdown_grace_secs = 2;
        config.database.url = url.clone();
        config.database.max_connections = 4;
        config.policy.dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        adjust(&mut config);
        let ids = prepare(&config, &pki.layout)
            .await
            .expect("prepare database");
        let db = Db::connect(&config.database.url, 2).await.expect("connect");
        let server = App::build(config.clone())
            .await
            .expect("build app")
            .start()
            .await
            .expect("start");
        Some(Env {
            backend,
            addr: server.addr,
            ids,
            config,
            db,
            server: Some(server),
            _dir: dir,
            pg_admin,
        })
    }

    /// Stops the gateway and drops the PostgreSQL test database.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        self.db.close().await;
        if let Some((admin, name)) = self.pg_admin.take() {
            drop_pg_database(&admin, &name).await;
        }
    }

    /// The running gateway (for hot-swapping its policy).
    pub fn gateway(&self) -> std::sync::Arc<vhgate::gateway::Gateway> {
        self.server.as_ref().expect("running").gateway.clone()
    }

    /// Another gateway instance on the same database (and configuration), on its own port.
    pub async fn start_instance(&self) -> RunningServer {
        self.start_instance_with(self.config.clone()).await
    }

    /// Another gateway instance with its own configuration (e.g. rotated keys).
    pub async fn start_instance_with(&self, config: Config) -> RunningServer {
        App::build(config)
            .await
            .expect("build another instance")
            .start()
            .await
            .expect("start")
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.addr.port(), path)
    }

    /// A client presenting the demo partner's certificate.
    pub fn client(&self, partner: &str) -> Partner {
        let pki = pki();
        let cert = std::fs::read_to_string(pki.layout.partner_cert(partner)).expect("partner cert");
        let key = std::fs::read_to_string(pki.layout.partner_key(partner)).expect("partner key");
        let jwt_key =
            std::fs::read_to_string(pki.layout.partner_jwt_key(partner)).expect("partner jwt key");
        let p = demo_partner(partner).expect("demo partner");
        Partner {
            name: partner.to_string(),
            oin: p.oin.to_string(),
            jwt_key,
            kid: demo_kid(partner),
            thumbprint: thumbprint_of(&cert),
            http: mtls_client(self.addr, &cert, &key),
        }
    }

    /// A client presenting an arbitrary certificate, without token material.
    pub fn raw_client(&self, cert: &IssuedCert) -> reqwest::Client {
        mtls_client(self.addr, &cert.cert_pem, &cert.key_pem)
    }

    /// The case record behind the gateway (to change the seeded cases).
    pub fn record(&self) -> vhgate::record::CaseRecord {
        open_record(&self.config, self.db.clone()).expect("record")
    }

    /// Number of entries in the disclosure log.
    pub async fn log_count(&self) -> i64 {
        vhgate::disclosure::store::count(&self.db)
            .await
            .expect("count log")
    }

    /// The last disclosure-log entry (parsed JSON).
    pub async fn last_entry(&self) -> Value {
        let n = self.log_count().await;
        let rows = vhgate::disclosure::store::rows_after(&self.db, n - 1, 1)
            .await
            .expect("rows");
        serde_json::from_str(&rows.last().expect("a log entry").entry).expect("entry json")
    }

    /// Fails unless `vhgate log verify`'s check finds the whole chain intact.
    pub async fn assert_log_intact(&self) {
        let outcome = vhgate::disclosure::verify::verify(&self.db)
            .await
            .expect("verify");
        assert!(
            matches!(
                outcome,
                vhgate::disclosure::verify::VerifyOutcome::Intact { .. }
            ),
            "{outcome:?}"
        );
    }

    /// Runs one SQL statement directly against the database (tamper tests).
    pub async fn exec(&self, sql: &str) {
        vhgate::with_pool!(&self.db, pool => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Removes the append-only triggers of the log tables, as an attacker with database access
    /// would.
    pub async fn drop_log_triggers(&self) {
        for (table, triggers) in [
            (
                "disclosure_log",
                ["disclosure_log_no_update", "disclosure_log_no_delete"],
            ),
            (
                "merkle_nodes",
                ["merkle_nodes_no_update", "merkle_nodes_no_delete"],
            ),
            (
                "checkpoints",
                ["checkpoints_no_update", "checkpoints_no_delete"],
            ),
        ] {
            match self.backend {
                Backend::Sqlite => {
                    for t in triggers {
                        self.exec(&format!("DROP TRIGGER {t}")).await;
                    }
                }
                Backend::Postgres => {
                    self.exec(&format!("DROP TRIGGER {} ON {table}", triggers[0]))
                        .await
                }
            }
        }
    }

    /// Restores the log to its first `n` entries, consistently (entries, indexes, tree,
    /// checkpoints and head), as restoring an older backup would.
    pub async fn rollback_to(&self, n: i64) {
        self.drop_log_triggers().await;
        self.exec(&format!("DELETE FROM disclosure_log WHERE seq > {n}"))
            .await;
        self.exec(&format!("DELETE FROM log_subjects WHERE seq > {n}"))
            .await;
        self.exec(&format!("DELETE FROM log_sources WHERE seq > {n}"))
            .await;
        self.exec(&format!(
            "DELETE FROM merkle_nodes WHERE ((idx + 1) << CAST(level AS INTEGER)) > {n}"
        ))
        .await;
        self.exec(&format!("DELETE FROM checkpoints WHERE size > {n}"))
            .await;
        self.exec(&format!(
            "UPDATE log_head SET seq = {n}, hash = (SELECT entry_hash FROM disclosure_log WHERE seq = {n}), \
             root = (SELECT root FROM checkpoints WHERE size = {n}) WHERE id = 1"
        ))
        .await;
    }

    /// The verifier key of this gateway's checkpoint signing key.
    pub fn log_key(&self) -> vhgate::disclosure::checkpoint::NoteVerifier {
        let signer = vhgate::disclosure::checkpoint::read_signer_key_file(
            &self.config.secrets.log_signing_key_file,
            &self.config.log.origin,
        )
        .expect("log signing key");
        vhgate::disclosure::checkpoint::NoteVerifier::from_vkey(&signer.verifier_key())
            .expect("vkey")
    }
}

/// A demo partner: its mTLS client and what it needs to mint tokens.
pub struct Partner {
    pub name: String,
    pub oin: String,
    pub jwt_key: String,
    pub kid: String,
    pub thumbprint: String,
    pub http: reqwest::Client,
}

impl Partner {
    /// Claims for a fresh, valid token (adjust fields to make it invalid).
    pub fn claims(&self, role: &str, purpose: &str) -> Claims {
        let sub = format!("{}-medewerker-7", self.name);
        Claims::fresh(
            &self.oin,
            &sub,
            "vhgate",
            300,
            role,
            purpose,
            &self.thumbprint,
        )
    }

    pub fn sign(&self, claims: &Claims) -> String {
        sign_token(claims, &self.jwt_key, Some(&self.kid)).expect("sign token")
    }

    pub fn token(&self, role: &str, purpose: &str) -> String {
        self.sign(&self.claims(role, purpose))
    }

    pub async fn get(&self, env: &Env, path: &str, token: &str) -> Response {
        Response::from(
            self.http
                .get(env.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("request"),
        )
        .read()
        .await
    }

    /// Any request with an optional JSON body and extra headers.
    pub async fn send(
        &self,
        env: &Env,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.http.request(method, env.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Response::from(req.send().await.expect("request"))
            .read()
            .await
    }

    pub async fn lookup(&self, env: &Env, token: &str, bsn: &str) -> Response {
        let req = self
            .http
            .post(env.url("/v1/lookup"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "bsn": bsn }));
        Response::from(req.send().await.expect("request"))
            .read()
            .await
    }

    pub async fn read_person(
        &self,
        env: &Env,
        token: &str,
        case: impl std::fmt::Display,
        person: impl std::fmt::Display,
    ) -> Response {
        self.get(env, &format!("/v1/cases/{case}/persons/{person}"), token)
            .await
    }
}

/// A response with its body read.
pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pending: Option<reqwest::Response>,
}

impl From<reqwest::Response> for Response {
    fn from(r: reqwest::Response) -> Self {
        Response {
            status: r.status(),
            headers: r.headers().clone(),
            body: Value::Null,
            pending: Some(r),
        }
    }
}

impl Response {
    async fn read(mut self) -> Self {
        if let Some(r) = self.pending.take() {
            let bytes = r.bytes().await.expect("body");
            self.body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        }
        self
    }

    /// The problem `type` suffix after `urn:vhgate:problem:`.
    pub fn problem(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:vhgate:problem:"))
            .unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Names of the withheld fields in the decision block.
    pub fn withheld(&self) -> Vec<(String, String)> {
        let d = if self.body["decision"].is_object() {
            &self.body["decision"]
        } else {
            &Value::Null
        };
        d["withheld"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|w| {
                        (
                            w["field"].as_str().unwrap_or("").to_string(),
                            w["principle"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// base64url SHA-256 of the first certificate in a PEM (the `x5t#S256` a token binds to).
pub fn thumbprint_of(cert_pem: &str) -> String {
    let der = parse_certs(cert_pem)
        .into_iter()
        .next()
        .expect("a certificate");
    vhgate::tls::thumbprint(&der)
}

fn parse_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("certificates")
}

/// base64url (unpadded) of a JSON value: a token header or claims part.
pub fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
}

/// A token MACed with HS256 under `secret` (the algorithm-confusion attack).
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use base64::Engine;
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let sig = ring::hmac::sign(&key, signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.as_ref())
    )
}

/// The rustls client configuration of [`mtls_client`]: trusts the test CA, presents the
/// certificate.
pub fn mtls_config(cert_pem: &str, key_pem: &str) -> rustls::ClientConfig {
    let pki = pki();
    let mut roots = rustls::RootCertStore::empty();
    for c in parse_certs(&pki.ca_pem) {
        roots.add(c).expect("root");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("a private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(parse_certs(cert_pem), key)
        .expect("client auth")
}

pub fn mtls_client(addr: SocketAddr, cert_pem: &str, key_pem: &str) -> reqwest::Client {
    mtls_client_builder(addr, cert_pem, key_pem)
        .build()
        .expect("client")
}

/// The builder behind [`mtls_client`], for clients that need more (e.g. no redirects).
pub fn mtls_client_builder(
    addr: SocketAddr,
    cert_pem: &str,
    key_pem: &str,
) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_preconfigured_tls(mtls_config(cert_pem, key_pem))
        .resolve("localhost", addr)
        .timeout(std::time::Duration::from_secs(20))
}

/// The `vhgate` binary built for this test run.
pub fn vhgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vhgate"))
}

/// Generates `#[tokio::test]`s running each scenario once on SQLite (`sqlite::name`) and once
/// on PostgreSQL (`postgres::name`). A scenario is `async fn name(env: &Env)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let env = $crate::common::Env::start($crate::common::Backend::Sqlite).await.expect("sqlite env");
                    super::$name(&env).await;
                    env.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = $crate::common::Env::start($crate::common::Backend::Postgres).await else { return };
                    super::$name(&env).await;
                    env.stop().await;
                }
            )*
        }
    };
}

/// The shipped policies as a bundle for a new convenant version (same rules, new revision).
pub fn candidate_bundle(version: &str) -> Vec<u8> {
    let dir = candidate_dir(version);
    vhgate::policy::bundle::Bundle::build(dir.path()).expect("build")
}

/// A policy directory with the shipped rules for a new convenant version (a new revision).
pub fn candidate_dir(version: &str) -> tempfile::TempDir {
    policies_copy(|data| {
        *data = data.replacen(
            "\"version\": \"2026-1\"",
            &format!("\"version\": \"{version}\""),
            1,
        )
    })
}

/// A copy of the shipped policies (Rego, tests included, and the convenant) in a temporary
/// directory, with the convenant's JSON text changed by `edit`.
pub fn policies_copy(edit: impl FnOnce(&mut String)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
    for entry in std::fs::read_dir(&policies).expect("policies") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rego") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let mut data = std::fs::read_to_string(policies.join("data/convenant.json")).expect("data");
    edit(&mut data);
    std::fs::write(dir.path().join("data/convenant.json"), data).expect("write");
    dir
}

/// [`policies_copy`] with partner type `partner_type` granted `category` on `ground` (the
/// shipped grant replaced, or added).
pub fn policies_with_grant(
    partner_type: &str,
    category: &str,
    ground: serde_json::Value,
) -> tempfile::TempDir {
    policies_copy(|data| {
        let mut doc: serde_json::Value = serde_json::from_str(data).expect("convenant json");
        doc["convenant"]["partner_types"][partner_type]["categories"][category] = ground;
        *data = serde_json::to_string_pretty(&doc).expect("json");
    })
}

/// A fresh BSN that passes the elfproef.
pub fn fresh_bsn() -> String {
    loop {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let d: Vec<u32> = bytes[..8].iter().map(|b| u32::from(*b) % 10).collect();
        if d[0] == 0 {
            continue;
        }
        let sum: u32 = d.iter().enumerate().map(|(i, x)| (9 - i as u32) * x).sum();
        let last = sum % 11;
        if last < 10 {
            return d
                .iter()
                .chain(std::iter::once(&last))
                .map(|x| x.to_string())
                .collect();
        }
    }
}

/// A raw HTTP/1.1 request (`connection: close`), framed with a `content-length` unless the
/// headers already frame it.
pub fn raw(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n")
        .into_bytes();
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if !framed && !body.is_empty() {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// An answer read off the wire by [`raw_exchange`].
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as it is over a fresh TLS connection made with `config` and reads until the
/// gateway closes it. `Err` when no HTTP answer came back (a refused handshake).
pub async fn raw_exchange(
    env: &Env,
    config: rustls::ClientConfig,
    request: &[u8],
) -> Result<RawAnswer, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(env.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // The gateway may answer (and close) before it read a large request: keep reading.
    let _ = tls.write_all(request).await;
    let _ = tls.flush().await;
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let read = async {
        loop {
            match tls.read(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => break Some(e.to_string()),
            }
        }
    };
    let error = tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .map_err(|_| "no answer within 20 s".to_string())?;
    if bytes.is_empty() {
        return Err(format!(
            "no HTTP answer ({})",
            error.unwrap_or_else(|| "closed".into())
        ));
    }
    parse_raw_answer(&bytes)
}

/// The first final answer in `bytes` (1xx answers skipped).
pub fn parse_raw_answer(mut bytes: &[u8]) -> Result<RawAnswer, String> {
    loop {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("incomplete head")?;
        let head = String::from_utf8_lossy(&bytes[..end]).to_string();
        let rest = &bytes[end + 4..];
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if (100..200).contains(&status) {
            bytes = rest;
            continue;
        }
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            let mut body = Vec::new();
            let mut rest = rest;
            loop {
                let line_end = rest
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .ok_or("bad chunk")?;
                let size =
                    usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                        .map_err(|_| "bad chunk size")?;
                rest = &rest[line_end + 2..];
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&rest[..size.min(rest.len())]);
                rest = &rest[(size + 2).min(rest.len())..];
            }
            body
        } else {
            let length = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(rest.len());
            rest[..length.min(rest.len())].to_vec()
        };
        return Ok(RawAnswer {
            status,
            headers,
            body,
        });
    }
}
