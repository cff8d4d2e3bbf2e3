package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/probe"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// loopGuest simulates a guest whose vcprobe runs in the test process on
// loopback (a fake, not a recording): tcp-client and tcp-server move real
// TCP between the check's controller side and this process. With
// slowMbps set, the guest's sender reports that rate instead of sending
// (a guest NIC that crawls).
type loopGuest struct {
	*suitetest.Guest
	slowMbps float64
}

// flagOf returns the value after name in a vcprobe command line.
func flagOf(f []string, name string) string {
	for i := range f[:len(f)-1] {
		if f[i] == name {
			return strings.Trim(f[i+1], "'")
		}
	}
	return ""
}

func (g *loopGuest) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	f := strings.Fields(cmd.Cmd)
	d, _ := time.ParseDuration(flagOf(f, "-duration"))
	var res probe.TCPResult
	var err error
	switch {
	case strings.Contains(cmd.Cmd, " tcp-client ") && g.slowMbps > 0:
		streams, _ := strconv.Atoi(flagOf(f, "-streams"))
		res = probe.TCPResult{Role: "client", Streams: streams, Bytes: 1, Seconds: 1, Mbps: g.slowMbps, PerStream: make([]int64, streams)}
	case strings.Contains(cmd.Cmd, " tcp-client "):
		streams, _ := strconv.Atoi(flagOf(f, "-streams"))
		res, err = probe.TCPSend(ctx, flagOf(f, "-connect"), d, streams)
	case strings.Contains(cmd.Cmd, " tcp-server "):
		ln, lerr := net.Listen("tcp", "127.0.0.1"+flagOf(f, "-listen"))
		if lerr != nil {
			return transport.Result{}, lerr
		}
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		res, err = probe.TCPServe(sctx, ln)
	default:
		return transport.Result{}, fmt.Errorf("unexpected command %.80q", cmd.Cmd)
	}
	if err != nil && res.Error == "" {
		res.Error = err.Error()
	}
	b, _ := json.Marshal(res)
	return transport.Result{Cmd: cmd.Cmd, Stdout: append(b, '\n'), Duration: time.Millisecond}, nil
}

func (g *loopGuest) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (g *loopGuest) Download(context.Context, string, io.Writer) error       { return nil }
func (g *loopGuest) Close() error                                            { return nil }

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestThroughputControllerSimulated runs network.throughput.controller
// whole against a simulated guest on loopback: both directions measured
// (the controller's receiver and sender are the check's own), three
// guest->controller rounds, PASS above min_mbps; a guest whose sender
// crawls FAILs on guest->controller.
func TestThroughputControllerSimulated(t *testing.T) {
	saved := guestPort
	t.Cleanup(func() { guestPort = saved })
	for _, c := range []struct {
		name   string
		slow   float64
		want   reports.Status
		reason string
	}{
		{"loopback", 0, reports.Pass, ""},
		{"slow guest sender", 0.5, reports.Fail, "guest->controller"},
	} {
		t.Run(c.name, func(t *testing.T) {
			guestPort = freePort(t)
			g := &loopGuest{Guest: &suitetest.Guest{GuestName: "loop"}, slowMbps: c.slow}
			tg, err := suitetest.Target("kvm", g, g)
			if err != nil {
				t.Fatal(err)
			}
			tg.Helper, tg.Controller, tg.Address = "/tmp/vcprobe", "127.0.0.1", "127.0.0.1"
			tg.Profile = tg.Profile.Override(&suites.Profile{Checks: map[string]map[string]any{
				"network.throughput.controller": {"duration_seconds": 0.2, "min_mbps": 1, "streams": 2}}, Source: "test"})
			r, err := suitetest.Execute("network.throughput.controller", tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("got %s, want %s with %q\n%s", r.Status, c.want, c.reason, d)
			}
			var names []string
			for _, m := range r.Measures {
				names = append(names, m.Name)
			}
			if got := strings.Join(names, " "); got != "tcp.throughput.guest_to_controller tcp.throughput.controller_to_guest" {
				t.Errorf("measurements %q\n%s", got, d)
			}
			for _, s := range []string{"guest sends to controller (vcprobe, round 3)", "controller receiver (round 3)", "guest receives from controller (vcprobe)", "guest->controller spread (vcprobe)"} {
				if !strings.Contains(d, s) {
					t.Errorf("evidence lacks %q:\n%s", s, d)
				}
			}
		})
	}
}
