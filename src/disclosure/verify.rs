//! `vhgate log verify`: re-hashes the whole chain and names the first broken entry.

use super::{store, LogEntry, GENESIS_HASH};
use crate::store::{Db, StoreError};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every entry chains to its predecessor and the head matches.
    Intact { entries: i64 },
    /// The first entry that does not verify, and why.
    Broken { seq: i64, reason: String },
}

/// Streams the log in sequence order and checks, per row: the sequence is contiguous, the
/// stored predecessor hash equals the previous row's hash, the stored hash equals
/// SHA-256(prev || entry), and the indexed columns agree with the hashed entry. Finally the
/// head must point at the last row.
pub async fn verify(db: &Db) -> Result<VerifyOutcome, StoreError> {
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_vec();
    loop {
        let rows = store::rows_after(db, expected_seq - 1, 2000).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let broken = |reason: String| {
                Ok(VerifyOutcome::Broken {
                    seq: row.seq,
                    reason,
                })
            };
            if row.seq != expected_seq {
                return Ok(VerifyOutcome::Broken {
                    seq: expected_seq,
                    reason: format!(
                        "entry {expected_seq} is missing (next stored entry is {})",
                        row.seq
                    ),
                });
            }
            if row.prev_hash != prev {
                return broken(
                    "does not chain to the previous entry (deleted, inserted or reordered)".into(),
                );
            }
            if store::recompute(row).as_slice() != row.entry_hash.as_slice() {
                return broken("content does not match its hash (altered)".into());
            }
            let entry: LogEntry = match serde_json::from_str(&row.entry) {
                Ok(e) => e,
                Err(e) => return broken(format!("entry is not valid JSON: {e}")),
            };
            if let Some(field) = column_mismatch(row, &entry) {
                return broken(format!(
                    "column {field} differs from the hashed entry (altered)"
                ));
            }
            prev = row.entry_hash.clone();
            expected_seq += 1;
        }
    }
    let (head_seq, head_hash) = store::head(db).await?;
    let last = expected_seq - 1;
    if head_seq != last {
        return Ok(VerifyOutcome::Broken {
            seq: last + 1,
            reason: format!("log head says {head_seq} entries but {last} verify (truncated)"),
        });
    }
    if head_hash != prev {
        return Ok(VerifyOutcome::Broken {
            seq: last,
            reason: "log head hash differs from the last entry".into(),
        });
    }
    Ok(VerifyOutcome::Intact { entries: last })
}

fn column_mismatch(row: &store::LogRow, entry: &LogEntry) -> Option<&'static str> {
    let e = &entry.entry;
    if entry.seq != row.seq {
        return Some("seq");
    }
    if e.id != row.id {
        return Some("id");
    }
    if e.event.as_str() != row.event {
        return Some("event");
    }
    if store::outcome_str(e) != row.outcome {
        return Some("outcome");
    }
    if e.requester.oin != row.requester_oin {
        return Some("requester_oin");
    }
    if e.case_id != row.case_id {
        return Some("case_id");
    }
    if e.subject.as_ref().map(|s| &s.pseudonym) != row.subject_pseudonym.as_ref() {
        return Some("subject_pseudonym");
    }
    if e.policy_revision != row.policy_revision {
        return Some("policy_revision");
    }
    let time_matches = chrono::DateTime::parse_from_rfc3339(&e.time)
        .map(|t| t.with_timezone(&chrono::Utc) == row.recorded_at)
        .unwrap_or(false);
    if !time_matches {
        return Some("recorded_at");
    }
    None
}
