package e2e

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// assertDiagnostics (issue 14, item 5): a run with a FAIL saved the
// tiny guest's diagnostics under artifacts/<target>/, gathered by the
// real binary over SSH before the guest was kept or destroyed: dmesg,
// addresses, modules and block devices from the guest, "not available"
// for what a busybox guest lacks (journal, cloud-init), each listed in
// results.json, sealed in the manifest, linked in report.html next to the
// failed check and attached in junit.xml.
func assertDiagnostics(t *testing.T, out string) {
	t.Helper()
	tg := readRun(t, out).Targets[0]
	art := func(name string) string {
		i := slices.IndexFunc(tg.Artifacts, func(a string) bool { return path.Base(a) == name })
		if i < 0 {
			t.Errorf("artifact %s not listed in results.json: %v", name, tg.Artifacts)
			return ""
		}
		return tg.Artifacts[i]
	}
	read := func(name string) (string, string) {
		rel := art(name)
		if rel == "" {
			return "", ""
		}
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		return rel, string(b)
	}
	dmesg, b := read("dmesg.txt")
	if !strings.Contains(b, "Linux version") {
		t.Errorf("%s is not the guest's kernel log:\n%.400s", dmesg, b)
	}
	for _, f := range []string{"journal.txt", "cloud-init.log", "cloud-init-output.log"} {
		if rel, b := read(f); !strings.HasPrefix(b, "not available: ") {
			t.Errorf("%s on a busybox guest: want \"not available: <reason>\", got:\n%.300s", rel, b)
		}
	}
	if rel, b := read("ip-addr.txt"); !strings.Contains(b, "inet "+strings.Split(tg.Guest.Address, ":")[0]) {
		t.Errorf("%s lacks the guest's address %s:\n%.600s", rel, tg.Guest.Address, b)
	}
	for _, f := range []string{"ip-route.txt", "modules.txt", "block-devices.txt"} {
		if rel, b := read(f); strings.TrimSpace(b) == "" {
			t.Errorf("%s is empty", rel)
		}
	}
	_, idx := read("diagnostics.txt")
	if m := regexp.MustCompile(`one command, ([0-9.]+)s, exit`).FindStringSubmatch(idx); m != nil {
		t.Logf("diagnostics collected in %ss (the time they add to a failed target):\n%s", m[1], idx[:strings.Index(idx, "command:")])
	} else {
		t.Errorf("diagnostics.txt does not say how the collection went:\n%s", idx)
	}
	if dmesg == "" {
		return
	}
	for file, want := range map[string]string{
		"report.html": `href="` + dmesg + `"`,
		"junit.xml":   "[[ATTACHMENT|" + dmesg + "]]",
		"manifest":    "  " + dmesg + "\n",
	} {
		if b, _ := os.ReadFile(filepath.Join(out, file)); !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
}
