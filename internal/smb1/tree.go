package smb1

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// TreeConnectResponse is what TREE_CONNECT_ANDX returns.
type TreeConnectResponse struct {
	TID             uint16
	OptionalSupport uint16
	Service         string // "IPC", "A:" (disk), "LPT1:", ...
	NativeFS        string
}

// TreeConnect connects uid to path (\\HOST\SHARE) with an empty share
// password ([MS-CIFS] 2.2.4.55).
func (c *Client) TreeConnect(ctx context.Context, uid uint16, path string) (*TreeConnectResponse, error) {
	w := make([]byte, 0, 8)
	w = append(w, andX...)
	w = binary.LittleEndian.AppendUint16(w, 0) // Flags
	w = binary.LittleEndian.AppendUint16(w, 1) // PasswordLength: one NUL
	req := &request{cmd: ComTreeConnect, flags2: c.flags2(), uid: uid, words: w}
	b := []byte{0}
	b = appendString(b, req.bytesOff(), path, c.unicode())
	b = append(b, "?????\x00"...) // any service; always OEM
	req.bytes = b
	m, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("smb1: tree connect %s: %w", path, err)
	}
	return ParseTreeConnect(m)
}

// ParseTreeConnect decodes a TREE_CONNECT_ANDX response.
func ParseTreeConnect(m *Message) (*TreeConnectResponse, error) {
	if m.Command != ComTreeConnect {
		return nil, fmt.Errorf("smb1: tree connect: reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success {
		return nil, statusError("tree connect", m.Status)
	}
	if len(m.Words) < 6 {
		return nil, fmt.Errorf("smb1: tree connect: word count %d", len(m.Words)/2)
	}
	r := &TreeConnectResponse{TID: m.TID, OptionalSupport: m.word(4)}
	// The service is OEM even in a Unicode reply; the file system name is not.
	svc, next := readString(m.Raw[:m.BytesOff+len(m.Bytes)], m.BytesOff, false)
	r.Service = svc
	r.NativeFS, _ = readString(m.Raw[:m.BytesOff+len(m.Bytes)], next, m.Unicode())
	return r, nil
}

// TreeDisconnect ends the tree tid.
func (c *Client) TreeDisconnect(ctx context.Context, uid, tid uint16) error {
	m, err := c.roundTrip(ctx, &request{cmd: ComTreeDisconnect, flags2: c.flags2(), uid: uid, tid: tid})
	if err != nil {
		return fmt.Errorf("smb1: tree disconnect: %w", err)
	}
	if m.Status != ntstatus.Success {
		return statusError("tree disconnect", m.Status)
	}
	return nil
}

// Access masks and options for NTCreate.
const (
	AccessPipeReadWrite uint32 = 0x0002019F // read/write data, EAs, attributes, READ_CONTROL
	AccessReadDir       uint32 = 0x00120089 // read data/list, EAs, attributes, READ_CONTROL, SYNCHRONIZE
	fileOpen            uint32 = 1
	shareReadWrite      uint32 = 3
	impersonation       uint32 = 2
)

// CreateResponse is the part of the NT_CREATE_ANDX response we use.
type CreateResponse struct {
	FID          uint16
	FileType     uint16 // 0 disk, 2 byte-mode pipe, 3 message-mode pipe
	PipeState    uint16
	IsDirectory  bool
	EndOfFile    uint64
	CreateAction uint32
}

// NTCreate opens an existing name on tree tid (a pipe on IPC$ is
// "\srvsvc") with access; it never creates anything ([MS-CIFS] 2.2.4.64).
func (c *Client) NTCreate(ctx context.Context, uid, tid uint16, name string, access uint32) (*CreateResponse, error) {
	if !strings.HasPrefix(name, `\`) {
		name = `\` + name
	}
	w := make([]byte, 0, 48)
	w = append(w, andX...)
	w = append(w, 0)                           // Reserved
	w = binary.LittleEndian.AppendUint16(w, 0) // NameLength, set below
	w = binary.LittleEndian.AppendUint32(w, 0) // Flags
	w = binary.LittleEndian.AppendUint32(w, 0) // RootDirectoryFID
	w = binary.LittleEndian.AppendUint32(w, access)
	w = binary.LittleEndian.AppendUint64(w, 0) // AllocationSize
	w = binary.LittleEndian.AppendUint32(w, 0) // ExtFileAttributes
	w = binary.LittleEndian.AppendUint32(w, shareReadWrite)
	w = binary.LittleEndian.AppendUint32(w, fileOpen)
	w = binary.LittleEndian.AppendUint32(w, 0) // CreateOptions
	w = binary.LittleEndian.AppendUint32(w, impersonation)
	w = append(w, 0) // SecurityFlags
	req := &request{cmd: ComNTCreateAndX, flags2: c.flags2(), uid: uid, tid: tid, words: w}
	u := c.unicode()
	req.bytes = appendString(nil, req.bytesOff(), name, u)
	// NameLength counts the name without the alignment pad and terminator.
	nameLen := len(req.bytes) - 1
	if u {
		nameLen = len(req.bytes) - 2 - (req.bytesOff() % 2)
	}
	binary.LittleEndian.PutUint16(w[5:], uint16(nameLen))
	m, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("smb1: create %s: %w", name, err)
	}
	r, err := ParseCreate(m)
	if err != nil {
		return nil, fmt.Errorf("smb1: create %s: %w", name, err)
	}
	return r, nil
}

// ParseCreate decodes an NT_CREATE_ANDX response (34 words, or 42 when the
// server sends the extended form).
func ParseCreate(m *Message) (*CreateResponse, error) {
	if m.Command != ComNTCreateAndX {
		return nil, fmt.Errorf("reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success {
		return nil, m.Status
	}
	if len(m.Words) < 68 {
		return nil, fmt.Errorf("word count %d", len(m.Words)/2)
	}
	w := m.Words
	return &CreateResponse{
		FID:          binary.LittleEndian.Uint16(w[5:]),
		CreateAction: binary.LittleEndian.Uint32(w[7:]),
		EndOfFile:    binary.LittleEndian.Uint64(w[55:]),
		FileType:     binary.LittleEndian.Uint16(w[63:]),
		PipeState:    binary.LittleEndian.Uint16(w[65:]),
		IsDirectory:  w[67] != 0,
	}, nil
}

// CloseFile closes fid.
func (c *Client) CloseFile(ctx context.Context, uid, tid, fid uint16) error {
	w := binary.LittleEndian.AppendUint16(nil, fid)
	w = binary.LittleEndian.AppendUint32(w, 0xFFFFFFFF) // leave the time alone
	m, err := c.roundTrip(ctx, &request{cmd: ComClose, flags2: c.flags2(), uid: uid, tid: tid, words: w})
	if err != nil {
		return fmt.Errorf("smb1: close: %w", err)
	}
	if m.Status != ntstatus.Success {
		return statusError("close", m.Status)
	}
	return nil
}

// ErrMoreData comes with partial data from Read or TransactNmPipe when the
// pipe message is longer than asked for (STATUS_BUFFER_OVERFLOW).
var ErrMoreData = errors.New("smb1: more data in pipe message")

// Read reads up to max bytes (at most 65535) at offset 0 of fid: the next
// message of a pipe.
func (c *Client) Read(ctx context.Context, uid, tid, fid uint16, max int) ([]byte, error) {
	max = min(max, 0xFFFF, c.maxBuffer()-64)
	if max <= 0 {
		return nil, fmt.Errorf("smb1: read: no room")
	}
	w := make([]byte, 0, 24)
	w = append(w, andX...)
	w = binary.LittleEndian.AppendUint16(w, fid)
	w = binary.LittleEndian.AppendUint32(w, 0) // Offset
	w = binary.LittleEndian.AppendUint16(w, uint16(max))
	w = binary.LittleEndian.AppendUint16(w, uint16(max)) // MinCount
	w = binary.LittleEndian.AppendUint32(w, 0)           // Timeout / MaxCountHigh
	w = binary.LittleEndian.AppendUint16(w, uint16(max)) // Remaining
	w = binary.LittleEndian.AppendUint32(w, 0)           // OffsetHigh
	m, err := c.roundTrip(ctx, &request{cmd: ComReadAndX, flags2: c.flags2(), uid: uid, tid: tid, words: w})
	if err != nil {
		return nil, fmt.Errorf("smb1: read: %w", err)
	}
	data, err := ParseRead(m, max)
	if err != nil && !errors.Is(err, ErrMoreData) {
		return nil, fmt.Errorf("smb1: read: %w", err)
	}
	return data, err
}

// ParseRead decodes a READ_ANDX response; the data may not exceed max.
func ParseRead(m *Message, max int) ([]byte, error) {
	if m.Command != ComReadAndX {
		return nil, fmt.Errorf("reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success && m.Status != ntstatus.BufferOverflow {
		return nil, m.Status
	}
	if len(m.Words) < 24 {
		return nil, fmt.Errorf("word count %d", len(m.Words)/2)
	}
	n := int(m.word(10)) | int(m.word(14))<<16
	off := int(m.word(12))
	if n > max || off < headerLen || off+n > len(m.Raw) {
		return nil, ErrBadOffset
	}
	data := append([]byte(nil), m.Raw[off:off+n]...)
	if m.Status == ntstatus.BufferOverflow {
		return data, ErrMoreData
	}
	return data, nil
}

// Write writes b at offset 0 of fid as one pipe message (it must fit the
// server's buffer).
func (c *Client) Write(ctx context.Context, uid, tid, fid uint16, b []byte) (int, error) {
	if len(b) > c.maxBuffer()-80 {
		return 0, fmt.Errorf("smb1: write: %d bytes exceed the server buffer", len(b))
	}
	w := make([]byte, 0, 28)
	w = append(w, andX...)
	w = binary.LittleEndian.AppendUint16(w, fid)
	w = binary.LittleEndian.AppendUint32(w, 0)              // Offset
	w = binary.LittleEndian.AppendUint32(w, 0)              // Timeout
	w = binary.LittleEndian.AppendUint16(w, 0x0008)         // WriteMode: start of a message
	w = binary.LittleEndian.AppendUint16(w, uint16(len(b))) // Remaining
	w = binary.LittleEndian.AppendUint16(w, 0)              // DataLengthHigh
	w = binary.LittleEndian.AppendUint16(w, uint16(len(b)))
	w = binary.LittleEndian.AppendUint16(w, 0) // DataOffset, set below
	w = binary.LittleEndian.AppendUint32(w, 0) // OffsetHigh
	req := &request{cmd: ComWriteAndX, flags2: c.flags2(), uid: uid, tid: tid, words: w}
	dataOff := req.bytesOff() + 1 // one pad byte keeps the data 2-aligned
	binary.LittleEndian.PutUint16(w[22:], uint16(dataOff))
	req.bytes = append([]byte{0}, b...)
	m, err := c.roundTrip(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("smb1: write: %w", err)
	}
	if m.Command != ComWriteAndX {
		return 0, fmt.Errorf("smb1: write: reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success {
		return 0, statusError("write", m.Status)
	}
	if len(m.Words) < 8 {
		return 0, fmt.Errorf("smb1: write: word count %d", len(m.Words)/2)
	}
	n := int(m.word(4)) | int(m.word(8))<<16
	if n > len(b) {
		return 0, fmt.Errorf("smb1: write: server wrote %d of %d bytes", n, len(b))
	}
	return n, nil
}
