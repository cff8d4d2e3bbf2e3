package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/reports"
)

// VersionSchema identifies `virtcert version --json` (reports/SCHEMA.md).
const VersionSchema = "virtcert.version/v1"

// versionDoc is `virtcert version --json`.
type versionDoc struct {
	SchemaVersion string `json:"schema_version"`
	reports.Build
}

func newVersion() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision, dirty flag and Go toolchain (also: virtcert --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := buildinfo.Get()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), versionDoc{SchemaVersion: VersionSchema, Build: b})
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText(b))
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output ("+VersionSchema+")")
	return c
}

// versionText is what `virtcert version` and `virtcert --version` print.
func versionText(b reports.Build) string {
	var s strings.Builder
	fmt.Fprintf(&s, "virtcert %s\n", b.Version)
	rev := b.Revision
	if rev == "" {
		rev = "unknown (the build recorded none: use make build, which stamps it)"
	}
	fmt.Fprintf(&s, "revision: %s\n", rev)
	fmt.Fprintf(&s, "dirty:    %t\n", b.Dirty)
	fmt.Fprintf(&s, "go:       %s %s\n", b.Go, b.Platform)
	return s.String()
}
