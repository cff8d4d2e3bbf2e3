// Package seed builds the cloud-init NoCloud seed a guest boots with: an
// ISO 9660 image labelled "cidata" holding user-data, meta-data and, when
// asked for, network-config. It is written in pure Go (go-diskfs) so the
// harness needs no genisoimage on the controller, with Rock Ridge and Joliet
// so that the file names come out as "user-data", not "USER_DAT.;1".
//
// The same seed serves both fixture guests: cloud-init reads it on the
// Debian guest, and the tiny guest's init script reads the same user-data
// (ssh_authorized_keys and ssh_keys.ed25519_private) with busybox awk, so
// the layout written here is kept plain: one key per "- " line, the host key
// as a literal block.
package seed

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"go.yaml.in/yaml/v3"

	"github.com/virtcert/virtcert/guests"
)

// Label is the volume label cloud-init's NoCloud datasource looks for.
const Label = "cidata"

// Config describes one guest's seed.
type Config struct {
	// InstanceID changes per guest boot identity; cloud-init runs its
	// per-instance modules again when it changes. Required.
	InstanceID string
	// Hostname becomes local-hostname. Required.
	Hostname string
	// User is the login user. "root" (the tiny guest) puts the keys on
	// root and sets disable_root: false; any other name gets a user with
	// passwordless sudo and the keys.
	User string
	// AuthorizedKeys are authorized_keys lines for User. At least one.
	AuthorizedKeys []string
	// HostKey, when set, is installed as the guest's only SSH host key so
	// the harness can pin it (cloud-init ssh_keys; the tiny init reads it
	// too). Other host key types are not generated.
	HostKey *guests.HostKey
	// NetworkConfig, when set, is written verbatim as network-config
	// (cloud-init network config v1 or v2 YAML). Empty: no file, and the
	// image's own network setup applies.
	NetworkConfig []byte
	// RunCmd are extra commands cloud-init runs once at the end of boot
	// (runcmd). Each is passed as an argv list, never through a shell
	// string built here.
	RunCmd [][]string
	// NTPServers, when set, become the guest's time servers through
	// cloud-init's ntp module (which configures chrony, or the image's
	// client, with exactly these). Host names or IP addresses.
	NTPServers []string
	// HyperVDaemons, for guests on Hyper-V, enables and starts the
	// Hyper-V daemons (KVP, VSS, file copy) that the image ships: the
	// hyperv-daemons units of Debian and Ubuntu, the hyperv*d units of
	// RHEL. An image without them is left as it is (the driver then finds
	// the guest's address by its MAC).
	HyperVDaemons bool
	// StageDir is where Build stages the image: a private directory of
	// the caller's run (the runner's RunKeyDir, 0700). go-diskfs writes
	// every file of the seed to disk before the image, the host's
	// private key included, so a process killed meanwhile leaves them
	// here, never in $TMPDIR. Required by Build; WriteFile stages beside
	// its output when it is empty.
	StageDir string
}

// hyperVDaemonsCmd enables whichever Hyper-V daemon units the image has.
// Fixed text: no value of the caller is spliced into it.
var hyperVDaemonsCmd = []string{"sh", "-c", "for u in hv-kvp-daemon hv-vss-daemon hv-fcopy-daemon hypervkvpd hypervvssd hypervfcopyd; do " +
	"if systemctl cat \"$u.service\" >/dev/null 2>&1; then systemctl enable --now \"$u.service\" || echo \"virtcert: $u.service did not start\" >&2; fi; done; true"}

var (
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	idRE       = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case !idRE.MatchString(c.InstanceID):
		return fmt.Errorf("seed: instance-id %q: want 1-128 of [A-Za-z0-9._:-]", c.InstanceID)
	case !hostnameRE.MatchString(c.Hostname) || len(c.Hostname) > 253:
		return fmt.Errorf("seed: hostname %q is not a valid host name", c.Hostname)
	case !userRE.MatchString(c.User):
		return fmt.Errorf("seed: user %q is not a valid user name", c.User)
	case len(c.AuthorizedKeys) == 0:
		return errors.New("seed: no authorized key: the guest could not be logged into")
	}
	for i, k := range c.AuthorizedKeys {
		if strings.ContainsAny(k, "\r\n") || len(strings.Fields(k)) < 2 {
			return fmt.Errorf("seed: authorized key %d is not one authorized_keys line", i)
		}
	}
	if c.HostKey != nil && c.HostKey.Signer == nil {
		return errors.New("seed: host key has no key")
	}
	for i, argv := range c.RunCmd {
		if len(argv) == 0 {
			return fmt.Errorf("seed: runcmd %d is empty", i)
		}
	}
	for _, n := range c.NTPServers {
		if net.ParseIP(n) == nil && (!hostnameRE.MatchString(n) || len(n) > 253) {
			return fmt.Errorf("seed: NTP server %q is neither an IP address nor a host name", n)
		}
	}
	return nil
}

// cloudConfig is the subset of #cloud-config we write. Field order here is
// the order in the file.
type cloudConfig struct {
	Hostname          string            `yaml:"hostname"`
	PreserveHostname  bool              `yaml:"preserve_hostname"`
	DisableRoot       *bool             `yaml:"disable_root,omitempty"`
	Users             []user            `yaml:"users,omitempty"`
	SSHAuthorizedKeys []string          `yaml:"ssh_authorized_keys,omitempty"`
	SSHPwauth         bool              `yaml:"ssh_pwauth"`
	SSHDeleteKeys     *bool             `yaml:"ssh_deletekeys,omitempty"`
	SSHGenKeyTypes    *[]string         `yaml:"ssh_genkeytypes,omitempty"`
	SSHKeys           map[string]string `yaml:"ssh_keys,omitempty"`
	RunCmd            [][]string        `yaml:"runcmd,omitempty"`
	NTP               *ntpConfig        `yaml:"ntp,omitempty"`
}

// ntpConfig is cloud-init's cc_ntp: with servers and no pools, the client
// it configures uses these servers only.
type ntpConfig struct {
	Enabled bool     `yaml:"enabled"`
	Servers []string `yaml:"servers"`
}

type user struct {
	Name              string   `yaml:"name"`
	Sudo              string   `yaml:"sudo"`
	Shell             string   `yaml:"shell"`
	LockPasswd        bool     `yaml:"lock_passwd"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

// UserData renders the #cloud-config user-data for c.
func UserData(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cc := cloudConfig{
		Hostname:         c.Hostname,
		PreserveHostname: false,
		SSHPwauth:        false,
		RunCmd:           c.RunCmd,
	}
	if c.HyperVDaemons {
		cc.RunCmd = append([][]string{hyperVDaemonsCmd}, c.RunCmd...)
	}
	if len(c.NTPServers) > 0 {
		cc.NTP = &ntpConfig{Enabled: true, Servers: c.NTPServers}
	}
	if c.User == "root" {
		f := false
		cc.DisableRoot = &f
		cc.SSHAuthorizedKeys = c.AuthorizedKeys
	} else {
		cc.Users = []user{{
			Name:              c.User,
			Sudo:              "ALL=(ALL) NOPASSWD:ALL",
			Shell:             "/bin/bash",
			LockPasswd:        true,
			SSHAuthorizedKeys: c.AuthorizedKeys,
		}}
	}
	if c.HostKey != nil {
		pemBytes, err := c.HostKey.PrivateKeyPEM()
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		// Delete whatever host keys the image carries (a cloned image would
		// share them) and generate none: the pinned key is the only one.
		t := true
		none := []string{}
		cc.SSHDeleteKeys = &t
		cc.SSHGenKeyTypes = &none
		cc.SSHKeys = map[string]string{
			"ed25519_private": string(pemBytes),
			"ed25519_public":  c.HostKey.AuthorizedKey(),
		}
	}
	var buf bytes.Buffer
	buf.WriteString("#cloud-config\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cc); err != nil {
		return nil, fmt.Errorf("seed: user-data: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("seed: user-data: %w", err)
	}
	return buf.Bytes(), nil
}

// MetaData renders meta-data for c.
func MetaData(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(struct {
		InstanceID    string `yaml:"instance-id"`
		LocalHostname string `yaml:"local-hostname"`
	}{c.InstanceID, c.Hostname}); err != nil {
		return nil, fmt.Errorf("seed: meta-data: %w", err)
	}
	return buf.Bytes(), nil
}

// Files returns the seed's files by name. Each call generates the private
// key encoding afresh (OpenSSH's format carries random check bytes), so
// build an image from one Files result: see ISO.
func Files(c Config) (map[string][]byte, error) {
	ud, err := UserData(c)
	if err != nil {
		return nil, err
	}
	md, err := MetaData(c)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"user-data": ud, "meta-data": md}
	if len(c.NetworkConfig) > 0 {
		var probe any
		if err := yaml.Unmarshal(c.NetworkConfig, &probe); err != nil {
			return nil, fmt.Errorf("seed: network-config is not YAML: %w", err)
		}
		files["network-config"] = c.NetworkConfig
	}
	return files, nil
}

// Build returns the seed ISO image for c. The image holds the host's
// private key when c.HostKey is set: store it like a key (0600), see
// WriteFile.
func Build(c Config) ([]byte, error) {
	files, err := Files(c)
	if err != nil {
		return nil, err
	}
	return ISO(c.StageDir, files)
}

// WriteFile builds the seed and writes it to path with mode 0600.
func WriteFile(path string, c Config) error {
	if c.StageDir == "" {
		c.StageDir = filepath.Dir(path)
	}
	img, err := Build(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if _, err := f.Write(img); err != nil {
		f.Close()
		return fmt.Errorf("seed: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seed: write %s: %w", path, err)
	}
	return nil
}

// ISO writes files (names without slashes) into an ISO 9660 image labelled
// cidata. go-diskfs stages files in a workspace directory and writes the
// image to a file backend, so both live in a private (0700) directory
// made under stageDir (required: the caller's private run directory, as
// the files may hold secrets) and removed before returning.
func ISO(stageDir string, files map[string][]byte) ([]byte, error) {
	for name := range files {
		if strings.Contains(name, "/") { // the rest labelledISO checks
			return nil, fmt.Errorf("seed: bad file name %q", name)
		}
	}
	return labelledISO(stageDir, Label, files)
}

// labelledISO writes files into an ISO 9660 image with the volume label
// given, staged under stageDir. A name may hold "/"-separated directories
// (a config drive's openstack/latest/...); each component must be a
// plain name.
func labelledISO(stageDir, label string, files map[string][]byte) ([]byte, error) {
	if stageDir == "" {
		return nil, errors.New("seed: no staging directory: the seed's files (keys, passwords) are staged on disk, in the caller's private run directory, never in $TMPDIR")
	}
	dirs, err := isoDirs(files)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(stageDir, "virtcert-seed-")
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer os.RemoveAll(dir)
	ws := filepath.Join(dir, "ws")
	if err := os.Mkdir(ws, 0o700); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	// Room for the system area, descriptors, directories and the files,
	// each rounded to 2 KiB sectors; the image is cut to its real size below.
	size := int64(1<<20) + 2*total
	imgPath := filepath.Join(dir, "seed.iso")
	be, err := file.CreateFromPath(imgPath, size)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := fillISO(be, size, ws, label, dirs, files); err != nil {
		be.Close()
		return nil, err
	}
	if err := be.Close(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	img, err := os.ReadFile(imgPath)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return trimISO(img), nil
}

// isoDirs checks the files' names (each "/"-separated component a plain
// name) and returns the directories they need.
func isoDirs(files map[string][]byte) ([]string, error) {
	dirs := map[string]bool{}
	for name := range files {
		parts := strings.Split(name, "/")
		for i, part := range parts {
			if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\\x00") {
				return nil, fmt.Errorf("seed: bad file name %q", name)
			}
			if i < len(parts)-1 {
				dirs[strings.Join(parts[:i+1], "/")] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(dirs)), nil
}

// fillISO creates the ISO 9660 file system on be (workspace ws), adds the
// directories and files, and finalizes it with the volume label.
func fillISO(be backend.Storage, size int64, ws, label string, dirs []string, files map[string][]byte) error {
	fs, err := iso9660.Create(be, size, 0, 2048, ws)
	if err != nil {
		return fmt.Errorf("seed: create iso: %w", err)
	}
	for _, d := range dirs {
		if err := fs.Mkdir("/" + d); err != nil {
			return fmt.Errorf("seed: add %s: %w", d, err)
		}
	}
	for name, b := range files {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return fmt.Errorf("seed: add %s: %w", name, err)
		}
		_, werr := f.Write(b)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("seed: add %s: %w", name, err)
		}
	}
	if err := fs.Finalize(iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: label}); err != nil {
		return fmt.Errorf("seed: finalize iso: %w", err)
	}
	return nil
}

// trimISO cuts the image to the volume space size recorded in the primary
// volume descriptor (sector 16, bytes 80..83, little-endian, in 2048-byte
// blocks), dropping the unused tail of the preallocated file.
func trimISO(img []byte) []byte {
	const pvd = 16 * 2048
	if len(img) < pvd+88 || img[pvd] != 1 || string(img[pvd+1:pvd+6]) != "CD001" {
		return img
	}
	blocks := int64(img[pvd+80]) | int64(img[pvd+81])<<8 | int64(img[pvd+82])<<16 | int64(img[pvd+83])<<24
	if n := blocks * 2048; n > 0 && n <= int64(len(img)) {
		return img[:n]
	}
	return img
}
