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

// A result that arrives after the caller gave up is freed; one in time,
// or a late error, is not.
func TestWithinFreeingLate(t *testing.T) {
	freed := make(chan int, 2)
	free := func(v int) { freed <- v }
	if v, err, done := WithinFreeing(context.Background(), func() (int, error) { return 7, nil }, free); v != 7 || err != nil || !done {
		t.Fatalf("finished call: %v %v %v", v, err, done)
	}
	for _, late := range []error{nil, errors.New("refused")} {
		release := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err, done := WithinFreeing(ctx, func() (int, error) { <-release; return 9, late }, free)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || done {
			t.Fatalf("blocked call: err %v done %v", err, done)
		}
		close(release)
		select {
		case v := <-freed:
			if late != nil || v != 9 {
				t.Errorf("freed %d after a late error %v", v, late)
			}
		case <-time.After(2 * time.Second):
			if late == nil {
				t.Error("a late result was never freed")
			}
		}
	}
	if len(freed) != 0 {
		t.Errorf("%d results freed that were not late", len(freed))
	}
}
