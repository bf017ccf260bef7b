# Doelmatigheid: purpose register, roles, partner types, identity and case state.
package vhgate.doelmatigheid_test

import data.vhgate.doelmatigheid
import data.vhgate.fixtures as fx

# The deny set for input inp.
deny(inp) := x if {
	x := doelmatigheid.deny with input as inp
}

holds(inp) if {
	doelmatigheid.holds with input as inp
}

# --- admitted requests -------------------------------------------------------------------------

test_participant_read_holds if {
	holds(fx.read)
	count(deny(fx.read)) == 0
	count(doelmatigheid.withhold) == 0 with input as fx.read
}

test_every_partner_type_with_casusregisseur_and_professional_holds if {
	every pt in fx.partner_types {
		every role in ["casusregisseur", "professional"] {
			every purpose in ["casusoverleg", "nazorg"] {
				holds(fx.with_requester(fx.read_as(pt), {"role": role, "purpose": purpose}))
			}
		}
	}
}

test_staff_roles_hold_for_procesregie if {
	holds(fx.staff_read)
	holds(fx.with_requester(fx.staff_read, {"role": "informatiecoordinator"}))
}

test_lookup_needs_no_case if {
	not fx.lookup.case
	holds(fx.lookup)
}

test_admitted_summary_names_purpose_role_and_partner_type if {
	s := doelmatigheid.admitted with input as fx.read
	s == `purpose "casusoverleg" allows action "read_person" for role "professional" of partner type "politie"`
}

# --- requester ---------------------------------------------------------------------------------

test_empty_input_is_denied_with_reasons if {
	d := deny({})
	"the request has no requester" in d
	"the request names no action" in d
	"the request names no purpose" in d
	"the requester has no role" in d
	not holds({})
}

test_requester_not_an_object_is_denied if {
	inp := object.union(fx.read, {"requester": "politie"})
	"the request has no requester" in deny(inp)
}

test_oin_not_20_digits_is_denied if {
	reason := "the requester's OIN is missing or is not 20 digits"
	reason in deny(fx.with_requester(fx.read, {"oin": "0000000100000000001"}))
	reason in deny(fx.with_requester(fx.read, {"oin": "000000010000000000111"}))
	reason in deny(fx.with_requester(fx.read, {"oin": "0000000100000000001X"}))
	reason in deny(fx.with_requester(fx.read, {"oin": 11111111111111111111}))
	reason in deny(fx.without(fx.read, "requester", "oin"))
}

test_missing_or_blank_sub_is_denied if {
	reason := "the requester has no employee id (sub), so the disclosure cannot be attributed"
	reason in deny(fx.without(fx.read, "requester", "sub"))
	reason in deny(fx.with_requester(fx.read, {"sub": "   "}))
	reason in deny(fx.with_requester(fx.read, {"sub": 42}))
}

# --- action ------------------------------------------------------------------------------------

test_unknown_action_is_denied if {
	`action "delete_person" is not known` in deny(object.union(fx.read, {"action": "delete_person"}))
	"the request names no action" in deny(object.union(fx.read, {"action": 7}))
}

# --- partner type ------------------------------------------------------------------------------

test_unknown_partner_type_is_denied if {
	d := deny(fx.with_requester(fx.read, {"partner_type": "dji"}))
	`partner type "dji" is not a party to the convenant` in d
}

test_missing_partner_type_is_denied if {
	inp := fx.without(fx.read, "requester", "partner_type")
	"the requester has no partner type" in deny(inp)
}

# --- purpose -----------------------------------------------------------------------------------

test_unknown_purpose_is_denied if {
	`purpose "marketing" is not in the convenant's purpose register` in deny(fx.with_requester(fx.read, {"purpose": "marketing"}))
}

test_bevraging_does_not_allow_read_person if {
	d := deny(fx.with_requester(fx.read, {"purpose": "bevraging"}))
	`purpose "bevraging" does not allow action "read_person"` in d
	count(d) == 1
}

test_toezicht_does_not_allow_read_person_or_lookup if {
	officer := fx.requester("veiligheidshuis", "privacy_officer", "toezicht")
	`purpose "toezicht" does not allow action "read_person"` in deny(object.union(fx.staff_read, {"requester": officer}))
	`purpose "toezicht" does not allow action "lookup"` in deny(object.union(fx.lookup, {"requester": officer}))
}

test_casusoverleg_does_not_allow_review_disclosures if {
	`purpose "casusoverleg" does not allow action "review_disclosures"` in deny(object.union(fx.read, {"action": "review_disclosures"}))
}

# --- role --------------------------------------------------------------------------------------

test_unknown_role_is_denied if {
	`role "wijkagent" is not in the convenant` in deny(fx.with_requester(fx.read, {"role": "wijkagent"}))
}

test_role_may_not_act_for_purpose if {
	# A partner professional cannot claim procesregie; staff cannot claim nazorg.
	`role "professional" may not act for purpose "procesregie"` in deny(fx.with_requester(fx.read, {"purpose": "procesregie"}))
	`role "procesregisseur" may not act for purpose "nazorg"` in deny(fx.with_requester(fx.staff_read, {"purpose": "nazorg"}))
	`role "informatiecoordinator" may not act for purpose "casusoverleg"` in deny(fx.with_requester(fx.staff_read, {"role": "informatiecoordinator", "purpose": "casusoverleg"}))
}

test_role_not_open_to_partner_type if {
	`role "procesregisseur" is not open to partner type "politie"` in deny(fx.with_requester(fx.read, {"role": "procesregisseur"}))
	`role "informatiecoordinator" is not open to partner type "gemeente"` in deny(object.union(fx.staff_read, {"requester": fx.requester("gemeente", "informatiecoordinator", "procesregie")}))
	`role "professional" is not open to partner type "veiligheidshuis"` in deny(fx.with_requester(fx.staff_read, {"role": "professional", "purpose": "casusoverleg"}))
}

# --- case --------------------------------------------------------------------------------------

test_read_person_without_case_is_denied if {
	inp := object.remove(fx.read, ["case"])
	"read_person needs a case, and none was given" in deny(inp)
	"read_person needs a case, and none was given" in deny(object.union(fx.read, {"case": "0195f3a0"}))
}

test_closed_case_is_denied if {
	d := deny(fx.with_phase(fx.read, "afgesloten"))
	"the case is closed (phase afgesloten): sharing no longer serves a purpose of the convenant" in d
	count(d) == 1

	# Also for staff doing procesregie.
	not holds(fx.with_phase(fx.staff_read, "afgesloten"))
}

test_open_phases_hold if {
	every phase in ["aanmelding", "screening", "mdo", "uitvoering"] {
		holds(fx.with_phase(fx.read, phase))
	}
}

test_missing_or_unknown_phase_is_denied if {
	"the case has no phase" in deny(fx.without(fx.read, "case", "phase"))
	"the case has no phase" in deny(fx.with_phase(fx.read, 3))
	`case phase "archief" is not known` in deny(fx.with_phase(fx.read, "archief"))
}

test_case_of_other_region_is_denied if {
	inp := object.union(fx.read, {"case": {"region": "haaglanden"}})
	`the case belongs to region "haaglanden", outside this convenant's region "oost-brabant"` in deny(inp)
}

test_case_without_region_is_denied if {
	"the case has no region" in deny(fx.without(fx.read, "case", "region"))
	"the case has no region" in deny(object.union(fx.read, {"case": {"region": ["oost-brabant"]}}))
}

test_convenant_without_region_denies_every_case if {
	conv := object.remove(data.convenant, ["region"])
	d := doelmatigheid.deny with input as fx.read with data.convenant as conv
	`the case belongs to region "oost-brabant", but the convenant names no region` in d
}

test_case_state_does_not_matter_for_lookup if {
	holds(object.union(fx.lookup, {"case": {"phase": "afgesloten", "region": "haaglanden"}}))
}

# --- field level -------------------------------------------------------------------------------

test_denied_request_withholds_every_field_with_all_reasons if {
	inp := fx.with_requester(fx.with_phase(fx.read, "afgesloten"), {"sub": ""})
	w := doelmatigheid.withhold with input as inp
	{x.field | some x in w} == fx.field_names
	every x in w {
		x.reason == "the case is closed (phase afgesloten): sharing no longer serves a purpose of the convenant; the requester has no employee id (sub), so the disclosure cannot be attributed"
	}
}

test_review_disclosures_withholds_case_fields if {
	inp := fx.with_fields(fx.review, fx.fields)
	holds(inp)
	w := doelmatigheid.withhold with input as inp
	{x.field | some x in w} == fx.field_names
}
