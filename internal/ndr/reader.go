// Package ndr reads and writes NDR 2.0 transfer syntax, little-endian, as
// used by connection-oriented DCE/RPC stubs (C706 chapter 14, [MS-RPCE] 2.2.5).
//
// The Reader faces hostile servers: it keeps a sticky error, checks every
// count and length against the bytes that remain before it allocates, caps
// element counts, and never panics. Callers read a whole reply and check
// Err once at the end.
//
// Pointers follow the usual scalar/buffer split (Samba's NDR_SCALARS then
// NDR_BUFFERS): a struct's scalars are read or written inline, and the
// referents of its embedded pointers are queued with Defer and emitted by
// Flush after the outermost construct, depth first. So a decoder reads all
// scalars of a top-level parameter, then calls Flush:
//
//	r.UnicodeString(&info.Name)   // Length, MaximumLength, pointer; body deferred
//	r.Uint32()                    // more scalars
//	r.Flush()                     // the string body is read here
package ndr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxCount caps any element count the Reader accepts, whatever the
// bytes remaining. It is well above what our calls need (LSA LookupSids
// allows 20480 entries; a bulk SAMR enumeration a few thousand).
const DefaultMaxCount = 1 << 20

// Sentinel errors; the Reader wraps them with the offset where they arose.
var (
	ErrShort    = errors.New("ndr: read past end of data")
	ErrCount    = errors.New("ndr: count exceeds remaining data or limit")
	ErrRange    = errors.New("ndr: inconsistent array bounds")
	ErrPointer  = errors.New("ndr: null reference pointer")
	ErrSID      = errors.New("ndr: malformed SID")
	ErrTooDeep  = errors.New("ndr: deferred pointers nested too deep")
	ErrNotFound = errors.New("ndr: full pointer refers to unknown referent")
)

// Reader decodes an NDR stub. Offsets and alignment are relative to the
// start of the stub. The zero value is not usable; use NewReader.
type Reader struct {
	b   []byte
	off int
	err error
	// MaxCount bounds every element count (conformance, actual count).
	MaxCount int

	deferred []func(*Reader)
	depth    int
	seen     map[uint32]bool // full pointers
}

// NewReader returns a Reader over stub.
func NewReader(stub []byte) *Reader {
	return &Reader{b: stub, MaxCount: DefaultMaxCount}
}

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns the current offset in the stub.
func (r *Reader) Offset() int { return r.off }

// Remaining returns the number of bytes not yet read.
func (r *Reader) Remaining() int {
	if r.err != nil {
		return 0
	}
	return len(r.b) - r.off
}

// Fail records err (wrapped with the offset) unless an error is already set.
// Decoders built on the Reader use it for semantic errors.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w (at offset %d)", err, r.off)
	}
}

// Align skips padding so the offset is a multiple of n (1, 2, 4 or 8).
func (r *Reader) Align(n int) {
	if r.err != nil || n <= 1 {
		return
	}
	pad := (n - r.off%n) % n
	if pad > len(r.b)-r.off {
		r.Fail(ErrShort)
		return
	}
	r.off += pad
}

// take returns the next n bytes, or nil and a sticky error.
func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(ErrShort)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// Uint8 reads a byte.
func (r *Reader) Uint8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Uint16 reads an aligned little-endian uint16.
func (r *Reader) Uint16() uint16 {
	r.Align(2)
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// Uint32 reads an aligned little-endian uint32.
func (r *Reader) Uint32() uint32 {
	r.Align(4)
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// Uint64 reads an aligned little-endian uint64 (NDR hyper).
func (r *Reader) Uint64() uint64 {
	r.Align(8)
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Bytes reads n raw bytes and returns a copy. n is checked first.
func (r *Reader) Bytes(n int) []byte {
	b := r.take(n)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Skip advances n bytes.
func (r *Reader) Skip(n int) { r.take(n) }

// checkCount validates an element count against the cap and the bytes that
// remain, given the minimum wire size of one element.
func (r *Reader) checkCount(n uint32, minElemSize int) int {
	if r.err != nil {
		return 0
	}
	if minElemSize < 1 {
		minElemSize = 1
	}
	max := r.MaxCount
	if max <= 0 {
		max = DefaultMaxCount
	}
	if uint64(n) > uint64(max) || uint64(n)*uint64(minElemSize) > uint64(len(r.b)-r.off) {
		r.Fail(fmt.Errorf("%w: %d elements of >= %d bytes, %d bytes left", ErrCount, n, minElemSize, len(r.b)-r.off))
		return 0
	}
	return int(n)
}

// ConformantCount reads the max_count of a conformant array whose elements
// all follow on the wire, each at least minElemSize bytes, and checks it.
func (r *Reader) ConformantCount(minElemSize int) int {
	n := r.Uint32()
	return r.checkCount(n, minElemSize)
}

// VaryingCount reads offset and actual_count of a varying array and checks
// the actual count; max bounds offset+actual (use ^uint32(0) when the array
// is not conformant). It returns the actual count.
func (r *Reader) VaryingCount(max uint32, minElemSize int) int {
	offset := r.Uint32()
	actual := r.Uint32()
	if r.err != nil {
		return 0
	}
	if uint64(offset)+uint64(actual) > uint64(max) {
		r.Fail(fmt.Errorf("%w: offset %d + actual %d > max %d", ErrRange, offset, actual, max))
		return 0
	}
	return r.checkCount(actual, minElemSize)
}

// PointerArrayCount reads the max_count of a conformant array of pointers
// whose referents must all be present, and checks it against 4 bytes per
// pointer plus minReferent bytes per referent: checked at 4 bytes alone, a
// count makes the decoder allocate a result and a deferred read per
// element for bytes that can never follow.
func (r *Reader) PointerArrayCount(minReferent int) int {
	return r.ConformantCount(4 + minReferent)
}

// MinSIDSize is the least an RPC_SID referent takes on the wire: the
// hoisted conformance (4 bytes), then Revision, SubAuthorityCount and
// IdentifierAuthority (8 bytes) with no sub-authority ([MS-DTYP] 2.4.2.3).
const MinSIDSize = 12

// SIDPointerArray reads the referent of a pointer to a conformant array of
// non-null PRPC_SID pointers (SAMPR_PSID_ARRAY, LSAPR_SID_ENUM_BUFFER): the
// count, checked against a pointer and a minimal SID per element, the
// pointers, then the SIDs. SIDs hold no pointers, so reading them straight
// after the array is the order deferral would give, without a deferred
// read per element.
func (r *Reader) SIDPointerArray() []SID {
	n := r.PointerArrayCount(MinSIDSize)
	for range n {
		if r.Pointer() == 0 && r.err == nil {
			r.Fail(fmt.Errorf("%w: null SID in an array of SIDs", ErrPointer))
		}
	}
	if r.err != nil {
		return nil
	}
	out := make([]SID, n)
	for i := range out {
		out[i] = r.SID()
	}
	if r.err != nil {
		return nil
	}
	return out
}

// ConformantVaryingCount reads max_count, offset and actual_count of a
// conformant varying array and returns the checked actual count.
func (r *Reader) ConformantVaryingCount(minElemSize int) int {
	max := r.Uint32()
	return r.VaryingCount(max, minElemSize)
}

// Uint16s reads n aligned uint16 values; n must already be checked.
func (r *Reader) Uint16s(n int) []uint16 {
	r.Align(2)
	b := r.take(2 * n)
	if b == nil {
		return nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

// Uint32s reads n aligned uint32 values; n must already be checked.
func (r *Reader) Uint32s(n int) []uint32 {
	r.Align(4)
	b := r.take(4 * n)
	if b == nil {
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// utf16String decodes n UTF-16LE code units, dropping trailing NULs.
func (r *Reader) utf16String(n int) string {
	r.Align(2)
	b := r.take(2 * n)
	for len(b) >= 2 && b[len(b)-1] == 0 && b[len(b)-2] == 0 {
		b = b[:len(b)-2]
	}
	return DecodeUTF16(b)
}

// DecodeUTF16 decodes UTF-16LE bytes (an odd last byte is ignored)
// straight into a string, without the
// []uint16 and []rune copies utf16.Decode needs: a string is then the only
// allocation, at most 1.5 bytes per byte decoded. Unpaired surrogates
// become U+FFFD, as with utf16.Decode.
func DecodeUTF16(b []byte) string {
	if s, ok := asciiUTF16(b); ok {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(b) / 2)
	for i := 0; i+1 < len(b); i += 2 {
		c := rune(binary.LittleEndian.Uint16(b[i:]))
		if utf16.IsSurrogate(c) {
			d := utf8.RuneError
			if i+3 < len(b) {
				d = utf16.DecodeRune(c, rune(binary.LittleEndian.Uint16(b[i+2:])))
			}
			if d != utf8.RuneError {
				i += 2
			}
			c = d
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// asciiUTF16 decodes b when every code unit is ASCII, as account names,
// descriptions and share names mostly are: one byte per unit, written
// without the per-rune work of the general case (a 2,000-user listing is
// about 10,000 such strings).
func asciiUTF16(b []byte) (string, bool) {
	n := len(b) / 2
	for i := 0; i < 2*n; i += 2 {
		if b[i+1] != 0 || b[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < 2*n; i += 2 {
		sb.WriteByte(b[i])
	}
	return sb.String(), true
}

// StringZ reads a conformant varying wchar string ([string] wchar_t*
// referent): max_count, offset, actual_count, then the code units. A
// terminating NUL is dropped.
func (r *Reader) StringZ() string {
	n := r.ConformantVaryingCount(2)
	return r.utf16String(n)
}

// VaryingStringZ reads a varying (non-conformant) wchar string, as used for
// fixed-size [string] arrays inside structs.
func (r *Reader) VaryingStringZ() string {
	n := r.VaryingCount(^uint32(0), 2)
	return r.utf16String(n)
}

// StringZPtr reads an embedded [string] wchar_t* pointer and, when it is
// not null, defers reading the string into *dst.
func (r *Reader) StringZPtr(dst *string) {
	if r.Pointer() != 0 {
		r.Defer(func(r *Reader) { *dst = r.StringZ() })
	}
}

// SIDPtr reads an embedded PRPC_SID and, when it is not null, defers
// reading the SID into *dst.
func (r *Reader) SIDPtr(dst **SID) {
	if r.Pointer() != 0 {
		r.Defer(func(r *Reader) {
			s := r.SID()
			if r.Err() == nil {
				*dst = &s
			}
		})
	}
}

// Pointer reads a unique or embedded ref pointer's referent ID; 0 is null.
func (r *Reader) Pointer() uint32 { return r.Uint32() }

// RefPointer reads an embedded [ref] pointer, which must not be null.
func (r *Reader) RefPointer() uint32 {
	p := r.Uint32()
	if r.err == nil && p == 0 {
		r.Fail(ErrPointer)
	}
	return p
}

// FullPointer reads a [ptr] (full) pointer. first is true the first time a
// referent ID is seen, when its referent follows on the wire; a repeated ID
// aliases an earlier referent and has no data of its own.
func (r *Reader) FullPointer() (id uint32, first bool) {
	id = r.Uint32()
	if r.err != nil || id == 0 {
		return id, false
	}
	if r.seen == nil {
		r.seen = make(map[uint32]bool)
	}
	if r.seen[id] {
		return id, false
	}
	r.seen[id] = true
	return id, true
}

// maxDeferDepth bounds nesting of deferred referents so a hostile chain of
// pointers cannot exhaust the stack. Each level consumes at least 4 bytes.
const maxDeferDepth = 64

// Defer queues f to read a pointer referent after the current construct.
func (r *Reader) Defer(f func(*Reader)) {
	if r.err != nil {
		return
	}
	r.deferred = append(r.deferred, f)
}

// Flush runs the deferred readers in order; referents deferred while one
// runs are read right after it (depth first).
func (r *Reader) Flush() {
	if r.depth >= maxDeferDepth {
		r.Fail(ErrTooDeep)
		r.deferred = nil
		return
	}
	q := r.deferred
	r.deferred = nil
	r.depth++
	for _, f := range q {
		if r.err != nil {
			break
		}
		f(r)
		r.Flush()
	}
	r.depth--
	if r.err != nil {
		r.deferred = nil
	}
}

// UnicodeString reads the scalars of an RPC_UNICODE_STRING (Length,
// MaximumLength, pointer) and defers its body into *dst. The body is a
// conformant varying wchar array; the first Length/2 code units are kept.
func (r *Reader) UnicodeString(dst *string) {
	r.Align(4) // the struct holds a pointer: 4-aligned, whatever precedes it
	length := r.Uint16()
	maxLength := r.Uint16()
	p := r.Pointer()
	if r.err != nil || p == 0 {
		return
	}
	r.Defer(func(r *Reader) { *dst = r.UnicodeStringBody(length, maxLength) })
}

// UnicodeStringBody reads the deferred body of an RPC_UNICODE_STRING.
func (r *Reader) UnicodeStringBody(length, maxLength uint16) string {
	n := r.ConformantVaryingCount(2)
	r.Align(2)
	b := r.take(2 * n)
	if keep := 2 * int(length/2); keep < len(b) {
		b = b[:keep]
	}
	return DecodeUTF16(b)
}

// Handle reads a 20-byte context handle.
func (r *Reader) Handle() Handle {
	var h Handle
	r.Align(4)
	copy(h[:], r.take(20))
	return h
}

// SID reads an RPC_SID as it appears as a pointer referent: the hoisted
// conformance (sub-authority count), then Revision, SubAuthorityCount,
// IdentifierAuthority and the sub-authorities.
func (r *Reader) SID() SID {
	conf := r.Uint32()
	rev := r.Uint8()
	n := r.Uint8()
	auth := r.take(6)
	if r.err != nil {
		return SID{}
	}
	if uint32(n) != conf || n > MaxSubAuthorities {
		r.Fail(fmt.Errorf("%w: %d sub-authorities, conformance %d", ErrSID, n, conf))
		return SID{}
	}
	cnt := r.checkCount(uint32(n), 4)
	s := SID{Revision: rev, SubAuthority: r.Uint32s(cnt)}
	for _, b := range auth {
		s.Authority = s.Authority<<8 | uint64(b)
	}
	if r.err != nil {
		return SID{}
	}
	return s
}

// Handle is an RPC context handle (policy_handle): 4 bytes of attributes
// and a 16-byte UUID, opaque to the client.
type Handle [20]byte

// IsZero reports whether the handle is all zeros, which servers return on
// failure.
func (h Handle) IsZero() bool { return h == Handle{} }
