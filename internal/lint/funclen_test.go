package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// MaxLines bounds a function in the core of a run: a phase of a target's
// life, a command, a plan rule must fit on a screen.
const MaxLines = 80

// core is where a newcomer starts reading a run.
var core = []string{"suites/runner", "plan", "resolve", "cmd/virtcert"}

func TestFunctionLength(t *testing.T) {
	for _, dir := range core {
		long, err := LongFuncs(filepath.Join("..", "..", dir), MaxLines)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range long {
			t.Errorf("%s is %d lines (at most %d): split it", l.Pos, l.Lines, MaxLines)
		}
	}
}

// The measure itself: a function of 81 lines is reported, one of 80 not.
func TestLongFuncs(t *testing.T) {
	dir := t.TempDir()
	body := func(n int) string {
		s := ""
		for range n - 2 {
			s += "\t_ = 0\n"
		}
		return s
	}
	src := "package x\n\nfunc ok() {\n" + body(80) + "}\n\nfunc long() {\n" + body(81) + "}\n"
	os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(dir, "x_test.go"), []byte("package x\n\nfunc longTest() {\n"+body(200)+"}\n"), 0o644)
	long, err := LongFuncs(dir, 80)
	if err != nil || len(long) != 1 || long[0].Name != "long" || long[0].Lines != 81 {
		t.Errorf("got %v %v", long, err)
	}
}
