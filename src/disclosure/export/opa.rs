//! OPA decision-log events, in the shape of OPA's decision-log plugin (`EventV1` in
//! open-policy-agent/opa `v1/plugins/logs/plugin.go`): `labels` (with `id`, the instance),
//! `decision_id`, `trace_id`, `span_id`, `bundles`, `path`, `input`, `result`,
//! `requested_by`, `timestamp`.
//!
//! Only entries that record a policy decision become events, each with the path of the entry
//! point that decided it (`vhgate/decision/decision`, `vhgate/casework/decision`,
//! `vhgate/access/<rule>`). Entries no policy decided (an authentication failure, a request
//! refused before routing, the retention sweep, an overdue spoed review, the gateway recording
//! its starting policy) have no event.

use serde_json::{json, Value};

use super::TraceIds;
use crate::disclosure::{Event, LogEntry, NewEntry};

/// The access rules an `action: <rule>` reason can name (`data.vhgate.access.<rule>`).
const ACCESS_RULES: &[&str] = &["administer", "review_disclosures", "read_signals"];

/// The entry point (OPA path, without `data.`) that decided the entry, if a policy did.
pub fn decision_path(e: &NewEntry) -> Option<String> {
    let access = |default: &str| {
        let named = e
            .reasons
            .first()
            .and_then(|r| r.strip_prefix("action: "))
            .filter(|rule| ACCESS_RULES.contains(rule));
        Some(format!("vhgate/access/{}", named.unwrap_or(default)))
    };
    match e.event {
        Event::ReadPerson | Event::Lookup => Some("vhgate/decision/decision".into()),
        Event::RegisterCase
        | Event::ReadRegistration
        | Event::ScreenCase
        | Event::ScreeningDecision
        | Event::InviteParticipants
        | Event::AcceptInvitation
        | Event::RemoveParticipant
        | Event::SetCasusregisseur
        | Event::CloseCase
        | Event::RetentionExtended
        | Event::ReadOwnContributions
        | Event::CreateAfspraak
        | Event::ReadAfspraken
        | Event::UpdateAfspraak
        | Event::ReadAttention
        | Event::EscalateCase
        | Event::ReadEscalation
        | Event::ContributeInformation
        | Event::CorrectInformation
        | Event::WithdrawInformation
        | Event::ReadRecipients => Some("vhgate/casework/decision".into()),
        // An administrator's change passed the administer rule; the gateway recording its
        // starting policy (no role, no organisation) asked no policy.
        Event::PolicyChange | Event::RegistryChange if e.requester.role.is_some() => {
            access("administer")
        }
        Event::PolicyChange | Event::RegistryChange => None,
        Event::AccessRefused
        | Event::ReviewLog
        | Event::AccessReport
        | Event::Embargo
        | Event::SpoedReviewed
        | Event::ConsoleSession
        | Event::SignalReviewed => access("review_disclosures"),
        Event::AuthFailure
        | Event::RequestRefused
        | Event::CaseDestroyed
        | Event::SpoedReviewOverdue => None,
    }
}

/// The OPA decision-log event of an entry, if a policy decided it. `instance` identifies the
/// gateway (`labels.id`; the log's origin).
pub fn to_opa(entry: &LogEntry, instance: &str) -> Option<Value> {
    let e = &entry.entry;
    let path = decision_path(e)?;
    let ids = TraceIds::of(e);
    let allowed = crate::disclosure::store::outcome_str(e) != "denied";
    let result = if path.starts_with("vhgate/access/") {
        json!(allowed)
    } else {
        json!({
            "allow": allowed,
            "tier": e.tier,
            "allowed_fields": e.disclosed,
            "withheld": e.withheld,
            "reasons": e.reasons,
        })
    };
    // The input the policy was asked, where the entry kept it; otherwise what the entry says of
    // the requester (never a BSN or a name, as in the entry).
    let input = e.input.clone().unwrap_or_else(|| {
        json!({
            "requester": {
                "oin": e.requester.oin,
                "partner_type": e.requester.partner_type,
                "role": e.requester.role,
                "purpose": e.requester.purpose,
                "sub": e.requester.sub,
            },
            "case": { "id": e.case_id },
        })
    });
    let mut event = json!({
        "labels": { "id": instance, "app": "vhgate", "version": env!("CARGO_PKG_VERSION") },
        "decision_id": e.id.to_string(),
        "trace_id": ids.trace_id,
        "span_id": ids.span_id,
        "bundles": { "vhgate": { "revision": e.policy_revision } },
        "path": path,
        "input": input,
        "result": result,
        "timestamp": e.time,
    });
    let requested_by = match (&e.requester.oin, &e.requester.cert_thumbprint) {
        (Some(oin), _) => Some(format!("urn:oin:{oin}")),
        (None, Some(thumbprint)) => Some(format!("x5t#S256:{thumbprint}")),
        (None, None) => None,
    };
    if let Some(by) = requested_by {
        event["requested_by"] = json!(by);
    }
    Some(event)
}
