package dcerpc

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestLiveTCPEndpointMapper binds the Samba DC's endpoint mapper over
// ncacn_ip_tcp and checks the real answers: a bind ack, a fault for an
// opnum EPM does not have, and a rejected presentation context for an
// interface port 135 does not serve.
func TestLiveTCPEndpointMapper(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "dc")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := DialTCP(ctx, net.JoinHostPort(addrs["dc"], "135"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c, err := Bind(ctx, tr, EPM)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecAddr != "135" {
		t.Errorf("sec_addr %q", c.SecAddr)
	}
	_, err = c.Call(ctx, 200, nil)
	var f *Fault
	if !errors.As(err, &f) || f.Status != FaultOpRngError || f.Name() != "nca_s_op_rng_error" {
		t.Fatalf("opnum 200: %v", err)
	}
	// The association survives a fault; an alter context to LSARPC on the
	// endpoint mapper's port is refused, the client stays usable.
	err = c.AlterContext(ctx, LSARPC)
	var rej *ContextRejectedError
	if !errors.As(err, &rej) || rej.Reason != ReasonAbstractNotSupp {
		t.Fatalf("alter context: %v", err)
	}
	if _, err := c.Call(ctx, 200, nil); !errors.As(err, &f) {
		t.Fatalf("after alter context: %v", err)
	}

	tr2, err := DialTCP(ctx, net.JoinHostPort(addrs["dc"], "135"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	if _, err := Bind(ctx, tr2, SAMR); !errors.As(err, &rej) || !errors.Is(err, ErrBindRefused) {
		t.Fatalf("bind SAMR on 135: %v", err)
	}
}

// TestTCPContextCancel: a server that never answers must not hold a call
// past its context.
func TestTCPContextCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(3 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	tr, err := DialTCP(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start := time.Now()
	_, err = Bind(ctx, tr, EPM)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}
