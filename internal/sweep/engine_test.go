package sweep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// fakeNet answers connects by address and port, without any packet.
type fakeNet struct {
	// behaviour by "addr:port": "open", "refuse", "silent", "emfile";
	// anything not listed refuses.
	ports    map[string]string
	inflight atomic.Int64
	peak     atomic.Int64
	dials    atomic.Int64
}

func (f *fakeNet) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	f.dials.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	// Hold each connect a moment so concurrency is visible.
	time.Sleep(time.Millisecond)
	switch f.ports[addr] {
	case "open":
		c1, c2 := net.Pipe()
		c2.Close()
		return c1, nil
	case "silent":
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Err: ctx.Err()}
	case "emfile":
		return nil, &net.OpError{Op: "dial", Err: syscall.EMFILE}
	}
	return nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
}

// fakeExamine stands for enum+audit: one finding per host, or a panic for
// a host named in panics, or a wait until ctx ends for one in blocks.
func fakeExamine(panics, blocks map[string]bool) func(context.Context, string, ExamineOptions, *Record) {
	return func(ctx context.Context, target string, _ ExamineOptions, rec *Record) {
		if panics[target] {
			panic("boom")
		}
		if blocks[target] {
			<-ctx.Done()
			return
		}
		rec.Status = StatusOpen
		rec.Audit = &audit.Report{Target: target, Findings: []audit.Finding{{ID: "null-session-allowed", Severity: audit.High}}}
	}
}

func runCollect(t *testing.T, ctx context.Context, p *Plan, opt Options) ([]*Record, bool) {
	t.Helper()
	var mu sync.Mutex
	var recs []*Record
	ok := Run(ctx, p, opt, nil, func(r *Record) {
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	})
	return recs, ok
}

func TestRunStatuses(t *testing.T) {
	fn := &fakeNet{ports: map[string]string{
		"127.0.0.1:445": "open",
		"127.0.0.2:139": "open",
		"127.0.0.4:445": "silent",
		"127.0.0.5:139": "silent",
		"127.0.0.6:445": "emfile",
		"127.0.0.7:445": "open",
	}}
	p := mustPlan(t, "127.0.0.1-20", "", 1, 1, 1)
	recs, ok := runCollect(t, context.Background(), p, Options{ConnectTimeout: 50 * time.Millisecond, Connects: 4, Concurrency: 2,
		Dial: fn.dial, examine: fakeExamine(map[string]bool{"127.0.0.7": true}, nil)})
	if !ok {
		t.Fatal("Run reports an incomplete sweep")
	}
	got := map[string]*Record{}
	for _, r := range recs {
		if got[r.Target] != nil {
			t.Fatalf("two records for %s", r.Target)
		}
		got[r.Target] = r
		if r.PlanID != p.ID || r.Shard != "1/1" || r.Schema != Schema || r.Kind != KindHost || r.Time.IsZero() {
			t.Errorf("header of %s: %+v", r.Target, r.Header)
		}
		if _, tg := p.At(r.Index); tg.String() != r.Target {
			t.Errorf("index %d is %s, record says %s", r.Index, tg, r.Target)
		}
	}
	if len(got) != 20 {
		t.Fatalf("%d records, want 20", len(got))
	}
	for _, tc := range []struct {
		target string
		status Status
		port   int
		layer  enum.Layer
		errHas string
	}{
		{"127.0.0.1", StatusOpen, 445, "", ""},
		{"127.0.0.2", StatusOpen, 139, "", ""},
		{"127.0.0.3", StatusClosed, 0, "", ""},
		{"127.0.0.4", StatusFiltered, 0, "reachability", "tcp/445 no answer within 50ms"},
		{"127.0.0.5", StatusFiltered, 0, "reachability", "tcp/445 closed, tcp/139 no answer"},
		{"127.0.0.6", StatusError, 0, "reachability", "too many open files"},
		{"127.0.0.7", StatusError, 445, "internal", "internal error: boom"},
	} {
		r := got[tc.target]
		if r.Status != tc.status || r.Port != tc.port || r.Layer != tc.layer || !strings.Contains(r.Error, tc.errHas) {
			t.Errorf("%s: status %s port %d layer %q error %q; want %s %d %q %q", tc.target, r.Status, r.Port, r.Layer, r.Error, tc.status, tc.port, tc.layer, tc.errHas)
		}
	}
	if got["127.0.0.1"].Audit == nil || got["127.0.0.3"].Audit != nil {
		t.Error("only open hosts are examined")
	}
	if pk := fn.peak.Load(); pk > 4 {
		t.Errorf("%d connects in flight, cap 4", pk)
	}
}

func TestRunRate(t *testing.T) {
	fn := &fakeNet{}
	p := mustPlan(t, "127.0.0.1-40", "", 0, 1, 1)
	start := time.Now()
	recs, _ := runCollect(t, context.Background(), p, Options{Rate: 100, Connects: 64, Dial: fn.dial})
	// 40 targets refused twice each (445, 139): 80 connects, each takes a
	// token; the burst is 10, the other 70 wait at 100/s.
	if el := time.Since(start); el < 650*time.Millisecond {
		t.Errorf("40 targets at 100/s took %v", el)
	}
	if len(recs) != 40 {
		t.Errorf("%d records", len(recs))
	}
}

func TestRunShardAndDone(t *testing.T) {
	fn := &fakeNet{}
	p := mustPlan(t, "127.0.0.0/26", "", 5, 2, 3)
	done := NewBitmap(p.Len())
	for j := uint64(0); j < p.Len(); j += 2 {
		done.Set(j)
	}
	recs, ok := runCollect(t, context.Background(), p, Options{Connects: 8, Dial: fn.dial, Done: done})
	if !ok {
		t.Fatal("incomplete")
	}
	if want := p.Len() / 2; uint64(len(recs)) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	for _, r := range recs {
		j, ok := p.Local(r.Index)
		if !ok || done.Has(j) || r.Shard != "2/3" {
			t.Errorf("record %+v: local %d %v", r, j, ok)
		}
	}
}

// TestRunInterrupt: cancel with hosts in flight: Run returns within the
// grace period, finished hosts have records, the cut ones none.
func TestRunInterrupt(t *testing.T) {
	ports := map[string]string{}
	blocks := map[string]bool{}
	for i := 1; i <= 50; i++ {
		a := fmt.Sprintf("127.0.0.%d", i)
		ports[a+":445"] = "open"
		if i == 5 || i == 10 {
			blocks[a] = true // never finish on their own
		}
	}
	fn := &fakeNet{ports: ports}
	p := mustPlan(t, "127.0.0.1-50", "", 0, 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var recs []*Record
	var mu sync.Mutex
	done := make(chan bool)
	start := time.Now()
	go func() {
		done <- Run(ctx, p, Options{Connects: 2, Concurrency: 4, Dial: fn.dial, Grace: time.Second,
			examine: fakeExamine(nil, blocks)}, nil, func(r *Record) {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
			if n.Add(1) == 10 {
				cancel()
			}
		})
	}()
	var ok bool
	select {
	case ok = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if ok {
		t.Error("an interrupted sweep reports complete")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) < 10 || len(recs) >= 50 {
		t.Errorf("%d records", len(recs))
	}
	for _, r := range recs {
		if blocks[r.Target] {
			t.Errorf("record for interrupted host %s: %+v", r.Target, r)
		}
	}
}

func TestBucket(t *testing.T) {
	if newBucket(0) != nil {
		t.Error("rate 0 must be unlimited")
	}
	b := newBucket(1000)
	start := time.Now()
	for range 300 {
		if err := b.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// burst 100, then 200 at 1000/s.
	if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
		t.Errorf("300 tokens at 1000/s took %v", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := newBucket(0.5)
	_ = slow.wait(context.Background())
	if err := slow.wait(ctx); err == nil {
		t.Error("wait ignores a cancelled context")
	}
}

func TestBitmap(t *testing.T) {
	b := NewBitmap(130)
	for _, j := range []uint64{0, 63, 64, 129} {
		if !b.Set(j) || b.Set(j) || !b.Has(j) {
			t.Errorf("bit %d", j)
		}
	}
	if b.Has(1) || b.Has(128) {
		t.Error("unset bits read as set")
	}
	var nilMap *Bitmap
	if nilMap.Has(3) {
		t.Error("nil bitmap has bits")
	}
}

// TestRunPort: --port 445 never falls back to 139; --port 139 connects to
// 139 only.
func TestRunPort(t *testing.T) {
	ports := map[string]string{"127.0.0.1:445": "open", "127.0.0.2:139": "open", "127.0.0.3:139": "silent"}
	p := mustPlan(t, "127.0.0.1-3", "", 0, 1, 1)
	for _, tc := range []struct {
		port  int
		want  map[string]Status
		dials int64
	}{
		{0, map[string]Status{"127.0.0.1": StatusOpen, "127.0.0.2": StatusOpen, "127.0.0.3": StatusFiltered}, 5},
		{445, map[string]Status{"127.0.0.1": StatusOpen, "127.0.0.2": StatusClosed, "127.0.0.3": StatusClosed}, 3},
		{139, map[string]Status{"127.0.0.1": StatusClosed, "127.0.0.2": StatusOpen, "127.0.0.3": StatusFiltered}, 3},
	} {
		fn := &fakeNet{ports: ports}
		recs, _ := runCollect(t, context.Background(), p, Options{Port: tc.port, ConnectTimeout: 50 * time.Millisecond, Connects: 3,
			Dial: fn.dial, examine: fakeExamine(nil, nil)})
		for _, r := range recs {
			if r.Status != tc.want[r.Target] {
				t.Errorf("--port %d: %s is %s, want %s", tc.port, r.Target, r.Status, tc.want[r.Target])
			}
			if r.Status == StatusOpen && tc.port != 0 && r.Port != tc.port {
				t.Errorf("--port %d: %s open on %d", tc.port, r.Target, r.Port)
			}
		}
		if n := fn.dials.Load(); n != tc.dials {
			t.Errorf("--port %d: %d connects, want %d", tc.port, n, tc.dials)
		}
	}
}

// TestRunNames: a name is resolved in phase 1 (the address connected to is
// recorded); one that does not resolve is an error at layer resolve. The
// resolver here reads /etc/hosts only: no DNS packet leaves the test.
func TestRunNames(t *testing.T) {
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in tests")
	}}
	fn := &fakeNet{ports: map[string]string{"127.0.0.1:445": "open", "[::1]:445": "open"}}
	p := mustPlan(t, "localhost nosuch.invalid", "", 0, 1, 1)
	recs, ok := runCollect(t, context.Background(), p, Options{Connects: 2, Dial: fn.dial, Resolver: noDNS, examine: fakeExamine(nil, nil)})
	if !ok || len(recs) != 2 {
		t.Fatalf("%d records, complete %v", len(recs), ok)
	}
	for _, r := range recs {
		switch r.Target {
		case "localhost":
			if r.Status != StatusOpen || (r.Address != "127.0.0.1" && r.Address != "::1") {
				t.Errorf("localhost: %+v", r)
			}
		case "nosuch.invalid":
			if r.Status != StatusError || r.Layer != enum.LayerResolve || !strings.Contains(r.Error, "resolve nosuch.invalid") {
				t.Errorf("nosuch.invalid: %+v", r)
			}
		default:
			t.Errorf("record for %s", r.Target)
		}
	}
}
