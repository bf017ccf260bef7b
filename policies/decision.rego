# The decision: combines the three principles into the one object that the gateway acts on
# (policies/README.md, "Output contract"). `decision` is defined for every input, `{}` included.
#
#   allow          read_person/lookup only; doelmatigheid holds, subsidiariteit and
#                  proportionaliteit refuse nothing at request level. Field-level withholding
#                  does not flip allow (a partial disclosure, possibly of nothing).
#   tier           subsidiariteit's tier once doelmatigheid holds and the budget is not
#                  exhausted; otherwise none.
#   allowed_fields sorted; [] when allow is false.
#   withheld       sorted by field, one entry per withheld field: the first principle (in the
#                  order doelmatigheid, subsidiariteit, proportionaliteit) that withheld it, with
#                  that principle's reasons for the field joined by "; " (sorted).
#   reasons        overall reasons, grouped by principle in the same order.
#   obligations    sorted; what the recipient must observe for what it received.
package vhgate.decision

principles := ["doelmatigheid", "subsidiariteit", "proportionaliteit"]

withholdings := {
	"doelmatigheid": data.vhgate.doelmatigheid.withhold,
	"subsidiariteit": data.vhgate.subsidiariteit.withhold,
	"proportionaliteit": data.vhgate.proportionaliteit.withhold,
}

# --- allow and tier --------------------------------------------------------------------------

default allow := false

allow if {
	data.vhgate.lib.action in data.vhgate.lib.person_level_actions
	data.vhgate.doelmatigheid.holds
	count(data.vhgate.subsidiariteit.deny) == 0
	count(data.vhgate.proportionaliteit.deny) == 0
	data.vhgate.subsidiariteit.tier != "none"
}

default tier := "none"

tier := data.vhgate.subsidiariteit.tier if {
	data.vhgate.lib.action in data.vhgate.lib.person_level_actions
	data.vhgate.doelmatigheid.holds
	count(data.vhgate.proportionaliteit.deny) == 0
}

# --- fields ----------------------------------------------------------------------------------

# Names that some principle withheld (restricted to names that were actually requested).
principle_withheld := {w.field |
	some p in principles
	some w in withholdings[p]
	w.field in data.vhgate.lib.field_names
}

allowed_set := {name |
	allow
	some name in data.vhgate.lib.field_names
	not name in principle_withheld
}

allowed_fields := sort(allowed_set)

reasons_of(p, name) := {w.reason | some w in withholdings[p]; w.field == name}

# The entry for a name some principle withheld: the first principle in order.
principled_entry(name) := {"field": name, "principle": p, "reason": concat("; ", sort(reasons_of(p, name)))} if {
	firsts := [q | some q in principles; count(reasons_of(q, name)) > 0]
	p := firsts[0]
}

# Default deny: a field that no principle withheld but that is not allowed either (the request
# was refused) is reported under doelmatigheid. The principles withhold every field of a refused
# request themselves, so this is a safety net that keeps the invariant.
default_entry(name) := {
	"field": name,
	"principle": "doelmatigheid",
	"reason": "withheld by default: the request was not allowed and no rule disclosed this field",
}

entry(name) := principled_entry(name) if name in principle_withheld

entry(name) := default_entry(name) if not name in principle_withheld

withheld := [entry(name) |
	some name in sort(data.vhgate.lib.field_names)
	not name in allowed_set
]

# --- reasons ---------------------------------------------------------------------------------

prefixed(p, set) := [concat("", [p, ": ", r]) | some r in sort(set)]

doelmatigheid_reasons := prefixed("doelmatigheid", data.vhgate.doelmatigheid.deny) if not data.vhgate.doelmatigheid.holds

doelmatigheid_reasons := array.concat(
	[concat("", ["doelmatigheid: ", data.vhgate.doelmatigheid.admitted])],
	review_note,
) if data.vhgate.doelmatigheid.holds

review_note := ["decision: action review_disclosures is decided by data.vhgate.access.review_disclosures; the disclosure decision never allows it"] if data.vhgate.lib.action == "review_disclosures"

review_note := [] if data.vhgate.lib.action != "review_disclosures"

subsidiariteit_reasons := prefixed("subsidiariteit", data.vhgate.subsidiariteit.deny) if count(data.vhgate.subsidiariteit.deny) > 0

subsidiariteit_reasons := [concat("", ["subsidiariteit: ", data.vhgate.subsidiariteit.explained])] if {
	count(data.vhgate.subsidiariteit.deny) == 0
	allow
}

default subsidiariteit_reasons := []

proportionaliteit_reasons := prefixed("proportionaliteit", data.vhgate.proportionaliteit.deny) if count(data.vhgate.proportionaliteit.deny) > 0

proportionaliteit_reasons := array.concat(
	[sprintf("proportionaliteit: %d of %d field(s) withheld", [count(withheld), count(data.vhgate.lib.field_names)])],
	prefixed("proportionaliteit", grounds_used),
) if {
	count(data.vhgate.proportionaliteit.deny) == 0
	allow
}

default proportionaliteit_reasons := []

reasons := array.concat(array.concat(doelmatigheid_reasons, subsidiariteit_reasons), proportionaliteit_reasons)

# The legal grounds on which the disclosed categories are received (for the log).
# (Computed as a rule: regorus 0.14 evaluated a function called with this rule as argument to
# an empty set, so no function takes a rule reference as argument here.)
grounds_used := {sprintf("ground for category %s (partner type %s): %s", [cat, data.vhgate.lib.partner_type, g]) |
	some cat in disclosed_categories
	g := data.vhgate.lib.ground(cat)
}

# --- obligations -----------------------------------------------------------------------------

disclosed_categories := {c |
	some f in data.vhgate.lib.fields
	f.name in allowed_set
	c := object.get(f, "category", null)
}

obligation_for := {
	"bijzonder": "bijzonder_no_onward_sharing",
	"strafrechtelijk": "strafrechtelijk_no_onward_sharing",
	"bsn": "bsn_own_legal_task_only",
}

obligations := sort({o |
	some c in disclosed_categories
	o := obligation_for[c]
})

# --- the decision ----------------------------------------------------------------------------

decision := {
	"allow": allow,
	"tier": tier,
	"allowed_fields": allowed_fields,
	"withheld": withheld,
	"reasons": reasons,
	"obligations": obligations,
}
