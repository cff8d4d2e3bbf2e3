package html

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/virtcert/virtcert/reports/reportstest"
)

// chromium runs headless Chromium on a file with every background
// service off and every host name resolving to nothing, so that any
// network request the page made would both fail and show up in the netlog.
func chromium(t *testing.T, bin string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return out
}

func TestChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium test skipped in -short mode")
	}
	bin := reportstest.NeedTool(t, "chromium", "chromium")
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, renderSample(t), 0o644); err != nil {
		t.Fatal(err)
	}
	netlog := filepath.Join(dir, "netlog.json")
	dom := chromium(t, bin, "--log-net-log="+netlog, "--net-log-capture-mode=Everything", "--dump-dom", "file://"+page)

	doc, err := xhtml.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*xhtml.Node{}
	var scripts, pres int
	var preText []string
	var diffCells, cells []*xhtml.Node
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		if id := attr(n, "id"); id != "" {
			byID[id] = n
		}
		switch n.Data {
		case "script":
			scripts++
		case "pre":
			pres++
			preText = append(preText, text(n))
		case "td":
			if attr(n, "data-status") != "" {
				cells = append(cells, n)
				if strings.Contains(" "+attr(n, "class")+" ", " diff ") {
					diffCells = append(diffCells, n)
				}
			}
		case "iframe", "img", "object", "embed", "link", "video", "audio", "source":
			t.Errorf("element <%s> could load a resource", n.Data)
		}
		for _, a := range n.Attr {
			if a.Key == "src" || a.Key == "srcset" || a.Key == "poster" || a.Key == "action" {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if (strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//")) && !(n.Data == "a" && a.Key == "href") {
				t.Errorf("external URL in <%s %s=%q>", n.Data, a.Key, a.Val)
			}
			if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(a.Key, "on") {
				t.Errorf("script in <%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	})
	if scripts != 0 {
		t.Errorf("%d <script> elements in the DOM: hostile output was not escaped", scripts)
	}
	// Verdicts.
	if v := attr(byID["overall"], "data-verdict"); v != "NOT CERTIFIED" {
		t.Errorf("overall verdict %q", v)
	}
	verdicts := map[string]string{}
	walk(doc, func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "article" && attr(n, "data-target") != "" {
			walk(n, func(m *xhtml.Node) {
				if m.Type == xhtml.ElementNode && attr(m, "data-verdict") != "" {
					verdicts[attr(n, "data-target")] = attr(m, "data-verdict")
				}
			})
		}
	})
	want := map[string]string{"lab-kvm/debian-12": "CERTIFIED", "hyperv-sim/debian-12": "NOT CERTIFIED", "lab-kvm/tiny": "CERTIFIED"}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("verdict card %s = %q, want %q (all: %v)", k, verdicts[k], v, verdicts)
		}
	}
	if byID["simulated-banner"] == nil || !strings.Contains(text(byID["simulated-banner"]), "hyperv-sim") {
		t.Errorf("no loud SIMULATED banner naming hyperv-sim")
	}
	// Matrix: 3 targets × their checks, clock.source differs (SKIP vs FAIL).
	if len(cells) != 8+8+5 {
		t.Errorf("matrix has %d result cells, want 21", len(cells))
	}
	diffChecks := map[string][]string{}
	for _, c := range diffCells {
		ck := attr(c.Parent, "data-check")
		diffChecks[ck] = append(diffChecks[ck], attr(c, "data-status"))
	}
	for ck, st := range map[string]string{"clock.source": "SKIP FAIL", "clock.offset": "PASS FAIL", "network.throughput": "PASS WAIVED", "console.clean": "PASS ERROR"} {
		if got := strings.Join(diffChecks[ck], " "); got != st {
			t.Errorf("differing cells for %s: %q, want %q", ck, got, st)
		}
	}
	if _, ok := diffChecks["platform.hypervisor"]; ok {
		t.Errorf("platform.hypervisor highlighted though both hosts PASS")
	}
	// Hostile output is shown as text, without ANSI.
	found := false
	for _, p := range preText {
		if strings.Contains(p, "<script>alert(1)</script>") {
			found = true
			if strings.ContainsRune(p, 0x1b) || strings.Contains(p, "[31m") {
				t.Errorf("ANSI left in %q", p)
			}
		}
	}
	if !found {
		t.Errorf("hostile guest output not shown as text in any <pre> (%d pre)", pres)
	}
	// Waivers are stated.
	if w := byID["waivers"]; w == nil || !strings.Contains(text(w), "simulator caps throughput") || !strings.Contains(text(w), "expired") {
		t.Errorf("waivers section does not state the waivers")
	}

	checkNetlog(t, netlog)

	// Screenshot artifact: look at it.
	shot := filepath.Join(dir, "report.png")
	chromium(t, bin, "--hide-scrollbars", "--window-size=1400,2400", "--screenshot="+shot, "file://"+page)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot missing or tiny: %v", err)
	}
	reportstest.Artifact(t, shot)
	reportstest.Artifact(t, page)

	// Print to PDF: the print stylesheet must produce a document.
	pdf := filepath.Join(dir, "report.pdf")
	chromium(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) || len(b) < 10000 {
		t.Fatalf("print to PDF failed: %v (%d bytes)", err, len(b))
	}
	reportstest.Artifact(t, pdf)
}

// pageRequests returns the URLs of requests a page initiated, from a
// Chromium netlog. Chromium itself talks to its update and account
// services in the background even with those features switched off (the
// host resolver rule makes them fail); those carry the initiator "not an
// origin". Requests a page makes carry the page's origin ("null" for
// file://) as initiator.
func pageRequests(t *testing.T, path string) (page, all []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("netlog: %v", err)
	}
	var log struct {
		Events []struct {
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		// Chromium can leave the log without its closing brackets.
		if err2 := json.Unmarshal(append(bytes.TrimRight(bytes.TrimSpace(b), ","), []byte("]}")...), &log); err2 != nil {
			t.Fatalf("netlog is not JSON: %v", err)
		}
	}
	for _, ev := range log.Events {
		u, _ := ev.Params["url"].(string)
		if u == "" {
			continue
		}
		all = append(all, u)
		if ini, ok := ev.Params["initiator"].(string); ok && ini != "not an origin" {
			page = append(page, u)
		}
	}
	return page, all
}

func checkNetlog(t *testing.T, path string) {
	t.Helper()
	page, all := pageRequests(t, path)
	for _, u := range page {
		t.Errorf("the report made a network request: %s", u)
	}
	t.Logf("netlog: %d URL events, %d from the page", len(all), len(page))
}

// TestNetlogDetector is the positive control for checkNetlog: a page that
// does fetch something must be caught.
func TestNetlogDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium test skipped in -short mode")
	}
	bin := reportstest.NeedTool(t, "chromium", "chromium")
	dir := t.TempDir()
	page := filepath.Join(dir, "canary.html")
	os.WriteFile(page, []byte(`<!DOCTYPE html><html><body><img src="http://canary.virtcert.invalid/x.png"><link rel="stylesheet" href="https://canary2.virtcert.invalid/a.css"></body></html>`), 0o644)
	netlog := filepath.Join(dir, "netlog.json")
	chromium(t, bin, "--log-net-log="+netlog, "--net-log-capture-mode=Everything", "--dump-dom", "file://"+page)
	got, _ := pageRequests(t, netlog)
	if !strings.Contains(strings.Join(got, " "), "canary") {
		t.Fatalf("detector missed the canary page's requests: %v", got)
	}
}

func walk(n *xhtml.Node, f func(*xhtml.Node)) {
	if n == nil {
		return
	}
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *xhtml.Node, k string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func text(n *xhtml.Node) string {
	var b strings.Builder
	walk(n, func(m *xhtml.Node) {
		if m.Type == xhtml.TextNode {
			b.WriteString(m.Data)
		}
	})
	return b.String()
}
