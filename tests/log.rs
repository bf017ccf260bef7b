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

async fn exports_in_ldv_and_opa_shapes(env: &Env) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let url = env.url(&format!(
        "/v1/cases/{}/persons/{}",
        env.ids.oss_case, env.ids.oss_youth
    ));
    let r = politie
        .http
        .get(url)
        .bearer_auth(&token)
        .header("traceparent", traceparent)
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success());
    politie.lookup(env, &token, env.ids.oss_youth_bsn).await;
    for format in ["ldv", "opa"] {
        let out = Command::new(common::vhgate_bin())
            .args(["log", "export", "--format", format])
            .env("VHGATE_DATABASE__URL", &env.config.database.url)
            .output()
            .expect("run vhgate log export");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(!text.contains(env.ids.oss_youth_bsn), "no BSN in an export");
        let mut records: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
            .collect();
        assert_eq!(records.len(), 3, "{text}");
        // The first is the starting policy's activation; the two requests follow.
        let first = records.remove(0);
        if format == "ldv" {
            assert_eq!(first["name"], "vhgate.policy_change", "{text}");
        }
        if format == "ldv" {
            assert_eq!(
                records[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
                "the partner's trace continues"
            );
            assert_eq!(
                records[0]["foreign_operation"]["operation_id"],
                "00f067aa0ba902b7"
            );
            assert_eq!(
                records[0]["attributes"]["dpl.core.processing_activity_id"],
                "urn:vhgate:purpose:casusoverleg"
            );
            assert!(records[1]["attributes"]["dpl.core.data_subject_id"]
                .as_str()
                .is_some_and(|p| p.len() == 64));
        } else {
            assert_eq!(records[0]["path"], "vhgate/decision/decision");
            assert!(records[0]["bundles"]["vhgate"]["revision"]
                .as_str()
                .is_some_and(|r| !r.is_empty()));
            assert_eq!(records[0]["result"]["allow"], true);
        }
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
