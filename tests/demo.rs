//! `vhgate demo`: the phase cases it seeds through the casework steps, and its walk-through of
//! one family case, run step by step against a real server over mTLS (with the harness's demo
//! partners, which are the demo's) and as the printed shell commands (bash and curl).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{pki, Env};
use serde_json::Value;
use vhgate::demo::{seed_casework, walk, PhaseCases};
use vhgate::domain::Phase;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn seed(env: &Env) -> PhaseCases {
    let started = Instant::now();
    let phases = seed_casework(&env.gateway(), &pki().layout)
        .await
        .expect("seed the phase cases");
    let took = started.elapsed();
    eprintln!("phase cases seeded in {took:?}");
    // The brief is < 2 s on a quiet machine; a loaded CI runner gets some slack.
    assert!(took < Duration::from_secs(10), "seeding took {took:?}");
    phases
}

/// Events in the log about `case`, in order.
async fn events_of(env: &Env, case: vhgate::domain::CaseId) -> Vec<String> {
    let n = env.log_count().await;
    let rows = vhgate::disclosure::store::rows_after(&env.db, 0, n)
        .await
        .expect("rows");
    rows.iter()
        .filter_map(|r| {
            let e: Value = serde_json::from_str(&r.entry).expect("entry");
            (e["case_id"].as_str() == Some(case.to_string().as_str()))
                .then(|| e["event"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

async fn seeds_a_case_in_every_phase(env: &Env) {
    let before = env.log_count().await;
    let phases = seed(env).await;
    let record = env.record();
    let expected = [
        (phases.aanmelding, Phase::Aanmelding),
        (phases.screening, Phase::Screening),
        (phases.mdo, Phase::Mdo),
        (phases.uitvoering, Phase::Uitvoering),
        (phases.afgesloten, Phase::Afgesloten),
        (phases.destroyed, Phase::Afgesloten),
    ];
    for (case, phase) in expected {
        let c = record.case(case).await.expect("case").expect("exists");
        assert_eq!(c.phase, phase, "{case}");
        assert_eq!(c.region, "oost-brabant");
    }
    // One entry per step: 1 (aanmelding) + 3 (screening) + 9 (mdo: 2 contributions) +
    // 17 (uitvoering: 3 contributions, 3 afspraken, 2 status changes) + 8 (afgesloten) +
    // 3 (destroyed: registration, decision, destruction).
    assert_eq!(env.log_count().await - before, 41);
    env.assert_log_intact().await;

    assert_eq!(events_of(env, phases.aanmelding).await, ["register_case"]);
    assert_eq!(
        events_of(env, phases.screening).await,
        ["register_case", "screen_case", "screening_decision"]
    );
    let oin = |p: &str| {
        vhgate::pki::demo_partner(p)
            .expect("partner")
            .oin
            .to_string()
    };
    // mdo: four invited, two at the table, Veilig Thuis directs.
    let mdo = record.case(phases.mdo).await.expect("case").expect("mdo");
    assert_eq!(mdo.casusregisseur, Some(oin("veilig-thuis")));
    let at_table: BTreeSet<String> = record
        .participants(phases.mdo)
        .await
        .expect("participants")
        .into_iter()
        .map(|p| p.oin)
        .collect();
    assert_eq!(
        at_table,
        BTreeSet::from([oin("veilig-thuis"), oin("politie")])
    );
    let open: BTreeSet<String> = vhgate::casework::store::open_invitations(&env.db, phases.mdo)
        .await
        .expect("invitations")
        .into_iter()
        .map(|i| i.oin)
        .collect();
    assert_eq!(open, BTreeSet::from([oin("rvdk"), oin("gemeente")]));
    // uitvoering: everyone accepted, Reclassering directs, the plan runs and GGZ's afspraak
    // is reported stalled.
    let events = events_of(env, phases.uitvoering).await;
    assert_eq!(
        events.iter().filter(|e| *e == "create_afspraak").count(),
        3,
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "contribute_information")
            .count(),
        3,
        "{events:?}"
    );
    // uitvoering: everyone accepted, Reclassering directs.
    let uitvoering = record
        .case(phases.uitvoering)
        .await
        .expect("case")
        .expect("case");
    assert_eq!(uitvoering.casusregisseur, Some(oin("reclassering")));
    assert_eq!(
        record
            .participants(phases.uitvoering)
            .await
            .expect("p")
            .len(),
        4
    );
    // afgesloten: closed by the procesregisseur, persons still there.
    assert_eq!(
        events_of(env, phases.afgesloten)
            .await
            .last()
            .map(String::as_str),
        Some("close_case")
    );
    assert!(
        !vhgate::casework::store::case_persons(&env.db, phases.afgesloten)
            .await
            .expect("persons")
            .is_empty()
    );
    // destroyed: the retention run logged the destruction and removed the person data.
    assert_eq!(
        events_of(env, phases.destroyed).await,
        ["register_case", "screening_decision", "case_destroyed"]
    );
    assert!(
        vhgate::casework::store::case_persons(&env.db, phases.destroyed)
            .await
            .expect("persons")
            .is_empty()
    );
    assert!(
        vhgate::casework::store::registration(&env.db, phases.destroyed)
            .await
            .expect("registration")
            .is_none()
    );
}

async fn walkthrough_runs_against_the_server(env: &Env) {
    seed(env).await;
    let steps = walk::walkthrough(today());
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    let mut clients = HashMap::new();
    let mut ran = 0;
    for (i, s) in steps.iter().enumerate() {
        let partner = clients
            .entry(s.partner)
            .or_insert_with(|| env.client(s.partner));
        let token = partner.token(s.role, s.purpose);
        let url = env.url(&walk::substitute(&s.path, &values));
        let body = s.body.as_deref().map(|b| walk::substitute(b, &values));
        let send = || {
            let method = reqwest::Method::from_bytes(s.method.as_bytes()).expect("method");
            let mut req = partner.http.request(method, &url).bearer_auth(&token);
            if let Some(k) = s.idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.clone());
            }
            req.send()
        };
        let res = send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert_eq!(status, s.expect, "step {} ({}): {text}", i + 1, s.key);
        for c in &s.captures {
            let v = walk::capture(&text, c.key)
                .unwrap_or_else(|| panic!("step {} captures {} from {text}", i + 1, c.key));
            values.insert(c.var, v);
        }
        let body: Value = serde_json::from_str(&text).expect("json answer");
        match s.key {
            "register" => {
                // The same Idempotency-Key and body again: the same case, no new one.
                let again = send().await.expect("request");
                assert_eq!(again.status().as_u16(), 200);
                let again: Value = again.json().await.expect("json");
                assert_eq!(
                    again["case_id"].as_str(),
                    values.get("CASE").map(String::as_str)
                );
                assert_eq!(again["repeated"], true);
            }
            "read_person_withheld" => {
                // "partial" would tell the gemeente that items it may never see exist; the
                // answer's outcome reflects only what it may know (the log says partial).
                assert!(body["decision"]["withheld"].as_array().is_some(), "{body}");
                assert!(
                    body["decision"]["reasons"]
                        .to_string()
                        .contains("has no ground for the categories"),
                    "{body}"
                );
            }
            "correction" => {
                let gemeente = vhgate::pki::demo_partner("gemeente").expect("g").oin;
                assert!(body["recipients"].to_string().contains(gemeente), "{body}");
            }
            k if k.starts_with("refused") => {
                assert_eq!(
                    body["type"].as_str().map(|t| t.contains("problem")),
                    Some(true)
                );
            }
            _ => {}
        }
        ran += 1;
    }
    assert_eq!(ran, steps.len(), "steps that ran");
    let case: vhgate::domain::CaseId = values["CASE"].parse().expect("case id");
    let closed = env.record().case(case).await.expect("case").expect("case");
    assert_eq!(closed.phase, Phase::Afgesloten);
    env.assert_log_intact().await;
}

/// The printed commands themselves, run by bash with curl, `vhgate dev token` for the tokens
/// and sed for the ids: every answer has the expected status.
async fn printed_commands_run_in_bash(env: &Env) {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: curl is not installed");
        return;
    }
    seed(env).await;
    let steps = walk::walkthrough(today());
    let script = walk::render(
        &steps,
        &format!("https://localhost:{}", env.addr.port()),
        &pki().layout.dir,
        &common::vhgate_bin().display().to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
    })
    .await
    .expect("join")
    .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Vec<u16> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("-> HTTP "))
        .map(|s| s.trim().parse().expect("status"))
        .collect();
    let expected: Vec<u16> = steps.iter().map(|s| s.expect).collect();
    assert_eq!(statuses, expected, "{stdout}");
    assert!(stdout.contains("CASE="), "{stdout}");
}

/// Every body, as printed, is the JSON the test sends once bash has filled in the variables.
#[test]
fn printed_bodies_expand_in_bash() {
    let values: BTreeMap<&str, String> = walk::VARIABLES
        .iter()
        .map(|v| (*v, format!("{}-1", v.to_lowercase())))
        .collect();
    let assignments: String = values.iter().map(|(k, v)| format!("{k}={v}; ")).collect();
    for s in walk::walkthrough(today()) {
        let Some(body) = &s.body else { continue };
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{assignments}printf %s {}", walk::shell_body(body)))
            .output()
            .expect("bash");
        let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON from bash");
        let sent: Value = serde_json::from_str(&walk::substitute(body, &values)).expect("JSON");
        assert_eq!(printed, sent, "{}", s.key);
    }
}

on_both_backends!(
    seeds_a_case_in_every_phase,
    walkthrough_runs_against_the_server,
    printed_commands_run_in_bash
);

#[test]
fn rendered_walkthrough_names_every_step() {
    let steps = walk::walkthrough(today());
    let text = walk::render(
        &steps,
        "https://localhost:8443",
        Path::new("certs/dev"),
        "vhgate",
    );
    for (i, s) in steps.iter().enumerate() {
        assert!(
            text.contains(&format!("\"https://localhost:8443{}\"", s.path)),
            "{}",
            s.path
        );
        assert!(
            text.contains(&format!("\n# {}. ", i + 1)),
            "comment of step {}",
            i + 1
        );
        assert!(text.contains(&format!(
            "export {}=$(vhgate dev token --certs certs/dev --partner {} --role {} --purpose {}",
            walk::token_var(s.partner, s.role),
            s.partner,
            s.role,
            s.purpose
        )));
        for c in &s.captures {
            assert!(text.contains(&format!(
                "{}=$(echo \"$R\" | {})",
                c.var,
                walk::capture_sed(c.key)
            )));
        }
    }
    assert_eq!(text.matches("curl -s").count(), steps.len());
    // Every variable a step uses is captured by an earlier step.
    let mut captured = BTreeSet::new();
    for s in &steps {
        for v in s.uses() {
            assert!(
                captured.contains(v),
                "{} uses ${v} before it is captured",
                s.key
            );
        }
        captured.extend(s.captures.iter().map(|c| c.var));
    }
    // The walk covers the whole life cycle, with refusals on the way.
    for key in [
        "register",
        "decide",
        "invite",
        "casusregisseur",
        "afspraak_gestagneerd",
        "escalation",
        "correction",
        "close",
        "own_contributions",
        "refused_not_invited",
        "refused_closed",
    ] {
        assert!(steps.iter().any(|s| s.key == key), "{key}");
    }
}

/// `vhgate demo` writes its own configuration and says where; `log verify` and `log key` work
/// on the running demo with `--config` and nothing else.
#[test]
fn the_demo_writes_its_configuration_for_the_log_tools() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("demo");
    let certs = tmp.path().join("certs");
    let mut demo = std::process::Command::new(common::vhgate_bin())
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .arg("--certs")
        .arg(&certs)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vhgate demo");
    let config = dir
        .canonicalize()
        .unwrap_or(dir.clone())
        .join("vhgate.toml");
    let mut said = String::new();
    let mut lines = std::io::BufReader::new(demo.stdout.take().expect("stdout")).lines();
    while let Some(Ok(line)) = lines.next() {
        said.push_str(&line);
        said.push('\n');
        if line.contains("vhgate log key --config") {
            break;
        }
    }
    let run = |args: &[&str]| {
        std::process::Command::new(common::vhgate_bin())
            .args(args)
            .arg("--config")
            .arg(&config)
            .current_dir(tmp.path())
            .env_remove("VHGATE_CONFIG")
            .output()
            .expect("run vhgate")
    };
    let verify = run(&["log", "verify"]);
    let key = run(&["log", "key"]);
    let _ = demo.kill();
    let _ = demo.wait();
    assert!(
        said.contains(&format!("vhgate log verify --config {}", config.display())),
        "{said}"
    );
    let verified = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success()
            && verified.contains("disclosure log intact")
            && verified.contains("signatures checked with key"),
        "{verified}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        key.status.success() && String::from_utf8_lossy(&key.stdout).contains('+'),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
}
