package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 2): insecure: true was silent. It is
// warned about before the run and in the terminal summary.
func TestInsecureWarnings(t *testing.T) {
	run := reportstest.Sample()
	run.Targets[0].HostInfo.TLSUnverified = true
	var b bytes.Buffer
	printSummary(&b, run, reportPaths{dir: "out/x"}, nil)
	want := "WARNING: TLS NOT VERIFIED on host " + run.Targets[0].Host
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	warnInsecure(&b, map[string]*plan.Host{"hv1": {Insecure: true}, "hv2": {}})
	if got := b.String(); !strings.Contains(got, "TLS NOT VERIFIED on host hv1") || strings.Contains(got, "hv2") {
		t.Errorf("start warning: %q", got)
	}
}

// Regression (issue 11, finding 6): `run --plan /dev/zero` read until
// memory ran out; it is refused at once with exit 2.
func TestPlanDevZero(t *testing.T) {
	code, _, err := exec(t, "run", "--plan", "/dev/zero")
	if code != ExitInput || err == nil || !strings.Contains(err.Error(), "a plan must be a regular file") {
		t.Errorf("--plan /dev/zero: %d %v", code, err)
	}
}

// Regression (issue 11, finding 6): --waivers /dev/zero read forever.
func TestWaiversDevZero(t *testing.T) {
	if _, err := loadWaivers("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("--waivers /dev/zero: %v", err)
	}
}

// Regression (issue 11, finding 1): sweep --uri and run --uri with a
// password are refused without echoing it.
func TestURIPasswordFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sweep", "--uri", "qemu+ssh://root:hunter2@h/system", "--all", "--dry-run"},
		{"run", "--uri", "qemu+ssh://root:hunter2@h/system", "--image", "/nonexistent.qcow2"},
		{"sweep", "--driver", "existing", "--uri", "root:hunter2@10.0.0.1:22", "--all"},
	} {
		code, out, err := exec(t, args...)
		if code != ExitInput || err == nil || !strings.Contains(err.Error(), "password_env") || strings.Contains(err.Error()+out, "hunter2") {
			t.Errorf("%v: %d %v %q", args, code, err, out)
		}
	}
}

// A merged run with an UNVERIFIED shard source is warned about in the
// terminal summary (report merge, report).
func TestUnverifiedShardsWarning(t *testing.T) {
	run := reportstest.Sample()
	run.Sources = []reports.ShardSource{{RunID: "shard-b", Bundle: "UNVERIFIED", Targets: []string{run.Targets[0].ID}}}
	var b bytes.Buffer
	printSummary(&b, run, reportPaths{dir: "out/x"}, nil)
	if !strings.Contains(b.String(), "WARNING: UNVERIFIED: 1 of 1 merged shard source(s) (run shard-b)") {
		t.Errorf("summary lacks the UNVERIFIED warning:\n%s", b.String())
	}
	run.Sources[0].Bundle = "VERIFIED"
	b.Reset()
	printSummary(&b, run, reportPaths{dir: "out/x"}, nil)
	if strings.Contains(b.String(), "UNVERIFIED") {
		t.Errorf("UNVERIFIED warning on an all-VERIFIED merge:\n%s", b.String())
	}
}
