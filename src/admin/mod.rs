//! Convenant administration: policy bundles proposed by one administrator become active only
//! after a second, different administrator approves them (four-eyes); activation swaps the
//! prepared engine atomically; any earlier approved revision can be reactivated (rollback).

pub mod store;

use std::sync::Arc;

use crate::gateway::{Caller, Gateway, GatewayError};
use crate::policy::bundle::{validate_bundle, Bundle, ValidationProblem};
use crate::policy::{PolicyEngine, PolicyError};
use crate::store::StoreError;
pub use store::BundleRecord;

/// Why an administrative request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Forbidden(String),
    #[error("the bundle is not valid ({} problem(s))", .0.len())]
    Invalid(Vec<ValidationProblem>),
    #[error("{0}")]
    Bundle(String),
    #[error("no bundle with revision {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who acted: the organisation and the employee, as recorded with every decision.
fn actor(caller: &Caller) -> String {
    format!("{}:{}", caller.partner.oin, caller.token.claims.sub)
}

/// Reads and validates a bundle; the manifest's revision must be the content hash.
fn prepare(bytes: &[u8]) -> Result<(String, Arc<dyn PolicyEngine>), AdminError> {
    let bundle = Bundle::from_tar_gz(bytes).map_err(|e| AdminError::Bundle(e.to_string()))?;
    let revision = bundle.revision();
    if bundle.manifest.revision != revision {
        return Err(AdminError::Bundle(format!(
            ".manifest revision {} is not the content hash {revision} (build bundles with `vhgate policy build`)",
            bundle.manifest.revision
        )));
    }
    let validated = validate_bundle(&bundle).map_err(AdminError::Invalid)?;
    for note in &validated.notes {
        tracing::warn!(%revision, "bundle validation: {note}");
    }
    Ok((revision, validated.engine))
}

/// [`prepare`] off the async workers: validation compiles and runs the bundle's tests (about
/// a second of CPU), which must not stall request handling.
async fn prepare_blocking(bytes: Vec<u8>) -> Result<(String, Arc<dyn PolicyEngine>), AdminError> {
    tokio::task::spawn_blocking(move || prepare(&bytes))
        .await
        .map_err(|e| AdminError::Bundle(format!("validation task failed: {e}")))?
}

/// Proposes a bundle (validated first; nothing changes until another administrator approves).
pub async fn propose(
    gateway: &Gateway,
    caller: &Caller,
    bytes: &[u8],
) -> Result<BundleRecord, AdminError> {
    gateway.require_administrator(caller)?;
    let (revision, _) = prepare_blocking(bytes.to_vec()).await?;
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
    gateway.require_administrator(caller)?;
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
        return Err(AdminError::Forbidden(
            "four-eyes: the proposer cannot approve their own proposal".into(),
        ));
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
    gateway.require_administrator(caller)?;
    if reason.trim().is_empty() {
        return Err(AdminError::Bundle("a rejection needs a reason".into()));
    }
    let db = gateway.record.db();
    if !store::decide(
        db,
        revision,
        &["proposed"],
        "rejected",
        &actor(caller),
        Some(reason.trim()),
    )
    .await?
    {
        return Err(AdminError::Conflict(format!(
            "revision {revision} is not a pending proposal"
        )));
    }
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
    gateway.require_administrator(caller)?;
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
    // Prepared before the status changes, so a failure leaves everything as it was.
    let (_, engine) = prepare_blocking(record.bundle.clone()).await?;
    let db = gateway.record.db();
    if !store::decide(db, &record.revision, from, "active", &actor(caller), reason).await? {
        return Err(AdminError::Conflict(format!(
            "revision {} was decided by someone else meanwhile",
            record.revision
        )));
    }
    gateway.set_policy(engine);
    gateway
        .log_policy_change(
            caller,
            &record.revision,
            vec![format!(
                "activated revision {} ({}); proposed by {}, activated by {}",
                record.revision,
                reason.unwrap_or("four-eyes approval"),
                record.proposed_by,
                actor(caller)
            )],
        )
        .await?;
    tracing::info!(revision = %record.revision, by = %actor(caller), "policy bundle activated");
    store::get(db, &record.revision)
        .await?
        .ok_or_else(|| AdminError::NotFound(record.revision.clone()))
}

/// The engine of the bundle activated in the database, if any (it wins over the policy
/// directory, so a restart keeps what administrators approved).
pub async fn active_engine(
    db: &crate::store::Db,
) -> Result<Option<Arc<dyn PolicyEngine>>, AdminError> {
    match store::active(db).await? {
        Some(record) => Ok(Some(prepare_blocking(record.bundle).await?.1)),
        None => Ok(None),
    }
}

/// Follows activations made on other instances: every `interval`, loads the active bundle if
/// its revision differs from the engine in force. Failures are logged and retried.
pub async fn follow_active(gateway: Arc<Gateway>, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match store::active(gateway.record.db()).await {
            Ok(Some(record)) if record.revision != gateway.policy().revision() => {
                match prepare(&record.bundle) {
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

/// All bundles with their decisions.
pub async fn history(gateway: &Gateway, caller: &Caller) -> Result<Vec<BundleRecord>, AdminError> {
    gateway.require_administrator(caller)?;
    Ok(store::history(gateway.record.db()).await?)
}

impl From<PolicyError> for AdminError {
    fn from(e: PolicyError) -> Self {
        AdminError::Bundle(e.to_string())
    }
}
