//! Console sessions: a privacy officer's token, verified like every partner token (bound to the
//! presenting client certificate) and allowed to review the log by the policy, is exchanged once
//! for a session. The session lives in the database (every instance sees a sign-out at once),
//! stays bound to the certificate thumbprint that signed in, and every use goes through the same
//! access rule again, so a policy change ends console access at the next page.
//!
//! This is the seam for an OpenID Connect login: whatever proves the officer's identity only has
//! to produce a verified [`Caller`] for [`sign_in_caller`]; sessions, CSRF and logging stay.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ring::rand::{SecureRandom, SystemRandom};

use super::store::{self, NewSession};
use crate::auth::{Claims, VerifiedToken};
use crate::disclosure::Event;
use crate::gateway::{Caller, Gateway, GatewayError};
use crate::policy::{Action, Outcome};
use crate::store::StoreError;
use crate::tls::PeerIdentity;
use crate::trace::TraceContext;

/// Name of the session cookie (Secure, HttpOnly, SameSite=Strict, Path=/console).
pub const SESSION_COOKIE: &str = "vhgate_console";

/// How long a session lasts after sign-in; the officer signs in again after that.
pub const SESSION_LIFETIME: Duration = Duration::minutes(30);

/// Errors of the console's sessions.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Authentication or the access rule refused (already logged by the gateway).
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// No session, an expired or ended one, or one signed in with another certificate.
    #[error("not signed in")]
    NotSignedIn,
    /// A form post without the session's CSRF token.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("no randomness available")]
    Rng,
}

/// A session just opened: the secret goes into the cookie, never into the database.
pub struct SignedIn {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A resumed session and the caller it acts as.
pub struct Session {
    pub caller: Caller,
    /// The per-session token every form must carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    id_hash: String,
}

/// 32 random bytes, base64url.
pub fn random_token() -> Result<String, ConsoleError> {
    let mut b = [0u8; 32];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ConsoleError::Rng)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

fn hash_secret(secret: &str) -> String {
    hex::encode(crate::crypto::sha256(secret.as_bytes()))
}

/// Compares two secrets through their SHA-256, so the time taken says nothing useful about
/// how much of a guess was right.
pub fn same_token(a: &str, b: &str) -> bool {
    crate::crypto::sha256(a.as_bytes()) == crate::crypto::sha256(b.as_bytes())
}

/// Exchanges a privacy officer's bearer token, presented over `peer`'s certificate, for a
/// session. Refusals (bad token, no right to review the log) are logged by the gateway.
pub async fn sign_in(
    gw: &Gateway,
    peer: &PeerIdentity,
    token: &str,
    trace: TraceContext,
) -> Result<SignedIn, ConsoleError> {
    let caller = gw.authenticate(peer, Some(token), trace).await?;
    sign_in_caller(gw, caller).await
}

/// Opens a session for an authenticated caller who may review the log: one unit of work (the
/// session row and its log entry commit together).
pub async fn sign_in_caller(gw: &Gateway, caller: Caller) -> Result<SignedIn, ConsoleError> {
    gw.require_reviewer(&caller).await?;
    let secret = random_token()?;
    let csrf = random_token()?;
    let now = crate::record::now();
    let expires_at = now + SESSION_LIFETIME;
    let claims = serde_json::to_string(&caller.token.claims)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = gw.begin().await?;
    store::insert(
        &mut tx,
        &NewSession {
            id_hash: &hash_secret(&secret),
            oin: &caller.partner.oin,
            thumbprint: &caller.thumbprint,
            claims: &claims,
            csrf: &csrf,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    let mut entry = gw.access_entry(&caller, Event::ConsoleSession, Action::ReviewDisclosures);
    entry.outcome = Outcome::Allowed;
    entry.status = 303;
    entry.reasons.push(format!(
        "console: signed in, session until {}",
        crate::gateway::timestamp(expires_at)
    ));
    gw.commit_in(tx, entry).await?;
    Ok(SignedIn { secret, expires_at })
}

/// The session behind a cookie's secret, presented over `peer`'s certificate, for the request
/// with `trace`. Another certificate, an unknown partner or an expired session: not signed in.
pub async fn resume(
    gw: &Gateway,
    peer: &PeerIdentity,
    secret: &str,
    trace: TraceContext,
) -> Result<Session, ConsoleError> {
    let id_hash = hash_secret(secret);
    let stored = store::find(gw.record.db(), &id_hash, crate::record::now())
        .await?
        .ok_or(ConsoleError::NotSignedIn)?;
    if !same_token(&stored.thumbprint, &peer.thumbprint)
        || peer.oin.as_deref() != Some(stored.oin.as_str())
    {
        return Err(ConsoleError::NotSignedIn);
    }
    let registry = gw.registry();
    let partner = registry
        .get(&stored.oin)
        .filter(|p| p.accepts_certificate(&peer.thumbprint))
        .ok_or(ConsoleError::NotSignedIn)?
        .clone();
    let claims: Claims =
        serde_json::from_str(&stored.claims).map_err(|_| ConsoleError::NotSignedIn)?;
    Ok(Session {
        caller: Caller {
            partner,
            token: Arc::new(VerifiedToken { claims, kid: None }),
            thumbprint: stored.thumbprint,
            trace,
        },
        csrf: stored.csrf,
        expires_at: stored.expires_at,
        id_hash,
    })
}

/// Ends a session (one unit of work with its log entry).
pub async fn sign_out(gw: &Gateway, session: &Session) -> Result<(), ConsoleError> {
    let mut tx = gw.begin().await?;
    store::delete(&mut tx, &session.id_hash).await?;
    let mut entry = gw.access_entry(
        &session.caller,
        Event::ConsoleSession,
        Action::ReviewDisclosures,
    );
    entry.outcome = Outcome::Allowed;
    entry.status = 303;
    entry.reasons.push("console: signed out".into());
    gw.commit_in(tx, entry).await?;
    Ok(())
}
