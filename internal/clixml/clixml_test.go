package clixml

import (
	"strings"
	"testing"
)

// Both decoders this package replaces wrote each _xHHHH_ unit as a rune,
// so a surrogate pair came out as two U+FFFD; PowerShell escapes UTF-16
// code units, so the pair is one character.
func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a_x000D__x000A_b", "a\r\nb"},
		{"disk_x005F_name", "disk_name"},
		{"_xD83D__xDE00_", "\U0001F600"},
		{"x_xD83D__xDE00_y_xd83d__xde00_", "x\U0001F600y\U0001F600"},
		{"_xD83D_", "\uFFFD"},                // lone high surrogate
		{"_xDE00_", "\uFFFD"},                // lone low surrogate
		{"_xDE00__xD83D_", "\uFFFD\uFFFD"},   // pair in the wrong order
		{"_xD83D__x0041_", "\uFFFDA"},        // high surrogate, then not a low one
		{"_xD83D_x_xDE00_", "\uFFFDx\uFFFD"}, // not adjacent
		{"_x00_", "_x00_"},                   // too short: kept
		{"_xZZZZ_", "_xZZZZ_"},               // not hex: kept
		{"_xD83D__xDE0", "\uFFFD_xDE0"},      // truncated second unit
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, in := range []string{"", "plain", Header, "a" + Header + "<Objs/>b" + Header + "c", Header + Header} {
		var b strings.Builder
		for _, p := range Split(in) {
			if p.Doc {
				b.WriteString(Header)
			}
			b.WriteString(p.Text)
		}
		if b.String() != in {
			t.Errorf("Split(%q) joined back is %q", in, b.String())
		}
	}
	got := Split("n\n" + Header + "\n<Objs/>")
	if len(got) != 2 || got[0] != (Part{Text: "n\n"}) || got[1] != (Part{Text: "\n<Objs/>", Doc: true}) {
		t.Fatalf("Split = %#v", got)
	}
}

func TestDecode(t *testing.T) {
	recs, err := Decode(`<Objs><Obj S="progress"><MS><S N="x">drop</S></MS></Obj><S S="Error">e_x000A_</S><S S="Warning">w_xD83D__xDE00_</S></Objs>`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{{"Error", "e\n"}, {"Warning", "w\U0001F600"}}
	if len(recs) != len(want) || recs[0] != want[0] || recs[1] != want[1] {
		t.Fatalf("records %q, want %q", recs, want)
	}
	for _, bad := range []string{"", "<Objs>", "<X/>", "<Objs><S>unterminated", "<Objs/></Objs>"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) did not fail", bad)
		}
	}
}
