package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
)

// A driver registered from this test file alone appears in `virtcert run`
// (its plan validates and resolves with its own URI grammar and default
// profile) and in `virtcert sweep`: adding a driver needs no edit of
// cmd/virtcert, plan or the runner.
type testHost struct{ drivers.Host }

func (testHost) Sweep(ctx context.Context, sel drivers.SweepSelector) ([]drivers.Resource, error) {
	return []drivers.Resource{{Kind: "domain", Name: "vc-x-guest", RunLabel: "vc-x"}}, nil
}
func (testHost) Close() error { return nil }

func init() {
	drivers.Register(drivers.Driver{Name: "testdrv",
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
	if code != 0 || !strings.Contains(out, "driver testdrv, uri test://one, transport ssh") {
		t.Errorf("run --dry-run: %d %v\n%s", code, err, out)
	}
	code, _, err = exec(t, "run", "--dry-run", "--driver", "testdrv", "--uri", "bad", "--image", img)
	if code != 2 || !strings.Contains(err.Error(), "--uri: want test://NAME") {
		t.Errorf("bad uri: %d %v", code, err)
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
