package hyperv_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/drivers/hyperv"
)

// basicOnly answers every request 401 with WWW-Authenticate: Basic and
// records the Authorization headers it was sent.
type basicOnly struct {
	mu    sync.Mutex
	auths []string
}

func (b *basicOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.auths = append(b.auths, r.Header.Get("Authorization"))
	b.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func (b *basicOnly) sentBasic(t *testing.T, pass string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	enc := base64.StdEncoding.EncodeToString([]byte("u:" + pass))
	for _, a := range b.auths {
		if strings.HasPrefix(strings.ToLower(a), "basic") || strings.Contains(a, enc) {
			return true
		}
	}
	return false
}

func basicServer(t *testing.T) (*basicOnly, string, string) {
	b := &basicOnly{}
	srv := httptest.NewTLSServer(b)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return b, srv.URL + "/wsman", ca
}

// Regression (issue 11, finding 2): offered only Basic, the NTLM
// transport resent the request with the password base64-encoded in a
// Basic header. Now the request never leaves, and the error is a
// SECURITY error (exit 2).
func TestNTLMNeverSendsBasic(t *testing.T) {
	b, url, ca := basicServer(t)
	_, err := hyperv.DialWinRM(context.Background(), url, drivers.OpenOptions{Username: "u", Password: "hunter2", CACertFile: ca})
	if err == nil {
		t.Fatal("dial succeeded against a Basic-only server")
	}
	if b.sentBasic(t, "hunter2") {
		t.Fatalf("the password went out in a Basic header: %q", b.auths)
	}
	if drivers.ClassOf(err) != drivers.ClassSecurity || !errors.Is(err, hyperv.ErrBasicRefused) {
		t.Errorf("want a SECURITY error naming the refused Basic, got %v (class %v)", err, drivers.ClassOf(err))
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("password in the error: %v", err)
	}
}

// auth: basic is the explicit way to Basic, over verified HTTPS; over
// plain HTTP it is refused, even with insecure: true.
func TestBasicOnlyWhenAsked(t *testing.T) {
	b, url, ca := basicServer(t)
	_, err := hyperv.DialWinRM(context.Background(), url, drivers.OpenOptions{Username: "u", Password: "hunter2", CACertFile: ca, Extra: map[string]string{"auth": "basic"}})
	if err == nil || !b.sentBasic(t, "hunter2") {
		t.Fatalf("auth: basic over verified https did not use Basic: %v %q", err, b.auths)
	}
	n := len(b.auths)
	_, err = hyperv.DialWinRM(context.Background(), strings.Replace(url, "https:", "http:", 1), drivers.OpenOptions{Username: "u", Password: "hunter2", Insecure: true, Extra: map[string]string{"auth": "basic"}})
	if err == nil || drivers.ClassOf(err) != drivers.ClassInput || len(b.auths) != n {
		t.Fatalf("auth: basic over plain http: %v (%d requests sent), want an input error before any request", err, len(b.auths)-n)
	}
}

// plainServer serves h over plain http and returns its base URL.
func plainServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func hostPort(t *testing.T, raw string) (string, int) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), p
}
