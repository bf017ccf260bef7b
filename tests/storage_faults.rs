//! Storage faults over the real server: the SQLite database on a small filesystem that fills
//! up, a PostgreSQL database that turns read-only, and a PostgreSQL server that becomes
//! unreachable (a TCP proxy in the test, cut and restored). During each fault every person
//! read and casework write answers 503 problem+json (`storage-unavailable` or
//! `log-unavailable`) without any person data, soon; the process stays up (`/healthz`); when
//! the fault clears, the next requests succeed without a restart, the outbox drains and the
//! log verifies.
//!
//! The filesystem test mounts a tmpfs and so needs root: without it, it is skipped with a
//! message, unless `CI=true`, where it fails.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Backend, Env, Partner, Response};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Content of the items the probes contribute (must never come back in a fault's answer).
const CONTENT: &str = "Huurachterstand van drie maanden; ontruiming dreigt per februari.";

/// What a fault's answer must not hold: the person's name, BSN, address and item text.
const PERSON_DATA: &[&str] = &[
    "Henk",
    "Verhoeven",
    "999990019",
    "Kerkstraat",
    "Appartement",
    CONTENT,
];

/// A person read and an information contribution on the seeded Uden case, as gemeente.
struct Probe {
    gemeente: Partner,
    token: String,
}

impl Probe {
    fn new(env: &Env) -> Self {
        let gemeente = env.client("gemeente");
        let token = gemeente.token("professional", "casusoverleg");
        Probe { gemeente, token }
    }

    async fn read(&self, env: &Env) -> (Response, Duration) {
        let t = Instant::now();
        let r = self
            .gemeente
            .read_person(env, &self.token, env.ids.uden_case, env.ids.uden_man)
            .await;
        (r, t.elapsed())
    }

    async fn write(&self, env: &Env) -> (Response, Duration) {
        let t = Instant::now();
        let body = json!({
            "person_id": env.ids.uden_man.to_string(),
            "leefgebied": "wonen",
            "category": "overig",
            "content": CONTENT,
            "ground": "gemeente_sociaal_domein",
        });
        let r = self
            .gemeente
            .send(
                env,
                Method::POST,
                &format!("/v1/cases/{}/information", env.ids.uden_case),
                &self.token,
                Some(&body),
                &[],
            )
            .await;
        (r, t.elapsed())
    }

    /// Both succeed (the fault has not started or has cleared).
    async fn works(&self, env: &Env) {
        let (r, _) = self.read(env).await;
        assert_eq!(r.status, StatusCode::OK, "read: {}", r.body);
        let (r, _) = self.write(env).await;
        assert_eq!(r.status, StatusCode::CREATED, "write: {}", r.body);
    }

    /// Reads and writes during the fault: each a quick 503 problem+json that discloses
    /// nothing. Returns the statuses and problem types seen and the slowest answer.
    async fn refused(&self, env: &Env, rounds: usize, within: Duration) -> (Vec<String>, Duration) {
        let mut seen = Vec::new();
        let mut slowest = Duration::ZERO;
        for _ in 0..rounds {
            for (what, (r, took)) in [
                ("read", self.read(env).await),
                ("write", self.write(env).await),
            ] {
                assert_fault_answer(what, &r);
                assert!(
                    took <= within,
                    "{what}: the 503 took {took:?} (limit {within:?})"
                );
                slowest = slowest.max(took);
                let s = format!("{} {}", r.status.as_u16(), r.problem());
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
        }
        (seen, slowest)
    }

    /// Retries read and write until both succeed; returns how long that took.
    async fn recovers(&self, env: &Env, within: Duration) -> Duration {
        let t = Instant::now();
        loop {
            let (r, _) = self.read(env).await;
            if r.status == StatusCode::OK {
                let (w, _) = self.write(env).await;
                if w.status == StatusCode::CREATED {
                    return t.elapsed();
                }
                assert_fault_answer("write while recovering", &w);
            } else {
                assert_fault_answer("read while recovering", &r);
            }
            assert!(
                t.elapsed() < within,
                "no recovery within {within:?}: {} {}",
                r.status,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn assert_fault_answer(what: &str, r: &Response) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        r.body
    );
    assert_eq!(r.content_type(), "application/problem+json", "{what}");
    assert!(
        matches!(r.problem(), "storage-unavailable" | "log-unavailable"),
        "{what}: {}",
        r.body
    );
    assert!(
        r.headers.contains_key("retry-after"),
        "{what}: no Retry-After"
    );
    let text = r.body.to_string();
    for secret in PERSON_DATA {
        assert!(
            !text.contains(secret),
            "{what} disclosed {secret:?}: {text}"
        );
    }
}

/// The process is alive: `/healthz` answers 200. Returns `/readyz`'s status.
async fn alive(env: &Env, p: &Probe) -> u16 {
    let r = p
        .gemeente
        .http
        .get(env.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    p.gemeente
        .http
        .get(env.url("/readyz"))
        .send()
        .await
        .expect("readyz")
        .status()
        .as_u16()
}

/// Waits until the writer's sweep has moved every outbox entry into the chain.
async fn outbox_drains(db: &vhgate::store::Db) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = vhgate::disclosure::store::outbox_len(db)
            .await
            .expect("outbox");
        if n == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{n} entries stay in the outbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn item_count(db: &vhgate::store::Db) -> i64 {
    vhgate::with_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM information_items").fetch_one(p).await)
        .expect("count items")
}

fn fast(config: &mut vhgate::config::Config) {
    config.log.outbox_sweep_ms = 200;
}

// ---------------------------------------------------------------- full filesystem (SQLite)

/// A tmpfs of `size` on a temp dir, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount tmpfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the gateway's pool may still hold the files for a moment.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes a ballast file until the filesystem is full, down to the last byte.
fn fill(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("ballast");
    let mut written = 0u64;
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_filesystem_refuses_with_503_and_recovers() {
    if !is_root() {
        assert!(!in_ci(), "CI=true but not root: cannot mount a tmpfs");
        eprintln!("SKIPPED (full filesystem): mounting a tmpfs needs root; set CI=true to make this a failure");
        return;
    }
    let fs = Tmpfs::mount("16m");
    let db_path = fs.dir.path().join("vhgate.db");
    let env = Env::start_with(Backend::Sqlite, |c| {
        fast(c);
        c.database.url = format!("sqlite://{}", db_path.display());
    })
    .await
    .expect("sqlite env");
    let p = Probe::new(&env);
    p.works(&env).await;
    let items = item_count(&env.db).await;

    // Empty the WAL first, so the next write needs new space (a WAL that already has room is
    // reused in place, and the fault would only bite once it has to grow).
    env.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
    let ballast = fs.dir.path().join("ballast");
    let filled_at = Instant::now();
    let bytes = fill(&ballast);
    let (seen, slowest) = p.refused(&env, 3, Duration::from_secs(8)).await;
    let first = filled_at.elapsed();
    let ready = alive(&env, &p).await;
    assert_eq!(
        item_count(&env.db).await,
        items,
        "a refused write left a row"
    );

    std::fs::remove_file(&ballast).expect("remove ballast");
    let recovered = p.recovers(&env, Duration::from_secs(20)).await;
    // Every pooled connection is used again: none may be left unusable by the fault.
    for _ in 0..8 {
        p.works(&env).await;
    }
    outbox_drains(&env.db).await;
    env.assert_log_intact().await;
    eprintln!(
        "full filesystem (SQLite, tmpfs 16m, ballast {bytes} bytes): {seen:?}, slowest 503 {slowest:?}, \
         6 refusals in {first:?}; /healthz 200, /readyz {ready}; recovered {recovered:?} after the ballast went"
    );
    env.stop().await;
}

// ------------------------------------------------------------ read-only database (PostgreSQL)

async fn admin_pool() -> Option<sqlx::PgPool> {
    let admin = std::env::var("VHGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match sqlx::PgPool::connect(&admin).await {
        Ok(p) => Some(p),
        Err(e) if in_ci() => panic!("CI=true but PostgreSQL at {admin} is unreachable: {e}"),
        Err(e) => {
            eprintln!("SKIPPED (PostgreSQL): {admin} unreachable ({e})");
            None
        }
    }
}

fn database_name(url: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .path()
        .trim_start_matches('/')
        .to_string()
}

/// Ends every session on `db` (as a switch-over to another server would).
async fn drop_sessions(admin: &sqlx::PgPool, db: &str) {
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(db)
        .execute(admin)
        .await
        .expect("terminate sessions");
}

/// The database turns read-only (every new session's transactions are read-only, and the
/// current sessions end, as in a switch-over to a read-only server), then writable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_only_refuses_with_503_and_recovers() {
    let Some(admin) = admin_pool().await else {
        return;
    };
    let Some(env) = Env::start_with(Backend::Postgres, fast).await else {
        return;
    };
    let name = database_name(&env.config.database.url);
    let p = Probe::new(&env);
    p.works(&env).await;
    let items = item_count(&env.db).await;

    sqlx::query(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ))
    .execute(&admin)
    .await
    .expect("read-only");
    let started = Instant::now();
    drop_sessions(&admin, &name).await;
    let (seen, slowest) = p.refused(&env, 3, Duration::from_secs(8)).await;
    let first = started.elapsed();
    let ready = alive(&env, &p).await;
    assert_eq!(
        item_count(&env.db).await,
        items,
        "a refused write left a row"
    );

    sqlx::query(&format!(
        "ALTER DATABASE {name} RESET default_transaction_read_only"
    ))
    .execute(&admin)
    .await
    .expect("writable");
    drop_sessions(&admin, &name).await;
    let recovered = p.recovers(&env, Duration::from_secs(20)).await;
    // Every pooled connection is used again: none may be left unusable by the fault.
    for _ in 0..8 {
        p.works(&env).await;
    }
    outbox_drains(&env.db).await;
    env.assert_log_intact().await;
    eprintln!(
        "read-only database (PostgreSQL): {seen:?}, slowest 503 {slowest:?}, 6 refusals in {first:?}; \
         /healthz 200, /readyz {ready}; recovered {recovered:?} after it became writable"
    );
    admin.close().await;
    env.stop().await;
}

// ------------------------------------------------------ unreachable database (PostgreSQL)

/// A TCP proxy to PostgreSQL that the test can cut (every proxied connection closed, new
/// ones closed at once) and restore.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (c, k) = (cut.clone(), conns.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                k.lock().expect("lock").push(forward);
            }
        });
        Proxy {
            port,
            cut,
            conns,
            task,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        for c in self.conns.lock().expect("lock").drain(..) {
            c.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_refuses_with_503_and_recovers() {
    let Some(admin) = admin_pool().await else {
        return;
    };
    admin.close().await;
    let proxy = Proxy::start("127.0.0.1:5432".into()).await;
    let port = proxy.port;
    let Some(env) = Env::start_with(Backend::Postgres, |c| {
        fast(c);
        let mut url = url::Url::parse(&c.database.url).expect("url");
        url.set_port(Some(port)).expect("port");
        c.database.url = url.to_string();
    })
    .await
    else {
        return;
    };
    // The test's own view of the database bypasses the proxy.
    let mut direct = url::Url::parse(&env.config.database.url).expect("url");
    direct.set_port(Some(5432)).expect("port");
    let db = vhgate::store::Db::connect(direct.as_str(), 2)
        .await
        .expect("direct connection");
    let p = Probe::new(&env);
    p.works(&env).await;
    let items = item_count(&db).await;

    let started = Instant::now();
    proxy.cut();
    let (seen, slowest) = p.refused(&env, 3, Duration::from_secs(8)).await;
    let first = started.elapsed();
    let ready = alive(&env, &p).await;
    assert_eq!(item_count(&db).await, items, "a refused write left a row");

    proxy.restore();
    let recovered = p.recovers(&env, Duration::from_secs(20)).await;
    // Every pooled connection is used again: none may be left unusable by the fault.
    for _ in 0..8 {
        p.works(&env).await;
    }
    outbox_drains(&db).await;
    env.assert_log_intact().await;
    eprintln!(
        "unreachable database (PostgreSQL via a cut proxy): {seen:?}, slowest 503 {slowest:?}, 6 refusals in {first:?}; \
         /healthz 200, /readyz {ready}; recovered {recovered:?} after the proxy came back"
    );
    db.close().await;
    env.stop().await;
}
