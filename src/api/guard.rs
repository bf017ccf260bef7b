//! The last word on every answer. Whichever layer refused a request (a handler, an axum
//! extractor's rejection, the fallback for unknown routes and methods, the size limits here),
//! the answer leaves as problem+json and, once the request got past the TLS handshake, the
//! refusal is in the disclosure log before the answer leaves.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::body_clock::BodyClock;
use super::problem::{Problem, PROBLEM_TYPE_PREFIX};
use super::AppState;
use crate::disclosure::RequesterRecord;
use crate::tls::PeerIdentity;
use crate::trace::TraceContext;

/// Request headers (names and values together) larger than this are refused with 431. hyper
/// itself answers a bare 431 only beyond its read buffer (about 400 KiB) or 100 headers.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The one route whose body is not JSON: a policy bundle (`.tar.gz`).
const BUNDLE_ROUTE: &str = "/v1/admin/policy-bundles";

/// The transparency log's proofs and checkpoint: mTLS only, hashes only. Their refusals are
/// not logged, or a witness asking about a size the log does not have yet would grow it.
const UNLOGGED_ROUTES: &[&str] = &[
    "/v1/log/checkpoint",
    "/v1/log/proof/inclusion",
    "/v1/log/proof/consistency",
];

/// The console's pages are HTML: their refusals keep their page (and are logged all the
/// same), and their forms post `application/x-www-form-urlencoded`.
const CONSOLE_PREFIX: &str = "/console";

fn is_console(route: Option<&str>) -> bool {
    route.is_some_and(|r| r.starts_with(CONSOLE_PREFIX))
}

/// The problem slug an HTML refusal stands for, left in the answer's extensions by the page
/// that refused, so its log entry names it.
#[derive(Clone, Debug)]
pub(crate) struct RefusalSlug(pub String);

/// Where the [`super::Authenticated`] extractor leaves the verified caller, so a refusal after
/// authentication names the professional, not only the organisation.
#[derive(Clone, Default)]
pub(crate) struct CallerSlot(Arc<Mutex<Option<RequesterRecord>>>);

impl CallerSlot {
    pub(crate) fn set(&self, requester: RequesterRecord) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(requester);
        }
    }

    fn get(&self) -> Option<RequesterRecord> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// Calls `f` with the verified caller's partner type, if a caller was verified.
    pub(crate) fn with_partner_type<T>(&self, f: impl FnOnce(Option<&str>) -> T) -> T {
        match self.0.lock() {
            Ok(slot) => f(slot.as_ref().and_then(|r| r.partner_type.as_deref())),
            Err(_) => f(None),
        }
    }
}

/// Middleware on every route and the fallback (see [`super::router`]).
pub(crate) async fn guard(State(gateway): State<AppState>, req: Request, next: Next) -> Response {
    let body = req.extensions().get::<Arc<BodyClock>>().cloned();
    let mut res = answer(gateway, req, next, body.clone()).await;
    if body.is_some_and(|b| b.expired()) {
        // The rest of the body is still on its way: the connection cannot carry another request.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// The answer, a refusal in problem+json and logged.
async fn answer(
    gateway: AppState,
    mut req: Request,
    next: Next,
    body: Option<Arc<BodyClock>>,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let method = method_name(req.method());
    let peer = req.extensions().get::<Arc<PeerIdentity>>().cloned();
    let trace = super::request_trace(req.extensions());
    // The access layer outside put a slot there, to read the partner type for its metrics.
    let slot = match req.extensions().get::<CallerSlot>() {
        Some(slot) => slot.clone(),
        None => {
            let slot = CallerSlot::default();
            req.extensions_mut().insert(slot.clone());
            slot
        }
    };
    let mut panicked = false;
    let res = match precheck(req.headers(), route.as_deref()) {
        Some(problem) => problem.into_response(),
        None => match caught(next.run(req)).await {
            Ok(res) => res,
            Err(()) => {
                tracing::error!(
                    route = route.as_deref().unwrap_or("unmatched"),
                    "request handling panicked; answered 500"
                );
                panicked = true;
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal-error",
                    "Internal error",
                    "the request failed inside the gateway; nothing was disclosed",
                )
                .into_response()
            }
        },
    };
    // The handler's read of the body failed because it did not arrive in time.
    let res = if body.is_some_and(|b| b.expired()) {
        Problem::request_timeout().into_response()
    } else {
        res
    };
    let status = res.status();
    if !(status.is_client_error() || panicked) || res.headers().contains_key("disclosure-id") {
        return res;
    }
    if is_console(route.as_deref()) && !panicked {
        return log_html_refusal(&gateway, res, peer, &slot, &trace, method, route).await;
    }
    let (slug, body) = problem_body(res).await;
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if UNLOGGED_ROUTES.contains(&route.as_str()) {
        return res;
    }
    let Some(peer) = peer else {
        // Only without the mTLS acceptor (router tests): nobody to name.
        return res;
    };
    let requester = slot.get().unwrap_or_else(|| gateway.peer_requester(&peer));
    match gateway
        .refuse_request(requester, &trace, status.as_u16(), &slug, method, &route)
        .await
    {
        Ok(id) => {
            let mut body = body;
            body["disclosure_id"] = serde_json::Value::String(id.to_string());
            let mut res = (status, body.to_string()).into_response();
            let headers = res.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
                headers.insert("disclosure-id", v);
            }
            res
        }
        // No answer the log does not hold: the caller hears 503.
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Logs a console page's refusal and lets the page itself go out, naming its entry.
async fn log_html_refusal(
    gateway: &AppState,
    mut res: Response,
    peer: Option<Arc<PeerIdentity>>,
    slot: &CallerSlot,
    trace: &TraceContext,
    method: &'static str,
    route: Option<String>,
) -> Response {
    let Some(peer) = peer else {
        return res;
    };
    let status = res.status();
    let slug = match res.extensions().get::<RefusalSlug>() {
        Some(s) => s.0.clone(),
        None => problem_for_status(status).slug().to_owned(),
    };
    let requester = slot.get().unwrap_or_else(|| gateway.peer_requester(&peer));
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    match gateway
        .refuse_request(requester, trace, status.as_u16(), &slug, method, &route)
        .await
    {
        Ok(id) => {
            if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
                res.headers_mut().insert("disclosure-id", v);
            }
            res
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Runs `fut`, turning a panic inside it into `Err` (fail closed with an answer and a log
/// entry instead of a connection that just drops).
async fn caught<F: Future>(fut: F) -> Result<F::Output, ()> {
    let mut fut = Box::pin(fut);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    })
    .await
}

/// Refusals decided on the headers alone, before any handler reads the request.
fn precheck(headers: &HeaderMap, route: Option<&str>) -> Option<Problem> {
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request header fields too large",
            format!("request headers are limited to {MAX_HEADER_BYTES} bytes"),
        ));
    }
    let length = headers.get(header::CONTENT_LENGTH);
    let declared = match length.map(|v| v.to_str().ok().and_then(|s| s.parse::<u64>().ok())) {
        None => None,
        Some(Some(n)) => Some(n),
        Some(None) => return Some(problem_for_status(StatusCode::BAD_REQUEST)),
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Some(too_large());
    }
    let has_body =
        declared.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
    if has_body {
        if let Some(ct) = headers.get(header::CONTENT_TYPE) {
            if !acceptable_content_type(ct, route) {
                return Some(problem_for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            }
        }
    }
    None
}

/// JSON (`application/json`, `application/*+json`) everywhere; a missing type is taken as
/// JSON. The bundle upload also takes gzip or octet-stream.
fn acceptable_content_type(value: &HeaderValue, route: Option<&str>) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_console(route) {
        return essence == "application/x-www-form-urlencoded";
    }
    json || (route == Some(BUNDLE_ROUTE)
        && matches!(
            essence.as_str(),
            "application/gzip" | "application/x-gzip" | "application/octet-stream"
        ))
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Payload too large",
        format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
    )
}

/// The problem for an answer that is not one yet (an extractor's plain-text rejection). Its
/// text is dropped: it may quote the input.
fn problem_for_status(status: StatusCode) -> Problem {
    let (slug, detail) = match status {
        StatusCode::BAD_REQUEST => ("invalid-request", "the request could not be read"),
        StatusCode::NOT_FOUND => ("no-such-route", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "method not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
        StatusCode::REQUEST_TIMEOUT => return Problem::request_timeout(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "request bodies are application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "the request body could not be read"),
        _ => ("invalid-request", "the request was refused"),
    };
    Problem::new(
        status,
        slug,
        status.canonical_reason().unwrap_or("Client error"),
        format!("{detail}; see /openapi.json"),
    )
}

/// The answer's problem document and its slug; a non-problem answer is replaced.
async fn problem_body(res: Response) -> (String, serde_json::Value) {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if is_problem {
        let bytes = axum::body::to_bytes(res.into_body(), MAX_BODY_BYTES)
            .await
            .unwrap_or_default();
        if let Ok(body @ serde_json::Value::Object(_)) = serde_json::from_slice(&bytes) {
            let slug = body["type"]
                .as_str()
                .and_then(|t| t.strip_prefix(PROBLEM_TYPE_PREFIX))
                .filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
                .unwrap_or("unknown")
                .to_owned();
            return (slug, body);
        }
    }
    let problem = problem_for_status(status);
    let slug = problem.slug().to_owned();
    let body = serde_json::to_value(&problem).unwrap_or_default();
    (slug, body)
}

/// A standard method's name; anything else is `other` (a method is the caller's free text).
pub(crate) fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_a_value_passes() {
        assert_eq!(caught(async { 7 }).await, Ok(7));
        let panicking = async {
            if MAX_BODY_BYTES > 0 {
                panic!("boom");
            }
            7
        };
        assert_eq!(caught(panicking).await, Err(()));
    }

    #[test]
    fn json_bodies_only_and_bundles_as_gzip() {
        let ok =
            |v: &'static str, route| acceptable_content_type(&HeaderValue::from_static(v), route);
        assert!(ok("application/json", None));
        assert!(ok("Application/JSON; charset=utf-8", None));
        assert!(ok("application/merge-patch+json", None));
        assert!(!ok("text/plain", None));
        assert!(!ok("application/jsonp", None));
        assert!(!ok("application/gzip", None));
        assert!(ok("application/gzip", Some(BUNDLE_ROUTE)));
        assert!(ok(
            "application/x-www-form-urlencoded",
            Some("/console/aanmelden")
        ));
        assert!(!ok("application/json", Some("/console/aanmelden")));
        assert!(!ok("application/x-www-form-urlencoded", None));
    }
}
