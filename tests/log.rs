//! The disclosure log is tamper-evident: `vhgate log verify` finds an altered, deleted or
//! reordered row, even after the append-only triggers have been dropped.

mod common;

use std::process::Command;

use common::Env;
use vhgate::disclosure::verify::{verify, VerifyOutcome};

on_both_backends!(
    append_only_triggers_refuse_changes,
    verify_detects_an_altered_row,
    verify_detects_a_deleted_row,
    verify_detects_a_gap_in_the_subject_and_source_indexes,
    verify_detects_reordered_rows,
    verify_detects_a_truncated_tail,
    verify_detects_a_tampered_tree_node,
    verify_detects_a_forged_checkpoint,
    a_witness_checkpoint_exposes_a_rollback,
    exports_in_ldv_and_opa_shapes,
    an_export_is_audited_offline,
);

/// Makes a few log entries of different kinds: seq 2 to 6, after the starting policy's
/// `policy_change` entry (seq 1, written at the first start).
async fn traffic(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    politie
        .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
        .await;
    politie
        .read_person(env, &token, env.ids.closed_case, env.ids.closed_person)
        .await;
    politie.lookup(env, &token, env.ids.unknown_bsn).await;
    politie
        .read_person(env, "forged", env.ids.oss_case, env.ids.oss_youth)
        .await;
    politie
        .read_person(env, &token, env.ids.uden_case, env.ids.uden_man)
        .await;
    assert_eq!(env.log_count().await, 6);
}

/// Runs `vhgate log verify` against the environment's database: (exit ok, stdout).
fn cli_verify(env: &Env) -> (bool, String) {
    cli_verify_with(env, &[])
}

fn cli_verify_with(env: &Env, args: &[&str]) -> (bool, String) {
    let out = Command::new(common::vhgate_bin())
        .args(["log", "verify"])
        .args(args)
        .env("VHGATE_DATABASE__URL", &env.config.database.url)
        .env(
            "VHGATE_SECRETS__LOG_SIGNING_KEY_FILE",
            &env.config.secrets.log_signing_key_file,
        )
        .env("VHGATE_LOG__ORIGIN", &env.config.log.origin)
        .output()
        .expect("run vhgate log verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `log verify` and `log export` on a database file that is not there: an error naming the
/// file, and no new empty database left behind.
#[test]
fn verify_and_export_refuse_a_missing_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [
        vec!["log", "verify"],
        vec!["log", "export", "--format", "ldv"],
    ] {
        let out = Command::new(common::vhgate_bin())
            .args(&args)
            .env("VHGATE_DATABASE__URL", &url)
            .output()
            .expect("run vhgate");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            text.contains("no SQLite database at") && text.contains("nowhere.db"),
            "{args:?}: {text}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

async fn broken_at(env: &Env) -> i64 {
    match verify(&env.db).await.expect("verify") {
        VerifyOutcome::Broken { seq, .. } => seq,
        VerifyOutcome::Intact { entries, .. } => {
            panic!("tampering not detected ({entries} entries intact)")
        }
    }
}

async fn append_only_triggers_refuse_changes(env: &Env) {
    traffic(env).await;
    for sql in [
        "UPDATE disclosure_log SET outcome = 'allowed' WHERE seq = 2",
        "DELETE FROM disclosure_log WHERE seq = 5",
    ] {
        let result = vhgate::with_pool!(&env.db, pool => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()));
        assert!(result.is_err(), "{sql} was allowed");
    }
    let (ok, text) = cli_verify(env);
    // Checkpoints of sizes 0..=6: one per committed batch (requests were sequential).
    assert!(
        ok && text.contains("intact: 6 entries, 7 signed checkpoints"),
        "{text}"
    );
}

async fn verify_detects_an_altered_row(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    // A closed-case refusal rewritten as a disclosure, in the JSON and in the column.
    env.exec("UPDATE disclosure_log SET entry = REPLACE(entry, '\"denied\"', '\"allowed\"'), outcome = 'allowed' WHERE seq = 3")
        .await;
    assert_eq!(broken_at(env).await, 3);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 3"), "{text}");
}

async fn verify_detects_a_deleted_row(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    env.exec("DELETE FROM disclosure_log WHERE seq = 3").await;
    assert_eq!(broken_at(env).await, 3);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 3"), "{text}");
}

/// The indexes that the access report (subjects) and a partner's privacy officer (sources)
/// search are checked against the hashed entries: a removed row would hide an entry.
async fn verify_detects_a_gap_in_the_subject_and_source_indexes(env: &Env) {
    traffic(env).await;
    // Entry 6 (the read of the Uden man) disclosed data the gemeente registered and partners
    // contributed.
    let rows = vhgate::disclosure::store::sources_between(&env.db, 6, 6)
        .await
        .expect("sources");
    assert!(!rows.is_empty(), "{rows:?}");
    env.exec(&format!(
        "DELETE FROM log_sources WHERE seq = 6 AND oin = '{}'",
        rows[0].0
    ))
    .await;
    assert_eq!(broken_at(env).await, 6);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("source index"), "{text}");
    env.exec(&format!(
        "INSERT INTO log_sources (oin, seq) VALUES ('{}', 6)",
        rows[0].0
    ))
    .await;
    env.exec("DELETE FROM log_subjects WHERE seq = 2").await;
    assert_eq!(broken_at(env).await, 2);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("subject index"), "{text}");
}

async fn verify_detects_reordered_rows(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    env.exec("UPDATE disclosure_log SET seq = -1 WHERE seq = 2")
        .await;
    env.exec("UPDATE disclosure_log SET seq = 2 WHERE seq = 3")
        .await;
    env.exec("UPDATE disclosure_log SET seq = 3 WHERE seq = -1")
        .await;
    assert_eq!(broken_at(env).await, 2);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 2"), "{text}");
}

async fn verify_detects_a_truncated_tail(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    env.exec("DELETE FROM disclosure_log WHERE seq = 6").await;
    assert_eq!(broken_at(env).await, 6);
}

async fn verify_detects_a_tampered_tree_node(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    // A leaf of the stored tree replaced: proofs served from it would be wrong.
    env.exec("UPDATE merkle_nodes SET hash = (SELECT hash FROM merkle_nodes WHERE level = 0 AND idx = 0) WHERE level = 0 AND idx = 1")
        .await;
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("stored Merkle tree"), "{text}");
}

async fn verify_detects_a_forged_checkpoint(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    // The checkpoint of size 3 re-signed by someone else's key (here: its signature swapped
    // for the one of checkpoint 2).
    env.exec(
        "UPDATE checkpoints SET note = (SELECT note FROM checkpoints WHERE size = 2) WHERE size = 3",
    )
    .await;
    assert_eq!(broken_at(env).await, 3);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 3"), "{text}");
}

async fn a_witness_checkpoint_exposes_a_rollback(env: &Env) {
    traffic(env).await;
    // What a witness holds: the newest checkpoint (size 6).
    let vh = env.client("veiligheidshuis");
    let token = vh.token("privacy_officer", "toezicht");
    let r = vh.get(env, "/v1/log/checkpoint", &token).await;
    let witnessed = r.body.as_str().expect("checkpoint note").to_string();
    assert!(witnessed.contains("\n6\n"), "{witnessed}");
    let state = env
        .config
        .secrets
        .log_signing_key_file
        .with_file_name("witnessed.checkpoint");
    std::fs::write(&state, &witnessed).expect("write checkpoint");

    // The operator restores an older state: entries, tree and checkpoints after 3 are gone and
    // the head points at entry 3, so the log is consistent with itself.
    env.rollback_to(3).await;
    let (ok, text) = cli_verify(env);
    assert!(ok, "on its own the restored log verifies: {text}");
    let state_arg = state.display().to_string();
    let (ok, text) = cli_verify_with(env, &["--checkpoint", &state_arg]);
    assert!(!ok && text.contains("rolled back"), "{text}");
}

/// Runs `vhgate log <args>` against the environment's database: (exit ok, stdout, stderr).
fn cli_log(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(common::vhgate_bin())
        .arg("log")
        .args(args)
        .env("VHGATE_DATABASE__URL", &env.config.database.url)
        .env("VHGATE_LOG__ORIGIN", &env.config.log.origin)
        .output()
        .expect("run vhgate log");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// OPA's decision-log event (`EventV1`, open-policy-agent/opa v1/plugins/logs/plugin.go), field
/// for field with the Go JSON types; unknown fields are refused, so an event that decodes here
/// is one OPA's decision-log consumers read as OPA wrote it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // decoded to check the shape
struct OpaEventV1 {
    labels: std::collections::BTreeMap<String, String>,
    decision_id: String,
    trace_id: Option<String>,
    span_id: Option<String>,
    revision: Option<String>,
    bundles: Option<std::collections::BTreeMap<String, OpaBundleInfoV1>>,
    path: Option<String>,
    query: Option<String>,
    input: Option<serde_json::Value>,
    result: Option<serde_json::Value>,
    mapped_result: Option<serde_json::Value>,
    nd_builtin_cache: Option<serde_json::Value>,
    erased: Option<Vec<String>>,
    masked: Option<Vec<String>>,
    error: Option<serde_json::Value>,
    requested_by: Option<String>,
    timestamp: chrono::DateTime<chrono::Utc>,
    metrics: Option<serde_json::Map<String, serde_json::Value>>,
    req_id: Option<u64>,
    request_context: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OpaBundleInfoV1 {
    revision: Option<String>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

async fn exports_in_ldv_and_opa_shapes(env: &Env) {
    use vhgate::disclosure::export::ldv;
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let (partner_trace, partner_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let traceparent = format!("00-{partner_trace}-{partner_span}-01");
    let url = env.url(&format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    ));
    let r = politie
        .http
        .get(url)
        .bearer_auth(&token)
        .header("traceparent", &traceparent)
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success());
    politie.lookup(env, &token, env.ids.oss_youth_bsn).await;
    // A step on a case of eight persons, and a request no policy decided (no token).
    let plan = politie
        .get(
            env,
            &format!("/v1/cases/{}/afspraken", env.ids.gezin_case),
            &token,
        )
        .await;
    let persons_of_plan = if plan.status.is_success() { 8 } else { 0 };
    politie
        .read_person(env, "forged", env.ids.oss_case, env.ids.oss_youth)
        .await;
    let politie_oin = format!("urn:oin:{}", politie.oin);

    // LDV 1.0.
    let (ok, text, stderr) = cli_log(env, &["export", "--format", "ldv"]);
    assert!(ok, "{stderr}");
    assert!(
        !stderr.contains("warning"),
        "every processing activity resolves: {stderr}"
    );
    assert!(!text.contains(env.ids.oss_youth_bsn), "no BSN in an export");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    for r in &records {
        assert!(is_hex(r["trace_id"].as_str().unwrap_or(""), 32), "{r}");
        assert!(is_hex(r["span_id"].as_str().unwrap_or(""), 16), "{r}");
        assert!(r["start_time"].as_i64().is_some_and(|t| t > 0), "{r}");
        assert!(
            [0, 1, 2].contains(&r["status_code"].as_i64().unwrap_or(-1)),
            "{r}"
        );
        assert!(
            ldv::attribute(r, "dpl.core.processing_activity_id").is_some(),
            "{r}"
        );
        // Processing of personal data always names its data subject, and vice versa.
        let personal = ldv::attribute(r, "dpl.core.processing_activity_id")
            .is_some_and(|a| a.starts_with("urn:vhgate:verwerkingsactiviteit:"));
        assert_eq!(
            personal,
            ldv::attribute(r, "dpl.core.data_subject_id").is_some(),
            "{r}"
        );
        if personal {
            assert!(is_hex(
                ldv::attribute(r, "dpl.core.data_subject_id").unwrap_or(""),
                64
            ));
            assert!(ldv::attribute(r, "dpl.core.data_subject_id_type")
                .is_some_and(|t| t.starts_with("urn:vhgate:data-subject-id:")));
        }
    }
    let named = |name: &str| -> Vec<&serde_json::Value> {
        records.iter().filter(|r| r["name"] == name).collect()
    };
    let read = named("vhgate.read_person");
    let read = read
        .iter()
        .find(|r| r.get("foreign_operation").is_some())
        .expect("the read with a traceparent");
    assert_eq!(
        read["trace_id"], partner_trace,
        "the partner's trace continues"
    );
    assert_ne!(read["span_id"], partner_span, "the gateway's own span");
    assert_eq!(read["foreign_operation"]["trace_id"], partner_trace);
    assert_eq!(read["foreign_operation"]["span_id"], partner_span);
    assert_eq!(read["foreign_operation"]["entity"], politie_oin.as_str());
    assert_eq!(read["status_code"], 1);
    let activity = ldv::attribute(read, "dpl.core.processing_activity_id").expect("activity");
    let (revision, key) = ldv::parse_activity_id(activity).expect("a register activity");
    assert_eq!(key, "casusoverleg");
    assert_eq!(named("vhgate.lookup").len(), 1);

    // The refused request named nobody: not processing of personal data.
    let refused = named("vhgate.auth_failure");
    assert!(!refused.is_empty());
    assert!(refused
        .iter()
        .all(|r| ldv::attribute(r, "dpl.core.data_subject_id").is_none()));

    // One record per person of the case: the first is the action, the others its children.
    let plan_records = named("vhgate.read_afspraken");
    if persons_of_plan > 0 {
        assert_eq!(plan_records.len(), persons_of_plan, "{plan_records:?}");
        let parent = plan_records[0]["span_id"].clone();
        for child in &plan_records[1..] {
            assert_eq!(child["parent_span_id"], parent);
            assert_eq!(child["trace_id"], plan_records[0]["trace_id"]);
        }
        let mut subjects: Vec<&str> = plan_records
            .iter()
            .filter_map(|r| ldv::attribute(r, "dpl.core.data_subject_id"))
            .collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), persons_of_plan, "each person once");
    }

    // The activity resolves in the register of that revision.
    let (ok, register, stderr) = cli_log(env, &["register", "--revision", revision]);
    assert!(ok, "{stderr}");
    let register: serde_json::Value = serde_json::from_str(&register).expect("register JSON");
    assert_eq!(register["activities"][activity]["key"], "casusoverleg");
    assert_eq!(register["activities"][activity]["personal_data"], true);
    let (ok, _, stderr) = cli_log(env, &["register", "--revision", "0000"]);
    assert!(
        !ok && stderr.contains("not in the bundle history"),
        "{stderr}"
    );

    // OPA decision log.
    let (ok, text, stderr) = cli_log(env, &["export", "--format", "opa"]);
    assert!(ok, "{stderr}");
    assert!(!text.contains(env.ids.oss_youth_bsn), "no BSN in an export");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    for event in &events {
        if let Err(e) = serde_json::from_value::<OpaEventV1>(event.clone()) {
            panic!("not an OPA decision-log event ({e}): {event}");
        }
        assert_eq!(event["labels"]["id"], env.config.log.origin.as_str());
        assert!(event["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("vhgate/")));
        assert_eq!(event["requested_by"], politie_oin.as_str());
    }
    let read = events
        .iter()
        .find(|e| e["trace_id"] == partner_trace)
        .expect("the read's event");
    assert_eq!(read["path"], "vhgate/decision/decision");
    assert_eq!(
        read["input"]["action"], "read_person",
        "the recorded policy input"
    );
    assert_eq!(read["result"]["allow"], true);
    assert!(read["bundles"]["vhgate"]["revision"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    if persons_of_plan > 0 {
        assert!(events
            .iter()
            .any(|e| e["path"] == "vhgate/casework/decision"));
    }
    // Entries no policy decided (the forged token's refusal) are no decision events; every
    // event is an entry of the log.
    let entry_id =
        |r: &&serde_json::Value| ldv::attribute(r, "vhgate.decision_id").map(str::to_string);
    let undecided: Vec<String> = refused.iter().filter_map(entry_id).collect();
    let entries: Vec<String> = records.iter().filter_map(|r| entry_id(&r)).collect();
    for event in &events {
        let id = event["decision_id"].as_str().unwrap_or("").to_string();
        assert!(!undecided.contains(&id), "{event}");
        assert!(entries.contains(&id), "{event}");
    }
}

async fn an_export_is_audited_offline(env: &Env) {
    traffic(env).await;
    let export = env
        .config
        .secrets
        .log_signing_key_file
        .with_file_name("export.db");
    let export_arg = export.display().to_string();
    let out = Command::new(common::vhgate_bin())
        .args(["log", "export", "--format", "sqlite", "--out", &export_arg])
        .env("VHGATE_DATABASE__URL", &env.config.database.url)
        .output()
        .expect("run vhgate log export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The auditor has only the export and the log's public key.
    let key = env.log_key().vkey();
    let url = format!("sqlite://{export_arg}");
    let (ok, text) = cli_verify_with(env, &["--database", &url, "--key", &key]);
    assert!(
        ok && text.contains("intact: 6 entries, 7 signed checkpoints"),
        "{text}"
    );
    let described = env.log_key().describe();
    assert!(
        text.contains(&format!("signatures checked with key {described}")),
        "{text}"
    );
    // The key may also be given as a file holding it.
    let key_file = export.with_file_name("log.vkey");
    std::fs::write(&key_file, format!("{key}\n")).expect("key file");
    let key_arg = key_file.display().to_string();
    let (ok, text) = cli_verify_with(env, &["--database", &url, "--key", &key_arg]);
    assert!(
        ok && text.contains(&format!("signatures checked with key {described}")),
        "{text}"
    );
    // Without any key, the answer says plainly that signatures were not checked.
    let out = Command::new(common::vhgate_bin())
        .args(["log", "verify", "--database", &url])
        .env(
            "VHGATE_SECRETS__LOG_SIGNING_KEY_FILE",
            export.with_file_name("none.key"),
        )
        .env("VHGATE_LOG__ORIGIN", &env.config.log.origin)
        .output()
        .expect("run vhgate log verify");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("signatures NOT checked"),
        "{text}"
    );
    // Tampering in the export is found the same way.
    let tampered = vhgate::store::Db::connect(&url, 1)
        .await
        .expect("export db");
    vhgate::with_pool!(&tampered, p => sqlx::query("DROP TRIGGER disclosure_log_no_update").execute(p).await.map(|_| ()))
        .expect("drop trigger");
    vhgate::with_pool!(&tampered, p => sqlx::query("UPDATE disclosure_log SET entry = REPLACE(entry, 'politie', 'polite') WHERE seq = 4").execute(p).await.map(|_| ()))
        .expect("tamper");
    tampered.close().await;
    let (ok, text) = cli_verify_with(env, &["--database", &url, "--key", &key]);
    assert!(!ok && text.contains("BROKEN at entry 4"), "{text}");
}
