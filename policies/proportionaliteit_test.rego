# Proportionaliteit: budget (no bulk), categories with a legal ground, leefgebieden, horizon.
package vhgate.proportionaliteit_test

import data.vhgate.fixtures as fx
import data.vhgate.proportionaliteit

deny(inp) := x if {
	x := proportionaliteit.deny with input as inp
}

withhold(inp) := x if {
	x := proportionaliteit.withhold with input as inp
}

withheld(inp) := {w.field | some w in withhold(inp)}

# The reasons proportionaliteit gives for one field.
reasons(inp, name) := {w.reason | some w in withhold(inp); w.field == name}

# --- budget ------------------------------------------------------------------------------------

test_budget_below_daily_budget_is_not_denied if {
	count(deny(fx.with_budget(fx.read, 199))) == 0
	count(deny(fx.with_budget(fx.lookup, 199))) == 0
}

test_budget_exhausted_denies_read_and_lookup if {
	reason := `daily budget exhausted: partner type "politie" already made 200 of its 200 person-level requests per 24 hours (no bulk requests)`
	deny(fx.with_budget(fx.read, 200)) == {reason}
	deny(fx.with_budget(fx.lookup, 200)) == {reason}
	count(deny(fx.with_budget(fx.read, 5000))) == 1
	withheld(fx.with_budget(fx.read, 200)) == fx.field_names
}

test_missing_or_malformed_budget_is_denied if {
	reason := "the request carries no valid budget count (budget.used), so bulk cannot be ruled out"
	deny(object.remove(fx.read, ["budget"])) == {reason}
	deny(fx.with_budget(fx.read, "3")) == {reason}
	deny(fx.with_budget(fx.read, -1)) == {reason}
	deny(fx.with_budget(fx.lookup, null)) == {reason}
}

test_unknown_partner_type_has_no_budget if {
	`partner type "dji" has no daily budget in the convenant` in deny(fx.with_requester(fx.read, {"partner_type": "dji"}))
}

test_review_disclosures_is_not_budgeted if {
	count(deny(object.remove(fx.review, ["budget"]))) == 0
}

# --- categories ----------------------------------------------------------------------------------

test_category_without_ground_is_withheld if {
	inp := fx.read_as("gemeente")
	reasons(inp, "item:justitie") == {
		"partner type gemeente has no ground for category strafrechtelijk in the convenant",
		"partner type gemeente may not receive leefgebied justitie under the convenant",
	}
	reasons(inp, "item:veiligheid_strafrechtelijk") == {"partner type gemeente has no ground for category strafrechtelijk in the convenant"}
}

test_bsn_only_where_allowed if {
	reasons(fx.read_as("woningcorporatie"), "persoon.bsn") == {"partner type woningcorporatie has no ground for category bsn in the convenant"}
	not "persoon.bsn" in withheld(fx.read_as("gemeente"))
}

test_unknown_or_missing_category_is_withheld if {
	inp := fx.with_fields(fx.read_as("veiligheidshuis"), [
		fx.field("a", "geheim", null, 1),
		{"name": "b", "leefgebied": null, "age_days": 1},
		fx.field("c", 42, null, 1),
	])
	withheld(inp) == {"a", "b", "c"}
	reasons(inp, "b") == {"partner type veiligheidshuis has no ground for category null in the convenant"}
}

test_blank_ground_in_convenant_is_no_ground if {
	conv := object.union(data.convenant, {"partner_types": {"politie": {"categories": {"bijzonder": "  "}}}})
	w := proportionaliteit.withhold with input as fx.read with data.convenant as conv
	{"field": "item:verslaving", "reason": "partner type politie has no ground for category bijzonder in the convenant"} in w
}

# A grant resolves only through the register of legal grounds: an id it lacks, a ground that
# does not cover the category (an AVG art. 6 ground for health data), a ground with a blank
# citation, or a grant that is not an id at all is no ground.
test_unresolved_ground_is_no_ground if {
	blank := object.union(data.convenant, {"legal_grounds": {"grounds": {"blanco": {"citation": " ", "categories": ["bijzonder"]}}}})
	every grant in ["geen_grond", "politiewet_taak", "blanco", 42, {"citation": "AVG art. 9"}] {
		conv := object.union(blank, {"partner_types": {"politie": {"categories": {"bijzonder": grant}}}})
		w := proportionaliteit.withhold with input as fx.read with data.convenant as conv
		{"field": "item:verslaving", "reason": "partner type politie has no ground for category bijzonder in the convenant"} in w
	}
	# The same grant on a registered ground that covers the category is a ground.
	covered := object.union(data.convenant, {"partner_types": {"politie": {"categories": {"bijzonder": "ggz_behandeling"}}}})
	w := proportionaliteit.withhold with input as fx.read with data.convenant as covered
	not "item:verslaving" in {x.field | some x in w}
}

# --- leefgebieden --------------------------------------------------------------------------------

test_leefgebied_not_for_partner_type_is_withheld if {
	inp := fx.read_as("woningcorporatie")
	reasons(inp, "item:schulden") == {"partner type woningcorporatie may not receive leefgebied schulden under the convenant"}
	not "item:wonen" in withheld(inp)
	not "item:sociaal_netwerk" in withheld(inp)
	not "item:veiligheid" in withheld(inp)
}

test_unknown_leefgebied_is_withheld_even_for_wildcard if {
	inp := fx.with_fields(fx.read_as("reclassering"), [fx.field("item:x", "overig", "astrologie", 1)])
	reasons(inp, "item:x") == {"leefgebied astrologie is not a leefgebied of the convenant"}
}

test_field_without_leefgebied_attribute_is_withheld if {
	inp := fx.with_fields(fx.read, [{"name": "item:x", "category": "overig", "age_days": 1}])
	reasons(inp, "item:x") == {"the field has no leefgebied attribute"}
}

test_malformed_leefgebied_is_withheld if {
	inp := fx.with_fields(fx.read, [fx.field("item:x", "overig", ["wonen"], 1), fx.field("item:y", "overig", 3, 1)])
	reasons(inp, "item:x") == {`the field has a malformed leefgebied (["wonen"])`}
	reasons(inp, "item:y") == {"the field has a malformed leefgebied (3)"}
}

test_null_leefgebied_is_a_person_attribute if {
	inp := fx.with_fields(fx.read_as("woningcorporatie"), [fx.field("persoon.naam", "identificerend", null, 1)])
	count(withhold(inp)) == 0
}

test_request_narrows_leefgebieden if {
	inp := fx.with_leefgebieden(fx.read_as("reclassering"), ["wonen", "schulden"])
	withheld(inp) == fx.field_names - {"persoon.naam", "persoon.bsn", "item:wonen", "item:schulden"}
	reasons(inp, "item:verslaving") == {"leefgebied verslaving was not requested"}
}

test_request_cannot_widen_leefgebieden if {
	inp := fx.with_leefgebieden(fx.read_as("woningcorporatie"), ["wonen", "schulden"])
	reasons(inp, "item:schulden") == {"partner type woningcorporatie may not receive leefgebied schulden under the convenant"}
	not "item:wonen" in withheld(inp)
}

test_empty_narrowing_keeps_only_person_attributes if {
	inp := fx.with_leefgebieden(fx.read_as("reclassering"), [])
	withheld(inp) == fx.field_names - {"persoon.naam", "persoon.bsn"}
}

test_malformed_narrowing_narrows_to_nothing if {
	# Outside the contract (array or null): fail closed, never widen to every leefgebied.
	every lgs in ["wonen", {"wonen": true}, 1, false] {
		inp := fx.with_leefgebieden(fx.read_as("reclassering"), lgs)
		withheld(inp) == fx.field_names - {"persoon.naam", "persoon.bsn"}
	}
}

test_null_or_missing_narrowing_narrows_nothing if {
	count(withhold(fx.read_as("reclassering"))) == 0
	count(withhold(object.remove(fx.read_as("reclassering"), ["request"]))) == 0
}

# --- horizon -------------------------------------------------------------------------------------

test_horizon_boundary if {
	inp := fx.with_fields(fx.read, [
		fx.field("item:1826", "overig", "wonen", 1826),
		fx.field("item:1827", "overig", "wonen", 1827),
	])
	withheld(inp) == {"item:1827"}
	reasons(inp, "item:1827") == {"recorded 1827 days ago, older than the convenant's horizon of 1826 days"}
}

test_missing_age_is_withheld if {
	inp := fx.with_fields(fx.read, [
		{"name": "item:a", "category": "overig", "leefgebied": "wonen"},
		fx.field("item:b", "overig", "wonen", "30"),
	])
	reasons(inp, "item:a") == {"the field has no valid age_days"}
	reasons(inp, "item:b") == {"the field has no valid age_days"}
}

test_convenant_without_horizon_withholds_everything if {
	conv := object.remove(data.convenant, ["horizon_days"])
	w := proportionaliteit.withhold with input as fx.read with data.convenant as conv
	{x.field | some x in w} == fx.field_names
	{"field": "persoon.naam", "reason": "the convenant sets no horizon_days"} in w
}

# --- several reasons -----------------------------------------------------------------------------

test_a_field_collects_every_reason if {
	inp := fx.with_leefgebieden(
		fx.with_fields(fx.read_as("woningcorporatie"), [fx.field("item:x", "bijzonder", "verslaving", 4000)]),
		["wonen"],
	)
	reasons(inp, "item:x") == {
		"partner type woningcorporatie has no ground for category bijzonder in the convenant",
		"partner type woningcorporatie may not receive leefgebied verslaving under the convenant",
		"leefgebied verslaving was not requested",
		"recorded 4000 days ago, older than the convenant's horizon of 1826 days",
	}
}
