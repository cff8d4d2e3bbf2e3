// Package bundle writes, loads and verifies a run's evidence bundle: the
// run directory with results.json, junit.xml, report.html, per-target
// artifacts (console logs, raw outputs), a manifest of every file's sha256
// and an optional ed25519 signature over the manifest.
//
// Layout of a run directory:
//
//	results.json              the result model (reports/SCHEMA.md)
//	junit.xml, report.html    renderings of results.json
//	artifacts/<target>/<name> files the runner handed in
//	manifest                  "<sha256>  <path>" per file, sorted by path;
//	                          `sha256sum -c manifest` checks it too
//	manifest.sig              optional: raw 64-byte ed25519 signature of
//	                          the manifest bytes
//	manifest.pub              optional: the signer's public key (PEM, PKIX),
//	                          for convenience only; pass the key you trust
//	                          to Verify to prove origin
//
// Any other file the runner leaves in the directory (journal.jsonl, logs)
// is covered by the manifest as well: Seal hashes every regular file.
//
// Keys are PEM PKCS#8 (private) and PKIX (public), the same formats as
// `openssl genpkey -algorithm ed25519`, so a bundle can be checked without
// virtcert: `openssl pkeyutl -verify -pubin -inkey manifest.pub -rawin
// -in manifest -sigfile manifest.sig`.
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/html"
	"github.com/virtcert/virtcert/reports/junit"
)

// File names in a run directory.
const (
	ResultsFile   = "results.json"
	JUnitFile     = "junit.xml"
	HTMLFile      = "report.html"
	ArtifactsDir  = "artifacts"
	ManifestFile  = "manifest"
	SignatureFile = "manifest.sig"
	PublicKeyFile = "manifest.pub"
)

// Artifact is a file the runner hands to the bundle.
type Artifact struct {
	// Target is the target ID the file belongs to; empty for run-level
	// files.
	Target string
	// Name is the file name inside the target's artifact directory
	// ("console.log", "raw/clock.offset.txt"). Unsafe characters and ".."
	// are neutralised.
	Name string
	// Path is a file to copy; when empty, Data is written.
	Path string
	Data []byte
}

// Options for Write.
type Options struct {
	// SignKey signs the manifest when set; its public key is written to
	// manifest.pub.
	SignKey ed25519.PrivateKey
	// NoRenderings skips junit.xml and report.html (results.json only).
	NoRenderings bool
	// HTML tunes report.html.
	HTML html.Options
}

// Write writes the whole bundle in dir: artifacts (recorded in each
// target's Artifacts), results.json, junit.xml, report.html, then the
// manifest and, with a key, its signature. dir is created if needed.
func Write(dir string, run *reports.Run, arts []Artifact, opt Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	byID := map[string]*reports.Target{}
	for _, t := range run.Targets {
		byID[t.ID] = t
	}
	for _, a := range arts {
		rel := ArtifactPath(a.Target, a.Name)
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		if err := writeArtifact(dst, a); err != nil {
			return fmt.Errorf("bundle: artifact %s: %w", rel, err)
		}
		if t := byID[a.Target]; t != nil && !contains(t.Artifacts, rel) {
			t.Artifacts = append(t.Artifacts, rel)
		}
	}
	if err := WriteResults(dir, run); err != nil {
		return err
	}
	if !opt.NoRenderings {
		if err := writeFile(filepath.Join(dir, JUnitFile), func(w io.Writer) error { return junit.Write(w, run) }); err != nil {
			return fmt.Errorf("bundle: %s: %w", JUnitFile, err)
		}
		if err := writeFile(filepath.Join(dir, HTMLFile), func(w io.Writer) error { return html.Write(w, run, opt.HTML) }); err != nil {
			return fmt.Errorf("bundle: %s: %w", HTMLFile, err)
		}
	}
	return Seal(dir, opt.SignKey)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ArtifactPath is where an artifact of target lands, relative to the run
// directory, with forward slashes.
func ArtifactPath(target, name string) string {
	parts := []string{ArtifactsDir}
	if target != "" {
		parts = append(parts, safe(target))
	} else {
		parts = append(parts, "run")
	}
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." || p == ".." {
			continue
		}
		parts = append(parts, safe(p))
	}
	if len(parts) == 2 {
		parts = append(parts, "unnamed")
	}
	return path.Join(parts...)
}

// safe keeps a path element to [A-Za-z0-9._-], never "." or "..".
func safe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	out := string(b)
	if strings.Trim(out, ".") == "" {
		out = strings.ReplaceAll(out, ".", "_")
	}
	return out
}

func writeArtifact(dst string, a Artifact) error {
	if a.Path == "" {
		return writeFile(dst, func(w io.Writer) error { _, err := w.Write(a.Data); return err })
	}
	src, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	return writeFile(dst, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
}

// writeFile writes through a temporary file and renames it, so a reader
// never sees half a file.
func writeFile(name string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// WriteResults writes results.json (the whole model, schema-versioned).
func WriteResults(dir string, run *reports.Run) error {
	if run.Schema == "" {
		run.Schema = reports.SchemaVersion
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: encode results: %w", err)
	}
	b = reports.EscapeJSONControls(b)
	b = append(b, '\n')
	if err := writeFile(filepath.Join(dir, ResultsFile), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("bundle: %s: %w", ResultsFile, err)
	}
	return nil
}

// ErrSchema is returned by Load for a results.json of another schema.
var ErrSchema = errors.New("unsupported results schema")

// Load reads results.json from a run directory (or the file itself).
func Load(dir string) (*reports.Run, error) {
	p := dir
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		p = filepath.Join(dir, ResultsFile)
	}
	f, err := reports.OpenLimited(p, reports.MaxResultsBytes)
	if err != nil {
		return nil, fmt.Errorf("load results: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var run reports.Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("load %s: %w", p, err)
	}
	if run.Schema != reports.SchemaVersion {
		return nil, fmt.Errorf("load %s: %w %q (this virtcert reads %q)", p, ErrSchema, run.Schema, reports.SchemaVersion)
	}
	return &run, nil
}

// special files are not listed in the manifest.
func special(rel string) bool {
	return rel == ManifestFile || rel == SignatureFile || rel == PublicKeyFile
}

// hashTree hashes every regular file under dir except the manifest
// files. Symlinks are refused: they could point outside the bundle.
func hashTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		if special(rel) {
			return nil
		}
		if strings.ContainsAny(rel, "\n\\") {
			return fmt.Errorf("file name %q cannot be listed in a manifest", rel)
		}
		sum, err := sha256File(p)
		if err != nil {
			return err
		}
		out[rel] = sum
		return nil
	})
	return out, err
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal writes the manifest of every file in dir and, with key, its
// signature and public key. Without a key, stale signature files are
// removed so they cannot vouch for a new manifest.
func Seal(dir string, key ed25519.PrivateKey) error {
	sums, err := hashTree(dir)
	if err != nil {
		return fmt.Errorf("bundle: manifest: %w", err)
	}
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var m bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&m, "%s  %s\n", sums[p], p)
	}
	if err := writeFile(filepath.Join(dir, ManifestFile), func(w io.Writer) error { _, err := w.Write(m.Bytes()); return err }); err != nil {
		return fmt.Errorf("bundle: manifest: %w", err)
	}
	sigPath, pubPath := filepath.Join(dir, SignatureFile), filepath.Join(dir, PublicKeyFile)
	if key == nil {
		os.Remove(sigPath)
		os.Remove(pubPath)
		return nil
	}
	sig := ed25519.Sign(key, m.Bytes())
	if err := writeFile(sigPath, func(w io.Writer) error { _, err := w.Write(sig); return err }); err != nil {
		return fmt.Errorf("bundle: signature: %w", err)
	}
	pubPEM, err := publicPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	return writeFile(pubPath, func(w io.Writer) error { _, err := w.Write(pubPEM); return err })
}

// Signature states reported by Verify.
const (
	SigUnsigned   = "unsigned" // no manifest.sig and no key asked for
	SigValid      = "valid"    // verified with the key given to Verify
	SigValidSelf  = "valid (bundled key: proves integrity, not origin)"
	SigInvalid    = "INVALID"    // the signature does not match the manifest and key
	SigMissing    = "MISSING"    // a key was given but the bundle is unsigned
	SigUnverified = "unverified" // signed, but no key to check it with
)

// Report is the outcome of Verify. Each problem is listed distinctly.
type Report struct {
	Files     int      // files listed in the manifest
	Tampered  []string // listed and present, but the content changed
	Missing   []string // listed, absent
	Extra     []string // present, not listed
	Signature string   // one of the Sig* states
}

// OK is true when every listed file is intact, nothing was added, and the
// signature (if one was required or present) is valid.
func (r *Report) OK() bool {
	return len(r.Tampered) == 0 && len(r.Missing) == 0 && len(r.Extra) == 0 &&
		r.Signature != SigInvalid && r.Signature != SigMissing
}

// String is a human summary, one problem per line.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Tampered {
		fmt.Fprintf(&b, "TAMPERED %s\n", p)
	}
	for _, p := range r.Missing {
		fmt.Fprintf(&b, "MISSING  %s\n", p)
	}
	for _, p := range r.Extra {
		fmt.Fprintf(&b, "EXTRA    %s\n", p)
	}
	fmt.Fprintf(&b, "signature: %s\n", r.Signature)
	verdict := "OK"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "bundle %s: %d files listed, %d tampered, %d missing, %d extra\n", verdict, r.Files, len(r.Tampered), len(r.Missing), len(r.Extra))
	return b.String()
}

// ErrManifest means the manifest is absent or malformed; nothing else can
// be checked then.
var ErrManifest = errors.New("bad or missing manifest")

// Verify checks dir against its manifest and the signature. pub is the key
// the caller trusts; when nil, a bundled manifest.pub is used (integrity
// only). The error is non-nil only when verification could not run (no
// manifest, unreadable directory); problems found are in the Report.
func Verify(dir string, pub ed25519.PublicKey) (*Report, error) {
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w: %v", dir, ErrManifest, err)
	}
	listed := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(mb), "\n"), "\n") {
		if line == "" && len(mb) == 0 {
			break
		}
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || !validRel(p) {
			return nil, fmt.Errorf("verify %s: %w: line %d %q", dir, ErrManifest, i+1, line)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("verify %s: %w: line %d", dir, ErrManifest, i+1)
		}
		listed[p] = sum
	}
	rep := &Report{Files: len(listed)}
	present, err := hashTree(dir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	for p, want := range listed {
		got, ok := present[p]
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, p)
		case got != want:
			rep.Tampered = append(rep.Tampered, p)
		}
	}
	for p := range present {
		if _, ok := listed[p]; !ok {
			rep.Extra = append(rep.Extra, p)
		}
	}
	sort.Strings(rep.Tampered)
	sort.Strings(rep.Missing)
	sort.Strings(rep.Extra)

	sig, sigErr := os.ReadFile(filepath.Join(dir, SignatureFile))
	switch {
	case sigErr != nil && pub != nil:
		rep.Signature = SigMissing
	case sigErr != nil:
		rep.Signature = SigUnsigned
	case pub != nil:
		rep.Signature = SigInvalid
		if len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, mb, sig) {
			rep.Signature = SigValid
		}
	default:
		bundled, err := LoadPublicKey(filepath.Join(dir, PublicKeyFile))
		if err != nil {
			rep.Signature = SigUnverified
			break
		}
		rep.Signature = SigInvalid
		if len(sig) == ed25519.SignatureSize && ed25519.Verify(bundled, mb, sig) {
			rep.Signature = SigValidSelf
		}
	}
	return rep, nil
}

func validRel(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, e := range strings.Split(p, "/") {
		if e == "" || e == "." || e == ".." {
			return false
		}
	}
	return true
}

// GenerateKey writes a new ed25519 key pair: the private key (PEM PKCS#8,
// mode 0600) and the public key (PEM PKIX).
func GenerateKey(privPath, pubPath string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	pp, err := publicPEM(pub)
	if err != nil {
		return err
	}
	return os.WriteFile(pubPath, pp, 0o644)
}

func publicPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPrivateKey reads a PEM PKCS#8 ed25519 private key. The error never
// contains key material.
func LoadPrivateKey(p string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM PRIVATE KEY", p)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: not PKCS#8", p)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an ed25519 key", p)
	}
	return ek, nil
}

// LoadPublicKey reads a PEM PKIX ed25519 public key.
func LoadPublicKey(p string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("public key %s: not a PEM PUBLIC KEY", p)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %v", p, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s: not an ed25519 key", p)
	}
	return ek, nil
}
