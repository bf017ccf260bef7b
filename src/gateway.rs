//! The gateway's domain service: what happens between a parsed request and its answer.
//! Authenticate the caller, gather what the policy needs, decide, make the decision durable in
//! the disclosure log, and only then hand back what may be disclosed. Handlers call this and
//! map its errors; nothing here knows about HTTP beyond the status recorded in the log.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::auth::{AuthError, TokenVerifier, VerifiedToken};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::disclosure::checkpoint::add_signatures;
use crate::disclosure::merkle;
use crate::disclosure::store::{self as log_store, LogFilter};
use crate::disclosure::tree::{self, TreeError};
use crate::disclosure::{Event, LogError, LogWriter, NewEntry, RequesterRecord, SubjectRecord};
use crate::domain::{Bsn, CaseId, DisclosureId, Leefgebied, PersonId};
use crate::policy::{
    Action, BudgetInput, CaseInput, Decision, FieldInput, Outcome, ParticipantInput, PolicyEngine,
    PolicyError, PolicyInput, RequestInput, Requester, ReviewScope, Tier,
};
use crate::record::{CaseRecord, Person};
use crate::registry::{PartnerRegistry, RegisteredPartner};
use crate::store::{StoreError, Tx};
use crate::tls::PeerIdentity;
use crate::trace::TraceContext;

/// Errors of the domain service. Each says whether a log entry was written (`disclosure_id`).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{detail}")]
    Unauthenticated {
        error: AuthError,
        detail: String,
        disclosure_id: DisclosureId,
    },
    #[error("the client certificate's organisation is not a partner in the convenant")]
    UnknownOrganisation { disclosure_id: DisclosureId },
    #[error("the client certificate is not one registered for this partner")]
    CertificateNotRegistered { disclosure_id: DisclosureId },
    #[error("refused by policy")]
    Denied {
        decision: Box<Decision>,
        disclosure_id: DisclosureId,
    },
    #[error("not permitted: {0}")]
    Forbidden(String),
    /// An access rule (or four-eyes) refused the caller; the refusal is in the log.
    #[error("not permitted: {detail}")]
    AccessRefused {
        detail: String,
        disclosure_id: DisclosureId,
    },
    #[error("case or person not found")]
    NotFound { disclosure_id: DisclosureId },
    /// The step's preconditions no longer held when it came to write (a concurrent step won).
    #[error("{detail}")]
    Conflict {
        detail: String,
        disclosure_id: DisclosureId,
    },
    #[error("{0}")]
    Log(#[from] LogError),
    #[error("policy failure: {source}")]
    Policy {
        source: PolicyError,
        disclosure_id: Option<DisclosureId>,
    },
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("transparency log: {0}")]
    Tree(#[from] TreeError),
    #[error("signals: {0}")]
    Signals(#[from] crate::signals::SignalsError),
}

/// An authenticated caller: organisation from the certificate, professional from the token.
#[derive(Clone)]
pub struct Caller {
    pub partner: RegisteredPartner,
    pub token: Arc<VerifiedToken>,
    pub thumbprint: String,
    /// The request's W3C trace context (the gateway's span, the partner's trace if it sent one).
    pub trace: TraceContext,
}

impl Caller {
    /// The requester as the policy sees it.
    pub(crate) fn requester(&self) -> Requester {
        let c = &self.token.claims;
        Requester {
            oin: self.partner.oin.clone(),
            partner_type: self.partner.partner_type.clone(),
            role: c.role.clone(),
            purpose: c.purpose.clone(),
            sub: c.sub.clone(),
        }
    }

    /// The requester as the log records it.
    pub(crate) fn record(&self) -> RequesterRecord {
        let c = &self.token.claims;
        RequesterRecord {
            oin: Some(self.partner.oin.clone()),
            partner_type: Some(self.partner.partner_type.clone()),
            sub: Some(c.sub.clone()),
            role: Some(c.role.clone()),
            purpose: Some(c.purpose.clone()),
            cert_thumbprint: Some(self.thumbprint.clone()),
        }
    }
}

/// A disclosed person attribute set (only allowed attributes are present).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PersonView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geboortedatum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adres: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bsn: Option<String>,
}

/// Who contributed an item.
#[derive(Clone, Debug, Serialize)]
pub struct Contributor {
    pub oin: String,
    pub name: String,
}

/// A disclosed information item.
#[derive(Clone, Debug, Serialize)]
pub struct ItemView {
    pub id: String,
    pub leefgebied: Leefgebied,
    pub category: crate::domain::Category,
    pub content: String,
    pub contributed_by: Contributor,
    pub recorded_at: String,
    /// The date the information dates from (`YYYY-MM-DD`).
    pub dates_from: String,
}

/// The outcome of a person read that was (at least partly) allowed.
#[derive(Clone, Debug)]
pub struct PersonDisclosure {
    pub disclosure_id: DisclosureId,
    pub decision: Decision,
    pub policy_revision: String,
    pub case_id: CaseId,
    pub person_id: PersonId,
    pub relation: String,
    pub person: PersonView,
    pub items: Vec<ItemView>,
    /// For a spoed (break-glass) read: the review item it opened.
    pub spoed_review: Option<crate::spoed::ReviewTicket>,
    /// Whom to contact about the case: procesregie and the casusregisseur (once named).
    pub contacts: Vec<Contact>,
}

/// The data subject's access report.
#[derive(Clone, Debug, Serialize)]
pub struct AccessReport {
    /// Every disclosure about the person, oldest first.
    pub disclosures: Vec<AccessReportLine>,
    /// Present (true) only when something is held back and the convenant allows saying so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<bool>,
}

/// One disclosure in a data subject's access report.
#[derive(Clone, Debug, Serialize)]
pub struct AccessReportLine {
    pub time: String,
    pub organisation: String,
    pub oin: String,
    pub partner_type: String,
    pub purpose: String,
    pub event: Event,
    pub categories: Vec<String>,
    /// The organisations whose contributed data left (when the entry names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Per disclosed category, the recipient's legal ground as the convenant words it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
    pub disclosure_id: String,
}

/// Whom to contact about a hit.
#[derive(Clone, Debug, Serialize)]
pub struct Contact {
    pub role: &'static str,
    pub organisation: String,
    pub oin: String,
}

/// The hit/no-hit answer.
#[derive(Clone, Debug)]
pub struct LookupAnswer {
    pub disclosure_id: DisclosureId,
    pub hit: bool,
    pub contacts: Vec<Contact>,
    pub policy_revision: String,
}

/// The gateway service, shared by all requests.
pub struct Gateway {
    pub record: CaseRecord,
    policy: RwLock<Arc<dyn PolicyEngine>>,
    registry: RwLock<Arc<PartnerRegistry>>,
    log: LogWriter,
    /// Group-committed budget counts (`None`: one transaction per request).
    budget: Option<crate::budget::BudgetCounter>,
    verifier: TokenVerifier,
    report_embargo_existence: bool,
    /// The checkpoint key's verifier: the console checks proofs against signed checkpoints.
    log_key: Option<crate::disclosure::checkpoint::NoteVerifier>,
    /// The headless Chromium that prints the console's access reports to PDF.
    pdf_printer: String,
    /// When the console raises anomaly signals.
    signal_thresholds: crate::disclosure::anomalies::Thresholds,
    /// Keys that may sign policy bundles (`policy.signing`).
    bundle_verifier: Arc<crate::policy::signing::BundleVerifier>,
    signals_min_cell: u32,
    /// How soon a spoed (break-glass) read must be reviewed (`spoed.review_within_hours`).
    pub(crate) spoed_review_within: chrono::Duration,
    /// Certificate OINs that may scrape `/metrics` (`metrics.monitoring_oins`).
    monitoring_oins: Vec<crate::domain::Oin>,
}

/// RFC 3339 UTC with microseconds: the time format of log entries.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

const FIELD_NAAM: &str = "persoon.naam";
const FIELD_GEBOORTEDATUM: &str = "persoon.geboortedatum";
const FIELD_ADRES: &str = "persoon.adres";
const FIELD_BSN: &str = "persoon.bsn";

impl Gateway {
    pub fn new(
        record: CaseRecord,
        policy: Arc<dyn PolicyEngine>,
        registry: PartnerRegistry,
        log: LogWriter,
        verifier: TokenVerifier,
    ) -> Self {
        Gateway {
            record,
            policy: RwLock::new(policy),
            registry: RwLock::new(Arc::new(registry)),
            log,
            budget: None,
            verifier,
            report_embargo_existence: false,
            log_key: None,
            pdf_printer: "chromium".into(),
            signal_thresholds: Default::default(),
            bundle_verifier: Arc::default(),
            signals_min_cell: crate::signals::DEFAULT_MIN_CELL,
            spoed_review_within: chrono::Duration::hours(72),
            monitoring_oins: Vec::new(),
        }
    }

    /// Lets client certificates with these OINs scrape `/metrics` (default: nobody).
    pub fn with_monitoring_oins(mut self, oins: Vec<crate::domain::Oin>) -> Self {
        self.monitoring_oins = oins;
        self
    }

    /// Whether this verified client certificate holds the monitoring role.
    pub fn is_monitoring(&self, peer: &PeerIdentity) -> bool {
        peer.oin
            .as_deref()
            .is_some_and(|oin| self.monitoring_oins.iter().any(|m| m.as_str() == oin))
    }

    /// The metrics in the Prometheus text format, with the pool and the policy revision as
    /// they are now.
    pub fn metrics_text(&self) -> String {
        let (pool_size, pool_idle) = self.record.db().pool_stats();
        crate::telemetry::render(&crate::telemetry::ScrapeState {
            policy_revision: self.policy().revision(),
            pool_size,
            pool_idle,
        })
    }

    /// Sets the keys policy bundles are verified with (default: none, signatures optional).
    pub fn with_bundle_verifier(
        mut self,
        verifier: Arc<crate::policy::signing::BundleVerifier>,
    ) -> Self {
        self.bundle_verifier = verifier;
        self
    }

    /// The keys policy bundles are verified with.
    pub fn bundle_verifier(&self) -> Arc<crate::policy::signing::BundleVerifier> {
        self.bundle_verifier.clone()
    }

    /// Sets the small-cell threshold of the signalling figures (`signals.min_cell`), never
    /// below [`crate::signals::MIN_CELL_FLOOR`].
    pub fn with_signals_min_cell(mut self, min_cell: u32) -> Self {
        self.signals_min_cell = min_cell.max(crate::signals::MIN_CELL_FLOOR);
        self
    }

    /// Sets how many hours after a spoed (break-glass) read its review is due.
    pub fn with_spoed_review_within(mut self, hours: u32) -> Self {
        self.spoed_review_within = chrono::Duration::hours(i64::from(hours));
        self
    }

    /// Sets the headless Chromium that prints access reports to PDF (`console.chromium`).
    pub fn with_pdf_printer(mut self, chromium: &str) -> Self {
        self.pdf_printer = chromium.to_string();
        self
    }

    /// Sets when the console raises anomaly signals (`[console]` thresholds).
    pub fn with_signal_thresholds(
        mut self,
        thresholds: crate::disclosure::anomalies::Thresholds,
    ) -> Self {
        self.signal_thresholds = thresholds;
        self
    }

    /// The headless Chromium that prints access reports to PDF.
    pub fn pdf_printer(&self) -> &str {
        &self.pdf_printer
    }

    /// Counts the bulk budget through a group-commit task (see [`crate::budget`]).
    pub fn with_budget_counter(mut self, counter: crate::budget::BudgetCounter) -> Self {
        self.budget = Some(counter);
        self
    }

    /// Sets the verifier of the log's checkpoint key (for checking proofs live).
    pub fn with_log_key(mut self, key: crate::disclosure::checkpoint::NoteVerifier) -> Self {
        self.log_key = Some(key);
        self
    }

    /// Lets access reports say that something is held back under an embargo (see
    /// `log.report_embargo_existence`).
    pub fn with_embargo_reporting(mut self, report: bool) -> Self {
        self.report_embargo_existence = report;
        self
    }

    /// The policy engine in force now. A request keeps the one it started with.
    pub fn policy(&self) -> Arc<dyn PolicyEngine> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the policy engine atomically for new requests.
    pub fn set_policy(&self, engine: Arc<dyn PolicyEngine>) {
        match self.policy.write() {
            Ok(mut p) => *p = engine,
            Err(poisoned) => *poisoned.into_inner() = engine,
        }
    }

    /// The partner registry in force now.
    pub fn registry(&self) -> Arc<PartnerRegistry> {
        match self.registry.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the partner registry atomically for new requests and forgets every cached
    /// token verification, so a revoked key or a removed partner stops working at once.
    pub fn set_registry(&self, registry: PartnerRegistry) {
        let registry = Arc::new(registry);
        match self.registry.write() {
            Ok(mut r) => *r = registry,
            Err(poisoned) => *poisoned.into_inner() = registry,
        }
        self.verifier.clear_cache();
    }

    /// Asks the policy; a failed evaluation is itself logged (as a 500) and fails closed. The
    /// input goes into the entry, so the decision can be replayed (impact preview) and
    /// reproduced from its revision.
    async fn decide(
        &self,
        policy: &dyn PolicyEngine,
        input: &PolicyInput,
        entry: &mut NewEntry,
    ) -> Result<Decision, GatewayError> {
        self.decide_with(input, entry, |i| policy.decide(i)).await
    }

    /// Records `input` in the entry and asks `ask` (one of the engine's entry points); a failed
    /// evaluation is itself logged (as a 500) and fails closed.
    pub(crate) async fn decide_with<I: Serialize, D>(
        &self,
        input: &I,
        entry: &mut NewEntry,
        ask: impl FnOnce(&I) -> Result<D, PolicyError>,
    ) -> Result<D, GatewayError> {
        let decided = serde_json::to_value(input)
            .map_err(|e| PolicyError::Eval(format!("policy input: {e}")))
            .and_then(|recorded| {
                entry.input = Some(recorded);
                let started = std::time::Instant::now();
                let decided = ask(input);
                crate::telemetry::record_decision(entry.event.as_str(), started.elapsed());
                decided
            });
        match decided {
            Ok(d) => Ok(d),
            Err(source) => {
                entry.reasons.clear();
                Err(self.policy_failed(entry.clone(), source).await)
            }
        }
    }

    /// Logs a policy evaluation that failed (500: nothing was decided, so nothing is allowed)
    /// and returns the error to answer with.
    async fn policy_failed(&self, mut entry: NewEntry, source: PolicyError) -> GatewayError {
        entry.status = 500;
        entry.problem_type = Some("policy-error".into());
        entry
            .reasons
            .push(format!("policy evaluation failed: {source}"));
        self.logged_refusal(entry, |id| GatewayError::Policy {
            source,
            disclosure_id: Some(id),
        })
        .await
    }

    /// Commits a refusal's entry, then answers with `refusal` carrying the entry's id; if the
    /// entry cannot be committed, with that failure instead (no answer the log does not hold).
    pub(crate) async fn logged_refusal(
        &self,
        entry: NewEntry,
        refusal: impl FnOnce(DisclosureId) -> GatewayError,
    ) -> GatewayError {
        let disclosure_id = DisclosureId(entry.id);
        match self.commit(entry).await {
            Ok(()) => refusal(disclosure_id),
            Err(e) => e,
        }
    }

    /// Writes an entry and waits for its commit.
    pub(crate) async fn commit(&self, entry: NewEntry) -> Result<(), GatewayError> {
        self.log.append(entry).await?;
        Ok(())
    }

    /// Begins a state-changing step's unit of work: its precondition checks, its change and
    /// its log entry go into this one transaction ([`Gateway::commit_in`]).
    pub async fn begin(&self) -> Result<Tx, GatewayError> {
        Ok(self.record.db().begin().await?)
    }

    /// Ends a unit of work: puts `entry` into the outbox inside `tx`, commits the change and
    /// its entry together, then waits until the writer has moved the entry into the chain. If
    /// that wait fails the change stands and its entry is still durable in the outbox (a sweep
    /// appends it), but the caller hears 503 and must check before repeating the step.
    pub async fn commit_in(&self, mut tx: Tx, entry: NewEntry) -> Result<(), GatewayError> {
        let id = entry.id;
        log_store::put_outbox(&mut tx, &entry).await?;
        tx.commit().await?;
        self.log.append_outboxed(id).await?;
        Ok(())
    }

    /// Counts one person-level request against the caller's daily budget (in the database,
    /// shared by every instance) and returns how many came before it. A partner whose OIN does
    /// not parse has no budget: refused.
    async fn take_budget(&self, caller: &Caller, now: DateTime<Utc>) -> Result<u64, GatewayError> {
        let oin: crate::domain::Oin = caller
            .partner
            .oin
            .parse()
            .map_err(|e| GatewayError::Forbidden(format!("caller OIN: {e}")))?;
        Ok(match &self.budget {
            Some(counter) => counter.take(&oin, now).await?,
            None => crate::budget::take(self.record.db(), &oin, now).await?,
        })
    }

    /// Moves what waits in the outbox into the chain now (the writer also does so at start and
    /// every `log.outbox_sweep_ms`). Returns how many entries that batch appended.
    pub async fn sweep_outbox(&self) -> Result<i64, GatewayError> {
        Ok(self.log.sweep().await?)
    }

    /// Refuses a step whose preconditions changed between its decision and its write (another
    /// step committed in between): the transaction is dropped, the refusal logged (409).
    pub(crate) async fn conflict(&self, tx: Tx, mut entry: NewEntry, detail: &str) -> GatewayError {
        // A failed rollback leaves nothing behind either: the connection drops the transaction.
        let _ = tx.rollback().await;
        entry.status = 409;
        entry.outcome = Outcome::Denied;
        entry.problem_type = Some("conflict".into());
        entry.disclosed.clear();
        entry.reasons = vec![detail.to_string()];
        self.logged_refusal(entry, |disclosure_id| GatewayError::Conflict {
            detail: detail.to_string(),
            disclosure_id,
        })
        .await
    }

    /// A new entry for `event` (denied until the caller says otherwise), under the policy
    /// revision in force now, with the trace context of the request that writes it (none for
    /// the gateway's own jobs).
    pub(crate) fn base_entry(
        &self,
        event: Event,
        requester: RequesterRecord,
        trace: Option<&TraceContext>,
    ) -> NewEntry {
        let mut entry = NewEntry {
            id: DisclosureId::new().0,
            time: timestamp(crate::record::now()),
            event,
            outcome: Outcome::Denied,
            status: 0,
            requester,
            case_id: None,
            subject: None,
            subjects: vec![],
            tier: Tier::None,
            disclosed: vec![],
            categories: vec![],
            sources: vec![],
            withheld: vec![],
            reasons: vec![],
            policy_revision: self.policy().revision().to_string(),
            problem_type: None,
            traceparent: None,
            trace_id: None,
            span_id: None,
            parent_span_id: None,
            input: None,
        };
        if let Some(trace) = trace {
            trace.record_in(&mut entry);
        }
        entry
    }

    /// The requester as far as the client certificate tells: OIN, partner type, thumbprint.
    pub fn peer_requester(&self, peer: &PeerIdentity) -> RequesterRecord {
        let registry = self.registry();
        RequesterRecord {
            oin: peer.oin.clone(),
            partner_type: peer
                .oin
                .as_deref()
                .and_then(|oin| registry.get(oin))
                .map(|p| p.partner_type.clone()),
            cert_thumbprint: Some(peer.thumbprint.clone()),
            ..RequesterRecord::default()
        }
    }

    /// Logs a request refused before any decision (unreadable input, an unknown route, too
    /// large): `route` is the route template or `unmatched`, never the raw path. Returns the
    /// entry's id once it is committed.
    pub async fn refuse_request(
        &self,
        requester: RequesterRecord,
        trace: &TraceContext,
        status: u16,
        problem_type: &str,
        method: &str,
        route: &str,
    ) -> Result<DisclosureId, GatewayError> {
        let mut entry = self.base_entry(Event::RequestRefused, requester, Some(trace));
        let id = DisclosureId(entry.id);
        entry.status = status;
        entry.problem_type = Some(problem_type.to_string());
        entry.reasons = vec![format!("{method} {route}")];
        self.commit(entry).await?;
        Ok(id)
    }

    /// Identifies the partner from the verified certificate and checks its token. Every
    /// refusal is logged before it is answered.
    pub async fn authenticate(
        &self,
        peer: &PeerIdentity,
        bearer: Option<&str>,
        trace: TraceContext,
    ) -> Result<Caller, GatewayError> {
        let registry = self.registry();
        let partner = peer.oin.as_deref().and_then(|oin| registry.get(oin));
        let requester = self.peer_requester(peer);
        let Some(partner) = partner else {
            let mut entry = self.base_entry(Event::AuthFailure, requester, Some(&trace));
            let id = DisclosureId(entry.id);
            entry.status = 403;
            entry.problem_type = Some("unknown-organisation".into());
            entry.reasons = vec!["client certificate OIN is not a partner in the convenant".into()];
            self.commit(entry).await?;
            return Err(GatewayError::UnknownOrganisation { disclosure_id: id });
        };
        if !partner.accepts_certificate(&peer.thumbprint) {
            let mut entry = self.base_entry(Event::AuthFailure, requester, Some(&trace));
            let id = DisclosureId(entry.id);
            entry.status = 403;
            entry.problem_type = Some("certificate-not-registered".into());
            entry.reasons = vec![
                "client certificate is not among the partner's registered certificates".into(),
            ];
            self.commit(entry).await?;
            return Err(GatewayError::CertificateNotRegistered { disclosure_id: id });
        }
        let policy = self.policy();
        let now = Utc::now().timestamp();
        let verified = match bearer {
            None => Err(AuthError::MissingToken),
            Some(token) => {
                self.verifier
                    .verify(token, partner, &peer.thumbprint, policy.convenant(), now)
            }
        };
        match verified {
            Ok(token) => Ok(Caller {
                partner: partner.clone(),
                token,
                thumbprint: peer.thumbprint.clone(),
                trace,
            }),
            Err(error) => {
                let mut entry = self.base_entry(Event::AuthFailure, requester, Some(&trace));
                let id = DisclosureId(entry.id);
                entry.status = 401;
                entry.problem_type = Some(error.slug().into());
                entry.reasons = vec![error.to_string()];
                self.commit(entry).await?;
                Err(GatewayError::Unauthenticated {
                    detail: error.to_string(),
                    error,
                    disclosure_id: id,
                })
            }
        }
    }

    /// A person's information in a case, filtered to what the policy allows.
    pub async fn read_person(
        &self,
        caller: &Caller,
        case_id: CaseId,
        person_id: PersonId,
        leefgebieden: Option<Vec<Leefgebied>>,
    ) -> Result<PersonDisclosure, GatewayError> {
        let now = crate::record::now();
        let policy = self.policy();
        let spoed = crate::spoed::is_spoed(caller);
        let used = self.take_budget(caller, now).await?;
        let mut entry = self.base_entry(Event::ReadPerson, caller.record(), Some(&caller.trace));
        entry.policy_revision = policy.revision().to_string();
        entry.case_id = Some(case_id.0);
        let disclosure_id = DisclosureId(entry.id);

        let Some(crate::record::PersonRead {
            case,
            person,
            participants,
            items,
        }) = self.record.person_read(case_id, person_id).await?
        else {
            entry.status = 404;
            entry.problem_type = Some("not-found".into());
            entry.reasons = vec!["case or person not found".into()];
            self.commit(entry).await?;
            return Err(GatewayError::NotFound { disclosure_id });
        };
        entry.subject = Some(SubjectRecord {
            pseudonym: person.subject_pseudonym.clone(),
            key_version: person.pseudonym_key_version,
        });
        let items: Vec<_> = items
            .into_iter()
            .filter(|i| {
                leefgebieden
                    .as_ref()
                    .is_none_or(|l| l.contains(&i.leefgebied))
            })
            .collect();

        let mut fields = person_fields(&person);
        fields.extend(items.iter().map(|i| FieldInput {
            name: format!("item:{}", i.id),
            category: i.category.as_str().into(),
            leefgebied: Some(i.leefgebied.as_str().into()),
            age_days: i.age_days(now),
        }));
        let input = PolicyInput {
            action: Action::ReadPerson,
            now: timestamp(now),
            requester: caller.requester(),
            budget: BudgetInput { used },
            case: Some(CaseInput {
                id: case.id.to_string(),
                kind: case.kind.as_str().into(),
                phase: case.phase.as_str().into(),
                region: case.region.clone(),
                requester_is_participant: participants.iter().any(|p| p.oin == caller.partner.oin),
                participants: participants
                    .iter()
                    .map(|p| ParticipantInput {
                        oin: p.oin.clone(),
                        partner_type: p.partner_type.clone(),
                        since: timestamp(p.since),
                    })
                    .collect(),
            }),
            request: Some(RequestInput {
                leefgebieden: leefgebieden
                    .map(|l| l.iter().map(|x| x.as_str().to_string()).collect()),
                reason_stated: spoed.then(|| caller.token.claims.reason.is_some()),
            }),
            fields,
        };
        let decision = self.decide(policy.as_ref(), &input, &mut entry).await?;
        entry.outcome = decision.outcome();
        entry.tier = decision.tier;
        entry.disclosed = decision.allowed_fields.clone();
        let categories: std::collections::BTreeSet<&str> = input
            .fields
            .iter()
            .filter(|f| decision.allowed_fields.contains(&f.name))
            .map(|f| f.category.as_str())
            .collect();
        entry.categories = categories.into_iter().map(str::to_owned).collect();
        // Whose data left: each contributor of a disclosed item, and the registrant for the
        // person's registered attributes. Their privacy officers review this entry as their own.
        let disclosed: std::collections::HashSet<&str> =
            decision.allowed_fields.iter().map(String::as_str).collect();
        let person_fields_left = disclosed.iter().any(|f| !f.starts_with("item:"));
        entry.set_sources(
            items
                .iter()
                .filter(|i| disclosed.contains(format!("item:{}", i.id).as_str()))
                .map(|i| i.contributed_by.clone())
                .chain(person_fields_left.then(|| case.registered_by.clone())),
        );
        entry.withheld = decision.withheld.clone();
        entry.reasons = decision.reasons.clone();
        entry.status = if decision.allow { 200 } else { 403 };
        let told = decision.for_partner(&input, &caller.partner.partner_type, policy.convenant());
        if !decision.allow {
            self.commit(entry).await?;
            return Err(GatewayError::Denied {
                decision: Box::new(told),
                disclosure_id,
            });
        }
        // Build the answer before committing so nothing can fail after the entry says
        // "disclosed"; send it only after the commit.
        let allowed: std::collections::HashSet<&str> =
            decision.allowed_fields.iter().map(String::as_str).collect();
        let bsn = if allowed.contains(FIELD_BSN) {
            self.record.reveal_bsn(&person)?
        } else {
            None
        };
        let view = PersonView {
            naam: allowed.contains(FIELD_NAAM).then(|| person.naam.clone()),
            geboortedatum: person
                .geboortedatum
                .clone()
                .filter(|_| allowed.contains(FIELD_GEBOORTEDATUM)),
            adres: person
                .adres
                .clone()
                .filter(|_| allowed.contains(FIELD_ADRES)),
            bsn: bsn.map(|b| b.expose().to_string()),
        };
        let item_views = items
            .into_iter()
            .filter(|i| allowed.contains(format!("item:{}", i.id).as_str()))
            .map(|i| ItemView {
                id: i.id.to_string(),
                leefgebied: i.leefgebied,
                category: i.category,
                content: i.content,
                contributed_by: Contributor {
                    oin: i.contributed_by,
                    name: i.contributor_name,
                },
                recorded_at: timestamp(i.recorded_at),
                dates_from: i.dates_from.to_string(),
            })
            .collect();
        // Who directs the case, so a reader knows whom to call (as the hit/no-hit lookup tells).
        let registry = self.registry();
        let contacts = self.contacts(
            case.casusregisseur
                .as_deref()
                .and_then(|oin| registry.get(oin).map(|p| (oin, p.name.as_str())))
                .into_iter(),
        );
        let policy_revision = entry.policy_revision.clone();
        // A spoed read and its review item are one unit of work: no break-glass disclosure
        // without the privacy officer's review to come.
        let spoed_review = if spoed {
            let mut tx = self.begin().await?;
            let ticket =
                crate::spoed::open_review(self, &mut tx, caller, disclosure_id, case_id, now)
                    .await?;
            entry.reasons.push(format!(
                "spoed (break-glass): review {} due {}",
                ticket.id, ticket.due_at
            ));
            self.commit_in(tx, entry).await?;
            Some(ticket)
        } else {
            self.commit(entry).await?;
            None
        };
        Ok(PersonDisclosure {
            disclosure_id,
            decision: told,
            policy_revision,
            case_id,
            person_id,
            relation: person.relation,
            person: view,
            items: item_views,
            spoed_review,
            contacts,
        })
    }

    /// The subsidiarity tier: is this BSN known in an active case, and whom to contact.
    pub async fn lookup(&self, caller: &Caller, bsn: &Bsn) -> Result<LookupAnswer, GatewayError> {
        let now = crate::record::now();
        let policy = self.policy();
        let used = self.take_budget(caller, now).await?;
        let pseudonymizer = self.record.pseudonymizer();
        let mut entry = self.base_entry(Event::Lookup, caller.record(), Some(&caller.trace));
        entry.policy_revision = policy.revision().to_string();
        entry.subject = Some(SubjectRecord {
            pseudonym: pseudonymizer.pseudonym(bsn),
            key_version: pseudonymizer.version(),
        });
        let disclosure_id = DisclosureId(entry.id);
        let input = PolicyInput {
            action: Action::Lookup,
            now: timestamp(now),
            requester: caller.requester(),
            budget: BudgetInput { used },
            case: None,
            request: None,
            fields: vec![],
        };
        let decision = self.decide(policy.as_ref(), &input, &mut entry).await?;
        entry.tier = decision.tier;
        entry.reasons = decision.reasons.clone();
        if !decision.allow || decision.tier < Tier::HitNoHit {
            entry.status = 403;
            entry.outcome = Outcome::Denied;
            self.commit(entry).await?;
            return Err(GatewayError::Denied {
                decision: Box::new(decision),
                disclosure_id,
            });
        }
        let hits = self
            .record
            .lookup(&pseudonymizer.all_pseudonyms(bsn))
            .await?;
        let contacts = if hits.is_empty() {
            Vec::new()
        } else {
            self.contacts(hits.iter().filter_map(|h| {
                Some((
                    h.casusregisseur_oin.as_deref()?,
                    h.casusregisseur_name.as_deref()?,
                ))
            }))
        };
        entry.status = 200;
        entry.outcome = Outcome::Allowed;
        entry.disclosed = vec![if hits.is_empty() {
            "no_hit".into()
        } else {
            "hit".into()
        }];
        let policy_revision = entry.policy_revision.clone();
        self.commit(entry).await?;
        Ok(LookupAnswer {
            disclosure_id,
            hit: !hits.is_empty(),
            contacts,
            policy_revision,
        })
    }

    /// Whom to contact about a case (één gezin, één plan, één regisseur): the Veiligheidshuis
    /// for procesregie, then each distinct casusregisseur given as (OIN, organisation name).
    fn contacts<'a>(
        &self,
        casusregisseurs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Vec<Contact> {
        let registry = self.registry();
        let mut contacts = Vec::new();
        if let Some(vh) = registry.first_of_type("veiligheidshuis") {
            contacts.push(Contact {
                role: "procesregie",
                organisation: vh.name.clone(),
                oin: vh.oin.clone(),
            });
        }
        for (oin, name) in casusregisseurs {
            if !contacts
                .iter()
                .any(|c| c.role == "casusregisseur" && c.oin == oin)
            {
                contacts.push(Contact {
                    role: "casusregisseur",
                    organisation: name.to_string(),
                    oin: oin.to_string(),
                });
            }
        }
        contacts
    }

    /// Recent log entries for a privacy officer.
    pub async fn disclosures(
        &self,
        caller: &Caller,
        filter: &LogFilter,
    ) -> Result<Vec<log_store::LogRow>, GatewayError> {
        let scope = self.require_reviewer(caller).await?;
        let rows = log_store::list(self.record.db(), &Self::scoped(caller, scope, filter)).await?;
        self.log_review(
            caller,
            Event::ReviewLog,
            filter.describe(),
            None,
            rows.len(),
        )
        .await?;
        Ok(rows)
    }

    /// The entry of a policy change (who activated which revision, and why), for the unit of
    /// work that makes the change ([`Gateway::commit_in`]).
    pub fn policy_change_entry(
        &self,
        caller: &Caller,
        revision: &str,
        reasons: Vec<String>,
    ) -> NewEntry {
        let mut entry = self.admin_entry(caller, Event::PolicyChange, reasons);
        entry.policy_revision = revision.to_string();
        entry
    }

    /// The entry of an applied partner-registry change (which operations, on which
    /// organisations and keys, proposed and approved by whom), for the unit of work that
    /// applies it. Organisation data only; no personal data.
    pub fn registry_change_entry(&self, caller: &Caller, reasons: Vec<String>) -> NewEntry {
        self.admin_entry(caller, Event::RegistryChange, reasons)
    }

    fn admin_entry(&self, caller: &Caller, event: Event, reasons: Vec<String>) -> NewEntry {
        let mut entry = self.base_entry(event, caller.record(), Some(&caller.trace));
        entry.outcome = Outcome::Allowed;
        entry.status = 200;
        entry.reasons = reasons;
        entry
    }

    /// Refuses unless the caller may administer the convenant (the convenant's access policy).
    /// A refusal is logged before it is answered.
    pub async fn require_administrator(&self, caller: &Caller) -> Result<(), GatewayError> {
        self.require_access(
            caller,
            Action::Administer,
            |policy, input| policy.may_administer(input),
            "administering the convenant needs the convenant_administrator role with purpose beheer",
        )
        .await
    }

    /// Asks one of the access rules (`may`) about the caller acting for `action`; unless it
    /// says yes, logs the refusal ([`Gateway::refuse`]) and answers 403. A failing rule refuses
    /// too (500, logged).
    async fn require_access(
        &self,
        caller: &Caller,
        action: Action,
        may: impl FnOnce(&dyn PolicyEngine, &PolicyInput) -> Result<bool, PolicyError>,
        refusal: &str,
    ) -> Result<(), GatewayError> {
        match may(self.policy().as_ref(), &access_input(caller, action)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.refuse(caller, action, refusal).await),
            Err(source) => {
                let entry = self.access_entry(caller, Event::AccessRefused, action);
                Err(self.policy_failed(entry, source).await)
            }
        }
    }

    /// Logs that the caller was refused `action` (`detail` says why) and returns the 403 to
    /// answer with. If the refusal cannot be logged the caller hears 503 instead.
    pub async fn refuse(&self, caller: &Caller, action: Action, detail: &str) -> GatewayError {
        let mut entry = self.access_entry(caller, Event::AccessRefused, action);
        entry.status = 403;
        entry.problem_type = Some("forbidden".into());
        entry.reasons.push(detail.to_string());
        self.logged_refusal(entry, |disclosure_id| GatewayError::AccessRefused {
            detail: detail.to_string(),
            disclosure_id,
        })
        .await
    }

    /// An entry about the caller's use of an access rule; its first reason names the action.
    pub(crate) fn access_entry(&self, caller: &Caller, event: Event, action: Action) -> NewEntry {
        let mut entry = self.base_entry(event, caller.record(), Some(&caller.trace));
        entry.reasons = vec![format!("action: {}", action_name(action))];
        entry
    }

    /// Whether the caller reviews every entry of the log, without logging anything (for the
    /// receipt, whose refusal is a plain 404).
    fn may_review(&self, caller: &Caller) -> bool {
        let policy = self.policy();
        let input = access_input(caller, Action::ReviewDisclosures);
        matches!(policy.may_review_disclosures(&input), Ok(true))
            && matches!(policy.review_scope(&input), Ok(ReviewScope::All))
    }

    /// Aggregate, non-personal signalling figures per region and ended calendar period, with
    /// small cells suppressed (see [`crate::signals`] for the protection and its threat model).
    pub async fn signals(
        &self,
        caller: &Caller,
        query: &crate::signals::SignalsQuery,
    ) -> Result<crate::signals::SignalsReport, GatewayError> {
        use crate::signals::{self, store as signal_store, Protector, RegionSignals};
        self.require_signaller(caller).await?;
        let periods = signals::periods(query, crate::record::now().date_naive())?;
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Err(signals::SignalsError::Query("no period".into()).into());
        };
        let (from, until) = (first.start, last.end);
        let db = self.record.db();
        let regions = match &query.region {
            Some(r) => vec![r.clone()],
            None => signal_store::regions(db).await?,
        };
        // A fixed list (the convenant's partner types), so the keys never depend on the data.
        let partner_types: Vec<String> = self
            .policy()
            .convenant()
            .partner_types
            .iter()
            .cloned()
            .collect();
        let mut out = Vec::with_capacity(regions.len());
        for region in regions {
            let facts = signal_store::case_facts(db, &region).await?;
            let draw = |label: &[u8]| self.record.signals_draw(label);
            let protector = Protector::new(
                &facts,
                self.signals_min_cell,
                &region,
                &partner_types,
                &draw,
            );
            out.push(RegionSignals {
                region,
                periods: periods.iter().map(|p| protector.period(p)).collect(),
            });
        }
        Ok(signals::SignalsReport {
            period: query.granularity,
            from: signals::month_start_date(from),
            until: signals::month_start_date(until),
            min_cell: self.signals_min_cell,
            rounding_base: self.signals_min_cell,
            regions: out,
        })
    }

    /// Refuses unless the caller may read signalling figures (the convenant's access policy).
    async fn require_signaller(&self, caller: &Caller) -> Result<(), GatewayError> {
        self.require_access(
            caller,
            Action::ReadSignals,
            |policy, input| policy.may_read_signals(input),
            "signalling figures need a Veiligheidshuis staff role with purpose signalering",
        )
        .await
    }

    /// Refuses unless the caller may review the disclosure log (the convenant's access policy);
    /// says which entries it sees: every one, or its own organisation's.
    pub(crate) async fn require_reviewer(
        &self,
        caller: &Caller,
    ) -> Result<ReviewScope, GatewayError> {
        self.require_access(
            caller,
            Action::ReviewDisclosures,
            |policy, input| policy.may_review_disclosures(input),
            "reviewing the disclosure log needs the privacy_officer role with purpose toezicht",
        )
        .await?;
        let input = access_input(caller, Action::ReviewDisclosures);
        match self.policy().review_scope(&input) {
            Ok(scope) => Ok(scope),
            Err(source) => {
                let entry =
                    self.access_entry(caller, Event::AccessRefused, Action::ReviewDisclosures);
                Err(self.policy_failed(entry, source).await)
            }
        }
    }

    /// Like [`Gateway::require_reviewer`], for what only an officer who sees every entry may
    /// do (ranges of canonical entries, break-glass reviews); anyone else is refused (logged).
    pub(crate) async fn require_full_reviewer(&self, caller: &Caller) -> Result<(), GatewayError> {
        match self.require_reviewer(caller).await? {
            ReviewScope::All => Ok(()),
            ReviewScope::Own => Err(self
                .refuse(
                    caller,
                    Action::ReviewDisclosures,
                    "this part of the log is for the privacy officer who reviews every entry (log_review.all_entries)",
                )
                .await),
        }
    }

    /// The filter as the caller's review scope allows it: an officer who sees only its own
    /// organisation's entries never gets more, whatever it asked.
    fn scoped(caller: &Caller, scope: ReviewScope, filter: &LogFilter) -> LogFilter {
        let mut f = filter.clone();
        f.visible_to = match scope {
            ReviewScope::All => None,
            ReviewScope::Own => Some(caller.partner.oin.clone()),
        };
        f
    }

    /// Logs a privacy officer's read of the log before its answer leaves: what was asked
    /// (`reasons`, never a BSN), how many entries it returned and, for a search about a person,
    /// that person's pseudonyms as subjects.
    pub(crate) async fn log_review(
        &self,
        caller: &Caller,
        event: Event,
        mut reasons: Vec<String>,
        about: Option<&Bsn>,
        returned: usize,
    ) -> Result<(), GatewayError> {
        let mut entry = self.access_entry(caller, event, Action::ReviewDisclosures);
        entry.outcome = Outcome::Allowed;
        entry.status = 200;
        reasons.push(format!("entries returned: {returned}"));
        entry.reasons.extend(reasons);
        if let Some(bsn) = about {
            let pseudonymizer = self.record.pseudonymizer();
            entry.set_subjects(vec![SubjectRecord {
                pseudonym: pseudonymizer.pseudonym(bsn),
                key_version: pseudonymizer.version(),
            }]);
        }
        self.commit(entry).await
    }

    /// Log entries about the person with this BSN (searched by its pseudonym), for the privacy
    /// officer, with the other filters of `filter`.
    pub async fn disclosures_about(
        &self,
        caller: &Caller,
        bsn: &Bsn,
        filter: &LogFilter,
    ) -> Result<Vec<log_store::LogRow>, GatewayError> {
        let scope = self.require_reviewer(caller).await?;
        let rows = self
            .rows_about(bsn, &Self::scoped(caller, scope, filter))
            .await?;
        let mut reasons = filter.describe();
        reasons.push("about: one person (the entry's subject)".into());
        self.log_review(caller, Event::ReviewLog, reasons, Some(bsn), rows.len())
            .await?;
        Ok(rows)
    }

    /// The entries about a person matching `filter`, newest first; the caller has been
    /// checked and its read is logged by whoever asks.
    async fn rows_about(
        &self,
        bsn: &Bsn,
        filter: &LogFilter,
    ) -> Result<Vec<log_store::LogRow>, GatewayError> {
        // One search per key version (rotation keeps old entries findable), merged newest first.
        let mut rows = Vec::new();
        for pseudonym in self.record.pseudonymizer().all_pseudonyms(bsn) {
            let mut f = filter.clone();
            f.subject_pseudonym = Some(pseudonym);
            rows.extend(log_store::list(self.record.db(), &f).await?);
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
        rows.dedup_by_key(|r| r.seq);
        rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
        Ok(rows)
    }

    /// The data subject's access report (GDPR art. 15): which partners received which
    /// categories about this person, when and for which purpose. Refused requests disclosed
    /// nothing and are left out; a lookup disclosed whether the person is known. The privacy
    /// office's own work (reviews, reports, embargoes) is not a disclosure and is left out too;
    /// drawing up the report is logged.
    pub async fn access_report(
        &self,
        caller: &Caller,
        bsn: &Bsn,
    ) -> Result<AccessReport, GatewayError> {
        let scope = self.require_reviewer(caller).await?;
        // Every entry, page by page (newest first): a report must never stop short. A
        // partner's officer reports what its own organisation did and disclosed.
        const PAGE: i64 = 1000;
        let mut rows = Vec::new();
        let mut filter = Self::scoped(
            caller,
            scope,
            &LogFilter {
                limit: PAGE,
                ..LogFilter::default()
            },
        );
        loop {
            let page = self.rows_about(bsn, &filter).await?;
            let full = page.len() as i64 == PAGE;
            filter.before_seq = page.last().map(|r| r.seq);
            rows.extend(page);
            if !full {
                break;
            }
        }
        let now = crate::record::now();
        let mut embargoed = Vec::new();
        for pseudonym in self.record.pseudonymizer().all_pseudonyms(bsn) {
            embargoed
                .extend(log_store::embargoed_partners(self.record.db(), &pseudonym, now).await?);
        }
        let mut held_back = false;
        let registry = self.registry();
        let policy = self.policy();
        let convenant = policy.convenant();
        let mut lines = Vec::new();
        for row in rows.into_iter().rev() {
            if row.outcome == "denied" {
                continue;
            }
            let entry: crate::disclosure::LogEntry =
                serde_json::from_str(&row.entry).map_err(|e| {
                    GatewayError::Store(StoreError::Corrupt(format!("log entry {}: {e}", row.seq)))
                })?;
            let e = entry.entry;
            if matches!(
                e.event,
                Event::ReviewLog
                    | Event::AccessReport
                    | Event::Embargo
                    | Event::AccessRefused
                    | Event::SpoedReviewed
                    | Event::SpoedReviewOverdue
                    | Event::RequestRefused
                    | Event::ConsoleSession
                    | Event::SignalReviewed
            ) {
                continue;
            }
            let oin = e.requester.oin.clone().unwrap_or_default();
            if embargoed.contains(&oin) {
                held_back = true;
                continue;
            }
            let categories = match e.event {
                Event::Lookup => vec!["known_in_active_case".to_string()],
                _ => e.categories.clone(),
            };
            let partner_type = e.requester.partner_type.clone().unwrap_or_default();
            let grounds = categories
                .iter()
                .filter_map(|c| {
                    convenant
                        .legal_grounds
                        .get(&partner_type)
                        .and_then(|g| g.get(c))
                        .map(|text| format!("{c}: {text}"))
                })
                .collect();
            let sources = e
                .sources
                .iter()
                .map(|oin| {
                    registry
                        .get(oin)
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| oin.clone())
                })
                .collect();
            lines.push(AccessReportLine {
                sources,
                grounds,
                time: e.time,
                organisation: registry
                    .get(&oin)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| oin.clone()),
                oin,
                partner_type,
                purpose: e.requester.purpose.unwrap_or_default(),
                event: e.event,
                categories,
                disclosure_id: e.id.to_string(),
            });
        }
        self.log_review(caller, Event::AccessReport, vec![], Some(bsn), lines.len())
            .await?;
        Ok(AccessReport {
            disclosures: lines,
            held_back: (held_back && self.report_embargo_existence).then_some(true),
        })
    }

    /// Flags a confidential investigation (art. 41 UAVG): the caller's requests about this
    /// person stay out of the person's access report until `until` (at most two years ahead).
    pub async fn embargo(
        &self,
        caller: &Caller,
        bsn: &Bsn,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<uuid::Uuid, GatewayError> {
        let now = crate::record::now();
        if until <= now || until > now + chrono::Duration::days(730) {
            return Err(GatewayError::Tree(TreeError::Range(
                "until must lie in the next two years".into(),
            )));
        }
        if reason.trim().is_empty() || reason.len() > 500 {
            return Err(GatewayError::Tree(TreeError::Range(
                "reason must be 1 to 500 characters".into(),
            )));
        }
        let id = uuid::Uuid::now_v7();
        let pseudonymizer = self.record.pseudonymizer();
        let pseudonym = pseudonymizer.pseudonym(bsn);
        // The reason stays in the embargo (free text); the log says who held back what, until when.
        let mut entry = self.admin_entry(
            caller,
            Event::Embargo,
            vec![format!(
                "embargo {id}: requests of {} held back until {}",
                caller.partner.oin,
                timestamp(until)
            )],
        );
        entry.set_subjects(vec![SubjectRecord {
            pseudonym: pseudonym.clone(),
            key_version: pseudonymizer.version(),
        }]);
        let mut tx = self.begin().await?;
        log_store::add_embargo(
            &mut tx,
            id,
            &pseudonym,
            &caller.partner.oin,
            reason.trim(),
            until,
        )
        .await?;
        self.commit_in(tx, entry).await?;
        Ok(id)
    }

    /// The newest signed checkpoint note.
    /// With the witnesses' cosignatures received for it so far.
    pub async fn latest_checkpoint(&self) -> Result<String, GatewayError> {
        let db = self.record.db();
        let latest = tree::latest_checkpoint(db).await?.ok_or_else(|| {
            GatewayError::Tree(TreeError::Range("no checkpoint has been signed yet".into()))
        })?;
        let cosignatures = tree::cosignatures(db, latest.size).await?;
        if cosignatures.is_empty() {
            return Ok(latest.note);
        }
        add_signatures(&latest.note, &cosignatures).map_err(|e| {
            GatewayError::Store(StoreError::Corrupt(format!("stored cosignature: {e}")))
        })
    }

    /// Inclusion proof of leaf `index` in the tree of `size` entries.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<merkle::Hash>, GatewayError> {
        Ok(tree::inclusion_proof(self.record.db(), index, size).await?)
    }

    /// Consistency proof between two tree sizes.
    pub async fn consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<merkle::Hash>, GatewayError> {
        Ok(tree::consistency_proof(self.record.db(), from, to).await?)
    }

    /// Canonical entry texts of leaves `start..end` (at most 1000), for the privacy officer.
    pub async fn log_entries(
        &self,
        caller: &Caller,
        start: u64,
        end: u64,
    ) -> Result<Vec<String>, GatewayError> {
        self.require_full_reviewer(caller).await?;
        if end <= start || end - start > 1000 {
            return Err(GatewayError::Tree(TreeError::Range(
                "end must be above start, at most 1000 entries".into(),
            )));
        }
        let rows =
            log_store::rows_after(self.record.db(), start as i64, (end - start) as i64).await?;
        let range = vec![format!("entries: {start}..{end}")];
        self.log_review(caller, Event::ReviewLog, range, None, rows.len())
            .await?;
        Ok(rows.into_iter().map(|r| r.entry).collect())
    }

    /// A C2SP tlog-proof that the entry `id` is in the log, under the first checkpoint that
    /// covers it; `extra` carries the canonical entry so the leaf hash can be recomputed. Only
    /// for the partner that made the request, or the privacy officer; anyone else gets 404.
    pub async fn receipt(&self, caller: &Caller, id: DisclosureId) -> Result<String, GatewayError> {
        let db = self.record.db();
        let not_found = || {
            GatewayError::Tree(TreeError::NotFound(format!(
                "no disclosure {id} of yours in the log"
            )))
        };
        let row = tree::entry_by_id(db, id.0).await?.ok_or_else(not_found)?;
        if row.requester_oin.as_deref() != Some(caller.partner.oin.as_str())
            && !self.may_review(caller)
        {
            return Err(not_found());
        }
        let index = (row.seq - 1) as u64;
        let checkpoint = tree::checkpoint_covering(db, index)
            .await?
            .ok_or_else(not_found)?;
        let proof = tree::inclusion_proof(db, index, checkpoint.size as u64).await?;
        let mut out = format!(
            "c2sp.org/tlog-proof@v1\nextra {}\nindex {index}\n",
            B64.encode(row.entry.as_bytes())
        );
        for h in proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&checkpoint.note);
        Ok(out)
    }
}

/// One log entry as a privacy officer reviews it, with its inclusion proof checked now.
#[derive(Clone, Debug)]
pub struct ReviewedEntry {
    pub row: log_store::LogRow,
    pub entry: crate::disclosure::LogEntry,
    pub proof: ProofCheck,
}

/// The entry's inclusion in the log, checked against the newest signed checkpoint.
#[derive(Clone, Debug)]
pub struct ProofCheck {
    /// Size of the checkpoint the proof was checked against.
    pub checkpoint_size: u64,
    pub checkpoint_signed_at: DateTime<Utc>,
    /// Hex of the checkpoint's root hash.
    pub root: String,
    /// How many hashes the proof has.
    pub proof_len: usize,
    /// The checkpoint's signature verified with the log's key.
    pub signature_ok: bool,
    /// The proof leads from the entry's leaf hash to the root.
    pub inclusion_ok: bool,
    /// Witness cosignatures stored for that checkpoint.
    pub cosignatures: usize,
}

impl Gateway {
    /// One entry for the privacy officer, with its inclusion proof checked live against the
    /// newest signed checkpoint. An entry outside the officer's scope is answered as not found
    /// (its existence is not the officer's to know); the attempt is logged all the same.
    pub async fn review_entry(
        &self,
        caller: &Caller,
        id: DisclosureId,
    ) -> Result<ReviewedEntry, GatewayError> {
        let scope = self.require_reviewer(caller).await?;
        let db = self.record.db();
        let not_found = || {
            GatewayError::Tree(TreeError::NotFound(format!(
                "no entry {id} in your part of the log"
            )))
        };
        let row = tree::entry_by_id(db, id.0).await?;
        let entry = match &row {
            Some(r) => Some(
                serde_json::from_str::<crate::disclosure::LogEntry>(&r.entry).map_err(|e| {
                    GatewayError::Store(StoreError::Corrupt(format!("log entry {}: {e}", r.seq)))
                })?,
            ),
            None => None,
        };
        let visible = match (&entry, scope) {
            (Some(_), ReviewScope::All) => true,
            (Some(e), ReviewScope::Own) => {
                e.entry.requester.oin.as_deref() == Some(caller.partner.oin.as_str())
                    || e.entry.sources.contains(&caller.partner.oin)
            }
            (None, _) => false,
        };
        let (Some(row), Some(entry), true) = (row, entry, visible) else {
            let mut refused =
                self.access_entry(caller, Event::AccessRefused, Action::ReviewDisclosures);
            refused.status = 404;
            refused.problem_type = Some("not-found".into());
            refused.reasons.push(format!(
                "entry {id}: not found or outside the officer's scope"
            ));
            return Err(self
                .logged_refusal(refused, |disclosure_id| GatewayError::NotFound {
                    disclosure_id,
                })
                .await);
        };
        let checkpoint = tree::latest_checkpoint(db).await?.ok_or_else(not_found)?;
        let size = u64::try_from(checkpoint.size).unwrap_or(0);
        let index = u64::try_from(row.seq - 1).unwrap_or(u64::MAX);
        let proof = tree::inclusion_proof(db, index, size).await;
        let root: Option<crate::disclosure::merkle::Hash> =
            checkpoint.root.as_slice().try_into().ok();
        let signature_ok = self.log_key.as_ref().is_some_and(|key| {
            crate::disclosure::checkpoint::open_note(&checkpoint.note, std::slice::from_ref(key))
                .is_ok_and(|opened| !opened.verified.is_empty())
        });
        let inclusion_ok = match (&proof, &root) {
            (Ok(p), Some(root)) => crate::disclosure::merkle::verify_inclusion(
                &crate::disclosure::merkle::leaf_hash(row.entry.as_bytes()),
                index,
                size,
                p,
                root,
            )
            .is_ok(),
            _ => false,
        };
        let cosignatures = tree::cosignatures(db, checkpoint.size).await?.len();
        self.log_review(
            caller,
            Event::ReviewLog,
            vec![format!("entry: {id}")],
            None,
            1,
        )
        .await?;
        Ok(ReviewedEntry {
            proof: ProofCheck {
                checkpoint_size: size,
                checkpoint_signed_at: checkpoint.signed_at,
                root: hex::encode(&checkpoint.root),
                proof_len: proof.as_ref().map_or(0, Vec::len),
                signature_ok,
                inclusion_ok,
                cosignatures,
            },
            row,
            entry,
        })
    }
}

/// The privacy officer's overview of a period, within its review scope.
#[derive(Clone, Debug)]
pub struct OverviewReport {
    pub scope: ReviewScope,
    pub stats: crate::disclosure::stats::Overview,
    pub latest_checkpoint: Option<tree::StoredCheckpoint>,
    pub last_cosignature: Option<DateTime<Utc>>,
    pub last_verification: Option<crate::disclosure::runs::VerificationRun>,
    /// Break-glass reads awaiting review: (open, of which overdue). Only for the officer who
    /// reviews them (every entry).
    pub spoed_awaiting: Option<(usize, usize)>,
}

/// What the integrity screen shows.
#[derive(Clone, Debug)]
pub struct IntegrityReport {
    pub runs: Vec<crate::disclosure::runs::VerificationRun>,
    pub checkpoints: Vec<crate::disclosure::stats::CheckpointLine>,
    pub cosignatures: Vec<(i64, String, DateTime<Utc>)>,
}

impl Gateway {
    /// Requests per day and outcome over the last `days` days, the busiest partners and
    /// purposes, break-glass reads awaiting review and the log's integrity at a glance; a
    /// partner's officer sees its own organisation's figures. The view is logged.
    pub async fn overview(
        &self,
        caller: &Caller,
        days: u32,
    ) -> Result<OverviewReport, GatewayError> {
        use crate::disclosure::{runs, stats};
        let scope = self.require_reviewer(caller).await?;
        let db = self.record.db();
        let now = crate::record::now();
        let today = now.date_naive();
        let since = today - chrono::Duration::days(i64::from(days.max(1)) - 1);
        let visible = match scope {
            ReviewScope::All => None,
            ReviewScope::Own => Some(caller.partner.oin.as_str()),
        };
        let stats = stats::overview(db, since, today, visible).await?;
        let spoed_awaiting = match scope {
            ReviewScope::All => {
                let open =
                    crate::spoed::store::list(db, crate::spoed::store::State::Open, now, 500)
                        .await?;
                let overdue = open.iter().filter(|r| r.due_at < now).count();
                Some((open.len(), overdue))
            }
            ReviewScope::Own => None,
        };
        let report = OverviewReport {
            scope,
            latest_checkpoint: tree::latest_checkpoint(db).await?,
            last_cosignature: stats::last_cosignature(db).await?,
            last_verification: runs::last_finished(db).await?,
            spoed_awaiting,
            stats,
        };
        let returned = usize::try_from(report.stats.total()).unwrap_or(usize::MAX);
        self.log_review(
            caller,
            Event::ReviewLog,
            vec![format!(
                "overview: {since} to {today} (figures, no entries)"
            )],
            None,
            returned,
        )
        .await?;
        Ok(report)
    }

    /// Every entry matching `filter` within the caller's scope, newest first, at most `max`,
    /// for an export; drawing it up is one logged review naming the format.
    pub async fn export_disclosures(
        &self,
        caller: &Caller,
        filter: &LogFilter,
        format: &str,
        max: usize,
    ) -> Result<Vec<log_store::LogRow>, GatewayError> {
        const PAGE: i64 = 1000;
        let scope = self.require_reviewer(caller).await?;
        let mut page_filter = Self::scoped(caller, scope, filter);
        page_filter.limit = PAGE;
        let mut rows = Vec::new();
        loop {
            let page = log_store::list(self.record.db(), &page_filter).await?;
            let full = page.len() as i64 == PAGE;
            page_filter.before_seq = page.last().map(|r| r.seq);
            rows.extend(page);
            if !full || rows.len() >= max {
                break;
            }
        }
        rows.truncate(max);
        let mut reasons = filter.describe();
        reasons.push(format!("export: {format}"));
        self.log_review(caller, Event::ReviewLog, reasons, None, rows.len())
            .await?;
        Ok(rows)
    }

    /// Anomaly signals of the last 7 days for the officer's scope, unreviewed first. The view
    /// is logged.
    pub async fn anomaly_signals(
        &self,
        caller: &Caller,
    ) -> Result<Vec<crate::disclosure::anomalies::Signal>, GatewayError> {
        let scope = self.require_reviewer(caller).await?;
        let visible = match scope {
            ReviewScope::All => None,
            ReviewScope::Own => Some(caller.partner.oin.as_str()),
        };
        let signals = crate::disclosure::anomalies::signals(
            self.record.db(),
            crate::record::now(),
            &self.signal_thresholds,
            visible,
        )
        .await?;
        self.log_review(
            caller,
            Event::ReviewLog,
            vec!["signals: anomalies of the last 7 days".into()],
            None,
            signals.len(),
        )
        .await?;
        Ok(signals)
    }

    /// Marks a signal reviewed with the officer's note: one unit of work with its log entry
    /// (which names the signal, not the note). A signal outside the officer's scope, or not
    /// raised now, is not found; one reviewed before is a conflict. Both are logged.
    pub async fn review_signal(
        &self,
        caller: &Caller,
        key: &str,
        note: &str,
    ) -> Result<(), GatewayError> {
        use crate::disclosure::anomalies;
        let signals = {
            let scope = self.require_reviewer(caller).await?;
            let visible = match scope {
                ReviewScope::All => None,
                ReviewScope::Own => Some(caller.partner.oin.as_str()),
            };
            anomalies::signals(
                self.record.db(),
                crate::record::now(),
                &self.signal_thresholds,
                visible,
            )
            .await?
        };
        let mut entry = self.access_entry(caller, Event::SignalReviewed, Action::ReviewDisclosures);
        entry.reasons.push(format!("signal: {key}"));
        if !signals.iter().any(|s| s.key == key) {
            entry.status = 404;
            entry.problem_type = Some("not-found".into());
            return Err(self
                .logged_refusal(entry, |disclosure_id| GatewayError::NotFound {
                    disclosure_id,
                })
                .await);
        }
        let mut tx = self.begin().await?;
        let fresh = anomalies::insert_review(
            &mut tx,
            &anomalies::Review {
                signal_key: key.to_string(),
                reviewed_at: crate::record::now(),
                reviewed_by_oin: caller.partner.oin.clone(),
                reviewed_by_sub: caller.token.claims.sub.clone(),
                note: note.to_string(),
            },
        )
        .await?;
        if !fresh {
            let _ = tx.rollback().await;
            entry.status = 409;
            entry.problem_type = Some("conflict".into());
            return Err(self
                .logged_refusal(entry, |disclosure_id| GatewayError::Conflict {
                    detail: "this signal was reviewed before".into(),
                    disclosure_id,
                })
                .await);
        }
        entry.outcome = Outcome::Allowed;
        entry.status = 303;
        self.commit_in(tx, entry).await
    }

    /// Starts a full verification of the log in the background (or joins the one running)
    /// and returns its id; the start is logged with the run in one unit of work.
    pub async fn start_verification(&self, caller: &Caller) -> Result<String, GatewayError> {
        use crate::disclosure::runs;
        self.require_reviewer(caller).await?;
        let db = self.record.db();
        let now = crate::record::now();
        if let Some(running) = runs::latest(db, 1)
            .await?
            .into_iter()
            .find(|r| r.is_running(now))
        {
            return Ok(running.id);
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.begin().await?;
        runs::insert(
            &mut tx,
            &id,
            now,
            &caller.partner.oin,
            &caller.token.claims.sub,
        )
        .await?;
        let mut entry = self.access_entry(caller, Event::ReviewLog, Action::ReviewDisclosures);
        entry.outcome = Outcome::Allowed;
        entry.status = 303;
        entry
            .reasons
            .push(format!("full log verification started: {id}"));
        self.commit_in(tx, entry).await?;
        tokio::spawn(runs::run(db.clone(), id.clone(), self.log_key.clone()));
        Ok(id)
    }

    /// The verification runs (newest first) and the history of signed checkpoints and witness
    /// cosignatures. The view is logged.
    pub async fn integrity(&self, caller: &Caller) -> Result<IntegrityReport, GatewayError> {
        use crate::disclosure::{runs, stats};
        self.require_reviewer(caller).await?;
        let db = self.record.db();
        let report = IntegrityReport {
            runs: runs::latest(db, 10).await?,
            checkpoints: stats::checkpoint_history(db, 20).await?,
            cosignatures: stats::cosignature_history(db, 20).await?,
        };
        self.log_review(
            caller,
            Event::ReviewLog,
            vec!["integrity: verification runs, checkpoints and cosignatures".into()],
            None,
            report.runs.len(),
        )
        .await?;
        Ok(report)
    }
}

/// The input of an access decision (reviewing the log, administering the convenant): who
/// asks and for what; no case, no fields.
/// The action's name as the policy input spells it.
fn action_name(action: Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{action:?}"))
}

fn access_input(caller: &Caller, action: Action) -> PolicyInput {
    PolicyInput {
        action,
        now: timestamp(crate::record::now()),
        requester: caller.requester(),
        budget: BudgetInput::default(),
        case: None,
        request: None,
        fields: vec![],
    }
}

/// The person attributes the policy decides on, one field each.
fn person_fields(person: &Person) -> Vec<FieldInput> {
    let attr = |name: &str, category: &str| FieldInput {
        name: name.into(),
        category: category.into(),
        leefgebied: None,
        age_days: 0,
    };
    let mut fields = vec![attr(FIELD_NAAM, "identificerend")];
    if person.geboortedatum.is_some() {
        fields.push(attr(FIELD_GEBOORTEDATUM, "identificerend"));
    }
    if person.adres.is_some() {
        fields.push(attr(FIELD_ADRES, "identificerend"));
    }
    if person.bsn_sealed.is_some() {
        fields.push(attr(FIELD_BSN, "bsn"));
    }
    fields
}
