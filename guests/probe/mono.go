package probe

// MonoResult reports a monotonic clock scan.
type MonoResult struct {
	Iterations    int64   `json:"iterations"`
	Seconds       float64 `json:"seconds"`
	Decreases     int64   `json:"decreases"`
	MaxBackstepNS int64   `json:"max_backstep_ns"`
	// MaxGapNS is the largest forward step between two readings (a vCPU
	// descheduled for that long, or a clock jump).
	MaxGapNS int64 `json:"max_gap_ns"`
}
