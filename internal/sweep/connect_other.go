//go:build !linux

package sweep

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// rawConnect is the net package's connect where the Linux fast path does
// not apply.
func rawConnect(ctx context.Context, addr netip.Addr, port int, timeout time.Duration) (portState, error) {
	var d net.Dialer
	return connect(ctx, d.DialContext, addr, port, timeout)
}
