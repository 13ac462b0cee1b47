package ndr

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// DecodeUTF16 agrees with utf16.Decode on any bytes, on the ASCII fast
// path and off it (a trailing odd byte is ignored).
func FuzzDecodeUTF16(f *testing.F) {
	for _, s := range []string{"alice", "Administrator", "bérénice", "\U0001F600x", "a\x00b", "\x7f\x80"} {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		f.Add(b)
		f.Add(append(b, 'z'))
	}
	f.Add([]byte{0x00, 0xd8, 0x41, 0x00}) // unpaired high surrogate
	f.Fuzz(func(t *testing.T, b []byte) {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		if got, want := DecodeUTF16(b), string(utf16.Decode(u)); got != want {
			t.Fatalf("DecodeUTF16(% x) = %q, want %q", b, got, want)
		}
	})
}

func BenchmarkDecodeUTF16ASCII(b *testing.B) {
	var in []byte
	for _, u := range utf16.Encode([]rune("bulkuser01971 Bulk User 1971")) {
		in = binary.LittleEndian.AppendUint16(in, u)
	}
	for b.Loop() {
		_ = DecodeUTF16(in)
	}
}
