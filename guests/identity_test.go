package guests

import "testing"

func TestParseIdentity(t *testing.T) {
	for in, want := range map[string]string{
		"simulated=\r\n": "",
		"simulated=Linux guest playing Windows (winguestd)\r\n": "Linux guest playing Windows (winguestd)",
	} {
		id, err := ParseIdentity(in)
		if err != nil || id.Simulated != want {
			t.Errorf("%q: %+v %v, want %q", in, id, err, want)
		}
	}
	for _, bad := range []string{"", "REAL", "simulated=a\nsimulated=b"} {
		if _, err := ParseIdentity(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
