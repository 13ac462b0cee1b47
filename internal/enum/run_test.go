package enum

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/werror"
)

func TestClosedPortIsQuick(t *testing.T) {
	start := time.Now()
	r := Run(context.Background(), "127.0.0.99", Options{Timeout: 5 * time.Second, NoGuest: true})
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed host took %v, want well under a second", d)
	}
	if r.Ports["445"] != Closed || r.Ports["139"] != Closed {
		t.Errorf("ports = %v, want both closed", r.Ports)
	}
	if r.Layer != LayerReachability {
		t.Errorf("layer = %q, want reachability", r.Layer)
	}
	if len(r.Sessions) != 0 {
		t.Errorf("sessions reported for a closed host: %v", r.Sessions)
	}
}

// A listener that accepts and never answers must not hold the host past its
// --timeout.
func TestSilentListenerBoundedByTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.98:445")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.98:445: %v", err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	const limit = 1500 * time.Millisecond
	start := time.Now()
	r := Run(context.Background(), "127.0.0.98", Options{Timeout: limit, Port: 445, NoGuest: true})
	d := time.Since(start)
	if d > limit+500*time.Millisecond {
		t.Errorf("silent host took %v, want about %v", d, limit)
	}
	if r.Ports["445"] != Open {
		t.Errorf("port 445 = %q, want open (it accepts)", r.Ports["445"])
	}
	if r.Error == "" || r.Layer != LayerNegotiate {
		t.Errorf("layer/error = %q/%q, want a negotiate error", r.Layer, r.Error)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err    error
		result Outcome
		status Status
	}{
		{nil, OK, Status{}},
		{context.DeadlineExceeded, Error, Status{}},
		{ntstatus.AccessDenied, Denied, Status{ntstatus.AccessDenied.String(), uint32(ntstatus.AccessDenied)}},
		{fmt.Errorf("smb2: tree connect: %w", ntstatus.BadNetworkName), Error, Status{ntstatus.BadNetworkName.String(), uint32(ntstatus.BadNetworkName)}},
		{fmt.Errorf("x: %w", ntstatus.Status(0xC0001234)), Error, Status{"0xC0001234", 0xC0001234}},
		// WERROR 5 and fault 5 are both "access denied", each in its own name.
		{fmt.Errorf("srvsvc: share enum: %w", werror.AccessDenied), Denied, Status{werror.AccessDenied.String(), 5}},
		{fmt.Errorf("samr: connect: %w", &dcerpc.Fault{Status: dcerpc.FaultAccessDenied}), Denied, Status{dcerpc.FaultName(dcerpc.FaultAccessDenied), 5}},
		{fmt.Errorf("lsa: %w", &dcerpc.Fault{Status: dcerpc.FaultOpRngError}), Error, Status{dcerpc.FaultName(dcerpc.FaultOpRngError), dcerpc.FaultOpRngError}},
	} {
		res, st := Classify(tc.err)
		if res != tc.result || st != tc.status {
			t.Errorf("Classify(%v) = %q,%v want %q,%v", tc.err, res, st, tc.result, tc.status)
		}
	}
}
