package hyperv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	"github.com/virtcert/virtcert/internal/wsmanseal"
)

// SealedTransport is a masterzen/winrm Transporter for plain
// http://host:5985/wsman: every envelope is sealed with NTLM message
// encryption (internal/wsmanseal), as Windows requires by default
// (AllowUnencrypted=false answers an unsealed message with 401: the
// failure analysed in hashicorp/packer#6205; masterzen/winrm#184 notes that
// its Azure/go-ntlmssp cannot seal).
//
// masterzen's own winrm.NewEncryption("ntlm") is not used: its Post falls
// back to unencrypted NTLM when the handshake request fails, sends an
// empty stream when no session was set up, accepts an unsealed answer,
// and ignores the endpoint's timeouts. This one seals or fails.
//
// Each sealed session belongs to one TCP connection and carries one
// request at a time, so concurrent Posts (a command's Receive long poll
// beside another command's Send or Signal) each take an idle session or
// open a new one, as NTLMTransport opens a connection per request.
type SealedTransport struct {
	User, Password string
	url            string
	timeout        time.Duration
	idle           chan *wsmanseal.Client
}

// maxIdleSealed is how many logged-in sessions are kept between requests.
const maxIdleSealed = 4

func (t *SealedTransport) Transport(ep *winrm.Endpoint) error {
	if ep.HTTPS {
		return errors.New("sealed transport: for plain http only (https is sealed by TLS)")
	}
	t.url = "http://" + net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port)) + "/wsman"
	t.timeout = ep.Timeout
	t.idle = make(chan *wsmanseal.Client, maxIdleSealed)
	return nil
}

func (t *SealedTransport) session() *wsmanseal.Client {
	select {
	case c := <-t.idle:
		return c
	default:
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: t.timeout,
	}
	return wsmanseal.NewClient(t.url, t.User, t.Password, tr, 16<<20)
}

func (t *SealedTransport) release(c *wsmanseal.Client) {
	select {
	case t.idle <- c:
	default:
		c.Reset() // enough idle sessions: close this one
	}
}

// Post sends one sealed envelope. Errors read like masterzen's own
// ("http error 401: …"), so classifyWinRM sorts them the same way;
// refusals to talk in clear text keep their wsmanseal error.
func (t *SealedTransport) Post(_ *winrm.Client, m *soap.SoapMessage) (string, error) {
	c := t.session()
	defer t.release(c)
	status, b, err := c.Post(context.Background(), []byte(m.String()))
	switch {
	case errors.Is(err, wsmanseal.ErrCredentials):
		return "", fmt.Errorf("http error 401: %w", err)
	case err != nil:
		return "", err
	case status != http.StatusOK:
		return "", fmt.Errorf("http error %d: %s", status, b)
	}
	return string(b), nil
}

// sealRefusal reports a wsmanseal refusal to talk in clear text.
func sealRefusal(err error) bool {
	for _, e := range []error{wsmanseal.ErrBasicOnly, wsmanseal.ErrNoSeal, wsmanseal.ErrUnsealed,
		wsmanseal.ErrRefusedSealed, wsmanseal.ErrFrame, wsmanseal.ErrSignature} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
