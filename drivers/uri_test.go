package drivers

import (
	"strings"
	"testing"
)

func TestRedactURI(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"qemu+ssh://root:hunter2@h/system", "qemu+ssh://root:xxxxx@h/system"},
		{"https://admin:p%40ss@hv:5986/wsman", "https://admin:xxxxx@hv:5986/wsman"},
		{"https://admin:p@ss@hv:5986/wsman", "https://admin:xxxxx@hv:5986/wsman"},
		{"root:hunter2@10.0.0.5:22", "root:xxxxx@10.0.0.5:22"},
		{"ssh://u:${PW}@h", "ssh://u:xxxxx@h"},
		{"qemu+ssh://root@h/system", "qemu+ssh://root@h/system"},
		{"qemu:///system?socket=/a@b", "qemu:///system?socket=/a@b"},
		{"%zz://u:hunter2@h", "%zz://u:xxxxx@h"},
		{"lab", "lab"},
	} {
		if got := RedactURI(c.in); got != c.out {
			t.Errorf("RedactURI(%q) = %q, want %q", c.in, got, c.out)
		}
		if strings.Contains(RedactURI(c.in), "hunter2") {
			t.Errorf("password survived in %q", c.in)
		}
	}
}

func TestURIHasPassword(t *testing.T) {
	for in, want := range map[string]bool{
		"qemu+ssh://root:hunter2@h/system": true,
		"root:pw@h:22":                     true,
		"https://u:@h/wsman":               true,
		"ssh://u:${PW}@h":                  true,
		"qemu+ssh://root@h/system":         false,
		"h:22":                             false,
		"qemu:///system?socket=/x:y@z":     false,
		"https://[::1]:5986/wsman":         false,
	} {
		if got := URIHasPassword(in); got != want {
			t.Errorf("URIHasPassword(%q) = %v, want %v", in, got, want)
		}
	}
}
