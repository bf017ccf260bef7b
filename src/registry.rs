//! The convenant's partner registry in memory: OIN to partner type and token keys. Loaded from
//! the case record at start-up; looked up on every request without touching the database.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::record::{Partner, PartnerKey};

/// A token-verification key of a partner.
#[derive(Clone)]
pub struct RegisteredKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// A partner as the gateway needs it per request.
#[derive(Clone)]
pub struct RegisteredPartner {
    pub oin: String,
    pub name: String,
    pub partner_type: String,
    pub active: bool,
    pub keys: Vec<RegisteredKey>,
}

/// OIN → partner.
#[derive(Clone, Default)]
pub struct PartnerRegistry {
    partners: HashMap<String, RegisteredPartner>,
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
        (PartnerRegistry { partners: map }, problems)
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
