package main

import (
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
)

// VerifySchema identifies `report verify --json` (reports/SCHEMA.md).
const VerifySchema = "virtcert.verify/v1"

// verifyDoc is `report verify --json`: the bundle.Report, its verdict,
// and the error when verification could not run (a malformed manifest,
// a symlink in the bundle: FAILED).
type verifyDoc struct {
	SchemaVersion string   `json:"schema_version"`
	Dir           string   `json:"dir"`
	Verdict       string   `json:"verdict"` // VERIFIED, UNVERIFIED or FAILED
	Files         int      `json:"files"`   // listed in the manifest
	Tampered      []string `json:"tampered"`
	Missing       []string `json:"missing"`
	Extra         []string `json:"extra"`
	Signature     string   `json:"signature"` // bundle.Sig*: valid, UNSIGNED, UNVERIFIED (...), INVALID, MISSING
	AllowUnsigned bool     `json:"allow_unsigned,omitempty"`
	Error         string   `json:"error,omitempty"`
}

func verifyDocOf(dir string, rep *bundle.Report, err error, allowUnsigned bool) verifyDoc {
	doc := verifyDoc{SchemaVersion: VerifySchema, Dir: reports.Line(dir), AllowUnsigned: allowUnsigned, Tampered: []string{}, Missing: []string{}, Extra: []string{}}
	if err != nil || rep == nil {
		doc.Verdict = "FAILED"
		if err != nil {
			doc.Error = oneLine(err.Error())
		}
		return doc
	}
	doc.Verdict, doc.Files, doc.Signature = rep.Verdict(), rep.Files, rep.Signature
	for _, l := range []struct {
		in  []string
		out *[]string
	}{{rep.Tampered, &doc.Tampered}, {rep.Missing, &doc.Missing}, {rep.Extra, &doc.Extra}} {
		for _, p := range l.in {
			*l.out = append(*l.out, reports.Line(p))
		}
	}
	return doc
}
