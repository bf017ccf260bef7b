//! Secrets and the primitives built on them: BSN encryption at rest (AES-256-GCM) and keyed
//! pseudonyms (HMAC-SHA256), both with ring. Keys come from files, never from the database.
//! JWT signatures (partner tokens, bundle signatures) are in [`jwt`], also on ring.

use std::path::Path;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::domain::Bsn;

pub mod jwt;
#[cfg(test)]
pub(crate) mod openssl_cli;

/// Errors of key handling and record encryption.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("key file {0} must hold 32 bytes (raw or 64 hex characters)")]
    KeyLength(String),
    #[error("ciphertext does not decrypt with the record key")]
    Decrypt,
    #[error("random number generator failed")]
    Rng,
}

/// Reads a 32-byte key from a file holding 64 hex characters (whitespace ignored) or 32 raw bytes.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], CryptoError> {
    let raw = std::fs::read(path).map_err(|e| CryptoError::KeyFile {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let text: String = String::from_utf8_lossy(&raw).split_whitespace().collect();
    let bytes = match hex::decode(&text) {
        Ok(b) if b.len() == 32 => b,
        _ if raw.len() == 32 => raw,
        _ => return Err(CryptoError::KeyLength(path.display().to_string())),
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Writes a fresh random 32-byte key as hex, mode 0600, unless the file exists.
pub fn ensure_key_file(path: &Path) -> Result<(), CryptoError> {
    if path.exists() {
        return Ok(());
    }
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| CryptoError::Rng)?;
    crate::pki::write_private(path, hex::encode(key).as_bytes()).map_err(|e| CryptoError::KeyFile {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Keyed pseudonyms for subjects: `HMAC-SHA256(key_v, BSN)`, hex, with the key version so
/// a rotated key keeps old entries findable.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: hmac::Key,
    version: i32,
    /// Retired keys (version, key): new pseudonyms never use them, searches still do.
    previous: Vec<(i32, hmac::Key)>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("version", &self.version)
            .finish()
    }
}

impl Pseudonymizer {
    pub fn new(key: &[u8; 32], version: i32) -> Self {
        Pseudonymizer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            version,
            previous: Vec::new(),
        }
    }

    /// Adds a retired key, so subjects pseudonymised under it are still found.
    pub fn with_previous(mut self, key: &[u8; 32], version: i32) -> Self {
        self.previous
            .push((version, hmac::Key::new(hmac::HMAC_SHA256, key)));
        self
    }

    /// The pseudonyms of a BSN under every known key, current first: what a search must match.
    pub fn all_pseudonyms(&self, bsn: &Bsn) -> Vec<String> {
        std::iter::once(&self.key)
            .chain(self.previous.iter().map(|(_, k)| k))
            .map(|k| hex::encode(hmac::sign(k, bsn.expose().as_bytes()).as_ref()))
            .collect()
    }

    /// The pseudonym of a BSN under the current key.
    pub fn pseudonym(&self, bsn: &Bsn) -> String {
        hex::encode(hmac::sign(&self.key, bsn.expose().as_bytes()).as_ref())
    }

    /// The pseudonym of a person known without a BSN (domain-separated from BSN pseudonyms).
    pub fn pseudonym_of_id(&self, id: &uuid::Uuid) -> String {
        let mut msg = b"vhgate-person:".to_vec();
        msg.extend_from_slice(id.as_bytes());
        hex::encode(hmac::sign(&self.key, &msg).as_ref())
    }

    pub fn version(&self) -> i32 {
        self.version
    }
}

/// AES-256-GCM for BSNs at rest. Ciphertext layout: nonce (12 bytes) || sealed BSN || tag.
#[derive(Debug)]
pub struct RecordCipher {
    key: LessSafeKey,
    rng: SystemRandom,
    /// HMAC key derived from the record key for the signalling figures' keyed rounding: stable
    /// for as long as the record key (so the same figure is always rounded the same way) and
    /// unknown to readers of the figures.
    signals: hmac::Key,
}

impl RecordCipher {
    pub fn new(key: &[u8; 32]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&aead::AES_256_GCM, key)
            .map_err(|_| CryptoError::KeyLength("record key".into()))?;
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key),
            b"vhgate-signals-rounding-v1",
        );
        Ok(RecordCipher {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
            signals: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        })
    }

    /// A keyed pseudo-random number for `label` (the signalling figures' rounding choices):
    /// the same label always gives the same number; without the key it cannot be predicted.
    pub fn signals_draw(&self, label: &[u8]) -> u64 {
        let tag = hmac::sign(&self.signals, label);
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&tag.as_ref()[..8]);
        u64::from_be_bytes(eight)
    }

    /// Encrypts a BSN; `context` (the person id) is bound as associated data so a ciphertext
    /// cannot be moved to another person's row.
    pub fn seal(&self, bsn: &Bsn, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_bytes(bsn.expose().as_bytes(), context)
    }

    /// Decrypts what [`RecordCipher::seal`] produced for the same context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Bsn, CryptoError> {
        let plain = self.open_bytes(sealed, context)?;
        std::str::from_utf8(&plain)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(CryptoError::Decrypt)
    }

    /// Encrypts any person data at rest, bound to `context` (the row it belongs to).
    pub fn seal_bytes(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| CryptoError::Rng)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts what [`RecordCipher::seal_bytes`] produced for the same context.
    pub fn open_bytes(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// SHA-256 of some bytes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsn_round_trip_and_context_binding() {
        let cipher = RecordCipher::new(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let bsn: Bsn = "111222333".parse().unwrap_or_else(|e| panic!("{e}"));
        let sealed = cipher
            .seal(&bsn, b"person-1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!sealed.windows(9).any(|w| w == b"111222333"));
        assert_eq!(cipher.open(&sealed, b"person-1").ok(), Some(bsn));
        assert!(cipher.open(&sealed, b"person-2").is_err());
    }

    #[test]
    fn pseudonyms_are_keyed() {
        let bsn: Bsn = "111222333".parse().unwrap_or_else(|e| panic!("{e}"));
        let rotated = Pseudonymizer::new(&[2u8; 32], 2).with_previous(&[1u8; 32], 1);
        let old = Pseudonymizer::new(&[1u8; 32], 1).pseudonym(&bsn);
        assert_eq!(
            rotated.all_pseudonyms(&bsn)[1],
            old,
            "a rotated key still finds old pseudonyms"
        );
        let a = Pseudonymizer::new(&[1u8; 32], 1).pseudonym(&bsn);
        let b = Pseudonymizer::new(&[2u8; 32], 2).pseudonym(&bsn);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
