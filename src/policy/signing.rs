//! OPA bundle signatures (`.signatures.json`), in OPA's own format so bundles signed with
//! `opa build --signing-key` and with `vhgate policy build --signing-key` are interchangeable.
//!
//! `.signatures.json` is `{"signatures": ["<compact JWS>"]}` with exactly one JWS whose payload
//! is `{"files": [{"name", "hash", "algorithm": "SHA-256"}, ...], "keyid"?, "scope"?}`. Every
//! file of the bundle except `.signatures.json` must be listed, and every listed file must be
//! in the bundle (OPA: bundle/verify.go, bundle/bundle.go `Reader.Read`). `data.json` and
//! `.manifest` are hashed in OPA's canonical JSON form (bundle/hash.go): objects with keys
//! sorted, no whitespace, numbers as written, strings escaped as Go's `encoding/json` does
//! without HTML escaping. Everything else (Rego) is hashed as raw bytes.
//!
//! Stricter than OPA, on purpose: only asymmetric algorithms; the key id is always required
//! and must name a configured key whose algorithm is the one in the JWS header; only SHA-256
//! file hashes; a signed bundle is refused when no keys are configured.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::config::BundleSigningConfig;

/// The signatures file's name in a bundle.
pub const SIGNATURES_FILE: &str = ".signatures.json";
/// The only file hash algorithm vhgate writes and accepts (OPA's default).
pub const HASH_ALGORITHM: &str = "SHA-256";
/// JWS algorithms allowed for bundle signatures: asymmetric only (never HS*, never `none`).
pub const ALLOWED_ALGORITHMS: &[&str] = &[
    "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// Why a bundle's signature is refused (or cannot be made).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the bundle is not signed, and policy.signing.required is set")]
    Unsigned,
    #[error(
        "the bundle is signed, but no bundle signing keys are configured (policy.signing.keys)"
    )]
    NoKeys,
    #[error(".signatures.json: {0}")]
    Malformed(String),
    #[error(".signatures.json: no key id (JWS header kid or payload keyid); an explicit key id is required")]
    MissingKeyId,
    #[error(".signatures.json: key id {0:?} is not a configured bundle signing key")]
    UnknownKey(String),
    #[error(
        ".signatures.json: signed with {found}, but key {key_id:?} is configured for {expected}"
    )]
    WrongAlgorithm {
        key_id: String,
        expected: String,
        found: String,
    },
    #[error(".signatures.json: the signature does not verify with key {0:?}")]
    BadSignature(String),
    #[error(".signatures.json: scope {found:?} does not match the configured scope {expected:?}")]
    Scope { expected: String, found: String },
    #[error("{0}: file not included in the bundle signature")]
    Unlisted(String),
    #[error("{0}: listed in the bundle signature but not in the bundle")]
    Missing(String),
    #[error("{0}: digest mismatch (the file changed after signing)")]
    Digest(String),
    #[error("{file}: unsupported hash algorithm {algorithm:?} (only SHA-256)")]
    HashAlgorithm { file: String, algorithm: String },
    #[error("{file}: {message}")]
    Content { file: String, message: String },
    #[error("bundle signing key: {0}")]
    Key(String),
}

/// One entry of the signed file list (absent fields are empty, as in OPA; an empty algorithm
/// is then refused by the file check).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    pub name: String,
    pub hash: String,
    pub algorithm: String,
}

/// The JWS payload (OPA's `DecodedSignature`; `iat`/`iss` and other claims are ignored).
#[derive(Debug, Deserialize)]
struct Payload {
    files: Vec<FileInfo>,
    #[serde(default)]
    keyid: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// `.signatures.json` (OPA's `SignaturesConfig`).
#[derive(Debug, Serialize, Deserialize)]
struct SignaturesFile {
    #[serde(default)]
    signatures: Vec<String>,
    /// OPA's custom signer/verifier plugins: not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plugin: Option<String>,
}

/// The outcome of a successful check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// Signed with this configured key; every file matched.
    Signed { key_id: String },
    /// Not signed, and signatures are not required.
    Unsigned,
}

#[derive(Clone)]
struct TrustedKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Checks bundle signatures against the configured public keys.
#[derive(Clone, Default)]
pub struct BundleVerifier {
    required: bool,
    scope: Option<String>,
    keys: HashMap<String, TrustedKey>,
    /// The revision of this instance's own policy directory (see [`BundleVerifier::is_local`]).
    local_revision: Option<String>,
}

impl std::fmt::Debug for BundleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleVerifier")
            .field("required", &self.required)
            .field("scope", &self.scope)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("local_revision", &self.local_revision)
            .finish()
    }
}

/// Parses a configured algorithm name, refusing symmetric ones.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, SignatureError> {
    if !ALLOWED_ALGORITHMS.contains(&name) {
        return Err(SignatureError::Key(format!(
            "algorithm {name:?} is not allowed (one of {})",
            ALLOWED_ALGORITHMS.join(", ")
        )));
    }
    name.parse::<Algorithm>()
        .map_err(|e| SignatureError::Key(format!("algorithm {name:?}: {e}")))
}

fn decoding_key(
    algorithm: Algorithm,
    pem: &str,
) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
    match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
        _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
    }
}

fn encoding_key(
    algorithm: Algorithm,
    pem: &str,
) -> Result<EncodingKey, jsonwebtoken::errors::Error> {
    match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
}

impl BundleVerifier {
    /// Loads the configured keys (reading `public_key_file`s). Fails on a bad key, so a
    /// misconfiguration stops start-up instead of refusing every bundle later.
    pub fn from_config(config: &BundleSigningConfig) -> Result<BundleVerifier, SignatureError> {
        let mut keys = HashMap::new();
        for k in &config.keys {
            let algorithm = parse_algorithm(&k.algorithm)
                .map_err(|e| SignatureError::Key(format!("{}: {e}", k.id)))?;
            let pem = match (&k.public_key_pem, &k.public_key_file) {
                (Some(pem), None) => pem.clone(),
                (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
                    SignatureError::Key(format!("{}: {}: {e}", k.id, file.display()))
                })?,
                _ => {
                    return Err(SignatureError::Key(format!(
                        "{}: give exactly one of public_key_pem and public_key_file",
                        k.id
                    )))
                }
            };
            let key = decoding_key(algorithm, &pem).map_err(|e| {
                SignatureError::Key(format!("{}: not a {} public key: {e}", k.id, k.algorithm))
            })?;
            if keys
                .insert(k.id.clone(), TrustedKey { algorithm, key })
                .is_some()
            {
                return Err(SignatureError::Key(format!(
                    "key id {} is configured twice",
                    k.id
                )));
            }
        }
        if config.required && keys.is_empty() {
            return Err(SignatureError::Key(
                "policy.signing.required needs at least one key".into(),
            ));
        }
        Ok(BundleVerifier {
            required: config.required,
            scope: config.scope.clone().filter(|s| !s.is_empty()),
            keys,
            local_revision: None,
        })
    }

    /// Names the revision of this instance's own policy directory, which it loads without a
    /// signature (it is the operator's own file, like the configuration).
    pub fn with_local_revision(mut self, revision: impl Into<String>) -> BundleVerifier {
        self.local_revision = Some(revision.into());
        self
    }

    /// Whether `revision` is this instance's own policy directory: then a stored unsigned
    /// bundle of it (the starting policy, recorded at the first start) is as trustworthy as
    /// the directory, even when signatures are required. The revision is the content hash, so
    /// no other content can pass for it.
    pub fn is_local(&self, revision: &str) -> bool {
        self.local_revision.as_deref() == Some(revision)
    }

    /// Whether any key is configured (`vhgate policy check` then verifies).
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether unsigned bundles are refused.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Checks a bundle: `files` are all its files except `.signatures.json` (name as in the
    /// tarball without a leading `/`, raw bytes); `signatures` is `.signatures.json`, if any.
    pub fn verify(
        &self,
        files: &[(String, Vec<u8>)],
        signatures: Option<&str>,
    ) -> Result<Verified, SignatureError> {
        let Some(signatures) = signatures else {
            return if self.required {
                Err(SignatureError::Unsigned)
            } else {
                Ok(Verified::Unsigned)
            };
        };
        if self.keys.is_empty() {
            return Err(SignatureError::NoKeys);
        }
        let (key_id, payload) = self.verify_jws(signatures)?;
        check_files(files, &payload.files)?;
        Ok(Verified::Signed { key_id })
    }

    /// Verifies the one JWS and returns its key id and payload.
    fn verify_jws(&self, signatures: &str) -> Result<(String, Payload), SignatureError> {
        let malformed = |m: String| SignatureError::Malformed(m);
        let file: SignaturesFile =
            serde_json::from_str(signatures).map_err(|e| malformed(e.to_string()))?;
        if file.plugin.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(malformed("signature plugins are not supported".into()));
        }
        let token = match file.signatures.as_slice() {
            [one] => one.as_str(),
            [] => return Err(malformed("missing JWT (expected exactly one)".into())),
            _ => {
                return Err(malformed(
                    "multiple JWTs not supported (expected exactly one)".into(),
                ))
            }
        };
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
            return Err(malformed("the JWT is not a compact JWS".into()));
        };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| malformed(format!("JWT header: {e}")))?;
        let payload_json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|e| malformed(format!("JWT payload: {e}")))?;
        let payload: Payload = serde_json::from_slice(&payload_json)
            .map_err(|e| malformed(format!("JWT payload: {e}")))?;
        // OPA: the header's kid, else the (deprecated) payload keyid. Both present must agree.
        let kid = header.kid.clone().filter(|k| !k.is_empty());
        let keyid = payload.keyid.clone().filter(|k| !k.is_empty());
        let key_id = match (kid, keyid) {
            (Some(a), Some(b)) if a != b => {
                return Err(malformed(format!(
                    "header kid {a:?} and payload keyid {b:?} differ"
                )))
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(SignatureError::MissingKeyId),
        };
        let trusted = self
            .keys
            .get(&key_id)
            .ok_or_else(|| SignatureError::UnknownKey(key_id.clone()))?;
        if header.alg != trusted.algorithm {
            return Err(SignatureError::WrongAlgorithm {
                key_id,
                expected: format!("{:?}", trusted.algorithm),
                found: format!("{:?}", header.alg),
            });
        }
        let message = format!("{header_b64}.{payload_b64}");
        let ok = crate::crypto::jwt::verify_signature(
            signature_b64,
            message.as_bytes(),
            &trusted.key,
            trusted.algorithm,
        )
        .unwrap_or(false);
        if !ok {
            return Err(SignatureError::BadSignature(key_id));
        }
        // OPA compares the configured scope (empty if none) with the payload's (empty if none).
        let expected = self.scope.clone().unwrap_or_default();
        let found = payload.scope.clone().unwrap_or_default();
        if expected != found {
            return Err(SignatureError::Scope { expected, found });
        }
        Ok((key_id, payload))
    }
}

/// Exact file-list match: every file listed, every listed file present, every hash equal.
fn check_files(files: &[(String, Vec<u8>)], listed: &[FileInfo]) -> Result<(), SignatureError> {
    let mut expected: BTreeMap<&str, &FileInfo> = BTreeMap::new();
    for f in listed {
        if expected.insert(f.name.as_str(), f).is_some() {
            return Err(SignatureError::Malformed(format!(
                "{} is listed twice",
                f.name
            )));
        }
    }
    for (name, bytes) in files {
        let info = expected
            .remove(name.as_str())
            .ok_or_else(|| SignatureError::Unlisted(name.clone()))?;
        if info.algorithm != HASH_ALGORITHM {
            return Err(SignatureError::HashAlgorithm {
                file: name.clone(),
                algorithm: info.algorithm.clone(),
            });
        }
        let want = hex::decode(&info.hash).map_err(|_| SignatureError::Digest(name.clone()))?;
        if want != file_hash(name, bytes)? {
            return Err(SignatureError::Digest(name.clone()));
        }
    }
    if let Some(name) = expected.keys().next() {
        return Err(SignatureError::Missing((*name).to_string()));
    }
    Ok(())
}

/// Whether OPA hashes a file as structured JSON (bundle.go `IsStructuredDoc`).
fn is_structured(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    matches!(base, "data.json" | ".manifest")
}

/// A file's SHA-256 as OPA computes it.
pub fn file_hash(name: &str, bytes: &[u8]) -> Result<Vec<u8>, SignatureError> {
    if is_structured(name) {
        let canonical = canonical_json(bytes).map_err(|message| SignatureError::Content {
            file: name.to_string(),
            message,
        })?;
        Ok(crate::crypto::sha256(&canonical).to_vec())
    } else {
        Ok(crate::crypto::sha256(bytes).to_vec())
    }
}

/// How to sign a bundle.
pub struct BundleSigner {
    algorithm: Algorithm,
    key: EncodingKey,
    key_id: String,
    scope: Option<String>,
}

impl BundleSigner {
    /// A signer from a PEM private key (PKCS#8 for EC and Ed25519).
    pub fn new(
        private_key_pem: &str,
        algorithm: &str,
        key_id: &str,
        scope: Option<String>,
    ) -> Result<BundleSigner, SignatureError> {
        let alg = parse_algorithm(algorithm)?;
        if key_id.trim().is_empty() {
            return Err(SignatureError::Key("a key id is required".into()));
        }
        let key = encoding_key(alg, private_key_pem)
            .map_err(|e| SignatureError::Key(format!("not a {algorithm} private key: {e}")))?;
        Ok(BundleSigner {
            algorithm: alg,
            key,
            key_id: key_id.to_string(),
            scope: scope.filter(|s| !s.is_empty()),
        })
    }

    /// `.signatures.json` over `files` (all bundle files except `.signatures.json`), as
    /// `opa build --signing-key` writes it: header `{alg, kid}`, payload `{files, keyid[, scope]}`.
    pub fn sign(&self, files: &[(String, Vec<u8>)]) -> Result<String, SignatureError> {
        let infos = files
            .iter()
            .map(|(name, bytes)| {
                Ok(FileInfo {
                    name: name.clone(),
                    hash: hex::encode(file_hash(name, bytes)?),
                    algorithm: HASH_ALGORITHM.into(),
                })
            })
            .collect::<Result<Vec<_>, SignatureError>>()?;
        let mut payload = serde_json::json!({ "files": infos, "keyid": self.key_id });
        if let Some(scope) = &self.scope {
            payload["scope"] = serde_json::Value::String(scope.clone());
        }
        let mut header = Header::new(self.algorithm);
        header.typ = None;
        header.kid = Some(self.key_id.clone());
        let token = crate::crypto::jwt::encode(&header, &payload, &self.key)
            .map_err(|e| SignatureError::Key(format!("signing: {e}")))?;
        serde_json::to_string_pretty(&SignaturesFile {
            signatures: vec![token],
            plugin: None,
        })
        .map_err(|e| SignatureError::Key(e.to_string()))
    }
}

/// A fresh signing key pair for development: (PKCS#8 private PEM, SPKI public PEM).
/// `algorithm` is `ES256` or `EdDSA`. Keep the private key out of the repository.
pub fn generate_keypair(algorithm: &str) -> Result<(String, String), SignatureError> {
    let alg = match algorithm {
        "ES256" => &rcgen::PKCS_ECDSA_P256_SHA256,
        "EdDSA" => &rcgen::PKCS_ED25519,
        other => {
            return Err(SignatureError::Key(format!(
                "can generate ES256 or EdDSA keys, not {other}"
            )))
        }
    };
    let key = rcgen::KeyPair::generate_for(alg).map_err(|e| SignatureError::Key(e.to_string()))?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}

/// A key in the configuration, for [`BundleVerifier::from_config`] callers that build one
/// in code (tests, tools).
pub fn key_config(
    id: &str,
    algorithm: &str,
    public_key_pem: &str,
) -> crate::config::BundleKeyConfig {
    crate::config::BundleKeyConfig {
        id: id.into(),
        algorithm: algorithm.into(),
        public_key_pem: Some(public_key_pem.into()),
        public_key_file: None::<PathBuf>,
    }
}

// ---------------------------------------------------------------------------------------------
// OPA's canonical JSON (bundle/hash.go): parse keeping number literals, then write objects with
// sorted keys, no whitespace, and strings escaped as Go's encoding/json does (SetEscapeHTML
// false). Go ≥ 1.22 writes \b and \f as short escapes; U+2028/U+2029 are always escaped.
// ---------------------------------------------------------------------------------------------

enum Json {
    Null,
    Bool(bool),
    /// The literal as written (Go's json.Number re-encodes it unchanged).
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Sorted by key bytes; a repeated key keeps its last value (as Go's map does).
    Object(BTreeMap<String, Json>),
}

/// The canonical serialization OPA hashes for a structured file.
pub fn canonical_json(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    let value = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing characters at byte {}", p.i));
    }
    let mut out = Vec::with_capacity(bytes.len());
    write_json(&value, &mut out);
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

/// Deep enough for any convenant data; bounded so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("invalid JSON at byte {}: {what}", self.i))
    }

    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            self.err(&format!("expected {lit}"))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.s.get(self.i) {
            Some(b'n') => self.eat("null").map(|()| Json::Null),
            Some(b't') => self.eat("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|()| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => self.nested(|p| {
                let mut items = Vec::new();
                p.i += 1;
                p.ws();
                if p.s.get(p.i) == Some(&b']') {
                    p.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    p.ws();
                    items.push(p.value()?);
                    p.ws();
                    match p.s.get(p.i) {
                        Some(b',') => p.i += 1,
                        Some(b']') => {
                            p.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return p.err("expected , or ]"),
                    }
                }
            }),
            Some(b'{') => self.nested(|p| {
                let mut map = BTreeMap::new();
                p.i += 1;
                p.ws();
                if p.s.get(p.i) == Some(&b'}') {
                    p.i += 1;
                    return Ok(Json::Object(map));
                }
                loop {
                    p.ws();
                    if p.s.get(p.i) != Some(&b'"') {
                        return p.err("expected a key");
                    }
                    let key = p.string()?;
                    p.ws();
                    p.eat(":")?;
                    p.ws();
                    let v = p.value()?;
                    map.insert(key, v);
                    p.ws();
                    match p.s.get(p.i) {
                        Some(b',') => p.i += 1,
                        Some(b'}') => {
                            p.i += 1;
                            return Ok(Json::Object(map));
                        }
                        _ => return p.err("expected , or }"),
                    }
                }
            }),
            Some(b'-' | b'0'..=b'9') => self.number().map(Json::Number),
            _ => self.err("expected a value"),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Json, String>,
    ) -> Result<Json, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn number(&mut self) -> Result<String, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > s
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("bad number"),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return self.err("bad fraction");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return self.err("bad exponent");
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            // Hex digits only: `from_str_radix` would also take a sign (`\u+041`).
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.err("bad \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return self.err("unterminated string");
            };
            match b {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                // A surrogate pair; Go replaces an unpaired half by U+FFFD.
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                } else {
                                    self.i = save;
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.unwrap_or('\u{FFFD}'));
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                0..=0x1f => return self.err("control character in string"),
                _ => {
                    // Copy one UTF-8 character (the input is valid UTF-8).
                    let len = match b {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let end = (self.i + len).min(self.s.len());
                    out.push_str(&String::from_utf8_lossy(&self.s[self.i..end]));
                    self.i = end;
                }
            }
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            c if (c as u32) < 0x20 => {
                let b = c as u32 as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_json(v: &Json, out: &mut Vec<u8>) {
    match v {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(n) => out.extend_from_slice(n.as_bytes()),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        Json::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_json(item, out);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BundleKeyConfig, BundleSigningConfig};

    fn verifier(keys: Vec<BundleKeyConfig>, required: bool, scope: Option<&str>) -> BundleVerifier {
        BundleVerifier::from_config(&BundleSigningConfig {
            required,
            scope: scope.map(str::to_owned),
            keys,
        })
        .expect("verifier")
    }

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            (
                ".manifest".into(),
                br#"{"revision":"r1","roots":["vhgate"]}"#.to_vec(),
            ),
            (
                "data.json".into(),
                b"{\n  \"b\": 1.50,\n  \"a\": [true, null]\n}".to_vec(),
            ),
            ("policy.rego".into(), b"package vhgate\n".to_vec()),
        ]
    }

    /// An ES256 signer and its verifier, with key id `k1`.
    fn es256(required: bool) -> (BundleSigner, BundleVerifier) {
        let (private, public) = generate_keypair("ES256").expect("keypair");
        (
            BundleSigner::new(&private, "ES256", "k1", None).expect("signer"),
            verifier(vec![key_config("k1", "ES256", &public)], required, None),
        )
    }

    /// A `.signatures.json` with a hand-made header and payload, signed with `signer`'s key.
    fn forged(header: &Header, payload: serde_json::Value, signer: &BundleSigner) -> String {
        let token = crate::crypto::jwt::encode(header, &payload, &signer.key).expect("encode");
        serde_json::json!({ "signatures": [token] }).to_string()
    }

    #[test]
    fn canonical_json_matches_opa() {
        // OPA bundle/verify_test.go (TestVerifyBundleFile, "bad_digest") expects the MD5 of the
        // canonical form of `{"revision": "quickbrownfaux"}` to be
        // a005c38a509dc2d5a7407b9494efb2ad, which is md5(`{"revision":"quickbrownfaux"}`).
        assert_eq!(
            canonical_json(br#"{"revision": "quickbrownfaux"}"#).expect("json"),
            br#"{"revision":"quickbrownfaux"}"#
        );
        // Sorted keys, number literals kept, Go's escaping without HTML escapes (bundle/hash.go).
        let input = r#" { "b" : [1.0, 2e5, -0, 123.45678911111111111111111111111111111111111111111111111],
              "a": "<x>&\u2028\u0001\b\/é\ud83d\ude00\ud800", "a": "last wins" , "": {} } "#;
        assert_eq!(
            String::from_utf8(canonical_json(input.as_bytes()).expect("json")).expect("utf8"),
            r#"{"":{},"a":"last wins","b":[1.0,2e5,-0,123.45678911111111111111111111111111111111111111111111111]}"#
        );
        assert_eq!(
            String::from_utf8(
                canonical_json("\"<x>&\\u2028\\u0001\\b\\/é\\ud83d\\ude00\\ud800\\t\"".as_bytes())
                    .expect("json")
            )
            .expect("utf8"),
            "\"<x>&\\u2028\\u0001\\b/é😀\u{FFFD}\\t\""
        );
        for bad in ["", "{", "[1,]", "01", "1.", "\"\u{1}\"", "{} x", "tru"] {
            assert!(canonical_json(bad.as_bytes()).is_err(), "{bad:?}");
        }
        // Whitespace and key order do not change a data.json hash; Rego is hashed as bytes.
        assert_eq!(
            file_hash("x/data.json", b"{\"a\": 1, \"b\": 2}").expect("hash"),
            file_hash("x/data.json", b"{\"b\":2,\n\"a\":1}").expect("hash")
        );
        assert_ne!(
            file_hash("p.rego", b"package a\n").expect("hash"),
            file_hash("p.rego", b"package a \n").expect("hash")
        );
    }

    /// Known answer: an RS256 bundle signature from OPA's own tests (open-policy-agent/opa,
    /// bundle/verify_test.go, TestVerifyJWTSignature: `signedTokenRS256` and `publicKeyValid`,
    /// key id "foo" in the payload, scope "write").
    #[test]
    fn verifies_an_opa_signature() {
        const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJmaWxlcyI6W3sibmFtZSI6ImRiL3VhbTIvZW50aXRsZW1lbnRzL2RhdGEuanNvbiIsImhhc2giOiJjMjEzMTU0NGM3MTZhMjVhNWUzMWY1MDQzMDBmNTI0MGU4MjM1Y2FkYjlhNTdmMGJkMWI2ZjRiZDc0YjI2NjEyIiwiYWxnb3JpdGhtIjoic2hhMjU2In0seyJuYW1lIjoiZGIvdWFtMi9wb2xpY3kvb3BhLXBvbGljeS5yZWdvIiwiaGFzaCI6IjQyY2ZlNjc2OGI1N2JiNWY3NTAzYzE2NWMyOGRkMDdhYzViODEzNTU0ZWJjODUwZjJjYzM1ODQzZTcxMzdiMWQifV0sImlhdCI6MTU5MjI1MTQwNiwiaXNzIjoiSldUU2VydmljZSIsImtleWlkIjoiZm9vIiwic2NvcGUiOiJ3cml0ZSJ9.Xp1RTaiy9FXeELDWfdMYSsnRnmeBzRtoi4ewT5zr__4IXR0fgjpOOJgUoeFalTqumZQr3UO9PgSFM1Xfp1ivP8OQhMzCZEg8gI3yXQVfmu2Pb0Bo70t04AsqMjPG0XWIwYBgj20HwCrvjrzV3O9PfMWSLS03kL8iXzZDNu8BnN5BEuG6X2gpd-KcqIy_OMJLJSUaXvD8a7nvhKm0WbRFGImS2ioUK_9zmz2C6T5oedxPrlardsr6TjXDU4QzMSEYXzv0UnXCPxE0oxAktY47AylOpvg0E1AfYtFFiTpMIhtEU00rVOeFKiDicdG-ZxxicXZTYayd3O5kcu5LusUm7naeWGXc0mTNyFLUehqn3rQxgHUOgFmS_IruRVLLflAxHOoa-KWjkHeZYx5mQVAQJZqkR2kf1o31tcmXo8zqEYSywUy40e4xU9ZEJepQ21oS0NkJLq1hSSD-0lSo9rGqsLboxJ_ZHmC109YrGNyxj4-AoIB_6_9UPOu43o2ylDmyxtiti10FjaO5LhLgr9noI9yTiF-0N5nlAQqiIU6v5ImGb0kAaHrk8Jhin52WHMn3gbyC1Ss9bQgEBl71ZrSqG5mxlws86iHCJ6dLTk_7A9KecH24S_Pt8hufWQW9GpzoslditpQFH2fEKnGZqUipUE3qQI063xBAyeoX2YkiVIc";
        const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA7nJwME0QNM6g0Ou9Sylj
lcIY4cnBcs8oWVHe74bJ7JTgYmDOk2CA14RE3wJNkUKERP/cRdesKDA/BToJXJUr
oYvhjXxUYn+i3wK5vOGRY9WUtTF9paIIpIV4USUOwDh3ufhA9K3tyh+ZVsqn80em
0Lj2ME0EgScuk6u0/UYjjNvcmnQl+uDmghG8xBZh7TZW2+aceMwlb4LJIP36VRhg
jKQGIxg2rW8ROXgJaFbNRCbiOUUqlq9SUZuhHo8TNOARXXxp9R4Fq7Cl7ZbwWtNP
wAtM1y+Z+iyu/i91m0YLlU2XBOGLu9IA8IZjPlbCnk/SygpV9NNwTY9DSQ0QfXcP
TGlsbFwzRzTlhH25wEl3j+2Ub9w/NX7Yo+j/Ei9eGZ8cq0bcvEwDeIo98HeNZWrL
UUArayRYvh8zutOlzqehw8waFk9AxpfEp9oWekSz8gZw9OL773EhnglYxxjkPHNz
k66CufLuTEf6uE9NLE5HnlQMbiqBFirIyAWGKyU3v2tphKvcogxmzzWA51p0GY0l
GZvlLNt2NrJv2oGecyl3BLqHnBi+rGAosa/8XgfQT8RIk7YR/tDPDmPfaqSIc0po
+NcHYEH82Yv+gfKSK++1fyssGCsSRJs8PFMuPGgv62fFrE/EHSsHJaNWojSYce/T
rxm2RaHhw/8O4oKcfrbaRf8CAwEAAQ==
-----END PUBLIC KEY-----";
        let sigs = serde_json::json!({ "signatures": [TOKEN] }).to_string();
        let v = verifier(
            vec![key_config("foo", "RS256", PUBLIC)],
            false,
            Some("write"),
        );
        let (key_id, payload) = v.verify_jws(&sigs).expect("OPA's signature verifies");
        assert_eq!(key_id, "foo");
        assert_eq!(payload.files.len(), 2);
        assert_eq!(payload.files[1].name, "db/uam2/policy/opa-policy.rego");
        // The same token fails with another scope, or with one payload byte changed.
        let other = verifier(
            vec![key_config("foo", "RS256", PUBLIC)],
            false,
            Some("read"),
        );
        assert!(matches!(
            other.verify_jws(&sigs),
            Err(SignatureError::Scope { .. })
        ));
        let tampered = sigs.replacen(
            "eyJmaWxlcyI6W3sibmFtZSI6ImRi",
            "eyJmaWxlcyI6W3sibmFtZSI6ImRj",
            1,
        );
        assert_eq!(
            v.verify_jws(&tampered).map(|_| ()),
            Err(SignatureError::BadSignature("foo".into()))
        );
    }

    /// RS* and PS* bundles (as `opa build --signing-alg` makes them) sign and verify on ring;
    /// a key configured for PKCS#1 v1.5 does not take a PSS signature. ring cannot make RSA
    /// keys: this one is generated by the openssl command at test time.
    #[test]
    fn rsa_bundles_sign_and_verify() {
        use crate::crypto::openssl_cli::{key, KeyKind};
        let rsa = key(KeyKind::Rsa2048);
        let (private, public) = (rsa.private_pem.as_str(), rsa.public_pem.as_str());
        let f = files();
        for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
            let signer = BundleSigner::new(private, alg, "rsa", None).expect("signer");
            let sigs = signer.sign(&f).expect("sign");
            let v = verifier(vec![key_config("rsa", alg, public)], true, None);
            assert_eq!(
                v.verify(&f, Some(&sigs)),
                Ok(Verified::Signed {
                    key_id: "rsa".into()
                }),
                "{alg}"
            );
        }
        let pss = BundleSigner::new(private, "PS256", "rsa", None).expect("signer");
        let sigs = pss.sign(&f).expect("sign");
        let pkcs1 = verifier(vec![key_config("rsa", "RS256", public)], true, None);
        assert!(matches!(
            pkcs1.verify(&f, Some(&sigs)),
            Err(SignatureError::WrongAlgorithm { .. })
        ));
        // The header claims RS256 over a PSS signature: the signature does not verify.
        let token: serde_json::Value = serde_json::from_str(&sigs).expect("json");
        let jws = token["signatures"][0].as_str().expect("jws");
        let (_, rest) = jws.split_once('.').expect("header");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"RS256","kid":"rsa"}"#);
        let relabelled = serde_json::json!({ "signatures": [format!("{header}.{rest}")] });
        assert_eq!(
            pkcs1.verify(&f, Some(&relabelled.to_string())),
            Err(SignatureError::BadSignature("rsa".into()))
        );
    }

    #[test]
    fn signed_bundles_verify_and_tampering_is_named() {
        let (signer, v) = es256(true);
        let f = files();
        let sigs = signer.sign(&f).expect("sign");
        assert_eq!(
            v.verify(&f, Some(&sigs)),
            Ok(Verified::Signed {
                key_id: "k1".into()
            })
        );
        // The header carries kid and no typ, the payload keyid, as `opa build` writes them.
        let token: serde_json::Value = serde_json::from_str(&sigs).expect("json");
        let header = jsonwebtoken::decode_header(token["signatures"][0].as_str().expect("jwt"))
            .expect("header");
        assert_eq!((header.kid.as_deref(), header.typ), (Some("k1"), None));
        // Reformatting data.json keeps the signature valid (canonical hash) ...
        let mut reformatted = f.clone();
        reformatted[1].1 = br#"{"a":[true,null],"b":1.50}"#.to_vec();
        assert!(v.verify(&reformatted, Some(&sigs)).is_ok());
        // ... changing a value or a Rego byte does not.
        let mut changed = f.clone();
        changed[1].1 = br#"{"a":[true,null],"b":1.5}"#.to_vec();
        assert_eq!(
            v.verify(&changed, Some(&sigs)),
            Err(SignatureError::Digest("data.json".into()))
        );
        let mut changed = f.clone();
        changed[2].1.push(b' ');
        assert_eq!(
            v.verify(&changed, Some(&sigs)),
            Err(SignatureError::Digest("policy.rego".into()))
        );
        // Exact file list: nothing extra, nothing missing.
        let mut extra = f.clone();
        extra.push(("extra.rego".into(), b"package x\n".to_vec()));
        assert_eq!(
            v.verify(&extra, Some(&sigs)),
            Err(SignatureError::Unlisted("extra.rego".into()))
        );
        let missing = f[..2].to_vec();
        assert_eq!(
            v.verify(&missing, Some(&sigs)),
            Err(SignatureError::Missing("policy.rego".into()))
        );
        // Unsigned: refused when required, accepted otherwise.
        assert_eq!(v.verify(&f, None), Err(SignatureError::Unsigned));
        assert_eq!(
            BundleVerifier::default().verify(&f, None),
            Ok(Verified::Unsigned)
        );
        // Signed but nothing to verify with: refused.
        assert_eq!(
            BundleVerifier::default().verify(&f, Some(&sigs)),
            Err(SignatureError::NoKeys)
        );
    }

    #[test]
    fn key_ids_and_algorithms_are_checked() {
        let (signer, v) = es256(false);
        let f = files();
        let infos: Vec<FileInfo> = f
            .iter()
            .map(|(n, b)| FileInfo {
                name: n.clone(),
                hash: hex::encode(file_hash(n, b).expect("hash")),
                algorithm: HASH_ALGORITHM.into(),
            })
            .collect();
        let header = |kid: Option<&str>, alg: Algorithm| {
            let mut h = Header::new(alg);
            h.kid = kid.map(str::to_owned);
            h
        };
        // No key id anywhere.
        let sigs = forged(
            &header(None, Algorithm::ES256),
            serde_json::json!({ "files": infos }),
            &signer,
        );
        assert_eq!(v.verify(&f, Some(&sigs)), Err(SignatureError::MissingKeyId));
        // The deprecated payload keyid alone is enough (OPA accepts it).
        let sigs = forged(
            &header(None, Algorithm::ES256),
            serde_json::json!({ "files": infos, "keyid": "k1" }),
            &signer,
        );
        assert!(v.verify(&f, Some(&sigs)).is_ok());
        // An unknown key id.
        let sigs = forged(
            &header(Some("k2"), Algorithm::ES256),
            serde_json::json!({ "files": infos }),
            &signer,
        );
        assert_eq!(
            v.verify(&f, Some(&sigs)),
            Err(SignatureError::UnknownKey("k2".into()))
        );
        // kid and keyid disagree.
        let sigs = forged(
            &header(Some("k1"), Algorithm::ES256),
            serde_json::json!({ "files": infos, "keyid": "k2" }),
            &signer,
        );
        assert!(matches!(
            v.verify(&f, Some(&sigs)),
            Err(SignatureError::Malformed(_))
        ));
        // The key is configured for EdDSA; the bundle is signed with ES256 under its id.
        let (_, ed_public) = generate_keypair("EdDSA").expect("ed key");
        let ed = verifier(vec![key_config("k1", "EdDSA", &ed_public)], false, None);
        let sigs = signer.sign(&f).expect("sign");
        assert!(matches!(
            ed.verify(&f, Some(&sigs)),
            Err(SignatureError::WrongAlgorithm { .. })
        ));
        // An HS256 token under the ES256 key's id (key confusion) is refused before any check.
        let hs = crate::crypto::jwt::encode(
            &header(Some("k1"), Algorithm::HS256),
            &serde_json::json!({ "files": infos }),
            &EncodingKey::from_secret(b"secret"),
        )
        .expect("hs256");
        let sigs = serde_json::json!({ "signatures": [hs] }).to_string();
        assert!(matches!(
            v.verify(&f, Some(&sigs)),
            Err(SignatureError::WrongAlgorithm { .. })
        ));
        // A signature by another ES256 key under the configured id.
        let (other_private, _) = generate_keypair("ES256").expect("keypair");
        let other = BundleSigner::new(&other_private, "ES256", "k1", None).expect("signer");
        let sigs = other.sign(&f).expect("sign");
        assert_eq!(
            v.verify(&f, Some(&sigs)),
            Err(SignatureError::BadSignature("k1".into()))
        );
        // Two JWTs, none, SHA-1 hashes.
        let one = signer.sign(&f).expect("sign");
        let token =
            serde_json::from_str::<serde_json::Value>(&one).expect("json")["signatures"][0].clone();
        let two = serde_json::json!({ "signatures": [token, token] }).to_string();
        assert!(matches!(
            v.verify(&f, Some(&two)),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            v.verify(&f, Some(r#"{"signatures": []}"#)),
            Err(SignatureError::Malformed(_))
        ));
        let sha1: Vec<FileInfo> = infos
            .iter()
            .map(|i| FileInfo {
                algorithm: "SHA-1".into(),
                ..i.clone()
            })
            .collect();
        let sigs = forged(
            &header(Some("k1"), Algorithm::ES256),
            serde_json::json!({ "files": sha1 }),
            &signer,
        );
        assert!(matches!(
            v.verify(&f, Some(&sigs)),
            Err(SignatureError::HashAlgorithm { .. })
        ));
        // Symmetric algorithms cannot even be configured.
        assert!(parse_algorithm("HS256").is_err());
        assert!(parse_algorithm("none").is_err());
    }

    #[test]
    fn scope_must_match() {
        let (private, public) = generate_keypair("EdDSA").expect("keypair");
        let f = files();
        let signer =
            BundleSigner::new(&private, "EdDSA", "ed", Some("zvh-oost".into())).expect("signer");
        let sigs = signer.sign(&f).expect("sign");
        let with = verifier(
            vec![key_config("ed", "EdDSA", &public)],
            true,
            Some("zvh-oost"),
        );
        assert!(with.verify(&f, Some(&sigs)).is_ok());
        let without = verifier(vec![key_config("ed", "EdDSA", &public)], true, None);
        assert!(matches!(
            without.verify(&f, Some(&sigs)),
            Err(SignatureError::Scope { .. })
        ));
    }
}
