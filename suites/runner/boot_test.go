package runner

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/suites"
)

// The boot-to-ready time the checks see (suites.Target.BootSeconds, the
// basis of lifecycle's boot-scaled limits) is the whole of it: the host's
// provisioning, the wait for an address and the first connection, each
// slowed here by 150 ms; and it is the figure the report shows.
func TestBootSecondsIsTheWholeBootToReady(t *testing.T) {
	const step = 150 * time.Millisecond
	h, d := newFakeHost(), &fakeDial{}
	h.provFail = func(string) error { time.Sleep(step); return nil }
	h.beforeAddr = func(context.Context, string) { time.Sleep(step) }
	var mu sync.Mutex
	seen := map[string]float64{}
	check := suites.Check{ID: "platform.boot", Area: "platform", Title: "boot", Timeout: 5 * time.Second, Run: func(t *suites.T) {
		mu.Lock()
		defer mu.Unlock()
		seen[t.Target.Guest.Name()] = t.Target.BootSeconds
	}}
	o := opts(t, h, d, check)
	o.Dial = func(ctx context.Context, addr string, a transport.Access) (transport.Transport, string, error) {
		time.Sleep(step)
		return d.dial(ctx, addr, a)
	}
	run, _, err := runP(context.Background(), testPlan(t, ""), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range run.Targets {
		got := seen[tg.Guest.Name]
		if got < 3*step.Seconds() || got != tg.Guest.BootSeconds {
			t.Errorf("%s: the check saw a boot of %.3fs, the report %.3fs; want the same, at least %.3fs (provision + address + connect)",
				tg.ID, got, tg.Guest.BootSeconds, 3*step.Seconds())
		}
	}
}
