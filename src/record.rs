//! The case record (case store): partners, persons, cases, participants, information items and
//! afspraken. BSNs are stored sealed (AES-256-GCM) and found through their keyed pseudonym.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::crypto::{Pseudonymizer, RecordCipher};
use crate::domain::{Bsn, CaseId, CaseKind, Category, ItemId, Leefgebied, Oin, PersonId, Phase};
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A partner organisation in the convenant's registry.
#[derive(Clone, Debug, FromRow)]
pub struct Partner {
    pub oin: String,
    pub name: String,
    pub partner_type: String,
    pub active: bool,
}

/// A registered JWT verification key of a partner.
#[derive(Clone, Debug, FromRow)]
pub struct PartnerKey {
    pub kid: String,
    pub oin: String,
    pub alg: String,
    pub public_key_pem: String,
    /// Tokens signed with this key are refused after this moment (if set).
    pub not_after: Option<DateTime<Utc>>,
}

/// A case (casus).
#[derive(Clone, Debug)]
pub struct Case {
    pub id: CaseId,
    pub kind: CaseKind,
    pub phase: Phase,
    pub region: String,
    pub title: String,
    pub registered_by: String,
    pub casusregisseur: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Moves with every change the casework policy decides on (see [`CaseRecord::guard`]).
    pub version: i64,
}

#[derive(FromRow)]
struct CaseRow {
    id: Uuid,
    kind: String,
    phase: String,
    region: String,
    title: String,
    registered_by_oin: String,
    casusregisseur_oin: Option<String>,
    created_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;
    fn try_from(r: CaseRow) -> Result<Self, StoreError> {
        Ok(Case {
            id: CaseId(r.id),
            kind: r.kind.parse().map_err(corrupt)?,
            phase: r.phase.parse().map_err(corrupt)?,
            region: r.region,
            title: r.title,
            registered_by: r.registered_by_oin,
            casusregisseur: r.casusregisseur_oin,
            created_at: r.created_at,
            version: r.version,
        })
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A partner currently at the case table.
#[derive(Clone, Debug, FromRow)]
pub struct Participant {
    pub oin: String,
    pub name: String,
    pub partner_type: String,
    pub since: DateTime<Utc>,
}

/// A person in a case. The BSN stays sealed until the policy allows it.
#[derive(Clone, Debug, FromRow)]
pub struct Person {
    pub id: Uuid,
    pub naam: String,
    pub geboortedatum: Option<String>,
    pub adres: Option<String>,
    pub bsn_sealed: Option<Vec<u8>>,
    pub subject_pseudonym: String,
    pub pseudonym_key_version: i32,
    pub relation: String,
}

/// One information item about a person in a case.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: ItemId,
    pub leefgebied: Leefgebied,
    pub category: Category,
    pub content: String,
    pub contributed_by: String,
    pub contributor_name: String,
    pub recorded_at: DateTime<Utc>,
    /// The date the content dates from; the convenant's horizon is measured from it.
    pub dates_from: NaiveDate,
}

impl Item {
    /// Whole days between the date the information dates from and `now` (never negative).
    pub fn age_days(&self, now: DateTime<Utc>) -> i64 {
        (now.date_naive() - self.dates_from).num_days().max(0)
    }
}

#[derive(FromRow)]
struct ItemRow {
    id: Uuid,
    leefgebied: String,
    category: String,
    content: String,
    contributed_by: String,
    contributor_name: String,
    recorded_at: DateTime<Utc>,
    dates_from: Option<NaiveDate>,
}

/// An active case a subject is known in, for the hit/no-hit answer.
#[derive(Clone, Debug, FromRow)]
pub struct LookupHit {
    pub case_id: Uuid,
    pub region: String,
    pub casusregisseur_oin: Option<String>,
    pub casusregisseur_name: Option<String>,
}

/// What is needed to register a person.
#[derive(Clone, Debug)]
pub struct NewPerson {
    pub naam: String,
    pub geboortedatum: Option<NaiveDate>,
    pub adres: Option<String>,
    pub bsn: Option<Bsn>,
}

/// What is needed to register a case.
#[derive(Clone, Debug)]
pub struct NewCase {
    pub kind: CaseKind,
    pub phase: Phase,
    pub region: String,
    pub title: String,
    pub registered_by: Oin,
    pub casusregisseur: Option<Oin>,
}

/// One information item to add.
#[derive(Clone, Debug)]
pub struct NewItem {
    pub case_id: CaseId,
    pub person_id: PersonId,
    pub leefgebied: Leefgebied,
    pub category: Category,
    pub content: String,
    pub contributed_by: Oin,
    pub recorded_at: DateTime<Utc>,
}

/// The case store.
#[derive(Debug)]
pub struct CaseRecord {
    db: Db,
    cipher: RecordCipher,
    pseudonymizer: Pseudonymizer,
}

/// Current time truncated to microseconds, which both backends store exactly.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

const CASE_SQL: &str =
    "SELECT id, kind, phase, region, title, registered_by_oin, casusregisseur_oin, \
                        created_at, version FROM cases WHERE id = $1";
const PARTICIPANTS_SQL: &str = "SELECT cp.oin, p.name, p.partner_type, cp.since FROM case_participants cp \
                                JOIN partners p ON p.oin = cp.oin WHERE cp.case_id = $1 AND cp.until IS NULL ORDER BY cp.oin";
const PERSON_IN_CASE_SQL: &str = "SELECT p.id, p.naam, p.geboortedatum, p.adres, p.bsn_sealed, p.subject_pseudonym, \
                                  p.pseudonym_key_version, cp.relation FROM persons p \
                                  JOIN case_persons cp ON cp.person_id = p.id WHERE cp.case_id = $1 AND p.id = $2";
const ITEMS_SQL: &str = "SELECT i.id, i.leefgebied, i.category, i.content, i.contributed_by, \
                         p.name AS contributor_name, i.recorded_at, i.dates_from FROM information_items i \
                         JOIN partners p ON p.oin = i.contributed_by \
                         WHERE i.case_id = $1 AND i.person_id = $2 AND i.status = 'actief' \
                         ORDER BY i.recorded_at, i.id";

fn items_from_rows(rows: Vec<ItemRow>) -> Result<Vec<Item>, StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(Item {
                id: ItemId(r.id),
                leefgebied: r.leefgebied.parse().map_err(corrupt)?,
                category: r.category.parse().map_err(corrupt)?,
                content: r.content,
                contributed_by: r.contributed_by,
                contributor_name: r.contributor_name,
                recorded_at: r.recorded_at,
                dates_from: r.dates_from.unwrap_or(r.recorded_at.date_naive()),
            })
        })
        .collect()
}

/// What [`CaseRecord::person_read`] reads.
pub struct PersonRead {
    pub case: Case,
    pub person: Person,
    pub participants: Vec<Participant>,
    pub items: Vec<Item>,
}

impl CaseRecord {
    pub fn new(db: Db, cipher: RecordCipher, pseudonymizer: Pseudonymizer) -> Self {
        CaseRecord {
            db,
            cipher,
            pseudonymizer,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Keyed pseudo-random draws for the signalling figures' rounding (see [`crate::signals`]).
    pub fn signals_draw(&self, label: &[u8]) -> u64 {
        self.cipher.signals_draw(label)
    }

    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.pseudonymizer
    }

    /// The whole partner registry.
    pub async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        const SQL: &str = "SELECT oin, name, partner_type, active FROM partners ORDER BY oin";
        Ok(with_pool!(&self.db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
    }

    /// Every key that is not revoked.
    pub async fn partner_keys(&self) -> Result<Vec<PartnerKey>, StoreError> {
        const SQL: &str = "SELECT kid, oin, alg, public_key_pem, not_after FROM partner_keys WHERE revoked_at IS NULL ORDER BY kid";
        Ok(with_pool!(&self.db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
    }

    pub async fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        let row: Option<CaseRow> =
            with_pool!(&self.db, p => sqlx::query_as(CASE_SQL).bind(id.0).fetch_optional(p).await)?;
        row.map(Case::try_from).transpose()
    }

    /// Partners at the table now (removed participants excluded).
    pub async fn participants(&self, id: CaseId) -> Result<Vec<Participant>, StoreError> {
        Ok(
            with_pool!(&self.db, p => sqlx::query_as(PARTICIPANTS_SQL).bind(id.0).fetch_all(p).await)?,
        )
    }

    /// A person, only if linked to the case.
    pub async fn person_in_case(
        &self,
        case: CaseId,
        person: PersonId,
    ) -> Result<Option<Person>, StoreError> {
        Ok(
            with_pool!(&self.db, p => sqlx::query_as(PERSON_IN_CASE_SQL).bind(case.0).bind(person.0).fetch_optional(p).await)?,
        )
    }

    /// What a person read needs, on one pooled connection (sqlx tests a connection each time it
    /// goes back to the pool, so four reads on one cost one such round trip, not four): the
    /// case, the person if linked to it, the partners at the table and the active items.
    /// `None` when the case or the person (in that case) is not found.
    pub async fn person_read(
        &self,
        case: CaseId,
        person: PersonId,
    ) -> Result<Option<PersonRead>, StoreError> {
        let rows: Option<(CaseRow, Person, Vec<Participant>, Vec<ItemRow>)> = with_pool!(&self.db, p => {
            let mut c = p.acquire().await?;
            let case_row: Option<CaseRow> = sqlx::query_as(CASE_SQL).bind(case.0).fetch_optional(&mut *c).await?;
            match case_row {
                None => None,
                Some(case_row) => {
                    let found: Option<Person> = sqlx::query_as(PERSON_IN_CASE_SQL)
                        .bind(case.0).bind(person.0).fetch_optional(&mut *c).await?;
                    match found {
                        None => None,
                        Some(found) => {
                            let participants = sqlx::query_as(PARTICIPANTS_SQL).bind(case.0).fetch_all(&mut *c).await?;
                            let items = sqlx::query_as(ITEMS_SQL).bind(case.0).bind(person.0).fetch_all(&mut *c).await?;
                            Some((case_row, found, participants, items))
                        }
                    }
                }
            }
        });
        let Some((case_row, person, participants, items)) = rows else {
            return Ok(None);
        };
        Ok(Some(PersonRead {
            case: Case::try_from(case_row)?,
            person,
            participants,
            items: items_from_rows(items)?,
        }))
    }

    /// Seals person data at rest (AES-256-GCM), bound to `context`.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.cipher.seal_bytes(plain, context)?)
    }

    /// Opens what [`CaseRecord::seal`] sealed for the same context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.cipher.open_bytes(sealed, context)?)
    }

    /// Opens a person's sealed BSN (only after the policy allowed it).
    pub fn reveal_bsn(&self, person: &Person) -> Result<Option<Bsn>, StoreError> {
        person
            .bsn_sealed
            .as_deref()
            .map(|sealed| self.cipher.open(sealed, person.id.as_bytes()))
            .transpose()
            .map_err(StoreError::from)
    }

    /// The active information items about a person in a case, oldest first (corrected and
    /// withdrawn versions are never disclosed again).
    pub async fn items(&self, case: CaseId, person: PersonId) -> Result<Vec<Item>, StoreError> {
        let rows: Vec<ItemRow> = with_pool!(&self.db, p => sqlx::query_as(ITEMS_SQL).bind(case.0).bind(person.0).fetch_all(p).await)?;
        items_from_rows(rows)
    }

    /// Active (not closed) cases in which the subject with this pseudonym is known.
    /// Active cases of the person with any of these pseudonyms (one per key version).
    pub async fn lookup(
        &self,
        subject_pseudonyms: &[String],
    ) -> Result<Vec<LookupHit>, StoreError> {
        let mut hits: Vec<LookupHit> = Vec::new();
        for pseudonym in subject_pseudonyms {
            for hit in self.lookup_one(pseudonym).await? {
                if !hits.iter().any(|h| h.case_id == hit.case_id) {
                    hits.push(hit);
                }
            }
        }
        Ok(hits)
    }

    async fn lookup_one(&self, subject_pseudonym: &str) -> Result<Vec<LookupHit>, StoreError> {
        const SQL: &str = "SELECT c.id AS case_id, c.region, c.casusregisseur_oin, r.name AS casusregisseur_name \
                           FROM persons p JOIN case_persons cp ON cp.person_id = p.id \
                           JOIN cases c ON c.id = cp.case_id \
                           LEFT JOIN partners r ON r.oin = c.casusregisseur_oin \
                           WHERE p.subject_pseudonym = $1 AND c.phase <> 'afgesloten' ORDER BY c.created_at";
        Ok(
            with_pool!(&self.db, p => sqlx::query_as(SQL).bind(subject_pseudonym).fetch_all(p).await)?,
        )
    }

    /// Adds or updates a partner in the registry.
    pub async fn upsert_partner(
        &self,
        oin: &Oin,
        name: &str,
        partner_type: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO partners (oin, name, partner_type, active, created_at) VALUES ($1, $2, $3, TRUE, $4) \
                           ON CONFLICT (oin) DO UPDATE SET name = excluded.name, partner_type = excluded.partner_type";
        with_pool!(&self.db, p => sqlx::query(SQL).bind(oin.as_str()).bind(name).bind(partner_type).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Registers a JWT verification key (PEM SPKI) for a partner; replaces a key with the same id.
    pub async fn put_partner_key(
        &self,
        kid: &str,
        oin: &Oin,
        alg: &str,
        pem: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO partner_keys (kid, oin, alg, public_key_pem, created_at) VALUES ($1, $2, $3, $4, $5) \
                           ON CONFLICT (kid) DO UPDATE SET oin = excluded.oin, alg = excluded.alg, \
                           public_key_pem = excluded.public_key_pem, revoked_at = NULL";
        with_pool!(&self.db, p => sqlx::query(SQL).bind(kid).bind(oin.as_str()).bind(alg).bind(pem).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Registers a person; the BSN is sealed and pseudonymised, never stored in the clear.
    pub async fn insert_person(
        &self,
        tx: &mut Tx,
        new: &NewPerson,
    ) -> Result<PersonId, StoreError> {
        let id = PersonId::new();
        let sealed = new
            .bsn
            .as_ref()
            .map(|b| self.cipher.seal(b, id.0.as_bytes()))
            .transpose()?;
        let pseudonym = match &new.bsn {
            Some(bsn) => self.pseudonymizer.pseudonym(bsn),
            None => self.pseudonymizer.pseudonym_of_id(&id.0),
        };
        const SQL: &str = "INSERT INTO persons (id, bsn_sealed, subject_pseudonym, pseudonym_key_version, naam, \
                           geboortedatum, adres, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let dob = new.geboortedatum.map(|d| d.format("%Y-%m-%d").to_string());
        with_tx!(tx, c => sqlx::query(SQL)
            .bind(id.0).bind(sealed).bind(pseudonym).bind(self.pseudonymizer.version())
            .bind(&new.naam).bind(dob).bind(&new.adres).bind(now())
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    pub async fn insert_case(&self, tx: &mut Tx, new: &NewCase) -> Result<CaseId, StoreError> {
        let id = CaseId::new();
        const SQL: &str = "INSERT INTO cases (id, kind, phase, region, title, registered_by_oin, casusregisseur_oin, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        with_tx!(tx, c => sqlx::query(SQL)
            .bind(id.0).bind(new.kind.as_str()).bind(new.phase.as_str()).bind(&new.region).bind(&new.title)
            .bind(new.registered_by.as_str()).bind(new.casusregisseur.as_ref().map(Oin::as_str)).bind(now())
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    pub async fn add_case_person(
        &self,
        tx: &mut Tx,
        case: CaseId,
        person: PersonId,
        relation: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO case_persons (case_id, person_id, relation) VALUES ($1, $2, $3)";
        with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(person.0).bind(relation).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Seats a partner at the case table (again, if it had been removed).
    pub async fn add_participant(
        &self,
        tx: &mut Tx,
        case: CaseId,
        oin: &Oin,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO case_participants (case_id, oin, since) VALUES ($1, $2, $3) \
                           ON CONFLICT (case_id, oin) DO UPDATE SET since = excluded.since, until = NULL";
        with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).bind(since).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes a partner from the table; its access ends with this commit.
    pub async fn remove_participant(
        &self,
        tx: &mut Tx,
        case: CaseId,
        oin: &Oin,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE case_participants SET until = $3 WHERE case_id = $1 AND oin = $2 AND until IS NULL";
        let done = with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(oin.as_str()).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    pub async fn add_item(&self, tx: &mut Tx, new: &NewItem) -> Result<ItemId, StoreError> {
        let id = ItemId::new();
        const SQL: &str = "INSERT INTO information_items (id, case_id, person_id, leefgebied, category, content, \
                           contributed_by, recorded_at, dates_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        with_tx!(tx, c => sqlx::query(SQL)
            .bind(id.0).bind(new.case_id.0).bind(new.person_id.0).bind(new.leefgebied.as_str())
            .bind(new.category.as_str()).bind(&new.content).bind(new.contributed_by.as_str()).bind(new.recorded_at)
            .bind(new.recorded_at.date_naive())
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    pub async fn add_afspraak(
        &self,
        tx: &mut Tx,
        case: CaseId,
        partner: &Oin,
        action: &str,
        due: NaiveDate,
        status: &str,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        const SQL: &str = "INSERT INTO afspraken (id, case_id, partner_oin, action, due_date, status, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_tx!(tx, c => sqlx::query(SQL)
            .bind(id).bind(case.0).bind(partner.as_str()).bind(action)
            .bind(due.format("%Y-%m-%d").to_string()).bind(status).bind(now())
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// Re-checks, inside a step's transaction, that the case is still at `version` (the state
    /// its decision was made on), and moves the version when `changes` (the step changes what
    /// the casework policy decides on). False when a concurrent step changed the case first:
    /// the step must not write. The UPDATE also holds the case row until the step commits, so
    /// no other step can change the case in between (on PostgreSQL a waiting step re-reads the
    /// version after ours commits and fails the check).
    pub async fn guard(
        &self,
        tx: &mut Tx,
        case: CaseId,
        version: i64,
        changes: bool,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE cases SET version = version + $3 WHERE id = $1 AND version = $2";
        let n = with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(version).bind(i64::from(changes))
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Moves a case to another phase; closing records the time.
    pub async fn set_phase(
        &self,
        tx: &mut Tx,
        case: CaseId,
        phase: Phase,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE cases SET phase = $2, closed_at = CASE WHEN $2 = 'afgesloten' THEN $3 ELSE NULL END WHERE id = $1";
        with_tx!(tx, c => sqlx::query(SQL).bind(case.0).bind(phase.as_str()).bind(now()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
