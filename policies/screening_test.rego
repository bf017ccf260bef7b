# Screening and triage: every combination of the four criteria of the landelijk kader, the
# adviesvraag, the boundaries of each criterion, malformed registrations, and the check of the
# procesregisseur's decision.
package vhgate.screening_test

import data.vhgate.screening

advise(reg) := a if {
	a := screening.advice with input as {"aanmelding": reg}
}

advise_input(inp) := a if {
	a := screening.advice with input as inp
}

check(reg, decision) := c if {
	c := screening.decision_check with input as {"aanmelding": reg, "decision": decision}
}

# --- registrations -----------------------------------------------------------------------------

# Problems on two leefgebieden, both leading to criminal or nuisance behaviour or decline.
two_leefgebieden := [
	{"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]},
	{"leefgebied": "wonen", "leads_to": ["overlast"]},
]

# The same, on one leefgebied only.
one_leefgebied := [{"leefgebied": "verslaving", "leads_to": ["crimineel", "afglijden"]}]

problems_for(met) := two_leefgebieden if met

problems_for(met) := one_leefgebied if not met

# A registration that meets exactly the criteria asked for. Two chains are always needed, so
# (2) turns on dwang en drang and (4) on the area-bound safety trouble alone.
registration(c1, c2, c3, c4) := {
	"kind": "persoonsgericht",
	"adviesvraag": false,
	"problems": problems_for(c1),
	"chains": {"needed": ["strafrecht", "zorg"], "dwang_en_drang": c2},
	"system": {"family": c3, "social_environment": false},
	"area": {"serious_safety_problem": c4},
}

# The complex case of the landelijk kader: criteria 1 to 3 met, 4 not.
complex := registration(true, true, true, false)

# Nothing met.
regular := registration(false, false, false, false)

with_reg(reg, changes) := object.union(reg, changes)

# reg with key k set to v (not merged: object.union would merge nested objects).
replace(reg, k, v) := object.union(object.remove(reg, [k]), {k: v})

met(a) := [a.criteria[n].met | some n in screening.criteria_order]

# The advice for the combination (c1, c2, c3, c4): qualifies, outcome and each met flag, and a
# well-formed answer (reasons everywhere).
advised(c1, c2, c3, c4, qualifies, outcome) if {
	a := advise(registration(c1, c2, c3, c4))
	well_shaped(a)
	a.qualifies == qualifies
	a.outcome == outcome
	met(a) == [c1, c2, c3, c4]
}

well_shaped(a) if {
	is_boolean(a.qualifies)
	a.outcome in screening.outcomes
	{n | some n, _ in a.criteria} == {n | some n in screening.criteria_order}
	every _, c in a.criteria {
		is_boolean(c.met)
		count(c.reasons) > 0
		every r in c.reasons {
			is_string(r)
			r != ""
		}
	}
	count(a.reasons) >= 2
	a.reasons[count(a.reasons) - 1] == "the procesregisseur decides; this is advice"
}

# --- every combination of the four criteria (no adviesvraag) ------------------------------------

test_criteria_met_none if advised(false, false, false, false, false, "terug_naar_keten")

test_criteria_met_1 if advised(true, false, false, false, false, "advies")

test_criteria_met_2 if advised(false, true, false, false, false, "terug_naar_keten")

test_criteria_met_3 if advised(false, false, true, false, false, "terug_naar_keten")

test_criteria_met_4 if advised(false, false, false, true, true, "veiligheidshuis_case")

test_criteria_met_1_2 if advised(true, true, false, false, false, "advies")

test_criteria_met_1_3 if advised(true, false, true, false, false, "advies")

test_criteria_met_1_4 if advised(true, false, false, true, true, "veiligheidshuis_case")

test_criteria_met_2_3 if advised(false, true, true, false, false, "terug_naar_keten")

test_criteria_met_2_4 if advised(false, true, false, true, true, "veiligheidshuis_case")

test_criteria_met_3_4 if advised(false, false, true, true, true, "veiligheidshuis_case")

test_criteria_met_1_2_3 if advised(true, true, true, false, true, "veiligheidshuis_case")

test_criteria_met_1_2_4 if advised(true, true, false, true, true, "veiligheidshuis_case")

test_criteria_met_1_3_4 if advised(true, false, true, true, true, "veiligheidshuis_case")

test_criteria_met_2_3_4 if advised(false, true, true, true, true, "veiligheidshuis_case")

test_criteria_met_1_2_3_4 if advised(true, true, true, true, true, "veiligheidshuis_case")

combinations := [[c1, c2, c3, c4] |
	some c1 in [false, true]
	some c2 in [false, true]
	some c3 in [false, true]
	some c4 in [false, true]
]

# The rule itself, over all 16: qualifies == (1 and 2 and 3) or 4; advies exactly when not
# qualifying with criterion 1 met.
expected_qualifies(c) if {
	c[0]
	c[1]
	c[2]
}

expected_qualifies(c) if c[3]

expected_outcome(c, _) := "veiligheidshuis_case" if expected_qualifies(c)

expected_outcome(c, adviesvraag) := "advies" if {
	not expected_qualifies(c)
	adviesvraag
}

expected_outcome(c, adviesvraag) := "advies" if {
	not expected_qualifies(c)
	not adviesvraag
	c[0]
}

expected_outcome(c, adviesvraag) := "terug_naar_keten" if {
	not expected_qualifies(c)
	not adviesvraag
	not c[0]
}

test_all_16_combinations_follow_the_landelijk_kader if {
	count({c | some c in combinations}) == 16
	every c in combinations {
		a := advise(registration(c[0], c[1], c[2], c[3]))
		well_shaped(a)
		met(a) == c
		a.qualifies == expected_qualifies_bool(c)
		a.outcome == expected_outcome(c, false)
	}
}

expected_qualifies_bool(c) := true if expected_qualifies(c)

expected_qualifies_bool(c) := false if not expected_qualifies(c)

# --- adviesvraag ------------------------------------------------------------------------------

test_adviesvraag_makes_every_non_qualifying_combination_advies if {
	every c in combinations {
		a := advise(with_reg(registration(c[0], c[1], c[2], c[3]), {"adviesvraag": true}))
		well_shaped(a)
		met(a) == c
		a.qualifies == expected_qualifies_bool(c)
		a.outcome == expected_outcome(c, true)
	}
}

test_adviesvraag_does_not_stop_a_qualifying_case if {
	a := advise(with_reg(complex, {"adviesvraag": true}))
	a.qualifies == true
	a.outcome == "veiligheidshuis_case"
}

test_adviesvraag_reason if {
	a := advise(with_reg(regular, {"adviesvraag": true}))
	a.outcome == "advies"
	"advice advies: the registration is an adviesvraag; the Veiligheidshuis advises the registering partner" in a.reasons
	b := advise(registration(true, false, false, false))
	"advice advies: multiple problems, but not a Veiligheidshuis case; the Veiligheidshuis advises the chains" in b.reasons
}

test_adviesvraag_missing_or_null_is_no_adviesvraag if {
	advise(object.remove(regular, ["adviesvraag"])).outcome == "terug_naar_keten"
	advise(with_reg(regular, {"adviesvraag": null})).outcome == "terug_naar_keten"
}

# --- (1) meervoudige_problematiek -------------------------------------------------------------

meervoudig(reg) := advise(reg).criteria.meervoudige_problematiek

test_one_leefgebied_is_not_enough if {
	c := meervoudig(complex_with_problems(one_leefgebied))
	c.met == false
	c.reasons[0] == "problems that lead, or are expected to lead, to criminal or nuisance behaviour or further decline on one leefgebied only (verslaving (afglijden, crimineel)): the landelijk kader needs more than one"
}

test_two_leefgebieden_are_enough if {
	a := advise(complex)
	a.criteria.meervoudige_problematiek.met == true
	a.criteria.meervoudige_problematiek.reasons == ["problems on 2 leefgebieden lead, or are expected to lead, to criminal or nuisance behaviour or further decline: verslaving (afglijden, crimineel); wonen (overlast)"]
	a.qualifies == true
}

complex_with_problems(ps) := replace(complex, "problems", ps)

test_several_problems_on_one_leefgebied_count_once if {
	c := meervoudig(complex_with_problems([
		{"leefgebied": "verslaving", "leads_to": ["crimineel"]},
		{"leefgebied": "verslaving", "leads_to": ["overlast"]},
	]))
	c.met == false
	startswith(c.reasons[0], "problems that lead, or are expected to lead, to criminal or nuisance behaviour or further decline on one leefgebied only (verslaving (crimineel, overlast))")
}

test_two_leefgebieden_without_criminal_nuisance_or_decline_are_not_enough if {
	reg := complex_with_problems([
		{"leefgebied": "schulden", "leads_to": []},
		{"leefgebied": "wonen"},
	])
	c := meervoudig(reg)
	c.met == false
	c.reasons == [
		"no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline",
		"problem 1 (schulden) is not counted: it leads to none of crimineel, overlast, afglijden",
		"problem 2 (wonen) is not counted: it leads to none of crimineel, overlast, afglijden",
	]
	a := advise(reg)
	a.qualifies == false
	a.outcome == "terug_naar_keten"
}

test_two_leefgebieden_only_one_leading_is_not_enough if {
	c := meervoudig(complex_with_problems([
		{"leefgebied": "schulden", "leads_to": ["afglijden"]},
		{"leefgebied": "wonen", "leads_to": []},
	]))
	c.met == false
}

test_unknown_effects_are_ignored if {
	c := meervoudig(complex_with_problems([
		{"leefgebied": "schulden", "leads_to": ["afglijden"]},
		{"leefgebied": "wonen", "leads_to": ["hinder", 3]},
	]))
	c.met == false
	"problem 2 (wonen): unknown effect hinder ignored" in c.reasons
	"problem 2 (wonen): unknown effect 3 ignored" in c.reasons
	"problem 2 (wonen) is not counted: it leads to none of crimineel, overlast, afglijden" in c.reasons
}

test_each_effect_counts_on_its_own if {
	every e in ["crimineel", "overlast", "afglijden"] {
		meervoudig(complex_with_problems([
			{"leefgebied": "schulden", "leads_to": [e]},
			{"leefgebied": "justitie", "leads_to": [e]},
		])).met == true
	}
}

test_leefgebieden_are_the_convenants if {
	# huisvesting is no leefgebied of the convenant; wonen is.
	c := meervoudig(complex_with_problems([
		{"leefgebied": "huisvesting", "leads_to": ["overlast"]},
		{"leefgebied": "justitie", "leads_to": ["crimineel"]},
	]))
	c.met == false
	"problem 1 is not counted: huisvesting is not a leefgebied of the convenant" in c.reasons

	# Every leefgebied of the convenant counts.
	every lg in {x | some x in data.convenant.leefgebieden} - {"justitie"} {
		meervoudig(complex_with_problems([
			{"leefgebied": lg, "leads_to": ["afglijden"]},
			{"leefgebied": "justitie", "leads_to": ["crimineel"]},
		])).met == true
	}
}

test_a_leefgebied_dropped_from_the_convenant_no_longer_counts if {
	lgs := [lg | some lg in data.convenant.leefgebieden; lg != "wonen"]
	a := screening.advice with input as {"aanmelding": complex} with data.convenant.leefgebieden as lgs
	a.criteria.meervoudige_problematiek.met == false
	a.qualifies == false
}

test_garbage_problem_entries_are_not_counted if {
	c := meervoudig(complex_with_problems([1, "wonen", null, {"leefgebied": 5, "leads_to": ["crimineel"]}, {"leads_to": ["crimineel"]}]))
	c.met == false
	c.reasons == [
		"no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline",
		"problem 1 is not counted: it is not an object",
		"problem 2 is not counted: it is not an object",
		"problem 3 is not counted: it is not an object",
		"problem 4 is not counted: it names no leefgebied",
		"problem 5 is not counted: it names no leefgebied",
	]
}

test_notes_follow_the_order_of_the_problems if {
	# Eleven entries: problem 2 comes before problem 10 (no string sort).
	c := meervoudig(complex_with_problems([n | some n in numbers.range(1, 11)]))
	c.reasons == array.concat(
		["no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline"],
		[sprintf("problem %d is not counted: it is not an object", [n]) | some n in numbers.range(1, 11)],
	)
}

test_leads_to_that_is_not_an_array_counts_nothing if {
	c := meervoudig(complex_with_problems([
		{"leefgebied": "schulden", "leads_to": "crimineel"},
		{"leefgebied": "justitie", "leads_to": ["crimineel"]},
	]))
	c.met == false
	"problem 1 (schulden) is not counted: it leads to none of crimineel, overlast, afglijden" in c.reasons
}

test_no_problems_stated if {
	c := meervoudig(object.remove(complex, ["problems"]))
	c.met == false
	c.reasons == ["no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline"]
}

# --- (2) ketenoverstijgend --------------------------------------------------------------------

keten(reg) := advise(reg).criteria.ketenoverstijgend

with_chains(reg, ch) := replace(reg, "chains", ch)

test_one_chain_only_is_not_ketenoverstijgend if {
	reg := with_chains(complex, {"needed": ["zorg"], "dwang_en_drang": true})
	c := keten(reg)
	c.met == false
	c.reasons == [
		"only one chain is needed (zorg): regular cooperation within one chain",
		"dwang en drang (coercion and pressure) is part of the approach",
	]
	a := advise(reg)
	a.qualifies == false
	a.outcome == "advies"
}

test_the_same_chain_twice_is_one_chain if {
	keten(with_chains(complex, {"needed": ["zorg", "zorg"], "dwang_en_drang": true})).met == false
}

test_two_chains_with_dwang_en_drang_are_ketenoverstijgend if {
	c := keten(complex)
	c.met == true
	c.reasons == [
		"cooperation between 2 chains is needed (strafrecht, zorg): one chain alone cannot solve it",
		"dwang en drang (coercion and pressure) is part of the approach",
	]
}

test_two_chains_without_dwang_en_drang_are_not_enough if {
	reg := with_chains(complex, {"needed": ["zorg", "bestuur"], "dwang_en_drang": false})
	c := keten(reg)
	c.met == false
	"no dwang en drang (coercion and pressure) in the approach: the landelijk kader needs at least dwang en drang" in c.reasons

	# Missing dwang en drang is not stated, so not met either.
	keten(with_chains(complex, {"needed": ["zorg", "bestuur"]})).met == false
}

test_unknown_chains_are_not_counted if {
	c := keten(with_chains(complex, {"needed": ["zorg", "onderwijs", 7], "dwang_en_drang": true}))
	c.met == false
	"chain onderwijs is not counted: not one of bestuur, civiel, strafrecht, zorg" in c.reasons
	"chain 7 is not counted: not one of bestuur, civiel, strafrecht, zorg" in c.reasons
}

test_every_pair_of_chains_is_ketenoverstijgend if {
	every a in screening.known_chains {
		every b in screening.known_chains - {a} {
			keten(with_chains(complex, {"needed": [a, b], "dwang_en_drang": true})).met == true
		}
	}
}

test_chains_already_involved_are_reported if {
	c := keten(with_chains(complex, {"involved": ["zorg", "school"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true}))
	c.met == true
	"chains already involved: zorg" in c.reasons
}

test_no_chains_stated if {
	c := keten(object.remove(complex, ["chains"]))
	c.met == false
	c.reasons[0] == "no chain stated whose cooperation is needed"
}

# --- (3) systeem ------------------------------------------------------------------------------

systeem(reg) := advise(reg).criteria.systeem

test_social_environment_alone_meets_systeem if {
	c := systeem(replace(complex, "system", {"family": false, "social_environment": true}))
	c.met == true
	c.reasons == ["the problems affect, or are affected by, the direct social environment"]
}

test_family_and_social_environment if {
	c := systeem(replace(complex, "system", {"family": true, "social_environment": true}))
	c.met == true
	count(c.reasons) == 2
}

test_no_system_effect_is_not_met if {
	c := systeem(replace(complex, "system", {"family": false, "social_environment": false}))
	c.met == false
	c.reasons == ["no effect on or of the family system or the direct social environment stated"]
	systeem(object.remove(complex, ["system"])).met == false
	systeem(replace(complex, "system", {})).met == false
}

# --- (4) gebiedsgebonden ----------------------------------------------------------------------

gebied(reg) := advise(reg).criteria.gebiedsgebonden

area_case := {
	"kind": "gebiedsgericht",
	"chains": {"needed": ["bestuur", "strafrecht"]},
	"area": {"serious_safety_problem": true},
}

test_serious_area_trouble_with_two_chains_qualifies_alone if {
	a := advise(area_case)
	a.qualifies == true
	a.outcome == "veiligheidshuis_case"
	met(a) == [false, false, false, true]
	a.criteria.gebiedsgebonden.reasons == ["serious area-bound safety trouble that needs a cross-chain approach (bestuur, strafrecht)"]
	"qualifies: criterion 4 is met (gebiedsgebonden)" in a.reasons
}

test_area_trouble_within_one_chain_is_not_gebiedsgebonden if {
	reg := replace(area_case, "chains", {"needed": ["bestuur"]})
	c := gebied(reg)
	c.met == false
	c.reasons == ["serious area-bound safety trouble, but no cross-chain approach: fewer than two chains are needed"]
	advise(reg).outcome == "terug_naar_keten"
}

test_no_area_trouble_stated if {
	c := gebied(object.remove(area_case, ["area"]))
	c.met == false
	c.reasons == ["no serious area-bound safety trouble stated"]
}

# --- kind -------------------------------------------------------------------------------------

test_kind_does_not_change_the_advice if {
	every kind in screening.known_kinds {
		advise(with_reg(complex, {"kind": kind})).outcome == "veiligheidshuis_case"
		advise(with_reg(regular, {"kind": kind})).outcome == "terug_naar_keten"
	}
}

# --- overall reasons --------------------------------------------------------------------------

test_reasons_of_a_complex_case if {
	advise(complex).reasons == [
		"qualifies: criteria 1 to 3 are met (meervoudige_problematiek, ketenoverstijgend, systeem)",
		"advice veiligheidshuis_case: complex problems that need the Veiligheidshuis's cross-chain approach",
		"the procesregisseur decides; this is advice",
	]
}

test_reasons_of_a_regular_case if {
	advise(registration(false, true, false, false)).reasons == [
		"does not qualify: not met: meervoudige_problematiek, systeem, gebiedsgebonden (the landelijk kader needs criteria 1 to 3 together, or criterion 4)",
		"advice terug_naar_keten: regular casework, within one chain or bilaterally between chains",
		"the procesregisseur decides; this is advice",
	]
}

test_no_bsn_or_names_are_needed if {
	# The registrations above carry none; extra keys are ignored, never required.
	a := advise(with_reg(complex, {"persons": [{"naam": "X", "bsn": "123456782"}]}))
	a == advise(complex)
}

# --- malformed registrations ------------------------------------------------------------------

# Not screened: nothing met, terug_naar_keten, the malformed reason first.
unscreened(a, reason) if {
	well_shaped(a)
	a.qualifies == false
	a.outcome == "terug_naar_keten"
	met(a) == [false, false, false, false]
	every _, c in a.criteria {
		c.reasons == ["not assessed: the registration is malformed"]
	}
	reason in a.reasons
	"advice terug_naar_keten: the registration is malformed and was not screened" in a.reasons
}

test_no_registration if {
	unscreened(advise_input({}), "no registration: input.aanmelding is missing or not an object")
	unscreened(advise_input({"aanmelding": "complex"}), "no registration: input.aanmelding is missing or not an object")
	unscreened(advise_input({"aanmelding": [complex]}), "no registration: input.aanmelding is missing or not an object")
	a := screening.advice
	unscreened(a, "no registration: input.aanmelding is missing or not an object")
}

test_kind_is_required if {
	unscreened(advise(object.remove(complex, ["kind"])), "kind null is not one of gebiedsgericht, persoonsgericht, systeemgericht")
	unscreened(advise(with_reg(complex, {"kind": "persoon"})), "kind persoon is not one of gebiedsgericht, persoonsgericht, systeemgericht")
	unscreened(advise({}), "kind null is not one of gebiedsgericht, persoonsgericht, systeemgericht")
}

test_wrongly_typed_keys_make_the_registration_malformed if {
	unscreened(advise(with_reg(complex, {"adviesvraag": "ja"})), "adviesvraag must be a boolean, not a string")
	unscreened(advise(replace(complex, "problems", {"wonen": "overlast"})), "problems must be an array, not an object")
	unscreened(advise(replace(complex, "chains", ["strafrecht", "zorg"])), "chains must be an object, not an array")
	unscreened(advise(replace(complex, "system", true)), "system must be an object, not a boolean")
	unscreened(advise(replace(complex, "area", "wijk")), "area must be an object, not a string")
	unscreened(advise(with_reg(complex, {"chains": {"dwang_en_drang": "true"}})), "chains.dwang_en_drang must be a boolean, not a string")
	unscreened(advise(with_reg(complex, {"chains": {"needed": "strafrecht, zorg"}})), "chains.needed must be an array, not a string")
	unscreened(advise(with_reg(complex, {"chains": {"involved": 2}})), "chains.involved must be an array, not a number")
	unscreened(advise(with_reg(complex, {"system": {"family": 1}})), "system.family must be a boolean, not a number")
	unscreened(advise(with_reg(complex, {"system": {"social_environment": "ja"}})), "system.social_environment must be a boolean, not a string")
	unscreened(advise(with_reg(area_case, {"area": {"serious_safety_problem": "ernstig"}})), "area.serious_safety_problem must be a boolean, not a string")
}

test_malformed_adviesvraag_is_not_advies if {
	# Even with criterion 1 and an adviesvraag: a malformed registration is not screened.
	unscreened(advise(with_reg(registration(true, false, false, false), {"adviesvraag": true, "kind": 3})), "kind 3 is not one of gebiedsgericht, persoonsgericht, systeemgericht")
}

test_every_malformed_reason_is_reported if {
	a := advise({"kind": "wijk", "adviesvraag": 1, "area": []})
	unscreened(a, "kind wijk is not one of gebiedsgericht, persoonsgericht, systeemgericht")
	"adviesvraag must be a boolean, not a number" in a.reasons
	"area must be an object, not an array" in a.reasons
}

test_null_is_not_stated_not_malformed if {
	a := advise({"kind": "persoonsgericht", "adviesvraag": null, "problems": null, "chains": null, "system": {"family": null}, "area": null})
	count(screening.malformed) == 0 with input as {"aanmelding": {"kind": "persoonsgericht", "chains": {"needed": null}}}
	a.qualifies == false
	a.outcome == "terug_naar_keten"
	a.criteria.meervoudige_problematiek.reasons == ["no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline"]
}

test_minimal_registration_is_regular_casework if {
	a := advise({"kind": "systeemgericht"})
	well_shaped(a)
	a.qualifies == false
	a.outcome == "terug_naar_keten"
	count(screening.malformed) == 0 with input as {"aanmelding": {"kind": "systeemgericht"}}
}

# --- the procesregisseur's decision ------------------------------------------------------------

substantial_reason := "Wijkagent meldt escalerende dreiging richting buren; zonder gezamenlijke aanpak valt het gezin buiten beeld"

test_decisions_that_follow_the_advice_are_valid if {
	c := check(complex, {"decision": "veiligheidshuis_case", "reason": "voldoet aan criteria 1 tot 3"})
	c == {"valid": true, "advised": "veiligheidshuis_case", "follows_advice": true, "reasons": ["decision veiligheidshuis_case follows the advice"]}
	check(registration(true, false, false, false), {"decision": "advies", "reason": "geen dwang en drang"}).valid == true
	check(regular, {"decision": "terug_naar_keten", "reason": "regulier"}).valid == true
}

test_every_decision_needs_a_reason if {
	every d in screening.outcomes {
		every reason in ["", "   ", "\n\t"] {
			c := check(complex, {"decision": d, "reason": reason})
			c.valid == false
			c.reasons == ["the decision has no reason: a decision needs a non-blank reason"]
		}
		check(complex, {"decision": d}).valid == false
		check(complex, {"decision": d, "reason": ["ja"]}).valid == false
		check(complex, {"decision": d, "reason": null}).valid == false
	}
}

test_decision_must_be_one_of_the_three if {
	c := check(complex, {"decision": "mdo", "reason": "direct naar het MDO"})
	c.valid == false
	c.reasons == ["decision mdo is not one of advies, terug_naar_keten, veiligheidshuis_case"]
	check(complex, {"decision": true, "reason": "ja"}).valid == false
	check(complex, {"reason": "ja"}).reasons == ["decision null is not one of advies, terug_naar_keten, veiligheidshuis_case"]
}

test_no_decision if {
	c := screening.decision_check with input as {"aanmelding": complex}
	c.valid == false
	c.reasons == ["no decision: input.decision is missing or not an object"]
	screening.decision_valid == false with input as {}
	screening.decision_valid == false with input as {"decision": "veiligheidshuis_case"}
	screening.decision_valid == false
}

test_case_against_terug_naar_keten_needs_a_substantial_reason if {
	c := check(regular, {"decision": "veiligheidshuis_case", "reason": "toch doen"})
	c.valid == false
	c.advised == "terug_naar_keten"
	c.reasons == ["veiligheidshuis_case against the advice terug_naar_keten needs a reason of at least 40 characters and 6 words (this one has 9 characters and 2 words)"]

	ok := check(regular, {"decision": "veiligheidshuis_case", "reason": substantial_reason})
	ok.valid == true
	ok.follows_advice == false
	ok.reasons == ["decision veiligheidshuis_case deviates from the advice terug_naar_keten, with a reason"]
}

test_substance_boundaries if {
	# 40 characters and 6 words exactly: valid.
	forty := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c d e f"
	count(forty) == 40
	check(regular, {"decision": "veiligheidshuis_case", "reason": forty}).valid == true

	# 39 characters (surrounding blanks do not count), 6 words: invalid.
	thirty_nine := "  aaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c d e f  "
	check(regular, {"decision": "veiligheidshuis_case", "reason": thirty_nine}).valid == false

	# 40 characters, 5 words: invalid (one long word is not substance).
	five_words := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c d e"
	count(five_words) == 40
	check(regular, {"decision": "veiligheidshuis_case", "reason": five_words}).valid == false

	# Words split on newlines and tabs as well.
	check(regular, {"decision": "veiligheidshuis_case", "reason": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb\tc d e f"}).valid == true
}

test_substance_is_asked_only_against_terug_naar_keten if {
	# Against advies, or declining a qualifying case: any non-blank reason will do.
	check(registration(true, false, false, false), {"decision": "veiligheidshuis_case", "reason": "toch doen"}).valid == true
	check(complex, {"decision": "terug_naar_keten", "reason": "geen capaciteit"}).valid == true
	check(complex, {"decision": "advies", "reason": "alleen advies"}).valid == true
	check(regular, {"decision": "advies", "reason": "kort advies"}).valid == true
}

test_case_against_a_malformed_registration_needs_substance if {
	c := check({"kind": "?"}, {"decision": "veiligheidshuis_case", "reason": "toch doen"})
	c.valid == false
	c.advised == "terug_naar_keten"
	check({"kind": "?"}, {"decision": "veiligheidshuis_case", "reason": substantial_reason}).valid == true
}
