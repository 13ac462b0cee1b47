package dcerpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// TCP is the ncacn_ip_tcp transport: PDUs straight on a TCP stream (port
// 135 for the endpoint mapper, dynamic ports for the rest). Every read and
// write takes its deadline from the context; cancelling the context
// interrupts a blocked read.
type TCP struct {
	conn net.Conn
}

// NewTCP wraps an established connection.
func NewTCP(conn net.Conn) *TCP { return &TCP{conn: conn} }

// DialTCP connects to address ("host:port").
func DialTCP(ctx context.Context, address string) (*TCP, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("dcerpc: dial %s: %w", address, err)
	}
	return &TCP{conn: conn}, nil
}

// Close closes the connection.
func (t *TCP) Close() error { return t.conn.Close() }

// withDeadline applies ctx's deadline to the connection for the duration
// of op and makes cancellation unblock it.
func (t *TCP) withDeadline(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, _ := ctx.Deadline() // zero: no deadline
	if err := t.conn.SetDeadline(dl); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { t.conn.SetDeadline(time.Unix(1, 0)) })
	err := op()
	stop()
	if err != nil {
		// The connection deadline and the context's timer race; report
		// the context's reason either way.
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !dl.IsZero() && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
	}
	return err
}

// Write sends b whole.
func (t *TCP) Write(ctx context.Context, b []byte) (int, error) {
	var n int
	err := t.withDeadline(ctx, func() error {
		var err error
		n, err = t.conn.Write(b)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("dcerpc: tcp write: %w", err)
	}
	return n, nil
}

// Read returns what the stream has, at most max bytes (at least one).
func (t *TCP) Read(ctx context.Context, max int) ([]byte, error) {
	buf := make([]byte, max)
	var n int
	err := t.withDeadline(ctx, func() error {
		var err error
		n, err = t.conn.Read(buf)
		return err
	})
	if n > 0 {
		return buf[:n], nil
	}
	if err != nil {
		return nil, fmt.Errorf("dcerpc: tcp read: %w", err)
	}
	return nil, nil
}

// Transact writes in and reads the first bytes of the reply.
func (t *TCP) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	if _, err := t.Write(ctx, in); err != nil {
		return nil, err
	}
	return t.Read(ctx, maxOut)
}
