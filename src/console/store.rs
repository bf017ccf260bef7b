//! SQL of console sessions, for both SQLite and PostgreSQL. Only the SHA-256 of a session's
//! secret is stored, so a copy of the database opens no session.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A stored session.
#[derive(Clone, Debug, FromRow)]
pub struct StoredSession {
    pub oin: String,
    pub thumbprint: String,
    /// The verified token's claims as JSON (never a BSN: a privacy officer's token).
    pub claims: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// A new session, inside the sign-in's unit of work.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub oin: &'a str,
    pub thumbprint: &'a str,
    pub claims: &'a str,
    pub csrf: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a session; expired sessions are removed in the same transaction.
pub async fn insert(tx: &mut Tx, s: &NewSession<'_>) -> Result<(), StoreError> {
    const PRUNE: &str = "DELETE FROM console_sessions WHERE expires_at < $1";
    const SQL: &str = "INSERT INTO console_sessions (id_hash, oin, thumbprint, claims, csrf, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, c => sqlx::query(PRUNE).bind(s.created_at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    with_tx!(tx, c => sqlx::query(SQL).bind(s.id_hash).bind(s.oin).bind(s.thumbprint).bind(s.claims)
        .bind(s.csrf).bind(s.created_at).bind(s.expires_at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The session with this secret hash, if it has not expired at `now`.
pub async fn find(
    db: &Db,
    id_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredSession>, StoreError> {
    const SQL: &str = "SELECT oin, thumbprint, claims, csrf, expires_at FROM console_sessions \
                       WHERE id_hash = $1 AND expires_at > $2";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(id_hash).bind(now).fetch_optional(p).await)?)
}

/// Ends a session inside the sign-out's unit of work; false when it was already gone.
pub async fn delete(tx: &mut Tx, id_hash: &str) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM console_sessions WHERE id_hash = $1";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(id_hash).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}
