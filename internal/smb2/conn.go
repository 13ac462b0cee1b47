package smb2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/ctxio"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// MaxFrame bounds one transport frame. We never ask for more than
// MaxPayload bytes of output in one request and send no compounds, so a
// legitimate response is that payload, a 64-byte header, a fixed body of
// at most 48 bytes (IOCTL, [MS-SMB2] 2.2.32) and alignment padding; 4 KiB
// covers the last three. Every frame is allocated at its announced length,
// so this is also what one connection's read costs (docs/bounds.md).
const MaxFrame = MaxPayload + 4096

// MaxPayload is the largest read, write, ioctl output or directory buffer
// we ask for in one request: one credit's worth, so no multi-credit
// request is ever needed.
const MaxPayload = 65536

// creditTarget is how many credits we try to hold.
const creditTarget = 64

// maxBalance caps the credits we count as held: a server may grant up to
// 65535 with every reply, and the count must not wrap an int on 32-bit
// builds. We never have more than a few requests outstanding.
const maxBalance = 1 << 16

// cancelWriteTimeout bounds the write of an SMB2 CANCEL, which is sent
// after the caller's own context has ended.
const cancelWriteTimeout = time.Second

// Errors from the transport.
var (
	ErrNoCredits = errors.New("smb2: no credits granted by server")
	ErrFrame     = errors.New("smb2: bad transport frame")
	ErrSMB1Reply = errors.New("smb2: server answered with SMB1")
	ErrEncrypted = errors.New("smb2: server sent an encrypted or compressed message")
	ErrClosed    = errors.New("smb2: connection closed")
	// ErrUnsolicited: a response for no outstanding request (never sent,
	// answered already, or the wrong command for its MessageId). The
	// stream can no longer be trusted to pair answers with requests.
	ErrUnsolicited = errors.New("smb2: response for no outstanding request")
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

// Conn is one SMB2 connection shared by concurrent callers ([MS-SMB2]
// 3.2.4.1, 3.2.5.1). One reader goroutine reads every frame and hands each
// response to the caller waiting on its MessageId; a caller holds the
// socket only to write its own request, so it never waits for another
// request's answer. A request is sent only with a credit in hand; a caller
// short of credits waits for the answers outstanding to grant more.
//
// The reader reads only while some caller waits, with the latest of the
// waiters' context deadlines as the read deadline: no read is unbounded
// unless a caller's context is. A caller whose context ends stops waiting
// and sends SMB2 CANCEL for its request (2.2.30, 3.2.4.24); the others go
// on. A frame or response that breaks the stream's pairing fails the
// connection: every waiter, and every later call, gets that error.
type Conn struct {
	nc net.Conn

	wmu sync.Mutex // one message on the wire at a time

	mu          sync.Mutex
	cond        *sync.Cond // on mu: waiters, credits, calls or err changed
	nextID      uint64
	balance     int
	dialect     uint16
	multiCredit bool
	calls       map[uint64]*call // sent and not yet collected (or, abandoned, not yet answered)
	signAlg     uint16           // 3.1.1 signing context's algorithm, when hasSignAlg
	hasSignAlg  bool
	preauth     Preauth            // 3.1.1: the hash after NEGOTIATE
	signers     map[uint64]*signer // sessions that sign, by SessionId
	waiting     map[*waiter]bool   // callers waiting on the reader: for an answer or for credits
	unanswered  int                // calls with no final response yet
	readDL      time.Time          // the read deadline on nc now
	err         error              // sticky: once set, every call fails with it
	dead        chan struct{}      // closed when err is set
	reading     bool               // the reader goroutine was started
	readerDone  chan struct{}      // closed when it ends

	dlmu sync.Mutex // the write deadline, against a late cancellation
	wgen uint64     // write generation: a cancellation applies to its own write only

	traceMu sync.Mutex // Trace is called from the reader and from writers

	// Trace, when set, sees every message sent and received (tests capture
	// lab replies with it). Calls are serialized.
	Trace func(fromServer bool, msg []byte)
}

// waiter is a caller the reader reads for, until its deadline (zero: none).
type waiter struct{ dl time.Time }

type callState int

const (
	callWaiting   callState = iota // sent, no final response
	callAnswered                   // final response held for the caller
	callAbandoned                  // the caller gave up; the answer is dropped when it comes
)

// call is one request on the wire ([MS-SMB2] 3.2.1.7 Per Pending Request).
type call struct {
	id        uint64
	cmd       uint16
	sessionID uint64
	treeID    uint32
	state     callState
	interim   bool
	asyncID   uint64
	w         *waiter
	msg       *Message
	done      chan struct{} // closed when answered
}

// NewConn wraps an established stream (TCP 445, or a NetBIOS session on 139).
func NewConn(nc net.Conn) *Conn {
	c := &Conn{nc: nc, balance: 1, calls: map[uint64]*call{}, waiting: map[*waiter]bool{}, signers: map[uint64]*signer{},
		dead: make(chan struct{}), readerDone: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Close closes the stream; every waiter gets ErrClosed. It returns once
// the reader goroutine has ended.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.failLocked(ErrClosed)
	started := c.reading
	c.mu.Unlock()
	err := c.nc.Close()
	if started {
		<-c.readerDone
	}
	return err
}

// Dialect returns the negotiated dialect (0 before NEGOTIATE).
func (c *Conn) Dialect() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dialect
}

// Request is one command to send.
type Request struct {
	Command   uint16
	SessionID uint64
	TreeID    uint32
	Body      []byte
	// Payload is the larger of the bytes sent and the bytes asked for;
	// it decides the credit charge on multi-credit connections.
	Payload int
	// Preauth, when set, gets the request as sent chained in (3.1.1
	// NEGOTIATE and SESSION_SETUP).
	Preauth *Preauth
}

// CmdCancel is SMB2 CANCEL ([MS-SMB2] 2.2.30): it has no response.
const CmdCancel uint16 = 0x000C

// failLocked makes err the connection's sticky error and wakes everyone.
func (c *Conn) failLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	close(c.dead)
	c.cond.Broadcast()
}

// fail records err and closes the stream, so that the server sees it too
// and a read in progress ends.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
	c.nc.Close()
}

func (c *Conn) trace(fromServer bool, msg []byte) {
	if c.Trace == nil {
		return
	}
	c.traceMu.Lock()
	defer c.traceMu.Unlock()
	c.Trace(fromServer, msg)
}

// addWaiterLocked registers a caller that waits until ctx's deadline,
// and starts the reader on first use.
func (c *Conn) addWaiterLocked(ctx context.Context) *waiter {
	dl, _ := ctx.Deadline()
	w := &waiter{dl: dl}
	c.waiting[w] = true
	c.retimeLocked()
	if !c.reading {
		c.reading = true
		go c.readLoop()
	}
	c.cond.Broadcast()
	return w
}

func (c *Conn) dropWaiterLocked(w *waiter) {
	if w != nil && c.waiting[w] {
		delete(c.waiting, w)
		c.retimeLocked()
		c.cond.Broadcast()
	}
}

// retimeLocked sets the read deadline to the latest waiter's (none when a
// waiter has none; past when nobody waits, so a read in progress stops)
// and reports whether a waiter has time left.
func (c *Conn) retimeLocked() (want bool) {
	now := time.Now()
	latest := time.Unix(1, 0)
	for w := range c.waiting {
		if w.dl.IsZero() {
			latest, want = time.Time{}, true
			break
		}
		if w.dl.After(now) {
			want = true
		}
		if w.dl.After(latest) {
			latest = w.dl
		}
	}
	if !latest.Equal(c.readDL) {
		c.readDL = latest
		c.nc.SetReadDeadline(latest)
	}
	return want
}

// Send writes one request and returns its message id; Recv collects the
// answer. Send waits for a credit while answers that may grant one are
// outstanding; with none outstanding and no credit it fails with
// ErrNoCredits.
func (c *Conn) Send(ctx context.Context, r *Request) (uint64, error) {
	cl, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	return cl.id, nil
}

func (c *Conn) send(ctx context.Context, r *Request) (*call, error) {
	charge := 1
	c.mu.Lock()
	if c.multiCredit && r.Payload > MaxPayload {
		charge = 1 + (r.Payload-1)/MaxPayload
	}
	c.mu.Unlock()
	for {
		if err := c.awaitCredits(ctx, charge); err != nil {
			return nil, err
		}
		// The write lock is taken before the MessageId, so ids go out in
		// the order they are taken.
		c.wmu.Lock()
		c.mu.Lock()
		if c.err == nil && c.balance < charge {
			// Another caller took the credits first.
			c.mu.Unlock()
			c.wmu.Unlock()
			continue
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			c.wmu.Unlock()
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			c.mu.Unlock()
			c.wmu.Unlock()
			return nil, fmt.Errorf("smb2: send: %w", err)
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
		cl := &call{id: c.nextID, cmd: r.Command, sessionID: r.SessionID, treeID: r.TreeID, done: make(chan struct{})}
		sg := c.signers[r.SessionID]
		c.nextID += uint64(charge)
		c.balance -= charge
		c.calls[cl.id] = cl
		c.unanswered++
		cl.w = c.addWaiterLocked(ctx)
		c.mu.Unlock()

		msg := h.Append(make([]byte, 4, 4+HeaderSize+len(r.Body)))
		msg = append(msg, r.Body...)
		if sg != nil {
			sg.sign(msg[4:])
		}
		if r.Preauth != nil {
			r.Preauth.Add(msg[4:])
		}
		err := c.writeLocked(ctx, msg)
		c.wmu.Unlock()
		if err != nil {
			return nil, err
		}
		return cl, nil
	}
}

// awaitCredits returns once charge credits are held (not reserved: the
// caller takes them under the locks), waiting while answers outstanding
// may grant more. With none outstanding it fails with ErrNoCredits: the
// server withholds them.
func (c *Conn) awaitCredits(ctx context.Context, charge int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smb2: send: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && c.balance < charge {
		if c.unanswered == 0 {
			return fmt.Errorf("%w: have %d, need %d", ErrNoCredits, c.balance, charge)
		}
		w := c.addWaiterLocked(ctx)
		stop := context.AfterFunc(ctx, func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
		c.cond.Wait()
		stop()
		c.dropWaiterLocked(w)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("smb2: waiting for credits: %w", err)
		}
	}
	return c.err
}

// writeLocked puts one message on the wire, bounded by ctx; the caller
// holds wmu. A write cut short leaves the stream out of step, so any
// write error fails the connection.
func (c *Conn) writeLocked(ctx context.Context, msg []byte) error {
	n := len(msg) - 4
	msg[0], msg[1], msg[2], msg[3] = 0, byte(n>>16), byte(n>>8), byte(n)
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	c.dlmu.Lock()
	gen := c.wgen
	err = c.nc.SetWriteDeadline(dl)
	c.dlmu.Unlock()
	if err != nil {
		err = fmt.Errorf("smb2: set deadline: %w", err)
		c.fail(err)
		return err
	}
	// Cancellation interrupts this write only: a later write has another
	// generation and sets its own deadline.
	stop := context.AfterFunc(ctx, func() {
		c.dlmu.Lock()
		if c.wgen == gen {
			c.nc.SetWriteDeadline(time.Unix(1, 0))
		}
		c.dlmu.Unlock()
	})
	c.trace(false, msg[4:])
	_, err = c.nc.Write(msg)
	stop()
	c.dlmu.Lock()
	c.wgen++
	c.dlmu.Unlock()
	if err != nil {
		c.mu.Lock()
		cause := c.err
		c.mu.Unlock()
		if cause != nil {
			// The connection failed while this write was under way (the
			// reader closed it on a reply for no request): that is the
			// error, not the closed socket it left.
			return cause
		}
		err = fmt.Errorf("smb2: write: %w", ctxio.Err(ctx, err))
		c.fail(err)
		return err
	}
	return nil
}

// Recv waits for the final response to message id, passing over async
// interim responses (STATUS_PENDING), until ctx ends; then it cancels the
// request.
func (c *Conn) Recv(ctx context.Context, id uint64) (*Message, error) {
	c.mu.Lock()
	cl := c.calls[id]
	if cl == nil || cl.state == callAbandoned {
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("smb2: recv: message id %d was not sent", id)
	}
	if cl.state == callWaiting {
		// This caller's deadline replaces Send's.
		c.dropWaiterLocked(cl.w)
		cl.w = c.addWaiterLocked(ctx)
	}
	c.mu.Unlock()
	return c.wait(ctx, cl)
}

func (c *Conn) wait(ctx context.Context, cl *call) (*Message, error) {
	var cause error
	select {
	case <-cl.done:
	case <-c.dead:
	case <-ctx.Done():
		cause = ctx.Err()
	}
	c.mu.Lock()
	if cl.state == callAnswered {
		// Answered, even if the context ended or the stream broke since.
		delete(c.calls, cl.id)
		c.mu.Unlock()
		return cl.msg, nil
	}
	if c.err != nil && cause == nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	// The caller gives up: the answer, when it comes, is dropped.
	cl.state = callAbandoned
	c.dropWaiterLocked(cl.w)
	cl.w = nil
	broken := c.err != nil
	c.mu.Unlock()
	if !broken {
		c.cancel(cl)
	}
	return nil, fmt.Errorf("smb2: message id %d: %w", cl.id, cause)
}

// cancel sends SMB2 CANCEL for cl ([MS-SMB2] 3.2.4.24): the request's own
// MessageId, or its AsyncId once an interim response gave one. It takes
// no credit and gets no response; the server answers the request itself,
// usually with STATUS_CANCELLED.
func (c *Conn) cancel(cl *call) {
	c.mu.Lock()
	h := Header{Command: CmdCancel, MessageID: cl.id, SessionID: cl.sessionID, TreeID: cl.treeID}
	if cl.interim {
		h.Flags |= FlagAsyncCommand
		h.AsyncID = cl.asyncID
		h.TreeID = 0
	}
	sg := c.signers[cl.sessionID]
	c.mu.Unlock()
	msg := h.Append(make([]byte, 4, 4+HeaderSize+4))
	msg = append(msg, 4, 0, 0, 0) // StructureSize 4, Reserved
	if sg != nil {
		sg.sign(msg[4:])
	}
	ctx, stop := context.WithTimeout(context.Background(), cancelWriteTimeout)
	defer stop()
	c.wmu.Lock()
	_ = c.writeLocked(ctx, msg)
	c.wmu.Unlock()
}

// readLoop is the connection's one reader: it reads while a caller waits
// and dispatches each response by MessageId, until the connection fails
// or closes.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	var fr frameReader
	for {
		c.mu.Lock()
		for c.err == nil && !c.retimeLocked() {
			c.cond.Wait()
		}
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		frame, err := fr.next(c.nc)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Every waiter's deadline has passed; fr keeps any part of
				// a frame read so far, and reading resumes for the next
				// caller.
				continue
			}
			c.fail(err)
			return
		}
		if err := c.dispatch(frame); err != nil {
			c.fail(err)
			return
		}
	}
}

// dispatch hands each message of a frame (one, or a compound chain) to the
// call it answers.
func (c *Conn) dispatch(frame []byte) error {
	for len(frame) > 0 {
		h, err := ParseHeader(frame)
		if err != nil {
			switch {
			case len(frame) >= 4 && frame[0] == 0xFF && string(frame[1:4]) == "SMB":
				err = ErrSMB1Reply
			case len(frame) >= 4 && (frame[0] == 0xFD || frame[0] == 0xFC) && string(frame[1:4]) == "SMB":
				err = ErrEncrypted
			}
			return fmt.Errorf("smb2: read: %w", err)
		}
		msg := frame
		if h.NextCommand != 0 {
			if h.NextCommand < HeaderSize || uint64(h.NextCommand) > uint64(len(frame)) { // not int(): negative on 32-bit
				return fmt.Errorf("smb2: compound next command %d: %w", h.NextCommand, ErrFrame)
			}
			msg = frame[:h.NextCommand]
		}
		frame = frame[len(msg):]
		c.trace(true, msg)
		if err := c.deliver(h, msg); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) deliver(h Header, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Flags&FlagServerToRedir == 0 {
		return fmt.Errorf("smb2: message id %d is not a response: %w", h.MessageID, ErrUnsolicited)
	}
	c.balance = min(c.balance+int(h.Credits), maxBalance)
	c.cond.Broadcast() // credits may have come
	if h.MessageID == ^uint64(0) {
		return nil // oplock or lease break notification (3.2.5.19)
	}
	cl := c.calls[h.MessageID]
	switch {
	case cl == nil || cl.state == callAnswered:
		return fmt.Errorf("smb2: message id %d: %w", h.MessageID, ErrUnsolicited)
	case h.Command != cl.cmd:
		return fmt.Errorf("smb2: message id %d: command 0x%x answers 0x%x: %w", h.MessageID, h.Command, cl.cmd, ErrUnsolicited)
	case h.Flags&FlagAsyncCommand != 0 && ntstatus.Status(h.Status) == ntstatus.Pending:
		cl.interim, cl.asyncID = true, h.AsyncID // 3.2.5.1.5: the final answer follows
		return nil
	}
	// 3.2.5.1.3: a final response of a signed session must carry a good
	// signature (interim responses and break notifications are not
	// signed). A bad one fails the connection: the host's answers can no
	// longer be told from someone else's.
	if sg := c.signers[h.SessionID]; sg != nil && h.SessionID != 0 {
		if err := sg.verify(msg); err != nil {
			return err
		}
	}
	c.unanswered--
	if cl.state == callAbandoned {
		delete(c.calls, cl.id)
		return nil
	}
	cl.state = callAnswered
	cl.msg = &Message{Header: h, Raw: msg, Interim: cl.interim}
	c.dropWaiterLocked(cl.w)
	cl.w = nil
	close(cl.done)
	return nil
}

// frameReader reads Direct TCP (or NBSS) frames: a zero type byte and a
// 24-bit length. NBSS keep-alives (0x85) are skipped. A read that times
// out keeps what it has, so the next call resumes mid-frame.
type frameReader struct {
	hdr  [4]byte
	hn   int
	body []byte
	bn   int
}

func (f *frameReader) next(r io.Reader) ([]byte, error) {
	for {
		if f.body == nil {
			for f.hn < 4 {
				n, err := r.Read(f.hdr[f.hn:])
				f.hn += n
				if err != nil && f.hn < 4 {
					return nil, readErr(err, f.hn > 0)
				}
			}
			n := int(f.hdr[1])<<16 | int(f.hdr[2])<<8 | int(f.hdr[3])
			if f.hdr[0] == 0x85 && n == 0 {
				f.hn = 0
				continue
			}
			if f.hdr[0] != 0 {
				return nil, fmt.Errorf("%w: type 0x%02x", ErrFrame, f.hdr[0])
			}
			if n > MaxFrame {
				return nil, fmt.Errorf("%w: length %d over %d", ErrFrame, n, MaxFrame)
			}
			f.body, f.bn = make([]byte, n), 0
		}
		for f.bn < len(f.body) {
			n, err := r.Read(f.body[f.bn:])
			f.bn += n
			if err != nil && f.bn < len(f.body) {
				return nil, readErr(err, true)
			}
		}
		b := f.body
		f.body, f.hn = nil, 0
		return b, nil
	}
}

// readErr names a read failure; EOF inside a frame is a truncation.
func readErr(err error, inFrame bool) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if errors.Is(err, io.EOF) {
		if inFrame {
			return fmt.Errorf("smb2: read: frame cut short: %w", ErrClosed)
		}
		return fmt.Errorf("smb2: read: %w", ErrClosed)
	}
	return fmt.Errorf("smb2: read: %w", err)
}

// StartSigning makes session id a signed one from now on: every request
// of it is signed and every final response must carry a good signature.
// sessionKey is the authentication's session key; preauth is the
// session's 3.1.1 preauthentication hash (nil for other dialects).
func (c *Conn) StartSigning(id uint64, sessionKey []byte, preauth *Preauth) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := newSigner(c.dialect, c.signAlg, c.hasSignAlg, sessionKey, preauth)
	if err != nil {
		return err
	}
	c.signers[id] = s
	return nil
}

// Verify checks one response's signature with its session's key (the
// final SESSION_SETUP response, which arrives before StartSigning).
func (c *Conn) Verify(m *Message) error {
	c.mu.Lock()
	s := c.signers[m.SessionID]
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: session 0x%x does not sign", ErrSignature, m.SessionID)
	}
	return s.verify(m.Raw)
}

// Preauth returns the connection's 3.1.1 preauthentication hash after
// NEGOTIATE: the start of each session's own ([MS-SMB2] 3.2.5.3.1).
func (c *Conn) Preauth() Preauth {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.preauth
}

// forget gives up message id without cancelling it: an answer held is
// released, one to come is dropped when it arrives.
func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[id]
	switch {
	case cl == nil:
	case cl.state == callAnswered:
		delete(c.calls, id)
	case cl.state == callWaiting:
		cl.state = callAbandoned
		c.dropWaiterLocked(cl.w)
		cl.w = nil
	}
}

// RoundTrip sends r and waits for its response.
func (c *Conn) RoundTrip(ctx context.Context, r *Request) (*Message, error) {
	cl, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, cl)
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
