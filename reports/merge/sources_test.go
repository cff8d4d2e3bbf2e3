package merge

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/rundir"
)

// writeShards writes split(3) as three bundles, signed with key when set.
func writeShards(t *testing.T, key ed25519.PrivateKey) []string {
	var dirs []string
	for _, s := range split(3) {
		d := filepath.Join(t.TempDir(), "shard")
		rd, err := rundir.Create(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := bundle.Write(rd, s, []bundle.Artifact{{Target: s.Targets[0].ID, Name: "console.log", Data: []byte("boot " + s.Targets[0].ID)}},
			bundle.Options{NoRenderings: true, SignKey: key}); err != nil {
			t.Fatal(err)
		}
		rd.Close()
		dirs = append(dirs, d)
	}
	return dirs
}

func TestDirsVerifiesShards(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	dirs := writeShards(t, key)
	m, arts, err := Dirs(dirs, Options{Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Sources) != 3 || len(arts) != 3 {
		t.Fatalf("sources %+v, %d artifacts", m.Sources, len(arts))
	}
	for i, s := range m.Sources {
		if s.Bundle != "VERIFIED" || s.Signer != bundle.Fingerprint(pub) || s.Shard != split(3)[i].Shard.String() || len(s.Targets) != 1 {
			t.Errorf("source %d: %+v", i, s)
		}
	}
	for _, tg := range m.Targets {
		if src := m.SourceOf(tg.ID); src == nil || src.Targets[0] != tg.ID {
			t.Errorf("SourceOf(%s): %+v", tg.ID, src)
		}
	}
	// Signed, but by a key nobody trusts: FAILED, refused even with
	// --allow-unsigned.
	_, _, err = Dirs(dirs, Options{Trusted: []ed25519.PublicKey{otherPub}, AllowUnsigned: true})
	if !errors.Is(err, ErrShardFailed) || !strings.Contains(err.Error(), "INVALID") {
		t.Errorf("untrusted signer: %v", err)
	}
	// No key given: UNVERIFIED, refused unless --allow-unsigned.
	if _, _, err = Dirs(dirs, Options{}); !errors.Is(err, ErrShardUnverified) || !strings.Contains(err.Error(), "--pub") {
		t.Errorf("no key: %v", err)
	}
	m, _, err = Dirs(dirs, Options{AllowUnsigned: true})
	if err != nil || m.Sources[0].Bundle != Unverified || m.Sources[0].Signer != "" {
		t.Errorf("allow-unsigned: %v %+v", err, m)
	}
	// A tampered shard is refused.
	os.WriteFile(filepath.Join(dirs[1], bundle.ResultsFile), []byte("{}"), 0o644)
	if _, _, err = Dirs(dirs, Options{Trusted: []ed25519.PublicKey{pub}, AllowUnsigned: true}); !errors.Is(err, ErrShardFailed) || !strings.Contains(err.Error(), "tampered results.json") {
		t.Errorf("tampered: %v", err)
	}
}

func TestDirsUnsignedShards(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	dirs := writeShards(t, nil)
	// Unsigned while a key was given: FAILED (signature MISSING).
	if _, _, err := Dirs(dirs, Options{Trusted: []ed25519.PublicKey{pub}}); !errors.Is(err, ErrShardFailed) {
		t.Errorf("unsigned with a key: %v", err)
	}
	// A bare results.json proves nothing.
	dirs[0] = filepath.Join(dirs[0], bundle.ResultsFile)
	if _, _, err := Dirs(dirs, Options{}); !errors.Is(err, ErrShardUnverified) || !strings.Contains(err.Error(), "no manifest") {
		t.Errorf("results.json: %v", err)
	}
}
