package smb2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// MaxFrame bounds one transport frame. We never ask for more than
// MaxPayload bytes of output in one request, so a legitimate response is
// that plus a header; 1 MiB leaves room for servers that pad generously.
const MaxFrame = 1 << 20

// MaxPayload is the largest read, write, ioctl output or directory buffer
// we ask for in one request: one credit's worth, so no multi-credit
// request is ever needed.
const MaxPayload = 65536

// creditTarget is how many credits we try to hold.
const creditTarget = 64

// Errors from the transport.
var (
	ErrNoCredits = errors.New("smb2: no credits granted by server")
	ErrFrame     = errors.New("smb2: bad transport frame")
	ErrSMB1Reply = errors.New("smb2: server answered with SMB1")
	ErrEncrypted = errors.New("smb2: server sent an encrypted or compressed message")
	ErrClosed    = errors.New("smb2: connection closed")
)

// Message is one response as received: the header and the whole message
// bytes (header first; body offsets count from there).
type Message struct {
	Header
	Raw []byte
	// Interim is set when an async STATUS_PENDING interim response came first.
	Interim bool
}

// Status returns the header status as an ntstatus.Status.
func (m *Message) Status() ntstatus.Status { return ntstatus.Status(m.Header.Status) }

// Conn is one SMB2 connection. Requests may be outstanding concurrently
// from the protocol's view (message ids and credits are kept right), but
// the methods serialize access to the socket.
type Conn struct {
	nc net.Conn

	mu          sync.Mutex
	nextID      uint64
	balance     int
	dialect     uint16
	multiCredit bool
	held        map[uint64]*Message
	pending     map[uint64]bool // sent, no final response yet; true once an interim came
	err         error           // sticky: once the stream is broken, every call fails

	// Trace, when set, sees every message sent and received (tests capture
	// lab replies with it).
	Trace func(fromServer bool, msg []byte)
}

// NewConn wraps an established stream (TCP 445, or a NetBIOS session on 139).
func NewConn(nc net.Conn) *Conn {
	return &Conn{nc: nc, balance: 1, held: map[uint64]*Message{}, pending: map[uint64]bool{}}
}

// Close closes the stream.
func (c *Conn) Close() error { return c.nc.Close() }

// Dialect returns the negotiated dialect (0 before NEGOTIATE).
func (c *Conn) Dialect() uint16 { return c.dialect }

// Request is one command to send.
type Request struct {
	Command   uint16
	SessionID uint64
	TreeID    uint32
	Body      []byte
	// Payload is the larger of the bytes sent and the bytes asked for;
	// it decides the credit charge on multi-credit connections.
	Payload int
}

// guard applies ctx to the stream: its deadline on every read and write,
// and cancellation closes the stream (the only way to unblock a read).
func (c *Conn) guard(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	if err := c.nc.SetDeadline(dl); err != nil {
		return nil, fmt.Errorf("smb2: set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	return func() { stop() }, nil
}

// Send writes one request and returns its message id.
func (c *Conn) Send(ctx context.Context, r *Request) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	done, err := c.guard(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	return c.send(ctx, r)
}

func (c *Conn) send(ctx context.Context, r *Request) (uint64, error) {
	charge := 1
	if c.multiCredit && r.Payload > MaxPayload {
		charge = 1 + (r.Payload-1)/MaxPayload
	}
	if c.balance < charge {
		return 0, fmt.Errorf("%w: have %d, need %d", ErrNoCredits, c.balance, charge)
	}
	ask := charge
	if left := c.balance - charge; left < creditTarget {
		ask += creditTarget - left
	}
	h := Header{
		Command:   r.Command,
		Credits:   uint16(ask),
		MessageID: c.nextID,
		TreeID:    r.TreeID,
		SessionID: r.SessionID,
	}
	// 2.0.2 predates CreditCharge; later dialects want at least 1 there.
	if c.dialect > Dialect202 {
		h.CreditCharge = uint16(charge)
	}
	msg := h.Append(make([]byte, 4, 4+HeaderSize+len(r.Body)))
	msg = append(msg, r.Body...)
	n := len(msg) - 4
	msg[0], msg[1], msg[2], msg[3] = 0, byte(n>>16), byte(n>>8), byte(n)
	if c.Trace != nil {
		c.Trace(false, msg[4:])
	}
	if _, err := c.nc.Write(msg); err != nil {
		c.err = fmt.Errorf("smb2: write: %w", ctxErr(ctx, err))
		return 0, c.err
	}
	id := c.nextID
	c.nextID += uint64(charge)
	c.balance -= charge
	c.pending[id] = false
	return id, nil
}

// Recv waits for the final response to message id, passing over async
// interim responses (STATUS_PENDING) and oplock breaks, until ctx ends.
func (c *Conn) Recv(ctx context.Context, id uint64) (*Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.held[id]; ok {
		delete(c.held, id)
		return m, nil
	}
	if c.err != nil {
		return nil, c.err
	}
	done, err := c.guard(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return c.recv(ctx, id)
}

func (c *Conn) recv(ctx context.Context, id uint64) (*Message, error) {
	for {
		if m, ok := c.held[id]; ok {
			delete(c.held, id)
			return m, nil
		}
		if _, ok := c.pending[id]; !ok {
			return nil, fmt.Errorf("smb2: recv: message id %d was not sent", id)
		}
		frame, err := c.readFrame()
		if err != nil {
			c.err = ctxErr(ctx, err)
			return nil, c.err
		}
		for len(frame) > 0 {
			h, err := ParseHeader(frame)
			if err != nil {
				switch {
				case len(frame) >= 4 && frame[0] == 0xFF && string(frame[1:4]) == "SMB":
					err = ErrSMB1Reply
				case len(frame) >= 4 && (frame[0] == 0xFD || frame[0] == 0xFC) && string(frame[1:4]) == "SMB":
					err = ErrEncrypted
				}
				c.err = fmt.Errorf("smb2: read: %w", err)
				return nil, c.err
			}
			msg := frame
			if h.NextCommand != 0 {
				if h.NextCommand < HeaderSize || int(h.NextCommand) > len(frame) {
					c.err = fmt.Errorf("smb2: compound next command %d: %w", h.NextCommand, ErrFrame)
					return nil, c.err
				}
				msg = frame[:h.NextCommand]
			}
			frame = frame[len(msg):]
			if c.Trace != nil {
				c.Trace(true, msg)
			}
			c.balance += int(h.Credits)
			if h.Flags&FlagServerToRedir == 0 {
				continue // not a response
			}
			if h.MessageID == ^uint64(0) {
				continue // oplock or lease break notification
			}
			interim, sent := c.pending[h.MessageID]
			if !sent {
				// Not ours (or answered twice): drop it rather than keep
				// what a hostile server could send without end.
				continue
			}
			if h.Flags&FlagAsyncCommand != 0 && ntstatus.Status(h.Status) == ntstatus.Pending {
				c.pending[h.MessageID] = true
				continue
			}
			delete(c.pending, h.MessageID)
			c.held[h.MessageID] = &Message{Header: h, Raw: msg, Interim: interim}
		}
	}
}

// readFrame reads one Direct TCP (or NBSS) frame: a zero type byte and a
// 24-bit length. NBSS keep-alives (0x85) are skipped.
func (c *Conn) readFrame() ([]byte, error) {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("smb2: read: %w", ErrClosed)
			}
			return nil, fmt.Errorf("smb2: read: %w", err)
		}
		n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
		if hdr[0] == 0x85 && n == 0 {
			continue
		}
		if hdr[0] != 0 {
			return nil, fmt.Errorf("%w: type 0x%02x", ErrFrame, hdr[0])
		}
		if n > MaxFrame {
			return nil, fmt.Errorf("%w: length %d over %d", ErrFrame, n, MaxFrame)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(c.nc, b); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("smb2: read: %w", ErrClosed)
			}
			return nil, fmt.Errorf("smb2: read: %w", err)
		}
		return b, nil
	}
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%v)", ce, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// RoundTrip sends r and waits for its response.
func (c *Conn) RoundTrip(ctx context.Context, r *Request) (*Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	done, err := c.guard(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	id, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.recv(ctx, id)
}

// statusErr turns a non-success status into an error after checking that
// the body is a well-formed ERROR response.
func statusErr(op string, m *Message) error {
	st := m.Status()
	if _, err := ParseErrorResponse(m.Raw); err != nil {
		return fmt.Errorf("smb2: %s: %w (malformed error body: %v)", op, st, err)
	}
	return fmt.Errorf("smb2: %s: %w", op, st)
}
