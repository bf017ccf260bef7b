//! SQL of the case life cycle (registrations, idempotency keys, screening decisions,
//! invitations, closures). Written for both SQLite and PostgreSQL (`with_pool!`).

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{CaseId, CaseKind, Oin, PersonId, Phase};
use crate::record::now;
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A stored registration (aanmelding), without its persons.
#[derive(Clone, Debug, FromRow)]
pub struct Registration {
    pub case_id: Uuid,
    pub registered_by_oin: String,
    /// The screening document (JSON text).
    pub aanmelding: String,
    pub reason: String,
    pub adviesvraag: bool,
    pub registered_at: DateTime<Utc>,
}

/// What an Idempotency-Key was first used for.
#[derive(Clone, Debug, FromRow)]
pub struct IdempotencyRecord {
    pub body_hash: String,
    pub case_id: Uuid,
}

/// An invitation to the MDO.
#[derive(Clone, Debug, FromRow)]
pub struct Invitation {
    pub oin: String,
    pub invited_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// A person linked to a case, by id and pseudonym (for log entries).
#[derive(Clone, Debug, FromRow)]
pub struct CasePerson {
    pub id: Uuid,
    pub subject_pseudonym: String,
    pub pseudonym_key_version: i32,
    pub relation: String,
}

/// Claims `key` for `oin`, pointing at the case about to be created. False when the key
/// was already used (the caller then compares body hashes).
pub async fn claim_idempotency_key(
    tx: &mut Tx,
    oin: &Oin,
    key: &str,
    body_hash: &str,
    case: CaseId,
) -> Result<bool, StoreError> {
    const SQL: &str =
        "INSERT INTO case_idempotency (partner_oin, idem_key, body_hash, case_id, created_at) \
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (partner_oin, idem_key) DO NOTHING";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(oin.as_str()).bind(key).bind(body_hash)
        .bind(case.0).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// What the key was first used for.
pub async fn idempotency_record(
    db: &Db,
    oin: &Oin,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    const SQL: &str =
        "SELECT body_hash, case_id FROM case_idempotency WHERE partner_oin = $1 AND idem_key = $2";
    Ok(
        with_pool!(db, p => sqlx::query_as(SQL).bind(oin.as_str()).bind(key).fetch_optional(p).await)?,
    )
}

/// Releases a key whose case could not be created, so a retry can use it again.
pub async fn release_idempotency_key(db: &Db, oin: &Oin, key: &str) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM case_idempotency WHERE partner_oin = $1 AND idem_key = $2";
    with_pool!(db, p => sqlx::query(SQL).bind(oin.as_str()).bind(key).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A new case with a given id (phase aanmelding), as registered by a partner.
pub async fn insert_case(
    tx: &mut Tx,
    id: CaseId,
    kind: CaseKind,
    region: &str,
    title: &str,
    by: &Oin,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO cases (id, kind, phase, region, title, registered_by_oin, casusregisseur_oin, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)";
    with_tx!(tx, c => sqlx::query(SQL).bind(id.0).bind(kind.as_str()).bind(Phase::Aanmelding.as_str())
        .bind(region).bind(title).bind(by.as_str()).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores what the registrant supplied about a person (sealed by the caller), so a read of
/// the registration echoes exactly that.
pub async fn insert_registration_person(
    tx: &mut Tx,
    case: CaseId,
    person: PersonId,
    supplied: &[u8],
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO registration_persons (case_id, person_id, supplied) VALUES ($1, $2, $3)";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(person.0).bind(supplied)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// What the registrant supplied about each person of the registration (sealed), by person.
pub async fn registration_persons(
    db: &Db,
    case: CaseId,
) -> Result<Vec<(Uuid, Vec<u8>)>, StoreError> {
    const SQL: &str = "SELECT person_id, supplied FROM registration_persons WHERE case_id = $1";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?)
}

/// Stores the registration's screening document and reason.
pub async fn insert_registration(
    tx: &mut Tx,
    case: CaseId,
    by: &Oin,
    aanmelding: &str,
    reason: &str,
    adviesvraag: bool,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO case_registrations (case_id, registered_by_oin, aanmelding, reason, adviesvraag, registered_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(by.as_str()).bind(aanmelding).bind(reason)
        .bind(adviesvraag).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The registration of a case, if it was registered through the gateway.
pub async fn registration(db: &Db, case: CaseId) -> Result<Option<Registration>, StoreError> {
    const SQL: &str =
        "SELECT case_id, registered_by_oin, aanmelding, reason, adviesvraag, registered_at \
                       FROM case_registrations WHERE case_id = $1";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_optional(p).await)?)
}

/// A person already in the record with one of these pseudonyms (one per key version).
pub async fn person_by_pseudonym(
    tx: &mut Tx,
    pseudonyms: &[String],
) -> Result<Option<PersonId>, StoreError> {
    const SQL: &str = "SELECT id FROM persons WHERE subject_pseudonym = $1";
    for pseudonym in pseudonyms {
        let row: Option<(Uuid,)> =
            with_tx!(tx, c => sqlx::query_as(SQL).bind(pseudonym).fetch_optional(&mut *c).await)?;
        if let Some((id,)) = row {
            return Ok(Some(PersonId(id)));
        }
    }
    Ok(None)
}

/// The persons of a case, in a stable order (by relation, then id).
pub async fn case_persons(db: &Db, case: CaseId) -> Result<Vec<CasePerson>, StoreError> {
    const SQL: &str = "SELECT p.id, p.subject_pseudonym, p.pseudonym_key_version, cp.relation \
                       FROM persons p JOIN case_persons cp ON cp.person_id = p.id \
                       WHERE cp.case_id = $1 ORDER BY p.id";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?)
}

/// Records a screening decision.
pub async fn insert_screening_decision(
    tx: &mut Tx,
    case: CaseId,
    decision: &str,
    advised: &str,
    reason: &str,
    by: &Oin,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO case_screening_decisions (id, case_id, decision, advised, reason, decided_by_oin, decided_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, c => sqlx::query(SQL).bind(Uuid::now_v7()).bind(case.0).bind(decision).bind(advised)
        .bind(reason).bind(by.as_str()).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Invites a partner (again, if an earlier invitation was not accepted).
pub async fn invite(tx: &mut Tx, case: CaseId, oin: &Oin, by: &Oin) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO case_invitations (case_id, oin, invited_by_oin, invited_at, accepted_at) \
                       VALUES ($1, $2, $3, $4, NULL) \
                       ON CONFLICT (case_id, oin) DO UPDATE SET invited_by_oin = excluded.invited_by_oin, \
                       invited_at = excluded.invited_at, accepted_at = NULL";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).bind(by.as_str()).bind(now())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Invitations of a case that are still open (not accepted).
pub async fn open_invitations(db: &Db, case: CaseId) -> Result<Vec<Invitation>, StoreError> {
    const SQL: &str = "SELECT oin, invited_at, accepted_at FROM case_invitations \
                       WHERE case_id = $1 AND accepted_at IS NULL ORDER BY oin";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?)
}

/// Marks an open invitation accepted; false when there was none.
pub async fn accept_invitation(
    tx: &mut Tx,
    case: CaseId,
    oin: &Oin,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE case_invitations SET accepted_at = $3 \
                       WHERE case_id = $1 AND oin = $2 AND accepted_at IS NULL";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Withdraws an open invitation (the partner is removed before it accepted).
pub async fn withdraw_invitation(tx: &mut Tx, case: CaseId, oin: &Oin) -> Result<bool, StoreError> {
    const SQL: &str =
        "DELETE FROM case_invitations WHERE case_id = $1 AND oin = $2 AND accepted_at IS NULL";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str())
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Sets the one casusregisseur of a case.
pub async fn set_casusregisseur(tx: &mut Tx, case: CaseId, oin: &Oin) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE cases SET casusregisseur_oin = $2 WHERE id = $1";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records why and how a case was closed.
pub async fn insert_closure(
    tx: &mut Tx,
    case: CaseId,
    outcome: &str,
    reason: &str,
    by: &Oin,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO case_closures (case_id, outcome, reason, closed_by_oin, closed_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(outcome).bind(reason).bind(by.as_str())
        .bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Clears the casusregisseur when it is `oin` (a removed participant no longer directs).
pub async fn clear_casusregisseur(tx: &mut Tx, case: CaseId, oin: &Oin) -> Result<(), StoreError> {
    const SQL: &str =
        "UPDATE cases SET casusregisseur_oin = NULL WHERE id = $1 AND casusregisseur_oin = $2";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Keeps a closed case's data until `until` (a logged extension of its retention).
pub async fn extend_retention(
    tx: &mut Tx,
    case: CaseId,
    until: DateTime<Utc>,
    reason: &str,
    by: &Oin,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO case_retention (case_id, keep_until, reason, extended_by_oin, extended_at) \
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id) DO UPDATE SET \
                       keep_until = excluded.keep_until, reason = excluded.reason, \
                       extended_by_oin = excluded.extended_by_oin, extended_at = excluded.extended_at";
    with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(until).bind(reason).bind(by.as_str())
        .bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Closed cases, not yet destroyed, closed before `closed_before` and not kept (by an
/// extension) beyond `now`.
pub async fn expired_cases(
    db: &Db,
    closed_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseId>, StoreError> {
    const SQL: &str = "SELECT c.id FROM cases c \
                       LEFT JOIN case_retention r ON r.case_id = c.id \
                       LEFT JOIN case_destructions d ON d.case_id = c.id \
                       WHERE c.phase = 'afgesloten' AND c.closed_at IS NOT NULL AND c.closed_at < $1 \
                       AND d.case_id IS NULL AND (r.keep_until IS NULL OR r.keep_until < $2) \
                       ORDER BY c.closed_at";
    let rows: Vec<(Uuid,)> =
        with_pool!(db, p => sqlx::query_as(SQL).bind(closed_before).bind(now).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|(id,)| CaseId(id)).collect())
}

/// How much person data a destruction removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Destroyed {
    pub persons: u64,
    pub items: u64,
    pub afspraken: u64,
}

/// Destroys a case's person data in one transaction: its information items, afspraken with
/// their monitoring notes, the escalation history (its reasons), the link to its persons and the
/// persons no other case knows, the registration (reason and screening document), invitations,
/// idempotency keys and screening decisions (their reasons), the closing reason and the stated
/// reasons of spoed reads. The case row (no person data) and the participants remain, with a
/// destruction record. The disclosure log is not touched: it holds pseudonyms and hashes only.
pub async fn destroy_case(db: &Db, case: CaseId) -> Result<Destroyed, StoreError> {
    const PERSONS: &str = "SELECT person_id FROM case_persons WHERE case_id = $1";
    const ITEMS: &str = "DELETE FROM information_items WHERE case_id = $1";
    // Monitoring notes first: they reference the afspraken.
    const NOTES: &str = "DELETE FROM afspraak_notes WHERE case_id = $1";
    const AFSPRAKEN: &str = "DELETE FROM afspraken WHERE case_id = $1";
    // What the registrant supplied about the persons: it references them.
    const SUPPLIED: &str = "DELETE FROM registration_persons WHERE case_id = $1";
    const LINKS: &str = "DELETE FROM case_persons WHERE case_id = $1";
    const PERSON: &str = "DELETE FROM persons WHERE id = $1 \
                          AND NOT EXISTS (SELECT 1 FROM case_persons WHERE person_id = $1) \
                          AND NOT EXISTS (SELECT 1 FROM information_items WHERE person_id = $1)";
    const REST: &[&str] = &[
        "DELETE FROM case_registrations WHERE case_id = $1",
        "DELETE FROM case_invitations WHERE case_id = $1",
        "DELETE FROM case_idempotency WHERE case_id = $1",
        "DELETE FROM case_screening_decisions WHERE case_id = $1",
        "DELETE FROM case_escalations WHERE case_id = $1",
        "UPDATE case_closures SET reason = '' WHERE case_id = $1",
        // A spoed read's stated reason is free text; the review item itself remains.
        "UPDATE spoed_reviews SET reason = NULL WHERE case_id = $1",
    ];
    const MARK: &str =
        "INSERT INTO case_destructions (case_id, destroyed_at, persons, items, afspraken) \
                        VALUES ($1, $2, $3, $4, $5)";
    let done: Result<Destroyed, sqlx::Error> = with_pool!(db, p => async {
        let mut tx = p.begin().await?;
        let persons: Vec<(Uuid,)> = sqlx::query_as(PERSONS).bind(case.0).fetch_all(&mut *tx).await?;
        let items = sqlx::query(ITEMS).bind(case.0).execute(&mut *tx).await?.rows_affected();
        sqlx::query(NOTES).bind(case.0).execute(&mut *tx).await?;
        let afspraken = sqlx::query(AFSPRAKEN).bind(case.0).execute(&mut *tx).await?.rows_affected();
        sqlx::query(SUPPLIED).bind(case.0).execute(&mut *tx).await?;
        sqlx::query(LINKS).bind(case.0).execute(&mut *tx).await?;
        let mut gone = 0;
        for (id,) in persons {
            gone += sqlx::query(PERSON).bind(id).execute(&mut *tx).await?.rows_affected();
        }
        for sql in REST {
            sqlx::query(sql).bind(case.0).execute(&mut *tx).await?;
        }
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        sqlx::query(MARK).bind(case.0).bind(now()).bind(n(gone)).bind(n(items)).bind(n(afspraken))
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Destroyed { persons: gone, items, afspraken })
    }.await);
    Ok(done?)
}

/// An information item as its contributor reads it back.
#[derive(Clone, Debug, FromRow)]
pub struct OwnItem {
    pub id: Uuid,
    pub person_id: Uuid,
    pub leefgebied: String,
    pub category: String,
    pub content: String,
    pub recorded_at: DateTime<Utc>,
    pub dates_from: Option<chrono::NaiveDate>,
}

/// The active items `oin` contributed to a case, oldest first (not the versions it corrected
/// or withdrew).
pub async fn own_items(db: &Db, case: CaseId, oin: &Oin) -> Result<Vec<OwnItem>, StoreError> {
    const SQL: &str = "SELECT id, person_id, leefgebied, category, content, recorded_at, dates_from \
                       FROM information_items WHERE case_id = $1 AND contributed_by = $2 AND status = 'actief' \
                       ORDER BY recorded_at, id";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).bind(oin.as_str()).fetch_all(p).await)?)
}
