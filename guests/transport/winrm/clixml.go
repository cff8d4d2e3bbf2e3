package winrm

import (
	"strings"

	"github.com/virtcert/virtcert/internal/clixml"
)

// PowerShell writes its non-output streams (errors, warnings, verbose,
// progress) to a redirected stderr as CLIXML, which is always the case
// over WinRM:
//
//	#< CLIXML
//	<Objs Version="1.1.0.1" xmlns="..."><S S="Error">line_x000D__x000A_</S>...</Objs>
//
// Characters outside XML's range are escaped as _xHHHH_ (an underscore
// as _x005F_). Progress records (<Obj S="progress">) are noise and are
// dropped. DecodeStderr turns that back into the plain text a console
// would have shown.

const clixmlHeader = clixml.Header

// DecodeStderr returns stderr as plain text: every CLIXML document is
// replaced by its Error, Warning, Verbose, Debug and Information records
// (warnings prefixed "WARNING: " as the console prints them); text that
// is not CLIXML, or a document that does not parse, is kept as it came,
// so no diagnostic is lost. The decoding is internal/clixml's, shared
// with the Hyper-V driver.
func DecodeStderr(stderr []byte) []byte {
	s := string(stderr)
	if !strings.Contains(s, clixmlHeader) {
		return stderr
	}
	var out strings.Builder
	for _, p := range clixml.Split(s) {
		if !p.Doc {
			out.WriteString(p.Text)
			continue
		}
		text, err := decodeDoc(p.Text)
		if err != nil {
			out.WriteString(clixmlHeader + p.Text)
			continue
		}
		out.WriteString(text)
	}
	return []byte(out.String())
}

// decodeDoc decodes one <Objs> document (after the header line) into the
// text the console would have printed.
func decodeDoc(doc string) (string, error) {
	recs, err := clixml.Decode(doc)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, r := range recs {
		out.WriteString(streamPrefix(r.Stream) + r.Text)
	}
	return out.String(), nil
}

// streamPrefix is what the console prints before a record of stream.
func streamPrefix(stream string) string {
	switch strings.ToLower(stream) {
	case "warning":
		return "WARNING: "
	case "verbose":
		return "VERBOSE: "
	case "debug":
		return "DEBUG: "
	}
	return ""
}
