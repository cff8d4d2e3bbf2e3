package reports

import (
	"testing"
	"time"
)

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{1.486e-05, "s", "14.9 µs"},
		{-1.486e-05, "s", "-14.9 µs"},
		{3.2e-3, "s", "3.20 ms"},
		{4e-8, "s", "40.0 ns"},
		{0, "s", "0 s"},
		{6.7, "s", "6.70 s"},
		{62, "s", "1m02s"},
		{59.999, "s", "1m00s"},
		{7384, "s", "2h03m04s"},
		{512, "B", "512 B"},
		{1536, "B", "1.50 KiB"},
		{20 << 20, "B", "20.0 MiB"},
		{3 << 30, "B", "3.00 GiB"},
		{938.4, "Mbit/s", "938 Mbit/s"},
		{12.46, "ppm", "12.5 ppm"},
		{1234.6, "IOPS", "1235 IOPS"},
		{0.0001234, "ppm", "0.000123 ppm"},
	} {
		if got := Human(c.v, c.unit); got != c.want {
			t.Errorf("Human(%g, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := HumanDuration(62 * time.Second); got != "1m02s" {
		t.Errorf("HumanDuration(62s) = %q", got)
	}
}
