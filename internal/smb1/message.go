// Package smb1 is the NT LM 0.12 client subset ([MS-CIFS], [MS-SMB]) a
// null-session audit needs: negotiate, session setup in both null forms,
// tree connect, NT create on a pipe, transactions (TransactNmPipe and RAP on
// \PIPE\LANMAN), read/write, close, logoff and a read-only directory listing.
//
// Encoders write fixed offsets; decoders work on a received message and check
// every count and offset against the bytes that are really there.
package smb1

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"

	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Commands used here ([MS-CIFS] 2.2.2.1).
const (
	ComClose          byte = 0x04
	ComTransaction    byte = 0x25
	ComReadAndX       byte = 0x2E
	ComWriteAndX      byte = 0x2F
	ComTransaction2   byte = 0x32
	ComFindClose2     byte = 0x34
	ComTreeDisconnect byte = 0x71
	ComNegotiate      byte = 0x72
	ComSessionSetup   byte = 0x73
	ComLogoffAndX     byte = 0x74
	ComTreeConnect    byte = 0x75
	ComNTCreateAndX   byte = 0xA2
)

// Header flags.
const (
	flagsReply        byte   = 0x80
	flagsCaseless     byte   = 0x08
	flagsCanonical    byte   = 0x10
	Flags2LongNames   uint16 = 0x0001
	Flags2SecuritySig uint16 = 0x0004
	Flags2IsLongName  uint16 = 0x0040
	Flags2ExtendedSec uint16 = 0x0800
	Flags2NTStatus    uint16 = 0x4000
	Flags2Unicode     uint16 = 0x8000
	headerLen                = 32
	minMessage               = headerLen + 1 + 2 // header, WordCount, ByteCount
	maxStringUnits           = 4096              // longest string we decode, in characters
	defaultFlags2            = Flags2Unicode | Flags2NTStatus | Flags2LongNames | Flags2IsLongName
)

// Capabilities ([MS-CIFS] 2.2.4.52.2, [MS-SMB] 2.2.4.5.2).
const (
	CapRawMode          uint32 = 0x00000001
	CapMpxMode          uint32 = 0x00000002
	CapUnicode          uint32 = 0x00000004
	CapLargeFiles       uint32 = 0x00000008
	CapNTSMBs           uint32 = 0x00000010
	CapRPCRemoteAPIs    uint32 = 0x00000020
	CapStatus32         uint32 = 0x00000040
	CapLevel2Oplocks    uint32 = 0x00000080
	CapNTFind           uint32 = 0x00000200
	CapDFS              uint32 = 0x00001000
	CapLargeReadX       uint32 = 0x00004000
	CapLargeWriteX      uint32 = 0x00008000
	CapUnix             uint32 = 0x00800000
	CapExtendedSecurity uint32 = 0x80000000

	clientCaps = CapUnicode | CapNTSMBs | CapStatus32 | CapNTFind | CapLargeReadX | CapLargeWriteX
)

// Sentinel decode errors.
var (
	ErrShort     = errors.New("smb1: message truncated")
	ErrNotSMB1   = errors.New("smb1: not an SMB1 message")
	ErrBadOffset = errors.New("smb1: offset or count outside the message")
)

// Message is a decoded SMB1 message: the header fields, the parameter
// words and the data bytes. Words and Bytes alias Raw.
type Message struct {
	Command  byte
	Status   ntstatus.Status
	Flags    byte
	Flags2   uint16
	PIDHigh  uint16
	TID      uint16
	PID      uint16
	UID      uint16
	MID      uint16
	Words    []byte
	Bytes    []byte
	BytesOff int // offset of Bytes in Raw, for alignment of Unicode strings
	Raw      []byte
}

// ParseMessage checks the header and that WordCount and ByteCount fit.
// An NT status is taken as is; a DOS error class/code pair becomes
// code<<16 | class, the encoding ntstatus uses for DOS errors.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 'S' || b[2] != 'M' || b[3] != 'B' {
		return nil, ErrNotSMB1
	}
	if len(b) < minMessage {
		return nil, ErrShort
	}
	m := &Message{
		Command: b[4],
		Flags:   b[9],
		Flags2:  binary.LittleEndian.Uint16(b[10:]),
		PIDHigh: binary.LittleEndian.Uint16(b[12:]),
		TID:     binary.LittleEndian.Uint16(b[24:]),
		PID:     binary.LittleEndian.Uint16(b[26:]),
		UID:     binary.LittleEndian.Uint16(b[28:]),
		MID:     binary.LittleEndian.Uint16(b[30:]),
		Raw:     b,
	}
	if m.Flags2&Flags2NTStatus != 0 {
		m.Status = ntstatus.Status(binary.LittleEndian.Uint32(b[5:]))
	} else if class := b[5]; class != 0 {
		m.Status = ntstatus.Status(uint32(binary.LittleEndian.Uint16(b[7:]))<<16 | uint32(class))
	}
	wc := int(b[headerLen])
	off := headerLen + 1
	if off+2*wc+2 > len(b) {
		return nil, ErrShort
	}
	m.Words = b[off : off+2*wc]
	off += 2 * wc
	bc := int(binary.LittleEndian.Uint16(b[off:]))
	off += 2
	if off+bc > len(b) {
		return nil, ErrShort
	}
	m.Bytes = b[off : off+bc]
	m.BytesOff = off
	return m, nil
}

// Unicode reports whether strings in the message are UTF-16LE.
func (m *Message) Unicode() bool { return m.Flags2&Flags2Unicode != 0 }

func (m *Message) word(off int) uint16 {
	if off+2 > len(m.Words) {
		return 0
	}
	return binary.LittleEndian.Uint16(m.Words[off:])
}

func (m *Message) dword(off int) uint32 {
	if off+4 > len(m.Words) {
		return 0
	}
	return binary.LittleEndian.Uint32(m.Words[off:])
}

// strings reads consecutive NUL-terminated strings from Bytes starting at
// rel. Unicode strings are aligned to 2 relative to the header start. A
// missing terminator at the end of the message ends the string (Windows
// omits the last one at times); a missing string is "".
func (m *Message) strings(rel int, n int) []string {
	return m.stringsAt(rel, n, true)
}

// stringsAt is strings with the alignment optional: the NEGOTIATE response
// packs its Unicode names right after the challenge, unaligned.
func (m *Message) stringsAt(rel int, n int, align bool) []string {
	out := make([]string, n)
	off := m.BytesOff + rel
	end := m.BytesOff + len(m.Bytes)
	for i := 0; i < n && off < end; i++ {
		var s string
		s, off = readStringAlign(m.Raw[:end], off, m.Unicode(), align)
		out[i] = s
	}
	return out
}

// readString reads a NUL-terminated string at off in b, OEM (CP850) or
// UTF-16LE (aligned to 2 within b), and returns the offset after it.
func readString(b []byte, off int, unicode bool) (string, int) {
	return readStringAlign(b, off, unicode, true)
}

func readStringAlign(b []byte, off int, unicode, align bool) (string, int) {
	if off >= len(b) {
		return "", len(b)
	}
	if !unicode {
		i := off
		for i < len(b) && b[i] != 0 && i-off < maxStringUnits {
			i++
		}
		s := OEMString(b[off:i])
		if i < len(b) && b[i] == 0 {
			i++
		}
		return s, i
	}
	if align && off%2 == 1 {
		off++
	}
	var u []uint16
	i := off
	for i+1 < len(b) && len(u) < maxStringUnits {
		c := binary.LittleEndian.Uint16(b[i:])
		i += 2
		if c == 0 {
			return string(utf16.Decode(u)), i
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), min(i, len(b))
}

// OEMString decodes bytes in the OEM code page (CP850, Samba's default
// "dos charset").
// It is decoded byte by byte: a transform.Transformer per name allocated
// more than the name itself.
func OEMString(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(charmap.CodePage850.DecodeByte(c))
		}
	}
	return sb.String()
}

// UTF16String decodes UTF-16LE bytes, stopping at a NUL; an odd last byte
// is dropped.
// The NUL is found before anything is allocated, and no []rune is built:
// the string holds at most 1.5 bytes per byte decoded.
func UTF16String(b []byte) string {
	n := 0
	for n+1 < len(b) && (b[n] != 0 || b[n+1] != 0) {
		n += 2
	}
	return ndr.DecodeUTF16(b[:n])
}

// request is an SMB1 message to send.
type request struct {
	cmd    byte
	flags2 uint16
	tid    uint16
	uid    uint16
	words  []byte
	bytes  []byte
}

// bytesOff is where the data bytes start, counted from the header start.
func (r *request) bytesOff() int { return headerLen + 1 + len(r.words) + 2 }

func (r *request) encode(pid, mid uint16) []byte {
	b := make([]byte, headerLen, r.bytesOff()+len(r.bytes))
	copy(b, "\xffSMB")
	b[4] = r.cmd
	b[9] = flagsCaseless | flagsCanonical
	binary.LittleEndian.PutUint16(b[10:], r.flags2)
	binary.LittleEndian.PutUint16(b[24:], r.tid)
	binary.LittleEndian.PutUint16(b[26:], pid)
	binary.LittleEndian.PutUint16(b[28:], r.uid)
	binary.LittleEndian.PutUint16(b[30:], mid)
	b = append(b, byte(len(r.words)/2))
	b = append(b, r.words...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.bytes)))
	return append(b, r.bytes...)
}

// appendString appends s NUL-terminated, as UTF-16LE aligned to 2 relative
// to the header (base is the offset of b[0] in the message) or as OEM.
func appendString(b []byte, base int, s string, unicode bool) []byte {
	if !unicode {
		e, err := charmap.CodePage850.NewEncoder().String(s)
		if err != nil {
			e = s
		}
		b = append(b, e...)
		return append(b, 0)
	}
	if (base+len(b))%2 == 1 {
		b = append(b, 0)
	}
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// andX is the AndX block of a request that chains nothing.
var andX = []byte{0xFF, 0, 0, 0}

// statusError wraps a non-success status with the operation.
func statusError(op string, s ntstatus.Status) error {
	return fmt.Errorf("smb1: %s: %w", op, s)
}
