//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/guests/probe"
)

func runJSON(t *testing.T, v any, args ...string) int {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	if code != 2 && v != nil {
		if err := json.Unmarshal(out.Bytes(), v); err != nil {
			t.Fatalf("%v: not JSON: %q (stderr %q)", args, out.String(), errb.String())
		}
	}
	return code
}

func TestUsage(t *testing.T) {
	for _, a := range [][]string{nil, {"nope"}, {"disk", "-size", "x"}, {"integrity"}, {"integrity", "-path", "/x", "-phase", "verify"}, {"tcp-client"}} {
		if code := runJSON(t, nil, a...); code != 2 {
			t.Errorf("%v: exit %d, want 2", a, code)
		}
	}
}

func TestClockOverPipes(t *testing.T) {
	in := strings.NewReader("a\nb\nc\n")
	var out bytes.Buffer
	if code := run([]string{"clock"}, in, &out, io.Discard); code != 0 {
		t.Fatal(code)
	}
	sc := bufio.NewScanner(&out)
	n := 0
	for sc.Scan() {
		var r probe.ClockReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Seq != n || r.RealNS == 0 || r.MonoNS == 0 {
			t.Fatalf("line %d: %q %v", n, sc.Text(), err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d replies for 3 requests", n)
	}
}

func TestMonoDiskIntegrity(t *testing.T) {
	var m probe.MonoResult
	if runJSON(t, &m, "mono", "-duration", "50ms") != 0 || m.Iterations == 0 || m.Decreases != 0 {
		t.Fatalf("mono %+v", m)
	}
	p := filepath.Join(t.TempDir(), "f")
	var d probe.DiskResult
	if runJSON(t, &d, "disk", "-path", p, "-size", "4M", "-mode", "seqwrite", "-bs", "64K", "-duration", "100ms") != 0 || d.Ops == 0 {
		t.Fatalf("disk %+v", d)
	}
	var ir probe.IntegrityResult
	if runJSON(t, &ir, "integrity", "-path", p, "-size", "2M") != 0 || !ir.OK() {
		t.Fatalf("integrity %+v", ir)
	}
	if runJSON(t, &d, "disk", "-path", "/nonexistent/dir/f", "-size", "4M", "-bs", "4K", "-duration", "10ms") != 1 || d.Error == "" && d.Ops != 0 {
		t.Fatalf("bad path: %+v", d)
	}
}

func TestTCPClientServer(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan probe.TCPResult, 1)
	go func() {
		var r probe.TCPResult
		runJSON(t, &r, "tcp-server", "-listen", addr, "-duration", "5s")
		done <- r
	}()
	var c probe.TCPResult
	for i := 0; i < 50; i++ { // wait for the listener
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
	}
	if code := runJSON(t, &c, "tcp-client", "-connect", addr, "-duration", "200ms", "-streams", "2"); code != 0 {
		t.Fatalf("client exit %d %+v", code, c)
	}
	s := <-done
	if c.Bytes == 0 || c.Bytes != s.Bytes || s.Streams != 2 {
		t.Fatalf("client %+v server %+v", c, s)
	}
}
