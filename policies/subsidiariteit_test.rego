# Subsidiariteit: the least intrusive answer (tier), and who sits at the case table.
package vhgate.subsidiariteit_test

import data.vhgate.fixtures as fx
import data.vhgate.subsidiariteit

tier(inp) := x if {
	x := subsidiariteit.tier with input as inp
}

deny(inp) := x if {
	x := subsidiariteit.deny with input as inp
}

withheld(inp) := {w.field | some w in ws} if {
	ws := subsidiariteit.withhold with input as inp
}

not_participant := "not a participant of this case: only a hit/no-hit lookup is allowed"

# --- participants --------------------------------------------------------------------------

test_participant_gets_full_tier_in_screening_mdo_uitvoering if {
	every phase in ["screening", "mdo", "uitvoering"] {
		inp := fx.with_phase(fx.read, phase)
		tier(inp) == "full"
		count(deny(inp)) == 0
		count(withheld(inp)) == 0
	}
}

test_participant_in_aanmelding_gets_summary_of_identificerend_only if {
	inp := fx.with_phase(fx.read, "aanmelding")
	tier(inp) == "summary"
	count(deny(inp)) == 0
	withheld(inp) == fx.field_names - {"persoon.naam"}
	w := subsidiariteit.withhold with input as inp
	{"field": "persoon.bsn", "reason": "case not yet screened (phase aanmelding): summary only, and category bsn is not identificerend"} in w
}

test_closed_case_has_no_tier if {
	tier(fx.with_phase(fx.read, "afgesloten")) == "none"
}

test_non_participant_gets_hit_no_hit_and_nothing_else if {
	tier(fx.outsider_read) == "hit_no_hit"
	deny(fx.outsider_read) == {not_participant}
	withheld(fx.outsider_read) == fx.field_names
	not subsidiariteit.at_table with input as fx.outsider_read
}

test_participant_flag_without_oin_in_list_fails_closed if {
	# The gateway says participant, but the OIN is not at the table: an inconsistency.
	inp := object.union(fx.read, {"case": {"participants": [fx.participant("veiligheidshuis")]}})
	tier(inp) == "hit_no_hit"
	deny(inp) == {concat("", [not_participant, " (the requester is flagged as participant, but its OIN is not among the case participants)"])}
	withheld(inp) == fx.field_names
}

test_oin_in_list_without_participant_flag_fails_closed if {
	inp := object.union(fx.read, {"case": {"requester_is_participant": false}})
	tier(inp) == "hit_no_hit"
	deny(inp) == {not_participant}
}

test_participant_flag_must_be_boolean_true if {
	inp := object.union(fx.read, {"case": {"requester_is_participant": "true"}})
	deny(inp) == {not_participant}
}

test_participants_list_of_garbage_is_no_table if {
	inp := object.union(fx.read, {"case": {"participants": "00000001000000000011"}})
	tier(inp) == "hit_no_hit"
	inp2 := object.union(fx.read, {"case": {"participants": [fx.oin.politie, 11, null]}})
	tier(inp2) == "hit_no_hit"
}

test_another_partners_oin_does_not_seat_the_requester if {
	# ggz sits at the table; a politie requester with the flag set is not seated by that.
	inp := object.union(fx.read, {"case": {"participants": [fx.participant("ggz")]}})
	count(deny(inp)) == 1
}

# --- Veiligheidshuis staff -----------------------------------------------------------------------

test_staff_procesregie_needs_no_seat if {
	subsidiariteit.at_table with input as fx.staff_read
	tier(fx.staff_read) == "full"
	tier(fx.with_phase(fx.staff_read, "screening")) == "full"
	tier(fx.with_phase(fx.staff_read, "aanmelding")) == "summary"
	e := subsidiariteit.explained with input as fx.staff_read
	e == "tier full: case in phase mdo (Veiligheidshuis staff doing procesregie)"
}

test_staff_for_casusoverleg_needs_a_seat if {
	inp := fx.with_requester(fx.staff_read, {"purpose": "casusoverleg"})
	tier(inp) == "hit_no_hit"
	deny(inp) == {not_participant}
}

test_other_partner_type_claiming_procesregie_is_not_staff if {
	inp := object.union(fx.outsider_read, {"requester": {"purpose": "procesregie"}})
	not subsidiariteit.at_table with input as inp
}

# --- lookup ------------------------------------------------------------------------------------

test_lookup_is_hit_no_hit_without_fields if {
	tier(fx.lookup) == "hit_no_hit"
	count(deny(fx.lookup)) == 0
	withheld(fx.lookup) == fx.field_names
	w := subsidiariteit.withhold with input as fx.lookup
	every x in w {
		x.reason == "a lookup answers hit/no-hit only: no field is disclosed"
	}
}

test_lookup_by_non_participant_is_not_denied if {
	# Hit/no-hit is exactly what a partner that is not (yet) at the table may ask.
	inp := object.union(fx.lookup, {"case": {"requester_is_participant": false, "participants": []}})
	count(deny(inp)) == 0
	tier(inp) == "hit_no_hit"
}

test_review_disclosures_has_no_tier if {
	tier(fx.review) == "none"
	count(deny(fx.review)) == 0
}
