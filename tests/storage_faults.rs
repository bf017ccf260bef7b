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
    /// nothing. Returns the statuses and problem types seen, the slowest answer and when the
    /// first arrived.
    async fn refused(
        &self,
        env: &Env,
        rounds: usize,
        within: Duration,
    ) -> (Vec<String>, Duration, Instant) {
        let mut seen = Vec::new();
        let mut slowest = Duration::ZERO;
        let mut first = None;
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
                first.get_or_insert_with(Instant::now);
                let s = format!("{} {}", r.status.as_u16(), r.problem());
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
        }
        (seen, slowest, first.unwrap_or_else(Instant::now))
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

/// Faster sweeps, and a request deadline well below the clients' 20 s.
fn fast(config: &mut vhgate::config::Config) {
    config.log.outbox_sweep_ms = 200;
    config.server.request_timeout_ms = 3000;
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
    let (seen, slowest, first) = p.refused(&env, 3, Duration::from_secs(4)).await;
    let first = first - filled_at;
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
         first 503 {first:?} after the disk filled; /healthz 200, /readyz {ready}; recovered {recovered:?} after the ballast went"
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
    let (seen, slowest, first) = p.refused(&env, 3, Duration::from_secs(4)).await;
    let first = first - started;
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
        "read-only database (PostgreSQL): {seen:?}, slowest 503 {slowest:?}, first 503 {first:?} after it turned read-only; \
         /healthz 200, /readyz {ready}; recovered {recovered:?} after it became writable"
    );
    admin.close().await;
    env.stop().await;
}

// ------------------------------------------------------ unreachable database (PostgreSQL)

/// A TCP proxy to PostgreSQL that the test can cut (every proxied connection closed, new
/// ones closed at once), stall (bytes held, nothing closed: a silent network partition) and
/// restore.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Copies one direction, holding each chunk while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let cut = Arc::new(AtomicBool::new(false));
        let stalled = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (c, st, k) = (cut.clone(), stalled.clone(), conns.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (upstream, st) = (upstream.clone(), st.clone());
                let forward = tokio::spawn(async move {
                    // A connection made during a stall hangs until it ends.
                    while st.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    if let Ok(out) = tokio::net::TcpStream::connect(&upstream).await {
                        let (ir, iw) = inbound.into_split();
                        let (or, ow) = out.into_split();
                        tokio::join!(pump(ir, ow, st.clone()), pump(or, iw, st));
                    }
                });
                k.lock().expect("lock").push(forward);
            }
        });
        Proxy {
            port,
            cut,
            stalled,
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

    fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
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
    unreachable(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_silent_partition_refuses_with_503_and_recovers() {
    unreachable(true).await;
}

/// PostgreSQL behind a proxy that is cut (connections closed: the server went away) or
/// stalled (nothing arrives and nothing closes: a silent partition), then restored.
async fn unreachable(stall: bool) {
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

    // Requests under way when the fault starts must end too (with whatever answer).
    let faulted = Mutex::new(None::<Instant>);
    let first_503 = Mutex::new(None::<Instant>);
    let in_flight = {
        let busy = AtomicBool::new(true);
        let env = &env;
        let worker = |n: usize| {
            let (p, busy, first_503) = (Probe::new(env), &busy, &first_503);
            async move {
                let mut longest = Duration::ZERO;
                let mut i = n;
                while busy.load(Ordering::SeqCst) {
                    let (r, took) = if i % 2 == 0 {
                        p.read(env).await
                    } else {
                        p.write(env).await
                    };
                    if !r.status.is_success() {
                        assert_fault_answer("in flight", &r);
                        first_503
                            .lock()
                            .expect("lock")
                            .get_or_insert_with(Instant::now);
                    }
                    longest = longest.max(took);
                    i += 1;
                }
                longest
            }
        };
        let fault = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            *faulted.lock().expect("lock") = Some(Instant::now());
            if stall {
                proxy.stall();
            } else {
                proxy.cut();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            busy.store(false, Ordering::SeqCst);
        };
        let (a, b, c, d, ()) = tokio::join!(worker(0), worker(1), worker(2), worker(3), fault);
        a.max(b).max(c).max(d)
    };
    let items = item_count(&db).await;
    let (seen, slowest, probed) = p.refused(&env, 3, Duration::from_secs(4)).await;
    let faulted = faulted.lock().expect("lock").expect("fault time");
    let first = first_503.lock().expect("lock").unwrap_or(probed) - faulted;
    let ready = alive(&env, &p).await;
    assert_eq!(item_count(&db).await, items, "a refused write left a row");
    assert!(
        in_flight < Duration::from_secs(4),
        "a request under way when the fault began took {in_flight:?}"
    );

    proxy.restore();
    let recovered = p.recovers(&env, Duration::from_secs(20)).await;
    // Every pooled connection is used again: none may be left unusable by the fault.
    for _ in 0..8 {
        p.works(&env).await;
    }
    outbox_drains(&db).await;
    env.assert_log_intact().await;
    eprintln!(
        "unreachable database (PostgreSQL via a {} proxy): {seen:?}, slowest 503 {slowest:?}, first 503 {first:?} after the fault; \
         longest request under way at the fault {in_flight:?}; /healthz 200, /readyz {ready}; \
         recovered {recovered:?} after the proxy came back",
        if stall { "stalled" } else { "cut" }
    );
    db.close().await;
    env.stop().await;
}
