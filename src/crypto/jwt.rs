//! JWT signatures on ring: the jsonwebtoken [`CryptoProvider`] vhgate installs, and the only
//! doors to jsonwebtoken's signing and verification.
//!
//! jsonwebtoken is built without `rust_crypto` (its `rsa` crate has an unfixable timing
//! advisory, RUSTSEC-2023-0071) and without `aws_lc_rs`. With neither, its process default
//! provider panics on first use and can no longer be replaced. So every signature goes through
//! [`encode`], [`decode`] or [`verify_signature`] here, which install [`PROVIDER`] first;
//! `clippy.toml` forbids calling jsonwebtoken's own entry points anywhere else, so the install
//! cannot be forgotten.
//!
//! Algorithms: ES256/ES384, EdDSA (Ed25519), RS256/384/512 and PS256/384/512 (2048 to 8192
//! bit keys) sign and verify. HS256/384/512 only sign (tests forge such tokens to check that
//! they are refused); verifying an HMAC signature is refused here too, as vhgate accepts
//! asymmetric signatures only.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey, Header, TokenData,
    Validation,
};
use ring::rand::SystemRandom;
use ring::signature as ring_sig;
use ring::{digest, hmac};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// vhgate's jsonwebtoken provider, backed by ring (installed by [`install`]).
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_component_from_private_key,
        compute_digest,
    },
};

/// Makes [`PROVIDER`] jsonwebtoken's process provider. Idempotent and cheap; fails (instead of
/// signing or verifying with something else) if another provider got installed first.
#[allow(clippy::disallowed_methods)] // the one place that installs a provider
pub fn install() -> Result<()> {
    match PROVIDER.install_default() {
        Ok(()) => Ok(()),
        Err(installed) if std::ptr::eq(installed, &PROVIDER) => Ok(()),
        Err(_) => Err(ErrorKind::Provider(
            "another jsonwebtoken crypto provider is installed in this process".into(),
        )
        .into()),
    }
}

/// [`jsonwebtoken::encode`] with [`PROVIDER`] installed.
#[allow(clippy::disallowed_methods)] // the permitted call, after install()
pub fn encode<T: Serialize>(header: &Header, claims: &T, key: &EncodingKey) -> Result<String> {
    install()?;
    jsonwebtoken::encode(header, claims, key)
}

/// [`jsonwebtoken::decode`] (signature and claims validation) with [`PROVIDER`] installed.
#[allow(clippy::disallowed_methods)] // the permitted call, after install()
pub fn decode<T: DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<TokenData<T>> {
    install()?;
    jsonwebtoken::decode(token, key, validation)
}

/// [`jsonwebtoken::crypto::verify`] with [`PROVIDER`] installed: whether `signature`
/// (base64url) signs `message` under `key` with `algorithm`.
#[allow(clippy::disallowed_methods)] // the permitted call, after install()
pub fn verify_signature(
    signature: &str,
    message: &[u8],
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<bool> {
    install()?;
    jsonwebtoken::crypto::verify(signature, message, key, algorithm)
}

/// [`jsonwebtoken::crypto::sign`] with [`PROVIDER`] installed: the base64url signature of
/// `message` (a JWS signing input, whatever its header says; the fuzz targets sign arbitrary
/// headers with it).
#[allow(clippy::disallowed_methods)] // the permitted call, after install()
pub fn sign_raw(message: &[u8], key: &EncodingKey, algorithm: Algorithm) -> Result<String> {
    install()?;
    jsonwebtoken::crypto::sign(message, key, algorithm)
}

fn check_family(algorithm: Algorithm, family: AlgorithmFamily) -> Result<()> {
    if algorithm.family() == family {
        Ok(())
    } else {
        Err(ErrorKind::InvalidKeyFormat.into())
    }
}

fn rsa_encoding(algorithm: Algorithm) -> Option<&'static dyn ring_sig::RsaEncoding> {
    Some(match algorithm {
        Algorithm::RS256 => &ring_sig::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &ring_sig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &ring_sig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &ring_sig::RSA_PSS_SHA256,
        Algorithm::PS384 => &ring_sig::RSA_PSS_SHA384,
        Algorithm::PS512 => &ring_sig::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn rsa_parameters(algorithm: Algorithm) -> Option<&'static ring_sig::RsaParameters> {
    Some(match algorithm {
        Algorithm::RS256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &ring_sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &ring_sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &ring_sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn hmac_algorithm(algorithm: Algorithm) -> Option<hmac::Algorithm> {
    Some(match algorithm {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}

fn ecdsa_signing(algorithm: Algorithm) -> Option<&'static ring_sig::EcdsaSigningAlgorithm> {
    Some(match algorithm {
        Algorithm::ES256 => &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return None,
    })
}

/// An RSA private key as jsonwebtoken holds it: PKCS#1 `RSAPrivateKey` DER (what
/// `EncodingKey::from_rsa_pem` extracts), or PKCS#8 DER given to `from_rsa_der`.
fn rsa_key_pair(der: &[u8]) -> Result<ring_sig::RsaKeyPair> {
    ring_sig::RsaKeyPair::from_der(der)
        .or_else(|_| ring_sig::RsaKeyPair::from_pkcs8(der))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()).into())
}

/// An Ed25519 private key in PKCS#8 v1 (OpenSSL) or v2 (ring, rcgen) form.
fn ed25519_key_pair(der: &[u8]) -> Result<ring_sig::Ed25519KeyPair> {
    ring_sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map_err(|_| ErrorKind::InvalidEddsaKey.into())
}

fn ecdsa_key_pair(
    algorithm: &'static ring_sig::EcdsaSigningAlgorithm,
    der: &[u8],
) -> Result<ring_sig::EcdsaKeyPair> {
    ring_sig::EcdsaKeyPair::from_pkcs8(algorithm, der, &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
}

enum SigningKey {
    Hmac(hmac::Key),
    Ecdsa(ring_sig::EcdsaKeyPair),
    Ed25519(ring_sig::Ed25519KeyPair),
    Rsa(ring_sig::RsaKeyPair, &'static dyn ring_sig::RsaEncoding),
}

/// A parsed private key and the algorithm it signs with.
struct RingSigner {
    algorithm: Algorithm,
    key: SigningKey,
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let algorithm = *algorithm;
    check_family(algorithm, key.family())?;
    let der = key.as_bytes();
    let key = if let Some(alg) = hmac_algorithm(algorithm) {
        SigningKey::Hmac(hmac::Key::new(alg, der))
    } else if let Some(alg) = ecdsa_signing(algorithm) {
        SigningKey::Ecdsa(ecdsa_key_pair(alg, der)?)
    } else if let Some(encoding) = rsa_encoding(algorithm) {
        SigningKey::Rsa(rsa_key_pair(der)?, encoding)
    } else if algorithm == Algorithm::EdDSA {
        SigningKey::Ed25519(ed25519_key_pair(der)?)
    } else {
        return Err(ErrorKind::UnsupportedAlgorithm.into());
    };
    Ok(Box::new(RingSigner { algorithm, key }))
}

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        match &self.key {
            SigningKey::Hmac(key) => Ok(hmac::sign(key, msg).as_ref().to_vec()),
            SigningKey::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            SigningKey::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
            SigningKey::Rsa(pair, encoding) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), msg, &mut out)
                    .map_err(|_| signature::Error::new())?;
                Ok(out)
            }
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

enum PublicKey {
    /// An encoded public key ring parses itself: an uncompressed EC point, a raw Ed25519
    /// key or a PKCS#1 `RSAPublicKey`.
    Encoded(&'static dyn ring_sig::VerificationAlgorithm, Vec<u8>),
    /// RSA modulus and exponent (big-endian), as a JWK carries them.
    RsaComponents(&'static ring_sig::RsaParameters, Vec<u8>, Vec<u8>),
}

/// A public key and the algorithm it verifies.
struct RingVerifier {
    algorithm: Algorithm,
    key: PublicKey,
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let algorithm = *algorithm;
    check_family(algorithm, key.family())?;
    let encoded: &'static dyn ring_sig::VerificationAlgorithm = match algorithm {
        Algorithm::ES256 => &ring_sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &ring_sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &ring_sig::ED25519,
        rsa => match rsa_parameters(rsa) {
            Some(params) => {
                let key = match key.kind() {
                    DecodingKeyKind::SecretOrDer(der) => PublicKey::Encoded(params, der.clone()),
                    DecodingKeyKind::RsaModulusExponent { n, e } => {
                        PublicKey::RsaComponents(params, n.clone(), e.clone())
                    }
                };
                return Ok(Box::new(RingVerifier { algorithm, key }));
            }
            // HS*: symmetric signatures are never accepted.
            None => return Err(ErrorKind::UnsupportedAlgorithm.into()),
        },
    };
    let key = PublicKey::Encoded(encoded, key.try_get_as_bytes()?.to_vec());
    Ok(Box::new(RingVerifier { algorithm, key }))
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let checked = match &self.key {
            PublicKey::Encoded(alg, key) => {
                ring_sig::UnparsedPublicKey::new(*alg, key).verify(msg, sig)
            }
            PublicKey::RsaComponents(params, n, e) => {
                ring_sig::RsaPublicKeyComponents { n, e }.verify(params, msg, sig)
            }
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = rsa_key_pair(der)?;
    let components: ring_sig::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
    Ok((components.n, components.e))
}

/// (n, e) of a PKCS#1 `RSAPublicKey`, without the sign byte DER may put in front.
fn rsa_components_from_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    use x509_parser::prelude::FromDer as _;
    let invalid = |what: &str| Error::from(ErrorKind::InvalidRsaKey(what.into()));
    let (rest, key) = x509_parser::public_key::RSAPublicKey::from_der(der)
        .map_err(|_| invalid("not a DER RSAPublicKey"))?;
    if !rest.is_empty() {
        return Err(invalid("trailing bytes after the RSAPublicKey"));
    }
    let unsigned = |b: &[u8]| {
        let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        b[start..].to_vec()
    };
    let (n, e) = (unsigned(key.modulus), unsigned(key.exponent));
    if n.is_empty() || e.is_empty() {
        return Err(invalid("zero modulus or exponent"));
    }
    Ok((n, e))
}

fn ec_components_from_private_key(
    der: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let (signing, curve, coordinate_len) = match algorithm {
        Algorithm::ES256 => (
            &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = ecdsa_key_pair(signing, der)?;
    // ring gives the uncompressed point: 0x04 || x || y.
    match ring_sig::KeyPair::public_key(&pair).as_ref() {
        [4, xy @ ..] if xy.len() == 2 * coordinate_len => {
            let (x, y) = xy.split_at(coordinate_len);
            Ok((curve, x.to_vec(), y.to_vec()))
        }
        _ => Err(ErrorKind::InvalidEcdsaKey.into()),
    }
}

fn ed_component_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    match curve {
        EllipticCurve::Ed25519 => {
            let pair = ed25519_key_pair(der)?;
            Ok(ring_sig::KeyPair::public_key(&pair).as_ref().to_vec())
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::openssl_cli::{self, KeyKind, OpensslKey};
    use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};

    /// A JWS signing input, as ring and OpenSSL sign it.
    const MESSAGE: &[u8] = b"eyJhbGciOiJLQVQifQ.eyJ2aGdhdGUiOiJvcGVuc3NsIGNyb3NzLWNoZWNrIn0";

    const ASYMMETRIC: [Algorithm; 9] = [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ];

    /// The OpenSSL-generated key pair (generated at test time, see `openssl_cli`) for `alg`.
    fn openssl_key(alg: Algorithm) -> &'static OpensslKey {
        openssl_cli::key(KeyKind::for_algorithm(alg))
    }

    fn keys(alg: Algorithm) -> (EncodingKey, DecodingKey) {
        let key = openssl_key(alg);
        let (private, public) = (key.private_pem.as_bytes(), key.public_pem.as_bytes());
        match alg.family() {
            AlgorithmFamily::Ec => (
                EncodingKey::from_ec_pem(private).expect("ec private"),
                DecodingKey::from_ec_pem(public).expect("ec public"),
            ),
            AlgorithmFamily::Ed => (
                EncodingKey::from_ed_pem(private).expect("ed private"),
                DecodingKey::from_ed_pem(public).expect("ed public"),
            ),
            _ => (
                EncodingKey::from_rsa_pem(private).expect("rsa private"),
                DecodingKey::from_rsa_pem(public).expect("rsa public"),
            ),
        }
    }

    fn ring_sign(alg: Algorithm, message: &[u8]) -> Vec<u8> {
        let (private, _) = keys(alg);
        let signer = (PROVIDER.signer_factory)(&alg, &private).expect("signer");
        assert_eq!(signer.algorithm(), alg);
        signer.try_sign(message).expect("sign")
    }

    fn b64(bytes: &[u8]) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
    }

    fn lenient(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v
    }

    /// OpenSSL signs, ring verifies; the signature does not cover a changed message.
    #[test]
    fn openssl_signatures_verify_and_a_changed_message_does_not() {
        let changed = [MESSAGE, b"x"].concat();
        for alg in ASYMMETRIC {
            let (_, public) = keys(alg);
            let sig = b64(&openssl_key(alg).sign(alg, MESSAGE));
            assert_eq!(
                verify_signature(&sig, MESSAGE, &public, alg).ok(),
                Some(true),
                "{alg:?}"
            );
            assert_eq!(
                verify_signature(&sig, &changed, &public, alg).ok(),
                Some(false),
                "{alg:?}"
            );
        }
    }

    /// ring signs, OpenSSL verifies (ES*: r || s as DER); OpenSSL refuses it for a changed
    /// message, so the check can fail.
    #[test]
    fn ring_signatures_verify_under_openssl() {
        let changed = [MESSAGE, b"x"].concat();
        for alg in ASYMMETRIC {
            let key = openssl_key(alg);
            let sig = ring_sign(alg, MESSAGE);
            assert!(key.verify(alg, MESSAGE, &sig), "{alg:?}");
            assert!(!key.verify(alg, &changed, &sig), "{alg:?}");
        }
    }

    /// RSASSA-PKCS1-v1_5 and Ed25519 are deterministic: ring must produce OpenSSL's bytes.
    #[test]
    fn deterministic_signatures_equal_openssl() {
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::EdDSA,
        ] {
            assert_eq!(
                b64(&ring_sign(alg, MESSAGE)),
                b64(&openssl_key(alg).sign(alg, MESSAGE)),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn every_asymmetric_algorithm_signs_and_verifies() {
        let claims = serde_json::json!({ "sub": "vhgate", "n": 1 });
        for alg in ASYMMETRIC {
            let (private, public) = keys(alg);
            let token = encode(&Header::new(alg), &claims, &private).expect("encode");
            let data = decode::<serde_json::Value>(&token, &public, &lenient(alg)).expect("decode");
            assert_eq!(data.claims, claims, "{alg:?}");
            // A token signed under another algorithm of the family does not verify.
            let other = match alg {
                Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA => continue,
                Algorithm::RS256 => Algorithm::PS256,
                _ => Algorithm::RS256,
            };
            let mut forged = token.splitn(2, '.');
            let (_, rest) = (forged.next(), forged.next().expect("rest"));
            let header = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                format!(r#"{{"alg":"{other:?}"}}"#),
            );
            let swapped = format!("{header}.{rest}");
            let err = decode::<serde_json::Value>(&swapped, &public, &lenient(other))
                .expect_err("alg swap");
            assert!(
                matches!(err.kind(), ErrorKind::InvalidSignature),
                "{alg:?}: {err:?}"
            );
        }
    }

    /// Keys generated by rcgen (ring PKCS#8 v2 for Ed25519), as `vhgate pki` and the tests
    /// make them.
    #[test]
    fn rcgen_keys_sign_and_verify() {
        for (alg, rc) in [
            (Algorithm::ES256, &rcgen::PKCS_ECDSA_P256_SHA256),
            (Algorithm::ES384, &rcgen::PKCS_ECDSA_P384_SHA384),
            (Algorithm::EdDSA, &rcgen::PKCS_ED25519),
        ] {
            let pair = rcgen::KeyPair::generate_for(rc).expect("keypair");
            let (private, public) = match alg {
                Algorithm::EdDSA => (
                    EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("private"),
                    DecodingKey::from_ed_pem(pair.public_key_pem().as_bytes()).expect("public"),
                ),
                _ => (
                    EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("private"),
                    DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes()).expect("public"),
                ),
            };
            let token = encode(&Header::new(alg), &serde_json::json!({}), &private).expect("sign");
            decode::<serde_json::Value>(&token, &public, &lenient(alg)).expect("verify");
        }
    }

    /// The JWK helpers (the provider's `key_utils`) give the public half of each private key;
    /// a JWK made from the private key verifies what the key signed.
    #[test]
    #[allow(clippy::disallowed_methods)] // install() first, as clippy.toml asks
    fn jwk_helpers_give_the_public_key() {
        install().expect("install");
        for alg in ASYMMETRIC {
            let (private, public) = keys(alg);
            let jwk = Jwk::from_encoding_key(&private, alg).expect("jwk");
            let from_jwk = DecodingKey::from_jwk(&jwk).expect("decoding key");
            let token = encode(&Header::new(alg), &serde_json::json!({}), &private).expect("sign");
            decode::<serde_json::Value>(&token, &from_jwk, &lenient(alg)).expect("verify");
            assert_eq!(
                Jwk::from_decoding_key(&public, Some(alg))
                    .expect("jwk")
                    .algorithm,
                jwk.algorithm,
                "{alg:?}"
            );
            for hash in [
                ThumbprintHash::SHA256,
                ThumbprintHash::SHA384,
                ThumbprintHash::SHA512,
            ] {
                jwk.thumbprint(hash).expect("thumbprint");
            }
        }
        // PKCS#1 RSAPublicKey: the same (n, e), without DER's sign byte.
        let pkcs1_pem = openssl_key(Algorithm::RS256)
            .rsa_pkcs1_public_pem
            .as_deref()
            .expect("RSA key");
        assert!(pkcs1_pem.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
        let pkcs1 = DecodingKey::from_rsa_pem(pkcs1_pem.as_bytes()).expect("pkcs1");
        let AlgorithmParameters::RSA(rsa) =
            Jwk::from_decoding_key(&pkcs1, None).expect("jwk").algorithm
        else {
            panic!("not RSA");
        };
        assert_eq!(rsa.e, "AQAB");
        let (private, _) = keys(Algorithm::RS256);
        let expected = Jwk::from_encoding_key(&private, Algorithm::RS256).expect("jwk");
        assert!(matches!(expected.algorithm, AlgorithmParameters::RSA(ref p) if p.n == rsa.n));
    }

    #[test]
    fn hmac_signs_but_never_verifies() {
        let secret = b"0123456789abcdef0123456789abcdef";
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = encode(
                &Header::new(alg),
                &serde_json::json!({}),
                &EncodingKey::from_secret(secret),
            )
            .expect("sign");
            let err = decode::<serde_json::Value>(
                &token,
                &DecodingKey::from_secret(secret),
                &lenient(alg),
            )
            .expect_err("HMAC verification is refused");
            assert!(
                matches!(err.kind(), ErrorKind::UnsupportedAlgorithm),
                "{err:?}"
            );
        }
    }

    /// Wrong or broken keys are errors (or a failed verification), never a panic.
    #[test]
    fn bad_keys_are_errors() {
        let (ed_private, ed_public) = keys(Algorithm::EdDSA);
        let (_, rsa_public) = keys(Algorithm::RS256);
        let claims = serde_json::json!({});
        // A key of another family: jsonwebtoken refuses it, and so does the provider itself.
        let family = |e: &Error| {
            matches!(
                e.kind(),
                ErrorKind::InvalidKeyFormat | ErrorKind::InvalidAlgorithm
            )
        };
        for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::HS256] {
            let err = encode(&Header::new(alg), &claims, &ed_private).expect_err("family");
            assert!(family(&err), "{err:?}");
            let Err(err) = (PROVIDER.signer_factory)(&alg, &ed_private) else {
                panic!("{alg:?} signer from an Ed25519 key");
            };
            assert!(matches!(err.kind(), ErrorKind::InvalidKeyFormat), "{err:?}");
            let Err(err) = (PROVIDER.verifier_factory)(&alg, &ed_public) else {
                panic!("{alg:?} verifier from an Ed25519 key");
            };
            assert!(matches!(err.kind(), ErrorKind::InvalidKeyFormat), "{err:?}");
        }
        let token = encode(&Header::new(Algorithm::EdDSA), &claims, &ed_private).expect("sign");
        let err = decode::<serde_json::Value>(&token, &rsa_public, &lenient(Algorithm::EdDSA))
            .expect_err("family");
        assert!(family(&err), "{err:?}");
        // Garbage DER.
        for (alg, key) in [
            (Algorithm::RS256, EncodingKey::from_rsa_der(b"junk")),
            (Algorithm::PS512, EncodingKey::from_rsa_der(&[])),
            (Algorithm::ES256, EncodingKey::from_ec_der(b"junk")),
            (Algorithm::ES384, EncodingKey::from_ec_der(&[0x30, 0x00])),
            (Algorithm::EdDSA, EncodingKey::from_ed_der(b"junk")),
        ] {
            assert!(encode(&Header::new(alg), &claims, &key).is_err(), "{alg:?}");
        }
        let sig = "AAAA";
        for (alg, key) in [
            (Algorithm::RS256, DecodingKey::from_rsa_der(b"junk")),
            (
                Algorithm::PS256,
                DecodingKey::from_rsa_raw_components(&[], &[]),
            ),
            (Algorithm::ES256, DecodingKey::from_ec_der(b"junk")),
            (Algorithm::EdDSA, DecodingKey::from_ed_der(&[])),
            (Algorithm::EdDSA, ed_public.clone()),
        ] {
            assert_eq!(
                verify_signature(sig, b"m", &key, alg).ok(),
                Some(false),
                "{alg:?}"
            );
        }
        // The JWK helpers.
        let utils = &PROVIDER.key_utils;
        assert!((utils.rsa_pub_components_from_private_key)(b"junk").is_err());
        assert!((utils.rsa_pub_components_from_public_key)(b"junk").is_err());
        assert!(
            (utils.rsa_pub_components_from_public_key)(&[0x30, 0x06, 2, 1, 0, 2, 1, 0]).is_err()
        );
        assert!((utils.ec_pub_components_from_private_key)(b"junk", Algorithm::ES256).is_err());
        assert!((utils.ec_pub_components_from_private_key)(b"junk", Algorithm::RS256).is_err());
        assert!(
            (utils.ed_pub_components_from_private_key)(b"junk", &EllipticCurve::Ed25519).is_err()
        );
        assert!((utils.ed_pub_components_from_private_key)(b"junk", &EllipticCurve::P256).is_err());
    }

    #[test]
    fn install_is_idempotent() {
        install().expect("first");
        install().expect("again");
    }
}
