//! The convenant's register of legal grounds and the grants that cite it.
//!
//! `data.convenant.legal_grounds.grounds` maps a ground id to its citation (the statutory
//! basis, as decisions and the access report quote it) and the categories it may be cited for.
//! A partner type receives a category on the ground it cites by id
//! (`partner_types.<type>.categories.<category>`), and contribution grounds
//! (`casework.contribution_grounds`) are ids of the same register. The policies resolve a
//! grant the same way ([`citation`]; `citation` in lib.rego) and fail closed on one that does
//! not resolve; the gateway refuses a bundle with such a grant before it gets that far
//! ([`problems`]), so an administrator's typo never silently withholds, and a sensitive
//! category is never granted on a ground nobody registered.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::bundle::ValidationProblem;

/// Categories that are sensitive whatever a convenant's `sensitive_categories` says:
/// special-category data (GDPR art. 9), criminal-law data (art. 10) and the BSN (Wabb).
pub const ALWAYS_SENSITIVE: [&str; 3] = ["bsn", "bijzonder", "strafrechtelijk"];

/// The sensitive categories of a convenant: [`ALWAYS_SENSITIVE`] and those it marks.
pub fn sensitive_categories(convenant: &Json) -> BTreeSet<String> {
    let marked = convenant["sensitive_categories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str);
    ALWAYS_SENSITIVE
        .into_iter()
        .chain(marked)
        .map(str::to_string)
        .collect()
}

/// The citation of registered ground `id` when it may be cited for `category`: the register
/// has it, with a non-blank citation, and it covers the category.
pub fn citation<'a>(convenant: &'a Json, id: &str, category: &str) -> Option<&'a str> {
    let ground = convenant["legal_grounds"]["grounds"].get(id)?;
    let covers = ground["categories"]
        .as_array()?
        .iter()
        .any(|c| c == category);
    let text = ground["citation"].as_str()?;
    (covers && !text.trim().is_empty()).then_some(text)
}

/// Per partner type, the categories it receives on a ground that resolves, with the ground's
/// citation: the only categories the policies can ever disclose to it.
pub fn resolved_grants(convenant: &Json) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut grants = BTreeMap::new();
    for (partner_type, doc) in convenant["partner_types"].as_object().into_iter().flatten() {
        let resolved = grants
            .entry(partner_type.clone())
            .or_insert_with(BTreeMap::new);
        for (category, id) in doc["categories"].as_object().into_iter().flatten() {
            if let Some(text) = id.as_str().and_then(|id| citation(convenant, id, category)) {
                resolved.insert(category.clone(), text.to_string());
            }
        }
    }
    grants
}

/// Everything about the convenant's grounds that the gateway refuses: grants on an empty
/// ground, on a ground the register lacks or on one that does not cover the category; register
/// entries without a citation or with unknown categories; contribution grounds outside the
/// register; unknown categories marked sensitive.
pub fn problems(convenant: &Json) -> Vec<ValidationProblem> {
    let mut problems = Vec::new();
    let mut refuse = |location: String, message: String| {
        problems.push(ValidationProblem {
            location: format!("convenant: {location}"),
            message,
        })
    };
    // Categories are checked against the convenant's own list when it has one.
    let categories: Option<BTreeSet<&str>> = convenant["categories"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect());
    let unknown = |c: &str| categories.as_ref().is_some_and(|known| !known.contains(c));
    let sensitive = sensitive_categories(convenant);

    match &convenant["sensitive_categories"] {
        Json::Null => {}
        Json::Array(marked) => {
            for c in marked {
                match c.as_str() {
                    Some(c) if !unknown(c) => {}
                    _ => refuse(
                        "sensitive_categories".into(),
                        format!("{c} is not a category of the convenant"),
                    ),
                }
            }
        }
        _ => refuse(
            "sensitive_categories".into(),
            "must be a list of categories".into(),
        ),
    }

    let register = convenant["legal_grounds"]["grounds"].as_object();
    match register {
        None if convenant["partner_types"].is_object() => refuse(
            "legal_grounds.grounds".into(),
            "the convenant has no register of legal grounds: partner types and contribution \
             grounds cite ground ids from it"
                .into(),
        ),
        None => {}
        Some(register) => {
            for (id, ground) in register {
                let at = format!("legal_grounds.grounds.{id}");
                if ground["citation"]
                    .as_str()
                    .is_none_or(|t| t.trim().is_empty())
                {
                    refuse(at.clone(), format!("ground {id} has no citation"));
                }
                match ground["categories"].as_array() {
                    Some(covered) if !covered.is_empty() => {
                        for c in covered {
                            match c.as_str() {
                                Some(c) if !unknown(c) => {}
                                _ => refuse(
                                    at.clone(),
                                    format!("ground {id} covers {c}, which is not a category of the convenant"),
                                ),
                            }
                        }
                    }
                    _ => refuse(
                        at.clone(),
                        format!("ground {id} names no categories it may be cited for"),
                    ),
                }
            }
        }
    }

    for (partner_type, doc) in convenant["partner_types"].as_object().into_iter().flatten() {
        for (category, grant) in doc["categories"].as_object().into_iter().flatten() {
            let at = format!("partner_types.{partner_type}.categories.{category}");
            let what = if sensitive.contains(category) {
                format!("sensitive category {category}")
            } else {
                format!("category {category}")
            };
            if unknown(category) {
                refuse(
                    at,
                    format!("partner type {partner_type} is granted {category}, which is not a category of the convenant"),
                );
                continue;
            }
            let Some(id) = grant.as_str().filter(|id| !id.trim().is_empty()) else {
                let given = if grant.is_string() || grant.is_null() {
                    "an empty legal ground".to_string()
                } else {
                    format!("{grant}, which is not a ground id")
                };
                refuse(
                    at,
                    format!("partner type {partner_type} is granted {what} on {given}: cite the id of a ground in legal_grounds.grounds"),
                );
                continue;
            };
            let Some(register) = register else {
                continue;
            };
            match register.get(id) {
                None => refuse(
                    at,
                    format!("partner type {partner_type} is granted {what} on ground \"{id}\", which is not in the register of legal grounds (legal_grounds.grounds)"),
                ),
                Some(ground) => {
                    let covers = ground["categories"].as_array();
                    if !covers.is_some_and(|c| c.iter().any(|c| c == category.as_str())) {
                        refuse(
                            at,
                            format!(
                                "partner type {partner_type} is granted {what} on ground \"{id}\", which does not cover {category} (it covers {})",
                                covers.map_or("nothing".into(), |c| Json::Array(c.clone()).to_string())
                            ),
                        );
                    }
                }
            }
        }
    }

    let Some(register) = register else {
        return problems;
    };
    let contribution = &convenant["casework"]["contribution_grounds"];
    for id in contribution
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, _)| id)
    {
        if !register.contains_key(id) {
            refuse(
                format!("casework.contribution_grounds.{id}"),
                format!("contribution ground \"{id}\" is not in the register of legal grounds (legal_grounds.grounds)"),
            );
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn convenant() -> Json {
        json!({
            "categories": {"identificerend": "", "bsn": "", "bijzonder": "", "overig": "", "kind": ""},
            "sensitive_categories": ["bsn", "bijzonder", "kind"],
            "legal_grounds": {"grounds": {
                "taak": {"citation": "AVG art. 6 lid 1 sub e", "categories": ["identificerend", "overig"]},
                "wabb": {"citation": "Wabb art. 10", "categories": ["bsn"]},
                "zorg": {"citation": "AVG art. 9 lid 2 sub h", "categories": ["bijzonder"]},
            }},
            "partner_types": {
                "ggz": {"categories": {"identificerend": "taak", "bsn": "wabb", "bijzonder": "zorg"}},
            },
            "casework": {"contribution_grounds": {"zorg": {"partner_types": ["ggz"]}}},
        })
    }

    fn with(mut c: Json, pointer: &str, value: Json) -> Json {
        *c.pointer_mut(pointer).expect("pointer") = value;
        c
    }

    #[test]
    fn a_sound_convenant_has_no_problems_and_resolves_citations() {
        let c = convenant();
        assert_eq!(problems(&c), vec![]);
        let grants = resolved_grants(&c);
        assert_eq!(grants["ggz"]["bsn"], "Wabb art. 10");
        assert_eq!(grants["ggz"].len(), 3);
        assert_eq!(
            sensitive_categories(&c),
            ["bijzonder", "bsn", "kind", "strafrechtelijk"]
                .map(String::from)
                .into()
        );
    }

    #[test]
    fn grants_that_do_not_resolve_are_named() {
        for (grant, expect) in [
            (
                json!(""),
                "sensitive category bijzonder on an empty legal ground",
            ),
            (
                json!(null),
                "sensitive category bijzonder on an empty legal ground",
            ),
            (
                json!({"citation": "AVG art. 9"}),
                "on {\"citation\":\"AVG art. 9\"}, which is not a ground id",
            ),
            (
                json!("zorgg"),
                "sensitive category bijzonder on ground \"zorgg\", which is not in the register",
            ),
            (
                json!("taak"),
                "sensitive category bijzonder on ground \"taak\", which does not cover bijzonder",
            ),
        ] {
            let c = with(
                convenant(),
                "/partner_types/ggz/categories/bijzonder",
                grant.clone(),
            );
            let found = problems(&c);
            assert_eq!(found.len(), 1, "{grant}: {found:?}");
            assert_eq!(
                found[0].location,
                "convenant: partner_types.ggz.categories.bijzonder"
            );
            assert!(
                found[0].message.contains("partner type ggz") && found[0].message.contains(expect),
                "{grant}: {found:?}"
            );
            assert!(!resolved_grants(&c)["ggz"].contains_key("bijzonder"));
        }
        // An ordinary category is held to the same register, and named without "sensitive".
        let c = with(
            convenant(),
            "/partner_types/ggz/categories/identificerend",
            json!("onbekend"),
        );
        assert!(problems(&c)[0]
            .message
            .contains("is granted category identificerend on ground \"onbekend\""));
    }

    #[test]
    fn the_register_itself_is_checked() {
        let blank = with(
            convenant(),
            "/legal_grounds/grounds/wabb/citation",
            json!("  "),
        );
        assert!(problems(&blank)
            .iter()
            .any(|p| p.message == "ground wabb has no citation"));
        assert!(!resolved_grants(&blank)["ggz"].contains_key("bsn"));
        let odd = with(
            convenant(),
            "/legal_grounds/grounds/taak/categories",
            json!(["geheim"]),
        );
        assert!(problems(&odd).iter().any(
            |p| p.message.contains("covers \"geheim\"") || p.message.contains("covers geheim")
        ));
        let marked = with(convenant(), "/sensitive_categories", json!(["geheim"]));
        assert!(problems(&marked)
            .iter()
            .any(|p| p.location == "convenant: sensitive_categories"));
        let contribution = with(
            convenant(),
            "/casework/contribution_grounds",
            json!({"elders": {}}),
        );
        assert!(problems(&contribution)
            .iter()
            .any(|p| p.message.contains("contribution ground \"elders\"")));
        let mut none = convenant();
        none.as_object_mut()
            .expect("object")
            .remove("legal_grounds");
        let found = problems(&none);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("no register of legal grounds"));
    }
}
