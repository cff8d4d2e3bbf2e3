package pvdrivers

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// agentGuest is a simulated guest (a fake, not a recording) whose agent
// probe prints out, and whose host answers GuestTime after failing
// misses times with libvirt's "agent not responding" (misses < 0: never).
type agentGuest struct {
	*suitetest.Guest
	out    string
	mu     sync.Mutex
	misses int
	asks   int
}

func (g *agentGuest) GuestTime(context.Context) (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asks++
	if g.misses < 0 || g.asks <= g.misses {
		return time.Time{}, drivers.Errorf(drivers.ClassGuest, "guest time", "Guest agent is not responding: QEMU guest agent is not connected")
	}
	return time.Now(), nil
}

func (g *agentGuest) Run(_ context.Context, c transport.Command) (transport.Result, error) {
	return transport.Result{Cmd: c.Cmd, Stdout: []byte(g.out)}, nil
}
func (g *agentGuest) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (g *agentGuest) Download(context.Context, string, io.Writer) error       { return nil }
func (g *agentGuest) Close() error                                            { return nil }

const (
	agentRunning = "@@@ installed\n/usr/sbin/qemu-ga\nsearched: done\n@@@ pid\n412\n@@@ ports\norg.qemu.guest_agent.0\n"
	agentStopped = "@@@ installed\n/usr/sbin/qemu-ga\nsearched: done\n@@@ pid\nnot running\n@@@ ports\norg.qemu.guest_agent.0\n"
)

// A running agent that misses the host's first two asks (a loaded host)
// PASSes, and the verdict says it answered on retry 2; one that never
// answers FAILs after the bounded asks; a stopped agent is asked once.
func TestAgentRetriedBoundedAndNamed(t *testing.T) {
	saved := agentPing
	t.Cleanup(func() { agentPing = saved })
	agentPing.pause = time.Millisecond
	for _, c := range []struct {
		name, out    string
		misses, asks int
		want         reports.Status
		act          string
	}{
		{"answers at once", agentRunning, 0, 1, reports.Pass, `act="answered (guest time`},
		{"answers on retry 2", agentRunning, 2, 3, reports.Pass, `act="answered on retry 2 (ask 3 of at most 4;`},
		{"never answers", agentRunning, -1, 4, reports.Fail, `act="no answer in 4 ask(s): guest time: Guest agent is not responding`},
		{"stopped", agentStopped, -1, 1, reports.Fail, `act="no answer in 1 ask(s)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &agentGuest{Guest: &suitetest.Guest{GuestName: "agent"}, out: c.out, misses: c.misses}
			tg, err := suitetest.Target("kvm", g, g)
			if err != nil {
				t.Fatal(err)
			}
			r, err := suitetest.Execute("drivers.guest-agent", tg)
			if err != nil {
				t.Fatal(err)
			}
			d := suitetest.Describe(r)
			if r.Status != c.want || g.asks != c.asks || !strings.Contains(d, c.act) {
				t.Errorf("status %s after %d asks, want %s after %d with %q\n%s", r.Status, g.asks, c.want, c.asks, c.act, d)
			}
		})
	}
}
