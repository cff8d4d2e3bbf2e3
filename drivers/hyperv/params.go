package hyperv

import (
	"fmt"
	"strconv"
	"strings"
)

// Param describes one parameter of a script's param() block. The scripts
// keep one parameter per line so that this small reader (used by the
// simulated host to bind and validate arguments like PowerShell does, and
// by the tests) stays simple; the tree-sitter syntax check covers the
// grammar as a whole.
type Param struct {
	Name       string
	Type       string // string, int, switch
	Mandatory  bool
	Set        []string // ValidateSet
	Range      *[2]int64
	Pattern    string // ValidatePattern (.NET regex, case-insensitive)
	NotEmpty   bool   // ValidateNotNullOrEmpty
	Default    string
	HasDefault bool
}

// ParseParamBlock reads the param() block at the top of a script (after
// comments). A script without one has no parameters.
func ParseParamBlock(script string) ([]Param, error) {
	lines := strings.Split(strings.ReplaceAll(script, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(strings.TrimSpace(lines[i]), "#")) {
		i++
	}
	if i == len(lines) || !strings.EqualFold(strings.TrimSpace(lines[i]), "param(") {
		return nil, nil
	}
	var out []Param
	for i++; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == ")" {
			return out, nil
		}
		p, err := parseParamLine(strings.TrimSuffix(l, ","))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return nil, fmt.Errorf("param block not closed")
}

func parseParamLine(l string) (Param, error) {
	var p Param
	for strings.HasPrefix(l, "[") {
		end := matchBracket(l)
		if end < 0 {
			return p, fmt.Errorf("unbalanced attribute in %q", l)
		}
		attr := l[1:end]
		l = strings.TrimSpace(l[end+1:])
		name, arg, _ := strings.Cut(attr, "(")
		arg = strings.TrimSuffix(arg, ")")
		switch strings.ToLower(name) {
		case "parameter":
			p.Mandatory = strings.Contains(strings.ReplaceAll(strings.ToLower(arg), " ", ""), "mandatory=$true")
		case "validateset":
			for _, v := range splitQuotedList(arg) {
				p.Set = append(p.Set, v)
			}
		case "validaterange":
			parts := strings.Split(arg, ",")
			if len(parts) != 2 {
				return p, fmt.Errorf("bad ValidateRange(%s)", arg)
			}
			lo, err1 := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
			hi, err2 := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64)
			if err1 != nil || err2 != nil {
				return p, fmt.Errorf("bad ValidateRange(%s)", arg)
			}
			p.Range = &[2]int64{lo, hi}
		case "validatepattern":
			v := splitQuotedList(arg)
			if len(v) != 1 {
				return p, fmt.Errorf("bad ValidatePattern(%s)", arg)
			}
			p.Pattern = v[0]
		case "validatenotnullorempty":
			p.NotEmpty = true
		case "string", "int", "switch":
			p.Type = strings.ToLower(name)
		default:
			return p, fmt.Errorf("unknown attribute or type [%s]", attr)
		}
	}
	if !strings.HasPrefix(l, "$") {
		return p, fmt.Errorf("no variable in %q", l)
	}
	name, def, hasDef := strings.Cut(l[1:], "=")
	p.Name = strings.TrimSpace(name)
	if hasDef {
		p.HasDefault = true
		d := strings.TrimSpace(def)
		if v := splitQuotedList(d); len(v) == 1 {
			d = v[0]
		}
		p.Default = d
	}
	if p.Type == "" {
		return p, fmt.Errorf("parameter $%s has no type", p.Name)
	}
	return p, nil
}

// matchBracket returns the index of the ']' closing the '[' at l[0],
// skipping single-quoted strings (” is an escaped quote).
func matchBracket(l string) int {
	depth, inQ := 0, false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case inQ:
			if c == '\'' {
				if i+1 < len(l) && l[i+1] == '\'' {
					i++
				} else {
					inQ = false
				}
			}
		case c == '\'':
			inQ = true
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitQuotedList reads 'a', 'b' into [a b].
func splitQuotedList(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " ,")
		if !strings.HasPrefix(s, "'") {
			return out
		}
		var b strings.Builder
		i := 1
		for ; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(s[i])
		}
		out = append(out, b.String())
		if i >= len(s) {
			return out
		}
		s = s[i+1:]
	}
}
