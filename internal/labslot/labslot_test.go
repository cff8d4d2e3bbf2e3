package labslot

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// waits reports whether take(dir, n, total) is still waiting after d; if
// it got its slots it releases them.
func waits(t *testing.T, dir string, n, total int, d time.Duration) (bool, chan func()) {
	t.Helper()
	got := make(chan func(), 1)
	go func() {
		rel, err := take(dir, n, total)
		if err != nil { // reported by whoever receives it, while t runs
			rel = func() { t.Errorf("take %d of %d: %v", n, total, err) }
		}
		got <- rel
	}()
	select {
	case rel := <-got:
		rel()
		return false, nil
	case <-time.After(d):
		return true, got
	}
}

// TestTakeBounds: with 3 slots, 2 held, a request for 2 waits until they
// are released, and then gets both.
func TestTakeBounds(t *testing.T) {
	dir := t.TempDir()
	rel, err := take(dir, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := waits(t, dir, 1, 3, time.Second); w {
		t.Fatal("a request for the 1 free slot waited")
	}
	w, got := waits(t, dir, 2, 3, time.Second)
	if !w {
		t.Fatal("a request for 2 slots with 1 free did not wait")
	}
	rel()
	select {
	case r := <-got:
		r()
	case <-time.After(5 * time.Second):
		t.Fatal("released slots were not taken")
	}
}

// TestTakeInTurn: a request for 2 slots waiting for them is not overtaken
// by later 1-slot requests (it would starve behind a stream of them).
func TestTakeInTurn(t *testing.T) {
	dir := t.TempDir()
	rel, err := take(dir, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	w, got := waits(t, dir, 2, 3, time.Second)
	if !w {
		t.Fatal("a request for 2 slots with 1 free did not wait")
	}
	w1, got1 := waits(t, dir, 1, 3, time.Second)
	if !w1 {
		t.Fatal("a later 1-slot request overtook the waiting 2-slot request")
	}
	rel()
	for _, c := range []chan func(){got, got1} {
		select {
		case r := <-c:
			r()
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting request did not get its slots in turn")
		}
	}
}

// TestTakeAcrossProcesses: slots held by another process (this test's
// binary, re-run as a holder) bound this one, and are free again when
// that process is killed.
func TestTakeAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("LABSLOT_HOLD"); dir != "" {
		if _, err := take(dir, 3, 3); err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		return
	}
	dir := t.TempDir()
	c := exec.Command(os.Args[0], "-test.run=^TestTakeAcrossProcesses$")
	c.Env = append(os.Environ(), "LABSLOT_HOLD="+dir)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "held\n" {
		t.Fatalf("holder said %q", l)
	}
	w, got := waits(t, dir, 1, 3, time.Second)
	if !w {
		t.Fatal("a slot was free while another process held them all")
	}
	c.Process.Kill()
	c.Wait()
	select {
	case r := <-got:
		r()
	case <-time.After(5 * time.Second):
		t.Fatal("the killed process's slots were not freed")
	}
}

func TestTakeRefusesTooMany(t *testing.T) {
	for _, n := range []int{0, 4} {
		if _, err := take(t.TempDir(), n, 3); err == nil {
			t.Errorf("take %d of 3: no error", n)
		}
	}
}

// Take uses the lab's slots ($VIRTCERT_LAB_DIR, VIRTCERT_LAB_SLOTS) and
// its release frees them before the test ends (e2e's shared catalog run).
func TestTakeUsesLabSlotsAndReleases(t *testing.T) {
	lab := t.TempDir()
	t.Setenv("VIRTCERT_LAB_DIR", lab)
	t.Setenv("VIRTCERT_LAB_SLOTS", "2")
	if _, err := Take(3); err == nil {
		t.Fatal("Take 3 of VIRTCERT_LAB_SLOTS=2: no error")
	}
	release, err := Take(2)
	if err != nil {
		t.Fatal(err)
	}
	free := func() int {
		n := 0
		for _, name := range []string{"slot-0", "slot-1"} {
			f, err := lockFile(filepath.Join(lab, "slots", name), false)
			if err != nil {
				t.Fatal(err)
			}
			if f != nil {
				n++
				f.Close()
			}
		}
		return n
	}
	if n := free(); n != 0 {
		t.Fatalf("%d slots free while Take holds both", n)
	}
	release()
	if n := free(); n != 2 {
		t.Fatalf("%d slots free after release, want 2", n)
	}
}

// Parallel sets -parallel unless the command line gave it.
func TestParallel(t *testing.T) {
	f := flag.Lookup("test.parallel")
	given := false
	flag.Visit(func(g *flag.Flag) { given = given || g.Name == "test.parallel" })
	before := f.Value.String()
	defer f.Value.Set(before)
	Parallel(7)
	want := "7"
	if given {
		want = before
	}
	if got := f.Value.String(); got != want {
		t.Errorf("-parallel %s after Parallel(7), want %s (given on the command line: %v)", got, want, given)
	}
}
