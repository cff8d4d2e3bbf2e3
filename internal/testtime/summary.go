package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type timed struct {
	name    string
	seconds float64
}

type summary struct {
	w         io.Writer
	held      map[string][]string // a running test's output, printed if it fails
	pkgOut    map[string][]string // a package's own output (outside tests)
	building  map[string][]string // build output by import path
	subFailed map[string]bool     // tests with a failed subtest
	failures  []failure           // for the digest
	tests     []timed
	failed    bool
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, held: map[string][]string{}, pkgOut: map[string][]string{},
		building: map[string][]string{}, subFailed: map[string]bool{}}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.w, sc.Text()) // not test2json: pass it through
			continue
		}
		s.add(e)
	}
	return sc.Err()
}

func (s *summary) add(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.w, e.Output)
		s.building[e.ImportPath] = append(s.building[e.ImportPath], e.Output)
	case e.Action == "build-fail":
		s.failed = true
		pkg, _, _ := strings.Cut(e.ImportPath, " ") // "p [p.test]"
		s.failures = append(s.failures, failure{pkg: pkg, note: "(build failed)", lines: s.building[e.ImportPath]})
		delete(s.building, e.ImportPath)
	case e.Test == "" && e.Action == "output":
		if e.Output != "PASS\n" { // plain `go test ./...` prints only the ok line
			fmt.Fprint(s.w, e.Output) // ok/FAIL/? lines, package-level prints
			s.pkgOut[e.Package] = append(s.pkgOut[e.Package], e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		s.failed = true
		s.flush(e.Package) // tests that never ended (a timeout, a crash)
		s.failPackage(e.Package, e.Elapsed)
	case e.Test == "" && (e.Action == "pass" || e.Action == "skip"):
		delete(s.pkgOut, e.Package)
	case e.Test == "":
	case e.Action == "output":
		if !strings.HasPrefix(e.Output, "=== ") { // RUN/PAUSE/CONT/NAME: -v framing
			s.held[key] = append(s.held[key], e.Output)
		}
	case e.Action == "pass" || e.Action == "skip":
		delete(s.held, key)
		s.record(e)
	case e.Action == "fail":
		s.failed = true
		fmt.Fprint(s.w, strings.Join(s.held[key], ""))
		s.fail(e.Package, e.Test, "", e.Elapsed, s.held[key])
		delete(s.held, key)
		s.record(e)
	}
}

// flush prints the held output of pkg's tests that never ended.
func (s *summary) flush(pkg string) {
	var keys []string
	for k := range s.held {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprint(s.w, strings.Join(s.held[k], ""))
		s.fail(pkg, strings.TrimPrefix(k, pkg+" "), "(did not finish)", 0, s.held[k])
		delete(s.held, k)
	}
}

// record keeps top-level tests only: a subtest's time is in its parent's.
func (s *summary) record(e event) {
	if strings.Contains(e.Test, "/") {
		return
	}
	s.tests = append(s.tests, timed{name: shortPkg(e.Package) + "." + e.Test, seconds: e.Elapsed})
}

func (s *summary) slowest(n int) {
	if len(s.tests) == 0 || n <= 0 {
		return
	}
	sort.SliceStable(s.tests, func(i, j int) bool { return s.tests[i].seconds > s.tests[j].seconds })
	n = min(n, len(s.tests))
	fmt.Fprintf(s.w, "slowest %d tests (seconds):\n", n)
	for _, t := range s.tests[:n] {
		fmt.Fprintf(s.w, "  %8.1f  %s\n", t.seconds, t.name)
	}
}

// shortPkg drops the module path.
func shortPkg(p string) string {
	if i := strings.Index(p, "/virtcert/virtcert/"); i >= 0 {
		return p[i+len("/virtcert/virtcert/"):]
	}
	return p
}
