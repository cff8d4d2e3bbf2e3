// Command testtime reads `go test -json` on stdin and prints what a plain
// `go test` would (each package's ok/FAIL line, build errors, and the
// output of failed tests only), then the slowest tests with their
// seconds, so a CI log shows where the time went without -v, and last a
// digest of every failed test (package, name, its last output lines: the
// t.Error and t.Fatal lines), so the tail of a CI log names each failure
// however early in the log it happened. It exits 1
// when any test or package failed (the pipeline's own status is kept
// with `set -o pipefail`).
//
//	go test -json ./... | go run ./internal/testtime -top 10
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	top := flag.Int("top", 10, "how many of the slowest tests to list")
	flag.Parse()
	failed, err := summarize(os.Stdin, os.Stdout, *top)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testtime:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the plain output of r to w, lists the top slowest
// tests, then digests the failures; it reports whether anything failed.
func summarize(r io.Reader, w io.Writer, top int) (bool, error) {
	s := newSummary(w)
	if err := s.read(r); err != nil {
		return s.failed, err
	}
	s.slowest(top)
	s.digest()
	return s.failed, nil
}
