# Doelmatigheid (purpose limitation and effectiveness), DESIGN.md §2.
#
# A request is admitted only when
#   - it comes from an identified requester (OIN of 20 digits and an employee id),
#   - of a partner type that is a party to the convenant,
#   - names a purpose from the convenant's purpose register that allows the requested action,
#   - in a role that exists, may act for that purpose and is open to the partner type;
#   - and, for read_person: a case is given, of this convenant's region, in a known phase that
#     is not afgesloten (closed: sharing no longer serves any purpose);
#   - and, for purpose spoed (break-glass): a partner type of the convenant's spoed section and
#     a stated reason.
#
# Whether the requester sits at the case table is subsidiariteit's question (a non-participant
# may still get a hit/no-hit answer), not doelmatigheid's.
#
# Exposes:
#   deny     set of reasons why the request as a whole does not serve a purpose
#   holds    true iff deny is empty
#   withhold set of {"field", "reason"}: every field when the request is denied; and every field
#            of a review_disclosures request (reviewing the log never needs case fields)
package vhgate.doelmatigheid

default holds := false

holds if count(deny) == 0

# --- requester -------------------------------------------------------------------------------

deny contains "the request has no requester" if not data.vhgate.lib.has_requester

deny contains "the requester's OIN is missing or is not 20 digits" if {
	data.vhgate.lib.has_requester
	not data.vhgate.lib.is_oin(data.vhgate.lib.oin)
}

deny contains "the requester has no employee id (sub), so the disclosure cannot be attributed" if {
	data.vhgate.lib.has_requester
	trim_space(data.vhgate.lib.sub) == ""
}

# --- action ----------------------------------------------------------------------------------

deny contains "the request names no action" if data.vhgate.lib.action == ""

deny contains sprintf("action %q is not known", [data.vhgate.lib.action]) if {
	data.vhgate.lib.action != ""
	not data.vhgate.lib.action in data.vhgate.lib.known_actions
}

# --- partner type ----------------------------------------------------------------------------

deny contains "the requester has no partner type" if {
	data.vhgate.lib.has_requester
	data.vhgate.lib.partner_type == ""
}

deny contains sprintf("partner type %q is not a party to the convenant", [data.vhgate.lib.partner_type]) if {
	data.vhgate.lib.partner_type != ""
	not data.vhgate.lib.partner_type_known
}

# --- purpose ---------------------------------------------------------------------------------

deny contains "the request names no purpose" if data.vhgate.lib.purpose == ""

deny contains sprintf("purpose %q is not in the convenant's purpose register", [data.vhgate.lib.purpose]) if {
	data.vhgate.lib.purpose != ""
	not data.vhgate.lib.purpose_known
}

deny contains sprintf("purpose %q does not allow action %q", [data.vhgate.lib.purpose, data.vhgate.lib.action]) if {
	data.vhgate.lib.purpose_known
	data.vhgate.lib.action in data.vhgate.lib.known_actions
	not action_in_purpose
}

action_in_purpose if {
	is_array(data.vhgate.lib.purpose_doc.actions)
	data.vhgate.lib.action in data.vhgate.lib.purpose_doc.actions
}

# --- role ------------------------------------------------------------------------------------

deny contains "the requester has no role" if data.vhgate.lib.role == ""

deny contains sprintf("role %q is not in the convenant", [data.vhgate.lib.role]) if {
	data.vhgate.lib.role != ""
	not data.vhgate.lib.role_known
}

deny contains sprintf("role %q may not act for purpose %q", [data.vhgate.lib.role, data.vhgate.lib.purpose]) if {
	data.vhgate.lib.role_known
	data.vhgate.lib.purpose_known
	not purpose_in_role
}

deny contains sprintf("role %q is not open to partner type %q", [data.vhgate.lib.role, data.vhgate.lib.partner_type]) if {
	data.vhgate.lib.role_known
	data.vhgate.lib.partner_type_known
	not partner_type_in_role
}

purpose_in_role if {
	is_array(data.vhgate.lib.role_doc.purposes)
	data.vhgate.lib.purpose in data.vhgate.lib.role_doc.purposes
}

partner_type_in_role if {
	is_array(data.vhgate.lib.role_doc.partner_types)
	"*" in data.vhgate.lib.role_doc.partner_types
}

partner_type_in_role if {
	is_array(data.vhgate.lib.role_doc.partner_types)
	data.vhgate.lib.partner_type in data.vhgate.lib.role_doc.partner_types
}

# --- break-glass (purpose spoed) -------------------------------------------------------------

deny contains sprintf("purpose spoed (break-glass) is not open to partner type %q", [data.vhgate.lib.partner_type]) if {
	data.vhgate.lib.spoed
	not data.vhgate.lib.partner_type in data.vhgate.lib.spoed_partner_types
}

deny contains "purpose spoed (break-glass) needs a stated reason (token claim reason)" if {
	data.vhgate.lib.spoed
	not data.vhgate.lib.reason_stated
}

# --- case (read_person only) -----------------------------------------------------------------

deny contains "read_person needs a case, and none was given" if {
	data.vhgate.lib.action == "read_person"
	not data.vhgate.lib.has_case
}

deny contains "the case has no phase" if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.has_case
	data.vhgate.lib.phase == ""
}

deny contains sprintf("case phase %q is not known", [data.vhgate.lib.phase]) if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.phase != ""
	not data.vhgate.lib.phase in data.vhgate.lib.known_phases
}

deny contains "the case is closed (phase afgesloten): sharing no longer serves a purpose of the convenant" if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.phase == "afgesloten"
}

deny contains "the case has no region" if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.has_case
	data.vhgate.lib.case_region == ""
}

deny contains sprintf("the case belongs to region %q, outside this convenant's region %q", [data.vhgate.lib.case_region, data.vhgate.lib.show(data.vhgate.lib.conv.region)]) if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.case_region != ""
	data.vhgate.lib.case_region != data.vhgate.lib.conv.region
}

deny contains sprintf("the case belongs to region %q, but the convenant names no region", [data.vhgate.lib.case_region]) if {
	data.vhgate.lib.action == "read_person"
	data.vhgate.lib.case_region != ""
	not data.vhgate.lib.conv.region
}

# --- field level -----------------------------------------------------------------------------

withhold contains {"field": name, "reason": reason} if {
	not holds
	reason := concat("; ", sort(deny))
	some name in data.vhgate.lib.field_names
}

withhold contains {"field": name, "reason": reason} if {
	holds
	data.vhgate.lib.action == "review_disclosures"
	reason := "action review_disclosures (purpose toezicht) reviews the disclosure log and never needs case fields"
	some name in data.vhgate.lib.field_names
}

# A one-line summary for the decision's reasons when the request is admitted.
admitted := sprintf("purpose %q allows action %q for role %q of partner type %q", [data.vhgate.lib.purpose, data.vhgate.lib.action, data.vhgate.lib.role, data.vhgate.lib.partner_type]) if holds
