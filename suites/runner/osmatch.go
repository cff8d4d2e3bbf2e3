package runner

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/resolve"
)

// neverReady is the classified error of a first dial that failed: a
// changed identity is a security error; a WinRM login refused past
// readiness's retries is bad input naming the image's user setting (the
// harness made the password, so a refusal means the image's
// cloudbase-init logs in another account or never set it); a guest that
// never answered its transport but answers the other OS's is bad input
// naming images.<name>.os; any other never-answered guest is the guest's
// fault (FAIL at readiness), with what its other port said as evidence.
func (s *session) neverReady(ctx context.Context, detail string, err error) error {
	if _, ok := errors.AsType[*transport.HostKeyError](err); ok {
		return drivers.Wrap(drivers.ClassSecurity, "guest "+s.g.Name(), err)
	}
	if _, ok := errors.AsType[*transport.AuthError](err); ok && s.kind == resolve.TransportWinRM {
		return &drivers.Error{Class: drivers.ClassInput, Op: fmt.Sprintf(
			"images.%s.user: guest %s at %s refused the WinRM login as %q with the password its config drive set (cloudbase-init's username must be the image's user, and SetUserPasswordPlugin must run: README \"Image prerequisites\")",
			s.image, s.g.Name(), s.addr, s.access.User), Err: err}
	}
	what := fmt.Sprintf("guest %s at %s never answered %s (%s)", s.g.Name(), s.addr, strings.ToUpper(s.kind), detail)
	sctx, cancel := context.WithTimeout(ctx, 6*time.Second)
	defer cancel()
	other, mismatch := s.otherOS(sctx)
	if mismatch {
		return drivers.Errorf(drivers.ClassInput, "images."+s.image+".os", "the plan says os: %s, but %s; %s", s.guestOS, what, other)
	}
	if other != "" {
		what += "; " + other
	}
	// Not answering within the ready timeout is the guest's fault (the
	// caller tells an interrupted run apart).
	return guestFault(what, err)
}

// otherOS asks the guest's address what the other OS family's transport
// says: for a Windows plan, the SSH banner on port 22; for a Linux plan,
// a WS-Management listener on 5985 or 5986. mismatch is true when the
// answer shows the other OS (only for the ssh and winrm transports, and
// only when askOther) (a Windows OpenSSH banner is Windows, not a
// mismatch); what describes the answer ("" when nothing answered).
func (s *session) otherOS(ctx context.Context) (what string, mismatch bool) {
	if !s.askOther || (s.kind != resolve.TransportWinRM && s.kind != resolve.TransportSSH) {
		return "", false
	}
	host := s.addr
	if h, _, err := net.SplitHostPort(s.addr); err == nil {
		host = h
	}
	dial := s.access.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	if s.kind == resolve.TransportWinRM {
		banner := sshBanner(ctx, dial, net.JoinHostPort(host, "22"))
		switch {
		case banner == "":
			return "", false
		case strings.Contains(strings.ToLower(banner), "windows"):
			return fmt.Sprintf("its SSH port answers as Windows (%q), so WinRM is what is missing", banner), false
		}
		return fmt.Sprintf("its SSH port answers as a system other than Windows (%q): is the image Linux? Set images.%s.os: linux, or point images.%[2]s.path at the Windows image", banner, s.image), true
	}
	for _, port := range []string{"5985", "5986"} {
		if auth := wsmanListener(ctx, dial, net.JoinHostPort(host, port)); auth != "" {
			return fmt.Sprintf("it answers WS-Management on port %s (HTTP 401, WWW-Authenticate: %s): is the image Windows? Set images.%s.os: windows", port, auth, s.image), true
		}
	}
	return "", false
}

// sshBanner returns the SSH identification line the server at addr sends
// first (RFC 4253 4.2: "SSH-2.0-software comments"), "" when none comes.
func sshBanner(ctx context.Context, dial drivers.DialFunc, addr string) string {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	line, err := bufio.NewReaderSize(c, 256).ReadSlice('\n')
	if err != nil || !strings.HasPrefix(string(line), "SSH-") {
		return ""
	}
	return reports.Clean(strings.TrimSpace(string(line)))
}

// wsmanListener says whether addr serves WS-Management: an
// unauthenticated POST to /wsman is refused with 401 naming the
// authentication schemes, as WinRM answers. It returns those schemes, ""
// when addr is no WinRM listener. No credential is ever sent: port 5986
// is asked over TLS without verifying the certificate, which is safe
// only because nothing but an empty request reaches it and its answer
// only names what listens there.
func wsmanListener(ctx context.Context, dial drivers.DialFunc, addr string) string {
	tr := &http.Transport{DialContext: dial, DisableKeepAlives: true}
	scheme := "http"
	if strings.HasSuffix(addr, ":5986") {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // identification only, see above
	}
	defer tr.CloseIdleConnections()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, scheme+"://"+addr+"/wsman", nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	auth := strings.Join(resp.Header.Values("WWW-Authenticate"), ", ")
	if resp.StatusCode != http.StatusUnauthorized || auth == "" {
		return ""
	}
	return reports.Clean(auth)
}
