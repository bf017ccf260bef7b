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

# --- request level: budget ------------------------------------------------------------------

daily_budget := data.vhgate.lib.partner.daily_budget if is_number(data.vhgate.lib.partner.daily_budget)

# The budget count is read here and nowhere else: `budget_denials` is the only rule that refers to
# input.budget, so every other rule (and the whole decision) depends on the count only through
# this set. The gateway checks that when it loads the policies and then memoises decisions on
# the rest of the input plus this set (policies/README.md, "Fast path"); a bundle that reads
# the count elsewhere is still decided, only not memoised. This rule runs on every request,
# so it reads input and the convenant directly rather than through lib's accessors (a
# non-string action or partner type matches nothing here, as there).
budget_denials contains "the request carries no valid budget count (budget.used), so bulk cannot be ruled out" if {
	input.action in data.vhgate.lib.person_level_actions
	not valid_count(input.budget.used)
}

budget_denials contains sprintf("daily budget exhausted: partner type %q already made %v of its %v person-level requests per 24 hours (no bulk requests)", [input.requester.partner_type, input.budget.used, limit]) if {
	valid_count(input.budget.used)
	input.action in data.vhgate.lib.person_level_actions
	limit := data.convenant.partner_types[input.requester.partner_type].daily_budget
	is_number(limit)
	input.budget.used >= limit
}

valid_count(n) if {
	is_number(n)
	n >= 0
}

deny contains reason if some reason in budget_denials

deny contains sprintf("partner type %q has no daily budget in the convenant", [data.vhgate.lib.partner_type]) if {
	data.vhgate.lib.action in data.vhgate.lib.person_level_actions
	not daily_budget
}

# --- request level: horizon ------------------------------------------------------------------

horizon := data.vhgate.lib.conv.horizon_days if is_number(data.vhgate.lib.conv.horizon_days)

# --- field level -----------------------------------------------------------------------------

withhold contains {"field": name, "reason": reason} if {
	some reason in deny
	some name in data.vhgate.lib.field_names
}

# Category: needs a ground in the convenant for this partner type.
withhold contains {"field": f.name, "reason": reason} if {
	some f in data.vhgate.lib.fields
	cat := object.get(f, "category", null)
	not data.vhgate.lib.ground(cat)
	reason := sprintf("partner type %s has no ground for category %s in the convenant", [data.vhgate.lib.show(data.vhgate.lib.partner_type), data.vhgate.lib.show(cat)])
}

# Leefgebied: a field without the attribute is malformed.
withhold contains {"field": f.name, "reason": "the field has no leefgebied attribute"} if {
	some f in data.vhgate.lib.fields
	not data.vhgate.lib.has_key(f, "leefgebied")
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in data.vhgate.lib.fields
	lg := object.get(f, "leefgebied", null)
	lg != null
	not is_string(lg)
	reason := sprintf("the field has a malformed leefgebied (%v)", [lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in data.vhgate.lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	not lg in data.vhgate.lib.known_leefgebieden
	reason := sprintf("leefgebied %s is not a leefgebied of the convenant", [lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in data.vhgate.lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	lg in data.vhgate.lib.known_leefgebieden
	not data.vhgate.lib.leefgebied_allowed(lg)
	reason := sprintf("partner type %s may not receive leefgebied %s under the convenant", [data.vhgate.lib.show(data.vhgate.lib.partner_type), lg])
}

withhold contains {"field": f.name, "reason": reason} if {
	data.vhgate.lib.narrowed_by_request
	some f in data.vhgate.lib.fields
	lg := object.get(f, "leefgebied", null)
	is_string(lg)
	not lg in data.vhgate.lib.requested_leefgebieden
	reason := sprintf("leefgebied %s was not requested", [lg])
}

# Horizon.
withhold contains {"field": f.name, "reason": "the field has no valid age_days"} if {
	some f in data.vhgate.lib.fields
	not is_number(object.get(f, "age_days", null))
}

withhold contains {"field": f.name, "reason": "the convenant sets no horizon_days"} if {
	not horizon
	some f in data.vhgate.lib.fields
}

withhold contains {"field": f.name, "reason": reason} if {
	some f in data.vhgate.lib.fields
	age := object.get(f, "age_days", null)
	is_number(age)
	age > horizon
	reason := sprintf("recorded %v days ago, older than the convenant's horizon of %v days", [age, horizon])
}
