package winrm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/wsman"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/guests/transport/winrm"
)

func run(t *testing.T, c *winrm.Client, cmd string) transport.Result {
	t.Helper()
	r, err := c.Run(context.Background(), transport.Command{Cmd: cmd, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("run %q: %v", cmd, err)
	}
	return r
}

func TestRunExitStatusIsDataAndOutputIsUTF8(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	r := run(t, c, "Write-Output 'héllo ✓ 日本';exit 3")
	if r.Exit != 3 || string(r.Stdout) != "héllo ✓ 日本\r\n" || len(r.Stderr) != 0 {
		t.Fatalf("got exit %d stdout %q stderr %q", r.Exit, r.Stdout, r.Stderr)
	}
	if r := run(t, c, winrm.ReadyProbe); r.Exit != 0 {
		t.Fatalf("probe exit %d", r.Exit)
	}
}

func TestStderrCLIXMLIsDecoded(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	r := run(t, c, "Get-Nothing -Now")
	if r.Exit != 1 {
		t.Fatalf("exit %d, want 1", r.Exit)
	}
	e := string(r.Stderr)
	if strings.Contains(e, "CLIXML") || strings.Contains(e, "_x000D_") || !strings.Contains(e, "Get-Nothing : The term 'Get-Nothing' is not recognized") {
		t.Fatalf("stderr not decoded: %q", e)
	}
	r = run(t, c, "Write-Error 'disk_1 is read-only'")
	if r.Exit != 1 || !strings.HasPrefix(string(r.Stderr), "disk_1 is read-only\r\n") {
		t.Fatalf("Write-Error: exit %d stderr %q", r.Exit, r.Stderr)
	}
}

func TestPinnedCertificateMismatchIsSecurityError(t *testing.T) {
	s := startServer(t, nil)
	other, err := wsman.NewTLSMaterial()
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config()
	cfg.CertSHA256 = winrm.CertFingerprint(other.ServerCertDER)
	_, err = winrm.Dial(context.Background(), cfg)
	hk, ok := errors.AsType[*transport.HostKeyError](err)
	if !ok || drivers.ClassOf(err) != drivers.ClassSecurity || !strings.Contains(err.Error(), "SECURITY: TLS certificate for") {
		t.Fatalf("err = %v (class %v), want a SECURITY HostKeyError", err, drivers.ClassOf(err))
	}
	if hk.Got != s.pin || hk.Want != cfg.CertSHA256 {
		t.Fatalf("want/got = %s/%s", hk.Want, hk.Got)
	}
	if n := s.run.Server.ShellCount(); n != 0 {
		t.Fatalf("%d shells created through an unpinned channel", n)
	}
	cfg.CertSHA256 = ""
	if _, err := winrm.Dial(context.Background(), cfg); drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("no pin: err %v, want an input error", err)
	}
}

func TestWrongCredentialsIsAuthError(t *testing.T) {
	s := startServer(t, nil)
	for _, auth := range []winrm.Auth{winrm.AuthNTLM, winrm.AuthBasic} {
		cfg := s.config()
		cfg.Auth = auth
		cfg.Password = "wrong"
		_, err := winrm.Dial(context.Background(), cfg)
		if _, ok := errors.AsType[*transport.AuthError](err); !ok || drivers.ClassOf(err) != drivers.ClassInput {
			t.Fatalf("auth %d: err = %v, want an AuthError of class input", auth, err)
		}
		if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "invalid content type") {
			t.Fatalf("error leaks the password or masterzen's text: %v", err)
		}
		cfg.Password = testPass
		c := dial(t, cfg)
		if r := run(t, c, "exit 0"); r.Exit != 0 {
			t.Fatalf("auth %d: exit %d", auth, r.Exit)
		}
	}
}

func TestUpload64MiBAndDownload16MiB(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	data := make([]byte, 64<<20+12345)
	_, _ = rand.Read(data)
	path := `C:\Windows\Temp\vc it's ‘odd’.bin`
	s.guest.PutFile(`C:\Windows\Temp\marker`, nil)
	start := time.Now()
	if err := c.Upload(context.Background(), path, bytes.NewReader(data), 0o644); err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	got, ok := s.guest.File(path)
	if !ok || !bytes.Equal(got, data) {
		t.Fatalf("guest file: present %v, %d bytes, equal %v", ok, len(got), bytes.Equal(got, data))
	}
	for _, f := range s.guest.Files() {
		if strings.Contains(f, ".vcupload-") {
			t.Fatalf("temporary file left behind: %s", f)
		}
	}
	small := data[:16<<20+7]
	s.guest.PutFile(`C:\down.bin`, small)
	start = time.Now()
	var out bytes.Buffer
	if err := c.Download(context.Background(), `C:\down.bin`, &out); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(small) {
		t.Fatalf("downloaded %d bytes, content differs", out.Len())
	}
	t.Logf("upload 64 MiB %s, download 16 MiB %s", up.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

func TestUploadAndDownloadFailures(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	err := c.Download(context.Background(), `C:\nope.txt`, new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), "Could not find file 'C:\\nope.txt'") {
		t.Fatalf("download of a missing file: %v", err)
	}
	err = c.Upload(context.Background(), `Q:\no\such\dir\f.txt`, strings.NewReader("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "Could not find a part of the path") {
		t.Fatalf("upload into a missing directory: %v", err)
	}
}

func TestEmptyUpload(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	if err := c.Upload(context.Background(), `C:\empty.txt`, strings.NewReader(""), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, ok := s.guest.File(`c:\EMPTY.txt`); !ok || len(b) != 0 {
		t.Fatalf("empty file: %v %q", ok, b)
	}
}

// Two thousand commands over shells the server retires after 250
// commands, recycled before the quota (RecycleAfter 200); then 600
// recycled only on the quota fault (RecycleAfter above it). Four at a
// time.
func TestTwoThousandCommandsAcrossShellRecycling(t *testing.T) {
	for _, tc := range []struct {
		name         string
		commands     int
		recycleAfter int
		quotaRetries bool
	}{{"recycle-before-quota", 2000, 200, false}, {"recycle-on-quota-fault", 600, 1000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(c *wsman.Config) { c.MaxShellLifetimeCommands = 250 })
			cfg := s.config()
			cfg.RecycleAfter = tc.recycleAfter
			c := dial(t, cfg)
			start := time.Now()
			var wg sync.WaitGroup
			n := tc.commands
			errs := make(chan error, n)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 4 {
						want := fmt.Sprintf("n%d", i)
						r, err := c.Run(context.Background(), transport.Command{Cmd: "Write-Output '" + want + "';exit " + fmt.Sprint(i%7)})
						if err != nil || r.Exit != i%7 || string(r.Stdout) != want+"\r\n" {
							errs <- fmt.Errorf("command %d: exit %d stdout %q err %v", i, r.Exit, r.Stdout, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			st := c.Stats()
			t.Logf("%s: %d commands in %s, stats %+v", tc.name, n, time.Since(start).Round(time.Millisecond), st)
			if st.Shells < n/250 || (st.QuotaRetries > 0) != tc.quotaRetries {
				t.Fatalf("stats %+v: want at least 8 shells, quota retries %v", st, tc.quotaRetries)
			}
			c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for s.run.Server.ShellCount() != 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := s.run.Server.ShellCount(); n != 0 {
				t.Fatalf("%d shells left on the server", n)
			}
		})
	}
}

func TestDeadlineTerminatesRemoteCommand(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	start := time.Now()
	_, err := c.Run(context.Background(), transport.Command{Cmd: "Start-Sleep -Seconds 60", Timeout: 500 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Run returned after %s", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, term := s.guest.Counts(); term == 1 && s.run.Server.CommandCount() == 0 {
			break
		}
		if time.Now().After(deadline) {
			_, term := s.guest.Counts()
			t.Fatalf("the guest saw %d terminations, %d commands remain", term, s.run.Server.CommandCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := c.Stats(); st.Terminated != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The shell is still usable.
	if r := run(t, c, "exit 5"); r.Exit != 5 {
		t.Fatalf("exit %d", r.Exit)
	}
}

func TestCancelledContextMidRun(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.guest.Sleeping(); cancel() }()
	_, err := c.Run(ctx, transport.Command{Cmd: "Start-Sleep -Seconds 60"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, term := s.guest.Counts(); term != 1; _, term = s.guest.Counts() {
		if time.Now().After(deadline) {
			t.Fatal("the guest never saw the terminate")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerDropsConnection(t *testing.T) {
	s := startServer(t, nil)
	p := newDropProxy(t, s.addr)
	cfg := s.config()
	cfg.Addr = p.Addr()
	cfg.ConnectTimeout = 2 * time.Second
	c := dial(t, cfg)
	go func() { <-s.guest.Sleeping(); p.Drop() }()
	start := time.Now()
	r, err := c.Run(context.Background(), transport.Command{Cmd: "Start-Sleep -Seconds 60"})
	if err == nil || !winrm.IsNetwork(err) {
		t.Fatalf("Run = exit %d, err %v; want a network error", r.Exit, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s to notice", d)
	}
	if _, err := c.Run(context.Background(), transport.Command{Cmd: "exit 0"}); !winrm.IsNetwork(err) {
		t.Fatalf("after the drop: %v", err)
	}
}

func TestStdinReachesCommand(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	// The append script reads stdin: a chunk written through Run.
	r, err := c.Run(context.Background(), transport.Command{
		Cmd:   winrm.Param(winrm.ScriptAppend, "t", `C:\in.txt`, "m", "Create"),
		Stdin: strings.NewReader("aGVsbG8="),
	})
	if err != nil || r.Exit != 0 {
		t.Fatalf("exit %d err %v stderr %q", r.Exit, err, r.Stderr)
	}
	if b, _ := s.guest.File(`C:\in.txt`); string(b) != "hello" {
		t.Fatalf("file %q", b)
	}
}

func TestScriptTooLongIsInputError(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	_, err := c.Run(context.Background(), transport.Command{Cmd: "Write-Output '" + strings.Repeat("x", 3000) + "'"})
	if drivers.ClassOf(err) != drivers.ClassInput || !strings.Contains(err.Error(), "-EncodedCommand") {
		t.Fatalf("err = %v", err)
	}
}

// A script that fits cmd.exe's 8191-character command line once encoded
// (the Windows inventory script is about 2700 characters) must run: the
// bound is the command line Windows enforces, not a guess below it.
func TestScriptUpToTheCommandLineLimitRuns(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	long := "Write-Output '" + strings.Repeat("x", 2900) + "'"
	if n := len(winrm.CommandLine(long)); n > winrm.MaxCommandLine {
		t.Fatalf("test script makes a %d-character command line", n)
	}
	r := run(t, c, long)
	if r.Exit != 0 || len(r.Stdout) != 2902 {
		t.Fatalf("exit %d, %d bytes of stdout", r.Exit, len(r.Stdout))
	}
}

func TestClosedClient(t *testing.T) {
	s := startServer(t, nil)
	c := dial(t, s.config())
	c.Close()
	if _, err := c.Run(context.Background(), transport.Command{Cmd: "exit 0"}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.run.Server.ShellCount() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.run.Server.ShellCount(); n != 0 {
		t.Fatalf("Close left %d shells", n)
	}
}

func TestRegisteredDialer(t *testing.T) {
	s := startServer(t, nil)
	d, ok := transport.DialerFor("winrm")
	if !ok {
		t.Fatal("winrm dialer not registered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x, detail, err := d(ctx, s.addr, transport.Access{User: testUser, Password: testPass, HostKey: s.pin})
	if err != nil {
		t.Fatalf("%v (%s)", err, detail)
	}
	x.Close()
	// A password still refused at the deadline is reported as such.
	actx, acancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer acancel()
	_, _, err = d(actx, s.addr, transport.Access{User: testUser, Password: "nope", HostKey: s.pin})
	if _, ok := errors.AsType[*transport.AuthError](err); !ok || drivers.ClassOf(err) != drivers.ClassInput {
		t.Fatalf("wrong password: %v (class %v)", err, drivers.ClassOf(err))
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`C:\a b`:   `'C:\a b'`,
		`it's`:     `'it''s'`,
		"‘x’":      "'‘‘x’’'",
		"$env:X`n": "'$env:X`n'",
	} {
		if got := winrm.Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

// A command running longer than the Receive long poll: the w:TimedOut
// fault is retried, not mistaken for an end or an error.
func TestLongPollTimeoutIsRetried(t *testing.T) {
	s := startServer(t, nil)
	cfg := s.config()
	cfg.OperationTimeout = time.Second
	c := dial(t, cfg)
	r := run(t, c, "Start-Sleep -Seconds 2;Write-Output 'late';exit 6")
	if r.Exit != 6 || string(r.Stdout) != "late\r\n" || r.Duration < 2*time.Second {
		t.Fatalf("exit %d stdout %q after %s", r.Exit, r.Stdout, r.Duration)
	}
}
