//! Crash safety: the gateway is killed with SIGKILL again and again under load. Every answer a
//! client received with a `Disclosure-Id` must have its entry in the log under a signed
//! checkpoint, and the log must verify.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{pki, Backend};
use vhgate::config::Config;
use vhgate::demo::{dev_config, prepare};
use vhgate::disclosure::tree;
use vhgate::disclosure::verify::{verify, VerifyOutcome};
use vhgate::store::Db;

const KILLS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_under_load_loses_no_acknowledged_entry() {
    sigkill_under_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_under_load_loses_no_acknowledged_entry() {
    sigkill_under_load(Backend::Postgres).await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn spawn_gateway(config_file: &std::path::Path) -> Child {
    Command::new(common::vhgate_bin())
        .args(["serve", "--config"])
        .arg(config_file)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vhgate serve")
}

async fn sigkill_under_load(backend: Backend) {
    let pki = pki();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = dev_config(Config::default(), &pki.layout, dir.path());
    let port = free_port();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.policy.dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut pg_database = None;
    if backend == Backend::Postgres {
        let Some((admin, name, url)) = common::create_pg_database().await else {
            return;
        };
        config.database.url = url;
        pg_database = Some((admin, name));
    }
    let ids = prepare(&config, &pki.layout).await.expect("prepare");
    let config_file = dir.path().join("vhgate.toml");
    std::fs::write(&config_file, toml::to_string(&config).expect("toml")).expect("write config");

    let cert = std::fs::read_to_string(pki.layout.partner_cert("politie")).expect("cert");
    let key = std::fs::read_to_string(pki.layout.partner_key("politie")).expect("key");
    let client = common::mtls_client(config.server.listen, &cert, &key);
    let token = vhgate::demo::dev_token(
        &pki.layout,
        &vhgate::demo::DevTokenSpec::new("politie", "professional", "casusoverleg", 900),
    )
    .expect("token");
    let url = format!(
        "https://localhost:{port}/v1/cases/{}/persons/{}",
        ids.oss_case, ids.oss_youth
    );
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));

    for round in 0..KILLS {
        let mut child = spawn_gateway(&config_file);
        let deadline = Instant::now() + Duration::from_secs(20);
        while client
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: gateway did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = Vec::new();
        for _ in 0..16 {
            let (client, url, token, acked, stop) = (
                client.clone(),
                url.clone(),
                token.clone(),
                acknowledged.clone(),
                stop.clone(),
            );
            load.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(r) = client.get(&url).bearer_auth(&token).send().await else {
                        break;
                    };
                    let id = r
                        .headers()
                        .get("disclosure-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    // Acknowledged only once the whole answer arrived.
                    if r.status().is_success() && r.bytes().await.is_ok() {
                        if let Some(id) = id {
                            acked.lock().expect("lock").insert(id);
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(150 + (round as u64 * 37) % 250)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for l in load {
            let _ = l.await;
        }
    }

    let db = Db::connect(&config.database.url, 2).await.expect("connect");
    let acked: Vec<String> = acknowledged.lock().expect("lock").iter().cloned().collect();
    assert!(
        acked.len() > KILLS,
        "too little load to mean anything: {}",
        acked.len()
    );
    let newest = tree::latest_checkpoint(&db)
        .await
        .expect("checkpoint")
        .expect("a checkpoint");
    for id in &acked {
        let row = tree::entry_by_id(&db, id.parse().expect("uuid"))
            .await
            .expect("query");
        let row = row.unwrap_or_else(|| panic!("acknowledged disclosure {id} is not in the log"));
        assert!(
            row.seq <= newest.size,
            "entry {} is not under a signed checkpoint",
            row.seq
        );
        let covering = tree::checkpoint_covering(&db, (row.seq - 1) as u64)
            .await
            .expect("query");
        assert!(covering.is_some(), "no checkpoint covers entry {}", row.seq);
    }
    let outcome = verify(&db).await.expect("verify");
    assert!(
        matches!(outcome, VerifyOutcome::Intact { .. }),
        "{outcome:?}"
    );
    eprintln!(
        "{KILLS} SIGKILLs, {} acknowledged disclosures, all logged under a signed checkpoint",
        acked.len()
    );
    db.close().await;
    if let Some((admin, name)) = pg_database {
        if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
        }
    }
}
