package all

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/suites"
)

// helperSpy records every command a check sends, run or streamed, and
// answers none of them usefully.
type helperSpy struct {
	mu   sync.Mutex
	cmds []string
}

func (s *helperSpy) note(c string) {
	s.mu.Lock()
	s.cmds = append(s.cmds, c)
	s.mu.Unlock()
}
func (s *helperSpy) Run(_ context.Context, c transport.Command) (transport.Result, error) {
	s.note(c.Cmd)
	return transport.Result{Cmd: c.Cmd, Exit: 1}, nil
}
func (s *helperSpy) Start(_ context.Context, cmd string) (*transport.Process, error) {
	s.note(cmd)
	return nil, errors.New("spy: no streams")
}
func (s *helperSpy) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (s *helperSpy) Download(context.Context, string, io.Writer) error       { return nil }
func (s *helperSpy) Close() error                                            { return nil }

// TestHelperUsersDeclareIt: the runner uploads vcprobe only before a check
// that declares it uses it (suites.UsesHelper), so every check that runs
// the helper when it is in the guest must declare it; one that did not
// would quietly fall back to a coarser way (date instead of vcprobe
// clock) on a run where no earlier check had brought the helper. Each
// Linux check runs once against a guest that has the helper (a spy
// transport, 2 s) and may not name it undeclared.
func TestHelperUsersDeclareIt(t *testing.T) {
	ps, err := suites.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	const helper = "/tmp/vcprobe-spy"
	var wg sync.WaitGroup
	used := map[string]bool{}
	var mu sync.Mutex
	for _, c := range suites.All() {
		if len(c.OS) > 0 && c.OS[0] != "linux" {
			continue
		}
		c.Timeout = 2 * time.Second
		wg.Add(1)
		go func() {
			defer wg.Done()
			spy := &helperSpy{}
			suites.Execute(context.Background(), c, &suites.Target{OS: spy, Profile: ps["kvm-tcg"], Helper: helper})
			for _, cmd := range spy.cmds {
				if strings.Contains(cmd, helper) {
					mu.Lock()
					used[c.ID] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// The spy must see the clock checks that sample through the helper
	// (clock.after-pause and after-save stop earlier here: no host to
	// pause), or it proves nothing.
	for _, id := range []string{"clock.offset", "clock.drift", "clock.monotonic"} {
		if !used[id] {
			t.Errorf("the spy did not see %s run the helper", id)
		}
	}
	for id := range used {
		c, _ := suites.Lookup(id)
		if !suites.UsesHelper(c) {
			t.Errorf("%s runs vcprobe but does not declare it (Needs or Uses suites.NeedHelper)", id)
		}
	}
}
