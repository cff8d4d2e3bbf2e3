package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites"
)

// ProbeEnv names the vcprobe helper to upload, instead of the one beside
// the binary.
const ProbeEnv = "VIRTCERT_PROBE"

// probeCandidate is where vcprobe is looked for: $VIRTCERT_PROBE, else
// beside the virtcert binary. virtcert never builds it on the fly (a run
// writes only inside its run directory): `make build` builds both.
func probeCandidate() (path, from string) {
	if p := os.Getenv(ProbeEnv); p != "" {
		return p, "$" + ProbeEnv
	}
	exe, err := os.Executable()
	if err != nil {
		return "", "beside the virtcert binary (unknown: " + err.Error() + ")"
	}
	return filepath.Join(filepath.Dir(exe), "vcprobe"), "beside the virtcert binary"
}

// findProbe states at the start of the run which helper it uploads, or
// that there is none and which of the run's selected checks will SKIP
// for that. It returns the helper's path, "" when there is none.
func findProbe(w io.Writer, rr *resolve.Run) string {
	path, from := probeCandidate()
	st, err := os.Stat(path)
	if path != "" && err == nil && st.Mode().IsRegular() {
		fmt.Fprintf(w, "helper: vcprobe %s\n", path)
		return path
	}
	why := "not found"
	if err == nil {
		why = "not a regular file"
	}
	fmt.Fprintf(w, "helper: vcprobe %s (%s %s; build it with `make build`, or set $%s)\n", why, from, path, ProbeEnv)
	if ids := helperChecks(rr); len(ids) > 0 {
		fmt.Fprintf(w, "helper: these selected checks will SKIP without it: %s\n", strings.Join(ids, ", "))
	} else {
		fmt.Fprintln(w, "helper: no selected check needs it")
	}
	return ""
}

// helperChecks are the checks that will run, over every target, that
// need the helper, each once (not those N/A for the target's OS or
// hypervisor: they are N/A, helper or not).
func helperChecks(rr *resolve.Run) []string {
	var ids []string
	for _, t := range rr.Targets {
		for _, id := range suites.HelperChecks(t.Selected) {
			if slices.Contains(t.Checks, id) && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}
