package enum

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

func TestClosedPortIsQuick(t *testing.T) {
	start := time.Now()
	r := Run(context.Background(), "127.0.0.99", Options{Timeout: 5 * time.Second, NoGuest: true})
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed host took %v, want well under a second", d)
	}
	if r.Ports["445"] != "closed" || r.Ports["139"] != "closed" {
		t.Errorf("ports = %v, want both closed", r.Ports)
	}
	if r.Layer != "reachability" {
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
	if r.Ports["445"] != "open" {
		t.Errorf("port 445 = %q, want open (it accepts)", r.Ports["445"])
	}
	if r.Error == "" || r.Layer != "negotiate" {
		t.Errorf("layer/error = %q/%q, want a negotiate error", r.Layer, r.Error)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err            error
		result, status string
	}{
		{nil, "ok", ""},
		{context.DeadlineExceeded, "error", ""},
		{ntstatus.AccessDenied, "denied", "STATUS_ACCESS_DENIED"},
		{fmt.Errorf("smb2: tree connect: %w", ntstatus.BadNetworkName), "error", "STATUS_BAD_NETWORK_NAME"},
		{fmt.Errorf("x: %w", ntstatus.Status(0xC0001234)), "error", "0xC0001234"},
	} {
		res, st := Classify(tc.err)
		if res != tc.result || st != tc.status {
			t.Errorf("Classify(%v) = %q,%q want %q,%q", tc.err, res, st, tc.result, tc.status)
		}
	}
}
