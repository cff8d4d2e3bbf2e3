package windows

import (
	"context"
	"time"
)

// SetSleep replaces the wait of the drift window and the settle polls
// (the tests take no time).
func SetSleep(f func(context.Context, time.Duration)) { sleep = f }
