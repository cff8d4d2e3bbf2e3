package windows

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.disk.driver", Priority: 1, Title: "Storage controller uses the paravirtual driver",
		Keys: []string{"storage_services"},
		Doc: "Inventory: the Win32_PnPEntity rows of the profile's storage_services (viostor|vioscsi on KVM, storvsc on Hyper-V " +
			"generation 2, 'storvsc|intelide' on generation 1 whose boot disk is IDE) must include a working device, and " +
			"`Get-Disk` must show a boot disk (BusType as text, as evidence).",
		Run: runDiskDriver})
	reg(suites.Check{ID: "windows.disk.state", Priority: 1, Title: "Boot disk is online and writable",
		Doc: "Inventory: `Get-Disk | Select Number, FriendlyName, BusType, IsBoot, IsSystem, IsReadOnly, IsOffline, " +
			"OperationalStatus`: the boot disk is Online, not offline and not read-only.",
		Run: runDiskState})
	reg(suites.Check{ID: "windows.disk.integrity", Priority: 1, Title: "Unbuffered write and read-back are identical",
		Doc: "Writes 16 MiB of random data in 1 MiB blocks to %SystemDrive%\\virtcert-integrity.bin through a `[IO.FileStream]` opened " +
			"with WriteThrough and FILE_FLAG_NO_BUFFERING (0x20000000), hashing it (SHA-256) as it goes, reads it back unbuffered, " +
			"hashes again and deletes the file; JSON {written, read, error}. The hashes must be equal. An I/O error (write " +
			"protected, access denied, device error) is a FAIL; 'The parameter is incorrect' (an alignment the harness got " +
			"wrong) is an ERROR.",
		Run: runIntegrity})
	reg(suites.Check{ID: "windows.disk.trim", Priority: 2, Title: "TRIM is enabled and reaches the disk",
		Doc: "`fsutil behavior query DisableDeleteNotify` must report NTFS DisableDeleteNotify = 0 and `Optimize-Volume " +
			"-DriveLetter <system drive> -ReTrim -Verbose` must succeed and report 'Retrim: 100% complete' (it fails with " +
			"0x8900002A, 'not supported by the hardware backing the volume', when unmap does not reach the disk).",
		Timeout: 10 * time.Minute, Run: runTrim})
}

// JudgeDiskDriver checks the storage controller's driver and the boot disk.
func JudgeDiskDriver(inv *Inventory, services []string) suites.Verdict {
	v := JudgePresent(inv, services)
	for i := range v.Items {
		v.Items[i].Key = "storage_services"
	}
	var boot []string
	for _, d := range inv.Disks {
		if d.IsBoot {
			boot = append(boot, fmt.Sprintf("disk %d %s, BusType %s", d.Number, d.FriendlyName, d.BusType))
		}
	}
	v.Add("boot disk (Get-Disk IsBoot)", len(boot) > 0, "a boot disk", orNone(boot), "", "")
	return v
}

func runDiskDriver(t *suites.T) {
	t.Judge(JudgeDiskDriver(inventory(t), t.Strings("storage_services")))
}

// JudgeDiskState checks the boot disk is online and writable.
func JudgeDiskState(inv *Inventory) suites.Verdict {
	var v suites.Verdict
	n := 0
	for _, d := range inv.Disks {
		if !d.IsBoot && !d.IsSystem {
			continue
		}
		n++
		act := fmt.Sprintf("disk %d: OperationalStatus %s, IsOffline %v, IsReadOnly %v", d.Number, d.OperationalStatus, d.IsOffline, d.IsReadOnly)
		v.Add(fmt.Sprintf("boot/system disk %d online and writable", d.Number), d.OperationalStatus == "Online" && !d.IsOffline && !d.IsReadOnly,
			"Online, IsOffline False, IsReadOnly False", act, "", "")
	}
	if n == 0 {
		v.Add("boot disk (Get-Disk IsBoot or IsSystem)", false, "present", fmt.Sprintf("none among %d disks", len(inv.Disks)), "", "")
	}
	return v
}

func runDiskState(t *suites.T) { t.Judge(JudgeDiskState(inventory(t))) }

const integrityMarker = "# virtcert: windows disk integrity"

const probeIntegrity = integrityMarker + `
$p = Join-Path $env:SystemDrive 'virtcert-integrity.bin'
$blk = 1MB; $n = 16
$opt = [IO.FileOptions]::WriteThrough -bor [IO.FileOptions]0x20000000
$out = [ordered]@{ bytes = $blk * $n }
try {
  $rng = [Security.Cryptography.RandomNumberGenerator]::Create()
  $sha = [Security.Cryptography.SHA256]::Create()
  $buf = New-Object byte[] $blk
  $fs = New-Object IO.FileStream($p, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::None, 4096, $opt)
  try { for ($i = 0; $i -lt $n; $i++) { $rng.GetBytes($buf); $fs.Write($buf, 0, $blk); [void]$sha.TransformBlock($buf, 0, $blk, $null, 0) } } finally { $fs.Dispose() }
  [void]$sha.TransformFinalBlock($buf, 0, 0)
  $out.written = [BitConverter]::ToString($sha.Hash).Replace('-', '')
  $fs = New-Object IO.FileStream($p, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::None, 4096, $opt)
  try { $out.read = [BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash($fs)).Replace('-', '') } finally { $fs.Dispose() }
} catch { $out.error = $_.Exception.Message }
finally { Remove-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue }
$out | ConvertTo-Json -Compress`

// Integrity is the integrity script's answer.
type Integrity struct {
	Bytes   int64  `json:"bytes"`
	Written string `json:"written"`
	Read    string `json:"read"`
	Error   string `json:"error"`
}

// HarnessError reports whether the script's error is the harness's
// (a buffer alignment FILE_FLAG_NO_BUFFERING rejects), not the disk's.
func (in Integrity) HarnessError() bool {
	return strings.Contains(in.Error, "The parameter is incorrect")
}

// JudgeIntegrity checks the hashes.
func JudgeIntegrity(in Integrity) suites.Verdict {
	var v suites.Verdict
	if in.Error != "" {
		v.Add("unbuffered write and read-back", false, "no I/O error", in.Error, "", "")
		return v
	}
	v.Add("SHA-256 written = SHA-256 read back", in.Written != "" && in.Written == in.Read, "equal hashes of "+fmt.Sprint(in.Bytes)+" bytes",
		"written "+in.Written+", read "+in.Read, "", "")
	return v
}

func runIntegrity(t *suites.T) {
	r := t.Run("unbuffered write, read back, compare SHA-256", probeIntegrity)
	var in Integrity
	if err := json.Unmarshal([]byte(lastJSON(string(r.Stdout))), &in); err != nil || r.Exit != 0 {
		t.Errorf("integrity script output did not parse (exit %d): %q", r.Exit, firstLine(string(r.Stdout)))
	}
	if in.HarnessError() {
		t.Errorf("the unbuffered I/O was rejected as misaligned (a harness fault, not the disk's): %s", in.Error)
	}
	t.Judge(JudgeIntegrity(in))
}

const trimMarker = "# virtcert: windows trim"

const probeTrim = trimMarker + `
$out = [ordered]@{ deleteNotify = (fsutil behavior query DisableDeleteNotify | Out-String).Trim() }
try {
  $out.retrim = (Optimize-Volume -DriveLetter $env:SystemDrive.TrimEnd(':') -ReTrim -Verbose -ErrorAction Stop 4>&1 | ForEach-Object { [string]$_ } | Out-String).Trim()
} catch { $out.error = $_.Exception.Message }
$out | ConvertTo-Json -Compress`

// Trim is the TRIM script's answer.
type Trim struct {
	DeleteNotify string `json:"deleteNotify"`
	Retrim       string `json:"retrim"`
	Error        string `json:"error"`
}

var deleteNotifyRe = regexp.MustCompile(`(?m)^\s*(?:NTFS )?DisableDeleteNotify\s*=\s*(\d)`)

// JudgeTrim checks fsutil's DisableDeleteNotify and the retrim.
func JudgeTrim(tr Trim) suites.Verdict {
	var v suites.Verdict
	dn := "not reported"
	if m := deleteNotifyRe.FindStringSubmatch(tr.DeleteNotify); m != nil {
		dn = m[1]
	}
	v.Add("NTFS DisableDeleteNotify (fsutil behavior query)", dn == "0", "0 (TRIM sent to the device)", dn, "", "")
	act := tr.Error
	if act == "" {
		act = lastLineWith(tr.Retrim, "Retrim:")
	}
	v.Add("Optimize-Volume -ReTrim", tr.Error == "" && strings.Contains(tr.Retrim, "100% complete"), "Retrim: 100% complete, no error", quoted(act), "", "")
	return v
}

func lastLineWith(s, sub string) string {
	out := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = strings.TrimSpace(l)
		}
	}
	return out
}

func runTrim(t *suites.T) {
	r := t.Run("DisableDeleteNotify and Optimize-Volume -ReTrim", probeTrim)
	var tr Trim
	if err := json.Unmarshal([]byte(lastJSON(string(r.Stdout))), &tr); err != nil || r.Exit != 0 {
		t.Errorf("TRIM script output did not parse (exit %d): %q", r.Exit, firstLine(string(r.Stdout)))
	}
	t.Judge(JudgeTrim(tr))
}
