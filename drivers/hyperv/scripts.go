package hyperv

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"text/template"
)

// The scripts are templates only for their static structure (a shared
// prelude, the JSON depth): no template data ever carries a caller's
// value. Values are passed as parameters on the powershell.exe command
// line (see cmdline.go).
//
//go:embed scripts/*.ps1 scripts/_common.tmpl
var scriptFS embed.FS

type scriptData struct {
	Script    string
	JSONDepth int
}

// jsonDepth is deep enough for the nested query output (VM -> NICs ->
// addresses); ConvertTo-Json silently flattens anything deeper.
const jsonDepth = 6

var (
	renderOnce sync.Once
	rendered   map[string][]byte
	renderErr  error
)

// Scripts returns every rendered script by file name. The simulated host
// uses it to recognise (and hash-check) what the driver uploads.
func Scripts() (map[string][]byte, error) {
	renderOnce.Do(func() { rendered, renderErr = renderAll() })
	return rendered, renderErr
}

// ScriptNames lists the scripts in a stable order.
func ScriptNames() []string {
	s, _ := Scripts()
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ScriptSHA256 returns the hex SHA-256 of a rendered script, or "".
func ScriptSHA256(name string) string {
	s, err := Scripts()
	if err != nil || s[name] == nil {
		return ""
	}
	sum := sha256.Sum256(s[name])
	return hex.EncodeToString(sum[:])
}

func renderAll() (map[string][]byte, error) {
	common, err := scriptFS.ReadFile("scripts/_common.tmpl")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(scriptFS, "scripts/*.ps1")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range files {
		src, err := scriptFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := path.Base(f)
		t, err := template.New(name).Option("missingkey=error").Parse(string(common))
		if err == nil {
			_, err = t.Parse(string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("script %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, scriptData{Script: name, JSONDepth: jsonDepth}); err != nil {
			return nil, fmt.Errorf("script %s: %w", name, err)
		}
		// Windows PowerShell 5.1 reads a BOM-less script as the ANSI code
		// page; keep the scripts ASCII and with CRLF line ends so the bytes
		// we hash are the bytes a Windows editor would save.
		text := strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
		for i := 0; i < len(text); i++ {
			if text[i] > 0x7e || text[i] < 0x20 && text[i] != '\r' && text[i] != '\n' && text[i] != '\t' {
				return nil, fmt.Errorf("script %s: non-ASCII byte %#x at offset %d", name, text[i], i)
			}
		}
		out[name] = []byte(text)
	}
	return out, nil
}
