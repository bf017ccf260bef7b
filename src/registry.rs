//! The convenant's partner registry in memory: OIN to partner type, token keys and allowed
//! client certificates. Loaded from the case record at start-up and rebuilt whenever an
//! administrator's registry change is applied (here or on another instance); looked up on
//! every request without touching the database.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::record::{CaseRecord, Partner, PartnerKey};
use crate::store::StoreError;

/// A token-verification key of a partner.
#[derive(Clone)]
pub struct RegisteredKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
    /// Unix seconds after which tokens signed with this key are refused.
    pub not_after: Option<i64>,
}

impl RegisteredKey {
    /// Whether the key may still verify tokens at `now` (unix seconds).
    pub fn usable_at(&self, now: i64) -> bool {
        self.not_after.is_none_or(|t| now < t)
    }
}

/// A partner as the gateway needs it per request.
#[derive(Clone)]
pub struct RegisteredPartner {
    pub oin: String,
    pub name: String,
    pub partner_type: String,
    pub active: bool,
    pub keys: Vec<RegisteredKey>,
    /// Client-certificate thumbprints (`x5t#S256`) this partner may present; empty means any
    /// certificate that chains to the convenant CA and carries the partner's OIN.
    pub allowed_thumbprints: Vec<String>,
}

impl RegisteredPartner {
    /// Whether the certificate with this thumbprint may speak for the partner.
    pub fn accepts_certificate(&self, thumbprint: &str) -> bool {
        self.allowed_thumbprints.is_empty()
            || self.allowed_thumbprints.iter().any(|t| t == thumbprint)
    }
}

/// OIN → partner.
#[derive(Clone, Default)]
pub struct PartnerRegistry {
    partners: HashMap<String, RegisteredPartner>,
    /// The database's registry version this was loaded at (see [`load`]).
    version: i64,
}

/// A key that could not be loaded; the partner keeps its other keys.
#[derive(Debug, Clone)]
pub struct KeyProblem {
    pub kid: String,
    pub message: String,
}

impl PartnerRegistry {
    /// Builds the registry. Only EdDSA and ES256 keys are accepted; others are reported and skipped.
    pub fn build(
        partners: Vec<Partner>,
        keys: Vec<PartnerKey>,
        certificates: Vec<(String, String)>,
    ) -> (PartnerRegistry, Vec<KeyProblem>) {
        let mut map: HashMap<String, RegisteredPartner> = partners
            .into_iter()
            .map(|p| {
                (
                    p.oin.clone(),
                    RegisteredPartner {
                        oin: p.oin,
                        name: p.name,
                        partner_type: p.partner_type,
                        active: p.active,
                        keys: vec![],
                        allowed_thumbprints: vec![],
                    },
                )
            })
            .collect();
        let mut problems = Vec::new();
        for k in keys {
            let parsed = match k.alg.as_str() {
                "EdDSA" => DecodingKey::from_ed_pem(k.public_key_pem.as_bytes())
                    .map(|d| (Algorithm::EdDSA, d)),
                "ES256" => DecodingKey::from_ec_pem(k.public_key_pem.as_bytes())
                    .map(|d| (Algorithm::ES256, d)),
                other => {
                    problems.push(KeyProblem {
                        kid: k.kid,
                        message: format!("algorithm {other} is not allowed"),
                    });
                    continue;
                }
            };
            match (parsed, map.get_mut(&k.oin)) {
                (Ok((alg, key)), Some(p)) => p.keys.push(RegisteredKey {
                    kid: k.kid,
                    alg,
                    key,
                    not_after: k.not_after.map(|t| t.timestamp()),
                }),
                (Err(e), _) => problems.push(KeyProblem {
                    kid: k.kid,
                    message: e.to_string(),
                }),
                (_, None) => problems.push(KeyProblem {
                    kid: k.kid,
                    message: "partner not registered".into(),
                }),
            }
        }
        for (oin, thumbprint) in certificates {
            if let Some(p) = map.get_mut(&oin) {
                p.allowed_thumbprints.push(thumbprint);
            }
        }
        (
            PartnerRegistry {
                partners: map,
                version: 0,
            },
            problems,
        )
    }

    /// The registry version this was loaded at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// An active partner by OIN.
    pub fn get(&self, oin: &str) -> Option<&RegisteredPartner> {
        self.partners.get(oin).filter(|p| p.active)
    }

    /// The first active partner of a type (e.g. the Veiligheidshuis, for contact details).
    pub fn first_of_type(&self, partner_type: &str) -> Option<&RegisteredPartner> {
        let mut of_type: Vec<&RegisteredPartner> = self
            .partners
            .values()
            .filter(|p| p.active && p.partner_type == partner_type)
            .collect();
        of_type.sort_by(|a, b| a.oin.cmp(&b.oin));
        of_type.into_iter().next()
    }

    pub fn len(&self) -> usize {
        self.partners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partners.is_empty()
    }
}

/// Loads the registry from the case record. The version is read first, so a change applied
/// while loading makes the version look older than the data and the next poll reloads.
pub async fn load(record: &CaseRecord) -> Result<(PartnerRegistry, Vec<KeyProblem>), StoreError> {
    let db = record.db();
    let version = crate::admin::registry_store::version(db).await?;
    let (mut registry, problems) = PartnerRegistry::build(
        record.partners().await?,
        record.partner_keys().await?,
        crate::admin::registry_store::certificates(db).await?,
    );
    registry.version = version;
    Ok((registry, problems))
}
