package imagecheck

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrInput is wrapped by every error about the image itself (missing, a
// symlink, not a disk image, no operating system on it): bad input, not a
// broken harness.
var ErrInput = errors.New("bad image")

// Options tune Extract.
type Options struct {
	// Guestfish is the guestfish binary (default: $VIRTCERT_GUESTFISH,
	// else "guestfish" on PATH).
	Guestfish string
	// Timeout bounds the whole libguestfs session (default 10 minutes;
	// the first run on a machine also builds the appliance, ~1 minute).
	Timeout time.Duration
	// Accel is "tcg" (default: libguestfs's appliance under QEMU software
	// emulation, which works everywhere) or "kvm" (faster, where nested
	// KVM works; on the lab machines it hangs). LIBGUESTFS_BACKEND_SETTINGS
	// set by the user wins over both.
	Accel string
}

// Image is a disk image as found: its path and format.
type Image struct {
	Path, Format string
}

// maxListing bounds what guestfish prints (listings and markers).
const maxListing = 4 << 20

// Open checks that path is a regular file (not a symlink) holding a disk
// image virtcert will read: qcow2 without a backing file (a backing file
// would make libguestfs open another file the image names), VHDX, VMDK or
// a raw disk with an MBR or GPT. Every refusal wraps ErrInput.
func Open(path string) (Image, error) {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return Image{}, fmt.Errorf("%w: %v", ErrInput, err)
	case fi.Mode()&os.ModeSymlink != 0:
		return Image{}, fmt.Errorf("%w: %s is a symlink; give the image file itself", ErrInput, path)
	case !fi.Mode().IsRegular():
		return Image{}, fmt.Errorf("%w: %s is not a regular file", ErrInput, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrInput, err)
	}
	defer f.Close()
	hdr := make([]byte, 1024)
	n, _ := io.ReadFull(f, hdr)
	hdr = hdr[:n]
	switch {
	case bytes.HasPrefix(hdr, []byte("QFI\xfb")):
		if len(hdr) >= 16 && binary.BigEndian.Uint64(hdr[8:16]) != 0 {
			return Image{}, fmt.Errorf("%w: %s is a qcow2 image with a backing file; flatten it first (qemu-img convert -O qcow2 %s flat.qcow2)", ErrInput, path, path)
		}
		return Image{path, "qcow2"}, nil
	case bytes.HasPrefix(hdr, []byte("vhdxfile")):
		return Image{path, "vhdx"}, nil
	case bytes.HasPrefix(hdr, []byte("KDMV")):
		return Image{path, "vmdk"}, nil
	case len(hdr) >= 512 && hdr[510] == 0x55 && hdr[511] == 0xaa:
		return Image{path, "raw"}, nil
	}
	return Image{}, fmt.Errorf("%w: %s is not a disk image (qcow2, vhdx, vmdk, or raw with a partition table)", ErrInput, path)
}

// Probes: files whose presence the checks ask about (copied as empty
// placeholders), and files and directories copied out whole (small
// configuration, the initramfs).
var (
	probes = []string{
		"/etc/os-release", "/usr/lib/os-release", "/bin/sh", "/usr/bin/sh",
		"/usr/bin/cloud-init", "/usr/local/bin/cloud-init", "/etc/cloud/cloud-init.disabled",
		"/Windows/System32",
		"/Program Files/Cloudbase Solutions/Cloudbase-Init/conf/cloudbase-init.conf",
		"/Program Files/Cloudbase Solutions/Cloudbase-Init/Python/Scripts/cloudbase-init.exe",
	}
	copies = []string{
		"/etc/cloud/cloud.cfg", "/etc/cloud/cloud.cfg.d",
		"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/loader/entries",
		"/boot/config-*", "/boot/initrd.img-*", "/boot/initramfs-*.img", "/boot/initrd-*",
	}
	listings = []string{"/boot", "/" + driverStore}
	// globs name the network drivers of the root filesystem's modules.
	globs = []string{
		"/lib/modules/*/kernel/drivers/net/virtio_net.ko*",
		"/lib/modules/*/kernel/drivers/net/hyperv/hv_netvsc.ko*",
	}
)

func init() {
	for _, d := range hvDaemons {
		for _, p := range d.paths {
			probes = append(probes, "/"+p)
		}
	}
	for _, p := range []string{"usr/sbin/sshd", "sbin/sshd", "usr/sbin/dropbear", "sbin/dropbear"} {
		probes = append(probes, "/"+p)
	}
}

// endMarker is the batch script's last output line.
const endMarker = "==end"

// script is the one guestfish batch that reads everything: a failed
// command (a path the image lacks) is ignored (the leading "-").
func script(dir string) string {
	var b strings.Builder
	for _, p := range probes {
		fmt.Fprintf(&b, "echo \"==exists %s\"\n-exists \"%s\"\n", p, p)
	}
	for _, p := range listings {
		fmt.Fprintf(&b, "echo \"==ls %s\"\n-ls \"%s\"\n", p, p)
	}
	for _, p := range globs {
		fmt.Fprintf(&b, "echo \"==glob\"\n-glob-expand \"%s\"\n", p)
	}
	// download follows a symlink (Debian's os-release is one), copy-out
	// does not.
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		fmt.Fprintf(&b, "-download \"%s\" \"%s\"\n", p, filepath.Join(dir, filepath.FromSlash(p)))
	}
	for _, p := range copies {
		local := filepath.Join(dir, filepath.FromSlash(filepath.Dir(p)))
		cmd := "copy-out"
		if strings.Contains(p, "*") {
			cmd = "glob copy-out"
		}
		fmt.Fprintf(&b, "-%s \"%s\" \"%s\"\n", cmd, p, local)
	}
	// The last line: a session that died part-way never prints it.
	b.WriteString("echo \"" + endMarker + "\"\n")
	return b.String()
}

// Extract reads img with libguestfs (one read-only guestfish session with
// inspection, -i) into dir, an empty directory, as a tree the checks
// read: configuration files and initramfs images copied out, other files
// the checks ask about as empty placeholders. It returns guestfish's
// account of what it did, for the evidence. An image without an operating
// system libguestfs can find wraps ErrInput.
func Extract(ctx context.Context, img Image, dir string, opt Options) (string, error) {
	if strings.ContainsAny(dir, "\"\n\\") {
		return "", fmt.Errorf("extract: unusable directory name %q", dir)
	}
	for _, d := range []string{"etc/cloud", "usr/lib", "boot/grub", "boot/grub2", "boot/loader"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Minute
	}
	if opt.Guestfish == "" {
		opt.Guestfish = cmp.Or(os.Getenv("VIRTCERT_GUESTFISH"), "guestfish")
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, opt.Guestfish, "--ro", "--format="+img.Format, "-a", img.Path, "-i")
	cmd.Env = guestfsEnv(os.Environ(), opt.Accel)
	cmd.Stdin = strings.NewReader(script(dir))
	var out, errb capWriter
	out.max, errb.max = maxListing, 64<<10
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return "", fmt.Errorf("guestfish did not finish within %s", opt.Timeout)
	}
	msg := strings.TrimSpace(errb.String())
	if err != nil && strings.Contains(msg, "no operating system was found") {
		return "", fmt.Errorf("%w: %s: libguestfs found no operating system on it", ErrInput, img.Path)
	}
	// Each ignored command prints its error; a session that could not
	// start at all exits non-zero before any marker.
	if err != nil && !strings.Contains(out.String(), "==exists") {
		return "", fmt.Errorf("guestfish: %v: %s", err, lastLines(msg, 5))
	}
	// A session that stopped part-way (the appliance died, a signal) read
	// only some of the image: judging that would FAIL or PASS on files
	// never looked at.
	if !strings.Contains(out.String(), "\n"+endMarker+"\n") {
		return "", fmt.Errorf("guestfish stopped before reading everything (%v): %s", err, lastLines(msg, 5))
	}
	if out.over {
		return "", fmt.Errorf("guestfish printed more than %d bytes", maxListing)
	}
	if err := placeholders(out.String(), dir); err != nil {
		return "", err
	}
	return "guestfish --ro --format=" + img.Format + " -a " + img.Path + " -i (" + cmd.Env[len(cmd.Env)-1] + ")", nil
}

// guestfsEnv sets libguestfs's backend (direct: no libvirtd needed), its
// acceleration and a fixed appliance cache, unless the user set them.
func guestfsEnv(env []string, accel string) []string {
	has := func(k string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("LIBGUESTFS_BACKEND") {
		env = append(env, "LIBGUESTFS_BACKEND=direct")
	}
	if !has("LIBGUESTFS_CACHEDIR") {
		env = append(env, "LIBGUESTFS_CACHEDIR=/var/tmp") // the appliance is built once per machine and kept
	}
	if !has("LIBGUESTFS_BACKEND_SETTINGS") && accel != "kvm" {
		env = append(env, "LIBGUESTFS_BACKEND_SETTINGS=force_tcg")
	}
	settings := "LIBGUESTFS_BACKEND_SETTINGS=" + os.Getenv("LIBGUESTFS_BACKEND_SETTINGS")
	for _, e := range env {
		if strings.HasPrefix(e, "LIBGUESTFS_BACKEND_SETTINGS=") {
			settings = e
		}
	}
	return append(env, settings)
}

// placeholders turns guestfish's answers into the tree: an empty file (or
// directory) for each probe that exists and each name a listing gave.
// Written through an os.Root: a symlink the image planted in what was
// copied out never leads a write outside dir.
func placeholders(out, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	sc := bufio.NewScanner(strings.NewReader(out))
	var kind, arg string
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "=="); ok {
			kind, arg, _ = strings.Cut(rest, " ")
			continue
		}
		var p string
		switch {
		case kind == "exists" && line == "true":
			p = arg
		case kind == "glob" && strings.HasPrefix(line, "/lib/modules/") && !strings.Contains(line, ".."):
			p = line
		case kind == "ls" && line != "" && !strings.ContainsAny(line, "/\\\x00") && line != "." && line != "..":
			p = arg + "/" + line
		default:
			continue
		}
		local := strings.TrimPrefix(p, "/")
		if _, err := root.Lstat(local); err == nil {
			continue // copied out for real
		}
		if p == "/Windows/System32" || arg == "/"+driverStore {
			err = root.MkdirAll(local, 0o755)
		} else if err = root.MkdirAll(path.Dir(local), 0o755); err == nil {
			err = root.WriteFile(local, nil, 0o644)
		}
		if err != nil {
			return fmt.Errorf("extract: %s: %w", p, err)
		}
	}
	return nil
}

// Tree opens what Extract wrote as the fs.FS the checks read, through an
// os.Root: a symlink in the image that points outside it (say, a
// cloud.cfg.d entry aimed at a file of the machine running virtcert)
// cannot be followed out of dir. Close the root when done.
func Tree(dir string) (fs.FS, io.Closer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return root.FS(), root, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " / ")
}

// capWriter keeps the first max bytes written.
type capWriter struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); len(p) > room {
		c.over = true
		if room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}
