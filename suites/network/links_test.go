package network

import (
	"testing"

	"github.com/virtcert/virtcert/suites/suitetest"
)

// oldLinks is the links probe before it read values with builtins (a
// process per value): the oracle for what linksProbe must print.
const oldLinks = `for d in /sys/class/net/*; do n=${d##*/}; ` +
	`echo "$n operstate=$(cat $d/operstate 2>/dev/null) carrier=$(cat $d/carrier 2>/dev/null) mtu=$(cat $d/mtu) ` +
	`address=$(cat $d/address) type=$(cat $d/type) driver=$(readlink $d/device/driver 2>/dev/null)"; done`

func TestLinksProbeMatchesOldScript(t *testing.T) {
	suitetest.SameAsOracle(t, linksProbe, oldLinks)
}
