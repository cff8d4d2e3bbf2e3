package wsmanseal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	sig := bytes.Repeat([]byte{1}, 16)
	// Sealed bytes that look like MIME: a header line and a boundary.
	sealed := []byte("\r\nContent-Type: x\r\n--Encrypted Boundary\r\n\t\x00\xff")
	b := Frame(sig, sealed, len(sealed))
	gs, gd, n, err := Unframe(b)
	if err != nil || !bytes.Equal(gs, sig) || !bytes.Equal(gd, sealed) || n != len(sealed) {
		t.Fatalf("Unframe(Frame) = %x %q %d %v", gs, gd, n, err)
	}
	if !IsSealed(ContentType) || IsSealed("application/soap+xml;charset=UTF-8") {
		t.Fatal("IsSealed misjudges the content types")
	}
}

func TestUnframeRejects(t *testing.T) {
	good := string(Frame(make([]byte, 16), []byte("abcd"), 4))
	for name, body := range map[string]string{
		"empty":        "",
		"plain soap":   "<s:Envelope/>",
		"short data":   strings.Replace(good, "Length=4", "Length=9", 1),
		"long data":    strings.Replace(good, "Length=4", "Length=2", 1),
		"no length":    strings.Replace(good, "Length=4", "Size=4", 1),
		"two parts":    good + good,
		"bad sig size": strings.Replace(good, "stream\r\n\x10", "stream\r\n\x08", 1),
		// Lengths that wrap sigLen+plainLen negative must not slice.
		"max length":    strings.Replace(good, "Length=4", "Length=9223372036854775807", 1),
		"max-16 length": strings.Replace(good, "Length=4", "Length=9223372036854775792", 1),
		"max-8 length":  strings.Replace(good, "Length=4", "Length=9223372036854775800", 1),
		"over max":      strings.Replace(good, "Length=4", "Length=9223372036854775808", 1),
		"negative":      strings.Replace(good, "Length=4", "Length=-4", 1),
		"min length":    strings.Replace(good, "Length=4", "Length=-9223372036854775808", 1),
	} {
		if _, _, _, err := Unframe([]byte(body)); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err %v, want ErrFrame", name, err)
		}
	}
}

func TestServerSessionRefusesWrongDirection(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	flags := uint32(FlagsNeeded | FlagKeyExch)
	if _, err := NewServerSession(flags&^Flag128, key); !errors.Is(err, ErrWeakSeal) {
		t.Fatalf("40-bit sealing accepted: %v", err)
	}
	// Two sessions from one key: what one wraps as server, the other
	// cannot unwrap as client traffic (direction keys differ).
	a, _ := NewServerSession(flags, key)
	b, _ := NewServerSession(flags, key)
	sig, sealed := a.Wrap([]byte("answer"))
	if _, err := b.Unwrap(sig, sealed); !errors.Is(err, ErrSignature) {
		t.Fatalf("a server-to-client message verified as client-to-server: %v", err)
	}
	if _, err := b.Unwrap([]byte("short"), sealed); !errors.Is(err, ErrSignature) {
		t.Fatalf("short signature: %v", err)
	}
}

// FuzzUnframe: no body, however its Length is crafted, panics Unframe,
// and whatever it accepts is self-consistent.
func FuzzUnframe(f *testing.F) {
	good := string(Frame(make([]byte, 16), []byte("abcd"), 4))
	f.Add([]byte(good))
	for _, l := range []string{"9223372036854775807", "9223372036854775792", "9223372036854775800",
		"-1", "-9223372036854775808", "4294967296", "0"} {
		f.Add([]byte(strings.Replace(good, "Length=4", "Length="+l, 1)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sig, sealed, n, err := Unframe(body)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error %v is not ErrFrame", err)
			}
			return
		}
		if len(sig) != 16 || len(sealed) != n {
			t.Fatalf("accepted sig %d bytes, sealed %d bytes, Length %d", len(sig), len(sealed), n)
		}
	})
}
