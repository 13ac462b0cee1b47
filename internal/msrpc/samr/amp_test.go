package samr

import (
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
)

// aliasMembers builds a GetMembersInAlias reply: Count, the array pointer,
// max_count, n member pointers, then sids minimal SIDs (S-1-5, no
// sub-authority: 12 bytes each) and the status.
func aliasMembers(n, sids uint32) []byte {
	b := le(n, 0x20000, n)
	for i := range n {
		b = append(b, le(0x20004+4*i)...)
	}
	for range sids {
		b = append(b, le(0, 0x00000001, 0x05000000)...)
	}
	return append(b, le(0)...)
}

// TestAliasMembersAmplification: an alias member array checked at 4 bytes
// per pointer made a 4 MiB stub allocate 106 MiB (x27) before failing; a
// count is now checked against a pointer and a minimal SID per member, and
// the densest valid reply stays within amp.Factor.
func TestAliasMembersAmplification(t *testing.T) {
	const n = 1 << 16
	for _, tc := range []struct {
		name    string
		stub    []byte
		wantErr bool
	}{
		{"pointers without SIDs", aliasMembers(4<<20/4, 0), true},
		{"minimal SIDs", aliasMembers(n, n), false},
	} {
		sids, _, err := decGetMembersInAlias(tc.stub)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v, want error %v", tc.name, err, tc.wantErr)
		}
		if !tc.wantErr && len(sids) != n {
			t.Fatalf("%s: %d SIDs, want %d", tc.name, len(sids), n)
		}
		amp.Check(t, "samr alias members: "+tc.name, len(tc.stub), func() any {
			sids, _, _ := decGetMembersInAlias(tc.stub)
			return sids
		})
	}
}

// FuzzAmpAliasMembers fails when a GetMembersInAlias reply decodes to more
// than amp.Factor bytes per byte received.
func FuzzAmpAliasMembers(f *testing.F) {
	f.Add(aliasMembers(3, 3))
	f.Add(aliasMembers(64, 0))
	f.Fuzz(func(t *testing.T, stub []byte) {
		sids, _, _ := decGetMembersInAlias(stub)
		amp.CheckSize(t, stub, sids)
	})
}
