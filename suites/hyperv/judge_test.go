package hyperv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// hostGuest plays the host side of a transcript: drivers/hyperv's
// capabilities answered from the host-* records.
type hostGuest struct {
	*suitetest.Guest
	recs map[string]suitetest.Record

	mu       sync.Mutex
	received []byte
}

func (g *hostGuest) rec(t string) suitetest.Record { return g.recs[t] }

func (g *hostGuest) KVPItems(ctx context.Context) (map[string]string, error) {
	m := map[string]string{}
	err := json.Unmarshal([]byte(g.rec("host-kvp").Stdout), &m)
	return m, err
}

func (g *hostGuest) Heartbeat(ctx context.Context) (string, error) {
	return strings.TrimSpace(g.rec("host-heartbeat").Stdout), nil
}

func (g *hostGuest) IntegrationServices(ctx context.Context) ([]hyperv.IntegrationService, error) {
	var s []hyperv.IntegrationService
	err := json.Unmarshal([]byte(g.rec("host-integration").Stdout), &s)
	return s, err
}

func (g *hostGuest) CopyToGuest(ctx context.Context, r io.Reader, path string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if rc := g.rec("host-fcopy"); rc.Exit != 0 {
		return &drivers.Error{Class: drivers.ClassHost, Op: "hyperv copy file", Err: &hyperv.ScriptError{Script: "copyfile.ps1", Exit: rc.Exit, Message: strings.TrimSpace(rc.Stdout)}}
	}
	g.mu.Lock()
	g.received = b
	g.mu.Unlock()
	return nil
}

// shaTransport answers the guest's sha256sum with the hash of what the
// host copied, where the transcript says {{fcopy_sha256}} (a guest that got
// the bytes intact).
type shaTransport struct {
	*suitetest.Transport
	g *hostGuest
}

func (x shaTransport) Run(ctx context.Context, c transport.Command) (transport.Result, error) {
	r, err := x.Transport.Run(ctx, c)
	if strings.Contains(string(r.Stdout), "{{fcopy_sha256}}") {
		x.g.mu.Lock()
		s := sha256.Sum256(x.g.received)
		x.g.mu.Unlock()
		r.Stdout = []byte(strings.ReplaceAll(string(r.Stdout), "{{fcopy_sha256}}", hex.EncodeToString(s[:])))
	}
	return r, err
}

func target(t *testing.T, platform string, simulated bool, over ...string) (*hostGuest, shaTransport) {
	t.Helper()
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err) // the transcripts are part of the repository: never pass by skipping
	}
	files := append([]string{"hyperv/gsi-enabled.txt"}, over...)
	x, err := suitetest.Platform(root, platform, files...)
	if err != nil {
		t.Fatal(err)
	}
	g := &hostGuest{Guest: &suitetest.Guest{GuestName: "transcript"}, recs: map[string]suitetest.Record{}}
	for _, f := range append([]string{"hyperv/healthy.txt"}, over...) {
		b, err := os.ReadFile(filepath.Join(root, platform, f))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := suitetest.ParseRecords(string(b), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if strings.HasPrefix(r.Tag, "host-") {
				g.recs[r.Tag] = r
			}
		}
	}
	_ = simulated
	return g, shaTransport{x, g}
}

func TestChecksOnTranscripts(t *testing.T) {
	kvpWait = 2 * time.Second
	type tc struct {
		check  string
		over   []string
		want   reports.Status
		reason string // substring of the reason
	}
	cases := []tc{
		{"hyperv.kvp", nil, reports.Pass, ""},
		{"hyperv.heartbeat", nil, reports.Pass, ""},
		{"hyperv.fcopy", nil, reports.Pass, ""},
		{"hyperv.vss", nil, reports.Pass, ""},
		{"hyperv.integration-services", nil, reports.Pass, ""},

		{"hyperv.kvp", []string{"hyperv/faulty-no-kvp-daemon.txt"}, reports.Fail, "KVP daemon running"},
		{"hyperv.kvp", []string{"hyperv/faulty-kvp-stale.txt"}, reports.Fail, "FullyQualifiedDomainName"},
		{"hyperv.heartbeat", []string{"hyperv/faulty-heartbeat.txt"}, reports.Fail, "LostCommunication"},
		{"hyperv.vss", []string{"hyperv/faulty-no-vss.txt"}, reports.Fail, "VSS daemon running"},
		{"hyperv.fcopy", []string{"hyperv/faulty-fcopy.txt"}, reports.Fail, "file copy daemon running"},
		{"hyperv.fcopy", []string{"hyperv/faulty-fcopy-corrupt.txt"}, reports.Fail, "sha256 in the guest"},
		{"hyperv.integration-services", []string{"hyperv/faulty-timesync.txt"}, reports.Fail, "Time Synchronization status"},
		{"hyperv.integration-services", []string{"hyperv/faulty-no-vss.txt"}, reports.Fail, "VSS status"},
	}
	// On the simulated host every Hyper-V check fails, and says why.
	for _, id := range []string{"hyperv.kvp", "hyperv.heartbeat", "hyperv.fcopy", "hyperv.vss", "hyperv.integration-services"} {
		cases = append(cases, tc{id, []string{"hyperv/simulated.txt"}, reports.Fail, "no VMBus devices"})
	}
	for _, platform := range []string{"hyperv-gen1", "hyperv-gen2"} {
		for _, c := range cases {
			name := platform + "/" + c.check + "/" + strings.Join(c.over, "+")
			t.Run(name, func(t *testing.T) {
				simulated := len(c.over) > 0 && strings.HasSuffix(c.over[0], "simulated.txt")
				g, x := target(t, platform, simulated, c.over...)
				tg, err := suitetest.Target(platform, x, g)
				if err != nil {
					t.Fatal(err)
				}
				if simulated {
					tg.HostInfo.Nature = drivers.NatureSimulated
					tg.HostInfo.Notes = []string{"simulated Hyper-V host"}
				}
				r, err := suitetest.Execute(c.check, tg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
					t.Fatalf("got %s %q, want %s containing %q\n%s", r.Status, r.Reason, c.want, c.reason, suitetest.Describe(r))
				}
				if len(r.Evidence) < 3 {
					t.Fatalf("thin evidence:\n%s", suitetest.Describe(r))
				}
				if simulated {
					all := suitetest.Describe(r)
					if !strings.Contains(all, "host is simulated") || !strings.Contains(all, "runs on QEMU") {
						t.Fatalf("simulated verdict does not say so:\n%s", all)
					}
				}
			})
		}
	}
}

// TestChecksSkipWithoutCapabilities: on a host driver without the Hyper-V
// capabilities (any non-hyperv guest) the checks SKIP with the reason.
func TestChecksSkipWithoutCapabilities(t *testing.T) {
	root, err := suitetest.Root()
	if err != nil {
		t.Fatal(err) // the transcripts are part of the repository: never pass by skipping
	}
	x, err := suitetest.Platform(root, "hyperv-gen2")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := suitetest.Target("hyperv-gen2", x, &suitetest.Guest{GuestName: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"hyperv.kvp", "hyperv.heartbeat", "hyperv.fcopy", "hyperv.vss", "hyperv.integration-services"} {
		r, err := suitetest.Execute(id, tg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != reports.Skip || !strings.Contains(r.Reason, "host driver lacks capability") {
			t.Errorf("%s: %s %q", id, r.Status, r.Reason)
		}
	}
	// And they do not apply to KVM at all.
	kx, err := suitetest.Platform(root, "kvm")
	if err != nil {
		t.Fatal(err)
	}
	ktg, _ := suitetest.Target("kvm", kx, &suitetest.Guest{GuestName: "k"})
	r, _ := suitetest.Execute("hyperv.kvp", ktg)
	if r.Status != reports.NA || !strings.Contains(r.Reason, "hyperv") {
		t.Errorf("kvm: %s %q, want N/A", r.Status, r.Reason)
	}
}

func FuzzParseGuest(f *testing.F) {
	f.Add("@@@ procs\nhv_kvp_daemon\n@@@ ipv4\n2: eth0 inet 10.0.0.1/24", "@@@ /sys/bus/vmbus/devices/x\nclass_id={a9a0f4e7-5a45-4d96-b827-8a841e8c03e6}\ndriver=hv_utils")
	f.Fuzz(func(t *testing.T, probe, pv string) {
		g := ParseGuest(probe, pv)
		h := Host{Address: "10.0.0.1"}
		for _, v := range []interface{ Failed() bool }{JudgeKVP(g, h), JudgeVSS(g, h), JudgeHeartbeat(g, h), JudgeIntegrationServices(g, h), JudgeFcopy(g, h, Copy{})} {
			_ = v.Failed()
		}
	})
}
