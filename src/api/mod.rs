//! HTTP API (DESIGN.md §5). Handlers stay thin: parse, call [`crate::gateway`], map errors to
//! problem+json.

mod access;
mod admin;
mod body_clock;
mod cases;
mod casework;
mod disclosures;
pub mod fuzzing;
pub(crate) mod guard;
mod health;
mod information;
mod json_body;
mod log;
mod lookup;
mod plan;
pub mod problem;
mod registry;
mod signals;
mod spoed;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::gateway::{Caller, Gateway};
use crate::tls::PeerIdentity;
pub(crate) use crate::trace::is_traceparent;
use crate::trace::TraceContext;
use problem::Problem;

/// Shared state of every handler.
pub type AppState = Arc<Gateway>;

/// Routes without the request deadline: administrators' policy bundles are compiled and
/// replayed against past decisions (impact preview), which may take long by itself; so are
/// registry changes' impact previews.
fn without_deadline(path: &str) -> bool {
    path.starts_with("/v1/admin/policy-bundles")
        || (path.starts_with("/v1/admin/registry/changes/") && path.ends_with("/impact"))
}

/// Answers 503 problem+json (`storage-unavailable`) for a request still without its answer
/// after `limit`, and drops its work. A query on a database connection that went silent (a
/// network partition: no answer and no reset) would otherwise hold the request as long as
/// TCP keeps trying. Dropping is safe for the log: a step's transaction that did not commit
/// rolls back, one that did leaves its entry in the outbox for the writer's sweep, and no
/// answer has left.
///
/// The body must arrive within `limit` too, on every route (see [`body_clock`]): a client
/// still sending it then hears 408 `request-timeout`, not 503.
pub fn with_deadline(router: Router, limit: std::time::Duration) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let (req, body) = body_clock::start(req, limit);
            if without_deadline(req.uri().path()) {
                return next.run(req).await;
            }
            let run = next.run(req);
            tokio::pin!(run);
            match tokio::time::timeout(limit, &mut run).await {
                Ok(res) => res,
                // The body's own deadline passed with this one: its read fails now, and the
                // guard answers 408 (and logs it).
                Err(_) if !body.complete() => tokio::time::timeout(limit, run)
                    .await
                    .unwrap_or_else(|_| Problem::timed_out().into_response()),
                Err(_) => {
                    tracing::error!(
                        limit_ms = limit.as_millis() as u64,
                        "request timed out (storage not answering): refusing"
                    );
                    Problem::timed_out().into_response()
                }
            }
        },
    ))
}

/// The router as it is served: every route under the request deadline, and the access layer
/// ([`access`]: trace context, request span, access log, metrics) outside it, so a request that
/// timed out is observed too.
pub fn service(gateway: AppState, deadline: std::time::Duration) -> Router {
    with_deadline(router(gateway), deadline).layer(axum::middleware::from_fn(access::observe))
}

/// The router with all routes.
pub fn router(gateway: AppState) -> Router {
    Router::new()
        .route(
            "/v1/cases/{case_id}/persons/{person_id}",
            get(cases::read_person),
        )
        .route("/v1/cases", post(casework::register))
        .route(
            "/v1/cases/{case_id}/registration",
            get(casework::read_registration),
        )
        .route("/v1/cases/{case_id}/screening", get(casework::screening))
        .route(
            "/v1/cases/{case_id}/screening/decision",
            post(casework::decide_screening),
        )
        .route("/v1/cases/{case_id}/invitations", post(casework::invite))
        .route(
            "/v1/cases/{case_id}/invitations/accept",
            post(casework::accept),
        )
        .route(
            "/v1/cases/{case_id}/participants/{oin}",
            delete(casework::remove),
        )
        .route(
            "/v1/cases/{case_id}/casusregisseur",
            put(casework::set_casusregisseur),
        )
        .route("/v1/cases/{case_id}/close", post(casework::close))
        .route(
            "/v1/cases/{case_id}/contributions",
            get(casework::own_contributions),
        )
        .route(
            "/v1/cases/{case_id}/retention",
            post(casework::extend_retention),
        )
        .route(
            "/v1/cases/{case_id}/afspraken",
            get(plan::list).post(plan::create),
        )
        .route(
            "/v1/cases/{case_id}/afspraken/{afspraak_id}",
            patch(plan::update),
        )
        .route("/v1/cases/{case_id}/attention", get(plan::attention))
        .route("/v1/attention", get(plan::region_attention))
        .route(
            "/v1/cases/{case_id}/escalation",
            get(plan::escalation_history).post(plan::escalate),
        )
        .route(
            "/v1/cases/{case_id}/information",
            post(information::contribute),
        )
        .route(
            "/v1/cases/{case_id}/information/{item_id}/correction",
            post(information::correct),
        )
        .route(
            "/v1/cases/{case_id}/information/{item_id}/withdrawal",
            post(information::withdraw),
        )
        .route(
            "/v1/cases/{case_id}/information/{item_id}/recipients",
            get(information::recipients),
        )
        .route("/v1/lookup", post(lookup::lookup))
        .route("/v1/disclosures", get(disclosures::list))
        .route("/v1/disclosures/search", post(disclosures::search))
        .route("/v1/embargoes", post(disclosures::embargo))
        .route("/v1/signals", get(signals::signals))
        .route("/v1/spoed-reviews", get(spoed::list))
        .route("/v1/spoed-reviews/{id}/review", post(spoed::review))
        .route(
            "/v1/subjects/access-report",
            get(disclosures::access_report).post(disclosures::access_report),
        )
        .route("/v1/log/checkpoint", get(log::checkpoint))
        .route("/v1/log/proof/inclusion", get(log::inclusion))
        .route("/v1/log/proof/consistency", get(log::consistency))
        .route("/v1/log/entries", get(log::entries))
        .route("/v1/log/receipts/{disclosure_id}", get(log::receipt))
        .route(
            "/v1/admin/policy-bundles",
            get(admin::history).post(admin::propose),
        )
        .route(
            "/v1/admin/policy-bundles/{revision}/approve",
            post(admin::approve),
        )
        .route(
            "/v1/admin/policy-bundles/{revision}/reject",
            post(admin::reject),
        )
        .route(
            "/v1/admin/policy-bundles/{revision}/activate",
            post(admin::activate),
        )
        .route(
            "/v1/admin/policy-bundles/{revision}/impact",
            get(admin::impact),
        )
        .route("/v1/admin/registry", get(registry::view))
        .route(
            "/v1/admin/registry/changes",
            get(registry::history).post(registry::propose),
        )
        .route(
            "/v1/admin/registry/changes/{id}/approve",
            post(registry::approve),
        )
        .route(
            "/v1/admin/registry/changes/{id}/reject",
            post(registry::reject),
        )
        .route(
            "/v1/admin/registry/changes/{id}/impact",
            get(registry::impact),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(health::openapi))
        .route("/metrics", get(health::metrics))
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(guard::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            guard::guard,
        ))
        .with_state(gateway)
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-such-route",
        "Not found",
        "no such endpoint; see /openapi.json",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "see /openapi.json",
    )
}

/// A peer that completed the mutual-TLS handshake (its certificate chains to the convenant's
/// trust anchors). Enough for the transparency log's hashes and signed checkpoints, which hold
/// no personal data, so witnesses need no partner token.
pub struct Peer;

impl FromRequestParts<AppState> for Peer {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        _gateway: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<PeerIdentity>>()
            .map(|_| Peer)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "client-certificate-required",
                    "Client certificate required",
                    "this gateway only answers over mutual TLS",
                )
            })
    }
}

/// An authenticated caller: the certificate's partner plus a verified token. Refusals are
/// logged by the gateway before they are answered.
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<Arc<PeerIdentity>>().cloned() else {
            // Only reachable if the router is served without the mTLS acceptor.
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "client-certificate-required",
                "Client certificate required",
                "this gateway only answers over mutual TLS",
            ));
        };
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let caller = gateway
            .authenticate(&peer, bearer, request_trace(&parts.extensions))
            .await
            .map_err(Problem::from)?;
        if let Some(slot) = parts.extensions.get::<guard::CallerSlot>() {
            slot.set(caller.record());
        }
        Ok(Authenticated(caller))
    }
}

/// The request's trace context, which [`access::observe`] attaches to every request (a new
/// trace for a request served without it, such as a router under test).
pub(crate) fn request_trace(extensions: &axum::http::Extensions) -> TraceContext {
    extensions
        .get::<TraceContext>()
        .copied()
        .unwrap_or_else(TraceContext::fresh)
}

/// Extracts the request's trace context (never refuses).
pub(crate) struct RequestTrace(pub TraceContext);

impl<S: Send + Sync> FromRequestParts<S> for RequestTrace {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestTrace(request_trace(&parts.extensions)))
    }
}
