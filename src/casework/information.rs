//! Information items in a case (issue 5, item 5): a participant contributes an item about a
//! person of the case, per leefgebied and category, on a legal ground of the convenant
//! (`data.convenant.casework.contribution_grounds`); the contributing organisation corrects
//! (GDPR art. 16) or withdraws (art. 17) its own item and lists who received it, so it can
//! tell them (art. 19). Only `actief` items are ever disclosed: a correction makes the old
//! version `gecorrigeerd`, a withdrawal makes the item `ingetrokken` and erases its content.
//!
//! Each step is decided by the casework policy and is exactly one log entry, refusals
//! included, naming items by id only (never their content, nor the reason of a change).
//! Recipients come from the disclosure log itself: the case's read_person entries that
//! disclosed `item:<id>` of the item or of an earlier version it replaces.

pub mod store;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    allow, allow_in, base_input, begin_on, caller_oin, case_input, decide, entry_for, facts, load,
    Loaded,
};
use super::{store as case_store, CaseworkError};
use crate::disclosure::{Event, NewEntry, RequesterRecord, SubjectRecord};
use crate::domain::{CaseId, Category, DisclosureId, ItemId, Leefgebied, PersonId};
use crate::gateway::{timestamp, Caller, Gateway, GatewayError};
use crate::policy::{Action, CaseworkInput, InformationFacts};
use crate::store::StoreError;

/// The most characters an item's content may have.
pub const MAX_CONTENT: usize = 4000;
/// The most characters the reason of a correction or withdrawal may have.
pub const MAX_REASON: usize = 500;

/// Status of the version that is disclosed.
pub const ACTIEF: &str = "actief";

/// Errors of the information steps: the case life cycle's, plus an item that is no longer
/// active (409).
#[derive(Debug, thiserror::Error)]
pub enum InformationError {
    #[error(transparent)]
    Casework(#[from] CaseworkError),
    /// No such item in this case (logged).
    #[error("no such information item in this case")]
    ItemNotFound { disclosure_id: DisclosureId },
    /// The item was corrected or withdrawn before: only its active version can change.
    #[error("{detail}")]
    NotActive {
        detail: String,
        disclosure_id: DisclosureId,
    },
}

impl From<GatewayError> for InformationError {
    fn from(e: GatewayError) -> Self {
        InformationError::Casework(e.into())
    }
}

impl From<StoreError> for InformationError {
    fn from(e: StoreError) -> Self {
        InformationError::Casework(e.into())
    }
}

/// A validated contribution.
#[derive(Clone, Debug)]
pub struct NewContribution {
    pub person_id: PersonId,
    pub leefgebied: Leefgebied,
    pub category: Category,
    pub content: String,
    pub ground: String,
    /// The date the information dates from (a report of 2019 entered today); None: the day it
    /// is recorded. The convenant's horizon (proportionaliteit) is measured from this date.
    pub dates_from: Option<NaiveDate>,
}

/// The answer to a contribution.
#[derive(Clone, Debug, Serialize)]
pub struct Contributed {
    pub item_id: String,
    pub case_id: String,
    pub person_id: String,
    pub leefgebied: Leefgebied,
    pub category: Category,
    pub ground: String,
    pub contributed_by: String,
    pub recorded_at: String,
    /// The date the information dates from (`YYYY-MM-DD`).
    pub dates_from: String,
    pub decision_id: String,
}

/// An organisation that received an item (or an earlier version of it), from the log.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Recipient {
    pub oin: String,
    pub partner_type: String,
    pub first_disclosed_at: String,
    pub last_disclosed_at: String,
    pub times: u64,
    pub decision_ids: Vec<String>,
}

/// The answer to a correction.
#[derive(Clone, Debug, Serialize)]
pub struct Corrected {
    /// The new, active version.
    pub item_id: String,
    /// The version it corrects (now gecorrigeerd).
    pub replaces: String,
    pub recipients: Vec<Recipient>,
    pub decision_id: String,
}

/// The answer to a withdrawal.
#[derive(Clone, Debug, Serialize)]
pub struct Withdrawn {
    pub item_id: String,
    pub recipients: Vec<Recipient>,
    pub decision_id: String,
}

/// The recipients of an item.
#[derive(Clone, Debug, Serialize)]
pub struct Recipients {
    pub item_id: String,
    pub status: String,
    pub recipients: Vec<Recipient>,
    pub decision_id: String,
}

/// The parts of a logged read_person entry that say who received which items.
#[derive(Deserialize)]
struct LoggedRead {
    id: uuid::Uuid,
    time: String,
    requester: RequesterRecord,
    #[serde(default)]
    disclosed: Vec<String>,
}

/// Everyone but `contributor` that a person read of this case disclosed one of `items` to,
/// per organisation, in the order they first received it.
async fn recipients(
    gw: &Gateway,
    case_id: CaseId,
    items: &[ItemId],
    contributor: &str,
) -> Result<Vec<Recipient>, StoreError> {
    let names: Vec<String> = items.iter().map(|i| format!("item:{i}")).collect();
    let mut by_oin: BTreeMap<String, Recipient> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for text in store::disclosing_reads(gw.record.db(), case_id).await? {
        let read: LoggedRead = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("disclosure log entry: {e}")))?;
        if !read.disclosed.iter().any(|d| names.contains(d)) {
            continue;
        }
        let Some(oin) = read.requester.oin.filter(|o| o != contributor) else {
            continue;
        };
        let r = by_oin.entry(oin.clone()).or_insert_with(|| {
            order.push(oin.clone());
            Recipient {
                oin,
                partner_type: read.requester.partner_type.clone().unwrap_or_default(),
                first_disclosed_at: read.time.clone(),
                last_disclosed_at: read.time.clone(),
                times: 0,
                decision_ids: vec![],
            }
        });
        r.last_disclosed_at = read.time;
        r.times += 1;
        r.decision_ids.push(read.id.to_string());
    }
    Ok(order
        .into_iter()
        .filter_map(|o| by_oin.remove(&o))
        .collect())
}

/// Names the item's person as the entry's subject (by pseudonym); false when the person is
/// not a person of the case.
async fn person_subject(
    gw: &Gateway,
    entry: &mut NewEntry,
    case_id: CaseId,
    person: PersonId,
) -> Result<bool, StoreError> {
    let found = case_store::case_persons(gw.record.db(), case_id)
        .await?
        .into_iter()
        .find(|p| p.id == person.0);
    if let Some(p) = &found {
        entry.set_subjects(vec![SubjectRecord {
            pseudonym: p.subject_pseudonym.clone(),
            key_version: p.pseudonym_key_version,
        }]);
    }
    Ok(found.is_some())
}

/// The policy input for a step about an item.
fn input(caller: &Caller, l: &Loaded, action: Action, info: InformationFacts) -> CaseworkInput {
    let mut f = facts(caller, l);
    f.information = Some(info);
    CaseworkInput {
        base: base_input(caller, action, case_input(caller, l)),
        casework: f,
        aanmelding: None,
        decision: None,
    }
}

/// Logs a refusal for an item that is not found in the case (404).
async fn item_not_found(
    gw: &Gateway,
    entry: &mut NewEntry,
) -> Result<InformationError, InformationError> {
    entry.status = 404;
    entry.problem_type = Some("not-found".into());
    entry.reasons = vec!["no such information item in this case".into()];
    let disclosure_id = DisclosureId(entry.id);
    gw.commit(entry.clone()).await?;
    Ok(InformationError::ItemNotFound { disclosure_id })
}

/// Logs a refusal for an item that is no longer active (409).
async fn not_active(
    gw: &Gateway,
    entry: &mut NewEntry,
    item: ItemId,
    status: &str,
) -> Result<InformationError, InformationError> {
    let detail = format!(
        "information item {item} is {status}: only the active version of an item can be corrected or withdrawn"
    );
    entry.status = 409;
    entry.problem_type = Some("item-not-active".into());
    entry.reasons = vec![detail.clone()];
    let disclosure_id = DisclosureId(entry.id);
    gw.commit(entry.clone()).await?;
    Ok(InformationError::NotActive {
        detail,
        disclosure_id,
    })
}

/// Loads an item of the case for a step on it (a logged 404 when there is none) and names its
/// person as the entry's subject.
async fn load_item(
    gw: &Gateway,
    entry: &mut NewEntry,
    case_id: CaseId,
    item_id: ItemId,
) -> Result<store::StoredItem, InformationError> {
    let Some(item) = store::item(gw.record.db(), case_id, item_id).await? else {
        return Err(item_not_found(gw, entry).await?);
    };
    person_subject(gw, entry, case_id, PersonId(item.person_id)).await?;
    Ok(item)
}

/// The policy's facts about a stored item.
fn item_facts(caller: &Caller, gw: &Gateway, item: &store::StoredItem) -> InformationFacts {
    InformationFacts {
        category: item.category.clone(),
        leefgebied: item.leefgebied.clone(),
        ground: item.ground.clone().unwrap_or_default(),
        status: item.status.clone(),
        contributed_by: item.contributed_by.clone(),
        contributor_partner_type: gw
            .registry()
            .get(&item.contributed_by)
            .map(|p| p.partner_type.clone())
            .unwrap_or_default(),
        requester_is_contributor: item.contributed_by == caller.partner.oin,
        person_in_case: true,
    }
}

/// Contributes an item about a person of the case (a participant, in phase mdo or
/// uitvoering, on a ground of the convenant open to its partner type and covering the
/// category).
pub async fn contribute(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    c: &NewContribution,
) -> Result<Contributed, InformationError> {
    let mut entry = entry_for(gw, caller, Event::ContributeInformation, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let person_in_case = person_subject(gw, &mut entry, case_id, c.person_id).await?;
    if !person_in_case {
        // The request is about someone who is not a person of this case: name no subject
        // rather than the case's first person.
        entry.set_subjects(vec![]);
    }
    let info = InformationFacts {
        category: c.category.as_str().into(),
        leefgebied: c.leefgebied.as_str().into(),
        ground: c.ground.clone(),
        status: ACTIEF.into(),
        contributed_by: caller.partner.oin.clone(),
        contributor_partner_type: caller.partner.partner_type.clone(),
        requester_is_contributor: true,
        person_in_case,
    };
    let input = input(caller, &l, Action::ContributeInformation, info);
    decide(gw, &mut entry, &input).await?;
    let me = caller_oin(caller)?;
    let item_id = ItemId::new();
    let recorded_at = crate::record::now();
    // Information cannot date from after it was recorded (the API refuses a future date; this
    // keeps the horizon honest whatever the caller).
    let dates_from = c.dates_from.map_or(recorded_at.date_naive(), |d| {
        d.min(recorded_at.date_naive())
    });
    let mut tx = begin_on(gw, &entry, &l, false).await?;
    store::insert(
        &mut tx,
        &store::NewVersion {
            id: item_id,
            case: case_id,
            person: c.person_id,
            leefgebied: c.leefgebied.as_str(),
            category: c.category.as_str(),
            content: &c.content,
            ground: Some(&c.ground),
            contributed_by: &me,
            replaces: None,
            recorded_at,
            dates_from,
        },
    )
    .await?;
    entry.disclosed = vec![format!("item:{item_id}")];
    entry.categories = vec![c.category.as_str().into()];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 201).await?;
    Ok(Contributed {
        item_id: item_id.to_string(),
        case_id: case_id.to_string(),
        person_id: c.person_id.to_string(),
        leefgebied: c.leefgebied,
        category: c.category,
        ground: c.ground.clone(),
        contributed_by: me.as_str().to_string(),
        recorded_at: timestamp(recorded_at),
        dates_from: dates_from.to_string(),
        decision_id,
    })
}

/// The common start of a correction or a withdrawal: the case and the item loaded, the policy
/// asked (a refusal is logged), the item still actief, and everyone who received it or an
/// earlier version of it.
async fn start_change(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    item_id: ItemId,
    event: Event,
    action: Action,
) -> Result<(NewEntry, Loaded, store::StoredItem, Vec<Recipient>), InformationError> {
    let mut entry = entry_for(gw, caller, event, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let item = load_item(gw, &mut entry, case_id, item_id).await?;
    let input = input(caller, &l, action, item_facts(caller, gw, &item));
    decide(gw, &mut entry, &input).await?;
    if item.status != ACTIEF {
        return Err(not_active(gw, &mut entry, item_id, &item.status).await?);
    }
    let mut versions = vec![item_id];
    versions.extend(store::earlier_versions(gw.record.db(), case_id, &item).await?);
    let recipients = recipients(gw, case_id, &versions, &item.contributed_by).await?;
    Ok((entry, l, item, recipients))
}

/// Corrects the caller's own active item: a new active version with the same person,
/// leefgebied, category and ground replaces it, and the old one is never disclosed again.
/// Possible in every phase, closed included (rectification outlives the case's sharing).
/// Answers with everyone who received the old version (or an earlier one), to be told.
pub async fn correct(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    item_id: ItemId,
    content: &str,
    reason: &str,
) -> Result<Corrected, InformationError> {
    let (mut entry, l, item, recipients) = start_change(
        gw,
        caller,
        case_id,
        item_id,
        Event::CorrectInformation,
        Action::CorrectInformation,
    )
    .await?;
    let me = caller_oin(caller)?;
    let new_id = ItemId::new();
    let now = crate::record::now();
    let new = store::NewVersion {
        id: new_id,
        case: case_id,
        person: PersonId(item.person_id),
        leefgebied: &item.leefgebied,
        category: &item.category,
        content,
        ground: item.ground.as_deref(),
        contributed_by: &me,
        replaces: Some(item_id),
        recorded_at: now,
        // A correction changes what the item says, not when the information dates from.
        dates_from: item
            .dates_from
            .unwrap_or_else(|| item.recorded_at.date_naive()),
    };
    let mut tx = begin_on(gw, &entry, &l, false).await?;
    if !store::correct(&mut tx, item_id, reason, now, &new).await? {
        tx.rollback().await?;
        return Err(not_active(gw, &mut entry, item_id, "no longer actief").await?);
    }
    entry.disclosed = vec![format!("item:{new_id}"), format!("item:{item_id}")];
    entry.categories = vec![item.category.clone()];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 200).await?;
    Ok(Corrected {
        item_id: new_id.to_string(),
        replaces: item_id.to_string(),
        recipients,
        decision_id,
    })
}

/// Withdraws the caller's own active item: status ingetrokken, content erased (the log keeps
/// only its id). Answers with everyone who received it (or an earlier version), to be told.
pub async fn withdraw(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    item_id: ItemId,
    reason: &str,
) -> Result<Withdrawn, InformationError> {
    let (mut entry, l, item, recipients) = start_change(
        gw,
        caller,
        case_id,
        item_id,
        Event::WithdrawInformation,
        Action::WithdrawInformation,
    )
    .await?;
    let mut tx = begin_on(gw, &entry, &l, false).await?;
    if !store::withdraw(&mut tx, item_id, reason, crate::record::now()).await? {
        tx.rollback().await?;
        return Err(not_active(gw, &mut entry, item_id, "no longer actief").await?);
    }
    entry.disclosed = vec![format!("item:{item_id}")];
    entry.categories = vec![item.category.clone()];
    let decision_id = entry.id.to_string();
    allow_in(gw, tx, entry, 200).await?;
    Ok(Withdrawn {
        item_id: item_id.to_string(),
        recipients,
        decision_id,
    })
}

/// Lists everyone (but the contributor) who received the item or an earlier version of it,
/// from the disclosure log: for the contributor, or Veiligheidshuis staff for procesregie.
pub async fn read_recipients(
    gw: &Gateway,
    caller: &Caller,
    case_id: CaseId,
    item_id: ItemId,
) -> Result<Recipients, InformationError> {
    let mut entry = entry_for(gw, caller, Event::ReadRecipients, Some(case_id));
    let l = load(gw, &mut entry, case_id).await?;
    let item = load_item(gw, &mut entry, case_id, item_id).await?;
    let input = input(
        caller,
        &l,
        Action::ReadRecipients,
        item_facts(caller, gw, &item),
    );
    decide(gw, &mut entry, &input).await?;
    let mut versions = vec![item_id];
    versions.extend(store::earlier_versions(gw.record.db(), case_id, &item).await?);
    let recipients = recipients(gw, case_id, &versions, &item.contributed_by).await?;
    entry.disclosed = vec![format!("item:{item_id}")];
    entry.categories = vec![item.category.clone()];
    let decision_id = entry.id.to_string();
    allow(gw, entry, 200).await?;
    Ok(Recipients {
        item_id: item_id.to_string(),
        status: item.status,
        recipients,
        decision_id,
    })
}
