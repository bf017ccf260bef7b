//! Exports of log entries in standard shapes, so existing tooling can read them:
//! Logboek Dataverwerkingen records (Logius LDV, component "Logboek", interface fields and the
//! `dpl.core.*` attributes) and OPA decision-log events. Both are derived from the hashed
//! entry; the subject stays a keyed pseudonym.

use serde_json::{json, Value};

use super::{Event, LogEntry};

/// The (trace id, span id) of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_context(traceparent: Option<&str>) -> Option<(&str, &str)> {
    let mut parts = traceparent?.split('-');
    let (_version, trace, span) = (parts.next()?, parts.next()?, parts.next()?);
    (trace.len() == 32 && span.len() == 16).then_some((trace, span))
}

fn event_name(event: Event) -> &'static str {
    match event {
        Event::ReadPerson => "vhgate.read_person",
        Event::Lookup => "vhgate.lookup",
        Event::AuthFailure => "vhgate.auth_failure",
        Event::PolicyChange => "vhgate.policy_change",
        Event::RegistryChange => "vhgate.registry_change",
        Event::RegisterCase => "vhgate.register_case",
        Event::ReadRegistration => "vhgate.read_registration",
        Event::ScreenCase => "vhgate.screen_case",
        Event::ScreeningDecision => "vhgate.screening_decision",
        Event::InviteParticipants => "vhgate.invite_participants",
        Event::AcceptInvitation => "vhgate.accept_invitation",
        Event::RemoveParticipant => "vhgate.remove_participant",
        Event::SetCasusregisseur => "vhgate.set_casusregisseur",
        Event::CloseCase => "vhgate.close_case",
        Event::RetentionExtended => "vhgate.retention_extended",
        Event::CaseDestroyed => "vhgate.case_destroyed",
        Event::ReadOwnContributions => "vhgate.read_own_contributions",
        Event::CreateAfspraak => "vhgate.create_afspraak",
        Event::ReadAfspraken => "vhgate.read_afspraken",
        Event::UpdateAfspraak => "vhgate.update_afspraak",
        Event::ReadAttention => "vhgate.read_attention",
        Event::EscalateCase => "vhgate.escalate_case",
        Event::ReadEscalation => "vhgate.read_escalation",
        Event::ContributeInformation => "vhgate.contribute_information",
        Event::CorrectInformation => "vhgate.correct_information",
        Event::WithdrawInformation => "vhgate.withdraw_information",
        Event::ReadRecipients => "vhgate.read_recipients",
        Event::AccessRefused => "vhgate.access_refused",
        Event::ReviewLog => "vhgate.review_log",
        Event::AccessReport => "vhgate.access_report",
        Event::Embargo => "vhgate.embargo",
        Event::SpoedReviewed => "vhgate.spoed_reviewed",
        Event::SpoedReviewOverdue => "vhgate.spoed_review_overdue",
        Event::RequestRefused => "vhgate.request_refused",
        Event::ConsoleSession => "vhgate.console_session",
        Event::SignalReviewed => "vhgate.signal_reviewed",
    }
}

/// Unix milliseconds of an RFC 3339 time (0 if it does not parse, which verify would flag).
fn millis(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// One Logboek Dataverwerkingen record. The entry id provides our own trace and operation id;
/// a partner's `traceparent` becomes `foreign_operation` (its trace continues in ours).
pub fn to_ldv(entry: &LogEntry) -> Value {
    let e = &entry.entry;
    let id = e.id.simple().to_string();
    let foreign = trace_context(e.traceparent.as_deref());
    let trace_id = foreign
        .map(|(t, _)| t.to_string())
        .unwrap_or_else(|| id.clone());
    let mut attributes = json!({
        "dpl.core.processing_activity_id": format!("urn:vhgate:purpose:{}", e.requester.purpose.as_deref().unwrap_or("none")),
        "vhgate.outcome": super::store::outcome_str(e),
        "vhgate.http_status": e.status,
        "vhgate.policy_revision": e.policy_revision,
        "vhgate.requester_oin": e.requester.oin,
        "vhgate.log_seq": entry.seq,
    });
    if let Some(subject) = &e.subject {
        attributes["dpl.core.data_subject_id"] = json!(subject.pseudonym);
        attributes["dpl.core.data_subject_id_type"] =
            json!(format!("vhgate-hmac-sha256-v{}", subject.key_version));
    }
    let mut record = json!({
        "trace_id": trace_id,
        "operation_id": &id[16..32],
        "status_code": if e.status >= 500 { 2 } else { 1 },
        "name": event_name(e.event),
        "start_time": millis(&e.time),
        "end_time": millis(&e.time),
        "resource": { "attributes": { "service.name": "vhgate", "service.version": env!("CARGO_PKG_VERSION") } },
        "attributes": attributes,
    });
    if let (Some((trace, span)), Some(oin)) = (foreign, e.requester.oin.as_deref()) {
        record["foreign_operation"] =
            json!({ "trace_id": trace, "operation_id": span, "entity": format!("urn:oin:{oin}") });
    }
    record
}

/// One OPA decision-log event (as OPA's decision-log plugin uploads them). The input is the
/// part of the policy input the entry keeps (no field list); the result is the decision.
pub fn to_opa(entry: &LogEntry) -> Value {
    let e = &entry.entry;
    let action = match e.event {
        Event::ReadPerson => "read_person",
        Event::Lookup => "lookup",
        Event::AuthFailure => "authenticate",
        Event::PolicyChange | Event::RegistryChange => "administer",
        Event::RegisterCase => "register_case",
        Event::ReadRegistration => "read_registration",
        Event::ScreenCase => "screen_case",
        Event::ScreeningDecision => "decide_screening",
        Event::InviteParticipants | Event::RemoveParticipant => "manage_participants",
        Event::AcceptInvitation => "accept_invitation",
        Event::SetCasusregisseur => "set_casusregisseur",
        Event::CloseCase => "close_case",
        Event::RetentionExtended => "extend_retention",
        Event::CaseDestroyed => "destroy_case",
        Event::ReadOwnContributions => "read_own_contributions",
        Event::CreateAfspraak => "create_afspraak",
        Event::ReadAfspraken | Event::ReadEscalation => "read_plan",
        Event::UpdateAfspraak => "update_afspraak",
        Event::ReadAttention => "read_attention",
        Event::EscalateCase => "escalate_case",
        Event::ContributeInformation => "contribute_information",
        Event::CorrectInformation => "correct_information",
        Event::WithdrawInformation => "withdraw_information",
        Event::ReadRecipients => "read_recipients",
        // The refused rule is named in the entry's reasons.
        Event::AccessRefused => "access",
        Event::ReviewLog | Event::AccessReport | Event::ConsoleSession | Event::SignalReviewed => {
            "review_disclosures"
        }
        Event::Embargo => "embargo",
        Event::SpoedReviewed => "review_spoed",
        Event::SpoedReviewOverdue => "spoed_overdue",
        // The refused method and route template are in the entry's reasons.
        Event::RequestRefused => "request",
    };
    json!({
        "decision_id": e.id.to_string(),
        "path": "vhgate/decision/decision",
        "labels": { "app": "vhgate", "version": env!("CARGO_PKG_VERSION") },
        "bundles": { "vhgate": { "revision": e.policy_revision } },
        "timestamp": e.time,
        "input": {
            "action": action,
            "requester": {
                "oin": e.requester.oin,
                "partner_type": e.requester.partner_type,
                "role": e.requester.role,
                "purpose": e.requester.purpose,
                "sub": e.requester.sub,
            },
            "case": { "id": e.case_id },
        },
        "result": {
            "allow": super::store::outcome_str(e) != "denied",
            "tier": e.tier,
            "allowed_fields": e.disclosed,
            "withheld": e.withheld,
            "reasons": e.reasons,
        },
        "metrics": {},
        "traceparent": e.traceparent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_context(Some(tp)),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
        );
        assert_eq!(trace_context(Some("00-short-00f067aa0ba902b7-01")), None);
        assert_eq!(trace_context(None), None);
    }
}
