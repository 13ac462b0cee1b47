package hostile

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/smb2"
)

// The multiplexed SMB2 client against a recorded server behind a Proxy
// whose rules reorder, repeat, invent, starve or stall replies to
// concurrent requests.

type muxCase struct {
	name string
	// rule sees each ECHO reply (k counts them from 1) after the NEGOTIATE.
	rule func(r *Reply, k int, held *[]*Reply)
	// negCredits is what the NEGOTIATE reply grants.
	negCredits uint16
	// deadline bounds each request.
	deadline time.Duration
	// check judges the results of the concurrent ECHOs and a later one.
	check func(t *testing.T, errs []error, later error, cancels int)
}

func muxCases() []muxCase {
	return []muxCase{
		{
			name: "responses-out-of-order", negCredits: 16, deadline: 2 * time.Second,
			rule: func(r *Reply, k int, held *[]*Reply) {
				// Hold the first three answers and send them after the fourth, last first.
				if k <= 3 {
					r.Drop()
					*held = append(*held, r)
					return
				}
				if k == 4 {
					r.Forward()
					for i := len(*held) - 1; i >= 0; i-- {
						r.Write(Frame((*held)[i].Raw))
					}
				}
			},
			check: func(t *testing.T, errs []error, later error, _ int) {
				for i, err := range errs {
					if err != nil {
						t.Errorf("request %d: %v", i, err)
					}
				}
				if later != nil {
					t.Errorf("later request: %v", later)
				}
			},
		},
		{
			name: "duplicated-message-id", negCredits: 16, deadline: 2 * time.Second,
			rule: func(r *Reply, k int, _ *[]*Reply) {
				if k == 2 {
					r.Forward()
					r.Forward()
				}
			},
			check: func(t *testing.T, errs []error, later error, _ int) {
				if !errors.Is(later, smb2.ErrUnsolicited) {
					t.Errorf("later request: %v, want ErrUnsolicited", later)
				}
				failed := 0
				for _, err := range errs {
					if err != nil && !errors.Is(err, smb2.ErrUnsolicited) {
						t.Errorf("a waiter saw %v, want ErrUnsolicited or its answer", err)
					}
					if err != nil {
						failed++
					}
				}
				if failed == 0 {
					t.Error("nobody saw the duplicate")
				}
			},
		},
		{
			name: "reply-for-request-never-sent", negCredits: 16, deadline: 2 * time.Second,
			rule: func(r *Reply, k int, _ *[]*Reply) {
				if k == 1 {
					le.PutUint64(r.Raw[24:], 0xDEAD)
				}
			},
			check: func(t *testing.T, errs []error, later error, _ int) {
				if !errors.Is(later, smb2.ErrUnsolicited) {
					t.Errorf("later request: %v, want ErrUnsolicited", later)
				}
				for _, err := range errs {
					if err != nil && !errors.Is(err, smb2.ErrUnsolicited) {
						t.Errorf("a waiter saw %v, want ErrUnsolicited or its answer", err)
					}
				}
			},
		},
		{
			name: "credits-trickle-one-per-reply", negCredits: 1, deadline: 2 * time.Second,
			rule: func(r *Reply, k int, _ *[]*Reply) { SetCredits(r.Raw, 1) },
			check: func(t *testing.T, errs []error, later error, _ int) {
				for i, err := range errs {
					if err != nil {
						t.Errorf("request %d: %v", i, err)
					}
				}
			},
		},
		{
			name: "credits-withheld", negCredits: 0, deadline: 2 * time.Second,
			check: func(t *testing.T, errs []error, later error, _ int) {
				for i, err := range errs {
					if !errors.Is(err, smb2.ErrNoCredits) {
						t.Errorf("request %d: %v, want ErrNoCredits", i, err)
					}
				}
			},
		},
		{
			name: "pending-forever-on-one", negCredits: 16, deadline: 400 * time.Millisecond,
			rule: func(r *Reply, k int, _ *[]*Reply) {
				if k == 1 {
					r.Write(Frame(Interim(r.Raw)))
				}
			},
			check: func(t *testing.T, errs []error, later error, cancels int) {
				stalled := 0
				for _, err := range errs {
					switch {
					case err == nil:
					case errors.Is(err, context.DeadlineExceeded):
						stalled++
					default:
						t.Errorf("a request: %v", err)
					}
				}
				if stalled != 1 {
					t.Errorf("%d requests ran out of time, want the pending one only", stalled)
				}
				if cancels != 1 {
					t.Errorf("%d CANCELs, want 1", cancels)
				}
				if later != nil {
					t.Errorf("later request: %v", later)
				}
			},
		},
	}
}

func TestMuxHostile(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for i, tc := range muxCases() {
		t.Run(tc.name, func(t *testing.T) {
			var echoes atomic.Int32
			var cancels atomic.Int32
			var mu sync.Mutex
			var held []*Reply
			p := &Proxy{
				Dial: rec.Replay,
				Rule: func(r *Reply) {
					if r.Req == nil {
						return
					}
					switch r.Req.Command {
					case CmdNegotiate:
						SetCredits(r.Raw, tc.negCredits)
					case CmdEcho:
						if tc.rule != nil {
							mu.Lock()
							defer mu.Unlock()
							tc.rule(r, int(echoes.Add(1)), &held)
						}
					}
				},
				Request: func(q *Request) []byte {
					if q.Command == CmdCancel {
						cancels.Add(1)
					}
					return nil
				},
			}
			s, err := Listen(Addr(185+i), []int{445}, p.Serve)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var d net.Dialer
			nc, err := d.DialContext(ctx, "tcp", Addr(185+i)+":445")
			if err != nil {
				t.Fatal(err)
			}
			c := smb2.NewConn(nc)
			defer c.Close()
			if _, err := c.Negotiate(ctx, []uint16{smb2.Dialect21}); err != nil {
				t.Fatal(err)
			}
			const n = 4
			errs := make([]error, n)
			var wg sync.WaitGroup
			for j := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rctx, cancel := context.WithTimeout(ctx, tc.deadline)
					defer cancel()
					_, errs[j] = c.RoundTrip(rctx, &smb2.Request{Command: smb2.CmdEcho, Body: []byte{4, 0, 0, 0}})
				}()
			}
			wg.Wait()
			var later error
			if !errors.Is(errs[0], smb2.ErrNoCredits) {
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, later = c.RoundTrip(rctx, &smb2.Request{Command: smb2.CmdEcho, Body: []byte{4, 0, 0, 0}})
				cancel()
			}
			tc.check(t, errs, later, int(cancels.Load()))
		})
	}
	if extra := waitGoroutines(before, 3*time.Second); extra != "" {
		t.Errorf("goroutines left behind: %s", extra)
	}
}

func waitGoroutines(before int, d time.Duration) string {
	deadline := time.Now().Add(d)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			return string(buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}
