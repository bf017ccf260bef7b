//! Policy decisions. The three principles live in Rego (policies/); this module defines the
//! contract with them (input and decision shapes), loads and prepares them once, and keeps the
//! engine behind [`PolicyEngine`] so a second engine (OPA-compiled WASM) can sit beside regorus.

pub mod bundle;
pub mod differential;
mod footprint;
pub mod grounds;
mod memo;
mod regorus_engine;
mod rvm;
pub mod signing;
pub mod testing;
#[cfg(feature = "opa-wasm")]
pub mod wasm_engine;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use regorus_engine::{EngineMode, FastPathReport, RegorusEngine};

/// Parses every module (tests included) and prepares the runtime engine as the gateway would
/// (entry points compiled, fast-path self-check), so `policy build` refuses a bundle that the
/// gateway would refuse, naming the file that does not parse.
pub fn check_buildable(dir: &Path) -> Result<(), PolicyError> {
    regorus_engine::load_engine(&PolicySources::read_dir(dir, true)?)?;
    RegorusEngine::prepare(&PolicySources::read_dir(dir, false)?)?;
    Ok(())
}
#[cfg(feature = "opa-wasm")]
pub use wasm_engine::WasmEngine;

/// Errors of the policy layer.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy {path} does not parse: {message}")]
    Parse { path: String, message: String },
    #[error("policy data {path} is not valid JSON: {message}")]
    Data { path: String, message: String },
    #[error("no policies found in {0}")]
    Empty(PathBuf),
    #[error("the convenant data is incomplete: {0}")]
    Convenant(String),
    #[error("policy evaluation failed: {0}")]
    Eval(String),
    #[error("policy returned a decision of the wrong shape: {0}")]
    Shape(String),
    #[error("bundle: {0}")]
    Bundle(String),
    #[error("policy self-check failed: {0}")]
    SelfCheck(String),
}

/// What the requester asks the policy to decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read a person's information in a case.
    ReadPerson,
    /// Hit/no-hit lookup by BSN.
    Lookup,
    /// Review the disclosure log (privacy officer).
    ReviewDisclosures,
    /// Administer the convenant (policy bundles, registry).
    Administer,
    /// Register a case (aanmelding), any partner.
    RegisterCase,
    /// Read back a registration (the registering partner, Veiligheidshuis staff).
    ReadRegistration,
    /// Read the screening advice of a registered case (Veiligheidshuis staff).
    ScreenCase,
    /// Record the procesregisseur's screening decision.
    DecideScreening,
    /// Invite partners to the MDO or remove a participant (procesregisseur).
    ManageParticipants,
    /// Accept an invitation to the MDO (the invited partner).
    AcceptInvitation,
    /// Name the one casusregisseur of a case (procesregisseur).
    SetCasusregisseur,
    /// Close a case (procesregisseur or the case's casusregisseur).
    CloseCase,
    /// Keep a closed case's data beyond the retention period (procesregisseur).
    ExtendRetention,
    /// Read back one's own organisation's contributions to a case (in every phase).
    ReadOwnContributions,
    /// Read aggregate, non-personal signalling figures (`GET /v1/signals`).
    ReadSignals,
    /// Make an afspraak of the plan van aanpak (a participant, for a participant).
    CreateAfspraak,
    /// Read the plan van aanpak and the escalation history (participants, procesregie staff).
    ReadPlan,
    /// Change an afspraak's status or due date, or add a monitoring note (its partner, the
    /// casusregisseur, the procesregisseur).
    UpdateAfspraak,
    /// Read which afspraken need attention (procesregisseur, the casusregisseur).
    ReadAttention,
    /// Op- or afschalen on the AVE ladder (procesregisseur, the casusregisseur).
    EscalateCase,
    /// Contribute an information item to a case (a participant, on a ground of the convenant).
    ContributeInformation,
    /// Correct one's own information item (a new version replaces it; GDPR art. 16).
    CorrectInformation,
    /// Withdraw one's own information item (its content is erased; GDPR art. 17).
    WithdrawInformation,
    /// List who received one's own information item (to tell them; GDPR art. 19).
    ReadRecipients,
}

/// The requesting organisation and professional, from the certificate and the token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Requester {
    pub oin: String,
    pub partner_type: String,
    pub role: String,
    pub purpose: String,
    pub sub: String,
}

/// A participant at the case table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParticipantInput {
    pub oin: String,
    pub partner_type: String,
    pub since: String,
}

/// The case as the policy sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseInput {
    pub id: String,
    pub kind: String,
    pub phase: String,
    pub region: String,
    pub requester_is_participant: bool,
    pub participants: Vec<ParticipantInput>,
}

/// One field that could be disclosed: a person attribute (`persoon.naam`) or an information
/// item (`item:<uuid>`), with what the policies reason about.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FieldInput {
    pub name: String,
    pub category: String,
    pub leefgebied: Option<String>,
    pub age_days: i64,
}

/// How many person-level requests this partner made in the last 24 hours (before this one).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BudgetInput {
    pub used: u64,
}

/// The policy input document (`input` in Rego). See policies/README.md.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyInput {
    pub action: Action,
    pub now: String,
    pub requester: Requester,
    pub budget: BudgetInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestInput>,
    #[serde(default)]
    pub fields: Vec<FieldInput>,
}

/// What the request itself narrowed to, and whether a break-glass (spoed) request stated its
/// reason (the reason itself stays out of the policy input and so out of the log).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestInput {
    pub leefgebieden: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_stated: Option<bool>,
}

/// What the casework policy knows about the case beyond [`CaseInput`]: who registered it,
/// who directs it, who is invited, and the partners a step is about (`targets`, with
/// `operation` `invite` or `remove` for manage_participants).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CaseworkFacts {
    pub registered_by: Option<String>,
    pub requester_is_registrant: bool,
    pub casusregisseur: Option<String>,
    pub requester_is_casusregisseur: bool,
    pub invited: Vec<String>,
    pub requester_is_invited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default)]
    pub targets: Vec<TargetInput>,
    /// The information item a step is about (contribute, correct, withdraw, recipients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<InformationFacts>,
}

/// What the casework policy knows about an information item: never its content or the
/// reason of a change, only its classification, its ground and who contributed it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InformationFacts {
    pub category: String,
    pub leefgebied: String,
    /// The legal ground (a key of `data.convenant.casework.contribution_grounds`); empty for
    /// items recorded before grounds were.
    pub ground: String,
    /// `actief`, `gecorrigeerd` or `ingetrokken` (`actief` for a new contribution).
    pub status: String,
    pub contributed_by: String,
    pub contributor_partner_type: String,
    pub requester_is_contributor: bool,
    /// The person the item is about is a person of this case.
    pub person_in_case: bool,
}

/// A partner a step is about (invited, removed, named casusregisseur).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetInput {
    pub oin: String,
    /// Empty when the OIN is not a partner in the registry.
    pub partner_type: String,
    pub is_participant: bool,
}

/// The input of a casework decision (`data.vhgate.casework.decision`): the common input plus
/// the casework facts and, for screening, the registration's screening document (no BSN, no
/// names) and the procesregisseur's decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseworkInput {
    #[serde(flatten)]
    pub base: PolicyInput,
    pub casework: CaseworkFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aanmelding: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<serde_json::Value>,
}

/// The casework policy's answer: may this step happen, why, and for screening the advice
/// (`data.vhgate.screening.advice`) and the check of the decision (`decision_check`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseworkDecision {
    pub allow: bool,
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<serde_json::Value>,
}

/// One of the three principles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principle {
    Doelmatigheid,
    Subsidiariteit,
    Proportionaliteit,
}

/// The answer level the subsidiarity tier allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    None,
    HitNoHit,
    Summary,
    Full,
}

/// A field the policy did not allow, with the principle that withheld it and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    pub field: String,
    pub principle: Principle,
    pub reason: String,
}

/// The decision object of DESIGN.md §2.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub allow: bool,
    pub tier: Tier,
    pub allowed_fields: Vec<String>,
    pub withheld: Vec<Withheld>,
    pub reasons: Vec<String>,
    pub obligations: Vec<String>,
}

/// How a decision turned out, for the log and the privacy officer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Partial,
    Denied,
}

impl Decision {
    /// What the requesting partner learns of this decision; the log keeps all of it for the
    /// privacy officer. A refusal names no field and counts none, and a refusal of a partner
    /// that is not at the case table says only that (nothing about the case's state). A
    /// partial disclosure lists only withheld fields of categories the partner's type has a
    /// ground for, and names, once and whatever the record holds, the categories it never
    /// sees: so nothing in the answer depends on data the partner may never see.
    pub fn for_partner(
        &self,
        input: &PolicyInput,
        partner_type: &str,
        convenant: &ConvenantSummary,
    ) -> Decision {
        let no_field_counts = |r: &&String| !r.contains("field(s) withheld");
        let outsider = input
            .case
            .as_ref()
            .is_some_and(|c| !c.requester_is_participant);
        if !self.allow {
            let reasons = if outsider {
                vec![
                    "doelmatigheid: not at the table: this request needs the requester's organisation to participate in the case, or a role and purpose that allow it without"
                        .to_string(),
                ]
            } else {
                self.reasons
                    .iter()
                    .filter(no_field_counts)
                    .cloned()
                    .collect()
            };
            return Decision {
                allow: false,
                tier: self.tier,
                allowed_fields: vec![],
                withheld: vec![],
                reasons,
                obligations: vec![],
            };
        }
        let empty = BTreeSet::new();
        let grounded = convenant.grounds.get(partner_type).unwrap_or(&empty);
        let category_of: std::collections::HashMap<&str, &str> = input
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.category.as_str()))
            .collect();
        let withheld = self
            .withheld
            .iter()
            .filter(|w| {
                category_of
                    .get(w.field.as_str())
                    .is_some_and(|c| grounded.contains(*c))
            })
            .cloned()
            .collect();
        let mut reasons: Vec<String> = self
            .reasons
            .iter()
            .filter(no_field_counts)
            .cloned()
            .collect();
        let never: Vec<&str> = convenant
            .categories
            .iter()
            .filter(|c| !grounded.contains(*c))
            .map(String::as_str)
            .collect();
        if !never.is_empty() {
            reasons.push(format!(
                "proportionaliteit: partner type {partner_type} has no ground for the categories {}: they are never disclosed to it, and not listed",
                never.join(", ")
            ));
        }
        Decision {
            allow: self.allow,
            tier: self.tier,
            allowed_fields: self.allowed_fields.clone(),
            withheld,
            reasons,
            obligations: self.obligations.clone(),
        }
    }

    /// Checks the invariants the rest of the gateway relies on, so a faulty policy fails closed
    /// instead of disclosing: every input field is either allowed or withheld (never both,
    /// never neither), and nothing is allowed when `allow` is false.
    pub fn validate(&self, fields: &[FieldInput]) -> Result<(), PolicyError> {
        let names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let allowed: BTreeSet<&str> = self.allowed_fields.iter().map(String::as_str).collect();
        let withheld: BTreeSet<&str> = self.withheld.iter().map(|w| w.field.as_str()).collect();
        if let Some(f) = allowed.iter().find(|f| !names.contains(*f)) {
            return Err(PolicyError::Shape(format!(
                "allowed field {f} was not requested"
            )));
        }
        if let Some(f) = allowed.intersection(&withheld).next() {
            return Err(PolicyError::Shape(format!(
                "field {f} both allowed and withheld"
            )));
        }
        if let Some(f) = names
            .iter()
            .find(|f| !allowed.contains(*f) && !withheld.contains(*f))
        {
            return Err(PolicyError::Shape(format!(
                "field {f} neither allowed nor withheld"
            )));
        }
        if !self.allow && !allowed.is_empty() {
            return Err(PolicyError::Shape("fields allowed in a denial".into()));
        }
        Ok(())
    }

    /// Allowed, partly withheld, or denied.
    pub fn outcome(&self) -> Outcome {
        if !self.allow {
            Outcome::Denied
        } else if self.withheld.is_empty() {
            Outcome::Allowed
        } else {
            Outcome::Partial
        }
    }
}

/// The parts of the convenant the gateway itself needs outside the policy (token checks).
#[derive(Clone, Debug, Default)]
pub struct ConvenantSummary {
    pub roles: BTreeSet<String>,
    pub purposes: BTreeSet<String>,
    pub partner_types: BTreeSet<String>,
    /// Days a closed case's data is kept before it is destroyed
    /// (`data.convenant.retention.days_after_closing`); `None`: nothing is destroyed.
    pub retention_days: Option<i64>,
    /// Days without a change after which an open afspraak counts as stalled
    /// (`data.convenant.casework.stall_after_days`); `None`: the gateway's default.
    pub stall_after_days: Option<i64>,
    /// Every category of the convenant (`data.convenant.categories`).
    pub categories: BTreeSet<String>,
    /// Per partner type, the categories it has a legal ground for
    /// (`data.convenant.partner_types.<type>.categories`, resolved through the register of
    /// legal grounds, see [`grounds`]): the only ones it may ever see.
    pub grounds: std::collections::BTreeMap<String, BTreeSet<String>>,
    /// Per partner type and category, the citation of its legal ground in the register (what a
    /// data subject's access report cites).
    pub legal_grounds:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A prepared policy engine. Implementations prepare once and are shared by all requests.
/// Which log entries a reviewing privacy officer sees (`data.vhgate.access.review_scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewScope {
    /// Every entry (the Veiligheidshuis's officer, as the convenant says).
    All,
    /// The officer's own organisation's: its requests and disclosures of data it contributed.
    Own,
}

pub trait PolicyEngine: Send + Sync {
    /// Decide a person-level request (read or lookup).
    fn decide(&self, input: &PolicyInput) -> Result<Decision, PolicyError>;
    /// May this requester review the disclosure log?
    fn may_review_disclosures(&self, input: &PolicyInput) -> Result<bool, PolicyError>;
    /// May this requester administer the convenant (policy bundles, registry)?
    fn may_administer(&self, input: &PolicyInput) -> Result<bool, PolicyError>;
    /// Decide a step of the case life cycle (register, screen, invite, close, ...). Engines
    /// that do not implement it refuse every step (fail closed).
    fn decide_casework(&self, input: &CaseworkInput) -> Result<CaseworkDecision, PolicyError> {
        let _ = input;
        Err(PolicyError::Eval(
            "this policy engine does not decide casework steps".into(),
        ))
    }

    /// May this requester read the aggregate signalling figures? Fails closed: an engine that
    /// does not implement the `read_signals` rule refuses everyone.
    fn may_read_signals(&self, _input: &PolicyInput) -> Result<bool, PolicyError> {
        Ok(false)
    }

    /// Which entries a privacy officer who may review the log sees. Engines (and bundles)
    /// without the `review_scope` rule give the least: the officer's own organisation's.
    fn review_scope(&self, _input: &PolicyInput) -> Result<ReviewScope, PolicyError> {
        Ok(ReviewScope::Own)
    }
    /// Content hash of the policies and data this engine was prepared from.
    fn revision(&self) -> &str;
    /// Roles, purposes and partner types known to the convenant.
    fn convenant(&self) -> &ConvenantSummary;
}

/// Policy sources and data read from a directory: `*.rego` (tests excluded unless asked for)
/// and `data/*.json`.
#[derive(Clone, Debug)]
pub struct PolicySources {
    pub modules: Vec<(String, String)>,
    pub data: Vec<(String, serde_json::Value)>,
}

impl PolicySources {
    /// Reads a policy directory. `with_tests` also loads `*_test.rego`.
    pub fn read_dir(dir: &Path, with_tests: bool) -> Result<Self, PolicyError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PolicyError::Io { path, source }
        };
        let mut modules = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".rego") || (!with_tests && name.ends_with("_test.rego")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            modules.push((path.display().to_string(), text));
        }
        if modules.is_empty() {
            return Err(PolicyError::Empty(dir.to_path_buf()));
        }
        let data_dir = dir.join("data");
        let mut data = Vec::new();
        if data_dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&data_dir)
                .map_err(io(&data_dir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for path in files {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let value = serde_json::from_str(&text).map_err(|e| PolicyError::Data {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                data.push((path.display().to_string(), value));
            }
        }
        Ok(PolicySources { modules, data })
    }

    /// The sources without their `*_test.rego` modules: what the gateway evaluates.
    pub fn without_tests(&self) -> PolicySources {
        PolicySources {
            modules: self
                .modules
                .iter()
                .filter(|(p, _)| !p.ends_with("_test.rego"))
                .cloned()
                .collect(),
            data: self.data.clone(),
        }
    }

    /// SHA-256 over every module and data file (name and content), hex: the policy revision
    /// that every log entry names.
    pub fn revision(&self) -> String {
        // Independent of file layout, so a directory and the bundle built from it (whose data
        // files are merged into one data.json) have the same revision: modules by file name,
        // then the merged data document (serde_json objects serialise with sorted keys).
        let mut modules: Vec<(&str, &str)> = self
            .modules
            .iter()
            .map(|(name, text)| {
                let base = Path::new(name)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(name);
                (base, text.as_str())
            })
            .collect();
        modules.sort();
        let mut merged = serde_json::Map::new();
        for (_, value) in &self.data {
            if let Some(obj) = value.as_object() {
                for (k, v) in obj {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        let data = serde_json::Value::Object(merged).to_string();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for (name, content) in modules
            .into_iter()
            .chain(std::iter::once(("data.json", data.as_str())))
        {
            for part in [name.as_bytes(), content.as_bytes()] {
                ctx.update(part);
                ctx.update(&[0]);
            }
        }
        hex::encode(&ctx.finish().as_ref()[..16])
    }

    /// `data.convenant` as JSON (null when no data file holds it).
    pub fn convenant_json(&self) -> serde_json::Value {
        self.data
            .iter()
            .find_map(|(_, v)| v.get("convenant"))
            .cloned()
            .unwrap_or_default()
    }

    /// Reads the role, purpose and partner-type registers from `data.convenant`.
    pub fn convenant(&self) -> Result<ConvenantSummary, PolicyError> {
        let mut summary = ConvenantSummary::default();
        for (_, value) in &self.data {
            let Some(conv) = value.get("convenant") else {
                continue;
            };
            let keys = |k: &str| -> BTreeSet<String> {
                conv.get(k)
                    .and_then(|v| v.as_object())
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            summary.roles.extend(keys("roles"));
            summary.purposes.extend(keys("purposes"));
            summary.partner_types.extend(keys("partner_types"));
            summary.categories.extend(keys("categories"));
            for (name, citations) in grounds::resolved_grants(conv) {
                summary
                    .grounds
                    .entry(name.clone())
                    .or_default()
                    .extend(citations.keys().cloned());
                summary
                    .legal_grounds
                    .entry(name)
                    .or_default()
                    .extend(citations);
            }
            if let Some(days) = conv
                .get("retention")
                .and_then(|r| r.get("days_after_closing"))
                .and_then(|d| d.as_i64())
                .filter(|d| *d >= 0)
            {
                summary.retention_days = Some(days);
            }
            if let Some(days) = conv
                .get("casework")
                .and_then(|r| r.get("stall_after_days"))
                .and_then(|d| d.as_i64())
                .filter(|d| *d > 0)
            {
                summary.stall_after_days = Some(days);
            }
        }
        if summary.roles.is_empty()
            || summary.purposes.is_empty()
            || summary.partner_types.is_empty()
        {
            return Err(PolicyError::Convenant(
                "data.convenant needs roles, purposes and partner_types".into(),
            ));
        }
        Ok(summary)
    }
}
