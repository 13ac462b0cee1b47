package enum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// Fakes here stand in only for what a real server will not do: lie, fault
// on size, map every RID, or let us time the pipelining exactly. What
// Samba really answers is checked in rids_live_test.go.

const fakeDomain = "S-1-5-21-1-2-3"

// fakeLSA answers LsarLookupSids and LsarClose from a resolve function.
type fakeLSA struct {
	resolve func(ndr.SID) (string, lsa.SIDNameUse, bool)
	maxSIDs int             // a call with more SIDs faults with nca_s_fault_ndr
	status  ntstatus.Status // when set, every lookup fails with it
	// sizesOnly keeps each call's count of SIDs, not the SIDs: a test of
	// the heap must not measure what the fake itself keeps (a fast
	// machine makes more calls before the deadline).
	sizesOnly bool
	mu        sync.Mutex
	calls     [][]ndr.SID
	sizes     []int
}

func (f *fakeLSA) Call(ctx context.Context, op uint16, stub []byte) ([]byte, error) {
	switch op {
	case lsa.OpClose:
		return make([]byte, 24), nil
	case lsa.OpLookupSids:
	default:
		return nil, &dcerpc.Fault{Status: dcerpc.FaultOpRngError}
	}
	sids, err := decodeLookupSidsRequest(stub)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.sizes = append(f.sizes, len(sids))
	if !f.sizesOnly {
		f.calls = append(f.calls, sids)
	}
	f.mu.Unlock()
	if f.maxSIDs > 0 && len(sids) > f.maxSIDs {
		return nil, &dcerpc.Fault{Status: dcerpc.FaultNDR}
	}
	if f.status != 0 {
		var w ndr.Writer
		w.Uint32(0)
		w.Uint32(0)
		w.Uint32(0)
		w.Uint32(0)
		w.Uint32(uint32(f.status))
		return w.Bytes(), nil
	}
	return encodeLookupSidsReply(sids, f.resolve), nil
}

func (f *fakeLSA) asked() (calls int, sids []ndr.SID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		sids = append(sids, c...)
	}
	return len(f.calls), sids
}

func decodeLookupSidsRequest(stub []byte) ([]ndr.SID, error) {
	r := ndr.NewReader(stub)
	r.Handle()
	n := r.Uint32()
	var sids []ndr.SID
	if r.Pointer() != 0 {
		if m := r.Uint32(); m != n {
			return nil, fmt.Errorf("fake: count %d, array %d", n, m)
		}
		for range n {
			r.Pointer()
		}
		for range n {
			sids = append(sids, r.SID())
		}
	}
	return sids, r.Err()
}

// encodeLookupSidsReply builds LsarLookupSids' reply: referenced domains
// (one per SID prefix), translated names, mapped count, status.
func encodeLookupSidsReply(sids []ndr.SID, resolve func(ndr.SID) (string, lsa.SIDNameUse, bool)) []byte {
	type dom struct {
		name string
		sid  ndr.SID
	}
	type name struct {
		use  lsa.SIDNameUse
		name string
		idx  int32
	}
	var doms []dom
	names := make([]name, len(sids))
	mapped := 0
	for i, s := range sids {
		n, use, ok := resolve(s)
		if !ok {
			names[i] = name{use: lsa.SidTypeUnknown, name: fmt.Sprint(s.RID()), idx: -1}
			continue
		}
		mapped++
		prefix := ndr.SID{Revision: 1, Authority: s.Authority, SubAuthority: s.SubAuthority[:len(s.SubAuthority)-1]}
		idx := slices.IndexFunc(doms, func(d dom) bool { return d.sid.Equal(prefix) })
		if idx < 0 {
			idx = len(doms)
			doms = append(doms, dom{name: "DOM" + fmt.Sprint(idx), sid: prefix})
		}
		names[i] = name{use: use, name: n, idx: int32(idx)}
	}
	var w ndr.Writer
	w.Pointer(true)
	w.Uint32(uint32(len(doms)))
	w.Pointer(len(doms) > 0)
	if len(doms) > 0 {
		w.Defer(func(w *ndr.Writer) {
			w.Uint32(uint32(len(doms)))
			for _, d := range doms {
				w.UnicodeString(d.name)
				w.Pointer(true)
				w.Defer(func(w *ndr.Writer) { w.SID(d.sid) })
			}
		})
	}
	w.Uint32(32)
	w.Flush()
	w.Uint32(uint32(len(names)))
	w.Pointer(len(names) > 0)
	if len(names) > 0 {
		w.Defer(func(w *ndr.Writer) {
			w.Uint32(uint32(len(names)))
			for _, n := range names {
				w.Uint16(uint16(n.use))
				w.UnicodeString(n.name)
				w.Uint32(uint32(n.idx))
			}
		})
	}
	w.Flush()
	w.Uint32(uint32(mapped))
	switch {
	case mapped == 0:
		w.Uint32(uint32(ntstatus.NoneMapped))
	case mapped < len(sids):
		w.Uint32(uint32(ntstatus.SomeNotMapped))
	default:
		w.Uint32(0)
	}
	return w.Bytes()
}

// accounts resolves the RIDs of fakeDomain in the set, as users.
func accounts(rids ...uint32) func(ndr.SID) (string, lsa.SIDNameUse, bool) {
	dom := ndr.MustParseSID(fakeDomain)
	return func(s ndr.SID) (string, lsa.SIDNameUse, bool) {
		if len(s.SubAuthority) != len(dom.SubAuthority)+1 || !s.Equal(dom.Append(s.RID())) {
			return "", 0, false
		}
		if slices.Contains(rids, s.RID()) {
			return fmt.Sprintf("u%d", s.RID()), lsa.SidTypeUser, true
		}
		return "", 0, false
	}
}

func ridSpan(first, last, step uint32) []uint32 {
	var out []uint32
	for r := first; r <= last; r += step {
		out = append(out, r)
	}
	return out
}

// testCycler is a host's cycler for the fake domain, as ridCycle makes it.
func testCycler(opt RIDOptions) (*cycler, *host) {
	dom := ndr.MustParseSID(fakeDomain)
	h := &host{Opt: Options{RIDs: opt}, Result: &Result{Checks: []Check{}}}
	return newCycler(h, &rpcState{account: &dom}), h
}

// fakeCycle runs the LSA path of the cycler against f with lanes lanes.
func fakeCycle(t *testing.T, f *fakeLSA, opt RIDOptions, lanes int) (*cycler, *host) {
	t.Helper()
	opt.Lanes = lanes
	c, h := testCycler(opt)
	c.plan(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.run(ctx, false, func(i int) (ridLane, error) {
		return &lsaLane{g: &gatedPipe{}, c: lsa.New(f)}, nil
	})
	return c, h
}

func foundRIDs(c *cycler, kind int) []uint32 {
	var out []uint32
	for _, r := range c.results() {
		if c.order[r.SID] == kind {
			out = append(out, r.RID)
		}
	}
	return out
}

func TestRIDCycleAdaptiveStop(t *testing.T) {
	// Bulk's shape: 501, 513 and every other RID from 1006 to 5004.
	want := append([]uint32{501, 513}, ridSpan(1006, 5004, 2)...)
	for _, lanes := range []int{1, 2, 4, 6} {
		t.Run(fmt.Sprintf("lanes=%d", lanes), func(t *testing.T) {
			f := &fakeLSA{resolve: accounts(want...)}
			c, _ := fakeCycle(t, f, RIDOptions{}, lanes)
			if got := foundRIDs(c, kindAccount); !slices.Equal(got, want) {
				t.Fatalf("found %d RIDs, want %d (first %v)", len(got), len(want), got[:min(5, len(got))])
			}
			_, asked := f.asked()
			var top uint32
			for _, s := range asked {
				if s.Authority == 5 && len(s.SubAuthority) == 5 {
					top = max(top, s.RID())
				}
			}
			// 5000-5999 holds the last hit; two empty batches follow; at
			// most the lookahead (the lanes) beyond that.
			if top < 7999 || top >= uint32(8000+1000*lanes) {
				t.Errorf("scanned up to RID %d", top)
			}
		})
	}
}

func TestRIDCycleGapBeyondStop(t *testing.T) {
	rids := append(ridSpan(1000, 1010, 1), 4500)
	f := &fakeLSA{resolve: accounts(rids...)}
	c, _ := fakeCycle(t, f, RIDOptions{Stop: 2}, 1)
	if got := foundRIDs(c, kindAccount); slices.Contains(got, 4500) {
		t.Errorf("stop 2 went past two empty batches: %v", got)
	}
	f = &fakeLSA{resolve: accounts(rids...)}
	c, _ = fakeCycle(t, f, RIDOptions{Stop: 4}, 1)
	if got := foundRIDs(c, kindAccount); !slices.Equal(got, rids) {
		t.Errorf("stop 4: %v", got)
	}
}

func TestRIDCycleExplicitRanges(t *testing.T) {
	f := &fakeLSA{resolve: accounts(500, 1000, 5100, 5101)}
	c, _ := fakeCycle(t, f, RIDOptions{Ranges: []RIDRange{{500, 550}, {1000, 5100}}}, 4)
	if got := foundRIDs(c, kindAccount); !slices.Equal(got, []uint32{500, 1000, 5100}) {
		t.Errorf("found %v", got)
	}
	_, asked := f.asked()
	n := 0
	for _, s := range asked {
		if len(s.SubAuthority) == 5 && s.SubAuthority[0] == 21 {
			n++
		}
	}
	if n != 51+4101 {
		t.Errorf("asked %d account SIDs, want %d", n, 51+4101)
	}
}

func TestRIDCycleShrinksOnFault(t *testing.T) {
	want := ridSpan(1000, 1999, 3)
	f := &fakeLSA{resolve: accounts(want...), maxSIDs: 300}
	c, h := fakeCycle(t, f, RIDOptions{}, 2)
	if got := foundRIDs(c, kindAccount); !slices.Equal(got, want) {
		t.Fatalf("found %d of %d", len(got), len(want))
	}
	if c.batch > 300 {
		t.Errorf("batch still %d after faults at 300", c.batch)
	}
	retried := false
	for _, ch := range h.Result.Checks {
		if ch.Name == "lsa.LookupSids" && ch.Status == "nca_s_fault_ndr" && strings.Contains(ch.Detail, "retrying as calls of") {
			retried = true
		}
	}
	if !retried {
		t.Error("no evidence of the faulted call and the retry")
	}
}

func TestRIDCycleFaultsEverywhereStaysBounded(t *testing.T) {
	// A server that faults on any call: nca_s_fault_ndr at every size.
	f2 := &faultAll{}
	c, _ := testCycler(RIDOptions{Lanes: 1})
	c.plan(true)
	c.run(context.Background(), false, func(i int) (ridLane, error) {
		return &lsaLane{g: &gatedPipe{}, c: lsa.New(f2)}, nil
	})
	// Every job tries at most 1 + maxShrink calls; the adaptive scan sees
	// only empty batches and ends after lookahead batches.
	jobs := 1 + maxInt(c.stop, c.nLanes) + 1
	if f2.n > jobs*(1+maxShrink) {
		t.Errorf("%d calls for a server that faults on everything", f2.n)
	}
	if c.translated {
		t.Error("translated is set")
	}
}

type faultAll struct{ n int }

func (f *faultAll) Call(ctx context.Context, op uint16, stub []byte) ([]byte, error) {
	if op == lsa.OpClose {
		return make([]byte, 24), nil
	}
	f.n++
	return nil, &dcerpc.Fault{Status: dcerpc.FaultNDR}
}

func TestRIDCycleHostileMapsEverything(t *testing.T) {
	f := &fakeLSA{resolve: func(s ndr.SID) (string, lsa.SIDNameUse, bool) { return "x", lsa.SidTypeUser, true }}
	c, h := fakeCycle(t, f, RIDOptions{MaxFound: 20000}, 4)
	n := len(c.found)
	if n < 20000 || n > 20000+4*defaultRIDBatch+200 {
		t.Fatalf("%d names kept", n)
	}
	stopped := false
	for _, ch := range h.Result.Checks {
		stopped = stopped || ch.Name == "rid cycling" && strings.Contains(ch.Detail, "stopped after")
	}
	if !stopped {
		t.Error("no evidence that the scan was cut short")
	}
}

func TestRIDCycleDenied(t *testing.T) {
	f := &fakeLSA{resolve: accounts(1000), status: ntstatus.AccessDenied}
	c, _ := fakeCycle(t, f, RIDOptions{}, 4)
	if c.translated || len(c.found) != 0 {
		t.Fatalf("translated %v, found %d", c.translated, len(c.found))
	}
	if st := c.deniedJobs(); st != ntstatus.AccessDenied.String() {
		t.Errorf("deniedJobs = %q", st)
	}
	if calls, _ := f.asked(); calls > 4 {
		t.Errorf("%d calls after the first round was denied", calls)
	}
}

func TestRIDCycleWellKnownBuiltinUnix(t *testing.T) {
	f := &fakeLSA{resolve: func(s ndr.SID) (string, lsa.SIDNameUse, bool) {
		switch s.String() {
		case "S-1-5-32-544":
			return "Administrators", lsa.SidTypeAlias, true
		case "S-1-1-0":
			return "Everyone", lsa.SidTypeWellKnownGroup, true
		case "S-1-22-1-0":
			return "root", lsa.SidTypeUser, true
		case "S-1-22-1-65534":
			return "nobody", lsa.SidTypeUser, true
		case "S-1-22-2-100":
			return "users", lsa.SidTypeGroup, true
		case fakeDomain + "-1000":
			return "WS1$", lsa.SidTypeUser, true
		}
		return "", 0, false
	}}
	c, _ := fakeCycle(t, f, RIDOptions{UnixSIDs: true}, 3)
	var got []string
	for _, r := range c.results() {
		got = append(got, fmt.Sprintf("%s %s %s", r.SID, r.Name, r.Type))
	}
	want := []string{
		fakeDomain + "-1000 WS1$ computer",
		"S-1-5-32-544 Administrators alias",
		"S-1-1-0 Everyone well-known",
		"S-1-22-1-0 root user",
		"S-1-22-1-65534 nobody user",
		"S-1-22-2-100 users group",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEvenChunks(t *testing.T) {
	for _, tc := range []struct {
		n, max, lanes int
		want          []int // sizes
	}{
		{0, 1000, 4, nil},
		{51, 1000, 4, []int{13, 13, 13, 12}},
		{4657, 1000, 4, []int{583, 583, 583, 583, 583, 583, 583, 576}},
		{4000, 1000, 4, []int{1000, 1000, 1000, 1000}},
		{2, 1000, 4, []int{1, 1}},
		{5000, 20480, 1, []int{5000}},
		{10, 3, 1, []int{3, 3, 3, 1}},
	} {
		var sizes []int
		total := 0
		for _, p := range evenChunks(tc.n, tc.max, tc.lanes) {
			if p[0] != total {
				t.Errorf("%v: chunk starts at %d, want %d", tc, p[0], total)
			}
			sizes = append(sizes, p[1]-p[0])
			total = p[1]
		}
		if !slices.Equal(sizes, tc.want) || total != tc.n {
			t.Errorf("evenChunks(%d, %d, %d) sizes %v, want %v", tc.n, tc.max, tc.lanes, sizes, tc.want)
		}
	}
}

func TestRIDTypeAndKind(t *testing.T) {
	for _, tc := range []struct{ use, name, want string }{
		{"user", "alice", "user"}, {"user", "DC1$", "computer"}, {"computer", "WS", "computer"},
		{"group", "x$", "group"}, {"alias", "LabOps", "alias"}, {"well-known", "Everyone", "well-known"},
	} {
		if got := ridType(tc.use, tc.name); got != tc.want {
			t.Errorf("ridType(%q, %q) = %q", tc.use, tc.name, got)
		}
	}
	for sid, want := range map[string]int{
		fakeDomain + "-500": kindAccount, "S-1-5-32-544": kindBuiltin, "S-1-1-0": kindWellKnown,
		"S-1-5-7": kindWellKnown, "S-1-22-1-0": kindUnixUsers, "S-1-22-2-0": kindUnixGroups,
	} {
		if got := kindFor(ndr.MustParseSID(sid)); got != want {
			t.Errorf("kindFor(%s) = %d, want %d", sid, got, want)
		}
	}
}

// slowPipe models one SMB connection to a server that takes service time
// per request: round trips hold the connection (as smb2.Conn does), and a
// reply is ready service after its request was written.
type slowPipe struct {
	conn    *sync.Mutex
	service time.Duration
	mu      sync.Mutex
	ready   time.Time
	log     *[]string
	logMu   *sync.Mutex
	name    string
}

func (p *slowPipe) note(s string) {
	p.logMu.Lock()
	*p.log = append(*p.log, p.name+" "+s)
	p.logMu.Unlock()
}

func (p *slowPipe) Write(ctx context.Context, b []byte) (int, error) {
	p.conn.Lock()
	defer p.conn.Unlock()
	p.mu.Lock()
	p.ready = time.Now().Add(p.service)
	p.mu.Unlock()
	p.note("write")
	return len(b), nil
}

func (p *slowPipe) Read(ctx context.Context, max int) ([]byte, error) {
	p.conn.Lock()
	defer p.conn.Unlock()
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	time.Sleep(time.Until(ready))
	p.note("read")
	return []byte("reply"), nil
}

// Transact is one round trip (FSCTL_PIPE_TRANSCEIVE): the connection is
// held from request to reply.
func (p *slowPipe) Transact(ctx context.Context, in []byte, max int) ([]byte, error) {
	p.conn.Lock()
	defer p.conn.Unlock()
	p.note("transact")
	time.Sleep(p.service)
	return []byte("reply"), nil
}

func (p *slowPipe) Close(ctx context.Context) error { return nil }

var _ smb.Pipe = (*slowPipe)(nil)

// TestGatedPipeOverlapsServerTime: with the gate, four lanes on one
// connection cost about one service time, not four, and every request is
// written before any reply is read.
func TestGatedPipeOverlapsServerTime(t *testing.T) {
	const service = 60 * time.Millisecond
	run := func(gated bool) (time.Duration, []string) {
		var conn, logMu sync.Mutex
		var log []string
		b := newBarrier(4)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range 4 {
			g := &gatedPipe{Pipe: &slowPipe{conn: &conn, service: service, log: &log, logMu: &logMu, name: fmt.Sprint(i)}}
			if gated {
				g.arm(b)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := g.Transact(context.Background(), []byte("req"), 100); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start), log
	}
	d, log := run(true)
	for i, e := range log {
		if strings.HasSuffix(e, "read") && i < 4 {
			t.Errorf("a read before every write: %v", log)
			break
		}
	}
	if d > 2*service+40*time.Millisecond {
		t.Errorf("gated: %v for four requests of %v", d, service)
	}
	if d2, _ := run(false); d2 < 4*service {
		t.Errorf("ungated took %v: the model does not serialize", d2)
	}
}

func TestGatedPipeWriteErrorReleasesBarrier(t *testing.T) {
	b := newBarrier(2)
	bad := &gatedPipe{Pipe: errPipe{}}
	bad.arm(b)
	if _, err := bad.Transact(context.Background(), []byte("x"), 10); err == nil {
		t.Fatal("no error")
	}
	// The other lane never calls Transact: pass() must complete the barrier.
	other := &gatedPipe{}
	other.arm(b)
	other.pass()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := b.wait(ctx); err != nil {
		t.Fatal("barrier not released:", err)
	}
}

type errPipe struct{ smb.Pipe }

func (errPipe) Write(ctx context.Context, b []byte) (int, error) {
	return 0, errors.New("broken pipe")
}

// samrStatus answers every SAMR call with a bare status.
type samrStatus struct{ st ntstatus.Status }

func (f samrStatus) Call(ctx context.Context, op uint16, stub []byte) ([]byte, error) {
	out := make([]byte, 28)
	binary.LittleEndian.PutUint32(out[24:], uint32(f.st))
	return out, nil
}

// Both paths closed: the report names the SAMR call that was denied.
func TestRIDCycleSAMRDenied(t *testing.T) {
	c, _ := testCycler(RIDOptions{})
	ok := c.samrPath(context.Background(), func(i int) (ridLane, error) {
		cl := samr.New(samrStatus{ntstatus.AccessDenied})
		cl.OnCall = c.recordSAMR
		return &samrLane{g: &gatedPipe{}, c: cl, domains: map[string]samr.Handle{}, fails: map[string]error{}}, nil
	})
	if ok || c.translated {
		t.Fatal("the SAMR path reported working")
	}
	if len(c.denied) != 1 || !strings.HasPrefix(c.denied[0], "samr.Connect2: STATUS_ACCESS_DENIED") {
		t.Errorf("denied %q", c.denied)
	}
}

// A server that allows one pipe instance: the scan runs on that lane and
// asks for more only once.
func TestRIDCycleLaneOpenFailsOnce(t *testing.T) {
	want := append([]uint32{501}, ridSpan(1000, 3000, 7)...)
	f := &fakeLSA{resolve: accounts(want...)}
	c, _ := testCycler(RIDOptions{Lanes: 4})
	c.plan(true)
	opens := 0
	c.run(context.Background(), false, func(i int) (ridLane, error) {
		opens++
		if i > 0 {
			return nil, ntstatus.PipeNotAvailable
		}
		return &lsaLane{g: &gatedPipe{}, c: lsa.New(f)}, nil
	})
	if got := foundRIDs(c, kindAccount); !slices.Equal(got, want) {
		t.Errorf("found %d of %d", len(got), len(want))
	}
	if opens != 2 {
		t.Errorf("%d lane opens, want 2 (the one that worked, the one that failed)", opens)
	}
}

// --rids 0-4294967295: the range is cut into jobs as the rounds go, never
// held whole; the host's deadline ends the scan.
func TestRIDCycleHugeExplicitRange(t *testing.T) {
	f := &fakeLSA{resolve: accounts(7, 1_000_000), sizesOnly: true}
	c, _ := testCycler(RIDOptions{Ranges: []RIDRange{{0, 0xffffffff}}, Lanes: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	c.plan(true)
	c.run(ctx, false, func(i int) (ridLane, error) { return &lsaLane{g: &gatedPipe{}, c: lsa.New(f)}, nil })
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("ran %v past a 300 ms deadline", d)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 64<<20 {
		t.Errorf("heap grew by %d MiB", grown>>20)
	}
	f.mu.Lock()
	sizes := f.sizes
	f.mu.Unlock()
	if len(sizes) == 0 || slices.Max(sizes) > 1000 {
		t.Errorf("%d calls, the largest asking %v SIDs", len(sizes), slices.Max(append(sizes, 0)))
	}
	if got := foundRIDs(c, kindAccount); len(got) == 0 || got[0] != 7 {
		t.Errorf("found %v", got)
	}
}

func forRanges(rs []RIDRange, f func(uint32)) {
	for _, r := range rs {
		for rid := uint64(r.First); rid <= uint64(r.Last); rid++ {
			f(uint32(rid))
		}
	}
}
