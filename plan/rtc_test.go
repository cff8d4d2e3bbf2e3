package plan

import "testing"

// TestRTCDefault: a Windows image keeps local time in its RTC unless the
// plan says utc; a Linux image keeps UTC.
func TestRTCDefault(t *testing.T) {
	for _, c := range []struct{ os, rtc, want string }{
		{"windows", "", "localtime"}, {"linux", "", "utc"}, {"", "", "utc"}, {"windows", "utc", "utc"}, {"linux", "localtime", "localtime"},
	} {
		im := &Image{OS: c.os, RTC: c.rtc}
		v := &validator{}
		v.imageRTC("images.x", im)
		if im.RTC != c.want {
			t.Errorf("os %q rtc %q: got %q, want %q", c.os, c.rtc, im.RTC, c.want)
		}
	}
}
