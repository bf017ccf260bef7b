# Shared fixtures for the policy tests (loaded only with the tests: *_test.rego).
#
# Inputs are built from a valid base request and changed with object.union (recursive: the
# second argument wins) or object.remove, so each test states only what it changes.
package vhgate.fixtures

# One OIN (20 digits) per partner type of the convenant.
oin := {
	"politie": "00000001000000000011",
	"om": "00000001000000000012",
	"reclassering": "00000001000000000013",
	"rvdk": "00000001000000000014",
	"gemeente": "00000001000000000015",
	"ggz": "00000001000000000016",
	"veilig_thuis": "00000001000000000017",
	"woningcorporatie": "00000001000000000018",
	"veiligheidshuis": "00000001000000000019",
}

# A partner that is never at the table of the fixture case.
outsider_oin := "00000001000000000099"

now := "2026-03-02T09:30:00Z"

region := "oost-brabant"

# The partner types of the convenant that are not Veiligheidshuis staff.
partner_types := ["politie", "om", "reclassering", "rvdk", "gemeente", "ggz", "veilig_thuis", "woningcorporatie"]

# --- fields ----------------------------------------------------------------------------------

field(name, cat, lg, age) := {"name": name, "category": cat, "leefgebied": lg, "age_days": age}

# One field per category and per leefgebied (two in veiligheid: ordinary and criminal-law).
fields := [
	field("persoon.naam", "identificerend", null, 12),
	field("persoon.bsn", "bsn", null, 12),
	field("item:wonen", "overig", "wonen", 30),
	field("item:werk_inkomen", "overig", "werk_inkomen", 30),
	field("item:schulden", "overig", "schulden", 30),
	field("item:opleiding_dagbesteding", "overig", "opleiding_dagbesteding", 30),
	field("item:gezin_relaties", "overig", "gezin_relaties", 30),
	field("item:sociaal_netwerk", "overig", "sociaal_netwerk", 30),
	field("item:verslaving", "bijzonder", "verslaving", 30),
	field("item:psychische_gezondheid", "bijzonder", "psychische_gezondheid", 30),
	field("item:lichamelijke_gezondheid", "bijzonder", "lichamelijke_gezondheid", 30),
	field("item:justitie", "strafrechtelijk", "justitie", 30),
	field("item:veiligheid", "overig", "veiligheid", 30),
	field("item:veiligheid_strafrechtelijk", "strafrechtelijk", "veiligheid", 30),
]

field_names := {f.name | some f in fields}

names_of(fs) := {f.name | some f in fs}

# --- requests ----------------------------------------------------------------------------------

requester(pt, role, purpose) := {
	"oin": oin[pt],
	"partner_type": pt,
	"role": role,
	"purpose": purpose,
	"sub": "medewerker-42",
}

participant(pt) := {"oin": oin[pt], "partner_type": pt, "since": "2026-01-15T10:00:00Z"}

# A case in `phase` at whose table sit the Veiligheidshuis and partner type `pt`.
case_with(pt, phase) := {
	"id": "0195f3a0-0000-7000-8000-000000000001",
	"kind": "persoonsgericht",
	"phase": phase,
	"region": region,
	"requester_is_participant": true,
	"participants": [participant("veiligheidshuis"), participant(pt)],
}

# read_person by a participating professional of partner type `pt` in phase mdo, every field.
read_as(pt) := {
	"action": "read_person",
	"now": now,
	"requester": requester(pt, "professional", "casusoverleg"),
	"budget": {"used": 0},
	"case": case_with(pt, "mdo"),
	"request": {"leefgebieden": null},
	"fields": fields,
}

# The default request: a politie professional at the table in phase mdo.
read := read_as("politie")

# read_person by Veiligheidshuis staff (procesregisseur, procesregie) who sits at no table.
staff_read := object.union(read_as("veiligheidshuis"), {
	"requester": requester("veiligheidshuis", "procesregisseur", "procesregie"),
	"case": {"requester_is_participant": false, "participants": [participant("politie")]},
})

# read_person by a politie professional that does not sit at the table.
outsider_read := object.union(read, {"case": {
	"requester_is_participant": false,
	"participants": [participant("veiligheidshuis"), participant("ggz")],
}})

# A hit/no-hit lookup (no case); carries fields to show that none is disclosed.
lookup_as(pt) := {
	"action": "lookup",
	"now": now,
	"requester": requester(pt, "professional", "bevraging"),
	"budget": {"used": 0},
	"fields": fields,
}

lookup := lookup_as("politie")

# The privacy officer reviewing the disclosure log.
review := {
	"action": "review_disclosures",
	"now": now,
	"requester": requester("veiligheidshuis", "privacy_officer", "toezicht"),
	"budget": {"used": 0},
	"fields": [],
}

# obj with key k set to v (not merged: object.union would merge nested objects).
replace(obj, k, v) := object.union(object.remove(obj, [k]), {k: v})

# inp without key k of its object `part` (requester, case, ...).
without(inp, part, k) := replace(inp, part, object.remove(inp[part], [k]))

with_phase(inp, phase) := object.union(inp, {"case": {"phase": phase}})

with_fields(inp, fs) := object.union(inp, {"fields": fs})

with_requester(inp, changes) := object.union(inp, {"requester": changes})

with_budget(inp, used) := object.union(inp, {"budget": {"used": used}})

with_leefgebieden(inp, lgs) := object.union(inp, {"request": {"leefgebieden": lgs}})

# --- checks ----------------------------------------------------------------------------------

withheld_names(d) := {w.field | some w in d.withheld}

# The fields withheld by principle p.
withheld_by(d, p) := {w.field | some w in d.withheld; w.principle == p}

# The withheld entry of one field (undefined if the field is not withheld).
entry(d, name) := w if {
	some w in d.withheld
	w.field == name
}

# The contract invariants of a decision for input inp (policies/README.md, "Output contract").
invariant(d, inp) if {
	is_boolean(d.allow)
	d.tier in {"none", "hit_no_hit", "summary", "full"}
	is_array(d.allowed_fields)
	is_array(d.withheld)
	is_array(d.reasons)
	is_array(d.obligations)

	# allowed_fields sorted and without duplicates; withheld sorted by field, one per field.
	d.allowed_fields == sort({n | some n in d.allowed_fields})
	ws := [w.field | some w in d.withheld]
	ws == sort({n | some n in ws})

	# Every entry names a principle and a reason.
	every w in d.withheld {
		w.principle in {"doelmatigheid", "subsidiariteit", "proportionaliteit"}
		is_string(w.reason)
		w.reason != ""
	}

	# Every input field name is either allowed or withheld, never both, never neither.
	names := input_names(inp)
	allowed := {n | some n in d.allowed_fields}
	withheld := {n | some n in ws}
	count(allowed & withheld) == 0
	allowed | withheld == names

	# Nothing is allowed in a denial.
	not denial_with_fields(d)
}

denial_with_fields(d) if {
	d.allow == false
	count(d.allowed_fields) > 0
}

input_names(inp) := {f.name | some f in inp.fields; is_object(f)} if is_array(inp.fields)

input_names(inp) := set() if not is_array(inp.fields)
