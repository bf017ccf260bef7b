//! The mutual-TLS accept loop. Each TCP connection is handshaken with rustls (client
//! certificate required and verified); the verified identity is attached to every request on
//! that keep-alive connection, so handlers never see an unverified peer.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::PeerIdentity;

mod early;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most header fields in a request head (hyper's default, stated); more get 431.
pub(crate) const MAX_HEADERS: usize = 100;

/// How many connections one source may hold at a time and how many of them may still be in
/// their TLS handshake.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// All connections together (`server.max_connections`); further ones wait in the accept
    /// queue.
    pub max_connections: usize,
    /// Connections of one source address that have not finished their handshake
    /// (`server.max_handshakes_per_ip`). Before the handshake nobody is identified, so this is
    /// what keeps a slowloris flood from one address from taking every slot: its further
    /// connections are closed at once.
    pub max_handshakes_per_ip: usize,
    /// How long a client may take to send a request's head, counted from the handshake or the
    /// previous answer (`server.header_read_timeout_ms`). A head that had begun gets 408; an
    /// idle keep-alive connection is closed.
    pub header_read_timeout: Duration,
}

/// Handshakes in progress per source address.
#[derive(Default)]
struct PendingHandshakes(Mutex<HashMap<IpAddr, usize>>);

/// One handshake counted in [`PendingHandshakes`] until dropped.
struct PendingHandshake {
    pending: Arc<PendingHandshakes>,
    ip: IpAddr,
}

impl PendingHandshakes {
    /// Counts a handshake from `ip`, unless it already has `limit` in progress.
    fn enter(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<PendingHandshake> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(PendingHandshake {
            pending: self.clone(),
            ip,
        })
    }
}

impl Drop for PendingHandshake {
    fn drop(&mut self) {
        let mut map = self.pending.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits up to `grace` for
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let pending = Arc::new(PendingHandshakes::default());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(handshake) = pending.enter(remote.ip(), limits.max_handshakes_per_ip) else {
            tracing::info!(%remote, "too many pending TLS handshakes from this address; closed");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let handshaken = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(handshake);
            let stream = match handshaken {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%remote, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            // The verifier requires a certificate, so one is always present here.
            let Some(leaf) = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
            else {
                return;
            };
            let identity = match PeerIdentity::from_der(leaf) {
                Ok(i) => Arc::new(i),
                Err(e) => {
                    tracing::info!(%remote, error = %e, "unreadable client certificate");
                    return;
                }
            };
            let service = router.map_request(move |mut req: http::Request<Incoming>| {
                req.extensions_mut().insert(identity.clone());
                req
            });
            let (io, handed_back) = early::EarlyIo::new(stream);
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_headers(MAX_HEADERS)
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
            let ended = watcher.watch(conn).await;
            if let Err(e) = &ended {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
            // hyper has let go of the stream: send the answer it ended without, if any.
            if let Ok((stream, seen)) = handed_back.await {
                let timed_out = ended.as_ref().is_err_and(|e| e.is_timeout());
                early::answer(stream, seen, timed_out).await;
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}
