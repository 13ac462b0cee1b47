package dcerpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// Transport carries PDUs. smb.Pipe satisfies it; TCP adapts a net.Conn.
type Transport interface {
	// Transact writes in and returns (part of) the reply. It may return
	// smb.ErrMore with partial data; the rest is then read with Read.
	Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error)
	Write(ctx context.Context, b []byte) (int, error)
	Read(ctx context.Context, max int) ([]byte, error)
}

// Fragment sizes. Windows and Samba clients ask for 4280 over named pipes;
// we ask for the largest fragment the 16-bit frag_length allows, and the
// server lowers it in BIND_ACK if it must. On Samba this halves the time
// to read 2,000 users: each fragment costs an SMB round trip.
const (
	DefaultMaxFrag = 65535
	minFrag        = 1024 // smallest max_recv_frag we accept from a server (C706 allows 1432; Samba requires ≥ 2048 of clients)
	// DefaultMaxResponse caps a reassembled response stub.
	DefaultMaxResponse = 8 << 20
)

// Response caps per kind of call, set with WithMaxResponse (docs/bounds.md).
const (
	// SmallResponse: a handle, an open or close, a query of one
	// information class: replies of a few hundred bytes.
	SmallResponse = 64 << 10
	// PageResponse: one page of an enumeration. We ask for pages of
	// PagePreferred bytes; PreferedMaximumLength is a hint servers may
	// exceed ([MS-SAMR] 3.1.5.2.5), so four times that is accepted.
	PageResponse = 4 * PagePreferred
	// PagePreferred is the PreferedMaximumLength enumerations send.
	PagePreferred = 256 << 10
)

// LookupResponse caps the reply to a lookup of n names or SIDs that may
// bring maxName UTF-16 units of names each (its own and, at worst, a
// referenced domain of its own): per entry a 16-byte translation and
// strings of 12 + 2*maxName bytes, plus SmallResponse. A 1,000-SID lookup
// with 256-character names and 255-character domains gets about 1 MiB.
func LookupResponse(n, maxName int) int {
	return SmallResponse + n*(16+12+2*maxName)
}

type maxResponseKey struct{}

// WithMaxResponse returns a context whose calls accept a reassembled
// response stub of at most n bytes (less than the Client's MaxResponse).
// Callers set it per call, from what that call can honestly return.
func WithMaxResponse(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, maxResponseKey{}, n)
}

// responseLimit is the smaller of the Client's cap and ctx's.
func (c *Client) responseLimit(ctx context.Context) int {
	limit := c.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	if n, ok := ctx.Value(maxResponseKey{}).(int); ok && n > 0 && n < limit {
		limit = n
	}
	return limit
}

// Client is one DCE/RPC association bound to one interface. Calls are sent
// one at a time (a mutex); each response is matched to its call id, so
// pipelining can be added without changing callers.
type Client struct {
	t        Transport
	abstract SyntaxID

	mu      sync.Mutex
	callID  uint32
	ctxID   uint16
	nextCtx uint16
	maxXmit int
	maxRecv int
	rbuf    []byte // bytes received beyond the last complete fragment
	// ahead are reads sent before their turn (readAhead): for the
	// fragments of the reply being read, and any that reply did not need,
	// kept for the next one.
	ahead smb.AheadReads
	// broken is why the association's replies are out of step with its
	// requests (a reply not read whole): later calls fail at once rather
	// than read the rest of that reply as theirs.
	broken error

	// AssocGroup and SecAddr are what BIND_ACK said.
	AssocGroup uint32
	SecAddr    string
	// MaxResponse caps a reassembled response stub (DefaultMaxResponse).
	MaxResponse int
}

// Bind opens an association on t and binds the abstract syntax with NDR 2.0.
func Bind(ctx context.Context, t Transport, abstract SyntaxID) (*Client, error) {
	c := &Client{t: t, maxXmit: DefaultMaxFrag, maxRecv: DefaultMaxFrag, MaxResponse: DefaultMaxResponse}
	ack, err := c.bind(ctx, PTypeBind, abstract, 0)
	if err != nil {
		return nil, err
	}
	c.AssocGroup = ack.AssocGroup
	c.SecAddr = ack.SecAddr
	// The server's max_recv_frag bounds what we send; its max_xmit_frag
	// is what it will send, which must fit the buffer we read with.
	if m := int(ack.MaxRecvFrag); m < c.maxXmit {
		if m < minFrag {
			return nil, fmt.Errorf("dcerpc: bind %s: server max_recv_frag %d too small", abstract, m)
		}
		c.maxXmit = m
	}
	if m := int(ack.MaxXmitFrag); m > c.maxRecv {
		c.maxRecv = m
	}
	return c, nil
}

// AlterContext switches the client to another interface on the same
// association (ALTER_CONTEXT with a new presentation context id).
func (c *Client) AlterContext(ctx context.Context, abstract SyntaxID) error {
	c.mu.Lock()
	id := c.nextCtx
	c.mu.Unlock()
	if _, err := c.bind(ctx, PTypeAlterContext, abstract, id); err != nil {
		return err
	}
	return nil
}

// Abstract returns the interface the client is bound to.
func (c *Client) Abstract() SyntaxID { return c.abstract }

// MaxFrags returns the negotiated fragment sizes (send, receive).
func (c *Client) MaxFrags() (xmit, recv int) { return c.maxXmit, c.maxRecv }

func (c *Client) bind(ctx context.Context, ptype uint8, abstract SyntaxID, ctxID uint16) (*BindAckPDU, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	what := "bind"
	if ptype == PTypeAlterContext {
		what = "alter_context"
	}
	c.callID++
	callID := c.callID
	pdu := BindPDU{
		Type: ptype, CallID: callID,
		MaxXmitFrag: uint16(c.maxXmit), MaxRecvFrag: uint16(c.maxRecv), AssocGroup: c.AssocGroup,
		Contexts: []ContextElem{{ID: ctxID, Abstract: abstract, Transfer: []SyntaxID{NDR20}}},
	}.Marshal()
	if err := c.send(ctx, pdu, true); err != nil {
		return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, err)
	}
	frag, err := c.readFragment(ctx)
	if err != nil {
		return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, err)
	}
	h, _ := ParseHeader(frag) // readFragment checked it
	if h.CallID != callID {
		return nil, fmt.Errorf("dcerpc: %s %s: %w (%d, sent %d)", what, abstract, ErrCallID, h.CallID, callID)
	}
	switch h.Type {
	case PTypeBindNak:
		reason := uint16(0xffff)
		if len(frag) >= headerLen+2 {
			reason = binary.LittleEndian.Uint16(frag[headerLen:])
		}
		return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, &BindNakError{Reason: reason})
	case PTypeFault:
		f, err := ParseFragment(frag)
		if err != nil {
			return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, err)
		}
		return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, &Fault{Status: f.Status})
	}
	ack, err := ParseBindAck(frag)
	if err != nil {
		return nil, fmt.Errorf("dcerpc: %s %s: %w", what, abstract, err)
	}
	if len(ack.Results) == 0 {
		return nil, fmt.Errorf("dcerpc: %s %s: %w: no results", what, abstract, ErrBadPDU)
	}
	if r := ack.Results[0]; r.Result != ResultAcceptance {
		return nil, &ContextRejectedError{Abstract: abstract, Result: r.Result, Reason: r.Reason}
	}
	c.abstract = abstract
	c.ctxID = ctxID
	c.nextCtx = ctxID + 1
	return ack, nil
}

// Call sends one request with the stub for opnum and returns the
// reassembled response stub. A FAULT comes back as a *Fault error.
func (c *Client) Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("dcerpc: call %d: %w", opnum, c.broken)
	}
	c.callID++
	callID := c.callID
	if err := c.sendRequest(ctx, callID, opnum, stub); err != nil {
		return nil, fmt.Errorf("dcerpc: call %d: %w", opnum, err)
	}
	out, err := c.readResponse(ctx, callID)
	if err != nil {
		return nil, fmt.Errorf("dcerpc: call %d: %w", opnum, err)
	}
	return out, nil
}

// sendRequest fragments the stub to the negotiated size. All fragments but
// the last are written; the last is a transaction so the reply comes back
// in the same round trip.
func (c *Client) sendRequest(ctx context.Context, callID uint32, opnum uint16, stub []byte) error {
	per := c.maxXmit - requestLen
	per &^= 7 // keep fragment stubs 8-aligned so NDR alignment is undisturbed
	hint := uint32(len(stub))
	first := true
	for {
		n := min(len(stub), per)
		flags := uint8(0)
		if first {
			flags |= FlagFirstFrag
		}
		last := n == len(stub)
		if last {
			flags |= FlagLastFrag
		}
		pdu := RequestPDU(callID, flags, c.ctxID, opnum, hint, stub[:n])
		if err := c.send(ctx, pdu, last); err != nil {
			return err
		}
		if last {
			return nil
		}
		stub = stub[n:]
		first = false
	}
}

// send writes a PDU; when transact is set it also reads the first part of
// the reply into rbuf.
func (c *Client) send(ctx context.Context, pdu []byte, transact bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !transact || c.pendingReads() > 0 {
		// Reads sent ahead and not needed by the last reply are first in
		// line for this one: the request is written alone, and its reply
		// read through them (a transceive would wait behind them).
		_, err := c.t.Write(ctx, pdu)
		return err
	}
	out, err := c.t.Transact(ctx, pdu, c.maxRecv)
	if err != nil && !errors.Is(err, smb.ErrMore) {
		return err
	}
	c.rbuf = append(c.rbuf, out...)
	return nil
}

// maxEmptyReads bounds reads that return nothing, so a broken transport
// cannot spin forever.
const maxEmptyReads = 8

// readFragment returns the next complete fragment, reading as needed.
func (c *Client) readFragment(ctx context.Context) ([]byte, error) {
	empty := 0
	need := headerLen
	for {
		if len(c.rbuf) >= headerLen {
			h, err := ParseHeader(c.rbuf)
			if err != nil {
				c.rbuf = nil
				return nil, err
			}
			need = int(h.FragLength)
		}
		if len(c.rbuf) >= need && need >= headerLen {
			frag := c.rbuf[:need:need]
			c.rbuf = c.rbuf[need:]
			if len(c.rbuf) == 0 {
				c.rbuf = nil
			}
			return frag, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var out []byte
		var err error
		if c.ahead != nil && c.ahead.Left() > 0 {
			out, err = c.ahead.Next(ctx)
		} else {
			out, err = c.t.Read(ctx, max(c.maxRecv, need-len(c.rbuf)))
		}
		if err != nil && !errors.Is(err, smb.ErrMore) {
			return nil, err
		}
		if len(out) == 0 {
			if empty++; empty > maxEmptyReads {
				return nil, fmt.Errorf("%w: transport returned no data", ErrShortPDU)
			}
		}
		c.rbuf = append(c.rbuf, out...)
	}
}

// maxEmptyFrags bounds the response fragments that carry no stub bytes:
// C706 12.6.3 lets a fragment be short, not empty, and no server we know
// sends one; a few are tolerated.
const maxEmptyFrags = 4

// maxReadAhead bounds the reads outstanding ahead of their turn on one
// pipe: 32 fragments of Samba's 5,840 bytes is a 180 KiB page; each read
// holds one SMB2 credit of the 64 the connection keeps.
const maxReadAhead = 32

// readResponse reassembles the RESPONSE fragments of callID. A reply
// that could not be read whole (not a fault, which is a whole PDU) leaves
// the stream out of step: the association is marked broken, and reads
// sent ahead are dropped.
func (c *Client) readResponse(ctx context.Context, callID uint32) ([]byte, error) {
	stub, err := c.reassemble(ctx, callID)
	var f *Fault
	if err != nil && !errors.As(err, &f) {
		c.broken = fmt.Errorf("%w: %w", ErrOutOfStep, err)
		if c.ahead != nil {
			c.ahead.Drop()
			c.ahead = nil
		}
	}
	return stub, err
}

// ErrOutOfStep: an earlier reply on the association was not read whole,
// so what the pipe returns next may be the rest of it.
var ErrOutOfStep = errors.New("dcerpc: association out of step after a reply not read whole")

// pendingReads is how many reads sent ahead wait to be taken.
func (c *Client) pendingReads() int {
	if c.ahead == nil {
		return 0
	}
	return c.ahead.Left()
}

// readAhead sends, after a reply's first fragment, the reads for the
// fragments its alloc_hint says follow, all at once: over a named pipe a
// read returns one fragment (Samba sends 5,840 bytes a fragment), so a
// 128 KiB page would otherwise cost 23 round trips. Only where the pipe
// can have several reads outstanding (smb.ReadAheader), and only when
// the first fragment came alone (a pipe that returns several per read
// needs fewer reads than fragments). The hint is trusted only up to the
// reply's cap and maxReadAhead reads outstanding. A hint too small leaves
// the rest to ordinary reads. One too large leaves reads the server keeps
// pending, first in line for whatever it sends next: they are kept and
// read the next reply (Samba does not answer an SMB2 CANCEL of a pipe
// read, so cancelling them is no way out).
func (c *Client) readAhead(ctx context.Context, allocHint uint32, first, limit int) {
	ra, ok := c.t.(smb.ReadAheader)
	if !ok || len(c.rbuf) != 0 || first <= 0 || c.pendingReads() > 0 {
		return // reads still out from before are taken first
	}
	rest := int(min(uint64(allocHint), uint64(limit))) - first
	if rest <= 0 {
		return
	}
	n := min((rest+first-1)/first, maxReadAhead)
	reads, _ := ra.ReadAhead(ctx, n, c.maxRecv) // reads not sent are read the ordinary way
	if reads != nil && reads.Left() > 0 {
		c.ahead = reads
	}
}

// reassemble reads the RESPONSE fragments of callID.
func (c *Client) reassemble(ctx context.Context, callID uint32) ([]byte, error) {
	var stub []byte
	empty := 0
	limit := c.responseLimit(ctx)
	for i := 0; ; i++ {
		raw, err := c.readFragment(ctx)
		if err != nil {
			return nil, err
		}
		f, err := ParseFragment(raw)
		if err != nil {
			return nil, err
		}
		if f.Header.CallID != callID {
			return nil, fmt.Errorf("%w (%d, sent %d)", ErrCallID, f.Header.CallID, callID)
		}
		if f.Header.Type == PTypeFault {
			return nil, &Fault{Status: f.Status, DidNotExecute: f.Header.Flags&FlagDidNotExecute != 0}
		}
		if i == 0 && f.Header.Flags&FlagFirstFrag == 0 {
			return nil, fmt.Errorf("%w: first response fragment lacks PFC_FIRST_FRAG", ErrBadPDU)
		}
		if i > 0 && f.Header.Flags&FlagFirstFrag != 0 {
			return nil, fmt.Errorf("%w: PFC_FIRST_FRAG in the middle of a response", ErrBadPDU)
		}
		if len(stub)+len(f.Stub) > limit {
			return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
		}
		if stub == nil {
			// alloc_hint is a hint from the server: trust it only up to the cap
			// and the size of this fragment times a small factor.
			// Compared as uint64: int(AllocHint) is negative on 32-bit builds.
			stub = make([]byte, 0, int(min(uint64(f.AllocHint), uint64(limit), uint64(16*len(raw)))))
		}
		if len(f.Stub) == 0 && f.Header.Flags&FlagLastFrag == 0 {
			// A stream of empty fragments would loop until the deadline
			// without ever reaching the size cap: count them.
			if empty++; empty > maxEmptyFrags {
				return nil, fmt.Errorf("%w: %d response fragments without stub data", ErrBadPDU, empty)
			}
		}
		stub = append(stub, f.Stub...)
		if f.Header.Flags&FlagLastFrag != 0 {
			return stub, nil
		}
		if i == 0 {
			c.readAhead(ctx, f.AllocHint, len(f.Stub), limit)
		}
	}
}
