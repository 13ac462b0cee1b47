package ntlmssp

import (
	"encoding/binary"
	"testing"
)

// TestFieldOffsetTopBit: a field offset with the top bit set was converted
// to a negative int on 32-bit builds and passed the bounds check, then
// panicked slicing; scripts/test.sh runs this under qemu-arm.
func TestFieldOffsetTopBit(t *testing.T) {
	for _, off := range []uint32{0x80000000, 0xFFFFFFFF, 0xFFFFFFF0} {
		for _, at := range []int{12, 40} {
			b := readHex(t, "challenge_open.hex")
			binary.LittleEndian.PutUint16(b[at:], 8)
			binary.LittleEndian.PutUint32(b[at+4:], off)
			if _, err := ParseChallenge(b); err == nil {
				t.Errorf("challenge field at %d with offset %#x accepted", at, off)
			}
		}
	}
}
