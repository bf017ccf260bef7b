//! The storage layer's root: one connection pool for either backend, and its migrations. All
//! SQL lives in this module's children ([`crate::record`] for the case record,
//! [`crate::disclosure::store`] for the log); each query is written once, with `$N`
//! placeholders that both SQLite and PostgreSQL accept, and run on either pool by
//! [`with_pool!`](crate::with_pool).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("record encryption: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Which database engine a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool for the configured backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool `$db` holds. The body is compiled once per
/// backend, so `sqlx::query(..).fetch_*($pool)` and `FromRow` types work for both.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// An open transaction on either backend: a state-changing step applies its change and writes
/// its log entry (into the outbox) through one of these, so both commit or neither does.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same code against whichever connection the transaction `$tx` (a `&mut Tx`) holds;
/// `$conn` is a `&mut` connection, so pass `&mut *$conn` to each query.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls the transaction back (dropping it does too; this says so explicitly).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// True when `e` is a unique-constraint violation (a concurrent writer got there first).
pub fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// Whether a SQLite connection that goes back to the pool can take another transaction.
/// SQLITE_FULL or SQLITE_IOERR (a full or failing disk) may roll a transaction back inside
/// SQLite; the rollback the dropped transaction then queues fails ("no transaction is active")
/// and the driver keeps counting a transaction that no longer exists, so every later BEGIN on
/// that connection would fail, long after the disk has room again. Such a connection is
/// closed instead (the pool opens a fresh one).
async fn still_usable(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A round trip: the worker runs the queued rollback first.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

impl Db {
    /// Connects to `sqlite:...` or `postgres://...`. SQLite runs in WAL mode with
    /// `synchronous=FULL`, so a committed log entry survives a power cut, and creates the file
    /// if it is missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        Self::connect_with(url, max_connections, Duration::from_secs(5)).await
    }

    /// Like [`Db::connect`]; on PostgreSQL a request waits at most `acquire_timeout` for a
    /// pooled connection (an unreachable server then fails fast instead of hanging).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                // A local file cannot drop a connection the way a network can; the ping before
                // every acquire was a round trip to the connection's thread per query.
                .test_before_acquire(false)
                .after_release(|conn, _| Box::pin(async move { still_usable(conn).await }))
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else {
            let opts = PgConnectOptions::from_str(url)?;
            // One connection first, so an unreachable server or a refused login is reported
            // with its cause and the server's address, not as the pool's "timed out".
            let first = tokio::time::timeout(acquire_timeout.max(Duration::from_secs(1)), {
                use sqlx::ConnectOptions;
                opts.connect()
            })
            .await;
            let target = format!(
                "PostgreSQL at {}:{} (database {}, user {})",
                opts.get_host(),
                opts.get_port(),
                opts.get_database().unwrap_or("(default)"),
                opts.get_username()
            );
            match first {
                Ok(Ok(conn)) => {
                    use sqlx::Connection;
                    let _ = conn.close().await;
                }
                Ok(Err(e)) => return Err(StoreError::Unavailable(format!("{target}: {e}"))),
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "{target}: no connection within {} ms",
                        acquire_timeout.as_millis()
                    )))
                }
            }
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    /// Like [`Db::connect`], for commands that read a database that must already exist
    /// (`log verify`, `log export`): a SQLite file that is not there is an error naming it, not
    /// a new empty database.
    pub async fn open_existing(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            let path = opts.get_filename();
            if path != std::path::Path::new(":memory:") && !path.exists() {
                return Err(StoreError::Unavailable(format!(
                    "no SQLite database at {} (database.url, or --database); nothing was created",
                    path.display()
                )));
            }
        }
        Self::connect(url, max_connections).await
    }

    /// Connections in the pool and how many of them are idle (for the metrics).
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p) => (p.size(), p.num_idle()),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations for this backend (migrations/sqlite or migrations/postgres).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// a step that reads its preconditions and then writes cannot lose its snapshot to
    /// another writer halfway (SQLITE_BUSY_SNAPSHOT); the busy timeout queues it instead.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}
