package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestDigestLast: a failure early in a long log is named again, with its
// failing check, after everything else (the slowest tests included), so
// the tail CI shows names it.
func TestDigestLast(t *testing.T) {
	var in strings.Builder
	in.WriteString(stream)
	for i := 0; i < 500; i++ { // a long, passing log after the failures
		fmt.Fprintf(&in, `{"Action":"output","Package":"m/virtcert/virtcert/d","Output":"ok  \tm/virtcert/virtcert/d%d\t1.0s\n"}`+"\n", i)
	}
	var out bytes.Buffer
	failed, err := summarize(strings.NewReader(in.String()), &out, 2)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	got := out.String()
	i := strings.LastIndex(got, "slowest 2 tests")
	j := strings.LastIndex(got, "=== failure digest: 3 ")
	if i < 0 || j < i {
		t.Fatalf("digest missing or not after the slowest tests:\n%s", got)
	}
	want := "=== failure digest: 3 (each with its last 40 output lines at most; the full output is above)\n" +
		"--- FAIL b.TestX/sub (m/virtcert/virtcert/b, 3.0s)\n" +
		"    x_test.go:9: boom\n" +
		"--- FAIL c.TestHang (did not finish) (m/virtcert/virtcert/c, 0.0s)\n" +
		"    c_test.go:3: still waiting\n" +
		"--- FAIL c (package) (m/virtcert/virtcert/c, 60.0s)\n" +
		"panic: test timed out after 1m0s\n" +
		"FAILED (3): b.TestX/sub, c.TestHang, c\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("output does not end with the digest\nwant suffix:\n%s\ngot tail:\n%s", want, got[j:])
	}
}

// TestDigestBounded keeps a chatty failed test's last lines only, where
// its t.Fatal is.
func TestDigestBounded(t *testing.T) {
	var in strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&in, `{"Action":"output","Package":"p","Test":"TestChatty","Output":"    log line %d\n"}`+"\n", i)
	}
	in.WriteString(`{"Action":"output","Package":"p","Test":"TestChatty","Output":"    x_test.go:5: the check failed\n"}` + "\n")
	in.WriteString(`{"Action":"fail","Package":"p","Test":"TestChatty","Elapsed":2}` + "\n")
	var out bytes.Buffer
	if failed, err := summarize(strings.NewReader(in.String()), &out, 0); err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	d := out.String()[strings.Index(out.String(), "=== failure digest"):]
	for _, want := range []string{"--- FAIL p.TestChatty (p, 2.0s)\n    [... 61 earlier lines]\n    log line 62\n",
		"    log line 100\n    x_test.go:5: the check failed\nFAILED (1): p.TestChatty\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("digest lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "log line 61\n") {
		t.Errorf("digest keeps more than %d lines:\n%s", maxDigestLines, d)
	}
}

// TestDigestBuildFailure names a package that did not build, with the
// compiler's words, once.
func TestDigestBuildFailure(t *testing.T) {
	const in = `{"ImportPath":"m/virtcert/virtcert/e [m/virtcert/virtcert/e.test]","Action":"build-output","Output":"# m/virtcert/virtcert/e\n"}
{"ImportPath":"m/virtcert/virtcert/e [m/virtcert/virtcert/e.test]","Action":"build-output","Output":"e/e.go:3:1: syntax error\n"}
{"ImportPath":"m/virtcert/virtcert/e [m/virtcert/virtcert/e.test]","Action":"build-fail"}
{"Action":"start","Package":"m/virtcert/virtcert/e"}
{"Action":"output","Package":"m/virtcert/virtcert/e","Output":"FAIL\tm/virtcert/virtcert/e [build failed]\n"}
{"Action":"fail","Package":"m/virtcert/virtcert/e","Elapsed":0,"FailedBuild":"m/virtcert/virtcert/e [m/virtcert/virtcert/e.test]"}
`
	var out bytes.Buffer
	if failed, err := summarize(strings.NewReader(in), &out, 10); err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	want := "--- FAIL e (build failed) (m/virtcert/virtcert/e, 0.0s)\n# m/virtcert/virtcert/e\ne/e.go:3:1: syntax error\nFAILED (1): e\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("want suffix:\n%s\ngot:\n%s", want, out.String())
	}
}

// TestDigestAllPass prints no digest when nothing failed.
func TestDigestAllPass(t *testing.T) {
	var out bytes.Buffer
	in := `{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1}` + "\n" +
		`{"Action":"output","Package":"p","Output":"ok  \tp\t1.0s\n"}` + "\n" + `{"Action":"pass","Package":"p","Elapsed":1}` + "\n"
	if failed, err := summarize(strings.NewReader(in), &out, 10); err != nil || failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	if strings.Contains(out.String(), "digest") || strings.Contains(out.String(), "FAILED") {
		t.Errorf("a digest without failures:\n%s", out.String())
	}
}

// TestDigestTimeoutHead: for a package that timed out, the digest keeps
// the panic and the tests still running, not the goroutine dump after.
func TestDigestTimeoutHead(t *testing.T) {
	var in strings.Builder
	for _, l := range []string{"panic: test timed out after 10m0s\n", "\trunning tests:\n", "\t\tTestSlowBoot (10m0s)\n"} {
		fmt.Fprintf(&in, `{"Action":"output","Package":"p","Output":%q}`+"\n", l)
	}
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&in, `{"Action":"output","Package":"p","Output":"goroutine %d [select]:\n"}`+"\n", i)
	}
	in.WriteString(`{"Action":"fail","Package":"p","Elapsed":600}` + "\n")
	var out bytes.Buffer
	if failed, err := summarize(strings.NewReader(in.String()), &out, 10); err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	d := out.String()[strings.Index(out.String(), "=== failure digest"):]
	for _, want := range []string{"--- FAIL p (package) (p, 600.0s)\npanic: test timed out after 10m0s\n\trunning tests:\n\t\tTestSlowBoot (10m0s)\n",
		"goroutine 36 [select]:\n    [... 163 more lines]\nFAILED (1): p\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("digest lacks %q:\n%s", want, d)
		}
	}
}
