package reports

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// CleanCopy returns a deep copy of run with Clean applied to every string:
// IDs, statuses, names, reasons, evidence, host and guest facts, map keys
// and values. Every writer (JUnit, HTML, results.json) renders such a
// copy, so no field of any output carries an escape sequence or a control
// character other than tab and newline, whatever a guest, a host or a
// hand-edited results.json put there. Terminal lines also go through Line.
func CleanCopy(run *Run) *Run {
	if run == nil {
		return nil
	}
	return cleanCopy(reflect.ValueOf(run)).Interface().(*Run)
}

func cleanCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		out.SetString(Clean(v.String()))
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(cleanCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Struct:
		if !allExported(v.Type()) {
			out.Set(v) // time.Time and the like: a value, no strings of ours
			break
		}
		for i := 0; i < v.NumField(); i++ {
			out.Field(i).Set(cleanCopy(v.Field(i)))
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := 0; i < v.Len(); i++ {
				s.Index(i).Set(cleanCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Map:
		if !v.IsNil() {
			m := reflect.MakeMapWithSize(v.Type(), v.Len())
			it := v.MapRange()
			for it.Next() {
				m.SetMapIndex(cleanCopy(it.Key()), cleanCopy(it.Value()))
			}
			out.Set(m)
		}
	default:
		out.Set(v)
	}
	return out
}

func allExported(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}

// Line makes s safe for one terminal line: Clean, then tabs, newlines and
// carriage returns become spaces.
func Line(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\r' {
			return ' '
		}
		return r
	}, Clean(s))
}

// EscapeJSONControls escapes, in JSON text, the control characters
// encoding/json leaves raw: DEL and the C1 controls (U+0080-U+009F, among
// them U+009B, a CSI to some terminals). encoding/json already escapes
// C0 controls (ESC is \u001b). Outside strings JSON holds only ASCII
// structure, so every such rune is inside a string, and a reader gets the
// exact value back: results.json keeps the evidence as it was, and holds
// no raw control character.
func EscapeJSONControls(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + 64)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}
