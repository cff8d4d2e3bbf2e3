package parse

import (
	"strconv"
	"strings"
)

// Tracking is `chronyc -n tracking` (chrony's doc/chronyc.adoc, "tracking").
type Tracking struct {
	RefID   string // "C0A89601"
	RefName string // "192.168.150.1"
	Stratum int
	// SystemOffset is "System time": seconds the system clock is ahead of
	// NTP time (positive = fast).
	SystemOffset float64
	LastOffset   float64
	RMSOffset    float64
	FreqPPM      float64 // positive = fast
	LeapStatus   string  // "Normal", "Not synchronised", ...
	// DaemonDown is set when chronyc could not reach chronyd ("506
	// Cannot talk to daemon").
	DaemonDown bool
	// Valid is set when at least the Reference ID and Leap status parsed.
	Valid bool
}

// Synchronised reports whether chronyd has a reference: a non-zero
// reference ID and a leap status other than "Not synchronised".
func (t Tracking) Synchronised() bool {
	return t.Valid && !t.DaemonDown && strings.Trim(t.RefID, "0") != "" && t.LeapStatus != "" &&
		!strings.EqualFold(t.LeapStatus, "Not synchronised")
}

// ChronyTracking parses `chronyc -n tracking`.
func ChronyTracking(out string) Tracking {
	var t Tracking
	// chronyc's error is a line of its own ("506 Cannot talk to daemon").
	// A bare "506 " anywhere also matched figures such as "Last offset :
	// +0.000046506 seconds": a healthy chronyd read as stopped, a FAIL that
	// depended on the digits of one boot's offset.
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "506 ") || strings.Contains(l, "Cannot talk to daemon") {
			t.DaemonDown = true
		}
	}
	var haveRef, haveLeap bool
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Reference ID":
			id, name, _ := strings.Cut(v, " ")
			t.RefID = id
			t.RefName = strings.Trim(strings.TrimSpace(name), "()")
			haveRef = id != ""
		case "Stratum":
			t.Stratum, _ = strconv.Atoi(v)
		case "System time":
			t.SystemOffset = signedSeconds(v)
		case "Last offset":
			t.LastOffset = firstFloat(v)
		case "RMS offset":
			t.RMSOffset = firstFloat(v)
		case "Frequency":
			t.FreqPPM = firstFloat(v)
			if strings.Contains(v, "slow") {
				t.FreqPPM = -t.FreqPPM
			}
		case "Leap status":
			t.LeapStatus = v
			haveLeap = v != ""
		}
	}
	t.Valid = haveRef && haveLeap
	return t
}

// signedSeconds reads "0.000012 seconds fast of NTP time" (fast = +).
func signedSeconds(v string) float64 {
	f := firstFloat(v)
	if strings.Contains(v, "slow") {
		f = -f
	}
	return f
}

func firstFloat(v string) float64 {
	fs := strings.Fields(v)
	if len(fs) == 0 {
		return 0
	}
	f, err := strconv.ParseFloat(fs[0], 64)
	if err != nil {
		return 0
	}
	return f
}

// Source is one line of `chronyc -n sources`.
type Source struct {
	Mode     string // "^" server, "=" peer, "#" refclock
	State    string // "*" selected, "+" combined, "-" not combined, "?" unreachable, "x" falseticker, "~" too variable
	Name     string
	Stratum  int
	Reach    string // octal reachability register
	Selected bool
}

// Reachable reports whether any of the last polls was answered.
func (s Source) Reachable() bool { return s.Reach != "" && strings.Trim(s.Reach, "0") != "" }

// ChronySources parses `chronyc -n sources`.
func ChronySources(out string) []Source {
	var ss []Source
	for _, l := range strings.Split(out, "\n") {
		if len(l) < 3 || !strings.ContainsAny(l[:1], "^=#") || !strings.ContainsAny(l[1:2], "*+-?x~") {
			continue
		}
		f := strings.Fields(l[2:])
		if len(f) < 4 {
			continue
		}
		s := Source{Mode: l[:1], State: l[1:2], Name: f[0], Reach: f[3]}
		s.Stratum, _ = strconv.Atoi(f[1])
		s.Selected = s.State == "*"
		ss = append(ss, s)
	}
	return ss
}
