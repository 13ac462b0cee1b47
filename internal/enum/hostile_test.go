package enum

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// heapBound bounds the live heap (what each GC finds reachable) at its
// peak during a whole group of hostile runs; heapTotalBound bounds all heap
// objects, garbage not yet swept included (about twice the live heap at
// GOGC=100). A 4 GiB claim that were believed would blow far past both; an
// endless fragment stream stops at dcerpc's 8 MiB reassembly cap.
const (
	heapBound      = 32 << 20
	heapTotalBound = 64 << 20
)

// deadlineSlack is how far past its Timeout a host may return: Run closes
// the session with a fresh 500 ms deadline of its own.
const deadlineSlack = 1500 * time.Millisecond

// hostileCase is one misbehaving server and what enum.Run must make of it.
type hostileCase struct {
	name    string
	n       int // listens on 127.0.1.n
	opt     Options
	handler hostile.Handler                             // a scripted server; else a proxy to the open lab server
	proxy   func() *hostile.Proxy                       // the proxy, its rules set (Upstream is filled in)
	layer   Layer                                       // Result.Layer wanted ("" = the host went on past the fault)
	errHas  string                                      // Result.Error must contain it
	check   func(t *testing.T, r *Result, base *Result) // what was learned before the fault
}

// perConn counts replies per connection for rules that act on the k-th.
type perConn struct {
	mu sync.Mutex
	n  map[int]int
}

func (p *perConn) next(conn int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[int]int{}
	}
	p.n[conn]++
	return p.n[conn]
}

// once is true the first time only.
type once struct{ done atomic.Bool }

func (o *once) first() bool { return o.done.CompareAndSwap(false, true) }

func isCmd(r *hostile.Reply, cmd uint16) bool {
	return r.Req != nil && !r.Req.SMB1 && r.Req.Command == cmd && !r.Interim
}

func isRPC(r *hostile.Reply, pipe string, opnum int) bool {
	return isCmd(r, hostile.CmdIoctl) && r.Req.Pipe == pipe && r.Req.RPC != nil &&
		r.Req.RPC.Type == hostile.RPCRequest && (opnum < 0 || int(r.Req.RPC.Opnum) == opnum)
}

// samrBeside counts the runs in which SAMR's garbage went out while
// SRVSVC's and LSA's first replies were held back.
var samrBeside atomic.Int32

func hostileCases() []hostileCase {
	short := 2 * time.Second
	deep := 5 * time.Second
	return []hostileCase{
		{
			name: "accept-and-silence", n: 11, opt: hostileOpts(short, false),
			handler: hostile.Silent, layer: "negotiate", errHas: "deadline",
		},
		{
			name: "frame-claims-16MiB", n: 12, opt: hostileOpts(short, false),
			handler: hostile.Script([]byte{0, 0xFF, 0xFF, 0xFF, 0xFE, 'S', 'M', 'B'}),
			layer:   "negotiate", errHas: "length",
		},
		{
			name: "truncated-negotiate-then-silence", n: 13, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdNegotiate) {
						r.Write(append([]byte{0, byte(len(r.Raw) >> 16), byte(len(r.Raw) >> 8), byte(len(r.Raw))}, r.Raw[:len(r.Raw)/2]...))
						r.Hang()
					}
				}}
			},
			layer: "negotiate", errHas: "deadline",
		},
		{
			name: "reset-mid-negotiate", n: 14, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if r.Req != nil && (r.Req.SMB1 && r.Req.Command == uint16(hostile.SMB1ComNegotiate) || isCmd(r, hostile.CmdNegotiate)) {
						f := hostile.Frame(r.Raw)
						r.Reset(f[:len(f)/2])
					}
				}}
			},
			layer: "negotiate",
		},
		{
			// SMB2 negotiate replies cut off, SMB1 intact: an SMB1-only
			// host as far as the client can tell, and it must fall back.
			name: "smb2-negotiate-reset-falls-back-to-smb1", n: 31, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdNegotiate) {
						f := hostile.Frame(r.Raw)
						r.Reset(f[:len(f)/2])
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				if s := r.Sessions["null"]; s == nil || s.Result != Allowed || s.Dialect != "SMB 1.0" {
					t.Errorf("null session over SMB1 fallback: %+v", s)
				}
				sameUsers(t, r, base)
			},
		},
		{
			name: "zero-credits", n: 15, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) { hostile.SetCredits(r.Raw, 0) }}
			},
			layer: "session", errHas: "no credits",
			check: func(t *testing.T, r, base *Result) {
				if r.SMB == nil || r.SMB.Dialect != base.SMB.Dialect {
					t.Errorf("negotiate facts lost: %+v", r.SMB)
				}
			},
		},
		{
			name: "pending-forever-on-authenticate", n: 16, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				var legs perConn
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdSessionSetup) && legs.next(r.Conn) == 2 {
						r.Write(hostile.Frame(hostile.Interim(r.Raw)))
					}
				}}
			},
			layer: "session", errHas: "deadline",
			check: func(t *testing.T, r, base *Result) {
				if r.SMB == nil || r.SMB.NTLM == nil || r.SMB.NTLM.NetBIOSComputer != base.SMB.NTLM.NetBIOSComputer {
					t.Errorf("NTLM CHALLENGE facts lost: %+v", r.SMB)
				}
			},
		},
		{
			name: "drip-one-byte-a-second", n: 17, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdSessionSetup) {
						r.Drip(hostile.Frame(r.Raw), time.Second)
					}
				}}
			},
			layer: "session", errHas: "deadline",
			check: func(t *testing.T, r, base *Result) {
				if r.SMB == nil || r.SMB.Dialect != base.SMB.Dialect || r.SMB.ServerGUID != base.SMB.ServerGUID {
					t.Errorf("negotiate facts lost: %+v", r.SMB)
				}
			},
		},
		{
			name: "session-buffer-offset-outside", n: 18, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdSessionSetup) && len(r.Raw) >= 72 {
						r.Raw[64+4], r.Raw[64+5] = 0xFF, 0xFF // SecurityBufferOffset
					}
				}}
			},
			layer: "session",
		},
		{
			name: "reset-mid-tree-connect", n: 19, opt: hostileOpts(short, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdTreeConnect) {
						f := hostile.Frame(r.Raw)
						r.Reset(f[:len(f)/2])
					}
				}}
			},
			layer: "ipc", errHas: "reset",
			check: func(t *testing.T, r, base *Result) {
				if s := r.Sessions["null"]; s == nil || s.Result != Allowed {
					t.Errorf("null session result lost: %+v", s)
				}
			},
		},
		{
			name: "nbss-keepalive-between-frames", n: 20, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					r.Write(hostile.KeepAlive)
					r.Write(hostile.FrameType(r.Type, r.Raw))
					r.Write(hostile.KeepAlive)
				}}
			},
			check: func(t *testing.T, r, base *Result) { sameFindings(t, r, base) },
		},
		{
			name: "nbss-keepalive-storm-on-139", n: 21, opt: withPort(hostileOpts(short, false), 139),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if r.Port == 139 && r.Type == 0x82 { // positive session response
						for {
							r.Write(hostile.KeepAlive)
							select {
							case <-r.Done():
								return
							case <-time.After(20 * time.Millisecond):
							}
						}
					}
				}}
			},
			layer: "negotiate", errHas: "deadline",
		},
		{
			name: "ioctl-output-count-4GiB", n: 22, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdIoctl) && r.Req.Pipe == "srvsvc" {
						hostile.SetIoctlOutputField(r.Raw, 112, 0xFFFFFFFF)
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "dcerpc.Bind(srvsvc)", "bind", "error")
				sameUsers(t, r, base)
			},
		},
		{
			name: "ioctl-output-offset-outside", n: 23, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isCmd(r, hostile.CmdIoctl) && r.Req.Pipe == "wkssvc" {
						hostile.SetIoctlOutputField(r.Raw, 0xFFFFFF00, 16)
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "dcerpc.Bind(wkssvc)", "bind", "error")
				sameUsers(t, r, base)
			},
		},
		{
			name: "ndr-count-0xFFFFFFFF", n: 24, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isRPC(r, "srvsvc", 15) { // NetrShareEnum: count at stub 12, max_count at 20
						if out, ok := hostile.IoctlOutput(r.Raw); ok && len(out) >= 24+24 {
							for _, o := range []int{24 + 12, 24 + 20} {
								copy(out[o:], []byte{0xFF, 0xFF, 0xFF, 0xFF})
							}
						}
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "srvsvc.NetrShareEnum", "call", "error")
				if r.ServerInfo == nil || r.ServerInfo.Name != base.ServerInfo.Name {
					t.Errorf("server info learned before the fault lost: %+v", r.ServerInfo)
				}
				sameUsers(t, r, base)
			},
		},
		{
			name: "rpc-wrong-call-id", n: 25, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isRPC(r, "wkssvc", -1) {
						if out, ok := hostile.IoctlOutput(r.Raw); ok {
							hostile.SetRPCCallID(out, r.Req.RPC.CallID+1000)
						}
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "wkssvc.NetrWkstaGetInfo", "call", "error")
				sameUsers(t, r, base)
			},
		},
		{
			name: "rpc-endless-fragments", n: 26, opt: hostileOpts(deep, false), // stopped at the call's response cap (64 KiB), not the 8 MiB default
			proxy: func() *hostile.Proxy {
				var started atomic.Bool
				var stream []byte // the endless byte stream of the pipe, cut to what each READ asks
				return &hostile.Proxy{
					Rule: func(r *hostile.Reply) {
						if isRPC(r, "srvsvc", 21) && !started.Load() { // NetrServerGetInfo
							started.Store(true)
							pdu := hostile.RPCResponsePDU(r.Req.RPC.CallID, hostile.RPCFirst, 0xFFFFFFFF, make([]byte, 4096))
							r.Write(hostile.Frame(hostile.WithIoctlOutput(r.Raw, pdu)))
						}
					},
					// Every READ on srvsvc from then on gets one more middle
					// fragment: never the last.
					Request: func(q *hostile.Request) []byte {
						if started.Load() && q.Command == hostile.CmdRead && q.Pipe == "srvsvc" && !q.SMB1 {
							n := hostile.ReadLength(q.Raw)
							for len(stream) < n {
								stream = append(stream, hostile.RPCResponsePDU(2, 0, 0xFFFFFFFF, make([]byte, 60000))...)
							}
							chunk := append([]byte(nil), stream[:n]...)
							stream = stream[n:]
							return hostile.Frame(hostile.ReadReply(q, 0, chunk))
						}
						return nil
					},
				}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "srvsvc.NetrServerGetInfo", "call", "error")
				for _, c := range r.Checks {
					if c.Name == "srvsvc.NetrServerGetInfo" && !strings.Contains(c.Detail, "exceeds limit") {
						t.Errorf("endless stream not stopped by the reassembly cap: %s", c.Detail)
					}
				}
				sameUsers(t, r, base)
			},
		},
		{
			name: "pending-forever-on-lsa-call", n: 27, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if isRPC(r, "lsarpc", -1) {
						r.Write(hostile.Frame(hostile.Interim(r.Raw)))
					}
				}}
			},
			// The layer: the RAP browse after the RPC checks is the last
			// step and meets the spent deadline.
			layer: "call", errHas: "deadline",
			check: func(t *testing.T, r, base *Result) {
				if r.ServerInfo == nil || r.ServerInfo.Name != base.ServerInfo.Name {
					t.Errorf("server info learned before the fault lost: %+v", r.ServerInfo)
				}
				// Beside the stalled LSA, SRVSVC and SAMR finish (the open
				// posture has one account domain: SAMR needs no SID from LSA).
				if len(r.Shares) != len(base.Shares) {
					t.Errorf("shares = %d, want %d", len(r.Shares), len(base.Shares))
				}
				sameUsers(t, r, base)
				wantCheck(t, r, "lsa.OpenPolicy2", LayerCall, Error)
			},
		},
		{
			name: "smb1-trans-offsets-outside", n: 28, opt: hostileOpts(deep, true),
			proxy: func() *hostile.Proxy {
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if r.Req != nil && r.Req.SMB1 && r.Req.Command == uint16(hostile.SMB1ComTransact) && len(r.Raw) > 33+16 && r.Raw[32] >= 10 {
						copy(r.Raw[33+2:], []byte{0xFF, 0xFF})  // TotalDataCount
						copy(r.Raw[33+14:], []byte{0xFF, 0xFF}) // DataOffset
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "dcerpc.Bind(srvsvc)", "bind", "error")
				if s := r.Sessions["null"]; s == nil || s.Result != Allowed || s.Dialect != "SMB 1.0" {
					t.Errorf("SMB1 null session lost: %+v", s)
				}
			},
		},
		{
			// A valid session throughout; only the very last call of the run
			// (RAP NetServerEnum2 for the workgroup, over SMB1) gets garbage.
			name: "garbage-on-last-call", n: 29, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				var trans perConn
				return &hostile.Proxy{Rule: func(r *hostile.Reply) {
					if r.Req != nil && r.Req.SMB1 && r.Req.Command == uint16(hostile.SMB1ComTransact) && trans.next(r.Conn) == 3 {
						for i := 33; i < len(r.Raw); i++ {
							r.Raw[i] = byte(i*7 + 0x5A)
						}
					}
				}}
			},
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "rap.NetServerEnum2(servers LAB)", "call", "error")
				a, b := findings(r), findings(base)
				a.Browse, b.Browse = nil, nil
				if !equalJSON(a, b) {
					t.Errorf("findings before the last call differ from the clean run:\n got %s\nwant %s", js(a), js(b))
				}
			},
		},
		{
			// SAMR's first call gets garbage for its reply while the first
			// replies of SRVSVC and LSA are held back, outstanding, and
			// are only let through after it: a sequential run never has
			// the three calls out at once and stalls here until its
			// deadline. SAMR fails alone, at its call, and says so: no
			// users, groups or policy (absent, not empty), every other
			// branch's results whole.
			name: "garbage-on-samr-beside-outstanding-lsa-srvsvc", n: 32, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy {
				var mu sync.Mutex
				var srv, lsa, samr []byte // the held replies, framed; samr's is garbage
				var srvDone, lsaDone, samrDone bool
				garbage := func(b []byte) {
					for i := range b {
						b[i] = byte(i*7 + 0x5A)
					}
				}
				return &hostile.Proxy{
					Rule: func(r *hostile.Reply) {
						mu.Lock()
						defer mu.Unlock()
						switch {
						case isRPC(r, "srvsvc", -1) && !srvDone:
							srvDone, srv = true, hostile.Frame(r.Raw)
						case isRPC(r, "lsarpc", -1) && !lsaDone:
							lsaDone, lsa = true, hostile.Frame(r.Raw)
						case isRPC(r, "samr", -1) && !samrDone:
							out, ok := hostile.IoctlOutput(r.Raw)
							if !ok {
								return
							}
							garbage(out)
							samrDone, samr = true, hostile.Frame(r.Raw)
						default:
							return
						}
						r.Drop()
						if srv != nil && lsa != nil && samr != nil {
							r.Write(samr)
							r.Write(srv)
							r.Write(lsa)
							srv, lsa, samr = nil, nil, nil
							samrBeside.Add(1)
						}
					},
					// SamrConnect5 failed: the client falls back to
					// SamrConnect2, which the recording never saw.
					Request: func(q *hostile.Request) []byte {
						if !q.SMB1 && q.Command == hostile.CmdIoctl && q.Pipe == "samr" && q.RPC != nil && q.RPC.Type == hostile.RPCRequest && q.RPC.Opnum == 57 {
							out := make([]byte, 64)
							garbage(out)
							return hostile.Frame(hostile.IoctlReply(q, 0, out))
						}
						return nil
					},
				}
			},
			check: func(t *testing.T, r, base *Result) {
				if samrBeside.Load() == 0 {
					t.Error("SAMR's garbage never went out with SRVSVC and LSA outstanding")
				}
				wantCheck(t, r, "samr.Connect5", "call", "error")
				if r.Users != nil || r.Groups != nil || r.Policy != nil || r.Machines != nil {
					t.Errorf("SAMR failed but the result lists users %s groups %s policy %s", js(r.Users), js(r.Groups), js(r.Policy))
				}
				if !equalJSON(r.ServerInfo, base.ServerInfo) || !equalJSON(r.Shares, base.Shares) {
					t.Errorf("SRVSVC/WKSSVC results differ from the clean run:\n got %s %s\nwant %s %s", js(r.ServerInfo), js(r.Shares), js(base.ServerInfo), js(base.Shares))
				}
				if !equalJSON(r.PrimaryDomain, base.PrimaryDomain) || !equalJSON(r.Domain, base.Domain) || !equalJSON(r.Trusts, base.Trusts) {
					t.Errorf("LSA results differ from the clean run:\n got %s %s\nwant %s %s", js(r.PrimaryDomain), js(r.Domain), js(base.PrimaryDomain), js(base.Domain))
				}
				clean := map[string]Outcome{}
				for _, c := range base.Checks {
					clean[c.Name] = c.Result
				}
				for _, c := range r.Checks {
					if c.Result == Error && c.Interface != IfaceSAMR && clean[c.Name] != Error {
						t.Errorf("a check beside SAMR failed: %s %s %s", c.Name, c.Status, c.Detail)
					}
				}
			},
		},
		{
			name: "nbns-lies-and-floods", n: 30, opt: hostileOpts(deep, false),
			proxy: func() *hostile.Proxy { return &hostile.Proxy{} },
			check: func(t *testing.T, r, base *Result) {
				wantCheck(t, r, "nbns.NodeStatus", "reachability", "error")
				if r.NetBIOS != nil {
					t.Errorf("netbios names from a lying responder: %+v", r.NetBIOS)
				}
				sameUsers(t, r, base)
			},
		},
	}
}

// TestHostileServers runs every case at once against its own server, with
// a clean run through a pass-through proxy as the reference, and checks
// the time each took, the live heap's peak, goroutines left behind, and
// what each result still holds.
func TestHostileServers(t *testing.T) {
	if testing.Short() {
		t.Skip("live hostile-server runs take ~30 s")
	}
	rec, err := hostile.OpenLab()
	if *recordHostile {
		rec, err = recordOpen(t), nil
	}
	if err != nil {
		t.Fatal(err)
	}

	// The reference: a clean run against the replayed lab server.
	base := runThrough(t, hostile.Addr(10), &hostile.Proxy{Dial: rec.Replay}, hostileOpts(5*time.Second, false))
	if base.Error != "" || len(base.Users) == 0 || base.Browse == nil || len(base.Shares) == 0 || rec.Misses() > 0 {
		t.Fatalf("clean replay is incomplete (%d requests not in the recording): layer %q error %q", rec.Misses(), base.Layer, base.Error)
	}

	cases := hostileCases()
	servers := make([]*hostile.Server, len(cases))
	for i, c := range cases {
		h := c.handler
		if h == nil {
			p := c.proxy()
			p.Dial = rec.Replay
			h = p.Serve
		}
		s, err := hostile.Listen(hostile.Addr(c.n), []int{445, 139}, h)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		servers[i] = s
		if c.name == "nbns-lies-and-floods" {
			ns, err := hostile.ListenNBNS(hostile.Addr(c.n), hostile.NBNSLies)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ns.Close() })
		}
	}
	defer func() {
		for _, s := range servers {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		}
	}()

	runtime.GC()
	before := runtime.NumGoroutine()
	stopHeap := watchHeap()
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				var r *Result
				start := time.Now()
				pprof.Do(context.Background(), pprof.Labels("hostile", c.name), func(ctx context.Context) {
					r = Run(ctx, hostile.Addr(c.n), c.opt)
				})
				took := time.Since(start)
				if took > c.opt.Timeout+deadlineSlack {
					t.Errorf("took %v, per-host timeout %v", took.Round(time.Millisecond), c.opt.Timeout)
				}
				if r.Layer != c.layer {
					t.Errorf("layer %q (error %q), want %q", r.Layer, r.Error, c.layer)
				}
				if c.layer != "" && (r.Error == "" || !strings.Contains(r.Error, c.errHas)) {
					t.Errorf("error %q, want one containing %q", r.Error, c.errHas)
				}
				if c.check != nil {
					c.check(t, r, base)
				}
				if n := waitLabeled(c.name, 2*time.Second); n > 0 {
					t.Errorf("%d goroutines of this run outlive it", n)
				}
				t.Logf("%v: layer %q error %q", took.Round(time.Millisecond), r.Layer, r.Error)
			})
		}
	})
	live, total := stopHeap()
	t.Logf("heap peak above the start: live %.1f MiB (bound %d), all objects %.1f MiB (bound %d)",
		float64(live)/(1<<20), heapBound>>20, float64(total)/(1<<20), heapTotalBound>>20)
	if live > heapBound || total > heapTotalBound {
		t.Errorf("heap rose by %d live / %d total bytes during the hostile runs, bounds %d / %d", live, total, heapBound, heapTotalBound)
	}
	for _, s := range servers {
		s.Close()
	}
	if extra := waitGoroutines(before, 3*time.Second); extra != "" {
		t.Errorf("goroutines left after every run returned and the servers closed:\n%s", extra)
	}
}

var recordHostile = flag.Bool("record-hostile", false, "record the open lab server for the hostile-server replays (needs the lab)")

// hostileOpts: every check but RID cycling, whose lanes take RID batches
// in whatever order they free up, so which pipe asks for which batch is
// not what was recorded. The RPC checks run as a default run has them:
// beside each other on pipes of their own over SMB2 (the replay matches
// each pipe's requests on their own, internal/hostile/record.go), one
// after another over SMB1.
func hostileOpts(timeout time.Duration, smb1 bool) Options {
	return Options{Timeout: timeout, SMB1: smb1, Checks: CheckAll &^ CheckRIDs}
}

// recordOpen records full runs (SMB2+, and SMB1 forced) against the open
// lab server into ../hostile/testdata/open.json.
func recordOpen(t *testing.T) *hostile.Recording {
	up := labtest.Require(t, "open")["open"]
	rec := &hostile.Recording{Source: "enum.Run of lab posture open (" + up + "), all checks but -R, SMB2+ (RPC checks beside each other) then --smb1"}
	for _, smb1 := range []bool{false, true} {
		r := runThrough(t, hostile.Addr(9), &hostile.Proxy{Upstream: up, Record: rec}, hostileOpts(60*time.Second, smb1))
		if r.Error != "" || len(r.Users) == 0 {
			t.Fatalf("recording run (smb1 %v) incomplete: layer %q error %q", smb1, r.Layer, r.Error)
		}
		if !slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Name == "rap.NetServerEnum2(servers LAB)" && c.Result == OK }) {
			// garbage-on-last-call needs the workgroup's server list,
			// which a lab started moments ago has not yet (nmbd is still
			// electing the workgroup's master browser).
			t.Fatalf("recording run (smb1 %v): no server list of workgroup LAB yet; record again in a minute", smb1)
		}
	}
	if err := rec.Save("../hostile/testdata/open.json"); err != nil {
		t.Fatal(err)
	}
	t.Log("recorded ../hostile/testdata/open.json")
	return rec
}

func runThrough(t *testing.T, addr string, p *hostile.Proxy, opt Options) *Result {
	t.Helper()
	s, err := hostile.Listen(addr, []int{445, 139}, p.Serve)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return Run(context.Background(), addr, opt)
}

// watchHeap samples the live heap and all heap objects every 2 ms until
// stopped; stop returns how far each rose above its level at the start.
func watchHeap() (stop func() (live, total uint64)) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (uint64, uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	live0, total0 := read()
	var peakLive, peakTotal uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				l, t := read()
				peakLive, peakTotal = max(peakLive, l), max(peakTotal, t)
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return max(peakLive, live0) - live0, max(peakTotal, total0) - total0
	}
}

// waitLabeled waits for the goroutines labelled hostile=name to end and
// returns how many are left.
func waitLabeled(name string, d time.Duration) int {
	want := fmt.Sprintf("%q:%q", "hostile", name)
	deadline := time.Now().Add(d)
	for {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		n := 0
		var count int
		for _, line := range strings.Split(b.String(), "\n") {
			if _, err := fmt.Sscanf(line, "%d @", &count); err == nil {
				continue
			}
			if strings.HasPrefix(line, "# labels:") && strings.Contains(line, want) {
				n += count
			}
		}
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGoroutines waits for the goroutine count to fall back to before and
// returns the stacks of any left over.
func waitGoroutines(before int, d time.Duration) string {
	deadline := time.Now().Add(d)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			return fmt.Sprintf("%d before, %d now\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}

func wantCheck(t *testing.T, r *Result, name string, layer Layer, result Outcome) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			if c.Layer != layer || c.Result != result {
				t.Errorf("check %s: layer %q result %q (%s %s), want %q %q", name, c.Layer, c.Result, c.Status, c.Detail, layer, result)
			}
			return
		}
	}
	t.Errorf("no evidence for %s", name)
}

func sameUsers(t *testing.T, r, base *Result) {
	t.Helper()
	if !equalJSON(r.Users, base.Users) || !equalJSON(r.Groups, base.Groups) || !equalJSON(r.Policy, base.Policy) {
		t.Errorf("users/groups/policy differ from the clean run:\n got %s %s\nwant %s %s", js(r.Users), js(r.Groups), js(base.Users), js(base.Groups))
	}
}

// findings is a Result without what differs between two clean runs: the
// target and its address, the evidence (timings, order) and the NetBIOS answer.
func findings(r *Result) Result {
	f := *r
	f.Target, f.Address, f.Checks, f.NetBIOS = "", "", nil, nil
	f.LDAP = stableLDAP(f.LDAP)
	return f
}

func sameFindings(t *testing.T, r, base *Result) {
	t.Helper()
	if a, b := findings(r), findings(base); !equalJSON(a, b) {
		t.Errorf("findings differ from the clean run:\n got %s\nwant %s", js(a), js(b))
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func equalJSON(a, b any) bool { return js(a) == js(b) }

func withPort(o Options, port int) Options { o.Port = port; return o }

// TestManyHostsAmongHostile runs real lab victims and hostile servers at
// once: the victims' results must be what a run of each alone gives.
func TestManyHostsAmongHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("live: solo and concurrent runs of three lab servers")
	}
	victims := labtest.Require(t, "open", "smb2only", "dc")
	rec, err := hostile.OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Timeout: 3 * time.Minute}
	names := []string{"open", "smb2only", "dc"}

	// Solo runs, one after another, in parallel with nothing.
	solo := map[string]*Result{}
	for _, n := range names {
		solo[n] = Run(context.Background(), victims[n], opt)
		if solo[n].Error != "" {
			t.Fatalf("solo run of %s: layer %q error %q", n, solo[n].Layer, solo[n].Error)
		}
	}

	// The hostile crowd: the slow and the heavy cases of TestHostileServers.
	crowd := map[string]bool{"accept-and-silence": true, "drip-one-byte-a-second": true, "rpc-endless-fragments": true,
		"pending-forever-on-lsa-call": true, "ndr-count-0xFFFFFFFF": true, "frame-claims-16MiB": true, "nbss-keepalive-storm-on-139": true}
	var hosts []hostileCase
	for _, c := range hostileCases() {
		if !crowd[c.name] {
			continue
		}
		c.n += 100 // addresses of their own: TestHostileServers may run beside
		h := c.handler
		if h == nil {
			p := c.proxy()
			p.Dial = rec.Replay
			h = p.Serve
		}
		s, err := hostile.Listen(hostile.Addr(c.n), []int{445, 139}, h)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		hosts = append(hosts, c)
	}

	var wg sync.WaitGroup
	got := make([]*Result, len(names))
	bad := make([]*Result, len(hosts))
	for i, n := range names {
		wg.Go(func() { got[i] = Run(context.Background(), victims[n], opt) })
	}
	for i, c := range hosts {
		wg.Go(func() {
			start := time.Now()
			bad[i] = Run(context.Background(), hostile.Addr(c.n), c.opt)
			if d := time.Since(start); d > c.opt.Timeout+deadlineSlack {
				t.Errorf("%s: took %v among the crowd, timeout %v", c.name, d, c.opt.Timeout)
			}
		})
	}
	wg.Wait()
	for i, n := range names {
		a, b := findings(got[i]), findings(solo[n])
		// A freshly started lab's browse list changes between two runs
		// while nmbd wins the LAB election (master browser, server type
		// bits): it is the server's state moving, not our result.
		a.Browse, b.Browse = nil, nil
		if !equalJSON(a, b) {
			t.Errorf("%s among hostile hosts differs from its solo run:\n got %s\nwant %s", n, js(a), js(b))
		}
	}
	for i, c := range hosts {
		if bad[i].Layer != c.layer {
			t.Errorf("%s among the crowd: layer %q (%s), want %q; checks %s", c.name, bad[i].Layer, bad[i].Error, c.layer, js(bad[i].Checks))
		}
	}
}

// The leak check must see a labelled goroutine that is still running.
func TestWaitLabeledSeesGoroutines(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	pprof.Do(context.Background(), pprof.Labels("hostile", "probe"), func(context.Context) {
		go func() { close(started); <-stop }()
	})
	<-started
	if n := waitLabeled("probe", 50*time.Millisecond); n != 1 {
		t.Errorf("waitLabeled saw %d goroutines, want 1", n)
	}
	close(stop)
	if n := waitLabeled("probe", 2*time.Second); n != 0 {
		t.Errorf("waitLabeled saw %d goroutines after they ended", n)
	}
}
