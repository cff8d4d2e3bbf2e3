package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProgressOneFormat: on a pipe (no terminal) every progress line of a
// run, the runner's events included, has the one line format
// "15:04:05 target  text"; the summary table counts n/a apart.
func TestProgressOneFormat(t *testing.T) {
	t.Parallel()
	_, out, _ := oneOffNoHost(t, nil)
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d \S+  \S`)
	var progress int
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "", strings.HasPrefix(l, "virtcert "), strings.HasPrefix(l, "helper: "),
			strings.HasPrefix(l, "VERDICT:"), strings.HasPrefix(l, "report:"), strings.HasPrefix(l, "junit:"), strings.HasPrefix(l, "bundle:"),
			strings.Contains(l, " pass ") && strings.Contains(l, " n/a "):
			continue
		}
		progress++
		if !line.MatchString(l) {
			t.Errorf("progress line not in the one format: %q\n%s", l, out)
		}
	}
	if progress == 0 {
		t.Errorf("no progress line:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\S+ +NOT CERTIFIED +pass 0  fail 0  error \d+  skip 0  n/a 0  waived 0$`).MatchString(out) {
		t.Errorf("summary table lacks the n/a column:\n%s", out)
	}
}

// TestOneOffNames: a one-off run (no plan file) names its target after
// the image and the host or driver, and the HTML card has a hypervisor
// line even when the host was never reached.
func TestOneOffNames(t *testing.T) {
	t.Parallel()
	_, stdout, _, out := oneOffNoHostIn(t, t.TempDir(), nil)
	if !regexp.MustCompile(`(?m)^libvirt/img +NOT CERTIFIED`).MatchString(stdout) {
		t.Errorf("one-off target not named img on libvirt:\n%s", stdout)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	card := regexp.MustCompile(`(?s)<h3>img <span aria-hidden="true">×</span><span class="sr">on</span> libvirt</h3>\s*<div class="sub">([^<]*)·`).FindSubmatch(html)
	if card == nil {
		t.Fatalf("no card reading img × libvirt in report.html")
	}
	if strings.TrimSpace(string(card[1])) == "" {
		t.Errorf("card's hypervisor line is empty")
	}
}
