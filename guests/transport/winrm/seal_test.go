package winrm_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:staticcheck // the NT hash is defined with MD4

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/pywinrm"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
	"github.com/virtcert/virtcert/internal/wsmanseal"
)

// startHTTP starts the stand-in on plain HTTP with Windows' default
// AllowUnencrypted=false, behind a proxy that records the wire.
func startHTTP(t *testing.T) (*server, *wire) {
	t.Helper()
	s := startServer(t, func(c *wsman.Config) { c.HTTP = true })
	w := newWire(t, s.addr)
	return s, w
}

func (s *server) httpConfig(addr string) winrm.Config {
	return winrm.Config{Addr: addr, User: testUser, Password: drivers.Secret(testPass), HTTP: true}
}

// TestSealedHTTPRoundTrip runs commands and a file over plain HTTP: every
// envelope crosses sealed (no SOAP, no script, no output readable on the
// wire) and the answers come back unsealed.
func TestSealedHTTPRoundTrip(t *testing.T) {
	s, w := startHTTP(t)
	c := dial(t, s.httpConfig(w.addr))
	r := run(t, c, "Write-Output 'héllo ✓ sealed-marker';exit 3")
	if r.Exit != 3 || string(r.Stdout) != "héllo ✓ sealed-marker\r\n" {
		t.Fatalf("got exit %d stdout %q stderr %q", r.Exit, r.Stdout, r.Stderr)
	}
	payload := bytes.Repeat([]byte("file-marker "), 20000)
	if err := c.Upload(context.Background(), `C:\sealed.bin`, bytes.NewReader(payload), 0o644); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got, _ := s.guest.File(`C:\sealed.bin`); !bytes.Equal(got, payload) {
		t.Fatalf("uploaded %d bytes, guest has %d", len(payload), len(got))
	}
	c.Close()
	seen := w.bytes()
	for _, clear := range []string{"Envelope", "schemas.xmlsoap.org", "sealed-marker", testPass, base64.StdEncoding.EncodeToString([]byte("file-marker "))} {
		if bytes.Contains(seen, []byte(clear)) {
			t.Errorf("%q crossed the wire in clear text", clear)
		}
	}
	if n := bytes.Count(seen, []byte("Content-Type: "+wsmanseal.ContentType)); n < 6 {
		t.Errorf("%d sealed messages on the wire, want the whole exchange sealed", n)
	}
}

// TestSealedHTTPWrongCredentials: a refused login is an AuthError (class
// input, exit 2) and no shell exists.
func TestSealedHTTPWrongCredentials(t *testing.T) {
	s, w := startHTTP(t)
	cfg := s.httpConfig(w.addr)
	cfg.Password = "wrong-password"
	_, err := winrm.Dial(context.Background(), cfg)
	if _, ok := errors.AsType[*transport.AuthError](err); !ok || drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("err = %v (class %v), want an AuthError of class input", err, drivers.ClassOf(err))
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if n := s.run.Server.ShellCount(); n != 0 {
		t.Fatalf("%d shells after a refused login", n)
	}
}

// TestHTTPConfigRefusals: Basic over plain HTTP, and a pin with HTTP,
// are input errors before anything is sent.
func TestHTTPConfigRefusals(t *testing.T) {
	s, w := startHTTP(t)
	basic := s.httpConfig(w.addr)
	basic.Auth = winrm.AuthBasic
	pinned := s.httpConfig(w.addr)
	pinned.CertSHA256 = s.pin
	for name, cfg := range map[string]winrm.Config{"basic": basic, "pin": pinned} {
		_, err := winrm.Dial(context.Background(), cfg)
		if drivers.ClassOf(err) != drivers.ClassInput {
			t.Errorf("%s: err %v, want an input error", name, err)
		}
	}
	if len(w.bytes()) != 0 {
		t.Errorf("%d bytes sent for refused configurations", len(w.bytes()))
	}
}

// TestClientRefusesUnsealedHTTP: a server that offers only Basic, or
// whose NTLM challenge does not grant sealing, gets a SECURITY error and
// never an envelope or a password.
func TestClientRefusesUnsealedHTTP(t *testing.T) {
	var mu sync.Mutex
	var bodies, basics int
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if len(b) > 0 {
			bodies++
		}
		if strings.HasPrefix(r.Header.Get("Authorization"), "Basic") {
			basics++
		}
		mu.Unlock()
		rw.Header().Set("WWW-Authenticate", r.Header.Get("X-Offer"))
		rw.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	offers := map[string]string{
		"basic only":   `Basic realm="WSMAN"`,
		"no challenge": "Negotiate",
		"no sealing":   "Negotiate " + base64.StdEncoding.EncodeToString(challengeWithout(wsmanseal.FlagSeal)),
		"40-bit seal":  "Negotiate " + base64.StdEncoding.EncodeToString(challengeWithout(wsmanseal.Flag128)),
	}
	for name, offer := range offers {
		proxy := newOfferProxy(t, srv.Listener.Addr().String(), offer)
		cfg := winrm.Config{Addr: proxy, User: testUser, Password: drivers.Secret(testPass), HTTP: true, ConnectTimeout: 5 * time.Second}
		_, err := winrm.Dial(context.Background(), cfg)
		se, ok := errors.AsType[*winrm.SealError](err)
		if !ok || drivers.ClassOf(err) != drivers.ClassSecurity || !strings.Contains(err.Error(), "SECURITY:") {
			t.Errorf("%s: err = %v (class %v), want a SECURITY SealError", name, err, drivers.ClassOf(err))
			continue
		}
		t.Logf("%s: %v", name, se)
	}
	mu.Lock()
	defer mu.Unlock()
	if bodies != 0 || basics != 0 {
		t.Fatalf("the client sent %d envelopes and %d Basic headers to servers that would not seal", bodies, basics)
	}
}

// challengeWithout is a minimal NTLM CHALLENGE granting the sealing
// flags except drop.
func challengeWithout(drop uint32) []byte {
	m := make([]byte, 48)
	copy(m, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(m[8:], 2)
	binary.LittleEndian.PutUint32(m[20:], (wsmanseal.FlagsNeeded|wsmanseal.FlagKeyExch|0x00800001)&^drop)
	copy(m[24:32], "01234567")
	binary.LittleEndian.PutUint32(m[44:], 48) // empty target info at the end
	return m
}

// newOfferProxy forwards to target, adding the header that tells the
// test server what to offer.
func newOfferProxy(t *testing.T, target, offer string) string {
	t.Helper()
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(r.Method, "http://"+target+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		req.Header.Set("X-Offer", offer)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(rw, resp.Body)
	})
	p := httptest.NewServer(h)
	t.Cleanup(p.Close)
	return p.Listener.Addr().String()
}

// wire is a TCP proxy that keeps a copy of every byte the client sent.
type wire struct {
	addr string
	mu   sync.Mutex
	buf  bytes.Buffer
}

func newWire(t *testing.T, target string) *wire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(io.MultiWriter(u, w), c); u.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, io.TeeReader(u, w)); c.Close() }()
		}
	}()
	return w
}

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *wire) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.buf.Bytes()...)
}

// TestPyWinRMSealedHTTP checks the stand-in's plain-HTTP behaviour with
// pywinrm (message_encryption='always'), an independent NTLM sealing
// implementation: sealed messages are served and answered sealed, and
// unsealed NTLM, Basic and a wrong password are refused with 401.
func TestPyWinRMSealedHTTP(t *testing.T) {
	pywinrm.Need(t)
	s, _ := startHTTP(t)
	out, _ := pywinrm.Run(t, 60*time.Second, "testdata/pywinrm_sealed.py", map[string]any{
		"endpoint": s.run.URL, "username": testUser, "password": ntHash(testPass), "wrong": ntHash("not-the-password"), "plain": testPass,
	})
	pywinrm.Checks(t, out, "sealed", "wrong-credentials", "unencrypted-refused", "basic-refused")
}

// ntHash is a password in the "LM:NT" hex form ntlm-auth accepts in
// place of the password. Debian bookworm's OpenSSL 3 has no MD4, so
// ntlm-auth cannot hash a plain password itself (hashlib.new('md4')
// fails); the NTLMv2 exchange from the hash on is ntlm-auth's own.
func ntHash(pw string) string {
	u := utf16.Encode([]rune(pw))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	h := md4.New()
	h.Write(b)
	return strings.Repeat("0", 32) + ":" + hex.EncodeToString(h.Sum(nil))
}

// TestNTLMNeverFallsBackToBasicOverTLS: go-ntlmssp's negotiator resends
// with Basic when the server offers no NTLM; inside the pinned channel
// too, the password must not go out in a Basic header.
func TestNTLMNeverFallsBackToBasicOverTLS(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		rw.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
		rw.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	cfg := winrm.Config{Addr: srv.Listener.Addr().String(), User: testUser, Password: drivers.Secret(testPass),
		CertSHA256: winrm.CertFingerprint(srv.Certificate().Raw)}
	_, err := winrm.Dial(context.Background(), cfg)
	if _, ok := errors.AsType[*winrm.SealError](err); !ok || drivers.ClassOf(err) != drivers.ClassSecurity {
		t.Fatalf("Basic-only server over pinned TLS: err %v (class %v), want a SECURITY refusal", err, drivers.ClassOf(err))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range auths {
		if strings.HasPrefix(strings.ToLower(a), "basic") {
			t.Fatalf("the password went out in a Basic header: %q", auths)
		}
	}
}
