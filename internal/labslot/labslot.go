// Package labslot bounds how many guests the lab's tests boot at once,
// across test processes: `make e2e` runs several lab packages side by
// side (go test -p), and an in-process bound (a semaphore) would see only
// its process; e2e bounds its own guests with these slots too. On the
// 2-core lab, more guests at once stall healthy ones (dropbear, the
// clock) and they false-FAIL.
//
// The slots are files under the lab directory ($VIRTCERT_LAB_DIR/slots),
// held with flock(2): the kernel releases them when a test process ends,
// even killed. A request takes all its slots at once, one request at a
// time (a turnstile file), so a test needing several guests is neither
// starved nor left holding part of them while others wait (no deadlock).
// Each test takes, once and first, as many slots as it runs guests at
// its peak; a Debian guest (2 vCPUs, 1 GiB) counts two, as in e2e.
//
// Hand-written on flock rather than a library: the lock is one system
// call, and a library (gofrs/flock) would give neither the all-at-once
// take nor the turnstile.
package labslot

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Slots is how many guests the lab runs at once, across processes; the
// default is e2e's former in-process bound. VIRTCERT_LAB_SLOTS overrides it.
func Slots() int {
	if n, err := strconv.Atoi(os.Getenv("VIRTCERT_LAB_SLOTS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// Dir is where the slot files are.
func Dir() string {
	d := os.Getenv("VIRTCERT_LAB_DIR")
	if d == "" {
		d = "/var/tmp/virtcert-lab"
	}
	return filepath.Join(d, "slots")
}

// poll is how often a request holding the turnstile looks for free slots.
const poll = 250 * time.Millisecond

// Acquire takes n guest slots for t, waiting for them, and releases them
// when t ends. Call it once per test, before its first guest boots, with
// the most guests the test runs at once.
func Acquire(t testing.TB, n int) {
	t.Helper()
	rel, err := Take(n)
	if err != nil {
		t.Fatalf("lab guest slots: %v", err)
	}
	t.Cleanup(rel)
}

// Take takes n guest slots, waiting for them, and returns their release:
// for a hold shorter than the test (Acquire holds until the test ends).
func Take(n int) (release func(), err error) {
	return take(Dir(), n, Slots())
}

// take holds n of the slots slot-0..slot-(total-1) in dir and returns
// their release.
func take(dir string, n, total int) (func(), error) {
	if n < 1 || n > total {
		return nil, fmt.Errorf("%d slots asked for, the lab has %d (VIRTCERT_LAB_SLOTS)", n, total)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	turn, err := lockFile(filepath.Join(dir, "turnstile"), true)
	if err != nil {
		return nil, err
	}
	defer turn.Close() // the next request's turn
	var held []*os.File
	release := func() {
		for _, f := range held {
			f.Close() // closing the last descriptor drops the flock
		}
	}
	for {
		for i := 0; i < total && len(held) < n; i++ {
			f, err := lockFile(filepath.Join(dir, "slot-"+strconv.Itoa(i)), false)
			if err != nil {
				release()
				return nil, err
			}
			if f != nil {
				held = append(held, f)
			}
		}
		if len(held) == n {
			return release, nil
		}
		time.Sleep(poll)
	}
}

// Parallel sets go test's -parallel to n unless the command line gives
// it, so that the slots, not -parallel (GOMAXPROCS, 2 on the lab), bound
// how many lab tests run at once: with 2 places, tests waiting for slots
// (or for a shared run) held both while a test that fitted the free slots
// waited. Call it from TestMain, before m.Run.
func Parallel(n int) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
