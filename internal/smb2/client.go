package smb2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Negotiate sends NEGOTIATE offering dialects (all when nil) and records
// the result on c. Signing is offered as enabled, never required.
func (c *Conn) Negotiate(ctx context.Context, dialects []uint16) (*NegotiateResponse, error) {
	if len(dialects) == 0 {
		dialects = AllDialects
	}
	req := &NegotiateRequest{Dialects: dialects, SecurityMode: SigningEnabled}
	if _, err := rand.Read(req.ClientGUID[:]); err != nil {
		return nil, fmt.Errorf("smb2: client guid: %w", err)
	}
	if _, err := rand.Read(req.Salt[:]); err != nil {
		return nil, fmt.Errorf("smb2: salt: %w", err)
	}
	var pre Preauth
	m, err := c.RoundTrip(ctx, &Request{Command: CmdNegotiate, Body: req.Encode(), Preauth: &pre})
	if err != nil {
		return nil, fmt.Errorf("smb2: negotiate: %w", err)
	}
	if m.Command != CmdNegotiate {
		return nil, fmt.Errorf("smb2: negotiate: response command %d: %w", m.Command, ErrFrame)
	}
	if st := m.Status(); st != ntstatus.Success {
		return nil, statusErr("negotiate", m)
	}
	r, err := ParseNegotiateResponse(m.Raw)
	if err != nil {
		return nil, err
	}
	offered := false
	for _, d := range dialects {
		offered = offered || d == r.Dialect
	}
	if !offered {
		return r, fmt.Errorf("smb2: negotiate: server chose dialect 0x%04x, not offered", r.Dialect)
	}
	pre.Add(m.Raw)
	c.mu.Lock()
	c.dialect = r.Dialect
	c.multiCredit = r.Dialect > Dialect202 && r.Capabilities&CapLargeMTU != 0
	c.signAlg, c.hasSignAlg = r.SigningAlg, r.HasSigning
	c.preauth = pre
	c.mu.Unlock()
	return r, nil
}

// SessionSetup sends one SESSION_SETUP leg with the security token and
// returns the response message (whatever its status) and its decoded body.
// sessionID is 0 on the first leg and the server's id after.
func (c *Conn) SessionSetup(ctx context.Context, sessionID uint64, token []byte) (*Message, *SessionSetupResponse, error) {
	return c.SessionSetupPreauth(ctx, sessionID, token, nil)
}

// SessionSetupPreauth is SessionSetup that chains the request, and a
// response asking for more, into the session's preauthentication hash p.
func (c *Conn) SessionSetupPreauth(ctx context.Context, sessionID uint64, token []byte, p *Preauth) (*Message, *SessionSetupResponse, error) {
	req := &SessionSetupRequest{SecurityMode: uint8(SigningEnabled), SecurityBuffer: token}
	m, err := c.RoundTrip(ctx, &Request{Command: CmdSessionSetup, SessionID: sessionID, Body: req.Encode(), Preauth: p})
	if err != nil {
		return nil, nil, fmt.Errorf("smb2: session setup: %w", err)
	}
	st := m.Status()
	if p != nil && st == ntstatus.MoreProcessingRequired {
		p.Add(m.Raw)
	}
	if st != ntstatus.Success && st != ntstatus.MoreProcessingRequired {
		return m, nil, statusErr("session setup", m)
	}
	r, err := ParseSessionSetupResponse(m.Raw)
	if err != nil {
		return m, nil, err
	}
	return m, r, nil
}

// Session is an established session id on a connection.
type Session struct {
	Conn *Conn
	ID   uint64
}

// Logoff ends the session.
func (s *Session) Logoff(ctx context.Context) error {
	m, err := s.Conn.RoundTrip(ctx, &Request{Command: CmdLogoff, SessionID: s.ID, Body: EncodeLogoff()})
	if err != nil {
		return fmt.Errorf("smb2: logoff: %w", err)
	}
	if m.Status() != ntstatus.Success {
		return statusErr("logoff", m)
	}
	return nil
}

// Tree is a connected share.
type Tree struct {
	Session *Session
	ID      uint32
	Info    TreeConnectResponse
}

// TreeConnect connects to path ("\\host\share").
func (s *Session) TreeConnect(ctx context.Context, path string) (*Tree, error) {
	m, err := s.Conn.RoundTrip(ctx, &Request{Command: CmdTreeConnect, SessionID: s.ID, Body: EncodeTreeConnect(path)})
	if err != nil {
		return nil, fmt.Errorf("smb2: tree connect: %w", err)
	}
	if m.Status() != ntstatus.Success {
		return nil, statusErr("tree connect "+path, m)
	}
	r, err := ParseTreeConnectResponse(m.Raw)
	if err != nil {
		return nil, err
	}
	return &Tree{Session: s, ID: m.TreeID, Info: *r}, nil
}

func (t *Tree) rt(ctx context.Context, cmd uint16, body []byte, payload int) (*Message, error) {
	return t.Session.Conn.RoundTrip(ctx, &Request{Command: cmd, SessionID: t.Session.ID, TreeID: t.ID, Body: body, Payload: payload})
}

// Disconnect ends the tree connect.
func (t *Tree) Disconnect(ctx context.Context) error {
	m, err := t.rt(ctx, CmdTreeDisconnect, EncodeTreeDisconnect(), 0)
	if err != nil {
		return fmt.Errorf("smb2: tree disconnect: %w", err)
	}
	if m.Status() != ntstatus.Success {
		return statusErr("tree disconnect", m)
	}
	return nil
}

// Create opens a file, directory or pipe.
func (t *Tree) Create(ctx context.Context, req *CreateRequest) (*CreateResponse, error) {
	m, err := t.rt(ctx, CmdCreate, req.Encode(), 0)
	if err != nil {
		return nil, fmt.Errorf("smb2: create %q: %w", req.Name, err)
	}
	if m.Status() != ntstatus.Success {
		return nil, statusErr(fmt.Sprintf("create %q", req.Name), m)
	}
	return ParseCreateResponse(m.Raw)
}

// Close closes an open.
func (t *Tree) Close(ctx context.Context, id FileID) error {
	m, err := t.rt(ctx, CmdClose, EncodeClose(id), 0)
	if err != nil {
		return fmt.Errorf("smb2: close: %w", err)
	}
	if m.Status() != ntstatus.Success {
		return statusErr("close", m)
	}
	return nil
}

// ErrOverflow is returned with partial data when the server said
// STATUS_BUFFER_OVERFLOW: the pipe message continues.
var ErrOverflow = ntstatus.BufferOverflow

// clamp bounds an output length to what one credit covers.
func clamp(n int) int {
	if n <= 0 || n > MaxPayload {
		return MaxPayload
	}
	return n
}

// Transceive writes in to a pipe and reads one reply message of at most
// maxOut bytes (FSCTL_PIPE_TRANSCEIVE). With STATUS_BUFFER_OVERFLOW it
// returns the data and an error matching ErrOverflow.
func (t *Tree) Transceive(ctx context.Context, id FileID, in []byte, maxOut int) ([]byte, error) {
	maxOut = clamp(maxOut)
	req := &IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: id, Input: in, MaxOutputResponse: uint32(maxOut), Flags: IoctlIsFsctl}
	m, err := t.rt(ctx, CmdIoctl, req.Encode(), max(len(in), maxOut))
	if err != nil {
		return nil, fmt.Errorf("smb2: ioctl: %w", err)
	}
	st := m.Status()
	if st != ntstatus.Success && st != ntstatus.BufferOverflow {
		return nil, statusErr("ioctl", m)
	}
	r, err := ParseIoctlResponse(m.Raw)
	if err != nil {
		return nil, err
	}
	if len(r.Output) > maxOut {
		return nil, fmt.Errorf("smb2: ioctl: %d bytes out, asked for %d: %w", len(r.Output), maxOut, ErrBounds)
	}
	out := append([]byte(nil), r.Output...)
	if st == ntstatus.BufferOverflow {
		return out, fmt.Errorf("smb2: ioctl: %w", ErrOverflow)
	}
	return out, nil
}

// Read reads up to n bytes at off. STATUS_BUFFER_OVERFLOW returns the
// data and an error matching ErrOverflow.
func (t *Tree) Read(ctx context.Context, id FileID, off uint64, n int) ([]byte, error) {
	n = clamp(n)
	req := &ReadRequest{Length: uint32(n), Offset: off, FileID: id}
	m, err := t.rt(ctx, CmdRead, req.Encode(), n)
	if err != nil {
		return nil, fmt.Errorf("smb2: read: %w", err)
	}
	return readData(m, n)
}

// Reads are reads sent ahead on one open, before any is answered; their
// data comes back in the order they were sent.
type Reads struct {
	t    *Tree
	size int
	ids  []uint64
	next int
}

// ReadAhead sends n reads of up to size bytes on a pipe, one after
// another without waiting for an answer, so a reply of many fragments
// costs one round trip rather than one a fragment. A server satisfies
// reads of one open in the order it receives them, which is the order of
// their MessageIds. Reads it sent before an error stay in the returned
// Reads (never nil), for Cancel.
func (t *Tree) ReadAhead(ctx context.Context, id FileID, n, size int) (*Reads, error) {
	size = clamp(size)
	r := &Reads{t: t, size: size}
	body := (&ReadRequest{Length: uint32(size), FileID: id}).Encode()
	for range n {
		mid, err := t.Session.Conn.Send(ctx, &Request{Command: CmdRead, SessionID: t.Session.ID, TreeID: t.ID, Body: body, Payload: size})
		if err != nil {
			return r, fmt.Errorf("smb2: read ahead: %w", err)
		}
		r.ids = append(r.ids, mid)
	}
	return r, nil
}

// Left is how many reads have not been taken.
func (r *Reads) Left() int { return len(r.ids) - r.next }

// Next returns the data of the next read, in the order sent; with
// STATUS_BUFFER_OVERFLOW the data and an error matching ErrOverflow.
func (r *Reads) Next(ctx context.Context) ([]byte, error) {
	if r.next >= len(r.ids) {
		return nil, errors.New("smb2: read ahead: no read left")
	}
	id := r.ids[r.next]
	r.next++
	m, err := r.t.Session.Conn.Recv(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("smb2: read: %w", err)
	}
	return readData(m, r.size)
}

// Drop gives up the reads not taken: an answer already in is released,
// one still to come is discarded when it arrives.
func (r *Reads) Drop() {
	for _, id := range r.ids[r.next:] {
		r.t.Session.Conn.forget(id)
	}
	r.next = len(r.ids)
}

// readData checks a READ response and copies out its data.
func readData(m *Message, n int) ([]byte, error) {
	st := m.Status()
	if st != ntstatus.Success && st != ntstatus.BufferOverflow {
		return nil, statusErr("read", m)
	}
	r, err := ParseReadResponse(m.Raw)
	if err != nil {
		return nil, err
	}
	if len(r.Data) > n {
		return nil, fmt.Errorf("smb2: read: %d bytes, asked for %d: %w", len(r.Data), n, ErrBounds)
	}
	out := append([]byte(nil), r.Data...)
	if st == ntstatus.BufferOverflow {
		return out, fmt.Errorf("smb2: read: %w", ErrOverflow)
	}
	return out, nil
}

// Write writes b at off in requests of at most MaxPayload bytes.
func (t *Tree) Write(ctx context.Context, id FileID, off uint64, b []byte) (int, error) {
	done := 0
	for {
		chunk := b[done:min(len(b), done+MaxPayload)]
		req := &WriteRequest{Offset: off + uint64(done), FileID: id, Data: chunk}
		m, err := t.rt(ctx, CmdWrite, req.Encode(), len(chunk))
		if err != nil {
			return done, fmt.Errorf("smb2: write: %w", err)
		}
		if m.Status() != ntstatus.Success {
			return done, statusErr("write", m)
		}
		n, err := ParseWriteResponse(m.Raw)
		if err != nil {
			return done, err
		}
		if uint64(n) > uint64(len(chunk)) { // not int(n): negative on 32-bit
			return done, fmt.Errorf("smb2: write: server wrote %d of %d: %w", n, len(chunk), ErrBounds)
		}
		done += int(n)
		if done >= len(b) || n == 0 {
			if done < len(b) {
				return done, errors.New("smb2: write: short write")
			}
			return done, nil
		}
	}
}

// A directory listing stops at maxListEntries entries or maxListNameBytes
// bytes of names, whichever comes first; an audit only needs a sample, and
// a host's listing then holds at most about 1.3 MiB (docs/bounds.md).
const (
	maxListEntries   = 10000
	maxListNameBytes = 1 << 20
)

// List opens dir read-only (FILE_LIST_DIRECTORY, no write access, open
// existing only) and returns its entries without "." and "..".
func (t *Tree) List(ctx context.Context, dir string) ([]DirEntry, error) {
	cr, err := t.Create(ctx, &CreateRequest{
		DesiredAccess:     FileReadData | FileReadAttributes | Synchronize,
		ShareAccess:       FileShareRead | FileShareWrite | FileShareDelete,
		CreateDisposition: FileOpen,
		CreateOptions:     FileDirectoryFile,
		Name:              dir,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		// Close within the caller's deadline, never after it: once ctx has
		// ended, the caller's logoff or disconnect closes the open
		// ([MS-SMB2] 3.3.5.6, 3.3.7.1).
		if ctx.Err() != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		t.Close(cctx, cr.FileID)
	}()
	var out []DirEntry
	names := 0
	flags := QueryRestartScans
	for len(out) < maxListEntries && names < maxListNameBytes {
		req := &QueryDirectoryRequest{InfoClass: FileDirectoryInformation, Flags: flags, FileID: cr.FileID, Pattern: "*", OutputLength: MaxPayload}
		flags = 0
		m, err := t.rt(ctx, CmdQueryDirectory, req.Encode(), MaxPayload)
		if err != nil {
			return out, fmt.Errorf("smb2: query directory: %w", err)
		}
		switch m.Status() {
		case ntstatus.Success:
		case ntstatus.NoMoreFiles:
			return out, nil
		default:
			return out, statusErr("query directory", m)
		}
		es, err := ParseQueryDirectoryResponse(m.Raw)
		if err != nil {
			return out, err
		}
		if len(es) == 0 {
			return out, nil
		}
		for _, e := range es {
			if e.Name != "." && e.Name != ".." && len(out) < maxListEntries {
				out = append(out, e)
				names += len(e.Name)
			}
		}
	}
	return out, nil
}
