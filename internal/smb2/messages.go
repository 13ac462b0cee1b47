package smb2

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

var le = binary.LittleEndian

// SessionFlags from the SESSION_SETUP response.
const (
	SessionFlagIsGuest     uint16 = 0x0001
	SessionFlagIsNull      uint16 = 0x0002
	SessionFlagEncryptData uint16 = 0x0004
)

// SessionSetupRequest is [MS-SMB2] 2.2.5.
type SessionSetupRequest struct {
	SecurityMode   uint8
	Capabilities   uint32
	SecurityBuffer []byte
}

// Encode returns the request body.
func (r *SessionSetupRequest) Encode() []byte {
	b := make([]byte, 24, 24+len(r.SecurityBuffer))
	le.PutUint16(b, 25)
	b[2] = 0 // Flags: not a binding
	b[3] = r.SecurityMode
	le.PutUint32(b[4:], r.Capabilities)
	le.PutUint16(b[12:], HeaderSize+24)
	le.PutUint16(b[14:], uint16(len(r.SecurityBuffer)))
	return append(b, r.SecurityBuffer...)
}

// SessionSetupResponse is [MS-SMB2] 2.2.6.
type SessionSetupResponse struct {
	SessionFlags   uint16
	SecurityBuffer []byte
}

// ParseSessionSetupResponse decodes a SESSION_SETUP response message.
func ParseSessionSetupResponse(msg []byte) (*SessionSetupResponse, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, fmt.Errorf("smb2: session setup response: %w", err)
	}
	sec, err := slice(msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])))
	if err != nil {
		return nil, fmt.Errorf("smb2: session setup security buffer: %w", err)
	}
	return &SessionSetupResponse{SessionFlags: le.Uint16(b[2:]), SecurityBuffer: sec}, nil
}

// simple4 is the body of LOGOFF, TREE_DISCONNECT requests and responses.
func simple4() []byte { return []byte{4, 0, 0, 0} }

// EncodeLogoff returns a LOGOFF request body ([MS-SMB2] 2.2.7).
func EncodeLogoff() []byte { return simple4() }

// EncodeTreeDisconnect returns a TREE_DISCONNECT request body ([MS-SMB2] 2.2.11).
func EncodeTreeDisconnect() []byte { return simple4() }

// EncodeTreeConnect returns a TREE_CONNECT request body for path
// ("\\host\share"), [MS-SMB2] 2.2.9.
func EncodeTreeConnect(path string) []byte {
	p := utf16le(path)
	b := make([]byte, 8, 8+len(p))
	le.PutUint16(b, 9)
	le.PutUint16(b[4:], HeaderSize+8)
	le.PutUint16(b[6:], uint16(len(p)))
	return append(b, p...)
}

// Share types.
const (
	ShareTypeDisk  uint8 = 1
	ShareTypePipe  uint8 = 2
	ShareTypePrint uint8 = 3
)

// TreeConnectResponse is [MS-SMB2] 2.2.10.
type TreeConnectResponse struct {
	ShareType     uint8
	ShareFlags    uint32
	Capabilities  uint32
	MaximalAccess uint32
}

// ParseTreeConnectResponse decodes a TREE_CONNECT response message.
func ParseTreeConnectResponse(msg []byte) (*TreeConnectResponse, error) {
	b, err := body(msg, 16)
	if err != nil {
		return nil, fmt.Errorf("smb2: tree connect response: %w", err)
	}
	return &TreeConnectResponse{
		ShareType:     b[2],
		ShareFlags:    le.Uint32(b[4:]),
		Capabilities:  le.Uint32(b[8:]),
		MaximalAccess: le.Uint32(b[12:]),
	}, nil
}

// FileID is an open's persistent and volatile handle.
type FileID [16]byte

// Access masks and create parameters used here.
const (
	FileReadData         uint32 = 0x00000001 // FILE_LIST_DIRECTORY on a directory
	FileWriteData        uint32 = 0x00000002
	FileAppendData       uint32 = 0x00000004
	FileReadEA           uint32 = 0x00000008
	FileWriteEA          uint32 = 0x00000010
	FileReadAttributes   uint32 = 0x00000080
	FileWriteAttributes  uint32 = 0x00000100
	ReadControl          uint32 = 0x00020000
	Synchronize          uint32 = 0x00100000
	FileShareRead        uint32 = 0x00000001
	FileShareWrite       uint32 = 0x00000002
	FileShareDelete      uint32 = 0x00000004
	FileOpen             uint32 = 0x00000001
	FileDirectoryFile    uint32 = 0x00000001
	FileNonDirectoryFile uint32 = 0x00000040
	ImpersonationLevel   uint32 = 0x00000002 // Impersonation
)

// CreateRequest is [MS-SMB2] 2.2.13 without create contexts.
type CreateRequest struct {
	DesiredAccess     uint32
	FileAttributes    uint32
	ShareAccess       uint32
	CreateDisposition uint32
	CreateOptions     uint32
	Name              string // relative to the share, no leading backslash
}

// Encode returns the request body.
func (r *CreateRequest) Encode() []byte {
	n := utf16le(r.Name)
	b := make([]byte, 56, 56+len(n)+1)
	le.PutUint16(b, 57)
	le.PutUint32(b[4:], ImpersonationLevel)
	le.PutUint32(b[24:], r.DesiredAccess)
	le.PutUint32(b[28:], r.FileAttributes)
	le.PutUint32(b[32:], r.ShareAccess)
	le.PutUint32(b[36:], r.CreateDisposition)
	le.PutUint32(b[40:], r.CreateOptions)
	le.PutUint16(b[44:], HeaderSize+56)
	le.PutUint16(b[46:], uint16(len(n)))
	b = append(b, n...)
	if len(n) == 0 {
		b = append(b, 0) // the buffer is at least one byte
	}
	return b
}

// CreateResponse is [MS-SMB2] 2.2.14 (create contexts are not kept).
type CreateResponse struct {
	OplockLevel    uint8
	CreateAction   uint32
	EndOfFile      uint64
	FileAttributes uint32
	FileID         FileID
}

// ParseCreateResponse decodes a CREATE response message.
func ParseCreateResponse(msg []byte) (*CreateResponse, error) {
	b, err := body(msg, 89)
	if err != nil {
		return nil, fmt.Errorf("smb2: create response: %w", err)
	}
	r := &CreateResponse{
		OplockLevel:    b[2],
		CreateAction:   le.Uint32(b[4:]),
		EndOfFile:      le.Uint64(b[48:]),
		FileAttributes: le.Uint32(b[56:]),
	}
	copy(r.FileID[:], b[64:80])
	if _, err := slice(msg, le.Uint32(b[80:]), le.Uint32(b[84:])); err != nil {
		return nil, fmt.Errorf("smb2: create contexts: %w", err)
	}
	return r, nil
}

// EncodeClose returns a CLOSE request body ([MS-SMB2] 2.2.15).
func EncodeClose(id FileID) []byte {
	b := make([]byte, 24)
	le.PutUint16(b, 24)
	copy(b[8:], id[:])
	return b
}

// IOCTL control codes.
const (
	FsctlPipeTransceive uint32 = 0x0011C017
	FsctlPipeWait       uint32 = 0x00110018
	IoctlIsFsctl        uint32 = 0x00000001
)

// IoctlRequest is [MS-SMB2] 2.2.31.
type IoctlRequest struct {
	CtlCode           uint32
	FileID            FileID
	Input             []byte
	MaxOutputResponse uint32
	Flags             uint32
}

// Encode returns the request body.
func (r *IoctlRequest) Encode() []byte {
	b := make([]byte, 56, 56+len(r.Input))
	le.PutUint16(b, 57)
	le.PutUint32(b[4:], r.CtlCode)
	copy(b[8:], r.FileID[:])
	if len(r.Input) > 0 {
		le.PutUint32(b[24:], HeaderSize+56)
	}
	le.PutUint32(b[28:], uint32(len(r.Input)))
	le.PutUint32(b[44:], r.MaxOutputResponse)
	le.PutUint32(b[48:], r.Flags)
	if len(r.Input) == 0 {
		return append(b, 0)
	}
	return append(b, r.Input...)
}

// IoctlResponse is [MS-SMB2] 2.2.32.
type IoctlResponse struct {
	CtlCode uint32
	FileID  FileID
	Output  []byte
}

// ParseIoctlResponse decodes an IOCTL response message.
func ParseIoctlResponse(msg []byte) (*IoctlResponse, error) {
	b, err := body(msg, 49)
	if err != nil {
		return nil, fmt.Errorf("smb2: ioctl response: %w", err)
	}
	r := &IoctlResponse{CtlCode: le.Uint32(b[4:])}
	copy(r.FileID[:], b[8:24])
	out, err := slice(msg, le.Uint32(b[32:]), le.Uint32(b[36:]))
	if err != nil {
		return nil, fmt.Errorf("smb2: ioctl output: %w", err)
	}
	r.Output = out
	return r, nil
}

// ReadRequest is [MS-SMB2] 2.2.19.
type ReadRequest struct {
	Length uint32
	Offset uint64
	FileID FileID
}

// Encode returns the request body.
func (r *ReadRequest) Encode() []byte {
	b := make([]byte, 49)
	le.PutUint16(b, 49)
	b[2] = 0x50 // Padding: where we would like the data
	le.PutUint32(b[4:], r.Length)
	le.PutUint64(b[8:], r.Offset)
	copy(b[16:], r.FileID[:])
	return b
}

// ReadResponse is [MS-SMB2] 2.2.20.
type ReadResponse struct {
	Data      []byte
	Remaining uint32
}

// ParseReadResponse decodes a READ response message.
func ParseReadResponse(msg []byte) (*ReadResponse, error) {
	b, err := body(msg, 17)
	if err != nil {
		return nil, fmt.Errorf("smb2: read response: %w", err)
	}
	data, err := slice(msg, uint32(b[2]), le.Uint32(b[4:]))
	if err != nil {
		return nil, fmt.Errorf("smb2: read data: %w", err)
	}
	return &ReadResponse{Data: data, Remaining: le.Uint32(b[8:])}, nil
}

// WriteRequest is [MS-SMB2] 2.2.21.
type WriteRequest struct {
	Offset uint64
	FileID FileID
	Data   []byte
}

// Encode returns the request body.
func (r *WriteRequest) Encode() []byte {
	b := make([]byte, 48, 48+len(r.Data)+1)
	le.PutUint16(b, 49)
	le.PutUint16(b[2:], HeaderSize+48)
	le.PutUint32(b[4:], uint32(len(r.Data)))
	le.PutUint64(b[8:], r.Offset)
	copy(b[16:], r.FileID[:])
	b = append(b, r.Data...)
	if len(r.Data) == 0 {
		b = append(b, 0)
	}
	return b
}

// ParseWriteResponse decodes a WRITE response message and returns Count.
func ParseWriteResponse(msg []byte) (uint32, error) {
	b, err := body(msg, 17)
	if err != nil {
		return 0, fmt.Errorf("smb2: write response: %w", err)
	}
	return le.Uint32(b[4:]), nil
}

// Query directory parameters.
const (
	FileDirectoryInformation uint8 = 0x01
	QueryRestartScans        uint8 = 0x01
	QueryReturnSingleEntry   uint8 = 0x02
	QueryReopen              uint8 = 0x10
)

// QueryDirectoryRequest is [MS-SMB2] 2.2.33.
type QueryDirectoryRequest struct {
	InfoClass    uint8
	Flags        uint8
	FileID       FileID
	Pattern      string
	OutputLength uint32
}

// Encode returns the request body.
func (r *QueryDirectoryRequest) Encode() []byte {
	p := utf16le(r.Pattern)
	b := make([]byte, 32, 32+len(p)+1)
	le.PutUint16(b, 33)
	b[2] = r.InfoClass
	b[3] = r.Flags
	copy(b[8:], r.FileID[:])
	le.PutUint16(b[24:], HeaderSize+32)
	le.PutUint16(b[26:], uint16(len(p)))
	le.PutUint32(b[28:], r.OutputLength)
	b = append(b, p...)
	if len(p) == 0 {
		b = append(b, 0)
	}
	return b
}

// DirEntry is one FILE_DIRECTORY_INFORMATION entry ([MS-FSCC] 2.4.10).
type DirEntry struct {
	Name       string
	Attributes uint32
	EndOfFile  int64
}

// FileAttributeDirectory marks a directory.
const FileAttributeDirectory uint32 = 0x10

// ParseQueryDirectoryResponse decodes a QUERY_DIRECTORY response message
// holding FileDirectoryInformation entries. The buffer may be no longer
// than the OutputBufferLength we ask for, MaxPayload ([MS-SMB2] 3.3.5.18:
// the server MUST NOT return more than that).
func ParseQueryDirectoryResponse(msg []byte) ([]DirEntry, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, fmt.Errorf("smb2: query directory response: %w", err)
	}
	if n := le.Uint32(b[4:]); n > MaxPayload {
		return nil, fmt.Errorf("smb2: query directory buffer of %d bytes, %d asked: %w", n, MaxPayload, ErrBounds)
	}
	buf, err := slice(msg, uint32(le.Uint16(b[2:])), le.Uint32(b[4:]))
	if err != nil {
		return nil, fmt.Errorf("smb2: query directory buffer: %w", err)
	}
	return ParseDirectoryInformation(buf)
}

// ParseDirectoryInformation walks a chain of FILE_DIRECTORY_INFORMATION
// entries ([MS-FSCC] 2.4.10). Each entry is at least 64 bytes and its name
// ends where the next entry begins, so entries never share bytes and what
// is decoded is bounded by the buffer; a NextEntryOffset that does not move
// forward ends the walk with an error. Lengths stay uint32 until checked
// (an int conversion would wrap on 32-bit builds).
func ParseDirectoryInformation(buf []byte) ([]DirEntry, error) {
	var out []DirEntry
	off := 0
	for off < len(buf) {
		e := buf[off:]
		if len(e) < 64 {
			return out, fmt.Errorf("smb2: directory entry at %d: %w", off, ErrShort)
		}
		next := le.Uint32(e)
		end := uint32(len(e))
		if next != 0 {
			if next < 64 || next > end {
				return out, fmt.Errorf("smb2: directory next entry %d: %w", next, ErrBounds)
			}
			end = next
		}
		n := le.Uint32(e[60:])
		if n > end-64 {
			return out, fmt.Errorf("smb2: directory entry name of %d bytes in an entry of %d: %w", n, end, ErrBounds)
		}
		out = append(out, DirEntry{
			Name:       utf16String(e[64 : 64+n]),
			Attributes: le.Uint32(e[56:]),
			EndOfFile:  int64(le.Uint64(e[40:])),
		})
		if next == 0 {
			break
		}
		off += int(next)
	}
	return out, nil
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		le.PutUint16(b[2*i:], v)
	}
	return b
}

// utf16String decodes UTF-16LE without an intermediate []rune; the string
// is at most 1.5 times the bytes (3 UTF-8 bytes per 2-byte unit).
func utf16String(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) / 2)
	for i := 0; i+1 < len(b); i += 2 {
		r := rune(le.Uint16(b[i:]))
		if utf16.IsSurrogate(r) && i+3 < len(b) {
			if d := utf16.DecodeRune(r, rune(le.Uint16(b[i+2:]))); d != utf8.RuneError {
				sb.WriteRune(d)
				i += 2
				continue
			}
		}
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
