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
fn keyed_rounding_goes_to_a_neighbouring_multiple() {
    assert_eq!(keyed_round(10, 5, 3), 10, "multiples stay");
    assert_eq!(keyed_round(0, 5, 0), 0);
    // Remainder 2: up when draw % 5 is 0 or 1 (threshold 1 + draw % 5 at most 2).
    assert_eq!(keyed_round(12, 5, 0), 15);
    assert_eq!(keyed_round(12, 5, 6), 15);
    assert_eq!(keyed_round(12, 5, 2), 10);
    assert_eq!(keyed_round(3, 5, 4), 0);
    // Monotone for one draw.
    for draw in 0..5 {
        let r: Vec<u64> = (10..15).map(|c| keyed_round(c, 5, draw)).collect();
        assert!(r.windows(2).all(|w| w[0] <= w[1]), "{r:?}");
    }
    // Controlled: floors [5, 0, 0], one cell up, the first with a remainder in priority order.
    assert_eq!(controlled_round(&[7, 2, 0], 10, 5, &[2, 1, 0]), [5, 5, 0]);
    assert_eq!(controlled_round(&[7, 2, 0], 10, 5, &[0, 1, 2]), [10, 0, 0]);
    assert_eq!(controlled_round(&[7, 2, 0], 5, 5, &[0, 1, 2]), [5, 0, 0]);
    assert_eq!(controlled_round(&[7, 2, 0], 15, 5, &[2, 0, 1]), [10, 5, 0]);
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

/// The brute-force attacker. `data` holds, per possible dataset and per way the unknown key
/// could have made the rounding choices, what was published (the observation), the true cell
/// values capped at k (k stands for "k or more", which may be pinned) and whether the dataset
/// lies away from the enumeration's edges (at an edge the attacker's knowledge would come from
/// the enumeration bound, not from the figures). Returns how many small true counts (below k)
/// of interior datasets have only one value consistent with an observation, i.e. could be
/// derived by combining everything published.
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

/// Every way keyed rounding may round one count (the attacker does not know the key).
fn keyed_options(count: u64, k: u64) -> Vec<u64> {
    let mut o: Vec<u64> = (0..k).map(|draw| keyed_round(count, k, draw)).collect();
    o.sort_unstable();
    o.dedup();
    o
}

/// Every combination of one option per boundary.
fn combinations(options: &[Vec<u64>]) -> Vec<Vec<u64>> {
    options.iter().fold(vec![vec![]], |acc, opts| {
        acc.iter()
            .flat_map(|prefix| {
                opts.iter().map(move |o| {
                    let mut v = prefix.clone();
                    v.push(*o);
                    v
                })
            })
            .collect()
    })
}

/// One series over a quarter: the cumulative counts at its four month boundaries, every start
/// value and month counts. Querying the quarter and its months (or any overlapping window,
/// which is a difference of the same boundaries) never pins a count below k.
fn quarter_attack(k: u64) -> usize {
    let m_max = 2 * k + 4;
    let mut data = Vec::new();
    for c0 in 0..3 * k {
        for m1 in 0..m_max {
            for m2 in 0..m_max {
                for m3 in 0..m_max {
                    let c = [c0, c0 + m1, c0 + m1 + m2, c0 + m1 + m2 + m3];
                    let cells = [m1, m2, m3, m1 + m2 + m3].map(|v| v.min(k)).to_vec();
                    let interior = m1.max(m2).max(m3) < m_max - k && (k..=2 * k).contains(&c0);
                    let options: Vec<Vec<u64>> = c.iter().map(|c| keyed_options(*c, k)).collect();
                    // The rounding is a monotone keyed function of the count: equal counts
                    // round alike and the figures never go down.
                    for obs in combinations(&options) {
                        let consistent = (0..3).all(|i| obs[i] <= obs[i + 1])
                            && (0..4).all(|i| (0..4).all(|j| c[i] != c[j] || obs[i] == obs[j]));
                        if consistent {
                            data.push((obs, cells.clone(), interior));
                        }
                    }
                }
            }
        }
    }
    small_pins(&data, k)
}

#[test]
fn differencing_a_quarter_and_its_months_pins_no_small_count() {
    for k in [4, 5] {
        assert_eq!(quarter_attack(k), 0, "k = {k}");
    }
}

/// Every way the protection may round a partition of two cells and its total at one boundary.
fn partition_options(a: u64, b: u64, k: u64) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    for total in keyed_options(a + b, k) {
        for priority in [[0, 1], [1, 0]] {
            let mut v = controlled_round(&[a, b], total, k, &priority);
            v.push(total);
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// A partition (two kinds) and its total over one month: the total minus the other cell, or
/// any combination with the previous boundary, never pins a count below k.
fn partition_attack(k: u64, range: u64) -> usize {
    let mut data = Vec::new();
    for a0 in 0..range {
        for b0 in 0..range {
            let start = partition_options(a0, b0, k);
            for ma in 0..range {
                for mb in 0..range {
                    let end = partition_options(a0 + ma, b0 + mb, k);
                    let cells: Vec<u64> = [ma, mb, ma + mb].iter().map(|v| (*v).min(k)).collect();
                    let interior = a0.max(b0).max(ma).max(mb) <= range - 2 * k;
                    for s in &start {
                        for e in &end {
                            // Equal counts (an empty month) are rounded alike.
                            if ma == 0 && mb == 0 && s != e {
                                continue;
                            }
                            let obs: Vec<u64> = s.iter().chain(e).copied().collect();
                            data.push((obs, cells.clone(), interior));
                        }
                    }
                }
            }
        }
    }
    small_pins(&data, k)
}

#[test]
fn differencing_a_partition_against_its_total_pins_no_small_count() {
    assert_eq!(partition_attack(5, 18), 0, "k = 5");
    assert_eq!(partition_attack(4, 16), 0, "k = 4");
}

#[test]
fn a_threshold_of_three_would_let_differencing_pin_counts() {
    // Why signals.min_cell has a floor of 4 (module docs, point 3): one series alone would
    // be safe, a partition and its total are not.
    assert_eq!(quarter_attack(3), 0);
    assert!(partition_attack(3, 14) > 0);
}

/// Deterministic rounding to the nearest multiple, halves up (what a naive implementation
/// would do).
fn half_up(c: u64, k: u64) -> u64 {
    (c + k / 2) / k * k
}

#[test]
fn naive_rounding_or_true_count_suppression_would_leak() {
    // 1. Rounding each figure of a partition on its own, deterministically: the total and the
    //    cells' known intervals pin cells. Four phases of 3 cases each (12, published 10):
    //    each phase shows 5, so each is at least 3, and their sum is at most 12: all are 3.
    let cells = [3u64, 3, 3, 3];
    let shown: Vec<u64> = cells.iter().map(|c| half_up(*c, 5)).collect();
    let total = half_up(cells.iter().sum(), 5);
    assert_eq!((shown.as_slice(), total), (&[5u64, 5, 5, 5][..], 10));
    let least: u64 = shown.iter().map(|s| s - 2).sum(); // each >= 3
    assert_eq!(least, total + 2); // = the most the total can be: every cell is exactly 3
                                  // 2. Suppressing on the true count, then rounding each query on its own: months 4, 7, 7
                                  //    (quarter 18) publish as -, 5, 5 and 20, so month 1 >= 18 - 7 - 7 = 4 and (being
                                  //    suppressed) <= 4.
    let naive = |c: u64| if c < 5 { None } else { Some(half_up(c, 5)) };
    let (m, q) = ([4u64, 7, 7], 18u64);
    assert_eq!(naive(m[0]), None);
    let (q_pub, m2, m3) = (
        naive(q).unwrap(),
        naive(m[1]).unwrap(),
        naive(m[2]).unwrap(),
    );
    assert_eq!(q_pub - 2 - (m2 + 2) - (m3 + 2), 4);
    // Ours: a quarter is the difference of the same rounded boundaries as its months, so
    // subtracting months from it only gives back another published figure.
    let c = [0u64, 4, 11, 18];
    let p: Vec<u64> = c.iter().map(|c| keyed_round(*c, 5, 1)).collect();
    let months: u64 = (0..3).map(|i| p[i + 1] - p[i]).sum();
    assert_eq!(months, p[3] - p[0]);
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

/// January 2025: 9 persoon and 2 systeem cases; one gebied case in February.
fn small_region() -> Vec<CaseFacts> {
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
    facts
}

fn types() -> Vec<String> {
    ["politie", "ggz", "rvdk", "gemeente"]
        .map(String::from)
        .to_vec()
}

fn hash_draw(label: &[u8]) -> u64 {
    u64::from_be_bytes(crate::crypto::sha256(label)[..8].try_into().unwrap())
}

#[test]
fn a_small_region_shows_no_count_below_k() {
    let facts = small_region();
    let types = types();
    let today = d(2026, 1, 15);
    let q1 = || {
        query(
            Granularity::Quarter,
            Some(d(2025, 1, 1)),
            Some(d(2025, 4, 1)),
        )
    };
    let months = periods(
        &query(Granularity::Month, Some(d(2025, 1, 1)), Some(d(2025, 4, 1))),
        today,
    )
    .unwrap();
    let quarter = periods(&q1(), today).unwrap();
    let draws: [Draw; 3] = [&|_| 0, &|_| u64::MAX, &hash_draw];
    for draw in draws {
        let protector = Protector::new(&facts, 5, "test", &types, draw);
        let m: Vec<PeriodFigures> = months.iter().map(|p| protector.period(p)).collect();
        let q = protector.period(&quarter[0]);
        let mut all = Vec::new();
        counts(&serde_json::to_value(&m).unwrap(), &mut all);
        counts(&serde_json::to_value(&q).unwrap(), &mut all);
        assert!(!all.is_empty());
        assert!(all.iter().all(|n| *n >= 5 && n % 5 == 0), "{all:?}");
        // March has no cases: nothing to show, whatever the rounding.
        assert!(m[2].cases.suppressed);
        // Every series: the quarter is exactly the sum of its months (telescoping), so
        // subtracting published months from the quarter reveals only published figures.
        let p: Vec<BTreeMap<String, u64>> = [0, 1, 2, 3]
            .iter()
            .map(|i| protector.rounded_at(months[0].start + i))
            .collect();
        for s in p[0].keys() {
            let sum: i64 = (0..3).map(|i| p[i + 1][s] as i64 - p[i][s] as i64).sum();
            assert_eq!(sum, p[3][s] as i64 - p[0][s] as i64, "{s}");
        }
        // The partitions add up to the rounded total at every boundary.
        for b in &p {
            let kinds: u64 = b
                .iter()
                .filter(|(s, _)| s.starts_with("kind:"))
                .map(|(_, v)| v)
                .sum();
            let phases: u64 = b
                .iter()
                .filter(|(s, _)| s.starts_with("phase:"))
                .map(|(_, v)| v)
                .sum();
            assert_eq!(kinds, b["total"]);
            assert_eq!(phases, b["total"]);
        }
    }
    // Always rounding up (draw 0): January has 11 cases -> 15; persoon 9 -> 10 and systeem
    // 2 -> 5 (a rounded figure, never the true 2); the total stays consistent.
    let protector = Protector::new(&facts, 5, "test", &types, &|_| 0);
    let jan = protector.period(&months[0]);
    assert_eq!(jan.cases.count, Some(15));
    assert_eq!(jan.by_kind["persoon"].count, Some(10));
    // gebied (0) is suppressed, so systeem (the smallest shown kind) is too: the total minus
    // persoon must not fill in one blank.
    assert!(jan.by_kind["gebied"].suppressed);
    assert!(jan.by_kind["systeem"].suppressed);
    // Draw 4 (never below a remainder) rounds single counts down: 11 -> 10; the partition
    // then rounds one cell up to add up (persoon 9 -> 10, systeem 2 -> 0).
    let protector = Protector::new(&facts, 5, "test", &types, &|_| 4);
    let jan = protector.period(&months[0]);
    assert_eq!(jan.cases.count, Some(10));
    assert_eq!(jan.by_kind["persoon"].count, Some(10));
    assert!(jan.by_kind["systeem"].suppressed);
    assert!(
        jan.by_leefgebied["verslaving"].suppressed,
        "3 round down to 0"
    );
    assert_eq!(jan.by_partner_type["politie"].count, Some(5));
    // Not 3k cases with a plan: no median.
    assert_eq!(jan.time_to_plan.median_days, None);
}

#[test]
fn the_same_figure_is_always_rounded_the_same_way() {
    // Repeating a query (or asking it as part of another window) gives no second sample.
    let facts = small_region();
    let types = types();
    let one = Protector::new(&facts, 5, "test", &types, &hash_draw);
    let two = Protector::new(&facts, 5, "test", &types, &hash_draw);
    let b = month_index(d(2025, 2, 1));
    assert_eq!(one.rounded_at(b), two.rounded_at(b));
}

#[test]
fn medians_need_three_times_k_cases_with_a_plan() {
    let facts: Vec<CaseFacts> = (0..16)
        .map(|i| {
            let mut f = case(at(2025, 3, 1 + i), "persoon", "uitvoering", &[], &[]);
            f.first_plan = Some(f.created_at + chrono::Duration::days(i64::from(i) * 2));
            f
        })
        .collect();
    let p = periods(
        &query(Granularity::Month, Some(d(2025, 3, 1)), Some(d(2025, 4, 1))),
        d(2025, 6, 1),
    )
    .unwrap();
    // 16 rounds to 15 (draw 4: down) = 3k: the median (of 0, 2, .., 30) shows.
    let f = Protector::new(&facts, 5, "r", &[], &|_| 4).period(&p[0]);
    assert_eq!(f.time_to_plan.cases_with_plan.count, Some(15));
    assert_eq!(f.time_to_plan.median_days, Some(15));
    // 12 cases: at most 15 shown... rounding down gives 10 < 3k: no median.
    let f = Protector::new(&facts[..12], 5, "r", &[], &|_| 4).period(&p[0]);
    assert_eq!(f.time_to_plan.cases_with_plan.count, Some(10));
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
