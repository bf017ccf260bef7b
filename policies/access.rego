# Access to the disclosure log (DESIGN.md §4): review_disclosures is true only when
# doelmatigheid holds for action review_disclosures, i.e. (with the convenant as it stands) the
# requester is a privacy_officer of partner type veiligheidshuis acting for purpose toezicht.
# Which role/purpose/partner type may review lives in the convenant data, not here.
package vhgate.access

import data.vhgate.doelmatigheid
import data.vhgate.lib

default review_disclosures := false

review_disclosures if {
	lib.action == "review_disclosures"
	doelmatigheid.holds
}

# Administering the convenant (policy bundles, registry) is true only when doelmatigheid holds
# for action administer: with the convenant as it stands, a convenant_administrator of the
# Veiligheidshuis acting for purpose beheer. Four-eyes is enforced by the gateway on top.
default administer := false

administer if {
	lib.action == "administer"
	doelmatigheid.holds
}

# Reading signals (aggregate, non-personal figures with small cells suppressed) is true only
# when doelmatigheid holds for action read_signals: with the convenant as it stands, a
# procesregisseur, informatiecoordinator or convenant_administrator of the Veiligheidshuis
# acting for purpose signalering. Which roles may signal lives in the convenant data.
default read_signals := false

read_signals if {
	lib.action == "read_signals"
	doelmatigheid.holds
}
