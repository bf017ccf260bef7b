//! Group commit for the disclosure log. Requests hand their entry to one writer task; it
//! appends whatever has queued up (up to `batch_max` entries, waiting at most `batch_wait` for
//! more after the first) in one transaction, so many requests share one fsync. Each request is
//! released only after the COMMIT that holds its entry; any error or timeout fails closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{store, LogSigner, NewEntry};
use crate::store::Db;

/// Why an entry could not be made durable. The caller must not disclose anything.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error("the disclosure log could not be written: {0}")]
    Write(String),
    #[error("the disclosure log did not commit in time")]
    Timeout,
    #[error("the disclosure log writer has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<i64, LogError>>;

/// Handle to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct LogWriter {
    tx: mpsc::Sender<(NewEntry, Reply)>,
    timeout: Duration,
}

/// Group-commit settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    pub batch_max: usize,
    pub batch_wait: Duration,
    pub commit_timeout: Duration,
}

impl LogWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(
        db: Db,
        config: WriterConfig,
        signer: Arc<LogSigner>,
    ) -> (LogWriter, tokio::task::JoinHandle<()>) {
        // Bounded so a stalled database pushes back on requests instead of growing memory.
        let (tx, rx) = mpsc::channel(config.batch_max.saturating_mul(16).max(1024));
        let handle = tokio::spawn(run(db, rx, config, signer));
        (
            LogWriter {
                tx,
                timeout: config.commit_timeout,
            },
            handle,
        )
    }

    /// Appends one entry and waits for its commit. Returns the entry's sequence number.
    pub async fn append(&self, entry: NewEntry) -> Result<i64, LogError> {
        let (reply, wait) = oneshot::channel();
        let work = async {
            self.tx
                .send((entry, reply))
                .await
                .map_err(|_| LogError::Stopped)?;
            wait.await.map_err(|_| LogError::Stopped)?
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| LogError::Timeout)?
    }
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<(NewEntry, Reply)>,
    config: WriterConfig,
    signer: Arc<LogSigner>,
) {
    let mut batch: Vec<(NewEntry, Reply)> = Vec::with_capacity(config.batch_max);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + config.batch_wait;
        while batch.len() < config.batch_max {
            // Take what is already queued without waiting, then wait briefly for stragglers.
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(item)) => batch.push(item),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        let entries: Vec<NewEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
        let result = store::append_batch(&db, &entries, &signer).await;
        match result {
            Ok(appended) => {
                for ((_, reply), seq) in batch.drain(..).zip(appended.seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = batch.len(), "disclosure log append failed");
                let err = LogError::Write(e.to_string());
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
