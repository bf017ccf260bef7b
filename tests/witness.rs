//! A witness keeps the last checkpoint it accepted and cosigns only checkpoints that extend it:
//! it refuses a rolled-back log and a forked one.

mod common;

use common::{pki, Env};
use vhgate::disclosure::checkpoint::{open_note, read_signer_key_file, NoteVerifier};
use vhgate::witness::{witness_once, WitnessError, WitnessOptions, WitnessOutcome};

on_both_backends!(witness_cosigns_growth_and_refuses_rollback_and_fork);

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
    assert_eq!(size_of(&witness_once(&opts).await), Some(0));
    traffic(env, 3).await;
    assert_eq!(size_of(&witness_once(&opts).await), Some(3));
    traffic(env, 2).await;
    let outcome = witness_once(&opts).await;
    assert_eq!(size_of(&outcome), Some(5), "{outcome:?}");
    assert_eq!(
        witness_once(&opts).await.expect("unchanged"),
        WitnessOutcome::Unchanged { size: 5 }
    );

    // The state holds the log's signature and the witness's cosignature.
    let witness = read_signer_key_file(&opts.witness_key, &opts.witness_name).expect("witness key");
    let cosigner = NoteVerifier::from_vkey(&witness.cosignature_verifier_key()).expect("vkey");
    let state = std::fs::read_to_string(&opts.state).expect("state");
    let opened = open_note(&state, &[env.log_key(), cosigner]).expect("cosigned note");
    assert_eq!(opened.verified.len(), 2, "{opened:?}");

    // Restoring an older backup is a rollback.
    env.rollback_to(3).await;
    let outcome = witness_once(&opts).await;
    assert!(
        matches!(outcome, Err(WitnessError::Rollback { seen: 5, now: 3 })),
        "{outcome:?}"
    );
    // Growing the restored log again to the witnessed size gives another tree: a fork.
    traffic(env, 2).await;
    let outcome = witness_once(&opts).await;
    assert!(
        matches!(outcome, Err(WitnessError::Fork { size: 5 })),
        "{outcome:?}"
    );
    // The state still holds the checkpoint it accepted.
    assert_eq!(std::fs::read_to_string(&opts.state).expect("state"), state);
}
