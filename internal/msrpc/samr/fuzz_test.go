package samr

import (
	"encoding/binary"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// decoders lists every reply decoder with the captures that seed it.
var decoders = []struct {
	name string
	glob string
	fn   func([]byte) (ntstatus.Status, error)
}{
	{"handle", "*-Open*", func(b []byte) (ntstatus.Status, error) { _, st, err := decHandleReply(b); return st, err }},
	{"connect5", "*-Connect5", func(b []byte) (ntstatus.Status, error) { _, st, err := decConnect5(b); return st, err }},
	{"enum", "*-Enumerate*", func(b []byte) (ntstatus.Status, error) { _, st, err := decEnum(b); return st, err }},
	{"lookupdomain", "*-LookupDomain-*", func(b []byte) (ntstatus.Status, error) { _, st, err := decLookupDomain(b); return st, err }},
	{"display", "*-QueryDisplayInformation*", func(b []byte) (ntstatus.Status, error) { _, st, err := decQueryDisplay(b); return st, err }},
	{"groupmembers", "*-GetMembersInGroup-*", func(b []byte) (ntstatus.Status, error) { _, st, err := decGetMembersInGroup(b); return st, err }},
	{"aliasmembers", "*-GetMembersInAlias-*", func(b []byte) (ntstatus.Status, error) { _, st, err := decGetMembersInAlias(b); return st, err }},
	{"domaininfo", "*-QueryInformationDomain*", func(b []byte) (ntstatus.Status, error) {
		var err error
		for _, c := range []uint16{1, 3, 12} {
			_, st, e := decQueryDomainInfo(b, c)
			if e == nil {
				return st, nil
			}
			err = e
		}
		return 0, err
	}},
	{"dompwinfo", "*-GetDomainPasswordInformation", func(b []byte) (ntstatus.Status, error) {
		_, st, err := decGetDomainPasswordInformation(b)
		return st, err
	}},
	{"lookupids", "*-LookupIdsInDomain", func(b []byte) (ntstatus.Status, error) {
		_, st, err := decLookupIds(b, []uint32{500, 501, 512, 513, 1000, 1001, 1107, 99999})
		return st, err
	}},
	{"lookupnames", "*-LookupNamesInDomain", func(b []byte) (ntstatus.Status, error) {
		_, st, err := decLookupNames(b, []string{"alice", "Administrator", "nosuchuser"})
		return st, err
	}},
	{"usercontrol", "*-QueryInformationUser-*-16", func(b []byte) (ntstatus.Status, error) { _, st, err := decQueryUserControl(b); return st, err }},
	{"userall", "*-QueryInformationUser-*-21", func(b []byte) (ntstatus.Status, error) { _, st, err := decQueryUserAll(b); return st, err }},
}

func seed(f *testing.F, glob string) {
	files, _ := filepath.Glob(filepath.Join("testdata", glob+".hex"))
	if len(files) == 0 {
		f.Fatalf("no captures match %s", glob)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".hex")
		if strings.HasPrefix(name, "bulk-") {
			continue // too big to mutate usefully
		}
		f.Add(capture(f, name))
	}
}

func fuzzDecoder(f *testing.F, name string) {
	for _, d := range decoders {
		if d.name == name {
			seed(f, d.glob)
			f.Fuzz(func(t *testing.T, b []byte) { d.fn(b) })
			return
		}
	}
	f.Fatalf("no decoder %s", name)
}

func FuzzDecodeHandle(f *testing.F)       { fuzzDecoder(f, "handle") }
func FuzzDecodeConnect5(f *testing.F)     { fuzzDecoder(f, "connect5") }
func FuzzDecodeEnum(f *testing.F)         { fuzzDecoder(f, "enum") }
func FuzzDecodeLookupDomain(f *testing.F) { fuzzDecoder(f, "lookupdomain") }
func FuzzDecodeDisplay(f *testing.F)      { fuzzDecoder(f, "display") }
func FuzzDecodeGroupMembers(f *testing.F) { fuzzDecoder(f, "groupmembers") }
func FuzzDecodeAliasMembers(f *testing.F) { fuzzDecoder(f, "aliasmembers") }
func FuzzDecodeDomainInfo(f *testing.F)   { fuzzDecoder(f, "domaininfo") }
func FuzzDecodeDomPwInfo(f *testing.F)    { fuzzDecoder(f, "dompwinfo") }
func FuzzDecodeLookupIds(f *testing.F)    { fuzzDecoder(f, "lookupids") }
func FuzzDecodeLookupNames(f *testing.F)  { fuzzDecoder(f, "lookupnames") }
func FuzzDecodeUserControl(f *testing.F)  { fuzzDecoder(f, "usercontrol") }
func FuzzDecodeUserAll(f *testing.F)      { fuzzDecoder(f, "userall") }

// le builds a little-endian stub from uint32 words.
func le(words ...uint32) []byte {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// Replies that claim 4 GiB of entries or string data must fail without
// allocating: every count is checked against the bytes that remain.
func TestHostileCountsAllocateLittle(t *testing.T) {
	const huge = 0xFFFFFFFF
	pad := make([]byte, 64)
	tests := []struct {
		name string
		fn   func([]byte) (ntstatus.Status, error)
		stub []byte
	}{
		// resume, ptr, EntriesRead, ptr, max_count, status
		{"enum count", decoders[2].fn, le(0, 0x20000, huge, 0x20004, huge, 0)},
		// one entry whose name claims 0x7fffffff code units
		{"enum string", decoders[2].fn, append(le(0, 0x20000, 1, 0x20004, 1, 1000, 0xfffe_fffe, 0x20008, 0x7fffffff, 0, 0x7fffffff), pad...)},
		// TotalAvailable, TotalReturned, tag 1 + pad, EntriesRead, ptr, max_count
		{"display count", decoders[4].fn, le(0, 0, 1, huge, 0x20000, huge, 0)},
		{"group members", decoders[5].fn, le(0x20000, huge, 0x20004, 0x20008, huge, 0)},
		{"alias members", decoders[6].fn, le(huge, 0x20000, huge, 0)},
		// SID with a conformance of 4 G sub-authorities
		{"lookup domain SID", decoders[3].fn, le(0x20000, huge, 0x01ff0501, 0, 0)},
		{"lookup ids names", decoders[9].fn, le(huge, 0x20000, huge, 0)},
		{"lookup names rids", decoders[10].fn, le(huge, 0x20000, huge, 0)},
		// class 21 whose security descriptor claims 4 GiB: ptr, tag 21,
		// 6 times, 10 strings and 2 blobs and a string of 8 bytes each
		// (null pointers), SD length and pointer, then its max_count.
		{"user all SD", decoders[12].fn, append(append(le(0x20000, 21), make([]byte, 48+13*8)...), le(huge, 0x20004, 1, 2, 3, 4, 168, 0, 0, 0, 0, huge, 0)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.fn(tt.stub); err == nil {
				t.Fatal("hostile reply decoded without error")
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range 10 {
				tt.fn(tt.stub)
			}
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("10 decodes allocated %d bytes", n)
			}
		})
	}
}
