package ndr

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxSubAuthorities is the most sub-authorities a SID may have ([MS-DTYP] 2.4.2).
const MaxSubAuthorities = 15

// SID is a security identifier ([MS-DTYP] 2.4.2.3 RPC_SID).
type SID struct {
	Revision     uint8
	Authority    uint64 // 48-bit IdentifierAuthority, big-endian on the wire
	SubAuthority []uint32
}

// ParseSID parses the "S-1-5-21-..." form. Authorities of 2^32 or more may
// be written in hex (0x...), as Windows prints them.
func ParseSID(s string) (SID, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") {
		return SID{}, fmt.Errorf("ndr: parse SID %q: %w", s, ErrSID)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return SID{}, fmt.Errorf("ndr: parse SID %q: revision: %w", s, err)
	}
	auth, err := strconv.ParseUint(parts[2], 0, 48)
	if err != nil {
		return SID{}, fmt.Errorf("ndr: parse SID %q: authority: %w", s, err)
	}
	subs := parts[3:]
	if len(subs) > MaxSubAuthorities {
		return SID{}, fmt.Errorf("ndr: parse SID %q: %d sub-authorities: %w", s, len(subs), ErrSID)
	}
	sid := SID{Revision: uint8(rev), Authority: auth, SubAuthority: make([]uint32, len(subs))}
	for i, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, fmt.Errorf("ndr: parse SID %q: sub-authority %d: %w", s, i, err)
		}
		sid.SubAuthority[i] = uint32(v)
	}
	return sid, nil
}

// MustParseSID is ParseSID for constants; it panics on a malformed SID.
func MustParseSID(s string) SID {
	sid, err := ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}

// String formats the SID as "S-1-5-21-...".
func (s SID) String() string {
	var b strings.Builder
	b.WriteString("S-")
	b.WriteString(strconv.FormatUint(uint64(s.Revision), 10))
	b.WriteByte('-')
	if s.Authority >= 1<<32 {
		fmt.Fprintf(&b, "0x%012X", s.Authority)
	} else {
		b.WriteString(strconv.FormatUint(s.Authority, 10))
	}
	for _, v := range s.SubAuthority {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// Append returns a copy of s with rids appended (domain SID + RID).
func (s SID) Append(rids ...uint32) SID {
	sub := make([]uint32, 0, len(s.SubAuthority)+len(rids))
	sub = append(sub, s.SubAuthority...)
	return SID{Revision: s.Revision, Authority: s.Authority, SubAuthority: append(sub, rids...)}
}

// RID returns the last sub-authority, or 0 when there is none.
func (s SID) RID() uint32 {
	if len(s.SubAuthority) == 0 {
		return 0
	}
	return s.SubAuthority[len(s.SubAuthority)-1]
}

// Equal reports whether two SIDs are the same.
func (s SID) Equal(o SID) bool {
	if s.Revision != o.Revision || s.Authority != o.Authority || len(s.SubAuthority) != len(o.SubAuthority) {
		return false
	}
	for i := range s.SubAuthority {
		if s.SubAuthority[i] != o.SubAuthority[i] {
			return false
		}
	}
	return true
}
