package winrm

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The inputs in testdata/*.clixml follow the documented CLIXML stream
// format (MS-PSRP 2.2.5) and PowerShell 5.1's error record layout; they
// are constructed, not captured from a Windows machine.
func TestDecodeStderrGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.clixml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := DecodeStderr(raw)
			golden := strings.TrimSuffix(in, ".clixml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("decoded:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDecodeStderrKeepsEverything(t *testing.T) {
	got := string(DecodeStderr([]byte("#< CLIXML\r\n<Objs><S S=\"Error\">a_x000A_</S><S S=\"Error\">b</S></Objs>")))
	if got != "a\nb" {
		t.Fatalf("got %q", got)
	}
	if got := DecodeStderr([]byte("no xml")); string(got) != "no xml" {
		t.Fatalf("plain changed: %q", got)
	}
}

func FuzzDecodeStderr(f *testing.F) {
	for _, s := range []string{"#< CLIXML\n<Objs><S S=\"Error\">_x00_</S></Objs>#< CLIXML\n<Objs/>", "plain", "#< CLIXML", "#< CLIXML<Objs><S S=\"Error\">_xD800_</S></Objs>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := DecodeStderr(b)
		// Plain text passes through untouched.
		if !bytes.Contains(b, []byte(clixmlHeader)) && !bytes.Equal(out, b) {
			t.Fatalf("plain input changed")
		}
		if utf8.Valid(b) && !utf8.Valid(out) {
			t.Fatalf("valid UTF-8 in, invalid out: %q", out)
		}
	})
}

// A character outside the BMP arrives as a UTF-16 surrogate pair of
// escapes and comes out as the one character (it came out as two U+FFFD
// before the decoder was shared with the Hyper-V driver).
func TestDecodeStderrSurrogatePair(t *testing.T) {
	got := string(DecodeStderr([]byte("#< CLIXML\r\n<Objs><S S=\"Warning\">ok _xD83D__xDE00__x000A_</S></Objs>")))
	if got != "WARNING: ok \U0001F600\n" {
		t.Fatalf("got %q", got)
	}
}
