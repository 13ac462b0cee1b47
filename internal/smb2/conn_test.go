package smb2

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Fakes here play what a real server won't do: interim responses on
// demand, stingy credits, oversized or foreign frames, silence.

// fake runs a server on one end of a pipe: for each request it reads, it
// writes whatever reply returns (raw frames, already with the 4-byte prefix).
func fake(t *testing.T, reply func(h Header) [][]byte) *Conn {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	go func() {
		for {
			var fh [4]byte
			if _, err := io.ReadFull(srv, fh[:]); err != nil {
				return
			}
			n := int(fh[1])<<16 | int(fh[2])<<8 | int(fh[3])
			b := make([]byte, n)
			if _, err := io.ReadFull(srv, b); err != nil {
				return
			}
			h, err := ParseHeader(b)
			if err != nil {
				return
			}
			for _, f := range reply(h) {
				if _, err := srv.Write(f); err != nil {
					return
				}
			}
		}
	}()
	return NewConn(cli)
}

func frame(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	n := len(b)
	return append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, b...)
}

// resp builds a response message to h with status, credits and body.
func resp(h Header, st ntstatus.Status, credits uint16, flags uint32, body []byte) []byte {
	r := Header{Command: h.Command, Status: uint32(st), Credits: credits, Flags: FlagServerToRedir | flags, MessageID: h.MessageID, SessionID: h.SessionID, AsyncID: 7}
	return append(r.Append(nil), body...)
}

var errBody = []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}

func TestPendingInterim(t *testing.T) {
	c := fake(t, func(h Header) [][]byte {
		return [][]byte{
			frame(resp(h, ntstatus.Pending, 1, FlagAsyncCommand, errBody)),
			{0x85, 0, 0, 0}, // NBSS keep-alive in between
			frame(resp(h, ntstatus.Success, 1, FlagAsyncCommand, []byte{4, 0, 0, 0})),
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Interim || m.Status() != ntstatus.Success {
		t.Fatalf("interim %v status %v", m.Interim, m.Status())
	}
	// The interim's credit and the final's both count: 1 - 1 + 1 + 1.
	if c.balance != 2 {
		t.Errorf("balance %d", c.balance)
	}
}

func TestCreditsNeverExceeded(t *testing.T) {
	c := fake(t, func(h Header) [][]byte {
		return [][]byte{frame(resp(h, ntstatus.Success, 0, 0, []byte{4, 0, 0, 0}))} // grants nothing
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}}); !errors.Is(err, ErrNoCredits) {
		t.Fatalf("second request with 0 credits: %v", err)
	}
}

func TestMessageIDsAndOutOfOrder(t *testing.T) {
	// Two requests outstanding; the server answers the second first, in one
	// compound frame.
	var first Header
	c := fake(t, func(h Header) [][]byte {
		if h.MessageID == 0 {
			return [][]byte{frame(resp(h, ntstatus.Success, 8, 0, []byte{4, 0, 0, 0}))}
		}
		if first.Command == 0 && h.MessageID == 1 {
			first = h
			return nil
		}
		a := resp(h, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0, 0, 0, 0, 0})
		le.PutUint32(a[20:], uint32(len(a))) // NextCommand
		return [][]byte{frame(a, resp(first, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0}))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.RoundTrip(ctx, &Request{Command: CmdNegotiate}); err != nil {
		t.Fatal(err)
	}
	id1, err := c.Send(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.Send(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 {
		t.Fatalf("ids %d %d", id1, id2)
	}
	m1, err := c.Recv(ctx, id1)
	if err != nil || m1.MessageID != 1 {
		t.Fatalf("recv 1: %v %v", m1, err)
	}
	m2, err := c.Recv(ctx, id2)
	if err != nil || m2.MessageID != 2 {
		t.Fatalf("recv 2: %v %v", m2, err)
	}
}

func TestHostileFrames(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"16 MiB length", []byte{0, 0xFF, 0xFF, 0xFF}, ErrFrame},
		{"not a session message", []byte{0x82, 0, 0, 0}, ErrFrame},
		{"SMB1 reply", frame([]byte("\xffSMB\x72" + string(make([]byte, 60)))), ErrSMB1Reply},
		{"encrypted", frame([]byte("\xfdSMB" + string(make([]byte, 60)))), ErrEncrypted},
		{"truncated then closed", []byte{0, 0, 1, 0, 0xFE, 'S'}, ErrClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			go func() {
				io.ReadFull(srv, make([]byte, 4+HeaderSize+4))
				srv.Write(tc.frame)
				srv.Close()
			}()
			c := NewConn(cli)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("allocated %d bytes", got)
			}
			// The error is sticky: the stream is out of step.
			if _, err := c.RoundTrip(ctx, &Request{Command: CmdEcho}); err == nil {
				t.Error("connection usable after a broken frame")
			}
		})
	}
}

func TestSilentServerBoundedByDeadline(t *testing.T) {
	c := fake(t, func(Header) [][]byte { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Negotiate(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// A reply for a message id never sent breaks the pairing of answers to
// requests: the connection fails for the waiter and for every later call.
func TestStrayResponseFailsConn(t *testing.T) {
	c := fake(t, func(h Header) [][]byte {
		stray := h
		stray.MessageID = 1000
		return [][]byte{frame(resp(stray, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0})), frame(resp(h, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0}))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}}); !errors.Is(err, ErrUnsolicited) {
		t.Fatalf("got %v, want ErrUnsolicited", err)
	}
	if _, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}}); !errors.Is(err, ErrUnsolicited) {
		t.Fatalf("later call: %v", err)
	}
	if _, err := c.Recv(ctx, 1000); err == nil {
		t.Error("Recv of an id never sent succeeded")
	}
}

// TestReadOverflow plays Windows: a pipe READ smaller than the message
// gets STATUS_BUFFER_OVERFLOW with the first bytes (Samba answers success).
func TestReadOverflow(t *testing.T) {
	c := fake(t, func(h Header) [][]byte {
		body := make([]byte, 16, 16+4)
		le.PutUint16(body, 17)
		body[2] = HeaderSize + 16
		le.PutUint32(body[4:], 4)
		body = append(body, 1, 2, 3, 4)
		return [][]byte{frame(resp(h, ntstatus.BufferOverflow, 1, 0, body))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tree := &Tree{Session: &Session{Conn: c, ID: 1}, ID: 1}
	b, err := tree.Read(ctx, FileID{}, 0, 4)
	if !errors.Is(err, ErrOverflow) || len(b) != 4 || b[3] != 4 {
		t.Fatalf("% x %v", b, err)
	}
	// A server returning more than asked is refused.
	if _, err := tree.Read(ctx, FileID{}, 0, 2); !errors.Is(err, ErrBounds) {
		t.Fatalf("oversized read: %v", err)
	}
}
