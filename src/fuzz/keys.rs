//! Fixed Ed25519 keys for the fuzz targets, derived from constant seeds: the checked-in corpus
//! can then carry validly signed checkpoints, cosignatures and bundle signatures, so mutations
//! start from inputs that reach the parsers' deepest paths. Public test keys: never use them
//! for anything else.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::disclosure::checkpoint::NoteSigner;

/// Key name and checkpoint origin of the fuzz log.
pub const LOG_NAME: &str = "fuzz.example/log";
/// Key name of the fuzz witness.
pub const WITNESS_NAME: &str = "witness.fuzz.example";
/// Key id of the fuzz bundle signing key.
pub const BUNDLE_KEY_ID: &str = "fuzz-bundle";

/// Seeds of the keys (any distinct constants).
const LOG_SEED: u8 = 1;
const WITNESS_SEED: u8 = 2;
const BUNDLE_SEED: u8 = 3;

/// An Ed25519 PKCS#8 v1 document (RFC 8410) whose 32-byte seed repeats `seed`.
pub fn ed25519_pkcs8(seed: u8) -> Vec<u8> {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap_or_default();
    der.extend_from_slice(&[seed; 32]);
    der
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn signer(name: &str, seed: u8) -> NoteSigner {
    match NoteSigner::from_pkcs8(name, &ed25519_pkcs8(seed)) {
        Ok(s) => s,
        Err(e) => panic!("fixed fuzz key {seed}: {e}"),
    }
}

/// The fuzz log's checkpoint key.
pub fn log_signer() -> NoteSigner {
    signer(LOG_NAME, LOG_SEED)
}

/// The fuzz witness's cosigning key.
pub fn witness_signer() -> NoteSigner {
    signer(WITNESS_NAME, WITNESS_SEED)
}

/// The fuzz bundle signing key: (PKCS#8 private PEM, SPKI public PEM), algorithm EdDSA.
pub fn bundle_key_pems() -> (String, String) {
    let public = signer("bundle", BUNDLE_SEED).public_key().to_vec();
    let mut spki = hex::decode("302a300506032b6570032100").unwrap_or_default();
    spki.extend_from_slice(&public);
    (
        pem("PRIVATE KEY", &ed25519_pkcs8(BUNDLE_SEED)),
        pem("PUBLIC KEY", &spki),
    )
}
