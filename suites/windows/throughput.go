package windows

import (
	"encoding/json"
	"fmt"

	"github.com/virtcert/virtcert/reports"
	"github.com/virtcert/virtcert/suites"
)

func init() {
	reg(suites.Check{ID: "windows.disk.throughput", Priority: 2, Title: "Sequential unbuffered disk throughput",
		Keys: []string{"min_read_mbps", "min_write_mbps", "size_mb"},
		Doc: "Writes size_mb MiB in 1 MiB blocks to %SystemDrive%\\virtcert-throughput.bin through a `[IO.FileStream]` opened " +
			"with WriteThrough and FILE_FLAG_NO_BUFFERING, reads it back the same way, timing each with " +
			"`[Diagnostics.Stopwatch]`, and deletes it; JSON {bytes, writeSeconds, readSeconds, error}. Read and write MB/s " +
			"must reach min_read_mbps and min_write_mbps. Sequential only: random 4 KiB IOPS timed from PowerShell would " +
			"measure the interpreter, not the disk, and wait for the Windows build of vcprobe.",
		Run: runThroughput})
}

const throughputMarker = "# virtcert: windows disk throughput"

// probeThroughput takes the size as its only argument (an integer).
const probeThroughput = throughputMarker + `
& { param([int]$MB)
  $p = Join-Path $env:SystemDrive 'virtcert-throughput.bin'
  $blk = 1MB
  $opt = [IO.FileOptions]::WriteThrough -bor [IO.FileOptions]0x20000000
  $out = [ordered]@{ bytes = [long]$MB * $blk }
  try {
    $buf = New-Object byte[] $blk
    [Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($buf)
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $fs = New-Object IO.FileStream($p, [IO.FileMode]::Create, [IO.FileAccess]::Write, [IO.FileShare]::None, 4096, $opt)
    try { for ($i = 0; $i -lt $MB; $i++) { $fs.Write($buf, 0, $blk) } } finally { $fs.Dispose() }
    $out.writeSeconds = $sw.Elapsed.TotalSeconds
    $sw.Restart()
    $fs = New-Object IO.FileStream($p, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::None, 4096, $opt)
    try { while ($fs.Read($buf, 0, $blk) -gt 0) { } } finally { $fs.Dispose() }
    $out.readSeconds = $sw.Elapsed.TotalSeconds
  } catch { $out.error = $_.Exception.Message }
  finally { Remove-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue }
  $out | ConvertTo-Json -Compress }`

// Throughput is the throughput script's answer.
type Throughput struct {
	Bytes        int64   `json:"bytes"`
	WriteSeconds float64 `json:"writeSeconds"`
	ReadSeconds  float64 `json:"readSeconds"`
	Error        string  `json:"error"`
}

func mbps(bytes int64, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / s
}

// JudgeThroughput checks both rates.
func JudgeThroughput(th Throughput, minRead, minWrite float64) suites.Verdict {
	var v suites.Verdict
	if th.Error != "" {
		v.Add("unbuffered sequential write and read", false, "no I/O error", th.Error, "", "")
		return v
	}
	w, r := mbps(th.Bytes, th.WriteSeconds), mbps(th.Bytes, th.ReadSeconds)
	v.Add("sequential write (WriteThrough, unbuffered)", th.Bytes > 0 && w >= minWrite, fmt.Sprintf(">= %g MB/s", minWrite),
		fmt.Sprintf("%.1f MB/s (%d bytes in %.2fs)", w, th.Bytes, th.WriteSeconds), "", "min_write_mbps")
	v.Add("sequential read (unbuffered)", th.Bytes > 0 && r >= minRead, fmt.Sprintf(">= %g MB/s", minRead),
		fmt.Sprintf("%.1f MB/s (%d bytes in %.2fs)", r, th.Bytes, th.ReadSeconds), "", "min_read_mbps")
	return v
}

func runThroughput(t *suites.T) {
	minRead, minWrite := t.Float("min_read_mbps"), t.Float("min_write_mbps")
	size := int(t.Float("size_mb"))
	r := t.Run("unbuffered sequential write and read, timed", fmt.Sprintf("%s -MB %d", probeThroughput, size))
	var th Throughput
	if err := json.Unmarshal([]byte(lastJSON(string(r.Stdout))), &th); err != nil || r.Exit != 0 {
		t.Errorf("throughput script output did not parse (exit %d): %q", r.Exit, firstLine(string(r.Stdout)))
	}
	if (Integrity{Error: th.Error}).HarnessError() {
		t.Errorf("the unbuffered I/O was rejected as misaligned (a harness fault, not the disk's): %s", th.Error)
	}
	if th.Error == "" {
		t.Measure(reports.Measurement{Name: "windows.disk.write_mbps", Unit: "MB/s", Value: mbps(th.Bytes, th.WriteSeconds), Threshold: &minWrite, Better: "higher"})
		t.Measure(reports.Measurement{Name: "windows.disk.read_mbps", Unit: "MB/s", Value: mbps(th.Bytes, th.ReadSeconds), Threshold: &minRead, Better: "higher"})
	}
	t.Judge(JudgeThroughput(th, minRead, minWrite))
}
