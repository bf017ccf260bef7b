//! Partner-registry administration: partners, their token keys and client-certificate
//! constraints change through change requests that one administrator proposes and a different
//! one approves (four-eyes, as for policy bundles). Approval applies the change in one
//! transaction, rebuilds the in-memory registry, swaps it in and forgets every cached token
//! verification, so onboarding, key rotation and revocation need no restart. Other instances
//! follow through the registry version. Roles, purposes and partner types are policy data
//! (`data.convenant`): they change through policy bundles and are only shown here.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};

use super::registry_store::{self as store, ChangeRow, KeyRow};
use super::{actor, AdminError};
use crate::domain::Oin;
use crate::gateway::{Caller, Gateway};
use crate::policy::ConvenantSummary;
use crate::store::{Db, StoreError};

/// Most operations in one change request.
const MAX_OPERATIONS: usize = 50;
/// Most allowed certificates per partner.
const MAX_THUMBPRINTS: usize = 20;

fn yes() -> bool {
    true
}

/// One operation on the registry (JSON: an object tagged by `kind`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryChange {
    /// Registers a partner or updates its name, type or active flag. An inactive partner is
    /// refused like an unknown organisation.
    UpsertPartner {
        oin: String,
        name: String,
        partner_type: String,
        #[serde(default = "yes")]
        active: bool,
    },
    /// Registers a token-verification key (SPKI PEM) of a partner under a new key id.
    AddKey {
        oin: String,
        kid: String,
        /// `EdDSA` (Ed25519) or `ES256` (P-256).
        alg: String,
        public_key_pem: String,
        /// Tokens signed with the key are refused after this moment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_after: Option<DateTime<Utc>>,
    },
    /// Revokes a key: tokens signed with it are refused from the moment the change is applied.
    RevokeKey { kid: String },
    /// The client certificates (`x5t#S256` thumbprints) the partner may present; an empty list
    /// allows any certificate chaining to the convenant CA with the partner's OIN.
    SetCertificateConstraints {
        oin: String,
        allowed_thumbprints: Vec<String>,
    },
}

/// The body of a proposal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// Applied in order, all or nothing.
    pub changes: Vec<RegistryChange>,
    /// Why (e.g. the convenant addendum that admits the partner).
    #[serde(default)]
    pub note: Option<String>,
}

/// A change request with its four-eyes history.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeRecord {
    pub id: String,
    /// `proposed`, `applied` or `rejected`.
    pub status: String,
    pub changes: Vec<RegistryChange>,
    pub note: Option<String>,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// What is wrong with one operation of a proposal.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeProblem {
    /// Position in `changes` (absent for the request as a whole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub field: &'static str,
    pub message: String,
}

/// The registry as administrators see it: public material only.
#[derive(Clone, Debug, Serialize)]
pub struct RegistryView {
    /// Bumped by every applied change.
    pub version: i64,
    pub partners: Vec<PartnerView>,
    pub convenant: ConvenantView,
}

/// One partner in [`RegistryView`].
#[derive(Clone, Debug, Serialize)]
pub struct PartnerView {
    pub oin: String,
    pub name: String,
    pub partner_type: String,
    pub active: bool,
    pub allowed_thumbprints: Vec<String>,
    pub keys: Vec<KeyRow>,
}

/// The convenant's registers from the active policy, read-only here.
#[derive(Clone, Debug, Serialize)]
pub struct ConvenantView {
    pub roles: Vec<String>,
    pub purposes: Vec<String>,
    pub partner_types: Vec<String>,
    pub managed_by: &'static str,
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = StoreError;
    fn try_from(r: ChangeRow) -> Result<Self, StoreError> {
        let changes = serde_json::from_str(&r.changes)
            .map_err(|e| StoreError::Corrupt(format!("registry change {}: {e}", r.id)))?;
        Ok(ChangeRecord {
            id: r.id,
            status: r.status,
            changes,
            note: r.note,
            proposed_by: r.proposed_by,
            proposed_at: r.proposed_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
        })
    }
}

/// What validation needs to know about the registry: partner types and keys (revoked or not).
struct Snapshot {
    partners: HashMap<String, String>,
    keys: HashMap<String, bool>,
}

impl Snapshot {
    async fn load(gateway: &Gateway) -> Result<Snapshot, StoreError> {
        let partners = gateway
            .record
            .partners()
            .await?
            .into_iter()
            .map(|p| (p.oin, p.partner_type))
            .collect();
        let keys = store::keys(gateway.record.db())
            .await?
            .into_iter()
            .map(|k| (k.kid, k.revoked_at.is_some()))
            .collect();
        Ok(Snapshot { partners, keys })
    }
}

/// [`validate`] against an empty registry: what a proposal gets wrong by its content alone
/// (OINs, names, key ids, key PEMs, thumbprints). For the parser fuzz targets.
pub fn validate_offline(
    changes: &[RegistryChange],
    convenant: &ConvenantSummary,
    now: DateTime<Utc>,
) -> Result<(), Vec<ChangeProblem>> {
    let empty = Snapshot {
        partners: HashMap::new(),
        keys: HashMap::new(),
    };
    validate(changes, empty, convenant, now)
}

/// Checks every operation against the registry as the earlier operations leave it.
fn validate(
    changes: &[RegistryChange],
    mut snapshot: Snapshot,
    convenant: &ConvenantSummary,
    now: DateTime<Utc>,
) -> Result<(), Vec<ChangeProblem>> {
    let mut problems = Vec::new();
    if changes.is_empty() || changes.len() > MAX_OPERATIONS {
        problems.push(ChangeProblem {
            index: None,
            field: "changes",
            message: format!("between 1 and {MAX_OPERATIONS} operations"),
        });
    }
    for (i, change) in changes.iter().enumerate() {
        let mut problem = |field: &'static str, message: String| {
            problems.push(ChangeProblem {
                index: Some(i),
                field,
                message,
            })
        };
        match change {
            RegistryChange::UpsertPartner {
                oin,
                name,
                partner_type,
                ..
            } => {
                let bad_oin = oin_problem(oin, false, &snapshot);
                let ok = bad_oin.is_none();
                if let Some(m) = bad_oin {
                    problem("oin", m);
                }
                if name.trim().is_empty() || name.chars().count() > 200 {
                    problem("name", "a name of 1 to 200 characters".into());
                }
                if !convenant.partner_types.contains(partner_type) {
                    problem(
                        "partner_type",
                        format!(
                            "partner type {} is not in the convenant (change it through a policy bundle)",
                            clip(partner_type)
                        ),
                    );
                } else if ok {
                    snapshot.partners.insert(oin.clone(), partner_type.clone());
                }
            }
            RegistryChange::AddKey {
                oin,
                kid,
                alg,
                public_key_pem,
                not_after,
            } => {
                if let Some(m) = oin_problem(oin, true, &snapshot) {
                    problem("oin", m);
                }
                if kid.is_empty()
                    || kid.len() > 100
                    || !kid
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
                {
                    problem(
                        "kid",
                        "a key id of 1 to 100 characters from A-Z a-z 0-9 . _ : -".into(),
                    );
                } else if snapshot.keys.contains_key(kid) {
                    problem(
                        "kid",
                        format!("key id {kid} is taken (key ids are never reused)"),
                    );
                }
                let parsed = match alg.as_str() {
                    "EdDSA" => Some(DecodingKey::from_ed_pem(public_key_pem.as_bytes())),
                    "ES256" => Some(DecodingKey::from_ec_pem(public_key_pem.as_bytes())),
                    other => {
                        problem(
                            "alg",
                            format!("algorithm {} is not allowed (EdDSA or ES256)", clip(other)),
                        );
                        None
                    }
                };
                if let Some(Err(e)) = parsed {
                    problem(
                        "public_key_pem",
                        format!("not a {alg} public key in PEM (SPKI): {e}"),
                    );
                }
                if not_after.is_some_and(|t| t <= now) {
                    problem("not_after", "not_after lies in the past".into());
                }
                snapshot.keys.insert(kid.clone(), false);
            }
            RegistryChange::RevokeKey { kid } => match snapshot.keys.get(kid) {
                None => problem("kid", format!("no key {}", clip(kid))),
                Some(true) => problem("kid", format!("key {kid} is already revoked")),
                Some(false) => {
                    snapshot.keys.insert(kid.clone(), true);
                }
            },
            RegistryChange::SetCertificateConstraints {
                oin,
                allowed_thumbprints,
            } => {
                if let Some(m) = oin_problem(oin, true, &snapshot) {
                    problem("oin", m);
                }
                if allowed_thumbprints.len() > MAX_THUMBPRINTS {
                    problem(
                        "allowed_thumbprints",
                        format!("at most {MAX_THUMBPRINTS} certificates"),
                    );
                }
                let mut seen = BTreeSet::new();
                for t in allowed_thumbprints {
                    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t);
                    if !decoded.is_ok_and(|d| d.len() == 32) {
                        problem(
                            "allowed_thumbprints",
                            format!(
                                "{} is not a SHA-256 thumbprint in unpadded base64url (x5t#S256)",
                                clip(t)
                            ),
                        );
                    } else if !seen.insert(t) {
                        problem("allowed_thumbprints", format!("{t} is listed twice"));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What is wrong with an OIN, if anything (`must_exist`: it must be a registered partner).
fn oin_problem(oin: &str, must_exist: bool, snapshot: &Snapshot) -> Option<String> {
    if oin.parse::<Oin>().is_err() {
        Some("an OIN is 20 digits".into())
    } else if must_exist && !snapshot.partners.contains_key(oin) {
        Some(format!("partner {oin} is not registered"))
    } else {
        None
    }
}

/// Echoes caller input in a problem without letting it grow the answer.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

async fn check(gateway: &Gateway, changes: &[RegistryChange]) -> Result<(), AdminError> {
    let snapshot = Snapshot::load(gateway).await?;
    validate(
        changes,
        snapshot,
        gateway.policy().convenant(),
        crate::record::now(),
    )
    .map_err(AdminError::InvalidChange)
}

/// Proposes a change (validated first; nothing changes until another administrator approves).
pub async fn propose(
    gateway: &Gateway,
    caller: &Caller,
    request: ChangeRequest,
) -> Result<ChangeRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let note = request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AdminError::BadRequest(
            "note: at most 500 characters".into(),
        ));
    }
    check(gateway, &request.changes).await?;
    let json = serde_json::to_string(&request.changes)
        .map_err(|e| AdminError::BadRequest(format!("changes: {e}")))?;
    let id = uuid::Uuid::now_v7().to_string();
    let db = gateway.record.db();
    store::propose(db, &id, &json, note, &actor(caller)).await?;
    get(db, &id).await
}

/// One change request.
pub(super) async fn get(db: &Db, id: &str) -> Result<ChangeRecord, AdminError> {
    store::get(db, id)
        .await?
        .ok_or_else(|| AdminError::NoSuchChange(id.into()))?
        .try_into()
        .map_err(AdminError::Store)
}

/// Approves and applies a proposal: only an administrator other than the proposer. The
/// change is validated again against the registry and convenant of now.
pub async fn approve(
    gateway: &Gateway,
    caller: &Caller,
    id: &str,
) -> Result<ChangeRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let db = gateway.record.db();
    let record = get(db, id).await?;
    if record.status != "proposed" {
        return Err(AdminError::Conflict(format!(
            "registry change {id} is {}, not proposed",
            record.status
        )));
    }
    if record.proposed_by == actor(caller) {
        let refusal = "four-eyes: the proposer cannot approve their own proposal";
        return Err(gateway
            .refuse(caller, crate::policy::Action::Administer, refusal)
            .await
            .into());
    }
    check(gateway, &record.changes).await?;
    let mut reasons = vec![format!(
        "applied registry change {id}; proposed by {}, approved by {}",
        record.proposed_by,
        actor(caller)
    )];
    reasons.extend(record.changes.iter().map(describe));
    let entry = gateway.registry_change_entry(caller, reasons);
    // One unit of work: the change and its entry commit together.
    let mut tx = gateway.begin().await?;
    if !store::apply(&mut tx, id, &record.changes, &actor(caller)).await? {
        tx.rollback().await?;
        return Err(AdminError::Conflict(format!(
            "registry change {id} was decided by someone else meanwhile"
        )));
    }
    gateway.commit_in(tx, entry).await?;
    reload(gateway).await?;
    tracing::info!(change = %id, by = %actor(caller), "registry change applied");
    get(db, id).await
}

/// One line per operation for the transparency log (and the CLI): organisations and key
/// ids, no key material and no personal data.
pub fn describe(change: &RegistryChange) -> String {
    match change {
        RegistryChange::UpsertPartner {
            oin,
            partner_type,
            active,
            ..
        } => format!("upsert partner {oin}: type {partner_type}, active {active}"),
        RegistryChange::AddKey {
            oin,
            kid,
            alg,
            not_after,
            ..
        } => match not_after {
            Some(t) => format!(
                "add key {kid} ({alg}) of {oin}, valid until {}",
                crate::gateway::timestamp(*t)
            ),
            None => format!("add key {kid} ({alg}) of {oin}"),
        },
        RegistryChange::RevokeKey { kid } => format!("revoke key {kid}"),
        RegistryChange::SetCertificateConstraints {
            oin,
            allowed_thumbprints,
        } => format!(
            "certificate constraints of {oin}: {}",
            if allowed_thumbprints.is_empty() {
                "any certificate with the OIN".to_string()
            } else {
                allowed_thumbprints.join(", ")
            }
        ),
    }
}

/// Rebuilds the registry from the database and swaps it in (clearing the token cache).
async fn reload(gateway: &Gateway) -> Result<i64, StoreError> {
    let (registry, problems) = crate::registry::load(&gateway.record).await?;
    for p in problems {
        tracing::warn!(kid = %p.kid, problem = %p.message, "partner key not loaded");
    }
    let version = registry.version();
    gateway.set_registry(registry);
    Ok(version)
}

/// Rejects a pending proposal, with a reason.
pub async fn reject(
    gateway: &Gateway,
    caller: &Caller,
    id: &str,
    reason: &str,
) -> Result<ChangeRecord, AdminError> {
    gateway.require_administrator(caller).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AdminError::BadRequest(
            "a rejection needs a reason (1 to 500 characters)".into(),
        ));
    }
    let db = gateway.record.db();
    let record = get(db, id).await?;
    if record.status != "proposed" || !store::reject(db, id, &actor(caller), reason).await? {
        return Err(AdminError::Conflict(format!(
            "registry change {id} is not a pending proposal"
        )));
    }
    get(db, id).await
}

/// Every change request with its decision, newest first.
pub async fn history(gateway: &Gateway, caller: &Caller) -> Result<Vec<ChangeRecord>, AdminError> {
    gateway.require_administrator(caller).await?;
    store::history(gateway.record.db())
        .await?
        .into_iter()
        .map(|r| ChangeRecord::try_from(r).map_err(AdminError::Store))
        .collect()
}

/// The registry as stored, plus the convenant's registers from the policy in force.
pub async fn view(gateway: &Gateway, caller: &Caller) -> Result<RegistryView, AdminError> {
    gateway.require_administrator(caller).await?;
    let db = gateway.record.db();
    let version = store::version(db).await?;
    let mut certificates: HashMap<String, Vec<String>> = HashMap::new();
    for (oin, t) in store::certificates(db).await? {
        certificates.entry(oin).or_default().push(t);
    }
    let mut keys: HashMap<String, Vec<KeyRow>> = HashMap::new();
    for k in store::keys(db).await? {
        keys.entry(k.oin.clone()).or_default().push(k);
    }
    let partners = gateway
        .record
        .partners()
        .await?
        .into_iter()
        .map(|p| PartnerView {
            allowed_thumbprints: certificates.remove(&p.oin).unwrap_or_default(),
            keys: keys.remove(&p.oin).unwrap_or_default(),
            oin: p.oin,
            name: p.name,
            partner_type: p.partner_type,
            active: p.active,
        })
        .collect();
    let policy = gateway.policy();
    let c = policy.convenant();
    Ok(RegistryView {
        version,
        partners,
        convenant: ConvenantView {
            roles: c.roles.iter().cloned().collect(),
            purposes: c.purposes.iter().cloned().collect(),
            partner_types: c.partner_types.iter().cloned().collect(),
            managed_by: "policy bundles (data.convenant): /v1/admin/policy-bundles",
        },
    })
}

/// Follows registry changes applied on other instances: reloads when the stored version
/// differs from the registry in force. Called on the policy sync interval.
pub async fn follow_once(gateway: &Gateway) {
    match store::version(gateway.record.db()).await {
        Ok(v) if v != gateway.registry().version() => match reload(gateway).await {
            Ok(loaded) => tracing::info!(version = loaded, "followed a registry change"),
            Err(e) => tracing::warn!(error = %e, "cannot reload the partner registry"),
        },
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the registry version"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convenant() -> ConvenantSummary {
        ConvenantSummary {
            partner_types: ["gemeente".to_string()].into(),
            ..ConvenantSummary::default()
        }
    }

    fn empty() -> Snapshot {
        Snapshot {
            partners: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    #[test]
    fn changes_parse_by_kind_and_refuse_unknown_fields() {
        let c: RegistryChange = serde_json::from_str(
            r#"{"kind": "upsert_partner", "oin": "00000099000000000042", "name": "X", "partner_type": "gemeente"}"#,
        )
        .expect("parse");
        assert!(matches!(
            c,
            RegistryChange::UpsertPartner { active: true, .. }
        ));
        assert!(serde_json::from_str::<RegistryChange>(
            r#"{"kind": "revoke_key", "kid": "a", "extra": 1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<RegistryChange>(r#"{"kind": "drop_table"}"#).is_err());
    }

    #[test]
    fn later_operations_see_earlier_ones() {
        let (_, public) = crate::pki::generate_jwt_keypair().expect("key");
        let oin = "00000099000000000042".to_string();
        let changes = vec![
            RegistryChange::UpsertPartner {
                oin: oin.clone(),
                name: "Gemeente X".into(),
                partner_type: "gemeente".into(),
                active: true,
            },
            RegistryChange::AddKey {
                oin: oin.clone(),
                kid: "x-1".into(),
                alg: "EdDSA".into(),
                public_key_pem: public.clone(),
                not_after: None,
            },
            RegistryChange::RevokeKey { kid: "x-1".into() },
        ];
        assert!(validate(&changes, empty(), &convenant(), Utc::now()).is_ok());
        // The same key twice, an unknown type, a bad OIN, HS256 and a bad PEM.
        let bad = vec![
            RegistryChange::UpsertPartner {
                oin: "123".into(),
                name: " ".into(),
                partner_type: "bakker".into(),
                active: true,
            },
            RegistryChange::AddKey {
                oin: oin.clone(),
                kid: "y".into(),
                alg: "HS256".into(),
                public_key_pem: public,
                not_after: None,
            },
            RegistryChange::AddKey {
                oin,
                kid: "z".into(),
                alg: "ES256".into(),
                public_key_pem: "not pem".into(),
                not_after: None,
            },
        ];
        let problems = validate(&bad, empty(), &convenant(), Utc::now()).expect_err("invalid");
        let fields: Vec<(Option<usize>, &str)> =
            problems.iter().map(|p| (p.index, p.field)).collect();
        for expected in [
            (Some(0), "oin"),
            (Some(0), "name"),
            (Some(0), "partner_type"),
            (Some(1), "oin"),
            (Some(1), "alg"),
            (Some(2), "public_key_pem"),
        ] {
            assert!(fields.contains(&expected), "{expected:?} in {fields:?}");
        }
    }
}
