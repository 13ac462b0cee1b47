package smb1

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Security mode bits of the NEGOTIATE response.
const (
	SecModeUser            byte = 0x01
	SecModeEncryptPassword byte = 0x02
	SecModeSignEnabled     byte = 0x04
	SecModeSignRequired    byte = 0x08
)

// Dialect is the only dialect we offer.
const Dialect = "NT LM 0.12"

// NegotiateResponse is the NT LM 0.12 NEGOTIATE response ([MS-CIFS]
// 2.2.4.52.2, [MS-SMB] 2.2.4.5.2).
type NegotiateResponse struct {
	DialectIndex  uint16
	SecurityMode  byte
	MaxMpxCount   uint16
	MaxVCs        uint16
	MaxBufferSize uint32
	MaxRawSize    uint32
	SessionKey    uint32
	Capabilities  uint32
	SystemTime    time.Time
	TimeZone      int16 // minutes from UTC, as sent
	// Non-extended security: the 8-byte challenge and the names.
	Challenge  []byte
	DomainName string
	ServerName string
	// Extended security.
	ExtendedSecurity bool
	ServerGUID       [16]byte
	SecurityBlob     []byte
}

// ErrNoDialect means the server accepts none of our dialects (it speaks
// SMB2+ only, or NT LM 0.12 is disabled).
var ErrNoDialect = errors.New("smb1: server selected no dialect")

// Negotiate offers NT LM 0.12. extendedSecurity asks for NTLMSSP logons;
// without it the server answers with a challenge for the non-extended
// (empty password) logon.
func (c *Client) Negotiate(ctx context.Context, extendedSecurity bool) (*NegotiateResponse, error) {
	req := &request{cmd: ComNegotiate, flags2: defaultFlags2}
	if extendedSecurity {
		req.flags2 |= Flags2ExtendedSec
	}
	req.bytes = append([]byte{0x02}, Dialect+"\x00"...)
	m, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("smb1: negotiate: %w", err)
	}
	nr, err := ParseNegotiate(m)
	if err != nil {
		return nil, err
	}
	c.neg = nr
	return nr, nil
}

// ParseNegotiate decodes a NEGOTIATE response.
func ParseNegotiate(m *Message) (*NegotiateResponse, error) {
	if m.Command != ComNegotiate {
		return nil, fmt.Errorf("smb1: negotiate: reply command 0x%02x", m.Command)
	}
	if m.Status != ntstatus.Success {
		return nil, statusError("negotiate", m.Status)
	}
	if len(m.Words) >= 2 && m.word(0) == 0xFFFF {
		return nil, ErrNoDialect
	}
	if len(m.Words) != 34 {
		return nil, fmt.Errorf("smb1: negotiate: word count %d, want 17", len(m.Words)/2)
	}
	w := m.Words
	nr := &NegotiateResponse{
		DialectIndex:  m.word(0),
		SecurityMode:  w[2],
		MaxMpxCount:   binary.LittleEndian.Uint16(w[3:]),
		MaxVCs:        binary.LittleEndian.Uint16(w[5:]),
		MaxBufferSize: binary.LittleEndian.Uint32(w[7:]),
		MaxRawSize:    binary.LittleEndian.Uint32(w[11:]),
		SessionKey:    binary.LittleEndian.Uint32(w[15:]),
		Capabilities:  binary.LittleEndian.Uint32(w[19:]),
		SystemTime:    fileTime(binary.LittleEndian.Uint64(w[23:])),
		TimeZone:      int16(binary.LittleEndian.Uint16(w[31:])),
	}
	if nr.DialectIndex != 0 {
		return nil, fmt.Errorf("smb1: negotiate: dialect index %d, we offered one", nr.DialectIndex)
	}
	chLen := int(w[33])
	if nr.Capabilities&CapExtendedSecurity != 0 {
		nr.ExtendedSecurity = true
		if len(m.Bytes) < 16 {
			return nil, fmt.Errorf("smb1: negotiate: server GUID: %w", ErrShort)
		}
		copy(nr.ServerGUID[:], m.Bytes)
		nr.SecurityBlob = append([]byte(nil), m.Bytes[16:]...)
		return nr, nil
	}
	if chLen > len(m.Bytes) {
		return nil, fmt.Errorf("smb1: negotiate: challenge: %w", ErrShort)
	}
	nr.Challenge = append([]byte(nil), m.Bytes[:chLen]...)
	s := m.stringsAt(chLen, 2, false)
	nr.DomainName, nr.ServerName = s[0], s[1]
	return nr, nil
}

// fileTime converts a FILETIME (100 ns since 1601); 0 is the zero Time.
func fileTime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// SigningEnabled and SigningRequired read the security mode.
func (n *NegotiateResponse) SigningEnabled() bool  { return n.SecurityMode&SecModeSignEnabled != 0 }
func (n *NegotiateResponse) SigningRequired() bool { return n.SecurityMode&SecModeSignRequired != 0 }
