package main

import (
	"context"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/reportstest"
	"github.com/virtcert/virtcert/reports/rundir"
)

// shardDrv is testdrv with guests of its own (testdrv's count destroys).
type shardHost struct{ testHost }

func (shardHost) Provision(ctx context.Context, spec drivers.GuestSpec) (drivers.Guest, error) {
	return &shardGuest{testGuest{name: spec.Name}}, nil
}

type shardGuest struct{ testGuest }

func (*shardGuest) Destroy(context.Context, time.Duration) error { return nil }

func init() {
	drivers.Register(drivers.Driver{Name: "sharddrv", Transport: "testdrv-t",
		Open: func(ctx context.Context, uri string, o drivers.OpenOptions) (drivers.Host, error) {
			return shardHost{}, nil
		},
		CheckURI:       func(uri string) (bool, error) { return false, nil },
		DefaultProfile: func(drivers.HostInfo, map[string]string) string { return "kvm-tcg" }})
}

// shardPlan: 2 hosts × 3 images, two images one guest OS (compare_as).
func shardPlan(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"a.qcow2", "b.qcow2", "c.qcow2"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	p := filepath.Join(dir, "plan.yaml")
	os.WriteFile(p, []byte(`name: sharded
hosts:
  east: {driver: sharddrv, uri: "test://east"}
  west: {driver: sharddrv, uri: "test://west"}
images:
  deb-qcow: {path: a.qcow2, compare_as: debian}
  deb-raw: {path: b.qcow2, compare_as: debian}
  tiny: {path: c.qcow2}
suites: [console.clean, clock.source]
`), 0o644)
	return p
}

func keyPair(t *testing.T) (priv, pub string) {
	d := t.TempDir()
	priv, pub = filepath.Join(d, "k"), filepath.Join(d, "k.pub")
	if err := bundle.GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestShardSplitCLI: run --dry-run --shard gives every target to exactly
// one shard, the same on every call; bad --shard values are exit 2.
func TestShardSplitCLI(t *testing.T) {
	p := shardPlan(t)
	seen := map[string]int{}
	for _, s := range []string{"1/3", "2/3", "3/3", "1/3", "2/3", "3/3"} {
		code, out, err := exec(t, "run", "--dry-run", "--plan", p, "--shard", s)
		if code != 0 || !strings.Contains(out, "shard "+s+": 2 of 6 targets") {
			t.Fatalf("--shard %s: %d %v\n%s", s, code, err, out)
		}
		for _, m := range regexp.MustCompile(`(?m)^target (\S+)$`).FindAllStringSubmatch(out, -1) {
			seen[m[1]+" "+s]++
		}
	}
	want := map[string]int{"east/deb-qcow 1/3": 2, "west/deb-qcow 1/3": 2, "east/deb-raw 2/3": 2, "west/deb-raw 2/3": 2, "east/tiny 3/3": 2, "west/tiny 3/3": 2}
	if d := cmp.Diff(want, seen); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	for _, tc := range []struct{ shard, msg string }{
		{"3/2", `--shard: "3/2": i must be between 1 and 2`},
		{"0/0", `--shard: "0/0": n must be at least 1`},
		{"x", `want i/n`},
		{"7/7", "the plan has 6 target(s), so shard 7 of 7 would test nothing"},
	} {
		code, _, err := exec(t, "run", "--dry-run", "--plan", p, "--shard", tc.shard)
		if code != ExitInput || err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("--shard %s: %d %v, want exit 2 with %q", tc.shard, code, err, tc.msg)
		}
	}
	if code, _, err := exec(t, "run", "--resume", t.TempDir(), "--shard", "1/2"); code != ExitInput || !strings.Contains(err.Error(), "leave out --shard") {
		t.Errorf("--resume --shard: %d %v", code, err)
	}
}

// TestShardMergeEqualsWhole: three shards, each run and signed on its
// own, merged with the signer's key, give the report of the unsharded
// run: results.json and junit.xml equal modulo times, run IDs and the
// shard records. Refusals are exit 2 with one message.
func TestShardMergeEqualsWhole(t *testing.T) {
	p := shardPlan(t)
	priv, pub := keyPair(t)
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if code, out, _ := exec(t, "run", "--plan", p, "--out", whole); code != ExitHarness && code != ExitFailed {
		t.Fatalf("whole run: exit %d\n%s", code, out)
	}
	var shards []string
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		d := filepath.Join(base, "shard"+s[:1])
		exec(t, "run", "--plan", p, "--shard", s, "--out", d, "--sign-key", priv)
		shards = append(shards, d)
	}
	merged := filepath.Join(base, "merged")
	code, out, err := exec(t, append([]string{"report", "merge", "-o", merged, "--pub", pub, "--sign-key", priv}, shards[2], shards[0], shards[1])...)
	if code != 0 {
		t.Fatalf("merge: %d %v\n%s", code, err, out)
	}
	// The shards are NOT CERTIFIED (the whole run exits 1 or 3), and the
	// merge still exits 0: it renders, it does not judge (USAGE.md).
	if v := normalRun(t, merged).Verdict(); v == reports.Certified || !strings.Contains(out, string(v)) {
		t.Errorf("merged verdict %s, summary:\n%s\nwant a NOT CERTIFIED run merged with exit 0 and its verdict printed", v, out)
	}
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		if !regexp.MustCompile(`shard ` + s + ` +run \S+ \(.*\): 2 target\(s\), bundle VERIFIED signed by SHA256:[0-9a-f]{64}`).MatchString(out) {
			t.Errorf("merge output does not record shard %s as verified:\n%s", s, out)
		}
	}
	if d := cmp.Diff(normalRun(t, whole), normalRun(t, merged)); d != "" {
		t.Errorf("merged results differ from the whole run's (-whole +merged):\n%s", d)
	}
	if d := cmp.Diff(normalJUnit(t, whole), normalJUnit(t, merged)); d != "" {
		t.Errorf("merged junit.xml differs from the whole run's (-whole +merged):\n%s", d)
	}
	if b, _ := os.ReadFile(filepath.Join(merged, "junit.xml")); !strings.Contains(string(b), `name="virtcert.shard.bundle" value="VERIFIED"`) {
		t.Errorf("junit.xml does not record the shards' verification")
	}
	if b, _ := os.ReadFile(filepath.Join(merged, "report.html")); !strings.Contains(string(b), "shard 2/3, run ") || !strings.Contains(string(b), "bundle VERIFIED (signed by SHA256:") {
		t.Errorf("report.html does not name the shards")
	}
	if b, _ := os.ReadFile(filepath.Join(shards[0], "report.html")); !strings.Contains(string(b), "1/3: 2 of the plan&#39;s 6 targets") {
		t.Errorf("a shard's own report does not say it is a shard")
	}
	if code, out, err := exec(t, "report", "verify", "--pub", pub, merged); code != 0 {
		t.Errorf("merged bundle: verify %d %v\n%s", code, err, out)
	}
	shardRefusals(t, p, shards, pub)
	validJUnit(t, filepath.Join(merged, "junit.xml"))
}

func shardRefusals(t *testing.T, p string, shards []string, pub string) {
	other := filepath.Join(t.TempDir(), "other")
	exec(t, "run", "--plan", p, "--shard", "1/2", "--out", other)
	_, otherPub := keyPair(t)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"missing", []string{"--pub", pub, shards[0], shards[2]}, "2/3 not given (2 of 3 shards here)"},
		{"overlap", []string{"--pub", pub, shards[0], shards[1], shards[2], shards[1]}, "shard 2/3 is run"},
		{"other split", []string{"--allow-unsigned", shards[0], shards[1], shards[2], other}, "is shard 1/2"},
		{"unverified", []string{shards[0], shards[1], shards[2]}, "is UNVERIFIED: signature UNVERIFIED"},
		{"wrong key", []string{"--pub", otherPub, shards[0], shards[1], shards[2]}, "FAILED verification (signature INVALID)"},
	} {
		code, _, err := exec(t, append([]string{"report", "merge", "-o", filepath.Join(t.TempDir(), "m")}, tc.args...)...)
		if code != ExitInput || err == nil || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: exit %d %v, want 2 with %q", tc.name, code, err, tc.msg)
		}
	}
}

// normalRun is a run's results.json without what differs between runs:
// times, run IDs and guest names, and the shard records.
func normalRun(t *testing.T, dir string) *reports.Run {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.ID, r.Started, r.Finished, r.Shards, r.Sources, r.Build = "", time.Time{}, time.Time{}, nil, nil, nil
	for _, tg := range r.Targets {
		tg.Started, tg.Finished, tg.Guest.Name, tg.Guest.BootSeconds = time.Time{}, time.Time{}, "", 0
		for _, res := range tg.Results {
			res.Started, res.Duration = time.Time{}, 0
			for i := range res.Evidence {
				res.Evidence[i].Duration = 0
			}
		}
	}
	return &r
}

var junitVolatile = regexp.MustCompile(`(time|timestamp)="[^"]*"|name="(virtcert\.run_id|virtcert\.shard[.a-z_]*|guest\.boot_seconds)" value="[^"]*"|vc-\d{8}-\d{4,6}-[0-9a-f]+|\(\d+(\.\d+)? ?[µmn]?s\)`)

func normalJUnit(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(junitVolatile.ReplaceAllString(string(b), "~"), "\n")
	return slices.DeleteFunc(lines, func(l string) bool {
		return strings.TrimSpace(l) == `<property ~></property>` || strings.TrimSpace(l) == "<property ~/>"
	})
}

// validJUnit validates f against the Ant JUnit schema with xmllint.
func validJUnit(t *testing.T, f string) {
	xmllint := reportstest.NeedTool(t, "xmllint", "libxml2-utils")
	xsd := filepath.Join(reportstest.RepoRoot(t), "..", "shared", "data", "junit-ant.xsd")
	if _, err := os.Stat(xsd); err != nil {
		xsd = "/work/shared/data/junit-ant.xsd" // from a git worktree one level deeper
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("JUnit schema not available: %v", err)
	}
	if out, err := osexec.Command(xmllint, "--noout", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Errorf("%s does not validate against junit-ant.xsd: %v\n%s", f, err, out)
	}
}

// TestShardResume: --resume splits the saved plan again by the shard its
// journal recorded, to the same targets; a changed matrix is refused.
func TestShardResume(t *testing.T) {
	p := shardPlan(t)
	dir := filepath.Join(t.TempDir(), "s2")
	exec(t, "run", "--plan", p, "--shard", "2/3", "--out", dir)
	recs, _, err := journal.Read(dir)
	if err != nil || len(recs) == 0 || recs[0].Shard == nil {
		t.Fatalf("journal: %v %+v", err, recs)
	}
	res := &rundir.Resumed{Records: recs}
	f := runFlags{plan: p}
	rr, _, err := resolveRun(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyShard(rr, "", res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range rr.Targets {
		got = append(got, tg.ID)
	}
	if rr.ShardInfo.String() != "2/3" || strings.Join(got, " ") != "east/deb-raw west/deb-raw" {
		t.Errorf("resumed shard %v: %v", rr.ShardInfo, got)
	}
	recs[0].Shard.Matrix = recs[0].Shard.Matrix[1:]
	rr, _, _ = resolveRun(f)
	if err := applyShard(rr, "", res); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("changed matrix: %v", err)
	}
}
