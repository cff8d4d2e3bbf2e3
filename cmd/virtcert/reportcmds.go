package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/virtcert/virtcert/internal/buildinfo"
	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/reports/bundle"
	"github.com/virtcert/virtcert/reports/merge"
)

func newMerge() *cobra.Command {
	var out, id, signKey string
	var pubFiles []string
	var lastWins, allowUnsigned bool
	c := &cobra.Command{
		Use:   "merge -o DIR RUN...",
		Short: "Merge shard runs (run directories, bundles or results.json) into one run directory",
		Long: `Merge the runs of run --shard i/n (or any runs of one plan) into one
report set: results.json, JUnit, the HTML certificate with the whole
matrix side by side, the shards' artifacts, and a manifest (signed with
--sign-key).

Each shard's bundle is verified first, as report verify does: against a
key you trust (--pub, repeatable; without --pub, the *.pub keys in
$VIRTCERT_TRUSTED_KEYS). A shard that FAILED verification is refused. An
UNVERIFIED shard (unsigned, no trusted key, no manifest, a bare
results.json) is refused unless --allow-unsigned, and then recorded as
UNVERIFIED in every report. Sharded runs must be all n shards of one
split of one plan, each once.
Exit codes: 0 merged, 2 refused (a missing, doubled or foreign shard,
shards of different plans, an unverified or tampered shard, bad usage),
3 the reports could not be written. Like report DIR, merge renders and
does not judge: it exits 0 on a merged NOT CERTIFIED or INCOMPLETE run
too (each shard's run already exited with its own verdict, and a CI job
that merges must still publish the certificate). The verdict is in the
summary it prints and in results.json.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return exitf(ExitInput, "merge: give the output directory with -o DIR")
			}
			keys, err := trustedKeys(pubFiles)
			if err == nil && signKey != "" {
				err = checkSignKey(signKey)
			}
			if err != nil {
				return err
			}
			run, arts, err := merge.Dirs(args, merge.Options{ID: id, LastWins: lastWins, Trusted: keys, AllowUnsigned: allowUnsigned})
			if err != nil {
				return exitf(ExitInput, "%v", err)
			}
			// The merged report is produced by this binary; the shards'
			// versions stay in run.Version.
			build := buildinfo.Get()
			run.Build = &build
			d, err := reportDir("", out, "")
			if err != nil {
				return err
			}
			defer d.Close()
			paths, err := writeReports(d, run, arts, signKey)
			printSources(cmd.OutOrStdout(), run)
			printSummary(cmd.OutOrStdout(), run, paths, nil)
			if err != nil {
				return exitf(ExitHarness, "writing reports: %v", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "output run directory")
	c.Flags().StringVar(&id, "id", "", "ID of the merged run when the shards' IDs differ")
	c.Flags().BoolVar(&lastWins, "last-wins", false, "a target or shard given twice: take the last instead of failing")
	c.Flags().StringArrayVar(&pubFiles, "pub", nil, "a shard signer's public key you trust (PEM); repeat for several")
	c.Flags().BoolVar(&allowUnsigned, "allow-unsigned", false, "merge shards no trusted key verifies, recorded as UNVERIFIED")
	c.Flags().StringVar(&signKey, "sign-key", "", "sign the merged bundle with this ed25519 private key file")
	return c
}

// trustedKeys loads --pub files, else the keyring.
func trustedKeys(pubFiles []string) ([]ed25519.PublicKey, error) {
	if len(pubFiles) == 0 {
		return keyring()
	}
	var keys []ed25519.PublicKey
	for _, f := range pubFiles {
		k, err := bundle.LoadPublicKey(f)
		if err != nil {
			return nil, exitf(ExitInput, "--pub: %v", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func newVerify() *cobra.Command {
	var pubFiles []string
	var allowUnsigned, asJSON bool
	c := &cobra.Command{
		Use:   "verify DIR",
		Short: "Verify a result bundle against its manifest and a trusted key; exit 1 unless VERIFIED",
		Long: `Verify a result bundle: every file against the manifest, and the manifest's
signature against a key you trust (--pub, repeatable; without --pub, the
*.pub keys in $VIRTCERT_TRUSTED_KEYS). VERIFIED needs both.
A bundle's own manifest.pub is never trusted: without --pub a bundle is at
best UNVERIFIED, which exits 1 unless --allow-unsigned (integrity only).
Exit codes: 0 VERIFIED (or UNVERIFIED with --allow-unsigned), 1 FAILED or
UNVERIFIED (tampered, missing or extra files, a malformed manifest or one
with paths leading outside the bundle, a symlink inside it, a bad or
missing signature), 2 bad usage (DIR is not a directory or has no manifest at all,
unreadable key).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := trustedKeys(pubFiles)
			if err != nil {
				return err
			}
			if st, err := os.Stat(args[0]); err != nil || !st.IsDir() {
				return exitf(ExitInput, "%s: not a run directory", args[0])
			}
			rep, err := bundle.Verify(args[0], keys...)
			if errors.Is(err, bundle.ErrNoManifest) {
				return exitf(ExitInput, "%v", err)
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), verifyDocOf(args[0], rep, err, allowUnsigned)); err != nil {
					return err
				}
			}
			if err != nil {
				return exitf(ExitFailed, "bundle %s FAILED verification: %v", args[0], err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				out = io.Discard
			}
			fmt.Fprint(out, reports.Clean(rep.String()))
			switch {
			case rep.OK():
				return nil
			case rep.Failed():
				return exitf(ExitFailed, "bundle %s FAILED verification", args[0])
			case allowUnsigned:
				fmt.Fprintln(out, "integrity only: the origin of this bundle is not verified (--allow-unsigned)")
				return nil
			}
			return exitf(ExitFailed, "bundle %s is UNVERIFIED: give the signer's public key you trust with --pub (or --allow-unsigned to check integrity only)", args[0])
		},
	}
	c.Flags().StringArrayVar(&pubFiles, "pub", nil, "a signer's public key you trust (PEM); repeat for several")
	c.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON ("+VerifySchema+")")
	c.Flags().BoolVar(&allowUnsigned, "allow-unsigned", false, "accept an intact bundle without a trusted signature (exit 0, UNVERIFIED)")
	return c
}

// KeyringEnv names a directory of trusted public keys (PEM, one per
// *.pub file) that report verify uses when no --pub is given.
const KeyringEnv = "VIRTCERT_TRUSTED_KEYS"

func keyring() ([]ed25519.PublicKey, error) {
	dir := os.Getenv(KeyringEnv)
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil || len(files) == 0 {
		return nil, exitf(ExitInput, "$%s=%s: no *.pub key there", KeyringEnv, dir)
	}
	var keys []ed25519.PublicKey
	for _, f := range files {
		k, err := bundle.LoadPublicKey(f)
		if err != nil {
			return nil, exitf(ExitInput, "$%s: %v", KeyringEnv, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// checkSignKey loads the signing key before the run, so a bad key is a
// usage error (exit 2) and not a surprise at the end.
func checkSignKey(file string) error {
	if _, err := bundle.LoadPrivateKey(file); err != nil {
		return exitf(ExitInput, "--sign-key: %v", err)
	}
	return nil
}
