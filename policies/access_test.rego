# Access to the disclosure log: privacy officers, for purpose toezicht; the Veiligheidshuis's sees
# every entry, a partner's its own organisation's (review_scope).
package vhgate.access_test

import data.vhgate.access
import data.vhgate.fixtures as fx

may_review(inp) if {
	access.review_disclosures with input as inp
}

test_privacy_officer_for_toezicht_may_review if {
	may_review(fx.review)
	access.review_disclosures == true with input as fx.review
}

test_review_needs_no_case_fields_or_budget if {
	may_review(object.remove(fx.review, ["budget", "fields"]))
}

test_privacy_officer_for_another_purpose_may_not_review if {
	not may_review(fx.with_requester(fx.review, {"purpose": "procesregie"}))
	not may_review(fx.with_requester(fx.review, {"purpose": "casusoverleg"}))
}

test_other_staff_roles_may_not_review if {
	not may_review(fx.with_requester(fx.review, {"role": "procesregisseur"}))
	not may_review(fx.with_requester(fx.review, {"role": "informatiecoordinator"}))
}

test_partner_privacy_officers_review_their_own_organisations_entries if {
	every pt in fx.partner_types {
		inp := object.union(fx.review, {"requester": fx.requester(pt, "privacy_officer", "toezicht")})
		may_review(inp)
		access.review_scope == "own" with input as inp
	}
}

test_the_veiligheidshuis_officer_sees_every_entry if {
	access.review_scope == "all" with input as fx.review
}

test_every_entry_only_for_the_partner_types_the_convenant_names if {
	# A convenant that names no one: every officer sees only its own organisation's entries.
	access.review_scope == "own" with input as fx.review with data.convenant.log_review as {}
	access.review_scope == "own" with input as fx.review with data.convenant.log_review.all_entries as ["politie"]
	inp := object.union(fx.review, {"requester": fx.requester("politie", "privacy_officer", "toezicht")})
	access.review_scope == "all" with input as inp with data.convenant.log_review.all_entries as ["politie"]
}

test_no_scope_without_review if {
	not access.review_scope with input as fx.with_requester(fx.review, {"role": "procesregisseur"})
	not access.review_scope with input as fx.with_requester(fx.review, {"purpose": "casusoverleg"})
	not access.review_scope with input as object.union(fx.review, {"requester": fx.requester("politie", "professional", "toezicht")})
	not access.review_scope with input as {}
}

test_partner_professionals_may_not_review if {
	every pt in fx.partner_types {
		not may_review(object.union(fx.review, {"requester": fx.requester(pt, "professional", "toezicht")}))
	}
}

test_review_needs_an_identified_officer if {
	not may_review(fx.with_requester(fx.review, {"sub": ""}))
	not may_review(fx.with_requester(fx.review, {"oin": "1234"}))
	not may_review(fx.with_requester(fx.review, {"partner_type": ""}))
	not may_review(fx.with_requester(fx.review, {"partner_type": "detective_bureau"}))
}

test_other_actions_are_not_reviews if {
	# The same officer asking to read or look up is not a review (and toezicht does not allow it).
	not may_review(object.union(fx.review, {"action": "read_person"}))
	not may_review(object.union(fx.review, {"action": "lookup"}))
	not may_review(fx.read)
	not may_review(fx.lookup)
}

test_review_is_false_not_undefined_for_garbage if {
	access.review_disclosures == false with input as {}
	access.review_disclosures == false with input as {"action": "review_disclosures"}
	access.review_disclosures == false with input as {"action": ["review_disclosures"], "requester": "fg"}
}

# Administering the convenant: only a Veiligheidshuis convenant_administrator, for beheer.
administration := object.union(
	fx.review,
	{"action": "administer", "requester": fx.requester("veiligheidshuis", "convenant_administrator", "beheer")},
)

may_administer(inp) if {
	access.administer with input as inp
}

test_convenant_administrator_for_beheer_may_administer if {
	may_administer(administration)
}

test_administer_needs_the_beheer_purpose_and_role if {
	not may_administer(fx.with_requester(administration, {"purpose": "toezicht"}))
	not may_administer(fx.with_requester(administration, {"role": "privacy_officer"}))
	not may_administer(object.union(administration, {"action": "review_disclosures"}))
}

test_administrator_role_of_other_partner_types_may_not_administer if {
	every pt in fx.partner_types {
		pt != "veiligheidshuis"
		not may_administer(object.union(administration, {"requester": fx.requester(pt, "convenant_administrator", "beheer")}))
	}
}

test_privacy_officer_may_not_administer_nor_administrator_review if {
	not may_administer(fx.review)
	not may_review(administration)
}

# Signalling: aggregate figures for Veiligheidshuis staff with purpose signalering.
signals := object.union(
	fx.review,
	{"action": "read_signals", "requester": fx.requester("veiligheidshuis", "procesregisseur", "signalering")},
)

may_read_signals(inp) if {
	access.read_signals with input as inp
}

test_veiligheidshuis_staff_for_signalering_may_read_signals if {
	may_read_signals(signals)
	may_read_signals(fx.with_requester(signals, {"role": "informatiecoordinator"}))
	may_read_signals(fx.with_requester(signals, {"role": "convenant_administrator"}))
	access.read_signals == true with input as signals
}

test_signals_need_the_signalering_purpose if {
	not may_read_signals(fx.with_requester(signals, {"purpose": "procesregie"}))
	not may_read_signals(fx.with_requester(signals, {"purpose": "toezicht"}))
	not may_read_signals(fx.with_requester(signals, {"purpose": "beheer"}))
}

test_other_roles_may_not_read_signals if {
	not may_read_signals(fx.with_requester(signals, {"role": "privacy_officer"}))
	not may_read_signals(fx.with_requester(signals, {"role": "casusregisseur"}))
	not may_read_signals(fx.with_requester(signals, {"role": "professional"}))
}

test_partners_may_not_read_signals if {
	every pt in fx.partner_types {
		pt != "veiligheidshuis"
		not may_read_signals(object.union(signals, {"requester": fx.requester(pt, "procesregisseur", "signalering")}))
		not may_read_signals(object.union(signals, {"requester": fx.requester(pt, "professional", "signalering")}))
	}
}

test_signals_need_an_identified_requester if {
	not may_read_signals(fx.with_requester(signals, {"sub": ""}))
	not may_read_signals(fx.with_requester(signals, {"oin": "1234"}))
}

test_signalering_allows_no_person_level_action if {
	not may_read_signals(object.union(signals, {"action": "read_person"}))
	not may_review(signals)
	not may_administer(signals)
	not may_read_signals(fx.read)
	not may_read_signals(fx.lookup)
	not may_read_signals(fx.review)
}

test_read_signals_is_false_not_undefined_for_garbage if {
	access.read_signals == false with input as {}
	access.read_signals == false with input as {"action": "read_signals"}
}
