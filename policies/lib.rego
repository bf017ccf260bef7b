# Safe accessors for the input document and the convenant data.
#
# Every value that the principle files reason about is read here, once, with a default, so
# that a missing or malformed input field yields a well-typed value ("" / [] / {}) and never
# an evaluation error (regorus raises errors on builtin type mismatches). The principles then
# deny on the empty values: default deny.
package vhgate.lib

# ---------------------------------------------------------------------------------------------
# Convenant data (policies/data/convenant.json, loaded as data.convenant)

default conv := {}

conv := data.convenant if is_object(data.convenant)

# The actions the gateway knows; anything else is denied by doelmatigheid.
known_actions := {
	"read_person", "lookup", "review_disclosures", "administer",
	"register_case", "read_registration", "screen_case", "decide_screening",
	"manage_participants", "accept_invitation", "set_casusregisseur", "close_case",
	"extend_retention", "read_own_contributions", "read_signals",
	"create_afspraak", "read_plan", "update_afspraak", "read_attention", "escalate_case",
	"contribute_information", "correct_information", "withdraw_information", "read_recipients",
}

# Actions that the decision rule decides (review_disclosures is decided by vhgate.access).
person_level_actions := {"read_person", "lookup"}

# Case phases, in order. afgesloten = closed.
known_phases := {"aanmelding", "screening", "mdo", "uitvoering", "afgesloten"}

# ---------------------------------------------------------------------------------------------
# The request

default action := ""

action := input.action if is_string(input.action)

default requester := {}

requester := input.requester if is_object(input.requester)

has_requester if is_object(input.requester)

default oin := ""

oin := requester.oin if is_string(requester.oin)

default sub := ""

sub := requester.sub if is_string(requester.sub)

default partner_type := ""

partner_type := requester.partner_type if is_string(requester.partner_type)

default role := ""

role := requester.role if is_string(requester.role)

default purpose := ""

purpose := requester.purpose if is_string(requester.purpose)

# ---------------------------------------------------------------------------------------------
# The case (read_person only)

has_case if is_object(input.case)

default case_doc := {}

case_doc := input.case if is_object(input.case)

default phase := ""

phase := case_doc.phase if is_string(case_doc.phase)

default case_region := ""

case_region := case_doc.region if is_string(case_doc.region)

default participants := []

participants := [p | some p in case_doc.participants; is_object(p)] if is_array(case_doc.participants)

# ---------------------------------------------------------------------------------------------
# Fields that could be disclosed. Non-object entries are ignored (they cannot carry a name,
# so they cannot appear in allowed_fields either).

default fields := []

fields := [f | some f in input.fields; is_object(f)] if is_array(input.fields)

# Every field name, once (a name that occurs twice is allowed only if all its entries are).
field_names := {f.name | some f in fields}

# The requested leefgebieden, when the request narrowed them (null or missing: no narrowing).
# Any other value that is not an array narrows to nothing: a malformed narrowing must not
# widen the answer to every leefgebied (fail closed).
default requested_leefgebieden := []

requested_leefgebieden := input.request.leefgebieden if is_array(input.request.leefgebieden)

narrowed_by_request if {
	is_object(input.request)
	has_key(input.request, "leefgebieden")
	input.request.leefgebieden != null
}

# Break-glass (purpose spoed): the request states its reason (the gateway says whether the token
# carried one; the reason itself never reaches the policy or the log).
spoed if purpose == "spoed"

reason_stated if input.request.reason_stated == true

# ---------------------------------------------------------------------------------------------
# Convenant lookups for this requester

partner_type_known if is_object(conv.partner_types[partner_type])

default partner := {}

partner := conv.partner_types[partner_type] if partner_type_known

purpose_known if is_object(conv.purposes[purpose])

default purpose_doc := {}

purpose_doc := conv.purposes[purpose] if purpose_known

role_known if is_object(conv.roles[role])

default role_doc := {}

role_doc := conv.roles[role] if role_known

# The register of legal grounds (ground id -> {citation, categories}); partner types and
# contribution grounds cite its ids.
default legal_grounds := {}

legal_grounds := conv.legal_grounds.grounds if is_object(conv.legal_grounds.grounds)

# The citation of a registered ground that may be cited for category `cat`; undefined when the
# ground is not registered, has a missing or blank citation, or does not cover `cat`.
citation(id, cat) := c if {
	is_string(id)
	g := legal_grounds[id]
	is_array(g.categories)
	cat in g.categories
	c := g.citation
	is_string(c)
	trim_space(c) != ""
}

# The ground in the convenant on which the requester's partner type receives category `cat`,
# as its citation (decision reasons quote it); undefined when there is none: no grant, a grant
# that is not a ground id, or one that `citation` does not resolve (the bundle validation
# refuses the last two, this keeps a directory loaded without it failing closed).
ground(cat) := c if {
	is_string(cat)
	c := citation(partner.categories[cat], cat)
}

# Is leefgebied `lg` (a string) one that the requester's partner type may receive?
leefgebied_allowed(lg) if {
	is_string(lg)
	lg in known_leefgebieden
	"*" in partner_leefgebieden
}

leefgebied_allowed(lg) if {
	is_string(lg)
	lg in known_leefgebieden
	lg in partner_leefgebieden
}

# The convenant's spoed section: who may break the glass and the minimum it discloses. Missing
# or malformed lists admit no one and disclose nothing (fail closed).
default spoed_partner_types := []

spoed_partner_types := conv.spoed.partner_types if is_array(conv.spoed.partner_types)

default spoed_categories := []

spoed_categories := conv.spoed.categories if is_array(conv.spoed.categories)

default spoed_leefgebieden := []

spoed_leefgebieden := conv.spoed.leefgebieden if is_array(conv.spoed.leefgebieden)

default known_leefgebieden := []

known_leefgebieden := conv.leefgebieden if is_array(conv.leefgebieden)

default partner_leefgebieden := []

partner_leefgebieden := partner.leefgebieden if is_array(partner.leefgebieden)

# ---------------------------------------------------------------------------------------------
# Helpers

# Is s an OIN (20 digits)? Checked without regex.match, which regorus compiles on every call
# (a third of a decision's time).
is_oin(s) if {
	is_string(s)
	count(s) == 20
	trim_left(s, "0123456789") == ""
}

# Does object o have key k (even with a null value)?
has_key(o, k) if {
	is_object(o)
	_ = o[k]
}

# Renders any value for a human-readable reason.
show(x) := x if is_string(x)

show(x) := sprintf("%v", [x]) if not is_string(x)
