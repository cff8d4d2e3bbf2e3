package reports

import (
	"fmt"
	"strings"
)

// Build identifies the virtcert that produced a run (internal/buildinfo
// reads it from the binary): recorded in results.json, the HTML footer and
// the JUnit properties.
type Build struct {
	Version  string `json:"version"`            // v1.2.3, a Go pseudo-version, or "dev"
	Revision string `json:"revision,omitempty"` // full VCS revision; empty when the build recorded none
	Dirty    bool   `json:"dirty"`              // built from a modified tree
	Go       string `json:"go,omitempty"`       // toolchain, e.g. go1.26.8
	Platform string `json:"platform,omitempty"` // GOOS/GOARCH
}

// String is one line: "v1.2.3 (1ae67bc810f9, dirty, go1.26.8 linux/amd64)";
// "revision unknown" when none was recorded.
func (b *Build) String() string {
	if b == nil {
		return ""
	}
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		rev = "revision unknown"
	}
	parts := []string{rev}
	if b.Dirty {
		parts = append(parts, "dirty")
	}
	if tc := strings.TrimSpace(b.Go + " " + b.Platform); tc != "" {
		parts = append(parts, tc)
	}
	return fmt.Sprintf("%s (%s)", b.Version, strings.Join(parts, ", "))
}
