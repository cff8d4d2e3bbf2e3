package suites

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
)

// shOS runs commands with the local sh, as a guest's shell would, and
// counts them.
type shOS struct{ runs int }

func (x *shOS) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	x.runs++
	c := exec.CommandContext(ctx, "sh", "-c", cmd.Cmd)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	r := transport.Result{Cmd: cmd.Cmd, Stdout: o.Bytes(), Stderr: e.Bytes()}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		r.Exit, err = ee.ExitCode(), nil
	}
	return r, err
}
func (x *shOS) Upload(context.Context, string, io.Reader, uint32) error { return nil }
func (x *shOS) Download(context.Context, string, io.Writer) error       { return nil }
func (x *shOS) Close() error                                            { return nil }

// gatherCases are commands whose output a naive splitter would get wrong:
// no trailing newline, stderr and a non-zero exit, a forged marker, a
// trailing comment, stdin (from nothing), exit inside, quotes, empty.
var gatherCases = []string{
	`printf 'a\nb'`,
	`echo out; echo err >&2; exit 3`,
	`echo "@@vc-0123 0 exit 9"; echo "@@vc-$vc_n 0 end $vc_d"; printf '\n\n'`,
	`echo commented # ) this is not the end`,
	`cat; echo "stdin was empty"`,
	`x='it'"'"'s'; echo "$x"; exit 0`,
	`true`,
	`S=; [ "$(id -u)" = 0 ] || S="sudo -n"; echo "S set in a subshell only"`,
	`echo "S=$S leaked?"`,
	`printf 'a\n'`,
	`printf 'a\n'`, // a duplicate is gathered once
}

// TestGatherMatchesOneByOne: the gather script, run by a real sh, gives
// every command exactly the stdout, stderr and exit status it gives when
// run on its own, in one round trip.
func TestGatherMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	x := &shOS{}
	s, err := Gather(ctx, x, gatherCases)
	if err != nil {
		t.Fatal(err)
	}
	if x.runs != 1 {
		t.Fatalf("gather took %d round trips, want 1", x.runs)
	}
	for _, c := range gatherCases {
		want, err := x.Run(ctx, transport.Command{Cmd: c})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.serve(x, c)
		if !ok {
			t.Fatalf("%q not in the snapshot", c)
		}
		if !bytes.Equal(got.Stdout, want.Stdout) || !bytes.Equal(got.Stderr, want.Stderr) || got.Exit != want.Exit {
			t.Errorf("%q:\n gathered stdout %q stderr %q exit %d\n alone    stdout %q stderr %q exit %d",
				c, got.Stdout, got.Stderr, got.Exit, want.Stdout, want.Stderr, want.Exit)
		}
	}
	if s.commands != len(gatherCases)-1 {
		t.Errorf("snapshot holds %d commands, want %d (duplicates once)", s.commands, len(gatherCases)-1)
	}
	// Another connection is not served from this snapshot.
	if _, ok := s.serve(&shOS{}, gatherCases[0]); ok {
		t.Error("a snapshot served a command on another connection")
	}
}

// TestGatherScriptRoundTrip: the fakes' formatter and decoder agree with
// the script and the parser.
func TestGatherScriptRoundTrip(t *testing.T) {
	script := GatherScript("abc", gatherCases[:3])
	nonce, cmds, ok := GatherCommands(script)
	if !ok || nonce != "abc" || len(cmds) != 3 || cmds[2] != gatherCases[2] {
		t.Fatalf("decoded %q %q %v", nonce, cmds, ok)
	}
	rs := []transport.Result{{Stdout: []byte("x")}, {Stdout: []byte("out\n"), Stderr: []byte("err\n"), Exit: 3}, {}}
	got, err := ParseGathered("abc", cmds, FormatGathered("abc", rs))
	if err != nil {
		t.Fatal(err)
	}
	if r := got[cmds[1]]; string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" || r.Exit != 3 {
		t.Errorf("parsed %+v", r)
	}
	if _, _, ok := GatherCommands(": vc=platform; echo"); ok {
		t.Error("an ordinary command decoded as a gather")
	}
	// A truncated answer is an error, never a partial snapshot.
	out := FormatGathered("abc", rs)
	if _, err := ParseGathered("abc", cmds, out[:len(out)-20]); err == nil {
		t.Error("truncated gather output parsed")
	}
}

// TestGatherFailureFallsBack: a failed gather serves nothing (the
// checks' commands then run live) and is not retried for the same block;
// after a check that is not read-only, the next block gathers again.
func TestGatherFailureFallsBack(t *testing.T) {
	x := &shOS{}
	tg := &Target{OS: x}
	todo := []Check{{ID: "a.x", Reads: []string{"exit 7"}}, {ID: "a.change"}, {ID: "a.y", Reads: []string{"exit 7"}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := PrepareSnapshot(ctx, tg, todo, 0, nil, 0); err == nil {
		t.Fatal("a cancelled gather succeeded")
	}
	if _, ok := tg.Snapshot.serve(x, "exit 7"); ok {
		t.Fatal("a failed gather serves a command")
	}
	runs := x.runs
	if err := PrepareSnapshot(context.Background(), tg, todo, 0, nil, 0); err != nil || x.runs != runs {
		t.Fatalf("failed gather retried within its block: err %v, %d more runs", err, x.runs-runs)
	}
	if err := PrepareSnapshot(context.Background(), tg, todo, 1, nil, 0); err != nil || tg.Snapshot != nil {
		t.Fatalf("a check that is not read-only kept the snapshot: %v", err)
	}
	if err := PrepareSnapshot(context.Background(), tg, todo, 2, nil, 0); err != nil {
		t.Fatal(err)
	}
	if r, ok := tg.Snapshot.serve(x, "exit 7"); !ok || r.Exit != 7 {
		t.Errorf("served %v, exit status %d, want 7", ok, r.Exit)
	}
}

// boundOS records how long the gather was given: its context's deadline
// and the command's own timeout; it answers with an error.
type boundOS struct {
	shOS
	deadline, timeout time.Duration
}

func (x *boundOS) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if dl, ok := ctx.Deadline(); ok {
		x.deadline = time.Until(dl)
	}
	x.timeout = cmd.Timeout
	return transport.Result{}, errors.New("recorded")
}

// TestGatherBoundedByTheBlocksTimeouts: the gather gets no more than the
// smallest effective timeout of its block's checks: a check's own
// timeout, or the plan's cap on it when that is smaller.
func TestGatherBoundedByTheBlocksTimeouts(t *testing.T) {
	long := Check{ID: "a.long", Timeout: 10 * time.Minute, Reads: []string{"true"}}
	short := Check{ID: "a.short", Timeout: 5 * time.Second, Reads: []string{"false"}}
	for _, tc := range []struct {
		name  string
		todo  []Check
		limit time.Duration
		want  time.Duration
	}{
		{"own timeout", []Check{long, short}, 0, 5 * time.Second},
		{"plan cap", []Check{long, short}, 3 * time.Second, 3 * time.Second},
		{"cap above the timeouts", []Check{short}, time.Hour, 5 * time.Second},
		{"no more than GatherTimeout", []Check{long}, 0, GatherTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &boundOS{}
			tg := &Target{OS: x}
			if err := PrepareSnapshot(context.Background(), tg, tc.todo, 0, nil, tc.limit); err == nil {
				t.Fatal("the recorded failure was not returned")
			}
			if x.deadline > tc.want || x.deadline < tc.want-time.Second {
				t.Errorf("gather context had %s, want %s", x.deadline, tc.want)
			}
			if x.timeout > tc.want || x.timeout < tc.want-time.Second {
				t.Errorf("gather command timeout %s, want %s", x.timeout, tc.want)
			}
		})
	}
}

// TestSkippedCheckKeepsTheSnapshot: a check that will not run (runs
// false: a need not met, or the profile skips it) neither drops the
// snapshot nor gathers, whether or not it is read-only: it touches
// nothing in the guest, so the block around it is gathered once.
func TestSkippedCheckKeepsTheSnapshot(t *testing.T) {
	x := &shOS{}
	tg := &Target{OS: x}
	todo := []Check{{ID: "a.x", Reads: []string{"echo x"}}, {ID: "a.change"}, {ID: "a.y", Reads: []string{"echo y"}}}
	runs := func(c Check) bool { return c.ID != "a.change" }
	for i := range todo {
		if err := PrepareSnapshot(context.Background(), tg, todo, i, runs, 0); err != nil {
			t.Fatal(err)
		}
		if tg.Snapshot == nil {
			t.Fatalf("no snapshot at %s", todo[i].ID)
		}
	}
	if x.runs != 1 {
		t.Errorf("%d gathers, want 1: the skipped check broke the block", x.runs)
	}
	if r, ok := tg.Snapshot.serve(x, "echo y"); !ok || string(r.Stdout) != "y\n" {
		t.Errorf("a.y not served from the one gather: %v %q", ok, r.Stdout)
	}
}
