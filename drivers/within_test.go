package drivers

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	v, err, done := Within(context.Background(), func() (int, error) { return 7, nil })
	if v != 7 || err != nil || !done {
		t.Fatalf("finished call: %v %v %v", v, err, done)
	}
	// A call that ignores its context must not hold the caller past ctx.
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err, done = Within(ctx, func() (int, error) { <-release; return 1, nil })
	if !errors.Is(err, context.DeadlineExceeded) || done {
		t.Fatalf("blocked call: err %v done %v", err, done)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %s, want about 50ms", d)
	}
}
