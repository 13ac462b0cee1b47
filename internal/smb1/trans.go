package smb1

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Transaction subcommands and names.
const (
	TransactNmPipe           uint16 = 0x0026
	Trans2FindFirst2         uint16 = 0x0001
	Trans2FindNext2          uint16 = 0x0002
	PipeName                        = `\PIPE\`
	LanmanPipe                      = `\PIPE\LANMAN`
	maxTransTotal                   = 1 << 16 // we never ask for more than 64 KiB of parameters or data
	transReplyWords                 = 20      // words of a response before the setup words
	transRequestWords               = 28
	transMaxSecondaryReplies        = 64
)

// TransRequest is one SMB_COM_TRANSACTION or TRANSACTION2 request, sent
// in a single message.
type TransRequest struct {
	Name     string   // TRANSACTION only: `\PIPE\` or `\PIPE\LANMAN`
	Setup    []uint16 // TransactNmPipe+FID, Trans2 subcommand, or none (RAP)
	Params   []byte
	Data     []byte
	MaxParam int
	MaxData  int
}

// TransResponse is the reassembled reply. Status is success or
// STATUS_BUFFER_OVERFLOW (more in the pipe message).
type TransResponse struct {
	Status ntstatus.Status
	Setup  []uint16
	Params []byte
	Data   []byte
}

// Transaction runs SMB_COM_TRANSACTION (cmd ComTransaction) or
// TRANSACTION2 (ComTransaction2) on tree tid and collects the reply, which
// the server may split over several messages ([MS-CIFS] 2.2.4.33).
func (c *Client) Transaction(ctx context.Context, cmd byte, uid, tid uint16, t *TransRequest) (*TransResponse, error) {
	if t.MaxParam > maxTransTotal || t.MaxData > maxTransTotal || t.MaxParam < 0 || t.MaxData < 0 || len(t.Setup) > 255 {
		return nil, fmt.Errorf("smb1: transaction: limits out of range")
	}
	req := &request{cmd: cmd, flags2: c.flags2(), uid: uid, tid: tid}
	req.words = make([]byte, transRequestWords, transRequestWords+2*len(t.Setup))
	for _, s := range t.Setup {
		req.words = binary.LittleEndian.AppendUint16(req.words, s)
	}
	w := req.words
	base := req.bytesOff()
	var b []byte
	if cmd == ComTransaction {
		b = appendString(b, base, t.Name, c.unicode())
	} else {
		b = append(b, 0, 0) // TRANSACTION2 has an empty name
	}
	for (base+len(b))%4 != 0 {
		b = append(b, 0)
	}
	paramOff := base + len(b)
	b = append(b, t.Params...)
	for (base+len(b))%4 != 0 {
		b = append(b, 0)
	}
	dataOff := base + len(b)
	b = append(b, t.Data...)
	if len(t.Data) == 0 {
		dataOff = 0
	}
	req.bytes = b
	if base+len(b) > c.maxBuffer() {
		return nil, fmt.Errorf("smb1: transaction of %d bytes exceeds the server buffer %d", base+len(b), c.maxBuffer())
	}
	le := binary.LittleEndian
	le.PutUint16(w[0:], uint16(len(t.Params))) // TotalParameterCount
	le.PutUint16(w[2:], uint16(len(t.Data)))   // TotalDataCount
	le.PutUint16(w[4:], uint16(t.MaxParam))
	le.PutUint16(w[6:], uint16(t.MaxData))
	// w[8] MaxSetupCount, w[9] reserved, w[10:12] Flags, w[12:16] Timeout, w[16:18] reserved
	le.PutUint16(w[18:], uint16(len(t.Params)))
	le.PutUint16(w[20:], uint16(paramOff))
	le.PutUint16(w[22:], uint16(len(t.Data)))
	le.PutUint16(w[24:], uint16(dataOff))
	w[26] = byte(len(t.Setup))

	c.mu.Lock()
	defer c.mu.Unlock()
	mid, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	var asm transAssembler
	for i := 0; i < transMaxSecondaryReplies; i++ {
		m, err := c.recv(ctx, mid)
		if err != nil {
			return nil, err
		}
		// Every part of a reply answers the one request: each is signed
		// with its sequence number + 1.
		if c.sign != nil {
			if err := c.sign.verify(m.Raw, c.sign.seq-1); err != nil {
				return nil, err
			}
		}
		done, err := asm.add(m, cmd, t.MaxParam, t.MaxData)
		if err != nil {
			return nil, err
		}
		if done {
			return asm.response(), nil
		}
	}
	return nil, fmt.Errorf("smb1: transaction: reply split into too many messages")
}

// transAssembler collects the pieces of a transaction reply.
type transAssembler struct {
	started      bool
	status       ntstatus.Status
	setup        []uint16
	params, data []byte
	gotP, gotD   int
}

func (a *transAssembler) response() *TransResponse {
	return &TransResponse{Status: a.status, Setup: a.setup, Params: a.params, Data: a.data}
}

// add takes one reply message; done reports that all parameters and data
// announced have arrived. Totals above the limits we asked for are refused
// before allocation.
func (a *transAssembler) add(m *Message, cmd byte, maxParam, maxData int) (done bool, err error) {
	if m.Command != cmd {
		return false, fmt.Errorf("smb1: transaction: reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success && m.Status != ntstatus.BufferOverflow {
		return false, statusError("transaction", m.Status)
	}
	if len(m.Words) == 0 && !a.started {
		return false, nil // the interim response to a request sent in pieces
	}
	if len(m.Words) < transReplyWords {
		return false, fmt.Errorf("smb1: transaction: word count %d", len(m.Words)/2)
	}
	le := binary.LittleEndian
	w := m.Words
	totP, totD := int(le.Uint16(w[0:])), int(le.Uint16(w[2:]))
	pc, po, pd := int(le.Uint16(w[6:])), int(le.Uint16(w[8:])), int(le.Uint16(w[10:]))
	dc, do, dd := int(le.Uint16(w[12:])), int(le.Uint16(w[14:])), int(le.Uint16(w[16:]))
	sc := int(w[18])
	if transReplyWords+2*sc > len(w) {
		return false, fmt.Errorf("smb1: transaction: setup: %w", ErrShort)
	}
	if !a.started {
		if totP > maxParam || totD > maxData {
			return false, fmt.Errorf("smb1: transaction: reply of %d/%d bytes exceeds the %d/%d asked for", totP, totD, maxParam, maxData)
		}
		a.started = true
		a.params, a.data = make([]byte, totP), make([]byte, totD)
		a.setup = make([]uint16, sc)
		for i := range a.setup {
			a.setup[i] = le.Uint16(w[transReplyWords+2*i:])
		}
	}
	// Totals may shrink in later pieces, never grow.
	if totP < len(a.params) {
		a.params = a.params[:totP]
	}
	if totD < len(a.data) {
		a.data = a.data[:totD]
	}
	a.status = m.Status
	if err := place(m.Raw, a.params, po, pc, pd); err != nil {
		return false, fmt.Errorf("smb1: transaction parameters: %w", err)
	}
	if err := place(m.Raw, a.data, do, dc, dd); err != nil {
		return false, fmt.Errorf("smb1: transaction data: %w", err)
	}
	a.gotP += pc
	a.gotD += dc
	return a.gotP >= len(a.params) && a.gotD >= len(a.data), nil
}

// place copies raw[off:off+n] to dst[disp:], both bounds checked.
func place(raw, dst []byte, off, n, disp int) error {
	if n == 0 {
		return nil
	}
	if off < headerLen || off+n > len(raw) || disp+n > len(dst) {
		return ErrBadOffset
	}
	copy(dst[disp:], raw[off:off+n])
	return nil
}

// TransactNmPipe writes in to the message pipe fid and reads one reply
// message of at most maxOut bytes ([MS-CIFS] 2.2.5.6). A longer message
// gives the first part and ErrMoreData; read the rest with Read.
func (c *Client) TransactNmPipe(ctx context.Context, uid, tid, fid uint16, in []byte, maxOut int) ([]byte, error) {
	maxOut = min(maxOut, 0xFFFF-256, c.maxBuffer())
	r, err := c.Transaction(ctx, ComTransaction, uid, tid, &TransRequest{
		Name:    PipeName,
		Setup:   []uint16{TransactNmPipe, fid},
		Data:    in,
		MaxData: maxOut,
	})
	if err != nil {
		return nil, fmt.Errorf("smb1: transact pipe: %w", err)
	}
	if r.Status == ntstatus.BufferOverflow {
		return r.Data, ErrMoreData
	}
	return r.Data, nil
}

// Lanman runs a RAP call on \PIPE\LANMAN ([MS-RAP] 3.1.4): params hold the
// opcode, descriptors and arguments; the reply parameters and data are
// returned.
func (c *Client) Lanman(ctx context.Context, uid, tid uint16, params []byte, maxParam, maxData int) (rparams, rdata []byte, err error) {
	r, err := c.Transaction(ctx, ComTransaction, uid, tid, &TransRequest{
		Name:     LanmanPipe,
		Params:   params,
		MaxParam: maxParam,
		MaxData:  maxData,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("smb1: lanman: %w", err)
	}
	return r.Params, r.Data, nil
}

// FileInfo is one entry of a directory listing.
type FileInfo struct {
	Name       string
	Size       int64
	Attributes uint32
}

// IsDir reports FILE_ATTRIBUTE_DIRECTORY.
func (f FileInfo) IsDir() bool { return f.Attributes&0x10 != 0 }

const (
	findFileDirectoryInfo = 0x0101
	findCloseAtEOS        = 0x0002
	findContinue          = 0x0008
	findSearchAttributes  = 0x0016 // hidden, system, directories
	findBatch             = 512
)

// FindAll lists pattern (e.g. `\*`, `\dir\*`) on tree tid with TRANS2
// FIND_FIRST2 / FIND_NEXT2, reading nothing else and changing nothing; at
// most limit entries are returned.
func (c *Client) FindAll(ctx context.Context, uid, tid uint16, pattern string, limit int) ([]FileInfo, error) {
	le := binary.LittleEndian
	p := le.AppendUint16(nil, findSearchAttributes)
	p = le.AppendUint16(p, findBatch)
	p = le.AppendUint16(p, findCloseAtEOS)
	p = le.AppendUint16(p, findFileDirectoryInfo)
	p = le.AppendUint32(p, 0) // SearchStorageType
	p = appendString(p, 0, pattern, c.unicode())
	r, err := c.Transaction(ctx, ComTransaction2, uid, tid, &TransRequest{
		Setup: []uint16{Trans2FindFirst2}, Params: p, MaxParam: 10, MaxData: min(0xFFFF, c.maxBuffer()-128),
	})
	if err != nil {
		return nil, fmt.Errorf("smb1: find %s: %w", pattern, err)
	}
	if len(r.Params) < 10 {
		return nil, fmt.Errorf("smb1: find %s: parameters: %w", pattern, ErrShort)
	}
	sid := le.Uint16(r.Params)
	count, end := int(le.Uint16(r.Params[2:])), le.Uint16(r.Params[4:]) != 0
	var out []FileInfo
	var last string
	out, last, err = ParseDirectoryInfo(out, r.Data, count, c.unicode(), limit)
	if err != nil {
		return nil, fmt.Errorf("smb1: find %s: %w", pattern, err)
	}
	names, counted := 0, 0
	for !end && count > 0 {
		if len(out) >= limit || nameBytes(out[counted:]) >= maxFindNameBytes-names {
			c.findClose(ctx, uid, tid, sid)
			return out, nil
		}
		p = le.AppendUint16(nil, sid)
		p = le.AppendUint16(p, findBatch)
		p = le.AppendUint16(p, findFileDirectoryInfo)
		p = le.AppendUint32(p, 0) // ResumeKey
		p = le.AppendUint16(p, findCloseAtEOS|findContinue)
		p = appendString(p, 0, last, c.unicode())
		r, err = c.Transaction(ctx, ComTransaction2, uid, tid, &TransRequest{
			Setup: []uint16{Trans2FindNext2}, Params: p, MaxParam: 8, MaxData: min(0xFFFF, c.maxBuffer()-128),
		})
		if err != nil {
			return out, fmt.Errorf("smb1: find next %s: %w", pattern, err)
		}
		if len(r.Params) < 8 {
			return out, fmt.Errorf("smb1: find next %s: parameters: %w", pattern, ErrShort)
		}
		count, end = int(le.Uint16(r.Params)), le.Uint16(r.Params[2:]) != 0
		names, counted = names+nameBytes(out[counted:]), len(out)
		out, last, err = ParseDirectoryInfo(out, r.Data, count, c.unicode(), limit)
		if err != nil {
			return out, fmt.Errorf("smb1: find next %s: %w", pattern, err)
		}
	}
	return out, nil
}

// maxFindNameBytes stops FindAll once the names read reach 1 MiB, as an
// SMB2 listing does: one entry a page with a 64 KiB name each would
// otherwise hold 640 MiB before the entry limit.
const maxFindNameBytes = 1 << 20

func nameBytes(fs []FileInfo) int {
	n := 0
	for _, f := range fs {
		n += len(f.Name)
	}
	return n
}

func (c *Client) findClose(ctx context.Context, uid, tid, sid uint16) {
	c.roundTrip(ctx, &request{cmd: ComFindClose2, flags2: c.flags2(), uid: uid, tid: tid, words: binary.LittleEndian.AppendUint16(nil, sid)})
}

// ParseDirectoryInfo appends up to count SMB_FIND_FILE_DIRECTORY_INFO
// entries ([MS-CIFS] 2.2.8.1.4) from b to out, stopping at limit, and
// returns the last name seen (for FIND_NEXT2). A name ends where the next
// entry begins, so entries never share bytes and the names decoded are
// bounded by b. Wire uint32s stay unsigned until checked (int() of them is
// negative on 32-bit builds).
func ParseDirectoryInfo(out []FileInfo, b []byte, count int, unicode bool, limit int) ([]FileInfo, string, error) {
	le := binary.LittleEndian
	off, last := 0, ""
	for i := 0; i < count && len(out) < limit; i++ {
		if off+64 > len(b) {
			return out, last, ErrShort
		}
		e := b[off:]
		next := le.Uint32(e[0:])
		end := uint32(len(e))
		if next != 0 && next < end {
			end = next
		}
		nameLen := le.Uint32(e[60:])
		if end < 64 || nameLen > end-64 {
			return out, last, ErrBadOffset
		}
		raw := e[64 : 64+nameLen]
		if unicode {
			last = UTF16String(raw)
		} else {
			last = OEMString(trimNUL(raw))
		}
		out = append(out, FileInfo{Name: last, Size: int64(le.Uint64(e[40:]) & (1<<63 - 1)), Attributes: le.Uint32(e[56:])})
		if next == 0 {
			break
		}
		if next < 64 {
			return out, last, errors.New("smb1: directory entry offset loops")
		}
		if uint64(next) > uint64(len(e)) {
			off = len(b) // past the data: a further entry is short
			continue
		}
		off += int(next)
	}
	return out, last, nil
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
