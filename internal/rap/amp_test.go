package rap

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
)

// shareReply builds NetShareEnum level 1 data of size bytes: n 20-byte
// entries whose remark pointers come from ptr(i), then fill up to size.
func shareReply(n, size int, ptr func(i int) uint32, fill byte) (params, data []byte) {
	params = binary.LittleEndian.AppendUint16(nil, StatusSuccess)
	params = binary.LittleEndian.AppendUint16(params, 0)
	params = binary.LittleEndian.AppendUint16(params, uint16(n))
	params = binary.LittleEndian.AppendUint16(params, uint16(n))
	data = make([]byte, size)
	for i := n * 20; i < size; i++ {
		data[i] = fill
	}
	for i := range n {
		e := data[i*20:]
		copy(e, "SHARE")
		binary.LittleEndian.PutUint32(e[16:], ptr(i))
	}
	return params, data
}

// TestShareEnumAmplification: remark pointers into one another's strings
// made 64 KB of RAP data hold 9.4 MiB of remarks (x151); the worst replies
// of bufSize bytes now stay within amp.Factor.
func TestShareEnumAmplification(t *testing.T) {
	const n = 2000 // 40,000 bytes of entries, 25,440 of string bytes
	for _, tc := range []struct {
		name    string
		ptr     func(i int) uint32
		fill    byte
		wantErr error
	}{
		// Each remark starts one byte further into the same long run:
		// up to 1,024 bytes each, a suffix of the one before.
		{"overlapping suffixes", func(i int) uint32 { return uint32(n*20 + i%1000) }, 0xDB, ErrOverlap},
		// Every entry points at the same 1,023-byte remark: shared.
		{"one remark for all", func(int) uint32 { return n * 20 }, 0xDB, nil},
		// Distinct short remarks whose bytes widen most in UTF-8.
		{"distinct wide remarks", func(i int) uint32 { return uint32(n*20 + 2*(i%12000)) }, 0xDB, ErrOverlap},
	} {
		params, data := shareReply(n, bufSize, tc.ptr, tc.fill)
		if tc.name == "distinct wide remarks" {
			for i := n * 20; i+1 < len(data); i += 2 {
				data[i+1] = 0 // one-byte strings, each its own
			}
			tc.wantErr = nil
		}
		_, err := ParseShareEnum(params, data)
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("%s: err %v, want %v", tc.name, err, tc.wantErr)
		}
		amp.Check(t, "rap share enum: "+tc.name, len(params)+len(data), func() any {
			out, _ := ParseShareEnum(params, data)
			return out
		})
	}
}

// FuzzAmpShareEnum fails when NetShareEnum data decodes to more than
// amp.Factor bytes per byte received.
func FuzzAmpShareEnum(f *testing.F) {
	p, d := shareReply(8, 400, func(i int) uint32 { return uint32(160 + i) }, 'r')
	f.Add(p, d)
	p, d = shareReply(8, 400, func(int) uint32 { return 160 }, 0xDB)
	f.Add(p, d)
	f.Fuzz(func(t *testing.T, params, data []byte) {
		out, _ := ParseShareEnum(params, data)
		amp.CheckSize(t, append(params, data...), out)
	})
}

// FuzzAmpServerEnum2 is the same for NetServerEnum2.
func FuzzAmpServerEnum2(f *testing.F) {
	p, d := shareReply(8, 400, func(i int) uint32 { return uint32(208 + i) }, 'c')
	f.Add(p, d)
	f.Fuzz(func(t *testing.T, params, data []byte) {
		out, _ := ParseServerEnum2(params, data)
		amp.CheckSize(t, append(params, data...), out)
	})
}
