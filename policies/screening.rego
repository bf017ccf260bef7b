# Screening and triage (DESIGN.md §1; seeds 000, 002 and 003): the complexity criteria of the
# landelijk kader Veiligheidshuizen, as advice to the procesregisseur on a registered case
# (aanmelding). A case qualifies when
#
#   (1) meervoudige_problematiek: problems on more than one leefgebied lead, or are expected to
#       lead, to criminal or nuisance behaviour or further decline, AND
#   (2) ketenoverstijgend: cooperation between several chains, at least dwang en drang, is
#       needed, because one chain alone cannot solve it, AND
#   (3) systeem: the problems affect, or are affected by, the family system or the direct
#       social environment,
#   OR
#   (4) gebiedsgebonden: there is serious area-bound safety trouble that needs a cross-chain
#       approach.
#
# The advice (outcome):
#
#   qualifies                                                    veiligheidshuis_case
#   does not qualify, and an adviesvraag or criterion (1) met     advies
#   otherwise (also a malformed registration)                     terug_naar_keten
#
# Criterion (1) alone earns advies: a multi-problem case that lacks the cross-chain frame or the
# system side is still worth the Veiligheidshuis's advice to the chains (its adviserende
# functie, seed 000; seed 003's casus Boekel: "vanwege ontbrekend justitieel kader slechts
# advisering"). Cooperation between chains or an effect on the family alone is regular
# casework (figure 1 of seed 002: within one chain, or bilaterally between chains).
#
# The procesregisseur decides (decision_check); the policy only advises. The screening needs no
# BSN or names, and reads none.
#
# Exposes: advice, malformed, decision_check, decision_valid.
package vhgate.screening

# ---------------------------------------------------------------------------------------------
# Vocabulary

known_kinds := {"persoonsgericht", "systeemgericht", "gebiedsgericht"}

# What a problem leads (or is expected to lead) to: criminal behaviour, nuisance, further decline.
known_effects := {"crimineel", "overlast", "afglijden"}

# The chains (ketens): the criminal-justice, care, administrative (gemeente, openbare orde) and
# civil-law (child protection) chains.
known_chains := {"strafrecht", "zorg", "bestuur", "civiel"}

outcomes := {"veiligheidshuis_case", "advies", "terug_naar_keten"}

criteria_order := ["meervoudige_problematiek", "ketenoverstijgend", "systeem", "gebiedsgebonden"]

# ---------------------------------------------------------------------------------------------
# Safe accessors for input.aanmelding. Only the screening reads this document, so they live
# here rather than in lib.rego. A key that is missing or null is "not stated"; a key that is
# present with the wrong type makes the registration malformed (see below).

default reg := {}

reg := input.aanmelding if is_object(input.aanmelding)

stated(o, k) if {
	data.vhgate.lib.has_key(o, k)
	o[k] != null
}

default adviesvraag := false

adviesvraag if reg.adviesvraag == true

default problems := []

problems := reg.problems if is_array(reg.problems)

default chains := {}

chains := reg.chains if is_object(reg.chains)

default needed_listed := []

needed_listed := chains.needed if is_array(chains.needed)

default involved_listed := []

involved_listed := chains.involved if is_array(chains.involved)

needed := {c | some c in needed_listed; c in known_chains}

involved := {c | some c in involved_listed; c in known_chains}

dwang_en_drang if chains.dwang_en_drang == true

system_family if reg.system.family == true

system_social if reg.system.social_environment == true

area_serious if reg.area.serious_safety_problem == true

# ---------------------------------------------------------------------------------------------
# Malformed registrations: not screened at all (no criterion met), advice terug_naar_keten.

# Optional keys and the type they must have when stated.
top_types := {
	"adviesvraag": "boolean",
	"problems": "array",
	"chains": "object",
	"system": "object",
	"area": "object",
}

nested_types := {
	"chains": {"needed": "array", "involved": "array", "dwang_en_drang": "boolean"},
	"system": {"family": "boolean", "social_environment": "boolean"},
	"area": {"serious_safety_problem": "boolean"},
}

malformed contains "no registration: input.aanmelding is missing or not an object" if {
	not is_object(input.aanmelding)
}

malformed contains sprintf("kind %s is not one of gebiedsgericht, persoonsgericht, systeemgericht", [data.vhgate.lib.show(object.get(reg, "kind", null))]) if {
	is_object(input.aanmelding)
	not object.get(reg, "kind", null) in known_kinds
}

malformed contains sprintf("%s must be %s, not %s", [k, a_type(t), a_type(type_name(reg[k]))]) if {
	some k, t in top_types
	stated(reg, k)
	type_name(reg[k]) != t
}

malformed contains sprintf("%s.%s must be %s, not %s", [k, n, a_type(t), a_type(type_name(reg[k][n]))]) if {
	some k, types in nested_types
	is_object(reg[k])
	some n, t in types
	stated(reg[k], n)
	type_name(reg[k][n]) != t
}

well_formed if count(malformed) == 0

# "an array", "a string": a type name with its article, for the reasons.
a_type(t) := concat(" ", ["an", t]) if t in {"array", "object"}

a_type(t) := concat(" ", ["a", t]) if not t in {"array", "object"}

# ---------------------------------------------------------------------------------------------
# (1) meervoudige_problematiek

# The known effects a problem entry states, sorted ([] when none or malformed).
effects_of(p) := sort({e | some e in p.leads_to; e in known_effects}) if is_array(p.leads_to)

effects_of(p) := [] if not is_array(p.leads_to)

counted_problem(p) if {
	is_object(p)
	is_string(p.leefgebied)
	p.leefgebied in data.vhgate.lib.known_leefgebieden
}

# [leefgebied, effect] for every counted problem and each effect it leads to.
leading := {[p.leefgebied, e] |
	some p in problems
	counted_problem(p)
	some e in effects_of(p)
}

leading_leefgebieden := {x[0] | some x in leading}

leefgebied_effects(lg) := sprintf("%s (%s)", [lg, concat(", ", sort({x[1] | some x in leading; x[0] == lg}))])

leading_summary := concat("; ", [leefgebied_effects(lg) | some lg in sort(leading_leefgebieden)])

problem_notes contains [i, sprintf("problem %d is not counted: it is not an object", [i + 1])] if {
	some i, p in problems
	not is_object(p)
}

problem_notes contains [i, sprintf("problem %d is not counted: it names no leefgebied", [i + 1])] if {
	some i, p in problems
	is_object(p)
	not is_string(p.leefgebied)
}

problem_notes contains [i, sprintf("problem %d is not counted: %s is not a leefgebied of the convenant", [i + 1, p.leefgebied])] if {
	some i, p in problems
	is_object(p)
	is_string(p.leefgebied)
	not p.leefgebied in data.vhgate.lib.known_leefgebieden
}

problem_notes contains [i, sprintf("problem %d (%s) is not counted: it leads to none of crimineel, overlast, afglijden", [i + 1, p.leefgebied])] if {
	some i, p in problems
	counted_problem(p)
	count(effects_of(p)) == 0
}

problem_notes contains [i, sprintf("problem %d (%s): unknown effect %s ignored", [i + 1, p.leefgebied, data.vhgate.lib.show(e)])] if {
	some i, p in problems
	counted_problem(p)
	is_array(p.leads_to)
	some e in p.leads_to
	not e in known_effects
}

default c1 := false

c1 if {
	well_formed
	count(leading_leefgebieden) >= 2
}

c1_main := sprintf("problems on %d leefgebieden lead, or are expected to lead, to criminal or nuisance behaviour or further decline: %s", [count(leading_leefgebieden), leading_summary]) if {
	count(leading_leefgebieden) >= 2
}

c1_main := sprintf("problems that lead, or are expected to lead, to criminal or nuisance behaviour or further decline on one leefgebied only (%s): the landelijk kader needs more than one", [leading_summary]) if {
	count(leading_leefgebieden) == 1
}

c1_main := "no problem stated that leads, or is expected to lead, to criminal or nuisance behaviour or further decline" if {
	count(leading_leefgebieden) == 0
}

# The notes in the order of the problems (a note is [index, text]).
c1_reasons := array.concat([c1_main], [n[1] | some n in sort(problem_notes)])

# ---------------------------------------------------------------------------------------------
# (2) ketenoverstijgend

chains_text := "bestuur, civiel, strafrecht, zorg"

chain_notes contains sprintf("chain %s is not counted: not one of %s", [data.vhgate.lib.show(c), chains_text]) if {
	some c in needed_listed
	not c in known_chains
}

chain_notes contains sprintf("chains already involved: %s", [concat(", ", sort(involved))]) if {
	count(involved) > 0
}

cross_chain if count(needed) >= 2

default c2 := false

c2 if {
	well_formed
	cross_chain
	dwang_en_drang
}

c2_chains := sprintf("cooperation between %d chains is needed (%s): one chain alone cannot solve it", [count(needed), concat(", ", sort(needed))]) if cross_chain

c2_chains := sprintf("only one chain is needed (%s): regular cooperation within one chain", [concat(", ", sort(needed))]) if count(needed) == 1

c2_chains := "no chain stated whose cooperation is needed" if count(needed) == 0

c2_dwang := "dwang en drang (coercion and pressure) is part of the approach" if dwang_en_drang

c2_dwang := "no dwang en drang (coercion and pressure) in the approach: the landelijk kader needs at least dwang en drang" if not dwang_en_drang

c2_reasons := array.concat([c2_chains, c2_dwang], sort(chain_notes))

# ---------------------------------------------------------------------------------------------
# (3) systeem

default c3 := false

c3 if {
	well_formed
	system_family
}

c3 if {
	well_formed
	system_social
}

c3_found contains "the problems affect, or are affected by, the family system" if system_family

c3_found contains "the problems affect, or are affected by, the direct social environment" if system_social

c3_reasons := sort(c3_found) if count(c3_found) > 0

c3_reasons := ["no effect on or of the family system or the direct social environment stated"] if count(c3_found) == 0

# ---------------------------------------------------------------------------------------------
# (4) gebiedsgebonden: the cross-chain approach is the same fact as in (2), two or more chains
# needed; dwang en drang is not required here.

default c4 := false

c4 if {
	well_formed
	area_serious
	cross_chain
}

c4_reasons := [sprintf("serious area-bound safety trouble that needs a cross-chain approach (%s)", [concat(", ", sort(needed))])] if {
	area_serious
	cross_chain
}

c4_reasons := ["serious area-bound safety trouble, but no cross-chain approach: fewer than two chains are needed"] if {
	area_serious
	not cross_chain
}

c4_reasons := ["no serious area-bound safety trouble stated"] if not area_serious

# ---------------------------------------------------------------------------------------------
# The advice

not_assessed := ["not assessed: the registration is malformed"]

criterion(met, reasons) := {"met": met, "reasons": reasons} if well_formed

criterion(_, _) := {"met": false, "reasons": not_assessed} if not well_formed

criteria := {
	"meervoudige_problematiek": criterion(c1, c1_reasons),
	"ketenoverstijgend": criterion(c2, c2_reasons),
	"systeem": criterion(c3, c3_reasons),
	"gebiedsgebonden": criterion(c4, c4_reasons),
}

default qualifies := false

qualifies if {
	c1
	c2
	c3
}

qualifies if c4

default outcome := "terug_naar_keten"

outcome := "veiligheidshuis_case" if qualifies

outcome := "advies" if {
	not qualifies
	well_formed
	adviesvraag
}

outcome := "advies" if {
	not qualifies
	c1
}

qualification contains "qualifies: criteria 1 to 3 are met (meervoudige_problematiek, ketenoverstijgend, systeem)" if {
	c1
	c2
	c3
}

qualification contains "qualifies: criterion 4 is met (gebiedsgebonden)" if c4

qualification contains sprintf("does not qualify: not met: %s (the landelijk kader needs criteria 1 to 3 together, or criterion 4)", [concat(", ", unmet)]) if {
	well_formed
	not qualifies
}

unmet := [n | some n in criteria_order; criteria[n].met == false]

outcome_reason := "advice veiligheidshuis_case: complex problems that need the Veiligheidshuis's cross-chain approach" if outcome == "veiligheidshuis_case"

outcome_reason := "advice advies: the registration is an adviesvraag; the Veiligheidshuis advises the registering partner" if {
	outcome == "advies"
	adviesvraag
}

outcome_reason := "advice advies: multiple problems, but not a Veiligheidshuis case; the Veiligheidshuis advises the chains" if {
	outcome == "advies"
	not adviesvraag
}

outcome_reason := "advice terug_naar_keten: the registration is malformed and was not screened" if {
	outcome == "terug_naar_keten"
	not well_formed
}

outcome_reason := "advice terug_naar_keten: regular casework, within one chain or bilaterally between chains" if {
	outcome == "terug_naar_keten"
	well_formed
}

decides_note := "the procesregisseur decides; this is advice"

reasons := array.concat(array.concat(sort(malformed), sort(qualification)), [outcome_reason, decides_note])

advice := {
	"qualifies": qualifies,
	"outcome": outcome,
	"criteria": criteria,
	"reasons": reasons,
}

# ---------------------------------------------------------------------------------------------
# The procesregisseur's decision (input.decision = {"decision", "reason"}), checked against the
# advice on the same input. Any of the three decisions is open to the procesregisseur, always
# with a non-blank reason. Taking on a case that the advice sends back to the chain
# (veiligheidshuis_case against terug_naar_keten) spends the partners' capacity on a case the
# criteria do not cover, so its reason needs some substance: at least override_min_chars
# characters and override_min_words words (after trimming).

override_min_chars := 40

override_min_words := 6

default decision_doc := {}

decision_doc := input.decision if is_object(input.decision)

default decided := ""

decided := decision_doc.decision if is_string(decision_doc.decision)

default decision_reason := ""

decision_reason := trim_space(decision_doc.reason) if is_string(decision_doc.reason)

words(s) := [w | some w in split(replace(replace(replace(s, "\n", " "), "\t", " "), "\r", " "), " "); w != ""]

substantial(s) if {
	count(s) >= override_min_chars
	count(words(s)) >= override_min_words
}

decision_problems contains "no decision: input.decision is missing or not an object" if {
	not is_object(input.decision)
}

decision_problems contains sprintf("decision %s is not one of advies, terug_naar_keten, veiligheidshuis_case", [data.vhgate.lib.show(object.get(decision_doc, "decision", null))]) if {
	is_object(input.decision)
	not decided in outcomes
}

decision_problems contains "the decision has no reason: a decision needs a non-blank reason" if {
	is_object(input.decision)
	decision_reason == ""
}

decision_problems contains sprintf("veiligheidshuis_case against the advice terug_naar_keten needs a reason of at least %d characters and %d words (this one has %d characters and %d words)", [override_min_chars, override_min_words, count(decision_reason), count(words(decision_reason))]) if {
	decided == "veiligheidshuis_case"
	outcome == "terug_naar_keten"
	decision_reason != ""
	not substantial(decision_reason)
}

default decision_valid := false

decision_valid if count(decision_problems) == 0

decision_explained := sort(decision_problems) if not decision_valid

decision_explained := [sprintf("decision %s follows the advice", [decided])] if {
	decision_valid
	decided == outcome
}

decision_explained := [sprintf("decision %s deviates from the advice %s, with a reason", [decided, outcome])] if {
	decision_valid
	decided != outcome
}

default follows_advice := false

follows_advice if decided == outcome

decision_check := {
	"valid": decision_valid,
	"advised": outcome,
	"follows_advice": follows_advice,
	"reasons": decision_explained,
}
