package html

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/reportstest"
)

// Regression (issue 11, finding 2): insecure: true left no trace in the
// report. A host whose TLS was not verified gets a banner like the
// SIMULATED one.
func TestTLSNotVerifiedBanner(t *testing.T) {
	run := reportstest.Sample()
	run.Targets[0].HostInfo.TLSUnverified = true
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "TLS NOT VERIFIED on host " + run.Targets[0].Host
	if !strings.Contains(out, `id="tls-banner"`) || !strings.Contains(out, want) {
		t.Errorf("report lacks the banner %q", want)
	}
	if strings.Count(out, want) != 1 {
		t.Errorf("banner repeated %d times", strings.Count(out, want))
	}
	b.Reset()
	if err := Write(&b, reportstest.Sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "TLS NOT VERIFIED") {
		t.Error("banner without insecure: true")
	}
}

// A merged run with an UNVERIFIED shard source says so in a banner,
// however the merged bundle was signed; an all-VERIFIED one does not.
func TestUnverifiedShardsBanner(t *testing.T) {
	run := reportstest.Sample()
	run.Sources = []reports.ShardSource{
		{RunID: "shard-a", Bundle: "VERIFIED", Signer: "SHA256:x", Targets: []string{run.Targets[0].ID}},
		{RunID: "shard-b", Bundle: "UNVERIFIED", Targets: []string{run.Targets[1].ID}},
	}
	var b bytes.Buffer
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, `id="unverified-shards-banner"`) || !strings.Contains(out, "UNVERIFIED: 1 of 2 merged shard source(s) (run shard-b)") {
		t.Errorf("report lacks the UNVERIFIED shards banner")
	}
	run.Sources[1].Bundle = "VERIFIED"
	b.Reset()
	if err := Write(&b, run, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "unverified-shards-banner") {
		t.Error("UNVERIFIED shards banner on an all-VERIFIED merge")
	}
}
