package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Error is a plan problem: where it is and what is wrong. Its text is
// "FILE:LINE: FIELD: MESSAGE" for plan files and "--flag: MESSAGE" for
// one-off runs. It never contains secret values.
type Error struct {
	File    string `json:"file,omitempty"`  // plan file as given; "" for flags
	Line    int    `json:"line,omitempty"`  // 0 when unknown
	Field   string `json:"field,omitempty"` // dotted path, e.g. "images.tiny.memory_mb", or a flag name
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return escapeControls(b.String())
}

// escapeControls keeps an error on one printable line: a key or value
// quoted from the plan may carry newlines, carriage returns or escape
// sequences, and a message cut at its first line or an ESC reaching the
// terminal would hide what is wrong. Each control character is written as
// a Go escape (\n, \r, \x1b).
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		clean = clean && !unicode.IsControl(r)
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Errors is every problem found in a plan, in file order. Its Error text is
// every problem, one a line (the CLI prints each on its own line).
type Errors []*Error

func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Load reads, strictly decodes and validates the plan at path. Relative
// paths in the plan are resolved against the plan file's directory; uri
// fields get the expansion described in ResolveURI. Every error is an
// Errors value (bad input: exit 2).
func Load(path string, k Knowledge) (*Plan, error) {
	b, err := readPlanFile(path)
	if err != nil {
		return nil, Errors{{File: path, Message: err.Error()}}
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, Errors{{File: path, Message: err.Error()}}
	}
	return Parse(b, path, dir, k)
}

// Parse decodes and validates plan text. file names it in errors; baseDir
// resolves relative paths ("" = the current directory).
func Parse(b []byte, file, baseDir string, k Knowledge) (*Plan, error) {
	sum := sha256.Sum256(b)
	p, lines, decErrs, err := decode(b, file)
	if err != nil {
		return nil, err
	}
	p.Path = file
	p.SHA256 = hex.EncodeToString(sum[:])
	v := &validator{file: file, lines: lines, base: baseDir, present: lines, know: k}
	v.validate(p)
	// Every problem at once: the decoder's (unknown fields, wrong types)
	// and the validator's, less the validator's on a field the decoder
	// already refused (a wrong-typed memory_mb is not also "must be > 0").
	errs := decErrs
	for _, e := range v.errs {
		if !slices.ContainsFunc(decErrs, func(d *Error) bool { return sameField(d.Field, e.Field) }) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return lineKey(errs[i]) < lineKey(errs[j]) })
		return nil, errs
	}
	return p, nil
}

var (
	lineRE    = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownRE = regexp.MustCompile(`(?s)^field (.+) not found in type (\S+)$`)
	cannotRE  = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
)

// decode parses b into a node tree (for line numbers and the secrets
// scan), then decodes it strictly. yaml.v3 reports unknown keys and type
// errors with a line only, so the line is mapped back to the field path
// through the node tree. Unknown keys and wrong types are returned in
// fieldErrs, every one of them, with the plan decoded as far as it could
// be (to validate the rest); err is a plan that cannot be read at all.
func decode(b []byte, file string) (p *Plan, lines map[string]int, fieldErrs Errors, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, nil, nil, Errors{yamlErr(file, nil, nil, err.Error())}
	}
	if len(root.Content) == 0 {
		return nil, nil, nil, Errors{{File: file, Message: "plan is empty"}}
	}
	lines = map[string]int{}   // field path -> line
	byLine := map[int]string{} // line -> deepest field path on it
	var secrets Errors
	walk(root.Content[0], "", lines, byLine, file, &secrets)
	if len(secrets) > 0 {
		return nil, nil, nil, secrets
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return nil, nil, nil, Errors{{File: file, Line: root.Content[0].Line, Message: "plan must be a mapping (name:, hosts:, images:, ...)"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	p = &Plan{}
	if err := dec.Decode(p); err != nil {
		te, ok := errors.AsType[*yaml.TypeError](err)
		if !ok {
			return nil, nil, nil, Errors{yamlErr(file, lines, byLine, err.Error())}
		}
		for _, m := range te.Errors {
			fieldErrs = append(fieldErrs, yamlErr(file, lines, byLine, m))
		}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, nil, Errors{{File: file, Line: extra.Line, Message: "a plan file holds one YAML document"}}
	}
	return p, lines, fieldErrs, nil
}

// yamlErr turns one of yaml.v3's messages into an Error with its line and
// field; an unknown key gets the nearest known one as a suggestion.
func yamlErr(file string, lines map[string]int, byLine map[int]string, msg string) *Error {
	e := &Error{File: file, Message: strings.TrimPrefix(msg, "yaml: ")}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = m[2]
		e.Field = byLine[e.Line]
	}
	if m := unknownRE.FindStringSubmatch(e.Message); m != nil {
		e.Message = fmt.Sprintf("unknown field %q", m[1]) + Suggest(m[1], fieldNames(m[2]))
		e.Field = keyAt(lines, e.Line, m[1])
	} else if m := cannotRE.FindStringSubmatch(e.Message); m != nil {
		e.Message = fmt.Sprintf("wrong type: want %s, got %s %q", goTypeName(m[3]), m[1], m[2])
	}
	return e
}

// sameField: a and b name one field, or one lies inside the other
// ("parallel" and "parallel[0]").
func sameField(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	inside := func(x, y string) bool { return strings.HasPrefix(x, y+".") || strings.HasPrefix(x, y+"[") }
	return a == b || inside(a, b) || inside(b, a)
}

// keyAt is the path of the key name written on line (several keys may
// share a line in a flow mapping: {path: x, memroy_mb: 1}); "" if none.
func keyAt(lines map[string]int, line int, name string) string {
	found := ""
	for p, l := range lines {
		if l == line && (p == name || strings.HasSuffix(p, "."+name)) && (found == "" || p < found) {
			found = p
		}
	}
	return found
}

func goTypeName(t string) string {
	switch {
	case t == "int":
		return "an integer"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "plan."):
		return "a mapping"
	}
	return t
}

// secretKeys are keys that would put a secret into the plan text. The plan
// has no such fields; naming them gets a pointed message instead of a
// generic "unknown field".
var secretKeys = map[string]string{
	"password": "password_env or password_file", "passwd": "password_env or password_file",
	"secret": "an _env or _file field", "token": "an _env or _file field",
	"private_key": "key_file", "api_key": "an _env or _file field",
}

// walk records the path and line of every key, and rejects secrets in the
// plan text (secret-named keys, PEM private keys in any value) without
// ever repeating the secret value.
func walk(n *yaml.Node, path string, lines map[string]int, byLine map[int]string, file string, errs *Errors) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			byLine[k.Line] = p
			if v.Line != k.Line {
				byLine[v.Line] = p
			}
			if msg := checkScalar("key", k.Value); msg != "" {
				*errs = append(*errs, &Error{File: file, Line: k.Line, Field: path, Message: "a key: " + msg})
				continue
			}
			if alt, bad := secretKeys[strings.ToLower(k.Value)]; bad {
				*errs = append(*errs, &Error{File: file, Line: k.Line, Field: p,
					Message: "secrets are not allowed in the plan text; use " + alt})
				continue
			}
			walk(v, p, lines, byLine, file, errs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			if _, ok := byLine[c.Line]; !ok || c.Kind == yaml.ScalarNode {
				byLine[c.Line] = p
			}
			walk(c, p, lines, byLine, file, errs)
		}
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "PRIVATE KEY-----") {
			*errs = append(*errs, &Error{File: file, Line: n.Line, Field: path,
				Message: "a private key is pasted into the plan; put it in a file and name it with key_file"})
		} else if msg := checkScalar(path, n.Value); msg != "" {
			*errs = append(*errs, &Error{File: file, Line: n.Line, Field: path, Message: msg})
		}
	case yaml.DocumentNode, yaml.AliasNode:
		for _, c := range n.Content {
			walk(c, path, lines, byLine, file, errs)
		}
	}
}

// UnmarshalYAML reads "90s", "5m", "1h30m" (or a bare number of seconds).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: not a duration (write 90s, 5m, 1h)", n.Line)}}
	}
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: not a duration %q (write 90s, 5m, 1h)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as "1m30s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// lineKey orders errors by line, those without a line last.
func lineKey(e *Error) int {
	if e.Line <= 0 {
		return int(^uint(0) >> 1)
	}
	return e.Line
}

// MarshalText writes the duration as "2m0s" (JSON of a resolved run).
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
