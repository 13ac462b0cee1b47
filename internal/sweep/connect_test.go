package sweep

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fullListener listens on 127.0.0.1 with a full accept queue (backlog 0,
// one connection waiting, never accepted): further SYNs get no answer.
func fullListener(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return port
}

// TestConnectStates: phase 1's own connect (the fast path on Linux) tells
// open, closed (refused), filtered (no answer within the timeout) and a
// cancelled sweep apart, on loopback.
func TestConnectStates(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	openPort := ln.Addr().(*net.TCPAddr).Port
	gone, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := gone.Addr().(*net.TCPAddr).Port
	gone.Close()
	deadPort := fullListener(t)
	lo := netip.MustParseAddr("127.0.0.1")
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		addr netip.Addr
		port int
		want portState
		max  time.Duration
	}{
		{"open", ctx, lo, openPort, portOpen, time.Second},
		{"closed", ctx, lo, closedPort, portClosed, time.Second},
		{"closed v6", ctx, netip.MustParseAddr("::1"), closedPort, portClosed, time.Second},
		{"no answer", ctx, lo, deadPort, portFiltered, 1200 * time.Millisecond},
		{"cancelled", cancelled, lo, deadPort, portCancelled, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got, err := connect(tc.ctx, nil, tc.addr, tc.port, 300*time.Millisecond)
			if tc.name == "closed v6" && got == portError {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			if got != tc.want {
				t.Errorf("%s:%d: %s (%v), want %s", tc.addr, tc.port, got, err, tc.want)
			}
			if el := time.Since(start); el > tc.max {
				t.Errorf("took %v", el)
			}
			if tc.want == portFiltered && !isTimeout(err) {
				t.Errorf("a timeout that is not one: %v", err)
			}
		})
	}
}
