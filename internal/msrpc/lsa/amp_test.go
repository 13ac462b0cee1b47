package lsa

import (
	"errors"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// lookupSidsReply builds an LsarLookupSids reply: one referenced domain
// named domain, and n translated names, each nameLen characters of 'a'
// ("" is a null name pointer), all referring to that domain.
func lookupSidsReply(n int, domain string, nameLen int) []byte {
	var w ndr.Writer
	w.Pointer(true) // ReferencedDomains
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(1)
		w.Pointer(true)
		w.Defer(func(w *ndr.Writer) {
			w.Uint32(1)
			w.UnicodeString(domain)
			w.Pointer(true)
			w.Defer(func(w *ndr.Writer) {
				w.SID(ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{21, 1, 2, 3}})
			})
		})
		w.Uint32(32) // MaxEntries
	})
	w.Flush()
	w.Uint32(uint32(n))
	w.Pointer(true)
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(uint32(n))
		name := strings.Repeat("a", nameLen)
		for range n {
			w.Uint16(uint16(SidTypeUser))
			if nameLen == 0 {
				w.Uint16(0)
				w.Uint16(0)
				w.Pointer(false)
			} else {
				w.UnicodeString(name)
			}
			w.Uint32(0)
		}
	})
	w.Flush()
	w.Uint32(uint32(n)) // MappedCount
	w.Uint32(0)         // STATUS_SUCCESS
	return w.Bytes()
}

func askedSids(n int) []ndr.SID {
	sids := make([]ndr.SID, n)
	for i := range sids {
		sids[i] = ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{21, 1, 2, 3, uint32(1000 + i)}}
	}
	return sids
}

// TestLookupSidsAmplification: every translation shares its referenced
// domain's name, which the wire lets be 32,767 characters; names are now
// held to what Windows allows and the densest replies to the most SIDs we
// ask in one call stay within amp.Factor.
func TestLookupSidsAmplification(t *testing.T) {
	const n = 1000 // enum asks this many a call
	sids := askedSids(n)
	for _, tc := range []struct {
		name    string
		stub    []byte
		wantErr error
	}{
		{"domain name of 32,767 characters", lookupSidsReply(n, strings.Repeat("D", 32767), 0), ErrNameTooLong},
		{"account name of 257 characters", lookupSidsReply(n, "DOM", 257), ErrNameTooLong},
		{"longest domain, null names", lookupSidsReply(n, strings.Repeat("D", MaxDomainNameLen), 0), nil},
		{"longest domain and names", lookupSidsReply(n, strings.Repeat("D", MaxDomainNameLen), MaxAccountNameLen), nil},
	} {
		res, err := DecodeLookupSids(tc.stub, sids)
		if !errors.Is(err, tc.wantErr) {
			t.Fatalf("%s: err %v, want %v", tc.name, err, tc.wantErr)
		}
		if err == nil && len(res.Translations) != n {
			t.Fatalf("%s: %d translations", tc.name, len(res.Translations))
		}
		amp.Check(t, "lsa lookup sids: "+tc.name, len(tc.stub), func() any {
			res, _ := DecodeLookupSids(tc.stub, sids)
			return res
		})
	}
}

// FuzzAmpLookupSids fails when a LookupSids reply for 16 SIDs decodes to
// more than amp.Factor bytes per byte received (the SIDs asked excepted).
func FuzzAmpLookupSids(f *testing.F) {
	sids := askedSids(16)
	base := amp.Size(sids)
	f.Add(lookupSidsReply(16, "DOM", 0))
	f.Add(lookupSidsReply(16, strings.Repeat("D", 40), 3))
	f.Fuzz(func(t *testing.T, stub []byte) {
		res, err := DecodeLookupSids(stub, sids)
		if err != nil {
			return
		}
		if n := amp.Size(res) - base; n > amp.Factor*len(stub)+4096 {
			t.Fatalf("reply of %d bytes holds %d bytes", len(stub), n)
		}
	})
}
