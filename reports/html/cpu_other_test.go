//go:build !linux

package html

import "time"

func cpuTime() time.Duration { return 0 }
