// Package netbios speaks the two NetBIOS-over-TCP services a null-session
// audit needs (RFC 1001/1002): the session service on TCP 139 (session
// request, then length-prefixed frames) and node status queries to the name
// service on UDP 137.
package netbios

import (
	"errors"
	"strings"
)

// ErrShort is returned when a reply ends before a field it announces.
var ErrShort = errors.New("netbios: reply truncated")

// Well-known name suffixes (the 16th byte of a NetBIOS name).
const (
	SuffixWorkstation   byte = 0x00
	SuffixMessenger     byte = 0x03
	SuffixFileServer    byte = 0x20
	SuffixMasterBrowser byte = 0x1D
	SuffixDomainMaster  byte = 0x1B
	SuffixDomainControl byte = 0x1C
	SuffixBrowserElect  byte = 0x1E
	SuffixMSBrowse      byte = 0x01
	encodedNameLen           = 32
	wireNameLen              = 1 + encodedNameLen + 1 // length label, 32 halves, root label
)

// RawName builds the 16 bytes of a NetBIOS name: upper-cased, padded with
// spaces to 15 bytes, then the suffix. "*" is the wildcard used by node
// status queries and is padded with NULs instead, as RFC 1002 4.2.18 asks.
func RawName(name string, suffix byte) [16]byte {
	var raw [16]byte
	pad := byte(' ')
	if name == "*" {
		pad = 0
	}
	name = strings.ToUpper(name)
	for i := 0; i < 15; i++ {
		if i < len(name) {
			raw[i] = name[i]
		} else {
			raw[i] = pad
		}
	}
	raw[15] = suffix
	return raw
}

// EncodeName gives the wire form of a name with an empty scope: a 32-byte
// label of first-level encoded half-bytes ('A'+nibble, RFC 1001 14.1) and
// the root label.
func EncodeName(raw [16]byte) []byte {
	b := make([]byte, 0, wireNameLen)
	b = append(b, encodedNameLen)
	for _, c := range raw {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(b, 0)
}

// DecodeName reads a first-level encoded name at b[0:], with any scope
// labels after it, and returns the 16 raw bytes and the bytes consumed.
// Compression pointers (two high bits set) end the name, as in DNS.
func DecodeName(b []byte) (raw [16]byte, n int, err error) {
	if len(b) < 1+encodedNameLen || b[0] != encodedNameLen {
		return raw, 0, errors.New("netbios: bad encoded name")
	}
	for i := 0; i < 16; i++ {
		hi, lo := b[1+2*i]-'A', b[2+2*i]-'A'
		if hi > 15 || lo > 15 {
			return raw, 0, errors.New("netbios: bad encoded name")
		}
		raw[i] = hi<<4 | lo
	}
	n = 1 + encodedNameLen
	// Scope labels up to the root label or a pointer.
	for {
		if n >= len(b) {
			return raw, 0, ErrShort
		}
		l := int(b[n])
		switch {
		case l == 0:
			return raw, n + 1, nil
		case l&0xC0 == 0xC0:
			if n+2 > len(b) {
				return raw, 0, ErrShort
			}
			return raw, n + 2, nil
		case l&0xC0 != 0:
			return raw, 0, errors.New("netbios: bad label length")
		}
		n += 1 + l
	}
}

// SplitName returns a raw name's text without its padding, and its suffix.
func SplitName(raw [16]byte) (string, byte) {
	return strings.TrimRight(string(raw[:15]), " \x00"), raw[15]
}
