package winrm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/go-ntlmssp"
	"github.com/masterzen/winrm/soap"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/internal/nobasic"
	"github.com/virtcert/virtcert/internal/wsmanseal"
)

// poster sends SOAP envelopes over HTTPS with the guest's certificate
// pinned, or over plain HTTP sealed with NTLM (sealed lanes). It replaces masterzen/winrm's own HTTP layer, which cannot pin
// a certificate, ignores contexts and reports a 401 as "invalid content
// type". Every request carries its context, so a cancelled Run stops its
// HTTP request at once.
type poster struct {
	url, addr string
	user      string
	password  string
	basic     bool
	lanes     chan lane // free lanes
	all       []*http.Transport

	mu     sync.Mutex
	pinErr *transport.HostKeyError // the last pin mismatch seen
}

// CertFingerprint is the pin format: "sha256:" and the hex SHA-256 of
// the certificate's DER encoding.
func CertFingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(s[:])
}

// lanes is how many HTTP connections a client keeps to one guest. Each
// lane is one connection: NTLM authenticates a connection, and a pooled
// transport would send an exchange's second leg on another connection.
const lanes = 6

// lane is one connection: HTTPS (hc) or plain HTTP sealed with NTLM (seal).
type lane struct {
	hc   *http.Client
	seal *wsmanseal.Client
}

func newPoster(cfg *Config) *poster {
	p := &poster{
		url:      "https://" + cfg.Addr + "/wsman",
		addr:     cfg.Addr,
		user:     cfg.User,
		password: cfg.Password.Reveal(),
		basic:    cfg.Auth == AuthBasic,
		lanes:    make(chan lane, lanes),
	}
	if cfg.HTTP {
		p.url = "http://" + cfg.Addr + "/wsman"
		for range lanes {
			tr := &http.Transport{
				DialContext:           dialFunc(cfg),
				ResponseHeaderTimeout: cfg.OperationTimeout + cfg.ConnectTimeout + 10*time.Second,
				IdleConnTimeout:       90 * time.Second,
			}
			p.all = append(p.all, tr)
			p.lanes <- lane{seal: wsmanseal.NewClient(p.url, p.user, p.password, tr, maxResponse)}
		}
		return p
	}
	want := strings.ToLower(cfg.CertSHA256)
	for range lanes {
		tr := &http.Transport{
			DialContext: dialFunc(cfg),
			TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12,
				// The chain is not verified against any CA: the one
				// certificate the harness generated for this guest is
				// pinned instead, exactly as an SSH host key is.
				InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyPeerCertificate's pin
				VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
					if len(raw) == 0 {
						return p.mismatch(want, "no certificate")
					}
					if got := CertFingerprint(raw[0]); got != want {
						return p.mismatch(want, got)
					}
					return nil
				},
			},
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			ResponseHeaderTimeout: cfg.OperationTimeout + cfg.ConnectTimeout + 10*time.Second,
			MaxConnsPerHost:       1,
			MaxIdleConnsPerHost:   1,
			IdleConnTimeout:       90 * time.Second,
			// WinRM speaks HTTP/1.1 only.
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		}
		var rt http.RoundTripper = tr
		if !p.basic {
			// go-ntlmssp's Negotiator resends with Basic when the guest
			// offers no NTLM: nobasic.RoundTripper stops that request, so NTLM never
			// falls back to Basic, even inside the pinned channel.
			rt = ntlmssp.Negotiator{RoundTripper: nobasic.RoundTripper{Next: tr, Err: ErrBasicRefused}}
		}
		p.all = append(p.all, tr)
		p.lanes <- lane{hc: &http.Client{Transport: rt}}
	}
	return p
}

// dialFunc is how every lane opens its TCP connection: cfg.Dial (through
// the guest's host) when set, else directly; either way bounded by
// ConnectTimeout.
func dialFunc(cfg *Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if d := cfg.Dial; d != nil {
		timeout := cfg.ConnectTimeout
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return d(ctx, network, addr)
		}
	}
	return (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
}

func (p *poster) mismatch(want, got string) error {
	e := &transport.HostKeyError{Addr: p.addr, Want: want, Got: got, What: "TLS certificate"}
	p.mu.Lock()
	p.pinErr = e
	p.mu.Unlock()
	return e
}

// Fault is a WS-Management SOAP fault the guest answered with.
type Fault struct {
	Code    string // e.g. s:Sender
	Subcode string // e.g. w:QuotaLimit, w:TimedOut, w:InvalidSelectors
	Reason  string
	WSMan   string // the WSManFault Code attribute (a Windows error number)
}

func (f *Fault) Error() string {
	return "winrm fault " + f.Subcode + ": " + strings.TrimSpace(f.Reason)
}

// quota reports a per-user or per-shell quota fault: the shell is
// recycled and the request retried once on a fresh one.
func (f *Fault) quota() bool { return f.Subcode == "w:QuotaLimit" }

// timedOut is the Receive long poll ending without output.
func (f *Fault) timedOut() bool { return f.Subcode == "w:TimedOut" }

// shellGone is a shell the server no longer has (idle timeout, restart).
func (f *Fault) shellGone() bool {
	return f.Subcode == "w:InvalidSelectors" && strings.Contains(f.Reason, "shell was not found")
}

type faultXML struct {
	Code    string `xml:"Body>Fault>Code>Value"`
	Subcode string `xml:"Body>Fault>Code>Subcode>Value"`
	Reason  string `xml:"Body>Fault>Reason>Text"`
	Detail  struct {
		WSManFault struct {
			Code    string `xml:"Code,attr"`
			Message string `xml:"Message"`
		} `xml:"WSManFault"`
	} `xml:"Body>Fault>Detail"`
}

func parseFault(body []byte) (*Fault, bool) {
	var f faultXML
	if err := xml.Unmarshal(body, &f); err != nil || f.Subcode == "" {
		return nil, false
	}
	r := f.Reason
	if r == "" {
		r = f.Detail.WSManFault.Message
	}
	return &Fault{Code: f.Code, Subcode: f.Subcode, Reason: r, WSMan: f.Detail.WSManFault.Code}, true
}

// maxResponse bounds a response body (the envelope limit is far below).
const maxResponse = 16 << 20

// post sends msg and returns the response envelope. Errors: a
// *transport.HostKeyError (pin mismatch), *transport.AuthError (401),
// *Fault (a SOAP fault), or a *netError (anything else).
func (p *poster) post(ctx context.Context, msg *soap.SoapMessage) (string, error) {
	body := msg.String()
	msg.Free()
	var ln lane
	select {
	case ln = <-p.lanes:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { p.lanes <- ln }()
	var status int
	var b []byte
	var err error
	if ln.seal != nil {
		status, b, err = p.sealedPost(ctx, ln.seal, body)
	} else {
		status, b, err = p.tlsPost(ctx, ln.hc, body)
	}
	if err != nil {
		return "", err
	}
	switch {
	case status == http.StatusUnauthorized:
		return "", &transport.AuthError{Addr: p.addr, Err: errors.New("the guest refused the credentials (HTTP 401)")}
	case status == http.StatusOK:
		return string(b), nil
	}
	if f, ok := parseFault(b); ok {
		return "", f
	}
	return "", &netError{op: "post", addr: p.addr, err: fmt.Errorf("HTTP %d: %s", status, short(string(bytes.TrimSpace(b))))}
}

// tlsPost sends one envelope over the pinned HTTPS lane hc.
func (p *poster) tlsPost(ctx context.Context, hc *http.Client, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	// Over NTLM the Negotiator turns these into the NTLM exchange; with
	// AuthBasic they are sent as they are (only ever over TLS).
	req.SetBasicAuth(p.user, p.password)
	resp, err := hc.Do(req)
	if err != nil {
		p.mu.Lock()
		pe := p.pinErr
		p.mu.Unlock()
		if pe != nil && errors.As(err, new(*tls.CertificateVerificationError)) || pe != nil && strings.Contains(err.Error(), "does not match the pinned") {
			return 0, nil, pe
		}
		if errors.Is(err, ErrBasicRefused) {
			return 0, nil, &SealError{Addr: p.addr, Err: ErrBasicRefused}
		}
		return 0, nil, &netError{op: "post", addr: p.addr, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, &netError{op: "read response", addr: p.addr, err: err}
	}
	return resp.StatusCode, b, nil
}

// sealedPost sends one envelope sealed with NTLM over plain HTTP.
// Refusals to send or accept clear text are *SealError; a refused login
// is HTTP 401 (an AuthError above).
func (p *poster) sealedPost(ctx context.Context, c *wsmanseal.Client, body string) (int, []byte, error) {
	status, b, err := c.Post(ctx, []byte(body))
	switch {
	case err == nil:
		return status, b, nil
	case errors.Is(err, wsmanseal.ErrCredentials):
		return http.StatusUnauthorized, nil, nil
	case wsmanseal.Refusal(err):
		return 0, nil, &SealError{Addr: p.addr, Err: err}
	}
	return 0, nil, &netError{op: "post", addr: p.addr, err: err}
}

// ErrBasicRefused: over HTTPS with NTLM asked for, the guest offered only
// Basic; the password was not sent.
var ErrBasicRefused = errors.New("the guest offered only Basic authentication; NTLM was asked for, so the password was not sent")

// SealError is a refusal to talk in clear text: over plain HTTP the guest
// would not seal (or answered unsealed), or it offered only Basic. It is
// a security error (exit 2), never retried.
type SealError struct {
	Addr string
	Err  error
}

func (e *SealError) Error() string { return "SECURITY: winrm " + e.Addr + ": " + e.Err.Error() }
func (e *SealError) Unwrap() error { return e.Err }

func (p *poster) close() {
	for _, tr := range p.all {
		tr.CloseIdleConnections()
	}
}

// netError is a network or protocol failure (connect, drop, garbage).
type netError struct {
	op, addr string
	err      error
}

func (e *netError) Error() string { return "winrm " + e.op + " " + e.addr + ": " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// IsNetwork reports whether err is a network failure (retryable), as
// opposed to a pin mismatch or refused credentials.
func IsNetwork(err error) bool {
	_, ok := errors.AsType[*netError](err)
	return ok
}

func short(s string) string {
	if len(s) > 200 {
		return s[:197] + "..."
	}
	return s
}
