// Package ntlmssp is the client half of NTLM authentication ([MS-NLMP]):
// NEGOTIATE, CHALLENGE parsing (target info, version) and AUTHENTICATE in
// two forms only: anonymous (the null session) and NTLMv2 (the guest probe,
// or credentials the user gave). An NTLMv2 logon with credentials derives
// the session key SMB signing needs; nullsweep never seals.
package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
)

// Negotiate flags, named as in [MS-NLMP] 2.2.2.5.
const (
	NegotiateUnicode                 uint32 = 0x00000001
	NegotiateOEM                     uint32 = 0x00000002
	RequestTarget                    uint32 = 0x00000004
	NegotiateSign                    uint32 = 0x00000010
	NegotiateSeal                    uint32 = 0x00000020
	NegotiateDatagram                uint32 = 0x00000040
	NegotiateLMKey                   uint32 = 0x00000080
	NegotiateNTLM                    uint32 = 0x00000200
	NegotiateAnonymous               uint32 = 0x00000800
	NegotiateOEMDomainSupplied       uint32 = 0x00001000
	NegotiateOEMWorkstationSupplied  uint32 = 0x00002000
	NegotiateAlwaysSign              uint32 = 0x00008000
	TargetTypeDomain                 uint32 = 0x00010000
	TargetTypeServer                 uint32 = 0x00020000
	NegotiateExtendedSessionSecurity uint32 = 0x00080000
	NegotiateIdentify                uint32 = 0x00100000
	RequestNonNTSessionKey           uint32 = 0x00400000
	NegotiateTargetInfo              uint32 = 0x00800000
	NegotiateVersion                 uint32 = 0x02000000
	Negotiate128                     uint32 = 0x20000000
	NegotiateKeyExch                 uint32 = 0x40000000
	Negotiate56                      uint32 = 0x80000000
)

// AV pair IDs of the CHALLENGE target info, [MS-NLMP] 2.2.2.1.
const (
	MsvAvEOL             uint16 = 0
	MsvAvNbComputerName  uint16 = 1
	MsvAvNbDomainName    uint16 = 2
	MsvAvDNSComputerName uint16 = 3
	MsvAvDNSDomainName   uint16 = 4
	MsvAvDNSTreeName     uint16 = 5
	MsvAvFlags           uint16 = 6
	MsvAvTimestamp       uint16 = 7
	MsvAvSingleHost      uint16 = 8
	MsvAvTargetName      uint16 = 9
	MsvAvChannelBindings uint16 = 10
)

// Message types.
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

var signature = []byte("NTLMSSP\x00")

// Errors from Parse.
var (
	ErrShort     = errors.New("ntlmssp: message truncated")
	ErrSignature = errors.New("ntlmssp: not an NTLMSSP message")
	ErrType      = errors.New("ntlmssp: unexpected message type")
)

// clientFlags are offered in NEGOTIATE of a null session or the guest
// probe. No SIGN/SEAL/KEY_EXCH: there is no key to sign with.
const clientFlags = NegotiateUnicode | NegotiateOEM | RequestTarget | NegotiateNTLM |
	NegotiateAlwaysSign | NegotiateExtendedSessionSecurity | NegotiateTargetInfo |
	NegotiateVersion | Negotiate128 | Negotiate56

// authFlags are offered when the user gave credentials: SIGN and KEY_EXCH
// too, so that the session key is a fresh random one ([MS-NLMP] 3.1.5.1.2)
// and SMB signing can use it.
const authFlags = clientFlags | NegotiateSign | NegotiateKeyExch

// clientVersion is the VERSION we announce (6.1.7601, NTLMSSP revision 15),
// a common Windows value; the server only logs it.
var clientVersion = [8]byte{6, 1, 0xb1, 0x1d, 0, 0, 0, 15}

// Negotiate returns a NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1) with no domain or
// workstation supplied.
func Negotiate() []byte { return negotiate(clientFlags) }

// NegotiateAuth is the NEGOTIATE_MESSAGE of a logon with credentials: it
// also offers SIGN and KEY_EXCH (authFlags).
func NegotiateAuth() []byte { return negotiate(authFlags) }

func negotiate(flags uint32) []byte {
	b := make([]byte, 0, 40)
	b = append(b, signature...)
	b = binary.LittleEndian.AppendUint32(b, typeNegotiate)
	b = binary.LittleEndian.AppendUint32(b, flags)
	// DomainNameFields and WorkstationFields: empty, offset at the end.
	b = appendField(b, 0, 40)
	b = appendField(b, 0, 40)
	b = append(b, clientVersion[:]...)
	return b
}

func appendField(b []byte, n, off int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}

// AVPair is one raw entry of the CHALLENGE target info.
type AVPair struct {
	ID    uint16
	Value []byte
}

// Challenge is a parsed CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2).
type Challenge struct {
	Flags           uint32
	ServerChallenge [8]byte
	TargetName      string
	TargetInfo      []byte // raw, echoed in the NTLMv2 response
	Pairs           []AVPair

	NetBIOSComputer string
	NetBIOSDomain   string
	DNSComputer     string
	DNSDomain       string
	DNSTree         string
	AvTargetName    string
	Timestamp       time.Time // zero when the server sent no MsvAvTimestamp
	HasTimestamp    bool
	RawTimestamp    uint64

	HasVersion bool
	Major      uint8
	Minor      uint8
	Build      uint16
	Revision   uint8
}

// Version formats the server's VERSION as "major.minor.build", or "" when absent.
func (c *Challenge) Version() string {
	if !c.HasVersion {
		return ""
	}
	return strconv.Itoa(int(c.Major)) + "." + strconv.Itoa(int(c.Minor)) + "." + strconv.Itoa(int(c.Build))
}

// maxPairs bounds the AV pairs kept; a legitimate target info has about ten.
const maxPairs = 64

// ParseChallenge decodes a CHALLENGE_MESSAGE. Every offset and length is
// checked against the message; nothing is allocated beyond its size.
func ParseChallenge(b []byte) (*Challenge, error) {
	if len(b) < 32 {
		return nil, ErrShort
	}
	if !bytes.Equal(b[:8], signature) {
		return nil, ErrSignature
	}
	if t := binary.LittleEndian.Uint32(b[8:]); t != typeChallenge {
		return nil, fmt.Errorf("%w: %d", ErrType, t)
	}
	c := &Challenge{Flags: binary.LittleEndian.Uint32(b[20:])}
	copy(c.ServerChallenge[:], b[24:32])
	name, err := field(b, 12)
	if err != nil {
		return nil, fmt.Errorf("ntlmssp: challenge target name: %w", err)
	}
	if c.Flags&NegotiateUnicode != 0 {
		c.TargetName = utf16String(name)
	} else {
		c.TargetName = string(name)
	}
	// TargetInfoFields at 40 and Version at 48 exist only when the message
	// is long enough; old servers send a 32-byte challenge.
	if len(b) >= 48 && c.Flags&NegotiateTargetInfo != 0 {
		info, err := field(b, 40)
		if err != nil {
			return nil, fmt.Errorf("ntlmssp: challenge target info: %w", err)
		}
		c.TargetInfo = info
		if err := c.parsePairs(info); err != nil {
			return nil, err
		}
	}
	if len(b) >= 56 && c.Flags&NegotiateVersion != 0 {
		c.HasVersion = true
		c.Major, c.Minor = b[48], b[49]
		c.Build = binary.LittleEndian.Uint16(b[50:])
		c.Revision = b[55]
	}
	return c, nil
}

// field returns the payload described by the 8-byte field header at off.
func field(b []byte, off int) ([]byte, error) {
	if off+8 > len(b) {
		return nil, ErrShort
	}
	n := int(binary.LittleEndian.Uint16(b[off:]))
	p32 := binary.LittleEndian.Uint32(b[off+4:])
	if n == 0 {
		return nil, nil
	}
	// Compared as uint64: int(p32) is negative on 32-bit builds.
	if uint64(p32) > uint64(len(b)) || n > len(b)-int(p32) {
		return nil, ErrShort
	}
	p := int(p32)
	return b[p : p+n], nil
}

func (c *Challenge) parsePairs(info []byte) error {
	for len(info) > 0 {
		if len(info) < 4 {
			return fmt.Errorf("ntlmssp: target info: %w", ErrShort)
		}
		id := binary.LittleEndian.Uint16(info)
		n := int(binary.LittleEndian.Uint16(info[2:]))
		info = info[4:]
		if n > len(info) {
			return fmt.Errorf("ntlmssp: target info pair %d: %w", id, ErrShort)
		}
		v := info[:n]
		info = info[n:]
		if id == MsvAvEOL {
			return nil
		}
		if len(c.Pairs) < maxPairs {
			c.Pairs = append(c.Pairs, AVPair{ID: id, Value: v})
		}
		switch id {
		case MsvAvNbComputerName:
			c.NetBIOSComputer = utf16String(v)
		case MsvAvNbDomainName:
			c.NetBIOSDomain = utf16String(v)
		case MsvAvDNSComputerName:
			c.DNSComputer = utf16String(v)
		case MsvAvDNSDomainName:
			c.DNSDomain = utf16String(v)
		case MsvAvDNSTreeName:
			c.DNSTree = utf16String(v)
		case MsvAvTargetName:
			c.AvTargetName = utf16String(v)
		case MsvAvTimestamp:
			if len(v) == 8 {
				c.RawTimestamp = binary.LittleEndian.Uint64(v)
				c.HasTimestamp = true
				c.Timestamp = FileTime(c.RawTimestamp)
			}
		}
	}
	// No MsvAvEOL: tolerated, as Windows clients do.
	return nil
}

// FileTime converts a Windows FILETIME (100 ns since 1601) to time.Time (UTC).
func FileTime(ft uint64) time.Time {
	const epochDiff = 116444736000000000 // 1601→1970 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// ToFileTime is the inverse of FileTime.
func ToFileTime(t time.Time) uint64 {
	// Seconds first: UnixNano overflows for dates before 1678.
	return uint64((t.Unix()+11644473600)*1e7 + int64(t.Nanosecond()/100))
}

func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func utf16Bytes(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}
