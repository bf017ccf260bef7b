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
    verify_detects_reordered_rows,
    verify_detects_a_truncated_tail,
);

/// Makes a few log entries of different kinds.
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
    assert_eq!(env.log_count().await, 5);
}

/// Runs `vhgate log verify` against the environment's database: (exit ok, stdout).
fn cli_verify(env: &Env) -> (bool, String) {
    let out = Command::new(common::vhgate_bin())
        .args(["log", "verify"])
        .env("VHGATE_DATABASE__URL", &env.config.database.url)
        .output()
        .expect("run vhgate log verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn broken_at(env: &Env) -> i64 {
    match verify(&env.db).await.expect("verify") {
        VerifyOutcome::Broken { seq, .. } => seq,
        VerifyOutcome::Intact { entries } => {
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
    assert!(ok && text.contains("intact: 5 entries"), "{text}");
}

async fn verify_detects_an_altered_row(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    // A closed-case refusal rewritten as a disclosure, in the JSON and in the column.
    env.exec("UPDATE disclosure_log SET entry = REPLACE(entry, '\"denied\"', '\"allowed\"'), outcome = 'allowed' WHERE seq = 2")
        .await;
    assert_eq!(broken_at(env).await, 2);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 2"), "{text}");
}

async fn verify_detects_a_deleted_row(env: &Env) {
    traffic(env).await;
    env.drop_log_triggers().await;
    env.exec("DELETE FROM disclosure_log WHERE seq = 3").await;
    assert_eq!(broken_at(env).await, 3);
    let (ok, text) = cli_verify(env);
    assert!(!ok && text.contains("BROKEN at entry 3"), "{text}");
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
    env.exec("DELETE FROM disclosure_log WHERE seq = 5").await;
    assert_eq!(broken_at(env).await, 5);
}
