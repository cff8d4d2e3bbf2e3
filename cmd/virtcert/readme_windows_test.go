package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/resolve"
)

// TestReadmeWindowsSections: README.md has the sections "Certify Windows
// Server on KVM" and "... on Hyper-V", each naming the image
// prerequisites of its hypervisor and holding a sample plan that this
// virtcert accepts (plan validation with the built-in drivers, profiles
// and catalog) for an os: windows image on that driver; the Windows
// section says plainly what is SIMULATED.
func TestReadmeWindowsSections(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range []struct {
		title, driver string
		must          []string
	}{
		{"Certify Windows Server on KVM", "libvirt", []string{"virtio-win", "netkvm", "viostor", "vioscsi", "balloon", "vioserial", "QEMU guest agent"}},
		{"Certify Windows Server on Hyper-V", "hyperv", []string{"generation 1", "generation 2", "Secure Boot", "MicrosoftWindows"}},
	} {
		sec := section(readme, c.title)
		if sec == "" {
			t.Errorf("README.md has no section %q", c.title)
			continue
		}
		for _, m := range c.must {
			if !strings.Contains(sec, m) {
				t.Errorf("section %q does not mention %s", c.title, m)
			}
		}
		y := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(sec)
		if y == nil {
			t.Errorf("section %q has no sample plan", c.title)
			continue
		}
		p, err := plan.Parse([]byte(y[1]), "README.md", t.TempDir(), resolve.Knowledge(nil))
		if err != nil {
			t.Errorf("section %q: its sample plan is refused: %v", c.title, err)
			continue
		}
		for name, img := range p.Images {
			if img.OS != "windows" {
				t.Errorf("section %q: image %s is os %q, want windows", c.title, name, img.OS)
			}
		}
		for name, h := range p.Hosts {
			if h.Driver != c.driver {
				t.Errorf("section %q: host %s uses driver %q, want %s", c.title, name, h.Driver, c.driver)
			}
		}
	}
	win := section(readme, "Windows guests")
	for _, m := range []string{"SIMULATED", "ConfigDriveService", "SetUserPasswordPlugin listed before UserDataPlugin", "WinRM HTTPS listener on 5986"} {
		if !strings.Contains(win, m) {
			t.Errorf("the Windows guests section does not say %q", m)
		}
	}
}

// section returns the text of the Markdown section titled title, up to
// the next heading of the same or a higher level ("" when absent).
func section(doc, title string) string {
	m := regexp.MustCompile(`(?m)^(#+) ` + regexp.QuoteMeta(title) + `\n`).FindStringSubmatchIndex(doc)
	if m == nil {
		return ""
	}
	level := m[3] - m[2]
	rest := doc[m[1]:]
	end := regexp.MustCompile(`(?m)^#{1,` + strconv.Itoa(level) + `} `).FindStringIndex(rest)
	if end == nil {
		return rest
	}
	return rest[:end[0]]
}
