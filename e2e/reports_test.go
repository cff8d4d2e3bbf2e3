package e2e

// Issue 5's report commands through the real binary on real run
// directories: re-rendering (html, junit, with the schema), merge of
// shards, diff with a regression, verify of a signed bundle (intact,
// tampered, missing file, bad signature), and waivers (valid: WAIVED and
// stated; expired: no longer applies and said so).

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// copyDir copies a run directory (regular files only).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func signKeys(t *testing.T) (priv, pub, otherPub string) {
	t.Helper()
	d := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pk, sk, _ := ed25519.GenerateKey(rand.Reader)
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	opk, _, _ := ed25519.GenerateKey(rand.Reader)
	opkDER, _ := x509.MarshalPKIXPublicKey(opk)
	return write("sign.pem", "PRIVATE KEY", skDER), write("sign.pub", "PUBLIC KEY", pkDER), write("other.pub", "PUBLIC KEY", opkDER)
}

func TestReports(t *testing.T) {
	need(t)
	t.Parallel()
	guestSlots(t, 3)
	priv, pub, otherPub := signKeys(t)
	base := t.TempDir()
	good, bad := filepath.Join(base, "good"), filepath.Join(base, "bad")
	// good: two targets (tiny, tiny2), healthy, signed. bad: the same
	// tiny target with e2e.fail failing (the regression).
	goodPlan := matrixPlan(t, []relImage{{"tiny", ""}, {"tiny2", ""}}, "", "suites: [e2e.fail, e2e.uname]\n")
	badPlan := matrixPlan(t, []relImage{{"tiny", ""}}, "", "suites: [e2e.fail, e2e.uname]\n")
	var wg sync.WaitGroup
	var goodCode, badCode int
	var goodOut, badOut, goodErr, badErr string
	wg.Add(2)
	go func() {
		defer wg.Done()
		p := start(t, nil, "run", "--plan", goodPlan, "--out", good, "--sign-key", priv)
		goodCode = p.wait(t, 8*time.Minute)
		goodOut, goodErr = p.out(), p.errOut()
	}()
	go func() {
		defer wg.Done()
		p := start(t, []string{"VIRTCERT_E2E_FAIL=1"}, "run", "--plan", badPlan, "--out", bad)
		badCode = p.wait(t, 8*time.Minute)
		badOut, badErr = p.out(), p.errOut()
	}()
	wg.Wait()
	if goodCode != 0 {
		t.Fatalf("healthy run: exit %d\n%s%s", goodCode, goodOut, goodErr)
	}
	if badCode != 1 {
		t.Fatalf("faulty run: exit %d, want 1\n%s%s", badCode, badOut, badErr)
	}
	assertClean(t, labelOf(t, goodOut))
	assertClean(t, labelOf(t, badOut))
	if _, err := os.Stat(filepath.Join(good, "manifest.sig")); err != nil {
		t.Errorf("--sign-key wrote no manifest.sig: %v", err)
	}

	t.Run("rerender", func(t *testing.T) {
		d := t.TempDir()
		h, j := filepath.Join(d, "r.html"), filepath.Join(d, "r.xml")
		if code, so, se := virtcert(t, nil, time.Minute, "report", "html", good, "-o", h); code != 0 {
			t.Fatalf("report html: %d %s%s", code, so, se)
		}
		if code, so, se := virtcert(t, nil, time.Minute, "report", "junit", bad, "-o", j); code != 0 {
			t.Fatalf("report junit: %d %s%s", code, so, se)
		}
		hb, _ := os.ReadFile(h)
		for _, want := range []string{"CERTIFIED", "lab/tiny", "lab/tiny2", "e2e.uname", labelOf(t, goodOut)} {
			if !strings.Contains(string(hb), want) {
				t.Errorf("re-rendered HTML lacks %q", want)
			}
		}
		if regexp.MustCompile(`(?i)<(script|link|img)[^>]+(src|href)=["']?https?:`).Match(hb) {
			t.Errorf("re-rendered HTML fetches from the network")
		}
		jb, _ := os.ReadFile(j)
		orig, _ := os.ReadFile(filepath.Join(bad, "junit.xml"))
		if string(jb) != string(orig) {
			t.Errorf("re-rendered junit.xml differs from the run's own (%d vs %d bytes)", len(jb), len(orig))
		}
		if !regexp.MustCompile(`<testcase[^>]*name="e2e\.fail"[^>]*>\s*<failure`).Match(jb) {
			t.Errorf("junit: e2e.fail has no <failure>:\n%s", jb)
		}
		if xsd, err := reportstest.FindJUnitXSD(t); err != nil {
			t.Logf("schema validation skipped: %v", err)
		} else if _, err := exec.LookPath("xmllint"); err != nil {
			t.Logf("schema validation skipped: no xmllint")
		} else {
			for _, f := range []string{j, filepath.Join(good, "junit.xml")} {
				if o, err := exec.Command("xmllint", "--noout", "--schema", xsd, f).CombinedOutput(); err != nil {
					t.Errorf("%s does not validate against junit-ant.xsd: %v\n%s", f, err, o)
				}
			}
		}
	})

	t.Run("merge", func(t *testing.T) {
		// Shards of one plan, each holding one target: derived from the
		// real two-target run by splitting its results.json, as two CI
		// jobs each certifying one target of the plan would produce
		// (run --shard is proven in cmd/virtcert's TestShardMergeEqualsWhole).
		// Bare results.json files prove no origin: --allow-unsigned.
		run := readRun(t, good)
		if len(run.Targets) != 2 {
			t.Fatalf("healthy run has %d targets", len(run.Targets))
		}
		var shards []string
		for i, tg := range run.Targets {
			s := *run
			s.Targets = []*reports.Target{tg}
			d := filepath.Join(t.TempDir(), "shard")
			os.MkdirAll(d, 0o755)
			b, _ := json.MarshalIndent(&s, "", "  ")
			if err := os.WriteFile(filepath.Join(d, "results.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			shards = append(shards, d)
			_ = i
		}
		m := filepath.Join(t.TempDir(), "merged")
		code, so, se := virtcert(t, nil, time.Minute, append([]string{"report", "merge", "--allow-unsigned", "-o", m}, shards...)...)
		if code != 0 || !strings.Contains(so, "VERDICT: CERTIFIED") {
			t.Fatalf("merge: exit %d\n%s%s", code, so, se)
		}
		mr := readRun(t, m)
		if len(mr.Targets) != 2 || targetOf(mr, "lab/tiny") == nil || targetOf(mr, "lab/tiny2") == nil {
			t.Errorf("merged run targets: %d", len(mr.Targets))
		}
		hb, _ := os.ReadFile(filepath.Join(m, "report.html"))
		if !strings.Contains(string(hb), "lab/tiny2") || !strings.Contains(string(hb), "lab/tiny") {
			t.Errorf("merged report lacks a target")
		}
		for _, f := range []string{"junit.xml", "report.html", "results.json"} {
			if _, err := os.Stat(filepath.Join(m, f)); err != nil {
				t.Errorf("merged: %v", err)
			}
		}
		// The same target twice is refused; so are runs of different plans.
		code, so, se = virtcert(t, nil, time.Minute, "report", "merge", "--allow-unsigned", "-o", filepath.Join(t.TempDir(), "dup"), shards[0], shards[0])
		if code == 0 {
			t.Errorf("merge of a target with itself succeeded:\n%s", so)
		} else {
			t.Logf("duplicate target: exit %d %s", code, strings.TrimSpace(se))
		}
		code, so, se = virtcert(t, nil, time.Minute, "report", "merge", "--allow-unsigned", "-o", filepath.Join(t.TempDir(), "mix"), good, bad)
		if code != 2 || !strings.Contains(se, "different plans") {
			t.Errorf("merge of runs of different plans: exit %d, want 2 naming the plan mismatch\n%s%s", code, so, se)
		}
	})

	t.Run("diff", func(t *testing.T) {
		h := filepath.Join(t.TempDir(), "diff.html")
		code, so, se := virtcert(t, nil, time.Minute, "report", "diff", good, bad, "--html", h)
		t.Logf("diff:\n%s%s", so, se)
		if code != 1 {
			t.Errorf("diff with a regression: exit %d, want 1", code)
		}
		if !regexp.MustCompile(`(?i)regression`).MatchString(so) || !regexp.MustCompile(`lab/tiny.*e2e\.fail|e2e\.fail.*lab/tiny`).MatchString(so) {
			t.Errorf("diff does not list the e2e.fail regression on lab/tiny:\n%s", so)
		}
		hb, err := os.ReadFile(h)
		if err != nil || !strings.Contains(string(hb), "e2e.fail") {
			t.Errorf("diff HTML: %v, lacks e2e.fail", err)
		}
		// Back the other way: a fix, no regression, exit 0.
		code, so, se = virtcert(t, nil, time.Minute, "report", "diff", bad, good)
		if code != 0 || !regexp.MustCompile(`(?i)fix`).MatchString(so) {
			t.Errorf("reverse diff: exit %d, want 0 with the fix listed\n%s%s", code, so, se)
		}
	})

	t.Run("verify", func(t *testing.T) {
		if code, so, se := virtcert(t, nil, time.Minute, "report", "verify", good, "--pub", pub); code != 0 {
			t.Fatalf("intact signed bundle: exit %d\n%s%s", code, so, se)
		}
		cases := []struct {
			name  string
			spoil func(d string)
			pub   string
			want  string
		}{
			{"tampered file", func(d string) {
				f, _ := os.OpenFile(filepath.Join(d, "results.json"), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString(" ")
				f.Close()
			}, pub, "results.json"},
			{"missing file", func(d string) { os.Remove(filepath.Join(d, "artifacts", "lab_tiny", "console.log")) }, pub, "console.log"},
			{"bad signature", func(d string) {
				b, _ := os.ReadFile(filepath.Join(d, "manifest.sig"))
				if len(b) > 10 {
					b[len(b)/2] ^= 0x01
				}
				os.WriteFile(filepath.Join(d, "manifest.sig"), b, 0o644)
			}, pub, "signature"},
			{"other signer", func(string) {}, otherPub, "signature"},
		}
		for _, c := range cases {
			d := filepath.Join(t.TempDir(), "b")
			copyDir(t, good, d)
			c.spoil(d)
			code, so, se := virtcert(t, nil, time.Minute, "report", "verify", d, "--pub", c.pub)
			if code != 1 || !strings.Contains(strings.ToLower(so+se), strings.ToLower(c.want)) {
				t.Errorf("%s: exit %d, want 1 naming %q\n%s%s", c.name, code, c.want, so, se)
			} else {
				t.Logf("%s: %s", c.name, strings.TrimSpace(firstLine(so+se)))
			}
		}
	})

	t.Run("waivers", func(t *testing.T) {
		w := func(expires string) string {
			p := filepath.Join(t.TempDir(), "waivers.yaml")
			os.WriteFile(p, []byte("waivers:\n  - check: e2e.fail\n    image: tiny\n    justification: known e2e fault under test\n    tracker: https://tracker.example/VC-5\n    expires: "+expires+"\n"), 0o644)
			return p
		}
		valid := filepath.Join(t.TempDir(), "valid")
		code, so, se := virtcert(t, nil, time.Minute, "report", bad, "-o", valid, "--waivers", w(time.Now().AddDate(1, 0, 0).Format("2006-01-02")))
		if code != 0 || !strings.Contains(so, "VERDICT: CERTIFIED") {
			t.Errorf("valid waiver: exit %d, want 0 CERTIFIED\n%s%s", code, so, se)
		}
		r := findResult(targetOf(readRun(t, valid), "lab/tiny"), "e2e.fail")
		if r == nil || r.Status != reports.Waived || r.OriginalStatus != reports.Fail {
			t.Errorf("valid waiver: e2e.fail %+v", r)
		}
		hb, _ := os.ReadFile(filepath.Join(valid, "report.html"))
		for _, want := range []string{"WAIVED", "known e2e fault under test", "https://tracker.example/VC-5"} {
			if !strings.Contains(string(hb), want) {
				t.Errorf("certificate with a valid waiver lacks %q", want)
			}
		}
		expired := filepath.Join(t.TempDir(), "expired")
		code, so, se = virtcert(t, nil, time.Minute, "report", bad, "-o", expired, "--waivers", w("2020-01-31"))
		if code != 0 || !strings.Contains(so, "VERDICT: NOT CERTIFIED") {
			t.Errorf("expired waiver: exit %d, want the report written with NOT CERTIFIED\n%s%s", code, so, se)
		}
		r = findResult(targetOf(readRun(t, expired), "lab/tiny"), "e2e.fail")
		if r == nil || r.Status != reports.Fail || !strings.Contains(strings.Join(r.Notes, " ")+r.Reason, "expired") {
			t.Errorf("expired waiver: e2e.fail %+v", r)
		}
		hb, _ = os.ReadFile(filepath.Join(expired, "report.html"))
		if !strings.Contains(string(hb), "2020-01-31") || !regexp.MustCompile(`(?i)expired`).Match(hb) {
			t.Errorf("certificate does not say the waiver expired on 2020-01-31")
		}
	})
}
