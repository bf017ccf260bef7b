//! Signed notes, transparency-log checkpoints and Ed25519 cosignatures in the C2SP formats, so
//! that the disclosure log's tree heads can be checked by standard tooling (Go's
//! `golang.org/x/mod/sumdb/note`, witnesses speaking c2sp.org/tlog-witness, ...).
//!
//! Implemented from the specifications (reference copies in `/work/shared/ref/c2sp/`, C2SP
//! repository at 5ba5ee8):
//!
//! * [c2sp.org/signed-note@v1.0.0](https://c2sp.org/signed-note@v1.0.0): note syntax,
//!   signature lines, key IDs, verifier keys ("vkeys") and Ed25519 note signatures
//!   (signature type `0x01`);
//! * [c2sp.org/tlog-checkpoint@v1.0.0](https://c2sp.org/tlog-checkpoint@v1.0.0): the note text
//!   of a checkpoint (origin, tree size, root hash, extension lines);
//! * [c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature): timestamped Ed25519
//!   cosignatures (`cosignature/v1`, signature type `0x04`). The ML-DSA-44 cosignature (type
//!   `0x06`) is not implemented: ring has no ML-DSA, and such keys are rejected with
//!   [`NoteError::UnsupportedSignatureType`]; signature lines made with them are unknown
//!   signatures and are ignored like any other.
//!
//! Signing keys are Ed25519 keys stored as PKCS#8 documents (the C2SP specifications define no
//! private-key encoding), hex-encoded in a mode-0600 file; see [`ensure_signer_key_file`] and
//! [`read_signer_key_file`].

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// Signature type byte of Ed25519 note signatures (signed-note, "Signature types" and
/// "Ed25519 signatures").
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// Signature type byte of timestamped Ed25519 checkpoint cosignatures (signed-note, "Signature
/// types"; tlog-cosignature, "Format").
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// The most signature lines [`open_note`] and [`add_signatures`] accept in one note.
///
/// signed-note, "Format": verifiers should bound the number of signatures but must accept at
/// least 16. 100 is the limit of the Go reference implementation.
pub const MAX_SIGNATURES: usize = 100;

/// Length of an Ed25519 public key and of a checkpoint root hash (SHA-256).
const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
const ED25519_SIG_LEN: usize = 64;
/// Length of the big-endian timestamp that prefixes a cosignature (tlog-cosignature, "Format":
/// `timestamped_signature`).
const TIMESTAMP_LEN: usize = 8;
/// Prefix of every signature line: U+2014 EM DASH and a space (signed-note, "Format").
const SIG_LINE_PREFIX: &str = "\u{2014} ";
/// Header line of the cosignature/v1 signed message (tlog-cosignature, "Ed25519 signed
/// message").
const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// Everything that can go wrong parsing, signing or verifying notes, checkpoints and keys.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// The note (or a signature line) does not follow the signed-note syntax.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note carries more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name is empty or contains a Unicode space or a plus sign.
    #[error("invalid key name {0:?}")]
    InvalidName(String),
    /// A verifier key string is malformed, or its key ID does not match its name and key.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key uses a signature type this module does not implement.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    /// Two different configured verifiers share a key name and key ID, and a signature names
    /// them.
    #[error("ambiguous key {name}+{key_id:08x}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// A signature line names a known key but does not verify: the whole note is rejected.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// No signature in the note is from a known key.
    #[error("note has no verifiable signatures")]
    NoVerifiedSignature,
    /// A cosignature timestamp above 2^63 - 1 (tlog-cosignature, "Format").
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// The PKCS#8 document is not an Ed25519 private key ring accepts.
    #[error("invalid Ed25519 private key: {0}")]
    InvalidPrivateKey(String),
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// A key file could not be read or written.
    #[error("key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The key ID of a key: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || signature type || public key)`.
///
/// signed-note, "Signatures" recommends this derivation and "Ed25519 signatures" requires it
/// for type `0x01`; tlog-cosignature, "Format" requires it for type `0x04`.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 2 + public_key.len());
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(signature_type);
    input.extend_from_slice(public_key);
    let hash = digest(&SHA256, &input);
    let h = hash.as_ref();
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Key names must be non-empty and contain neither Unicode spaces nor `+` (signed-note,
/// "Format"). `char::is_whitespace` is the Unicode `White_Space` property.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidName(name.to_owned()))
    }
}

/// Notes must not contain ASCII control characters other than newline (signed-note, "Format";
/// UTF-8 validity is guaranteed by `&str`).
fn has_control_chars(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// The note text rules that apply to anything we sign: ends in a newline, no control
/// characters other than newline (signed-note, "Format").
fn check_note_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::MalformedNote("text does not end in a newline"));
    }
    if has_control_chars(text) {
        return Err(NoteError::MalformedNote("control character in text"));
    }
    Ok(())
}

/// Strict standard base64 (RFC 4648, Section 4): padding required, no non-zero trailing bits,
/// so every encoding has exactly one decoding and a changed character never goes unnoticed.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// `— <name> base64(key ID || signature)` plus the final newline (signed-note, "Signatures").
fn signature_line(name: &str, key_id: u32, signature: &[u8]) -> String {
    let mut raw = Vec::with_capacity(4 + signature.len());
    raw.extend_from_slice(&key_id.to_be_bytes());
    raw.extend_from_slice(signature);
    format!("{SIG_LINE_PREFIX}{name} {}\n", STANDARD.encode(raw))
}

/// The message a cosignature/v1 signs: the header line, the `time` line, then the whole
/// checkpoint note text (tlog-cosignature, "Ed25519 signed message").
fn cosignature_v1_message(timestamp: u64, body: &str) -> Vec<u8> {
    format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n{body}").into_bytes()
}

/// One parsed signature line.
struct ParsedSignature<'a> {
    /// The whole line, without its newline.
    line: &'a str,
    name: &'a str,
    key_id: u32,
    /// The signature bytes after the key ID.
    signature: Vec<u8>,
}

/// Parses `— <name> <base64>` (no newline) per signed-note, "Format" and "Signatures".
fn parse_signature_line(line: &str) -> Result<ParsedSignature<'_>, NoteError> {
    let rest = line
        .strip_prefix(SIG_LINE_PREFIX)
        .ok_or(NoteError::MalformedNote(
            "signature line does not start with an em dash and a space",
        ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::MalformedNote("signature line has no signature"))?;
    if !is_valid_name(name) {
        return Err(NoteError::MalformedNote(
            "invalid key name in signature line",
        ));
    }
    let raw = decode_base64(b64).ok_or(NoteError::MalformedNote("signature is not base64"))?;
    if raw.len() < 5 {
        return Err(NoteError::MalformedNote("signature too short"));
    }
    Ok(ParsedSignature {
        line,
        name,
        key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
        signature: raw[4..].to_vec(),
    })
}

/// Splits a signed note into its text and its signature lines (signed-note, "Format"): the text
/// ends at the last empty line, every signature line is well formed, and there are between one
/// and [`MAX_SIGNATURES`] of them.
fn split_note(note: &str) -> Result<(&str, Vec<ParsedSignature<'_>>), NoteError> {
    if has_control_chars(note) {
        return Err(NoteError::MalformedNote("control character in note"));
    }
    if !note.ends_with('\n') {
        return Err(NoteError::MalformedNote("note does not end in a newline"));
    }
    let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote(
        "no empty line before the signatures",
    ))?;
    let body = &note[..split + 1];
    let block = &note[split + 2..];
    if block.is_empty() {
        return Err(NoteError::MalformedNote("no signature lines"));
    }
    // `block` ends in "\n" and holds no empty line (the split was at the last one), so it
    // has one signature line per newline. Count before parsing anything.
    if block.bytes().filter(|&b| b == b'\n').count() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    let sigs = block[..block.len() - 1]
        .split('\n')
        .map(parse_signature_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((body, sigs))
}

/// A transparency-log checkpoint: the note text of tlog-checkpoint, "Note text".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `example.org/vhgate/log`; non-empty, one line.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 Merkle tree hash (SHA-256) of the first `size` leaves.
    pub root: [u8; 32],
    /// Optional opaque extension lines, each non-empty (their use is not recommended by the
    /// spec, as monitors cannot audit them).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, decimal size, base64 root hash, then the extension lines, each
    /// ending in a newline (tlog-checkpoint, "Note text"). Call [`Checkpoint::validate`] (or
    /// sign with [`NoteSigner::sign_checkpoint`], which does) to make sure the fields cannot
    /// smuggle in extra lines.
    pub fn body(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Checks that [`Checkpoint::body`] yields a well-formed checkpoint that parses back to
    /// `self`: non-empty single-line origin and extension lines without control characters
    /// (tlog-checkpoint, "Note text"; signed-note, "Format").
    pub fn validate(&self) -> Result<(), NoteError> {
        let bad_line = |s: &str| s.is_empty() || s.contains('\n') || has_control_chars(s);
        if bad_line(&self.origin) {
            return Err(NoteError::MalformedCheckpoint(
                "origin must be one non-empty line",
            ));
        }
        if self.extensions.iter().any(|e| bad_line(e)) {
            return Err(NoteError::MalformedCheckpoint(
                "extension lines must be non-empty single lines",
            ));
        }
        Ok(())
    }

    /// Parses checkpoint note text (without the signature block, e.g. [`OpenedNote::body`]).
    ///
    /// Per tlog-checkpoint, "Note text": at least three lines, all non-empty and each ending
    /// in a newline; the origin is taken as is (the spec forbids assuming its format); the tree
    /// size is ASCII decimal without leading zeroes (`0` for the empty tree) and must fit in a
    /// `u64`; the root hash is canonical standard base64 of exactly 32 bytes.
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        if has_control_chars(text) {
            return Err(NoteError::MalformedCheckpoint("control character"));
        }
        let content = text
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedCheckpoint(
                "text does not end in a newline",
            ))?;
        let lines: Vec<&str> = content.split('\n').collect();
        if lines.len() < 3 {
            return Err(NoteError::MalformedCheckpoint("fewer than three lines"));
        }
        if lines.iter().any(|l| l.is_empty()) {
            return Err(NoteError::MalformedCheckpoint("empty line"));
        }
        let size = parse_decimal(lines[1]).ok_or(NoteError::MalformedCheckpoint(
            "tree size is not a canonical decimal",
        ))?;
        let root: [u8; 32] = decode_base64(lines[2])
            .ok_or(NoteError::MalformedCheckpoint("root hash is not base64"))?
            .try_into()
            .map_err(|_| NoteError::MalformedCheckpoint("root hash is not 32 bytes"))?;
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

/// ASCII decimal with no leading zeroes (`0` itself allowed), fitting in a `u64`.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// An Ed25519 signing key with its key name: signs notes (type `0x01`) and cosigns checkpoints
/// (type `0x04`).
///
/// signed-note, "Verifier keys": the same public key should not be used for different signature
/// types, so give a key one role: either the log's checkpoint key ([`NoteSigner::sign_note`],
/// [`NoteSigner::sign_checkpoint`], [`NoteSigner::verifier_key`]) or a cosigner/witness key
/// ([`NoteSigner::cosign`], [`NoteSigner::cosignature_verifier_key`]). The key IDs differ per
/// type, so reuse is unambiguous, merely discouraged.
pub struct NoteSigner {
    name: String,
    key_pair: Ed25519KeyPair,
    public_key: [u8; KEY_LEN],
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id()))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` (a valid key name, e.g. the checkpoint origin, which
    /// tlog-checkpoint, "Signatures" recommends for the log key) from an Ed25519 PKCS#8 v1 or
    /// v2 document, such as [`NoteSigner::generate_pkcs8`] makes.
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|e| NoteError::InvalidPrivateKey(e.to_string()))?;
        let public_key: [u8; KEY_LEN] = key_pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| NoteError::InvalidPrivateKey("public key length".into()))?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key_pair,
            public_key,
        })
    }

    /// A fresh random Ed25519 key as a PKCS#8 v2 document, for a key file.
    pub fn generate_pkcs8() -> Result<Vec<u8>, NoteError> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| NoteError::Rng)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-byte Ed25519 public key (RFC 8032 encoding).
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The key ID of this key's Ed25519 note signatures (type `0x01`; signed-note, "Ed25519
    /// signatures").
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, SIG_TYPE_ED25519, &self.public_key)
    }

    /// The key ID of this key's cosignatures (type `0x04`; tlog-cosignature, "Format").
    pub fn cosignature_key_id(&self) -> u32 {
        key_id(&self.name, SIG_TYPE_COSIGNATURE_V1, &self.public_key)
    }

    /// The verifier key of this key's note signatures:
    /// `<name>+<hex key ID>+<base64(0x01 || public key)>` (signed-note, "Verifier keys").
    pub fn verifier_key(&self) -> String {
        vkey_string(&self.name, SIG_TYPE_ED25519, &self.public_key)
    }

    /// The verifier key of this key's cosignatures, with type `0x04` (tlog-cosignature,
    /// "Format"; signed-note, "Verifier keys").
    pub fn cosignature_verifier_key(&self) -> String {
        vkey_string(&self.name, SIG_TYPE_COSIGNATURE_V1, &self.public_key)
    }

    /// Signs note text: returns the whole signed note, i.e. `body`, the empty line and one
    /// Ed25519 signature line (signed-note, "Format" and "Ed25519 signatures"). `body` must end
    /// in a newline and contain no control characters other than newlines.
    pub fn sign_note(&self, body: &str) -> Result<String, NoteError> {
        check_note_text(body)?;
        let signature = self.key_pair.sign(body.as_bytes());
        let line = signature_line(&self.name, self.key_id(), signature.as_ref());
        Ok(format!("{body}\n{line}"))
    }

    /// Validates and signs a checkpoint: the signed note of [`Checkpoint::body`].
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        checkpoint.validate()?;
        self.sign_note(&checkpoint.body())
    }

    /// A cosignature/v1 of `checkpoint` at `timestamp` (POSIX seconds): one signature line,
    /// newline-terminated, to append to the checkpoint note with [`add_signatures`] (or to
    /// return as a tlog-witness `add-checkpoint` response).
    ///
    /// tlog-cosignature, "Format" and "Ed25519 signed message": the line's key ID is the type
    /// `0x04` ID, its signature is the 8-byte big-endian timestamp followed by the Ed25519
    /// signature of `cosignature/v1\ntime <timestamp>\n` plus the checkpoint text (extension
    /// lines included). The timestamp must not exceed 2^63 - 1.
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<String, NoteError> {
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::TimestampOutOfRange(timestamp));
        }
        checkpoint.validate()?;
        let message = cosignature_v1_message(timestamp, &checkpoint.body());
        let signature = self.key_pair.sign(&message);
        let mut sig = Vec::with_capacity(TIMESTAMP_LEN + ED25519_SIG_LEN);
        sig.extend_from_slice(&timestamp.to_be_bytes());
        sig.extend_from_slice(signature.as_ref());
        Ok(signature_line(&self.name, self.cosignature_key_id(), &sig))
    }
}

fn vkey_string(name: &str, signature_type: u8, public_key: &[u8]) -> String {
    let mut material = Vec::with_capacity(1 + public_key.len());
    material.push(signature_type);
    material.extend_from_slice(public_key);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, signature_type, public_key),
        STANDARD.encode(material)
    )
}

/// A trusted public key: a key name, its key ID and an Ed25519 public key used either for note
/// signatures (type `0x01`) or for cosignatures (type `0x04`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    signature_type: u8,
    public_key: [u8; KEY_LEN],
}

impl NoteVerifier {
    /// The key's name and ID as a verifier key starts (`<name>+<hex key ID>`), for messages.
    pub fn describe(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }

    /// Parses a verifier key `<name>+<hex key ID>+<base64(type || public key)>` (signed-note,
    /// "Verifier keys").
    ///
    /// The name must be valid, the key ID exactly eight lowercase hex digits (the fixed-length
    /// lowercase hex of signed-note, "Conventions"), the base64 canonical, the type `0x01`
    /// (Ed25519, signed-note) or `0x04` (Ed25519 cosignature, tlog-cosignature, "Format") with a
    /// 32-byte key, and the key ID must equal the one derived from name, type and key. Other
    /// types give [`NoteError::UnsupportedSignatureType`].
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        // The name cannot contain '+', the hex ID cannot either, the base64 may.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::MalformedVerifierKey("expected name+keyid+key"));
        };
        if !is_valid_name(name) {
            return Err(NoteError::MalformedVerifierKey("invalid key name"));
        }
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(NoteError::MalformedVerifierKey(
                "key ID is not eight lowercase hex digits",
            ));
        }
        let key_id_given = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedVerifierKey("key ID is not hex"))?;
        let material =
            decode_base64(b64).ok_or(NoteError::MalformedVerifierKey("key is not base64"))?;
        let (&signature_type, key) = material
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("empty key"))?;
        if signature_type != SIG_TYPE_ED25519 && signature_type != SIG_TYPE_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedSignatureType(signature_type));
        }
        let public_key: [u8; KEY_LEN] = key
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("Ed25519 key is not 32 bytes"))?;
        if key_id(name, signature_type, &public_key) != key_id_given {
            return Err(NoteError::MalformedVerifierKey(
                "key ID does not match name and key",
            ));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id_given,
            signature_type,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type: [`SIG_TYPE_ED25519`] or [`SIG_TYPE_COSIGNATURE_V1`].
    pub fn signature_type(&self) -> u8 {
        self.signature_type
    }

    /// The verifier key string, as [`NoteVerifier::from_vkey`] reads it.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.signature_type, &self.public_key)
    }

    /// Verifies a signature (the bytes after the key ID) over note text. `Some(None)` for a
    /// valid note signature, `Some(Some(t))` for a valid cosignature made at time `t`, `None`
    /// if it does not verify.
    fn verify(&self, body: &str, signature: &[u8]) -> Option<Option<u64>> {
        let key = UnparsedPublicKey::new(&ED25519, &self.public_key);
        match self.signature_type {
            SIG_TYPE_ED25519 => {
                // signed-note, "Ed25519 signatures": RFC 8032 over the note text.
                key.verify(body.as_bytes(), signature).ok().map(|()| None)
            }
            SIG_TYPE_COSIGNATURE_V1 => {
                // tlog-cosignature, "Format": u64 timestamp (at most 2^63 - 1) || Ed25519.
                if signature.len() != TIMESTAMP_LEN + ED25519_SIG_LEN {
                    return None;
                }
                let (ts, sig) = signature.split_at(TIMESTAMP_LEN);
                let timestamp = u64::from_be_bytes(ts.try_into().ok()?);
                if timestamp > i64::MAX as u64 {
                    return None;
                }
                let message = cosignature_v1_message(timestamp, body);
                key.verify(&message, sig).ok().map(|()| Some(timestamp))
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.vkey())
    }
}

/// A note whose signatures were checked by [`open_note`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text, including its final newline, excluding the empty line and signatures.
    pub body: String,
    /// The names of the known keys whose signatures verified (note signatures and
    /// cosignatures), one entry per key, in order of first appearance.
    pub verified: Vec<String>,
    /// For each known cosigner key (type `0x04`) that verified: its name and the cosignature
    /// timestamp (POSIX seconds; the latest if the key signed more than once).
    pub cosigned_at: Vec<(String, u64)>,
}

/// Parses a signed note and verifies its signatures against trusted keys (signed-note,
/// "Format" and "Signatures").
///
/// Rejects, with an error: malformed notes (control characters, no final newline, no empty line
/// before the signatures, no signature lines, a malformed signature line); more than
/// [`MAX_SIGNATURES`] signature lines; a signature naming a known key (same name and key ID)
/// that does not verify, as the spec recommends ([`NoteError::InvalidSignature`]); a signature
/// matching two different configured keys ([`NoteError::AmbiguousKey`]); and notes in which no
/// known key's signature verified ([`NoteError::NoVerifiedSignature`]). Signatures from unknown
/// keys, including ones sharing only the name or only the key ID with a known key, are ignored.
///
/// A cosignature verifier checks its signature over the note text as it is; to treat the text
/// as a checkpoint, parse [`OpenedNote::body`] with [`Checkpoint::parse_body`].
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    let (body, sigs) = split_note(note)?;
    let mut verified: Vec<(&str, u32)> = Vec::new();
    let mut cosigned: Vec<(&str, u32, u64)> = Vec::new();
    for sig in &sigs {
        let mut matching = verifiers
            .iter()
            .filter(|v| v.name == sig.name && v.key_id == sig.key_id);
        let Some(verifier) = matching.next() else {
            continue;
        };
        if matching.any(|other| other != verifier) {
            return Err(NoteError::AmbiguousKey {
                name: sig.name.to_owned(),
                key_id: sig.key_id,
            });
        }
        let outcome =
            verifier
                .verify(body, &sig.signature)
                .ok_or_else(|| NoteError::InvalidSignature {
                    name: sig.name.to_owned(),
                    key_id: sig.key_id,
                })?;
        if !verified.contains(&(sig.name, sig.key_id)) {
            verified.push((sig.name, sig.key_id));
        }
        if let Some(timestamp) = outcome {
            match cosigned
                .iter_mut()
                .find(|(n, id, _)| *n == sig.name && *id == sig.key_id)
            {
                Some(entry) => entry.2 = entry.2.max(timestamp),
                None => cosigned.push((sig.name, sig.key_id, timestamp)),
            }
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoVerifiedSignature);
    }
    Ok(OpenedNote {
        body: body.to_owned(),
        verified: verified.into_iter().map(|(n, _)| n.to_owned()).collect(),
        cosigned_at: cosigned
            .into_iter()
            .map(|(n, _, t)| (n.to_owned(), t))
            .collect(),
    })
}

/// Appends signature lines (e.g. cosignatures from [`NoteSigner::cosign`] or a tlog-witness
/// `add-checkpoint` response split into lines) to a signed note, after its existing signatures.
///
/// Each element is one signature line, with or without its final newline; lines already in the
/// note are skipped. Both the note and the lines must be well formed, and the result may hold
/// at most [`MAX_SIGNATURES`] signatures. Nothing is verified here: use [`open_note`].
pub fn add_signatures(note: &str, signature_lines: &[String]) -> Result<String, NoteError> {
    let (body, sigs) = split_note(note)?;
    let mut lines: Vec<&str> = sigs.iter().map(|s| s.line).collect();
    for line in signature_lines {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.contains('\n') || has_control_chars(line) {
            return Err(NoteError::MalformedNote(
                "signature line spans several lines",
            ));
        }
        parse_signature_line(line)?;
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    let mut out = String::with_capacity(note.len() + 128 * signature_lines.len());
    out.push_str(body);
    out.push('\n');
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Reads a signing key file written by [`ensure_signer_key_file`] (hex of an Ed25519 PKCS#8
/// document; surrounding whitespace ignored) or holding the raw PKCS#8 DER bytes, and returns
/// the signer named `name`.
pub fn read_signer_key_file(path: &Path, name: &str) -> Result<NoteSigner, NoteError> {
    let raw = std::fs::read(path).map_err(|source| NoteError::KeyFile {
        path: path.to_path_buf(),
        source,
    })?;
    let from_hex = std::str::from_utf8(&raw)
        .ok()
        .and_then(|text| hex::decode(text.trim()).ok());
    let pkcs8 = from_hex.unwrap_or(raw);
    NoteSigner::from_pkcs8(name, &pkcs8)
}

/// Creates a signing key file with a fresh Ed25519 key (hex PKCS#8 and a newline, mode 0600 on
/// Unix) unless the file already exists; creates missing parent directories. Returns whether a
/// key was created. Creation is exclusive (`create_new`), so concurrent callers cannot overwrite
/// each other's key; a failed write removes the partial file.
pub fn ensure_signer_key_file(path: &Path) -> Result<bool, NoteError> {
    let io_err = |source| NoteError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        return Ok(false);
    }
    let pkcs8 = NoteSigner::generate_pkcs8()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = match opts.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io_err(e)),
    };
    let written = file
        .write_all(format!("{}\n", hex::encode(&pkcs8)).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // Best effort: a partial key file must not be mistaken for a key later.
        let _ = std::fs::remove_file(path);
        return Err(io_err(e));
    }
    Ok(true)
}
