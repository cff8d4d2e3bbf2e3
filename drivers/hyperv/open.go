package hyperv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/masterzen/winrm"

	"github.com/virtcert/virtcert/drivers"
)

// Open connects to a Hyper-V host. uri is https://host[:5986]/wsman,
// http://host:5985/wsman (NTLM with every message sealed; never Basic),
// or "local" to run on this Windows host without WinRM.
func Open(ctx context.Context, uri string, opts drivers.OpenOptions) (drivers.Host, error) {
	if uri == "local" || uri == "local:" {
		ex, err := newLocalExecutor()
		if err != nil {
			return nil, err
		}
		h, err := OpenExecutor(ctx, ex, uri, opts.Extra)
		if err != nil {
			_ = ex.Close()
			return nil, err
		}
		return h, nil
	}
	ex, err := DialWinRM(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	h, err := OpenExecutor(ctx, ex, uri, opts.Extra)
	if err != nil {
		_ = ex.Close()
		return nil, err
	}
	return h, nil
}

// winrmExecutor runs commands in a WinRS shell that it recycles (each
// masterzen Run* call would create and delete a shell): a shell runs at
// most recycleAfter commands (shell.go).
type winrmExecutor struct {
	c            *winrm.Client
	addr         string
	recycleAfter int

	mu      sync.Mutex
	cur     *shellRef
	created int // shells created (tests)
	retried int // commands retried on a fresh shell after a quota fault
}

// DialWinRM connects to a WinRM endpoint and opens a shell.
func DialWinRM(ctx context.Context, uri string, opts drivers.OpenOptions) (Executor, error) {
	op := "hyperv open " + drivers.RedactURI(uri)
	u, https, port, err := winrmURI(op, uri)
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(opts.Extra)
	if err != nil {
		return nil, err
	}
	auth := o.Auth
	if auth == "" {
		auth = "ntlm"
		if opts.ClientCertFile != "" {
			auth = "cert"
		}
	}
	ca, cert, key, decorate, err := winrmAuth(op, auth, https, opts)
	if err != nil {
		return nil, err
	}
	params := winrm.NewParameters("PT60S", "en-US", 153600)
	params.TransportDecorator = checked(decorate)
	// The response-header timeout must outlast the WinRS OperationTimeout
	// (PT60S above), after which a Receive returns w:TimedOut and the
	// library polls again.
	ep := winrm.NewEndpoint(u.Hostname(), port, https, opts.Insecure, ca, cert, key, 90*time.Second)
	user, pass := opts.Username, opts.Password.Reveal()
	if auth == "cert" {
		user, pass = "", ""
	}
	c, err := winrm.NewClientWithParameters(ep, user, pass, params)
	if err != nil {
		return nil, drivers.Wrap(drivers.ClassInput, op, errors.New("TLS client material rejected"))
	}
	ex := &winrmExecutor{c: c, addr: u.Host, recycleAfter: o.ShellCommands}
	r, err := ex.acquire(ctx)
	if err != nil {
		return nil, err
	}
	ex.release(r, false)
	return ex, nil
}

// winrmURI checks a WinRM endpoint URI and returns it parsed, whether it
// is https and its port (5986 for https, 5985 for http, unless given).
func winrmURI(op, uri string) (u *url.URL, https bool, port int, err error) {
	u, err = url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, false, 0, drivers.Errorf(drivers.ClassInput, "hyperv open", "bad URI %q: want https://host:5986/wsman (credentials go in username_env/password_env, never in the URI)", drivers.RedactURI(uri))
	}
	if u.Path != "/wsman" && u.Path != "" {
		return nil, false, 0, drivers.Errorf(drivers.ClassInput, op, "path %q: the WinRM endpoint is /wsman", u.Path)
	}
	port = 5985
	switch u.Scheme {
	case "https":
		https, port = true, 5986
	case "http":
		// Plain http is spoken only with NTLM message encryption
		// (SealedTransport); winrmAuth refuses Basic and cert over it.
	default:
		return nil, false, 0, drivers.Errorf(drivers.ClassInput, op, "scheme %q: want https (or http, NTLM-sealed)", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, false, 0, drivers.Errorf(drivers.ClassInput, op, "bad port %q", p)
		}
	}
	return u, https, port, nil
}

// winrmAuth reads the TLS material of opts and checks the credentials
// that auth needs; decorate is the transport of the auth (nil for basic).
func winrmAuth(op, auth string, https bool, opts drivers.OpenOptions) (ca, cert, key []byte, decorate func() winrm.Transporter, err error) {
	if opts.CACertFile != "" {
		if ca, err = os.ReadFile(opts.CACertFile); err != nil {
			return nil, nil, nil, nil, drivers.Wrap(drivers.ClassInput, op+": ca_cert", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "ca_cert %s holds no PEM certificate", opts.CACertFile)
		}
	}
	switch auth {
	case "cert":
		if !https {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "client-certificate authentication needs https")
		}
		if opts.ClientCertFile == "" || opts.ClientKeyFile == "" {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "auth cert needs client_cert and client_key")
		}
		if cert, err = os.ReadFile(opts.ClientCertFile); err != nil {
			return nil, nil, nil, nil, drivers.Wrap(drivers.ClassInput, op+": client_cert", err)
		}
		if key, err = os.ReadFile(opts.ClientKeyFile); err != nil {
			return nil, nil, nil, nil, drivers.Wrap(drivers.ClassInput, op+": client_key", err)
		}
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "client_cert/client_key do not form a key pair")
		}
		decorate = func() winrm.Transporter { return &CertTransport{} }
	case "ntlm", "basic":
		if opts.Username == "" || opts.Password.Reveal() == "" {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "auth %s needs a user name and a password (username_env / password_env or password_file)", auth)
		}
		if auth == "basic" && !https {
			return nil, nil, nil, nil, drivers.Errorf(drivers.ClassInput, op, "auth basic over plain http would send the password readable: use auth ntlm (messages are then sealed) or https")
		}
		user, pass := opts.Username, opts.Password.Reveal()
		switch {
		case auth == "ntlm" && https:
			decorate = func() winrm.Transporter { return &NTLMTransport{User: user, Password: pass} }
		case auth == "ntlm":
			decorate = func() winrm.Transporter { return &SealedTransport{User: user, Password: pass} }
		}
	}
	return ca, cert, key, decorate, nil
}

// within runs f under ctx (drivers.Within): the library ignores contexts.
func within[T any](ctx context.Context, f func() (T, error)) (T, error) {
	v, err, _ := drivers.Within(ctx, f)
	return v, err
}

var httpStatusRE = regexp.MustCompile(`http (?:response )?error:? (\d{3})`)

// classifyWinRM gives connection errors one clear message and a class.
// The library reports a 401 as "invalid content type"; TLS failures come
// wrapped with %w, so errors.As finds them.
func classifyWinRM(op string, err error) error {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.Is(err, ErrBasicRefused):
		return drivers.Wrap(drivers.ClassSecurity, op, ErrBasicRefused)
	case sealRefusal(err):
		return drivers.Errorf(drivers.ClassSecurity, op, "SECURITY: %v", err)
	case errors.As(err, &ua), errors.As(err, &cv) && errors.As(cv.Err, &ua):
		return drivers.Errorf(drivers.ClassSecurity, op, "the host's TLS certificate is not signed by a trusted CA (name the CA with ca_cert; insecure: true only for throw-away tests)")
	case errors.As(err, &he):
		return drivers.Errorf(drivers.ClassSecurity, op, "the host's TLS certificate is not valid for this host name: %v", he)
	case errors.As(err, &ci):
		return drivers.Errorf(drivers.ClassSecurity, op, "the host's TLS certificate is invalid: %v", ci)
	case errors.As(err, &cv):
		return drivers.Errorf(drivers.ClassSecurity, op, "the host's TLS certificate failed verification: %v", cv.Err)
	}
	if m := httpStatusRE.FindStringSubmatch(err.Error()); m != nil {
		switch m[1] {
		case "401":
			return drivers.Errorf(drivers.ClassInput, op, "the host refused the credentials (HTTP 401): check the user name, the password, and the auth method (ntlm/basic; Basic must be enabled on the WinRM service)")
		case "403":
			return drivers.Errorf(drivers.ClassInput, op, "the host refused access (HTTP 403): the user must be in Remote Management Users (or Administrators)")
		}
		return drivers.Errorf(drivers.ClassHost, op, "WinRM answered HTTP %s", m[1])
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return drivers.Errorf(drivers.ClassHost, op, "cannot reach the WinRM endpoint: %v", err)
	}
	return drivers.Errorf(drivers.ClassHost, op, "%v", err)
}

// Interface guard.
var _ Executor = (*winrmExecutor)(nil)
