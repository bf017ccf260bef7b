//! Signalling (the advisory function of the Veiligheidshuis, seeds 000/003/004): aggregate,
//! non-personal figures per region and calendar period, with small-cell protection.
//!
//! # What is published
//! For a region and a calendar period (month, quarter or year), about the cases *registered*
//! in that period (a cohort by `created_at`): how many; by kind; by current phase; by
//! leefgebied (cases with at least one information item in it); by partner type involved
//! (cases that have or had a participant of that type); and time to plan (cases with at least
//! one afspraak, and the median number of days from registration to the first one). Counts
//! only: no case ids, titles, persons or partner names ever leave this module.
//!
//! # Threat model
//! The reader is an authorised Veiligheidshuis staff member (or anyone who obtains a
//! response). They may know some individuals' cases from outside ("my neighbour was
//! registered in March") and try to learn something about them (their leefgebieden, which
//! partners are involved) from small counts: a cell of 1 that matches what they know *is*
//! that person. They may send as many queries as they like, over all granularities and over
//! time, and combine the answers (differencing: a quarter minus two of its months, two
//! overlapping windows, a total minus the other cells of a table). They know this algorithm
//! and the threshold. They cannot see the case record itself.
//!
//! # Protection
//! 1. **Fixed query space.** A region is an exact value, never a pattern; there are no other
//!    filters. Windows are whole calendar periods (months; quarters starting Jan/Apr/Jul/Oct;
//!    years), `from` is rounded down and `until` up to a period boundary, and only periods
//!    that have *ended* are published (the open period changes with every registration, which
//!    would let day-to-day differencing single one out). So every figure is about a cohort
//!    between two month boundaries and nothing else can be asked.
//! 2. **Rounded cumulative counts: one canonical answer.** For every figure (series `s`, e.g.
//!    "leefgebied verslaving") and every month boundary `B`, let `C_s(B)` be the number of the
//!    region's cases registered before `B` that are in `s`. Only a rounded `P_s(B)` (a
//!    multiple of the base b = k) is ever used, and a period's figure is
//!    `V = P_s(end) - P_s(start)`. Because every figure of every granularity is a difference of
//!    the *same* rounded values, a quarter is exactly the sum of its months, a year of its
//!    quarters, and overlapping windows differ by a published figure: whatever an attacker
//!    combines, they learn nothing beyond the sequence `P_s`.
//! 3. **Keyed rounding.** `P_s(B)` is the floor or the ceiling multiple of `C_s(B)`, chosen by
//!    an HMAC under a key derived from the record key ([`keyed_round`]): unbiased, unknown to
//!    the reader, and always the same for the same value (asking again gives no second
//!    sample). It is keyed by the series and the floor multiple, so it is monotone in the
//!    count (figures of a growing series never flip down and up, which would tell that every
//!    boundary count differs), and an unchanged series rounds the same at both ends of a
//!    period (an empty period shows nothing). The partitions (kind, phase) use controlled
//!    rounding ([`controlled_round`]): cells go to a neighbouring multiple and add up to the
//!    rounded total exactly, the cells rounded up chosen by keyed draws. Deterministic
//!    rounding to the nearest multiple is not enough: with four phases of 3 cases, each shows
//!    5 (so at least 3) and the total of 12 shows 10 (so at most 12), which pins all four.
//!    The unit tests check the scheme with a brute-force attacker that enumerates every
//!    dataset and every way the unknown key could have rounded it: for one series over a
//!    quarter and its months, and for a two-cell partition with its total, no count below k
//!    is ever the only value consistent with everything published. With k = 3 the partition
//!    attack finds pins, hence the floor [`MIN_CELL_FLOOR`] = 4.
//! 4. **Threshold suppression.** A figure below k (including 0 and negative differences) is
//!    never shown: it is `null` with `"suppressed": true`. Figures of k or more are rounded,
//!    so a shown 5 may stand for anything from 1 to 9 cases. The decision depends only on the
//!    published rounded values, never on the true count: a suppression bit taken from the
//!    true count is itself information, and lets an attacker pin small counts (tested).
//! 5. **Complementary suppression.** In the partitions, when exactly one cell is suppressed
//!    and the total is shown, the smallest shown cell is suppressed too, so a reader cannot
//!    fill in the blank by subtraction within one table.
//! 6. **Medians** of time to plan are shown only when the rounded count of cases with a plan
//!    is at least 3k; each boundary is known to within b - 1, so that guarantees more than k
//!    true cases behind the median, again without looking at the true count.
//!
//! # Residual risk
//! The brute force covers one series and a two-cell partition over short windows; larger
//! partitions over many boundaries are argued, not enumerated. Rotating the record key
//! re-draws the rounding, which gives an attacker who kept old answers a second sample.
//! Phase, leefgebieden, participants and plans of an *ended* cohort still change as cases
//! progress, so the same query on two days can differ. A rounded figure only changes when
//! the underlying count crosses a rounding boundary, and it does not say which case moved;
//! still, someone who knows that exactly one case of a small cohort changed yesterday learns
//! which way it moved when a figure steps. Access is therefore limited by the convenant
//! (purpose `signalering`), and figures are meant for trends, not for monitoring one case.

pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Serialize, Serializer};

use crate::domain::{CaseKind, Leefgebied, Phase};

/// Default small-cell threshold k.
pub const DEFAULT_MIN_CELL: u32 = 5;
/// The smallest threshold the configuration accepts (see the module docs, point 3).
pub const MIN_CELL_FLOOR: u32 = 4;
/// The largest threshold the configuration accepts.
pub const MIN_CELL_CEILING: u32 = 100;
/// Most periods in one answer.
pub const MAX_PERIODS: i32 = 60;

/// Errors of a signals query.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    #[error("{0}")]
    Query(String),
}

/// Calendar period length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// Months per period.
    pub fn months(self) -> i32 {
        match self {
            Granularity::Month => 1,
            Granularity::Quarter => 3,
            Granularity::Year => 12,
        }
    }

    /// Periods in the default window (when `from` is not given).
    fn default_count(self) -> i32 {
        match self {
            Granularity::Month => 12,
            Granularity::Quarter => 8,
            Granularity::Year => 3,
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = SignalsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "month" => Ok(Granularity::Month),
            "quarter" => Ok(Granularity::Quarter),
            "year" => Ok(Granularity::Year),
            _ => Err(SignalsError::Query(
                "period must be month, quarter or year".into(),
            )),
        }
    }
}

/// What the caller asked for.
#[derive(Clone, Debug)]
pub struct SignalsQuery {
    /// One region, or every region with cases.
    pub region: Option<String>,
    pub granularity: Granularity,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// Months since year 0: the month boundaries every figure is computed at.
fn month_index(date: NaiveDate) -> i32 {
    date.year() * 12 + date.month0() as i32
}

/// The first day of month `index` (months since year 0).
pub fn month_start_date(index: i32) -> NaiveDate {
    month_start(index)
}

fn month_start(index: i32) -> NaiveDate {
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    NaiveDate::from_ymd_opt(year, month0 as u32 + 1, 1).unwrap_or(NaiveDate::MIN)
}

/// One published period: months `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub granularity: Granularity,
    pub start: i32,
    pub end: i32,
}

impl Period {
    /// `2025-03`, `2025-Q1` or `2025`.
    pub fn label(&self) -> String {
        let d = month_start(self.start);
        match self.granularity {
            Granularity::Month => format!("{}-{:02}", d.year(), d.month()),
            Granularity::Quarter => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
            Granularity::Year => format!("{}", d.year()),
        }
    }
}

/// Normalises a query to whole, ended calendar periods (protection point 1): `from` rounds
/// down and `until` (exclusive) up to a period boundary, and `until` never passes the start
/// of the period `today` is in.
pub fn periods(query: &SignalsQuery, today: NaiveDate) -> Result<Vec<Period>, SignalsError> {
    let n = query.granularity.months();
    let floor = |ix: i32| ix - ix.rem_euclid(n);
    let open = floor(month_index(today));
    let until = match query.until {
        Some(d) => {
            let ix = month_index(d);
            // A date inside a period (not its first day) includes that period.
            let ix = if d.day() == 1 { ix } else { ix + 1 };
            (floor(ix - 1) + n).min(open)
        }
        None => open,
    };
    let from = match query.from {
        Some(d) => floor(month_index(d)),
        None => until - n * query.granularity.default_count(),
    };
    if from < month_index(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)) {
        return Err(SignalsError::Query("from must not lie before 2000".into()));
    }
    if from >= until {
        return Err(SignalsError::Query(
            "the window holds no ended period (only periods that have ended are published)".into(),
        ));
    }
    if (until - from) / n > MAX_PERIODS {
        return Err(SignalsError::Query(format!(
            "at most {MAX_PERIODS} periods per request"
        )));
    }
    Ok((from..until)
        .step_by(n as usize)
        .map(|start| Period {
            granularity: query.granularity,
            start,
            end: start + n,
        })
        .collect())
}

/// What the store knows about one case, without anything that identifies it.
#[derive(Clone, Debug)]
pub struct CaseFacts {
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub phase: String,
    pub leefgebieden: BTreeSet<String>,
    pub partner_types: BTreeSet<String>,
    /// When the first afspraak of the plan was made.
    pub first_plan: Option<DateTime<Utc>>,
}

/// One published figure: a count of at least k, or suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

impl Cell {
    const SUPPRESSED: Cell = Cell {
        count: None,
        suppressed: true,
    };
}

/// Time from registration to the first afspraak.
#[derive(Clone, Debug, Serialize)]
pub struct TimeToPlan {
    pub cases_with_plan: Cell,
    /// Median days, only when at least 2k (rounded) cases have a plan.
    pub median_days: Option<i64>,
}

fn date_str<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}

/// The figures of one period.
#[derive(Clone, Debug, Serialize)]
pub struct PeriodFigures {
    pub period: String,
    #[serde(serialize_with = "date_str")]
    pub start: NaiveDate,
    /// Exclusive.
    #[serde(serialize_with = "date_str")]
    pub end: NaiveDate,
    pub cases: Cell,
    pub by_kind: BTreeMap<String, Cell>,
    pub by_phase: BTreeMap<String, Cell>,
    pub by_leefgebied: BTreeMap<String, Cell>,
    pub by_partner_type: BTreeMap<String, Cell>,
    pub time_to_plan: TimeToPlan,
}

/// The figures of one region.
#[derive(Clone, Debug, Serialize)]
pub struct RegionSignals {
    pub region: String,
    pub periods: Vec<PeriodFigures>,
}

/// The whole answer of `GET /v1/signals`.
#[derive(Clone, Debug, Serialize)]
pub struct SignalsReport {
    pub period: Granularity,
    #[serde(serialize_with = "date_str")]
    pub from: NaiveDate,
    #[serde(serialize_with = "date_str")]
    pub until: NaiveDate,
    /// The small-cell threshold k.
    pub min_cell: u32,
    /// Figures are multiples of this.
    pub rounding_base: u32,
    pub regions: Vec<RegionSignals>,
}

/// Keyed pseudo-random numbers: the same label always gives the same number, and a reader of
/// the figures cannot predict them (in the gateway: an HMAC under a key derived from the
/// record key, [`crate::record::CaseRecord::signals_draw`]).
pub type Draw<'a> = &'a (dyn Fn(&[u8]) -> u64 + Sync);

/// Unbiased keyed rounding of one count to a multiple of `base`: a multiple stays, otherwise
/// up when the remainder reaches the threshold `1 + draw % base` (probability
/// `remainder / base`). `draw` is keyed by the series and the floor multiple, not by the count,
/// so within a run of `base` counts the rounding is monotone: a growing count never makes a
/// figure flip down and up again (which would tell that every boundary count differs).
pub fn keyed_round(count: u64, base: u64, draw: u64) -> u64 {
    let (floor, rem) = (count / base * base, count % base);
    if rem > 0 && rem > draw % base {
        floor + base
    } else {
        floor
    }
}

/// Controlled rounding of a partition to the already rounded total: every cell goes to its
/// floor or ceiling multiple of `base` and the cells add up to `rounded_total` exactly. The
/// cells rounded up are the first cells (with a remainder) in `priority` order, which comes
/// from keyed draws, so the choice says nothing a reader can use about the remainders.
/// `rounded_total` must be the floor or ceiling multiple of the cells' sum.
pub fn controlled_round(
    cells: &[u64],
    rounded_total: u64,
    base: u64,
    priority: &[usize],
) -> Vec<u64> {
    let mut out: Vec<u64> = cells.iter().map(|c| c / base * base).collect();
    let floors: u64 = out.iter().sum();
    let mut up = rounded_total.saturating_sub(floors) / base;
    for &i in priority {
        if up == 0 {
            break;
        }
        if cells.get(i).is_some_and(|c| c % base > 0) {
            out[i] += base;
            up -= 1;
        }
    }
    out
}

/// A period's published figure from the rounded cumulative counts at its start and end:
/// `V = P(end) - P(start)` if at least k, else suppressed. It depends on published values
/// only (module docs, point 4).
pub fn figure(rounded_start: u64, rounded_end: u64, k: u64) -> Option<u64> {
    rounded_end.checked_sub(rounded_start).filter(|v| *v >= k)
}

/// Series ids: `total`, `kind:..`, `phase:..`, `leefgebied:..`, `partner_type:..`,
/// `with_plan`. Fixed lists, so the keys of an answer never depend on the data.
fn series_of(partner_types: &[String]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let kinds = CaseKind::ALL.iter().map(|k| format!("kind:{k}")).collect();
    let phases = Phase::ALL.iter().map(|p| format!("phase:{p}")).collect();
    let mut single: Vec<String> = Leefgebied::ALL
        .iter()
        .map(|l| format!("leefgebied:{l}"))
        .collect();
    single.extend(partner_types.iter().map(|t| format!("partner_type:{t}")));
    single.push("with_plan".into());
    (kinds, phases, single)
}

fn in_series(f: &CaseFacts, series: &str) -> bool {
    match series.split_once(':') {
        Some(("kind", k)) => f.kind == k,
        Some(("phase", p)) => f.phase == p,
        Some(("leefgebied", l)) => f.leefgebieden.contains(l),
        Some(("partner_type", t)) => f.partner_types.contains(t),
        _ => match series {
            "total" => true,
            "with_plan" => f.first_plan.is_some(),
            _ => false,
        },
    }
}

/// The small-cell protection of one region's cases (module docs, points 2 to 6).
pub struct Protector<'a> {
    k: u64,
    region: String,
    /// Month index of each case's registration, in the order of `facts`.
    months: Vec<i32>,
    facts: &'a [CaseFacts],
    partner_types: Vec<String>,
    draw: Draw<'a>,
}

impl<'a> Protector<'a> {
    pub fn new(
        facts: &'a [CaseFacts],
        min_cell: u32,
        region: &str,
        partner_types: &[String],
        draw: Draw<'a>,
    ) -> Self {
        Protector {
            k: u64::from(min_cell.max(1)),
            region: region.to_string(),
            months: facts
                .iter()
                .map(|f| month_index(f.created_at.date_naive()))
                .collect(),
            facts,
            partner_types: partner_types.to_vec(),
            draw,
        }
    }

    /// The keyed draw for a series at a value (a floor multiple, or a partition's counts).
    /// Keyed by value, not by the boundary, so a series that did not change between two
    /// boundaries is rounded the same at both and an empty period shows nothing.
    fn draw(&self, what: &str, value: &str) -> u64 {
        (self.draw)(format!("{}\n{what}\n{value}", self.region).as_bytes())
    }

    /// `P_s(B)` for every series: the keyed, controlled rounding of the number of cases
    /// registered before month `boundary`. Depends on the boundary only, never on the query.
    fn rounded_at(&self, boundary: i32) -> BTreeMap<String, u64> {
        let (kinds, phases, single) = series_of(&self.partner_types);
        let before: Vec<&CaseFacts> = self
            .facts
            .iter()
            .zip(&self.months)
            .filter(|(_, m)| **m < boundary)
            .map(|(f, _)| f)
            .collect();
        let count = |s: &str| before.iter().filter(|f| in_series(f, s)).count() as u64;
        let mut out = BTreeMap::new();
        let n = before.len() as u64;
        let floor = |c: u64| (c / self.k * self.k).to_string();
        let total = keyed_round(n, self.k, self.draw("total", &floor(n)));
        out.insert("total".to_string(), total);
        for group in [&kinds, &phases] {
            let cells: Vec<u64> = group.iter().map(|s| count(s)).collect();
            let key: Vec<String> = cells.iter().map(u64::to_string).collect();
            let key = key.join(",");
            let mut priority: Vec<(u64, usize)> = group
                .iter()
                .enumerate()
                .map(|(i, s)| (self.draw(s, &key), i))
                .collect();
            priority.sort_unstable();
            let priority: Vec<usize> = priority.into_iter().map(|(_, i)| i).collect();
            for (s, v) in group
                .iter()
                .zip(controlled_round(&cells, total, self.k, &priority))
            {
                out.insert(s.clone(), v);
            }
        }
        for s in &single {
            let c = count(s);
            out.insert(
                s.clone(),
                keyed_round(c, self.k, self.draw(s, &c.to_string())),
            );
        }
        out
    }

    /// The figures of one period.
    pub fn period(&self, period: &Period) -> PeriodFigures {
        let start = self.rounded_at(period.start);
        let end = self.rounded_at(period.end);
        let cell = |s: &str| match figure(
            start.get(s).copied().unwrap_or(0),
            end.get(s).copied().unwrap_or(0),
            self.k,
        ) {
            Some(v) => Cell {
                count: Some(v),
                suppressed: false,
            },
            None => Cell::SUPPRESSED,
        };
        let table = |prefix: &str, keys: Vec<String>| -> BTreeMap<String, Cell> {
            keys.into_iter()
                .map(|key| {
                    let c = cell(&format!("{prefix}:{key}"));
                    (key, c)
                })
                .collect()
        };
        let cases = cell("total");
        let mut by_kind = table(
            "kind",
            CaseKind::ALL.iter().map(|k| k.to_string()).collect(),
        );
        let mut by_phase = table("phase", Phase::ALL.iter().map(|p| p.to_string()).collect());
        if !cases.suppressed {
            complementary_suppression(&mut by_kind);
            complementary_suppression(&mut by_phase);
        }
        let by_leefgebied = table(
            "leefgebied",
            Leefgebied::ALL.iter().map(|l| l.to_string()).collect(),
        );
        let by_partner_type = table("partner_type", self.partner_types.clone());
        let with_plan = cell("with_plan");
        // Each boundary is known to within base - 1, so a figure of 3k means more than k cases.
        let median_days = match with_plan.count {
            Some(v) if v >= 3 * self.k => self.median_days(period),
            _ => None,
        };
        PeriodFigures {
            period: period.label(),
            start: month_start(period.start),
            end: month_start(period.end),
            cases,
            by_kind,
            by_phase,
            by_leefgebied,
            by_partner_type,
            time_to_plan: TimeToPlan {
                cases_with_plan: with_plan,
                median_days,
            },
        }
    }

    /// Median days from registration to first afspraak of the period's cohort.
    fn median_days(&self, period: &Period) -> Option<i64> {
        let mut days: Vec<i64> = self
            .facts
            .iter()
            .zip(&self.months)
            .filter(|(_, m)| (period.start..period.end).contains(*m))
            .filter_map(|(f, _)| f.first_plan.map(|p| (p - f.created_at).num_days().max(0)))
            .collect();
        if days.is_empty() {
            return None;
        }
        days.sort_unstable();
        let mid = days.len() / 2;
        Some(if days.len() % 2 == 1 {
            days[mid]
        } else {
            (days[mid - 1] + days[mid]) / 2
        })
    }
}

/// If exactly one cell of a partition is suppressed while its total is shown, suppresses the
/// smallest shown cell too (module docs, point 5).
pub fn complementary_suppression(cells: &mut BTreeMap<String, Cell>) {
    if cells.values().filter(|c| c.suppressed).count() != 1 {
        return;
    }
    let smallest = cells
        .iter()
        .filter_map(|(k, c)| c.count.map(|n| (n, k.clone())))
        .min();
    if let Some((_, key)) = smallest {
        cells.insert(key, Cell::SUPPRESSED);
    }
}

#[cfg(test)]
mod tests;
