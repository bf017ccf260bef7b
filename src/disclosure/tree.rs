//! SQL of the log's Merkle tree and signed checkpoints, and the proofs built from them. Only
//! perfect subtrees are stored (see migrations/*/0002), so every proof reads O(log n) nodes in
//! one query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::merkle::{self, Hash, NodeId, ProofError};
use super::store::LogRow;
use crate::store::{Db, StoreError};
use crate::with_pool;

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Range(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the stored tree is inconsistent: {0}")]
    Proof(#[from] ProofError),
}

/// A checkpoint as stored: the signed note and what it commits to.
#[derive(Clone, Debug, FromRow)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

/// SQL selecting the given perfect nodes; bind (level, idx) pairs in order.
pub(super) fn nodes_sql(count: usize) -> String {
    let mut sql = String::from("SELECT level, idx, hash FROM merkle_nodes WHERE ");
    if count == 0 {
        sql.push_str("1 = 0");
    }
    for i in 0..count {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!(
            "(level = ${} AND idx = ${})",
            2 * i + 1,
            2 * i + 2
        ));
    }
    sql
}

/// Rows of [`nodes_sql`] as a lookup table.
pub(super) fn node_map(
    rows: Vec<(i64, i64, Vec<u8>)>,
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    rows.into_iter()
        .map(|(level, idx, hash)| {
            let hash: Hash = hash.try_into().map_err(|_| {
                StoreError::Corrupt(format!("merkle node ({level}, {idx}) is not 32 bytes"))
            })?;
            Ok((
                NodeId {
                    level: level as u32,
                    index: idx as u64,
                },
                hash,
            ))
        })
        .collect()
}

/// Reads the given perfect nodes.
pub async fn nodes(db: &Db, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let sql = nodes_sql(ids.len());
    let rows: Vec<(i64, i64, Vec<u8>)> = with_pool!(db, p => {
        let mut q = sqlx::query_as(&sql);
        for id in ids {
            q = q.bind(id.level as i64).bind(id.index as i64);
        }
        q.fetch_all(p).await
    })?;
    node_map(rows)
}

/// Stored nodes of one level with `start <= idx < end` (for auditing the stored tree).
pub async fn nodes_in_range(
    db: &Db,
    level: u32,
    start: u64,
    end: u64,
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    const SQL: &str =
        "SELECT level, idx, hash FROM merkle_nodes WHERE level = $1 AND idx >= $2 AND idx < $3";
    let rows: Vec<(i64, i64, Vec<u8>)> = with_pool!(db, p => sqlx::query_as(SQL)
        .bind(level as i64).bind(start as i64).bind(end as i64).fetch_all(p).await)?;
    node_map(rows)
}

/// The committed tree: size and root.
pub async fn head(db: &Db) -> Result<(u64, Hash), StoreError> {
    let (seq, root): (i64, Option<Vec<u8>>) = with_pool!(db, p => sqlx::query_as("SELECT seq, root FROM log_head WHERE id = 1").fetch_one(p).await)?;
    let root = root
        .and_then(|r| Hash::try_from(r.as_slice()).ok())
        .ok_or_else(|| StoreError::Corrupt("log_head.root is missing or malformed".into()))?;
    Ok((seq as u64, root))
}

const CHECKPOINT_COLUMNS: &str = "size, root, note, signed_at";

/// The newest signed checkpoint, if any entry was ever logged.
pub async fn latest_checkpoint(db: &Db) -> Result<Option<StoredCheckpoint>, StoreError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).fetch_optional(p).await)?)
}

/// Checkpoints with `size > after`, oldest first, at most `limit` (for auditing).
pub async fn checkpoints_after(
    db: &Db,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size > $1 ORDER BY size LIMIT $2"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(p).await)?)
}

/// The smallest checkpoint that covers leaf `index` (for receipts).
pub async fn checkpoint_covering(
    db: &Db,
    index: u64,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size > $1 ORDER BY size LIMIT 1"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(index as i64).fetch_optional(p).await)?)
}

fn within(size: u64, committed: u64) -> Result<(), TreeError> {
    if size > committed {
        return Err(TreeError::Range(format!(
            "the log holds {committed} entries, not {size}"
        )));
    }
    Ok(())
}

/// Inclusion proof of leaf `index` in the tree of `size` entries (RFC 6962 PATH).
pub async fn inclusion_proof(db: &Db, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
    within(size, head(db).await?.0)?;
    if index >= size {
        return Err(TreeError::Range(format!(
            "index {index} is not below size {size}"
        )));
    }
    let ids = merkle::inclusion_proof_nodes(index, size)?;
    let found = nodes(db, &ids).await?;
    Ok(merkle::inclusion_proof(index, size, |id| {
        found.get(&id).copied()
    })?)
}

/// Consistency proof between the trees of `from` and `to` entries (RFC 6962 PROOF).
pub async fn consistency_proof(db: &Db, from: u64, to: u64) -> Result<Vec<Hash>, TreeError> {
    within(to, head(db).await?.0)?;
    if from > to {
        return Err(TreeError::Range(format!(
            "from ({from}) must not exceed to ({to})"
        )));
    }
    if from == 0 {
        // As in transparency-dev/merkle: every tree extends the empty one, there is no proof.
        return Err(TreeError::Range(
            "from must be at least 1: every tree extends the empty tree".into(),
        ));
    }
    let ids = merkle::consistency_proof_nodes(from, to)?;
    let found = nodes(db, &ids).await?;
    Ok(merkle::consistency_proof(from, to, |id| {
        found.get(&id).copied()
    })?)
}

/// The root of the tree of `size` entries (any size up to the committed one).
pub async fn root_at(db: &Db, size: u64) -> Result<Hash, TreeError> {
    within(size, head(db).await?.0)?;
    let ids = merkle::root_nodes(size);
    let found = nodes(db, &ids).await?;
    Ok(merkle::root(size, |id| found.get(&id).copied())?)
}

/// The entry with this disclosure id.
pub async fn entry_by_id(db: &Db, id: uuid::Uuid) -> Result<Option<LogRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM disclosure_log WHERE id = $1",
        super::store::ROW_COLUMNS
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?)
}

/// Stores a witness's cosignature line for the checkpoint of `size` (first one per witness wins).
pub async fn add_cosignature(
    db: &Db,
    size: u64,
    witness: &str,
    line: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO checkpoint_cosignatures (size, witness, signature, received_at) \
                       VALUES ($1, $2, $3, $4) ON CONFLICT (size, witness) DO NOTHING";
    with_pool!(db, p => sqlx::query(SQL)
        .bind(size as i64).bind(witness).bind(line).bind(crate::record::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The cosignature lines stored for the checkpoint of `size`.
pub async fn cosignatures(db: &Db, size: i64) -> Result<Vec<String>, StoreError> {
    const SQL: &str =
        "SELECT signature FROM checkpoint_cosignatures WHERE size = $1 ORDER BY witness";
    Ok(with_pool!(db, p => sqlx::query_scalar(SQL).bind(size).fetch_all(p).await)?)
}
