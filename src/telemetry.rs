//! Operational metrics in the Prometheus text format (`GET /metrics`, for the monitoring role).
//!
//! One recorder per process (the `metrics` facade's global one), rendered on demand by our own
//! route: the exporter's HTTP listener and push gateway are not built. Labels are route
//! templates, methods, statuses, partner types, policy events and the policy revision: never a
//! BSN, name, case id, pseudonym or token subject.
//!
//! Per request the cost is one thread-local map lookup and two atomic updates: the handles of
//! each (route, method, status, partner type) are registered once per worker thread and kept,
//! so no label strings are built and no registry lock is taken after the first request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by route template, method, status and the caller's partner type.
pub const REQUESTS: &str = "vhgate_http_requests_total";
/// Time from a request's arrival to its answer, by route template.
pub const REQUEST_SECONDS: &str = "vhgate_http_request_duration_seconds";
/// Time the policy engine took for one decision, by the log event it decided.
pub const DECISION_SECONDS: &str = "vhgate_policy_decision_duration_seconds";
/// Time one group commit of the disclosure log took.
pub const COMMIT_SECONDS: &str = "vhgate_log_commit_duration_seconds";
/// Entries (jobs) per group commit of the disclosure log.
pub const COMMIT_BATCH: &str = "vhgate_log_commit_batch_size";
/// Group commits that failed (every request in them got 503).
pub const COMMIT_FAILURES: &str = "vhgate_log_commit_failures_total";
/// Jobs waiting for the disclosure-log writer.
pub const WRITER_QUEUE: &str = "vhgate_log_writer_queue_depth";
/// Verified-token cache hits.
pub const TOKEN_CACHE_HITS: &str = "vhgate_token_cache_hits_total";
/// Verified-token cache misses (full signature verification).
pub const TOKEN_CACHE_MISSES: &str = "vhgate_token_cache_misses_total";
/// Connections in the database pool.
pub const POOL_SIZE: &str = "vhgate_db_pool_connections";
/// Idle connections in the database pool.
pub const POOL_IDLE: &str = "vhgate_db_pool_idle_connections";
/// The policy revision in force (info-style: always 1, the revision is the label).
pub const POLICY_REVISION: &str = "vhgate_policy_revision_info";

/// The partner type of a request without a verified token (health, metrics, transparency-log
/// proofs, refusals before authentication).
pub const NO_PARTNER: &str = "none";

/// Seconds: from 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Entries per commit, up to the largest `log.batch_max`.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 10_000.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls do nothing) and describes the metrics.
/// Handles taken before this record nothing, so the gateway calls it before it builds anything
/// that keeps handles.
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(COMMIT_BATCH.into()), BATCH_BUCKETS)
            });
        let handle = match builder.map(PrometheusBuilder::install_recorder) {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics recorder not installed; /metrics stays empty");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics buckets refused; /metrics stays empty");
                return None;
            }
        };
        describe();
        Some(handle)
    });
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS, "Requests answered, by route template, method, status and the caller's partner type (none: no verified token).");
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time from a request's arrival to its answer, by route template."
    );
    describe_histogram!(
        DECISION_SECONDS,
        Unit::Seconds,
        "Time the policy engine took for one decision, by the log event it decided."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time one group commit of the disclosure log took."
    );
    describe_histogram!(
        COMMIT_BATCH,
        Unit::Count,
        "Jobs (entries, outbox moves, sweeps) per group commit of the disclosure log."
    );
    describe_counter!(
        COMMIT_FAILURES,
        "Group commits of the disclosure log that failed (their requests were refused)."
    );
    describe_gauge!(
        WRITER_QUEUE,
        Unit::Count,
        "Jobs waiting for the disclosure-log writer."
    );
    describe_counter!(
        TOKEN_CACHE_HITS,
        "Partner tokens found in the verified-token cache."
    );
    describe_counter!(
        TOKEN_CACHE_MISSES,
        "Partner tokens verified in full (not in the cache)."
    );
    describe_gauge!(POOL_SIZE, Unit::Count, "Connections in the database pool.");
    describe_gauge!(
        POOL_IDLE,
        Unit::Count,
        "Idle connections in the database pool."
    );
}

/// Drains recorded histogram samples into their buckets so memory stays bounded between
/// scrapes (the exporter's own listener would do this on a timer).
pub fn run_upkeep() {
    if let Some(Some(handle)) = HANDLE.get() {
        handle.run_upkeep();
    }
}

/// What the gateway knows only at scrape time.
pub struct ScrapeState<'a> {
    pub policy_revision: &'a str,
    pub pool_size: u32,
    pub pool_idle: usize,
}

/// The exposition text: every recorded metric, plus the pool and the policy revision in force
/// now (the revision rendered here, so a replaced revision leaves no stale series).
pub fn render(state: &ScrapeState<'_>) -> String {
    install();
    metrics::gauge!(POOL_SIZE).set(f64::from(state.pool_size));
    metrics::gauge!(POOL_IDLE).set(state.pool_idle as f64);
    let mut text = match HANDLE.get() {
        Some(Some(handle)) => handle.render(),
        _ => String::new(),
    };
    let _ = write!(
        text,
        "# HELP {POLICY_REVISION} The policy revision in force (its hash is the label).\n\
         # TYPE {POLICY_REVISION} gauge\n\
         {POLICY_REVISION}{{revision=\"{}\"}} 1\n",
        label_value(state.policy_revision)
    );
    text
}

/// A label value in the text format: backslash, double quote and line feed escaped.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One route's handles on one worker thread.
struct RouteHandles {
    duration: Histogram,
    /// (method, status, partner type) and its counter; a handful per route.
    answered: Vec<(&'static str, u16, Box<str>, Counter)>,
}

type RouteMap = HashMap<Box<str>, RouteHandles, foldhash::fast::RandomState>;

thread_local! {
    static ROUTES: RefCell<RouteMap> = RefCell::new(RouteMap::default());
    static DECISIONS: RefCell<Vec<(&'static str, Histogram)>> = const { RefCell::new(Vec::new()) };
}

/// Counts one answered request. `route` is the route template (or `unmatched`), never the
/// raw path; `partner_type` the verified caller's, or [`NO_PARTNER`].
pub fn record_request(
    route: &str,
    method: &'static str,
    status: u16,
    partner_type: &str,
    elapsed: Duration,
) {
    ROUTES.with(|routes| {
        let mut routes = routes.borrow_mut();
        if !routes.contains_key(route) {
            install();
            let handles = RouteHandles {
                duration: metrics::histogram!(REQUEST_SECONDS, "route" => route.to_owned()),
                answered: Vec::new(),
            };
            routes.insert(route.into(), handles);
        }
        let Some(handles) = routes.get_mut(route) else {
            return;
        };
        handles.duration.record(elapsed.as_secs_f64());
        let known = handles
            .answered
            .iter()
            .find(|(m, s, p, _)| *m == method && *s == status && **p == *partner_type);
        match known {
            Some((_, _, _, counter)) => counter.increment(1),
            None => {
                let counter = metrics::counter!(
                    REQUESTS,
                    "route" => route.to_owned(),
                    "method" => method,
                    "status" => status.to_string(),
                    "partner_type" => partner_type.to_owned(),
                );
                counter.increment(1);
                handles
                    .answered
                    .push((method, status, partner_type.into(), counter));
            }
        }
    });
}

/// Records how long one policy decision took; `event` is the log event it decided.
pub fn record_decision(event: &'static str, elapsed: Duration) {
    DECISIONS.with(|decisions| {
        let mut decisions = decisions.borrow_mut();
        let seconds = elapsed.as_secs_f64();
        if let Some((_, h)) = decisions.iter().find(|(e, _)| *e == event) {
            h.record(seconds);
            return;
        }
        install();
        let h = metrics::histogram!(DECISION_SECONDS, "event" => event);
        h.record(seconds);
        decisions.push((event, h));
    });
}

/// The disclosure-log writer's handles (taken once, when the writer starts).
#[derive(Clone)]
pub struct WriterMetrics {
    pub commit_seconds: Histogram,
    pub batch_size: Histogram,
    pub failures: Counter,
    pub queue_depth: Gauge,
}

impl WriterMetrics {
    /// Registers the writer's metrics (installing the recorder first if need be).
    pub fn register() -> WriterMetrics {
        install();
        WriterMetrics {
            commit_seconds: metrics::histogram!(COMMIT_SECONDS),
            batch_size: metrics::histogram!(COMMIT_BATCH),
            failures: metrics::counter!(COMMIT_FAILURES),
            queue_depth: metrics::gauge!(WRITER_QUEUE),
        }
    }
}

/// The verified-token cache's handles.
#[derive(Clone)]
pub struct TokenCacheMetrics {
    pub hits: Counter,
    pub misses: Counter,
}

impl TokenCacheMetrics {
    /// Registers the cache's metrics (installing the recorder first if need be).
    pub fn register() -> TokenCacheMetrics {
        install();
        TokenCacheMetrics {
            hits: metrics::counter!(TOKEN_CACHE_HITS),
            misses: metrics::counter!(TOKEN_CACHE_MISSES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_the_revision_are_rendered_with_their_labels() {
        record_request(
            "/v1/cases/{case_id}/persons/{person_id}",
            "GET",
            200,
            "politie",
            Duration::from_millis(3),
        );
        record_request(
            "/v1/cases/{case_id}/persons/{person_id}",
            "GET",
            200,
            "politie",
            Duration::from_millis(4),
        );
        record_decision("read_person", Duration::from_micros(300));
        let text = render(&ScrapeState {
            policy_revision: "abc\"def",
            pool_size: 3,
            pool_idle: 2,
        });
        assert!(
            text.lines().any(|l| l.starts_with(REQUESTS)
                && l.contains("route=\"/v1/cases/{case_id}/persons/{person_id}\"")
                && l.contains("partner_type=\"politie\"")
                && l.contains("status=\"200\"")
                && l.ends_with(" 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{REQUEST_SECONDS}_bucket")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{DECISION_SECONDS}_bucket{{event=\"read_person\"")),
            "{text}"
        );
        assert!(text.contains(&format!("{POOL_SIZE} 3")), "{text}");
        assert!(
            text.contains(&format!("{POLICY_REVISION}{{revision=\"abc\\\"def\"}} 1")),
            "{text}"
        );
    }
}
