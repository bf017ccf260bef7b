//! The transparency-log API: checkpoint, proofs, entries and disclosure receipts, so partners,
//! witnesses and auditors can verify the log without trusting the gateway's operator.

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;

use super::problem::Problem;
use super::{AppState, Authenticated, Peer};
use crate::domain::DisclosureId;

const NOTE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Parses `key=value` pairs of unsigned integers, refusing anything else.
pub(super) fn numbers<const N: usize>(
    query: Option<&str>,
    keys: [&str; N],
) -> Result<[u64; N], Problem> {
    let mut out: [Option<u64>; N] = [None; N];
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let Some(pos) = keys.iter().position(|k| *k == key) else {
            return Err(Problem::bad_request(
                "invalid-query",
                format!("unknown query parameter {key}"),
            ));
        };
        // Digits only: `u64::from_str` would also take a sign (`%2B5`).
        let n = Some(value.as_ref())
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| {
                Problem::bad_request(
                    "invalid-query",
                    format!("{key} must be a non-negative integer"),
                )
            })?;
        out[pos] = Some(n);
    }
    let mut result = [0u64; N];
    for (i, k) in keys.iter().enumerate() {
        result[i] = out[i]
            .ok_or_else(|| Problem::bad_request("invalid-query", format!("{k} is required")))?;
    }
    Ok(result)
}

fn hashes(proof: &[[u8; 32]]) -> Vec<String> {
    proof.iter().map(|h| B64.encode(h)).collect()
}

/// `GET /v1/log/checkpoint`: the newest signed checkpoint (C2SP tlog-checkpoint note).
pub(super) async fn checkpoint(
    State(gateway): State<AppState>,
    _peer: Peer,
) -> Result<Response, Problem> {
    let note = gateway.latest_checkpoint().await?;
    Ok(([(header::CONTENT_TYPE, NOTE_CONTENT_TYPE)], note).into_response())
}

#[derive(Serialize)]
pub(super) struct InclusionBody {
    index: u64,
    size: u64,
    /// Base64 SHA-256 hashes, leaf sibling first (RFC 6962 PATH).
    proof: Vec<String>,
}

/// `GET /v1/log/proof/inclusion?index=&size=`.
pub(super) async fn inclusion(
    State(gateway): State<AppState>,
    RawQuery(query): RawQuery,
    _peer: Peer,
) -> Result<Json<InclusionBody>, Problem> {
    let [index, size] = numbers(query.as_deref(), ["index", "size"])?;
    let proof = gateway.inclusion_proof(index, size).await?;
    Ok(Json(InclusionBody {
        index,
        size,
        proof: hashes(&proof),
    }))
}

#[derive(Serialize)]
pub(super) struct ConsistencyBody {
    from: u64,
    to: u64,
    /// Base64 SHA-256 hashes (RFC 6962 PROOF).
    proof: Vec<String>,
}

/// `GET /v1/log/proof/consistency?from=&to=`.
pub(super) async fn consistency(
    State(gateway): State<AppState>,
    RawQuery(query): RawQuery,
    _peer: Peer,
) -> Result<Json<ConsistencyBody>, Problem> {
    let [from, to] = numbers(query.as_deref(), ["from", "to"])?;
    let proof = gateway.consistency_proof(from, to).await?;
    Ok(Json(ConsistencyBody {
        from,
        to,
        proof: hashes(&proof),
    }))
}

#[derive(Serialize)]
pub(super) struct EntriesBody {
    /// Leaf index of the first entry.
    start: u64,
    /// Canonical entry texts; leaf hash = SHA-256(0x00 || UTF-8 bytes).
    entries: Vec<String>,
}

/// `GET /v1/log/entries?start=&end=` (leaf indexes, end exclusive; privacy officer only).
pub(super) async fn entries(
    State(gateway): State<AppState>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Result<Json<EntriesBody>, Problem> {
    let [start, end] = numbers(query.as_deref(), ["start", "end"])?;
    let entries = gateway.log_entries(&caller, start, end).await?;
    Ok(Json(EntriesBody { start, entries }))
}

/// `GET /v1/log/receipts/{disclosure_id}`: a C2SP tlog-proof that the entry is in the log
/// (extra = the canonical entry), for the partner that made the request or the privacy officer.
pub(super) async fn receipt(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id: DisclosureId = id
        .parse()
        .map_err(|e| Problem::bad_request("invalid-disclosure-id", format!("{e}")))?;
    let proof = gateway.receipt(&caller, id).await?;
    Ok(([(header::CONTENT_TYPE, NOTE_CONTENT_TYPE)], proof).into_response())
}
