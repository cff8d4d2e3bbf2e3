package main

import (
	"bytes"
	"strings"
	"testing"
)

// A recorded `go test -json` stream: one package passes, one has a failed
// subtest, one times out with a test still running.
const stream = `{"Action":"start","Package":"m/virtcert/virtcert/a"}
{"Action":"run","Package":"m/virtcert/virtcert/a","Test":"TestFast"}
{"Action":"output","Package":"m/virtcert/virtcert/a","Test":"TestFast","Output":"=== RUN   TestFast\n"}
{"Action":"output","Package":"m/virtcert/virtcert/a","Test":"TestFast","Output":"--- PASS: TestFast (0.50s)\n"}
{"Action":"pass","Package":"m/virtcert/virtcert/a","Test":"TestFast","Elapsed":0.5}
{"Action":"pass","Package":"m/virtcert/virtcert/a","Test":"TestSlow","Elapsed":90}
{"Action":"output","Package":"m/virtcert/virtcert/a","Output":"PASS\n"}
{"Action":"output","Package":"m/virtcert/virtcert/a","Output":"ok  \tm/virtcert/virtcert/a\t90.6s\n"}
{"Action":"pass","Package":"m/virtcert/virtcert/a","Elapsed":90.6}
{"Action":"output","Package":"m/virtcert/virtcert/b","Test":"TestX/sub","Output":"    x_test.go:9: boom\n"}
{"Action":"fail","Package":"m/virtcert/virtcert/b","Test":"TestX/sub","Elapsed":3}
{"Action":"output","Package":"m/virtcert/virtcert/b","Test":"TestX","Output":"--- FAIL: TestX (4.00s)\n"}
{"Action":"fail","Package":"m/virtcert/virtcert/b","Test":"TestX","Elapsed":4}
{"Action":"output","Package":"m/virtcert/virtcert/b","Output":"FAIL\tm/virtcert/virtcert/b\t4.1s\n"}
{"Action":"fail","Package":"m/virtcert/virtcert/b","Elapsed":4.1}
{"Action":"output","Package":"m/virtcert/virtcert/c","Test":"TestHang","Output":"    c_test.go:3: still waiting\n"}
{"Action":"output","Package":"m/virtcert/virtcert/c","Output":"panic: test timed out after 1m0s\n"}
{"Action":"fail","Package":"m/virtcert/virtcert/c","Elapsed":60}
`

func TestSummarize(t *testing.T) {
	var out bytes.Buffer
	failed, err := summarize(strings.NewReader(stream), &out, 2)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	got := out.String()
	for _, want := range []string{
		"ok  \tm/virtcert/virtcert/a\t90.6s\n",
		"x_test.go:9: boom\n--- FAIL: TestX (4.00s)\n",
		"panic: test timed out after 1m0s\n    c_test.go:3: still waiting\n",
		"slowest 2 tests (seconds):\n      90.0  a.TestSlow\n       4.0  b.TestX\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"=== RUN", "--- PASS", "PASS\n", "TestFast"} {
		if strings.Contains(got, not) {
			t.Errorf("output has %q (plain go test would not):\n%s", not, got)
		}
	}
}

func TestSummarizeAllPass(t *testing.T) {
	var out bytes.Buffer
	failed, err := summarize(strings.NewReader(`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1}`+"\nnot json\n"), &out, 10)
	if err != nil || failed || !strings.Contains(out.String(), "not json\n") || !strings.Contains(out.String(), "1.0  p.TestA") {
		t.Fatalf("failed %v err %v\n%s", failed, err, out.String())
	}
}
