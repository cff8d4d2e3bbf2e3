package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/virtcert/virtcert/reports"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLines(t *testing.T) {
	var b bytes.Buffer
	s := &lines{w: &b, now: func() time.Time { return time.Date(2026, 11, 21, 23, 15, 2, 0, time.UTC) }, targets: map[string]*lineTarget{}}
	p := s.Target("lab-kvm/debian-12")
	p.Phase(Provisioning)
	p.Phase(Readiness + " \x1b[31m")
	p.Checks(2)
	p.CheckDone("clock.offset", reports.Pass)
	s.Target("lab-kvm/debian-12").CheckDone("disk.integrity", reports.Fail)
	p.Done(reports.NotCertified, reports.Counts{reports.Fail: 1, reports.Pass: 1})
	s.Close()
	want := `23:15:02 lab-kvm/debian-12  provisioning
23:15:02 lab-kvm/debian-12  waiting for readiness 
23:15:02 lab-kvm/debian-12  2 checks to run
23:15:02 lab-kvm/debian-12  check 1/2 clock.offset PASS
23:15:02 lab-kvm/debian-12  check 2/2 disk.integrity FAIL
23:15:02 lab-kvm/debian-12  done: NOT CERTIFIED (1 fail, 1 pass)
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestLinesParallelDoNotInterleave(t *testing.T) {
	var b syncBuf
	s := New(&b, false)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := s.Target(string(rune('a' + i)))
			p.Checks(50)
			for j := 0; j < 50; j++ {
				p.CheckDone("x.y", reports.Pass)
			}
			p.Done(reports.Certified, reports.Counts{reports.Pass: 50})
		}(i)
	}
	wg.Wait()
	s.Close()
	ls := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(ls) != 8*52 {
		t.Fatalf("%d lines", len(ls))
	}
	for _, l := range ls {
		if !strings.Contains(l, "  ") || strings.Count(l, ":") != 2+strings.Count(l, "done:") {
			t.Fatalf("mangled line %q", l)
		}
	}
}

func TestLive(t *testing.T) {
	var b syncBuf
	// AutoRefresh makes mpb render into a non-terminal buffer.
	s := newLive(&b, mpb.WithAutoRefresh(), mpb.WithWidth(140), mpb.WithRefreshRate(10*time.Millisecond))
	a := s.Target("kvm/debian")
	h := s.Target("hyperv-sim/debian")
	_ = s.Target("never/finishes") // Close must abort it, not hang
	a.Phase(Provisioning)
	h.Phase(Readiness)
	a.Checks(2)
	a.CheckDone("clock.offset", reports.Pass)
	a.CheckDone("disk.integrity", reports.Pass)
	a.Done(reports.Certified, reports.Counts{reports.Pass: 2})
	h.Checks(3)
	h.CheckDone("clock.offset", reports.Fail)
	h.Done(reports.NotCertified, reports.Counts{reports.Fail: 1}) // stopped early: completes anyway
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	out := b.String()
	for _, want := range []string{"kvm/debian", "hyperv-sim/debian", "CERTIFIED (2 pass)", "NOT CERTIFIED (1 fail)", "check 2/2", "check 1/3", "never/finishes"} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%q", want, out)
		}
	}
}

// TestEventsShareTheLineFormat: the runner's free-text events and the
// progress lines come out in one format when not on a terminal.
func TestEventsShareTheLineFormat(t *testing.T) {
	var b bytes.Buffer
	s := &lines{w: &b, now: func() time.Time { return time.Date(2026, 11, 21, 9, 1, 30, 0, time.UTC) }, targets: map[string]*lineTarget{}}
	s.Target("lab/tiny").Phase(Provisioning)
	var ev Eventer = s
	ev.Event("lab/tiny", "guest %s ready", "vc-1")
	want := "09:01:30 lab/tiny  provisioning\n09:01:30 lab/tiny  guest vc-1 ready\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
