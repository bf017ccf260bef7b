//! Impact preview: replays the decision inputs recorded in the disclosure log against a
//! candidate bundle and reports what would change, so a second administrator approves a rule
//! change knowing its effect on real requests. The report names no person: fields are
//! described by kind, category and leefgebied, never by item id or content, and examples are
//! identified by their log entry id only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::disclosure::{Event, LogEntry, NewEntry};
use crate::policy::{Decision, FieldInput, Outcome, PolicyEngine, PolicyError, PolicyInput, Tier};

/// Most decisions replayed in one preview (about a millisecond each).
pub const MAX_REPLAY: u32 = 10_000;
/// Examples shown per report.
const MAX_EXAMPLES: usize = 20;
/// The default window: the last seven days.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;

/// What the candidate's decisions are compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The decisions as they were made and logged (whatever revision made them).
    #[default]
    Recorded,
    /// The same inputs replayed against the revision in force now: isolates the rule change
    /// from earlier changes inside the window.
    Active,
}

/// Which recorded decisions to replay.
#[derive(Clone, Debug, Default)]
pub struct ImpactQuery {
    /// The last N decisions (within `since`/`until` when given).
    pub last: Option<u32>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// None: the preview's own default (recorded for a bundle, active for a registry change).
    pub baseline: Option<Baseline>,
}

/// What recorded decisions are replayed against: a policy bundle, or the policy in force
/// with a changed partner registry.
pub trait Candidate {
    /// How the report names the candidate (a bundle revision, a registry change).
    fn name(&self) -> String;
    /// The decision the candidate would make on a recorded request.
    fn decide_on(&self, entry: &NewEntry, input: &PolicyInput) -> Result<Decision, PolicyError>;
    /// True when the candidate certainly decides as the active baseline does on this request
    /// (it does not touch it), so replaying it against the candidate can be skipped.
    fn same_as_active(&self, _entry: &NewEntry, _input: &PolicyInput) -> bool {
        false
    }
}

impl<T: PolicyEngine + ?Sized> Candidate for T {
    fn name(&self) -> String {
        self.revision().to_string()
    }

    fn decide_on(&self, _entry: &NewEntry, input: &PolicyInput) -> Result<Decision, PolicyError> {
        self.decide(input)
    }
}

/// The window that was replayed, as resolved.
#[derive(Clone, Debug, Serialize)]
pub struct ImpactWindow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
}

/// A field described without person data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FieldKind {
    /// `persoon.naam`, `persoon.bsn`, … or `item` for an information item.
    pub kind: String,
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leefgebied: Option<String>,
}

/// A field the candidate would withhold that was disclosed before, and why.
#[derive(Clone, Debug, Serialize)]
pub struct NewlyWithheld {
    #[serde(flatten)]
    pub field: FieldKind,
    pub principle: crate::policy::Principle,
    pub reason: String,
}

/// Counts of one slice (a partner type, or all). Every changed decision is counted in
/// exactly one of the `*_requests` kinds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImpactCounts {
    pub decisions: u64,
    pub changed: u64,
    pub newly_allowed_fields: u64,
    pub newly_withheld_fields: u64,
    /// Refused before, (partly) allowed by the candidate.
    pub newly_allowed_requests: u64,
    /// (Partly) allowed before, refused by the candidate.
    pub newly_denied_requests: u64,
    /// Allowed before and after, with fields newly withheld and none newly allowed.
    pub narrowed_requests: u64,
    /// Allowed before and after, with fields newly allowed and none newly withheld.
    pub widened_requests: u64,
    /// Any other change: fields both gained and lost, or only the tier or outcome moved.
    pub otherwise_changed_requests: u64,
}

impl ImpactCounts {
    /// The changed decisions by kind, then the fields they move, for people:
    /// `12 permit→deny, 3 narrowed, 40 fields newly withheld`.
    fn describe(&self) -> String {
        let fields = |n: u64, what: &str| match n {
            1 => format!("1 field newly {what}"),
            n => format!("{n} fields newly {what}"),
        };
        [
            (self.newly_denied_requests, "permit→deny"),
            (self.newly_allowed_requests, "deny→permit"),
            (self.narrowed_requests, "narrowed"),
            (self.widened_requests, "widened"),
            (self.otherwise_changed_requests, "otherwise changed"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, kind)| format!("{n} {kind}"))
        .chain(
            (self.newly_withheld_fields > 0)
                .then(|| fields(self.newly_withheld_fields, "withheld")),
        )
        .chain(
            (self.newly_allowed_fields > 0).then(|| fields(self.newly_allowed_fields, "allowed")),
        )
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Field changes per category.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CategoryCounts {
    pub newly_allowed: u64,
    pub newly_withheld: u64,
}

/// One decision as it was and as it would be.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionState {
    pub outcome: Outcome,
    pub tier: Tier,
}

/// One changed decision, by log entry id (the privacy officer can look it up there).
#[derive(Clone, Debug, Serialize)]
pub struct ImpactExample {
    pub decision_id: uuid::Uuid,
    pub time: String,
    pub event: Event,
    pub partner_type: String,
    pub role: String,
    pub purpose: String,
    /// The revision that made the recorded decision.
    pub recorded_revision: String,
    pub before: DecisionState,
    pub after: DecisionState,
    pub newly_allowed: Vec<FieldKind>,
    pub newly_withheld: Vec<NewlyWithheld>,
}

/// What the candidate would change on the replayed decisions.
#[derive(Clone, Debug, Serialize)]
pub struct ImpactReport {
    /// One line for people: `impact: 37 of 500 decisions change — politie: 12 permit→deny,
    /// 3 narrowed (3 fields withheld); …` (changed decisions by partner type and kind).
    pub summary: String,
    pub candidate: String,
    pub baseline: Baseline,
    /// The revision replayed as the baseline (`active` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_revision: Option<String>,
    pub window: ImpactWindow,
    /// Person reads and lookups in the window.
    pub considered: u64,
    /// Decisions replayed (the others carry no recorded input, or the policy failed then).
    pub replayed: u64,
    pub not_replayable: u64,
    /// The window held more than [`MAX_REPLAY`] decisions; the newest were replayed.
    pub truncated: bool,
    /// Replays the candidate could not decide (the request would fail closed).
    pub candidate_errors: u64,
    pub unchanged: u64,
    #[serde(flatten)]
    pub totals: ImpactCounts,
    pub by_partner_type: BTreeMap<String, ImpactCounts>,
    pub by_category: BTreeMap<String, CategoryCounts>,
    pub examples: Vec<ImpactExample>,
    /// What the preview could not assess from the log (e.g. a key revocation: the log does
    /// not record which key signed a token).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ImpactReport {
    /// The one-line summary (see [`ImpactReport::summary`]).
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "impact: {} of {} decisions change",
            self.totals.changed, self.replayed
        );
        let slices: Vec<String> = self
            .by_partner_type
            .iter()
            .filter(|(_, c)| c.changed > 0)
            .map(|(partner_type, c)| format!("{partner_type}: {}", c.describe()))
            .collect();
        if !slices.is_empty() {
            line.push_str(" — ");
            line.push_str(&slices.join("; "));
        }
        let mut extra = Vec::new();
        if self.candidate_errors > 0 {
            extra.push(format!(
                "{} could not be decided (would fail closed)",
                self.candidate_errors
            ));
        }
        if self.not_replayable > 0 {
            extra.push(format!("{} not replayable", self.not_replayable));
        }
        if self.truncated {
            extra.push(format!("only the newest {MAX_REPLAY} replayed"));
        }
        if !self.notes.is_empty() {
            extra.push(format!("{} note(s)", self.notes.len()));
        }
        if !extra.is_empty() {
            line.push_str(&format!(" ({})", extra.join("; ")));
        }
        line
    }
}

/// A decision reduced to what the comparison needs.
struct Observed {
    allow: bool,
    tier: Tier,
    outcome: Outcome,
    allowed: BTreeSet<String>,
}

impl Observed {
    fn of_decision(d: &Decision) -> Self {
        Observed {
            allow: d.allow,
            tier: d.tier,
            outcome: d.outcome(),
            allowed: d.allowed_fields.iter().cloned().collect(),
        }
    }

    /// The decision as logged. A lookup's `disclosed` is its answer (hit or no hit), not
    /// fields, so only its outcome and tier count.
    fn of_entry(entry: &LogEntry) -> Self {
        let e = &entry.entry;
        Observed {
            allow: e.outcome != Outcome::Denied,
            tier: e.tier,
            outcome: e.outcome,
            allowed: match e.event {
                Event::ReadPerson => e.disclosed.iter().cloned().collect(),
                _ => BTreeSet::new(),
            },
        }
    }

    fn state(&self) -> DecisionState {
        DecisionState {
            outcome: self.outcome,
            tier: self.tier,
        }
    }
}

/// Describes a field by kind, category and leefgebied (no item ids).
fn field_kind(name: &str, fields: &BTreeMap<&str, &FieldInput>) -> FieldKind {
    let input = fields.get(name);
    FieldKind {
        kind: if name.starts_with("item:") {
            "item".into()
        } else {
            name.into()
        },
        category: input.map(|f| f.category.clone()).unwrap_or_default(),
        leefgebied: input.and_then(|f| f.leefgebied.clone()),
    }
}

/// Replaces `item:<id>` mentions in policy text, which a bundle's reasons might contain.
fn redact_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("item:") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 5..];
        let id_len = tail
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .unwrap_or(tail.len());
        out.push_str(if id_len == 0 { "item:" } else { "item" });
        rest = &tail[id_len..];
    }
    out.push_str(rest);
    out
}

/// Replays `entries` (newest first, as read from the log) against `candidate` and compares
/// with the recorded decisions, or with `baseline` replayed on the same inputs.
pub fn replay<C: Candidate + ?Sized>(
    entries: &[LogEntry],
    candidate: &C,
    baseline: Option<&dyn PolicyEngine>,
    window: ImpactWindow,
    truncated: bool,
) -> ImpactReport {
    let mut report = ImpactReport {
        summary: String::new(),
        candidate: candidate.name(),
        baseline: if baseline.is_some() {
            Baseline::Active
        } else {
            Baseline::Recorded
        },
        baseline_revision: baseline.map(|b| b.revision().to_string()),
        window,
        considered: 0,
        replayed: 0,
        not_replayable: 0,
        truncated,
        candidate_errors: 0,
        unchanged: 0,
        totals: ImpactCounts::default(),
        by_partner_type: BTreeMap::new(),
        by_category: BTreeMap::new(),
        examples: Vec::new(),
        notes: Vec::new(),
    };
    for entry in entries {
        let e = &entry.entry;
        if !matches!(e.event, Event::ReadPerson | Event::Lookup) {
            continue;
        }
        report.considered += 1;
        // A policy failure (500) has an input but no decision to compare with.
        let input = match (&e.input, e.status) {
            (Some(v), status) if status != 500 => serde_json::from_value::<PolicyInput>(v.clone()),
            _ => {
                report.not_replayable += 1;
                continue;
            }
        };
        let Ok(input) = input else {
            report.not_replayable += 1;
            continue;
        };
        let before = match baseline {
            None => Observed::of_entry(entry),
            Some(engine) => match engine.decide(&input) {
                Ok(d) => Observed::of_decision(&d),
                Err(_) => {
                    report.not_replayable += 1;
                    continue;
                }
            },
        };
        report.replayed += 1;
        let partner_type = input.requester.partner_type.clone();
        let slice = report
            .by_partner_type
            .entry(partner_type.clone())
            .or_default();
        slice.decisions += 1;
        report.totals.decisions += 1;
        if baseline.is_some() && candidate.same_as_active(e, &input) {
            report.unchanged += 1;
            continue;
        }
        let decision = match candidate.decide_on(e, &input) {
            Ok(d) => d,
            Err(_) => {
                report.candidate_errors += 1;
                continue;
            }
        };
        let after = Observed::of_decision(&decision);
        if before.allow == after.allow
            && before.tier == after.tier
            && before.allowed == after.allowed
        {
            report.unchanged += 1;
            continue;
        }
        let fields: BTreeMap<&str, &FieldInput> =
            input.fields.iter().map(|f| (f.name.as_str(), f)).collect();
        let newly_allowed: Vec<FieldKind> = after
            .allowed
            .difference(&before.allowed)
            .map(|f| field_kind(f, &fields))
            .collect();
        let newly_withheld: Vec<NewlyWithheld> = before
            .allowed
            .difference(&after.allowed)
            .map(|f| {
                let why = decision.withheld.iter().find(|w| &w.field == f);
                NewlyWithheld {
                    field: field_kind(f, &fields),
                    principle: why
                        .map(|w| w.principle)
                        .unwrap_or(crate::policy::Principle::Subsidiariteit),
                    reason: why
                        .map(|w| redact_items(&w.reason))
                        .unwrap_or_else(|| "the request is refused".into()),
                }
            })
            .collect();
        let counts = [&mut report.totals, slice];
        for c in counts {
            c.changed += 1;
            c.newly_allowed_fields += newly_allowed.len() as u64;
            c.newly_withheld_fields += newly_withheld.len() as u64;
            match (before.allow, after.allow) {
                (true, false) => c.newly_denied_requests += 1,
                (false, true) => c.newly_allowed_requests += 1,
                (true, true) if newly_allowed.is_empty() && !newly_withheld.is_empty() => {
                    c.narrowed_requests += 1
                }
                (true, true) if !newly_allowed.is_empty() && newly_withheld.is_empty() => {
                    c.widened_requests += 1
                }
                _ => c.otherwise_changed_requests += 1,
            }
        }
        for f in &newly_allowed {
            report
                .by_category
                .entry(f.category.clone())
                .or_default()
                .newly_allowed += 1;
        }
        for w in &newly_withheld {
            report
                .by_category
                .entry(w.field.category.clone())
                .or_default()
                .newly_withheld += 1;
        }
        if report.examples.len() < MAX_EXAMPLES {
            report.examples.push(ImpactExample {
                decision_id: e.id,
                time: e.time.clone(),
                event: e.event,
                partner_type,
                role: input.requester.role.clone(),
                purpose: input.requester.purpose.clone(),
                recorded_revision: e.policy_revision.clone(),
                before: before.state(),
                after: after.state(),
                newly_allowed,
                newly_withheld,
            });
        }
    }
    report.summary = report.summary_line();
    report
}

#[cfg(test)]
mod tests {
    use super::redact_items;

    #[test]
    fn item_ids_are_redacted_from_reasons() {
        assert_eq!(
            redact_items("item:0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b is too old; item:x"),
            "item is too old; item:x"
        );
        assert_eq!(redact_items("no items here"), "no items here");
    }
}
