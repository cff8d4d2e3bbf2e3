package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/transport"
	vssh "github.com/virtcert/virtcert/guests/transport/ssh"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/suites"
)

// guestConn is one provisioned (or existing) guest, connected.
type guestConn struct {
	g       drivers.Guest
	spec    drivers.GuestSpec
	addr    string
	cfg     vssh.Config
	os      transport.Transport
	helper  string
	hostKey xssh.PublicKey
	retries int // transient provisioning failures retried
}

// setupErr is a target setup failure with its class and the verdict its
// checks get.
type setupErr struct {
	err    error
	status reports.Status // Fail (guest fault) or Error (host/harness)
}

func guestFault(op string, err error) *setupErr {
	return &setupErr{err: drivers.Wrap(drivers.ClassGuest, op, err), status: reports.Fail}
}

func classify(op string, err error) *setupErr {
	err = drivers.Wrap(drivers.ClassHost, op, err)
	st := reports.Error
	if drivers.ClassOf(err) == drivers.ClassGuest {
		st = reports.Fail
	}
	return &setupErr{err: err, status: st}
}

// target runs one host × image pair from start to destroy.
func (r *runner) target(ctx context.Context, pr plan.Pair) *reports.Target {
	id := pr.ID()
	t := &reports.Target{ID: id, Host: pr.Host, Image: pr.Image, Results: []*reports.Result{}, Started: r.opt.Now().UTC()}
	if img := r.p.Images[pr.Image]; img != nil {
		t.Compare = img.CompareAs
	}
	if prev := r.prev[id]; prev != nil {
		// Resumed: keep what finished.
		t.Started, t.Results, t.Artifacts = prev.Started, append(t.Results, prev.Results...), prev.Artifacts
		t.Guest, t.HostInfo, t.Profile = prev.Guest, prev.HostInfo, prev.Profile
	}
	if ctx.Err() != nil {
		return t // interrupted before this target started: nothing recorded
	}
	img := r.p.Images[pr.Image]
	hp := r.p.Hosts[pr.Host]
	rel := path.Dir(bundle.ArtifactPath(id, "x"))
	dir := filepath.Join(r.opt.Out, filepath.FromSlash(rel))
	_ = r.dir.MkdirAll(rel, 0o755)
	sink := r.opt.Sink.Target(id)

	h, info, err := r.host(ctx, pr.Host)
	if err != nil && ctx.Err() != nil {
		return t
	}
	t.HostInfo = info
	// insecure: true is the plan's word, known even when the open failed:
	// every report shows it (drivers.HostInfo.TLSUnverified).
	t.HostInfo.TLSUnverified = hp != nil && hp.Insecure
	if err == nil {
		t.Profile, err = r.profileName(hp, info)
	}
	r.journal(journal.Record{Type: journal.TargetStarted, Target: id, Host: pr.Host, Image: pr.Image, Compare: t.Compare, Profile: t.Profile, HostInfo: &t.HostInfo})
	if err != nil {
		r.setupFailed(t, nil, classify("host "+pr.Host, err))
		return r.finish(t)
	}
	prof, err := r.profile(t.Profile)
	if err != nil {
		r.setupFailed(t, nil, &setupErr{err: drivers.Wrap(drivers.ClassInput, "profile", err), status: reports.Error})
		return r.finish(t)
	}

	// Select: what applies runs; what does not is SKIPped with the reason.
	var todo []suites.Check
	needPeer := false
	for _, c := range r.selected() {
		if r.done[id][c.ID] {
			continue
		}
		if ok, why := c.AppliesTo(info.Hypervisor, img.OS); !ok {
			r.record(ctx, t, &reports.Result{Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Status: reports.Skip, Reason: why, Started: time.Now()})
			continue
		}
		todo = append(todo, c)
		needPeer = needPeer || contains(c.Needs, suites.NeedPeer)
	}
	if len(todo) == 0 {
		r.progress(id, "nothing to run")
		t.Finished = r.opt.Now().UTC()
		return r.finish(t)
	}

	var cleanups []func()
	failed := false
	defer func() {
		sink.Done(t.Verdict(!t.Finished.IsZero()))
	}()
	defer func() {
		// Destroy in reverse order, on a context the run's cancellation
		// does not reach, but bounded.
		keep := r.opt.KeepOnFailure && failed
		if keep {
			return
		}
		sink.Phase(progress.Teardown)
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		r.journal(journal.Record{Type: journal.TargetDestroyed, Target: id})
	}()

	start := time.Now()
	sink.Phase(progress.Provisioning)
	gc, serr := r.provision(ctx, h, hp, img, pr, "", &cleanups)
	if serr != nil && ctx.Err() != nil {
		// Interrupted while setting up: nothing ran, nothing to record;
		// the target stays unfinished (INCOMPLETE) for --resume.
		return t
	}
	if serr != nil {
		// Setup failures are always cleaned up: there is no connection
		// to hand over for debugging (the console log is kept).
		r.setupFailed(t, todo, serr)
		if gc != nil {
			r.saveConsole(gc.g, dir, t)
		}
		return r.finish(t)
	}
	t.Guest = reports.GuestInfo{Name: gc.g.Name(), Address: gc.addr, ImagePath: img.Path, BootSeconds: time.Since(start).Seconds(),
		Config: map[string]string{"cpus": strconv.Itoa(img.CPUs), "memory_mb": strconv.Itoa(img.MemoryMB),
			"nic_model": orDefault(img.NICModel, "paravirtual"), "disk_bus": orDefault(img.DiskBus, "paravirtual"),
			"firmware": img.Firmware, "accel": info.Accel, "profile": t.Profile}}
	if gc.retries > 0 {
		t.Guest.Config["provision_retries"] = strconv.Itoa(gc.retries)
	}
	r.fingerprint(ctx, gc, img, t)
	r.progress(id, "guest %s ready at %s after %.1fs (%s, %s)", gc.g.Name(), gc.addr, t.Guest.BootSeconds, orDefault(t.Guest.Distro, "unknown distro"), orDefault(t.Guest.Kernel, "unknown kernel"))
	r.journal(journal.Record{Type: journal.TargetProvisioned, Target: id, Guest: &t.Guest, Resources: []string{"guest " + gc.g.Name()}})

	tg := &suites.Target{Host: h, HostInfo: info, Guest: gc.g, Spec: gc.spec, Address: gc.addr, OS: gc.os, Profile: prof,
		Controller: controllerFor(gc.addr, info), Helper: gc.helper}
	tg.Reconnect = func(ctx context.Context) (transport.Transport, error) {
		return r.reconnect(ctx, gc)
	}

	// The peer, when a selected check needs one. peerSt is what the peer
	// checks become without one: SKIP when the plan asks for no peer,
	// ERROR when the peer or its host could not be provisioned (the
	// host broke; nothing was learnt about the guest).
	peerWhy, peerSt := "", reports.Skip
	switch {
	case !needPeer:
	case r.p.Peer == plan.PeerNone:
		peerWhy = "plan sets peer: none"
	default:
		// "provision": a second guest of this target's own image on its
		// host. HOST/IMAGE (a matrix target): a guest of that image on
		// that host, e.g. a Linux peer for a Windows image, or an
		// existing machine. It is this target's own peer, named after
		// this target, so targets that share a peer image never share a
		// guest.
		ph, pi, php, pimg, peerHost := pr.Host, pr.Image, hp, img, h
		if r.p.Peer != plan.PeerProvision {
			ph, pi, _ = strings.Cut(r.p.Peer, "/")
			php, pimg = r.p.Hosts[ph], r.p.Images[pi]
		}
		r.progress(id, "provisioning a peer guest (%s/%s) for two-guest checks", ph, pi)
		var herr error
		if ph != pr.Host {
			peerHost, _, herr = r.host(ctx, ph)
		}
		if herr != nil {
			peerWhy, peerSt = "peer host "+ph+": "+herr.Error(), reports.Error
		} else if pc, perr := r.provision(ctx, peerHost, php, pimg, pr, "-peer", &cleanups); perr != nil {
			peerWhy, peerSt = "peer guest ("+ph+"/"+pi+"): "+perr.err.Error(), reports.Error
		} else {
			tg.Peer = &suites.Peer{Guest: pc.g, Address: pc.addr, OS: pc.os, Helper: pc.helper}
		}
	}

	sink.Checks(len(todo))
	sink.Phase(progress.Running)
	dead := "" // why the guest can no longer be checked
	deadSt := reports.Status("")
	for _, c := range todo {
		if ctx.Err() != nil {
			break
		}
		if dead != "" {
			r.record(ctx, t, &reports.Result{Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Status: deadSt, Reason: "not run: " + dead, Started: time.Now()})
			continue
		}
		if contains(c.Needs, suites.NeedPeer) && tg.Peer == nil {
			r.record(ctx, t, &reports.Result{Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title, Status: peerSt, Reason: peerWhy, Started: time.Now()})
			continue
		}
		if r.p.Timeouts.Check > 0 && r.p.Timeouts.Check.D() < c.Timeout {
			c.Timeout = r.p.Timeouts.Check.D()
		}
		r.progress(id, "%s ...", c.ID)
		res := suites.Execute(ctx, c, tg)
		if ctx.Err() != nil && res.Status == reports.Error {
			// Interrupted: neither kept nor journalled, so the run reads
			// INCOMPLETE (not NOT CERTIFIED) and --resume runs it again.
			break
		}
		// A broken connection is retried: reconnect with backoff and run
		// the check once more (non-disruptive checks only: a disruptive
		// one may have changed the guest already).
		if res.Status == reports.Error && broken(tg.OS) {
			if why, st := r.guestGone(ctx, gc); why != "" {
				dead, deadSt = why, st
				res.Status, res.Reason = st, why+" during this check ("+res.Reason+")"
			} else if _, err := r.reconnectInto(ctx, tg, gc); err != nil {
				dead, deadSt = "lost the connection to the guest: "+err.Error(), reports.Error
				r.security(id, err)
			} else if !c.Disruptive {
				r.progress(id, "%s: connection dropped, retrying once", c.ID)
				again := suites.Execute(ctx, c, tg)
				again.Retries = res.Retries + 1
				res = again
			}
		} else if c.Disruptive {
			// After a reboot or link flap the old connection may be dead,
			// and a reboot empties /tmp: put the helper back.
			if x, err := r.reconnectInto(ctx, tg, gc); err == nil {
				if gc.helper != "" {
					hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					res, err := x.Run(hctx, transport.Command{Cmd: "test -x " + transport.Quote(gc.helper)})
					cancel()
					if err == nil && !res.OK() {
						tg.Helper = r.uploadHelper(ctx, id, x)
						gc.helper = tg.Helper
					}
				}
			} else {
				if why, st := r.guestGone(ctx, gc); why != "" {
					dead, deadSt = why, st
				} else if r.security(id, err) {
					dead, deadSt = "guest unreachable after "+c.ID+": "+err.Error(), reports.Error
				} else {
					dead, deadSt = "guest unreachable after "+c.ID+": "+err.Error(), reports.Fail
				}
			}
		}
		r.progress(id, "%s %s %s", c.ID, res.Status, res.Reason)
		sink.CheckDone(c.ID, res.Status)
		r.record(ctx, t, res)
	}
	if dead != "" {
		t.Error = dead
	}
	r.saveConsole(gc.g, dir, t)
	// Remove the helper: the existing driver's machine outlives the run.
	if gc.helper != "" && dead == "" {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = tg.OS.Run(cctx, transport.Command{Cmd: "rm -f " + transport.Quote(gc.helper)})
		cancel()
	}
	if tg.Peer != nil && tg.Peer.Helper != "" {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = tg.Peer.OS.Run(cctx, transport.Command{Cmd: "rm -f " + transport.Quote(tg.Peer.Helper)})
		cancel()
	}
	if ctx.Err() == nil {
		t.Finished = r.opt.Now().UTC()
	}
	c := t.Count()
	failed = c[reports.Fail] > 0 || c[reports.Error] > 0 || t.Error != ""
	if failed && r.opt.KeepOnFailure {
		r.keep(t, gc, dir)
	}
	return r.finish(t)
}

// security records a host key mismatch met while reconnecting (after a
// reboot): it stops the guest's checks and makes the run exit 2.
func (r *runner) security(id string, err error) bool {
	var hke *transport.HostKeyError
	if !errors.As(err, &hke) {
		return false
	}
	r.outMu.Lock()
	defer r.outMu.Unlock()
	if r.out.Setup == nil {
		r.out.Setup = &SetupError{}
	}
	r.out.Setup.Errs = append(r.out.Setup.Errs, drivers.Wrap(drivers.ClassSecurity, id, err))
	return true
}

// finish journals the end of a target (only when it ran to its end).
func (r *runner) finish(t *reports.Target) *reports.Target {
	if !t.Finished.IsZero() {
		r.journal(journal.Record{Type: journal.TargetFinished, Target: t.ID, Error: t.Error, Guest: &t.Guest, Artifacts: t.Artifacts})
	}
	return t
}

// record adds a result to the target and journals it.
func (r *runner) record(ctx context.Context, t *reports.Target, res *reports.Result) {
	for i, old := range t.Results {
		if old.Check == res.Check {
			t.Results[i] = res
			r.journal(journal.Record{Type: journal.CheckResult, Target: t.ID, Result: res})
			return
		}
	}
	t.Results = append(t.Results, res)
	r.journal(journal.Record{Type: journal.CheckResult, Target: t.ID, Result: res})
}

// setupFailed marks the target failed and gives each of its checks the
// setup verdict with the reason.
func (r *runner) setupFailed(t *reports.Target, todo []suites.Check, se *setupErr) {
	msg := reports.Clean(se.err.Error())
	t.Error = msg
	r.progress(t.ID, "setup failed: %s", msg)
	r.outMu.Lock()
	if r.out.Setup == nil {
		r.out.Setup = &SetupError{}
	}
	r.out.Setup.Errs = append(r.out.Setup.Errs, fmt.Errorf("%s: %w", t.ID, se.err))
	r.outMu.Unlock()
	if todo == nil {
		todo = r.selected()
	}
	for _, c := range todo {
		if r.done[t.ID][c.ID] {
			continue
		}
		r.record(context.Background(), t, &reports.Result{Check: c.ID, Area: c.Area, Priority: c.Priority, Title: c.Title,
			Status: se.status, Reason: "target setup failed: " + msg, Started: time.Now()})
	}
	t.Finished = r.opt.Now().UTC()
}

// provision creates one guest, waits for its address and SSH, and uploads
// the helper. Each created resource pushes its cleanup.
func (r *runner) provision(ctx context.Context, h drivers.Host, hp *plan.Host, img *plan.Image, pr plan.Pair, suffix string, cleanups *[]func()) (*guestConn, *setupErr) {
	name := r.guestName(pr, suffix)
	gc := &guestConn{}
	signer := r.client.Signer
	var sd []byte
	if hp.Driver == "existing" {
		// A machine that already runs: our key and its pinned host key
		// come from the plan.
		if img.KeyFile != "" {
			k, err := guests.LoadClientKey(img.KeyFile)
			if err != nil {
				return nil, &setupErr{err: drivers.Wrap(drivers.ClassInput, "key_file", err), status: reports.Error}
			}
			signer = k.Signer
		}
		var hk []byte
		if img.HostKey != "" {
			hk = []byte(img.HostKey)
		} else if img.HostKeyFile != "" {
			b, err := os.ReadFile(img.HostKeyFile)
			if err != nil {
				return nil, &setupErr{err: drivers.Wrap(drivers.ClassInput, "host_key_file", err), status: reports.Error}
			}
			hk = b
		} else {
			return nil, &setupErr{err: drivers.Errorf(drivers.ClassInput, "image "+pr.Image, "the existing driver needs host_key or host_key_file (host keys are always pinned)"), status: reports.Error}
		}
		k, err := parseHostKey(hk)
		if err != nil {
			return nil, &setupErr{err: drivers.Wrap(drivers.ClassInput, "image "+pr.Image+" host key", err), status: reports.Error}
		}
		gc.hostKey = k
	} else {
		hk, err := guests.NewHostKey(name)
		if err != nil {
			return nil, classify("host key", err)
		}
		gc.hostKey = hk.PublicKey()
		sd, err = buildSeed(name, img.User, r.client, hk, hp.NTPServers)
		if err != nil {
			return nil, &setupErr{err: drivers.Wrap(drivers.ClassInput, "seed", err), status: reports.Error}
		}
	}
	gc.spec = drivers.GuestSpec{Name: name, RunLabel: r.label, MemoryMB: img.MemoryMB, CPUs: img.CPUs, Seed: sd,
		NICModel: img.NICModel, DiskBus: img.DiskBus,
		Image: drivers.Image{Path: img.Path, Format: img.Format, OS: img.OS, Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline, Firmware: img.Firmware}}
	if img.Address != "" {
		gc.spec.Extra = map[string]string{"address": img.Address}
		if img.Port != 0 {
			gc.spec.Extra["port"] = strconv.Itoa(img.Port)
		}
	}
	id := pr.ID()
	r.progress(id, "provisioning %s", name)
	var g drivers.Guest
	retries, err := retry(ctx, 2, func(ctx context.Context) error {
		pctx, cancel := context.WithTimeout(ctx, r.p.Timeouts.Provision.D())
		defer cancel()
		var err error
		g, err = h.Provision(pctx, gc.spec)
		return err
	})
	if err != nil {
		return nil, classify("provision "+name, err)
	}
	if retries > 0 {
		r.progress(id, "provisioning succeeded after %d retr(ies)", retries)
		gc.retries = retries
	}
	gc.g = g
	grace := r.p.Timeouts.Destroy.D()
	*cleanups = append(*cleanups, func() {
		// Bounded even when the run was cancelled: Ctrl-C must still
		// remove the guest.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+60*time.Second)
		defer cancel()
		n, err := retryHost(dctx, func(ctx context.Context) error { return g.Destroy(ctx, grace) })
		if n > 0 {
			r.progress(id, "destroy %s: host did not answer, %d retr(ies)", g.Name(), n)
		}
		if err != nil {
			r.progress(id, "destroy %s failed: %s (virtcert sweep --run %s removes it)", g.Name(), reports.Clean(err.Error()), r.label)
			r.outMu.Lock()
			r.out.Leftovers = append(r.out.Leftovers, g.Name())
			r.outMu.Unlock()
		} else {
			r.progress(id, "destroyed %s", g.Name())
		}
	})

	rctx, cancel := context.WithTimeout(ctx, r.p.Timeouts.Ready.D())
	defer cancel()
	r.opt.Sink.Target(id).Phase(progress.Readiness)
	var addr string
	aRetries, err := retryHost(rctx, func(ctx context.Context) error {
		var err error
		addr, err = g.Address(ctx)
		return err
	})
	if aRetries > 0 {
		r.progress(id, "address of %s: host did not answer, %d retr(ies)", name, aRetries)
		gc.retries += aRetries
	}
	if err != nil {
		if ctx.Err() != nil {
			return gc, classify("address", ctx.Err())
		}
		if drivers.ClassOf(err) == drivers.ClassHost && (rctx.Err() == nil || aRetries > 0) {
			return gc, classify("address of "+name, err)
		}
		return gc, guestFault("guest "+name+" never got an address", err)
	}
	if img.Port != 0 && !strings.Contains(addr, ":") {
		addr = net.JoinHostPort(addr, strconv.Itoa(img.Port))
	}
	gc.addr = addr
	user := img.User
	if u, ok := h.(interface{ User() string }); ok && u.User() != "" {
		// The existing driver's URI (ssh://user@host) names the account
		// on that machine; it wins over the image's default user.
		user = u.User()
	}
	gc.cfg = vssh.Config{Addr: addr, User: user, Signer: signer, HostKey: gc.hostKey, HandshakeTimeout: 20 * time.Second}
	x, st, err := r.opt.Dial(rctx, gc.cfg)
	if err != nil {
		var hke *transport.HostKeyError
		switch {
		case errors.As(err, &hke):
			return gc, &setupErr{err: drivers.Wrap(drivers.ClassSecurity, "guest "+name, err), status: reports.Error}
		case ctx.Err() != nil:
			return gc, classify("ssh", ctx.Err())
		}
		return gc, guestFault(fmt.Sprintf("guest %s at %s never answered SSH (%s)", name, addr, st.Detail), err)
	}
	gc.os = x
	*cleanups = append(*cleanups, func() { gc.os.Close() })
	gc.helper = r.uploadHelper(ctx, id, x)
	if gc.helper == "" && r.opt.ProbePath != "" && broken(x) {
		// The connection died right after readiness (seen on the loaded
		// lab with dropbear): redial once and upload again.
		if nx, err := r.reconnect(ctx, gc); err == nil {
			x.Close()
			gc.os = nx
			gc.helper = r.uploadHelper(ctx, id, nx)
		}
	}
	return gc, nil
}

// uploadHelper copies vcprobe into the guest; "" when it is not available
// (checks that need it SKIP with their own reason).
func (r *runner) uploadHelper(ctx context.Context, id string, x transport.Transport) string {
	if r.opt.ProbePath == "" {
		return ""
	}
	f, err := os.Open(r.opt.ProbePath)
	if err != nil {
		r.progress(id, "vcprobe not available (%s): checks that need it will SKIP", reports.Clean(err.Error()))
		return ""
	}
	defer f.Close()
	uctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := x.Upload(uctx, HelperPath, f, 0o755); err != nil {
		r.progress(id, "vcprobe upload failed (%s): checks that need it will SKIP", reports.Clean(err.Error()))
		return ""
	}
	return HelperPath
}

// reconnect dials the guest again (after a reboot or a dropped
// connection) within the ready timeout. A rebooted guest may come back
// with another DHCP lease, so between dial attempts the driver is asked
// for the address again.
func (r *runner) reconnect(ctx context.Context, gc *guestConn) (transport.Transport, error) {
	rctx, cancel := context.WithTimeout(ctx, r.p.Timeouts.Ready.D())
	defer cancel()
	attempt := min(20*time.Second, max(r.p.Timeouts.Ready.D()/4, 250*time.Millisecond))
	for {
		dctx, dcancel := context.WithTimeout(rctx, attempt)
		x, _, err := r.opt.Dial(dctx, gc.cfg)
		dcancel()
		if err == nil {
			if gc.os != nil {
				gc.os.Close()
			}
			gc.os = x
			return x, nil
		}
		var hke *transport.HostKeyError
		if errors.As(err, &hke) || rctx.Err() != nil {
			return nil, err
		}
		actx, acancel := context.WithTimeout(rctx, 10*time.Second)
		addr, aerr := gc.g.Address(actx)
		acancel()
		if aerr == nil && addr != "" {
			if _, _, e := net.SplitHostPort(addr); e != nil {
				if _, port, e := net.SplitHostPort(gc.cfg.Addr); e == nil && port != "22" {
					addr = net.JoinHostPort(addr, port)
				}
			}
			if addr != gc.addr {
				r.log.Info("guest address changed", "guest", gc.g.Name(), "old", gc.addr, "new", addr)
				gc.addr, gc.cfg.Addr = addr, addr
			}
		}
	}
}

func (r *runner) reconnectInto(ctx context.Context, tg *suites.Target, gc *guestConn) (transport.Transport, error) {
	if tg.OS != gc.os {
		// The check already reconnected through Target.Reconnect.
		gc.os = tg.OS
	}
	if !broken(gc.os) {
		if _, err := gc.os.Run(ctx, transport.Command{Cmd: "true", Timeout: 10 * time.Second}); err == nil {
			return gc.os, nil
		}
	}
	x, err := r.reconnect(ctx, gc)
	if err != nil {
		return nil, err
	}
	tg.OS = x
	return x, nil
}

// broken reports whether a transport knows it is dead (the SSH client
// exposes Err after a failed keepalive or a closed connection).
func broken(x transport.Transport) bool {
	if e, ok := x.(interface{ Err() error }); ok {
		return e.Err() != nil
	}
	return true // unknown: let the caller probe
}

// guestGone asks the host whether the guest is still there and running.
func (r *runner) guestGone(ctx context.Context, gc *guestConn) (string, reports.Status) {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := gc.g.State(sctx)
	if err != nil {
		return "", ""
	}
	switch st {
	case drivers.StateCrashed:
		return "guest crashed (host reports state crashed)", reports.Fail
	case drivers.StateOff:
		return "guest stopped unexpectedly (host reports state off)", reports.Fail
	case drivers.StateNotFound:
		return "guest vanished from the host (destroyed from outside the run)", reports.Error
	}
	// A panicked kernel without a pvpanic device leaves the domain
	// "running" (spinning): the console tells, and that is the guest's
	// fault, not a harness error.
	if b, err := gc.g.Console(sctx); err == nil {
		if line := panicLine(b); line != "" {
			return "guest kernel panicked (console: " + line + ")", reports.Fail
		}
	}
	return "", ""
}

// panicLine returns the last kernel panic line of a console log, or "".
func panicLine(console []byte) string {
	const marker = "Kernel panic - not syncing"
	i := bytes.LastIndex(console, []byte(marker))
	if i < 0 {
		return ""
	}
	line := console[i:]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	if len(line) > 200 {
		line = line[:200]
	}
	return reports.Clean(string(line))
}

func (r *runner) saveConsole(g drivers.Guest, dir string, t *reports.Target) {
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := g.Console(cctx)
	if err != nil || len(b) == 0 {
		return
	}
	name := "console.log"
	if t.Guest.Name != "" && g.Name() != t.Guest.Name {
		name = "console-peer.log"
	}
	p := filepath.Join(dir, name)
	if r.writeArtifact(p, b) == nil {
		rel, _ := filepath.Rel(r.opt.Out, p)
		for _, a := range t.Artifacts {
			if a == rel {
				return
			}
		}
		t.Artifacts = append(t.Artifacts, rel)
	}
}

// keep leaves a failed target's guest running and writes how to reach
// it: an ssh_config with the pinned host key in its own known_hosts.
func (r *runner) keep(t *reports.Target, gc *guestConn, dir string) {
	host, port, err := net.SplitHostPort(gc.addr)
	if err != nil {
		host, port = gc.addr, "22"
	}
	kh := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("%s %s", knownHostsName(host, port), strings.TrimSpace(string(xssh.MarshalAuthorizedKey(gc.hostKey))))
	_ = r.writeArtifact(kh, []byte(line+"\n"))
	key, _ := filepath.Abs(filepath.Join(r.keyDir, "id_ed25519"))
	khAbs, _ := filepath.Abs(kh)
	cfg := fmt.Sprintf("Host %s\n  HostName %s\n  Port %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
		gc.g.Name(), host, port, gc.cfg.User, key, khAbs)
	sc := filepath.Join(dir, "ssh_config")
	_ = r.writeArtifact(sc, []byte(cfg))
	scAbs, _ := filepath.Abs(sc)
	k := Kept{Target: t.ID, Guest: gc.g.Name(), SSHConfig: scAbs, Command: fmt.Sprintf("ssh -F %s %s", scAbs, gc.g.Name())}
	r.outMu.Lock()
	r.out.Kept = append(r.out.Kept, k)
	r.outMu.Unlock()
	r.progress(t.ID, "kept guest %s for debugging: %s (remove it with: virtcert sweep --run %s)", gc.g.Name(), k.Command, r.label)
}

func knownHostsName(host, port string) string {
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

// fingerprint records the guest half of the environment.
func (r *runner) fingerprint(ctx context.Context, gc *guestConn, img *plan.Image, t *reports.Target) {
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if img.OS != "windows" {
		res, err := gc.os.Run(fctx, transport.Command{Cmd: "cat /etc/os-release 2>/dev/null; echo; echo VC_KERNEL=$(uname -r)"})
		if err == nil {
			for _, l := range strings.Split(string(res.Stdout), "\n") {
				if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
					t.Guest.Distro = reports.Clean(strings.Trim(v, `"'`))
				}
				if v, ok := strings.CutPrefix(l, "VC_KERNEL="); ok {
					t.Guest.Kernel = reports.Clean(strings.TrimSpace(v))
				}
			}
		}
	}
	if sum, err := imageSHA256(fctx, img.Path); err == nil {
		t.Guest.ImageSHA256 = sum
	}
}

// controllerFor guesses the controller's address as the guest sees it:
// on the lab's NAT network, the gateway (x.y.z.1).
func controllerFor(addr string, info drivers.HostInfo) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host).To4()
	if ip == nil || info.Driver != "libvirt" {
		return ""
	}
	return net.IPv4(ip[0], ip[1], ip[2], 1).String()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// retryHost retries f while it fails with a host error (the host did not
// answer: e.g. libvirtd restarting, which refuses connections for a few
// seconds) and ctx lasts, backing off from 1 s to 8 s. Without it a
// guest whose destroy met the restart leaked, and a guest whose address
// lookup met it was given up at once. It returns the retries made.
func retryHost(ctx context.Context, f func(context.Context) error) (int, error) {
	backoff := time.Second
	for i := 0; ; i++ {
		err := f(ctx)
		if err == nil || drivers.ClassOf(err) != drivers.ClassHost || ctx.Err() != nil {
			return i, err
		}
		select {
		case <-ctx.Done():
			return i, err
		case <-time.After(backoff):
		}
		if backoff < 8*time.Second {
			backoff *= 2
		}
	}
}
