// Package all registers every check area of the catalog. Import it for its
// side effects; it is the one place where areas are wired in (see
// restic's backend/all for the pattern).
package all

import (
	_ "github.com/virtcert/virtcert/suites/clock"
	_ "github.com/virtcert/virtcert/suites/console"
	_ "github.com/virtcert/virtcert/suites/disk"
	_ "github.com/virtcert/virtcert/suites/hyperv"
	_ "github.com/virtcert/virtcert/suites/lifecycle"
	_ "github.com/virtcert/virtcert/suites/network"
	_ "github.com/virtcert/virtcert/suites/platform"
	_ "github.com/virtcert/virtcert/suites/pvdrivers"
	_ "github.com/virtcert/virtcert/suites/windows"
)
