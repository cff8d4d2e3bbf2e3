package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/virtcert/virtcert/reports"
)

// writeJSON writes one --json document: indented, one trailing newline,
// control characters that came from a guest or a file escaped
// (reports.EscapeJSONControls), as results.json is. Every document carries
// "schema_version" (reports/SCHEMA.md, "JSON output of the commands").
func writeJSON(w io.Writer, doc any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one trailing newline
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "->" stays readable; this is not HTML
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(reports.EscapeJSONControls(buf.Bytes()))
	return err
}
