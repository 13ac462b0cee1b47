// Package smb2 is the SMB 2.0.2–3.1.1 client subset nullsweep needs
// ([MS-SMB2]): negotiate (with 3.1.1 contexts), session setup, tree
// connect, create, close, ioctl (pipe transceive), read, write, query
// directory, logoff. Null and guest sessions are unsigned (no key); a
// logon with credentials signs (sign.go: HMAC-SHA256, AES-CMAC, AES-GMAC).
// It never encrypts.
//
// Requests are structs with explicit encoders; responses are decoded by
// bounded parsers that take the whole message (header included, since SMB2
// offsets count from the header) and check every offset and count against
// the bytes present before they allocate.
package smb2

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Commands, [MS-SMB2] 2.2.1.
const (
	CmdNegotiate      uint16 = 0x0000
	CmdSessionSetup   uint16 = 0x0001
	CmdLogoff         uint16 = 0x0002
	CmdTreeConnect    uint16 = 0x0003
	CmdTreeDisconnect uint16 = 0x0004
	CmdCreate         uint16 = 0x0005
	CmdClose          uint16 = 0x0006
	CmdRead           uint16 = 0x0008
	CmdWrite          uint16 = 0x0009
	CmdIoctl          uint16 = 0x000B
	CmdEcho           uint16 = 0x000D
	CmdQueryDirectory uint16 = 0x000E
	CmdOplockBreak    uint16 = 0x0012
)

// Header flags.
const (
	FlagServerToRedir   uint32 = 0x00000001
	FlagAsyncCommand    uint32 = 0x00000002
	FlagRelatedOps      uint32 = 0x00000004
	FlagSigned          uint32 = 0x00000008
	FlagDFSOperations   uint32 = 0x10000000
	FlagReplayOperation uint32 = 0x20000000
)

// HeaderSize is the SMB2 header length.
const HeaderSize = 64

// Errors shared by the decoders.
var (
	ErrShort     = errors.New("smb2: message truncated")
	ErrProtocol  = errors.New("smb2: not an SMB2 message")
	ErrStructure = errors.New("smb2: bad structure size")
	ErrBounds    = errors.New("smb2: offset or length out of bounds")
)

var protocolID = [4]byte{0xFE, 'S', 'M', 'B'}

// Header is the SMB2 packet header, sync or async form ([MS-SMB2] 2.2.1).
type Header struct {
	CreditCharge uint16
	Status       uint32 // ChannelSequence/Reserved in requests
	Command      uint16
	Credits      uint16 // CreditRequest or CreditResponse
	Flags        uint32
	NextCommand  uint32
	MessageID    uint64
	AsyncID      uint64 // async form only
	TreeID       uint32 // sync form only
	SessionID    uint64
	Signature    [16]byte
}

// Append encodes h onto b.
func (h *Header) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = append(b, protocolID[:]...)
	b = le.AppendUint16(b, HeaderSize)
	b = le.AppendUint16(b, h.CreditCharge)
	b = le.AppendUint32(b, h.Status)
	b = le.AppendUint16(b, h.Command)
	b = le.AppendUint16(b, h.Credits)
	b = le.AppendUint32(b, h.Flags)
	b = le.AppendUint32(b, h.NextCommand)
	b = le.AppendUint64(b, h.MessageID)
	if h.Flags&FlagAsyncCommand != 0 {
		b = le.AppendUint64(b, h.AsyncID)
	} else {
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, h.TreeID)
	}
	b = le.AppendUint64(b, h.SessionID)
	return append(b, h.Signature[:]...)
}

// ParseHeader decodes the header at the start of msg.
func ParseHeader(msg []byte) (Header, error) {
	var h Header
	if len(msg) < 4 {
		return h, ErrShort
	}
	if [4]byte(msg[:4]) != protocolID {
		return h, fmt.Errorf("%w: protocol id % x", ErrProtocol, msg[:4])
	}
	if len(msg) < HeaderSize {
		return h, ErrShort
	}
	le := binary.LittleEndian
	if le.Uint16(msg[4:]) != HeaderSize {
		return h, fmt.Errorf("%w: header %d", ErrStructure, le.Uint16(msg[4:]))
	}
	h.CreditCharge = le.Uint16(msg[6:])
	h.Status = le.Uint32(msg[8:])
	h.Command = le.Uint16(msg[12:])
	h.Credits = le.Uint16(msg[14:])
	h.Flags = le.Uint32(msg[16:])
	h.NextCommand = le.Uint32(msg[20:])
	h.MessageID = le.Uint64(msg[24:])
	if h.Flags&FlagAsyncCommand != 0 {
		h.AsyncID = le.Uint64(msg[32:])
	} else {
		h.TreeID = le.Uint32(msg[36:])
	}
	h.SessionID = le.Uint64(msg[40:])
	copy(h.Signature[:], msg[48:64])
	return h, nil
}

// body returns the response body after checking its StructureSize.
// [MS-SMB2] sizes with a variable buffer are odd (size = fixed + 1), and
// the fixed part must be present; the buffer byte may be absent.
func body(msg []byte, size uint16) ([]byte, error) {
	if len(msg) < HeaderSize+2 {
		return nil, ErrShort
	}
	b := msg[HeaderSize:]
	if got := binary.LittleEndian.Uint16(b); got != size {
		return nil, fmt.Errorf("%w: %d, want %d", ErrStructure, got, size)
	}
	if len(b) < int(size&^1) {
		return nil, ErrShort
	}
	return b, nil
}

// slice returns msg[off:off+n] when it lies inside msg, for offsets that
// count from the start of the header.
func slice(msg []byte, off, n uint32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if uint64(off)+uint64(n) > uint64(len(msg)) || off < HeaderSize {
		return nil, fmt.Errorf("%w: %d+%d of %d", ErrBounds, off, n, len(msg))
	}
	return msg[off : off+n], nil
}

// ErrorResponse is the SMB2 ERROR body ([MS-SMB2] 2.2.2).
type ErrorResponse struct {
	ContextCount uint8
	Data         []byte
}

// ParseErrorResponse decodes an error body. Servers vary in what they
// put there; only the bounds are checked.
func ParseErrorResponse(msg []byte) (*ErrorResponse, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return nil, fmt.Errorf("%w: error data %d of %d", ErrBounds, n, len(b)-8)
	}
	return &ErrorResponse{ContextCount: b[2], Data: b[8 : 8+n]}, nil
}
