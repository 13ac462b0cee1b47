package hostile

import (
	"context"
	"net"
	"strconv"
	"time"
)

// Latency relays each connection to the same port of upstream (a lab
// server) across a slow link: every chunk read from either side is
// delivered oneWay after it was read, in order, so requests in flight
// together stay together (a round trip costs 2 x oneWay however many are
// outstanding), as on a long path with bandwidth to spare. Not hostile:
// it measures what concurrency buys where round trips cost more than the
// server's work (BenchmarkSlowLink in internal/enum).
func Latency(upstream string, oneWay time.Duration) Handler {
	return func(ctx context.Context, c *net.TCPConn, port int) {
		var d net.Dialer
		up, err := d.DialContext(ctx, "tcp", net.JoinHostPort(upstream, strconv.Itoa(port)))
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { delayCopy(ctx, up, c, oneWay); done <- struct{}{} }()
		go func() { delayCopy(ctx, c, up, oneWay); done <- struct{}{} }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		// Either side closing ends the link: closing both ends the other copy.
		c.Close()
		up.Close()
		<-done
	}
}

// delayCopy copies src to dst, each chunk written oneWay after it was read.
func delayCopy(ctx context.Context, dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	// Bounded: a reader that gets ahead of the writer by 256 chunks waits.
	q := make(chan chunk, 256)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				select {
				case q <- chunk{b[:n], time.Now().Add(oneWay)}:
				case <-stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range q {
		if wait := time.Until(ch.at); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		if _, err := dst.Write(ch.b); err != nil {
			return
		}
	}
}
