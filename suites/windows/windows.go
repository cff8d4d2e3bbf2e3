// Package windows holds the Windows guest catalog: checks that read a
// Windows guest through PowerShell (the transport runs each command with
// PowerShell; see transport.Command) and judge its JSON. Every command is
// constant text; the few harness values a command needs (the controller's
// address) are validated and passed as a script-block argument, never
// spliced into the script. The read-only evidence comes from one inventory
// script (inventory.go) that returns one JSON document; each check keeps its
// own evidence lines from it.
//
// No Windows guest can be run on the project's machines: every check is
// judged here from transcripts constructed from Microsoft's documented
// output formats (fixtures/transcripts/windows-*/SOURCES.md). None is
// captured.
package windows

import (
	"time"

	"github.com/virtcert/virtcert/suites"
)

// reg registers a Windows check: area "windows" (so `--checks windows`
// selects the catalog), OS windows only, so Linux runs skip them.
func reg(c suites.Check) {
	c.Area, c.OS = "windows", []string{"windows"}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Minute
	}
	suites.Register(c)
}
