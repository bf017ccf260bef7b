//! The signalling figures' reads from the case record. Only the attributes that are counted
//! leave the database layer, joined per case in memory and then forgotten; time filtering
//! happens in Rust on decoded timestamps so both backends agree exactly.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::CaseFacts;
use crate::store::{Db, StoreError};
use crate::with_pool;

#[derive(FromRow)]
struct CaseRow {
    id: Uuid,
    kind: String,
    phase: String,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct TagRow {
    case_id: Uuid,
    tag: String,
}

#[derive(FromRow)]
struct PlanRow {
    case_id: Uuid,
    created_at: DateTime<Utc>,
}

/// Regions that have cases, sorted.
pub async fn regions(db: &Db) -> Result<Vec<String>, StoreError> {
    const SQL: &str = "SELECT DISTINCT region FROM cases ORDER BY region";
    let rows: Vec<(String,)> = with_pool!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|(r,)| r).collect())
}

/// The countable facts of every case of `region`.
pub async fn case_facts(db: &Db, region: &str) -> Result<Vec<CaseFacts>, StoreError> {
    const CASES: &str = "SELECT id, kind, phase, created_at FROM cases WHERE region = $1";
    const LEEFGEBIEDEN: &str =
        "SELECT DISTINCT i.case_id, i.leefgebied AS tag FROM information_items i \
                                JOIN cases c ON c.id = i.case_id WHERE c.region = $1 AND i.status = 'actief'";
    // Past participants count too: the partner was involved in the case.
    const PARTNERS: &str =
        "SELECT DISTINCT cp.case_id, p.partner_type AS tag FROM case_participants cp \
                            JOIN partners p ON p.oin = cp.oin JOIN cases c ON c.id = cp.case_id \
                            WHERE c.region = $1";
    const PLANS: &str = "SELECT a.case_id, a.created_at FROM afspraken a \
                         JOIN cases c ON c.id = a.case_id WHERE c.region = $1";
    let cases: Vec<CaseRow> =
        with_pool!(db, p => sqlx::query_as(CASES).bind(region).fetch_all(p).await)?;
    let leefgebieden: Vec<TagRow> =
        with_pool!(db, p => sqlx::query_as(LEEFGEBIEDEN).bind(region).fetch_all(p).await)?;
    let partners: Vec<TagRow> =
        with_pool!(db, p => sqlx::query_as(PARTNERS).bind(region).fetch_all(p).await)?;
    let plans: Vec<PlanRow> =
        with_pool!(db, p => sqlx::query_as(PLANS).bind(region).fetch_all(p).await)?;

    let mut by_id: HashMap<Uuid, CaseFacts> = cases
        .into_iter()
        .map(|c| {
            (
                c.id,
                CaseFacts {
                    created_at: c.created_at,
                    kind: c.kind,
                    phase: c.phase,
                    leefgebieden: BTreeSet::new(),
                    partner_types: BTreeSet::new(),
                    first_plan: None,
                },
            )
        })
        .collect();
    for t in leefgebieden {
        if let Some(f) = by_id.get_mut(&t.case_id) {
            f.leefgebieden.insert(t.tag);
        }
    }
    for t in partners {
        if let Some(f) = by_id.get_mut(&t.case_id) {
            f.partner_types.insert(t.tag);
        }
    }
    for a in plans {
        if let Some(f) = by_id.get_mut(&a.case_id) {
            f.first_plan = Some(f.first_plan.map_or(a.created_at, |t| t.min(a.created_at)));
        }
    }
    Ok(by_id.into_values().collect())
}
