package reports

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Human is the one rendering of a measured value for people: seconds in
// the unit that fits ("14.9 µs", "3.20 ms", "6.70 s", "1m02s", "2h03m04s"),
// sizes in binary units ("512 B", "1.50 KiB", "20.0 MiB", "3.00 GiB"),
// anything else with three significant digits ("938 Mbit/s", "12.5 ppm").
// Never scientific notation. Unit "s" is seconds, "B" bytes.
func Human(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%v %s", v, unit)
	}
	switch unit {
	case "s":
		return seconds(v)
	case "B":
		return size(v)
	}
	return strings.TrimSpace(sig3(v) + " " + unit)
}

// HumanDuration is Human for a time.Duration.
func HumanDuration(d time.Duration) string { return seconds(d.Seconds()) }

func seconds(v float64) string {
	a, sign := math.Abs(v), ""
	if v < 0 {
		sign = "-"
	}
	switch {
	case a == 0:
		return "0 s"
	case a < 1e-6:
		return sign + sig3(a*1e9) + " ns"
	case a < 1e-3:
		return sign + sig3(a*1e6) + " µs"
	case a < 1:
		return sign + sig3(a*1e3) + " ms"
	case a < 59.995:
		return sign + sig3(a) + " s"
	}
	t := int64(math.Round(a))
	h, m, s := t/3600, t/60%60, t%60
	if h > 0 {
		return fmt.Sprintf("%s%dh%02dm%02ds", sign, h, m, s)
	}
	return fmt.Sprintf("%s%dm%02ds", sign, m, s)
}

func size(v float64) string {
	a, sign := math.Abs(v), ""
	if v < 0 {
		sign = "-"
	}
	if a < 1024 {
		return fmt.Sprintf("%s%.0f B", sign, a)
	}
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		a /= 1024
		if a < 1023.5 || u == "TiB" {
			return sign + sig3(a) + " " + u
		}
	}
	return ""
}

// sig3 prints v with three significant digits, in plain notation.
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case a >= 9.995:
		return fmt.Sprintf("%.1f", v)
	case a >= 0.9995:
		return fmt.Sprintf("%.2f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3g", v), "0"), ".")
}
