package hyperv

import (
	"fmt"
	"strings"
)

// Windows command lines.
//
// A WinRS command reaches the host as one string that cmd.exe reads first
// and the C runtime of powershell.exe (CommandLineToArgvW rules) splits
// into arguments second. Go's syscall.EscapeArg only knows the second
// layer, so we quote here for both:
//   - every argument is wrapped in double quotes, which makes cmd.exe treat
//     & | < > ^ ( ) as literal text;
//   - a run of backslashes is doubled only where it precedes the closing
//     quote (CommandLineToArgvW's rule), so C:\dir\ stays C:\dir\;
//   - characters that no quoting protects from cmd.exe are refused rather
//     than "escaped": '"' (cmd toggles its quote state on every quote, even
//     \"), '%' (variable expansion happens inside quotes) and control
//     characters (a newline ends the command).
//   - a value starting with '-' is refused: powershell.exe -File would take
//     it for a parameter name.
// Values never get near script text: they only travel as arguments.

// QuoteArg quotes one argument for a WinRS command line.
func QuoteArg(s string) (string, error) {
	if strings.HasPrefix(s, "-") {
		return "", fmt.Errorf("argument %q starts with '-', which powershell.exe -File would read as a parameter name", s)
	}
	for _, r := range s {
		switch {
		case r == '"':
			return "", fmt.Errorf("argument contains a double quote, which cannot pass through cmd.exe safely")
		case r == '%':
			return "", fmt.Errorf("argument contains '%%', which cmd.exe expands even inside quotes")
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("argument contains control character %U", r)
		}
	}
	var b strings.Builder
	b.WriteByte('"')
	b.WriteString(s)
	// Trailing backslashes would escape the closing quote: double them.
	n := len(s) - len(strings.TrimRight(s, `\`))
	b.WriteString(strings.Repeat(`\`, n))
	b.WriteByte('"')
	return b.String(), nil
}

// SplitCommandLine splits a Windows command line the way
// CommandLineToArgvW does (the 2008+ rules used by the MSVC runtime): it is
// the inverse of QuoteArg, used by the simulated host and by the tests.
func SplitCommandLine(s string) []string {
	var args []string
	var cur strings.Builder
	inArg, inQuote := false, false
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			n := j - i
			if j < len(s) && s[j] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
					j++
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
			}
			inArg = true
			i = j
			continue
		case c == '"':
			if inQuote && i+1 < len(s) && s[i+1] == '"' {
				// "" inside quotes is a literal quote (post-2008 rule).
				cur.WriteByte('"')
				i += 2
				inArg = true
				continue
			}
			inQuote = !inQuote
			inArg = true
		case (c == ' ' || c == '\t') && !inQuote:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
		i++
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

// Arg is one named script argument.
type Arg struct {
	Name  string // parameter name without the dash
	Value string // "" with Switch: a switch parameter
	// Switch passes only -Name (a [switch] parameter set to true).
	Switch bool
}

// psFileCommand builds the command line that runs an uploaded script.
func psFileCommand(scriptPath string, args []Arg) (string, error) {
	p, err := QuoteArg(scriptPath)
	if err != nil {
		return "", fmt.Errorf("script path: %w", err)
	}
	parts := []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", p}
	for _, a := range args {
		if !validParamName(a.Name) {
			return "", fmt.Errorf("bad parameter name %q", a.Name)
		}
		parts = append(parts, "-"+a.Name)
		if a.Switch {
			continue
		}
		q, err := QuoteArg(a.Value)
		if err != nil {
			return "", fmt.Errorf("parameter -%s: %w", a.Name, err)
		}
		parts = append(parts, q)
	}
	return strings.Join(parts, " "), nil
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
