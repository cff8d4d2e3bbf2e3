package console

import (
	"reflect"
	"testing"
)

func TestParseKernelLog(t *testing.T) {
	cases := []struct {
		out  string
		want []KernelLog
	}{
		{"@@@ dmesg\n[ 1.0] a\n[ 2.0] b\nvc-rc=0\n@@@ journal\nvc-rc=absent\n",
			[]KernelLog{{Source: "dmesg", Text: "[ 1.0] a\n[ 2.0] b"}}},
		{"@@@ dmesg\nvc-rc=0\n@@@ journal\nDec 03 k: x\nvc-rc=0\n",
			[]KernelLog{{Source: "dmesg", Text: ""}, {Source: "journalctl -k -b", Text: "Dec 03 k: x"}}},
		{"@@@ dmesg\ndmesg: read kernel buffer failed: Operation not permitted\nvc-rc=1\n@@@ journal\nNo journal files were found.\nvc-rc=1\n",
			[]KernelLog{{Source: "dmesg", Unread: "exit 1: dmesg: read kernel buffer failed: Operation not permitted"},
				{Source: "journalctl -k -b", Unread: "exit 1: No journal files were found."}}},
		// Cut off before the status line: never read as a clean log.
		{"@@@ dmesg\n[ 1.0] a\n", []KernelLog{{Source: "dmesg", Unread: "no exit status in the output (cut off?): [ 1.0] a"},
			{Source: "journalctl -k -b", Unread: "no exit status in the output (cut off?): no output"}}},
	}
	for i, c := range cases {
		if got := ParseKernelLog(c.out); !reflect.DeepEqual(got, c.want) {
			t.Errorf("case %d:\n got %#v\nwant %#v", i, got, c.want)
		}
	}
}
