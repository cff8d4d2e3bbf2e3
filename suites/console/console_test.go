package console

import (
	"strings"
	"testing"
	"time"

	"github.com/virtcert/virtcert/suites/parse"
)

func TestJudge(t *testing.T) {
	al, err := parse.ParseAllowList([]byte("allow:\n  - pattern: 'dev fd0'\n    reason: floppy\n    expires: 2026-06-30\n"), "allow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := "[ 3.4] I/O error, dev fd0, sector 0\n[ 5.0] ok\n"
	before := Judge(parse.ScanConsole(text, al, time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)), 2, "allow.yaml")
	if before.Failed() || !strings.Contains(before.Items[0].Actual, "allowed until 2026-06-30") {
		t.Fatalf("%s", before)
	}
	after := Judge(parse.ScanConsole(text, al, time.Date(2026, 7, 1, 0, 0, 1, 0, time.UTC)), 2, "allow.yaml")
	if !after.Failed() || !strings.Contains(after.Items[0].Actual, "expired on 2026-06-30 and no longer hides it") {
		t.Fatalf("%s", after)
	}
	if v := Judge(nil, 100, "no allow-list"); v.Failed() || len(v.Items) != 1 {
		t.Fatalf("clean console: %s", v)
	}
}
