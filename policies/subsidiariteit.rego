# Subsidiariteit (least intrusive means), DESIGN.md §2: answer with the least that serves the
# purpose.
#
#   lookup                                   tier hit_no_hit, never a field
#   read_person, not at the case table       tier hit_no_hit, request refused, every field withheld
#   read_person, phase aanmelding            tier summary: identificerend fields only
#   read_person, phase screening/mdo/uitvoering  tier full (proportionaliteit still applies)
#   read_person, purpose spoed               tier summary at or away from the table: only the
#                                            convenant's spoed minimum (categories, leefgebieden)
#
# "At the case table" means: the gateway says the requester is a participant
# (case.requester_is_participant) AND its OIN is among case.participants (both must agree;
# an inconsistency fails closed), or the requester is Veiligheidshuis staff acting for
# purpose procesregie (they screen and prepare the MDO before anyone sits at the table).
#
# Exposes: deny (request-level reasons), withhold ({"field","reason"}), tier, at_table.
package vhgate.subsidiariteit

# Veiligheidshuis staff doing procesregie need no seat at the table.
staff_partner_type := "veiligheidshuis"

staff_purpose := "procesregie"

# Phases in which a participant may see the full record.
full_phases := {"screening", "mdo", "uitvoering"}

# The only phase with a summary answer, and what a summary holds.
summary_phase := "aanmelding"

summary_categories := {"identificerend"}

staff_procesregie if {
	data.vhgate.lib.partner_type == staff_partner_type
	data.vhgate.lib.purpose == staff_purpose
}

flagged_participant if data.vhgate.lib.case_doc.requester_is_participant == true

listed_participant if {
	data.vhgate.lib.oin != ""
	some p in data.vhgate.lib.participants
	p.oin == data.vhgate.lib.oin
}

participant if {
	flagged_participant
	listed_participant
}

at_table if participant

at_table if staff_procesregie

# --- request level ---------------------------------------------------------------------------

not_participant_reason := "not a participant of this case: only a hit/no-hit lookup is allowed"

deny contains not_participant_reason if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	not at_table
	not flagged_participant
}

deny contains concat("", [not_participant_reason, " (the requester is flagged as participant, but its OIN is not among the case participants)"]) if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	not at_table
	flagged_participant
}

# --- tier ------------------------------------------------------------------------------------

default tier := "none"

tier := "hit_no_hit" if data.vhgate.lib.action == "lookup"

tier := "hit_no_hit" if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	not at_table
}

tier := "summary" if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	at_table
	data.vhgate.lib.phase == summary_phase
}

tier := "full" if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	at_table
	data.vhgate.lib.phase in full_phases
}

# Break-glass gets the minimum, whatever the phase and whether or not the requester sits at the
# table (doelmatigheid has checked the partner type and the stated reason).
tier := "summary" if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.spoed
}

# --- field level -----------------------------------------------------------------------------

withhold contains {"field": name, "reason": reason} if {
	some reason in deny
	some name in data.vhgate.lib.field_names
}

withhold contains {"field": f.name, "reason": reason} if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	at_table
	data.vhgate.lib.phase == summary_phase
	some f in data.vhgate.lib.fields
	not object.get(f, "category", null) in summary_categories
	reason := sprintf("case not yet screened (phase aanmelding): summary only, and category %s is not identificerend", [data.vhgate.lib.show(object.get(f, "category", null))])
}

withhold contains {"field": f.name, "reason": spoed_reason} if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.spoed
	some f in data.vhgate.lib.fields
	not spoed_minimum(f)
}

# A reason for every withheld field even if the spoed lists hold something unprintable.
default spoed_reason := "spoed (break-glass): only the convenant's minimum is disclosed"

spoed_reason := sprintf("spoed (break-glass): only the minimum is disclosed (categories %s; information of leefgebieden %s)", [concat(", ", sort(data.vhgate.lib.spoed_categories)), concat(", ", sort(data.vhgate.lib.spoed_leefgebieden))])

spoed_minimum(f) if object.get(f, "category", null) in data.vhgate.lib.spoed_categories

spoed_minimum(f) if object.get(f, "leefgebied", null) in data.vhgate.lib.spoed_leefgebieden

withhold contains {"field": name, "reason": reason} if {
	data.vhgate.lib.action == "lookup"
	reason := "a lookup answers hit/no-hit only: no field is disclosed"
	some name in data.vhgate.lib.field_names
}

# A one-line summary for the decision's reasons.
explained := "lookup: hit/no-hit answer only" if data.vhgate.lib.action == "lookup"

explained := sprintf("tier summary: case in phase aanmelding (not yet screened), identificerend fields only (%s)", [how_at_table]) if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.spoed
	tier == "summary"
}

explained := "tier summary: spoed (break-glass) with a stated reason, the convenant's minimum only; the privacy officer reviews this read" if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.spoed
}

explained := sprintf("tier full: case in phase %s (%s)", [data.vhgate.lib.phase, how_at_table]) if {
	data.vhgate.lib.action == "read_person"
	tier == "full"
}

how_at_table := "requester is a participant of the case" if participant

how_at_table := "Veiligheidshuis staff doing procesregie" if {
	not participant
	staff_procesregie
}
