package ndr

import (
	"encoding/binary"
	"unicode/utf16"
)

// firstReferentID is where referent IDs start; Windows clients use the same
// base and step, which keeps our requests byte-comparable with theirs.
const firstReferentID = 0x00020000

// Writer encodes an NDR stub. The zero value is ready to use.
type Writer struct {
	buf      []byte
	nextRef  uint32
	deferred []func(*Writer)
}

// Bytes returns the encoded stub. Deferred referents not yet flushed are
// not included; call Flush first.
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of bytes written so far.
func (w *Writer) Len() int { return len(w.buf) }

// Align pads with zeros to a multiple of n relative to the stub start.
func (w *Writer) Align(n int) {
	for n > 1 && len(w.buf)%n != 0 {
		w.buf = append(w.buf, 0)
	}
}

// Uint8 writes a byte.
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Uint16 writes an aligned uint16.
func (w *Writer) Uint16(v uint16) {
	w.Align(2)
	w.buf = binary.LittleEndian.AppendUint16(w.buf, v)
}

// Uint32 writes an aligned uint32.
func (w *Writer) Uint32(v uint32) {
	w.Align(4)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
}

// Uint64 writes an aligned uint64 (NDR hyper).
func (w *Writer) Uint64(v uint64) {
	w.Align(8)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
}

// Raw appends bytes with no alignment.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Pointer writes a unique (or embedded ref) pointer: a fresh referent ID
// when present, 0 otherwise. It returns the ID written.
func (w *Writer) Pointer(present bool) uint32 {
	if !present {
		w.Uint32(0)
		return 0
	}
	if w.nextRef == 0 {
		w.nextRef = firstReferentID
	}
	id := w.nextRef
	w.nextRef += 4
	w.Uint32(id)
	return id
}

// Defer queues f to write a pointer referent after the current construct.
func (w *Writer) Defer(f func(*Writer)) { w.deferred = append(w.deferred, f) }

// Flush writes the deferred referents in order; referents deferred while
// one is written follow it directly (depth first, as Samba and Windows do).
func (w *Writer) Flush() {
	q := w.deferred
	w.deferred = nil
	for _, f := range q {
		f(w)
		w.Flush()
	}
}

// StringZ writes a conformant varying wchar string with a terminating NUL
// (the referent of a [string] wchar_t*): max_count, offset 0,
// actual_count, code units.
func (w *Writer) StringZ(s string) {
	u := append(utf16.Encode([]rune(s)), 0)
	w.Uint32(uint32(len(u)))
	w.Uint32(0)
	w.Uint32(uint32(len(u)))
	w.utf16(u)
}

func (w *Writer) utf16(u []uint16) {
	w.Align(2)
	for _, c := range u {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, c)
	}
}

// UniqueStringZ writes a [string, unique] wchar_t* top-level parameter:
// the referent ID then the string inline, or a null pointer when s is nil.
func (w *Writer) UniqueStringZ(s *string) {
	if w.Pointer(s != nil) != 0 {
		w.StringZ(*s)
	}
}

// StringZPtr writes an embedded [string] wchar_t* pointer and defers the
// string; nil writes a null pointer.
func (w *Writer) StringZPtr(s *string) {
	if w.Pointer(s != nil) != 0 {
		v := *s
		w.Defer(func(w *Writer) { w.StringZ(v) })
	}
}

// UnicodeString writes the scalars of an RPC_UNICODE_STRING and defers its
// body (max_count = MaximumLength/2, offset 0, actual = Length/2, no NUL).
func (w *Writer) UnicodeString(s string) {
	u := utf16.Encode([]rune(s))
	w.Align(4) // the struct holds a pointer: 4-aligned
	w.Uint16(uint16(2 * len(u)))
	w.Uint16(uint16(2 * len(u)))
	w.Pointer(true)
	w.Defer(func(w *Writer) {
		w.Uint32(uint32(len(u)))
		w.Uint32(0)
		w.Uint32(uint32(len(u)))
		w.utf16(u)
	})
}

// Handle writes a context handle.
func (w *Writer) Handle(h Handle) {
	w.Align(4)
	w.buf = append(w.buf, h[:]...)
}

// SID writes an RPC_SID as a referent: conformance, then the structure.
func (w *Writer) SID(s SID) {
	w.Uint32(uint32(len(s.SubAuthority)))
	w.Uint8(s.Revision)
	w.Uint8(uint8(len(s.SubAuthority)))
	for i := 5; i >= 0; i-- {
		w.Uint8(uint8(s.Authority >> (8 * i)))
	}
	for _, v := range s.SubAuthority {
		w.Uint32(v)
	}
}
