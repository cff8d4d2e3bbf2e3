package hyperv

import "testing"

func TestParseKVPItems(t *testing.T) {
	items := []string{
		KVPItemXML("FullyQualifiedDomainName", "rhel9.example.com"),
		KVPItemXML("NetworkAddressIPv4", "192.168.150.23"),
		KVPItemXML("OSName", "Red Hat Enterprise Linux <9.4>"),
		`<INSTANCE><PROPERTY NAME="Data"><VALUE>x</VALUE></PROPERTY></INSTANCE>`, // no name: skipped
		`<INSTANCE><PROPERTY`, // broken: skipped
	}
	got := ParseKVPItems(items)
	if len(got) != 3 || got["OSName"] != "Red Hat Enterprise Linux <9.4>" || got["NetworkAddressIPv4"] != "192.168.150.23" {
		t.Fatalf("got %q", got)
	}
}

func FuzzParseKVPItems(f *testing.F) {
	f.Add(KVPItemXML("a", "b"))
	f.Add(`<INSTANCE><PROPERTY NAME="Name"><VALUE></VALUE></PROPERTY></INSTANCE>`)
	f.Fuzz(func(t *testing.T, s string) {
		for k := range ParseKVPItems([]string{s}) {
			if k == "" {
				t.Fatal("empty key")
			}
		}
	})
}
