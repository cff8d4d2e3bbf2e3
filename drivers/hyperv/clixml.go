package hyperv

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// PowerShell serialises its non-output streams (errors, warnings, verbose,
// progress) as CLIXML when its stderr is not a console, which is always the
// case over WinRM. The text arrives as
//
//	#< CLIXML
//	<Objs Version="1.1.0.1" xmlns="..."><S S="Error">line_x000D__x000A_</S>...</Objs>
//
// with characters outside XML's range escaped as _xHHHH_. ParseCLIXML turns
// that back into readable text per stream.

// CLIXML is what a stderr stream held, by PowerShell stream.
type CLIXML struct {
	Error, Warning, Verbose, Debug, Information []string
	// Plain is stderr text that was not CLIXML (a native program's
	// output, or a CLIXML document that did not parse).
	Plain string
}

const clixmlHeader = "#< CLIXML"

// ParseCLIXML parses stderr. It never fails: text it cannot parse ends up
// in Plain, so no diagnostic is ever lost.
func ParseCLIXML(stderr []byte) CLIXML {
	var out CLIXML
	var plain strings.Builder
	rest := string(stderr)
	for {
		i := strings.Index(rest, clixmlHeader)
		if i < 0 {
			plain.WriteString(rest)
			break
		}
		plain.WriteString(rest[:i])
		rest = rest[i+len(clixmlHeader):]
		end := strings.Index(rest, clixmlHeader)
		doc := rest
		if end >= 0 {
			doc, rest = rest[:end], rest[end:]
		} else {
			rest = ""
		}
		if err := out.parseDoc(doc); err != nil {
			plain.WriteString(doc)
		}
	}
	out.Plain = strings.TrimSpace(plain.String())
	return out
}

func (c *CLIXML) parseDoc(doc string) error {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	depth := 0
	var sawObjs bool
	var stream string
	var text bytes.Buffer
	inS := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "Objs" {
					return errors.New("clixml: root is not Objs")
				}
				sawObjs = true
			}
			// Only top-level <S S="stream"> carry stream text; <S> deeper
			// down are string members of serialised objects (progress
			// records), which we drop.
			if depth == 2 && t.Name.Local == "S" {
				inS = true
				stream = ""
				text.Reset()
				for _, a := range t.Attr {
					if a.Name.Local == "S" {
						stream = a.Value
					}
				}
			}
		case xml.EndElement:
			if depth == 2 && inS {
				inS = false
				c.add(stream, decodeCLIXMLString(text.String()))
			}
			depth--
		case xml.CharData:
			if inS && depth == 2 {
				text.Write(t)
			}
		}
	}
	if !sawObjs || depth != 0 {
		return errors.New("clixml: incomplete document")
	}
	return nil
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

// decodeCLIXMLString undoes PowerShell's _xHHHH_ escaping (an escaped
// underscore is _x005F_).
func decodeCLIXMLString(s string) string {
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
