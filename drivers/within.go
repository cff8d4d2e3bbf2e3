package drivers

import "context"

// Within runs f and returns its result, or ctx's error as soon as ctx ends.
// It is for libraries that ignore contexts (go-libvirt RPCs, masterzen/winrm
// HTTP, x/crypto/ssh session opens): f keeps running in the background
// and its late result is dropped. done reports whether f finished; when it
// is false the caller must treat whatever f was using (a connection, a
// shell) as possibly still busy.
func Within[T any](ctx context.Context, f func() (T, error)) (v T, err error, done bool) {
	return WithinFreeing(ctx, f, nil)
}

// WithinFreeing is Within for an f whose result holds something (a
// session, a connection): free, when not nil, gets a result that f
// returns without error after ctx ended, so that an abandoned call
// leaves nothing open.
func WithinFreeing[T any](ctx context.Context, f func() (T, error), free func(T)) (v T, err error, done bool) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := f()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err, true
	case <-ctx.Done():
		if free != nil {
			go func() {
				if r := <-ch; r.err == nil {
					free(r.v)
				}
			}()
		}
		var zero T
		return zero, ctx.Err(), false
	}
}
