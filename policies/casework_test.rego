# The case life cycle: who may take which step, in which phase (policies/casework.rego).
package vhgate.casework_test

import data.vhgate.casework
import data.vhgate.fixtures as fx

case_in(phase) := {
	"id": "0195f3a0-0000-7000-8000-000000000002",
	"kind": "persoon",
	"phase": phase,
	"region": fx.region,
	"requester_is_participant": false,
	"participants": [fx.participant("politie")],
}

step(action, req, phase, facts) := {
	"action": action,
	"now": fx.now,
	"requester": req,
	"budget": {"used": 0},
	"case": case_in(phase),
	"fields": [],
	"casework": facts,
}

pr := fx.requester("veiligheidshuis", "procesregisseur", "procesregie")

ic := fx.requester("veiligheidshuis", "informatiecoordinator", "procesregie")

prof(pt) := fx.requester(pt, "professional", "casusoverleg")

regisseur(pt) := fx.requester(pt, "casusregisseur", "casusoverleg")

allowed(inp) if {
	d := casework.decision with input as inp
	d.allow == true
}

refused(inp) if {
	d := casework.decision with input as inp
	d.allow == false
	count(d.reasons) > 0
}

aanmelding := {
	"kind": "persoonsgericht",
	"adviesvraag": false,
	"problems": [
		{"leefgebied": "verslaving", "leads_to": ["crimineel"]},
		{"leefgebied": "wonen", "leads_to": ["overlast"]},
	],
	"chains": {"involved": ["zorg"], "needed": ["strafrecht", "zorg"], "dwang_en_drang": true},
	"system": {"family": true, "social_environment": false},
	"area": {"serious_safety_problem": false},
}

# --- register_case ---------------------------------------------------------------------------

test_every_partner_type_may_register if {
	every pt in fx.partner_types {
		allowed(step("register_case", prof(pt), "aanmelding", {}))
	}
	allowed(step("register_case", pr, "aanmelding", {}))
}

test_register_needs_a_purpose_that_lists_it if {
	refused(step("register_case", fx.requester("politie", "professional", "bevraging"), "aanmelding", {}))
	refused(step("register_case", fx.requester("veiligheidshuis", "privacy_officer", "toezicht"), "aanmelding", {}))
}

test_register_outside_the_region_is_refused if {
	inp := object.union(step("register_case", prof("politie"), "aanmelding", {}), {"case": {"region": "zeeland"}})
	refused(inp)
}

# --- read_registration -----------------------------------------------------------------------

test_registrant_reads_its_registration_in_every_phase if {
	every phase in ["aanmelding", "screening", "mdo", "uitvoering", "afgesloten"] {
		allowed(step("read_registration", prof("politie"), phase, {"requester_is_registrant": true}))
	}
}

test_other_partner_does_not_read_a_registration if {
	refused(step("read_registration", prof("ggz"), "aanmelding", {"requester_is_registrant": false}))
	refused(step("read_registration", prof("ggz"), "mdo", {}))
}

test_staff_read_registrations_of_open_cases_only if {
	allowed(step("read_registration", pr, "aanmelding", {}))
	allowed(step("read_registration", ic, "screening", {}))
	refused(step("read_registration", pr, "afgesloten", {}))
}

# --- screening -------------------------------------------------------------------------------

test_staff_screen_with_advice if {
	inp := object.union(step("screen_case", ic, "aanmelding", {}), {"aanmelding": aanmelding})
	d := casework.decision with input as inp
	d.allow == true
	d.screening.outcome == "veiligheidshuis_case"
	d.screening.criteria.meervoudige_problematiek.met == true
}

test_partners_do_not_screen if {
	every pt in fx.partner_types {
		refused(object.union(step("screen_case", prof(pt), "aanmelding", {}), {"aanmelding": aanmelding}))
	}
}

test_screening_only_before_the_mdo if {
	refused(object.union(step("screen_case", pr, "mdo", {}), {"aanmelding": aanmelding}))
	refused(object.union(step("screen_case", pr, "afgesloten", {}), {"aanmelding": aanmelding}))
}

test_procesregisseur_decides_with_a_reason if {
	inp := object.union(step("decide_screening", pr, "aanmelding", {}), {
		"aanmelding": aanmelding,
		"decision": {"decision": "veiligheidshuis_case", "reason": "follows the advice"},
	})
	d := casework.decision with input as inp
	d.allow == true
	d.check.valid == true
	d.check.follows_advice == true
}

test_decision_without_reason_is_refused if {
	inp := object.union(step("decide_screening", pr, "aanmelding", {}), {
		"aanmelding": aanmelding,
		"decision": {"decision": "terug_naar_keten", "reason": "  "},
	})
	refused(inp)
}

test_informatiecoordinator_does_not_decide if {
	inp := object.union(step("decide_screening", ic, "aanmelding", {}), {
		"aanmelding": aanmelding,
		"decision": {"decision": "advies", "reason": "advice only"},
	})
	refused(inp)
}

# --- the table -------------------------------------------------------------------------------

ggz(at_table) := {"oin": fx.oin.ggz, "partner_type": "ggz", "is_participant": at_table}

ggz_target := {"operation": "invite", "targets": [ggz(false)]}

test_procesregisseur_invites_and_removes_in_mdo if {
	allowed(step("manage_participants", pr, "mdo", ggz_target))
	allowed(step("manage_participants", pr, "uitvoering", ggz_target))
	refused(step("manage_participants", pr, "aanmelding", ggz_target))
	refused(step("manage_participants", pr, "afgesloten", ggz_target))
}

test_partners_do_not_manage_the_table if {
	refused(step("manage_participants", prof("politie"), "mdo", ggz_target))
	refused(step("manage_participants", ic, "mdo", ggz_target))
}

test_unknown_partner_is_not_invited if {
	refused(step("manage_participants", pr, "mdo", {"operation": "invite", "targets": [{"oin": fx.outsider_oin, "partner_type": "", "is_participant": false}]}))
	refused(step("manage_participants", pr, "mdo", {"operation": "invite", "targets": [ggz(false), {"oin": "12"}]}))
	refused(step("manage_participants", pr, "mdo", {"operation": "invite"}))
	refused(step("manage_participants", pr, "mdo", {"targets": [ggz(false)]}))
}

test_invite_only_absent_remove_only_present if {
	refused(step("manage_participants", pr, "mdo", {"operation": "invite", "targets": [ggz(true)]}))
	allowed(step("manage_participants", pr, "mdo", {"operation": "remove", "targets": [ggz(true)]}))
	refused(step("manage_participants", pr, "mdo", {"operation": "remove", "targets": [ggz(false)]}))
}

test_only_the_invited_accept if {
	allowed(step("accept_invitation", prof("ggz"), "mdo", {"requester_is_invited": true}))
	refused(step("accept_invitation", prof("ggz"), "mdo", {"requester_is_invited": false}))
	refused(step("accept_invitation", prof("ggz"), "afgesloten", {"requester_is_invited": true}))
	refused(step("accept_invitation", fx.requester("ggz", "professional", "bevraging"), "mdo", {"requester_is_invited": true}))
}

test_casusregisseur_must_be_at_the_table if {
	allowed(step("set_casusregisseur", pr, "mdo", {"targets": [ggz(true)]}))
	refused(step("set_casusregisseur", pr, "mdo", {"targets": [ggz(false)]}))
	refused(step("set_casusregisseur", pr, "mdo", {"targets": []}))
	refused(step("set_casusregisseur", prof("ggz"), "mdo", {"targets": [ggz(true)]}))
}

# --- closing ---------------------------------------------------------------------------------

test_procesregisseur_or_own_casusregisseur_closes if {
	allowed(step("close_case", pr, "mdo", {}))
	allowed(step("close_case", pr, "aanmelding", {}))
	allowed(step("close_case", regisseur("ggz"), "uitvoering", {"requester_is_casusregisseur": true}))
	refused(step("close_case", regisseur("ggz"), "uitvoering", {"requester_is_casusregisseur": false}))
	refused(step("close_case", prof("ggz"), "uitvoering", {"requester_is_casusregisseur": true}))
}

test_closed_case_is_not_closed_again if {
	refused(step("close_case", pr, "afgesloten", {}))
}

# --- retention -------------------------------------------------------------------------------

test_procesregisseur_extends_retention_of_closed_cases_only if {
	allowed(step("extend_retention", pr, "afgesloten", {}))
	refused(step("extend_retention", pr, "mdo", {}))
	refused(step("extend_retention", ic, "afgesloten", {}))
	refused(step("extend_retention", regisseur("ggz"), "afgesloten", {"requester_is_casusregisseur": true}))
}

# --- read-back of own contributions -----------------------------------------------------------

test_contributors_read_back_in_every_phase if {
	every phase in ["aanmelding", "screening", "mdo", "uitvoering", "afgesloten"] {
		allowed(step("read_own_contributions", prof("ggz"), phase, {}))
	}
	refused(step("read_own_contributions", fx.requester("ggz", "professional", "bevraging"), "afgesloten", {}))
}

# --- the plan van aanpak ---------------------------------------------------------------------

# A step by a requester who sits at the table (or not).
at_table(action, req, phase, facts, present) := object.union(step(action, req, phase, facts), {"case": {"requester_is_participant": present}})

for_ggz(present) := {"targets": [ggz(present)]}

test_participant_makes_afspraken_for_participants if {
	allowed(at_table("create_afspraak", prof("politie"), "mdo", for_ggz(true), true))
	allowed(at_table("create_afspraak", prof("politie"), "uitvoering", for_ggz(true), true))
	allowed(at_table("create_afspraak", fx.requester("politie", "professional", "nazorg"), "uitvoering", for_ggz(true), true))
}

test_procesregie_staff_record_afspraken_for_participants if {
	ic := fx.requester("veiligheidshuis", "informatiecoordinator", "procesregie")
	allowed(at_table("create_afspraak", ic, "mdo", for_ggz(true), false))
	allowed(at_table("create_afspraak", fx.requester("veiligheidshuis", "procesregisseur", "procesregie"), "uitvoering", for_ggz(true), false))
	refused(at_table("create_afspraak", ic, "mdo", for_ggz(false), false))
	refused(at_table("create_afspraak", fx.requester("veiligheidshuis", "privacy_officer", "toezicht"), "mdo", for_ggz(true), false))
	refused(at_table("create_afspraak", fx.requester("veiligheidshuis", "procesregisseur", "casusoverleg"), "mdo", for_ggz(true), false))
}

test_afspraak_needs_both_sides_at_the_table if {
	refused(at_table("create_afspraak", prof("politie"), "mdo", for_ggz(true), false))
	refused(at_table("create_afspraak", prof("politie"), "mdo", for_ggz(false), true))
	refused(at_table("create_afspraak", prof("politie"), "mdo", {"targets": [{"oin": fx.outsider_oin, "partner_type": "", "is_participant": true}]}, true))
	refused(at_table("create_afspraak", prof("politie"), "mdo", {"targets": []}, true))
	refused(at_table("create_afspraak", prof("politie"), "mdo", {"targets": [ggz(true), ggz(true)]}, true))
}

test_afspraken_only_at_and_after_the_mdo if {
	every phase in ["aanmelding", "screening", "afgesloten"] {
		refused(at_table("create_afspraak", prof("politie"), phase, for_ggz(true), true))
		refused(at_table("read_plan", prof("politie"), phase, {}, true))
		refused(at_table("update_afspraak", prof("ggz"), phase, for_ggz(true), true))
	}
}

test_afspraken_need_a_purpose_that_lists_them if {
	refused(at_table("create_afspraak", fx.requester("politie", "professional", "bevraging"), "mdo", for_ggz(true), true))
	refused(at_table("read_plan", fx.requester("veiligheidshuis", "privacy_officer", "toezicht"), "mdo", {}, false))
}

test_participants_and_procesregie_staff_read_the_plan if {
	allowed(at_table("read_plan", prof("ggz"), "uitvoering", {}, true))
	allowed(at_table("read_plan", pr, "uitvoering", {}, false))
	allowed(at_table("read_plan", ic, "mdo", {}, false))
	refused(at_table("read_plan", prof("ggz"), "uitvoering", {}, false))
	refused(at_table("read_plan", fx.requester("veiligheidshuis", "procesregisseur", "casusoverleg"), "uitvoering", {}, false))
}

test_afspraak_changed_by_its_partner_casusregisseur_or_procesregisseur if {
	allowed(at_table("update_afspraak", prof("ggz"), "uitvoering", for_ggz(true), true))
	allowed(at_table("update_afspraak", regisseur("politie"), "uitvoering", object.union(for_ggz(true), {"requester_is_casusregisseur": true}), true))
	allowed(at_table("update_afspraak", pr, "uitvoering", for_ggz(true), false))
}

test_others_do_not_change_an_afspraak if {
	# Another participant, the partner once removed from the table, a casusregisseur of
	# another case, the informatiecoordinator.
	refused(at_table("update_afspraak", prof("politie"), "uitvoering", for_ggz(true), true))
	refused(at_table("update_afspraak", prof("ggz"), "uitvoering", for_ggz(false), false))
	refused(at_table("update_afspraak", regisseur("politie"), "uitvoering", for_ggz(true), true))
	refused(at_table("update_afspraak", ic, "uitvoering", for_ggz(true), false))
	refused(at_table("update_afspraak", prof("ggz"), "uitvoering", {"targets": []}, true))
}

test_procesregisseur_and_own_casusregisseur_watch_and_escalate if {
	every action in ["read_attention", "escalate_case"] {
		allowed(at_table(action, pr, "uitvoering", {"operation": "opschalen"}, false))
		allowed(at_table(action, regisseur("ggz"), "mdo", {"operation": "start", "requester_is_casusregisseur": true}, true))
		refused(at_table(action, regisseur("ggz"), "mdo", {"operation": "start", "requester_is_casusregisseur": false}, true))
		refused(at_table(action, prof("ggz"), "uitvoering", {"operation": "afschalen", "requester_is_casusregisseur": true}, true))
		refused(at_table(action, ic, "uitvoering", {"operation": "afschalen"}, false))
		refused(at_table(action, pr, "afgesloten", {"operation": "afschalen"}, false))
		refused(at_table(action, pr, "screening", {"operation": "start"}, false))
	}
}

region_step(action, req) := {
	"action": action,
	"now": fx.now,
	"requester": req,
	"budget": {"used": 0},
	"fields": [],
	"casework": {},
}

test_only_the_procesregisseur_reads_attention_across_the_region if {
	allowed(region_step("read_attention", pr))
	refused(region_step("read_attention", ic))
	refused(region_step("read_attention", regisseur("ggz")))
	refused(region_step("read_attention", object.union(regisseur("ggz"), {"purpose": "procesregie"})))
	refused(region_step("escalate_case", pr))
	refused(region_step("read_plan", pr))
}

test_escalation_names_a_direction if {
	allowed(at_table("escalate_case", pr, "uitvoering", {"operation": "afschalen"}, false))
	allowed(at_table("escalate_case", pr, "uitvoering", {}, false))
	refused(at_table("escalate_case", pr, "uitvoering", {"operation": "sideways"}, false))
}

# --- robustness ------------------------------------------------------------------------------

test_decision_is_defined_and_refuses_for_garbage if {
	d := casework.decision with input as {}
	d.allow == false
	d2 := casework.decision with input as {"action": "read_person", "requester": pr}
	d2.allow == false
	d3 := casework.decision with input as {"action": ["close_case"], "casework": "x", "case": 3}
	d3.allow == false
}

test_person_level_actions_are_not_steps if {
	refused(object.union(step("read_person", pr, "mdo", {}), {"action": "read_person"}))
	refused(object.union(step("lookup", pr, "mdo", {}), {"action": "lookup"}))
}

# --- information items -------------------------------------------------------------------------

contribution(pt, cat, lg, ground) := {
	"category": cat,
	"leefgebied": lg,
	"ground": ground,
	"status": "actief",
	"contributed_by": fx.oin[pt],
	"contributor_partner_type": pt,
	"requester_is_contributor": true,
	"person_in_case": true,
}

seated(inp) := object.union(inp, {"case": {"requester_is_participant": true}})

in_phase(inp, phase) := object.union(inp, {"case": {"phase": phase}})

contribute(pt, info) := seated(step("contribute_information", prof(pt), "uitvoering", {"information": info}))

reasons_of(inp) := rs if {
	d := casework.decision with input as inp
	rs := {r | some r in d.reasons}
}

test_participants_contribute_on_a_fitting_ground if {
	allowed(contribute("politie", contribution("politie", "strafrechtelijk", "justitie", "wpg_politie")))
	allowed(contribute("om", contribution("om", "strafrechtelijk", "justitie", "wjsg_om")))
	allowed(contribute("reclassering", contribution("reclassering", "bijzonder", "verslaving", "reclassering_toezicht")))
	allowed(contribute("gemeente", contribution("gemeente", "overig", "schulden", "gemeente_sociaal_domein")))
	allowed(contribute("ggz", contribution("ggz", "bijzonder", "psychische_gezondheid", "ggz_toestemming")))
	allowed(contribute("veilig_thuis", contribution("veilig_thuis", "bijzonder", "veiligheid", "wmo_veilig_thuis")))
	every pt in fx.partner_types {
		allowed(contribute(pt, contribution(pt, "overig", "wonen", "convenant_zvh")))
	}
}

test_only_participants_contribute if {
	inp := step("contribute_information", prof("politie"), "uitvoering", {"information": contribution("politie", "overig", "wonen", "convenant_zvh")})
	refused(inp)
	"only a participant of the case (at the MDO table) contributes information" in reasons_of(inp)
	refused(object.union(contribute("politie", contribution("politie", "overig", "wonen", "convenant_zvh")), {"requester": {"purpose": "bevraging"}}))
}

test_contributions_only_in_mdo_and_uitvoering if {
	inp := contribute("gemeente", contribution("gemeente", "overig", "wonen", "convenant_zvh"))
	allowed(in_phase(inp, "mdo"))
	every phase in ["aanmelding", "screening", "afgesloten"] {
		refused(in_phase(inp, phase))
	}
}

test_strafrechtelijk_only_from_strafrecht_partners if {
	inp := contribute("gemeente", contribution("gemeente", "strafrechtelijk", "justitie", "convenant_zvh"))
	refused(inp)
	`partner type "gemeente" may not contribute category "strafrechtelijk": no contribution ground of the convenant open to it covers that category` in reasons_of(inp)
	every pt in ["gemeente", "ggz", "veilig_thuis", "woningcorporatie", "rvdk"] {
		refused(contribute(pt, contribution(pt, "strafrechtelijk", "justitie", "convenant_zvh")))
	}
	refused(contribute("woningcorporatie", contribution("woningcorporatie", "bijzonder", "verslaving", "convenant_zvh")))
}

test_a_bsn_is_never_an_item if {
	inp := contribute("politie", contribution("politie", "bsn", "justitie", "wpg_politie"))
	refused(inp)
	"category bsn is never an information item: a BSN is recorded on the person, where the policy decides it per recipient" in reasons_of(inp)
}

test_the_ground_must_exist_fit_and_cover if {
	unknown := contribute("politie", contribution("politie", "overig", "wonen", "avg_algemeen"))
	refused(unknown)
	some r in reasons_of(unknown)
	startswith(r, `ground "avg_algemeen" is not a contribution ground of the convenant`)

	other := contribute("gemeente", contribution("gemeente", "overig", "wonen", "wpg_politie"))
	`ground "wpg_politie" is not open to partner type "gemeente" (only to ["politie"])` in reasons_of(other)

	narrow := contribute("politie", contribution("politie", "strafrechtelijk", "justitie", "convenant_zvh"))
	`ground "convenant_zvh" does not cover category "strafrechtelijk" (only ["identificerend", "overig"])` in reasons_of(narrow)

	none := contribute("politie", contribution("politie", "overig", "wonen", ""))
	"the contribution names no legal ground" in reasons_of(none)
}

# A contribution ground's citation and categories live in the register of legal grounds: one
# the register lacks is not a contribution ground.
test_a_contribution_ground_must_be_registered if {
	conv := json.remove(data.convenant, ["legal_grounds/grounds/wpg_politie"])
	inp := contribute("politie", contribution("politie", "strafrechtelijk", "justitie", "wpg_politie"))
	d := casework.decision with input as inp with data.convenant as conv
	d.allow == false
	some r in d.reasons
	startswith(r, `ground "wpg_politie" is not a contribution ground of the convenant`)
}

test_leefgebied_and_person_must_be_known if {
	lg := contribute("politie", contribution("politie", "overig", "astrologie", "convenant_zvh"))
	`leefgebied "astrologie" is not a leefgebied of the convenant` in reasons_of(lg)
	outside := contribute("politie", object.union(contribution("politie", "overig", "wonen", "convenant_zvh"), {"person_in_case": false}))
	"the person is not a person of this case" in reasons_of(outside)
	refused(seated(step("contribute_information", prof("politie"), "uitvoering", {})))
}

test_only_the_contributor_corrects_and_withdraws_in_every_phase if {
	own := {"information": contribution("ggz", "bijzonder", "psychische_gezondheid", "ggz_toestemming")}
	theirs := {"information": object.union(own.information, {"requester_is_contributor": false})}
	every action in ["correct_information", "withdraw_information"] {
		every phase in ["aanmelding", "screening", "mdo", "uitvoering", "afgesloten"] {
			allowed(step(action, prof("ggz"), phase, own))
		}
		refused(step(action, prof("politie"), "uitvoering", theirs))
		refused(step(action, pr, "uitvoering", theirs))
		refused(step(action, fx.requester("ggz", "professional", "bevraging"), "uitvoering", own))
	}
	`only the contributing organisation may take step "correct_information" on an item` in reasons_of(step("correct_information", prof("politie"), "mdo", theirs))
}

test_recipients_for_the_contributor_and_procesregie if {
	own := {"information": contribution("ggz", "bijzonder", "psychische_gezondheid", "ggz_toestemming")}
	theirs := {"information": object.union(own.information, {"requester_is_contributor": false})}
	allowed(step("read_recipients", prof("ggz"), "afgesloten", own))
	allowed(step("read_recipients", pr, "uitvoering", theirs))
	allowed(step("read_recipients", ic, "afgesloten", theirs))
	inp := step("read_recipients", prof("politie"), "uitvoering", theirs)
	refused(inp)
	"only the contributing organisation (or Veiligheidshuis staff for procesregie) sees who received an item" in reasons_of(inp)
}
