package parse

import (
	"encoding/json"
	"errors"
	"strings"
)

// FioJob is one job of `fio --output-format=json`.
type FioJob struct {
	Name          string
	Error         int
	ReadBW        float64 // bytes/s
	ReadIOPS      float64
	WriteBW       float64 // bytes/s
	WriteIOPS     float64
	RuntimeMillis float64
}

// Fio parses fio's JSON output. fio may print warnings before the JSON
// ("fio: ..."), so parsing starts at the first '{'.
func Fio(out string) ([]FioJob, error) {
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return nil, errors.New("fio: no JSON object in output")
	}
	var doc struct {
		Jobs []struct {
			Jobname string `json:"jobname"`
			Error   int    `json:"error"`
			Read    fioDir `json:"read"`
			Write   fioDir `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &doc); err != nil {
		return nil, err
	}
	if len(doc.Jobs) == 0 {
		return nil, errors.New("fio: no jobs in output")
	}
	var jobs []FioJob
	for _, j := range doc.Jobs {
		jobs = append(jobs, FioJob{
			Name: j.Jobname, Error: j.Error,
			ReadBW: j.Read.bytesPerSec(), ReadIOPS: j.Read.IOPS,
			WriteBW: j.Write.bytesPerSec(), WriteIOPS: j.Write.IOPS,
			RuntimeMillis: max(j.Read.Runtime, j.Write.Runtime),
		})
	}
	return jobs, nil
}

type fioDir struct {
	BW      float64 `json:"bw"`       // KiB/s
	BWBytes float64 `json:"bw_bytes"` // bytes/s (fio >= 3.x)
	IOPS    float64 `json:"iops"`
	Runtime float64 `json:"runtime"`
}

func (d fioDir) bytesPerSec() float64 {
	if d.BWBytes > 0 {
		return d.BWBytes
	}
	return d.BW * 1024
}
