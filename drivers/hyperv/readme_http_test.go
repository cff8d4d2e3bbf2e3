package hyperv_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeWarnsAboutPlainHTTP: both READMEs that document the WinRM URI
// warn about plain HTTP: sealed NTLM only, no Basic, Windows'
// AllowUnencrypted default kept, no pinned identity.
func TestReadmeWarnsAboutPlainHTTP(t *testing.T) {
	for _, f := range []string{"../../README.md", "README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{"http://host:5985/wsman", "sealed", "AllowUnencrypted=false", "Prefer HTTPS", "identity", "`auth: basic`"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: the plain-HTTP warning lacks %q", f, want)
			}
		}
		if strings.Contains(s, "which also allows a\nplain `http://") || strings.Contains(s, "plain HTTP\nneeds `insecure: true`") {
			t.Errorf("%s still says insecure: true allows plain HTTP", f)
		}
	}
}
