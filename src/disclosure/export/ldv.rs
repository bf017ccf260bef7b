//! Logboek Dataverwerkingen 1.0 (Logius): one record per action and data subject, with the
//! fields of the Logboek interface (`trace_id`, `span_id`, `parent_span_id`, `status_code`,
//! `foreign_operation`, `resource`, `attributes` as key-value pairs) and the `dpl.core.*`
//! attributes.
//!
//! * Processing of personal data is a record that names a data subject
//!   (`dpl.core.data_subject_id`, a keyed pseudonym, and its type) and a processing activity
//!   of the convenant's register (`dpl.core.processing_activity_id`). An entry about several
//!   persons becomes one record per person: the first is the entry's own action, each further
//!   one a child action (its own `span_id`, `parent_span_id` the first's), as LDV asks.
//! * An entry that names no person (an authentication failure, a refusal before any person
//!   was looked at, an administrator's change, a log review without a subject) is not
//!   processing of personal data: it carries no data-subject attributes and its activity is in
//!   the gateway's register of processing without personal data.
//!
//! The register of processing activities is the convenant's purpose register
//! (`data.convenant.purposes`, plus `retention` for the destruction of expired cases), which
//! the convenant administrator maintains through four-eyes policy bundles. An activity id names
//! the bundle revision, so every change of the register gives new ids (LDV: "iedere relevante
//! wijziging ... met een nieuwe identifier"): `urn:vhgate:verwerkingsactiviteit:<revision>:<key>`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::{millis, TraceIds};
use crate::disclosure::{Event, LogEntry, NewEntry, SubjectRecord};
use crate::policy::PolicySources;

/// Prefix of the ids of the convenant's processing activities (personal data).
const ACTIVITY_PREFIX: &str = "urn:vhgate:verwerkingsactiviteit:";
/// Prefix of the ids of the gateway's processing without personal data.
const NON_PERSONAL_PREFIX: &str = "urn:vhgate:verwerking-zonder-persoonsgegevens:";

/// LDV `status_code`: 0 Unset (client errors and anything not explicitly successful),
/// 1 Ok (2xx and 3xx), 2 Error (5xx).
fn status_code(http_status: u16) -> u8 {
    match http_status {
        200..=399 => 1,
        500.. => 2,
        _ => 0,
    }
}

/// The record name of an event (`vhgate.<event>`).
pub fn event_name(event: Event) -> String {
    format!("vhgate.{}", event.as_str())
}

/// The id of a processing activity of the convenant's register at `revision`.
pub fn activity_id(revision: &str, key: &str) -> String {
    format!("{ACTIVITY_PREFIX}{revision}:{key}")
}

/// The (revision, key) an activity id of the convenant's register names, if it is one.
pub fn parse_activity_id(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix(ACTIVITY_PREFIX)?.split_once(':')
}

/// The register entry (key) of an entry about a person: the purpose it was requested for, or,
/// for the gateway's own steps, the convenant section that orders them.
fn activity_key(e: &NewEntry) -> &str {
    match (e.requester.purpose.as_deref(), e.event) {
        (Some(purpose), _) => purpose,
        (None, Event::CaseDestroyed) => "retention",
        (None, Event::SpoedReviewOverdue) => "spoed",
        // Not in any register: the export reports it as unresolved.
        (None, _) => "none",
    }
}

/// The LDV records of one log entry: one per data subject (at least one).
pub fn to_ldv(entry: &LogEntry) -> Vec<Value> {
    let e = &entry.entry;
    let ids = TraceIds::of(e);
    let mut attributes = vec![
        ("vhgate.decision_id", e.id.to_string()),
        (
            "vhgate.outcome",
            crate::disclosure::store::outcome_str(e).to_string(),
        ),
        ("vhgate.http_status", e.status.to_string()),
        ("vhgate.policy_revision", e.policy_revision.clone()),
        ("vhgate.log_seq", entry.seq.to_string()),
    ];
    for (key, value) in [
        ("vhgate.requester_oin", &e.requester.oin),
        ("vhgate.purpose", &e.requester.purpose),
    ] {
        if let Some(value) = value {
            attributes.push((key, value.clone()));
        }
    }
    let mut record = json!({
        "trace_id": ids.trace_id,
        "span_id": ids.span_id,
        "status_code": status_code(e.status),
        "name": event_name(e.event),
        "start_time": millis(&e.time),
        "end_time": millis(&e.time),
        "resource": { "attributes": pairs(&[
            ("service.name", "vhgate".to_string()),
            ("service.version", env!("CARGO_PKG_VERSION").to_string()),
        ]) },
    });
    if let (Some(trace), Some(span)) = (&ids.foreign_trace_id, &ids.foreign_span_id) {
        let entity = e
            .requester
            .oin
            .as_deref()
            .map(|oin| format!("urn:oin:{oin}"))
            .unwrap_or_else(|| "urn:vhgate:unidentified-client".into());
        record["foreign_operation"] =
            json!({ "trace_id": trace, "span_id": span, "entity": entity });
    }

    let subjects: Vec<&SubjectRecord> = e.subject.iter().chain(e.subjects.iter()).collect();
    if subjects.is_empty() {
        attributes.push((
            "dpl.core.processing_activity_id",
            format!("{NON_PERSONAL_PREFIX}{}", e.event.as_str()),
        ));
        record["attributes"] = pairs(&attributes);
        return vec![record];
    }
    attributes.push((
        "dpl.core.processing_activity_id",
        activity_id(&e.policy_revision, activity_key(e)),
    ));
    subjects
        .into_iter()
        .enumerate()
        .map(|(i, subject)| {
            let mut r = record.clone();
            if i > 0 {
                r["span_id"] = json!(child_span_id(e.id, i));
                r["parent_span_id"] = json!(ids.span_id);
            }
            let mut attrs = attributes.clone();
            attrs.push(("dpl.core.data_subject_id", subject.pseudonym.clone()));
            attrs.push((
                "dpl.core.data_subject_id_type",
                format!(
                    "urn:vhgate:data-subject-id:bsn-hmac-sha256:v{}",
                    subject.key_version
                ),
            ));
            r["attributes"] = pairs(&attrs);
            r
        })
        .collect()
}

/// The span of the child action for the `i`-th person of an entry: derived from the entry id,
/// so an export made twice gives the same ids.
fn child_span_id(entry_id: uuid::Uuid, i: usize) -> String {
    let mut input = entry_id.as_bytes().to_vec();
    input.extend_from_slice(&(i as u64).to_be_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    hex::encode(&digest.as_ref()[..8])
}

/// LDV attributes: a list of key-value pairs.
fn pairs(attributes: &[(&str, String)]) -> Value {
    Value::Array(
        attributes
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect(),
    )
}

/// The value of attribute `key` of an LDV record.
pub fn attribute<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]
        .as_str()
}

/// One processing activity of a register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub id: String,
    /// The register key (a convenant purpose, `retention`, or an event name).
    pub key: String,
    pub description: String,
    /// Whether it is processing of personal data (in the register of processing activities).
    pub personal_data: bool,
}

/// The processing activities a policy revision's convenant registers, and the gateway's
/// processing without personal data.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessingRegister {
    pub revision: String,
    pub activities: BTreeMap<String, Activity>,
}

impl ProcessingRegister {
    /// The register of the convenant in `sources` (a bundle of revision `revision`).
    pub fn from_sources(revision: &str, sources: &PolicySources) -> ProcessingRegister {
        let mut activities = BTreeMap::new();
        let mut add = |key: &str, description: &str, personal_data: bool| {
            let id = if personal_data {
                activity_id(revision, key)
            } else {
                format!("{NON_PERSONAL_PREFIX}{key}")
            };
            activities.insert(
                id.clone(),
                Activity {
                    id,
                    key: key.to_string(),
                    description: description.to_string(),
                    personal_data,
                },
            );
        };
        for (_, data) in &sources.data {
            let Some(conv) = data.get("convenant") else {
                continue;
            };
            let description = |v: &Value| v["description"].as_str().unwrap_or("").to_string();
            if let Some(purposes) = conv.get("purposes").and_then(Value::as_object) {
                for (key, purpose) in purposes {
                    add(key, &description(purpose), true);
                }
            }
            if let Some(retention) = conv.get("retention") {
                add("retention", &description(retention), true);
            }
        }
        for event in Event::ALL {
            add(
                event.as_str(),
                "A step of the gateway that named no person (no personal data processed).",
                false,
            );
        }
        ProcessingRegister {
            revision: revision.to_string(),
            activities,
        }
    }

    /// Whether the register holds the activity `id`.
    pub fn resolves(&self, id: &str) -> bool {
        self.activities.contains_key(id)
    }
}

/// Why a revision's register could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("bundle {revision} in the bundle history does not read: {source}")]
    Bundle {
        revision: String,
        source: crate::policy::PolicyError,
    },
}

/// The register of processing activities as bundle `revision` of the bundle history defines
/// it; `None` when the history does not hold that revision.
pub async fn register_at(
    db: &crate::store::Db,
    revision: &str,
) -> Result<Option<ProcessingRegister>, RegisterError> {
    let Some(record) = crate::admin::store::get(db, revision).await? else {
        return Ok(None);
    };
    let bundle = crate::policy::bundle::Bundle::from_tar_gz(&record.bundle).map_err(|source| {
        RegisterError::Bundle {
            revision: revision.to_string(),
            source,
        }
    })?;
    Ok(Some(ProcessingRegister::from_sources(
        revision,
        &bundle.sources,
    )))
}

/// Checks the processing activities of an export's records against the registers of the
/// revisions they name (each register read once) and counts the ones that do not resolve.
#[derive(Default)]
pub struct ActivityCheck {
    registers: std::collections::HashMap<String, Option<ProcessingRegister>>,
    unresolved: BTreeMap<String, usize>,
}

impl ActivityCheck {
    /// Checks the activity of one record about a person.
    pub async fn check(
        &mut self,
        db: &crate::store::Db,
        activity: &str,
    ) -> Result<(), RegisterError> {
        let resolved = match parse_activity_id(activity) {
            Some((revision, _)) => {
                if !self.registers.contains_key(revision) {
                    let register = register_at(db, revision).await?;
                    self.registers.insert(revision.to_string(), register);
                }
                self.registers
                    .get(revision)
                    .and_then(Option::as_ref)
                    .is_some_and(|r| r.resolves(activity))
            }
            None => false,
        };
        if !resolved {
            *self.unresolved.entry(activity.to_string()).or_default() += 1;
        }
        Ok(())
    }

    /// The activities that did not resolve, with how many records named each.
    pub fn unresolved(&self) -> &BTreeMap<String, usize> {
        &self.unresolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::{Outcome, RequesterRecord, Tier};

    fn entry(subjects: usize, traceparent: Option<&str>) -> LogEntry {
        let mut e = NewEntry {
            id: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            time: "2026-12-05T10:00:00.000000Z".into(),
            event: Event::ReadPerson,
            outcome: Outcome::Allowed,
            status: 200,
            requester: RequesterRecord {
                oin: Some("00000001234567890000".into()),
                purpose: Some("casusoverleg".into()),
                ..RequesterRecord::default()
            },
            case_id: None,
            subject: None,
            subjects: vec![],
            tier: Tier::Full,
            disclosed: vec![],
            categories: vec![],
            sources: vec![],
            withheld: vec![],
            reasons: vec![],
            policy_revision: "abc123".into(),
            problem_type: None,
            traceparent: traceparent.map(str::to_string),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            span_id: Some("1111111111111111".into()),
            parent_span_id: traceparent.map(|_| "00f067aa0ba902b7".into()),
            input: None,
        };
        e.set_subjects(
            (0..subjects)
                .map(|i| SubjectRecord {
                    pseudonym: format!("{i:064}"),
                    key_version: 1,
                })
                .collect(),
        );
        LogEntry {
            v: 1,
            seq: 7,
            entry: e,
        }
    }

    #[test]
    fn one_record_per_person_children_under_the_first() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let records = to_ldv(&entry(3, Some(tp)));
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["span_id"], "1111111111111111");
        assert!(records[0].get("parent_span_id").is_none());
        for child in &records[1..] {
            assert_eq!(child["parent_span_id"], "1111111111111111");
            assert_eq!(child["trace_id"], records[0]["trace_id"]);
            assert_ne!(child["span_id"], records[0]["span_id"]);
        }
        assert_ne!(records[1]["span_id"], records[2]["span_id"]);
        assert_eq!(records, to_ldv(&entry(3, Some(tp))), "stable ids");
        assert_eq!(
            records[0]["foreign_operation"]["span_id"],
            "00f067aa0ba902b7"
        );
        assert_eq!(
            records[0]["foreign_operation"]["entity"],
            "urn:oin:00000001234567890000"
        );
        for (i, r) in records.iter().enumerate() {
            assert_eq!(
                attribute(r, "dpl.core.data_subject_id"),
                Some(format!("{i:064}").as_str())
            );
            assert_eq!(
                attribute(r, "dpl.core.processing_activity_id"),
                Some("urn:vhgate:verwerkingsactiviteit:abc123:casusoverleg")
            );
            assert_eq!(r["status_code"], 1);
        }
    }

    /// An entry written before the gateway recorded its own ids: the partner's trace from its
    /// `traceparent`, a span derived from the entry id.
    #[test]
    fn older_entries_take_their_ids_from_the_traceparent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut old = entry(1, Some(tp));
        old.entry.trace_id = None;
        old.entry.span_id = None;
        old.entry.parent_span_id = None;
        let id = old.entry.id.simple().to_string();
        let record = &to_ldv(&old)[0];
        assert_eq!(record["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(record["span_id"], &id[16..32]);
        assert_eq!(
            record["foreign_operation"]["trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(record["foreign_operation"]["span_id"], "00f067aa0ba902b7");
        // A malformed one (never stored by the gateway) names no partner span.
        old.entry.traceparent = Some("00-short-00f067aa0ba902b7-01".into());
        let record = &to_ldv(&old)[0];
        assert_eq!(record["trace_id"], id.as_str());
        assert!(record.get("foreign_operation").is_none());
    }

    #[test]
    fn no_person_no_processing_of_personal_data() {
        let records = to_ldv(&entry(0, None));
        assert_eq!(records.len(), 1);
        assert_eq!(attribute(&records[0], "dpl.core.data_subject_id"), None);
        assert_eq!(
            attribute(&records[0], "dpl.core.processing_activity_id"),
            Some("urn:vhgate:verwerking-zonder-persoonsgegevens:read_person")
        );
        assert!(records[0].get("foreign_operation").is_none());
    }

    #[test]
    fn status_codes_follow_ldv() {
        assert_eq!(status_code(200), 1);
        assert_eq!(status_code(303), 1);
        assert_eq!(status_code(403), 0);
        assert_eq!(status_code(503), 2);
    }
}
