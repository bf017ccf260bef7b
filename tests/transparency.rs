//! The transparency-log API, checked the way an outside auditor or partner would: signed
//! checkpoints verify with the log key, inclusion and consistency proofs verify against them
//! with the RFC 6962 verifier, and a disclosure receipt proves one entry on its own.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::Env;
use reqwest::StatusCode;
use vhgate::disclosure::checkpoint::{open_note, Checkpoint};
use vhgate::disclosure::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};

on_both_backends!(
    checkpoints_and_proofs_verify,
    receipts_prove_a_disclosure,
    bad_ranges_are_refused,
);

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .expect("proof array")
        .iter()
        .map(|h| {
            B64.decode(h.as_str().expect("base64"))
                .expect("base64")
                .try_into()
                .expect("32 bytes")
        })
        .collect()
}

/// Makes `n` logged requests, one batch each.
async fn traffic(env: &Env, n: usize) -> Vec<String> {
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = politie
            .read_person(env, &token, env.ids.oss_case, env.ids.oss_youth)
            .await;
        ids.push(r.headers["disclosure-id"].to_str().expect("id").to_string());
    }
    ids
}

async fn checkpoint(env: &Env) -> Checkpoint {
    let vh = env.client("veiligheidshuis");
    let r = vh
        .get(
            env,
            "/v1/log/checkpoint",
            &vh.token("professional", "bevraging"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let opened = open_note(r.body.as_str().expect("note"), &[env.log_key()])
        .expect("checkpoint signed by the log key");
    Checkpoint::parse_body(&opened.body).expect("checkpoint body")
}

async fn checkpoints_and_proofs_verify(env: &Env) {
    // The first start's own entry (the starting policy's activation) is the first leaf.
    let first = checkpoint(env).await;
    assert_eq!(
        (first.size, first.origin.as_str()),
        (1, env.config.log.origin.as_str())
    );
    traffic(env, 3).await;
    let small = checkpoint(env).await;
    assert_eq!(small.size, 4);
    traffic(env, 4).await;
    let big = checkpoint(env).await;
    assert_eq!(big.size, 8);

    let vh = env.client("veiligheidshuis");
    let fg = vh.token("privacy_officer", "toezicht");
    let r = vh.get(env, "/v1/log/entries?start=0&end=8", &fg).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries: Vec<String> = r.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e.as_str().expect("text").to_string())
        .collect();
    assert_eq!(entries.len(), 8);
    for (index, entry) in entries.iter().enumerate() {
        let r = vh
            .get(
                env,
                &format!("/v1/log/proof/inclusion?index={index}&size=8"),
                &fg,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let proof = hashes(&r.body["proof"]);
        verify_inclusion(
            &leaf_hash(entry.as_bytes()),
            index as u64,
            8,
            &proof,
            &big.root,
        )
        .unwrap_or_else(|e| panic!("inclusion of {index}: {e:?}"));
    }
    let r = vh
        .get(env, "/v1/log/proof/consistency?from=4&to=8", &fg)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    verify_consistency(4, 8, &hashes(&r.body["proof"]), &small.root, &big.root)
        .expect("consistency 4 -> 8");
    // Entries are for the privacy officer only; proofs are for every partner.
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    assert_eq!(
        politie
            .get(env, "/v1/log/entries?start=0&end=8", &token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        politie
            .get(env, "/v1/log/proof/consistency?from=1&to=8", &token)
            .await
            .status,
        StatusCode::OK
    );
}

async fn receipts_prove_a_disclosure(env: &Env) {
    let ids = traffic(env, 3).await;
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    let r = politie
        .get(env, &format!("/v1/log/receipts/{}", ids[1]), &token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let receipt = r.body.as_str().expect("tlog-proof text");
    // c2sp.org/tlog-proof@v1, extra, index, proof lines, empty line, checkpoint.
    let (head, note) = receipt.split_once("\n\n").expect("proof and checkpoint");
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    let entry = B64
        .decode(
            lines
                .next()
                .and_then(|l| l.strip_prefix("extra "))
                .expect("extra"),
        )
        .expect("base64");
    let index: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix("index "))
        .expect("index")
        .parse()
        .expect("number");
    let proof: Vec<Hash> = lines
        .map(|l| B64.decode(l).expect("base64").try_into().expect("32 bytes"))
        .collect();
    let opened = open_note(note, &[env.log_key()]).expect("signed checkpoint");
    let cp = Checkpoint::parse_body(&opened.body).expect("checkpoint");
    // After the starting policy's entry (index 0) and the first read.
    assert_eq!(index, 2);
    assert!(
        String::from_utf8_lossy(&entry).contains(&ids[1]),
        "the receipt carries the entry"
    );
    verify_inclusion(&leaf_hash(&entry), index, cp.size, &proof, &cp.root)
        .expect("receipt verifies");
    // Another partner gets nothing, not even whether the disclosure exists.
    let om = env.client("om");
    let r = om
        .get(
            env,
            &format!("/v1/log/receipts/{}", ids[1]),
            &om.token("professional", "casusoverleg"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

async fn bad_ranges_are_refused(env: &Env) {
    // Three entries: the starting policy's and two reads.
    traffic(env, 2).await;
    let politie = env.client("politie");
    let token = politie.token("professional", "casusoverleg");
    for path in [
        "/v1/log/proof/inclusion?index=3&size=3",
        "/v1/log/proof/inclusion?index=0&size=9",
        "/v1/log/proof/inclusion?index=0",
        "/v1/log/proof/inclusion?index=-1&size=2",
        "/v1/log/proof/consistency?from=2&to=1",
        "/v1/log/proof/consistency?from=0&to=2",
        "/v1/log/proof/consistency?from=1&to=4",
        "/v1/log/proof/consistency?from=0&to=1&x=1",
    ] {
        let r = politie.get(env, path, &token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json", "{path}");
    }
    let r = politie.get(env, "/v1/log/receipts/not-an-id", &token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
