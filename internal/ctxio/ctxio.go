// Package ctxio names why an I/O call on a connection failed when a
// context bounds it: the context's end, not the closed socket or the
// expired deadline it caused.
package ctxio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Err prefers ctx's error over the I/O error it caused: a cancelled or
// expired ctx wraps as itself (errors.Is(err, context.Canceled) or
// context.DeadlineExceeded) with the I/O error as text; a socket deadline
// that fired first (deadlines come from ctx) reads as DeadlineExceeded.
// Any other error is returned as is; nil stays nil.
func Err(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ce := ctx.Err(); ce != nil {
		if errors.Is(err, ce) {
			return err
		}
		return fmt.Errorf("%w (%v)", ce, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// Ended reports that ctx is done or its deadline has passed: a socket
// deadline set from ctx fires a moment before ctx's own timer marks it
// done, and an I/O error then must still read as ctx's end, never as the
// peer's silence.
func Ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
