# Proportionaliteit (data minimisation), DESIGN.md §2.
#
# Request level (deny): no bulk. A partner type may make at most its convenant daily_budget
# person-level requests (read_person and lookup) per 24 hours; budget.used counts the ones
# before this request, so the request is refused when used >= daily_budget. A missing or
# malformed budget count also refuses (bulk cannot be ruled out).
#
# Field level (withhold), every rule independent; a field may collect several reasons:
#   - category: only categories that the partner type's convenant entry names with a
#     non-empty legal ground (bijzonder and strafrechtelijk only with a ground; bsn only
#     where allowed);
#   - leefgebied: items of a leefgebied the partner type may not receive (fields with a null
#     leefgebied are person attributes and exempt), of a leefgebied the convenant does not
#     know, or of a leefgebied the request did not ask for;
#   - horizon: information recorded longer ago than the convenant's horizon_days.
package vhgate.proportionaliteit

import data.vhgate.lib

# --- request level: budget ------------------------------------------------------------------

budget_valid if {
	is_number(input.budget.used)
	input.budget.used >= 0
}

daily_budget := lib.partner.daily_budget if is_number(lib.partner.daily_budget)

deny contains "the request carries no valid budget count (budget.used), so bulk cannot be ruled out" if {
	lib.action in lib.person_level_actions
	not budget_valid
}

deny contains sprintf("partner type %q has no daily budget in the convenant", [lib.partner_type]) if {
	lib.action in lib.person_level_actions
	not daily_budget
}

deny contains sprintf("daily budget exhausted: partner type %q already made %v of its %v person-level requests per 24 hours (no bulk requests)", [lib.partner_type, input.budget.used, daily_budget]) if {
	lib.action in lib.person_level_actions
	budget_valid
	input.budget.used >= daily_budget
}

# --- request level: horizon ------------------------------------------------------------------

horizon := lib.conv.horizon_days if is_number(lib.conv.horizon_days)

# --- field level -----------------------------------------------------------------------------

withhold contains {"field": name, "reason": reason} if {
	some reason in deny
	some name in lib.field_names
}

# Category: needs a ground in the convenant for this partner type.
withhold contains {"field": f.name, "reason": reason} if {
	some f in lib.fields
	cat := object.get(f, "category", null)
	not lib.ground(cat)
	reason := sprintf("partner type %s has no ground for category %s in the convenant", [lib.show(lib.partner_type), lib.show(cat)])
}

# Leefgebied: a field without the attribute is malformed.
withhold contains {"field": f.name, "reason": "the field has no leefgebied attribute"} if {
	some f in lib.fields
	not lib.has_key(f, "leefgebied")
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in lib.fields
	lg := object.get(f, "leefgebied", null)
	lg != null
	not is_string(lg)
	reason := sprintf("the field has a malformed leefgebied (%v)", [lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	not lg in lib.known_leefgebieden
	reason := sprintf("leefgebied %s is not a leefgebied of the convenant", [lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	lg in lib.known_leefgebieden
	not lib.leefgebied_allowed(lg)
	reason := sprintf("partner type %s may not receive leefgebied %s under the convenant", [lib.show(lib.partner_type), lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	lib.narrowed_by_request
	some f in lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	not lg in lib.requested_leefgebieden
	reason := sprintf("leefgebied %s was not requested", [lg])
}

# Horizon.
withhold contains {"field": f.name, "reason": "the field has no valid age_days"} if {
	some f in lib.fields
	not is_number(object.get(f, "age_days", null))
}

withhold contains {"field": f.name, "reason": "the convenant sets no horizon_days"} if {
	not horizon
	some f in lib.fields
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in lib.fields
	age := object.get(f, "age_days", null)
	is_number(age)
	age > horizon
	reason := sprintf("recorded %v days ago, older than the convenant's horizon of %v days", [age, horizon])
}
