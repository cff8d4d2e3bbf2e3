package runner

import (
	"testing"

	"github.com/virtcert/virtcert/plan"
)

// TestIdentityUnverified: a plain-HTTP WinRM host carries the TLS banner
// even without insecure: true (NTLM sealing pins no identity).
func TestIdentityUnverified(t *testing.T) {
	for _, tc := range []struct {
		h    plan.Host
		want bool
	}{
		{plan.Host{URI: "https://hv01:5986/wsman"}, false},
		{plan.Host{URI: "https://hv01:5986/wsman", Insecure: true}, true},
		{plan.Host{URI: "http://hv01:5985/wsman"}, true},
		{plan.Host{URI: "HTTP://hv01/wsman"}, true},
		{plan.Host{URI: "qemu:///system"}, false},
	} {
		if got := identityUnverified(&tc.h); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.h, got, tc.want)
		}
	}
}
