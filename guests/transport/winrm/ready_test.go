package winrm_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

// fast are ReadyOptions for tests: short pauses.
var fast = winrm.ReadyOptions{AuthPause: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// switchDial sends the first n connections to first, the rest to then:
// the guest's listener changing while it boots.
func switchDial(first string, n int32, then string) drivers.DialFunc {
	var conns atomic.Int32
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		to := then
		if conns.Add(1) <= n {
			to = first
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
}

// bootingPassword starts a server with the real server's certificate
// that refuses the password (cloudbase-init has not set it yet) and the
// real server.
func bootingPassword(t *testing.T) (early, real *server) {
	tm, err := wsman.NewTLSMaterial()
	if err != nil {
		t.Fatal(err)
	}
	early = startServer(t, func(c *wsman.Config) { c.TLS, c.Users = tm, map[string]string{testUser: "image-default-Pa55"} })
	real = startServer(t, func(c *wsman.Config) { c.TLS = tm })
	early.pin = winrm.CertFingerprint(tm.ServerCertDER)
	real.pin = early.pin
	return early, real
}

// impostor is an HTTPS server with a certificate other than the pinned
// one (cloudbase-init's self-signed listener); it counts the requests
// that reach it.
func impostor(t *testing.T) (addr string, requests *atomic.Int32) {
	requests = new(atomic.Int32)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String(), requests
}

// A 401 while the guest boots is not-yet-ready: the login is retried.
func TestWaitReadyRetriesRefusedLogin(t *testing.T) {
	early, real := bootingPassword(t)
	cfg := real.config()
	cfg.Dial = switchDial(early.addr, 2, real.addr)
	if detail := mustBeReady(t, cfg); strings.HasPrefix(detail, "winrm 1 attempt(s)") {
		t.Fatalf("detail %q: the refused login was not retried", detail)
	}
}

// Refused logins stop after MaxAuthFailures, as an AuthError of class
// input, without waiting for the deadline.
func TestWaitReadyGivesUpAfterMaxAuthFailures(t *testing.T) {
	early, _ := bootingPassword(t)
	cfg := early.config()
	opts := fast
	opts.MaxAuthFailures = 3
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, detail, err := winrm.WaitReady(ctx, cfg, opts)
	if _, ok := errors.AsType[*transport.AuthError](err); !ok || drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("err = %v (class %v), want an AuthError of class input", err, drivers.ClassOf(err))
	}
	if !strings.Contains(err.Error(), "giving up after 3 authentication failures") || !strings.HasPrefix(detail, "winrm 3 attempt(s)") {
		t.Fatalf("err %v, detail %q: want 3 attempts", err, detail)
	}
	if strings.Contains(err.Error(), testPass) {
		t.Fatalf("error leaks the password: %v", err)
	}
}

// A listener with another certificate (cloudbase-init's, before the seed
// replaces it) is not-yet-ready; nothing is ever sent to it.
func TestWaitReadyWaitsOutAReplacedListener(t *testing.T) {
	s := startServer(t, nil)
	bad, requests := impostor(t)
	cfg := s.config()
	cfg.Dial = switchDial(bad, 3, s.addr)
	detail := mustBeReady(t, cfg)
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the unpinned listener", n)
	}
	if strings.HasPrefix(detail, "winrm 1 attempt(s)") {
		t.Fatalf("detail %q: the mismatch was not retried", detail)
	}
}

// mustBeReady waits (fast, within 20 s) until cfg's guest is ready,
// failing t if it never is, closes the client and returns WaitReady's
// detail (how many attempts it took).
func mustBeReady(t *testing.T, cfg winrm.Config) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, detail, err := winrm.WaitReady(ctx, cfg, fast)
	if err != nil {
		t.Fatalf("%v (%s)", err, detail)
	}
	c.Close()
	return detail
}

// A certificate still wrong at the deadline is the SECURITY error, of
// class security, as Dial reports it; nothing is ever sent to it.
func TestWaitReadyPinMismatchAtTheDeadlineIsSecurityError(t *testing.T) {
	s := startServer(t, nil)
	bad, requests := impostor(t)
	cfg := s.config()
	cfg.Dial = switchDial(bad, 1<<30, s.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, detail, err := winrm.WaitReady(ctx, cfg, fast)
	hk, ok := errors.AsType[*transport.HostKeyError](err)
	if !ok || drivers.ClassOf(err) != drivers.ClassSecurity || !strings.HasPrefix(err.Error(), "winrm dial: SECURITY: TLS certificate for") {
		t.Fatalf("err = %v (class %v), want the SECURITY HostKeyError", err, drivers.ClassOf(err))
	}
	if hk.Want != s.pin || hk.Got == s.pin {
		t.Fatalf("want/got = %s/%s", hk.Want, hk.Got)
	}
	if strings.HasPrefix(detail, "winrm 1 attempt(s)") {
		t.Fatalf("detail %q: gave up at once, not at the deadline", detail)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the unpinned listener", n)
	}
}

// A login still refused when ctx's deadline comes is the AuthError (of
// class input) with the count so far, not a "not ready" network error.
func TestWaitReadyRefusedAtTheDeadlineIsAuthError(t *testing.T) {
	early, _ := bootingPassword(t)
	opts := fast
	opts.MaxAuthFailures = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, _, err := winrm.WaitReady(ctx, early.config(), opts)
	if _, ok := errors.AsType[*transport.AuthError](err); !ok || drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("err = %v (class %v), want an AuthError of class input", err, drivers.ClassOf(err))
	}
	if !strings.HasPrefix(err.Error(), "giving up after ") || strings.Contains(err.Error(), "not ready") {
		t.Fatalf("err %v: want the refused logins counted", err)
	}
}
