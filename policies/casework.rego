# The case life cycle (DESIGN.md §1): registration (aanmelding), screening and triage, the MDO
# table (invitations, removal, the one casusregisseur), closing, and information items
# (contribution, correction, withdrawal, their recipients). Every step shares
# person-level data, so every step is decided here and logged by the gateway.
#
# Entry point: data.vhgate.casework.decision = {"allow", "reasons", "screening"?, "check"?}
#
# A step is allowed only when all of these hold:
#   - doelmatigheid holds for the step's action (identified requester, partner type, a purpose
#     whose register lists the action, a role that may act for it);
#   - the role may take the step (data.convenant.casework.roles[action], "*" = every role);
#   - the case (all steps but register_case) is of this convenant's region and in a phase the
#     step needs (below); a closed case allows only read-back of one's own registration;
#   - the step's own condition (registrant, invited, target at the table, valid decision;
#     for the plan van aanpak: at the table, the afspraak's partner, casusregisseur or
#     procesregisseur).
#
# Input: the common input (action, requester, case) plus input.casework:
#   {"registered_by", "requester_is_registrant", "casusregisseur", "requester_is_casusregisseur",
#    "invited": [oin], "requester_is_invited",
#    "operation": "invite" | "remove" (manage_participants), "start" | "opschalen" | "afschalen"
#    (escalate_case),
#    "targets": [{"oin", "partner_type", "is_participant"}] (for create_afspraak and
#    update_afspraak: the partner the afspraak is for)}
# and, for screen_case and decide_screening, input.aanmelding (and input.decision), the
# screening document of policies/screening.rego.
package vhgate.casework

# The steps this package decides.
steps := {
	"register_case", "read_registration", "screen_case", "decide_screening",
	"manage_participants", "accept_invitation", "set_casusregisseur", "close_case",
	"extend_retention", "read_own_contributions",
	"create_afspraak", "read_plan", "update_afspraak", "read_attention", "escalate_case",
	"contribute_information", "correct_information", "withdraw_information", "read_recipients",
}

# The phases in which each step may happen (read_registration: see below).
step_phases := {
	"screen_case": {"aanmelding", "screening"},
	"decide_screening": {"aanmelding", "screening"},
	"manage_participants": {"mdo", "uitvoering"},
	"accept_invitation": {"mdo", "uitvoering"},
	"set_casusregisseur": {"mdo", "uitvoering"},
	"close_case": {"aanmelding", "screening", "mdo", "uitvoering"},
	"extend_retention": {"afgesloten"},
	# Read-back of one's own contributions: in every phase, closed included (the gateway
	# returns only the items the requester's organisation contributed).
	"read_own_contributions": {"aanmelding", "screening", "mdo", "uitvoering", "afgesloten"},
	# The plan van aanpak is made at the MDO and carried out (and monitored) in uitvoering.
	"create_afspraak": {"mdo", "uitvoering"},
	"read_plan": {"mdo", "uitvoering"},
	"update_afspraak": {"mdo", "uitvoering"},
	"read_attention": {"mdo", "uitvoering"},
	"escalate_case": {"mdo", "uitvoering"},
	# Information is contributed at the table: while the MDO is prepared and the plan runs.
	"contribute_information": {"mdo", "uitvoering"},
	# Rectification, erasure and telling the recipients (GDPR art. 16, 17, 19) outlive the
	# case's sharing: in every phase, closed included.
	"correct_information": {"aanmelding", "screening", "mdo", "uitvoering", "afgesloten"},
	"withdraw_information": {"aanmelding", "screening", "mdo", "uitvoering", "afgesloten"},
	"read_recipients": {"aanmelding", "screening", "mdo", "uitvoering", "afgesloten"},
}

default facts := {}

facts := input.casework if is_object(input.casework)

flag(name) if facts[name] == true

default step_roles := []

step_roles := data.vhgate.lib.conv.casework.roles[data.vhgate.lib.action] if is_array(data.vhgate.lib.conv.casework.roles[data.vhgate.lib.action])

role_may_step if "*" in step_roles

role_may_step if data.vhgate.lib.role in step_roles

# Veiligheidshuis staff acting for procesregie (they screen before anyone is at the table).
procesregie_staff if {
	data.vhgate.lib.partner_type == "veiligheidshuis"
	data.vhgate.lib.purpose == "procesregie"
}

# --- request level ---------------------------------------------------------------------------

deny contains sprintf("action %q is not a step of the case life cycle", [data.vhgate.lib.action]) if {
	not data.vhgate.lib.action in steps
}

deny contains sprintf("doelmatigheid: %s", [r]) if {
	some r in data.vhgate.doelmatigheid.deny
}

deny contains sprintf("role %q may not take step %q (convenant casework roles: %v)", [data.vhgate.lib.role, data.vhgate.lib.action, step_roles]) if {
	data.vhgate.lib.action in steps
	data.vhgate.lib.role != ""
	not role_may_step
}

# --- the case --------------------------------------------------------------------------------

deny contains sprintf("step %q needs a case, and none was given", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in steps
	not data.vhgate.lib.action in region_steps
	not data.vhgate.lib.has_case
}

# Steps that may also be taken across the region's open cases, without a case: the
# procesregisseur's attention list.
region_steps := {"read_attention"}

deny contains sprintf("only the procesregisseur (procesregie) takes step %q across the region's cases", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in region_steps
	not data.vhgate.lib.has_case
	not procesregisseur
}

deny contains "the case has no region" if {
	data.vhgate.lib.action in steps
	data.vhgate.lib.has_case
	data.vhgate.lib.case_region == ""
}

deny contains sprintf("the case belongs to region %q, outside this convenant's region %q", [data.vhgate.lib.case_region, data.vhgate.lib.show(data.vhgate.lib.conv.region)]) if {
	data.vhgate.lib.action in steps
	data.vhgate.lib.case_region != ""
	data.vhgate.lib.case_region != data.vhgate.lib.conv.region
}

deny contains sprintf("case phase %q is not known", [data.vhgate.lib.phase]) if {
	data.vhgate.lib.action in steps
	data.vhgate.lib.has_case
	not data.vhgate.lib.phase in data.vhgate.lib.known_phases
}

deny contains sprintf("step %q is not possible in phase %q (only in %v)", [data.vhgate.lib.action, data.vhgate.lib.phase, sort(phases)]) if {
	phases := step_phases[data.vhgate.lib.action]
	data.vhgate.lib.phase in data.vhgate.lib.known_phases
	data.vhgate.lib.phase != "afgesloten"
	not data.vhgate.lib.phase in phases
}

deny contains sprintf("the case is closed (phase afgesloten): step %q no longer serves a purpose of the convenant", [data.vhgate.lib.action]) if {
	data.vhgate.lib.phase == "afgesloten"
	phases := step_phases[data.vhgate.lib.action]
	not "afgesloten" in phases
}

# --- per step --------------------------------------------------------------------------------

# register_case: a new case starts in aanmelding.
deny contains sprintf("a registration starts in phase aanmelding, not %q", [data.vhgate.lib.phase]) if {
	data.vhgate.lib.action == "register_case"
	data.vhgate.lib.phase in data.vhgate.lib.known_phases
	data.vhgate.lib.phase != "aanmelding"
}

# read_registration: the registering partner (also after closing: read-back of its own
# contribution), or Veiligheidshuis staff for procesregie while the case is open.
deny contains "only the registering partner and Veiligheidshuis staff (procesregie) see a registration" if {
	data.vhgate.lib.action == "read_registration"
	not flag("requester_is_registrant")
	not procesregie_staff
}

deny contains "the case is closed (phase afgesloten): only the registering partner reads its registration back" if {
	data.vhgate.lib.action == "read_registration"
	data.vhgate.lib.phase == "afgesloten"
	not flag("requester_is_registrant")
}

# decide_screening: the decision must pass the screening policy's check.
deny contains sprintf("screening decision: %s", [r]) if {
	data.vhgate.lib.action == "decide_screening"
	not data.vhgate.screening.decision_valid
	some r in data.vhgate.screening.decision_check.reasons
}

deny contains "screening decision: invalid" if {
	data.vhgate.lib.action == "decide_screening"
	not data.vhgate.screening.decision_valid
	count(data.vhgate.screening.decision_check.reasons) == 0
}

# manage_participants and set_casusregisseur name the partners they are about (targets), each
# a partner in the registry; an invitation is for a partner not yet at the table, a removal for
# one at the table, and the one casusregisseur sits at the table.
deny contains sprintf("step %q names no partner", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in {"manage_participants", "set_casusregisseur"}
	count(targets) == 0
}

deny contains sprintf("partner %v is not a partner in the convenant", [data.vhgate.lib.show(t.oin)]) if {
	data.vhgate.lib.action in {"manage_participants", "set_casusregisseur"}
	some t in targets
	not target_known(t)
}

deny contains sprintf("manage_participants needs operation invite or remove, not %v", [data.vhgate.lib.show(operation)]) if {
	data.vhgate.lib.action == "manage_participants"
	not operation in {"invite", "remove"}
}

deny contains sprintf("partner %v is already at the table", [t.oin]) if {
	data.vhgate.lib.action == "manage_participants"
	operation == "invite"
	some t in targets
	t.is_participant == true
}

deny contains sprintf("partner %v is not at the table", [data.vhgate.lib.show(t.oin)]) if {
	data.vhgate.lib.action == "manage_participants"
	operation == "remove"
	some t in targets
	not t.is_participant == true
}

deny contains "a case has one casusregisseur: name exactly one partner" if {
	data.vhgate.lib.action == "set_casusregisseur"
	count(targets) > 1
}

target_known(t) if {
	data.vhgate.lib.is_oin(t.oin)
	is_string(t.partner_type)
	is_object(data.vhgate.lib.conv.partner_types[t.partner_type])
}

default targets := []

targets := [t | some t in facts.targets; is_object(t)] if is_array(facts.targets)

default operation := ""

operation := facts.operation if is_string(facts.operation)

# accept_invitation: only an invited partner joins the table.
deny contains "the requester's organisation is not invited to this case (or already accepted)" if {
	data.vhgate.lib.action == "accept_invitation"
	not flag("requester_is_invited")
}

# set_casusregisseur: the one casusregisseur sits at the table.
deny contains sprintf("the casusregisseur must be a participant of the case (%v is not)", [data.vhgate.lib.show(t.oin)]) if {
	data.vhgate.lib.action == "set_casusregisseur"
	some t in targets
	not t.is_participant == true
}

# close_case: a casusregisseur closes only the case it directs.
deny contains "a casusregisseur closes only the case it directs" if {
	data.vhgate.lib.action == "close_case"
	data.vhgate.lib.role == "casusregisseur"
	not flag("requester_is_casusregisseur")
}

# --- the plan van aanpak (afspraken, monitoring, op- en afschalen) ---------------------------

requester_at_table if data.vhgate.lib.case_doc.requester_is_participant == true

# The procesregisseur: Veiligheidshuis staff in that role, acting for procesregie.
procesregisseur if {
	procesregie_staff
	data.vhgate.lib.role == "procesregisseur"
}

# The case's own casusregisseur (its organisation directs this case).
casusregisseur_of_case if {
	data.vhgate.lib.role == "casusregisseur"
	flag("requester_is_casusregisseur")
}

# create_afspraak and update_afspraak name the one partner the afspraak is for (targets).
deny contains sprintf("step %q names exactly one partner (the afspraak's), not %d", [data.vhgate.lib.action, count(targets)]) if {
	data.vhgate.lib.action in {"create_afspraak", "update_afspraak"}
	count(targets) != 1
}

# create_afspraak: a participant makes an afspraak for a partner at the table, or Veiligheidshuis
# staff acting for procesregie records it (seed 001: the informatiecoordinator records the
# afspraken that make up the plan van aanpak).
deny contains "only a participant of the case, or Veiligheidshuis staff recording the plan (procesregie), makes afspraken in its plan van aanpak" if {
	data.vhgate.lib.action == "create_afspraak"
	not requester_at_table
	not procesregie_staff
}

deny contains sprintf("partner %v is not a partner in the convenant", [data.vhgate.lib.show(t.oin)]) if {
	data.vhgate.lib.action == "create_afspraak"
	some t in targets
	not target_known(t)
}

deny contains sprintf("an afspraak is for a participant of the case (%v is not)", [data.vhgate.lib.show(t.oin)]) if {
	data.vhgate.lib.action == "create_afspraak"
	some t in targets
	not t.is_participant == true
}

# read_plan: the afspraken and the escalation history, for the partners at the table and
# Veiligheidshuis staff acting for procesregie.
deny contains "only participants of the case and Veiligheidshuis staff (procesregie) read its plan van aanpak" if {
	data.vhgate.lib.action == "read_plan"
	not requester_at_table
	not procesregie_staff
}

# update_afspraak: the partner the afspraak is for (while at the table), the casusregisseur or
# the procesregisseur.
afspraak_partner if {
	requester_at_table
	some t in targets
	t.oin == data.vhgate.lib.oin
}

deny contains "only the partner the afspraak is for (at the table), the case's casusregisseur or the procesregisseur changes an afspraak" if {
	data.vhgate.lib.action == "update_afspraak"
	not afspraak_partner
	not casusregisseur_of_case
	not procesregisseur
}

# read_attention and escalate_case: bewaken en forceren (seed 004) is the procesregisseur's
# task, and the casusregisseur's for its own case.
deny contains sprintf("only the procesregisseur (procesregie) or the case's casusregisseur may take step %q", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in {"read_attention", "escalate_case"}
	not procesregisseur
	not casusregisseur_of_case
}

# escalate_case: a first level (start), or up (opschalen) or down (afschalen) the AVE ladder.
deny contains sprintf("escalate_case needs operation start, opschalen or afschalen, not %v", [data.vhgate.lib.show(operation)]) if {
	data.vhgate.lib.action == "escalate_case"
	operation != ""
	not operation in {"start", "opschalen", "afschalen"}
}

# --- information items -----------------------------------------------------------------------
#
# input.casework.information: {"category", "leefgebied", "ground", "status", "contributed_by",
#   "contributor_partner_type", "requester_is_contributor", "person_in_case"} (never content).
# A participant contributes an item about a person of the case on a contribution ground of
# the convenant (data.convenant.casework.contribution_grounds, ids of the register
# data.convenant.legal_grounds) that is open to its partner type and covers the item's
# category; only the contributing organisation corrects or withdraws it (the status check, 409,
# is the gateway's) and sees who received it, and so may Veiligheidshuis staff for procesregie
# (the Veiligheidshuis coordinates telling the recipients, GDPR art. 19, for the network).

information_steps := {"contribute_information", "correct_information", "withdraw_information", "read_recipients"}

default info := {}

info := facts.information if is_object(facts.information)

info_text(k) := info[k] if is_string(info[k])

info_text(k) := "" if not is_string(info[k])

info_flag(k) if info[k] == true

default grounds := {}

grounds := data.vhgate.lib.conv.casework.contribution_grounds if is_object(data.vhgate.lib.conv.casework.contribution_grounds)

# A contribution ground is known when the register of legal grounds has it too (its citation
# and the categories it covers live there).
ground_known(g) if {
	is_object(grounds[g])
	is_object(data.vhgate.lib.legal_grounds[g])
}

ground_partner_types(g) := grounds[g].partner_types if is_array(grounds[g].partner_types)

ground_partner_types(g) := [] if not is_array(grounds[g].partner_types)

ground_categories(g) := [c | some c in data.vhgate.lib.legal_grounds[g].categories; data.vhgate.lib.citation(g, c)] if is_array(data.vhgate.lib.legal_grounds[g].categories)

ground_categories(g) := [] if not is_array(data.vhgate.lib.legal_grounds[g].categories)

ground_open_to(g, pt) if "*" in ground_partner_types(g)

ground_open_to(g, pt) if pt in ground_partner_types(g)

# Some ground open to the requester's partner type covers category `cat`.
may_contribute_category(cat) if {
	some g, _ in grounds
	ground_open_to(g, data.vhgate.lib.partner_type)
	cat in ground_categories(g)
}

deny contains sprintf("step %q names no information item", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in information_steps
	count(info) == 0
}

deny contains "only a participant of the case (at the MDO table) contributes information" if {
	data.vhgate.lib.action == "contribute_information"
	not data.vhgate.lib.case_doc.requester_is_participant == true
}

deny contains "the person is not a person of this case" if {
	data.vhgate.lib.action == "contribute_information"
	count(info) > 0
	not info_flag("person_in_case")
}

deny contains "category bsn is never an information item: a BSN is recorded on the person, where the policy decides it per recipient" if {
	data.vhgate.lib.action == "contribute_information"
	info_text("category") == "bsn"
}

deny contains sprintf("category %q is not a category of the convenant", [cat]) if {
	data.vhgate.lib.action == "contribute_information"
	count(info) > 0
	cat := info_text("category")
	not data.vhgate.lib.has_key(data.vhgate.lib.conv.categories, cat)
}

deny contains sprintf("partner type %q may not contribute category %q: no contribution ground of the convenant open to it covers that category", [data.vhgate.lib.partner_type, cat]) if {
	data.vhgate.lib.action == "contribute_information"
	cat := info_text("category")
	cat != "bsn"
	data.vhgate.lib.has_key(data.vhgate.lib.conv.categories, cat)
	not may_contribute_category(cat)
}

deny contains sprintf("leefgebied %q is not a leefgebied of the convenant", [lg]) if {
	data.vhgate.lib.action == "contribute_information"
	count(info) > 0
	lg := info_text("leefgebied")
	not lg in data.vhgate.lib.known_leefgebieden
}

deny contains "the contribution names no legal ground" if {
	data.vhgate.lib.action == "contribute_information"
	count(info) > 0
	info_text("ground") == ""
}

deny contains sprintf("ground %q is not a contribution ground of the convenant (known: %v)", [g, sort([k | some k, _ in grounds; ground_known(k)])]) if {
	data.vhgate.lib.action == "contribute_information"
	g := info_text("ground")
	g != ""
	not ground_known(g)
}

deny contains sprintf("ground %q is not open to partner type %q (only to %v)", [g, data.vhgate.lib.partner_type, ground_partner_types(g)]) if {
	data.vhgate.lib.action == "contribute_information"
	g := info_text("ground")
	ground_known(g)
	not ground_open_to(g, data.vhgate.lib.partner_type)
}

deny contains sprintf("ground %q does not cover category %q (only %v)", [g, cat, ground_categories(g)]) if {
	data.vhgate.lib.action == "contribute_information"
	g := info_text("ground")
	ground_known(g)
	cat := info_text("category")
	cat != "bsn"
	not cat in ground_categories(g)
}

deny contains sprintf("only the contributing organisation may take step %q on an item", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action in {"correct_information", "withdraw_information"}
	count(info) > 0
	not info_flag("requester_is_contributor")
}

deny contains "only the contributing organisation (or Veiligheidshuis staff for procesregie) sees who received an item" if {
	data.vhgate.lib.action == "read_recipients"
	count(info) > 0
	not info_flag("requester_is_contributor")
	not procesregie_staff
}

# --- the decision ----------------------------------------------------------------------------

default allow := false

allow if {
	data.vhgate.lib.action in steps
	count(deny) == 0
}

allowed_reason := sprintf("casework: role %q of partner type %q may take step %q for purpose %q", [data.vhgate.lib.role, data.vhgate.lib.partner_type, data.vhgate.lib.action, data.vhgate.lib.purpose]) if allow

default reasons := []

reasons := [allowed_reason] if allow

reasons := sort(deny) if not allow

base := {"allow": allow, "reasons": reasons}

with_screening := object.union(base, {"screening": data.vhgate.screening.advice}) if {
	data.vhgate.lib.action in {"screen_case", "decide_screening"}
}

with_screening := base if not data.vhgate.lib.action in {"screen_case", "decide_screening"}

decision := object.union(with_screening, {"check": data.vhgate.screening.decision_check}) if {
	data.vhgate.lib.action == "decide_screening"
}

decision := with_screening if data.vhgate.lib.action != "decide_screening"
