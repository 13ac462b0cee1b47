package hostile

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// Proxy relays SMB (direct TCP on 445, NBSS on 139) between the client and
// a real server, frame by frame, and lets a Rule change any reply. It
// keeps just enough state to say what each reply answers: the request by
// SMB2 message id or SMB1 MID, the pipe a FileId names, the DCE/RPC call
// an IOCTL carries.
type Proxy struct {
	// Upstream is the real server's address ("127.0.0.2"); each accepted
	// connection is relayed to the same port there.
	Upstream string
	// Rule sees every frame from the upstream server before the client
	// does. Unless it calls one of Reply's output methods (Write, Drop,
	// Drip, Reset, Hang), the frame is forwarded as Raw holds it. Rules
	// run on the connection's reply goroutine: they may block (a drip)
	// but must return once the server closes (Reply.Done).
	Rule func(r *Reply)
	// Request, when set, sees every frame from the client first. A
	// non-nil answer is written to the client in place of the server's
	// reply: an SMB2 request is then sent upstream as an ECHO with the
	// same message id (keeping the server's message-id window whole) and
	// the ECHO's reply is dropped.
	Request func(q *Request) (answer []byte)
	// Dial, when set, replaces the TCP connection to Upstream (Replay of
	// a Recording plugs in here).
	Dial func(ctx context.Context, port int) (net.Conn, error)
	// Record, when set, gets every request's key and the upstream's
	// replies to it, before any Rule sees them.
	Record *Recording

	conns atomic.Int32
}

// Request is one frame from the client.
type Request struct {
	Conn      int  // accept order on this proxy, from 1
	Port      int  // 445 or 139
	Type      byte // NBSS packet type (0 = session message)
	SMB1      bool
	Command   uint16 // SMB2 command, or the SMB1 command byte
	MessageID uint64 // SMB2 message id, or the SMB1 MID
	Pipe      string // CREATE: the name asked for; IOCTL/READ/WRITE/CLOSE: the name its FileId was opened with
	RPC       *RPC   // the DCE/RPC PDU an IOCTL or WRITE carries
	Raw       []byte // the message, without the 4-byte frame header

	step *Step // where its replies are recorded
}

// RPC is the header of a DCE/RPC PDU (and the opnum of a REQUEST).
type RPC struct {
	Type   uint8
	Flags  uint8
	CallID uint32
	Opnum  uint16
}

// Reply is one frame from the upstream server on its way to the client.
type Reply struct {
	Conn int
	Port int
	Type byte     // NBSS packet type
	Req  *Request // what it answers; nil for NBSS session replies, breaks, unknown ids
	Raw  []byte   // the message without the frame header; a Rule may change it
	// Interim is set for an SMB2 async STATUS_PENDING reply (a final reply follows).
	Interim bool

	c       *pconn
	handled bool
}

// Serve is the Handler that relays one connection.
func (p *Proxy) Serve(ctx context.Context, client *net.TCPConn, port int) {
	var up net.Conn
	var err error
	if p.Dial != nil {
		up, err = p.Dial(ctx, port) // ctx: the dialled stream lives as long as the server
	} else {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		up, err = d.DialContext(dctx, "tcp", net.JoinHostPort(p.Upstream, strconv.Itoa(port)))
		cancel()
	}
	if err != nil {
		return
	}
	// The connection's own context ends with the server or with the
	// client's side of the stream, so a Rule that drips or storms stops.
	ctx, cancelConn := context.WithCancel(ctx)
	defer cancelConn()
	c := &pconn{p: p, n: int(p.conns.Add(1)), port: port, ctx: ctx, client: client, up: up,
		reqs: map[uint64]*Request{}, mids: map[uint16]*Request{}, fids: map[[16]byte]string{}, swallow: map[uint64]bool{}}
	if p.Record != nil {
		c.rec = p.Record.newConn()
	}
	stop := context.AfterFunc(ctx, func() { up.Close(); client.Close() })
	defer stop()
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.replies()
		client.Close() // the upstream ended: so does the client's connection
	}()
	c.requests()
	cancelConn()
	up.Close()
	wg.Wait()
}

type pconn struct {
	p      *Proxy
	n      int
	port   int
	ctx    context.Context
	client *net.TCPConn
	up     net.Conn
	rec    *RecConn
	last   *Request // the latest request, for replies that name none

	wmu sync.Mutex // client writes: replies and Request answers

	mu      sync.Mutex
	reqs    map[uint64]*Request // SMB2 message id → request in flight
	mids    map[uint16]*Request // SMB1 MID → request in flight
	fids    map[[16]byte]string // SMB2 FileId → name it was opened with
	swallow map[uint64]bool     // message ids whose replies are dropped
	hung    bool
}

// readFrame reads one 4-byte-header frame. Both ends are trusted here (our
// client, a lab Samba), so the 24-bit length is taken as it is.
func readFrame(r io.Reader) (typ byte, msg []byte, err error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	msg = make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, err
	}
	return h[0], msg, nil
}

// Frame prefixes msg with a session-message header (type 0, 24-bit length).
func Frame(msg []byte) []byte { return FrameType(0, msg) }

// FrameType prefixes msg with an NBSS header of the given type.
func FrameType(typ byte, msg []byte) []byte {
	n := len(msg)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
}

func (c *pconn) requests() {
	for {
		typ, msg, err := readFrame(c.client)
		if err != nil {
			return
		}
		q := c.track(typ, msg)
		if c.p.Request != nil {
			if ans := c.p.Request(q); ans != nil {
				c.write(ans)
				if q.SMB1 || len(msg) < smb2HeaderSize {
					continue
				}
				c.mu.Lock()
				c.swallow[q.MessageID] = true
				c.mu.Unlock()
				msg = echoFor(msg)
			}
		}
		if _, err := c.up.Write(FrameType(typ, msg)); err != nil {
			return
		}
	}
}

// track records what a request is, for pairing its reply.
func (c *pconn) track(typ byte, msg []byte) *Request {
	q := &Request{Conn: c.n, Port: c.port, Type: typ, Raw: msg}
	if typ != 0 || len(msg) < 4 {
		return q
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec != nil {
		q.step = c.p.Record.addStep(c.rec, requestKey(typ, msg), requestFile(msg))
	}
	c.last = q
	switch {
	case isSMB1(msg) && len(msg) >= 32:
		q.SMB1 = true
		q.Command = uint16(msg[4])
		q.MessageID = uint64(le.Uint16(msg[30:]))
		c.mids[uint16(q.MessageID)] = q
	case isSMB2(msg) && len(msg) >= smb2HeaderSize:
		q.Command = le.Uint16(msg[12:])
		q.MessageID = le.Uint64(msg[24:])
		body := msg[smb2HeaderSize:]
		switch q.Command {
		case CmdCreate:
			if len(body) >= 48 {
				off, n := int(le.Uint16(body[44:])), int(le.Uint16(body[46:]))
				if off+n <= len(msg) && off >= smb2HeaderSize {
					q.Pipe = utf16le(msg[off : off+n])
				}
			}
		case CmdIoctl:
			if len(body) >= 56 {
				q.Pipe = c.fids[fid(body[8:])]
				off, n := int(le.Uint32(body[24:])), int(le.Uint32(body[28:]))
				if off >= smb2HeaderSize && off+n <= len(msg) {
					q.RPC = ParseRPC(msg[off : off+n])
				}
			}
		case CmdRead, CmdWrite:
			if len(body) >= 32 {
				q.Pipe = c.fids[fid(body[16:])]
			}
			if q.Command == CmdWrite && len(body) >= 48 {
				off, n := int(le.Uint16(body[2:])), int(le.Uint32(body[4:]))
				if off >= smb2HeaderSize && off+n <= len(msg) {
					q.RPC = ParseRPC(msg[off : off+n])
				}
			}
		case CmdClose:
			if len(body) >= 24 {
				q.Pipe = c.fids[fid(body[8:])]
			}
		}
		if q.Command != CmdCancel {
			// A CANCEL reuses the MessageId of the request it cancels and
			// gets no reply of its own ([MS-SMB2] 2.2.30).
			c.reqs[q.MessageID] = q
		}
	}
	return q
}

func (c *pconn) replies() {
	for {
		typ, msg, err := readFrame(c.up)
		if err != nil {
			return
		}
		r := &Reply{Conn: c.n, Port: c.port, Type: typ, Raw: msg, c: c}
		if c.pair(r) {
			continue // the reply to a substituted ECHO
		}
		if c.rec != nil && typ == 0 {
			q := r.Req
			if q == nil {
				c.mu.Lock()
				q = c.last
				c.mu.Unlock()
			}
			if q != nil && q.step != nil {
				c.p.Record.addReply(q.step, FrameType(typ, msg))
			}
		}
		c.mu.Lock()
		hung := c.hung
		c.mu.Unlock()
		if hung {
			continue
		}
		if c.p.Rule != nil {
			c.p.Rule(r)
		}
		if !r.handled {
			r.Forward()
		}
	}
}

// pair finds the request r answers and learns FileIds; it reports whether
// r is to be dropped unseen.
func (c *pconn) pair(r *Reply) (drop bool) {
	msg := r.Raw
	if r.Type != 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case isSMB1(msg) && len(msg) >= 32:
		mid := le.Uint16(msg[30:])
		r.Req = c.mids[mid]
		delete(c.mids, mid)
	case isSMB2(msg) && len(msg) >= smb2HeaderSize:
		id := le.Uint64(msg[24:])
		flags := le.Uint32(msg[16:])
		r.Interim = flags&FlagAsync != 0 && le.Uint32(msg[8:]) == StatusPending
		r.Req = c.reqs[id]
		if !r.Interim {
			delete(c.reqs, id)
			if c.swallow[id] {
				delete(c.swallow, id)
				return true
			}
		}
		if r.Req != nil && r.Req.Command == CmdCreate && le.Uint32(msg[8:]) == 0 && len(msg) >= smb2HeaderSize+80 {
			c.fids[fid(msg[smb2HeaderSize+64:])] = r.Req.Pipe
		}
	}
	return false
}

// Done is closed when the server shuts down or the client hangs up; a
// blocking Rule waits on it.
func (r *Reply) Done() <-chan struct{} { return r.c.ctx.Done() }

// Forward writes Raw to the client in a frame of the reply's type.
func (r *Reply) Forward() {
	r.handled = true
	r.c.write(FrameType(r.Type, r.Raw))
}

// Write sends b to the client as it is (frame headers included) in place
// of the reply; call it several times to add frames.
func (r *Reply) Write(b []byte) {
	r.handled = true
	r.c.write(b)
}

// Drop swallows the reply: the client waits for it in vain.
func (r *Reply) Drop() { r.handled = true }

// Hang drops this reply and every later one on the connection, and leaves
// the connection open: accept-and-silence from a chosen point on.
func (r *Reply) Hang() {
	r.handled = true
	r.c.mu.Lock()
	r.c.hung = true
	r.c.mu.Unlock()
}

// Reset sends the client an RST, after writing b (half a reply, say).
func (r *Reply) Reset(b []byte) {
	r.handled = true
	r.c.write(b)
	r.c.wmu.Lock()
	Reset(r.c.client)
	r.c.wmu.Unlock()
}

// Drip writes b to the client one byte every interval, until done or the
// server closes.
func (r *Reply) Drip(b []byte, every time.Duration) {
	r.handled = true
	t := time.NewTicker(every)
	defer t.Stop()
	for i := range b {
		if err := r.c.write(b[i : i+1]); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.c.ctx.Done():
			return
		}
	}
}

func (c *pconn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.client.Write(b)
	return err
}

// echoFor rewrites an SMB2 request as an ECHO with the same header, so the
// server still sees every message id once.
func echoFor(msg []byte) []byte {
	e := append([]byte(nil), msg[:smb2HeaderSize]...)
	le.PutUint16(e[12:], CmdEcho)
	le.PutUint32(e[20:], 0) // NextCommand
	return append(e, 4, 0, 0, 0)
}

func isSMB1(b []byte) bool {
	return len(b) >= 4 && b[0] == 0xFF && b[1] == 'S' && b[2] == 'M' && b[3] == 'B'
}
func isSMB2(b []byte) bool {
	return len(b) >= 4 && b[0] == 0xFE && b[1] == 'S' && b[2] == 'M' && b[3] == 'B'
}

func fid(b []byte) (f [16]byte) { copy(f[:], b); return f }

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

var le = binary.LittleEndian

// String names a request for logs: "conn 3 IOCTL lsarpc opnum 7".
func (q *Request) String() string {
	if q == nil {
		return "<no request>"
	}
	s := fmt.Sprintf("conn %d cmd 0x%02x id %d", q.Conn, q.Command, q.MessageID)
	if q.Pipe != "" {
		s += " " + q.Pipe
	}
	if q.RPC != nil {
		s += fmt.Sprintf(" rpc type %d call %d opnum %d", q.RPC.Type, q.RPC.CallID, q.RPC.Opnum)
	}
	return s
}
