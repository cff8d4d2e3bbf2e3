package e2e

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/internal/labslot"
	"github.com/virtcert/virtcert/reports"
)

// A guest's full-catalog run is shared: TestCatalog<Guest> judges it as a
// healthy guest's certification, and TestStability<Guest> takes it as its
// first boot. Whichever test asks first runs it; the suite boots it once.

// catalogResult is one finished full-catalog run.
type catalogResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
	out, label     string // run directory (lives until the suite ends), run label
	run            *reports.Run
}

type sharedRun struct {
	once sync.Once
	res  *catalogResult
}

var (
	sharedMu   sync.Mutex
	sharedRuns = map[string]*sharedRun{}
)

// catalogRun returns guest's ("tiny" or "debian") full-catalog run,
// running it if no test has yet.
func catalogRun(t *testing.T, guest string) *catalogResult {
	t.Helper()
	sharedMu.Lock()
	s := sharedRuns[guest]
	if s == nil {
		s = &sharedRun{}
		sharedRuns[guest] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() { s.res = runCatalog(t, guest) })
	if s.res == nil {
		t.Fatalf("the %s guest's full-catalog run failed in another test (see its log)", guest)
	}
	return s.res
}

// runCatalog runs the whole real catalog on guest with its peer. It holds
// two guest slots only while the run lasts (not until the test ends: the
// asking test may go on to boot more guests).
func runCatalog(t *testing.T, guest string) *catalogResult {
	t.Helper()
	// The binary under test also holds the e2e area (-tags vce2e); the
	// real catalog is what certify runs.
	var plan string
	limit := 25 * time.Minute
	if guest == "debian" {
		plan, limit = debianPlan(t, "exclude: [e2e]\n"), 40*time.Minute
	} else {
		plan = tinyPlan(t, "exclude: [e2e]\n")
	}
	dir, err := os.MkdirTemp(scratch, "catalog-"+guest+"-")
	if err != nil {
		t.Fatal(err)
	}
	release, err := labslot.Take(2) // the guest and its peer
	if err != nil {
		t.Fatalf("lab guest slots: %v", err)
	}
	defer release()
	out := filepath.Join(dir, "run")
	t0 := time.Now()
	code, stdout, stderr := virtcert(t, nil, limit, "run", "--plan", plan, "--out", out)
	took := time.Since(t0)
	label := labelOf(t, stdout)
	return &catalogResult{code: code, stdout: stdout, stderr: stderr, took: took, out: out, label: label, run: readRun(t, out)}
}
