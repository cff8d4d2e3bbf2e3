package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
)

// A driver (and a guest transport) registered from this test file alone
// appears in `virtcert run` (its plan validates and resolves with its own
// URI grammar and default profile, and a real run provisions, checks and
// destroys its guest) and in `virtcert sweep`: adding a driver needs no
// edit of cmd/virtcert, plan or the runner.
type testHost struct{}

func (testHost) Info(context.Context) (drivers.HostInfo, error) {
	return drivers.HostInfo{Driver: "testdrv", Hypervisor: "qemu", Name: "mem", Nature: drivers.NatureSimulated, Notes: []string{"test driver"}}, nil
}
func (testHost) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	return &testGuest{name: spec.Name}, nil
}
func (testHost) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	return []drivers.Resource{{Kind: "domain", Name: "vc-x-guest", RunLabel: "vc-x"}}, nil
}
func (testHost) Close() error { return nil }

type testGuest struct{ name string }

var destroyed atomic.Int32

func (g *testGuest) Name() string                                 { return g.name }
func (g *testGuest) Address(context.Context) (string, error)      { return "192.0.2.7", nil }
func (g *testGuest) Power(context.Context, drivers.PowerOp) error { return drivers.ErrUnsupported }
func (g *testGuest) State(context.Context) (drivers.PowerState, error) {
	return drivers.StateRunning, nil
}
func (g *testGuest) Console(context.Context) ([]byte, error) {
	return []byte("Linux version 6.1.0\nlogin:\n"), nil
}
func (g *testGuest) Destroy(context.Context, time.Duration) error {
	destroyed.Add(1)
	return nil
}

// testOS answers every command with exit 0 and no output.
type testOS struct{}

func (testOS) Run(ctx context.Context, c transport.Command) (transport.Result, error) {
	return transport.Result{Cmd: c.Cmd}, nil
}
func (testOS) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (testOS) Download(context.Context, string, io.Writer) error       { return nil }
func (testOS) Close() error                                            { return nil }

func init() {
	transport.RegisterDialer("testdrv-t", func(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
		if a.HostKey == "" || a.Key == nil {
			return nil, "", errors.New("no pinned identity")
		}
		return testOS{}, "1 attempt", nil
	})
}

func init() {
	drivers.Register(drivers.Driver{Name: "testdrv", Transport: "testdrv-t",
		Open: func(ctx context.Context, uri string, o drivers.OpenOptions) (drivers.Host, error) {
			return testHost{}, nil
		},
		CheckURI: func(uri string) (bool, error) {
			if !strings.HasPrefix(uri, "test://") {
				return false, errors.New("want test://NAME")
			}
			return false, nil
		},
		DefaultProfile: func(drivers.HostInfo, map[string]string) string { return "kvm-tcg" }})
}

func TestRegisteredDriver(t *testing.T) {
	img := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(img, []byte("x"), 0o644)
	code, out, err := exec(t, "run", "--dry-run", "--driver", "testdrv", "--uri", "test://one", "--image", img, "--checks", "clock")
	if code != 0 || !strings.Contains(out, "driver testdrv, uri test://one, transport testdrv-t") {
		t.Errorf("run --dry-run: %d %v\n%s", code, err, out)
	}
	code, _, err = exec(t, "run", "--dry-run", "--driver", "testdrv", "--uri", "bad", "--image", img)
	if code != 2 || !strings.Contains(err.Error(), "--uri: want test://NAME") {
		t.Errorf("bad uri: %d %v", code, err)
	}
	// A real run: provisioned, checked over the test transport, destroyed.
	dir := filepath.Join(t.TempDir(), "run")
	code, out, err = exec(t, "run", "--driver", "testdrv", "--uri", "test://one", "--image", img, "--checks", "console.clean", "--out", dir)
	if code != 0 || !strings.Contains(out, "VERDICT: CERTIFIED") || destroyed.Load() != 1 {
		t.Errorf("run: %d %v (destroyed %d)\n%s", code, err, destroyed.Load(), out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "results.json")); !strings.Contains(string(b), `"driver": "testdrv"`) {
		t.Errorf("results.json does not name the test driver:\n%.2000s", b)
	}
	code, out, err = exec(t, "sweep", "--driver", "testdrv", "--uri", "test://one", "--all")
	if code != 0 || !strings.Contains(out, "removed domain vc-x-guest (run vc-x) on host") {
		t.Errorf("sweep: %d %v\n%s", code, err, out)
	}
}

func TestPlanCheck(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(bad, []byte("name: x\nhosts:\n  a: {driver: vmware, uri: x}\nimages:\n  i: {path: /nonexist, memory_mb: 0}\nsuites: [nope]\n"), 0o644)
	code, out, _ := exec(t, "plan", "check", bad)
	for _, want := range []string{"p.yaml:3: hosts.a.driver: unknown driver", "p.yaml:5: images.i.memory_mb: must be > 0", `p.yaml:6: suites[0]: unknown check or area "nope"`} {
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("plan check: %d, no %q in\n%s", code, want, out)
		}
	}
	good := filepath.Join(t.TempDir(), "g.yaml")
	os.WriteFile(good, []byte("name: g\nhosts:\n  a: {driver: testdrv, uri: 'test://a'}\nimages:\n  i: {path: /nonexist}\n"), 0o644)
	if code, out, err := exec(t, "plan", "check", "--json", good); code != 0 || !strings.Contains(out, `"driver": "testdrv"`) {
		t.Errorf("plan check --json: %d %v\n%s", code, err, out)
	}
}
