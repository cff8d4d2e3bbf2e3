package main

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The real binary, built once per test binary for tests that must run
// virtcert as a user does (shell completion, progress on a pipe, the
// helper's presence): bin/virtcert and, when withProbe, bin/vcprobe
// beside it.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func realBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "virtcert-cmd-bin-")
		if binErr != nil {
			return
		}
		out, err := osexec.Command("go", "build", "-o", filepath.Join(binDir, "virtcert"), ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("building virtcert: %v", binErr)
	}
	return filepath.Join(binDir, "virtcert")
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

// runBinary runs the real binary with args and env added, from dir.
func runBinary(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := osexec.Command(realBinary(t), args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var o, e lockedBuf
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	if ee, ok := err.(*osexec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatalf("running virtcert: %v", err)
	}
	return 0, o.String(), e.String()
}

type lockedBuf struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return string(l.b) }
