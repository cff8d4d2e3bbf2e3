// Package suitetest runs whole checks (gather, parse, judge) without a
// guest: a fake transport answers guest commands from recorded transcripts
// (fixtures/transcripts), and a fake guest supplies the console and the
// host capabilities. Area tests in any suite package may use it.
//
// Transcript files hold records:
//
//	@@ tag: platform        answers commands starting ": vc=platform;"
//	@@ match: vcprobe mono  or: answers commands containing this text
//	@@ exit: 0              optional exit status (default 0)
//	...stdout lines...
//
// Text before the first record is a comment. Several records for the same
// tag or match are answered in order, the last one repeating (a boot_id
// before and after a reboot). Files loaded later override earlier ones
// (a faulty variant over the healthy set). In stdout, {{now}} and
// {{now+N}} / {{now-N}} become the controller's Unix time (plus N seconds)
// with nanoseconds when answered, {{now_s+N}} whole seconds: clock
// transcripts stay valid whenever the test runs. {{now*R}} is a guest
// clock running at R times the controller's rate from the transport's
// first such answer (1.05: 5% fast), whatever the spacing of the readings.
package suitetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
	"github.com/virtcert/virtcert/suites"
)

// Record is one recorded answer.
type Record struct {
	Tag    string
	Match  string
	Exit   int
	Stdout string
	Source string // file:line
}

// Transport answers commands from records. It is safe for concurrent use.
type Transport struct {
	mu sync.Mutex
	// groups by key ("tag:x" or "match:y"), each a sequence; the later
	// file's sequence replaces the earlier one.
	groups map[string][]Record
	order  []string // match keys, in load order, for substring search
	served map[string]int
	// Commands lists every command run, in order.
	Commands []string
	// Uploads records uploaded paths.
	Uploads []string
	closed  bool
	// rateStart is the controller time of the first {{now*R}} answer.
	rateStart time.Time
}

// Load reads transcript files; later files override earlier ones.
func Load(files ...string) (*Transport, error) {
	x := &Transport{groups: map[string][]Record{}, served: map[string]int{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		recs, err := ParseRecords(string(b), f)
		if err != nil {
			return nil, err
		}
		fileGroups := map[string][]Record{}
		var keys []string
		for _, r := range recs {
			k := key(r)
			if _, ok := fileGroups[k]; !ok {
				keys = append(keys, k)
			}
			fileGroups[k] = append(fileGroups[k], r)
		}
		for _, k := range keys {
			if _, ok := x.groups[k]; !ok && strings.HasPrefix(k, "match:") {
				x.order = append(x.order, k)
			}
			x.groups[k] = fileGroups[k]
		}
	}
	return x, nil
}

func key(r Record) string {
	if r.Tag != "" {
		return "tag:" + r.Tag
	}
	return "match:" + r.Match
}

// ParseRecords parses one transcript file.
func ParseRecords(s, source string) ([]Record, error) {
	var recs []Record
	var cur *Record
	var out []string
	flush := func() {
		if cur != nil {
			cur.Stdout = strings.Join(out, "\n")
			if len(out) > 0 {
				cur.Stdout += "\n"
			}
			recs = append(recs, *cur)
		}
	}
	for i, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "@@ tag:") || strings.HasPrefix(l, "@@ match:"):
			flush()
			k, v, _ := strings.Cut(l[3:], ":")
			cur, out = &Record{Source: fmt.Sprintf("%s:%d", source, i+1)}, nil
			if k == "tag" {
				cur.Tag = strings.TrimSpace(v)
			} else {
				cur.Match = strings.TrimSpace(v)
			}
		case strings.HasPrefix(l, "@@ exit:") && cur != nil && len(out) == 0:
			n, err := strconv.Atoi(strings.TrimSpace(l[len("@@ exit:"):]))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: bad exit: %v", source, i+1, err)
			}
			cur.Exit = n
		case cur != nil:
			out = append(out, l)
		}
	}
	flush()
	// A file's trailing newline leaves one empty line on its last record.
	if len(recs) > 0 {
		last := &recs[len(recs)-1]
		last.Stdout = strings.TrimRight(last.Stdout, "\n") + "\n"
	}
	return recs, nil
}

var tagRe = regexp.MustCompile(`^\s*: vc=([A-Za-z0-9_.-]+);`)

// Tag returns the gather tag of a command (": vc=<tag>;" prefix), or "".
func Tag(cmd string) string {
	if m := tagRe.FindStringSubmatch(cmd); m != nil {
		return m[1]
	}
	return ""
}

// Run answers cmd from the transcript. A command no record answers is a
// transport error: the check ends in ERROR, never in a false verdict.
func (x *Transport) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if err := ctx.Err(); err != nil {
		return transport.Result{Cmd: cmd.Cmd, Exit: -1}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return transport.Result{Cmd: cmd.Cmd, Exit: -1}, transport.ErrClosed
	}
	x.Commands = append(x.Commands, cmd.Cmd)
	if nonce, cmds, ok := suites.GatherCommands(cmd.Cmd); ok {
		return x.gather(cmd.Cmd, nonce, cmds)
	}
	return x.answer(cmd.Cmd)
}

// gather answers a gather script (suites.Gather) command by command, in
// the shell's output format: one round trip for all of them.
func (x *Transport) gather(script, nonce string, cmds []string) (transport.Result, error) {
	var rs []transport.Result
	for _, c := range cmds {
		r, err := x.answer(c)
		if err != nil {
			return transport.Result{Cmd: script, Exit: -1}, err
		}
		rs = append(rs, r)
	}
	return transport.Result{Cmd: script, Stdout: suites.FormatGathered(nonce, rs), Duration: time.Millisecond}, nil
}

// answer answers one command from the records. Caller holds x.mu.
func (x *Transport) answer(cmd string) (transport.Result, error) {
	k := ""
	if tag := Tag(cmd); tag != "" && x.groups["tag:"+tag] != nil {
		k = "tag:" + tag
	} else {
		best := -1
		for _, mk := range x.order {
			m := strings.TrimPrefix(mk, "match:")
			if strings.Contains(cmd, m) && len(m) > best {
				k, best = mk, len(m)
			}
		}
	}
	if k == "" {
		return transport.Result{Cmd: cmd, Exit: -1}, fmt.Errorf("suitetest: no transcript record answers %.120q", cmd)
	}
	seq := x.groups[k]
	i := min(x.served[k], len(seq)-1)
	x.served[k]++
	r := seq[i]
	return transport.Result{Cmd: cmd, Stdout: []byte(x.expandRate(Expand(r.Stdout, time.Now()), time.Now())), Exit: r.Exit, Duration: time.Millisecond}, nil
}

var rateRe = regexp.MustCompile(`\{\{now\*(\d+(?:\.\d+)?)\}\}`)

// expandRate replaces {{now*R}}: the first one seen is now, each later
// one start + (now − start)·R. Called under x.mu.
func (x *Transport) expandRate(s string, now time.Time) string {
	return rateRe.ReplaceAllStringFunc(s, func(m string) string {
		r, _ := strconv.ParseFloat(rateRe.FindStringSubmatch(m)[1], 64)
		if x.rateStart.IsZero() {
			x.rateStart = now
		}
		t := x.rateStart.Add(time.Duration(float64(now.Sub(x.rateStart)) * r))
		return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
	})
}

var nowRe = regexp.MustCompile(`\{\{now(_s)?([+-]\d+(?:\.\d+)?)?\}\}`)

// Expand replaces the {{now...}} templates.
func Expand(s string, now time.Time) string {
	return nowRe.ReplaceAllStringFunc(s, func(m string) string {
		sm := nowRe.FindStringSubmatch(m)
		t := now
		if sm[2] != "" {
			f, _ := strconv.ParseFloat(sm[2], 64)
			t = t.Add(time.Duration(f * float64(time.Second)))
		}
		if sm[1] != "" {
			return strconv.FormatInt(t.Unix(), 10)
		}
		return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
	})
}

// Upload records the path and discards the data.
func (x *Transport) Upload(ctx context.Context, path string, r io.Reader, mode uint32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.Uploads = append(x.Uploads, path)
	_, err := io.Copy(io.Discard, r)
	return err
}

// Download fails: transcripts hold no files.
func (x *Transport) Download(ctx context.Context, path string, w io.Writer) error {
	return fmt.Errorf("suitetest: no file %s in the transcript", path)
}

// Close closes the fake.
func (x *Transport) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed = true
	return nil
}

// Ran reports whether any command containing sub was run.
func (x *Transport) Ran(sub string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, c := range x.Commands {
		if strings.Contains(c, sub) {
			return true
		}
	}
	return false
}

var _ transport.Transport = (*Transport)(nil)

// Root finds fixtures/transcripts by walking up from the working directory
// (tests run in their package directory).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "fixtures", "transcripts")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("fixtures/transcripts not found above the working directory")
		}
		dir = parent
	}
}

// Platform loads every <area>/healthy.txt of one platform's transcripts,
// then the override files (relative to the platform dir, e.g.
// "drivers/faulty-unbound.txt").
func Platform(root, platform string, overrides ...string) (*Transport, error) {
	base, err := filepath.Glob(filepath.Join(root, platform, "*", "healthy.txt"))
	if err != nil {
		return nil, err
	}
	if len(base) == 0 {
		return nil, fmt.Errorf("no healthy transcripts under %s", filepath.Join(root, platform))
	}
	sort.Strings(base)
	for _, o := range overrides {
		base = append(base, filepath.Join(root, platform, o))
	}
	return Load(base...)
}

// ReadConsole reads a recorded console log of a platform.
func ReadConsole(root, platform, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, platform, "console", name))
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), err
}
