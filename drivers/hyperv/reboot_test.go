package hyperv

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
)

// TestRebootReturnsMatchScript: power.ps1's switch on InitiateReboot's
// return value is RebootReturns: 0 and 4096 (job started) succeed, 32769
// is a permission error, 32775 the guest's, anything else the host's.
func TestRebootReturnsMatchScript(t *testing.T) {
	s, err := Scripts()
	if err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(string(s["power.ps1"]), "\r\n", "\n")
	arm := func(label string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(label) + ` \{(.*)\}\s*$`).FindStringSubmatch(script)
		if m == nil {
			t.Errorf("power.ps1 has no switch arm %q", label)
			return ""
		}
		return strings.TrimSpace(m[1])
	}
	want := func(r RebootReturn) string {
		return fmt.Sprintf(`Stop-VcError -Id '%s' -Category %s -Message ("InitiateReboot on VM {0} returned {1} (%s)" -f $Name, $rv)`, r.ID, r.Category, r.Meaning)
	}
	for _, r := range RebootReturns {
		got := arm(fmt.Sprint(r.Code))
		if r.ID == "" && got != "" {
			t.Errorf("return %d (%s): arm %q, want success (empty)", r.Code, r.Meaning, got)
		}
		if r.ID != "" && got != want(r) {
			t.Errorf("return %d: arm %q, want %q", r.Code, got, want(r))
		}
	}
	// and no arm returns a value the table does not name.
	for _, m := range regexp.MustCompile(`(?m)^\s*(\d+) \{`).FindAllStringSubmatch(script, -1) {
		if r := RebootReturnOf(atoi(t, m[1])); r.ID == RebootFailed.ID {
			t.Errorf("power.ps1 has an arm for %s, which RebootReturns does not name", m[1])
		}
	}
	if got := arm("default"); got != want(RebootFailed) {
		t.Errorf("default arm %q, want %q", got, want(RebootFailed))
	}
	for code, id := range map[int]string{0: "", 4096: "", 32769: "VcRebootAccessDenied", 32775: "VcRebootRefused", 32768: "VcRebootFailed", 32770: "VcRebootFailed"} {
		if r := RebootReturnOf(code); r.ID != id || r.Code != code {
			t.Errorf("RebootReturnOf(%d) = %+v, want id %q", code, r, id)
		}
	}
}

// TestRebootReturnClasses: the errors power.ps1 raises for InitiateReboot
// are classified as the return value means: access denied is the WinRM
// user's rights (input), an invalid state the guest's (FAIL), other
// failures the host's; none of them the guest's by default.
func TestRebootReturnClasses(t *testing.T) {
	for code, want := range map[int]drivers.Class{32769: drivers.ClassInput, 32775: drivers.ClassGuest, 32768: drivers.ClassHost, 32772: drivers.ClassHost} {
		r := RebootReturnOf(code)
		stderr := fmt.Sprintf(`{"category":%q,"id":%q,"message":%q}`, r.Category, r.ID+",Stop-VcError", r.Message("vc-x"))
		err := scriptFailure("hyperv power", "power.ps1", Output{Stderr: []byte(stderr), Exit: 1})
		if got := drivers.ClassOf(err); got != want {
			t.Errorf("InitiateReboot %d: class %v, want %v (%v)", code, got, want, err)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
