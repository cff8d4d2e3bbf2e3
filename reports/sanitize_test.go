package reports

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                      "plain",
		"\x1b[31mred\x1b[0m":         "red",
		"\x1b[1;32;40mbold\x1b[K":    "bold",
		"\x1b]0;title\x07after":      "after",
		"\x1b]8;;http://x\x1b\\link": "link",
		"a\r\nb\rc":                  "a\nb\nc",
		"tab\tnl\n":                  "tab\tnl\n",
		"bell\x07nul\x00del\x7f":     "bellnuldel",
		"bad\xffutf8":                "bad\uFFFDutf8",
		"c1\u0085\u009b31mx":         "c1x",
		"<script>alert(1)</script>":  "<script>alert(1)</script>",
		"ünïcødé ✓":                  "ünïcødé ✓",
		"\x1bcreset":                 "reset",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzClean: the output is always valid XML character data.
func FuzzClean(f *testing.F) {
	f.Add("\x1b[31mx\x00\xff\r")
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s)
		var b strings.Builder
		if err := xml.EscapeText(&b, []byte(c)); err != nil {
			t.Fatal(err)
		}
		var v struct {
			S string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte("<a>"+b.String()+"</a>"), &v); err != nil {
			t.Fatalf("Clean(%q) = %q is not valid XML text: %v", s, c, err)
		}
		if strings.ContainsRune(c, 0x1b) {
			t.Fatalf("ESC survived in %q", c)
		}
	})
}

func TestVerdicts(t *testing.T) {
	done := time.Unix(1, 0)
	pass := &Result{Status: Pass}
	tgt := func(err string, fin time.Time, rs ...*Result) *Target {
		return &Target{Error: err, Finished: fin, Results: rs}
	}
	cases := []struct {
		t        *Target
		complete bool
		want     Verdict
	}{
		{tgt("", done, pass, &Result{Status: Skip}, &Result{Status: Waived}), true, Certified},
		{tgt("", done, pass, &Result{Status: Fail}), true, NotCertified},
		{tgt("", done, &Result{Status: Error}), true, NotCertified},
		{tgt("boom", done), true, NotCertified},
		{tgt("", time.Time{}, pass), true, Incomplete},
		{tgt("", done, pass), false, Incomplete},
		// Nothing tested is not certified (issue 15): every check SKIPped
		// or waived, or none selected at all.
		{tgt("", done, &Result{Status: Skip}), true, NotCertified},
		{tgt("", done, &Result{Status: Skip}, &Result{Status: Waived}), true, NotCertified},
		{tgt("", done), true, NotCertified},
	}
	for i, c := range cases {
		if got := c.t.Verdict(c.complete); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
	if nt := tgt("", done, &Result{Status: Skip}); !nt.NothingTested(true) || !strings.HasPrefix(nt.Why(true), "nothing tested") {
		t.Errorf("all-SKIP target: NothingTested %v, Why %q", nt.NothingTested(true), nt.Why(true))
	}
	if (&Run{}).Verdict() != Incomplete {
		t.Error("empty run")
	}
}
