package labtest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestRequireOpen checks the contract other packages rely on: the address
// returned for a posture accepts SMB connections.
func TestRequireOpen(t *testing.T) {
	addrs := labtest.Require(t, "open", "dc")
	for name, want := range map[string]string{"open": "127.0.0.2", "dc": "127.0.0.10"} {
		if addrs[name] != want {
			t.Fatalf("Require: %s = %q, want %q", name, addrs[name], want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a, "445"))
		if err != nil {
			t.Fatalf("after Require, %s:445: %v", a, err)
		}
		c.Close()
	}
}
