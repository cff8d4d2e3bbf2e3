// Package e2echecks registers a few small, deterministic checks used only
// by the end-to-end tests of the CLI (binary built with -tags vce2e): they
// let the tests control how long a check takes (for signals and resume)
// and whether it fails (for exit 1 and --keep-on-failure), independent of
// the real catalog.
//
// Knobs (read by the virtcert process running the check):
//
//	VIRTCERT_E2E_SLOW=N   e2e.slow sleeps N seconds in the guest (default 0)
//	VIRTCERT_E2E_FAIL=1   e2e.fail fails (default: passes)
package e2echecks

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	suites.Register(suites.Check{
		ID: "e2e.uname", Area: "e2e", Priority: 1, Title: "guest answers uname over the shared connection",
		Doc:     "Runs uname -r in the guest and expects exit 0 and a kernel release.",
		Timeout: 30 * time.Second,
		Run: func(t *suites.T) {
			r := t.Run("kernel release", "uname -r")
			t.Expect("uname exit status", r.OK(), "0", strconv.Itoa(r.Exit), "")
			t.Expect("kernel release printed", strings.TrimSpace(string(r.Stdout)) != "", "non-empty", strings.TrimSpace(string(r.Stdout)), "")
		},
	})
	suites.Register(suites.Check{
		ID: "e2e.slow", Area: "e2e", Priority: 3, Title: "a check that takes VIRTCERT_E2E_SLOW seconds",
		Doc:     "Sleeps in the guest; the e2e tests interrupt the run while it sleeps.",
		Timeout: 10 * time.Minute,
		Run: func(t *suites.T) {
			n, _ := strconv.Atoi(os.Getenv("VIRTCERT_E2E_SLOW"))
			if n < 0 || n > 500 {
				n = 0
			}
			r := t.Run("sleep", "sleep "+strconv.Itoa(n))
			t.Expect("sleep exit status", r.OK(), "0", strconv.Itoa(r.Exit), "")
		},
	})
	suites.Register(suites.Check{
		ID: "e2e.fail", Area: "e2e", Priority: 1, Title: "fails when VIRTCERT_E2E_FAIL=1",
		Doc:     "Runs `test -e /` (or `test -e /nonexistent` when asked to fail) and expects exit 0.",
		Timeout: 30 * time.Second,
		Run: func(t *suites.T) {
			path := "/"
			if os.Getenv("VIRTCERT_E2E_FAIL") == "1" {
				path = "/nonexistent-e2e-fault"
			}
			r := t.Run("test path", "test -e "+path)
			t.Expect("path exists", r.OK(), "exit 0", "exit "+strconv.Itoa(r.Exit), "")
		},
	})
}
