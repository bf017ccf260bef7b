//! Wiring: from a validated [`Config`] to a running gateway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::{TokenVerifier, VerifierSettings};
use crate::config::Config;
use crate::crypto::{read_key_file, CryptoError, Pseudonymizer, RecordCipher};
use crate::disclosure::checkpoint::{ensure_signer_key_file, read_signer_key_file, NoteError};
use crate::disclosure::writer::WriterConfig;
use crate::disclosure::{store as log_store, LogSigner, LogWriter};
use crate::gateway::Gateway;
use crate::policy::{PolicyError, PolicySources, RegorusEngine};
use crate::record::CaseRecord;
use crate::store::{Db, StoreError};
use crate::tls::TlsError;

/// Start-up failures, each naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("log signing key: {0}")]
    LogKey(#[from] NoteError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Loads and prepares the policies in a directory.
pub fn load_policy(dir: &std::path::Path) -> Result<RegorusEngine, PolicyError> {
    let sources = PolicySources::read_dir(dir, false)?;
    // The starting policy becomes a bundle without a proposal's checks; a grant on an empty or
    // unregistered legal ground is refused here as a proposal would be (the policies would
    // withhold such a category anyway).
    let problems = crate::policy::grounds::problems(&sources.convenant_json());
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect();
        return Err(PolicyError::Convenant(format!(
            "{}: {}",
            dir.display(),
            listed.join("; ")
        )));
    }
    RegorusEngine::prepare(&sources)
}

/// Opens the case record with the configured keys.
pub fn open_record(config: &Config, db: Db) -> Result<CaseRecord, AppError> {
    let pseudonym_key = read_key_file(&config.secrets.pseudonym_key_file)?;
    let record_key = read_key_file(&config.secrets.record_key_file)?;
    let mut pseudonymizer =
        Pseudonymizer::new(&pseudonym_key, config.secrets.pseudonym_key_version);
    for previous in &config.secrets.previous_pseudonym_keys {
        pseudonymizer =
            pseudonymizer.with_previous(&read_key_file(&previous.file)?, previous.version);
    }
    Ok(CaseRecord::new(
        db,
        RecordCipher::new(&record_key)?,
        pseudonymizer,
    ))
}

/// A gateway ready to serve.
pub struct App {
    pub gateway: Arc<Gateway>,
    pub config: Config,
    tls: Arc<rustls::ServerConfig>,
}

impl App {
    /// Connects, migrates, loads secrets, policies and the partner registry, starts the log writer.
    pub async fn build(config: Config) -> Result<App, AppError> {
        config.validate()?;
        // Before anything takes metric handles (the log writer, the token cache).
        crate::telemetry::install();
        let tls = crate::tls::server_config(&config.tls)?;
        let policy: Arc<dyn crate::policy::PolicyEngine> =
            Arc::new(load_policy(&config.policy.dir)?);
        let bundle_verifier = Arc::new(
            crate::policy::signing::BundleVerifier::from_config(&config.policy.signing)
                .map_err(|e| AppError::Policy(PolicyError::Bundle(format!("policy.signing: {e}"))))?
                .with_local_revision(policy.revision()),
        );
        let db = Db::connect_with(
            &config.database.url,
            config.database.max_connections,
            Duration::from_millis(config.database.acquire_timeout_ms),
        )
        .await?;
        db.migrate().await?;
        // The active bundle of the history wins over the policy directory (its signature is
        // checked again with the keys configured now): after the first start, the directory
        // changes nothing; new rules go through bundles and four-eyes. With no bundle active
        // (a first start), the directory is in force and is recorded as the active bundle once
        // the gateway can log that (below).
        let (policy, no_active_bundle) = match crate::admin::active_engine(
            &db,
            bundle_verifier.clone(),
        )
        .await
        {
            Ok(Some(active)) => {
                if active.revision() != policy.revision() {
                    tracing::warn!(
                        active_revision = %active.revision(),
                        policy_dir_revision = %policy.revision(),
                        "policy.dir differs from the active bundle, which stays in force; propose the directory as a bundle (vhgate policy build, push) to change the rules"
                    );
                }
                (active, false)
            }
            Ok(None) => (policy, true),
            Err(e) => {
                return Err(AppError::Policy(PolicyError::Bundle(format!(
                    "the active policy bundle: {e}"
                ))))
            }
        };
        let record = open_record(&config, db.clone())?;
        let (registry, problems) = crate::registry::load(&record).await?;
        for p in problems {
            tracing::warn!(kid = %p.kid, problem = %p.message, "partner key not loaded");
        }
        if ensure_signer_key_file(&config.secrets.log_signing_key_file)? {
            tracing::warn!(
                path = %config.secrets.log_signing_key_file.display(),
                "created a new checkpoint signing key: give its verifier key (vhgate log key) to the witnesses and auditors"
            );
        }
        let signer = Arc::new(LogSigner::new(
            config.log.origin.clone(),
            read_signer_key_file(&config.secrets.log_signing_key_file, &config.log.origin)?,
        ));
        log_store::ensure_first_checkpoint(&db, &signer).await?;
        let log_key =
            crate::disclosure::checkpoint::NoteVerifier::from_vkey(&signer.verifier_key())?;
        let budget = crate::budget::BudgetCounter::spawn(db.clone(), config.commit_timeout());
        let (writer, _task) = LogWriter::spawn(
            db,
            WriterConfig {
                batch_max: config.log.batch_max,
                batch_wait: Duration::from_micros(config.log.batch_wait_us),
                commit_timeout: config.commit_timeout(),
                sweep_every: Duration::from_millis(config.log.outbox_sweep_ms),
            },
            signer,
        );
        let verifier = TokenVerifier::new(VerifierSettings {
            audience: config.auth.audience.clone(),
            leeway_secs: config.auth.leeway_secs,
            max_lifetime_secs: config.auth.max_token_lifetime_secs,
            cache_entries: config.auth.token_cache_entries,
        });
        tracing::info!(partners = registry.len(), policy_revision = %policy.revision(), "gateway prepared");
        let gateway = Arc::new(
            Gateway::new(record, policy, registry, writer, verifier)
                .with_embargo_reporting(config.log.report_embargo_existence)
                .with_bundle_verifier(bundle_verifier)
                .with_signals_min_cell(config.signals.min_cell)
                .with_spoed_review_within(config.spoed.review_within_hours)
                .with_log_key(log_key)
                .with_budget_counter(budget)
                .with_pdf_printer(&config.console.chromium)
                .with_signal_thresholds(config.console.thresholds())
                .with_monitoring_oins(config.metrics.monitoring_oins.clone()),
        );
        if no_active_bundle {
            crate::admin::record_starting_policy(&gateway, &config.policy.dir)
                .await
                .map_err(|e| {
                    AppError::Policy(PolicyError::Bundle(format!(
                        "recording the starting policy: {e}"
                    )))
                })?;
        }
        Ok(App {
            gateway,
            config,
            tls,
        })
    }

    /// Binds the listen address and serves in the background.
    pub async fn start(self) -> Result<RunningServer, AppError> {
        let addr = self.config.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| AppError::Listen { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| AppError::Listen { addr, source })?;
        let (tx, rx) = oneshot::channel::<()>();
        let router = crate::api::service(
            self.gateway.clone(),
            Duration::from_millis(self.config.server.request_timeout_ms),
        );
        let handle = tokio::spawn(crate::server::serve(
            listener,
            self.tls,
            router,
            crate::server::ConnectionLimits {
                max_connections: self.config.server.max_connections,
                max_handshakes_per_ip: self.config.server.max_handshakes_per_ip,
                header_read_timeout: Duration::from_millis(
                    self.config.server.header_read_timeout_ms,
                ),
            },
            Duration::from_secs(self.config.server.shutdown_grace_secs),
            async {
                let _ = rx.await;
            },
        ));
        tracing::info!(addr = %local, "vhgate listening (mutual TLS)");
        let pusher = (!self.config.log.witnesses.is_empty()).then(|| {
            tokio::spawn(crate::witness::push_checkpoints(
                self.gateway.record.db().clone(),
                self.config.log.witnesses.clone(),
                Duration::from_secs(self.config.log.witness_interval_secs),
            ))
        });
        let follower = tokio::spawn(crate::admin::follow_active(
            self.gateway.clone(),
            Duration::from_secs(self.config.policy.sync_interval_secs),
        ));
        // Destroys closed cases' person data once their retention has ended.
        let retention = tokio::spawn(crate::casework::retention_job(
            self.gateway.clone(),
            Duration::from_secs(3600),
        ));
        // Signals spoed (break-glass) reviews that passed their due time.
        let spoed_overdue = tokio::spawn(crate::spoed::overdue_job(
            self.gateway.clone(),
            Duration::from_secs(self.config.spoed.check_interval_secs),
        ));
        // Histogram samples wait in lock-free buckets until upkeep (or a scrape) folds them in;
        // without a scraper they must not grow without bound.
        let metrics_upkeep = tokio::spawn(async {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                crate::telemetry::run_upkeep();
            }
        });
        Ok(RunningServer {
            metrics_upkeep,
            pusher,
            follower,
            retention,
            spoed_overdue,
            addr: local,
            gateway: self.gateway,
            shutdown: Some(tx),
            handle,
        })
    }
}

/// A gateway serving in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
    /// Pushes checkpoints to the configured witnesses (if any).
    pusher: Option<tokio::task::JoinHandle<()>>,
    /// Follows policy activations made on other instances.
    follower: tokio::task::JoinHandle<()>,
    /// Destroys case data after retention (hourly).
    retention: tokio::task::JoinHandle<()>,
    /// Signals overdue spoed reviews.
    spoed_overdue: tokio::task::JoinHandle<()>,
    /// Folds recorded histogram samples into their buckets.
    metrics_upkeep: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.handle).await;
        if let Some(pusher) = self.pusher.take() {
            pusher.abort();
        }
        self.follower.abort();
        self.retention.abort();
        self.spoed_overdue.abort();
        self.metrics_upkeep.abort();
    }

    /// Serves until ctrl-c / SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
