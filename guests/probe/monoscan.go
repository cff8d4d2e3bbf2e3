package probe

import "time"

// ticksToNS converts counter ticks at freq per second to nanoseconds
// without overflowing for a counter that has run for years.
func ticksToNS(ticks, freq int64) int64 {
	if freq <= 0 {
		return 0
	}
	s := ticks / freq
	return s*1e9 + (ticks%freq)*1e9/freq
}

// monoScan reads now in a tight loop for d and counts readings that went
// backwards, and the largest forward step.
func monoScan(now func() int64, d time.Duration) MonoResult {
	prev := now()
	end := prev + d.Nanoseconds()
	res := MonoResult{}
	for {
		t := now()
		res.Iterations++
		if delta := t - prev; delta < 0 {
			res.Decreases++
			res.MaxBackstepNS = max(res.MaxBackstepNS, -delta)
		} else {
			res.MaxGapNS = max(res.MaxGapNS, delta)
		}
		prev = t
		if t >= end {
			break
		}
	}
	res.Seconds = d.Seconds()
	return res
}
