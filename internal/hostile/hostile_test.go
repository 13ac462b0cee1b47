package hostile

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/smb2"
)

func TestListenOnlyLoopback(t *testing.T) {
	// Listen must refuse these before binding anything: nothing is dialled.
	for _, a := range []string{"192.0.2.1", "0.0.0.0", "::1", "example.com"} {
		if _, err := Listen(a, []int{445}, Silent); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q) = %v, want ErrNotLoopback", a, err)
		}
		if _, err := ListenNBNS(a, NBNSLies); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("ListenNBNS(%q) = %v, want ErrNotLoopback", a, err)
		}
	}
}

// The recording replays as a real server would answer: a client
// negotiates over it with the real reply, then over a Proxy in front.
func TestReplayNegotiate(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conns) < 5 {
		t.Fatalf("recording has %d connections", len(rec.Conns))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, _ := rec.Replay(ctx, 445)
	r, err := smb2.NewConn(nc).Negotiate(ctx, nil)
	nc.Close()
	if err != nil || r.Dialect != smb2.Dialect311 {
		t.Fatalf("negotiate over the replay: %v %+v", err, r)
	}

	before := runtime.NumGoroutine()
	p := &Proxy{Dial: rec.Replay, Rule: func(r *Reply) { SetCredits(r.Raw, 7) }}
	s, err := Listen(Addr(250), []int{445}, p.Serve)
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	tc, err := d.DialContext(ctx, "tcp", Addr(250)+":445")
	if err != nil {
		t.Fatal(err)
	}
	c := smb2.NewConn(tc)
	var credits uint16
	c.Trace = func(from bool, msg []byte) {
		if from {
			credits = le.Uint16(msg[14:])
		}
	}
	if _, err := c.Negotiate(ctx, []uint16{smb2.Dialect21}); err != nil {
		t.Fatalf("negotiate 2.1 through the proxy: %v", err)
	}
	if credits != 7 {
		t.Errorf("the rule's credits did not reach the client: %d", credits)
	}
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

// An unknown request ends the replayed connection instead of hanging it.
func TestReplayMiss(t *testing.T) {
	rec := &Recording{}
	nc, _ := rec.Replay(context.Background(), 445)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	nc.Write(Frame(append([]byte{0xFE, 'S', 'M', 'B'}, make([]byte, 64)...)))
	if _, err := nc.Read(make([]byte, 4)); err != io.EOF {
		t.Errorf("read after a miss: %v, want EOF", err)
	}
	if rec.Misses() != 1 {
		t.Errorf("misses = %d", rec.Misses())
	}
}

func TestIoctlSurgery(t *testing.T) {
	rec, err := OpenLab()
	if err != nil {
		t.Fatal(err)
	}
	// The first recorded IOCTL reply: a BIND_ACK (the final reply, after
	// any interim STATUS_PENDING one of pipes served beside each other).
	var msg []byte
	for _, c := range rec.Conns {
		for _, s := range c.Steps {
			if msg == nil && s.Key == "smb2:11:rpc11:0" && len(s.Replies) > 0 {
				f := mustHex(t, s.Replies[len(s.Replies)-1])
				msg = f[4:]
			}
		}
	}
	if msg == nil {
		t.Fatal("no IOCTL in the recording")
	}
	out, ok := IoctlOutput(msg)
	if !ok || ParseRPC(out) == nil || ParseRPC(out).Type != RPCBindAck {
		t.Fatalf("output %x is not a BIND_ACK", out)
	}
	pdu := RPCResponsePDU(9, RPCFirst|RPCLast, 4, []byte{1, 2, 3, 4})
	m2 := WithIoctlOutput(msg, pdu)
	r, err := smb2.ParseIoctlResponse(m2)
	if err != nil || string(r.Output) != string(pdu) {
		t.Fatalf("rebuilt IOCTL: %v %x", err, r)
	}
	if st, ok := RPCStub(pdu); !ok || len(st) != 4 {
		t.Errorf("stub %x", st)
	}
	// A reply of our own to a request the recording never saw: the
	// request's FileId, its message id, our output.
	req := append(make([]byte, smb2HeaderSize, smb2HeaderSize+56), make([]byte, 56)...)
	copy(req, "\xfeSMB")
	le.PutUint16(req[12:], CmdIoctl)
	le.PutUint64(req[24:], 77)
	copy(req[smb2HeaderSize+8:], "0123456789abcdef")
	own := IoctlReply(&Request{Raw: req}, 0, pdu)
	if r, err := smb2.ParseIoctlResponse(own); err != nil || string(r.Output) != string(pdu) || string(r.FileID[:]) != "0123456789abcdef" || le.Uint64(own[24:]) != 77 {
		t.Errorf("IoctlReply: %v %+v", err, r)
	}
	SetIoctlOutputField(m2, 0xFFFFFF00, 16)
	if _, err := smb2.ParseIoctlResponse(m2); err == nil {
		t.Error("an output offset outside the message was accepted")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
