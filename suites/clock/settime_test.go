package clock

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites"
	"github.com/virtcert/virtcert/suites/suitetest"
)

// flakyClock is a host whose guest-set-time fails misses times first
// (misses < 0: always), as an agent channel that reconnects late after a
// restore does. A fake, not a recording.
type flakyClock struct {
	*suitetest.Guest
	misses, asks int
}

func (g *flakyClock) SetGuestTime(context.Context, time.Time) error {
	g.asks++
	if g.misses < 0 || g.asks <= g.misses {
		return drivers.Errorf(drivers.ClassGuest, "set guest time", "Guest agent is not responding")
	}
	return nil
}

// The evidence names the attempt that set the clock, and says how many
// were made when none did.
func TestSetGuestTimeNamesTheAttempt(t *testing.T) {
	defer func(d time.Duration) { setTimePause = d }(setTimePause)
	setTimePause = time.Millisecond
	for _, c := range []struct {
		misses, asks int
		ok           bool
		out          string
	}{
		{0, 1, true, "set on attempt 1 of at most 4"},
		{2, 3, true, "set on attempt 3 of at most 4"},
		{-1, 4, false, "Guest agent is not responding (after 4 attempts)"},
	} {
		g := &flakyClock{Guest: &suitetest.Guest{GuestName: "g"}, misses: c.misses}
		st := suites.NewT(context.Background(), suites.Check{ID: "clock.after-save"}, &suites.Target{Guest: g})
		ok, _ := setGuestTime(st, "save/restore")
		ev := st.Result().Evidence
		if ok != c.ok || g.asks != c.asks || len(ev) != 1 || !strings.Contains(ev[0].Output, c.out) {
			t.Errorf("misses %d: ok=%v after %d asks, evidence %+v; want ok=%v after %d with %q", c.misses, ok, g.asks, ev, c.ok, c.asks, c.out)
		}
	}
}
