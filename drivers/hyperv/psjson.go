package hyperv

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodePSJSON decodes the JSON document a script printed. Windows
// PowerShell may put a UTF-8 BOM or stray lines (a module's warning
// written to stdout by a native tool) before it, so the last line that
// starts with '{' or '[' is taken as the document.
func DecodePSJSON(stdout []byte, v any) error {
	b := bytes.TrimPrefix(stdout, []byte("\xef\xbb\xbf"))
	lines := bytes.Split(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimSpace(bytes.TrimPrefix(lines[i], []byte("\xef\xbb\xbf")))
		if len(l) == 0 {
			continue
		}
		if l[0] != '{' && l[0] != '[' {
			continue
		}
		if err := json.Unmarshal(l, v); err != nil {
			return fmt.Errorf("script output is not the expected JSON: %w", err)
		}
		return nil
	}
	return fmt.Errorf("script printed no JSON (stdout %d bytes)", len(stdout))
}

// List is a JSON list that also accepts a single object or null: Windows
// PowerShell 5.1 unrolls one-element arrays in some pipelines, whatever the
// script asked for. It also accepts the {"value":[...],"Count":n} wrapper
// that 5.1's ConvertTo-Json writes for an array carrying the ETS members
// PowerShell adds (an array from Write-Output -NoEnumerate or a
// deserialised one): the items are "value", and a Count that disagrees
// with them is an error, never a silently wrong list.
type List[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (l *List[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if w, ok := etsArray(b); ok {
		var xs []T
		if err := json.Unmarshal(w.Value, &xs); err != nil {
			return fmt.Errorf("PowerShell array wrapper: %w", err)
		}
		if len(xs) != w.Count {
			return fmt.Errorf("PowerShell array wrapper says Count %d but holds %d items", w.Count, len(xs))
		}
		*l = xs
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var xs []T
		if err := json.Unmarshal(b, &xs); err != nil {
			return err
		}
		*l = xs
		return nil
	}
	var x T
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*l = List[T]{x}
	return nil
}

type etsWrapper struct {
	Value json.RawMessage
	Count int
}

// etsArray recognises {"value":[...],"Count":n}: an object with exactly
// those two members, value an array.
func etsArray(b []byte) (etsWrapper, bool) {
	if len(b) == 0 || b[0] != '{' {
		return etsWrapper{}, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || len(m) != 2 {
		return etsWrapper{}, false
	}
	v, okV := m["value"]
	c, okC := m["Count"]
	if !okV || !okC {
		return etsWrapper{}, false
	}
	var w etsWrapper
	w.Value = v
	if vb := bytes.TrimSpace(v); len(vb) == 0 || vb[0] != '[' || json.Unmarshal(c, &w.Count) != nil {
		return etsWrapper{}, false
	}
	return w, true
}
