//! Mutual TLS: the server configuration (client certificates required, chained to the
//! convenant's trust anchors, checked against the configured CRLs) and the identity read from
//! a verified client certificate. Untrusted, expired or revoked certificates fail the
//! handshake and never reach a handler.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::TlsConfig;
use crate::crypto::sha256;

/// Errors while building the TLS configuration or reading a peer certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client verifier: {0}")]
    Verifier(String),
    #[error("client certificate cannot be parsed: {0}")]
    Certificate(String),
}

fn file_err(path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// A PEM error as text: markers and lines as text, not the byte lists of `pem::Error`'s
/// `Display`.
fn pem_message(e: pem::Error, what: &str) -> String {
    match e {
        pem::Error::NoItemsFound => format!("no {what} found"),
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "PEM section end \"-----END {}-----\" missing",
            String::from_utf8_lossy(&end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "illegal PEM section start {:?}",
            String::from_utf8_lossy(&line)
        ),
        other => other.to_string(),
    }
}

/// Reads every certificate in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, pem_message(e, "certificate")))?;
    if certs.is_empty() {
        return Err(file_err(path, "no certificate found"));
    }
    Ok(certs)
}

/// Reads the first private key in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| file_err(path, pem_message(e, "private key")))
}

fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, pem_message(e, "CRL")))?;
    // A file without PEM markers is taken as one DER CRL.
    Ok(if pem.is_empty() {
        vec![CertificateRevocationListDer::from(data)]
    } else {
        pem
    })
}

/// The rustls provider used everywhere (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server configuration from the TLS settings.
pub fn server_config(cfg: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in &cfg.client_ca {
        for cert in load_certs(path)? {
            roots.add(cert).map_err(|e| file_err(path, e))?;
        }
    }
    let mut crls = Vec::new();
    for path in &cfg.crls {
        crls.extend(load_crls(path)?);
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(crls)
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(&cfg.cert)?, load_key(&cfg.key)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration for talking to the gateway over mutual TLS (the bench, the witness):
/// trusts the CAs in `ca`, presents `cert`/`key`, speaks HTTP/1.1.
pub fn client_config(
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(ca)? {
        roots.add(c).map_err(|e| file_err(ca, e))?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(load_certs(cert)?, load_key(key)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Who is at the other end of a verified mutual-TLS connection.
#[derive(Clone, Debug)]
pub struct PeerIdentity {
    /// The OIN from the subject serialNumber, if the certificate carries a well-formed one.
    pub oin: Option<String>,
    /// base64url(SHA-256(certificate DER)), unpadded: RFC 8705 `x5t#S256`.
    pub thumbprint: String,
}

/// `x5t#S256` of a DER certificate.
pub fn thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(der))
}

impl PeerIdentity {
    /// Reads the identity from the leaf certificate the handshake verified.
    pub fn from_der(der: &[u8]) -> Result<PeerIdentity, TlsError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        let oin = cert
            .subject()
            .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
            .next()
            .and_then(|attr| attr.as_str().ok())
            .filter(|s| s.parse::<crate::domain::Oin>().is_ok())
            .map(str::to_owned);
        Ok(PeerIdentity {
            oin,
            thumbprint: thumbprint(der),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::Ca;

    fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, data).expect("write");
        path
    }

    #[test]
    fn pem_files_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::generate("tls test CA").expect("ca");
        let server = ca.issue_server(&["localhost"]).expect("server");
        let chain = format!("{}{}", server.cert_pem, ca.cert_pem);
        let certs = load_certs(&write(dir.path(), "chain.pem", chain.as_bytes())).expect("certs");
        assert_eq!(certs.len(), 2);
        // A key after other PEM sections (a combined cert + key file) is found.
        let combined = format!("{}{}", server.cert_pem, server.key_pem);
        load_key(&write(dir.path(), "combined.pem", combined.as_bytes())).expect("key");
        let crl = ca.crl(&[7]).expect("crl");
        let pem = load_crls(&write(dir.path(), "crl.pem", crl.as_bytes())).expect("crl pem");
        assert_eq!(pem.len(), 1);
        // Without PEM markers the file is one DER CRL.
        let der = load_crls(&write(dir.path(), "crl.der", pem[0].as_ref())).expect("crl der");
        assert_eq!(der[0].as_ref(), pem[0].as_ref());
    }

    /// Every failure names the file, so a misconfigured path is found from the message.
    #[test]
    fn bad_pem_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::generate("tls test CA").expect("ca");
        let truncated = &ca.cert_pem[..ca.cert_pem.len() - 30];
        let cases: Vec<(std::path::PathBuf, Result<(), TlsError>, &str)> = vec![
            {
                let p = write(dir.path(), "empty-certs.pem", b"nothing here\n");
                let r = load_certs(&p).map(drop);
                (p, r, "no certificate found")
            },
            {
                let p = write(dir.path(), "truncated.pem", truncated.as_bytes());
                let r = load_certs(&p).map(drop);
                (
                    p,
                    r,
                    "PEM section end \"-----END CERTIFICATE-----\" missing",
                )
            },
            {
                let p = write(dir.path(), "cert-not-key.pem", ca.cert_pem.as_bytes());
                let r = load_key(&p).map(drop);
                (p, r, "no private key found")
            },
            {
                let p = write(
                    dir.path(),
                    "bad-base64.pem",
                    b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
                );
                let r = load_key(&p).map(drop);
                (p, r, "base64")
            },
            {
                let p = dir.path().join("absent.pem");
                let r = load_certs(&p).map(drop);
                (p, r, "")
            },
        ];
        for (path, result, says) in cases {
            let message = result.expect_err("refused").to_string();
            assert!(
                message.starts_with(&format!("{}: ", path.display())),
                "{message}"
            );
            assert!(message.contains(says), "{message}");
        }
    }
}
