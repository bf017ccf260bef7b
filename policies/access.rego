# Access to the disclosure log (DESIGN.md §4): review_disclosures is true only when
# doelmatigheid holds for action review_disclosures, i.e. (with the convenant as it stands) the
# requester is a privacy_officer of a partner of the convenant acting for purpose toezicht.
# Which role/purpose/partner type may review lives in the convenant data, not here; so does
# which officers see every entry (review_scope).
package vhgate.access

default review_disclosures := false

review_disclosures if {
	data.vhgate.lib.action == "review_disclosures"
	data.vhgate.doelmatigheid.holds
}

# What a reviewing privacy officer sees: "all" entries for the partner types the convenant names
# in log_review.all_entries (the Veiligheidshuis's functionaris gegevensbescherming), "own" for
# every other: its organisation's requests and the disclosures of information it contributed.
# Undefined when the requester may not review at all (the gateway then shows nothing).
default all_entries_partner_types := []

all_entries_partner_types := data.vhgate.lib.conv.log_review.all_entries if is_array(data.vhgate.lib.conv.log_review.all_entries)

review_scope := "all" if {
	review_disclosures
	data.vhgate.lib.partner_type in all_entries_partner_types
}

review_scope := "own" if {
	review_disclosures
	not data.vhgate.lib.partner_type in all_entries_partner_types
}

# Administering the convenant (policy bundles, registry) is true only when doelmatigheid holds
# for action administer: with the convenant as it stands, a convenant_administrator of the
# Veiligheidshuis acting for purpose beheer. Four-eyes is enforced by the gateway on top.
default administer := false

administer if {
	data.vhgate.lib.action == "administer"
	data.vhgate.doelmatigheid.holds
}

# Reading signals (aggregate, non-personal figures with small cells suppressed) is true only
# when doelmatigheid holds for action read_signals: with the convenant as it stands, a
# procesregisseur, informatiecoordinator or convenant_administrator of the Veiligheidshuis
# acting for purpose signalering. Which roles may signal lives in the convenant data.
default read_signals := false

read_signals if {
	data.vhgate.lib.action == "read_signals"
	data.vhgate.doelmatigheid.holds
}
