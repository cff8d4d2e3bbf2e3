package wsmanseal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"

	"github.com/bodgit/ntlmssp"
)

// Errors a Client returns. Each refusal names why nothing was sent in
// clear text; none of them carries a credential.
var (
	// ErrCredentials: the server refused the NTLM login (HTTP 401 on
	// the AUTHENTICATE leg).
	ErrCredentials = errors.New("the server refused the credentials (HTTP 401)")
	// ErrBasicOnly: the server offered no Negotiate/NTLM scheme. Basic
	// over plain HTTP would send the password readable, so it is never
	// tried.
	ErrBasicOnly = errors.New("the server offers no NTLM (Negotiate) login over plain HTTP; Basic would send the password readable, so nothing was sent (use NTLM, or HTTPS)")
	// ErrNoSeal: the server's NTLM challenge does not grant message
	// encryption (sign, seal, 128-bit, extended session security).
	ErrNoSeal = errors.New("the server did not agree to NTLM message encryption; refusing to send WinRM messages in clear text over plain HTTP (use HTTPS)")
	// ErrUnsealed: the server answered a sealed request in clear text.
	ErrUnsealed = errors.New("the server answered a sealed request in clear text; the answer was refused")
	// ErrRefusedSealed: HTTP 401 on a sealed message right after a
	// successful login: the server would not take the sealed message.
	ErrRefusedSealed = errors.New("the server refused a sealed message (HTTP 401) right after accepting the login")
)

// Refusal reports whether err is one of this package's security
// refusals: the server would not seal (ErrBasicOnly, ErrNoSeal) or
// refused a sealed message (ErrRefusedSealed), or its answer was not
// sealed or does not verify (ErrUnsealed, ErrFrame, ErrSignature).
// Callers report these as security errors and never retry them.
// ErrCredentials, a refused login, is not one.
func Refusal(err error) bool {
	for _, r := range []error{ErrBasicOnly, ErrNoSeal, ErrUnsealed, ErrRefusedSealed, ErrFrame, ErrSignature} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// Client posts WinRM envelopes sealed with NTLM over one plain-HTTP
// connection. It logs in on first use and again when the connection is
// replaced (an NTLM session belongs to its TCP connection). Calls are
// serialised; use one Client per connection wanted.
type Client struct {
	url, user, domain, password string
	hc                          *http.Client
	max                         int64

	mu   sync.Mutex
	sess *ntlmssp.SecuritySession
}

// NewClient returns a Client for url (http://host:port/wsman). tr must
// keep connections alive; it is used with at most one connection.
// maxResponse bounds a response body.
func NewClient(url, user, password string, tr *http.Transport, maxResponse int64) *Client {
	tr.MaxConnsPerHost = 1
	tr.MaxIdleConnsPerHost = 1
	tr.DisableKeepAlives = false
	tr.Proxy = nil
	c := &Client{url: url, user: user, password: password, hc: &http.Client{Transport: tr}, max: maxResponse}
	if d, u, ok := strings.Cut(user, `\`); ok {
		c.domain, c.user = d, u
	} else if u, d, ok := strings.Cut(user, "@"); ok {
		c.domain, c.user = d, u
	}
	return c
}

// Post seals envelope, sends it and returns the HTTP status and the
// unsealed answer. A 401 on a sealed message (the connection was
// replaced, so the server has no session for it) logs in again and
// resends once: a server that refused the message did not run it.
func (c *Client) Post(ctx context.Context, envelope []byte) (int, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		fresh := false
		if c.sess == nil {
			if err := c.login(ctx); err != nil {
				return 0, nil, err
			}
			fresh = true
		}
		status, body, err := c.sealedPost(ctx, envelope)
		if err != nil || status == http.StatusUnauthorized {
			c.sess = nil // RC4 state and sequence numbers are spent
		}
		switch {
		case err != nil:
			return 0, nil, err
		case status != http.StatusUnauthorized:
			return status, body, nil
		case fresh || attempt > 0:
			return status, nil, ErrRefusedSealed
		}
	}
}

// Reset forgets the session; the next Post logs in again.
func (c *Client) Reset() {
	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	c.hc.CloseIdleConnections()
}

func (c *Client) sealedPost(ctx context.Context, envelope []byte) (int, []byte, error) {
	sealed, sig, err := c.sess.Wrap(envelope)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(Frame(sig, sealed, len(envelope))))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ContentType)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.max))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, nil, nil
	}
	if !IsSealed(resp.Header.Get("Content-Type")) {
		if len(b) == 0 {
			return resp.StatusCode, nil, nil
		}
		return 0, nil, fmt.Errorf("%w (HTTP %d, %s)", ErrUnsealed, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rsig, rsealed, n, err := Unframe(b)
	if err != nil {
		return 0, nil, err
	}
	plain, err := c.sess.Unwrap(rsealed, rsig)
	if err != nil {
		// A security refusal (the answer was altered or replayed on the
		// path), not a network error to retry.
		return 0, nil, fmt.Errorf("sealed answer: %w: %v", ErrSignature, err)
	}
	if len(plain) != n {
		return 0, nil, fmt.Errorf("%w: length %d, declared %d", ErrFrame, len(plain), n)
	}
	return resp.StatusCode, plain, nil
}

// login runs the NTLM exchange on empty POSTs, as pywinrm does, and
// keeps the session when the server granted sealing.
func (c *Client) login(ctx context.Context) error {
	nc, err := ntlmssp.NewClient(ntlmssp.SetUserInfo(c.user, c.password), ntlmssp.SetDomain(c.domain), ntlmssp.SetVersion(ntlmssp.DefaultVersion()))
	if err != nil {
		return err
	}
	neg, err := nc.Authenticate(nil, nil)
	if err != nil {
		return err
	}
	status, hdr, conn1, err := c.emptyPost(ctx, neg)
	if err != nil {
		return err
	}
	challenge, err := challengeOf(status, hdr)
	if err != nil {
		return err
	}
	if len(challenge) < 24 || binary.LittleEndian.Uint32(challenge[20:])&FlagsNeeded != FlagsNeeded {
		return ErrNoSeal
	}
	auth, err := nc.Authenticate(challenge, nil)
	if err != nil {
		return err
	}
	status, _, conn2, err := c.emptyPost(ctx, auth)
	switch {
	case err != nil:
		return err
	case status == http.StatusUnauthorized:
		return ErrCredentials
	case status != http.StatusOK:
		return fmt.Errorf("NTLM login: HTTP %d", status)
	case conn1 != conn2:
		return errors.New("NTLM login: the connection changed between the two legs")
	case nc.SecuritySession() == nil:
		return ErrNoSeal
	}
	c.sess = nc.SecuritySession()
	return nil
}

func challengeOf(status int, hdr http.Header) ([]byte, error) {
	basic := false
	for _, v := range hdr.Values("Www-Authenticate") {
		scheme, tok, _ := strings.Cut(v, " ")
		switch {
		case strings.EqualFold(scheme, "Negotiate") && tok != "":
			return base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
		case strings.EqualFold(scheme, "Basic"):
			basic = true
		}
	}
	if status == http.StatusUnauthorized && basic {
		return nil, ErrBasicOnly
	}
	// No challenge at all (a server that asks for no login, or a
	// bare "Negotiate"): nothing can be sealed.
	return nil, fmt.Errorf("%w (HTTP %d without an NTLM challenge)", ErrNoSeal, status)
}

// emptyPost sends one leg of the login and reports which connection
// carried it.
func (c *Client) emptyPost(ctx context.Context, token []byte) (int, http.Header, net.Conn, error) {
	var conn net.Conn
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn = i.Conn }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, http.NoBody)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", soapType)
	req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header, conn, nil
}
