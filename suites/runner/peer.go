package runner

import (
	"context"
	"fmt"
	"slices"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/suites"
)

// wantPeer decides whether the target gets a peer guest: only when a
// check to run needs one and could use it (a check that also needs the
// helper SKIPs when the run has none: no peer is booted for it). A peer
// the plan declines is a missing need (SKIP); a peer whose host could
// not be opened is a host failure (ERROR): the target must not be
// certified without its two-guest checks. When a peer is wanted,
// x.peerHost is set.
func (x *targetRun) wantPeer(ctx context.Context) {
	p := x.rt.Peer
	usable := func(c suites.Check) bool {
		return suites.Needs(c, suites.NeedPeer) && (x.r.opt.ProbePath != "" || !suites.Needs(c, suites.NeedHelper))
	}
	if p == nil || !slices.ContainsFunc(x.todo, usable) {
		return
	}
	if p.Why != "" {
		x.peerErr = &needError{reason: p.Why}
		return
	}
	x.peerHost = x.h
	if p.Host != x.rt.Host {
		h, _, err := x.r.host(ctx, p.Host)
		if err != nil {
			x.peerFailed("peer host "+p.Host, err)
			x.peerHost = nil
			return
		}
		x.peerHost = h
	}
}

// startPeer provisions the peer, when one is wanted, in the background
// while the target's guest is provisioned. The returned wait joins it:
// with targetUp false (the target could not be set up) it cancels the
// peer first. Either way, whatever the peer made is in x.cleanups when
// wait returns, so teardown destroys both guests, also on Ctrl-C.
func (x *targetRun) startPeer(ctx context.Context) (wait func(targetUp bool)) {
	if x.peerHost == nil {
		return func(bool) {}
	}
	r, p := x.r, x.rt.Peer
	r.progress(x.t.ID, "provisioning a peer guest (%s/%s) for two-guest checks, alongside the target", p.Host, p.Image)
	pctx, cancel := context.WithCancel(ctx)
	var (
		ps  *session
		err error
		cl  []func()
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ps, err = r.provision(pctx, guestReq{h: x.peerHost, hp: p.HostSpec, img: p.ImageSpec, rt: x.rt, suffix: "-peer"}, &cl)
	}()
	return func(targetUp bool) {
		if !targetUp {
			cancel()
		}
		<-done
		// The peer's connection lives until teardown; so does its context.
		// Teardown destroys the peer also when the target's guest is kept.
		down := append(cl, cancel)
		x.peerDown = func() {
			for _, f := range slices.Backward(down) {
				f()
			}
		}
		x.cleanups = append(x.cleanups, x.peerDown)
		switch {
		case !targetUp || ctx.Err() != nil:
		case err != nil:
			x.peerFailed("peer guest ("+p.Host+"/"+p.Image+")", err)
		default:
			x.peer = ps
			x.tg.Peer = &suites.Peer{Guest: ps.g, Address: ps.addr, OS: ps.os, Helper: ps.helper}
		}
	}
}

// admit waits until the hosts have room for the target's guest and its
// peer (admission.go). A target too big for its host is a setup failure
// at once; a peer too big for its host leaves the target without a peer
// (its peer checks ERROR). It returns true when the target is over.
func (x *targetRun) admit(ctx context.Context) (over bool) {
	r, rt, t := x.r, x.rt, x.t
	if !drivers.Provisions(x.h) {
		return false
	}
	img := rt.ImageSpec
	tn := need{host: rt.Host, guest: "guest " + t.ID, memMB: int64(img.MemoryMB), cpus: img.CPUs}
	if a := r.admission(ctx, rt.Host, x.h); a != nil {
		if err := a.fits(rt.Host, tn); err != nil {
			r.setupFailed(t, x.todo, err)
			return true
		}
	}
	needs := []need{tn}
	hosts := map[string]drivers.Host{rt.Host: x.h}
	if x.peerHost != nil {
		p := rt.Peer
		pn := need{host: p.Host, guest: "peer guest " + p.Host + "/" + p.Image, memMB: int64(p.ImageSpec.MemoryMB), cpus: p.ImageSpec.CPUs}
		together := []need{pn}
		if p.Host == rt.Host {
			together = []need{tn, pn}
		}
		if a := r.admission(ctx, p.Host, x.peerHost); a != nil {
			if err := a.fits(p.Host, together...); err != nil {
				x.peerErr = &drivers.Error{Class: drivers.ClassHost, Op: "peer guest (" + p.Host + "/" + p.Image + ")", Err: err}
				r.setupErr(fmt.Errorf("%s: %w", t.ID, err))
				x.peerHost = nil
			}
		}
		if x.peerHost != nil {
			needs, hosts[p.Host] = append(needs, pn), x.peerHost
		}
	}
	got, err := r.admit(ctx, t.ID, hosts, needs)
	if err != nil {
		return true // interrupted while waiting: nothing was made
	}
	x.admitted = got
	x.cleanups = append(x.cleanups, got.release)
	return false
}

// peerFailed records why the peer is missing. Whatever the class of err,
// a missing peer is not this guest's fault: its peer checks ERROR. When
// err is bad input or a security error (the peer's image says the wrong
// os, its host's URI or credentials are wrong), the run also records it as
// a setup error, so the run exits as for bad input and says what to fix.
func (x *targetRun) peerFailed(op string, err error) {
	x.peerErr = &drivers.Error{Class: drivers.ClassHost, Op: op, Err: err}
	switch drivers.ClassOf(err) {
	case drivers.ClassInput, drivers.ClassSecurity:
		x.r.setupErr(fmt.Errorf("%s: %s: %w", x.t.ID, op, err))
	}
}
