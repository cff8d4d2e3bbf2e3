package hyperv

import (
	"strings"
	"testing"

	"github.com/virtcert/virtcert/drivers"
)

// TestScriptFailureByID: errors are classified by category and id, in any
// language, from the prelude's JSON line or from the plain-text error view.
func TestScriptFailureByID(t *testing.T) {
	for _, tc := range []struct {
		name, stderr string
		want         drivers.Class
		says         string
	}{
		{"cmdlet lacks parameter (de-DE view)", "Restart-VM : Es wurde kein Parameter gefunden, der dem Parameternamen \"Type\" entspricht.\r\nIn C:\\t\\power.ps1:27 Zeichen:38\r\n" +
			"    + CategoryInfo          : InvalidArgument: (:) [Restart-VM], ParameterBindingException\r\n    + FullyQualifiedErrorId : NamedParameterNotFound,Microsoft.HyperV.PowerShell.Commands.RestartVM\r\n \r\n",
			drivers.ClassHost, "does not accept a call the driver makes"},
		{"cmdlet parameter named twice", `{"category":"InvalidArgument","id":"ParameterAlreadyBound,Microsoft.HyperV.PowerShell.Commands.GetVM","message":"x"}`,
			drivers.ClassHost, "does not accept a call the driver makes"},
		{"script's own parameter", "    + CategoryInfo          : InvalidData: (:) [], ParameterBindingValidationException\r\n    + FullyQualifiedErrorId : ParameterArgumentValidationError,power.ps1\r\n",
			drivers.ClassInput, ""},
		{"module missing (JSON, German)", "\xef\xbb\xbf{\"category\":\"ObjectNotFound\",\"id\":\"CommandNotFoundException\",\"message\":\"Die Benennung \\\"Get-VM\\\" wurde nicht als Name eines Cmdlet erkannt.\"}\r\n",
			drivers.ClassHost, "module is not available"},
		{"parent missing", `{"category":"ObjectNotFound","id":"VcParentNotFound,Stop-VcError","message":"x"}`, drivers.ClassInput, ""},
		{"shutdown timeout", `{"category":"OperationTimeout","id":"VcShutdownTimeout,Stop-VcError","message":"x"}`, drivers.ClassGuest, ""},
		{"rights", `{"category":"PermissionDenied","id":"AccessDenied,Microsoft.HyperV.PowerShell.Commands.GetVM","message":"Sie haben nicht die erforderliche Berechtigung"}`, drivers.ClassInput, "Hyper-V Administrators"},
		{"English text, other id", `{"category":"InvalidArgument","id":"InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM","message":"A parameter cannot be found that matches parameter name"}`, drivers.ClassHost, ""},
		{"CLIXML error stream", stderrNotRecognized, drivers.ClassHost, "module is not available"},
		{"no error record", "The system cannot find the path specified.\r\n", drivers.ClassHost, "cannot find the path"},
	} {
		err := scriptFailure("op", "s.ps1", Output{Stderr: []byte(tc.stderr), Exit: 1})
		if drivers.ClassOf(err) != tc.want || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v (class %v, want %v)", tc.name, err, drivers.ClassOf(err), tc.want)
		}
	}
}

// TestListETSWrapper: Windows PowerShell 5.1's {"value":[...],"Count":n}
// decodes to its items, and a wrapper that disagrees with itself fails.
func TestListETSWrapper(t *testing.T) {
	type item struct{ Name string }
	var l List[item]
	if err := DecodePSJSON([]byte("\xef\xbb\xbf"+`{"value":[{"Name":"a"},{"Name":"b"}],"Count":2}`+"\r\n"), &l); err != nil || len(l) != 2 || l[1].Name != "b" {
		t.Fatalf("wrapper: %v %+v", err, l)
	}
	if err := DecodePSJSON([]byte(`{"value":[{"Name":"a"}],"Count":3}`), &l); err == nil {
		t.Fatal("a Count that disagrees was accepted")
	}
	if err := DecodePSJSON([]byte(`{"value":[],"Count":0}`), &l); err != nil || len(l) != 0 {
		t.Fatalf("empty wrapper: %v %+v", err, l)
	}
	// A single object that happens to have a member named value is not a wrapper.
	type kv struct{ Value string }
	var k List[kv]
	if err := DecodePSJSON([]byte(`{"Value":"x"}`), &k); err != nil || len(k) != 1 || k[0].Value != "x" {
		t.Fatalf("single object: %v %+v", err, k)
	}
}
