package smb1

import (
	"encoding/binary"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
)

// findEntries builds n SMB_FIND_FILE_DIRECTORY_INFO entries size bytes
// apart whose FileNameLength is nameLen and whose name bytes are fill.
func findEntries(n, size int, nameLen uint32, fill []byte) []byte {
	b := make([]byte, n*size)
	for i := range n {
		e := b[i*size:]
		if i < n-1 {
			binary.LittleEndian.PutUint32(e, uint32(size))
		}
		binary.LittleEndian.PutUint32(e[60:], nameLen)
		for j := 64; len(fill) > 0 && j < size; j += len(fill) {
			copy(e[j:size], fill)
		}
	}
	return b
}

// TestFindAmplification feeds FIND_FIRST2/NEXT2 data of the largest size we
// ask for (0xFFFF bytes) in its worst shapes, in OEM and Unicode mode, and
// holds what ParseDirectoryInfo keeps and allocates to amp.Factor times the
// bytes received.
func TestFindAmplification(t *testing.T) {
	const data = 0xFFFF
	for _, tc := range []struct {
		name    string
		b       []byte
		unicode bool
		wantErr bool
	}{
		// Each name claimed the rest of the data, overlapping the entries
		// after it (x1,412 in OEM mode before names ended at the next entry).
		{"oem overlapping names", findEntries(data/64, 64, data-64, []byte{'A'}), false, true},
		{"unicode overlapping names", findEntries(data/64, 64, data-64, []byte{'A', 0}), true, true},
		// Minimal entries, no names: the most entries per byte.
		{"oem empty names", findEntries(data/64, 64, 0, nil), false, false},
		// CP850 bytes above 0x7F become 2 or 3 UTF-8 bytes.
		{"oem wide names", findEntries(data/72, 72, 8, []byte{0xC4}), false, false},
		// A Unicode name that fills its entry: the NUL is looked for
		// before anything is reserved.
		{"unicode long names", findEntries(data/1024, 1024, 960, []byte{0, 0x08}), true, false},
		{"unicode lone surrogates", findEntries(data/128, 128, 64, []byte{0, 0xD8}), true, false},
	} {
		out, _, err := ParseDirectoryInfo(nil, tc.b, 0xFFFF, tc.unicode, 1<<20)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v, want error %v", tc.name, err, tc.wantErr)
		}
		if !tc.wantErr && len(out) == 0 {
			t.Fatalf("%s: no entries", tc.name)
		}
		amp.Check(t, "smb1 find: "+tc.name, len(tc.b), func() any {
			out, _, _ := ParseDirectoryInfo(nil, tc.b, 0xFFFF, tc.unicode, 1<<20)
			return out
		})
	}
}

// TestFindNameEndsAtNextEntry: a name may fill its entry, not more, and a
// 32-bit length or offset with the top bit set is refused, not wrapped.
func TestFindNameEndsAtNextEntry(t *testing.T) {
	for _, tc := range []struct {
		nameLen, next uint32
		ok            bool
	}{{16, 80, true}, {17, 80, false}, {0xFFFFFFFF, 80, false}, {0x80000000, 80, false}, {16, 0x80000000, true}, {16, 0xFFFFFFF0, true}} {
		b := findEntries(2, 80, 0, nil)
		binary.LittleEndian.PutUint32(b, tc.next)
		binary.LittleEndian.PutUint32(b[60:], tc.nameLen)
		out, _, err := ParseDirectoryInfo(nil, b, 1, false, 10)
		if (err == nil) != tc.ok || (tc.ok && len(out) != 1) {
			t.Errorf("name length %d, next %#x: %d entries, err %v", tc.nameLen, tc.next, len(out), err)
		}
	}
}

// FuzzAmpFind fails when FIND data decodes, in OEM or Unicode mode, to more
// than amp.Factor bytes per byte received.
func FuzzAmpFind(f *testing.F) {
	f.Add(findEntries(4, 64, 0, nil), false)
	f.Add(findEntries(3, 72, 8, []byte{0xC4}), false)
	f.Add(findEntries(3, 128, 64, []byte{0, 0x08}), true)
	f.Add(findEntries(3, 64, 0xFFFFFFFF, []byte{'A', 0}), true)
	// Each name runs to the end of the data, over the entries after it:
	// x31 before names ended at the next entry.
	over := findEntries(64, 64, 0, []byte{'A'})
	for i := range 64 {
		binary.LittleEndian.PutUint32(over[i*64+60:], uint32(len(over)-i*64-64))
	}
	f.Add(over, false)
	f.Fuzz(func(t *testing.T, b []byte, unicode bool) {
		out, _, _ := ParseDirectoryInfo(nil, b, 0xFFFF, unicode, 1<<20)
		amp.CheckSize(t, b, out)
	})
}
