// Package runner is the matrix runner: it turns a validated plan into a
// certification run. For every target (host × image) it opens the host,
// picks the expectation profile, provisions the guest with a fresh seed
// (per-run client key, pinned per-guest host key), waits for SSH, uploads
// vcprobe, gathers the fingerprint, runs the selected checks over one
// shared connection, saves the console, and destroys the guest — always,
// in reverse order, even on Ctrl-C. Every event goes to the journal as it
// happens, so a killed run can be reported and resumed.
//
// Setup failures are classified apart from check failures: a target that
// could not be provisioned or reached gets Target.Error, and its checks
// become ERROR (host or harness) or FAIL (the guest never got an address
// or never answered SSH). Other targets carry on.
package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/guests"
	"github.com/virtcert/virtcert/guests/seed"
	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/plan"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/journal"
	"github.com/virtcert/virtcert/reports/progress"
	"github.com/virtcert/virtcert/reports/rundir"
	"github.com/virtcert/virtcert/resolve"
)

// Progress receives user-facing progress lines (separate from debug logs).
type Progress interface {
	Event(target, format string, args ...any)
}

// Options configure a run. Zero values are sensible except Openers.
type Options struct {
	// Out is the run directory's path. Dir, when set, is that directory
	// already opened (the CLI opens it to check it first); otherwise Run
	// opens Out: rundir.Create (new or empty), or rundir.Resume.
	Out string
	Dir *rundir.Dir
	// Journal holds the records of a resumed run, read once by the caller
	// (rundir.Resume); when nil, Run reads them.
	Journal []journal.Record
	// RunLabel is the run's label; empty makes a new one (NewLabel).
	RunLabel string
	Version  string
	// Openers maps driver names to their Open functions (default: every
	// registered driver's, drivers.Openers).
	Openers map[string]drivers.Opener
	// ProbePath is the vcprobe binary to upload ("" or missing: checks
	// that need it SKIP).
	ProbePath string
	// KeepOnFailure keeps the guests of failed targets and writes how to
	// reach them.
	KeepOnFailure bool
	// Collect overrides the plan's collect: (plan.CollectAlways for
	// --collect); "" keeps the plan's.
	Collect string
	// Dial connects to guests (default: the dialer registered for each
	// target's transport kind, transport.DialerFor).
	Dial transport.Dialer
	// Resume continues the run recorded in Out/journal.jsonl: finished
	// results are kept, only unfinished checks run, and leftovers of the
	// earlier attempt are swept first.
	Resume bool
	// Progress gets user-facing free-text events (default: none).
	Progress Progress
	// Sink gets structured per-target progress: phases, check counts,
	// verdicts (default: progress.Nop()).
	Sink progress.Sink
	// Log gets debug logs (default: discarded).
	Log *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
	// KeyDir holds the run's private SSH key, in KeyDir/<label>/: outside
	// the run directory, so no bundle ever carries it. Default
	// DefaultKeyDir().
	KeyDir string
}

// DefaultKeyDir is where run keys live: $VIRTCERT_KEY_DIR, else the
// user's cache directory (~/.cache/virtcert/keys).
func DefaultKeyDir() string {
	if d := os.Getenv("VIRTCERT_KEY_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "virtcert", "keys")
	}
	return filepath.Join(os.TempDir(), "virtcert-keys")
}

// RunKeyDir is the directory of one run's private key under keyDir
// ("" = DefaultKeyDir()). sweep --run removes it with the run's guests.
func RunKeyDir(keyDir, label string) string {
	if keyDir == "" {
		keyDir = DefaultKeyDir()
	}
	return filepath.Join(keyDir, label)
}

// SetupError lists the classified setup failures of a run's targets
// (host unreachable, bad image, provisioning failed, guest never
// answered). The CLI derives its exit code from their classes.
type SetupError struct {
	Errs []error
}

func (e *SetupError) Error() string {
	if len(e.Errs) == 1 {
		return e.Errs[0].Error()
	}
	return fmt.Sprintf("%s (and %d more target setup failure(s))", e.Errs[0], len(e.Errs)-1)
}

func (e *SetupError) Unwrap() []error { return e.Errs }

// Kept describes a guest left running by --keep-on-failure.
type Kept struct {
	Target    string
	Guest     string
	SSHConfig string // path of the ssh_config file
	Command   string // ssh command line
}

// Outcome is everything Run produced besides the result model.
type Outcome struct {
	Setup *SetupError // nil when every target was set up
	Kept  []Kept
	// Leftovers names guests whose destroy failed (sweep finds them).
	Leftovers []string
}

var labelRE = regexp.MustCompile(`^vc-\d{8}-\d{6}-[0-9a-f]{6}$`)

// NewLabel makes a run label: vc-YYYYMMDD-HHMMSS-<6 hex>.
func NewLabel(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "vc-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// ValidLabel reports whether s looks like a run label.
func ValidLabel(s string) bool { return labelRE.MatchString(s) }

type runner struct {
	rr    *resolve.Run
	opt   Options
	label string
	log   *slog.Logger
	jr    *journal.Writer

	dir    *rundir.Dir
	client *guests.ClientKey
	keyDir string

	hostsMu sync.Mutex
	hosts   map[string]*hostConn

	done  map[string]map[string]bool // resume: target -> check -> finished
	prev  map[string]*reports.Target // resume: earlier results
	outMu sync.Mutex
	out   Outcome
}

type hostConn struct {
	once sync.Once
	h    drivers.Host
	info drivers.HostInfo
	err  error

	admOnce sync.Once
	adm     *admitter // nil: the host does not report its resources
}

// Run certifies every target of the resolved run rr. It returns the
// result model (also when interrupted: then Complete is false), what it
// left behind, and an error only when the run itself could not be
// recorded (run directory, journal).
func Run(ctx context.Context, rr *resolve.Run, opt Options) (*reports.Run, *Outcome, error) {
	r := newRunner(rr, opt)
	if err := r.openDir(); err != nil {
		return nil, nil, err
	}
	if opt.Dir == nil {
		defer r.dir.Close()
	}
	res, err := r.start()
	if err != nil {
		return nil, nil, err
	}
	defer r.jr.Close()
	cleanup, err := r.clientKey()
	if err != nil {
		return nil, nil, err
	}
	defer cleanup()
	res.Targets = r.runTargets(ctx)
	res.Finished = r.opt.Now().UTC()
	// The run is complete only when it was not interrupted and every
	// target ran to its end.
	res.Complete = ctx.Err() == nil && !slices.ContainsFunc(res.Targets, func(t *reports.Target) bool { return t.Finished.IsZero() })
	if res.Complete {
		if err := r.jr.Append(journal.Record{Type: journal.RunFinished}); err != nil {
			return res, &r.out, err
		}
	}
	return res, &r.out, r.jr.Err()
}

// newRunner fills in the options' defaults.
func newRunner(rr *resolve.Run, opt Options) *runner {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Openers == nil {
		opt.Openers = drivers.Openers()
	}
	if opt.Sink == nil {
		opt.Sink = progress.Nop()
	}
	return &runner{rr: rr, opt: opt, log: opt.Log, hosts: map[string]*hostConn{}}
}

// start names the run (a new label, or the resumed run's with what it
// finished), opens the journal and saves the plan beside it.
func (r *runner) start() (*reports.Run, error) {
	opt := r.opt
	res := &reports.Run{Schema: reports.SchemaVersion, Version: opt.Version, PlanHash: r.rr.PlanSHA256, PlanName: r.rr.Name, Started: opt.Now().UTC(),
		Shard: r.rr.ShardInfo}
	if opt.Resume {
		if err := r.resume(res); err != nil {
			return nil, err
		}
	} else {
		r.label = cmp.Or(opt.RunLabel, NewLabel(opt.Now()))
		res.ID = r.label
	}
	jr, err := r.dir.Journal()
	if err != nil {
		return nil, err
	}
	r.jr = jr
	typ := journal.RunStarted
	if opt.Resume {
		typ = journal.RunResumed
	}
	if err := jr.Append(journal.Record{Type: typ, RunID: r.label, Version: opt.Version, PlanHash: res.PlanHash, PlanName: r.rr.Name, Shard: r.rr.ShardInfo}); err != nil {
		jr.Close()
		return nil, err
	}
	if b, err := r.rr.PlanYAML(); err == nil && !opt.Resume {
		_ = r.dir.WriteFile(rundir.PlanFile, b, 0o644)
	}
	return res, nil
}

// resume reads the interrupted run's journal: its label, start and the
// results it finished.
func (r *runner) resume(res *reports.Run) error {
	recs := r.opt.Journal
	prev, err := journal.Build(recs)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	r.label = prev.ID
	res.ID, res.Started, res.PlanHash, res.PlanName = prev.ID, prev.Started, prev.PlanHash, prev.PlanName
	r.done = journal.Done(recs)
	r.prev = map[string]*reports.Target{}
	for _, t := range prev.Targets {
		r.prev[t.ID] = t
	}
	return nil
}

// clientKey makes the per-run client key. Its private half is written
// 0600 outside the run directory (RunKeyDir: no bundle carries it), for
// --keep-on-failure's ssh command; the returned cleanup removes it unless
// a guest is kept.
func (r *runner) clientKey() (cleanup func(), err error) {
	r.client, err = guests.NewClientKey("virtcert " + r.label)
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	r.keyDir = RunKeyDir(r.opt.KeyDir, r.label)
	if err := os.MkdirAll(r.keyDir, 0o700); err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	keyFile := filepath.Join(r.keyDir, "id_ed25519")
	if err := r.client.WritePrivateKey(keyFile); err != nil {
		return nil, err
	}
	return func() {
		if len(r.out.Kept) == 0 {
			os.Remove(keyFile)
			os.Remove(r.keyDir)
		}
	}, nil
}

// runTargets runs every target, at most Parallel at once, within the
// run's timeout, then closes the hosts.
func (r *runner) runTargets(ctx context.Context) []*reports.Target {
	rctx, cancel := context.WithTimeout(ctx, r.rr.Timeouts.Run.D())
	defer cancel()
	targets := make([]*reports.Target, len(r.rr.Targets))
	sem := make(chan struct{}, max(1, r.rr.Parallel))
	var wg sync.WaitGroup
	for i, rt := range r.rr.Targets {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-rctx.Done():
			}
			targets[i] = r.target(rctx, rt)
		})
	}
	wg.Wait()
	r.closeHosts()
	return targets
}

// openDir opens the run directory through the one run-directory writer
// (reports/rundir): every file the run writes goes through r.dir.
func (r *runner) openDir() error {
	r.dir = r.opt.Dir
	if r.dir != nil {
		if r.opt.Resume && r.opt.Journal == nil {
			return errors.New("resume: the journal was not read")
		}
		return nil
	}
	if !r.opt.Resume {
		d, err := rundir.Create(r.opt.Out)
		r.dir = d
		return err
	}
	res, err := rundir.Resume(r.opt.Out)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	r.dir, r.opt.Journal = res.Dir, res.Records
	return nil
}

// writeArtifact writes a file at p, a path under the run directory.
func (r *runner) writeArtifact(p string, b []byte) error {
	rel, err := filepath.Rel(r.opt.Out, p)
	if err != nil {
		return err
	}
	return r.dir.WriteFile(filepath.ToSlash(rel), b, 0o644)
}

func (r *runner) progress(target, format string, args ...any) {
	if r.opt.Progress != nil {
		r.opt.Progress.Event(target, format, args...)
	}
	r.log.Debug(fmt.Sprintf(format, args...), "target", target, "run", r.label)
}

// journal appends a record; a failing journal (full disk) is logged once
// per record and surfaces as Run's error at the end.
func (r *runner) journal(rec journal.Record) {
	if err := r.jr.Append(rec); err != nil {
		r.log.Error("journal", "err", err)
	}
}

func (r *runner) host(ctx context.Context, name string) (drivers.Host, drivers.HostInfo, error) {
	r.hostsMu.Lock()
	hc := r.hosts[name]
	if hc == nil {
		hc = &hostConn{}
		r.hosts[name] = hc
	}
	r.hostsMu.Unlock()
	hc.once.Do(func() {
		hp := r.rr.Hosts[name]
		open := r.opt.Openers[hp.Driver]
		if open == nil {
			hc.err = drivers.Errorf(drivers.ClassInput, "open", "driver %q is not built into this virtcert", hp.Driver)
			return
		}
		user, pass, err := resolve.Credentials(hp)
		if err != nil {
			hc.err = err
			return
		}
		opts := drivers.OpenOptions{Username: user, Password: pass, Insecure: hp.Insecure,
			CACertFile: hp.CACert, ClientCertFile: hp.ClientCert, ClientKeyFile: hp.ClientKey, Extra: hp.Options}
		var h drivers.Host
		retries, err := retry(ctx, 3, func(ctx context.Context) error {
			octx, cancel := context.WithTimeout(ctx, r.rr.Timeouts.Provision.D())
			defer cancel()
			var err error
			h, err = open(octx, hp.URI, opts)
			return err
		})
		if retries > 0 {
			r.log.Info("host open retried", "host", name, "retries", retries)
		}
		if err != nil {
			hc.err = drivers.Wrap(drivers.ClassHost, "open", err)
			return
		}
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		info, err := h.Info(ictx)
		if err != nil {
			h.Close()
			hc.err = drivers.Wrap(drivers.ClassHost, "info", err)
			return
		}
		hc.h, hc.info = h, info
		if r.opt.Resume {
			// Sweep what the interrupted attempt left behind before new
			// guests with the same label appear.
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			if res, err := h.Sweep(sctx, drivers.SweepSelector{RunLabel: r.label}); err != nil {
				r.log.Warn("resume sweep", "host", name, "err", err)
			} else if len(res) > 0 {
				r.progress(name, "swept %d leftover resource(s) of the interrupted run", len(res))
			}
		}
	})
	return hc.h, hc.info, hc.err
}

func (r *runner) closeHosts() {
	r.hostsMu.Lock()
	defer r.hostsMu.Unlock()
	for _, hc := range r.hosts {
		if hc.h != nil {
			hc.h.Close()
		}
	}
}

// retry runs f up to n+1 times while it fails with a host-class
// (transient) error, with exponential backoff. Input, security and guest
// errors are not retried. It returns how many retries were made.
func retry(ctx context.Context, n int, f func(context.Context) error) (int, error) {
	backoff := 500 * time.Millisecond
	for i := 0; ; i++ {
		err := f(ctx)
		if err == nil || i >= n || drivers.ClassOf(err) != drivers.ClassHost || ctx.Err() != nil {
			return i, err
		}
		select {
		case <-ctx.Done():
			return i, err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

var nameClean = regexp.MustCompile(`[^a-z0-9-]+`)

// guestName is the domain name: the run label, then host and image, so
// `virsh list` shows which run and target a guest belongs to.
func (r *runner) guestName(host, image, suffix string) string {
	n := nameClean.ReplaceAllString(strings.ToLower(host+"-"+image), "-")
	if len(n) > 30 {
		n = n[:30]
	}
	return strings.Trim(r.label+"-"+n+suffix, "-")
}

// dialer is the transport.Dialer for a transport kind: Options.Dial
// when set (tests), else the registered one.
func (r *runner) dialer(kind string) (transport.Dialer, error) {
	if r.opt.Dial != nil {
		return r.opt.Dial, nil
	}
	if d, ok := transport.DialerFor(kind); ok {
		return d, nil
	}
	return nil, drivers.Errorf(drivers.ClassInput, "transport", "transport %q is not built into this virtcert (have %v)", kind, transport.Kinds())
}

// buildSeed makes a guest's NoCloud seed, staged in the run's private
// key directory (it holds the host's private key). A guest on Hyper-V
// gets the image's Hyper-V daemons enabled.
func buildSeed(name, user string, client *guests.ClientKey, hk *guests.HostKey, hp *plan.Host, stageDir string) ([]byte, error) {
	return seed.Build(seed.Config{InstanceID: name, Hostname: name, User: user,
		AuthorizedKeys: []string{client.AuthorizedKey()}, HostKey: hk, NTPServers: hp.NTPServers,
		HyperVDaemons: hp.Driver == "hyperv", StageDir: stageDir})
}
