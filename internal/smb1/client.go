package smb1

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/ctxio"

	"github.com/nullsweep/nullsweep/internal/netbios"
)

// maxFrame bounds one received message. Our requests ask for at most
// 64 KiB of data per reply.
const maxFrame = 1 << 17

// Client is one SMB1 connection. Its methods may be called from several
// goroutines; requests are sent one at a time.
type Client struct {
	conn net.Conn
	mu   sync.Mutex
	mid  uint16
	pid  uint16
	neg  *NegotiateResponse
	sign *signer // nil: unsigned (StartSigning)
	// Recorder, when set, sees every message sent and received (tests
	// capture lab replies with it).
	Recorder func(sent bool, msg []byte)
}

// NewClient wraps a connected transport: TCP 445, or TCP 139 after a
// NetBIOS session request. Frames use the 4-byte session header either way.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, pid: uint16(os.Getpid())}
}

// Close closes the transport.
func (c *Client) Close() error { return c.conn.Close() }

// Negotiated returns the NEGOTIATE response, nil before Negotiate.
func (c *Client) Negotiated() *NegotiateResponse { return c.neg }

// unicode says whether to send strings as UTF-16LE.
func (c *Client) unicode() bool { return c.neg == nil || c.neg.Capabilities&CapUnicode != 0 }

func (c *Client) flags2() uint16 {
	f := defaultFlags2
	if !c.unicode() {
		f &^= Flags2Unicode
	}
	return f
}

// maxBuffer is the largest message the server accepts.
func (c *Client) maxBuffer() int {
	if c.neg == nil || c.neg.MaxBufferSize < 1024 {
		return 4356 // the smallest MaxBufferSize a server may announce
	}
	return int(min(c.neg.MaxBufferSize, 1<<16))
}

// roundTrip sends req and returns the reply with its MID. Replies with
// another MID (an oplock break) are skipped.
func (c *Client) roundTrip(ctx context.Context, req *request) (*Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mid, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	m, err := c.recv(ctx, mid)
	if err != nil || c.sign == nil {
		return m, err
	}
	// The reply takes the request's sequence number + 1; the pair uses two.
	seq := c.sign.seq - 1
	if err := c.sign.verify(m.Raw, seq); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Client) send(ctx context.Context, req *request) (uint16, error) {
	c.mid++
	if c.mid == 0xFFFF { // reserved for oplock breaks
		c.mid = 1
	}
	msg := req.encode(c.pid, c.mid)
	if c.sign != nil {
		c.sign.sign(msg, c.sign.seq)
		c.sign.seq += 2
	}
	if c.Recorder != nil {
		c.Recorder(true, msg)
	}
	stop := watch(ctx, c.conn)
	defer stop()
	if err := netbios.WriteFrame(c.conn, msg); err != nil {
		return 0, fmt.Errorf("smb1: send 0x%02x: %w", req.cmd, ctxio.Err(ctx, err))
	}
	return c.mid, nil
}

func (c *Client) recv(ctx context.Context, mid uint16) (*Message, error) {
	stop := watch(ctx, c.conn)
	defer stop()
	for {
		b, err := netbios.ReadFrame(c.conn, maxFrame)
		if err != nil {
			return nil, fmt.Errorf("smb1: receive: %w", ctxio.Err(ctx, err))
		}
		if c.Recorder != nil {
			c.Recorder(false, b)
		}
		m, err := ParseMessage(b)
		if err != nil {
			return nil, err
		}
		if m.MID != mid || m.Flags&flagsReply == 0 {
			continue
		}
		return m, nil
	}
}

// watch applies ctx's deadline to conn and unblocks I/O on cancellation.
func watch(ctx context.Context, conn net.Conn) func() {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	} else {
		conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}
