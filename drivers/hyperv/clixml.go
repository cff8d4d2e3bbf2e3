package hyperv

import (
	"strings"

	"github.com/virtcert/virtcert/internal/clixml"
)

// PowerShell serialises its non-output streams (errors, warnings, verbose,
// progress) as CLIXML when its stderr is not a console, which is always the
// case over WinRM. The text arrives as
//
//	#< CLIXML
//	<Objs Version="1.1.0.1" xmlns="..."><S S="Error">line_x000D__x000A_</S>...</Objs>
//
// with characters outside XML's range escaped as _xHHHH_. ParseCLIXML turns
// that back into readable text per stream; the decoding itself is
// internal/clixml's, shared with the WinRM transport.

// CLIXML is what a stderr stream held, by PowerShell stream.
type CLIXML struct {
	Error, Warning, Verbose, Debug, Information []string
	// Plain is stderr text that was not CLIXML (a native program's
	// output, or a CLIXML document that did not parse).
	Plain string
}

const clixmlHeader = clixml.Header

// ParseCLIXML parses stderr. It never fails: text it cannot parse ends up
// in Plain, so no diagnostic is ever lost.
func ParseCLIXML(stderr []byte) CLIXML {
	var out CLIXML
	var plain strings.Builder
	for _, p := range clixml.Split(string(stderr)) {
		if !p.Doc {
			plain.WriteString(p.Text)
			continue
		}
		recs, err := clixml.Decode(p.Text)
		if err != nil {
			plain.WriteString(p.Text)
			continue
		}
		for _, r := range recs {
			out.add(r.Stream, r.Text)
		}
	}
	out.Plain = strings.TrimSpace(plain.String())
	return out
}

func (c *CLIXML) add(stream, s string) {
	switch strings.ToLower(stream) {
	case "error":
		c.Error = append(c.Error, s)
	case "warning":
		c.Warning = append(c.Warning, s)
	case "verbose":
		c.Verbose = append(c.Verbose, s)
	case "debug":
		c.Debug = append(c.Debug, s)
	default:
		c.Information = append(c.Information, s)
	}
}

// ErrorText is the error stream as one readable message: PowerShell
// wraps long lines at the console width and splits one error over several
// records, so records are joined, CRLFs folded, and the "+ CategoryInfo"
// and "+ FullyQualifiedErrorId" trailer lines kept apart.
func (c CLIXML) ErrorText() string {
	joined := strings.Join(c.Error, "")
	joined = strings.ReplaceAll(joined, "\r\n", "\n")
	var lines []string
	for _, l := range strings.Split(joined, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "At ") || strings.HasPrefix(l, "+ ") && !strings.HasPrefix(l, "+ CategoryInfo") && !strings.HasPrefix(l, "+ FullyQualifiedErrorId") || strings.Trim(l, "+~ ") == "" {
			continue
		}
		lines = append(lines, l)
	}
	s := strings.Join(lines, " ")
	if s == "" {
		s = c.Plain
	}
	return s
}

// Summary is ErrorText without the "+ CategoryInfo" and
// "+ FullyQualifiedErrorId" trailers: the message a person reads.
func (c CLIXML) Summary() string {
	s := c.ErrorText()
	if i := strings.Index(s, " + CategoryInfo"); i >= 0 {
		s = s[:i]
	} else if i := strings.Index(s, " + FullyQualifiedErrorId"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
