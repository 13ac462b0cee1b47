package ndr

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReader drives the Reader with a program: the first byte is the
// program length n, the next n bytes are operations, the rest is the stub.
// Whatever the input, the Reader must not panic, and a failed read must
// leave a sticky error.
func FuzzReader(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.hex")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		stub, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		// A program that reads the reply as an RPC_UNICODE_STRING array.
		prog := []byte{2, 8, 5, 8, 5, 9, 10, 6, 7}
		f.Add(append(append([]byte{byte(len(prog))}, prog...), stub...))
	}
	var w Writer
	w.UnicodeString("abc")
	w.Pointer(true)
	w.Defer(func(w *Writer) { w.SID(MustParseSID("S-1-5-21-1-2-3")) })
	w.Flush()
	f.Add(append([]byte{4, 8, 1, 9, 10}, w.Bytes()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := int(data[0])
		if n > len(data)-1 {
			n = len(data) - 1
		}
		prog, stub := data[1:1+n], data[1+n:]
		r := NewReader(stub)
		var strs []string
		for _, op := range prog {
			switch op % 12 {
			case 0:
				r.Uint8()
			case 1:
				r.Uint16()
			case 2:
				r.Uint32()
			case 3:
				r.Uint64()
			case 4:
				r.Handle()
			case 5:
				r.Uint16s(r.ConformantCount(2))
			case 6:
				_ = r.StringZ()
			case 7:
				_ = r.VaryingStringZ()
			case 8:
				strs = append(strs, "")
				r.UnicodeString(&strs[len(strs)-1])
			case 9:
				if r.Pointer() != 0 {
					r.Defer(func(r *Reader) { _ = r.SID().String() })
				}
			case 10:
				r.Flush()
			case 11:
				r.FullPointer()
			}
			before := r.Err()
			if before != nil && r.Uint32() != 0 {
				t.Fatal("read after error returned data")
			}
		}
	})
}
