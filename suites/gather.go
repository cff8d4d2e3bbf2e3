package suites

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtcert/virtcert/guests/transport"
)

// Gather first, judge after: the read-only commands that checks declare
// (Check.Reads) run together in one guest session, and T.Run serves each
// identical command from that snapshot instead of opening a session per
// command. A snapshot is only good until anything else happens in the
// guest: the runner drops it before every check that does not declare
// itself read-only (see PrepareSnapshot).

// Each command runs in a subshell that forgets the script's own variables,
// so it sees what it would see on its own.
const (
	gatherOpen  = "(\nunset vc_n vc_d\n"
	gatherClose = "\n) </dev/null 2>\"$vc_d/e\"; "
)

// gatherTag starts every gather script, so recorded transcripts and fakes
// can tell it apart (": vc=gather;").
const gatherTag = ": vc=gather; "

// Snapshot is the output of many read-only commands, taken in one round
// trip at one time, on one connection.
type Snapshot struct {
	At       time.Time     // when the gather started
	Took     time.Duration // the gather's round trip
	via      transport.Transport
	results  map[string]transport.Result
	commands int
}

// serve returns cmd's result when the snapshot holds it and was taken on x.
func (s *Snapshot) serve(x transport.Transport, cmd string) (transport.Result, bool) {
	if s == nil || x != s.via {
		return transport.Result{}, false
	}
	r, ok := s.results[cmd]
	return r, ok
}

// Note says where a served result came from, for the evidence.
func (s *Snapshot) Note() string {
	return fmt.Sprintf("served from the read-only snapshot taken %s UTC (%d commands in one round trip of %s)",
		s.At.UTC().Format("15:04:05.000"), s.commands, s.Took.Round(time.Millisecond))
}

// Gather runs cmds (deduplicated, in order) in one session on x and
// returns their results. Any error (a broken transport, an unreadable
// answer) is returned: the caller then runs the commands one by one, so
// gathering never changes what a check sees, only how fast.
func Gather(ctx context.Context, x transport.Transport, cmds []string) (*Snapshot, error) {
	cmds = dedup(cmds)
	nonce, err := newNonce()
	if err != nil {
		return nil, err
	}
	// The script gets what is left of ctx (GatherTimeout without a
	// deadline): its caller bounds it by the checks it gathers for.
	timeout := GatherTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	start := time.Now()
	r, err := x.Run(ctx, transport.Command{Cmd: GatherScript(nonce, cmds), Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	if r.Exit != 0 {
		return nil, fmt.Errorf("gather script exited %d: %.200s", r.Exit, r.Stderr)
	}
	results, err := ParseGathered(nonce, cmds, r.Stdout)
	if err != nil {
		return nil, err
	}
	return &Snapshot{At: start, Took: time.Since(start), via: x, results: results, commands: len(cmds)}, nil
}

func dedup(cmds []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cmds {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func newNonce() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// GatherScript is one POSIX shell script that runs each command in its
// own subshell (stdin from /dev/null, stderr to a file, the script's
// variables unset) and prints, per
// command i, behind marker lines carrying the nonce (which no command's
// output can guess):
//
//	@@vc-NONCE i out\n STDOUT \n@@vc-NONCE i exit RC\n STDERR \n@@vc-NONCE i end\n
//
// The newline before each closing marker is the script's own, so stdout
// and stderr come back byte for byte. Under emulation every process
// costs (LAB-NOTES), so the script starts none of its own per command
// but the subshell, and cat only for a command that wrote to stderr. The commands are the checks'
// constant text, never guest values.
func GatherScript(nonce string, cmds []string) string {
	var b strings.Builder
	b.WriteString(gatherTag + "vc_n=" + nonce + "; vc_d=$(mktemp -d) || exit 125; trap 'rm -rf \"$vc_d\"' EXIT; ")
	for i, c := range cmds {
		fmt.Fprintf(&b, "echo \"@@vc-$vc_n %d out\"; "+gatherOpen+"%s"+gatherClose+
			"printf '\\n@@vc-%%s %d exit %%d\\n' \"$vc_n\" \"$?\"; [ -s \"$vc_d/e\" ] && cat \"$vc_d/e\"; printf '\\n@@vc-%%s %d end\\n' \"$vc_n\";\n", i, c, i, i)
	}
	return b.String()
}

// GatherCommands returns the commands of a gather script and its nonce
// (ok false when script is not one): fakes that answer recorded commands
// use it to answer a gather command by command.
func GatherCommands(script string) (nonce string, cmds []string, ok bool) {
	if !strings.HasPrefix(script, gatherTag+"vc_n=") {
		return "", nil, false
	}
	nonce, _, _ = strings.Cut(strings.TrimPrefix(script, gatherTag+"vc_n="), ";")
	for i := 0; ; i++ {
		open := fmt.Sprintf("echo \"@@vc-$vc_n %d out\"; "+gatherOpen, i)
		j := strings.Index(script, open)
		if j < 0 {
			return nonce, cmds, len(cmds) > 0
		}
		rest := script[j+len(open):]
		k := strings.Index(rest, gatherClose)
		if k < 0 {
			return "", nil, false
		}
		cmds = append(cmds, rest[:k])
	}
}

// FormatGathered writes results the way GatherScript's shell prints them
// (for fakes; the real format is proven against sh in the tests).
func FormatGathered(nonce string, results []transport.Result) []byte {
	var b bytes.Buffer
	for i, r := range results {
		fmt.Fprintf(&b, "@@vc-%s %d out\n%s\n@@vc-%s %d exit %d\n%s\n@@vc-%s %d end\n", nonce, i, r.Stdout, nonce, i, r.Exit, r.Stderr, nonce, i)
	}
	return b.Bytes()
}

// ParseGathered splits a gather script's output into one result per
// command. Every command must be accounted for.
func ParseGathered(nonce string, cmds []string, out []byte) (map[string]transport.Result, error) {
	res := make(map[string]transport.Result, len(cmds))
	for i, c := range cmds {
		m := "@@vc-" + nonce + " " + strconv.Itoa(i)
		open := []byte(m + " out\n")
		j := bytes.Index(out, open)
		if j < 0 {
			return nil, fmt.Errorf("gather: no output for command %d (%.60q)", i, c)
		}
		out = out[j+len(open):]
		k := bytes.Index(out, []byte("\n"+m+" exit "))
		if k < 0 {
			return nil, fmt.Errorf("gather: command %d (%.60q) did not finish", i, c)
		}
		stdout := out[:k]
		out = out[k+len(m)+7:]
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		rc, err := strconv.Atoi(string(line))
		if err != nil {
			return nil, fmt.Errorf("gather: command %d: bad exit status %q", i, line)
		}
		e := bytes.Index(rest, []byte("\n"+m+" end\n"))
		if e < 0 {
			return nil, fmt.Errorf("gather: command %d: no end marker", i)
		}
		res[c] = transport.Result{Cmd: c, Stdout: bytes.Clone(stdout), Stderr: bytes.Clone(rest[:e]), Exit: rc}
		out = rest[e:]
	}
	return res, nil
}
