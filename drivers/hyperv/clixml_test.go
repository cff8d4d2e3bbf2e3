package hyperv

import (
	"strings"
	"testing"
)

// A stderr capture of the shape PowerShell 5.1 writes over WinRM when a
// cmdlet is missing (constructed from the documented CLIXML format and the
// error text PowerShell prints for an unknown command).
const stderrNotRecognized = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
	"<Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>" +
	"<S S=\"Error\">New-VM : The term 'New-VM' is not recognized as the name of a cmdlet, function, script file, or operable _x000D__x000A_</S>" +
	"<S S=\"Error\">program. Check the spelling of the name, or if a path was included, verify that the path is correct and _x000D__x000A_</S>" +
	"<S S=\"Error\">try again._x000D__x000A_</S>" +
	"<S S=\"Error\">At C:\\Users\\vc\\AppData\\Local\\Temp\\virtcert-1\\provision.ps1:20 char:7_x000D__x000A_</S>" +
	"<S S=\"Error\">+ $vm = New-VM -Name $Name_x000D__x000A_</S>" +
	"<S S=\"Error\">+       ~~~~~~_x000D__x000A_</S>" +
	"<S S=\"Error\">    + CategoryInfo          : ObjectNotFound: (New-VM:String) [], CommandNotFoundException_x000D__x000A_</S>" +
	"<S S=\"Error\">    + FullyQualifiedErrorId : CommandNotFoundException_x000D__x000A_</S>" +
	"<S S=\"Error\"> _x000D__x000A_</S>" +
	"<S S=\"Warning\">disk_x005F_name is odd_x000D__x000A_</S></Objs>"

func TestParseCLIXML(t *testing.T) {
	c := ParseCLIXML([]byte(stderrNotRecognized))
	got := c.ErrorText()
	want := "New-VM : The term 'New-VM' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again. + CategoryInfo          : ObjectNotFound: (New-VM:String) [], CommandNotFoundException + FullyQualifiedErrorId : CommandNotFoundException"
	if got != want {
		t.Fatalf("ErrorText:\n got %q\nwant %q", got, want)
	}
	if len(c.Warning) != 1 || c.Warning[0] != "disk_name is odd\r\n" {
		t.Fatalf("warning = %q", c.Warning)
	}
	if c.Plain != "" {
		t.Fatalf("plain = %q", c.Plain)
	}
}

func TestParseCLIXMLPlainAndBroken(t *testing.T) {
	for _, tc := range []struct{ in, plain, err string }{
		{"certutil: bad input\r\n", "certutil: bad input", "certutil: bad input"},
		{"#< CLIXML\r\n<Objs><S S=\"Error\">unterminated", "<Objs><S S=\"Error\">unterminated", "<Objs><S S=\"Error\">unterminated"},
		{"", "", ""},
		{"native\n#< CLIXML\n<Objs Version=\"1\"><S S=\"Error\">boom_x000A_</S></Objs>", "native", "boom"},
	} {
		c := ParseCLIXML([]byte(tc.in))
		if c.Plain != tc.plain || c.ErrorText() != tc.err {
			t.Errorf("%q: plain %q err %q, want %q %q", tc.in, c.Plain, c.ErrorText(), tc.plain, tc.err)
		}
	}
}

func FuzzParseCLIXML(f *testing.F) {
	f.Add([]byte(stderrNotRecognized))
	f.Add([]byte("#< CLIXML\n<Objs><S S=\"Error\">_x00_</S></Objs>#< CLIXML\n<Objs/>"))
	f.Add([]byte("plain text"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := ParseCLIXML(b)
		_ = c.ErrorText()
		// Nothing is invented: every error record's runes come from the
		// input (decoded escapes aside, a record is never longer).
		for _, e := range c.Error {
			if len(e) > len(b)*4 {
				t.Fatalf("error record longer than input")
			}
		}
		if !strings.Contains(string(b), clixmlHeader) && strings.TrimSpace(string(b)) != c.Plain {
			t.Fatalf("non-CLIXML input must come back as Plain")
		}
	})
}

func TestCLIXMLSummary(t *testing.T) {
	got := ParseCLIXML([]byte(stderrNotRecognized)).Summary()
	if !strings.HasSuffix(got, "try again.") || strings.Contains(got, "CategoryInfo") {
		t.Fatalf("summary %q", got)
	}
}

func TestParseCLIXMLSurrogatePair(t *testing.T) {
	c := ParseCLIXML([]byte("#< CLIXML\r\n<Objs><S S=\"Error\">VM _xD83D__xDE00_ failed</S></Objs>"))
	if len(c.Error) != 1 || c.Error[0] != "VM \U0001F600 failed" {
		t.Fatalf("error = %q", c.Error)
	}
}
