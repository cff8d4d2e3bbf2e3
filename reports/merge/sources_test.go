package merge

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcert/virtcert/reports"
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

// writeMerged writes a merged run as a bundle, signed with key.
func writeMerged(t *testing.T, m *reports.Run, arts []bundle.Artifact, key ed25519.PrivateKey) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "merged")
	rd, err := rundir.Create(d)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := bundle.Write(rd, m, arts, bundle.Options{NoRenderings: true, SignKey: key}); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRemergeDoesNotLaunder: a merge that took shards UNVERIFIED
// (--allow-unsigned), re-signed with a trusted key, verifies as a bundle;
// merged again it is still UNVERIFIED, and so are the shards it carries.
func TestRemergeDoesNotLaunder(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	trusted := []ed25519.PublicKey{pub}
	m, arts, err := Dirs(writeShards(t, nil), Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	signed := writeMerged(t, m, arts, key)
	if rep, err := bundle.Verify(signed, trusted...); err != nil || rep.Verdict() != "VERIFIED" {
		t.Fatalf("the re-signed merge does not verify as a bundle: %v", err)
	}
	if _, _, err := Dirs([]string{signed}, Options{Trusted: trusted}); !errors.Is(err, ErrShardUnverified) || !strings.Contains(err.Error(), "took run") {
		t.Errorf("re-merge without --allow-unsigned: err %v, want ErrShardUnverified", err)
	}
	again, _, err := Dirs([]string{signed}, Options{Trusted: trusted, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Sources) != 4 {
		t.Fatalf("sources %+v, want the merged run and its 3 shards", again.Sources)
	}
	for i, s := range again.Sources {
		if s.Bundle != Unverified || s.Signer != "" {
			t.Errorf("source %d laundered: %+v", i, s)
		}
	}
	for _, tg := range again.Targets {
		if src := again.SourceOf(tg.ID); src == nil || src.Bundle != Unverified {
			t.Errorf("SourceOf(%s) = %+v, want UNVERIFIED", tg.ID, src)
		}
	}
	if again.UnverifiedBanner() == "" {
		t.Error("no UNVERIFIED banner for a run with unverified sources")
	}

	// An unsigned results.json that claims its shards were VERIFIED
	// proves nothing: they come in UNVERIFIED.
	forged := *again
	forged.Sources = nil
	for _, s := range again.Sources {
		s.Bundle, s.Signer = "VERIFIED", bundle.Fingerprint(pub)
		forged.Sources = append(forged.Sources, s)
	}
	f, _, err := Dirs([]string{filepath.Join(writeMerged(t, &forged, nil, nil), bundle.ResultsFile)}, Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range f.Sources {
		if s.Bundle != Unverified {
			t.Errorf("forged source %d taken as %s", i, s.Bundle)
		}
	}

	// Verified all the way: merging a verified merge stays VERIFIED.
	m, arts, err = Dirs(writeShards(t, key), Options{Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := Dirs([]string{writeMerged(t, m, arts, key)}, Options{Trusted: trusted})
	if err != nil || len(ok.Sources) != 4 {
		t.Fatalf("verified re-merge: %v, %+v", err, ok)
	}
	for i, s := range ok.Sources {
		if s.Bundle != "VERIFIED" {
			t.Errorf("verified source %d: %+v", i, s)
		}
	}
	if b := ok.UnverifiedBanner(); b != "" {
		t.Errorf("banner %q on an all-VERIFIED run", b)
	}
}
