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
// script asked for.
type List[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (l *List[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
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
