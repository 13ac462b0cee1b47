package smb2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Multiplexing: several requests outstanding on one Conn, answered in
// whatever order, with whatever credits, a server chooses.

// mserver is the far end of a pipe that hands each request to the test
// and writes what the test tells it to. It also checks, for every request,
// that the client held a credit for it: requests received never exceed
// the credits granted (one at the start, then what each reply granted).
type mserver struct {
	t    *testing.T
	conn net.Conn
	reqs chan Header
	out  chan []byte // frames to write, in order (a pipe blocks until the client reads)

	mu       sync.Mutex
	granted  int
	received int
	cancels  []Header
	overdraw string
}

func newMServer(t *testing.T) (*mserver, *Conn) {
	t.Helper()
	cli, srv := net.Pipe()
	s := &mserver{t: t, conn: srv, reqs: make(chan Header, 64), out: make(chan []byte, 256), granted: 1}
	c := NewConn(cli)
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); srv.Close(); close(done) })
	go func() {
		for {
			select {
			case f := <-s.out:
				if _, err := srv.Write(f); err != nil {
					return
				}
			case <-done:
				return
			}
		}
	}()
	go func() {
		defer close(s.reqs)
		for {
			var fh [4]byte
			if _, err := io.ReadFull(srv, fh[:]); err != nil {
				return
			}
			b := make([]byte, int(fh[1])<<16|int(fh[2])<<8|int(fh[3]))
			if _, err := io.ReadFull(srv, b); err != nil {
				return
			}
			h, err := ParseHeader(b)
			if err != nil {
				return
			}
			s.mu.Lock()
			if h.Command == CmdCancel {
				s.cancels = append(s.cancels, h)
				s.mu.Unlock()
				continue
			}
			s.received++
			if s.received > s.granted && s.overdraw == "" {
				s.overdraw = fmt.Sprintf("request %d (id %d) with %d credits granted", s.received, h.MessageID, s.granted)
			}
			s.mu.Unlock()
			s.reqs <- h
		}
	}()
	return s, c
}

// next returns the next request, failing the test after a second.
func (s *mserver) next() Header {
	s.t.Helper()
	select {
	case h, ok := <-s.reqs:
		if !ok {
			s.t.Fatal("client closed the connection")
		}
		return h
	case <-time.After(2 * time.Second):
		s.t.Fatal("no request from the client")
	}
	return Header{}
}

// answer writes a reply to h with status and credits; body carries h's
// message id so the caller can tell whose answer it got.
func (s *mserver) answer(h Header, st ntstatus.Status, credits uint16, flags uint32) {
	s.mu.Lock()
	s.granted += int(credits)
	s.mu.Unlock()
	body := []byte{4, 0, byte(h.MessageID), byte(h.MessageID >> 8)}
	if st == ntstatus.Pending {
		body = errBody
	}
	s.out <- frame(resp(h, st, credits, flags, body))
}

// cancelsSeen waits up to a second for n CANCELs to have been read (the
// write returns once the bytes are read, a moment before they are noted).
func (s *mserver) cancelsSeen(n int) []Header {
	deadline := time.Now().Add(time.Second)
	for {
		s.mu.Lock()
		got := append([]Header(nil), s.cancels...)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *mserver) check() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overdraw != "" {
		s.t.Errorf("request sent without a credit: %s", s.overdraw)
	}
}

func echo() *Request { return &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}} }

// result of one RoundTrip run in a goroutine.
type result struct {
	m   *Message
	err error
}

func goRoundTrip(ctx context.Context, c *Conn, r *Request) chan result {
	ch := make(chan result, 1)
	go func() {
		m, err := c.RoundTrip(ctx, r)
		ch <- result{m, err}
	}()
	return ch
}

func get(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * time.Second):
		t.Fatal("RoundTrip did not return")
	}
	return result{}
}

// negotiated runs a first exchange that grants credits.
func negotiated(t *testing.T, s *mserver, c *Conn, credits uint16) {
	t.Helper()
	ch := goRoundTrip(context.Background(), c, echo())
	s.answer(s.next(), ntstatus.Success, credits, 0)
	if r := get(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestMuxOutOfOrder(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	const n = 8
	var chs []chan result
	var hs []Header
	for range n {
		chs = append(chs, goRoundTrip(ctx, c, echo()))
		hs = append(hs, s.next()) // each writer went out without waiting for an answer
	}
	for i := n - 1; i >= 0; i-- {
		s.answer(hs[i], ntstatus.Success, 1, 0)
	}
	seen := map[uint64]bool{}
	for _, ch := range chs {
		r := get(t, ch)
		if r.err != nil {
			t.Fatal(r.err)
		}
		id := uint64(r.m.Raw[HeaderSize+2]) | uint64(r.m.Raw[HeaderSize+3])<<8
		if id != r.m.MessageID || seen[id] {
			t.Errorf("answer for id %d delivered as %d (seen %v)", id, r.m.MessageID, seen[id])
		}
		seen[id] = true
	}
	s.check()
}

// A server that grants one credit per answer: callers beyond the credits
// wait for them rather than fail or overdraw, and all get their answers.
func TestMuxCreditsTrickle(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var chs []chan result
	for range 6 {
		chs = append(chs, goRoundTrip(ctx, c, echo()))
	}
	for range 6 {
		s.answer(s.next(), ntstatus.Success, 1, 0)
	}
	for _, ch := range chs {
		if r := get(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	}
	s.check()
}

// Credits withheld while a request is outstanding: the next caller waits
// until its deadline, without sending; with nothing outstanding it fails
// at once with ErrNoCredits.
func TestMuxCreditsWithheld(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 1)
	first := goRoundTrip(context.Background(), c, echo())
	h := s.next()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := c.RoundTrip(ctx, echo()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second caller: %v, want a deadline", err)
	}
	s.answer(h, ntstatus.Success, 0, 0)
	if r := get(t, first); r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := c.RoundTrip(context.Background(), echo()); !errors.Is(err, ErrNoCredits) {
		t.Fatalf("no credits, nothing outstanding: %v", err)
	}
	s.check()
}

// PENDING for ever on one request while others complete: the others get
// their answers; the pending one ends at its deadline with an SMB2 CANCEL
// naming its AsyncId, and the connection stays usable.
func TestMuxPendingForeverOnOne(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 8)
	slowCtx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	slow := goRoundTrip(slowCtx, c, echo())
	hs := s.next()
	s.answer(hs, ntstatus.Pending, 1, FlagAsyncCommand)
	for range 3 {
		ch := goRoundTrip(context.Background(), c, echo())
		s.answer(s.next(), ntstatus.Success, 1, 0)
		if r := get(t, ch); r.err != nil {
			t.Fatalf("a request beside the pending one: %v", r.err)
		}
	}
	r := get(t, slow)
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("pending request: %v", r.err)
	}
	// The CANCEL is written before RoundTrip returns.
	cancels := s.cancelsSeen(1)
	if len(cancels) != 1 || cancels[0].Flags&FlagAsyncCommand == 0 || cancels[0].AsyncID != 7 || cancels[0].MessageID != hs.MessageID {
		t.Fatalf("cancels %+v, want one async CANCEL for id %d", cancels, hs.MessageID)
	}
	// The server finally answers the cancelled request: dropped, not an error.
	s.answer(hs, ntstatus.Status(0xC0000120), 1, FlagAsyncCommand) // STATUS_CANCELLED
	ch := goRoundTrip(context.Background(), c, echo())
	s.answer(s.next(), ntstatus.Success, 1, 0)
	if r := get(t, ch); r.err != nil {
		t.Fatalf("after the cancelled answer: %v", r.err)
	}
	s.check()
}

// A cancelled context cancels its own request only.
func TestMuxCancelOne(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 8)
	ctx, cancel := context.WithCancel(context.Background())
	a := goRoundTrip(ctx, c, echo())
	ha := s.next()
	b := goRoundTrip(context.Background(), c, echo())
	hb := s.next()
	cancel()
	if r := get(t, a); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled request: %v", r.err)
	}
	s.answer(hb, ntstatus.Success, 1, 0)
	if r := get(t, b); r.err != nil {
		t.Fatalf("the other request: %v", r.err)
	}
	cancels := s.cancelsSeen(1)
	if len(cancels) != 1 || cancels[0].MessageID != ha.MessageID || cancels[0].Flags&FlagAsyncCommand != 0 || cancels[0].CreditCharge != 0 {
		t.Fatalf("cancels %+v, want one sync CANCEL for id %d", cancels, ha.MessageID)
	}
	s.answer(ha, ntstatus.Status(0xC0000120), 1, 0)
	ch := goRoundTrip(context.Background(), c, echo())
	s.answer(s.next(), ntstatus.Success, 1, 0)
	if r := get(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
}

// Replies that break the pairing fail the connection for every waiter.
func TestMuxProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(s *mserver, a, b Header)
	}{
		{"duplicated message id", func(s *mserver, a, b Header) {
			s.answer(a, ntstatus.Success, 1, 0)
			s.answer(a, ntstatus.Success, 1, 0)
		}},
		{"reply for a request never sent", func(s *mserver, a, b Header) {
			a.MessageID = 77
			s.answer(a, ntstatus.Success, 1, 0)
		}},
		{"wrong command for the id", func(s *mserver, a, b Header) {
			a.Command = CmdRead
			s.answer(a, ntstatus.Success, 1, 0)
		}},
		{"request flag on a reply", func(s *mserver, a, b Header) {
			m := resp(a, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0})
			le.PutUint32(m[16:], 0)
			s.out <- frame(m)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newMServer(t)
			negotiated(t, s, c, 8)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			a := goRoundTrip(ctx, c, echo())
			ha := s.next()
			b := goRoundTrip(ctx, c, echo())
			hb := s.next()
			tc.reply(s, ha, hb)
			ra, rb := get(t, a), get(t, b)
			if tc.name == "duplicated message id" {
				// The first answer was good and may have reached its caller.
				if ra.err != nil && !errors.Is(ra.err, ErrUnsolicited) {
					t.Errorf("a: %v", ra.err)
				}
			} else if !errors.Is(ra.err, ErrUnsolicited) {
				t.Errorf("a: %v, want ErrUnsolicited", ra.err)
			}
			if !errors.Is(rb.err, ErrUnsolicited) {
				t.Errorf("b: %v, want ErrUnsolicited", rb.err)
			}
			if _, err := c.RoundTrip(ctx, echo()); !errors.Is(err, ErrUnsolicited) {
				t.Errorf("later call: %v", err)
			}
		})
	}
}

// The reader ends with Close, even while callers wait and the server is
// silent; the waiters get ErrClosed.
func TestMuxCloseEndsReader(t *testing.T) {
	before := runtime.NumGoroutine()
	cli, srv := net.Pipe()
	go io.Copy(io.Discard, srv)
	c := NewConn(cli)
	var chs []chan result
	for range 3 {
		chs = append(chs, goRoundTrip(context.Background(), c, echo()))
	}
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range chs {
		if r := get(t, ch); !errors.Is(r.err, ErrClosed) {
			t.Errorf("waiter: %v, want ErrClosed", r.err)
		}
	}
	srv.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// A frame dripped across deadlines is resumed, not lost: the reader keeps
// what it read when the waiter's deadline passed.
func TestMuxFrameResumesAfterDeadline(t *testing.T) {
	s, c := newMServer(t)
	negotiated(t, s, c, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	a := goRoundTrip(ctx, c, echo())
	ha := s.next()
	f := frame(resp(ha, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0}))
	s.out <- f[:10]
	if r := get(t, a); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("a: %v", r.err)
	}
	s.out <- f[10:]
	b := goRoundTrip(context.Background(), c, echo())
	s.answer(s.next(), ntstatus.Success, 1, 0)
	if r := get(t, b); r.err != nil {
		t.Fatalf("after the resumed frame: %v", r.err)
	}
}
