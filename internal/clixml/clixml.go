// Package clixml decodes the CLIXML PowerShell writes its non-output
// streams (errors, warnings, verbose, progress) in when its stderr is not
// a console, which is always the case over WinRM. The text arrives as
//
//	#< CLIXML
//	<Objs Version="1.1.0.1" xmlns="..."><S S="Error">line_x000D__x000A_</S>...</Objs>
//
// with characters outside XML's range escaped as _xHHHH_ (an underscore
// as _x005F_). Progress records (<Obj S="progress">) are dropped. The
// Hyper-V driver and the WinRM transport both decode with this package and
// each present the records their own way.
package clixml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Header starts every CLIXML document on stderr.
const Header = "#< CLIXML"

// Part is one piece of a stderr capture: either text outside any CLIXML
// document (Doc false) or one document, the text after its Header up to
// the next Header or the end (Doc true).
type Part struct {
	Text string
	Doc  bool
}

// Split cuts stderr into its plain text and its CLIXML documents, in
// order. Concatenating the parts, with Header before each document,
// gives stderr back.
func Split(stderr string) []Part {
	var parts []Part
	rest := stderr
	for {
		i := strings.Index(rest, Header)
		if i < 0 {
			return append(parts, Part{Text: rest})
		}
		parts = append(parts, Part{Text: rest[:i]})
		rest = rest[i+len(Header):]
		doc := rest
		if end := strings.Index(rest, Header); end >= 0 {
			doc, rest = rest[:end], rest[end:]
		} else {
			rest = ""
		}
		parts = append(parts, Part{Text: doc, Doc: true})
		if rest == "" {
			return parts
		}
	}
}

// Record is one top-level <S S="stream"> element, its text unescaped.
type Record struct {
	Stream string // as written, e.g. "Error", "Warning"
	Text   string
}

// Decode parses one <Objs> document (the text after its Header) into its
// stream records. A document that is not well-formed, whose root is not
// Objs, or that is incomplete is an error.
func Decode(doc string) ([]Record, error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	var recs []Record
	var text bytes.Buffer
	depth, stream, inS, sawObjs := 0, "", false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "Objs" {
					return nil, errors.New("clixml: root is not Objs")
				}
				sawObjs = true
			}
			// Only top-level <S S="stream"> carry stream text; <S> deeper
			// down are string members of serialised objects (progress
			// records), which are dropped.
			if depth == 2 && t.Name.Local == "S" {
				inS, stream = true, attr(t, "S")
				text.Reset()
			}
		case xml.EndElement:
			if depth == 2 && inS {
				inS = false
				recs = append(recs, Record{Stream: stream, Text: Unescape(text.String())})
			}
			depth--
		case xml.CharData:
			if inS && depth == 2 {
				text.Write(t)
			}
		}
	}
	if !sawObjs || depth != 0 {
		return nil, errors.New("clixml: incomplete document")
	}
	return recs, nil
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Unescape undoes PowerShell's _xHHHH_ escaping. Each escape is one UTF-16
// code unit, so a character outside the Basic Multilingual Plane arrives
// as a surrogate pair (_xD83D__xDE00_ is U+1F600) and is joined back; a
// lone surrogate becomes U+FFFD, so the result is valid UTF-8 whenever s
// is.
func Unescape(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n, ok := unit(s, i); ok {
			i += 7
			r := rune(n)
			if utf16.IsSurrogate(r) {
				if lo, ok := unit(s, i); ok {
					if p := utf16.DecodeRune(r, rune(lo)); p != '\uFFFD' {
						b.WriteRune(p)
						i += 7
						continue
					}
				}
			}
			b.WriteRune(r) // a lone surrogate is written as U+FFFD
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// unit reads the _xHHHH_ escape at s[i:], if there is one.
func unit(s string, i int) (uint64, bool) {
	if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
		n, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
		return n, err == nil
	}
	return 0, false
}
