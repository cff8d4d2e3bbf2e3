package disk

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/suites/suitetest"
)

// blockFns replaced a readlink -f | sed and a tr per disk: on every
// shell a guest may log in with, they give what those tools give.
func TestBlockFnsMatchTools(t *testing.T) {
	paths := []string{
		"/sys/devices/pci0000:00/0000:00:04.0/virtio1/host0/target0:0:0/0:0:0:0",
		"/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0",
		"/sys/devices/LNXSYSTM:00/VMBUS:00/f8b3781b-1e82-4818-a1c3-63d806ec15bb/host3/target3:0:0/3:0:0:0",
		"/sys/devices/pci0000:00/usb1/1-1/1-1:1.0/host12/target12:0:0/12:0:0:0",
		"/sys/devices/host1/x/host2/y",                 // two: the last one
		"/sys/devices/host2/y/host3a/z",                // host3a is not a SCSI host
		"/sys/devices/host/y",                          // no digits: sed's [0-9]* takes it
		"/sys/devices/pci0000:00/host5",                // nothing below it
		"/sys/devices/pci0000:00/0000:00:05.0/virtio2", // virtio-blk: none
		"/", "", "host0/x",
	}
	vendors := []string{"QEMU    ", "Msft    ", "VMware, ", "A B  C", "   ", "", "0x1af4", " lead"}
	var script, want strings.Builder
	script.WriteString(blockFns)
	for _, p := range paths {
		fmt.Fprintf(&script, "vc_host '%s'; echo \"host=[$vc_h]\"; ", p)
		fmt.Fprintf(&want, "host=[%s]\n", tool(t, p, "sed", "-n", `s#.*/\(host[0-9]*\)/.*#\1#p`))
	}
	for _, v := range vendors {
		fmt.Fprintf(&script, "vc_nosp '%s'; echo \"vendor=[$vc_s]\"; ", v)
		fmt.Fprintf(&want, "vendor=[%s]\n", tool(t, v, "tr", "-d", " "))
	}
	for _, sh := range suitetest.Shells(t) {
		if got := suitetest.RunShell(t, sh, t.TempDir(), script.String()); got != want.String() {
			t.Errorf("%s:\n got %q\nwant %q", sh[0], got, want.String())
		}
	}
}

// tool runs name args with in on stdin, as $(...) would: trailing
// newlines dropped.
func tool(t *testing.T, in string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(in + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimRight(string(out), "\n")
}

// oldBlocks is the blocks probe before it read values with builtins (a
// process per value): the oracle for what blocksProbe must print.
const oldBlocks = `for d in /sys/block/*; do n=${d##*/}; ` +
	`h=$(readlink -f $d/device 2>/dev/null | sed -n 's#.*/\(host[0-9]*\)/.*#\1#p'); ` +
	`p=; for q in $d/$n*; do [ -e "$q/start" ] && p="$p${q##*/}:$(cat $q/start),"; done; ` +
	`echo "$n size=$(cat $d/size) ro=$(cat $d/ro) removable=$(cat $d/removable) ` +
	`driver=$(readlink $d/device/driver 2>/dev/null) host=$([ -n "$h" ] && cat /sys/class/scsi_host/$h/proc_name 2>/dev/null) ` +
	`vendor=$(cat $d/device/vendor 2>/dev/null | tr -d ' ') lbs=$(cat $d/queue/logical_block_size) ` +
	`pbs=$(cat $d/queue/physical_block_size) dgran=$(cat $d/queue/discard_granularity) ` +
	`dmax=$(cat $d/queue/discard_max_bytes) parts=$p"; done`

func TestBlocksProbeMatchesOldScript(t *testing.T) {
	suitetest.SameAsOracle(t, blocksProbe, oldBlocks)
}
