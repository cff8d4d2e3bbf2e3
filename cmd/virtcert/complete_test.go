package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCompletion runs the real binary's hidden __complete command (what
// the bash, zsh and fish scripts call) and checks the values it offers.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lab.yaml"), nil, 0o644)
	for _, c := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"run", "--checks", "clock.o"}, []string{"clock.offset"}, []string{"clock.drift", "clock"}},
		{[]string{"run", "--checks", "net"}, []string{"network", "network.link"}, []string{"clock"}},
		{[]string{"run", "--checks", "network,clock.d"}, []string{"network,clock.drift"}, []string{"clock.drift"}},
		{[]string{"run", "--exclude", ""}, []string{"clock", "disk", "clock.offset"}, nil},
		{[]string{"run", "--driver", ""}, []string{"libvirt", "hyperv", "existing"}, nil},
		{[]string{"sweep", "--driver", "hy"}, []string{"hyperv"}, []string{"libvirt"}},
		{[]string{"profiles", "kvm"}, []string{"kvm", "kvm-tcg"}, []string{"hyperv-gen2", "generic"}},
		{[]string{"run", "--plan", ""}, []string{"yaml", "yml"}, nil}, // file extensions for the shell
	} {
		code, out, errOut := runIn(t, dir, nil, append([]string{"__complete"}, c.args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d: %s", c.args, code, errOut)
		}
		got := completions(out)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("__complete %v: %q not offered in %q", c.args, w, got)
			}
		}
		for _, w := range c.not {
			if slices.Contains(got, w) {
				t.Errorf("__complete %v: %q offered in %q", c.args, w, got)
			}
		}
	}
	if _, out, _ := runIn(t, dir, nil, "__complete", "run", "--plan", ""); !strings.HasPrefix(strings.Split(out, "\n")[2], ":8") {
		t.Errorf("--plan does not complete *.yaml files (want directive 8, FilterFileExt):\n%s", out)
	}
}

// completions are the lines of __complete's output before the ":N"
// directive line, with any "\tdescription" cut off.
func completions(out string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, ":") {
			break
		}
		got = append(got, strings.SplitN(l, "\t", 2)[0])
	}
	return got
}
