//! Partner tokens (DESIGN.md §3): a short-lived JWT signed by the partner's own registered key
//! (EdDSA or ES256 only), bound to the presenting client certificate (RFC 8705 `cnf.x5t#S256`).
//! Verified tokens are cached by SHA-256(token || certificate thumbprint), so a partner system
//! can reuse its token until it expires without paying for a signature check every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::crypto::sha256;
use crate::policy::ConvenantSummary;
use crate::registry::RegisteredPartner;

/// Why a token was refused. Every variant is a 401 with its own problem `type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token in the Authorization header")]
    MissingToken,
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("token algorithm {0} is not accepted (only EdDSA and ES256)")]
    UnsupportedAlgorithm(String),
    #[error("no registered key of this partner matches the token")]
    UnknownKey,
    #[error("the token signature does not verify against the partner's registered key")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (iat or nbf in the future)")]
    NotYetValid,
    #[error("the token lives longer than {0} seconds (exp - iat)")]
    LifetimeTooLong(u64),
    #[error("the token issuer does not match the OIN of the client certificate")]
    IssuerMismatch,
    #[error("the token audience is not this gateway")]
    WrongAudience,
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
    #[error("the token is bound to another client certificate (cnf x5t#S256)")]
    CertificateBinding,
    #[error("role {0} is not in the convenant")]
    UnknownRole(String),
    #[error("purpose {0} is not in the convenant")]
    UnknownPurpose(String),
    #[error("the token claim {0} is not valid: {1}")]
    InvalidClaim(&'static str, &'static str),
}

impl AuthError {
    /// Stable slug for the problem `type`.
    pub fn slug(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "token-missing",
            AuthError::Malformed(_) => "token-malformed",
            AuthError::UnsupportedAlgorithm(_) => "token-algorithm",
            AuthError::UnknownKey => "token-unknown-key",
            AuthError::BadSignature => "token-signature",
            AuthError::Expired => "token-expired",
            AuthError::NotYetValid => "token-not-yet-valid",
            AuthError::LifetimeTooLong(_) => "token-lifetime",
            AuthError::IssuerMismatch => "token-issuer",
            AuthError::WrongAudience => "token-audience",
            AuthError::MissingClaim(_) => "token-claim-missing",
            AuthError::CertificateBinding => "token-certificate-binding",
            AuthError::UnknownRole(_) => "token-unknown-role",
            AuthError::UnknownPurpose(_) => "token-unknown-purpose",
            AuthError::InvalidClaim(..) => "token-claim-invalid",
        }
    }
}

/// The `cnf` claim (RFC 8705).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

/// Audience: one string or a list, as RFC 7519 allows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims vhgate requires. Numeric dates are integers: a string `exp` does not parse.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub role: String,
    pub purpose: String,
    pub cnf: Confirmation,
    /// The professional's stated reason, required for purpose `spoed` (break-glass). It goes
    /// to the privacy officer's review item, never into the log or the policy input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The longest stated reason a token may carry (characters).
pub const MAX_REASON_CHARS: usize = 500;

impl Claims {
    /// Claims for a token issued now, valid `ttl_secs`, bound to the client certificate whose
    /// `x5t#S256` thumbprint is given (as a partner system would issue them).
    pub fn fresh(
        iss: &str,
        sub: &str,
        audience: &str,
        ttl_secs: i64,
        role: &str,
        purpose: &str,
        x5t_s256: &str,
    ) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: iss.into(),
            sub: sub.into(),
            aud: Audience::One(audience.into()),
            exp: now + ttl_secs,
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            role: role.into(),
            purpose: purpose.into(),
            cnf: Confirmation {
                x5t_s256: x5t_s256.into(),
            },
            reason: None,
        }
    }
}

/// A token that passed every check.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub claims: Claims,
    pub kid: Option<String>,
}

/// Token verification settings.
#[derive(Clone, Debug)]
pub struct VerifierSettings {
    pub audience: String,
    pub leeway_secs: u64,
    pub max_lifetime_secs: u64,
    pub cache_entries: usize,
}

/// Verifies partner tokens and caches the result.
pub struct TokenVerifier {
    settings: VerifierSettings,
    cache: Mutex<HashMap<[u8; 32], Arc<VerifiedToken>>>,
    metrics: crate::telemetry::TokenCacheMetrics,
}

const REQUIRED_CLAIMS: &[&str] = &[
    "iss", "sub", "aud", "exp", "iat", "jti", "role", "purpose", "cnf",
];

impl TokenVerifier {
    pub fn new(settings: VerifierSettings) -> Self {
        TokenVerifier {
            settings,
            cache: Mutex::new(HashMap::new()),
            metrics: crate::telemetry::TokenCacheMetrics::register(),
        }
    }

    /// Verifies `token` as presented by `partner` over the certificate with `thumbprint`.
    pub fn verify(
        &self,
        token: &str,
        partner: &RegisteredPartner,
        thumbprint: &str,
        convenant: &ConvenantSummary,
        now: i64,
    ) -> Result<Arc<VerifiedToken>, AuthError> {
        let mut key_material = Vec::with_capacity(token.len() + thumbprint.len() + 1);
        key_material.extend_from_slice(token.as_bytes());
        key_material.push(0);
        key_material.extend_from_slice(thumbprint.as_bytes());
        let cache_key = sha256(&key_material);
        if let Some(hit) = self.cache_get(&cache_key) {
            self.metrics.hits.increment(1);
            // Signature and binding were checked when cached; time and registry can change.
            // The key must still be registered and usable: a revoked or expired key ends its
            // cached tokens too (the cache is also cleared on every registry change).
            let key_usable = partner
                .keys
                .iter()
                .any(|k| hit.kid.as_deref() == Some(k.kid.as_str()) && k.usable_at(now));
            if !key_usable {
                return Err(AuthError::UnknownKey);
            }
            self.check_time(&hit.claims, now)?;
            check_registers(&hit.claims, convenant)?;
            if hit.claims.iss != partner.oin {
                return Err(AuthError::IssuerMismatch);
            }
            return Ok(hit);
        }
        self.metrics.misses.increment(1);
        let verified = Arc::new(self.verify_uncached(token, partner, thumbprint, convenant, now)?);
        self.cache_put(cache_key, verified.clone(), now);
        Ok(verified)
    }

    /// Forgets every verified token, so the next request of each is checked against the
    /// registry in force (called when the partner registry changes).
    pub fn clear_cache(&self) {
        match self.cache.lock() {
            Ok(mut cache) => cache.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    fn cache_get(&self, key: &[u8; 32]) -> Option<Arc<VerifiedToken>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    fn cache_put(&self, key: [u8; 32], token: Arc<VerifiedToken>, now: i64) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= self.settings.cache_entries {
            cache.retain(|_, t| t.claims.exp > now);
            if cache.len() >= self.settings.cache_entries {
                cache.clear();
            }
        }
        cache.insert(key, token);
    }

    fn verify_uncached(
        &self,
        token: &str,
        partner: &RegisteredPartner,
        thumbprint: &str,
        convenant: &ConvenantSummary,
        now: i64,
    ) -> Result<VerifiedToken, AuthError> {
        let (alg, kid) = read_header(token)?;
        let payload = token.split('.').nth(1).unwrap_or_default();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| AuthError::Malformed("claims are not base64url".into()))?;
        unique_members(&payload, "claims")?;
        let candidates: Vec<_> = partner
            .keys
            .iter()
            .filter(|k| {
                k.alg == alg && k.usable_at(now) && kid.as_ref().is_none_or(|kid| &k.kid == kid)
            })
            .collect();
        if candidates.is_empty() {
            return Err(AuthError::UnknownKey);
        }
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_audience(&[&self.settings.audience]);
        validation.leeway = self.settings.leeway_secs;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        let mut last = AuthError::BadSignature;
        for key in candidates {
            // Decode into a loose map first so a missing claim is reported by name.
            match crate::crypto::jwt::decode::<serde_json::Map<String, serde_json::Value>>(
                token,
                &key.key,
                &validation,
            ) {
                Ok(data) => {
                    if let Some(missing) = REQUIRED_CLAIMS
                        .iter()
                        .find(|c| !data.claims.contains_key(**c))
                    {
                        return Err(AuthError::MissingClaim((*missing).to_string()));
                    }
                    let claims: Claims =
                        serde_json::from_value(serde_json::Value::Object(data.claims))
                            .map_err(|e| AuthError::Malformed(e.to_string()))?;
                    self.check_claims(&claims, partner, thumbprint, convenant, now)?;
                    return Ok(VerifiedToken {
                        claims,
                        kid: Some(key.kid.clone()),
                    });
                }
                Err(e) => {
                    last = map_jwt_error(e);
                    if last != AuthError::BadSignature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn check_time(&self, c: &Claims, now: i64) -> Result<(), AuthError> {
        // Saturating: the claims are the caller's numbers, and the leeway is a u64 setting.
        let leeway = i64::try_from(self.settings.leeway_secs).unwrap_or(i64::MAX);
        if c.exp <= now.saturating_sub(leeway) {
            return Err(AuthError::Expired);
        }
        let latest = now.saturating_add(leeway);
        if c.iat > latest || c.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(AuthError::NotYetValid);
        }
        Ok(())
    }

    fn check_claims(
        &self,
        c: &Claims,
        partner: &RegisteredPartner,
        thumbprint: &str,
        convenant: &ConvenantSummary,
        now: i64,
    ) -> Result<(), AuthError> {
        self.check_time(c, now)?;
        // In i128: `exp - iat` overflows i64 for an `iat` near i64::MIN (found by fuzzing), which
        // panicked in debug builds and wrapped negative in release, passing any lifetime.
        let lifetime = i128::from(c.exp) - i128::from(c.iat);
        if lifetime > i128::from(self.settings.max_lifetime_secs) || lifetime < 0 {
            return Err(AuthError::LifetimeTooLong(self.settings.max_lifetime_secs));
        }
        if c.iss != partner.oin {
            return Err(AuthError::IssuerMismatch);
        }
        for (name, value) in [("sub", &c.sub), ("jti", &c.jti)] {
            if value.trim().is_empty() {
                return Err(AuthError::MissingClaim(name.into()));
            }
        }
        if c.cnf.x5t_s256 != thumbprint {
            return Err(AuthError::CertificateBinding);
        }
        if let Some(reason) = &c.reason {
            check_reason(reason)?;
        }
        check_registers(c, convenant)
    }
}

/// A stated reason is a short line of text a privacy officer can read: not blank, not longer
/// than [`MAX_REASON_CHARS`], no control characters.
fn check_reason(reason: &str) -> Result<(), AuthError> {
    if reason.trim().is_empty() {
        return Err(AuthError::InvalidClaim("reason", "it is blank"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AuthError::InvalidClaim(
            "reason",
            "it is longer than 500 characters",
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(AuthError::InvalidClaim(
            "reason",
            "it holds control characters",
        ));
    }
    Ok(())
}

fn check_registers(c: &Claims, convenant: &ConvenantSummary) -> Result<(), AuthError> {
    if !convenant.roles.contains(&c.role) {
        return Err(AuthError::UnknownRole(c.role.chars().take(64).collect()));
    }
    if !convenant.purposes.contains(&c.purpose) {
        return Err(AuthError::UnknownPurpose(
            c.purpose.chars().take(64).collect(),
        ));
    }
    Ok(())
}

/// Reads `alg` and `kid` from the header ourselves, so `none`, `HS256` and other algorithms
/// are refused by name before any key is touched.
fn read_header(token: &str) -> Result<(Algorithm, Option<String>), AuthError> {
    let header_b64 = token.split('.').next().unwrap_or_default();
    if token.split('.').count() != 3 {
        return Err(AuthError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| AuthError::Malformed("header is not base64url".into()))?;
    unique_members(&bytes, "header")?;
    let header: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::Malformed("header is not JSON".into()))?;
    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("");
    let alg = match alg {
        "EdDSA" => Algorithm::EdDSA,
        "ES256" => Algorithm::ES256,
        other => {
            return Err(AuthError::UnsupportedAlgorithm(
                other.chars().take(16).collect(),
            ))
        }
    };
    let kid = header
        .get("kid")
        .and_then(|k| k.as_str())
        .map(str::to_owned);
    Ok((alg, kid))
}

/// Refuses a header or claims object that names a member twice, at any depth (RFC 7519 §4
/// allows it): parsers disagree on which one counts, so a token could mean one thing to the
/// partner's identity provider and another here.
fn unique_members(json: &[u8], part: &str) -> Result<(), AuthError> {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    /// Any JSON value whose objects name each member once.
    struct Unique;

    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }

    struct UniqueVisitor;

    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key) {
                    return Err(A::Error::custom("duplicate member"));
                }
                map.next_value::<Unique>()?;
            }
            Ok(Unique)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E: Error>(self) -> Result<Unique, E> {
            Ok(Unique)
        }
    }

    serde_json::Deserializer::from_slice(json)
        .deserialize_map(UniqueVisitor)
        .map(|_| ())
        .map_err(|e| {
            AuthError::Malformed(if e.to_string().starts_with("duplicate member") {
                format!("the {part} names a member twice")
            } else {
                format!("the {part} is not a JSON object")
            })
        })
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => AuthError::BadSignature,
        K::ExpiredSignature => AuthError::Expired,
        K::ImmatureSignature => AuthError::NotYetValid,
        K::InvalidAudience => AuthError::WrongAudience,
        K::InvalidAlgorithm | K::InvalidAlgorithmName => {
            AuthError::UnsupportedAlgorithm("?".into())
        }
        K::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
        K::InvalidIssuer => AuthError::IssuerMismatch,
        other => AuthError::Malformed(format!("{other:?}")),
    }
}

/// Signs a token with a partner's private key (PKCS#8 PEM, Ed25519). For the demo and tests.
pub fn sign_token(
    claims: &Claims,
    key_pem: &str,
    kid: Option<&str>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    crate::crypto::jwt::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ed_pem(key_pem.as_bytes())?,
    )
}
