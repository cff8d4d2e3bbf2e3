package main

import (
	"os"
	osexec "os/exec"
	"sync"
	"testing"
)

// runIn runs the real binary (realBinary) with args and env added, from dir.
func runIn(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
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
