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
//	manifest                  "# sealed by virtcert VERSION (...)" (SealedBy),
//	                          then "<sha256>  <path>" per file, sorted by
//	                          path; `sha256sum -c manifest` checks it too
//	manifest.sig              optional: raw 64-byte ed25519 signature of
//	                          the manifest bytes
//	manifest.pub              optional: the signer's public key (PEM, PKIX),
//	                          for convenience only: Verify never trusts it;
//	                          VERIFIED needs a key the caller trusts
//
// The manifest lists the files the run wrote (rundir.Owned: results.json,
// junit.xml, report.html, journal.jsonl, plan.yaml, artifacts/); anything
// else in the directory is never sealed, and Verify reports it as EXTRA.
// Every write goes through reports/rundir, which never follows a symlink.
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
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/html"
	"github.com/virtcert/virtcert/reports/junit"
	"github.com/virtcert/virtcert/reports/rundir"
)

// File names in a run directory (reports/rundir owns them).
const (
	ResultsFile   = rundir.ResultsFile
	JUnitFile     = rundir.JUnitFile
	HTMLFile      = rundir.HTMLFile
	ArtifactsDir  = rundir.ArtifactsDir
	ManifestFile  = rundir.ManifestFile
	SignatureFile = rundir.SignatureFile
	PublicKeyFile = rundir.PublicKeyFile
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

// Write writes the whole bundle into d: artifacts (recorded in each
// target's Artifacts), results.json, junit.xml, report.html, then the
// manifest and, with a key, its signature (see Seal).
func Write(d *rundir.Dir, run *reports.Run, arts []Artifact, opt Options) error {
	byID := map[string]*reports.Target{}
	for _, t := range run.Targets {
		byID[t.ID] = t
	}
	for _, a := range arts {
		rel := ArtifactPath(a.Target, a.Name)
		if err := writeArtifact(d, rel, a); err != nil {
			return fmt.Errorf("bundle: artifact %s: %w", rel, err)
		}
		if t := byID[a.Target]; t != nil && !slices.Contains(t.Artifacts, rel) {
			t.Artifacts = append(t.Artifacts, rel)
		}
	}
	if err := WriteResults(d, run); err != nil {
		return err
	}
	if !opt.NoRenderings {
		if err := d.Write(JUnitFile, 0o644, func(w io.Writer) error { return junit.Write(w, run) }); err != nil {
			return fmt.Errorf("bundle: %s: %w", JUnitFile, err)
		}
		if err := d.Write(HTMLFile, 0o644, func(w io.Writer) error { return html.Write(w, run, opt.HTML) }); err != nil {
			return fmt.Errorf("bundle: %s: %w", HTMLFile, err)
		}
	}
	return Seal(d, opt.SignKey)
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

func writeArtifact(d *rundir.Dir, rel string, a Artifact) error {
	if a.Path == "" {
		return d.WriteFile(rel, a.Data, 0o644)
	}
	src, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	return d.Write(rel, 0o644, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
}

// WriteResults writes results.json (the whole model, schema-versioned).
func WriteResults(d *rundir.Dir, run *reports.Run) error {
	if run.Schema == "" {
		run.Schema = reports.SchemaVersion
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: encode results: %w", err)
	}
	b = reports.EscapeJSONControls(b)
	b = append(b, '\n')
	if err := d.WriteFile(ResultsFile, b, 0o644); err != nil {
		return fmt.Errorf("bundle: %s: %w", ResultsFile, err)
	}
	return nil
}

// ErrSchema is returned by rundir.Load for a results.json of another schema.
var ErrSchema = rundir.ErrSchema

// special files are not listed in the manifest.
func special(rel string) bool {
	return rel == ManifestFile || rel == SignatureFile || rel == PublicKeyFile
}

// hashTree hashes every regular file under root, except the manifest
// files, for which keep is true. Symlinks and other non-regular files are
// refused: they could point outside the bundle.
func hashTree(root *os.Root, keep func(rel string) bool) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		if special(rel) || !keep(rel) {
			return nil
		}
		if strings.ContainsAny(rel, "\n\\") || !utf8.ValidString(rel) {
			return fmt.Errorf("file name %q cannot be listed in a manifest", rel)
		}
		sum, err := sha256File(root, rel)
		if err != nil {
			return err
		}
		out[rel] = sum
		return nil
	})
	return out, err
}

func sha256File(root *os.Root, rel string) (string, error) {
	f, err := rundir.OpenRegular(root, rel)
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

// ErrSigned is returned by Seal without a key for a signed bundle: its
// signature would be lost. Re-render a signed bundle with its signing key,
// or into a new directory.
var ErrSigned = errors.New("the bundle is signed: re-sealing it needs the signing key (--sign-key), or write into a new directory (-o DIR)")

// Seal writes the manifest of the files the run wrote (rundir.Owned) and,
// with key, its signature and public key. Without a key, Seal refuses a
// bundle that carries a signature (ErrSigned) rather than drop it.
func Seal(d *rundir.Dir, key ed25519.PrivateKey) error {
	if key == nil && d.Exists(SignatureFile) {
		return fmt.Errorf("bundle: %w", ErrSigned)
	}
	sums, err := hashTree(d.Root(), rundir.Owned)
	if err != nil {
		return fmt.Errorf("bundle: manifest: %w", err)
	}
	paths := slices.Sorted(maps.Keys(sums))
	var m bytes.Buffer
	m.WriteString(SealedBy())
	for _, p := range paths {
		fmt.Fprintf(&m, "%s  %s\n", sums[p], p)
	}
	// The old signature goes first: a crash between the two writes leaves
	// an unsigned bundle, never a signature over another manifest.
	if err := d.Remove(SignatureFile); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := d.Remove(PublicKeyFile); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := d.WriteFile(ManifestFile, m.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bundle: manifest: %w", err)
	}
	if key == nil {
		return nil
	}
	if err := d.WriteFile(SignatureFile, ed25519.Sign(key, m.Bytes()), 0o644); err != nil {
		return fmt.Errorf("bundle: signature: %w", err)
	}
	pubPEM, err := publicPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	return d.WriteFile(PublicKeyFile, pubPEM, 0o644)
}

// SealedBy is the manifest's first line: the virtcert that sealed it
// (version, revision, dirty flag, toolchain), a comment that
// `sha256sum -c` skips and the signature covers.
func SealedBy() string {
	b := buildinfo.Get()
	return "# sealed by virtcert " + reports.Line(b.String()) + "\n"
}

// Signature states reported by Verify.
const (
	SigValid      = "valid"                                                    // verified with a key the caller trusts
	SigUnsigned   = "UNSIGNED"                                                 // no manifest.sig, and no key asked for
	SigUnverified = "UNVERIFIED (signed, but no trusted key was given: --pub)" // a bundled manifest.pub proves nothing
	SigInvalid    = "INVALID"                                                  // no trusted key verifies the manifest
	SigMissing    = "MISSING"                                                  // a key was given but the bundle is unsigned
)

// Report is the outcome of Verify. Each problem is listed distinctly.
type Report struct {
	Files     int      // files listed in the manifest
	Tampered  []string // listed and present, but the content changed
	Missing   []string // listed, absent
	Extra     []string // present, not listed
	Signature string   // one of the Sig* states
	Signer    string   // Fingerprint of the trusted key that verified it (SigValid only)
}

// Intact is true when every listed file is unchanged and nothing was
// added: integrity, not origin.
func (r *Report) Intact() bool {
	return len(r.Tampered) == 0 && len(r.Missing) == 0 && len(r.Extra) == 0
}

// OK is true only for a VERIFIED bundle: intact, and signed by a key the
// caller trusts. A bundle's own manifest.pub is never trusted.
func (r *Report) OK() bool { return r.Intact() && r.Signature == SigValid }

// Failed is true when the bundle was changed or its signature is wrong;
// an intact bundle without a trusted signature is UNVERIFIED, not failed.
func (r *Report) Failed() bool {
	return !r.Intact() || r.Signature == SigInvalid || r.Signature == SigMissing
}

// Verdict is VERIFIED, UNVERIFIED or FAILED.
func (r *Report) Verdict() string {
	switch {
	case r.OK():
		return "VERIFIED"
	case r.Failed():
		return "FAILED"
	}
	return "UNVERIFIED"
}

// String is a human summary, one problem per line.
func (r *Report) String() string {
	var b strings.Builder
	for _, p := range r.Tampered {
		fmt.Fprintf(&b, "TAMPERED %s\n", reports.Clean(p))
	}
	for _, p := range r.Missing {
		fmt.Fprintf(&b, "MISSING  %s\n", reports.Clean(p))
	}
	for _, p := range r.Extra {
		fmt.Fprintf(&b, "EXTRA    %s\n", reports.Clean(p))
	}
	fmt.Fprintf(&b, "signature: %s\n", r.Signature)
	fmt.Fprintf(&b, "bundle %s: %d files listed, %d tampered, %d missing, %d extra\n", r.Verdict(), r.Files, len(r.Tampered), len(r.Missing), len(r.Extra))
	return b.String()
}

// ErrManifest means the manifest is absent or malformed; nothing else can
// be checked then.
var ErrManifest = errors.New("bad or missing manifest")

// ErrNoManifest means the directory has no manifest at all: not a bundle.
var ErrNoManifest = fmt.Errorf("%w: no manifest (not a bundle)", ErrManifest)

// ParseManifest reads manifest lines "<sha256>  <path>": 64 hex digits,
// two spaces, a relative slash path without "." or ".." elements. Leading
// lines that begin with "# " are comments (SealedBy), skipped as
// sha256sum skips them.
func ParseManifest(mb []byte) (map[string]string, error) {
	listed := map[string]string{}
	if len(mb) == 0 {
		return listed, nil
	}
	header := true
	for i, line := range strings.Split(strings.TrimSuffix(string(mb), "\n"), "\n") {
		if header = header && strings.HasPrefix(line, "# "); header {
			continue
		}
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || !validRel(p) {
			return nil, fmt.Errorf("%w: line %d %q", ErrManifest, i+1, reports.Clean(line))
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("%w: line %d", ErrManifest, i+1)
		}
		if _, dup := listed[p]; dup {
			return nil, fmt.Errorf("%w: line %d lists %q twice", ErrManifest, i+1, reports.Clean(p))
		}
		listed[p] = sum
	}
	return listed, nil
}

// Verify checks dir (a symlink to a run directory is followed) against its
// manifest, and the signature against the trusted keys. Without a trusted
// key a signed bundle is UNVERIFIED: the manifest.pub it carries could be
// anyone's. The error is non-nil when verification could not run: no
// manifest or a malformed one (ErrManifest), a symlink or a special file
// inside the bundle, an unreadable directory.
func Verify(dir string, trusted ...ed25519.PublicKey) (*Report, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	defer root.Close()
	mb, err := rundir.ReadFile(root, ManifestFile, rundir.MaxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("verify %s: %w", dir, ErrNoManifest)
	}
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w: %v", dir, ErrManifest, err)
	}
	listed, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	present, err := hashTree(root, func(string) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	rep := compare(listed, present)
	sig, sigErr := rundir.ReadFile(root, SignatureFile, rundir.MaxSmall)
	var by ed25519.PublicKey
	rep.Signature, by = signature(mb, sig, sigErr == nil, trusted)
	if by != nil {
		rep.Signer = Fingerprint(by)
	}
	return rep, nil
}

func compare(listed, present map[string]string) *Report {
	rep := &Report{Files: len(listed)}
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
	return rep
}

// signature judges sig over the manifest mb against the trusted keys.
func signature(mb, sig []byte, signed bool, trusted []ed25519.PublicKey) (string, ed25519.PublicKey) {
	switch {
	case len(trusted) == 0 && signed:
		return SigUnverified, nil
	case len(trusted) == 0:
		return SigUnsigned, nil
	case !signed:
		return SigMissing, nil
	}
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize && ed25519.Verify(k, mb, sig) {
			return SigValid, k
		}
	}
	return SigInvalid, nil
}

// Fingerprint names a public key: "SHA256:" and the hex SHA-256 of its
// raw bytes.
func Fingerprint(k ed25519.PublicKey) string {
	h := sha256.Sum256(k)
	return "SHA256:" + hex.EncodeToString(h[:])
}

func validRel(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || !utf8.ValidString(p) {
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
