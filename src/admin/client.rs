//! A small mTLS client for the admin API (`vhgate policy push | list | approve | reject |
//! activate | impact`): one HTTP/1.1 request per connection, bearer token, JSON answers, and
//! problem+json errors turned into readable messages.

use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("admin client setup: {0}")]
    Setup(String),
    #[error("{method} {path}: {message}")]
    Http {
        method: String,
        path: String,
        message: String,
    },
    /// The gateway answered with an error status (problem+json rendered for humans).
    #[error("{0}")]
    Refused(String),
}

/// A gateway's admin API, reached over mutual TLS with an administrator's token.
pub struct AdminClient {
    /// `host:port` to connect to.
    addr: String,
    host: String,
    name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    token: String,
}

impl AdminClient {
    /// `url` is the gateway's base, e.g. `https://localhost:8443`; `ca` the CA that issued the
    /// gateway's certificate; `cert`/`key` the administrator organisation's client certificate.
    pub fn new(
        url: &str,
        ca: &Path,
        cert: &Path,
        key: &Path,
        token: String,
    ) -> Result<AdminClient, ClientError> {
        let setup = |m: String| ClientError::Setup(m);
        let parsed = url::Url::parse(url).map_err(|e| setup(format!("--url {url}: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(setup(format!("--url {url}: must be https://")));
        }
        if parsed.path() != "/" && !parsed.path().is_empty() {
            return Err(setup(format!(
                "--url {url}: give only scheme, host and port"
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| setup(format!("--url {url}: no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let name = ServerName::try_from(host.clone()).map_err(|e| setup(e.to_string()))?;
        let tls = crate::tls::client_config(ca, cert, key).map_err(|e| setup(e.to_string()))?;
        if token.trim().is_empty() {
            return Err(setup(
                "an administrator token is required (--token, --token-file or --dev-partner)"
                    .into(),
            ));
        }
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(AdminClient {
            addr,
            host: match parsed.port() {
                Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or(&host)),
                None => host.clone(),
            },
            name,
            tls,
            token: token.trim().to_string(),
        })
    }

    /// Sends one request; a 2xx answer's body is parsed as JSON, anything else is an error.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<serde_json::Value, ClientError> {
        let err = |e: &dyn std::fmt::Display| ClientError::Http {
            method: method.to_string(),
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
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::HOST, self.host.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            );
        let bytes = match body {
            Some((content_type, bytes)) => {
                req = req.header(http::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Vec::new(),
        };
        let req = req
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| err(&e))?;
        let res = sender.send_request(req).await.map_err(|e| err(&e))?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| err(&e))?
            .to_bytes();
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        if status.is_success() {
            return json.ok_or_else(|| err(&"the answer is not JSON"));
        }
        Err(ClientError::Refused(describe_problem(
            status.as_u16(),
            json.as_ref(),
            &body,
        )))
    }
}

/// A problem+json answer as readable lines: status, title, detail, and any validation problems.
pub fn describe_problem(status: u16, json: Option<&serde_json::Value>, raw: &[u8]) -> String {
    let Some(p) = json.filter(|j| j.is_object()) else {
        let text = String::from_utf8_lossy(raw);
        return format!("HTTP {status}: {}", text.trim());
    };
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let mut out = format!("HTTP {status}");
    if !s("title").is_empty() {
        out.push_str(&format!(" {}", s("title")));
    }
    if let Some(kind) = s("type").strip_prefix("urn:vhgate:problem:") {
        out.push_str(&format!(" ({kind})"));
    }
    if !s("detail").is_empty() {
        out.push_str(&format!(": {}", s("detail")));
    }
    if let Some(problems) = p.get("problems").and_then(|v| v.as_array()) {
        for pr in problems {
            out.push_str(&format!(
                "\n  {}: {}",
                pr.get("location").and_then(|v| v.as_str()).unwrap_or("?"),
                pr.get("message").and_then(|v| v.as_str()).unwrap_or("")
            ));
        }
    }
    out
}

/// Refuses revisions that could change the request path.
pub fn check_revision(revision: &str) -> Result<&str, ClientError> {
    if !revision.is_empty()
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        Ok(revision)
    } else {
        Err(ClientError::Setup(format!("not a revision: {revision:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_readable() {
        let p = serde_json::json!({
            "type": "urn:vhgate:problem:invalid-bundle", "title": "Invalid policy bundle",
            "status": 422, "detail": "the bundle failed validation",
            "problems": [{"location": "a.rego:3", "message": "boom"}]
        });
        assert_eq!(
            describe_problem(422, Some(&p), b""),
            "HTTP 422 Invalid policy bundle (invalid-bundle): the bundle failed validation\n  a.rego:3: boom"
        );
        assert_eq!(
            describe_problem(502, None, b"bad gateway\n"),
            "HTTP 502: bad gateway"
        );
        assert!(check_revision("../x").is_err());
        assert!(check_revision("sha256:abc-1").is_ok());
    }
}
