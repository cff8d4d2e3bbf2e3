// Command hypervsim runs the simulated Hyper-V host (fixtures/hypervsim)
// on an HTTPS WinRM endpoint, backed by the lab's libvirt, for end-to-end
// tests of `virtcert run` with a hyperv host:
//
//	VIRTCERT_SIM_PASSWORD=... hypervsim --listen 127.0.0.1:5986 \
//	    --image 'C:\images\tiny.vhdx=/root/.cache/virtcert/guests/tiny' \
//	    --image 'C:\images\debian.vhdx=/root/.cache/virtcert/guests/debian' \
//	    --user vcadmin --password-env VIRTCERT_SIM_PASSWORD --ready-file /tmp/sim.json
//
// It writes {"url":..., "ca_file":...} to --ready-file once it listens,
// and on SIGINT/SIGTERM destroys every backing guest it created. Each
// --image LOCAL is a kernel-and-initrd directory (the tiny guest, booted
// directly), a directory with one disk image (the Debian guest's cache
// directory) or a qcow2/raw file, booted from its own bootloader; the
// format is read with qemu-img, and a bad parent stops it with exit 2.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/fixtures/hypervsim"
)

type imageFlags map[string]hypervsim.ParentImage

func (f imageFlags) String() string { return fmt.Sprint(len(f)) }

// Set parses WINPATH=LOCAL and resolves LOCAL once (hypervsim.ResolveParent):
// a kernel-and-initrd directory (the tiny guest: direct kernel boot), a
// directory holding one disk image (the Debian guest's cache directory)
// or a qcow2/raw file, both booted from the disk's own bootloader.
func (f imageFlags) Set(s string) error {
	win, local, ok := strings.Cut(s, "=")
	if !ok || win == "" || local == "" {
		return fmt.Errorf("want WINPATH=LOCALPATH")
	}
	p, err := hypervsim.ResolveParent(local)
	if err != nil {
		return err
	}
	f[win] = p
	return nil
}

// images are the lab images the simulated VMs are backed by.
func (f imageFlags) images() map[string]drivers.Image {
	out := make(map[string]drivers.Image, len(f))
	for win, p := range f {
		out[win] = p.Image()
	}
	return out
}

func main() {
	images := imageFlags{}
	listen := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS WinRM on")
	labURI := flag.String("lab-uri", os.Getenv("VIRTCERT_LAB_URI"), "libvirt URI of the lab that backs the VMs (empty: VMs have no backing guest)")
	network := flag.String("lab-network", "virtcert", "lab network")
	pool := flag.String("lab-pool", "virtcert", "lab storage pool")
	user := flag.String("user", "vcadmin", "WinRM user name")
	passEnv := flag.String("password-env", "VIRTCERT_SIM_PASSWORD", "environment variable holding the WinRM password")
	noHyperV := flag.Bool("no-hyperv", false, "simulate a host without the Hyper-V PowerShell module")
	withhold := flag.Bool("withhold-addresses", false, "test knob: VMs never report an address (no adapter IPs, no KVP NetworkAddressIPv4)")
	profile := flag.String("profile", "2022", "simulated Windows Server version: 2019 or 2022 (its Hyper-V cmdlets' published parameter sets)")
	locale := flag.String("locale", "en-US", "display language of the simulated host: en-US or de-DE")
	noKVP := flag.Bool("no-kvp", false, "guests without a KVP daemon: addresses only through the host's neighbour cache")
	ready := flag.String("ready-file", "", "write {url, ca_file} here once listening")
	dir := flag.String("dir", "", "directory for the CA file (default: a temp dir)")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Var(images, "image", `parent image mapping WINPATH=LOCAL (repeatable): LOCAL is a kernel-and-initrd directory, a directory with one disk image (disk.qcow2, disk.raw or disk.img) or a qcow2/raw file, e.g. 'C:\images\debian.vhdx=/root/.cache/virtcert/guests/debian'`)
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	pass := os.Getenv(*passEnv)
	if pass == "" {
		fmt.Fprintf(os.Stderr, "hypervsim: set the WinRM password in $%s\n", *passEnv)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim, err := hypervsim.Start(ctx, hypervsim.Options{
		LabURI: *labURI, LabNetwork: *network, LabPool: *pool, Users: map[string]string{*user: pass},
		Images: images.images(), NoHyperV: *noHyperV, WithholdAddresses: *withhold, NoKVP: *noKVP, Profile: *profile, Locale: *locale, Addr: *listen, Dir: *dir, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hypervsim:", err)
		os.Exit(1)
	}
	for win, p := range images {
		log.Info("parent image", "path", win, "disk", p.Disk, "format", p.Format, "boot", p.Boot())
	}
	log.Info("simulated Hyper-V host listening", "url", sim.URL, "ca_file", sim.CAFile, "images", len(images), "lab", *labURI != "")
	if *ready != "" {
		b, _ := json.Marshal(map[string]string{"url": sim.URL, "ca_file": sim.CAFile})
		tmp := *ready + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, *ready)
		}
		if err != nil {
			log.Error("ready file", "err", err)
		}
	}
	<-ctx.Done()
	log.Info("stopping: destroying backing guests")
	if err := sim.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "hypervsim: close:", err)
		os.Exit(1)
	}
}
