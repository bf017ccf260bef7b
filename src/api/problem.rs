//! RFC 9457 problem details with stable `type`s.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::disclosure::tree::TreeError;
use crate::domain::DisclosureId;
use crate::gateway::GatewayError;
use crate::policy::Decision;

/// Prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:vhgate:problem:";

/// A problem+json response.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<Decision>>,
    #[serde(skip)]
    www_authenticate: bool,
    #[serde(skip)]
    retry_after: bool,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{slug}"),
            title,
            status: status.as_u16(),
            detail: redact_bsn_like(&detail.into()),
            disclosure_id: None,
            decision: None,
            www_authenticate: false,
            retry_after: false,
        }
    }

    pub fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    /// A request that did not finish in time (`server.request_timeout_ms`): 503, nothing
    /// disclosed.
    pub fn timed_out() -> Self {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            "Storage unavailable",
            "the request did not finish in time (storage not answering); nothing was disclosed; \
             a casework step may have been applied, so check before repeating it",
        );
        p.retry_after = true;
        p
    }

    /// A request that did not arrive in time: its head within the header-read timeout, or its
    /// body within `server.request_timeout_ms`. 408; nothing was done.
    pub fn request_timeout() -> Self {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request timeout",
            "the request did not arrive in time (the client sent it too slowly or stopped); \
             nothing was done; send it again",
        )
    }

    /// The stable slug of the problem's `type` (what a log entry's `problem_type` holds).
    pub fn slug(&self) -> &str {
        self.problem_type
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .unwrap_or("unknown")
    }

    /// Names the disclosure-log entry that recorded this refusal or failure.
    pub(crate) fn logged(mut self, id: Option<DisclosureId>) -> Self {
        self.disclosure_id = id.map(|i| i.to_string());
        self
    }
}

/// Replaces every run of 8 or 9 digits (BSN-shaped) in a detail text: details often quote a
/// piece of the input (an id that does not parse, a JSON value of the wrong type), and a BSN
/// must not travel back in an error, into a partner's error logs.
fn redact_bsn_like(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if (8..=9).contains(&digits.len()) {
            out.push('…');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in detail.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

impl From<GatewayError> for Problem {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Unauthenticated {
                error,
                detail,
                disclosure_id,
            } => {
                let mut p = Problem::new(
                    StatusCode::UNAUTHORIZED,
                    error.slug(),
                    "Unauthenticated",
                    detail,
                )
                .logged(Some(disclosure_id));
                p.www_authenticate = true;
                p
            }
            GatewayError::UnknownOrganisation { disclosure_id } => Problem::new(
                StatusCode::FORBIDDEN,
                "unknown-organisation",
                "Unknown organisation",
                "the OIN in the client certificate is not a partner in the convenant",
            )
            .logged(Some(disclosure_id)),
            GatewayError::CertificateNotRegistered { disclosure_id } => Problem::new(
                StatusCode::FORBIDDEN,
                "certificate-not-registered",
                "Certificate not registered",
                "this client certificate is not among the certificates registered for the partner in the convenant",
            )
            .logged(Some(disclosure_id)),
            GatewayError::Denied {
                decision,
                disclosure_id,
            } => {
                let (slug, detail) = if decision.tier == crate::policy::Tier::HitNoHit {
                    (
                        "hit-no-hit-only",
                        "only a hit/no-hit lookup is allowed for this request (POST /v1/lookup)",
                    )
                } else {
                    (
                        "denied",
                        "the convenant's policies do not allow this request; see decision.reasons",
                    )
                };
                let mut p = Problem::new(StatusCode::FORBIDDEN, slug, "Refused by policy", detail)
                    .logged(Some(disclosure_id));
                p.decision = Some(decision);
                p
            }
            GatewayError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            GatewayError::AccessRefused {
                detail,
                disclosure_id,
            } => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
                .logged(Some(disclosure_id)),
            GatewayError::NotFound { disclosure_id } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such case, or no such person in it",
            )
            .logged(Some(disclosure_id)),
            GatewayError::Conflict {
                detail,
                disclosure_id,
            } => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
                .logged(Some(disclosure_id)),
            GatewayError::Log(e) => {
                tracing::error!(error = %e, "disclosure log unavailable: refusing to disclose");
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "log-unavailable",
                    "Disclosure log unavailable",
                    "the decision could not be recorded durably, so nothing was disclosed; retry later",
                );
                p.retry_after = true;
                p
            }
            GatewayError::Signals(e) => Problem::bad_request("invalid-query", e.to_string()),
            GatewayError::Tree(TreeError::Range(detail)) => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-range",
                "Bad request",
                detail,
            ),
            GatewayError::Tree(TreeError::NotFound(detail)) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
            }
            GatewayError::Tree(TreeError::Store(e)) => GatewayError::Store(e).into(),
            GatewayError::Tree(TreeError::Proof(e)) => {
                tracing::error!(error = %e, "the stored Merkle tree is inconsistent");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log-inconsistent",
                    "Transparency log inconsistent",
                    "the stored tree cannot produce this proof; the log needs an audit (vhgate log verify)",
                )
            }
            GatewayError::Policy {
                source,
                disclosure_id,
            } => {
                tracing::error!(error = %source, "policy evaluation failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "policy-error",
                    "Policy evaluation failed",
                    "the policy could not decide this request, so nothing was disclosed",
                )
                .logged(disclosure_id)
            }
            GatewayError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-unavailable",
                    "Storage unavailable",
                    "the case record could not be read; nothing was disclosed",
                );
                p.retry_after = true;
                p
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(id) = self
            .disclosure_id
            .as_deref()
            .and_then(|i| HeaderValue::from_str(i).ok())
        {
            headers.insert("disclosure-id", id);
        }
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_lose_bsn_shaped_numbers() {
        assert_eq!(
            redact_bsn_like("not a valid UUID: 999990019 (12345678901234567890, 42)"),
            "not a valid UUID: … (12345678901234567890, 42)"
        );
    }
}
