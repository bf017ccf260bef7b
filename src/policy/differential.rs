//! Inputs for comparing the fast path with the reference interpreter: a compact set for the
//! start-up self-check and a large seeded set for the differential test. Both are built from
//! the convenant data of the bundle under test (its partner types, roles, purposes,
//! categories, leefgebieden), so an administrator's own convenant is covered by its own names.

use serde_json::{json, Value as Json};

use crate::fuzz::engine::Rng;

/// Draws on the fuzzer's seeded SplitMix64 generator, so a failing input can be regenerated
/// from its seed.
trait Draw {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T>;
    /// True `percent` times in a hundred.
    fn percent(&mut self, percent: u64) -> bool;
}

impl Draw for Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }

    fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// The names a convenant defines, plus names it does not know (to test refusals).
struct Names {
    partner_types: Vec<String>,
    roles: Vec<String>,
    purposes: Vec<String>,
    categories: Vec<String>,
    leefgebieden: Vec<String>,
    region: String,
    budgets: Vec<i64>,
}

impl Names {
    fn of(data: &Json) -> Names {
        let conv = &data["convenant"];
        let keys = |v: &Json| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let strings = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut categories = keys(&conv["categories"]);
        if categories.is_empty() {
            categories = strings(&conv["categories"]);
        }
        let budgets = conv["partner_types"]
            .as_object()
            .map(|o| {
                o.values()
                    .filter_map(|p| p["daily_budget"].as_i64())
                    .collect()
            })
            .unwrap_or_default();
        let with_unknown = |mut v: Vec<String>, unknown: &str| {
            v.push(unknown.to_string());
            v.push(String::new());
            v
        };
        Names {
            partner_types: with_unknown(keys(&conv["partner_types"]), "onbekend"),
            roles: with_unknown(keys(&conv["roles"]), "stagiair"),
            purposes: with_unknown(keys(&conv["purposes"]), "nieuwsgierigheid"),
            categories: with_unknown(categories, "geheim"),
            leefgebieden: with_unknown(strings(&conv["leefgebieden"]), "ruimtevaart"),
            region: conv["region"].as_str().unwrap_or("").to_string(),
            budgets,
        }
    }
}

const ACTIONS: &[&str] = &[
    "read_person",
    "read_person",
    "read_person",
    "lookup",
    "lookup",
    "review_disclosures",
    "administer",
    "read_signals",
    "register_case",
    "bulk_export",
];

const PHASES: &[&str] = &[
    "aanmelding",
    "screening",
    "mdo",
    "uitvoering",
    "uitvoering",
    "afgesloten",
    "onbekend",
];

fn oin(n: u64) -> String {
    format!("000000990000000000{:02}", n % 100)
}

/// One generated input. `seed` picks everything; about one in eight is malformed somewhere.
fn generated(names: &Names, seed: u64) -> Json {
    let mut rng = Rng::new(seed);
    let pick = |rng: &mut Rng, v: &[String]| rng.pick(v).cloned().unwrap_or_default();
    let action = *rng.pick(ACTIONS).unwrap_or(&"read_person");
    let partner_type = pick(&mut rng, &names.partner_types);
    let budget_limit = rng.pick(&names.budgets).copied().unwrap_or(100);
    let used = match rng.below(6) {
        0 => 0,
        1 => budget_limit - 1,
        2 => budget_limit,
        3 => budget_limit + 1,
        _ => rng.below(budget_limit.max(1) as usize) as i64,
    };
    let mut fields = Vec::new();
    for i in 0..rng.below(12) {
        let person_attribute = rng.percent(30);
        let category = pick(&mut rng, &names.categories);
        let leefgebied = if person_attribute {
            Json::Null
        } else {
            json!(pick(&mut rng, &names.leefgebieden))
        };
        let age = match rng.below(5) {
            0 => 0,
            1 => 2555,
            2 => 2556,
            3 => 10_000,
            _ => rng.below(2000) as i64,
        };
        let name = if person_attribute {
            format!("persoon.attribuut{i}")
        } else {
            format!("item:{i}")
        };
        fields.push(
            json!({"name": name, "category": category, "leefgebied": leefgebied, "age_days": age}),
        );
    }
    let participants: Vec<Json> = (0..rng.below(6))
        .map(|i| json!({"oin": oin(i as u64 + 11), "partner_type": pick(&mut rng, &names.partner_types), "since": "2026-10-01T00:00:00Z"}))
        .collect();
    let leefgebieden: Json = match rng.below(4) {
        0 => json!([pick(&mut rng, &names.leefgebieden)]),
        1 => json!([
            pick(&mut rng, &names.leefgebieden),
            pick(&mut rng, &names.leefgebieden)
        ]),
        _ => Json::Null,
    };
    let mut input = json!({
        "action": action,
        "now": "2026-11-24T12:00:00Z",
        "requester": {
            "oin": oin(rng.below(9) as u64 + 11),
            "partner_type": partner_type,
            "role": pick(&mut rng, &names.roles),
            "purpose": pick(&mut rng, &names.purposes),
            "sub": format!("medewerker-{}", rng.below(3)),
        },
        "budget": {"used": used},
        "case": {
            "id": format!("0194a0b0-0000-7000-8000-{:012}", rng.below(3)),
            "kind": "persoon",
            "phase": *rng.pick(PHASES).unwrap_or(&"uitvoering"),
            "region": if rng.percent(90) { names.region.clone() } else { "elders".into() },
            "requester_is_participant": rng.percent(70),
            "participants": participants,
        },
        "request": {"leefgebieden": leefgebieden},
        "fields": fields,
    });
    if rng.percent(15) {
        input["request"]["reason_stated"] = json!(rng.percent(50));
    }
    if rng.percent(12) {
        malform(&mut rng, &mut input);
    }
    input
}

/// Breaks one thing the way a buggy or hostile caller might.
fn malform(rng: &mut Rng, input: &mut Json) {
    let Some(obj) = input.as_object_mut() else {
        return;
    };
    match rng.below(12) {
        0 => {
            obj.remove("budget");
        }
        1 => {
            obj.insert("budget".into(), json!({"used": "veel"}));
        }
        2 => {
            obj.insert("budget".into(), json!({"used": -1}));
        }
        3 => {
            obj.remove("requester");
        }
        4 => {
            obj.insert("requester".into(), json!("politie"));
        }
        5 => {
            obj.remove("case");
        }
        6 => {
            obj.insert("fields".into(), json!({"name": "persoon.naam"}));
        }
        7 => {
            obj.insert("fields".into(), json!(["persoon.naam", 3, null]));
        }
        8 => {
            obj.insert("action".into(), json!(7));
        }
        9 => {
            obj.insert("request".into(), json!({"leefgebieden": "wonen"}));
        }
        10 => {
            if let Some(f) = obj.get_mut("fields").and_then(|f| f.as_array_mut()) {
                f.push(
                    json!({"name": "item:x", "category": null, "leefgebied": 5, "age_days": "oud"}),
                );
            }
        }
        _ => {
            if let Some(r) = obj.get_mut("requester").and_then(|r| r.as_object_mut()) {
                r.insert("oin".into(), json!("123"));
            }
        }
    }
}

/// `count` inputs generated from `seed` onwards for the convenant in `data`.
pub fn generated_inputs(data: &Json, seed: u64, count: usize) -> Vec<Json> {
    let names = Names::of(data);
    (0..count as u64)
        .map(|i| generated(&names, seed + i))
        .collect()
}

/// The start-up self-check's inputs: every partner type reading a person and looking one up
/// as a professional at the table, plus a fixed sample of generated (and malformed) inputs.
pub fn self_check_inputs(data: &Json) -> Vec<Json> {
    let names = Names::of(data);
    let mut inputs = Vec::new();
    for partner_type in &names.partner_types {
        let mut input = generated(&names, 1);
        input["action"] = json!("read_person");
        input["requester"]["partner_type"] = json!(partner_type);
        input["requester"]["role"] = json!("professional");
        input["requester"]["purpose"] = json!("casusoverleg");
        input["case"]["phase"] = json!("uitvoering");
        input["case"]["region"] = json!(names.region);
        input["case"]["requester_is_participant"] = json!(true);
        input["fields"] = json!(names
            .categories
            .iter()
            .zip(names.leefgebieden.iter().cycle())
            .enumerate()
            .map(|(i, (c, l))| json!({"name": format!("item:{i}"), "category": c, "leefgebied": l, "age_days": 30}))
            .collect::<Vec<_>>());
        inputs.push(input.clone());
        input["action"] = json!("lookup");
        inputs.push(input);
    }
    inputs.extend((0..24).map(|i| generated(&names, 0x5e1f_c4ec + i)));
    inputs
}
