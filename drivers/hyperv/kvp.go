package hyperv

import (
	"encoding/xml"
	"strings"
)

// ParseKVPItems reads Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems:
// each item is an embedded CIM-XML instance of Msvm_KvpExchangeDataItem,
//
//	<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem">
//	  <PROPERTY NAME="Data" TYPE="string"><VALUE>10.0.0.5</VALUE></PROPERTY>
//	  <PROPERTY NAME="Name" TYPE="string"><VALUE>NetworkAddressIPv4</VALUE></PROPERTY>
//	  <PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY>
//	</INSTANCE>
//
// The values come from the guest, so items that do not parse are skipped,
// never trusted. (The scripts do the same in PowerShell; this copy serves
// the WMI path of local mode and the simulated host.)
func ParseKVPItems(items []string) map[string]string {
	out := map[string]string{}
	for _, it := range items {
		var inst struct {
			XMLName xml.Name `xml:"INSTANCE"`
			Props   []struct {
				Name  string `xml:"NAME,attr"`
				Value string `xml:"VALUE"`
			} `xml:"PROPERTY"`
		}
		if err := xml.Unmarshal([]byte(it), &inst); err != nil {
			continue
		}
		var name, data string
		var hasName bool
		for _, p := range inst.Props {
			switch p.Name {
			case "Name":
				name, hasName = p.Value, true
			case "Data":
				data = p.Value
			}
		}
		if hasName && name != "" {
			out[name] = data
		}
	}
	return out
}

// KVPItemXML renders one item the way Hyper-V does (used by the simulated
// host and the tests).
func KVPItemXML(name, data string) string {
	var b strings.Builder
	b.WriteString(`<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data" TYPE="string"><VALUE>`)
	_ = xml.EscapeText(&b, []byte(data))
	b.WriteString(`</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>`)
	_ = xml.EscapeText(&b, []byte(name))
	b.WriteString(`</VALUE></PROPERTY><PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY></INSTANCE>`)
	return b.String()
}
