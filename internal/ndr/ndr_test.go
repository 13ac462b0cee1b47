package ndr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"testing"
)

func TestSIDParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "S-1-5-21-1004336348-1177238915-682003330-500", want: "S-1-5-21-1004336348-1177238915-682003330-500"},
		{in: "S-1-5-32", want: "S-1-5-32"},
		{in: "S-1-0", want: "S-1-0"},
		{in: "s-1-22-1-0", want: "S-1-22-1-0"},
		{in: "S-1-0x123456789ABC-1", want: "S-1-0x123456789ABC-1"},
		{in: "S-1", wantErr: true},
		{in: "X-1-5", wantErr: true},
		{in: "S-1-5-4294967296", wantErr: true},
		{in: "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", wantErr: true},
		{in: "S-1-5--1", wantErr: true},
	}
	for _, tt := range tests {
		sid, err := ParseSID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSID(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && sid.String() != tt.want {
			t.Errorf("ParseSID(%q).String() = %q, want %q", tt.in, sid.String(), tt.want)
		}
	}
	d := MustParseSID("S-1-5-21-1-2-3")
	if got := d.Append(500).String(); got != "S-1-5-21-1-2-3-500" {
		t.Errorf("Append = %s", got)
	}
	if d.Append(500).RID() != 500 || len(d.SubAuthority) != 4 {
		t.Errorf("Append modified the receiver or RID wrong")
	}
}

// TestPointerDeferralOrder checks the golden encoding of a struct with two
// embedded pointers, the first of which points at something that itself has
// a pointer: referents must come out A, A's child, B (depth first).
func TestPointerDeferralOrder(t *testing.T) {
	var w Writer
	w.Uint32(7)           // a scalar
	w.UnicodeString("ab") // A
	w.Pointer(true)       // B: pointer to a uint32
	w.Defer(func(w *Writer) { w.Uint32(0xB0B0B0B0) })
	w.Flush()
	want := "07000000" + // scalar
		"0400" + "0400" + "00000200" + // A: Length, MaximumLength, ref 0x20000
		"04000200" + // B ref 0x20004
		"02000000" + "00000000" + "02000000" + "6100" + "6200" + // A body
		"B0B0B0B0" // B referent, aligned (offset 36)
	got := hex.EncodeToString(w.Bytes())
	if got != lower(want) {
		t.Fatalf("encoding\n got %s\nwant %s", got, lower(want))
	}

	r := NewReader(w.Bytes())
	if r.Uint32() != 7 {
		t.Fatal("scalar")
	}
	var s string
	var b uint32
	r.UnicodeString(&s)
	if r.Pointer() != 0 {
		r.Defer(func(r *Reader) { b = r.Uint32() })
	}
	r.Flush()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if s != "ab" || b != 0xB0B0B0B0 || r.Remaining() != 0 {
		t.Fatalf("decoded %q %#x remaining %d", s, b, r.Remaining())
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func TestRoundTrip(t *testing.T) {
	sids := []SID{MustParseSID("S-1-5-32-544"), MustParseSID("S-1-5-21-1-2-3-1000"), MustParseSID("S-1-1-0")}
	var w Writer
	w.Uint8(1)
	w.Uint64(0x1122334455667788)
	w.Uint16(0xBEEF)
	w.Handle(Handle{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	name := `\\srv`
	w.UniqueStringZ(&name)
	w.UniqueStringZ(nil)
	// LSAPR_SID_ENUM_BUFFER: Entries, pointer to array of pointers to SIDs.
	w.Uint32(uint32(len(sids)))
	w.Pointer(true)
	w.Defer(func(w *Writer) {
		w.Uint32(uint32(len(sids)))
		for _, s := range sids {
			w.Pointer(true)
			w.Defer(func(w *Writer) { w.SID(s) })
		}
	})
	w.Flush()
	w.UnicodeString("héllo wörld ☃")
	w.Flush()

	r := NewReader(w.Bytes())
	if r.Uint8() != 1 || r.Uint64() != 0x1122334455667788 || r.Uint16() != 0xBEEF {
		t.Fatal("scalars")
	}
	if h := r.Handle(); h[0] != 1 || h[19] != 20 || h.IsZero() {
		t.Fatalf("handle %x", h)
	}
	var gotName string
	if r.Pointer() != 0 {
		gotName = r.StringZ()
	}
	if gotName != name {
		t.Fatalf("name %q", gotName)
	}
	if r.Pointer() != 0 {
		t.Fatal("null pointer expected")
	}
	n := r.Uint32()
	var got []SID
	if r.Pointer() != 0 {
		r.Defer(func(r *Reader) {
			cnt := r.ConformantCount(4)
			if uint32(cnt) != n {
				t.Errorf("count %d vs %d", cnt, n)
			}
			got = make([]SID, cnt)
			for i := range cnt {
				if r.Pointer() != 0 {
					r.Defer(func(r *Reader) { got[i] = r.SID() })
				}
			}
		})
	}
	r.Flush()
	var u string
	r.UnicodeString(&u)
	r.Flush()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sids) {
		t.Fatalf("got %d sids", len(got))
	}
	for i := range sids {
		if !got[i].Equal(sids[i]) {
			t.Errorf("sid %d = %s want %s", i, got[i], sids[i])
		}
	}
	if u != "héllo wörld ☃" || r.Remaining() != 0 {
		t.Errorf("unicode %q remaining %d", u, r.Remaining())
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		read func(r *Reader)
		want error
	}{
		{"short uint32", "010203", func(r *Reader) { r.Uint32() }, ErrShort},
		{"short align", "01", func(r *Reader) { r.Uint8(); r.Uint16() }, ErrShort},
		{"huge conformant", "ffffffff00000000", func(r *Reader) { r.ConformantCount(1) }, ErrCount},
		{"count vs remaining", "0300000041004200", func(r *Reader) { r.Uint16s(r.ConformantCount(2)) }, ErrCount},
		{"actual > max", "01000000000000000200000041004200", func(r *Reader) { r.StringZ() }, ErrRange},
		{"offset overflow", "02000000ffffffff0200000041004200", func(r *Reader) { r.StringZ() }, ErrRange},
		{"null ref", "00000000", func(r *Reader) { r.RefPointer() }, ErrPointer},
		{"sid count mismatch", "020000000101000000000005" + "15000000", func(r *Reader) { r.SID() }, ErrSID},
		{"sid too many", "10000000011000000000000500", func(r *Reader) { r.SID() }, ErrSID},
		{"sid short", "0200000001020000000000051500000016", func(r *Reader) { r.SID() }, ErrCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(b)
			tt.read(r)
			if !errors.Is(r.Err(), tt.want) {
				t.Fatalf("err = %v, want %v", r.Err(), tt.want)
			}
			// Sticky: later reads return zero and keep the first error.
			if r.Uint32() != 0 || r.StringZ() != "" || !errors.Is(r.Err(), tt.want) {
				t.Fatalf("error not sticky: %v", r.Err())
			}
		})
	}
}

func TestMaxCount(t *testing.T) {
	var w Writer
	w.Uint32(10)
	w.Raw(make([]byte, 40))
	r := NewReader(w.Bytes())
	r.MaxCount = 5
	if r.ConformantCount(4); !errors.Is(r.Err(), ErrCount) {
		t.Fatalf("cap not enforced: %v", r.Err())
	}
}

func TestFullPointer(t *testing.T) {
	var w Writer
	w.Uint32(0x20000)
	w.Uint32(0x20000)
	w.Uint32(0)
	r := NewReader(w.Bytes())
	if id, first := r.FullPointer(); id != 0x20000 || !first {
		t.Fatal("first")
	}
	if id, first := r.FullPointer(); id != 0x20000 || first {
		t.Fatal("alias")
	}
	if id, first := r.FullPointer(); id != 0 || first {
		t.Fatal("null")
	}
}

// TestDeferDepth: a chain of pointers each pointing at the next must stop
// with an error, not exhaust the stack.
func TestDeferDepth(t *testing.T) {
	b := bytes.Repeat([]byte{1, 0, 0, 0}, 10000)
	r := NewReader(b)
	var chase func(r *Reader)
	chase = func(r *Reader) {
		if r.Pointer() != 0 {
			r.Defer(chase)
		}
	}
	chase(r)
	r.Flush()
	if !errors.Is(r.Err(), ErrTooDeep) {
		t.Fatalf("err = %v", r.Err())
	}
}

// TestHugeCountAllocation: a reply claiming 0xFFFFFFFF elements must fail
// without allocating anything near that size.
func TestHugeCountAllocation(t *testing.T) {
	b, _ := hex.DecodeString("ffffffff00000000ffffffff41004200")
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for range 100 {
		r := NewReader(b)
		_ = r.StringZ()
		r = NewReader(b)
		_ = r.Uint32s(r.ConformantCount(4))
		if r.Err() == nil {
			t.Fatal("no error")
		}
	}
	runtime.ReadMemStats(&ms1)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes", d)
	}
}

// TestUnicodeStringAlignment: an RPC_UNICODE_STRING after a uint16 (a
// union discriminant, SID_NAME_USE) starts on a 4-byte boundary. Reading it
// at offset 2 once lost every such name in LSA replies.
func TestUnicodeStringAlignment(t *testing.T) {
	var w Writer
	w.Uint16(8) // e.g. SID_NAME_USE
	w.UnicodeString("x")
	w.Flush()
	want := "0800" + "0000" + "0200" + "0200" + "00000200" + "01000000" + "00000000" + "01000000" + "7800"
	if got := hex.EncodeToString(w.Bytes()); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
	r := NewReader(w.Bytes())
	var s string
	if r.Uint16() != 8 {
		t.Fatal("use")
	}
	r.UnicodeString(&s)
	r.Flush()
	if r.Err() != nil || s != "x" {
		t.Fatalf("%q %v", s, r.Err())
	}
}
