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

/// One witnessing round: fetch the gateway's newest checkpoint and a consistency proof from
/// the last accepted one, and hand them to the same acceptance logic the witness server runs
/// ([`WitnessService::add_checkpoint`]).
pub async fn witness_once(opts: &WitnessOptions) -> Result<WitnessOutcome, WitnessError> {
    let service = WitnessService::open(
        &opts.log_key,
        &opts.witness_key,
        &opts.witness_name,
        &opts.state,
    )?;
    let previous = service.latest()?;
    let client = Client::new(opts)?;
    let note = client.get_text("/v1/log/checkpoint").await?;
    let latest = service.read_checkpoint(&note)?;
    let old_size = previous.as_ref().map(|p| p.size).unwrap_or(0);
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
    }
    let mut body = format!("old {old_size}\n");
    if old_size > 0 {
        let path = format!(
            "/v1/log/proof/consistency?from={old_size}&to={}",
            latest.size
        );
        let proof: serde_json::Value = serde_json::from_str(&client.get_text(&path).await?)
            .map_err(|e| WitnessError::Http {
                path: path.clone(),
                message: e.to_string(),
            })?;
        // Strict: one malformed element spoils the proof (never skip junk).
        for h in proof["proof"].as_array().into_iter().flatten() {
            let line = h
                .as_str()
                .filter(|s| B64.decode(s).ok().is_some_and(|b| b.len() == 32))
                .ok_or_else(|| WitnessError::Http {
                    path: path.clone(),
                    message: "malformed consistency proof".into(),
                })?;
            body.push_str(line);
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&note);
    let now = chrono::Utc::now().timestamp().max(1) as u64;
    let line = service.add_checkpoint(&body, now).map_err(|e| match e {
        AddCheckpointError::Unprocessable(reason) => WitnessError::Inconsistent {
            from: old_size,
            to: latest.size,
            reason,
        },
        other => WitnessError::Checkpoint(other.to_string()),
    })?;
    let cosigned =
        add_signatures(&note, &[line]).map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
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
        let tls = crate::tls::client_config(&opts.ca, &opts.tls_cert, &opts.tls_key)
            .map_err(|e| setup(&e))?;
        let name = ServerName::try_from(opts.server_name.clone()).map_err(|e| setup(&e))?;
        Ok(Client {
            addr: opts.gateway.clone(),
            name,
            host: opts.server_name.clone(),
            tls,
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

/// Why a witness refuses an `add-checkpoint` request, with its C2SP tlog-witness status.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddCheckpointError {
    #[error("400: {0}")]
    BadRequest(String),
    #[error("403: {0}")]
    Forbidden(String),
    #[error("404: unknown origin")]
    UnknownOrigin,
    #[error("409: the latest cosigned checkpoint has size {0}")]
    Conflict(u64),
    #[error("422: {0}")]
    Unprocessable(String),
    #[error("500: {0}")]
    Internal(String),
}

impl AddCheckpointError {
    /// The HTTP status the spec prescribes.
    pub fn status(&self) -> u16 {
        match self {
            AddCheckpointError::BadRequest(_) => 400,
            AddCheckpointError::Forbidden(_) => 403,
            AddCheckpointError::UnknownOrigin => 404,
            AddCheckpointError::Conflict(_) => 409,
            AddCheckpointError::Unprocessable(_) => 422,
            AddCheckpointError::Internal(_) => 500,
        }
    }
}

/// A witness serving C2SP tlog-witness `add-checkpoint` for one log.
pub struct WitnessService {
    log_key: NoteVerifier,
    signer: crate::disclosure::checkpoint::NoteSigner,
    state: PathBuf,
    /// The latest cosigned checkpoint; the lock makes check-and-persist atomic.
    latest: std::sync::Mutex<Option<Checkpoint>>,
}

impl WitnessService {
    /// Loads the witness key (created if missing) and the last cosigned checkpoint, if any.
    pub fn open(
        log_key: &str,
        key: &Path,
        name: &str,
        state: &Path,
    ) -> Result<WitnessService, WitnessError> {
        let log_key = NoteVerifier::from_vkey(log_key)
            .map_err(|e| WitnessError::Setup(format!("log key: {e}")))?;
        ensure_signer_key_file(key).map_err(|e| file_err(key, e))?;
        let signer = read_signer_key_file(key, name).map_err(|e| file_err(key, e))?;
        let latest = match std::fs::read_to_string(state) {
            Ok(note) => {
                let opened = open_note(&note, std::slice::from_ref(&log_key))
                    .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
                Some(
                    Checkpoint::parse_body(&opened.body)
                        .map_err(|e| WitnessError::Checkpoint(e.to_string()))?,
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(file_err(state, e)),
        };
        Ok(WitnessService {
            log_key,
            signer,
            state: state.to_path_buf(),
            latest: std::sync::Mutex::new(latest),
        })
    }

    /// The latest checkpoint this witness cosigned.
    pub fn latest(&self) -> Result<Option<Checkpoint>, WitnessError> {
        self.latest
            .lock()
            .map(|l| l.clone())
            .map_err(|_| WitnessError::Setup("state lock poisoned".into()))
    }

    /// The checkpoint in a note signed by the log (the empty tree must carry the empty root).
    pub fn read_checkpoint(&self, note: &str) -> Result<Checkpoint, WitnessError> {
        let opened = open_note(note, std::slice::from_ref(&self.log_key))
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        let cp = Checkpoint::parse_body(&opened.body)
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        if cp.origin != self.log_key.name() {
            return Err(WitnessError::Checkpoint(format!(
                "origin {} is not the log's",
                cp.origin
            )));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(WitnessError::Checkpoint(
                "a checkpoint of size 0 must carry the empty-tree root".into(),
            ));
        }
        Ok(cp)
    }

    /// The witness's cosignature verifier key, for the log operator.
    pub fn cosignature_verifier_key(&self) -> String {
        self.signer.cosignature_verifier_key()
    }

    /// Handles an `add-checkpoint` body: `old N`, proof lines, an empty line, the checkpoint.
    /// Returns the cosignature line(s) to answer with.
    pub fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, AddCheckpointError> {
        let bad = |m: &str| AddCheckpointError::BadRequest(m.into());
        let (head, note) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        // Split on LF only (`lines` would also drop a CR) and read the size as canonical
        // decimal: `u64::from_str` alone would take `+3`.
        let mut lines = head.split('\n');
        let old: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| n == &"0" || !n.starts_with('0'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let proof: Vec<Hash> = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|b| Hash::try_from(b.as_slice()).ok())
            })
            .collect::<Option<_>>()
            .ok_or_else(|| bad("malformed consistency proof line"))?;
        if proof.len() > 63 {
            return Err(bad("more than 63 proof lines"));
        }
        let origin = note.lines().next().unwrap_or_default();
        if origin != self.log_key.name() {
            return Err(AddCheckpointError::UnknownOrigin);
        }
        let opened = open_note(note, std::slice::from_ref(&self.log_key))
            .map_err(|e| AddCheckpointError::Forbidden(e.to_string()))?;
        let cp = Checkpoint::parse_body(&opened.body)
            .map_err(|e| AddCheckpointError::BadRequest(e.to_string()))?;
        if old > cp.size {
            return Err(bad("old size exceeds the checkpoint size"));
        }
        let mut latest = self
            .latest
            .lock()
            .map_err(|_| AddCheckpointError::Internal("state lock poisoned".into()))?;
        let known = latest.as_ref().map(|c| c.size).unwrap_or(0);
        if old != known {
            return Err(AddCheckpointError::Conflict(known));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(AddCheckpointError::Unprocessable(
                "size 0 needs the empty-tree root".into(),
            ));
        }
        match latest.as_ref() {
            None if !proof.is_empty() => {
                return Err(AddCheckpointError::Unprocessable(
                    "proof from size 0".into(),
                ))
            }
            Some(prev) if prev.size == cp.size && prev.root != cp.root => {
                return Err(AddCheckpointError::Unprocessable(
                    "same size, different root: a fork".into(),
                ))
            }
            Some(prev) if prev.size == 0 && !proof.is_empty() => {
                return Err(AddCheckpointError::Unprocessable(
                    "proof from size 0".into(),
                ))
            }
            Some(prev) if prev.size > 0 && prev.size < cp.size => {
                verify_consistency(prev.size, cp.size, &proof, &prev.root, &cp.root).map_err(
                    |e| AddCheckpointError::Unprocessable(format!("consistency proof: {e:?}")),
                )?;
            }
            _ => {}
        }
        let line = self
            .signer
            .cosign(&cp, now.max(1))
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        let cosigned = add_signatures(note, &[line.trim_end().to_string()])
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        write_atomically(&self.state, &cosigned)
            .map_err(|e| AddCheckpointError::Internal(e.to_string()))?;
        *latest = Some(cp);
        Ok(format!("{}\n", line.trim_end()))
    }
}

/// The witness's HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness).
pub fn router(service: Arc<WitnessService>) -> axum::Router {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    axum::Router::new().route(
        "/add-checkpoint",
        axum::routing::post(move |body: String| {
            let service = service.clone();
            async move {
                let now = chrono::Utc::now().timestamp().max(1) as u64;
                match service.add_checkpoint(&body, now) {
                    Ok(lines) => (StatusCode::OK, lines).into_response(),
                    Err(AddCheckpointError::Conflict(size)) => (
                        StatusCode::CONFLICT,
                        [(header::CONTENT_TYPE, "text/x.tlog.size")],
                        format!("{size}\n"),
                    )
                        .into_response(),
                    Err(e) => {
                        let status = StatusCode::from_u16(e.status())
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        (status, e.to_string()).into_response()
                    }
                }
            }
        }),
    )
}

/// Pushes the newest checkpoint to every configured witness every `interval`, forever, and
/// stores the cosignatures they return (verified against their keys). A witness that is down
/// or refuses is logged and retried at the next tick; the gateway never waits for witnesses.
pub async fn push_checkpoints(
    db: crate::store::Db,
    targets: Vec<crate::config::WitnessTarget>,
    interval: std::time::Duration,
) {
    let mut known: Vec<u64> = vec![0; targets.len()];
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for (target, known_size) in targets.iter().zip(known.iter_mut()) {
            if let Err(e) = push_once(&db, target, known_size).await {
                tracing::warn!(witness = %target.url, error = %e, "checkpoint push failed");
            }
        }
    }
}

/// One push to one witness; `known_size` is the witness's latest cosigned size as far as we
/// know (a 409 tells us the real one, and we retry once).
pub async fn push_once(
    db: &crate::store::Db,
    target: &crate::config::WitnessTarget,
    known_size: &mut u64,
) -> Result<(), WitnessError> {
    use crate::disclosure::tree;
    let setup = |e: &dyn std::fmt::Display| WitnessError::Setup(e.to_string());
    let verifier = NoteVerifier::from_vkey(&target.vkey).map_err(|e| setup(&e))?;
    let Some(latest) = tree::latest_checkpoint(db).await.map_err(|e| setup(&e))? else {
        return Ok(());
    };
    let size = latest.size as u64;
    for _attempt in 0..2 {
        if *known_size == size
            && !tree::cosignatures(db, latest.size)
                .await
                .map_err(|e| setup(&e))?
                .is_empty()
        {
            return Ok(());
        }
        let proof = if *known_size == 0 || *known_size >= size {
            Vec::new()
        } else {
            tree::consistency_proof(db, *known_size, size)
                .await
                .map_err(|e| setup(&e))?
        };
        let mut body = format!("old {}\n", (*known_size).min(size));
        for h in &proof {
            body.push_str(&B64.encode(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&latest.note);
        let (status, text) = post_plain(&target.url, "/add-checkpoint", body).await?;
        match status {
            200 => {
                let cosigned = add_signatures(
                    &latest.note,
                    &text.lines().map(str::to_owned).collect::<Vec<_>>(),
                )
                .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
                let opened =
                    open_note(&cosigned, std::slice::from_ref(&verifier)).map_err(|e| {
                        WitnessError::Checkpoint(format!("cosignature does not verify: {e}"))
                    })?;
                if !opened.verified.iter().any(|n| n == verifier.name()) {
                    return Err(WitnessError::Checkpoint(
                        "no cosignature from the witness key".into(),
                    ));
                }
                for line in text
                    .lines()
                    .filter(|l| l.starts_with(&format!("\u{2014} {} ", verifier.name())))
                {
                    tree::add_cosignature(db, size, verifier.name(), line)
                        .await
                        .map_err(|e| setup(&e))?;
                }
                *known_size = size;
                return Ok(());
            }
            409 => {
                *known_size = text.trim().parse().map_err(|_| WitnessError::Http {
                    path: target.url.clone(),
                    message: format!("409 without a size: {text}"),
                })?;
            }
            other => {
                return Err(WitnessError::Http {
                    path: target.url.clone(),
                    message: format!("status {other}: {text}"),
                })
            }
        }
    }
    Ok(())
}

/// A plain-HTTP POST (witnesses are reached inside the convenant's network or via a TLS
/// terminator); returns (status, body).
async fn post_plain(base: &str, path: &str, body: String) -> Result<(u16, String), WitnessError> {
    let err = |e: &dyn std::fmt::Display| WitnessError::Http {
        path: format!("{base}{path}"),
        message: e.to_string(),
    };
    let url = url::Url::parse(base).map_err(|e| err(&e))?;
    if url.scheme() != "http" {
        return Err(err(&"only http:// witness URLs are supported for now"));
    }
    let host = url.host_str().ok_or_else(|| err(&"no host"))?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| err(&e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(|e| err(&e))?;
    tokio::spawn(conn);
    let full_path = format!("{}{path}", url.path().trim_end_matches('/'));
    let req = http::Request::post(full_path)
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(http_body_util::Full::new(Bytes::from(body)))
        .map_err(|e| err(&e))?;
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), sender.send_request(req))
        .await
        .map_err(|_| err(&"timed out"))?
        .map_err(|e| err(&e))?;
    let status = res.status().as_u16();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| err(&e))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
