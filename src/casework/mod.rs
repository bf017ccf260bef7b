//! The case life cycle through the gateway (DESIGN.md §1): registration (aanmelding),
//! screening and triage, the MDO table (invitations, acceptance, removal, the casusregisseur),
//! closing, read-back of one's own contributions, and retention (an hourly job destroys closed
//! cases' person data after `retention.days_after_closing`, logging each destruction). Every
//! step shares person-level data, so every step is decided by the casework policy
//! (`data.vhgate.casework.decision`) and recorded in the disclosure log, refusals included,
//! before the caller hears the answer. Entries name the subject by pseudonym only.

pub mod information;
pub mod plan;
pub mod plan_store;
pub mod store;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Value};

use crate::disclosure::{Event, NewEntry, SubjectRecord};
use crate::domain::{Bsn, CaseId, CaseKind, DisclosureId, Leefgebied, Oin, PersonId, Phase};
use crate::gateway::{timestamp, Caller, Gateway, GatewayError};
use crate::policy::{
    Action, BudgetInput, CaseInput, CaseworkDecision, CaseworkFacts, CaseworkInput, Decision,
    Outcome, ParticipantInput, PolicyInput, TargetInput, Tier,
};
use crate::record::{Case, NewPerson, Participant};
use crate::store::{StoreError, Tx};

/// Errors of the case life cycle: the gateway's, plus a reused idempotency key.
#[derive(Debug, thiserror::Error)]
pub enum CaseworkError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The Idempotency-Key was used before by this partner for a different registration.
    #[error("the Idempotency-Key was already used for a different registration")]
    IdempotencyConflict { disclosure_id: DisclosureId },
}

impl From<StoreError> for CaseworkError {
    fn from(e: StoreError) -> Self {
        CaseworkError::Gateway(GatewayError::Store(e))
    }
}

impl From<crate::disclosure::LogError> for CaseworkError {
    fn from(e: crate::disclosure::LogError) -> Self {
        CaseworkError::Gateway(GatewayError::Log(e))
    }
}

/// What the screening criteria lead to (`leads_to`).
pub const EFFECTS: &[&str] = &["crimineel", "overlast", "afglijden"];
/// The chains (`chains.needed`, `chains.involved`).
pub const CHAINS: &[&str] = &["strafrecht", "zorg", "bestuur", "civiel"];

/// A person in a registration: a BSN, or a name with a date of birth (or both).
#[derive(Clone, Debug)]
pub struct RegisteredPerson {
    pub bsn: Option<Bsn>,
    pub naam: Option<String>,
    pub geboortedatum: Option<NaiveDate>,
    pub relation: String,
}

/// One problem of the registration, on one leefgebied.
#[derive(Clone, Debug, Serialize)]
pub struct ProblemInput {
    pub leefgebied: Leefgebied,
    pub leads_to: Vec<String>,
}

/// A validated registration (aanmelding).
#[derive(Clone, Debug)]
pub struct NewRegistration {
    pub kind: CaseKind,
    pub region: String,
    pub title: String,
    pub reason: String,
    pub adviesvraag: bool,
    pub persons: Vec<RegisteredPerson>,
    pub problems: Vec<ProblemInput>,
    pub chains_involved: Vec<String>,
    pub chains_needed: Vec<String>,
    pub dwang_en_drang: bool,
    pub family: bool,
    pub social_environment: bool,
    pub serious_safety_problem: bool,
}

impl NewRegistration {
    /// The screening document (policies/screening.rego): no BSN, no names, no reason text.
    pub fn screening_document(&self) -> Value {
        let kind = match self.kind {
            CaseKind::Persoon => "persoonsgericht",
            CaseKind::Systeem => "systeemgericht",
            CaseKind::Gebied => "gebiedsgericht",
        };
        json!({
            "kind": kind,
            "adviesvraag": self.adviesvraag,
            "problems": self.problems,
            "chains": {
                "involved": self.chains_involved,
                "needed": self.chains_needed,
                "dwang_en_drang": self.dwang_en_drang,
            },
            "system": {"family": self.family, "social_environment": self.social_environment},
            "area": {"serious_safety_problem": self.serious_safety_problem},
        })
    }
}

/// The procesregisseur's screening decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningOutcome {
    VeiligheidshuisCase,
    Advies,
    TerugNaarKeten,
}

impl ScreeningOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ScreeningOutcome::VeiligheidshuisCase => "veiligheidshuis_case",
            ScreeningOutcome::Advies => "advies",
            ScreeningOutcome::TerugNaarKeten => "terug_naar_keten",
        }
    }

    /// Parses one of the three outcomes.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "veiligheidshuis_case" => Some(ScreeningOutcome::VeiligheidshuisCase),
            "advies" => Some(ScreeningOutcome::Advies),
            "terug_naar_keten" => Some(ScreeningOutcome::TerugNaarKeten),
            _ => None,
        }
    }

    /// The phase a case moves to: a Veiligheidshuis case to MDO preparation, advice stays in
    /// screening, back to the chain closes the case.
    pub fn next_phase(self) -> Phase {
        match self {
            ScreeningOutcome::VeiligheidshuisCase => Phase::Mdo,
            ScreeningOutcome::Advies => Phase::Screening,
            ScreeningOutcome::TerugNaarKeten => Phase::Afgesloten,
        }
    }
}

/// A person as registered.
#[derive(Clone, Debug, Serialize)]
pub struct RegisteredPersonView {
    pub person_id: String,
    pub relation: String,
}

/// The answer to a registration.
#[derive(Clone, Debug)]
pub struct Registered {
    pub disclosure_id: DisclosureId,
    pub case_id: CaseId,
    pub phase: Phase,
    pub persons: Vec<RegisteredPersonView>,
    /// True when this repeats an earlier registration with the same Idempotency-Key.
    pub repeated: bool,
}

/// A person of a registration as read back.
#[derive(Clone, Debug, Serialize)]
pub struct RegistrationPersonView {
    pub person_id: String,
    pub relation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geboortedatum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bsn: Option<String>,
}

/// A registration read back.
#[derive(Clone, Debug, Serialize)]
pub struct RegistrationView {
    pub case_id: String,
    pub kind: CaseKind,
    pub phase: Phase,
    pub registered_by: String,
    pub registered_at: String,
    pub reason: String,
    pub adviesvraag: bool,
    pub aanmelding: Value,
    pub persons: Vec<RegistrationPersonView>,
    pub decision_id: String,
}

/// The outcome of a step that changed (or read) the case.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    pub case_id: String,
    pub phase: Phase,
    pub decision_id: String,
    pub policy_revision: String,
    pub reasons: Vec<String>,
    /// The screening advice (screening steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screening: Option<Value>,
    /// The check of the procesregisseur's decision (decision step only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Value>,
}

/// A loaded case with what the policy input needs.
pub(crate) struct Loaded {
    pub(crate) case: Case,
    pub(crate) participants: Vec<Participant>,
    pub(crate) invited: Vec<String>,
}

pub(crate) fn entry_for(
    gw: &Gateway,
    caller: &Caller,
    event: Event,
    case: Option<CaseId>,
) -> NewEntry {
    let mut entry = gw.base_entry(event, caller.record(), Some(&caller.trace));
    entry.case_id = case.map(|c| c.0);
    entry
}

/// The persons of a case, by pseudonym: every step on the case is about each of them (the
/// first is the entry's `subject`, the rest its `subjects`).
async fn case_subjects(gw: &Gateway, case: CaseId) -> Result<Vec<SubjectRecord>, StoreError> {
    Ok(store::case_persons(gw.record.db(), case)
        .await?
        .into_iter()
        .map(|p| SubjectRecord {
            pseudonym: p.subject_pseudonym,
            key_version: p.pseudonym_key_version,
        })
        .collect())
}

/// Loads the case, or logs a 404 and refuses.
pub(crate) async fn load(
    gw: &Gateway,
    entry: &mut NewEntry,
    case_id: CaseId,
) -> Result<Loaded, CaseworkError> {
    let Some(case) = gw.record.case(case_id).await? else {
        entry.status = 404;
        entry.problem_type = Some("not-found".into());
        entry.reasons = vec!["case not found".into()];
        let disclosure_id = DisclosureId(entry.id);
        gw.commit(entry.clone()).await?;
        return Err(GatewayError::NotFound { disclosure_id }.into());
    };
    entry.set_subjects(case_subjects(gw, case_id).await?);
    let participants = gw.record.participants(case_id).await?;
    let invited = store::open_invitations(gw.record.db(), case_id)
        .await?
        .into_iter()
        .map(|i| i.oin)
        .collect();
    Ok(Loaded {
        case,
        participants,
        invited,
    })
}

pub(crate) fn case_input(caller: &Caller, l: &Loaded) -> CaseInput {
    CaseInput {
        id: l.case.id.to_string(),
        kind: l.case.kind.as_str().into(),
        phase: l.case.phase.as_str().into(),
        region: l.case.region.clone(),
        requester_is_participant: l.participants.iter().any(|p| p.oin == caller.partner.oin),
        participants: l
            .participants
            .iter()
            .map(|p| ParticipantInput {
                oin: p.oin.clone(),
                partner_type: p.partner_type.clone(),
                since: timestamp(p.since),
            })
            .collect(),
    }
}

pub(crate) fn facts(caller: &Caller, l: &Loaded) -> CaseworkFacts {
    let me = caller.partner.oin.as_str();
    CaseworkFacts {
        registered_by: Some(l.case.registered_by.clone()),
        requester_is_registrant: l.case.registered_by == me,
        casusregisseur: l.case.casusregisseur.clone(),
        requester_is_casusregisseur: l.case.casusregisseur.as_deref() == Some(me),
        invited: l.invited.clone(),
        requester_is_invited: l.invited.iter().any(|o| o == me),
        operation: None,
        targets: vec![],
        information: None,
    }
}

pub(crate) fn target(gw: &Gateway, l: &Loaded, oin: &Oin) -> TargetInput {
    TargetInput {
        oin: oin.as_str().to_string(),
        partner_type: gw
            .registry()
            .get(oin.as_str())
            .map(|p| p.partner_type.clone())
            .unwrap_or_default(),
        is_participant: l.participants.iter().any(|p| p.oin == oin.as_str()),
    }
}

pub(crate) fn base_input(caller: &Caller, action: Action, case: CaseInput) -> PolicyInput {
    PolicyInput {
        action,
        now: timestamp(crate::record::now()),
        requester: caller.requester(),
        budget: BudgetInput::default(),
        case: Some(case),
        request: None,
        fields: vec![],
    }
}

/// Asks the casework policy; a refusal is logged (403) and returned as a denial.
pub(crate) async fn decide(
    gw: &Gateway,
    entry: &mut NewEntry,
    input: &CaseworkInput,
) -> Result<CaseworkDecision, CaseworkError> {
    let policy = gw.policy();
    entry.policy_revision = policy.revision().to_string();
    let d = gw
        .decide_with(input, entry, |i| policy.decide_casework(i))
        .await?;
    entry.reasons = d.reasons.clone();
    if !d.allow {
        entry.status = 403;
        entry.outcome = Outcome::Denied;
        let disclosure_id = DisclosureId(entry.id);
        gw.commit(entry.clone()).await?;
        return Err(GatewayError::Denied {
            decision: Box::new(Decision {
                allow: false,
                tier: Tier::None,
                allowed_fields: vec![],
                withheld: vec![],
                reasons: d.reasons,
                obligations: vec![],
            }),
            disclosure_id,
        }
        .into());
    }
    Ok(d)
}

/// Marks the entry allowed with `status` and commits it; the answer may go out after this.
pub(crate) async fn allow(
    gw: &Gateway,
    mut entry: NewEntry,
    status: u16,
) -> Result<(), CaseworkError> {
    entry.status = status;
    entry.outcome = Outcome::Allowed;
    gw.commit(entry).await?;
    Ok(())
}

/// Marks the entry allowed with `status` and ends the step's unit of work: the change in `tx`
/// and its entry commit together; the answer may go out after the entry is in the chain.
pub(crate) async fn allow_in(
    gw: &Gateway,
    tx: Tx,
    mut entry: NewEntry,
    status: u16,
) -> Result<(), CaseworkError> {
    entry.status = status;
    entry.outcome = Outcome::Allowed;
    gw.commit_in(tx, entry).await?;
    Ok(())
}

/// Why a step is refused when the case changed under it.
const CHANGED: &str = "the case changed while this step was being decided (another step \
                       committed first); read it again and retry";

/// Opens a step's unit of work on a loaded case and re-checks, inside it, that the case is
/// still as it was decided on (`changes`: the step itself changes what the casework policy
/// decides on: phase, participants, invitations, casusregisseur). A case that changed in
/// between is a logged 409 and nothing is written.
pub(crate) async fn begin_on(
    gw: &Gateway,
    entry: &NewEntry,
    l: &Loaded,
    changes: bool,
) -> Result<Tx, CaseworkError> {
    let mut tx = gw.begin().await?;
    if !gw
        .record
        .guard(&mut tx, l.case.id, l.case.version, changes)
        .await?
    {
        return Err(gw.conflict(tx, entry.clone(), CHANGED).await.into());
    }
    Ok(tx)
}

fn result(entry: &NewEntry, case: CaseId, phase: Phase, d: CaseworkDecision) -> StepResult {
    StepResult {
        case_id: case.to_string(),
        phase,
        decision_id: entry.id.to_string(),
        policy_revision: entry.policy_revision.clone(),
        reasons: d.reasons,
        screening: d.screening,
        check: d.check,
    }
}

/// Registers a case (aanmelding) in phase aanmelding. With an Idempotency-Key, a repeat with
/// the same body answers with the same case; a different body under the same key is refused.
pub async fn register(
    gw: &Gateway,
    caller: &Caller,
    idempotency: Option<(&str, &str)>,
    reg: &NewRegistration,
) -> Result<Registered, CaseworkError> {
    let db = gw.record.db();
    let pseudonymizer = gw.record.pseudonymizer();
    let me: Oin = caller
        .partner
        .oin
        .parse()
        .map_err(|e| GatewayError::Forbidden(format!("caller OIN: {e}")))?;
    let mut entry = entry_for(gw, caller, Event::RegisterCase, None);
    entry.set_subjects(
        reg.persons
            .iter()
            .filter_map(|p| p.bsn.as_ref())
            .map(|bsn| SubjectRecord {
                pseudonym: pseudonymizer.pseudonym(bsn),
                key_version: pseudonymizer.version(),
            })
            .collect(),
    );
    let case_id = CaseId::new();
    let input = CaseworkInput {
        base: base_input(
            caller,
            Action::RegisterCase,
            CaseInput {
                id: case_id.to_string(),
                kind: reg.kind.as_str().into(),
                phase: Phase::Aanmelding.as_str().into(),
                region: reg.region.clone(),
                requester_is_participant: false,
                participants: vec![],
            },
        ),
        casework: CaseworkFacts {
            registered_by: Some(me.as_str().to_string()),
            requester_is_registrant: true,
            ..CaseworkFacts::default()
        },
        aanmelding: None,
        decision: None,
    };
    if let Some((key, hash)) = idempotency {
        if let Some(done) = store::idempotency_record(db, &me, key).await? {
            return repeat(
                gw,
                entry,
                &input,
                CaseId(done.case_id),
                done.body_hash == hash,
            )
            .await;
        }
    }
    let d = decide(gw, &mut entry, &input).await?;
    // One unit of work: the key, the case, its persons, the registration and the entry.
    let mut tx = gw.begin().await?;
    if let Some((key, hash)) = idempotency {
        if !store::claim_idempotency_key(&mut tx, &me, key, hash, case_id).await? {
            // Lost a race with the same key: answer as the winner did.
            tx.rollback().await?;
            let Some(done) = store::idempotency_record(db, &me, key).await? else {
                return Err(StoreError::Corrupt("idempotency key vanished".into()).into());
            };
            return repeat(
                gw,
                entry,
                &input,
                CaseId(done.case_id),
                done.body_hash == hash,
            )
            .await;
        }
    }
    let (persons, subjects) = persist(gw, &mut tx, &me, case_id, reg).await?;
    entry.case_id = Some(case_id.0);
    entry.set_subjects(subjects);
    entry.reasons = d.reasons;
    let disclosure_id = DisclosureId(entry.id);
    allow_in(gw, tx, entry, 201).await?;
    Ok(Registered {
        disclosure_id,
        case_id,
        phase: Phase::Aanmelding,
        persons,
        repeated: false,
    })
}

/// Answers a repeated Idempotency-Key: the same case for the same body (logged as allowed,
/// 200), a refusal for a different one (logged, 422).
async fn repeat(
    gw: &Gateway,
    mut entry: NewEntry,
    input: &CaseworkInput,
    case_id: CaseId,
    same_body: bool,
) -> Result<Registered, CaseworkError> {
    entry.case_id = Some(case_id.0);
    let disclosure_id = DisclosureId(entry.id);
    if !same_body {
        entry.status = 422;
        entry.problem_type = Some("idempotency-key-reused".into());
        entry.reasons = vec![
            "the Idempotency-Key was already used by this partner for a different registration"
                .into(),
        ];
        gw.commit(entry).await?;
        return Err(CaseworkError::IdempotencyConflict { disclosure_id });
    }
    let d = decide(gw, &mut entry, input).await?;
    let case = gw.record.case(case_id).await?.ok_or_else(|| {
        StoreError::Corrupt(format!("idempotency key names missing case {case_id}"))
    })?;
    entry.set_subjects(case_subjects(gw, case_id).await?);
    let persons = store::case_persons(gw.record.db(), case_id)
        .await?
        .into_iter()
        .map(|p| RegisteredPersonView {
            person_id: p.id.to_string(),
            relation: p.relation,
        })
        .collect();
    entry.reasons = d.reasons;
    entry.reasons.push(
        "a repeat of an earlier registration with the same Idempotency-Key: no new case".into(),
    );
    allow(gw, entry, 200).await?;
    Ok(Registered {
        disclosure_id,
        case_id,
        phase: case.phase,
        persons,
        repeated: true,
    })
}

/// What a registrant supplied about one person, sealed into `registration_persons`.
#[derive(Serialize, serde::Deserialize)]
struct Supplied {
    #[serde(skip_serializing_if = "Option::is_none")]
    naam: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geboortedatum: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bsn: Option<String>,
}

/// The associated data that binds a person's supplied identity to its registration row.
fn supplied_context(case: CaseId, person: PersonId) -> Vec<u8> {
    let mut c = b"registration-person:".to_vec();
    c.extend_from_slice(case.0.as_bytes());
    c.extend_from_slice(person.0.as_bytes());
    c
}

/// Writes, inside the step's transaction, the case, its persons (sealed and pseudonymised; a
/// known BSN links the case to its existing person, whose stored data the registrant never
/// sees), what the registrant supplied about each person, and the registration. Returns the
/// persons as registered and the subjects (by pseudonym) of the entry.
async fn persist(
    gw: &Gateway,
    tx: &mut Tx,
    me: &Oin,
    case_id: CaseId,
    reg: &NewRegistration,
) -> Result<(Vec<RegisteredPersonView>, Vec<SubjectRecord>), StoreError> {
    let pseudonymizer = gw.record.pseudonymizer();
    store::insert_case(tx, case_id, reg.kind, &reg.region, &reg.title, me).await?;
    let mut persons = Vec::new();
    let mut subjects = Vec::new();
    for p in &reg.persons {
        let known = match &p.bsn {
            Some(bsn) => store::person_by_pseudonym(tx, &pseudonymizer.all_pseudonyms(bsn)).await?,
            None => None,
        };
        let id: PersonId = match known {
            Some(id) => id,
            None => {
                gw.record
                    .insert_person(
                        tx,
                        &NewPerson {
                            naam: p.naam.clone().unwrap_or_default(),
                            geboortedatum: p.geboortedatum,
                            adres: None,
                            bsn: p.bsn.clone(),
                        },
                    )
                    .await?
            }
        };
        gw.record
            .add_case_person(tx, case_id, id, &p.relation)
            .await?;
        let supplied = serde_json::to_vec(&Supplied {
            naam: p.naam.clone().filter(|n| !n.is_empty()),
            geboortedatum: p.geboortedatum,
            bsn: p.bsn.as_ref().map(|b| b.expose().to_string()),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = gw.record.seal(&supplied, &supplied_context(case_id, id))?;
        store::insert_registration_person(tx, case_id, id, &sealed).await?;
        if let Some(bsn) = &p.bsn {
            subjects.push(SubjectRecord {
                pseudonym: pseudonymizer.pseudonym(bsn),
                key_version: pseudonymizer.version(),
            });
        }
        persons.push(RegisteredPersonView {
            person_id: id.to_string(),
            relation: p.relation.clone(),
        });
    }
    let doc = reg.screening_document().to_string();
    store::insert_registration(tx, case_id, me, &doc, &reg.reason, reg.adviesvraag).await?;
    Ok((persons, subjects))
}

/// Reads a registration back: the registering partner (in every phase: its own contribution)
/// or Veiligheidshuis staff while the case is open.
pub async fn read_registration(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<RegistrationView, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::ReadRegistration, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::ReadRegistration, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let Some(reg) = store::registration(gw.record.db(), case_id).await? else {
        entry.status = 404;
        entry.problem_type = Some("not-found".into());
        entry.reasons = vec!["the case was not registered through the gateway".into()];
        let disclosure_id = DisclosureId(entry.id);
        gw.commit(entry).await?;
        return Err(GatewayError::NotFound { disclosure_id }.into());
    };
    let aanmelding: Value = serde_json::from_str(&reg.aanmelding)
        .map_err(|e| StoreError::Corrupt(format!("registration of {case_id}: {e}")))?;
    // Only what the registrant itself supplied: never what the record knew of a person
    // before (a BSN alone must not come back with a name and a date of birth).
    let supplied: std::collections::HashMap<_, _> =
        store::registration_persons(gw.record.db(), case_id)
            .await?
            .into_iter()
            .collect();
    let mut persons = Vec::new();
    let mut has_bsn = false;
    for p in store::case_persons(gw.record.db(), case_id).await? {
        let Some(sealed) = supplied.get(&p.id) else {
            continue;
        };
        let plain = gw
            .record
            .open(sealed, &supplied_context(case_id, PersonId(p.id)))?;
        let s: Supplied = serde_json::from_slice(&plain)
            .map_err(|e| StoreError::Corrupt(format!("registration person of {case_id}: {e}")))?;
        has_bsn |= s.bsn.is_some();
        persons.push(RegistrationPersonView {
            person_id: p.id.to_string(),
            relation: p.relation,
            naam: s.naam,
            geboortedatum: s.geboortedatum.map(|d| d.format("%Y-%m-%d").to_string()),
            bsn: s.bsn,
        });
    }
    entry.reasons = d.reasons;
    entry.disclosed = vec!["registration".into()];
    entry.categories = if has_bsn {
        vec!["bsn".into(), "identificerend".into(), "overig".into()]
    } else {
        vec!["identificerend".into(), "overig".into()]
    };
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(RegistrationView {
        case_id: case_id.to_string(),
        kind: l.case.kind,
        phase: l.case.phase,
        registered_by: reg.registered_by_oin,
        registered_at: timestamp(reg.registered_at),
        reason: reg.reason,
        adviesvraag: reg.adviesvraag,
        aanmelding,
        persons,
        decision_id,
    })
}

/// The registration's screening document, or a logged 404 for a case registered otherwise.
async fn screening_document(
    gw: &Gateway,
    entry: &mut NewEntry,
    case_id: CaseId,
) -> Result<Value, CaseworkError> {
    let reg = store::registration(gw.record.db(), case_id).await?;
    match reg {
        Some(r) => Ok(serde_json::from_str(&r.aanmelding)
            .map_err(|e| StoreError::Corrupt(format!("registration of {case_id}: {e}")))?),
        None => {
            entry.status = 404;
            entry.problem_type = Some("not-found".into());
            entry.reasons = vec!["the case has no registration to screen".into()];
            let disclosure_id = DisclosureId(entry.id);
            gw.commit(entry.clone()).await?;
            Err(GatewayError::NotFound { disclosure_id }.into())
        }
    }
}

/// The screening advice on a registered case, with reasons per criterion (Veiligheidshuis
/// staff).
pub async fn screening(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::ScreenCase, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let doc = screening_document(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::ScreenCase, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: Some(doc),
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    entry.disclosed = vec!["screening_advice".into()];
    let out = result(&entry, case_id, l.case.phase, d);
    allow(gw, entry, 200).await?;
    Ok(out)
}

/// Records the procesregisseur's screening decision (checked by the screening policy) and
/// moves the case: veiligheidshuis_case to MDO preparation, advies stays in screening,
/// terug_naar_keten closes it.
pub async fn decide_screening(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    outcome: ScreeningOutcome,
    reason: &str,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::ScreeningDecision, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let doc = screening_document(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::DecideScreening, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: Some(doc),
        // The reason is free text: it stays in the case record (destroyed with the case). The
        // policy, whose input the append-only log keeps, sees only its shape.
        decision: Some(json!({"decision": outcome.as_str(), "reason": shape_of(reason)})),
    };
    let d = decide(gw, &mut entry, &input).await?;
    let advised = d
        .check
        .as_ref()
        .and_then(|c| c.get("advised"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let me = caller_oin(caller)?;
    let phase = outcome.next_phase();
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    store::insert_screening_decision(&mut tx, case_id, outcome.as_str(), &advised, reason, &me)
        .await?;
    gw.record.set_phase(&mut tx, case_id, phase).await?;
    if phase == Phase::Afgesloten {
        store::insert_closure(&mut tx, case_id, outcome.as_str(), reason, &me).await?;
    }
    entry.disclosed = vec![format!("decision:{}", outcome.as_str())];
    let out = result(&entry, case_id, phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Free text reduced to its shape: every character that is not whitespace becomes `x`, so a
/// policy can still measure length and words (the screening policy's substance rule) while
/// nothing of the content reaches the policy input and the log.
pub fn shape_of(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { c } else { 'x' })
        .collect()
}

pub(crate) fn caller_oin(caller: &Caller) -> Result<Oin, CaseworkError> {
    caller
        .partner
        .oin
        .parse()
        .map_err(|e| GatewayError::Forbidden(format!("caller OIN: {e}")).into())
}

/// Invites partners to the MDO (procesregisseur). They join the table when they accept.
pub async fn invite(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    oins: &[Oin],
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::InviteParticipants, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let mut f = facts(caller, &l);
    f.operation = Some("invite".into());
    f.targets = oins.iter().map(|o| target(gw, &l, o)).collect();
    let input = CaseworkInput {
        base: base_input(caller, Action::ManageParticipants, case_input(caller, &l)),
        casework: f,
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    for oin in oins {
        store::invite(&mut tx, case_id, oin, &me).await?;
    }
    entry.disclosed = oins.iter().map(|o| format!("invited:{o}")).collect();
    let out = result(&entry, case_id, l.case.phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Accepts the caller's organisation's invitation: from now on it is a participant.
pub async fn accept(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::AcceptInvitation, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::AcceptInvitation, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let now = crate::record::now();
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    // Only an invitation still open seats the partner (one withdrawn meanwhile does not).
    if !store::accept_invitation(&mut tx, case_id, &me, now).await? {
        return Err(gw.conflict(tx, entry, CHANGED).await.into());
    }
    gw.record
        .add_participant(&mut tx, case_id, &me, now)
        .await?;
    entry.disclosed = vec![format!("participant:{me}")];
    let out = result(&entry, case_id, l.case.phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Removes a participant (procesregisseur): its access ends with this commit. A removed
/// casusregisseur no longer directs the case.
pub async fn remove(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    oin: &Oin,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::RemoveParticipant, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let mut f = facts(caller, &l);
    f.operation = Some("remove".into());
    f.targets = vec![target(gw, &l, oin)];
    let input = CaseworkInput {
        base: base_input(caller, Action::ManageParticipants, case_input(caller, &l)),
        casework: f,
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    gw.record.remove_participant(&mut tx, case_id, oin).await?;
    store::withdraw_invitation(&mut tx, case_id, oin).await?;
    store::clear_casusregisseur(&mut tx, case_id, oin).await?;
    entry.disclosed = vec![format!("removed:{oin}")];
    let out = result(&entry, case_id, l.case.phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Names the one casusregisseur of a case (a participant).
pub async fn set_casusregisseur(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    oin: &Oin,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::SetCasusregisseur, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let mut f = facts(caller, &l);
    f.targets = vec![target(gw, &l, oin)];
    let input = CaseworkInput {
        base: base_input(caller, Action::SetCasusregisseur, case_input(caller, &l)),
        casework: f,
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    store::set_casusregisseur(&mut tx, case_id, oin).await?;
    entry.disclosed = vec![format!("casusregisseur:{oin}")];
    let out = result(&entry, case_id, l.case.phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Closes a case (procesregisseur, or the case's own casusregisseur): person-level sharing
/// ends for everyone with this commit.
pub async fn close(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    outcome: &str,
    reason: &str,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::CloseCase, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::CloseCase, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let mut tx = begin_on(gw, &entry, &l, true).await?;
    gw.record
        .set_phase(&mut tx, case_id, Phase::Afgesloten)
        .await?;
    store::insert_closure(&mut tx, case_id, outcome, reason, &me).await?;
    entry.disclosed = vec![format!("closed:{outcome}")];
    let out = result(&entry, case_id, Phase::Afgesloten, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// Keeps a closed case's data until `until`, beyond the convenant's retention period
/// (procesregisseur, with a reason that the log keeps).
pub async fn extend_retention(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    until: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> Result<StepResult, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::RetentionExtended, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::ExtendRetention, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let mut tx = begin_on(gw, &entry, &l, false).await?;
    store::extend_retention(&mut tx, case_id, until, reason, &me).await?;
    entry.disclosed = vec![format!("keep_until:{}", timestamp(until))];
    entry.reasons.push(format!("retention extended: {reason}"));
    let out = result(&entry, case_id, l.case.phase, d);
    allow_in(gw, tx, entry, 200).await?;
    Ok(out)
}

/// The requester recorded for the gateway's own scheduled work.
fn system_requester() -> crate::disclosure::RequesterRecord {
    crate::disclosure::RequesterRecord {
        sub: Some("vhgate-retention".into()),
        ..Default::default()
    }
}

/// Destroys the person data of every closed case whose retention ended before `now` (the
/// convenant's `retention.days_after_closing`, or a later extension). Each destruction is
/// logged first (event case_destroyed, the subject by pseudonym), then carried out; a failed
/// destruction is retried on the next run. Without a configured retention nothing is destroyed.
pub async fn destroy_expired(
    gw: &Gateway,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<CaseId>, CaseworkError> {
    let policy = gw.policy();
    let Some(days) = policy.convenant().retention_days else {
        return Ok(vec![]);
    };
    let closed_before = now - chrono::Duration::days(days);
    let mut done = Vec::new();
    for case_id in store::expired_cases(gw.record.db(), closed_before, now).await? {
        let mut entry = gw.base_entry(Event::CaseDestroyed, system_requester(), None);
        entry.case_id = Some(case_id.0);
        entry.set_subjects(case_subjects(gw, case_id).await?);
        entry.status = 200;
        entry.outcome = Outcome::Allowed;
        entry.reasons = vec![format!(
            "retention of {days} days after closing (and any extension) ended; person data destroyed"
        )];
        gw.commit(entry).await?;
        let destroyed = store::destroy_case(gw.record.db(), case_id).await?;
        tracing::info!(case_id = %case_id, persons = destroyed.persons, items = destroyed.items,
            afspraken = destroyed.afspraken, "case data destroyed after retention");
        done.push(case_id);
    }
    Ok(done)
}

/// Runs [`destroy_expired`] every `every` until the task is aborted.
pub async fn retention_job(gw: std::sync::Arc<Gateway>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = destroy_expired(&gw, crate::record::now()).await {
            tracing::error!(error = %e, "retention run failed; retrying at the next run");
        }
    }
}

/// An item read back by the organisation that contributed it.
#[derive(Clone, Debug, Serialize)]
pub struct OwnItemView {
    pub id: String,
    pub person_id: String,
    pub leefgebied: String,
    pub category: String,
    pub content: String,
    pub recorded_at: String,
    /// The date the information dates from (`YYYY-MM-DD`).
    pub dates_from: String,
}

/// The caller's organisation's own contributions to a case.
#[derive(Clone, Debug, Serialize)]
pub struct OwnContributions {
    pub case_id: String,
    pub phase: Phase,
    pub items: Vec<OwnItemView>,
    pub decision_id: String,
}

/// Reads back what the caller's organisation contributed to a case, in every phase: after
/// closing, this is all that is still shared (with the contributor itself).
pub async fn own_contributions(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
) -> Result<OwnContributions, CaseworkError> {
    let mut entry = entry_for(gw, caller, Event::ReadOwnContributions, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let input = CaseworkInput {
        base: base_input(caller, Action::ReadOwnContributions, case_input(caller, &l)),
        casework: facts(caller, &l),
        aanmelding: None,
        decision: None,
    };
    let d = decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let items = store::own_items(gw.record.db(), case_id, &me).await?;
    entry.reasons = d.reasons;
    entry.disclosed = items.iter().map(|i| format!("item:{}", i.id)).collect();
    let categories: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i.category.as_str()).collect();
    entry.categories = categories.into_iter().map(str::to_owned).collect();
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(OwnContributions {
        case_id: case_id.to_string(),
        phase: l.case.phase,
        items: items
            .into_iter()
            .map(|i| OwnItemView {
                id: i.id.to_string(),
                person_id: i.person_id.to_string(),
                leefgebied: i.leefgebied,
                category: i.category,
                content: i.content,
                dates_from: i
                    .dates_from
                    .unwrap_or_else(|| i.recorded_at.date_naive())
                    .to_string(),
                recorded_at: timestamp(i.recorded_at),
            })
            .collect(),
        decision_id,
    })
}
