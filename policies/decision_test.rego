# The combined decision: per partner type what it gets, the tiers, withheld priority, reasons,
# obligations, robustness and the output invariant.
package vhgate.decision_test

import data.vhgate.decision
import data.vhgate.fixtures as fx

decide(inp) := d if {
	d := decision.decision with input as inp
}

bijzonder := {"item:verslaving", "item:psychische_gezondheid", "item:lichamelijke_gezondheid"}

strafrechtelijk := {"item:justitie", "item:veiligheid_strafrechtelijk"}

all_obligations := ["bijzonder_no_onward_sharing", "bsn_own_legal_task_only", "strafrechtelijk_no_onward_sharing"]

all_categories := {"identificerend", "bsn", "bijzonder", "strafrechtelijk", "overig"}

# The categories for which the decision's reasons name the partner type's legal ground.
grounds_named(d, pt) := {c |
	some c in all_categories
	some r in d.reasons
	startswith(r, sprintf("proportionaliteit: ground for category %s (partner type %s): ", [c, pt]))
}

# What partner type pt receives of fx.fields when reading at the table in phase mdo (inp), and
# its convenant row (categories with a ground, leefgebieden).
receives(inp, pt, withheld, obligations, categories, leefgebieden) if {
	row := data.convenant.partner_types[pt]
	{c | some c, _ in row.categories} == categories
	row.leefgebieden == leefgebieden

	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == true
	d.tier == "full"
	{n | some n in d.allowed_fields} == fx.field_names - withheld
	fx.withheld_names(d) == withheld
	fx.withheld_by(d, "proportionaliteit") == withheld
	d.obligations == obligations
	grounds_named(d, pt) == categories
}

# The daily budget of partner type pt: the request after budget-1 earlier ones is allowed, the
# one after budget earlier ones is refused (tier none, every field withheld by proportionaliteit).
budget_is(inp, pt, budget) if {
	data.convenant.partner_types[pt].daily_budget == budget
	below := decide(fx.with_budget(inp, budget - 1))
	below.allow == true
	at := decide(fx.with_budget(inp, budget))
	at.allow == false
	at.tier == "none"
	at.allowed_fields == []
	fx.withheld_by(at, "proportionaliteit") == fx.field_names
	fx.invariant(at, fx.with_budget(inp, budget))
	lookup_at := decide(fx.with_budget(fx.lookup_as(pt), budget))
	lookup_at.allow == false
}

# The reasons quote a ground's citation from the register, not the id the partner type cites.
test_reasons_quote_the_registered_citation if {
	d := decide(fx.read_as("politie"))
	every cat in ["identificerend", "bsn", "strafrechtelijk", "overig"] {
		id := data.convenant.partner_types.politie.categories[cat]
		citation := data.convenant.legal_grounds.grounds[id].citation
		sprintf("proportionaliteit: ground for category %s (partner type politie): %s", [cat, citation]) in d.reasons
	}
}

# --- per partner type ----------------------------------------------------------------------------

test_partner_politie if {
	receives(
		fx.read_as("politie"), "politie", bijzonder,
		["bsn_own_legal_task_only", "strafrechtelijk_no_onward_sharing"],
		{"identificerend", "bsn", "strafrechtelijk", "overig"}, ["*"],
	)
}

test_partner_om if {
	receives(
		fx.read_as("om"), "om", bijzonder,
		["bsn_own_legal_task_only", "strafrechtelijk_no_onward_sharing"],
		{"identificerend", "bsn", "strafrechtelijk", "overig"}, ["*"],
	)
}

test_partner_reclassering if {
	receives(fx.read_as("reclassering"), "reclassering", set(), all_obligations, all_categories, ["*"])
}

test_partner_rvdk if {
	receives(fx.read_as("rvdk"), "rvdk", set(), all_obligations, all_categories, ["*"])
}

test_partner_gemeente if {
	receives(
		fx.read_as("gemeente"), "gemeente", bijzonder | strafrechtelijk,
		["bsn_own_legal_task_only"],
		{"identificerend", "bsn", "overig"},
		["wonen", "werk_inkomen", "schulden", "opleiding_dagbesteding", "gezin_relaties", "sociaal_netwerk", "veiligheid"],
	)
}

test_partner_ggz if {
	receives(
		fx.read_as("ggz"), "ggz", strafrechtelijk,
		["bijzonder_no_onward_sharing", "bsn_own_legal_task_only"],
		{"identificerend", "bsn", "bijzonder", "overig"}, ["*"],
	)
}

test_partner_veilig_thuis if {
	receives(
		fx.read_as("veilig_thuis"), "veilig_thuis", strafrechtelijk,
		["bijzonder_no_onward_sharing", "bsn_own_legal_task_only"],
		{"identificerend", "bsn", "bijzonder", "overig"}, ["*"],
	)
}

test_partner_woningcorporatie if {
	receives(
		fx.read_as("woningcorporatie"), "woningcorporatie",
		fx.field_names - {"persoon.naam", "item:wonen", "item:sociaal_netwerk", "item:veiligheid"},
		[],
		{"identificerend", "overig"}, ["wonen", "sociaal_netwerk", "veiligheid"],
	)
	d := decide(fx.read_as("woningcorporatie"))
	fx.entry(d, "persoon.bsn").reason == "partner type woningcorporatie has no ground for category bsn in the convenant"
	fx.entry(d, "item:gezin_relaties").reason == "partner type woningcorporatie may not receive leefgebied gezin_relaties under the convenant"
	fx.entry(d, "item:veiligheid_strafrechtelijk").reason == "partner type woningcorporatie has no ground for category strafrechtelijk in the convenant"
}

test_partner_veiligheidshuis if {
	# Staff doing procesregie, without a seat at the table.
	receives(fx.staff_read, "veiligheidshuis", set(), all_obligations, all_categories, ["*"])
	receives(fx.with_requester(fx.staff_read, {"role": "informatiecoordinator"}), "veiligheidshuis", set(), all_obligations, all_categories, ["*"])
}

test_every_partner_type_is_covered if {
	{pt | some pt, _ in data.convenant.partner_types} == {pt | some pt in fx.partner_types} | {"veiligheidshuis"}
}

test_budget_politie if budget_is(fx.read_as("politie"), "politie", 200)

test_budget_om if budget_is(fx.read_as("om"), "om", 200)

test_budget_reclassering if budget_is(fx.read_as("reclassering"), "reclassering", 200)

test_budget_rvdk if budget_is(fx.read_as("rvdk"), "rvdk", 200)

test_budget_gemeente if budget_is(fx.read_as("gemeente"), "gemeente", 200)

test_budget_ggz if budget_is(fx.read_as("ggz"), "ggz", 200)

test_budget_veilig_thuis if budget_is(fx.read_as("veilig_thuis"), "veilig_thuis", 200)

test_budget_woningcorporatie if budget_is(fx.read_as("woningcorporatie"), "woningcorporatie", 50)

test_budget_veiligheidshuis if {
	budget_is(fx.staff_read, "veiligheidshuis", 300)
}

# --- tiers ---------------------------------------------------------------------------------------

test_aanmelding_gives_summary_of_identificerend_only if {
	inp := fx.with_phase(fx.read, "aanmelding")
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == true
	d.tier == "summary"
	d.allowed_fields == ["persoon.naam"]
	fx.withheld_by(d, "subsidiariteit") == fx.field_names - {"persoon.naam"}
	d.obligations == []
	"subsidiariteit: tier summary: case in phase aanmelding (not yet screened), identificerend fields only (requester is a participant of the case)" in d.reasons
}

test_summary_still_minimised if {
	# An identificerend field past the horizon is withheld by proportionaliteit in a summary too.
	inp := fx.with_fields(fx.with_phase(fx.read_as("woningcorporatie"), "aanmelding"), [
		fx.field("persoon.naam", "identificerend", null, 3),
		fx.field("persoon.oud_adres", "identificerend", "wonen", 2000),
		fx.field("item:schulden", "overig", "schulden", 3),
	])
	d := decide(inp)
	d.tier == "summary"
	d.allowed_fields == ["persoon.naam"]
	fx.entry(d, "persoon.oud_adres").principle == "proportionaliteit"
	fx.entry(d, "item:schulden").principle == "subsidiariteit"
}

test_lookup_gives_hit_no_hit_and_no_fields if {
	d := decide(fx.lookup)
	fx.invariant(d, fx.lookup)
	d.allow == true
	d.tier == "hit_no_hit"
	d.allowed_fields == []
	fx.withheld_by(d, "subsidiariteit") == fx.field_names
	d.obligations == []
	"subsidiariteit: lookup: hit/no-hit answer only" in d.reasons
}

test_lookup_for_every_partner_type if {
	every pt in array.concat(fx.partner_types, ["veiligheidshuis"]) {
		inp := fx.with_fields(fx.with_requester(fx.lookup_as(pt), {"role": role_for(pt)}), [])
		d := decide(inp)
		d.allow == true
		d.tier == "hit_no_hit"
		d.withheld == []
	}
}

role_for(pt) := "procesregisseur" if pt == "veiligheidshuis"

role_for(pt) := "professional" if pt != "veiligheidshuis"

test_non_participant_gets_hit_no_hit_tier_and_is_refused if {
	d := decide(fx.outsider_read)
	fx.invariant(d, fx.outsider_read)
	d.allow == false
	d.tier == "hit_no_hit"
	d.allowed_fields == []
	fx.withheld_by(d, "subsidiariteit") == fx.field_names
	"subsidiariteit: not a participant of this case: only a hit/no-hit lookup is allowed" in d.reasons
}

test_participant_flag_without_oin_is_refused if {
	inp := object.union(fx.read, {"case": {"participants": [fx.participant("veiligheidshuis")]}})
	d := decide(inp)
	d.allow == false
	d.tier == "hit_no_hit"
	fx.withheld_by(d, "subsidiariteit") == fx.field_names
}

test_full_tier_in_screening_and_uitvoering if {
	every phase in ["screening", "uitvoering"] {
		d := decide(fx.with_phase(fx.read, phase))
		d.allow == true
		d.tier == "full"
		fx.withheld_names(d) == bijzonder
	}
}

# --- refusals ------------------------------------------------------------------------------------

test_closed_case_is_refused_by_doelmatigheid if {
	inp := fx.with_phase(fx.read, "afgesloten")
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == false
	d.tier == "none"
	fx.withheld_by(d, "doelmatigheid") == fx.field_names
	d.reasons == ["doelmatigheid: the case is closed (phase afgesloten): sharing no longer serves a purpose of the convenant"]
	d.obligations == []
}

test_wrong_region_unknown_purpose_and_missing_sub_are_refused if {
	every inp in [
		object.union(fx.read, {"case": {"region": "haaglanden"}}),
		fx.with_requester(fx.read, {"purpose": "onderzoek"}),
		fx.with_requester(fx.read, {"sub": ""}),
		fx.with_requester(fx.read, {"role": "procesregisseur"}),
		fx.with_requester(fx.lookup, {"purpose": "casusoverleg", "role": "privacy_officer"}),
	] {
		d := decide(inp)
		fx.invariant(d, inp)
		d.allow == false
		d.tier == "none"
		fx.withheld_by(d, "doelmatigheid") == fx.field_names
	}
}

test_budget_exhausted_is_refused_by_proportionaliteit if {
	inp := fx.with_budget(fx.read, 200)
	d := decide(inp)
	d.allow == false
	d.tier == "none"
	d.reasons == [
		`doelmatigheid: purpose "casusoverleg" allows action "read_person" for role "professional" of partner type "politie"`,
		`proportionaliteit: daily budget exhausted: partner type "politie" already made 200 of its 200 person-level requests per 24 hours (no bulk requests)`,
	]
}

test_review_disclosures_is_never_allowed_by_the_decision if {
	inp := fx.with_fields(fx.review, fx.fields)
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == false
	d.tier == "none"
	fx.withheld_by(d, "doelmatigheid") == fx.field_names
	"decision: action review_disclosures is decided by data.vhgate.access.review_disclosures; the disclosure decision never allows it" in d.reasons
}

# --- withheld priority -------------------------------------------------------------------------

test_priority_doelmatigheid_over_the_others if {
	# Closed case, outsider, budget exhausted and a field every principle withholds.
	inp := fx.with_budget(fx.with_phase(fx.with_fields(fx.outsider_read, [fx.field("item:x", "bijzonder", "verslaving", 9000)]), "afgesloten"), 999)
	d := decide(inp)
	d.withheld == [{
		"field": "item:x",
		"principle": "doelmatigheid",
		"reason": "the case is closed (phase afgesloten): sharing no longer serves a purpose of the convenant",
	}]
}

test_priority_subsidiariteit_over_proportionaliteit if {
	inp := fx.read_as("gemeente")
	outsider := object.union(inp, {"case": {"requester_is_participant": false}})
	d := decide(outsider)
	fx.withheld_by(d, "subsidiariteit") == fx.field_names
	count(d.withheld) == count(fx.field_names)

	# In aanmelding a bijzonder field is withheld by subsidiariteit, not proportionaliteit.
	s := decide(fx.with_phase(inp, "aanmelding"))
	fx.entry(s, "item:verslaving").principle == "subsidiariteit"
}

test_one_entry_per_field_with_the_principles_reasons_joined if {
	inp := fx.with_leefgebieden(fx.with_fields(fx.read_as("woningcorporatie"), [fx.field("item:x", "bijzonder", "verslaving", 4000)]), ["wonen"])
	d := decide(inp)
	d.withheld == [{
		"field": "item:x",
		"principle": "proportionaliteit",
		"reason": concat("; ", [
			"leefgebied verslaving was not requested",
			"partner type woningcorporatie has no ground for category bijzonder in the convenant",
			"partner type woningcorporatie may not receive leefgebied verslaving under the convenant",
			"recorded 4000 days ago, older than the convenant's horizon of 1826 days",
		]),
	}]
}

test_default_deny_safety_net if {
	# If no principle withheld a field of a refused request, it is still withheld (doelmatigheid).
	inp := fx.with_phase(fx.read, "afgesloten")
	d := decision.decision with input as inp with data.vhgate.doelmatigheid.withhold as set()
	d.allow == false
	fx.entry(d, "persoon.naam") == {
		"field": "persoon.naam",
		"principle": "doelmatigheid",
		"reason": "withheld by default: the request was not allowed and no rule disclosed this field",
	}
	fx.invariant(d, inp)
}

test_no_tier_means_no_allow if {
	# A guard the principles never reach today: without a tier nothing is allowed.
	d := decision.decision with input as fx.read with data.vhgate.subsidiariteit.tier as "none"
	d.allow == false
	d.tier == "none"
	d.allowed_fields == []
	fx.invariant(d, fx.read)
}

# --- narrowing, obligations, reasons ---------------------------------------------------------------

test_narrowed_request_discloses_only_requested_leefgebieden if {
	inp := fx.with_leefgebieden(fx.read, ["wonen"])
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == true
	d.allowed_fields == ["item:wonen", "persoon.bsn", "persoon.naam"]
	d.obligations == ["bsn_own_legal_task_only"]
}

test_obligations_follow_disclosed_categories_only if {
	d := decide(fx.with_fields(fx.read_as("reclassering"), [fx.field("item:wonen", "overig", "wonen", 1)]))
	d.allowed_fields == ["item:wonen"]
	d.obligations == []
	refused := decide(fx.with_phase(fx.read_as("reclassering"), "afgesloten"))
	refused.obligations == []
}

test_reasons_are_grouped_by_principle_in_order if {
	d := decide(fx.read)
	d.reasons[0] == `doelmatigheid: purpose "casusoverleg" allows action "read_person" for role "professional" of partner type "politie"`
	d.reasons[1] == "subsidiariteit: tier full: case in phase mdo (requester is a participant of the case)"
	d.reasons[2] == "proportionaliteit: 3 of 14 field(s) withheld"
	every r in array.slice(d.reasons, 3, count(d.reasons)) {
		startswith(r, "proportionaliteit: ground for category ")
	}
}

test_allowed_and_withheld_are_sorted if {
	d := decide(fx.read_as("gemeente"))
	d.allowed_fields == sort(d.allowed_fields)
	ws := [w.field | some w in d.withheld]
	ws == sort(ws)
	ws[0] == "item:justitie"
}

test_duplicate_field_name_is_allowed_only_if_every_entry_is if {
	inp := fx.with_fields(fx.read, [
		fx.field("item:dubbel", "overig", "wonen", 1),
		fx.field("item:dubbel", "bijzonder", "verslaving", 1),
	])
	d := decide(inp)
	d.allowed_fields == []
	count(d.withheld) == 1
	fx.entry(d, "item:dubbel").principle == "proportionaliteit"
}

# --- robustness and the invariant --------------------------------------------------------------

test_empty_input_is_defined_and_denied if {
	d := decide({})
	fx.invariant(d, {})
	d.allow == false
	d.tier == "none"
	d.allowed_fields == []
	d.withheld == []
	d.obligations == []
	"doelmatigheid: the request has no requester" in d.reasons
}

test_no_input_at_all_is_defined_and_denied if {
	d := decision.decision
	d.allow == false
	d.tier == "none"
}

test_garbage_types_are_defined_and_denied if {
	every inp in [
		{"action": 1, "requester": [], "case": "x", "fields": "y", "budget": "z", "request": 5},
		{"action": "read_person", "requester": {"oin": 1, "partner_type": [], "role": {}, "purpose": null, "sub": true}},
		object.union(fx.read, {"case": {"participants": {"oin": fx.oin.politie}, "phase": ["mdo"]}}),
		object.union(fx.read, {"requester": null, "budget": null, "case": null}),
	] {
		d := decide(inp)
		fx.invariant(d, inp)
		d.allow == false
	}
}

test_non_object_fields_are_ignored if {
	inp := fx.with_fields(fx.read, [1, "persoon.naam", null, [], fx.field("persoon.naam", "identificerend", null, 1)])
	d := decide(inp)
	d.allow == true
	d.allowed_fields == ["persoon.naam"]
	d.withheld == []
}

test_fields_without_leefgebied_or_category_are_withheld if {
	inp := fx.with_fields(fx.read_as("reclassering"), [
		{"name": "item:a", "category": "overig", "age_days": 1},
		{"name": "item:b", "leefgebied": "wonen", "age_days": 1},
		{"name": "item:c"},
		fx.field("item:d", "overig", "wonen", 1),
	])
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == true
	d.allowed_fields == ["item:d"]
	fx.withheld_by(d, "proportionaliteit") == {"item:a", "item:b", "item:c"}
}

test_invariant_holds_across_scenarios if {
	every inp in [
		fx.read, fx.staff_read, fx.outsider_read, fx.lookup, fx.review,
		fx.read_as("gemeente"), fx.read_as("woningcorporatie"), fx.read_as("ggz"),
		fx.with_phase(fx.read, "aanmelding"), fx.with_phase(fx.read, "afgesloten"),
		fx.with_phase(fx.read_as("woningcorporatie"), "aanmelding"),
		fx.with_budget(fx.read, 200), fx.with_budget(fx.lookup, 200),
		fx.with_leefgebieden(fx.read_as("gemeente"), ["schulden", "verslaving"]),
		fx.with_leefgebieden(fx.read, []),
		fx.with_requester(fx.read, {"oin": "123"}),
		object.remove(fx.read, ["case"]),
		object.remove(fx.read, ["fields"]),
		fx.with_fields(fx.read, []),
		{}, {"action": "lookup"}, {"fields": fx.fields},
	] {
		fx.invariant(decide(inp), inp)
	}
}

# --- break-glass (purpose spoed) -----------------------------------------------------------------

# A spoed read: the politie professional sits at no table, states a reason, phase aanmelding.
spoed_read := object.union(fx.outsider_read, {
	"requester": {"purpose": "spoed"},
	"case": {"phase": "aanmelding"},
	"request": {"leefgebieden": null, "reason_stated": true},
})

spoed_minimum := {"persoon.naam", "item:veiligheid", "item:veiligheid_strafrechtelijk"}

test_spoed_gets_the_minimum_away_from_the_table if {
	d := decide(spoed_read)
	fx.invariant(d, spoed_read)
	d.allow == true
	d.tier == "summary"
	{n | some n in d.allowed_fields} == spoed_minimum
	fx.withheld_by(d, "subsidiariteit") == fx.field_names - spoed_minimum
	startswith(fx.entry(d, "persoon.bsn").reason, "spoed (break-glass): only the minimum")
	some r in d.reasons
	contains(r, "spoed (break-glass)")
}

test_spoed_at_the_table_in_phase_mdo_is_still_the_minimum if {
	inp := object.union(fx.read, {
		"requester": {"purpose": "spoed"},
		"request": {"leefgebieden": null, "reason_stated": true},
	})
	d := decide(inp)
	fx.invariant(d, inp)
	d.tier == "summary"
	{n | some n in d.allowed_fields} == spoed_minimum
}

test_spoed_keeps_proportionaliteit if {
	# ggz has no ground for strafrechtelijk: the criminal-law safety item stays withheld.
	not data.convenant.partner_types.ggz.categories.strafrechtelijk
	inp := object.union(spoed_read, {"requester": {"partner_type": "ggz", "oin": fx.oin.ggz}})
	d := decide(inp)
	fx.invariant(d, inp)
	d.allow == true
	{n | some n in d.allowed_fields} == {"persoon.naam", "item:veiligheid"}
	fx.withheld_by(d, "proportionaliteit") == {"item:veiligheid_strafrechtelijk"}
}

test_spoed_without_a_stated_reason_is_refused if {
	every inp in [
		fx.without(spoed_read, "request", "reason_stated"),
		object.union(spoed_read, {"request": {"reason_stated": "true"}}),
		object.union(spoed_read, {"request": {"reason_stated": false}}),
		object.remove(spoed_read, ["request"]),
	] {
		d := decide(inp)
		fx.invariant(d, inp)
		d.allow == false
		d.allowed_fields == []
		fx.withheld_by(d, "doelmatigheid") == fx.field_names
	}
}

test_spoed_closed_to_other_partner_types_and_roles if {
	every changes in [
		{"partner_type": "gemeente", "oin": fx.oin.gemeente},
		{"partner_type": "woningcorporatie", "oin": fx.oin.woningcorporatie},
		{"partner_type": "veiligheidshuis", "oin": fx.oin.veiligheidshuis, "role": "procesregisseur"},
		{"role": "privacy_officer"},
	] {
		inp := fx.with_requester(spoed_read, changes)
		d := decide(inp)
		d.allow == false
		d.allowed_fields == []
	}
}

test_spoed_refused_in_a_closed_case_over_budget_and_for_lookup if {
	every inp in [
		fx.with_phase(spoed_read, "afgesloten"),
		fx.with_budget(spoed_read, data.convenant.partner_types.politie.daily_budget),
		object.union(fx.lookup, {"requester": {"purpose": "spoed"}, "request": {"reason_stated": true}}),
	] {
		d := decide(inp)
		d.allow == false
		d.allowed_fields == []
	}
}

test_spoed_without_a_spoed_section_discloses_nothing if {
	d := decision.decision with input as spoed_read with data.convenant.spoed as {}
	d.allow == false
	d.allowed_fields == []
}
