//! Break-glass (purpose `spoed`): in acute danger (Veilig Thuis or the police in a crisis, before
//! any table can meet) a professional with a token for purpose spoed and a stated reason gets
//! the convenant's minimum (`data.convenant.spoed`; the policy decides, see
//! policies/subsidiariteit.rego). Each allowed spoed read opens a review item for the privacy
//! officer in the read's own unit of work, due within `spoed.review_within_hours`; a review not
//! given in time is signalled once (a log entry and a warning), and the privacy officer records
//! a verdict (justified / unjustified), itself logged. The stated reason is free text: it stays
//! out of the policy input and the log, lives only in the review item and is erased with the
//! case's person data.

pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disclosure::{Event, RequesterRecord};
use crate::domain::{CaseId, DisclosureId};
use crate::gateway::{timestamp, Caller, Gateway, GatewayError};
use crate::policy::{Action, Outcome};
use crate::store::Tx;

pub use store::State;

/// The purpose name of break-glass requests.
pub const PURPOSE: &str = "spoed";

/// The most items one listing returns.
const LIST_LIMIT: i64 = 500;

/// The most overdue items one check signals (the rest wait for the next check).
const SIGNAL_BATCH: i64 = 1000;

/// Whether the caller's token is for break-glass.
pub(crate) fn is_spoed(caller: &Caller) -> bool {
    caller.token.claims.purpose == PURPOSE
}

/// What a spoed read's answer tells the partner: its read will be reviewed, by when.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewTicket {
    pub id: String,
    pub due_at: String,
}

/// Opens the review item of an allowed spoed read inside the read's unit of work, and returns
/// what the answer and the log entry say about it.
pub(crate) async fn open_review(
    gw: &Gateway,
    tx: &mut Tx,
    caller: &Caller,
    disclosure_id: DisclosureId,
    case_id: CaseId,
    now: DateTime<Utc>,
) -> Result<ReviewTicket, GatewayError> {
    let row = store::ReviewRow {
        id: Uuid::now_v7(),
        disclosure_id: disclosure_id.0,
        case_id: case_id.0,
        requester_oin: caller.partner.oin.clone(),
        requester_sub: caller.token.claims.sub.clone(),
        reason: caller.token.claims.reason.clone(),
        created_at: now,
        due_at: now + gw.spoed_review_within,
        overdue_signalled_at: None,
        reviewed_at: None,
        reviewed_by: None,
        verdict: None,
    };
    store::insert(tx, &row).await?;
    Ok(ReviewTicket {
        id: row.id.to_string(),
        due_at: timestamp(row.due_at),
    })
}

/// The privacy officer's verdict on a spoed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The emergency justified breaking the glass.
    Justified,
    /// It did not: follow up with the partner (the log entry is the record).
    Unjustified,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Justified => "justified",
            Verdict::Unjustified => "unjustified",
        }
    }
}

impl State {
    /// Parses the `state` query parameter.
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "open" => Some(State::Open),
            "overdue" => Some(State::Overdue),
            "reviewed" => Some(State::Reviewed),
            "all" => Some(State::All),
            _ => None,
        }
    }

    /// The name [`State::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Overdue => "overdue",
            State::Reviewed => "reviewed",
            State::All => "all",
        }
    }
}

/// A review item as the privacy officer sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewView {
    pub id: String,
    pub disclosure_id: String,
    pub case_id: String,
    pub requester_oin: String,
    pub requester_sub: String,
    /// The stated reason; null once the case's person data was destroyed.
    pub reason: Option<String>,
    pub created_at: String,
    pub due_at: String,
    /// Not reviewed and past its due time.
    pub overdue: bool,
    pub overdue_signalled_at: Option<String>,
    pub reviewed_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub verdict: Option<String>,
}

impl ReviewView {
    fn of(row: store::ReviewRow, now: DateTime<Utc>) -> ReviewView {
        ReviewView {
            id: row.id.to_string(),
            disclosure_id: row.disclosure_id.to_string(),
            case_id: row.case_id.to_string(),
            requester_oin: row.requester_oin,
            requester_sub: row.requester_sub,
            reason: row.reason,
            created_at: timestamp(row.created_at),
            due_at: timestamp(row.due_at),
            overdue: row.reviewed_at.is_none() && row.due_at <= now,
            overdue_signalled_at: row.overdue_signalled_at.map(timestamp),
            reviewed_at: row.reviewed_at.map(timestamp),
            reviewed_by: row.reviewed_by,
            verdict: row.verdict,
        }
    }
}

/// The review items in `state` as of `now` (oldest due first, at most 500), for the privacy
/// officer; the read is logged before it is answered.
pub async fn reviews(
    gw: &Gateway,
    caller: &Caller,
    state: State,
    now: DateTime<Utc>,
) -> Result<Vec<ReviewView>, GatewayError> {
    gw.require_full_reviewer(caller).await?;
    let rows = store::list(gw.record.db(), state, now, LIST_LIMIT).await?;
    gw.log_review(
        caller,
        Event::ReviewLog,
        vec![format!("spoed reviews: state {}", state.name())],
        None,
        rows.len(),
    )
    .await?;
    Ok(rows.into_iter().map(|r| ReviewView::of(r, now)).collect())
}

/// Records the privacy officer's verdict on one spoed read: one unit of work (the item must
/// still be open), logged as `spoed_reviewed`. An unknown item is a logged 404, an item
/// already reviewed a logged 409.
pub async fn review(
    gw: &Gateway,
    caller: &Caller,
    id: Uuid,
    verdict: Verdict,
) -> Result<ReviewView, GatewayError> {
    gw.require_full_reviewer(caller).await?;
    let now = crate::record::now();
    let mut entry = gw.access_entry(caller, Event::SpoedReviewed, Action::ReviewDisclosures);
    let mut tx = gw.begin().await?;
    let Some(row) = store::get(&mut tx, id).await? else {
        let _ = tx.rollback().await;
        entry.status = 404;
        entry.problem_type = Some("not-found".into());
        entry.reasons.push(format!("spoed review {id} not found"));
        return Err(gw
            .logged_refusal(entry, |disclosure_id| GatewayError::NotFound {
                disclosure_id,
            })
            .await);
    };
    entry.case_id = Some(row.case_id);
    let who = caller.token.claims.sub.as_str();
    if !store::mark_reviewed(&mut tx, id, who, verdict.as_str(), now).await? {
        let detail = format!("spoed review {id} was already reviewed");
        return Err(gw.conflict(tx, entry, &detail).await);
    }
    entry.outcome = Outcome::Allowed;
    entry.status = 200;
    entry.reasons.push(format!(
        "spoed review {id} of disclosure {}: {}",
        row.disclosure_id,
        verdict.as_str()
    ));
    gw.commit_in(tx, entry).await?;
    let reviewed = store::ReviewRow {
        reviewed_at: Some(now),
        reviewed_by: Some(who.to_string()),
        verdict: Some(verdict.as_str().to_string()),
        ..row
    };
    Ok(ReviewView::of(reviewed, now))
}

/// Signals every spoed review past its due time at `now` that has not been signalled: one
/// `spoed_review_overdue` entry per item (its own unit of work, so concurrent instances
/// signal each item once) and a warning in the gateway's log. Returns how many it signalled.
pub async fn signal_overdue(gw: &Gateway, now: DateTime<Utc>) -> Result<usize, GatewayError> {
    let mut signalled = 0;
    for row in store::unsignalled_overdue(gw.record.db(), now, SIGNAL_BATCH).await? {
        let mut tx = gw.begin().await?;
        if !store::mark_signalled(&mut tx, row.id, now).await? {
            tx.rollback().await?;
            continue;
        }
        let mut entry = gw.base_entry(Event::SpoedReviewOverdue, system_requester(), None);
        entry.case_id = Some(row.case_id);
        entry.outcome = Outcome::Allowed;
        entry.status = 200;
        entry.reasons = vec![format!(
            "spoed review {} of disclosure {} was due {} and has no verdict",
            row.id,
            row.disclosure_id,
            timestamp(row.due_at)
        )];
        gw.commit_in(tx, entry).await?;
        tracing::warn!(review_id = %row.id, disclosure_id = %row.disclosure_id,
            case_id = %row.case_id, due_at = %timestamp(row.due_at),
            "spoed (break-glass) review overdue: the privacy officer has not reviewed it");
        signalled += 1;
    }
    Ok(signalled)
}

/// Runs [`signal_overdue`] every `every` until the task is aborted.
pub async fn overdue_job(gw: Arc<Gateway>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = signal_overdue(&gw, crate::record::now()).await {
            tracing::error!(error = %e, "spoed overdue check failed; retrying at the next check");
        }
    }
}

/// The requester recorded for the overdue check (the gateway's own scheduled work).
fn system_requester() -> RequesterRecord {
    RequesterRecord {
        sub: Some("vhgate-spoed-review".into()),
        ..Default::default()
    }
}
