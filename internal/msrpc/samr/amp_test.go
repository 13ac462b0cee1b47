package samr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
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

// enumPage is an Enumerate* reply with n entries named "a" and
// STATUS_MORE_ENTRIES.
func enumPage(n uint32) []byte {
	b := le(7, 0x20000, n, 0x20004, n)
	for i := range n {
		b = append(b, le(1000+i, 0x00020002, 0x20008+4*i)...)
	}
	for range n {
		b = append(b, le(1, 0, 1, 0x61)...)
	}
	return append(b, le(n, uint32(ntstatus.MoreEntries))...)
}

// TestEnumerationTotalCap: a server that pages without end stops at
// MaxEntries entries (or MaxEnumBytes), not at the 4,096th page.
func TestEnumerationTotalCap(t *testing.T) {
	page := enumPage(1000)
	f := &fakeRPC{answer: func(uint16, int) ([]byte, error) { return page, nil }}
	users, err := New(f).EnumerateUsers(context.Background(), Handle{}, 0)
	if err == nil || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("err %v", err)
	}
	if len(users) < MaxEntries || len(users) >= MaxEntries+1000 {
		t.Fatalf("%d users after %d pages, want the cap %d", len(users), len(f.calls), MaxEntries)
	}
}

// TestEnumAmplification: a page of the densest Enumerate* entries (a RID
// and a one-character name each) and one of names that widen most in
// UTF-8 stay within amp.Factor.
func TestEnumAmplification(t *testing.T) {
	wide := le(7, 0x20000, 4000, 0x20004, 4000)
	for i := range uint32(4000) {
		wide = append(wide, le(1000+i, 0x00400040, 0x20008+4*i)...)
	}
	for range 4000 {
		wide = append(wide, le(32, 0, 32)...)
		for range 16 {
			wide = append(wide, le(0x08000800)...)
		}
	}
	wide = append(wide, le(4000, 0)...)
	for _, tc := range []struct {
		name string
		stub []byte
	}{{"one-character names", enumPage(20000)}, {"wide names", wide}} {
		rep, _, err := decEnum(tc.stub)
		if err != nil || len(rep.Entries) == 0 {
			t.Fatalf("%s: %d entries, %v", tc.name, len(rep.Entries), err)
		}
		amp.Check(t, "samr enumerate: "+tc.name, len(tc.stub), func() any {
			rep, _, _ := decEnum(tc.stub)
			return rep
		})
	}
}

// TestMembersTotalCap: groups of 20,000 members each are read until
// MaxMembers members are held; the groups after that say why they have no
// members instead of staying silently empty.
func TestMembersTotalCap(t *testing.T) {
	const per = 20000
	members := le(0x20000, per, 0x20004, 0x20008, per)
	for i := range uint32(per) {
		members = append(members, le(1000+i)...)
	}
	members = append(members, le(per)...)
	for range per {
		members = append(members, le(7)...)
	}
	members = append(members, le(0)...)
	handle := append(make([]byte, 20), le(0)...)
	f := &fakeRPC{answer: func(op uint16, _ int) ([]byte, error) {
		if op == OpGetMembersInGroup {
			return members, nil
		}
		return handle, nil
	}}
	e := &Enumeration{Account: &DomainRef{SID: ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{21, 1, 2, 3}}}}
	var jobs []*memberJob
	for i := range 10 {
		jobs = append(jobs, &memberJob{grp: Group{RID: uint32(500 + i), Kind: "domain"}})
	}
	New(f).readMembers(context.Background(), e, jobs, laneHandles{}, Options{})
	read, capped := 0, 0
	for _, j := range jobs {
		read += len(j.grp.Members)
		if errors.Is(j.grp.MembersErr, ErrMemberCap) {
			capped++
		}
	}
	if read < MaxMembers || read >= MaxMembers+per || capped != 10-(read/per) {
		t.Fatalf("%d members read, %d groups capped", read, capped)
	}
	// A member is 8 bytes on the wire and a Member with its SID as text
	// when held: the densest case of the enumeration.
	amp.Check(t, "samr group members", read/per*len(members), func() any {
		jobs := []*memberJob{}
		for i := range 10 {
			jobs = append(jobs, &memberJob{grp: Group{RID: uint32(500 + i), Kind: "domain"}})
		}
		New(f).readMembers(context.Background(), e, jobs, laneHandles{}, Options{})
		return jobs
	})
}

// FuzzAmpEnumerate fails when an Enumerate* page decodes to more than
// amp.Factor bytes per byte received.
func FuzzAmpEnumerate(f *testing.F) {
	f.Add(enumPage(3))
	f.Add(enumPage(0))
	f.Fuzz(func(t *testing.T, stub []byte) {
		rep, _, _ := decEnum(stub)
		amp.CheckSize(t, stub, rep)
	})
}
