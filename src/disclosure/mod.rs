//! The disclosure log: one append-only, hash-chained entry per decision on a person-level
//! request (and per refused authentication after the TLS handshake). An entry is durable
//! before any response byte leaves the gateway; if it cannot be written, nothing is disclosed.

pub mod anomalies;
pub mod checkpoint;
pub mod export;
pub mod merkle;
pub mod runs;
pub mod stats;
pub mod store;
pub mod tree;
pub mod verify;
pub mod writer;

use serde::{Deserialize, Serialize};

use crate::crypto::sha256;
use crate::policy::{Outcome, Tier, Withheld};

pub use writer::{LogError, LogWriter};

/// What kind of request an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    ReadPerson,
    Lookup,
    AuthFailure,
    /// A policy bundle was activated (approval or rollback).
    PolicyChange,
    /// An administrators' change of the partner registry was applied (four-eyes).
    RegistryChange,
    /// A partner registered a case (aanmelding).
    RegisterCase,
    /// A registration was read back (registrant, Veiligheidshuis staff).
    ReadRegistration,
    /// The screening advice of a case was read.
    ScreenCase,
    /// The procesregisseur's screening decision.
    ScreeningDecision,
    /// Partners were invited to the MDO.
    InviteParticipants,
    /// An invited partner accepted and joined the table.
    AcceptInvitation,
    /// A participant was removed from the table.
    RemoveParticipant,
    /// The casusregisseur of a case was named.
    SetCasusregisseur,
    /// A case was closed.
    CloseCase,
    /// A closed case's retention was extended (with a reason).
    RetentionExtended,
    /// A closed case's person data was destroyed after its retention period.
    CaseDestroyed,
    /// An organisation read back its own contributions to a case.
    ReadOwnContributions,
    /// An afspraak was added to the plan van aanpak.
    CreateAfspraak,
    /// The plan van aanpak (afspraken and monitoring notes) was read.
    ReadAfspraken,
    /// An afspraak's status or due date changed, or a monitoring note was added.
    UpdateAfspraak,
    /// The afspraken needing attention (overdue, stalled, gestagneerd) were read.
    ReadAttention,
    /// The case was escalated or de-escalated on the AVE ladder.
    EscalateCase,
    /// The escalation history was read.
    ReadEscalation,
    /// A participant contributed an information item to a case.
    ContributeInformation,
    /// The contributor corrected its item (a new version replaces the old one).
    CorrectInformation,
    /// The contributor withdrew its item (content erased).
    WithdrawInformation,
    /// The recipients of an item were listed (GDPR art. 19).
    ReadRecipients,
    /// A caller was refused an access rule (administration, log review, signalling figures)
    /// or a four-eyes step it may not take.
    AccessRefused,
    /// The privacy officer read log entries (a page of the list, a search, a range).
    ReviewLog,
    /// The privacy officer drew up a data subject's access report.
    AccessReport,
    /// A partner held its requests about a person back from the access report (art. 41 UAVG).
    Embargo,
    /// The privacy officer reviewed a spoed (break-glass) read (justified or not).
    SpoedReviewed,
    /// A spoed read's review passed its due time without a verdict (signalled once).
    SpoedReviewOverdue,
    /// A request past the TLS handshake was refused before any decision: unreadable input,
    /// an unknown route or method, a body or headers too large. The entry names the route
    /// template (or `unmatched`), never the raw path or query, which may carry a BSN.
    RequestRefused,
    /// A privacy officer signed in to the console (a token exchanged for a session) or out.
    ConsoleSession,
    /// A privacy officer marked an anomaly signal reviewed (the note stays out of the log).
    SignalReviewed,
}

impl Event {
    /// Every event (keep in step with the enum; `as_str` is the exhaustive list).
    pub const ALL: &'static [Event] = &[
        Event::ReadPerson,
        Event::Lookup,
        Event::AuthFailure,
        Event::PolicyChange,
        Event::RegistryChange,
        Event::RegisterCase,
        Event::ReadRegistration,
        Event::ScreenCase,
        Event::ScreeningDecision,
        Event::InviteParticipants,
        Event::AcceptInvitation,
        Event::RemoveParticipant,
        Event::SetCasusregisseur,
        Event::CloseCase,
        Event::RetentionExtended,
        Event::CaseDestroyed,
        Event::ReadOwnContributions,
        Event::CreateAfspraak,
        Event::ReadAfspraken,
        Event::UpdateAfspraak,
        Event::ReadAttention,
        Event::EscalateCase,
        Event::ReadEscalation,
        Event::ContributeInformation,
        Event::CorrectInformation,
        Event::WithdrawInformation,
        Event::ReadRecipients,
        Event::AccessRefused,
        Event::ReviewLog,
        Event::AccessReport,
        Event::Embargo,
        Event::SpoedReviewed,
        Event::SpoedReviewOverdue,
        Event::RequestRefused,
        Event::ConsoleSession,
        Event::SignalReviewed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::ReadPerson => "read_person",
            Event::Lookup => "lookup",
            Event::AuthFailure => "auth_failure",
            Event::PolicyChange => "policy_change",
            Event::RegistryChange => "registry_change",
            Event::RegisterCase => "register_case",
            Event::ReadRegistration => "read_registration",
            Event::ScreenCase => "screen_case",
            Event::ScreeningDecision => "screening_decision",
            Event::InviteParticipants => "invite_participants",
            Event::AcceptInvitation => "accept_invitation",
            Event::RemoveParticipant => "remove_participant",
            Event::SetCasusregisseur => "set_casusregisseur",
            Event::CloseCase => "close_case",
            Event::RetentionExtended => "retention_extended",
            Event::CaseDestroyed => "case_destroyed",
            Event::ReadOwnContributions => "read_own_contributions",
            Event::CreateAfspraak => "create_afspraak",
            Event::ReadAfspraken => "read_afspraken",
            Event::UpdateAfspraak => "update_afspraak",
            Event::ReadAttention => "read_attention",
            Event::EscalateCase => "escalate_case",
            Event::ReadEscalation => "read_escalation",
            Event::ContributeInformation => "contribute_information",
            Event::CorrectInformation => "correct_information",
            Event::WithdrawInformation => "withdraw_information",
            Event::ReadRecipients => "read_recipients",
            Event::AccessRefused => "access_refused",
            Event::ReviewLog => "review_log",
            Event::AccessReport => "access_report",
            Event::Embargo => "embargo",
            Event::SpoedReviewed => "spoed_reviewed",
            Event::SpoedReviewOverdue => "spoed_review_overdue",
            Event::RequestRefused => "request_refused",
            Event::ConsoleSession => "console_session",
            Event::SignalReviewed => "signal_reviewed",
        }
    }
}

/// Who asked, as far as it is known (an authentication failure may know only the OIN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequesterRecord {
    pub oin: Option<String>,
    pub partner_type: Option<String>,
    pub sub: Option<String>,
    pub role: Option<String>,
    pub purpose: Option<String>,
    /// SHA-256 thumbprint of the client certificate (base64url), as in `cnf.x5t#S256`.
    pub cert_thumbprint: Option<String>,
}

/// The pseudonymised subject of a request: HMAC(key_v, BSN) and the key version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    pub pseudonym: String,
    pub key_version: i32,
}

impl NewEntry {
    /// Names the persons this entry is about: the first as `subject`, the rest in `subjects`.
    pub fn set_subjects(&mut self, subjects: Vec<SubjectRecord>) {
        let mut all = subjects.into_iter();
        self.subject = all.next();
        self.subjects = all.collect();
    }

    /// Names the organisations whose data the entry disclosed, each once, in order.
    pub fn set_sources(&mut self, sources: impl IntoIterator<Item = String>) {
        let mut all: Vec<String> = sources.into_iter().collect();
        all.sort();
        all.dedup();
        self.sources = all;
    }

    /// Every person the entry names (by pseudonym), `subject` first.
    pub fn pseudonyms(&self) -> impl Iterator<Item = &str> {
        self.subject
            .iter()
            .chain(self.subjects.iter())
            .map(|s| s.pseudonym.as_str())
    }
}

/// An entry as the gateway hands it to the writer; the writer assigns `seq` and chains it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    pub id: uuid::Uuid,
    /// RFC 3339 UTC with microseconds.
    pub time: String,
    pub event: Event,
    pub outcome: Outcome,
    /// HTTP status the requester received.
    pub status: u16,
    pub requester: RequesterRecord,
    pub case_id: Option<uuid::Uuid>,
    pub subject: Option<SubjectRecord>,
    /// Further persons whose data this entry disclosed, when there is more than one (a
    /// registration read, a step on a case of several persons); `subject` is the first. The
    /// data subject's access report finds the entry through each of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectRecord>,
    pub tier: Tier,
    pub disclosed: Vec<String>,
    /// Categories of the disclosed fields (for the data subject's access report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// OINs of the organisations whose contributed data this entry disclosed (a read of items
    /// and registration data): their privacy officers review the entry as their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    pub withheld: Vec<Withheld>,
    pub reasons: Vec<String>,
    pub policy_revision: String,
    /// Stable problem type for refusals that never reached the policy (auth failures).
    pub problem_type: Option<String>,
    /// W3C trace context from the partner's request, if it sent one.
    pub traceparent: Option<String>,
    /// W3C trace id (32 hex) of the request: the partner's when it sent a valid `traceparent`,
    /// else one the gateway started. Absent on entries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The gateway's own span (16 hex) for the request that wrote this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// The partner's span (16 hex) that made the request, from its `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// The policy input this decision was made on (see [`crate::policy::PolicyInput`]): no
    /// BSN, name or content, only field names, categories, leefgebieden and ages. Kept so a
    /// candidate policy can be replayed against real decisions (impact preview) and any past
    /// decision can be reproduced from its revision. Absent on entries that were not policy
    /// decisions, and on entries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
}

/// The canonical, hashed form of an entry: format version, sequence number and the entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub v: u32,
    pub seq: i64,
    #[serde(flatten)]
    pub entry: NewEntry,
}

/// Current entry format version.
pub const ENTRY_VERSION: u32 = 1;

impl LogEntry {
    /// The exact bytes that are stored and hashed. serde_json writes struct fields in
    /// declaration order, so the encoding is deterministic.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// `SHA-256(prev_hash || entry_bytes)`: the chain link.
pub fn chain_hash(prev: &[u8], entry_bytes: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(prev.len() + entry_bytes.len());
    buf.extend_from_slice(prev);
    buf.extend_from_slice(entry_bytes);
    sha256(&buf)
}

/// Signs this log's checkpoints: the origin line and the gateway's note key.
pub struct LogSigner {
    origin: String,
    signer: checkpoint::NoteSigner,
}

impl LogSigner {
    /// A signer for checkpoints with origin `origin`, using `signer`.
    pub fn new(origin: String, signer: checkpoint::NoteSigner) -> Self {
        LogSigner { origin, signer }
    }

    /// The origin line of this log's checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key (C2SP signed-note vkey) that auditors and witnesses need.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// A signed checkpoint note for the tree of `size` entries with root `root`.
    pub fn sign(&self, size: u64, root: &merkle::Hash) -> Result<String, checkpoint::NoteError> {
        self.signer.sign_checkpoint(&checkpoint::Checkpoint {
            origin: self.origin.clone(),
            size,
            root: *root,
            extensions: vec![],
        })
    }
}

/// The hash before the first entry.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];
