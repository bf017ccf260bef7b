//! Test support: keys made, and JWS signatures made and checked, by the `openssl` command
//! (OpenSSL 3), the second implementation ring's signatures are checked against.
//!
//! Keys are generated once per test run and held in memory; no private key is committed. Each
//! call works in its own temporary folder. Without an OpenSSL 3 `openssl` on `PATH` the tests
//! fail (CI has it), they do not skip. Only the command-line tool is used: the `openssl` crate
//! stays banned (deny.toml) and nothing links OpenSSL.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use jsonwebtoken::Algorithm;

/// The key types vhgate's JWT algorithms use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// The key type that signs with `alg` (RSA for RS* and PS*).
    pub fn for_algorithm(alg: Algorithm) -> KeyKind {
        match alg {
            Algorithm::ES256 => KeyKind::P256,
            Algorithm::ES384 => KeyKind::P384,
            Algorithm::EdDSA => KeyKind::Ed25519,
            _ => KeyKind::Rsa2048,
        }
    }

    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            KeyKind::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyKind::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyKind::P384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            KeyKind::Ed25519 => &["-algorithm", "ED25519"],
        }
    }
}

/// A key pair made by `openssl genpkey`, as PEM.
pub struct OpensslKey {
    /// PKCS#8 (for Ed25519 v1, without the public key: what OpenSSL writes).
    pub private_pem: String,
    /// SubjectPublicKeyInfo.
    pub public_pem: String,
    /// PKCS#1 `RSAPublicKey` (`openssl rsa -RSAPublicKey_out`); RSA keys only.
    pub rsa_pkcs1_public_pem: Option<String>,
}

/// The key of this kind for the whole test run, generated on first use.
pub fn key(kind: KeyKind) -> &'static OpensslKey {
    static KEYS: [OnceLock<OpensslKey>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    KEYS[kind as usize].get_or_init(|| generate(kind))
}

fn generate(kind: KeyKind) -> OpensslKey {
    check_version();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut genpkey = vec!["genpkey"];
    genpkey.extend_from_slice(kind.genpkey_args());
    genpkey.extend_from_slice(&["-out", "key.pem"]);
    run(dir.path(), &genpkey);
    let public_pem = text(run(dir.path(), &["pkey", "-in", "key.pem", "-pubout"]));
    let rsa_pkcs1_public_pem = (kind == KeyKind::Rsa2048).then(|| {
        text(run(
            dir.path(),
            &["rsa", "-in", "key.pem", "-RSAPublicKey_out"],
        ))
    });
    OpensslKey {
        private_pem: std::fs::read_to_string(dir.path().join("key.pem")).expect("key.pem"),
        public_pem,
        rsa_pkcs1_public_pem,
    }
}

impl OpensslKey {
    /// OpenSSL's JWS signature of `message` under `alg`: PKCS#1 v1.5 or PSS (salt length =
    /// digest length, as RFC 7518 asks) for RSA, the fixed-width r || s for ECDSA, raw
    /// Ed25519 for EdDSA.
    pub fn sign(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "key.pem", self.private_pem.as_bytes());
        write(dir.path(), "msg", message);
        if alg == Algorithm::EdDSA {
            let args = [
                "pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "msg",
            ];
            return run(dir.path(), &args);
        }
        let mut args = vec!["dgst", digest(alg), "-sign", "key.pem"];
        args.extend_from_slice(pss_options(alg));
        args.push("msg");
        let sig = run(dir.path(), &args);
        match coordinate_len(alg) {
            Some(len) => der_to_fixed(&sig, len),
            None => sig,
        }
    }

    /// Whether OpenSSL accepts `signature` (JWS form, as [`OpensslKey::sign`] gives it) of
    /// `message` under this key's public half. Anything but a clear yes or no panics, so a
    /// broken invocation cannot pass for a refused signature.
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "pub.pem", self.public_pem.as_bytes());
        write(dir.path(), "msg", message);
        let args: Vec<&str> = if alg == Algorithm::EdDSA {
            write(dir.path(), "sig", signature);
            vec![
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
                "-sigfile", "sig",
            ]
        } else {
            match coordinate_len(alg) {
                Some(_) => write(dir.path(), "sig", &fixed_to_der(signature)),
                None => write(dir.path(), "sig", signature),
            }
            let mut args = vec!["dgst", digest(alg), "-verify", "pub.pem"];
            args.extend_from_slice(pss_options(alg));
            args.extend_from_slice(&["-signature", "sig", "msg"]);
            args
        };
        let out = openssl(dir.path(), &args);
        let said = String::from_utf8_lossy(&out.stdout).to_lowercase();
        match out.status.code() {
            Some(0) if said.contains("verified ok") || said.contains("verified successfully") => {
                true
            }
            Some(1) if said.contains("verification failure") => false,
            _ => panic!("openssl {args:?}: unexpected answer\n{}", describe(&out)),
        }
    }
}

fn digest(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => "-sha256",
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => "-sha384",
        Algorithm::RS512 | Algorithm::PS512 => "-sha512",
        other => panic!("no OpenSSL digest signature for {other:?}"),
    }
}

fn pss_options(alg: Algorithm) -> &'static [&'static str] {
    match alg {
        Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ],
        _ => &[],
    }
}

/// Width of r and s in a JWS ECDSA signature; `None` for other algorithms.
fn coordinate_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::ES256 => Some(32),
        Algorithm::ES384 => Some(48),
        _ => None,
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` (OpenSSL) to the fixed-width r || s of JWS. The
/// sequences of P-256 and P-384 are shorter than 128 bytes, so every length is one byte.
fn der_to_fixed(der: &[u8], len: usize) -> Vec<u8> {
    let bad = || panic!("not a short DER ECDSA signature: {der:02x?}");
    let [0x30, total, body @ ..] = der else { bad() };
    if usize::from(*total) != body.len() {
        bad();
    }
    let mut out = Vec::with_capacity(2 * len);
    let mut rest = body;
    for _ in 0..2 {
        let [0x02, n, tail @ ..] = rest else { bad() };
        let n = usize::from(*n);
        if n > tail.len() {
            bad();
        }
        let (int, after) = tail.split_at(n);
        let start = int.iter().position(|&b| b != 0).unwrap_or(int.len());
        let int = &int[start..];
        if int.len() > len {
            bad();
        }
        out.resize(out.len() + len - int.len(), 0);
        out.extend_from_slice(int);
        rest = after;
    }
    if !rest.is_empty() {
        bad();
    }
    out
}

/// The fixed-width r || s of JWS to DER, for `openssl dgst -verify`.
fn fixed_to_der(fixed: &[u8]) -> Vec<u8> {
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let mut body = Vec::new();
    for int in [r, s] {
        let start = int.iter().position(|&b| b != 0).unwrap_or(int.len());
        let mut int = int[start..].to_vec();
        // DER INTEGERs are signed: a leading high bit needs a zero byte in front.
        if int.first().is_none_or(|&b| b & 0x80 != 0) {
            int.insert(0, 0);
        }
        body.extend_from_slice(&[0x02, u8::try_from(int.len()).expect("short integer")]);
        body.extend_from_slice(&int);
    }
    let mut der = vec![0x30, u8::try_from(body.len()).expect("short sequence")];
    der.extend_from_slice(&body);
    der
}

/// Fails the test run, clearly, without an OpenSSL 3 command (`pkeyutl -rawin` needs 3.0).
fn check_version() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let out = openssl(Path::new("."), &["version"]);
        let version = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && version.starts_with("OpenSSL 3"),
            "these tests check ring against OpenSSL 3's `openssl` command, found: {}",
            describe(&out)
        );
    });
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `openssl {}`: {e}. The JWT tests generate their keys with the \
                 OpenSSL 3 command-line tool and check ring's signatures against it; install \
                 it (Debian/Ubuntu: apt-get install openssl) and put it on PATH",
                args.join(" ")
            )
        })
}

/// Runs `openssl args` in `dir` and returns its standard output; panics if it fails.
fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed\n{}",
        describe(&out)
    );
    out.stdout
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("PEM is ASCII")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write to the temporary folder");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_fixed_ecdsa_signatures_convert_both_ways() {
        // r with its high bit set (DER adds a zero byte), s with leading zeros (DER drops them).
        let mut fixed = vec![0x80; 32];
        fixed.extend_from_slice(&[0; 31]);
        fixed.push(0x05);
        let der = fixed_to_der(&fixed);
        assert_eq!(&der[..4], &[0x30, 2 + 33 + 2 + 1, 0x02, 33]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 0x05]);
        assert_eq!(der_to_fixed(&der, 32), fixed);
    }
}
