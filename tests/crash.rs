//! Crash safety: the real `vhgate serve` binary is killed with SIGKILL again and again, at
//! seeded random points (also during start-up), under a mixed load of person reads by several
//! partners and casework writes (information contributions, corrections and withdrawals,
//! afspraken made and updated with notes, escalations on the AVE ladder, new registrations).
//! Afterwards, on either backend:
//! (a) every answer a client received whole with a 2xx has its entry in the log under a signed
//! checkpoint; (b) every row the load added to or changed in the case tables has an entry that
//! names it; (c) the outbox is empty once a last start has drained it; (d) `vhgate log verify`
//! (the real CLI) exits 0.
//!
//! Refusals the clients received whole (403 over the daily budget, 409 conflicts, 422) carry a
//! Disclosure-Id too and are checked like (a).
//!
//! `VHGATE_CRASH_KILLS` sets the number of kills (default 100 per backend);
//! `VHGATE_CRASH_SEED` replays a run (the seed is printed).

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{pki, Backend, ServeConfig};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;
use vhgate::demo::{dev_token, DemoIds, DevTokenSpec};
use vhgate::disclosure::{store as log_store, tree};
use vhgate::fuzz::engine::Rng;
use vhgate::store::Db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_under_mixed_load_loses_no_acknowledged_entry() {
    sigkill_under_load(Backend::Sqlite, kills(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_under_mixed_load_loses_no_acknowledged_entry() {
    sigkill_under_load(Backend::Postgres, kills(100)).await;
}

fn kills(default: usize) -> usize {
    std::env::var("VHGATE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The `vhgate` binary, without this test's own `VHGATE_CRASH_*` settings (the gateway reads
/// `VHGATE_*` variables as configuration and refuses unknown ones).
fn vhgate() -> Command {
    let mut c = Command::new(common::vhgate_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VHGATE_CRASH_") {
            c.env_remove(k);
        }
    }
    c
}

fn spawn_gateway(config_file: &Path) -> Child {
    vhgate()
        .args(["serve", "--config"])
        .arg(config_file)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("VHGATE_CRASH_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("spawn vhgate serve")
}

/// Every kind of write in the load.
const ALL_WRITES: [Op; 7] = [
    Op::Contribute,
    Op::Correct,
    Op::Withdraw,
    Op::CreateAfspraak,
    Op::PatchAfspraak,
    Op::Escalate,
    Op::Register,
];

/// What the load did, as the clients saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Read,
    Contribute,
    Correct,
    Withdraw,
    CreateAfspraak,
    PatchAfspraak,
    Escalate,
    Register,
}

/// What the clients received.
#[derive(Default)]
struct Tally {
    /// Answers received whole with a 2xx: the operation and its Disclosure-Id.
    acked: Vec<(Op, Uuid)>,
    /// Refusals received whole that name their entry (Disclosure-Id).
    refusals: Vec<(Op, Uuid)>,
    /// Afspraken whose creation was acknowledged (the patches pick from these).
    afspraken: Vec<String>,
    /// Active items gemeente contributed or corrected (corrections and withdrawals pick from
    /// these).
    items: Vec<String>,
    /// Answers that were not 2xx, by operation and status.
    refused: HashMap<(Op, u16), usize>,
    cut: usize,
}

/// A demo partner's mTLS client with the tokens the load needs.
#[derive(Clone)]
struct Actor {
    oin: String,
    http: reqwest::Client,
    token: String,
}

fn actor(listen: SocketAddr, partner: &str, role: &str, purpose: &str) -> Actor {
    let pki = pki();
    let cert = std::fs::read_to_string(pki.layout.partner_cert(partner)).expect("cert");
    let key = std::fs::read_to_string(pki.layout.partner_key(partner)).expect("key");
    let token =
        dev_token(&pki.layout, &DevTokenSpec::new(partner, role, purpose, 900)).expect("token");
    Actor {
        oin: vhgate::pki::demo_partner(partner)
            .expect("partner")
            .oin
            .to_string(),
        http: common::mtls_client(listen, &cert, &key),
        token,
    }
}

/// Everyone the load acts as.
#[derive(Clone)]
struct Cast {
    politie: Actor,
    gemeente: Actor,
    ggz: Actor,
    reclassering: Actor,
    woningcorporatie: Actor,
    procesregisseur: Actor,
}

struct Load {
    cast: Cast,
    ids: DemoIds,
    port: u16,
    tally: Arc<Mutex<Tally>>,
}

impl Load {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// One request, chosen by `rng`. False when the connection failed (the gateway is gone).
    async fn one(&self, rng: &mut Rng) -> bool {
        let c = &self.cast;
        let case = self.ids.uden_case;
        let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
        let pick = rng.below(100);
        let (op, who, method, path, body) = match pick {
            0..=44 => {
                // Five partners, so the daily budget (200 per partner type) lasts longer.
                let (who, case, person) = match rng.below(5) {
                    0 => (&c.politie, self.ids.oss_case, self.ids.oss_youth),
                    1 => (&c.gemeente, case, self.ids.uden_man),
                    2 => (&c.reclassering, case, self.ids.uden_man),
                    3 => (&c.woningcorporatie, case, self.ids.uden_man),
                    _ => (&c.ggz, case, self.ids.uden_man),
                };
                (
                    Op::Read,
                    who,
                    Method::GET,
                    format!("/v1/cases/{case}/persons/{person}"),
                    None,
                )
            }
            54..=59 => {
                let known = {
                    let mut t = self.tally.lock().expect("lock");
                    // Taken out: a corrected or withdrawn item is not active any more.
                    (!t.items.is_empty()).then(|| {
                        let i = rng.below(t.items.len());
                        t.items.swap_remove(i)
                    })
                };
                let Some(item) = known else {
                    return true;
                };
                if pick < 57 {
                    (
                        Op::Correct,
                        &c.gemeente,
                        Method::POST,
                        format!("/v1/cases/{case}/information/{item}/correction"),
                        Some(
                            json!({"content": "Huurachterstand van twee maanden.", "reason": "bedrag gecorrigeerd"}),
                        ),
                    )
                } else {
                    (
                        Op::Withdraw,
                        &c.gemeente,
                        Method::POST,
                        format!("/v1/cases/{case}/information/{item}/withdrawal"),
                        Some(json!({"reason": "ten onrechte gedeeld"})),
                    )
                }
            }
            45..=53 => (
                Op::Contribute,
                &c.gemeente,
                Method::POST,
                format!("/v1/cases/{case}/information"),
                Some(json!({
                    "person_id": self.ids.uden_man.to_string(),
                    "leefgebied": "wonen",
                    "category": "overig",
                    "content": "Huurachterstand van drie maanden; ontruiming dreigt.",
                    "ground": "gemeente_sociaal_domein",
                })),
            ),
            60..=71 => (
                Op::CreateAfspraak,
                &c.politie,
                Method::POST,
                format!("/v1/cases/{case}/afspraken"),
                Some(
                    json!({"partner_oin": c.ggz.oin, "action": "intake plannen", "due_date": due}),
                ),
            ),
            72..=83 => {
                let known = {
                    let t = self.tally.lock().expect("lock");
                    (!t.afspraken.is_empty())
                        .then(|| t.afspraken[rng.below(t.afspraken.len())].clone())
                };
                let Some(id) = known else {
                    return true;
                };
                let status = ["open", "lopend", "gestagneerd"][rng.below(3)];
                (
                    Op::PatchAfspraak,
                    &c.ggz,
                    Method::PATCH,
                    format!("/v1/cases/{case}/afspraken/{id}"),
                    Some(json!({"status": status, "note": "voortgang gemeld"})),
                )
            }
            84..=91 => (
                Op::Escalate,
                &c.procesregisseur,
                Method::POST,
                format!("/v1/cases/{case}/escalation"),
                Some(json!({"level": 1 + rng.below(4) as u64, "reason": "afspraken lopen vast"})),
            ),
            _ => (
                Op::Register,
                &c.politie,
                Method::POST,
                "/v1/cases".to_string(),
                Some(json!({
                    "kind": "persoon",
                    "region": "oost-brabant",
                    "title": "aanmelding overlast centrum",
                    "reason": "escalating nuisance, addiction and debts; earlier approaches failed",
                    "persons": [{"bsn": common::fresh_bsn(), "naam": "Jan Testpersoon-Crash", "geboortedatum": "1980-02-03"}],
                    "problems": [{"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]}],
                    "chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
                    "system": {"family": true}
                })),
            ),
        };
        let mut req = who
            .http
            .request(method, self.url(&path))
            .bearer_auth(&who.token);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let Ok(r) = req.send().await else {
            return false;
        };
        let status = r.status();
        let id = r
            .headers()
            .get("disclosure-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Uuid>().ok());
        // Acknowledged only once the whole answer arrived.
        let Ok(bytes) = r.bytes().await else {
            self.tally.lock().expect("lock").cut += 1;
            return false;
        };
        let mut t = self.tally.lock().expect("lock");
        if status.is_success() {
            let id = id.unwrap_or_else(|| panic!("{op:?}: a 2xx without a Disclosure-Id"));
            t.acked.push((op, id));
            let v: Value = serde_json::from_slice(&bytes).expect("json");
            match op {
                Op::CreateAfspraak => t
                    .afspraken
                    .extend(v["afspraak"]["id"].as_str().map(str::to_owned)),
                Op::Contribute | Op::Correct => {
                    t.items.extend(v["item_id"].as_str().map(str::to_owned))
                }
                _ => {}
            }
        } else {
            *t.refused.entry((op, status.as_u16())).or_default() += 1;
            t.refusals.extend(id.map(|id| (op, id)));
        }
        true
    }
}

/// Ids (and, for afspraken, the last change) of the case-table rows, to tell what the load
/// added or changed.
#[derive(Default, Debug)]
struct Rows {
    /// item id -> (status, changed_at, the version it replaces).
    items: HashMap<Uuid, (String, Option<String>, Option<Uuid>)>,
    afspraken: HashMap<Uuid, Option<String>>,
    notes: HashSet<Uuid>,
    escalations: HashSet<Uuid>,
    cases: HashSet<Uuid>,
    registrations: HashSet<Uuid>,
    /// person id -> the cases it is linked to.
    persons: HashMap<Uuid, Vec<Uuid>>,
}

async fn ids(db: &Db, sql: &str) -> HashSet<Uuid> {
    let rows: Vec<(Uuid,)> = vhgate::with_pool!(db, p => sqlx::query_as(sql).fetch_all(p).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|(id,)| id).collect()
}

async fn snapshot(db: &Db) -> Rows {
    const AFSPRAKEN: &str = "SELECT id, CAST(updated_at AS TEXT) FROM afspraken";
    let afspraken: Vec<(Uuid, Option<String>)> =
        vhgate::with_pool!(db, p => sqlx::query_as(AFSPRAKEN).fetch_all(p).await)
            .expect("afspraken");
    const ITEMS: &str =
        "SELECT id, status, CAST(changed_at AS TEXT), replaces FROM information_items";
    type Item = (Uuid, String, Option<String>, Option<Uuid>);
    let items: Vec<Item> =
        vhgate::with_pool!(db, p => sqlx::query_as(ITEMS).fetch_all(p).await).expect("items");
    const PERSONS: &str =
        "SELECT p.id, cp.case_id FROM persons p LEFT JOIN case_persons cp ON cp.person_id = p.id";
    let persons: Vec<(Uuid, Option<Uuid>)> =
        vhgate::with_pool!(db, p => sqlx::query_as(PERSONS).fetch_all(p).await).expect("persons");
    let mut by_person: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (p, c) in persons {
        by_person.entry(p).or_default().extend(c);
    }
    Rows {
        items: items
            .into_iter()
            .map(|(id, s, c, r)| (id, (s, c, r)))
            .collect(),
        afspraken: afspraken.into_iter().collect(),
        notes: ids(db, "SELECT id FROM afspraak_notes").await,
        escalations: ids(db, "SELECT id FROM case_escalations").await,
        cases: ids(db, "SELECT id FROM cases").await,
        registrations: ids(db, "SELECT case_id FROM case_registrations").await,
        persons: by_person,
    }
}

/// What the log says was written: `(event, disclosed name)` pairs and the cases of allowed
/// registrations.
async fn logged(db: &Db) -> (HashSet<(String, String)>, HashSet<Uuid>, i64) {
    let mut names = HashSet::new();
    let mut registered = HashSet::new();
    let mut after = 0i64;
    loop {
        let rows = log_store::rows_after(db, after, 1000).await.expect("rows");
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            let e: Value = serde_json::from_str(&r.entry).expect("entry json");
            let event = e["event"].as_str().unwrap_or_default().to_string();
            if event == "register_case" && e["status"] == 201 {
                registered.extend(r.case_id);
            }
            for d in e["disclosed"].as_array().into_iter().flatten() {
                if let Some(d) = d.as_str() {
                    names.insert((event.clone(), d.to_string()));
                }
            }
        }
    }
    (names, registered, after)
}

async fn sigkill_under_load(backend: Backend, kills: usize) {
    let seed = std::env::var("VHGATE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    eprintln!("{backend:?}: seed {seed} (VHGATE_CRASH_SEED={seed} replays it), {kills} kills");
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let port = free_port();
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let Some(serve) = ServeConfig::prepare(backend, listen, |_| {}).await else {
        return;
    };
    let (config, config_file, ids) = (&serve.config, &serve.file, serve.ids.clone());
    let db = Db::connect(&config.database.url, 2).await.expect("connect");
    let before = snapshot(&db).await;

    let listen = config.server.listen;
    let cast = Cast {
        politie: actor(listen, "politie", "professional", "casusoverleg"),
        gemeente: actor(listen, "gemeente", "professional", "casusoverleg"),
        ggz: actor(listen, "ggz", "professional", "casusoverleg"),
        reclassering: actor(listen, "reclassering", "professional", "casusoverleg"),
        woningcorporatie: actor(listen, "woningcorporatie", "professional", "casusoverleg"),
        procesregisseur: actor(listen, "veiligheidshuis", "procesregisseur", "procesregie"),
    };
    let health = cast.politie.http.clone();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let load = Arc::new(Load {
        cast,
        ids: ids.clone(),
        port,
        tally: tally.clone(),
    });
    let healthz = format!("https://localhost:{port}/healthz");
    let mut startups = Vec::new();
    let mut during_startup = 0usize;

    for round in 0..kills {
        let spawned = Instant::now();
        let mut child = spawn_gateway(config_file);
        // Now and then a kill while the gateway starts (migrations, the outbox sweep at start).
        if rng.below(10) == 0 {
            tokio::time::sleep(Duration::from_millis(rng.below(400) as u64)).await;
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            during_startup += 1;
            continue;
        }
        let deadline = spawned + Duration::from_secs(30);
        while health.get(&healthz).send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "round {round}: gateway did not come up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        startups.push(spawned.elapsed());
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..12 {
            let (load, stop) = (load.clone(), stop.clone());
            let mut rng = Rng::new(rng.next_u64());
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if !load.one(&mut rng).await {
                        break;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(30 + rng.below(600) as u64)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.expect("load task");
        }
    }

    // A last start drains what the killed processes left in the outbox.
    let outbox_after_kills = log_store::outbox_len(&db).await.expect("outbox");
    let mut child = spawn_gateway(config_file);
    let deadline = Instant::now() + Duration::from_secs(30);
    while health.get(&healthz).send().await.is_err() {
        assert!(Instant::now() < deadline, "the last start did not come up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = log_store::outbox_len(&db).await.expect("outbox");
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "(c) {n} entries stay in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // (d) the real CLI verifies the whole log.
    let verify = vhgate()
        .args(["log", "verify", "--config"])
        .arg(config_file)
        .env("RUST_LOG", "error")
        .output()
        .expect("run vhgate log verify");
    assert!(
        verify.status.success(),
        "(d) vhgate log verify failed: {}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // (a) every acknowledged answer has its entry under a signed checkpoint.
    let t = std::mem::take(&mut *tally.lock().expect("lock"));
    let newest = tree::latest_checkpoint(&db)
        .await
        .expect("checkpoint")
        .expect("a checkpoint");
    let mut missing = Vec::new();
    for (op, id) in t.acked.iter().chain(&t.refusals) {
        match tree::entry_by_id(&db, *id).await.expect("query") {
            None => missing.push(format!("(a) acknowledged {op:?} {id} is not in the log")),
            Some(row) => {
                let covered = tree::checkpoint_covering(&db, (row.seq - 1) as u64)
                    .await
                    .expect("query")
                    .is_some();
                if row.seq > newest.size || !covered {
                    missing.push(format!(
                        "(a) {op:?} {id} (seq {}) is not under a signed checkpoint",
                        row.seq
                    ));
                }
            }
        }
    }
    let reads = t.acked.iter().filter(|(op, _)| *op == Op::Read).count();
    let writes = t.acked.len() - reads;
    let mut per_op: HashMap<Op, usize> = HashMap::new();
    for (op, _) in &t.acked {
        *per_op.entry(*op).or_default() += 1;
    }

    // (b) every row the load added or changed is named by an entry of its step.
    let after = snapshot(&db).await;
    let (names, registered, entries) = logged(&db).await;
    let mut checked = 0usize;
    let mut need = |what: &str, event: &str, name: String| {
        checked += 1;
        if !names.contains(&(event.to_string(), name.clone())) {
            missing.push(format!("(b) {what}: no {event} entry names {name}"));
        }
    };
    for (id, now) in &after.items {
        let (status, _, replaces) = now;
        if !before.items.contains_key(id) {
            // A new item: contributed, or the new version of a correction.
            let event = if replaces.is_some() {
                "correct_information"
            } else {
                "contribute_information"
            };
            need("information item", event, format!("item:{id}"));
        }
        if before.items.get(id) != Some(now) {
            match status.as_str() {
                "gecorrigeerd" => need(
                    "corrected item",
                    "correct_information",
                    format!("item:{id}"),
                ),
                "ingetrokken" => need(
                    "withdrawn item",
                    "withdraw_information",
                    format!("item:{id}"),
                ),
                _ => {}
            }
        }
    }
    for (id, updated) in &after.afspraken {
        match before.afspraken.get(id) {
            None => need("afspraak", "create_afspraak", format!("afspraak:{id}")),
            Some(was) if was != updated => need(
                "changed afspraak",
                "update_afspraak",
                format!("afspraak:{id}"),
            ),
            Some(_) => {}
        }
        if updated.is_some() && !before.afspraken.contains_key(id) {
            need(
                "changed afspraak",
                "update_afspraak",
                format!("afspraak:{id}"),
            );
        }
    }
    for id in after.notes.difference(&before.notes) {
        need("afspraak note", "update_afspraak", format!("note:{id}"));
    }
    for id in after.escalations.difference(&before.escalations) {
        need("escalation", "escalate_case", format!("escalation:{id}"));
    }
    for (what, new) in [
        ("case", after.cases.difference(&before.cases)),
        (
            "registration",
            after.registrations.difference(&before.registrations),
        ),
    ] {
        for id in new {
            checked += 1;
            if !registered.contains(id) {
                missing.push(format!("(b) {what} {id}: no register_case entry names it"));
            }
        }
    }
    for (person, cases) in &after.persons {
        if before.persons.contains_key(person) {
            continue;
        }
        checked += 1;
        if !cases.iter().any(|c| registered.contains(c)) {
            missing.push(format!(
                "(b) person {person}: not linked to a case a register_case entry names"
            ));
        }
    }

    let startup_ms: Vec<u128> = startups.iter().map(Duration::as_millis).collect();
    let mean = startup_ms.iter().sum::<u128>() / startup_ms.len().max(1) as u128;
    let max = startup_ms.iter().max().copied().unwrap_or(0);
    eprintln!(
        "{backend:?} crash sweep (seed {seed}): {kills} SIGKILLs ({during_startup} during start-up) in {:.1}s; \
         start-up mean {mean} ms, max {max} ms; acknowledged {reads} reads and {writes} writes {per_op:?}; \
         not 2xx {:?} ({} with their entry checked), {} answers cut off; {} entries in the log, {outbox_after_kills} left in the outbox \
         by the kills and drained at the last start; {checked} changed rows checked; {} missing entries; \
         vhgate log verify: {}",
        started.elapsed().as_secs_f64(),
        t.refused,
        t.refusals.len(),
        t.cut,
        entries,
        missing.len(),
        String::from_utf8_lossy(&verify.stdout).trim(),
    );
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(
        reads > kills && writes > kills / 2,
        "too little load to mean anything: {reads} reads, {writes} writes"
    );
    // A short run (VHGATE_CRASH_KILLS below 20) may miss a kind of step by chance.
    let kinds = if kills >= 20 { &ALL_WRITES[..] } else { &[] };
    for op in kinds {
        assert!(
            per_op.get(op).is_some_and(|n| *n > 0),
            "no {op:?} acknowledged"
        );
    }
    db.close().await;
    serve.drop_database().await;
}
