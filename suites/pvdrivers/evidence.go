package pvdrivers

import (
	"time"

	"github.com/virtcert/virtcert/reports"
)

func evidenceHost(step string, err error, d time.Duration) reports.Evidence {
	out := "ok"
	if err != nil {
		out = err.Error()
	}
	return reports.Evidence{Step: step, Command: step, Output: out, Duration: d}
}
