package existing

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/virtcert/virtcert/drivers"
)

func init() {
	drivers.Register(drivers.Driver{Name: "existing", Open: Open, CheckURI: CheckURI, DefaultProfile: DefaultProfile, Attaches: true,
		Hypervisors: []string{"unknown"}})
}

// DefaultProfile: the driver cannot see the machine's hypervisor from
// outside, so a host without a profile in the plan gets "generic", whose
// hypervisor-specific checks SKIP with that reason (never another
// hypervisor's expectations in silence).
func DefaultProfile(drivers.HostInfo, map[string]string) string { return "generic" }

// CheckURI validates ssh://user@host:port, host:port or host.
func CheckURI(uri string) (bool, error) {
	if strings.Contains(uri, "://") {
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "ssh" || u.Hostname() == "" {
			return false, fmt.Errorf("bad URI %q for the existing driver: want ssh://user@host:port, host:port or host", uri)
		}
	} else if strings.ContainsAny(uri, " /?#") {
		return false, fmt.Errorf("bad address %q for the existing driver: want ssh://user@host:port, host:port or host", uri)
	}
	return false, nil
}

// AttachesExisting: the existing driver provisions nothing.
func (*Host) AttachesExisting() {}

var _ drivers.Attached = (*Host)(nil)
