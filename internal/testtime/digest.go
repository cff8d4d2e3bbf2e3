package main

import (
	"fmt"
	"sort"
	"strings"
)

// maxDigestLines bounds the output kept per failed test in the digest:
// its last lines, where t.Error and t.Fatal print the failing check (a
// package's first lines: a timeout's panic and the tests still running,
// before every goroutine's stack).
const maxDigestLines = 40

// failure is one entry of the digest: a failed test (or a package that
// failed outside any test: a build error, a timeout, a crash in TestMain).
type failure struct {
	pkg, test string
	note      string // "(did not finish)", "(build failed)"...
	seconds   float64
	lines     []string
	head      bool // keep the first lines (a package's panic, then its goroutines), not the last
}

func (f failure) name() string {
	if f.test == "" {
		return shortPkg(f.pkg)
	}
	return shortPkg(f.pkg) + "." + f.test
}

// fail records a failed test with its held output. A parent test that
// failed only because a subtest did (its own output is just the
// "--- FAIL" framing) is left out: the subtest's entry names the check.
func (s *summary) fail(pkg, test, note string, seconds float64, out []string) {
	framing := true
	for _, l := range out {
		if !strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: ") {
			framing = false
		}
	}
	if framing && s.subFailed[pkg+" "+test] {
		return
	}
	if i := strings.LastIndex(test, "/"); i >= 0 {
		s.subFailed[pkg+" "+test[:i]] = true
	}
	s.failures = append(s.failures, failure{pkg: pkg, test: test, note: note, seconds: seconds, lines: out})
}

// failPackage records a package that failed: its own output (a panic, a
// timeout, TestMain's words), unless that output is only go test's FAIL
// lines and a test of it is already in the digest.
func (s *summary) failPackage(pkg string, seconds float64) {
	var out []string
	for _, l := range s.pkgOut[pkg] {
		if l != "FAIL\n" && !strings.HasPrefix(l, "FAIL\t") {
			out = append(out, l)
		}
	}
	delete(s.pkgOut, pkg)
	if len(out) == 0 {
		for _, f := range s.failures {
			if f.pkg == pkg {
				return
			}
		}
	}
	s.failures = append(s.failures, failure{pkg: pkg, note: "(package)", seconds: seconds, lines: out, head: true})
}

// digest prints every failure, last in the log, so that a CI log's tail
// names each failed test and its failing check however early it failed.
func (s *summary) digest() {
	if len(s.failures) == 0 {
		return
	}
	sort.SliceStable(s.failures, func(i, j int) bool { return s.failures[i].pkg < s.failures[j].pkg })
	fmt.Fprintf(s.w, "\n=== failure digest: %d (each with its last %d output lines at most; the full output is above)\n",
		len(s.failures), maxDigestLines)
	var names []string
	for _, f := range s.failures {
		fmt.Fprintf(s.w, "--- FAIL %s %s(%s, %.1fs)\n", f.name(), noteSp(f.note), f.pkg, f.seconds)
		lines, n := f.lines, len(f.lines)-maxDigestLines
		switch {
		case n > 0 && f.head:
			lines = lines[:maxDigestLines]
		case n > 0:
			fmt.Fprintf(s.w, "    [... %d earlier lines]\n", n)
			lines = lines[n:]
		}
		for _, l := range lines {
			fmt.Fprint(s.w, l)
			if !strings.HasSuffix(l, "\n") {
				fmt.Fprintln(s.w)
			}
		}
		if n > 0 && f.head {
			fmt.Fprintf(s.w, "    [... %d more lines]\n", n)
		}
		names = append(names, f.name())
	}
	fmt.Fprintf(s.w, "FAILED (%d): %s\n", len(names), strings.Join(names, ", "))
}

func noteSp(n string) string {
	if n == "" {
		return ""
	}
	return n + " "
}
