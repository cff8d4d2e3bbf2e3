package main

import (
	"bytes"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The real binary, built once as `make build VERSION=...` builds it: the
// version and revision stamped with -ldflags -X.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

const (
	stampVersion  = "v9.9.9-test"
	stampRevision = "0123456789abcdef0123456789abcdef01234567"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func realBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "virtcert-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "virtcert")
		bi := "github.com/virtcert/virtcert/internal/buildinfo"
		c := osexec.Command("go", "build", "-ldflags", "-X "+bi+".version="+stampVersion+" -X "+bi+".revision="+stampRevision+" -X "+bi+".dirty=true", "-o", binPath, ".")
		if out, err := c.CombinedOutput(); err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	c := osexec.Command(realBinary(t), args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *osexec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func TestBinaryVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errs := runBinary(t, args...)
		if code != 0 || !strings.HasPrefix(out, "virtcert "+stampVersion+"\n") || !strings.Contains(out, "revision: "+stampRevision+"\n") ||
			!strings.Contains(out, "dirty:    true\n") || !strings.Contains(out, "go:       go1.") {
			t.Errorf("%v: %d\n%s%s", args, code, out, errs)
		}
	}
	code, out, _ := runBinary(t, "version", "--json")
	doc := jsonDoc(t, out, VersionSchema)
	if code != 0 || doc["version"] != stampVersion || doc["revision"] != stampRevision || doc["dirty"] != true {
		t.Errorf("version --json: %d %v", code, doc)
	}
}

func TestBinaryProfilesJSON(t *testing.T) {
	code, out, errs := runBinary(t, "profiles", "--json")
	if code != 0 {
		t.Fatalf("profiles --json: %d %s", code, errs)
	}
	doc := jsonDoc(t, out, ProfilesSchema)
	if ps, _ := doc["profiles"].([]any); len(ps) < 5 {
		t.Errorf("profiles --json: %d profiles", len(ps))
	}
	// The golden file holds one profile (kvm-tcg), so adding a profile
	// does not touch it.
	code, out, errs = runBinary(t, "profiles", "kvm-tcg", "--json")
	if code != 0 {
		t.Fatalf("profiles kvm-tcg --json: %d %s", code, errs)
	}
	golden(t, "profiles-kvm-tcg.json", out)
}

// A measurement 66% worse: report diff exits 0 as before by default
// (--fail-on regression), 1 with --fail-on measurement.
func TestBinaryDiffFailOnMeasurement(t *testing.T) {
	old, new := filepath.Join("testdata", "diff-old.json"), filepath.Join("testdata", "diff-new.json")
	if code, out, errs := runBinary(t, "report", "diff", old, new); code != 0 || !strings.Contains(out, "-66.0%, worse") {
		t.Errorf("diff: %d\n%s%s", code, out, errs)
	}
	code, out, errs := runBinary(t, "report", "diff", "--fail-on", "measurement", "--json", old, new)
	if code != 1 || !strings.Contains(errs, "tcp.throughput.guest_to_controller 1000 -> 340 Mbit/s") {
		t.Errorf("diff --fail-on measurement: %d\n%s", code, errs)
	}
	if doc := jsonDoc(t, out, "virtcert.diff/v1"); doc["failed"] != true {
		t.Errorf("diff --json: failed %v", doc["failed"])
	}
}

// report re-renders a results.json into a bundle sealed by this build;
// verify --json says what it found.
func TestBinaryBundleVersionAndVerifyJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	if code, out, errs := runBinary(t, "report", filepath.Join("testdata", "diff-old.json"), "-o", dir); code != 0 {
		t.Fatalf("report: %d %s%s", code, out, errs)
	}
	m, _ := os.ReadFile(filepath.Join(dir, "manifest"))
	if want := "# sealed by virtcert " + stampVersion + " (0123456789ab, dirty, go1."; !strings.HasPrefix(string(m), want) {
		t.Errorf("manifest does not start with %q:\n%s", want, m)
	}
	code, out, errs := runBinary(t, "report", "verify", "--json", "--allow-unsigned", dir)
	doc := jsonDoc(t, out, VerifySchema)
	if code != 0 || doc["verdict"] != "UNVERIFIED" || doc["signature"] != "UNSIGNED" || doc["files"] != 3.0 {
		t.Errorf("verify --json: %d %v %s", code, doc, errs)
	}
	os.WriteFile(filepath.Join(dir, "junit.xml"), []byte("<x/>"), 0o644)
	code, out, _ = runBinary(t, "report", "verify", "--json", "--allow-unsigned", dir)
	doc = jsonDoc(t, out, VerifySchema)
	if code != 1 || doc["verdict"] != "FAILED" || len(doc["tampered"].([]any)) != 1 {
		t.Errorf("verify --json, tampered: %d %v", code, doc)
	}
}

// run --json on the real binary, without a lab: a one-off run of the
// existing driver without a pinned host key stops at setup (exit 2, and
// nothing is dialled). Stdout holds the summary document alone; progress
// went to stderr; results.json records the stamped build.
func TestBinaryRunJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runBinary(t, "run", "--driver", "existing", "--uri", "ssh://root@127.0.0.1:1", "--out", out, "--json")
	doc := jsonDoc(t, stdout, SummarySchema)
	if code != ExitInput || doc["exit_code"] != float64(ExitInput) || doc["verdict"] != "NOT CERTIFIED" || !strings.Contains(doc["error"].(string), "host_key") {
		t.Errorf("run --json: exit %d, %v", code, doc)
	}
	if !strings.Contains(stderr, "provisioning") || !strings.Contains(stderr, "virtcert "+stampVersion) {
		t.Errorf("progress is not on stderr:\n%s", stderr)
	}
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if !strings.Contains(string(b), `"revision": "`+stampRevision+`"`) {
		t.Errorf("results.json does not record the build:\n%.1500s", b)
	}
}

// make build stamps through the variables this test stamps: a rename of
// either side would silently leave release builds "dev".
func TestMakefileStamps(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BI       := github.com/virtcert/virtcert/internal/buildinfo", "-X $(BI).version=$(VERSION)",
		"-X $(BI).revision=$(REVISION)", "-X $(BI).dirty=$(DIRTY)", "$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/virtcert"} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("the Makefile has no %q", want)
		}
	}
}
