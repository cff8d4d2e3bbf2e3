package windows

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// Every command the catalog sends must fit the command line the WinRM
// transport can carry (cmd.exe's 8191 characters once -EncodedCommand'd),
// with its arguments at their longest: a script over it would make every
// check built on it an ERROR on a real guest.
func TestProbesFitTheWinRMCommandLine(t *testing.T) {
	ping, err := pingCommand("fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1000000)
	if err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string]string{
		"inventory":  probeInventory,
		"clock":      probeClock,
		"ping":       ping,
		"integrity":  probeIntegrity,
		"trim":       probeTrim,
		"throughput": probeThroughput + " -MB 1000000000",
		"boot id":    probes.BootID,
		"reboot":     probes.Reboot,
		"responsive": probes.Responsive,
	} {
		if n := len(winrm.CommandLine(script)); n > winrm.MaxCommandLine {
			t.Errorf("%s: a %d-character command line, over the %d WinRM carries", name, n, winrm.MaxCommandLine)
		}
	}
}

// The boot identity must survive a step of the clock: LastBootUpTime is
// derived from the current time (the kernel moves its boot time with
// every clock step), so a resume or restore followed by a time-sync step
// would read as a reboot. Both probes print the same identity.
func TestBootIdentityIsNotDerivedFromTheClock(t *testing.T) {
	for name, p := range map[string]string{"BootID": probes.BootID, "Responsive": probes.Responsive} {
		if strings.Contains(p, "LastBootUpTime") {
			t.Errorf("%s derives the boot identity from LastBootUpTime", name)
		}
		if !strings.Contains(p, bootIdentity) {
			t.Errorf("%s does not print bootIdentity", name)
		}
	}
}
