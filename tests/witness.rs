//! A witness keeps the last checkpoint it accepted and cosigns only checkpoints that extend it:
//! it refuses a rolled-back log and a forked one.

mod common;

use common::{pki, Env};
use std::future::IntoFuture;

use vhgate::disclosure::checkpoint::{open_note, read_signer_key_file, NoteVerifier};
use vhgate::witness::{witness_once, WitnessError, WitnessOptions, WitnessOutcome};

on_both_backends!(
    witness_cosigns_growth_and_refuses_rollback_and_fork,
    gateway_pushes_checkpoints_to_a_witness,
);

async fn traffic(env: &Env, n: usize) {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    for _ in 0..n {
        politie
            .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
            .await;
    }
}

fn size_of(outcome: &Result<WitnessOutcome, WitnessError>) -> Option<u64> {
    match outcome {
        Ok(WitnessOutcome::Cosigned { size, .. }) => Some(*size),
        _ => None,
    }
}

async fn witness_cosigns_growth_and_refuses_rollback_and_fork(env: &Env) {
    let dir = tempfile::tempdir().expect("temp dir");
    let layout = &pki().layout;
    let opts = WitnessOptions {
        gateway: env.addr.to_string(),
        server_name: "localhost".into(),
        ca: layout.ca_cert(),
        tls_cert: layout.partner_cert("veiligheidshuis"),
        tls_key: layout.partner_key("veiligheidshuis"),
        log_key: env.log_key().vkey(),
        witness_key: dir.path().join("witness.key"),
        witness_name: "fg.veiligheidshuis.example/witness".into(),
        state: dir.path().join("witnessed.checkpoint"),
    };
    // The log starts with the first start's own entry (the starting policy's activation).
    let start = env.log_count().await as u64;
    assert_eq!(size_of(&witness_once(&opts).await), Some(start));
    traffic(env, 3).await;
    assert_eq!(size_of(&witness_once(&opts).await), Some(start + 3));
    traffic(env, 2).await;
    let outcome = witness_once(&opts).await;
    assert_eq!(size_of(&outcome), Some(start + 5), "{outcome:?}");
    assert_eq!(
        witness_once(&opts).await.expect("unchanged"),
        WitnessOutcome::Unchanged { size: start + 5 }
    );

    // The state holds the log's signature and the witness's cosignature.
    let witness = read_signer_key_file(&opts.witness_key, &opts.witness_name).expect("witness key");
    let cosigner = NoteVerifier::from_vkey(&witness.cosignature_verifier_key()).expect("vkey");
    let state = std::fs::read_to_string(&opts.state).expect("state");
    let opened = open_note(&state, &[env.log_key(), cosigner]).expect("cosigned note");
    assert_eq!(opened.verified.len(), 2, "{opened:?}");

    // Restoring an older backup is a rollback.
    env.rollback_to(start as i64 + 3).await;
    let outcome = witness_once(&opts).await;
    assert!(
        matches!(outcome, Err(WitnessError::Rollback { seen, now }) if seen == start + 5 && now == start + 3),
        "{outcome:?}"
    );
    // Growing the restored log again to the witnessed size gives another tree: a fork.
    traffic(env, 2).await;
    let outcome = witness_once(&opts).await;
    assert!(
        matches!(outcome, Err(WitnessError::Fork { size }) if size == start + 5),
        "{outcome:?}"
    );
    // The state still holds the checkpoint it accepted.
    assert_eq!(std::fs::read_to_string(&opts.state).expect("state"), state);
}

async fn gateway_pushes_checkpoints_to_a_witness(env: &Env) {
    use std::sync::Arc;
    use vhgate::config::WitnessTarget;
    use vhgate::witness::{router, AddCheckpointError, WitnessService};

    let dir = tempfile::tempdir().expect("temp dir");
    let service = Arc::new(
        WitnessService::open(
            &env.log_key().vkey(),
            &dir.path().join("w.key"),
            "witness.example/w1",
            &dir.path().join("state"),
        )
        .expect("witness"),
    );
    let cosigner = NoteVerifier::from_vkey(&service.cosignature_verifier_key()).expect("vkey");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let witness_addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(axum::serve(listener, router(service.clone())).into_future());

    let mut config = env.config.clone();
    config.log.witnesses = vec![WitnessTarget {
        url: format!("http://{witness_addr}"),
        vkey: cosigner.vkey(),
    }];
    config.log.witness_interval_secs = 1;
    let pushing = env.start_instance_with(config).await;
    traffic(env, 3).await;
    // Three reads after the first start's own entry.
    let n = env.log_count().await as u64;
    let size = format!("\n{n}\n");

    let vh = env.client("veiligheidshuis");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let r = vh.get(env, "/v1/log/checkpoint", "").await;
        let note = r.body.as_str().expect("note").to_string();
        let opened = open_note(&note, &[env.log_key(), cosigner.clone()]).expect("note verifies");
        if opened.verified.len() == 2 && note.contains(&size) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no cosigned checkpoint of size {}: {note}",
            size.trim()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    pushing.stop().await;

    // The witness itself refuses what the spec says it must refuse.
    let note = vh
        .get(env, "/v1/log/checkpoint", "")
        .await
        .body
        .as_str()
        .expect("note")
        .to_string();
    let plain: String = note
        .lines()
        .take_while(|l| !l.starts_with("\u{2014} witness"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        service.add_checkpoint(&format!("old 1\n\n{plain}"), 1),
        Err(AddCheckpointError::Conflict(n))
    );
    let foreign = plain.replacen(&env.config.log.origin, "other.example/log", 1);
    assert_eq!(
        service.add_checkpoint(&format!("old {n}\n\n{foreign}"), 1),
        Err(AddCheckpointError::UnknownOrigin)
    );
    let tampered = plain.replacen(&size, &format!("\n{}\n", n + 1), 1);
    assert!(matches!(
        service.add_checkpoint(&format!("old {n}\n\n{tampered}"), 1),
        Err(AddCheckpointError::Forbidden(_))
    ));
    assert!(matches!(
        service.add_checkpoint("old x\n\n", 1),
        Err(AddCheckpointError::BadRequest(_))
    ));
    server.abort();
}
