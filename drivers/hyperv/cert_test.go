package hyperv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"github.com/virtcert/virtcert/drivers"
)

// clientPair writes a self-signed client certificate and its key.
func clientPair(t *testing.T) (certFile, keyFile string, certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vcadmin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM, keyPEM
}

// TestCertAuthCapsTLS12: auth cert's transport allows TLS 1.2 only
// (Go cannot answer TLS 1.3 post-handshake client authentication, which
// Windows Server 2022 uses; masterzen/winrm#171); NTLM is not capped.
func TestCertAuthCapsTLS12(t *testing.T) {
	cf, kf, cp, kp := clientPair(t)
	ep := &winrm.Endpoint{Host: "127.0.0.1", Port: 5986, HTTPS: true, Cert: cp, Key: kp, Timeout: time.Minute}
	_, _, _, decorate, err := winrmAuth("op", "cert", true, drivers.OpenOptions{ClientCertFile: cf, ClientKeyFile: kf})
	if err != nil {
		t.Fatal(err)
	}
	ct, ok := decorate().(*CertTransport)
	if !ok {
		t.Fatalf("auth cert transport is %T", decorate())
	}
	if err := ct.Transport(ep); err != nil {
		t.Fatal(err)
	}
	if c := ct.tr.TLSClientConfig; c.MaxVersion != tls.VersionTLS12 || len(c.Certificates) != 1 {
		t.Fatalf("cert auth TLS: max version %#x, %d certificates", c.MaxVersion, len(c.Certificates))
	}
	_, _, _, decorate, err = winrmAuth("op", "ntlm", true, drivers.OpenOptions{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	nt := decorate().(*NTLMTransport)
	if err := nt.Transport(ep); err != nil {
		t.Fatal(err)
	}
	if nt.tls.MaxVersion != 0 {
		t.Fatalf("ntlm TLS capped at %#x", nt.tls.MaxVersion)
	}
}

// TestCertAuthHandshake: against a server that offers TLS 1.3 and wants
// a client certificate, the connection is TLS 1.2 with the certificate and
// WS-Management's mutual-auth header; against a TLS 1.3-only server it
// fails rather than trying 1.3.
func TestCertAuthHandshake(t *testing.T) {
	_, _, cp, kp := clientPair(t)
	for _, only13 := range []bool{false, true} {
		var got *tls.ConnectionState
		var authz string
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, authz = r.TLS, r.Header.Get("Authorization")
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			_, _ = w.Write([]byte("<ok/>"))
		}))
		srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
		if only13 {
			srv.TLS.MinVersion = tls.VersionTLS13
		}
		srv.StartTLS()
		host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		ct := &CertTransport{}
		if err := ct.Transport(&winrm.Endpoint{Host: host, Port: p, HTTPS: true, Cert: cp, Key: kp, CACert: ca, Timeout: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		_, err := ct.Post(nil, soap.NewMessage())
		srv.Close()
		if only13 {
			if err == nil || !strings.Contains(err.Error(), "needs TLS 1.2 on the host") {
				t.Fatalf("TLS 1.3-only server: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		if got == nil || got.Version != tls.VersionTLS12 || len(got.PeerCertificates) != 1 || authz != "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual" {
			t.Fatalf("server saw %+v, Authorization %q", got, authz)
		}
	}
}
