package hyperv

import (
	"reflect"
	"strings"
	"testing"
)

func TestQuoteArgRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "plain", `C:\VMs\a b\disk.vhdx`, `C:\dir\`, `C:\dir\\`, `a\\b`, "a&b|c<d>e^f(g)", "virtcert.run=vc-1;created=2026-11-21T23:30:00Z",
		"ünïcode ✓", `trailing space `, "'single'",
	} {
		q, err := QuoteArg(s)
		if err != nil {
			t.Fatalf("QuoteArg(%q): %v", s, err)
		}
		got := SplitCommandLine("powershell.exe -X " + q + " -Y")
		want := []string{"powershell.exe", "-X", s, "-Y"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("QuoteArg(%q) = %s, parsed back as %q", s, q, got)
		}
	}
}

func TestQuoteArgRefuses(t *testing.T) {
	for _, s := range []string{`a"b`, "50%", "%PATH%", "a\nb", "a\rb", "\x00", "-Force", "-"} {
		if q, err := QuoteArg(s); err == nil {
			t.Errorf("QuoteArg(%q) = %s, want an error", s, q)
		}
	}
}

func TestSplitCommandLineRules(t *testing.T) {
	// Examples from Microsoft's "Parsing C++ command-line arguments".
	for in, want := range map[string][]string{
		`"abc" d e`:        {"abc", "d", "e"},
		`a\\b d"e f"g h`:   {`a\\b`, "de fg", "h"},
		`a\\\"b c d`:       {`a\"b`, "c", "d"},
		`a\\\\"b c" d e`:   {`a\\b c`, "d", "e"},
		`a"b"" c d`:        {`ab" c d`},
		"  spaced\targs  ": {"spaced", "args"},
		`""`:               {""},
	} {
		if got := SplitCommandLine(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCommandLine(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestPSFileCommand(t *testing.T) {
	cl, err := psFileCommand(`C:\Temp\vc x\provision.ps1`, []Arg{{Name: "Name", Value: "vc-a"}, {Name: "DryRun", Switch: true}, {Name: "Path", Value: `C:\a b\`}})
	if err != nil {
		t.Fatal(err)
	}
	want := `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "C:\Temp\vc x\provision.ps1" -Name "vc-a" -DryRun -Path "C:\a b\\"`
	if cl != want {
		t.Fatalf("got  %s\nwant %s", cl, want)
	}
	if _, err := psFileCommand("x.ps1", []Arg{{Name: "Bad Name", Value: "v"}}); err == nil {
		t.Fatal("bad parameter name accepted")
	}
}

func FuzzQuoteArg(f *testing.F) {
	for _, s := range []string{"", `C:\x\`, `a\"b`, "a b", `\\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := QuoteArg(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(q[1:len(q)-1], "\"%\n\r") {
			t.Fatalf("unsafe char survived: %q", q)
		}
		got := SplitCommandLine("x " + q)
		if len(got) != 2 || got[1] != s {
			t.Fatalf("round trip of %q via %s gave %q", s, q, got)
		}
	})
}
