package hyperv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
)

// CertTransport is client-certificate authentication (auth: cert), as
// masterzen/winrm's ClientAuthRequest, with TLS capped at 1.2. Windows
// Server 2022 negotiates TLS 1.3 and asks for the client certificate
// after the handshake (post-handshake authentication), which Go's
// crypto/tls does not implement: the request then fails
// (masterzen/winrm#171, ansible#77768). Under TLS 1.2 http.sys asks
// during the handshake, or by one renegotiation, which is allowed.
type CertTransport struct {
	url string
	tr  *http.Transport
}

// certTLSConfig is the TLS configuration of certificate authentication.
func certTLSConfig(ep *winrm.Endpoint) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(ep.Cert, ep.Key)
	if err != nil {
		return nil, err
	}
	//nolint:gosec // Insecure is the user's explicit, warned-about choice.
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		Renegotiation:      tls.RenegotiateOnceAsClient,
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: ep.Insecure, ServerName: ep.TLSServerName,
	}
	if len(ep.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CACert) {
			return nil, errors.New("cert transport: no certificate in the CA PEM")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Transport implements winrm.Transporter.
func (c *CertTransport) Transport(ep *winrm.Endpoint) error {
	cfg, err := certTLSConfig(ep)
	if err != nil {
		return err
	}
	c.tr = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: cfg, ResponseHeaderTimeout: ep.Timeout}
	c.url = "https://" + net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port)) + "/wsman"
	return nil
}

// Post sends one SOAP message; its results and errors read like
// masterzen's own transport's.
func (c *CertTransport) Post(_ *winrm.Client, m *soap.SoapMessage) (string, error) {
	req, err := http.NewRequest("POST", c.url, strings.NewReader(m.String()))
	if err != nil {
		return "", fmt.Errorf("impossible to create http request %w", err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("Authorization", "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual")
	resp, err := (&http.Client{Transport: c.tr}).Do(req)
	if err != nil && strings.Contains(err.Error(), "protocol version") {
		return "", fmt.Errorf("client-certificate authentication needs TLS 1.2 on the host (Go cannot answer TLS 1.3 post-handshake authentication), and the host refused TLS 1.2: %w", err)
	}
	if err != nil {
		return "", fmt.Errorf("unknown error %w", err)
	}
	return readSOAP(resp)
}
