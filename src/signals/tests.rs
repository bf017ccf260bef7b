//! Tests of the small-cell protection, including brute-force differencing attackers.

use std::collections::{BTreeSet, HashMap};

use chrono::TimeZone;

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn query(g: Granularity, from: Option<NaiveDate>, until: Option<NaiveDate>) -> SignalsQuery {
    SignalsQuery {
        region: None,
        granularity: g,
        from,
        until,
    }
}

#[test]
fn rounds_half_up_to_the_base() {
    let r: Vec<u64> = (0..=13).map(|c| round_to(c, 5)).collect();
    assert_eq!(r, [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 15]);
    assert_eq!(round_to(2, 4), 4);
    assert_eq!(round_to(1, 4), 0);
}

#[test]
fn windows_are_whole_ended_calendar_periods() {
    let today = d(2026, 11, 30);
    // from rounds down, until rounds up to a quarter boundary.
    let p = periods(
        &query(
            Granularity::Quarter,
            Some(d(2025, 2, 14)),
            Some(d(2025, 8, 2)),
        ),
        today,
    )
    .unwrap();
    let labels: Vec<String> = p.iter().map(Period::label).collect();
    assert_eq!(labels, ["2025-Q1", "2025-Q2", "2025-Q3"]);
    assert_eq!(month_start(p[0].start), d(2025, 1, 1));
    assert_eq!(month_start(p[2].end), d(2025, 10, 1));
    // An until on a boundary is exclusive.
    let p = periods(
        &query(Granularity::Month, Some(d(2025, 1, 1)), Some(d(2025, 3, 1))),
        today,
    )
    .unwrap();
    assert_eq!(
        p.iter().map(Period::label).collect::<Vec<_>>(),
        ["2025-01", "2025-02"]
    );
    // The open period is never published: until is capped at its start.
    let p = periods(&query(Granularity::Month, Some(d(2026, 9, 1)), None), today).unwrap();
    assert_eq!(
        p.iter().map(Period::label).collect::<Vec<_>>(),
        ["2026-09", "2026-10"]
    );
    let p = periods(&query(Granularity::Year, None, Some(d(2030, 1, 1))), today).unwrap();
    assert_eq!(
        p.iter().map(Period::label).collect::<Vec<_>>(),
        ["2023", "2024", "2025"]
    );
    assert!(periods(
        &query(Granularity::Month, Some(d(2026, 11, 2)), None),
        today
    )
    .is_err());
    assert!(periods(&query(Granularity::Month, Some(d(2010, 1, 1)), None), today).is_err());
    assert!(periods(&query(Granularity::Month, Some(d(1999, 1, 1)), None), today).is_err());
}

/// The observation of one series: the rounded cumulative counts at every boundary, which
/// determine every figure of every granularity (and so every suppression decision).
fn observe(cumulative: &[u64], k: u64) -> Vec<u64> {
    cumulative.iter().map(|c| round_to(*c, k)).collect()
}

/// The brute-force attacker. `data` holds, per possible dataset, what was published (the
/// observation), the true cell values capped at k (k stands for "k or more", which may be
/// pinned) and whether the dataset lies away from the enumeration's edges (at an edge the
/// attacker's knowledge would come from the enumeration bound, not from the figures). Returns
/// how many small true counts (below k) of interior datasets have only one value consistent
/// with their observation, i.e. could be derived.
fn small_pins(data: &[(Vec<u64>, Vec<u64>, bool)], k: u64) -> usize {
    let mut seen: HashMap<&[u64], Vec<BTreeSet<u64>>> = HashMap::new();
    for (obs, cells, _) in data {
        let e = seen
            .entry(obs.as_slice())
            .or_insert_with(|| vec![BTreeSet::new(); cells.len()]);
        for (i, c) in cells.iter().enumerate() {
            e[i].insert(*c);
        }
    }
    data.iter()
        .filter(|(_, _, interior)| *interior)
        .map(|(obs, cells, _)| {
            let sets = &seen[obs.as_slice()];
            cells
                .iter()
                .enumerate()
                .filter(|(i, c)| **c < k && sets[*i].len() < 2)
                .count()
        })
        .sum()
}

/// A quarter and its three months of one series, for every start value and month counts:
/// querying the quarter and its months (or any overlapping window, which is a difference of
/// the same boundaries) never pins a count below k.
fn quarter_attack(k: u64) -> usize {
    let m_max = 3 * k + 6;
    let mut data = Vec::new();
    for c0 in 0..4 * k {
        for m1 in 0..m_max {
            for m2 in 0..m_max {
                for m3 in 0..m_max {
                    let c = [c0, c0 + m1, c0 + m1 + m2, c0 + m1 + m2 + m3];
                    let cells = [m1, m2, m3, m1 + m2 + m3].map(|v| v.min(k)).to_vec();
                    let interior =
                        m1.max(m2).max(m3) <= m_max - k - 2 && (k..=3 * k - 2).contains(&c0);
                    data.push((observe(&c, k), cells, interior));
                }
            }
        }
    }
    small_pins(&data, k)
}

#[test]
fn differencing_a_quarter_and_its_months_pins_no_small_count() {
    assert_eq!(quarter_attack(5), 0, "k = 5");
    assert_eq!(quarter_attack(4), 0, "k = 4");
}

/// A partition (two kinds) and its total over one month: the total minus the other cell, or
/// any combination with the previous boundary, never pins a count below k.
fn partition_attack(k: u64, range: u64) -> usize {
    let mut data = Vec::new();
    for a0 in 0..range {
        for b0 in 0..range {
            for ma in 0..range {
                for mb in 0..range {
                    let mut obs = observe(&[a0, a0 + ma], k);
                    obs.extend(observe(&[b0, b0 + mb], k));
                    obs.extend(observe(&[a0 + b0, a0 + b0 + ma + mb], k));
                    let cells: Vec<u64> = [ma, mb, ma + mb].iter().map(|v| (*v).min(k)).collect();
                    let lim = range - 2 * k;
                    let interior = a0.max(b0).max(ma).max(mb) <= lim;
                    data.push((obs, cells, interior));
                }
            }
        }
    }
    small_pins(&data, k)
}

#[test]
fn differencing_a_partition_against_its_total_pins_no_small_count() {
    assert_eq!(partition_attack(5, 20), 0, "k = 5");
    assert_eq!(partition_attack(4, 16), 0, "k = 4");
}

#[test]
fn a_threshold_of_three_would_let_differencing_pin_counts() {
    // Why signals.min_cell has a floor of 4 (module docs, point 2).
    assert!(partition_attack(3, 14) > 0);
}

#[test]
fn suppression_on_the_true_count_would_leak() {
    // The naive alternative (suppress when the true count is below k, then round each figure
    // on its own) lets quarter - months pin a month: months 4, 7, 7 (quarter 18).
    let naive = |c: u64| if c < 5 { None } else { Some(round_to(c, 5)) };
    let (m, q) = ([4u64, 7, 7], 18u64);
    assert_eq!(naive(m[0]), None);
    let (q_pub, m2, m3) = (
        naive(q).unwrap(),
        naive(m[1]).unwrap(),
        naive(m[2]).unwrap(),
    );
    // q >= q_pub - 2, m <= m_pub + 2: m1 >= 18 - 7 - 7 = 4, and suppressed means m1 <= 4.
    assert_eq!(q_pub - 2 - (m2 + 2) - (m3 + 2), 4);
    // Ours publishes only differences of rounded cumulative counts: the quarter is the sum of
    // its months, so subtracting reveals only another published figure.
    let c = [0u64, 4, 11, 18];
    let p = observe(&c, 5);
    let months: Vec<Option<u64>> = (0..3).map(|i| figure(p[i], p[i + 1], 5)).collect();
    let quarter = figure(p[0], p[3], 5);
    assert_eq!(months, [Some(5), Some(5), Some(10)]);
    assert_eq!(quarter, Some(20));
}

fn at(y: i32, m: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, 10, 0, 0).unwrap()
}

fn case(created: DateTime<Utc>, kind: &str, phase: &str, lg: &[&str], pt: &[&str]) -> CaseFacts {
    CaseFacts {
        created_at: created,
        kind: kind.into(),
        phase: phase.into(),
        leefgebieden: lg.iter().map(|s| s.to_string()).collect(),
        partner_types: pt.iter().map(|s| s.to_string()).collect(),
        first_plan: None,
    }
}

/// Every `count` in a serialised report is at least k.
fn counts(v: &serde_json::Value, out: &mut Vec<u64>) {
    match v {
        serde_json::Value::Object(m) => {
            for (key, value) in m {
                if key == "count" {
                    if let Some(n) = value.as_u64() {
                        out.push(n);
                    }
                }
                counts(value, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| counts(x, out)),
        _ => {}
    }
}

#[test]
fn a_small_region_shows_no_count_below_k() {
    // January 2025: 9 persoon and 2 systeem cases; one gebied case in February.
    let mut facts = Vec::new();
    for i in 0..9 {
        let mut f = case(
            at(2025, 1, 3 + i),
            "persoon",
            "mdo",
            &["wonen"],
            &["politie"],
        );
        if i < 3 {
            f.leefgebieden.insert("verslaving".into());
            f.partner_types.insert("ggz".into());
        }
        f.first_plan = Some(at(2025, 1, 3 + i) + chrono::Duration::days(10 + i64::from(i)));
        facts.push(f);
    }
    facts.push(case(
        at(2025, 1, 20),
        "systeem",
        "screening",
        &["gezin_relaties"],
        &["rvdk"],
    ));
    facts.push(case(
        at(2025, 1, 21),
        "systeem",
        "mdo",
        &["gezin_relaties"],
        &["rvdk"],
    ));
    facts.push(case(
        at(2025, 2, 2),
        "gebied",
        "aanmelding",
        &["veiligheid"],
        &["gemeente"],
    ));
    let types: Vec<String> = ["politie", "ggz", "rvdk", "gemeente"]
        .map(String::from)
        .to_vec();
    let protector = Protector::new(&facts, 5);
    let today = d(2026, 1, 15);
    let months = periods(
        &query(Granularity::Month, Some(d(2025, 1, 1)), Some(d(2025, 4, 1))),
        today,
    )
    .unwrap();
    let quarter = periods(
        &query(
            Granularity::Quarter,
            Some(d(2025, 1, 1)),
            Some(d(2025, 4, 1)),
        ),
        today,
    )
    .unwrap();
    let m: Vec<PeriodFigures> = months.iter().map(|p| protector.period(p, &types)).collect();
    let q = protector.period(&quarter[0], &types);

    let mut all = Vec::new();
    counts(&serde_json::to_value(&m).unwrap(), &mut all);
    counts(&serde_json::to_value(&q).unwrap(), &mut all);
    assert!(!all.is_empty());
    assert!(all.iter().all(|n| *n >= 5 && n % 5 == 0), "{all:?}");

    // January: 11 cases -> 10; persoon 9 -> 10; systeem (2) and gebied (0) suppressed.
    assert_eq!(m[0].cases.count, Some(10));
    assert!(m[0].by_kind["systeem"].suppressed);
    assert!(m[0].by_kind["gebied"].suppressed);
    assert_eq!(m[0].by_kind["persoon"].count, Some(10));
    assert!(m[0].by_phase["screening"].suppressed, "1 case");
    assert!(m[0].by_partner_type["rvdk"].suppressed, "2 cases");
    // 3 cases round to 5: a rounded figure, never the true small count.
    assert_eq!(m[0].by_leefgebied["verslaving"].count, Some(5));
    assert_eq!(m[0].by_partner_type["politie"].count, Some(10));
    // 9 cases with a plan round to 10 = 2k: the median (of 10..=18 days) shows.
    assert_eq!(m[0].time_to_plan.cases_with_plan.count, Some(10));
    assert_eq!(m[0].time_to_plan.median_days, Some(14));
    // February (one gebied case) and March (none) show nothing at all.
    for month in &m[1..] {
        assert!(month.cases.suppressed);
        assert!(month.by_kind.values().all(|c| c.suppressed));
    }
    // The quarter holds 12 cases but is the sum of its published months: 10, not a figure
    // from which February's single case could be told.
    assert_eq!(q.cases.count, Some(10));
}

#[test]
fn medians_need_twice_k_cases_with_a_plan() {
    let facts: Vec<CaseFacts> = (0..12)
        .map(|i| {
            let mut f = case(at(2025, 3, 1 + i), "persoon", "uitvoering", &[], &[]);
            f.first_plan = Some(f.created_at + chrono::Duration::days(i64::from(i) * 2));
            f
        })
        .collect();
    let protector = Protector::new(&facts, 5);
    let p = periods(
        &query(Granularity::Month, Some(d(2025, 3, 1)), Some(d(2025, 4, 1))),
        d(2025, 6, 1),
    )
    .unwrap();
    let f = protector.period(&p[0], &[]);
    // 12 rounds to 10 = 2k, so the median (of 0, 2, .., 22) shows.
    assert_eq!(f.time_to_plan.cases_with_plan.count, Some(10));
    assert_eq!(f.time_to_plan.median_days, Some(11));
    // 7 cases round to 5 < 2k: no median.
    let protector = Protector::new(&facts[..7], 5);
    let f = protector.period(&p[0], &[]);
    assert_eq!(f.time_to_plan.cases_with_plan.count, Some(5));
    assert_eq!(f.time_to_plan.median_days, None);
}

#[test]
fn complementary_suppression_hides_a_second_cell() {
    let cell = |n: Option<u64>| Cell {
        count: n,
        suppressed: n.is_none(),
    };
    let mut t: BTreeMap<String, Cell> = [
        ("a".to_string(), cell(None)),
        ("b".to_string(), cell(Some(10))),
        ("c".to_string(), cell(Some(5))),
    ]
    .into();
    complementary_suppression(&mut t);
    assert!(t["a"].suppressed && t["c"].suppressed && !t["b"].suppressed);
    // Two blanks already: nothing more to hide.
    let before = t.clone();
    complementary_suppression(&mut t);
    assert_eq!(t, before);
}
