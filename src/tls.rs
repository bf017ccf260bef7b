//! Mutual TLS: the server configuration (client certificates required, chained to the
//! convenant's trust anchors, checked against the configured CRLs) and the identity read from
//! a verified client certificate. Untrusted, expired or revoked certificates fail the
//! handshake and never reach a handler.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
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

/// Reads every certificate in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let certs = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))?;
    if certs.is_empty() {
        return Err(file_err(path, "no certificate found"));
    }
    Ok(certs)
}

/// Reads the first private key in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| file_err(path, e))?
        .ok_or_else(|| file_err(path, "no private key found"))
}

fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let pem: Vec<_> = rustls_pemfile::crls(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))?;
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
