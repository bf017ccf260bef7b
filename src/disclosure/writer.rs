//! Group commit for the disclosure log. Requests hand their entry to one writer task; it
//! appends whatever has queued up (up to `batch_max` entries, waiting at most `batch_wait` for
//! more after the first) in one transaction, so many requests share one fsync. Each request is
//! released only after the COMMIT that holds its entry; any error or timeout fails closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

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

/// What a request hands the writer: its entry, or the id of its entry in the outbox.
enum Job {
    /// Boxed: an entry is large and most jobs are outbox ids.
    Direct(Box<NewEntry>),
    Outboxed(Uuid),
    /// Move what waits in the outbox now; answered with how many entries the batch appended.
    Sweep,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct LogWriter {
    tx: mpsc::Sender<(Job, Reply)>,
    timeout: Duration,
}

/// Group-commit settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    pub batch_max: usize,
    pub batch_wait: Duration,
    pub commit_timeout: Duration,
    /// How often the writer, when idle, moves outbox entries nobody waits for (a step whose
    /// process died after its commit, or whose wait timed out) into the chain. It also does so
    /// once at start.
    pub sweep_every: Duration,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Direct(e) => write!(f, "Direct({})", e.id),
            Job::Outboxed(id) => write!(f, "Outboxed({id})"),
            Job::Sweep => write!(f, "Sweep"),
        }
    }
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
        let metrics = crate::telemetry::WriterMetrics::register();
        let handle = tokio::spawn(run(db, rx, config, signer, metrics));
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
        self.submit(Job::Direct(Box::new(entry))).await
    }

    /// Moves the entry with this id from the outbox (where its step's transaction put it) into
    /// the chain and waits for that commit. Returns the entry's sequence number. On an error
    /// the entry stays in the outbox and a later sweep appends it.
    pub async fn append_outboxed(&self, id: Uuid) -> Result<i64, LogError> {
        self.submit(Job::Outboxed(id)).await
    }

    /// Sweeps the outbox now (as the writer does at start and every `sweep_every`) and waits
    /// for that commit. Returns how many entries the sweep's batch appended.
    pub async fn sweep(&self) -> Result<i64, LogError> {
        self.submit(Job::Sweep).await
    }

    async fn submit(&self, job: Job) -> Result<i64, LogError> {
        let (reply, wait) = oneshot::channel();
        let work = async {
            self.tx
                .send((job, reply))
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
    mut rx: mpsc::Receiver<(Job, Reply)>,
    config: WriterConfig,
    signer: Arc<LogSigner>,
    metrics: crate::telemetry::WriterMetrics,
) {
    let mut batch: Vec<(Job, Reply)> = Vec::with_capacity(config.batch_max);
    // The first tick fires at once: entries a crashed process left behind go first.
    let mut sweep = tokio::time::interval(config.sweep_every.max(Duration::from_millis(10)));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => Some(item),
                None => break,
            },
            _ = sweep.tick() => None,
        };
        let sweeping = first.is_none();
        metrics.queue_depth.set(rx.len() as f64);
        if let Some(first) = first {
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
        }
        let mut work = store::Batch {
            sweep: sweeping,
            ..Default::default()
        };
        let mut replies = Vec::with_capacity(batch.len());
        for (job, reply) in batch.drain(..) {
            let id = match job {
                Job::Direct(entry) => {
                    let id = entry.id;
                    work.direct.push(*entry);
                    Some(id)
                }
                Job::Outboxed(id) => {
                    work.outboxed.push(id);
                    Some(id)
                }
                Job::Sweep => {
                    work.sweep = true;
                    None
                }
            };
            replies.push((id, reply));
        }
        if !replies.is_empty() {
            metrics.batch_size.record(replies.len() as f64);
        }
        let started = std::time::Instant::now();
        let appended = store::append_batch(&db, &work, &signer).await;
        metrics
            .commit_seconds
            .record(started.elapsed().as_secs_f64());
        match appended {
            Ok(appended) => {
                if work.sweep && appended.appended > work.direct.len() + work.outboxed.len() {
                    tracing::warn!(
                        entries = appended.appended,
                        "appended log entries left in the outbox (a step committed but its process or wait ended first)"
                    );
                }
                for (id, reply) in replies {
                    let answer =
                        match id {
                            Some(id) => appended.seqs.get(&id).copied().ok_or_else(|| {
                                LogError::Write(format!("entry {id} was not appended"))
                            }),
                            None => Ok(appended.appended as i64),
                        };
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                metrics.failures.increment(1);
                tracing::error!(error = %e, entries = replies.len(), "disclosure log append failed");
                let err = LogError::Write(e.to_string());
                for (_, reply) in replies {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
