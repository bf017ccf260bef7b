//! The plan van aanpak (DESIGN.md §1): afspraken (who does what, by when, with a status),
//! monitoring notes, the afspraken that need attention (overdue, stalled, reported
//! gestagneerd: the Veiligheidshuis "bewaakt de uitvoering van de afspraken en forceert
//! vooruitgang als het proces stagneert", seed 004), and op- en afschalen on the AVE ladder
//! (levels 1-4, seed 003). Every step is decided by the casework policy and logged exactly
//! once, refusals included; entries name afspraken by id, never their action text or notes.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::plan_store::{self, AfspraakRow, NoteRow};
use super::{
    allow, allow_in, base_input, begin_on, caller_oin, case_input, decide, entry_for, facts, load,
    target, CaseworkError, Loaded,
};
use crate::disclosure::{Event, NewEntry};
use crate::domain::{CaseId, DisclosureId, Oin, Phase};
use crate::gateway::{timestamp, Caller, Gateway, GatewayError};
use crate::policy::{Action, CaseworkInput, Outcome};
use crate::store::StoreError;

/// The statuses of an afspraak.
pub const STATUSES: &[&str] = &["open", "lopend", "afgerond", "gestagneerd"];

/// Days without a change after which an open afspraak is stalled, when the convenant does
/// not say (`casework.stall_after_days`).
pub const DEFAULT_STALL_AFTER_DAYS: i64 = 14;

/// The levels of the AVE ladder (Aanpak ter Voorkoming van Escalatie, seed 003): 1
/// signalering, 2 reguliere aanpak, 3 domeinoverstijgende problematiek, 4 totale escalatie.
pub const AVE_LEVELS: std::ops::RangeInclusive<i32> = 1..=4;

/// Errors of the plan steps: the case life cycle's, plus an unknown afspraak and an
/// escalation to the level the case is at (both logged).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Casework(#[from] CaseworkError),
    #[error("the case has no such afspraak")]
    NoSuchAfspraak { disclosure_id: DisclosureId },
    #[error("the case is already at AVE level {level}")]
    SameLevel {
        level: i32,
        disclosure_id: DisclosureId,
    },
}

impl From<GatewayError> for PlanError {
    fn from(e: GatewayError) -> Self {
        PlanError::Casework(e.into())
    }
}

impl From<StoreError> for PlanError {
    fn from(e: StoreError) -> Self {
        PlanError::Casework(e.into())
    }
}

impl From<crate::disclosure::LogError> for PlanError {
    fn from(e: crate::disclosure::LogError) -> Self {
        PlanError::Casework(e.into())
    }
}

/// Today (UTC): due dates before it have passed.
pub fn today() -> NaiveDate {
    crate::record::now().date_naive()
}

/// A new afspraak, validated.
#[derive(Clone, Debug)]
pub struct NewAfspraak {
    pub partner: Oin,
    pub action: String,
    pub due: NaiveDate,
    pub status: &'static str,
}

/// A change of an afspraak, validated (at least one part).
#[derive(Clone, Debug, Default)]
pub struct AfspraakChange {
    pub status: Option<&'static str>,
    pub due: Option<NaiveDate>,
    pub note: Option<String>,
}

/// A monitoring note as read.
#[derive(Clone, Debug, Serialize)]
pub struct NoteView {
    pub note: String,
    pub written_by: String,
    pub written_at: String,
}

/// An afspraak as read.
#[derive(Clone, Debug, Serialize)]
pub struct AfspraakView {
    pub id: String,
    pub partner_oin: String,
    pub action: String,
    pub due_date: String,
    pub status: String,
    /// Null for afspraken recorded before the gateway kept their author.
    pub created_by: Option<String>,
    pub created_at: String,
    /// The last change (status, due date, note); the creation time until the first change.
    pub updated_at: String,
    pub notes: Vec<NoteView>,
}

fn view(row: AfspraakRow, notes: Vec<NoteRow>) -> AfspraakView {
    AfspraakView {
        id: row.id.to_string(),
        updated_at: timestamp(row.last_change()),
        partner_oin: row.partner_oin,
        action: row.action,
        due_date: row.due_date,
        status: row.status,
        created_by: row.created_by_oin,
        created_at: timestamp(row.created_at),
        notes: notes
            .into_iter()
            .map(|n| NoteView {
                note: n.note,
                written_by: n.written_by_oin,
                written_at: timestamp(n.written_at),
            })
            .collect(),
    }
}

/// The afspraken of a case with their notes.
async fn views(gw: &Gateway, case: CaseId) -> Result<Vec<AfspraakView>, StoreError> {
    let db = gw.record.db();
    let rows = plan_store::afspraken(db, case).await?;
    let mut notes: BTreeMap<Uuid, Vec<NoteRow>> = BTreeMap::new();
    for n in plan_store::notes(db, case).await? {
        notes.entry(n.afspraak_id).or_default().push(n);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = notes.remove(&r.id).unwrap_or_default();
            view(r, n)
        })
        .collect())
}

/// The answer to a new afspraak.
#[derive(Clone, Debug, Serialize)]
pub struct Created {
    pub afspraak: AfspraakView,
    pub phase: Phase,
    pub decision_id: String,
}

/// The answer to a changed afspraak.
#[derive(Clone, Debug, Serialize)]
pub struct Updated {
    pub afspraak: AfspraakView,
    pub decision_id: String,
}

/// The plan van aanpak of a case.
#[derive(Clone, Debug, Serialize)]
pub struct PlanView {
    pub case_id: String,
    pub phase: Phase,
    pub ave_level: Option<i32>,
    pub afspraken: Vec<AfspraakView>,
    pub decision_id: String,
}

/// Why an afspraak needs attention.
#[derive(Clone, Debug, Serialize)]
pub struct Flag {
    pub afspraak_id: String,
    pub partner_oin: String,
    pub due_date: String,
    pub status: String,
    /// `overdue`, `stalled` and/or `gestagneerd`.
    pub kinds: Vec<&'static str>,
    pub reasons: Vec<String>,
}

/// The afspraken of a case that need attention.
#[derive(Clone, Debug, Serialize)]
pub struct Attention {
    pub case_id: String,
    pub phase: Phase,
    pub ave_level: Option<i32>,
    pub flags: Vec<Flag>,
    pub decision_id: String,
}

/// The answer to an escalation.
#[derive(Clone, Debug, Serialize)]
pub struct Escalated {
    pub case_id: String,
    pub level: i32,
    pub previous_level: Option<i32>,
    pub direction: &'static str,
    pub decision_id: String,
}

/// One escalation decision as read.
#[derive(Clone, Debug, Serialize)]
pub struct EscalationView {
    pub level: i32,
    pub previous_level: Option<i32>,
    pub direction: &'static str,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: String,
}

/// The escalation history of a case.
#[derive(Clone, Debug, Serialize)]
pub struct EscalationHistory {
    pub case_id: String,
    pub ave_level: Option<i32>,
    pub history: Vec<EscalationView>,
    pub decision_id: String,
}

/// Start (no level yet), opschalen (higher) or afschalen (lower); `None` for the same level.
pub fn direction(previous: Option<i32>, level: i32) -> Option<&'static str> {
    match previous {
        None => Some("start"),
        Some(p) if level > p => Some("opschalen"),
        Some(p) if level < p => Some("afschalen"),
        Some(_) => None,
    }
}

/// Which kinds of attention an afspraak needs on `today`, at `now`, with reasons.
pub fn flag(
    row: &AfspraakRow,
    today: NaiveDate,
    now: DateTime<Utc>,
    stall_after_days: i64,
) -> Option<Flag> {
    if row.status == "afgerond" {
        return None;
    }
    let mut kinds = Vec::new();
    let mut reasons = Vec::new();
    match NaiveDate::parse_from_str(&row.due_date, "%Y-%m-%d") {
        Ok(due) if due < today => {
            kinds.push("overdue");
            reasons.push(format!(
                "due on {} ({} days ago) and not afgerond (status {})",
                row.due_date,
                (today - due).num_days(),
                row.status
            ));
        }
        Ok(_) => {}
        Err(_) => {
            // An unreadable due date cannot be watched: flag it rather than hide it.
            kinds.push("overdue");
            reasons.push("the due date is not a date; treat as overdue".into());
        }
    }
    let quiet = (now - row.last_change()).num_days();
    if quiet >= stall_after_days {
        kinds.push("stalled");
        reasons.push(format!(
            "no change (status, due date or monitoring note) for {quiet} days; the convenant's casework.stall_after_days is {stall_after_days}"
        ));
    }
    if row.status == "gestagneerd" {
        kinds.push("gestagneerd");
        reasons.push("reported gestagneerd: progress has stopped".into());
    }
    if kinds.is_empty() {
        return None;
    }
    Some(Flag {
        afspraak_id: row.id.to_string(),
        partner_oin: row.partner_oin.clone(),
        due_date: row.due_date.clone(),
        status: row.status.clone(),
        kinds,
        reasons,
    })
}

fn input(
    caller: &Caller,
    l: &Loaded,
    action: Action,
    f: crate::policy::CaseworkFacts,
) -> CaseworkInput {
    CaseworkInput {
        base: base_input(caller, action, case_input(caller, l)),
        casework: f,
        aanmelding: None,
        decision: None,
    }
}

/// Logs a 404 for an afspraak the case does not have.
async fn no_such_afspraak(gw: &Gateway, entry: &mut NewEntry) -> Result<PlanError, PlanError> {
    entry.status = 404;
    entry.outcome = Outcome::Denied;
    entry.problem_type = Some("not-found".into());
    entry.reasons = vec!["the case has no such afspraak".into()];
    let disclosure_id = DisclosureId(entry.id);
    gw.commit(entry.clone()).await?;
    Ok(PlanError::NoSuchAfspraak { disclosure_id })
}

/// Adds an afspraak to the plan (a participant, for a participant). The first afspraak moves
/// the case from mdo to uitvoering: the plan is being carried out.
pub async fn create(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    new: &NewAfspraak,
) -> Result<Created, PlanError> {
    let mut entry = entry_for(gw, caller, Event::CreateAfspraak, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let mut f = facts(caller, &l);
    f.targets = vec![target(gw, &l, &new.partner)];
    decide(
        gw,
        &mut entry,
        &input(caller, &l, Action::CreateAfspraak, f),
    )
    .await?;
    let me = caller_oin(caller)?;
    let db = gw.record.db();
    let id = Uuid::now_v7();
    let now = crate::record::now();
    // The first afspraak moves the phase: that changes what the policy decides on.
    let mut tx = begin_on(gw, &entry, &l, l.case.phase == Phase::Mdo).await?;
    plan_store::insert_afspraak(
        &mut tx,
        id,
        case_id,
        &new.partner,
        &new.action,
        new.due,
        new.status,
        &me,
        now,
    )
    .await?;
    let mut phase = l.case.phase;
    if phase == Phase::Mdo {
        gw.record
            .set_phase(&mut tx, case_id, Phase::Uitvoering)
            .await?;
        phase = Phase::Uitvoering;
    }
    entry.disclosed = vec![format!("afspraak:{id}")];
    entry.categories = vec!["overig".into()];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 201).await?;
    let Some(row) = plan_store::afspraak(db, case_id, id).await? else {
        return Err(StoreError::Corrupt(format!("afspraak {id} vanished")).into());
    };
    Ok(Created {
        afspraak: view(row, vec![]),
        phase,
        decision_id,
    })
}

/// The plan van aanpak: every afspraak with its monitoring notes, and the AVE level.
pub async fn read(gw: &Gateway, caller: &Caller, case_id: CaseId) -> Result<PlanView, PlanError> {
    let mut entry = entry_for(gw, caller, Event::ReadAfspraken, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let f = facts(caller, &l);
    decide(gw, &mut entry, &input(caller, &l, Action::ReadPlan, f)).await?;
    let afspraken = views(gw, case_id).await?;
    let ave_level = plan_store::current_level(gw.record.db(), case_id).await?;
    entry.disclosed = afspraken
        .iter()
        .map(|a| format!("afspraak:{}", a.id))
        .collect();
    if !afspraken.is_empty() {
        entry.categories = vec!["overig".into()];
    }
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(PlanView {
        case_id: case_id.to_string(),
        phase: l.case.phase,
        ave_level,
        afspraken,
        decision_id,
    })
}

/// Changes an afspraak's status or due date, or adds a monitoring note (the partner it is
/// for, the casusregisseur, the procesregisseur). Every change updates `updated_at`.
pub async fn update(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    afspraak_id: Uuid,
    change: &AfspraakChange,
) -> Result<Updated, PlanError> {
    let mut entry = entry_for(gw, caller, Event::UpdateAfspraak, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let db = gw.record.db();
    let Some(row) = plan_store::afspraak(db, case_id, afspraak_id).await? else {
        return Err(no_such_afspraak(gw, &mut entry).await?);
    };
    let partner: Oin = row
        .partner_oin
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("afspraak {afspraak_id}: {e}")))?;
    let mut f = facts(caller, &l);
    f.targets = vec![target(gw, &l, &partner)];
    decide(
        gw,
        &mut entry,
        &input(caller, &l, Action::UpdateAfspraak, f),
    )
    .await?;
    let me = caller_oin(caller)?;
    let mut tx = begin_on(gw, &entry, &l, false).await?;
    // The note's id goes into the entry, so the log names every row the step wrote.
    let note = change.note.as_deref().map(|n| (Uuid::now_v7(), n));
    plan_store::update_afspraak(
        &mut tx,
        case_id,
        afspraak_id,
        change.status,
        change.due,
        note,
        &me,
        crate::record::now(),
    )
    .await?;
    entry.disclosed = vec![format!("afspraak:{afspraak_id}")];
    if let Some(s) = change.status {
        entry.disclosed.push(format!("status:{s}"));
    }
    if let Some((note_id, _)) = note {
        entry.disclosed.push(format!("note:{note_id}"));
    }
    entry.categories = vec!["overig".into()];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 200).await?;
    let Some(row) = plan_store::afspraak(db, case_id, afspraak_id).await? else {
        return Err(StoreError::Corrupt(format!("afspraak {afspraak_id} vanished")).into());
    };
    let notes = plan_store::notes(db, case_id)
        .await?
        .into_iter()
        .filter(|n| n.afspraak_id == afspraak_id)
        .collect();
    Ok(Updated {
        afspraak: view(row, notes),
        decision_id,
    })
}

fn stall_after_days(gw: &Gateway) -> i64 {
    gw.policy()
        .convenant()
        .stall_after_days
        .unwrap_or(DEFAULT_STALL_AFTER_DAYS)
}

/// The afspraken of an open case that need attention: overdue, stalled (no change for the
/// convenant's `casework.stall_after_days`) or reported gestagneerd (the procesregisseur, the
/// case's casusregisseur).
pub async fn attention(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<Attention, PlanError> {
    let mut entry = entry_for(gw, caller, Event::ReadAttention, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let f = facts(caller, &l);
    decide(gw, &mut entry, &input(caller, &l, Action::ReadAttention, f)).await?;
    let db = gw.record.db();
    let (today, now, days) = (today(), crate::record::now(), stall_after_days(gw));
    let flags: Vec<Flag> = plan_store::afspraken(db, case_id)
        .await?
        .iter()
        .filter_map(|r| flag(r, today, now, days))
        .collect();
    let ave_level = plan_store::current_level(db, case_id).await?;
    entry.disclosed = flags
        .iter()
        .map(|f| format!("afspraak:{}", f.afspraak_id))
        .collect();
    if !flags.is_empty() {
        entry.categories = vec!["overig".into()];
    }
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(Attention {
        case_id: case_id.to_string(),
        phase: l.case.phase,
        ave_level,
        flags,
        decision_id,
    })
}

/// The flagged afspraken of one case in the region-wide list.
#[derive(Clone, Debug, Serialize)]
pub struct CaseFlags {
    pub case_id: String,
    pub flags: Vec<Flag>,
}

/// The procesregisseur's attention list across the region's open cases.
#[derive(Clone, Debug, Serialize)]
pub struct RegionAttention {
    pub cases: Vec<CaseFlags>,
    pub decision_id: String,
}

/// The afspraken needing attention across every open case (the procesregisseur only), as one
/// decision and one log entry naming the flagged afspraken.
pub async fn region_attention(gw: &Gateway, caller: &Caller) -> Result<RegionAttention, PlanError> {
    let mut entry = entry_for(gw, caller, Event::ReadAttention, None);
    let mut base = base_input(
        caller,
        Action::ReadAttention,
        crate::policy::CaseInput {
            id: String::new(),
            kind: String::new(),
            phase: String::new(),
            region: String::new(),
            requester_is_participant: false,
            participants: vec![],
        },
    );
    // No case: the policy decides the region-wide list (procesregisseur only).
    base.case = None;
    let input = CaseworkInput {
        base,
        casework: crate::policy::CaseworkFacts::default(),
        aanmelding: None,
        decision: None,
    };
    decide(gw, &mut entry, &input).await?;
    let db = gw.record.db();
    let (today, now, days) = (today(), crate::record::now(), stall_after_days(gw));
    let mut cases = Vec::new();
    for case_id in plan_store::open_cases_with_afspraken(db).await? {
        let flags: Vec<Flag> = plan_store::afspraken(db, case_id)
            .await?
            .iter()
            .filter_map(|r| flag(r, today, now, days))
            .collect();
        if !flags.is_empty() {
            cases.push(CaseFlags {
                case_id: case_id.to_string(),
                flags,
            });
        }
    }
    entry.disclosed = cases
        .iter()
        .flat_map(|c| c.flags.iter())
        .map(|f| format!("afspraak:{}", f.afspraak_id))
        .collect();
    if !entry.disclosed.is_empty() {
        entry.categories = vec!["overig".into()];
    }
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(RegionAttention { cases, decision_id })
}

/// Op- or afschalen on the AVE ladder (the procesregisseur, the case's casusregisseur), with a
/// reason kept with the case (not in the log). The level the case is at is refused (422).
pub async fn escalate(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    level: i32,
    reason: &str,
) -> Result<Escalated, PlanError> {
    let mut entry = entry_for(gw, caller, Event::EscalateCase, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let db = gw.record.db();
    let previous = plan_store::current_level(db, case_id).await?;
    let dir = direction(previous, level);
    let mut f = facts(caller, &l);
    f.operation = dir.map(str::to_owned);
    decide(gw, &mut entry, &input(caller, &l, Action::EscalateCase, f)).await?;
    let Some(dir) = dir else {
        // Only after the policy: who may not escalate does not learn the level.
        entry.status = 422;
        entry.outcome = Outcome::Denied;
        entry.problem_type = Some("same-ave-level".into());
        entry
            .reasons
            .push(format!("the case is already at AVE level {level}"));
        let disclosure_id = DisclosureId(entry.id);
        gw.commit(entry).await?;
        return Err(PlanError::SameLevel {
            level,
            disclosure_id,
        });
    };
    let me = caller_oin(caller)?;
    // The level is what the next escalation's direction is decided on.
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    let escalation_id = Uuid::now_v7();
    plan_store::insert_escalation(
        &mut tx,
        escalation_id,
        case_id,
        level,
        previous,
        reason,
        &me,
        crate::record::now(),
    )
    .await?;
    entry.disclosed = vec![
        format!("escalation:{escalation_id}"),
        format!("ave:{level}"),
        format!("direction:{dir}"),
    ];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 200).await?;
    Ok(Escalated {
        case_id: case_id.to_string(),
        level,
        previous_level: previous,
        direction: dir,
        decision_id,
    })
}

/// The escalation history of a case, oldest first (participants, procesregie staff).
pub async fn escalation_history(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<EscalationHistory, PlanError> {
    let mut entry = entry_for(gw, caller, Event::ReadEscalation, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let f = facts(caller, &l);
    decide(gw, &mut entry, &input(caller, &l, Action::ReadPlan, f)).await?;
    let rows = plan_store::escalations(gw.record.db(), case_id).await?;
    let ave_level = rows.last().map(|r| r.level);
    entry.disclosed = vec![format!("escalations:{}", rows.len())];
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(EscalationHistory {
        case_id: case_id.to_string(),
        ave_level,
        history: rows
            .into_iter()
            .map(|r| EscalationView {
                level: r.level,
                previous_level: r.previous_level,
                direction: direction(r.previous_level, r.level).unwrap_or("start"),
                reason: r.reason,
                decided_by: r.decided_by_oin,
                decided_at: timestamp(r.decided_at),
            })
            .collect(),
        decision_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(due: &str, status: &str, changed_days_ago: i64) -> AfspraakRow {
        let now = crate::record::now();
        AfspraakRow {
            id: Uuid::now_v7(),
            case_id: Uuid::now_v7(),
            partner_oin: "00000001000000000001".into(),
            action: "x".into(),
            due_date: due.into(),
            status: status.into(),
            created_by_oin: None,
            created_at: now - chrono::Duration::days(changed_days_ago),
            updated_at: None,
        }
    }

    #[test]
    fn flags_overdue_stalled_and_gestagneerd() {
        let now = crate::record::now();
        let today = now.date_naive();
        let past = (today - chrono::Duration::days(3)).to_string();
        let future = (today + chrono::Duration::days(3)).to_string();
        assert!(flag(&row(&future, "open", 0), today, now, 14).is_none());
        let f = flag(&row(&past, "lopend", 0), today, now, 14).expect("overdue");
        assert_eq!(f.kinds, vec!["overdue"]);
        let f = flag(&row(&future, "open", 20), today, now, 14).expect("stalled");
        assert_eq!(f.kinds, vec!["stalled"]);
        let f = flag(&row(&past, "gestagneerd", 20), today, now, 14).expect("all");
        assert_eq!(f.kinds, vec!["overdue", "stalled", "gestagneerd"]);
        assert!(flag(&row(&past, "afgerond", 20), today, now, 14).is_none());
    }

    #[test]
    fn directions_on_the_ladder() {
        assert_eq!(direction(None, 2), Some("start"));
        assert_eq!(direction(Some(2), 3), Some("opschalen"));
        assert_eq!(direction(Some(3), 1), Some("afschalen"));
        assert_eq!(direction(Some(3), 3), None);
    }
}
