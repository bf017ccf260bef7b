//! `vhgate log witness`: an independent party that keeps the last checkpoint it accepted,
//! fetches the gateway's newest one with a consistency proof, verifies both, and cosigns
//! (C2SP tlog-cosignature). A fork (same size, other root), a rollback (smaller tree) or a
//! bad proof is refused loudly and the state is left untouched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::disclosure::checkpoint::{
    add_signatures, ensure_signer_key_file, open_note, read_signer_key_file, Checkpoint,
    NoteVerifier,
};
use crate::disclosure::merkle::{empty_root, verify_consistency, Hash};

/// Why the witness refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("FORK: the log signed two different trees of size {size}")]
    Fork { size: u64 },
    #[error("ROLLBACK: the log now shows {now} entries, but {seen} were witnessed before")]
    Rollback { seen: u64, now: u64 },
    #[error("the consistency proof from {from} to {to} does not verify: {reason}")]
    Inconsistent { from: u64, to: u64, reason: String },
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(String),
    #[error("gateway request {path} failed: {message}")]
    Http { path: String, message: String },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("setup: {0}")]
    Setup(String),
}

/// Where to fetch from and whom to trust.
#[derive(Clone, Debug)]
pub struct WitnessOptions {
    /// host:port of the gateway (HTTPS, mutual TLS).
    pub gateway: String,
    /// Server name the gateway's certificate is checked against.
    pub server_name: String,
    pub ca: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// The log's verifier key (`vhgate log key`).
    pub log_key: String,
    /// The witness's own Ed25519 key (PKCS#8; created if missing) and name.
    pub witness_key: PathBuf,
    pub witness_name: String,
    /// The last accepted checkpoint, cosigned; created on first run.
    pub state: PathBuf,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessOutcome {
    /// A new checkpoint of this size was verified and cosigned; the cosigned note is returned.
    Cosigned { size: u64, note: String },
    /// The log has not grown since the last accepted checkpoint.
    Unchanged { size: u64 },
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> WitnessError {
    WitnessError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// One witnessing round.
pub async fn witness_once(opts: &WitnessOptions) -> Result<WitnessOutcome, WitnessError> {
    let log_key = NoteVerifier::from_vkey(&opts.log_key)
        .map_err(|e| WitnessError::Setup(format!("log key: {e}")))?;
    ensure_signer_key_file(&opts.witness_key).map_err(|e| file_err(&opts.witness_key, e))?;
    let signer = read_signer_key_file(&opts.witness_key, &opts.witness_name)
        .map_err(|e| file_err(&opts.witness_key, e))?;
    let open = |note: &str| -> Result<Checkpoint, WitnessError> {
        let opened = open_note(note, std::slice::from_ref(&log_key))
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        let cp = Checkpoint::parse_body(&opened.body)
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        // The empty tree has exactly one root (tlog-witness requires checking it).
        if cp.size == 0 && cp.root != empty_root() {
            return Err(WitnessError::Checkpoint(
                "a checkpoint of size 0 must carry the empty-tree root".into(),
            ));
        }
        Ok(cp)
    };
    let previous = match std::fs::read_to_string(&opts.state) {
        Ok(note) => Some(open(&note)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(file_err(&opts.state, e)),
    };

    let client = Client::new(opts)?;
    let note = client.get_text("/v1/log/checkpoint").await?;
    let latest = open(&note)?;
    if latest.origin != log_key.name() {
        return Err(WitnessError::Checkpoint(format!(
            "origin {} is not the log's ({})",
            latest.origin,
            log_key.name()
        )));
    }
    if let Some(prev) = &previous {
        if latest.size < prev.size {
            return Err(WitnessError::Rollback {
                seen: prev.size,
                now: latest.size,
            });
        }
        if latest.size == prev.size {
            if latest.root != prev.root {
                return Err(WitnessError::Fork { size: latest.size });
            }
            return Ok(WitnessOutcome::Unchanged { size: latest.size });
        }
        if prev.size > 0 {
            let path = format!(
                "/v1/log/proof/consistency?from={}&to={}",
                prev.size, latest.size
            );
            let body: serde_json::Value = serde_json::from_str(&client.get_text(&path).await?)
                .map_err(|e| WitnessError::Http {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            // Strict: one malformed element spoils the proof (never skip junk).
            let malformed = || WitnessError::Http {
                path: path.clone(),
                message: "malformed consistency proof".into(),
            };
            let proof: Vec<Hash> = body["proof"]
                .as_array()
                .ok_or_else(malformed)?
                .iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|s| B64.decode(s).ok())
                        .and_then(|b| Hash::try_from(b.as_slice()).ok())
                        .ok_or_else(malformed)
                })
                .collect::<Result<_, _>>()?;
            verify_consistency(prev.size, latest.size, &proof, &prev.root, &latest.root).map_err(
                |e| WitnessError::Inconsistent {
                    from: prev.size,
                    to: latest.size,
                    reason: format!("{e:?}"),
                },
            )?;
        }
    }
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let line = signer
        .cosign(&latest, now)
        .map_err(|e| WitnessError::Setup(e.to_string()))?;
    let cosigned = add_signatures(&note, &[line.trim_end().to_string()])
        .map_err(|e| WitnessError::Setup(e.to_string()))?;
    write_atomically(&opts.state, &cosigned)?;
    Ok(WitnessOutcome::Cosigned {
        size: latest.size,
        note: cosigned,
    })
}

/// Replaces the state file so a crash leaves either the old or the new checkpoint.
fn write_atomically(path: &Path, text: &str) -> Result<(), WitnessError> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| file_err(&tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| file_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_err(path, e))
}

/// A minimal mTLS HTTP/1.1 client for the witness's few requests.
struct Client {
    addr: String,
    name: ServerName<'static>,
    host: String,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    fn new(opts: &WitnessOptions) -> Result<Client, WitnessError> {
        let setup = |e: &dyn std::fmt::Display| WitnessError::Setup(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        for c in crate::tls::load_certs(&opts.ca).map_err(|e| setup(&e))? {
            roots.add(c).map_err(|e| setup(&e))?;
        }
        let certs = crate::tls::load_certs(&opts.tls_cert).map_err(|e| setup(&e))?;
        let key = crate::tls::load_key(&opts.tls_key).map_err(|e| setup(&e))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(&e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| setup(&e))?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from(opts.server_name.clone()).map_err(|e| setup(&e))?;
        Ok(Client {
            addr: opts.gateway.clone(),
            name,
            host: opts.server_name.clone(),
            tls: Arc::new(tls),
        })
    }

    async fn get_text(&self, path: &str) -> Result<String, WitnessError> {
        let err = |e: &dyn std::fmt::Display| WitnessError::Http {
            path: path.to_string(),
            message: e.to_string(),
        };
        let tcp = TcpStream::connect(&self.addr).await.map_err(|e| err(&e))?;
        let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| err(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| err(&e))?;
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header(http::header::HOST, self.host.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|e| err(&e))?;
        let res = sender.send_request(req).await.map_err(|e| err(&e))?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| err(&e))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(err(&format!("status {status}: {text}")));
        }
        Ok(text)
    }
}
