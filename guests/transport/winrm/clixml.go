package winrm

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
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

const clixmlHeader = "#< CLIXML"

// DecodeStderr returns stderr as plain text: every CLIXML document is
// replaced by its Error, Warning, Verbose, Debug and Information records
// (warnings prefixed "WARNING: " as the console prints them); text that
// is not CLIXML, or a document that does not parse, is kept as it came,
// so no diagnostic is lost.
func DecodeStderr(stderr []byte) []byte {
	s := string(stderr)
	if !strings.Contains(s, clixmlHeader) {
		return stderr
	}
	var out strings.Builder
	for {
		i := strings.Index(s, clixmlHeader)
		if i < 0 {
			out.WriteString(s)
			break
		}
		out.WriteString(s[:i])
		s = s[i+len(clixmlHeader):]
		doc := s
		if j := strings.Index(s, clixmlHeader); j >= 0 {
			doc, s = s[:j], s[j:]
		} else {
			s = ""
		}
		text, err := decodeDoc(doc)
		if err != nil {
			out.WriteString(clixmlHeader + doc)
			continue
		}
		out.WriteString(text)
	}
	return []byte(out.String())
}

// decodeDoc decodes one <Objs> document (after the header line).
func decodeDoc(doc string) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	var out, text strings.Builder
	depth, stream, inS, sawObjs := 0, "", false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && t.Name.Local != "Objs" {
				return "", errors.New("clixml: root is not Objs")
			}
			sawObjs = sawObjs || depth == 1
			// Only top-level <S S="stream"> carry stream text; deeper
			// <S> are members of serialised objects (progress).
			if depth == 2 && t.Name.Local == "S" {
				inS, stream = true, attr(t, "S")
				text.Reset()
			}
		case xml.EndElement:
			if depth == 2 && inS {
				inS = false
				out.WriteString(streamPrefix(stream) + unescape(text.String()))
			}
			depth--
		case xml.CharData:
			if inS && depth == 2 {
				text.Write(t)
			}
		}
	}
	if !sawObjs || depth != 0 {
		return "", errors.New("clixml: incomplete document")
	}
	return out.String(), nil
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
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

// unescape undoes PowerShell's _xHHHH_ escaping.
func unescape(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
