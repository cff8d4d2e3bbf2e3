package resolve

// Transport kinds (transport.RegisterDialer names).
const (
	TransportSSH   = "ssh"
	TransportWinRM = "winrm"
)

// TransportFor is how checks reach a guest, decided in this one place by
// the image's OS: a Windows guest over WinRM (HTTPS, the harness's
// per-guest certificate pinned), any other over the driver's transport
// (SSH, its host key pinned). The driver only says how its Linux guests
// are reached; it never decides for a Windows image.
func TransportFor(imageOS, driverTransport string) string {
	if imageOS == "windows" {
		return TransportWinRM
	}
	if driverTransport == "" {
		return TransportSSH
	}
	return driverTransport
}
