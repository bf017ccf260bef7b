//! SQL of the disclosure log.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::merkle;
use super::tree::{node_map, nodes_sql};
use super::{chain_hash, LogEntry, LogSigner, NewEntry, ENTRY_VERSION};
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A stored row, as read back for listing and verification.
#[derive(Clone, Debug, FromRow)]
pub struct LogRow {
    pub seq: i64,
    pub id: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub event: String,
    pub outcome: String,
    pub requester_oin: Option<String>,
    pub case_id: Option<Uuid>,
    pub subject_pseudonym: Option<String>,
    pub requester_sub: Option<String>,
    pub purpose: Option<String>,
    pub policy_revision: String,
    pub entry: String,
    pub prev_hash: Vec<u8>,
    pub entry_hash: Vec<u8>,
}

/// Filters for listing entries (privacy officer).
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub case_id: Option<Uuid>,
    pub partner: Option<String>,
    /// The subject's pseudonym (computed from a BSN by the gateway; never the BSN).
    pub subject_pseudonym: Option<String>,
    /// The employee (`sub`) who asked.
    pub sub: Option<String>,
    pub purpose: Option<String>,
    /// `allowed`, `partial` or `denied`.
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only entries with a sequence number below this (pagination, newest first).
    pub before_seq: Option<i64>,
    pub limit: i64,
    /// Only the entries of this organisation (OIN): its requests and disclosures of data it
    /// contributed (a partner's privacy officer). Set by the gateway from the policy's
    /// review scope, never from a query.
    pub visible_to: Option<String>,
}

impl LogFilter {
    /// The filter as the log entry of a review records it: every criterion but the subject
    /// (named in the entry's subjects, never as a BSN).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("{k}: {v}"));
            }
        };
        add("case_id", self.case_id.map(|c| c.to_string()));
        add("partner", self.partner.clone());
        add("sub", self.sub.clone());
        add("purpose", self.purpose.clone());
        add("outcome", self.outcome.clone());
        add("since", self.since.map(|t| t.to_rfc3339()));
        add("until", self.until.map(|t| t.to_rfc3339()));
        add("before", self.before_seq.map(|s| s.to_string()));
        add("limit", Some(self.limit.to_string()));
        out
    }
}

pub(super) const ROW_COLUMNS: &str =
    "seq, id, recorded_at, event, outcome, requester_oin, case_id, subject_pseudonym, requester_sub, purpose, \
                           policy_revision, entry, prev_hash, entry_hash";

/// An entry ready to insert: sequence number, canonical text and hashes.
struct PreparedEntry<'a> {
    seq: i64,
    entry: &'a NewEntry,
    recorded_at: DateTime<Utc>,
    text: String,
    prev_hash: Vec<u8>,
    entry_hash: [u8; 32],
}

/// Rows per multi-row INSERT (well below SQLite's bound-parameter limit).
const INSERT_CHUNK: usize = 200;

/// What an append committed.
#[derive(Clone, Debug)]
pub struct Appended {
    /// The sequence number of every entry this batch asked for, by entry id (leaf index =
    /// seq - 1): those it appended, and outbox entries another writer had appended already.
    pub seqs: std::collections::HashMap<Uuid, i64>,
    /// How many entries this batch appended.
    pub appended: usize,
    /// The signed checkpoint (C2SP note) of the tree after this batch (absent when the batch
    /// appended nothing).
    pub checkpoint: Option<String>,
}

/// What one append transaction should take: entries handed over directly (reads and refusals,
/// which change nothing else), entries waiting in the outbox by id (state-changing steps), and
/// whether to sweep the outbox of entries nobody is waiting for (after a crash).
#[derive(Debug, Default)]
pub struct Batch {
    pub direct: Vec<NewEntry>,
    pub outboxed: Vec<Uuid>,
    pub sweep: bool,
}

/// Outbox rows taken by one sweep.
const SWEEP_LIMIT: i64 = 500;

/// Puts a state-changing step's entry into the outbox, inside the step's own transaction: the
/// change and its entry commit together or not at all.
pub async fn put_outbox(tx: &mut Tx, entry: &NewEntry) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO log_outbox (id, entry, created_at) VALUES ($1, $2, $3)";
    let text = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    with_tx!(tx, c => sqlx::query(SQL).bind(entry.id).bind(text).bind(crate::record::now())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Entries still waiting in the outbox.
pub async fn outbox_len(db: &Db) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM log_outbox";
    Ok(with_pool!(db, p => sqlx::query_scalar(SQL).fetch_one(p).await)?)
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends a batch in one transaction: takes the head row's lock first (an UPDATE, which
/// serialises writers on both backends, across processes and gateway instances too), moves
/// the asked-for outbox entries out of the outbox (an entry another writer already appended
/// is found in the log instead, so each is appended exactly once), chains every entry,
/// extends the Merkle tree from its stored right edge (after checking that edge still yields
/// the committed root), signs a checkpoint of the new tree, moves the head and commits.
/// Nothing of the batch is visible, or signed, unless all of it commits.
pub async fn append_batch(
    db: &Db,
    batch: &Batch,
    signer: &LogSigner,
) -> Result<Appended, StoreError> {
    let now = crate::record::now();
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE log_head SET updated_at = $1 WHERE id = 1").bind(now).execute(&mut *tx).await?;

        let mut seqs = std::collections::HashMap::new();
        let mut taken: Vec<(Uuid, String)> = Vec::new();
        for chunk in batch.outboxed.chunks(INSERT_CHUNK) {
            let sql = format!("DELETE FROM log_outbox WHERE id IN ({}) RETURNING id, entry", placeholders(1, chunk.len()));
            let mut q = sqlx::query_as::<_, (Uuid, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            taken.extend(q.fetch_all(&mut *tx).await?);
        }
        if batch.sweep {
            let sql = "DELETE FROM log_outbox WHERE id IN \
                       (SELECT id FROM log_outbox ORDER BY created_at, id LIMIT $1) RETURNING id, entry";
            taken.extend(sqlx::query_as::<_, (Uuid, String)>(sql).bind(SWEEP_LIMIT).fetch_all(&mut *tx).await?);
        }
        // In the order the steps committed them, as far as their times tell.
        let mut outboxed: Vec<NewEntry> = taken
            .iter()
            .map(|(id, text)| {
                let e: NewEntry = serde_json::from_str(text).map_err(|e| corrupt(&format!("outbox entry {id}: {e}")))?;
                if e.id != *id {
                    return Err(corrupt(&format!("outbox entry {id} holds entry {}", e.id)));
                }
                Ok(e)
            })
            .collect::<Result<_, StoreError>>()?;
        outboxed.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        outboxed.dedup_by_key(|e| e.id);
        let missing: Vec<Uuid> = batch
            .outboxed
            .iter()
            .filter(|id| !outboxed.iter().any(|e| e.id == **id))
            .copied()
            .collect();
        for chunk in missing.chunks(INSERT_CHUNK) {
            let sql = format!("SELECT id, seq FROM disclosure_log WHERE id IN ({})", placeholders(1, chunk.len()));
            let mut q = sqlx::query_as::<_, (Uuid, i64)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            seqs.extend(q.fetch_all(&mut *tx).await?);
        }
        if let Some(lost) = missing.iter().find(|id| !seqs.contains_key(*id)) {
            return Err(StoreError::Corrupt(format!("entry {lost} is neither in the outbox nor in the log")));
        }
        let entries: Vec<&NewEntry> = batch.direct.iter().chain(outboxed.iter()).collect();
        if entries.is_empty() {
            tx.rollback().await?;
            return Ok(Appended { seqs, appended: 0, checkpoint: None });
        }

        let (head_seq, head_hash, head_root): (i64, Vec<u8>, Option<Vec<u8>>) =
            sqlx::query_as("SELECT seq, hash, root FROM log_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let head_root = head_root
            .ok_or_else(|| StoreError::Corrupt("the log predates its Merkle tree (log_head.root is empty)".into()))?;
        let size = head_seq as u64;

        // The right edge of the tree, checked against the committed root before building on it.
        let edge = merkle::root_nodes(size);
        let edge_sql = nodes_sql(edge.len());
        let mut q = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&edge_sql);
        for id in &edge {
            q = q.bind(id.level as i64).bind(id.index as i64);
        }
        let stored = node_map(q.fetch_all(&mut *tx).await?)?;
        let old_root = merkle::root(size, |id| stored.get(&id).copied()).map_err(|e| corrupt(&e))?;
        if old_root.as_slice() != head_root.as_slice() {
            return Err(StoreError::Corrupt("the stored Merkle tree does not match the committed root".into()));
        }

        let mut prepared = Vec::with_capacity(entries.len());
        let mut prev = head_hash;
        let mut leaves = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().copied().enumerate() {
            let seq = head_seq + 1 + i as i64;
            let log_entry = LogEntry { v: ENTRY_VERSION, seq, entry: entry.clone() };
            let bytes = log_entry.canonical_bytes().map_err(|e| corrupt(&e))?;
            let entry_hash = chain_hash(&prev, &bytes);
            leaves.push(merkle::leaf_hash(&bytes));
            let text = String::from_utf8(bytes).map_err(|e| corrupt(&e))?;
            let recorded_at = DateTime::parse_from_rfc3339(&entry.time)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| corrupt(&e))?;
            prepared.push(PreparedEntry { seq, entry, recorded_at, text, prev_hash: prev, entry_hash });
            prev = entry_hash.to_vec();
        }
        let (new_nodes, new_root) =
            merkle::append(size, &leaves, |id| stored.get(&id).copied()).map_err(|e| corrupt(&e))?;
        let new_size = size + entries.len() as u64;

        for chunk in prepared.chunks(INSERT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO disclosure_log (seq, id, recorded_at, event, outcome, requester_oin, case_id, \
                 subject_pseudonym, requester_sub, purpose, policy_revision, entry, prev_hash, entry_hash) ",
            );
            qb.push_values(chunk, |mut b, p| {
                b.push_bind(p.seq)
                    .push_bind(p.entry.id)
                    .push_bind(p.recorded_at)
                    .push_bind(p.entry.event.as_str())
                    .push_bind(outcome_str(p.entry))
                    .push_bind(p.entry.requester.oin.as_deref())
                    .push_bind(p.entry.case_id)
                    .push_bind(p.entry.subject.as_ref().map(|s| s.pseudonym.as_str()))
                    .push_bind(p.entry.requester.sub.as_deref())
                    .push_bind(p.entry.requester.purpose.as_deref())
                    .push_bind(p.entry.policy_revision.as_str())
                    .push_bind(p.text.as_str())
                    .push_bind(p.prev_hash.as_slice())
                    .push_bind(p.entry_hash.as_slice());
            });
            qb.build().execute(&mut *tx).await?;
        }
        let named: Vec<(&str, i64)> = prepared
            .iter()
            .flat_map(|p| {
                let mut seen = std::collections::BTreeSet::new();
                p.entry.pseudonyms().filter(move |s| seen.insert(*s)).map(move |s| (s, p.seq)).collect::<Vec<_>>()
            })
            .collect();
        for chunk in named.chunks(INSERT_CHUNK * 2) {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO log_subjects (pseudonym, seq) ");
            qb.push_values(chunk, |mut b, (pseudonym, seq)| {
                b.push_bind(*pseudonym).push_bind(*seq);
            });
            qb.build().execute(&mut *tx).await?;
        }
        // The overview's daily counts of partner requests, in the same transaction.
        let mut daily: std::collections::BTreeMap<(String, &str, &str, &str), i64> =
            std::collections::BTreeMap::new();
        for p in prepared.iter().filter(|p| super::stats::is_partner_request(p.entry.event)) {
            let key = (
                p.recorded_at.date_naive().to_string(),
                outcome_str(p.entry),
                p.entry.requester.oin.as_deref().unwrap_or(""),
                p.entry.requester.purpose.as_deref().unwrap_or(""),
            );
            *daily.entry(key).or_default() += 1;
        }
        for chunk in daily.iter().collect::<Vec<_>>().chunks(INSERT_CHUNK) {
            let mut qb =
                sqlx::QueryBuilder::new("INSERT INTO log_daily (day, outcome, requester_oin, purpose, n) ");
            qb.push_values(chunk, |mut b, ((day, outcome, oin, purpose), n)| {
                b.push_bind(day.as_str()).push_bind(*outcome).push_bind(*oin).push_bind(*purpose).push_bind(**n);
            });
            qb.push(" ON CONFLICT (day, outcome, requester_oin, purpose) DO UPDATE SET n = log_daily.n + excluded.n");
            qb.build().execute(&mut *tx).await?;
        }
        let sourced: Vec<(&str, i64)> = prepared
            .iter()
            .flat_map(|p| p.entry.sources.iter().map(move |oin| (oin.as_str(), p.seq)))
            .collect();
        for chunk in sourced.chunks(INSERT_CHUNK * 2) {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO log_sources (oin, seq) ");
            qb.push_values(chunk, |mut b, (oin, seq)| {
                b.push_bind(*oin).push_bind(*seq);
            });
            qb.build().execute(&mut *tx).await?;
        }
        for chunk in new_nodes.chunks(INSERT_CHUNK * 2) {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO merkle_nodes (level, idx, hash) ");
            qb.push_values(chunk, |mut b, (id, hash)| {
                b.push_bind(id.level as i64).push_bind(id.index as i64).push_bind(hash.as_slice());
            });
            qb.build().execute(&mut *tx).await?;
        }
        let note = signer.sign(new_size, &new_root).map_err(|e| corrupt(&e))?;
        sqlx::query("INSERT INTO checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4)")
            .bind(new_size as i64)
            .bind(new_root.as_slice())
            .bind(note.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE log_head SET seq = $1, hash = $2, root = $3 WHERE id = 1")
            .bind(new_size as i64)
            .bind(prev.as_slice())
            .bind(new_root.as_slice())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        seqs.extend(prepared.iter().map(|p| (p.entry.id, p.seq)));
        Ok(Appended { seqs, appended: prepared.len(), checkpoint: Some(note) })
    })
}

/// Signs the checkpoint of the empty tree when no checkpoint exists yet, so witnesses and
/// auditors have a starting point before the first entry.
pub async fn ensure_first_checkpoint(db: &Db, signer: &LogSigner) -> Result<(), StoreError> {
    let now = crate::record::now();
    let empty = merkle::empty_root();
    let note = signer
        .sign(0, &empty)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // ON CONFLICT: several instances may start at once; one checkpoint of size 0 is enough.
    with_pool!(db, p => sqlx::query(
        "INSERT INTO checkpoints (size, root, note, signed_at) SELECT 0, $1, $2, $3 \
         WHERE NOT EXISTS (SELECT 1 FROM checkpoints) ON CONFLICT (size) DO NOTHING",
    )
    .bind(empty.as_slice())
    .bind(note.as_str())
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The outcome as stored in its own column.
pub fn outcome_str(entry: &NewEntry) -> &'static str {
    match entry.outcome {
        crate::policy::Outcome::Allowed => "allowed",
        crate::policy::Outcome::Partial => "partial",
        crate::policy::Outcome::Denied => "denied",
    }
}

/// Entries matching a filter, newest first.
pub async fn list(db: &Db, f: &LogFilter) -> Result<Vec<LogRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM disclosure_log WHERE ($1 IS NULL OR case_id = $1) \
         AND ($2 IS NULL OR requester_oin = $2) AND ($3 IS NULL OR recorded_at >= $3) \
         AND ($4 IS NULL OR recorded_at < $4) AND ($5 IS NULL OR seq < $5) \
         AND ($7 IS NULL OR seq IN (SELECT seq FROM log_subjects WHERE pseudonym = $7)) \
         AND ($8 IS NULL OR requester_sub = $8) \
         AND ($9 IS NULL OR purpose = $9) AND ($10 IS NULL OR outcome = $10) \
         AND ($11 IS NULL OR requester_oin = $11 OR seq IN (SELECT seq FROM log_sources WHERE oin = $11)) \
         ORDER BY seq DESC LIMIT $6"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql)
        .bind(f.case_id).bind(f.partner.as_deref()).bind(f.since).bind(f.until).bind(f.before_seq).bind(f.limit)
        .bind(f.subject_pseudonym.as_deref()).bind(f.sub.as_deref()).bind(f.purpose.as_deref()).bind(f.outcome.as_deref())
        .bind(f.visible_to.as_deref())
        .fetch_all(p).await)?)
}

/// Policy decisions on person-level requests (reads and lookups) recorded in
/// `[since, until)`, newest first, at most `limit`: what an impact preview replays.
pub async fn decisions(
    db: &Db,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<LogRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM disclosure_log WHERE event IN ('read_person', 'lookup') \
         AND ($1 IS NULL OR recorded_at >= $1) AND ($2 IS NULL OR recorded_at < $2) ORDER BY seq DESC LIMIT $3"
    );
    Ok(
        with_pool!(db, p => sqlx::query_as(&sql).bind(since).bind(until).bind(limit).fetch_all(p).await)?,
    )
}

/// Rows with `seq > after`, in sequence order, at most `limit` (for streaming verification).
pub async fn rows_after(db: &Db, after: i64, limit: i64) -> Result<Vec<LogRow>, StoreError> {
    let sql =
        format!("SELECT {ROW_COLUMNS} FROM disclosure_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(p).await)?)
}

/// The head in one read: last sequence number, its chain hash and the tree root.
pub async fn head_snapshot(db: &Db) -> Result<(i64, Vec<u8>, Vec<u8>), StoreError> {
    let (seq, hash, root): (i64, Vec<u8>, Option<Vec<u8>>) = with_pool!(db, p => sqlx::query_as("SELECT seq, hash, root FROM log_head WHERE id = 1").fetch_one(p).await)?;
    Ok((seq, hash, root.unwrap_or_default()))
}

/// The chain head: last sequence number and hash.
pub async fn head(db: &Db) -> Result<(i64, Vec<u8>), StoreError> {
    Ok(
        with_pool!(db, p => sqlx::query_as("SELECT seq, hash FROM log_head WHERE id = 1").fetch_one(p).await)?,
    )
}

/// The subject index (pseudonym, seq) of the entries `first..=last`.
pub async fn subjects_between(
    db: &Db,
    first: i64,
    last: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    const SQL: &str =
        "SELECT pseudonym, seq FROM log_subjects WHERE seq >= $1 AND seq <= $2 ORDER BY seq, pseudonym";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(first).bind(last).fetch_all(p).await)?)
}

/// The source index (oin, seq) of the entries `first..=last`.
pub async fn sources_between(
    db: &Db,
    first: i64,
    last: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    const SQL: &str =
        "SELECT oin, seq FROM log_sources WHERE seq >= $1 AND seq <= $2 ORDER BY seq, oin";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(first).bind(last).fetch_all(p).await)?)
}

/// Number of entries.
pub async fn count(db: &Db) -> Result<i64, StoreError> {
    Ok(
        with_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM disclosure_log").fetch_one(p).await)?,
    )
}

/// Recomputes the chain link of a row from its stored predecessor hash (used by verify).
pub fn recompute(row: &LogRow) -> [u8; 32] {
    chain_hash(&row.prev_hash, row.entry.as_bytes())
}

/// Records an embargo: `partner_oin`'s requests about the subject stay out of the subject's
/// access report until `until`.
pub async fn add_embargo(
    tx: &mut Tx,
    id: Uuid,
    subject_pseudonym: &str,
    partner_oin: &str,
    reason: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO embargoes (id, subject_pseudonym, partner_oin, reason, until, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    with_tx!(tx, c => sqlx::query(SQL)
        .bind(id.to_string()).bind(subject_pseudonym).bind(partner_oin).bind(reason).bind(until).bind(crate::record::now())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Partners with an embargo on this subject pseudonym that is still running at `now`.
pub async fn embargoed_partners(
    db: &Db,
    subject_pseudonym: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    const SQL: &str =
        "SELECT DISTINCT partner_oin FROM embargoes WHERE subject_pseudonym = $1 AND until > $2";
    Ok(
        with_pool!(db, p => sqlx::query_scalar(SQL).bind(subject_pseudonym).bind(now).fetch_all(p).await)?,
    )
}

/// Copies the whole log (entries, Merkle nodes, checkpoints, cosignatures and head) into
/// `to`, a freshly migrated database: an export that `vhgate log verify` audits offline, with
/// the same code as the live log. Rows are copied as stored, so tampering travels along.
pub async fn export_log(from: &Db, to: &Db) -> Result<u64, StoreError> {
    let mut copied = 0u64;
    let mut after = 0i64;
    loop {
        let rows = rows_after(from, after, INSERT_CHUNK as i64).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        with_pool!(to, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO disclosure_log (seq, id, recorded_at, event, outcome, requester_oin, case_id, \
                 subject_pseudonym, requester_sub, purpose, policy_revision, entry, prev_hash, entry_hash) ",
            );
            qb.push_values(&rows, |mut b, r| {
                b.push_bind(r.seq).push_bind(r.id).push_bind(r.recorded_at).push_bind(r.event.as_str())
                    .push_bind(r.outcome.as_str()).push_bind(r.requester_oin.as_deref()).push_bind(r.case_id)
                    .push_bind(r.subject_pseudonym.as_deref()).push_bind(r.requester_sub.as_deref())
                    .push_bind(r.purpose.as_deref()).push_bind(r.policy_revision.as_str()).push_bind(r.entry.as_str())
                    .push_bind(r.prev_hash.as_slice()).push_bind(r.entry_hash.as_slice());
            });
            qb.build().execute(pool).await.map(|r| r.rows_affected())
        })?;
        let (first, last) = (rows[0].seq, last.seq);
        for (table, rows) in [
            (
                "log_subjects (pseudonym, seq)",
                subjects_between(from, first, last).await?,
            ),
            (
                "log_sources (oin, seq)",
                sources_between(from, first, last).await?,
            ),
        ] {
            for chunk in rows.chunks(INSERT_CHUNK * 2) {
                with_pool!(to, pool => {
                    let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO {table} "));
                    qb.push_values(chunk, |mut b, (key, seq)| {
                        b.push_bind(key.as_str()).push_bind(*seq);
                    });
                    qb.build().execute(pool).await.map(|r| r.rows_affected())
                })?;
            }
        }
        copied += rows.len() as u64;
    }
    // Nodes and checkpoints are read level by level / in order, in pages.
    let mut level = 0i64;
    loop {
        let mut start = 0i64;
        let mut any = false;
        loop {
            const SQL: &str = "SELECT level, idx, hash FROM merkle_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT 1000";
            let nodes: Vec<(i64, i64, Vec<u8>)> = with_pool!(from, p => sqlx::query_as(SQL).bind(level).bind(start).fetch_all(p).await)?;
            let Some(last) = nodes.last() else { break };
            start = last.1 + 1;
            any = true;
            with_pool!(to, pool => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO merkle_nodes (level, idx, hash) ");
                qb.push_values(&nodes, |mut b, (l, i, h)| {
                    b.push_bind(*l).push_bind(*i).push_bind(h.as_slice());
                });
                qb.build().execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        if !any {
            break;
        }
        level += 1;
    }
    let mut after = -1i64;
    loop {
        let checkpoints = super::tree::checkpoints_after(from, after, 1000).await?;
        let Some(last) = checkpoints.last() else {
            break;
        };
        after = last.size;
        for c in &checkpoints {
            with_pool!(to, pool => sqlx::query("INSERT INTO checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4)")
                .bind(c.size).bind(c.root.as_slice()).bind(c.note.as_str()).bind(c.signed_at)
                .execute(pool).await.map(|r| r.rows_affected()))?;
            for line in super::tree::cosignatures(from, c.size).await? {
                let witness = line
                    .trim_start_matches('\u{2014}')
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                super::tree::add_cosignature(to, c.size as u64, &witness, &line).await?;
            }
        }
    }
    let (seq, hash, root): (i64, Vec<u8>, Option<Vec<u8>>) = with_pool!(from, p => sqlx::query_as("SELECT seq, hash, root FROM log_head WHERE id = 1").fetch_one(p).await)?;
    with_pool!(to, p => sqlx::query("UPDATE log_head SET seq = $1, hash = $2, root = $3, updated_at = $4 WHERE id = 1")
        .bind(seq).bind(hash.as_slice()).bind(root.as_deref()).bind(crate::record::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(copied)
}
