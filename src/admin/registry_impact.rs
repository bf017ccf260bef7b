//! Impact preview of a registry change: the recorded decisions replayed against the policy in
//! force with the changed registry, as for a policy bundle ([`super::impact`]). What a registry
//! change does to a recorded request:
//!
//! - a partner's new type replaces the recorded one, for its own requests and wherever it
//!   sits at a case table (`case.participants`);
//! - a deactivated partner, a partner left without a usable token key, or a client
//!   certificate outside a partner's new allowed list is refused before any decision (the
//!   gateway answers 401/403 and discloses nothing);
//! - what the log cannot tell is reported as a note: which key signed a token (a revoked key
//!   of a partner that keeps other keys), and requests that were never decided (a new or
//!   reactivated partner).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::impact::{Baseline, Candidate, ImpactQuery, ImpactReport};
use super::registry::RegistryChange;
use super::registry_store::{self as store, KeyRow};
use super::AdminError;
use crate::disclosure::NewEntry;
use crate::gateway::{Caller, Gateway};
use crate::policy::{Decision, PolicyEngine, PolicyError, PolicyInput, Principle, Tier, Withheld};

/// Replays the recorded decisions of the query's window against the policy in force with
/// registry change `id` (any status) applied, and reports what would change. The default
/// baseline is the policy in force on the recorded requests (`active`), so the report shows
/// the registry change alone, not rule changes since. Nothing is applied.
pub async fn impact(
    gateway: &Gateway,
    caller: &Caller,
    id: &str,
    query: ImpactQuery,
) -> Result<ImpactReport, AdminError> {
    gateway.require_administrator(caller).await?;
    let db = gateway.record.db();
    let record = super::registry::get(db, id).await?;
    let keys = store::keys(db).await?;
    let active: HashMap<String, String> = gateway
        .record
        .partners()
        .await?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| (p.oin, p.partner_type))
        .collect();
    let recorded = super::recorded_decisions(gateway, &query).await?;
    let policy = gateway.policy();
    let (candidate, notes) = RegistryCandidate::new(
        policy.clone(),
        id,
        &record.changes,
        &keys,
        &active,
        crate::record::now(),
    );
    let baseline = match query.baseline.unwrap_or(Baseline::Active) {
        Baseline::Recorded => None,
        Baseline::Active => Some(policy),
    };
    let mut report = super::replay_blocking(recorded, Arc::new(candidate), baseline).await?;
    report.notes = notes;
    report.summary = report.summary_line();
    Ok(report)
}

/// What the change does to one partner (by OIN).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Effect {
    /// Its partner type after the change, when the change sets one.
    partner_type: Option<String>,
    /// Why every request of the partner would be refused before any decision.
    refused: Option<String>,
    /// The client certificates it may present after the change (none: any).
    allowed_thumbprints: Option<Vec<String>>,
}

/// The policy in force with a changed partner registry.
pub struct RegistryCandidate {
    policy: Arc<dyn PolicyEngine>,
    name: String,
    effects: HashMap<String, Effect>,
}

/// A token key as far as the preview needs it.
struct KeyState {
    oin: String,
    usable: bool,
}

impl RegistryCandidate {
    /// The candidate of change `id` (`changes`, applied in order) on `policy`, with the token
    /// keys of the registry now (`keys`, to tell whether a revocation leaves a partner without
    /// a usable key) and the partners active now (`active`: OIN → partner type). Returns the
    /// notes on what the log cannot show.
    pub fn new(
        policy: Arc<dyn PolicyEngine>,
        id: &str,
        changes: &[RegistryChange],
        keys: &[KeyRow],
        active: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> (RegistryCandidate, Vec<String>) {
        let mut effects: HashMap<String, Effect> = HashMap::new();
        let mut notes = Vec::new();
        let mut key_state: BTreeMap<String, KeyState> = keys
            .iter()
            .map(|k| {
                let usable = k.revoked_at.is_none() && k.not_after.is_none_or(|t| t > now);
                let oin = k.oin.clone();
                (k.kid.clone(), KeyState { oin, usable })
            })
            .collect();
        let mut revoked = Vec::new();
        for change in changes {
            match change {
                RegistryChange::UpsertPartner {
                    oin,
                    partner_type,
                    active: stays_active,
                    ..
                } => {
                    let effect = effects.entry(oin.clone()).or_default();
                    effect.partner_type = Some(partner_type.clone());
                    effect.refused = (!stays_active)
                        .then(|| format!("partner {oin} is taken out of the registry"));
                    if *stays_active && !active.contains_key(oin) {
                        notes.push(format!(
                            "partner {oin} is not active in the registry now (new or inactive): it has no decided requests to replay"
                        ));
                    }
                }
                RegistryChange::AddKey { oin, kid, .. } => {
                    let oin = oin.clone();
                    key_state.insert(kid.clone(), KeyState { oin, usable: true });
                }
                RegistryChange::RevokeKey { kid } => {
                    if let Some(k) = key_state.get_mut(kid) {
                        k.usable = false;
                        revoked.push((kid.clone(), k.oin.clone()));
                    }
                }
                RegistryChange::SetCertificateConstraints {
                    oin,
                    allowed_thumbprints,
                } => {
                    effects.entry(oin.clone()).or_default().allowed_thumbprints =
                        Some(allowed_thumbprints.clone());
                }
            }
        }
        for (kid, oin) in revoked {
            if key_state.values().any(|k| k.oin == oin && k.usable) {
                notes.push(format!(
                    "key {kid} of {oin} is revoked, but the log does not record which key signed a request: requests of {oin} signed with it would be refused (401), those signed with its other keys not"
                ));
            } else {
                let effect = effects.entry(oin.clone()).or_default();
                effect.refused.get_or_insert_with(|| {
                    format!("partner {oin} has no usable token key left (key {kid} revoked)")
                });
            }
        }
        let name = format!("registry change {id} on revision {}", policy.revision());
        (
            RegistryCandidate {
                policy,
                name,
                effects,
            },
            notes,
        )
    }

    /// Why the candidate refuses this request before any decision, if it does.
    fn refusal(&self, entry: &NewEntry, input: &PolicyInput) -> Option<String> {
        let oin = &input.requester.oin;
        let effect = self.effects.get(oin)?;
        if let Some(reason) = &effect.refused {
            return Some(reason.clone());
        }
        let allowed = effect.allowed_thumbprints.as_ref()?;
        let presented = entry.requester.cert_thumbprint.as_deref();
        (!allowed.is_empty() && !presented.is_some_and(|t| allowed.iter().any(|a| a == t)))
            .then(|| format!("the client certificate is not among those allowed for {oin}"))
    }

    /// The partner type the change gives `oin`, if it changes one.
    fn new_type(&self, oin: &str) -> Option<&String> {
        self.effects.get(oin)?.partner_type.as_ref()
    }
}

/// A refusal before any decision: nothing allowed, every field withheld for `reason`.
fn refused(input: &PolicyInput, reason: String) -> Decision {
    Decision {
        allow: false,
        tier: Tier::None,
        allowed_fields: vec![],
        withheld: input
            .fields
            .iter()
            .map(|f| Withheld {
                field: f.name.clone(),
                // No convenant purpose without a convenant partner.
                principle: Principle::Doelmatigheid,
                reason: format!("refused before the policy: {reason}"),
            })
            .collect(),
        reasons: vec![reason],
        obligations: vec![],
    }
}

impl Candidate for RegistryCandidate {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn decide_on(&self, entry: &NewEntry, input: &PolicyInput) -> Result<Decision, PolicyError> {
        if let Some(reason) = self.refusal(entry, input) {
            return Ok(refused(input, reason));
        }
        let mut input = input.clone();
        if let Some(t) = self.new_type(&input.requester.oin) {
            input.requester.partner_type = t.clone();
        }
        if let Some(case) = input.case.as_mut() {
            for p in &mut case.participants {
                if let Some(t) = self.new_type(&p.oin) {
                    p.partner_type = t.clone();
                }
            }
        }
        self.policy.decide(&input)
    }

    fn same_as_active(&self, _entry: &NewEntry, input: &PolicyInput) -> bool {
        let touched = |oin: &str, recorded_type: &str| {
            self.effects.get(oin).is_some_and(|e| {
                e.refused.is_some()
                    || e.allowed_thumbprints.is_some()
                    || e.partner_type
                        .as_deref()
                        .is_some_and(|t| t != recorded_type)
            })
        };
        !touched(&input.requester.oin, &input.requester.partner_type)
            && input.case.as_ref().is_none_or(|c| {
                c.participants
                    .iter()
                    .all(|p| !touched(&p.oin, &p.partner_type))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, oin: &str) -> KeyRow {
        KeyRow {
            kid: kid.into(),
            oin: oin.into(),
            alg: "EdDSA".into(),
            public_key_pem: String::new(),
            created_at: Utc::now(),
            revoked_at: None,
            not_after: None,
        }
    }

    fn policy() -> Arc<dyn PolicyEngine> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        Arc::new(crate::app::load_policy(&dir).expect("policies"))
    }

    #[test]
    fn revoking_the_only_key_refuses_the_partner_and_a_rotation_is_a_note() {
        let a = "00000099000000000001";
        let b = "00000099000000000002";
        let keys = [key("a-1", a), key("b-1", b), key("b-2", b)];
        let changes = [
            RegistryChange::RevokeKey { kid: "a-1".into() },
            RegistryChange::RevokeKey { kid: "b-1".into() },
        ];
        let (c, notes) =
            RegistryCandidate::new(policy(), "x", &changes, &keys, &HashMap::new(), Utc::now());
        assert!(c.effects[a].refused.is_some());
        assert!(!c.effects.contains_key(b));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("b-1"), "{notes:?}");
    }
}
