//! `vhgate log verify`: the auditor. Re-hashes every entry (hash chain and RFC 6962 Merkle
//! tree), checks every stored checkpoint against the recomputed tree and its signature, checks
//! the stored tree and head, and optionally a newer checkpoint seen by a witness (which exposes
//! a restored older backup). Names the first bad entry.

use std::collections::{HashMap, HashSet};

/// (key, seq) rows of an index beside the log (subjects, sources).
type IndexRows = HashSet<(String, i64)>;

use super::checkpoint::{open_note, Checkpoint, NoteVerifier};
use super::merkle::{self, Hash, NodeId};
use super::{store, tree, LogEntry, GENESIS_HASH};
use crate::store::{Db, StoreError};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every entry, checkpoint and the head verify.
    Intact { entries: i64, checkpoints: u64 },
    /// The first entry that does not verify, and why.
    Broken { seq: i64, reason: String },
}

/// What to trust while verifying.
#[derive(Default)]
pub struct VerifyOptions {
    /// The log's checkpoint key; without it, checkpoint signatures are not checked (roots are).
    pub log_key: Option<NoteVerifier>,
    /// A checkpoint from a witness or an earlier audit (a signed note). If it is newer than
    /// the log, the log was rolled back; if not, it must match the recomputed tree.
    pub trusted_checkpoint: Option<String>,
    /// Called now and then with (entries verified, entries in the log).
    pub progress: Option<Box<dyn Fn(i64, i64) + Send + Sync>>,
}

/// The Merkle tree recomputed while streaming: only its right frontier is kept.
struct Recomputed {
    size: u64,
    frontier: HashMap<NodeId, Hash>,
}

impl Recomputed {
    /// Adds a leaf; returns the perfect nodes it completed (which the store must hold too).
    fn push(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, String> {
        let (created, _) = merkle::append(self.size, &[leaf], |id| self.frontier.get(&id).copied())
            .map_err(|e| e.to_string())?;
        self.size += 1;
        self.frontier.extend(created.iter().copied());
        let keep = merkle::root_nodes(self.size);
        self.frontier.retain(|id, _| keep.contains(id));
        Ok(created)
    }

    fn root(&self) -> Result<Hash, String> {
        merkle::root(self.size, |id| self.frontier.get(&id).copied()).map_err(|e| e.to_string())
    }
}

/// Compares recomputed perfect nodes with the stored ones (a few range queries per level);
/// returns the first leaf (0-based) under a node that is missing or differs.
async fn first_bad_stored_node(
    db: &Db,
    created: &[(NodeId, Hash)],
) -> Result<Option<u64>, StoreError> {
    let mut by_level: std::collections::BTreeMap<u32, (u64, u64)> =
        std::collections::BTreeMap::new();
    for (id, _) in created {
        let range = by_level.entry(id.level).or_insert((id.index, id.index + 1));
        range.0 = range.0.min(id.index);
        range.1 = range.1.max(id.index + 1);
    }
    let mut stored = HashMap::new();
    for (level, (start, end)) in by_level {
        stored.extend(tree::nodes_in_range(db, level, start, end).await?);
    }
    Ok(created
        .iter()
        .filter(|(id, hash)| stored.get(id) != Some(hash))
        .map(|(id, _)| id.index << id.level)
        .min())
}

/// The checkpoint a note carries: its signature checked when a key is given, otherwise only
/// the body (the part before the empty line) is read.
fn read_checkpoint(note: &str, key: Option<&NoteVerifier>) -> Result<Checkpoint, String> {
    let body = match key {
        Some(k) => {
            open_note(note, std::slice::from_ref(k))
                .map_err(|e| format!("signature does not verify: {e}"))?
                .body
        }
        None => note
            .split("\n\n")
            .next()
            .map(|b| format!("{b}\n"))
            .unwrap_or_default(),
    };
    Checkpoint::parse_body(&body).map_err(|e| format!("malformed: {e}"))
}

/// Checks a checkpoint note against the recomputed tree of its size (and its signature if a
/// key is given); `None` when it verifies.
fn check_note(note: &str, tree: &Recomputed, key: Option<&NoteVerifier>) -> Option<String> {
    let cp = match read_checkpoint(note, key) {
        Ok(cp) => cp,
        Err(e) => return Some(format!("checkpoint {}: {e}", tree.size)),
    };
    if cp.size != tree.size {
        return Some(format!(
            "checkpoint says size {} where {} was expected",
            cp.size, tree.size
        ));
    }
    match tree.root() {
        Ok(root) if root == cp.root => None,
        Ok(_) => Some(format!(
            "the entries do not hash to the root signed in checkpoint {}",
            cp.size
        )),
        Err(e) => Some(e),
    }
}

/// Streams the log in sequence order and checks, per row: the sequence is contiguous, the
/// stored predecessor hash equals the previous row's hash, the stored hash equals
/// SHA-256(prev || entry), and the indexed columns agree with the hashed entry; every stored
/// checkpoint must sign the root of the entries before it. Finally the head, the stored Merkle
/// tree and the trusted checkpoint (if any) must agree with what was recomputed.
pub async fn verify(db: &Db) -> Result<VerifyOutcome, StoreError> {
    verify_with(db, &VerifyOptions::default()).await
}

/// [`verify`] with a log key, a trusted checkpoint and a progress callback.
pub async fn verify_with(db: &Db, options: &VerifyOptions) -> Result<VerifyOutcome, StoreError> {
    // A snapshot of the head: entries appended while this runs (a live gateway keeps logging,
    // the console's own page views included) are not part of what is verified. The writer
    // commits entries, tree, checkpoint and head together, so everything up to the head is
    // complete.
    let (total, head_hash, head_root) = store::head_snapshot(db).await?;
    let trusted = match options.trusted_checkpoint.as_deref() {
        Some(note) => match read_checkpoint(note, options.log_key.as_ref()) {
            Ok(cp) => Some((cp, note.to_string())),
            Err(e) => {
                return Ok(VerifyOutcome::Broken {
                    seq: 0,
                    reason: format!("the trusted checkpoint: {e}"),
                })
            }
        },
        None => None,
    };
    if let Some((cp, _)) = &trusted {
        if cp.size as i64 > total {
            return Ok(VerifyOutcome::Broken {
                seq: total + 1,
                reason: format!(
                    "rolled back: a trusted checkpoint covers {} entries but the log holds {total} (restored from an older backup?)",
                    cp.size
                ),
            });
        }
    }

    let mut tree = Recomputed {
        size: 0,
        frontier: HashMap::new(),
    };
    let mut checkpoints = tree::checkpoints_after(db, -1, 1000).await?;
    let mut next_checkpoint = 0usize;
    let mut last_checked = -1i64;
    let mut checkpoints_checked = 0u64;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS_HASH.to_vec();
    // Checks the stored checkpoints (and the trusted one) that sign the current tree size.
    macro_rules! check_checkpoints_at_size {
        () => {
            loop {
                if next_checkpoint == checkpoints.len() {
                    checkpoints = tree::checkpoints_after(db, last_checked, 1000).await?;
                    next_checkpoint = 0;
                }
                let Some(cp) = checkpoints.get(next_checkpoint) else {
                    break;
                };
                if cp.size as u64 > tree.size {
                    break;
                }
                if (cp.size as u64) < tree.size {
                    return Ok(VerifyOutcome::Broken {
                        seq: cp.size,
                        reason: format!("checkpoint {} was not checked in order", cp.size),
                    });
                }
                if let Some(reason) = check_note(&cp.note, &tree, options.log_key.as_ref()) {
                    return Ok(VerifyOutcome::Broken {
                        seq: cp.size.max(1),
                        reason,
                    });
                }
                checkpoints_checked += 1;
                last_checked = cp.size;
                next_checkpoint += 1;
            }
            if let Some((cp, note)) = &trusted {
                if cp.size == tree.size {
                    if let Some(reason) = check_note(note, &tree, options.log_key.as_ref()) {
                        return Ok(VerifyOutcome::Broken {
                            seq: tree.size as i64,
                            reason: format!("the trusted checkpoint disagrees: {reason}"),
                        });
                    }
                }
            }
        };
    }
    check_checkpoints_at_size!();
    loop {
        let remaining = total - (expected_seq - 1);
        if remaining <= 0 {
            break;
        }
        let rows = store::rows_after(db, expected_seq - 1, remaining.min(2000)).await?;
        if rows.is_empty() {
            break;
        }
        let mut created = Vec::with_capacity(rows.len() * 2);
        let (indexed, sourced): (IndexRows, IndexRows) = match (rows.first(), rows.last()) {
            (Some(f), Some(l)) => (
                store::subjects_between(db, f.seq, l.seq)
                    .await?
                    .into_iter()
                    .collect(),
                store::sources_between(db, f.seq, l.seq)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            _ => Default::default(),
        };
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
            if entry
                .entry
                .pseudonyms()
                .any(|p| !indexed.contains(&(p.to_string(), row.seq)))
            {
                return broken(
                    "the subject index lacks a person the entry names (the access report would miss it)"
                        .into(),
                );
            }
            if entry
                .entry
                .sources
                .iter()
                .any(|oin| !sourced.contains(&(oin.clone(), row.seq)))
            {
                return broken(
                    "the source index lacks an organisation the entry names (its privacy officer would miss it)"
                        .into(),
                );
            }
            match tree.push(merkle::leaf_hash(row.entry.as_bytes())) {
                Ok(nodes) => created.extend(nodes),
                Err(e) => return broken(e),
            }
            check_checkpoints_at_size!();
            prev = row.entry_hash.clone();
            expected_seq += 1;
        }
        if let Some(leaf) = first_bad_stored_node(db, &created).await? {
            return Ok(VerifyOutcome::Broken {
                seq: leaf as i64 + 1,
                reason: "the stored Merkle tree differs from the entries here (its proofs would be wrong)".into(),
            });
        }
        if let Some(progress) = &options.progress {
            progress(expected_seq - 1, total);
        }
    }
    let last = expected_seq - 1;
    if total != last {
        return Ok(VerifyOutcome::Broken {
            seq: last + 1,
            reason: format!("log head says {total} entries but {last} verify (truncated)"),
        });
    }
    // Rows beyond the head (a head set back over entries that stayed): count first, then the
    // head, so an append in between can only raise the head.
    let rows_now = store::count(db).await?;
    let (head_now, _) = store::head(db).await?;
    if rows_now > head_now {
        return Ok(VerifyOutcome::Broken {
            seq: head_now + 1,
            reason: format!(
                "log head says {head_now} entries but {rows_now} are stored (truncated head)"
            ),
        });
    }
    if head_hash != prev {
        return Ok(VerifyOutcome::Broken {
            seq: last,
            reason: "log head hash differs from the last entry".into(),
        });
    }
    let computed = match tree.root() {
        Ok(r) => r,
        Err(e) => {
            return Ok(VerifyOutcome::Broken {
                seq: last,
                reason: e,
            })
        }
    };
    if head_root.as_slice() != computed.as_slice() {
        return Ok(VerifyOutcome::Broken {
            seq: last,
            reason: "log head root differs from the recomputed tree".into(),
        });
    }
    match tree::root_at(db, last as u64).await {
        Ok(stored) if stored == computed => {}
        Ok(_) => {
            return Ok(VerifyOutcome::Broken {
                seq: last,
                reason: "the stored Merkle tree differs from the entries (proofs would be wrong)"
                    .into(),
            })
        }
        Err(e) => {
            return Ok(VerifyOutcome::Broken {
                seq: last,
                reason: format!("the stored Merkle tree is unusable: {e}"),
            })
        }
    }
    let at_head = tree::checkpoints_after(db, last - 1, 1).await?;
    if at_head.first().map(|c| c.size) != Some(last) {
        return Ok(VerifyOutcome::Broken {
            seq: last,
            reason: "the newest entries are not covered by a signed checkpoint".into(),
        });
    }
    Ok(VerifyOutcome::Intact {
        entries: last,
        checkpoints: checkpoints_checked,
    })
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
    if e.requester.sub != row.requester_sub {
        return Some("requester_sub");
    }
    if e.requester.purpose != row.purpose {
        return Some("purpose");
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
