package guests

import (
	"fmt"
	"strings"
)

// WindowsIdentityScript asks a Windows guest, once after readiness,
// whether it declares itself a stand-in: the registry value
// HKLM\SOFTWARE\virtcert\Simulated, which no real Windows image carries
// and the project's Linux guests playing Windows (fixtures/winguest/cmd/
// winguestd) set to what they are. It prints one line, "simulated=" and
// the value (empty when the guest declares nothing).
const WindowsIdentityScript = `# virtcert: guest identity
$v = Get-ItemProperty -Path 'HKLM:\SOFTWARE\virtcert' -Name Simulated -ErrorAction SilentlyContinue
'simulated=' + [string]$v.Simulated`

// Identity is what a guest declares about itself.
type Identity struct {
	// Simulated is the guest's declaration that it is a stand-in ("" for
	// a guest that declares nothing, as every real one).
	Simulated string
}

// ParseIdentity reads WindowsIdentityScript's output.
func ParseIdentity(stdout string) (Identity, error) {
	line := strings.TrimSpace(stdout)
	v, ok := strings.CutPrefix(line, "simulated=")
	if !ok || strings.Contains(v, "\n") {
		return Identity{}, fmt.Errorf("identity: unexpected answer %.80q", line)
	}
	return Identity{Simulated: strings.TrimSpace(v)}, nil
}
