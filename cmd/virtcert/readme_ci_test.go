package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestReadmeCIMatrices: the GitHub Actions and GitLab CI snippets in
// README.md are well-formed YAML with the shape each CI expects (a shard
// matrix, the run and merge jobs), and every virtcert command in them is
// a command of this CLI with flags and arguments it accepts.
func TestReadmeCIMatrices(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(b, -1)
	var gh, gl map[string]any
	var cmds []string
	for _, m := range blocks {
		var doc map[string]any
		if err := yaml.Unmarshal(m[1], &doc); err != nil {
			t.Fatalf("README YAML block does not parse: %v\n%s", err, m[1])
		}
		if _, ok := doc["jobs"]; ok {
			gh = doc
		} else if _, ok := doc["certify"]; ok {
			gl = doc
		}
		cmds = append(cmds, virtcertLines(doc)...)
	}
	if gh == nil || gl == nil {
		t.Fatalf("README lacks the GitHub Actions or the GitLab CI snippet (%d yaml blocks)", len(blocks))
	}
	if m := dig(gh, "jobs", "certify", "strategy", "matrix", "shard"); m == nil {
		t.Error("GitHub snippet: no jobs.certify.strategy.matrix.shard")
	}
	if m := dig(gl, "certify", "parallel", "matrix"); m == nil {
		t.Error("GitLab snippet: no certify.parallel.matrix")
	}
	if dig(gh, "jobs", "report", "needs") != "certify" {
		t.Error("GitHub snippet: the report job does not need certify")
	}
	var runs, merges int
	for _, c := range cmds {
		args := strings.Fields(placeholders.Replace(regexp.MustCompile(`\$\{\{[^}]*\}\}|\$[A-Z_]+`).ReplaceAllString(c, "1")))
		args = args[1:] // bin/virtcert
		cmd, rest, err := newRoot().Find(args)
		if err != nil || cmd.Name() == "virtcert" {
			t.Errorf("%q: not a virtcert command: %v", c, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%q: %v", c, err)
			continue
		}
		if cmd.Args != nil {
			if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
				t.Errorf("%q: %v", c, err)
			}
		}
		switch cmd.CommandPath() {
		case "virtcert run":
			runs++
			if v, _ := cmd.Flags().GetString("shard"); v == "" {
				t.Errorf("%q: a CI run without --shard", c)
			}
		case "virtcert report merge":
			merges++
		}
	}
	if runs != 2 || merges != 2 {
		t.Errorf("%d run and %d merge commands in the snippets, want 2 of each", runs, merges)
	}
}

var placeholders = strings.NewReplacer(`"`, "")

// virtcertLines are the strings in doc that run bin/virtcert.
func virtcertLines(v any) []string {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "bin/virtcert ") {
			return []string{x}
		}
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, virtcertLines(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, virtcertLines(e)...)
		}
		return out
	}
	return nil
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
