package hyperv

import (
	"testing"
)

func TestDecodePSJSON(t *testing.T) {
	var q queryOut
	in := "\xef\xbb\xbfWARNING: something\r\n" + `{"Exists":true,"Name":"vc-a","State":"Running","NetworkAdapters":{"Name":"Network Adapter","MacAddress":"00155D010203","IPAddresses":"192.168.150.10"},"IntegrationServices":null,"Kvp":{"FullyQualifiedDomainName":"g"}}` + "\r\n"
	if err := DecodePSJSON([]byte(in), &q); err != nil {
		t.Fatal(err)
	}
	if len(q.NetworkAdapters) != 1 || q.NetworkAdapters[0].IPAddresses[0] != "192.168.150.10" || q.IntegrationServices != nil || q.Kvp["FullyQualifiedDomainName"] != "g" {
		t.Fatalf("decoded %+v", q)
	}
	var l List[removedOut]
	if err := DecodePSJSON([]byte(`[{"Kind":"vm","Name":"a"},{"Kind":"vhdx","Name":"b"}]`), &l); err != nil || len(l) != 2 {
		t.Fatalf("list: %v %v", l, err)
	}
	for _, bad := range []string{"", "no json here", `{"Exists":`, `{"Uptime":"x"}`} {
		if err := DecodePSJSON([]byte(bad), &q); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzDecodePSJSON(f *testing.F) {
	f.Add([]byte(`{"Exists":true,"NetworkAdapters":[{"IPAddresses":["fe80::1","10.0.0.2"]}],"Kvp":{}}`))
	f.Add([]byte("\xef\xbb\xbf{\"Switches\":\"one\"}"))
	f.Add([]byte(`[{"Kind":"vm"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var q queryOut
		_ = DecodePSJSON(b, &q)
		var i infoOut
		_ = DecodePSJSON(b, &i)
		var l List[removedOut]
		_ = DecodePSJSON(b, &l)
	})
}
