package hyperv

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// PSError is a terminating PowerShell error as the scripts' prelude
// reports it: one JSON line on stderr with the ErrorCategory, the
// FullyQualifiedErrorId and the (localised) message. Without the prelude
// (a failure binding the script's own parameters, which happens before any
// statement runs), the same two fields are read from the error view's
// "+ CategoryInfo :" and "+ FullyQualifiedErrorId :" lines, whose labels
// Windows does not translate, or from CLIXML.
type PSError struct {
	Category string `json:"category"`
	ID       string `json:"id"`
	Message  string `json:"message"`
}

// Kind is the error id proper: the FullyQualifiedErrorId up to its first
// comma ("NamedParameterNotFound,Microsoft.HyperV...RestartVM" ->
// "NamedParameterNotFound").
func (e PSError) Kind() string {
	k, _, _ := strings.Cut(e.ID, ",")
	return k
}

// Source is what raised it: the FullyQualifiedErrorId after its first comma
// (a cmdlet's class, a function or script name), or "".
func (e PSError) Source() string {
	_, s, _ := strings.Cut(e.ID, ",")
	return s
}

var (
	viewID       = regexp.MustCompile(`(?m)^\s*\+ FullyQualifiedErrorId : (\S+)\s*$`)
	viewCategory = regexp.MustCompile(`(?m)^\s*\+ CategoryInfo\s+: ([A-Za-z]+):`)
)

// ParsePSError finds the error in a failed script's stderr, or reports
// false.
func ParsePSError(stderr []byte) (PSError, bool) {
	b := bytes.ReplaceAll(stderr, []byte(bom), nil)
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] != '{' {
			continue
		}
		var e PSError
		if json.Unmarshal(l, &e) == nil && e.ID != "" {
			return e, true
		}
	}
	text, msg := string(b), firstLine(string(b))
	if strings.Contains(text, clixmlHeader) {
		cx := ParseCLIXML(b)
		text, msg = strings.Join(cx.Error, ""), cx.Summary()
	}
	if m := viewID.FindStringSubmatch(text); m != nil {
		e := PSError{ID: m[1], Message: msg}
		if c := viewCategory.FindStringSubmatch(text); c != nil {
			e.Category = c[1]
		}
		return e, true
	}
	return PSError{}, false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// bom is the UTF-8 byte order mark Windows PowerShell may put before its
// output.
const bom = "\xef\xbb\xbf"

// stripBOM removes a leading byte order mark.
func stripBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte(bom)) }

// Error ids the driver acts on (FullyQualifiedErrorId, first part).
var (
	// Binding errors: the caller's values when they concern the script's
	// own parameters; the host's module when they concern a cmdlet the
	// script calls (a parameter its version lacks).
	bindingIDs = map[string]bool{
		"NamedParameterNotFound": true, "AmbiguousParameterSet": true, "ParameterArgumentValidationError": true,
		"ParameterArgumentTransformationError": true, "MissingMandatoryParameter": true, "PositionalParameterNotFound": true,
		"MissingArgument": true, "ParameterBindingFailed": true, "CannotConvertArgumentNoMessage": true, "ParameterAlreadyBound": true,
	}
	// The scripts' own ids (Stop-VcError) that are the caller's mistake.
	inputIDs = map[string]bool{"VcParentNotFound": true}
	// The scripts' own ids that are the guest's doing.
	guestIDs = map[string]bool{"VcShutdownTimeout": true, "VcRebootRefused": true, "VcNoShutdownService": true}
)

// ScriptFailure classifies a failed command's output (exported for the
// simulator's tests).
func ScriptFailure(op, script string, out Output) error { return scriptFailure(op, script, out) }
