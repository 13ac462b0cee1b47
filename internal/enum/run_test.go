package enum

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/hostile"
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

// TestDeadlineIsNoPortState: when the host's deadline (or an interrupt)
// ends the TCP probe, the port has no state: never "filtered", and the
// host stops at reachability with the reason.
func TestDeadlineIsNoPortState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, c, err := probeTCP(ctx, "127.0.0.99", "445")
	if st != Error || c != nil || err == nil {
		t.Errorf("probeTCP on a cancelled context = %q, %v, %v; want error, no state", st, c, err)
	}
	r := Run(ctx, "127.0.0.99", Options{Timeout: 5 * time.Second, NoGuest: true})
	if len(r.Ports) != 0 || r.Layer != LayerReachability || r.SMB != nil {
		t.Errorf("ports %v, layer %q, smb %+v; want no port state and a stop at reachability", r.Ports, r.Layer, r.SMB)
	}
	if want := "no answer before the host's deadline"; !strings.Contains(r.Error, want) {
		t.Errorf("error %q lacks %q", r.Error, want)
	}
}

// TestClosingListenerNotNegotiated: a listener that closes every
// connection gives a negotiate error, no dialect map and no signing flags
// (absent in JSON), never a row of "no" and "signing false".
func TestClosingListenerNotNegotiated(t *testing.T) {
	addr := hostile.Addr(242)
	s, err := hostile.Listen(addr, []int{445, 139}, func(context.Context, *net.TCPConn, int) {})
	if err != nil {
		t.Skipf("hostile listener: %v", err)
	}
	defer s.Close()
	r := Run(context.Background(), addr, Options{Timeout: 5 * time.Second, NoGuest: true})
	if r.Layer != LayerNegotiate || r.SMB != nil {
		t.Errorf("layer %q, smb %+v; want a stop at negotiate and nothing of layer 2", r.Layer, r.SMB)
	}
	b, _ := json.Marshal(r)
	for _, key := range []string{`"dialects"`, `"signing_enabled"`, `"signing_required"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("JSON has %s: %s", key, b)
		}
	}
	// SMBInfo without a negotiated dialect leaves the signing flags out.
	b, _ = json.Marshal(SMBInfo{Dialects: map[string]bool{"SMB 1.0": false}})
	if strings.Contains(string(b), "signing") {
		t.Errorf("un-negotiated SMBInfo: %s", b)
	}
}

// A name that does not resolve stops the host at resolve: no port of any
// door (135, LDAP) is probed, and the lookup is asked once, not per port.
func TestUnresolvedNameStopsAtResolve(t *testing.T) {
	var lookups atomic.Int32
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		lookups.Add(1)
		return nil, fmt.Errorf("no DNS in tests")
	}}
	r := Run(context.Background(), "nosuch.invalid", Options{Timeout: 5 * time.Second, Checks: CheckAll, Resolver: noDNS})
	if r.Layer != LayerResolve || r.Error == "" {
		t.Fatalf("layer %q, error %q; want resolve with an error", r.Layer, r.Error)
	}
	if len(r.Ports) != 0 || r.LDAP != nil || r.Endpoints != nil {
		t.Errorf("ports %v, ldap %v, endpoints %v: want nothing probed", r.Ports, r.LDAP, r.Endpoints)
	}
	if len(r.Checks) != 1 || r.Checks[0].Layer != LayerResolve {
		t.Errorf("checks = %+v, want the one lookup", r.Checks)
	}
	if lookups.Load() == 0 {
		t.Error("the test's resolver was not asked")
	}
}

// Answered: refused ports and a denied null session are answers; a
// filtered port, a deadline or a failed negotiate are not.
func TestAnswered(t *testing.T) {
	for _, tt := range []struct {
		layer      Layer
		err        string
		nullDenied bool
		want       bool
	}{
		{"", "", false, true},
		{LayerReachability, "tcp/445 closed", false, true},
		{LayerReachability, "tcp/445 filtered", false, false},
		{LayerSession, "smb: session setup: STATUS_ACCESS_DENIED", true, true},
		{LayerSession, "smb: session setup: context deadline exceeded", false, false},
		{LayerNegotiate, "smb: negotiate: EOF", false, false},
		{LayerResolve, "lookup x: no such host", false, false},
	} {
		if got := Answered(tt.layer, tt.err, tt.nullDenied); got != tt.want {
			t.Errorf("Answered(%q, %q, %v) = %v, want %v", tt.layer, tt.err, tt.nullDenied, got, tt.want)
		}
	}
}

// The deadline's layer is that of the first check it cut, in the
// evidence's order; without one, that of the last RPC or share step.
func TestDeadlineLayer(t *testing.T) {
	cut := func(l Layer) Check {
		return Call(l, IfaceLSA, "m", "").Done(0, fmt.Errorf("lsa: call: %w", context.DeadlineExceeded))
	}
	ok := func(l Layer) Check { return Call(l, IfaceSAMR, "m", "").Done(0, nil) }
	denied := func(l Layer) Check { return Call(l, IfaceSMB, "m", "").Done(0, ntstatus.AccessDenied) }
	for _, tc := range []struct {
		name   string
		checks []Check
		want   Layer
	}{
		{"a call cut before share probes merged after it", []Check{ok(LayerPipe), cut(LayerCall), ok(LayerCall), ok(LayerShare)}, LayerCall},
		{"a share probe cut after calls", []Check{ok(LayerCall), denied(LayerShare), cut(LayerShare)}, LayerShare},
		{"a bind cut", []Check{ok(LayerPipe), cut(LayerBind), cut(LayerCall)}, LayerBind},
		{"nothing cut: the last step", []Check{ok(LayerCall), denied(LayerShare)}, LayerShare},
		{"a cut outside the RPC layers is not it", []Check{cut(LayerReachability), ok(LayerPipe)}, LayerPipe},
		{"no RPC step at all", []Check{ok(LayerReachability)}, LayerCall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deadlineLayer(tc.checks); got != tc.want {
				t.Errorf("deadlineLayer = %q, want %q", got, tc.want)
			}
		})
	}
}
