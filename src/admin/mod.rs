//! Convenant administration: policy bundles proposed by one administrator become active only
//! after a second, different administrator approves them (four-eyes); activation swaps the
//! prepared engine atomically; any earlier approved revision can be reactivated (rollback).
//! The partner registry is administered the same way ([`registry`]).

pub mod client;
pub mod impact;
pub mod registry;
pub mod registry_impact;
pub mod registry_store;
pub mod store;

use std::sync::Arc;

use crate::gateway::{Caller, Gateway, GatewayError};
use crate::policy::bundle::{prepare_engine, validate_bundle, Bundle, ValidationProblem};
use crate::policy::signing::{BundleVerifier, SignatureError};
use crate::policy::{PolicyEngine, PolicyError};
use crate::store::StoreError;
pub use store::BundleRecord;

/// Why an administrative request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the bundle is not valid ({} problem(s))", .0.len())]
    Invalid(Vec<ValidationProblem>),
    #[error("{0}")]
    Bundle(String),
    #[error("bundle signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("no bundle with revision {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the registry change is not valid ({} problem(s))", .0.len())]
    InvalidChange(Vec<registry::ChangeProblem>),
    #[error("no registry change {0}")]
    NoSuchChange(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who acted: the organisation and the employee, as recorded with every decision.
fn actor(caller: &Caller) -> String {
    format!("{}:{}", caller.partner.oin, caller.token.claims.sub)
}

/// How much of the validation [`prepare`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// A new proposal: compile, the bundle's own tests, decision shape, safety properties.
    Full,
    /// A stored bundle, which passed [`Check::Full`] when it was proposed: its revision (the
    /// content hash) must still match and it must compile. Its tests and probes are
    /// deterministic on the same content, so activation, rollback, start-up and following
    /// another instance do not run them again: activation costs a compile, not a test run.
    Stored,
}

/// Reads and checks a bundle: its signature (when signed, or when signatures are required),
/// then the manifest's revision, which must be the content hash, then the policies as far as
/// `check` says. The signature is verified every time, with this instance's keys.
fn prepare(
    bytes: &[u8],
    verifier: &BundleVerifier,
    check: Check,
) -> Result<(String, Arc<dyn PolicyEngine>), AdminError> {
    let bundle = Bundle::from_tar_gz(bytes).map_err(|e| AdminError::Bundle(e.to_string()))?;
    let revision = bundle.revision();
    match bundle.verify_signature(verifier) {
        // A stored unsigned bundle of this instance's own policy directory (the starting
        // policy): as trusted as the directory it loads at start-up anyway.
        Err(SignatureError::Unsigned) if check == Check::Stored && verifier.is_local(&revision) => {
        }
        verified => {
            verified?;
        }
    }
    if bundle.manifest.revision != revision {
        return Err(AdminError::Bundle(format!(
            ".manifest revision {} is not the content hash {revision} (build bundles with `vhgate policy build`)",
            bundle.manifest.revision
        )));
    }
    let engine = match check {
        Check::Full => {
            let validated = validate_bundle(&bundle).map_err(AdminError::Invalid)?;
            for note in &validated.notes {
                tracing::warn!(%revision, "bundle validation: {note}");
            }
            validated.engine
        }
        Check::Stored => prepare_engine(&bundle)?,
    };
    Ok((revision, engine))
}

/// [`prepare`] off the async workers: compiling takes tens of milliseconds, and a proposal also
/// runs the bundle's tests (seconds of CPU); neither may stall request handling.
async fn prepare_blocking(
    bytes: Vec<u8>,
    verifier: Arc<BundleVerifier>,
    check: Check,
) -> Result<(String, Arc<dyn PolicyEngine>), AdminError> {
    tokio::task::spawn_blocking(move || prepare(&bytes, &verifier, check))
        .await
        .map_err(|e| AdminError::Bundle(format!("validation task failed: {e}")))?
}

/// Proposes a bundle (validated first; nothing changes until another administrator approves).
pub async fn propose(
    gateway: &Gateway,
    caller: &Caller,
    bytes: &[u8],
) -> Result<BundleRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let (revision, _) =
        prepare_blocking(bytes.to_vec(), gateway.bundle_verifier(), Check::Full).await?;
    let db = gateway.record.db();
    if !store::propose(db, &revision, bytes, &actor(caller)).await? {
        return Err(AdminError::Conflict(format!(
            "revision {revision} was proposed before"
        )));
    }
    store::get(db, &revision)
        .await?
        .ok_or(AdminError::NotFound(revision))
}

/// Approves a proposal and activates it: a different administrator than the proposer.
pub async fn approve(
    gateway: &Gateway,
    caller: &Caller,
    revision: &str,
) -> Result<BundleRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let db = gateway.record.db();
    let record = store::get(db, revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(revision.into()))?;
    if record.status != "proposed" {
        return Err(AdminError::Conflict(format!(
            "revision {revision} is {}, not proposed",
            record.status
        )));
    }
    if record.proposed_by == actor(caller) {
        let refusal = "four-eyes: the proposer cannot approve their own proposal";
        return Err(gateway
            .refuse(caller, crate::policy::Action::Administer, refusal)
            .await
            .into());
    }
    activate_bundle(gateway, caller, &record, &["proposed"], None).await
}

/// Rejects a proposal, with a reason.
pub async fn reject(
    gateway: &Gateway,
    caller: &Caller,
    revision: &str,
    reason: &str,
) -> Result<BundleRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    if reason.trim().is_empty() {
        return Err(AdminError::Bundle("a rejection needs a reason".into()));
    }
    let db = gateway.record.db();
    // A rejection changes no rule and discloses nothing: one statement, no log entry.
    let mut tx = gateway.begin().await?;
    if !store::decide(
        &mut tx,
        revision,
        &["proposed"],
        "rejected",
        &actor(caller),
        Some(reason.trim()),
    )
    .await?
    {
        tx.rollback().await?;
        // As approval does: an unknown revision is not found, a decided one a conflict.
        if store::get(db, revision).await?.is_none() {
            return Err(AdminError::NotFound(revision.into()));
        }
        return Err(AdminError::Conflict(format!(
            "revision {revision} is not a pending proposal"
        )));
    }
    tx.commit().await?;
    store::get(db, revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(revision.into()))
}

/// Reactivates an earlier approved revision (rollback): it was approved under four-eyes before.
pub async fn reactivate(
    gateway: &Gateway,
    caller: &Caller,
    revision: &str,
) -> Result<BundleRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let record = store::get(gateway.record.db(), revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(revision.into()))?;
    if record.status != "retired" {
        return Err(AdminError::Conflict(format!(
            "only a retired (earlier active) revision can be reactivated; {revision} is {}",
            record.status
        )));
    }
    activate_bundle(gateway, caller, &record, &["retired"], Some("rollback")).await
}

async fn activate_bundle(
    gateway: &Gateway,
    caller: &Caller,
    record: &BundleRecord,
    from: &[&str],
    reason: Option<&str>,
) -> Result<BundleRecord, AdminError> {
    // Prepared (signature verified again) before the status changes, so a failure leaves
    // everything as it was.
    let (_, engine) = prepare_blocking(
        record.bundle.clone(),
        gateway.bundle_verifier(),
        Check::Stored,
    )
    .await?;
    let db = gateway.record.db();
    let entry = gateway.policy_change_entry(
        caller,
        &record.revision,
        vec![format!(
            "activated revision {} ({}); proposed by {}, activated by {}",
            record.revision,
            reason.unwrap_or("four-eyes approval"),
            record.proposed_by,
            actor(caller)
        )],
    );
    // One unit of work: the activation and its entry commit together; the engine is swapped
    // in only after both are durable.
    let mut tx = gateway.begin().await?;
    if !store::decide(
        &mut tx,
        &record.revision,
        from,
        "active",
        &actor(caller),
        reason,
    )
    .await?
    {
        tx.rollback().await?;
        return Err(AdminError::Conflict(format!(
            "revision {} was decided by someone else meanwhile",
            record.revision
        )));
    }
    gateway.commit_in(tx, entry).await?;
    gateway.set_policy(engine);
    tracing::info!(revision = %record.revision, by = %actor(caller), "policy bundle activated");
    store::get(db, &record.revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(record.revision.clone()))
}

/// The engine of the bundle activated in the database, if any (it wins over the policy
/// directory, so a restart keeps what administrators approved).
pub async fn active_engine(
    db: &crate::store::Db,
    verifier: Arc<BundleVerifier>,
) -> Result<Option<Arc<dyn PolicyEngine>>, AdminError> {
    match store::active(db).await? {
        Some(record) => Ok(Some(
            prepare_blocking(record.bundle, verifier, Check::Stored)
                .await?
                .1,
        )),
        None => Ok(None),
    }
}

/// What became of the starting policy at start-up ([`record_starting_policy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartingPolicy {
    /// Recorded as the active bundle of this revision (with its `policy_change` log entry).
    Recorded(String),
    /// Another instance recorded its starting policy first (or an administrator activated a
    /// bundle meanwhile): that active bundle, of this revision, is in force instead.
    Superseded(String),
    /// Not recorded: its revision is in the history already, as a proposal that is not active
    /// (pending or rejected). The policy directory stays in force, as before.
    InHistory(String),
}

/// Records the policy the gateway starts with (the policy directory, its engine in force now)
/// as an ordinary active bundle when no bundle is active, so that a later rollback to it is
/// possible (`vhgate policy activate REV`). One unit of work: the insert re-checks that no
/// bundle is active and commits together with its `policy_change` log entry, before the
/// gateway answers anything. Another instance that started at the same moment cannot insert a
/// second one; this instance then runs that instance's bundle.
pub async fn record_starting_policy(
    gateway: &Gateway,
    dir: &std::path::Path,
) -> Result<StartingPolicy, AdminError> {
    let revision = gateway.policy().revision().to_string();
    let bytes = Bundle::build(dir)?;
    let built = Bundle::from_tar_gz(&bytes)?.revision();
    if built != revision {
        return Err(AdminError::Bundle(format!(
            "policy.dir {} changed while the gateway started (revision {revision}, now {built})",
            dir.display()
        )));
    }
    let mut entry = gateway.base_entry(
        crate::disclosure::Event::PolicyChange,
        crate::disclosure::RequesterRecord {
            sub: Some("vhgate-start".into()),
            ..Default::default()
        },
        None,
    );
    entry.outcome = crate::policy::Outcome::Allowed;
    entry.status = 200;
    entry.policy_revision = revision.clone();
    let reason = "starting policy: the policy directory at the first start, recorded so a \
                  rollback to it is possible";
    entry.reasons = vec![format!(
        "activated revision {revision} ({reason}; no bundle was active)"
    )];
    let mut tx = gateway.begin().await?;
    if store::record_starting(&mut tx, &revision, &bytes, reason).await? {
        gateway.commit_in(tx, entry).await?;
        tracing::info!(%revision, "starting policy recorded as the active bundle");
        return Ok(StartingPolicy::Recorded(revision));
    }
    tx.rollback().await?;
    match active_engine(gateway.record.db(), gateway.bundle_verifier()).await? {
        Some(engine) => {
            let active = engine.revision().to_string();
            gateway.set_policy(engine);
            tracing::info!(revision = %active, "another instance recorded the starting policy first; running its active bundle");
            Ok(StartingPolicy::Superseded(active))
        }
        None => {
            tracing::warn!(%revision, "the starting policy is not recorded: its revision is in the bundle history, but not active");
            Ok(StartingPolicy::InHistory(revision))
        }
    }
}

/// Follows activations and registry changes made on other instances: every `interval`, loads
/// the partner registry if its version moved, and asks for the active policy revision (a
/// one-column read), loading the bundle only when it differs from the engine in force.
/// Failures are logged and retried.
pub async fn follow_active(gateway: Arc<Gateway>, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        registry::follow_once(&gateway).await;
        let db = gateway.record.db();
        let changed = match store::active_revision(db).await {
            Ok(Some(revision)) => revision != gateway.policy().revision(),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the active policy revision");
                false
            }
        };
        if !changed {
            continue;
        }
        match store::active(db).await {
            Ok(Some(record)) if record.revision != gateway.policy().revision() => {
                match prepare_blocking(record.bundle, gateway.bundle_verifier(), Check::Stored)
                    .await
                {
                    Ok((_, engine)) => {
                        gateway.set_policy(engine);
                        tracing::info!(revision = %record.revision, "followed a policy activation");
                    }
                    Err(e) => {
                        tracing::error!(revision = %record.revision, error = %e, "cannot load the active bundle")
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the active policy revision"),
        }
    }
}

/// Impact preview: replays recorded decisions of a window against the bundle `revision`
/// (any status: a proposal, or an earlier revision before a rollback) and reports what would
/// change. Nothing is activated and no person data is in the report.
pub async fn impact(
    gateway: &Gateway,
    caller: &Caller,
    revision: &str,
    query: impact::ImpactQuery,
) -> Result<impact::ImpactReport, AdminError> {
    gateway.require_administrator(caller).await?;
    let record = store::get(gateway.record.db(), revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(revision.into()))?;
    let recorded = recorded_decisions(gateway, &query).await?;
    let (_, candidate) =
        prepare_blocking(record.bundle, gateway.bundle_verifier(), Check::Stored).await?;
    let baseline = match query.baseline.unwrap_or_default() {
        impact::Baseline::Recorded => None,
        impact::Baseline::Active => Some(gateway.policy()),
    };
    replay_blocking(recorded, candidate, baseline).await
}

/// The decisions an impact preview replays: the query's window resolved (default: the last
/// seven days), newest first, at most [`impact::MAX_REPLAY`].
pub(crate) struct Recorded {
    entries: Vec<crate::disclosure::LogEntry>,
    window: impact::ImpactWindow,
    /// The window held more than were read.
    truncated: bool,
}

/// Reads the decisions of the query's window from the log.
pub(crate) async fn recorded_decisions(
    gateway: &Gateway,
    query: &impact::ImpactQuery,
) -> Result<Recorded, AdminError> {
    let now = crate::record::now();
    let window = impact::ImpactWindow {
        since: match (query.since, query.last) {
            (Some(since), _) => Some(since),
            (None, Some(_)) => None,
            (None, None) => Some(now - chrono::Duration::days(impact::DEFAULT_WINDOW_DAYS)),
        },
        until: query.until,
        last: query.last,
    };
    if let (Some(since), Some(until)) = (window.since, window.until) {
        if since >= until {
            return Err(AdminError::BadRequest("since must lie before until".into()));
        }
    }
    let cap = query
        .last
        .unwrap_or(impact::MAX_REPLAY)
        .clamp(1, impact::MAX_REPLAY);
    // One more than the cap tells whether the window held more.
    let rows = crate::disclosure::store::decisions(
        gateway.record.db(),
        window.since,
        window.until,
        i64::from(cap) + 1,
    )
    .await?;
    let truncated = query.last.is_none() && rows.len() > cap as usize;
    let mut entries = Vec::with_capacity(rows.len().min(cap as usize));
    for row in rows.into_iter().take(cap as usize) {
        let entry: crate::disclosure::LogEntry = serde_json::from_str(&row.entry)
            .map_err(|e| StoreError::Corrupt(format!("log entry {}: {e}", row.seq)))?;
        entries.push(entry);
    }
    Ok(Recorded {
        entries,
        window,
        truncated,
    })
}

/// [`impact::replay`] off the async workers: replaying is policy evaluation (about a
/// millisecond a decision).
pub(crate) async fn replay_blocking<C: impact::Candidate + Send + Sync + ?Sized + 'static>(
    recorded: Recorded,
    candidate: Arc<C>,
    baseline: Option<Arc<dyn PolicyEngine>>,
) -> Result<impact::ImpactReport, AdminError> {
    tokio::task::spawn_blocking(move || {
        impact::replay(
            &recorded.entries,
            candidate.as_ref(),
            baseline.as_deref(),
            recorded.window,
            recorded.truncated,
        )
    })
    .await
    .map_err(|e| AdminError::Bundle(format!("impact task failed: {e}")))
}

/// All bundles with their decisions.
pub async fn history(gateway: &Gateway, caller: &Caller) -> Result<Vec<BundleRecord>, AdminError> {
    gateway.require_administrator(caller).await?;
    Ok(store::history(gateway.record.db()).await?)
}

impl From<PolicyError> for AdminError {
    fn from(e: PolicyError) -> Self {
        AdminError::Bundle(e.to_string())
    }
}
