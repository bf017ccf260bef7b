//! Fuzz entry points for the API's parsers of outside bytes: request bodies, query strings,
//! path segments and headers, each driven through the very function its handler calls (see
//! [`crate::fuzz`] for the harness). A target panics when an invariant breaks: a refusal must
//! be a 400 problem of an `invalid-*` type, and whatever is accepted must have the shape the
//! rest of the gateway trusts.

use axum::http::{HeaderValue, StatusCode};
use chrono::{DateTime, Utc};

use super::problem::{Problem, PROBLEM_TYPE_PREFIX};
use super::{admin, cases, casework, disclosures, information, log, lookup, plan, registry};
use super::{signals, spoed};
use crate::casework::{CHAINS, EFFECTS};
use crate::domain::Bsn;

/// The endpoints whose JSON bodies [`body`] feeds, by the name a corpus file starts with.
pub const BODY_ENDPOINTS: &[&str] = &[
    "register",
    "screening_decision",
    "invite",
    "casusregisseur",
    "close",
    "retention",
    "contribute",
    "correct",
    "withdraw",
    "afspraak_create",
    "afspraak_update",
    "escalate",
    "lookup",
    "disclosures_search",
    "access_report",
    "embargo",
    "spoed_review",
    "reject",
    "registry_change",
];

/// The query strings [`query`] feeds.
pub const QUERY_ENDPOINTS: &[&str] = &["read_person", "disclosures", "signals", "impact", "spoed"];

/// The proof queries [`proof_query`] feeds (the transparency log's).
pub const PROOF_ENDPOINTS: &[&str] = &["inclusion", "consistency", "entries"];

/// Path segments and headers [`path_and_headers`] feeds.
pub const PATH_ENDPOINTS: &[&str] = &[
    "case_id",
    "person_id",
    "item_id",
    "afspraak_id",
    "disclosure_id",
    "oin",
    "traceparent",
    "idempotency_key",
];

/// A fixed moment for the parsers that compare with now, so a corpus file keeps its meaning.
fn fixed_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_798_761_600, 0).unwrap_or_default() // 2027-01-01
}

/// Splits `endpoint\nrest`; an unknown or garbled endpoint still selects one (by its bytes), so
/// no mutated input is wasted.
pub fn select<'a>(data: &'a [u8], names: &[&'static str]) -> (&'static str, &'a [u8]) {
    let (head, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let name = names
        .iter()
        .find(|n| n.as_bytes() == head)
        .copied()
        .unwrap_or_else(|| {
            let sum = head.iter().map(|b| usize::from(*b)).sum::<usize>();
            names[sum % names.len()]
        });
    (name, rest)
}

/// A refusal must be a 400 of one of the parsers' `invalid-*` problem types. Returns the
/// outcome label the harness uses to spot inputs that reach somewhere new.
fn check_refusal(endpoint: &str, p: &Problem) -> String {
    assert_eq!(
        p.status,
        StatusCode::BAD_REQUEST.as_u16(),
        "{endpoint}: refusal is not a 400: {p:?}"
    );
    assert!(
        p.problem_type
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .is_some_and(|slug| slug.starts_with("invalid-")),
        "{endpoint}: unexpected problem type {}",
        p.problem_type
    );
    // Up to the first `: ` (after it, most details echo the input), and never the echoed key.
    let detail = p.detail.split(": ").next().unwrap_or_default();
    let detail = if detail.starts_with("unknown query parameter") {
        "unknown query parameter"
    } else {
        detail
    };
    format!(
        "{endpoint}: {} {}",
        p.problem_type,
        crate::fuzz::gist(detail)
    )
}

/// Trimmed, non-empty, at most `max` characters: what `casework::text` promises.
fn check_text(what: &str, s: &str, max: usize) {
    assert!(!s.is_empty(), "{what}: empty text accepted");
    assert_eq!(s, s.trim(), "{what}: untrimmed text accepted");
    assert!(s.chars().count() <= max, "{what}: longer than {max}");
}

fn check_identifier(what: &str, s: &str, extra: &[u8]) {
    assert!(
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b)),
        "{what}: {s:?} accepted"
    );
}

/// A BSN that was accepted passes the elfproef again from its digits.
fn check_bsn(b: &Bsn) {
    assert_eq!(
        b.expose().parse::<Bsn>().as_ref(),
        Ok(b),
        "BSN does not re-parse"
    );
}

fn check_oin(o: &crate::domain::Oin) {
    let s = o.as_str();
    assert!(
        s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()),
        "OIN {s:?}"
    );
}

/// `endpoint\n<JSON body>`: the body through the endpoint's parser.
pub fn body(data: &[u8]) -> String {
    let (endpoint, bytes) = select(data, BODY_ENDPOINTS);
    let now = fixed_now();
    let result: Result<(), Problem> = (|| {
        match endpoint {
            "register" => {
                let r = casework::parse_registration(bytes)?;
                assert!((1..=20).contains(&r.persons.len()), "persons count");
                assert!(r.problems.len() <= 50, "problems count");
                let mut seen = std::collections::BTreeSet::new();
                for p in &r.persons {
                    if let Some(b) = &p.bsn {
                        check_bsn(b);
                        assert!(seen.insert(b.expose().to_string()), "same BSN twice");
                    } else {
                        assert!(p.naam.is_some() && p.geboortedatum.is_some(), "no identity");
                    }
                    if let Some(n) = &p.naam {
                        check_text("naam", n, 200);
                    }
                    check_identifier("relation", &p.relation, b"_");
                }
                check_identifier("region", &r.region, b"-");
                check_text("title", &r.title, 200);
                check_text("reason", &r.reason, 2000);
                for c in r.chains_involved.iter().chain(&r.chains_needed) {
                    assert!(CHAINS.contains(&c.as_str()), "chain {c:?}");
                }
                for p in &r.problems {
                    assert!(p.leads_to.iter().all(|e| EFFECTS.contains(&e.as_str())));
                }
                // The screening document never carries a BSN or a name.
                let doc = r.screening_document().to_string();
                for p in &r.persons {
                    if let Some(b) = &p.bsn {
                        assert!(!doc.contains(b.expose()), "BSN in the screening document");
                    }
                }
            }
            "screening_decision" => {
                let (_, reason) = casework::parse_screening_decision(bytes)?;
                assert_eq!(reason, reason.trim());
                assert!(reason.chars().count() <= 2000);
            }
            "invite" => {
                let oins = casework::parse_invitation(bytes)?;
                assert!((1..=20).contains(&oins.len()));
                for (i, o) in oins.iter().enumerate() {
                    check_oin(o);
                    assert!(!oins[..i].contains(o), "duplicate OIN kept");
                }
            }
            "casusregisseur" => check_oin(&casework::parse_casusregisseur(bytes)?),
            "close" => {
                let (outcome, reason) = casework::parse_close(bytes)?;
                check_identifier("outcome", &outcome, b"_");
                check_text("reason", &reason, 2000);
            }
            "retention" => {
                let (until, reason) = casework::parse_retention(bytes, now)?;
                assert!(until > now && until <= now + chrono::Duration::days(3650));
                check_text("reason", &reason, 500);
            }
            "contribute" => {
                let c = information::parse_contribution(bytes)?;
                check_text(
                    "content",
                    &c.content,
                    crate::casework::information::MAX_CONTENT,
                );
                check_identifier("ground", &c.ground, b"_");
            }
            "correct" => {
                let (content, reason) = information::parse_correction(bytes)?;
                check_text(
                    "content",
                    &content,
                    crate::casework::information::MAX_CONTENT,
                );
                check_text("reason", &reason, crate::casework::information::MAX_REASON);
            }
            "withdraw" => {
                let reason = information::parse_withdrawal(bytes)?;
                check_text("reason", &reason, crate::casework::information::MAX_REASON);
            }
            "afspraak_create" => {
                let today = now.date_naive();
                let a = plan::parse_new_afspraak(bytes, today)?;
                assert!(a.due >= today);
                check_oin(&a.partner);
                check_text("action", &a.action, 1000);
                assert!(crate::casework::plan::STATUSES.contains(&a.status));
            }
            "afspraak_update" => {
                let c = plan::parse_afspraak_change(bytes)?;
                assert!(c.status.is_some() || c.due.is_some() || c.note.is_some());
                if let Some(n) = &c.note {
                    check_text("note", n, 2000);
                }
            }
            "escalate" => {
                let (level, reason) = plan::parse_escalation(bytes)?;
                assert!(crate::casework::plan::AVE_LEVELS.contains(&level));
                check_text("reason", &reason, 2000);
                assert!(reason.chars().count() >= plan::MIN_REASON);
            }
            "lookup" => check_bsn(&lookup::parse_lookup(bytes)?),
            "disclosures_search" => {
                let (bsn, filter) = disclosures::parse_search(bytes)?;
                if let Some(b) = &bsn {
                    check_bsn(b);
                }
                assert!((1..=1000).contains(&filter.limit));
                assert!(
                    filter.subject_pseudonym.is_none(),
                    "a pseudonym from the caller"
                );
            }
            "access_report" => check_bsn(&disclosures::parse_access_report(bytes)?),
            "embargo" => {
                let e = disclosures::parse_embargo(bytes)?;
                check_bsn(&e.bsn);
                let again = DateTime::parse_from_rfc3339(&e.until_text).map(|t| t.to_utc());
                assert_eq!(again, Ok(e.until));
            }
            "spoed_review" => {
                spoed::parse_review(bytes)?;
            }
            "reject" => {
                admin::parse_reject(bytes)?;
            }
            "registry_change" => {
                let request = registry::parse_change_request(bytes)?;
                // The offline part of the administration layer's validation (key PEMs,
                // thumbprints, OINs) must refuse with problems, never panic.
                let convenant = crate::policy::ConvenantSummary {
                    partner_types: ["gemeente".to_string(), "politie".to_string()].into(),
                    ..Default::default()
                };
                let checked =
                    crate::admin::registry::validate_offline(&request.changes, &convenant, now);
                // What a proposal stores must read back as the same changes.
                if checked.is_ok() {
                    let json = serde_json::to_string(&request.changes).unwrap_or_default();
                    let back: Vec<crate::admin::registry::RegistryChange> =
                        serde_json::from_str(&json).unwrap_or_default();
                    assert_eq!(back, request.changes, "stored changes do not read back");
                }
            }
            other => unreachable!("no body endpoint {other}"),
        }
        Ok(())
    })();
    match result {
        Ok(()) => format!("{endpoint}: ok"),
        Err(p) => check_refusal(endpoint, &p),
    }
}

/// `endpoint\n<query string>`: the query through the endpoint's parser.
pub fn query(data: &[u8]) -> String {
    let (endpoint, bytes) = select(data, QUERY_ENDPOINTS);
    // axum hands the raw query over as a string; a non-UTF-8 one never reaches the parser.
    let Ok(q) = std::str::from_utf8(bytes) else {
        return "not UTF-8".into();
    };
    let result: Result<(), Problem> = (|| {
        match endpoint {
            "read_person" => {
                if let Some(list) = cases::parse_leefgebieden(Some(q))? {
                    for (i, l) in list.iter().enumerate() {
                        assert!(!list[..i].contains(l), "duplicate leefgebied");
                    }
                }
            }
            "disclosures" => {
                let f = disclosures::parse_filter(Some(q))?;
                assert!((1..=1000).contains(&f.limit));
                if let Some(o) = &f.outcome {
                    assert!(["allowed", "partial", "denied"].contains(&o.as_str()));
                }
                assert!(f.subject_pseudonym.is_none(), "a pseudonym from the query");
            }
            "signals" => {
                let s = signals::parse(Some(q))?;
                if let Some(r) = &s.region {
                    // The signals query also takes `_` (no registered region has one).
                    check_identifier("region", r, b"-_");
                }
            }
            "impact" => {
                let i = admin::impact_query(Some(q))?;
                if let Some(n) = i.last {
                    assert!((1..=crate::admin::impact::MAX_REPLAY).contains(&n));
                }
            }
            "spoed" => {
                let state = spoed::parse_state(Some(q))?;
                assert_eq!(crate::spoed::State::parse(state.name()), Some(state));
            }
            other => unreachable!("no query endpoint {other}"),
        }
        Ok(())
    })();
    match result {
        Ok(()) => format!("{endpoint}: ok"),
        Err(p) => check_refusal(endpoint, &p),
    }
}

/// `endpoint\n<query string>` of the transparency log's proof and entries endpoints.
pub fn proof_query(data: &[u8]) -> String {
    let (endpoint, bytes) = select(data, PROOF_ENDPOINTS);
    let Ok(q) = std::str::from_utf8(bytes) else {
        return "not UTF-8".into();
    };
    let keys = match endpoint {
        "inclusion" => ["index", "size"],
        "consistency" => ["from", "to"],
        _ => ["start", "end"],
    };
    match log::numbers(Some(q), keys) {
        Ok(values) => {
            for v in values {
                assert!(
                    v <= i64::MAX as u64,
                    "{endpoint}: {v} does not fit the store"
                );
            }
            for (_, v) in url::form_urlencoded::parse(q.as_bytes()) {
                assert!(
                    v.bytes().all(|b| b.is_ascii_digit()),
                    "{endpoint}: {v:?} accepted"
                );
            }
            // The canonical form of what was accepted parses to the same numbers.
            let canonical = format!("{}={}&{}={}", keys[0], values[0], keys[1], values[1]);
            let again = log::numbers(Some(&canonical), keys).map_err(|p| p.detail);
            assert_eq!(again, Ok(values), "{endpoint}: {q:?}");
            // The tree layer then names the stored nodes of the proof (pure; sizes up to
            // i64::MAX): few, and all inside the tree.
            let nodes = match endpoint {
                "inclusion" => Some(crate::disclosure::merkle::inclusion_proof_nodes(
                    values[0], values[1],
                )),
                "consistency" => Some(crate::disclosure::merkle::consistency_proof_nodes(
                    values[0], values[1],
                )),
                _ => None,
            };
            if let Some(Ok(nodes)) = &nodes {
                assert!(nodes.len() <= 129, "{endpoint}: {} nodes", nodes.len());
                for n in nodes {
                    let end = (u128::from(n.index) + 1) << n.level;
                    assert!(
                        n.level < 64 && end <= u128::from(values[1]),
                        "{endpoint}: node {n:?} outside the tree of {}",
                        values[1]
                    );
                }
            }
            let tree = match &nodes {
                Some(Ok(_)) => "nodes".to_string(),
                Some(Err(e)) => format!("{e:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                None => String::new(),
            };
            format!("{endpoint}: ok {tree}")
        }
        Err(p) => check_refusal(endpoint, &p),
    }
}

/// `what\n<bytes>`: a path segment (as axum percent-decodes it) or a header value.
pub fn path_and_headers(data: &[u8]) -> String {
    let (what, bytes) = select(data, PATH_ENDPOINTS);
    if what == "idempotency_key" {
        // Only bytes that make a header value reach the handler.
        let Ok(v) = HeaderValue::from_bytes(bytes) else {
            return "not a header value".into();
        };
        return match casework::idempotency_key(Some(&v)) {
            Ok(Some(k)) => {
                assert!(!k.is_empty() && k.len() <= 200 && k == k.trim());
                format!("{what}: ok")
            }
            Ok(None) => unreachable!("a present header read as absent"),
            Err(p) => check_refusal(what, &p),
        };
    }
    let Ok(s) = std::str::from_utf8(bytes) else {
        return "not UTF-8".into();
    };
    let result: Result<(), Problem> = (|| {
        match what {
            "case_id" => {
                let id = casework::case_id(s)?;
                assert_eq!(casework::case_id(&id.to_string())?, id);
            }
            "person_id" => {
                let id: crate::domain::PersonId = s
                    .parse()
                    .map_err(|e| Problem::bad_request("invalid-person-id", format!("{e}")))?;
                assert_eq!(id.to_string().parse(), Ok(id));
            }
            "item_id" => {
                let id = information::item_id(s)?;
                assert_eq!(information::item_id(&id.to_string())?, id);
            }
            "afspraak_id" => {
                let id = plan::afspraak_id(s)?;
                assert_eq!(plan::afspraak_id(&id.to_string())?, id);
            }
            "disclosure_id" => {
                let id: crate::domain::DisclosureId = s
                    .parse()
                    .map_err(|e| Problem::bad_request("invalid-disclosure-id", format!("{e}")))?;
                assert_eq!(id.to_string().parse(), Ok(id));
            }
            "oin" => {
                let o = casework::oin(s)?;
                check_oin(&o);
                assert_eq!(o.as_str(), s);
            }
            "traceparent" => {
                if !super::is_traceparent(s) {
                    return Err(Problem::bad_request("invalid-traceparent", "dropped"));
                }
                // Only then does it reach a span: 55 characters of lower-case hex and dashes.
                assert_eq!(s.len(), 55);
                assert!(s
                    .bytes()
                    .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
            other => unreachable!("no path endpoint {other}"),
        }
        Ok(())
    })();
    match result {
        Ok(()) => format!("{what}: ok"),
        Err(p) => check_refusal(what, &p),
    }
}
