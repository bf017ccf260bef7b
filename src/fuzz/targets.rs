//! The targets outside the API layer: tokens and claims, domain newtypes, policy bundles and
//! their signatures, signed notes and checkpoints, verifier keys, the witness, the config.

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::{gist, keys};
use crate::auth::{AuthError, TokenVerifier, VerifierSettings, MAX_REASON_CHARS};
use crate::disclosure::checkpoint::{add_signatures, open_note, Checkpoint, NoteVerifier};
use crate::disclosure::merkle::{leaf_hash, root_from_leaves, Hash};
use crate::policy::bundle::{write_tar_gz, Bundle, MAX_UNCOMPRESSED};
use crate::policy::signing::{self, key_config, BundleVerifier, Verified};
use crate::policy::{ConvenantSummary, PolicyError};
use crate::registry::{RegisteredKey, RegisteredPartner};
use crate::witness::AddCheckpointError;

fn utf8(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

// --- Tokens -----------------------------------------------------------------------------------

/// The OIN, certificate thumbprint and audience the token targets verify against.
pub const PARTNER_OIN: &str = "00000099000000000042";
pub const THUMBPRINT: &str = "dGh1bWJwcmludC1vZi10aGUtZnV6ei1jbGllbnQtY2VydA";
const OTHER_THUMBPRINT: &str = "b3RoZXItdGh1bWJwcmludC1vZi1hbm90aGVyLWNlcnQtYQ";
pub const AUDIENCE: &str = "vhgate";

struct TokenSetup {
    settings: VerifierSettings,
    partner: RegisteredPartner,
    convenant: ConvenantSummary,
    ed: EncodingKey,
    es: EncodingKey,
}

/// A partner with an EdDSA key `k-ed` and an ES256 key `k-es`, fresh per process.
fn token_setup() -> &'static TokenSetup {
    static SETUP: OnceLock<TokenSetup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let pair = |alg: &'static rcgen::SignatureAlgorithm| {
            let key =
                rcgen::KeyPair::generate_for(alg).unwrap_or_else(|e| panic!("fuzz token key: {e}"));
            (key.serialize_pem(), key.public_key_pem())
        };
        let (ed_private, ed_public) = pair(&rcgen::PKCS_ED25519);
        let (es_private, es_public) = pair(&rcgen::PKCS_ECDSA_P256_SHA256);
        let must = |r: Result<DecodingKey, jsonwebtoken::errors::Error>| {
            r.unwrap_or_else(|e| panic!("fuzz token key: {e}"))
        };
        let must_enc = |r: Result<EncodingKey, jsonwebtoken::errors::Error>| {
            r.unwrap_or_else(|e| panic!("fuzz token key: {e}"))
        };
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        TokenSetup {
            settings: VerifierSettings {
                audience: AUDIENCE.into(),
                leeway_secs: 30,
                max_lifetime_secs: 900,
                cache_entries: 16,
            },
            partner: RegisteredPartner {
                oin: PARTNER_OIN.into(),
                name: "Fuzz".into(),
                partner_type: "gemeente".into(),
                active: true,
                keys: vec![
                    RegisteredKey {
                        kid: "k-ed".into(),
                        alg: Algorithm::EdDSA,
                        key: must(DecodingKey::from_ed_pem(ed_public.as_bytes())),
                        not_after: None,
                    },
                    RegisteredKey {
                        kid: "k-es".into(),
                        alg: Algorithm::ES256,
                        key: must(DecodingKey::from_ec_pem(es_public.as_bytes())),
                        not_after: None,
                    },
                ],
                allowed_thumbprints: vec![],
            },
            convenant: ConvenantSummary {
                roles: set(&["professional", "procesregisseur", "privacy_officer"]),
                purposes: set(&["casusoverleg", "signalering", "spoed"]),
                partner_types: set(&["gemeente"]),
                ..ConvenantSummary::default()
            },
            ed: must_enc(EncodingKey::from_ed_pem(ed_private.as_bytes())),
            es: must_enc(EncodingKey::from_ec_pem(es_private.as_bytes())),
        }
    })
}

/// The slug; for a malformed token also the gist (other variants echo claims or are fixed).
fn auth_label(e: &AuthError) -> String {
    match e {
        AuthError::Malformed(m) => format!("{} {}", e.slug(), gist(m)),
        AuthError::MissingClaim(c) => format!("{} {c}", e.slug()),
        _ => e.slug().to_string(),
    }
}

/// A bearer token as presented: it must never verify, whatever the bytes.
pub fn token(data: &[u8]) -> String {
    let s = token_setup();
    let Some(text) = utf8(data) else {
        return "not UTF-8".into();
    };
    let verifier = TokenVerifier::new(s.settings.clone());
    let now = chrono::Utc::now().timestamp();
    match verifier.verify(text.trim(), &s.partner, THUMBPRINT, &s.convenant, now) {
        Ok(_) => panic!("a token made of fuzz input verified: {text:?}"),
        Err(e) => auth_label(&e),
    }
}

/// `[<JWT header JSON>\n]<claims JSON>`, signed here with the partner's registered key, so the
/// claims' parse and checks run (`@now` and `@exp` stand for now and now + 300 s). Whatever
/// verifies must satisfy every claim rule, and stays bound to its certificate.
pub fn claims(data: &[u8]) -> String {
    let s = token_setup();
    let Some(text) = utf8(data) else {
        return "not UTF-8".into();
    };
    let now = chrono::Utc::now().timestamp();
    let text = text
        .replace("@now", &now.to_string())
        .replace("@exp", &(now + 300).to_string());
    let (header, payload) = match text.split_once('\n') {
        Some((h, p)) if h.trim_start().starts_with('{') => (h.to_string(), p),
        _ => (r#"{"alg":"EdDSA","kid":"k-ed"}"#.to_string(), text.as_str()),
    };
    let (alg, key) = if header.contains("ES256") {
        (Algorithm::ES256, &s.es)
    } else {
        (Algorithm::EdDSA, &s.ed)
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.as_bytes()),
        URL_SAFE_NO_PAD.encode(payload.as_bytes())
    );
    let signature = crate::crypto::jwt::sign_raw(message.as_bytes(), key, alg)
        .unwrap_or_else(|e| panic!("signing: {e}"));
    let token = format!("{message}.{signature}");
    let verifier = TokenVerifier::new(s.settings.clone());
    let verified = match verifier.verify(&token, &s.partner, THUMBPRINT, &s.convenant, now) {
        Ok(v) => v,
        Err(e) => return auth_label(&e),
    };
    let c = &verified.claims;
    let leeway = s.settings.leeway_secs as i64;
    assert_eq!(c.iss, PARTNER_OIN, "issuer");
    assert_eq!(c.cnf.x5t_s256, THUMBPRINT, "certificate binding");
    assert!(s.convenant.roles.contains(&c.role), "role {:?}", c.role);
    assert!(s.convenant.purposes.contains(&c.purpose), "purpose");
    assert!(c.exp > now - leeway, "expired token accepted");
    assert!(c.iat <= now + leeway, "future iat accepted");
    assert!(
        c.nbf.is_none_or(|nbf| nbf <= now + leeway),
        "future nbf accepted"
    );
    let lifetime = i128::from(c.exp) - i128::from(c.iat);
    assert!(
        (0..=900).contains(&lifetime),
        "lifetime {lifetime} accepted"
    );
    assert!(
        !c.sub.trim().is_empty() && !c.jti.trim().is_empty(),
        "blank sub or jti"
    );
    if let Some(r) = &c.reason {
        assert!(!r.trim().is_empty() && r.chars().count() <= MAX_REASON_CHARS);
        assert!(
            !r.chars().any(char::is_control),
            "control character in reason"
        );
    }
    let aud_ok = match &c.aud {
        crate::auth::Audience::One(a) => a == AUDIENCE,
        crate::auth::Audience::Many(list) => list.iter().any(|a| a == AUDIENCE),
    };
    assert!(aud_ok, "audience");
    assert!(
        s.partner
            .keys
            .iter()
            .any(|k| Some(k.kid.as_str()) == verified.kid.as_deref()),
        "kid"
    );
    // The claims read back as themselves (they are what the policy input is built from).
    let back: Result<crate::auth::Claims, _> =
        serde_json::to_value(c).and_then(serde_json::from_value);
    assert_eq!(back.as_ref().ok(), Some(c), "claims do not round-trip");
    // Cached: the same answer; over another certificate: refused.
    let again = verifier.verify(&token, &s.partner, THUMBPRINT, &s.convenant, now);
    assert_eq!(again.map(|v| v.claims.clone()).as_ref(), Ok(c));
    let other = verifier.verify(&token, &s.partner, OTHER_THUMBPRINT, &s.convenant, now);
    assert_eq!(other.err(), Some(AuthError::CertificateBinding));
    "verified".into()
}

// --- Domain newtypes --------------------------------------------------------------------------

const DOMAIN: &[&str] = &[
    "bsn",
    "oin",
    "purpose",
    "role",
    "leefgebied",
    "category",
    "phase",
    "case_kind",
];

fn elfproef(digits: &[u8]) -> bool {
    let d: Vec<i64> = digits.iter().map(|b| i64::from(b - b'0')).collect();
    let sum: i64 = (0..8).map(|i| (9 - i as i64) * d[i]).sum::<i64>() - d[8];
    sum % 11 == 0
}

/// Round trip through JSON, as the policy input and the store carry them.
fn json_round_trip<T>(v: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let back: Result<T, _> = serde_json::to_string(v).and_then(|j| serde_json::from_str(&j));
    assert_eq!(back.as_ref().ok(), Some(v), "JSON round trip");
}

/// `kind\n<text>`: a domain newtype's parse; what parses has its shape and round-trips.
pub fn domain(data: &[u8]) -> String {
    use crate::domain::*;
    let (kind, bytes) = crate::api::fuzzing::select(data, DOMAIN);
    let Some(s) = utf8(bytes) else {
        return "not UTF-8".into();
    };
    let outcome: Result<(), DomainError> = (|| {
        match kind {
            "bsn" => {
                let b: Bsn = s.parse()?;
                let d = b.expose().as_bytes();
                assert!(
                    d.len() == 9 && d.iter().all(u8::is_ascii_digit),
                    "BSN shape"
                );
                assert!(elfproef(d) && b.expose() != "000000000", "elfproef");
                let debug = format!("{b:?}");
                assert!(!debug.bytes().any(|c| c.is_ascii_digit()), "BSN in Debug");
            }
            "oin" => {
                let o: Oin = s.parse()?;
                assert_eq!(o.to_string(), s);
                json_round_trip(&o);
            }
            "purpose" => {
                let p: Purpose = s.parse()?;
                assert_eq!(p.as_str(), s);
                json_round_trip(&p);
            }
            "role" => {
                let r: Role = s.parse()?;
                assert_eq!(r.as_str(), s);
                json_round_trip(&r);
            }
            "leefgebied" => {
                let l: Leefgebied = s.parse()?;
                assert_eq!(l.as_str(), s);
                json_round_trip(&l);
            }
            "category" => {
                let c: Category = s.parse()?;
                assert_eq!(c.as_str(), s);
                json_round_trip(&c);
            }
            "phase" => {
                let p: Phase = s.parse()?;
                assert_eq!(p.as_str(), s);
                json_round_trip(&p);
            }
            _ => {
                let k: CaseKind = s.parse()?;
                assert_eq!(k.as_str(), s);
                json_round_trip(&k);
            }
        }
        Ok(())
    })();
    match outcome {
        Ok(()) => format!("{kind}: ok"),
        Err(e) => {
            // An echo of the input in the error is clipped, so a log line stays short.
            assert!(e.to_string().chars().count() <= 128, "long error: {e}");
            let variant = format!("{e:?}");
            format!("{kind}: {}", variant.split('(').next().unwrap_or_default())
        }
    }
}

// --- Policy bundles ---------------------------------------------------------------------------

fn bundle_verifier() -> &'static BundleVerifier {
    static VERIFIER: OnceLock<BundleVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let (_, public) = keys::bundle_key_pems();
        BundleVerifier::from_config(&crate::config::BundleSigningConfig {
            required: false,
            scope: None,
            keys: vec![key_config(keys::BUNDLE_KEY_ID, "EdDSA", &public)],
        })
        .unwrap_or_else(|e| panic!("fuzz bundle verifier: {e}"))
    })
}

/// A policy bundle (`.tar.gz`) as `POST /v1/admin/policy-bundles` receives it. An input that
/// is not gzip (no `1f 8b` magic) is taken as the tar inside and compressed here first, so
/// mutations reach the tar reader instead of dying in the gzip checksum.
pub fn bundle(data: &[u8]) -> String {
    use std::io::Write as _;
    let compressed;
    let (layer, bytes) = if data.starts_with(&[0x1f, 0x8b]) {
        ("gz", data)
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        compressed = gz
            .write_all(data)
            .and_then(|()| gz.finish())
            .unwrap_or_else(|e| panic!("gzip in memory: {e}"));
        ("tar", compressed.as_slice())
    };
    let b = match Bundle::from_tar_gz(bytes) {
        Ok(b) => b,
        Err(e) => {
            assert!(
                matches!(e, PolicyError::Bundle(_) | PolicyError::Data { .. }),
                "untyped bundle error {e:?}"
            );
            return format!("{layer} refused: {}", gist(&e.to_string()));
        }
    };
    let mut total = 0u64;
    for (name, bytes) in &b.files {
        assert!(
            !name.is_empty()
                && !name.starts_with('/')
                && name
                    .split('/')
                    .all(|p| !p.is_empty() && p != "." && p != ".."),
            "unsafe name {name:?}"
        );
        total += bytes.len() as u64;
    }
    assert!(
        total <= MAX_UNCOMPRESSED,
        "{total} bytes read from a bundle"
    );
    assert!(!b.manifest.revision.trim().is_empty(), "blank revision");
    assert!(
        b.manifest.rego_version.is_none_or(|v| v == 1),
        "rego_version"
    );
    assert!(!b.sources.modules.is_empty(), "no modules");
    let signature = match b.verify_signature(bundle_verifier()) {
        Ok(Verified::Signed { key_id }) => {
            assert_eq!(key_id, keys::BUNDLE_KEY_ID);
            "signed".to_string()
        }
        Ok(Verified::Unsigned) => "unsigned".to_string(),
        Err(e) => gist(&e.to_string()),
    };
    // Written back out, the bundle reads back the same (what a signature covers included).
    let mut files = b.files.clone();
    if let Some(s) = &b.signatures {
        files.push((signing::SIGNATURES_FILE.into(), s.as_bytes().to_vec()));
    }
    let again = write_tar_gz(&files)
        .and_then(|bytes| Bundle::from_tar_gz(&bytes))
        .unwrap_or_else(|e| panic!("a bundle that was read does not write back: {e}"));
    assert_eq!(again.files, b.files, "files differ after a round trip");
    assert_eq!(again.manifest, b.manifest);
    assert_eq!(again.signatures, b.signatures);
    format!("{layer} read, {signature}")
}

/// The files the `bundle_signatures` target's signatures are checked against.
pub fn signed_files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            ".manifest".into(),
            br#"{"revision":"fuzz","rego_version":1}"#.to_vec(),
        ),
        (
            "data.json".into(),
            br#"{"convenant": {"region": "fuzz", "roles": ["professional"]}}"#.to_vec(),
        ),
        (
            "vhgate/policy.rego".into(),
            b"package vhgate\n\nallow := false\n".to_vec(),
        ),
    ]
}

/// A `.signatures.json`, checked against [`signed_files`] and the fuzz bundle key.
pub fn bundle_signatures(data: &[u8]) -> String {
    let Some(text) = utf8(data) else {
        return "not UTF-8".into();
    };
    match bundle_verifier().verify(&signed_files(), Some(text)) {
        Ok(Verified::Signed { key_id }) => {
            assert_eq!(key_id, keys::BUNDLE_KEY_ID);
            "signed".into()
        }
        Ok(Verified::Unsigned) => panic!("a signatures file read as unsigned"),
        Err(e) => gist(&e.to_string()),
    }
}

/// OPA's canonical JSON of a structured bundle file (what signatures hash).
pub fn canonical_json(data: &[u8]) -> String {
    let canonical = match signing::canonical_json(data) {
        Ok(c) => c,
        Err(e) => return format!("refused: {}", gist(&e)),
    };
    assert_eq!(
        signing::canonical_json(&canonical).as_ref(),
        Ok(&canonical),
        "canonical form is not a fixed point"
    );
    // serde_json (which the engine loads bundle data with) must read the input too, but for
    // what OPA's Go reader takes and serde_json does not: numbers beyond f64, unpaired
    // surrogates (Go writes U+FFFD) and nesting at the limit. Where both read it, they agree.
    match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(original) => {
            let back: serde_json::Value = serde_json::from_slice(&canonical)
                .unwrap_or_else(|e| panic!("canonical form is not JSON: {e}"));
            assert_eq!(back, original, "canonical form means something else");
            "ok".into()
        }
        Err(e) => {
            let m = e.to_string();
            let known = [
                "number out of range",
                "surrogate",
                "hex escape",
                "code point",
                "recursion limit",
            ];
            assert!(
                known.iter().any(|k| m.contains(k)),
                "canonical JSON accepts what serde_json refuses: {m}"
            );
            format!("ok, serde_json refuses: {}", gist(&m))
        }
    }
}

// --- Signed notes, checkpoints, verifier keys, the witness ------------------------------------

struct NoteSetup {
    log: crate::disclosure::checkpoint::NoteSigner,
    witness: crate::disclosure::checkpoint::NoteSigner,
    verifiers: Vec<NoteVerifier>,
}

fn note_setup() -> &'static NoteSetup {
    static SETUP: OnceLock<NoteSetup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let log = keys::log_signer();
        let witness = keys::witness_signer();
        let verifiers = [log.verifier_key(), witness.cosignature_verifier_key()]
            .iter()
            .map(|v| NoteVerifier::from_vkey(v).unwrap_or_else(|e| panic!("fuzz vkey: {e}")))
            .collect();
        NoteSetup {
            log,
            witness,
            verifiers,
        }
    })
}

/// A signed checkpoint note as a witness, auditor or `vhgate log verify` reads it; verified
/// against the fuzz log key and the fuzz witness's cosigning key.
pub fn checkpoint(data: &[u8]) -> String {
    let s = note_setup();
    let Some(note) = utf8(data) else {
        return "not UTF-8".into();
    };
    // The note text alone, as a checkpoint body: it re-encodes to exactly itself.
    if let Ok(cp) = Checkpoint::parse_body(note) {
        assert_eq!(cp.body(), note, "checkpoint body does not round-trip");
        assert!(
            cp.validate().is_ok(),
            "a parsed checkpoint does not validate"
        );
    }
    let opened = match open_note(note, &s.verifiers) {
        Ok(o) => o,
        Err(e) => return format!("refused: {}", gist(&e.to_string())),
    };
    assert!(
        note.len() > opened.body.len()
            && note.starts_with(&opened.body)
            && note[opened.body.len()..].starts_with('\n'),
        "the body is not the note's text"
    );
    let lines: Vec<&str> = note[opened.body.len() + 1..].lines().collect();
    for name in &opened.verified {
        assert!(
            name == keys::LOG_NAME || name == keys::WITNESS_NAME,
            "{name}"
        );
    }
    // Ed25519 is deterministic: a verified log signature is the one the key makes.
    if opened.verified.iter().any(|n| n == keys::LOG_NAME) {
        let signed = s
            .log
            .sign_note(&opened.body)
            .unwrap_or_else(|e| panic!("a verified body cannot be signed: {e}"));
        let line = signed[opened.body.len() + 1..].trim_end();
        assert!(
            lines.contains(&line),
            "log signature verified but not the key's"
        );
    }
    let cp = Checkpoint::parse_body(&opened.body);
    for (name, t) in &opened.cosigned_at {
        assert_eq!(name, keys::WITNESS_NAME);
        assert!(*t <= i64::MAX as u64, "cosignature time");
        if let Ok(cp) = &cp {
            let line = s
                .witness
                .cosign(cp, *t)
                .unwrap_or_else(|e| panic!("cannot cosign a verified checkpoint: {e}"));
            assert!(
                lines.contains(&line.trim_end()),
                "cosignature not the key's"
            );
        }
    }
    // Re-assembled without new lines, the note opens the same.
    let again = add_signatures(note, &[])
        .and_then(|n| open_note(&n, &s.verifiers))
        .unwrap_or_else(|e| panic!("an opened note does not re-assemble: {e}"));
    assert_eq!(again.body, opened.body);
    assert_eq!(again.verified, opened.verified);
    match cp {
        Ok(_) => format!("checkpoint, verified by {}", opened.verified.join("+")),
        Err(e) => format!("note, verified; body {}", gist(&e.to_string())),
    }
}

/// A C2SP verifier key (`name+hexid+base64`), as configured for the log and the witnesses.
pub fn vkey(data: &[u8]) -> String {
    let Some(text) = utf8(data) else {
        return "not UTF-8".into();
    };
    match NoteVerifier::from_vkey(text) {
        Ok(v) => {
            assert_eq!(v.vkey(), text, "verifier key does not round-trip");
            format!("ok type {}", v.signature_type())
        }
        Err(e) => format!("refused: {}", gist(&e.to_string())),
    }
}

/// The fixed leaves of the fuzz log: the genuine tree every seed checkpoint describes.
pub fn fuzz_leaves() -> Vec<Hash> {
    (0..16)
        .map(|i| leaf_hash(format!("fuzz entry {i}").as_bytes()))
        .collect()
}

/// The size of the checkpoint the witness has cosigned before every input (unless the input
/// starts with `old 0`, which finds the witness fresh).
pub const WITNESS_STATE_SIZE: u64 = 3;
/// The time the witness cosigns at.
pub const WITNESS_NOW: u64 = 1_800_000_000;

struct WitnessSetup {
    dir: PathBuf,
    key: PathBuf,
    log_vkey: String,
    state_note: String,
}

/// The genuine checkpoint of the first `size` fuzz leaves, signed by the fuzz log key.
pub fn fuzz_checkpoint(size: u64) -> String {
    let leaves = fuzz_leaves();
    let root = root_from_leaves(&leaves[..size as usize]);
    keys::log_signer()
        .sign_checkpoint(&Checkpoint {
            origin: keys::LOG_NAME.into(),
            size,
            root,
            extensions: vec![],
        })
        .unwrap_or_else(|e| panic!("fuzz checkpoint: {e}"))
}

/// The witness target's scratch folder (key and state files) of this process; remove it when
/// done.
pub fn witness_dir() -> PathBuf {
    std::env::temp_dir().join(format!("vhgate-fuzz-witness-{}", std::process::id()))
}

fn witness_setup() -> &'static WitnessSetup {
    static SETUP: OnceLock<WitnessSetup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = witness_dir();
        let key = dir.join("witness.key");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&key, hex::encode(keys::ed25519_pkcs8(2))))
            .unwrap_or_else(|e| panic!("fuzz witness dir: {e}"));
        WitnessSetup {
            dir,
            key,
            log_vkey: keys::log_signer().verifier_key(),
            state_note: fuzz_checkpoint(WITNESS_STATE_SIZE),
        }
    })
}

/// A tlog-witness `add-checkpoint` body, to a witness that cosigned the genuine checkpoint of
/// size [`WITNESS_STATE_SIZE`] before. Whatever it cosigns is the genuine tree.
pub fn witness(data: &[u8]) -> String {
    let s = witness_setup();
    let Some(body) = utf8(data) else {
        return "not UTF-8".into();
    };
    // One state file per thread: targets may run in parallel.
    let state = s
        .dir
        .join(format!("state-{:?}", std::thread::current().id()));
    let fresh = body.starts_with("old 0\n");
    let prepared = if fresh {
        std::fs::remove_file(&state).or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
    } else {
        std::fs::write(&state, &s.state_note)
    };
    prepared.unwrap_or_else(|e| panic!("fuzz witness state: {e}"));
    let service =
        crate::witness::WitnessService::open(&s.log_vkey, &s.key, keys::WITNESS_NAME, &state)
            .unwrap_or_else(|e| panic!("fuzz witness: {e}"));
    let before = service.latest().ok().flatten();
    let result = service.add_checkpoint(body, WITNESS_NOW);
    // Past the 400s, the head was read: `old <canonical decimal>` and proof lines, no CRs.
    if !matches!(result, Err(AddCheckpointError::BadRequest(_))) {
        let head = body.split("\n\n").next().unwrap_or_default();
        let old = head.split('\n').next().unwrap_or_default();
        let canonical = old.strip_prefix("old ").is_some_and(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0'))
        });
        assert!(canonical, "non-canonical {old:?} accepted");
        assert!(!head.contains('\r'), "carriage return in the head accepted");
    }
    let line = match result {
        Ok(line) => line,
        Err(e) => return format!("{} {}", e.status(), gist(&e.to_string())),
    };
    let cp = service
        .latest()
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("cosigned, but no latest checkpoint"));
    assert_eq!(cp.origin, keys::LOG_NAME);
    if let Some(prev) = &before {
        assert!(cp.size >= prev.size, "rollback cosigned");
        if cp.size == prev.size {
            assert_eq!(cp.root, prev.root, "fork cosigned");
        }
        if prev.size > 0 && cp.size > prev.size && cp.size <= fuzz_leaves().len() as u64 {
            let genuine = root_from_leaves(&fuzz_leaves()[..cp.size as usize]);
            assert_eq!(cp.root, genuine, "an inconsistent tree cosigned");
        }
    }
    // The answer is one cosignature line that verifies over the checkpoint.
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line:?}"
    );
    let note = body.split_once("\n\n").map(|(_, n)| n).unwrap_or_default();
    let witness_key = NoteVerifier::from_vkey(&keys::witness_signer().cosignature_verifier_key())
        .unwrap_or_else(|e| panic!("{e}"));
    let opened = add_signatures(note, std::slice::from_ref(&line))
        .and_then(|n| open_note(&n, std::slice::from_ref(&witness_key)))
        .unwrap_or_else(|e| panic!("the cosignature does not verify: {e}"));
    assert_eq!(
        opened.cosigned_at,
        vec![(keys::WITNESS_NAME.to_string(), WITNESS_NOW)]
    );
    format!("cosigned {}", if fresh { "fresh" } else { "after state" })
}

// --- Configuration ----------------------------------------------------------------------------

/// A configuration file (TOML), parsed and validated as at start-up; what is accepted writes
/// back to TOML that reads as the same configuration.
pub fn config(data: &[u8]) -> String {
    let Some(text) = utf8(data) else {
        return "not UTF-8".into();
    };
    let c = match crate::config::Config::from_toml(text) {
        Ok(c) => c,
        Err(crate::config::ConfigError::Invalid { field, .. }) => {
            return format!("invalid {field}")
        }
        Err(crate::config::ConfigError::Load(m)) => return format!("load {}", gist(&m)),
    };
    if let Ok(written) = toml::to_string(&c) {
        let again = crate::config::Config::from_toml(&written)
            .unwrap_or_else(|e| panic!("written config does not read back: {e}\n{written}"));
        let (a, b) = (
            serde_json::to_value(&c).ok(),
            serde_json::to_value(&again).ok(),
        );
        assert_eq!(a, b, "config differs after a TOML round trip");
    }
    "ok".into()
}
