package parse

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for the network and disk parsers. Seed corpora live in
// testdata/fuzz/<target>/ (built from fixtures/transcripts); `go test`
// runs the seeds, `go test -fuzz FuzzX` explores. Each target checks that
// the parser never panics on hostile guest output, plus cheap invariants.

func FuzzIPAddr(f *testing.F) {
	f.Add("2: eth0: <UP,LOWER_UP> mtu 1500 state UP\n    link/ether 52:54:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.0.2/24 scope global eth0\n")
	f.Add(`2: eth0    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, i := range IPAddr(s) {
			for _, p := range i.IPv4 {
				if !p.Addr().Is4() {
					t.Fatalf("non-IPv4 %v in IPv4 list", p)
				}
			}
		}
	})
}

func FuzzDefaultGateway(f *testing.F) {
	f.Add("default via 192.168.150.1 dev eth0 proto dhcp metric 100\n")
	f.Fuzz(func(t *testing.T, s string) {
		if gw, _, ok := DefaultGateway(s); ok && !gw.IsValid() {
			t.Fatal("ok with an invalid gateway")
		}
	})
}

func FuzzNetLinks(f *testing.F) {
	f.Add("eth0 operstate=up carrier=1 mtu=1500 address=52:54:00:00:00:01 type=1 driver=../../virtio_net\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range NetLinks(s) {
			if l.Name == "" || strings.ContainsAny(l.Name, " \t\n") {
				t.Fatalf("bad name %q", l.Name)
			}
		}
	})
}

func FuzzProcNetDev(f *testing.F) {
	f.Add("  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
	f.Fuzz(func(t *testing.T, s string) { ProcNetDev(s) })
}

func FuzzPing(f *testing.F) {
	f.Add("10 packets transmitted, 7 received, 30% packet loss, time 9012ms\nrtt min/avg/max/mdev = 0.1/0.2/0.3/0.0 ms\n")
	f.Add("3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.3/0.3/0.3 ms\n")
	f.Fuzz(func(t *testing.T, s string) {
		if r := Ping(s); r.OK && r.Transmitted <= 0 {
			t.Fatal("OK without packets")
		}
	})
}

func FuzzEthtoolInfo(f *testing.F) {
	f.Add("driver: virtio_net\nversion: 1.0.0\nbus-info: 0000:01:00.0\n")
	f.Fuzz(func(t *testing.T, s string) {
		for k := range EthtoolInfo(s) {
			if strings.ContainsAny(k, " \t") {
				t.Fatalf("key with space %q", k)
			}
		}
	})
}

func FuzzEthtoolFeatures(f *testing.F) {
	f.Add("Features for eth0:\nrx-checksumming: on [fixed]\ntx-checksumming: off\n\ttx-checksum-ipv4: off [fixed]\n")
	f.Fuzz(func(t *testing.T, s string) { EthtoolFeatures(s) })
}

func FuzzLsblkJSON(f *testing.F) {
	f.Add(`{"blockdevices":[{"name":"vda","type":"disk","size":1,"children":[{"name":"vda1","mountpoints":["/"]}]}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		devs, err := LsblkJSON(s)
		if err == nil {
			Flatten(devs)
		}
	})
}

func FuzzLsblkPairs(f *testing.F) {
	f.Add(`NAME="vda" TYPE="disk" MOUNTPOINT="/mnt/a\x20b"` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range LsblkPairs(s) {
			for k := range d.Fields {
				if k == "" {
					t.Fatal("empty key")
				}
			}
		}
	})
}

func FuzzFio(f *testing.F) {
	f.Add(`fio-3.33: note\n{"jobs":[{"jobname":"vc","error":0,"read":{"bw_bytes":1000,"iops":1,"runtime":5000},"write":{"bw":1}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		if jobs, err := Fio(s); err == nil && len(jobs) == 0 {
			t.Fatal("no error and no jobs")
		}
	})
}

func FuzzIperf3(f *testing.F) {
	f.Add(`{"start":{"test_start":{"num_streams":4}},"end":{"sum_received":{"seconds":5,"bits_per_second":1e9}}}`)
	f.Add(`{"error":"unable to connect to server: Connection refused"}`)
	f.Fuzz(func(t *testing.T, s string) { Iperf3(s) })
}

func FuzzDnsmasqLeases(f *testing.F) {
	f.Add("1763771400 52:54:00:6b:3c:58 192.168.150.123 guest 01:52:54:00:6b:3c:58\nduid 00:01\n0 aa:bb:cc:dd:ee:ff 10.0.0.2 * *\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range DnsmasqLeases(s) {
			if !l.IP.IsValid() {
				t.Fatal("lease without a valid IP")
			}
		}
	})
}

func FuzzLibvirtLeases(f *testing.F) {
	f.Add(`[{"ip-address":"192.168.150.123","mac-address":"52:54:00:6b:3c:58","expiry-time":1763771400}]`)
	f.Add(`[{"ip-address":"10.0.0.2","mac-address":"aa:bb:cc:dd:ee:ff","expiry-time":"1763771400"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := LibvirtLeases(s)
		if err == nil {
			for _, l := range ls {
				if !l.IP.IsValid() {
					t.Fatal("lease without a valid IP")
				}
			}
		}
	})
}

func FuzzSysBlocks(f *testing.F) {
	f.Add("vda size=41943040 ro=0 removable=0 driver=../virtio_blk host= vendor= lbs=512 pbs=512 dgran=512 dmax=2147483136 parts=vda1:2048,vda15:10240,\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, b := range SysBlocks(s) {
			_ = b.Bytes()
			_ = b.Virtual()
		}
	})
}

func FuzzMounts(f *testing.F) {
	f.Add("/dev/vda1 / ext4 rw,relatime 0 0\n/dev/sdb1 /mnt/my\\040data ext4 rw 0 0\n# comment\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range Mounts(s) {
			if m.Target == "" && m.Source == "" {
				t.Fatal("empty mount")
			}
		}
		KernelCmdline(s)
		Fstrim(s)
	})
}

func FuzzUnescape(f *testing.F) {
	f.Add(`a\x20b\x`)
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.Contains(s, `\`) && unescapeHex(s) != s {
			t.Fatal("changed text without escapes")
		}
		if utf8.ValidString(s) && !strings.Contains(s, `\`) && unoctal(s) != s {
			t.Fatal("unoctal changed text without escapes")
		}
	})
}
