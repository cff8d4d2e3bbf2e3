package suites

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	miss := errors.New("no answer")
	st := NewT(context.Background(), Check{ID: "x"}, &Target{})
	var got []int
	n, err := st.Retry(4, time.Millisecond, func(try int) error {
		got = append(got, try)
		if try < 3 {
			return miss
		}
		return nil
	})
	if n != 3 || err != nil || len(got) != 3 || got[2] != 3 {
		t.Fatalf("answered on try 3: got tries %d %v, err %v", n, got, err)
	}
	n, err = st.Retry(4, time.Millisecond, func(int) error { return miss })
	if n != 4 || !errors.Is(err, miss) {
		t.Fatalf("never answers: want 4 tries and the last error, got %d, %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err = NewT(ctx, Check{ID: "x"}, &Target{}).Retry(4, time.Hour, func(int) error { return miss })
	if n != 1 || !errors.Is(err, miss) {
		t.Fatalf("ended context: want 1 try, got %d, %v", n, err)
	}
}
