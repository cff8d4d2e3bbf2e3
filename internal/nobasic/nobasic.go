// Package nobasic holds the guard both WinRM clients (the Hyper-V
// driver's host transport and the guest transport) put under go-ntlmssp:
// when a server offers only Basic, ntlmssp.Negotiator resends the request
// with the password in a Basic header (base64, readable by anyone who can
// read the connection); the guard stops that request before it leaves.
package nobasic

import (
	"net/http"
	"strings"
)

// RoundTripper refuses, with Err, any request carrying Basic credentials
// and passes every other request to Next.
type RoundTripper struct {
	Next http.RoundTripper
	Err  error
}

func (n RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if a := req.Header.Get("Authorization"); len(a) >= 6 && strings.EqualFold(a[:6], "basic ") {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, n.Err
	}
	return n.Next.RoundTrip(req)
}
