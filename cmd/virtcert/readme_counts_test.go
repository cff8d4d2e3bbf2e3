package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestReadmeCheckCounts: the check counts README.md states by hand (49
// for Linux guests, 35 for Windows guests, in two places) are the
// catalog's, so adding or removing a check cannot leave them stale.
func TestReadmeCheckCounts(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	count := func(guestOS string) int {
		c, err := catalogFor(guestOS)
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	linux, windows := count("linux"), count("windows")
	m := regexp.MustCompile("`virtcert checks`: (\\d+) checks for Linux guests, (\\d+) for Windows guests").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md no longer says `virtcert checks`: N checks for Linux guests, M for Windows guests")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != linux {
		t.Errorf("README.md says %d checks for Linux guests; the catalog has %d", n, linux)
	}
	if n, _ := strconv.Atoi(string(m[2])); n != windows {
		t.Errorf("README.md says %d checks for Windows guests; the catalog has %d", n, windows)
	}
	w := regexp.MustCompile("\\(`suites/windows`, (\\d+) checks\\)").FindSubmatch(b)
	if w == nil {
		t.Fatal("README.md no longer says (`suites/windows`, N checks)")
	}
	if n, _ := strconv.Atoi(string(w[1])); n != windows {
		t.Errorf("README.md says suites/windows has %d checks; the catalog has %d", n, windows)
	}
}
