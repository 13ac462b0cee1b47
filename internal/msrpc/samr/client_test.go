package samr

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// fakeRPC answers each opnum from a function; it stands in for servers
// that lie (a real one will not loop forever or fault on demand).
type fakeRPC struct {
	calls     []uint16
	answer    func(opnum uint16, n int) ([]byte, error)
	answerReq func(opnum uint16, req []byte) ([]byte, error)
}

func (f *fakeRPC) Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	f.calls = append(f.calls, opnum)
	if f.answerReq != nil {
		return f.answerReq(opnum, stub)
	}
	return f.answer(opnum, len(f.calls))
}

// A server that keeps saying STATUS_MORE_ENTRIES must not keep us forever.
func TestPagingIsBounded(t *testing.T) {
	more := le(7, 0x20000, 1, 0x20004, 1, 1000, 0x00020002, 0x20008, 1, 0, 1, 0x61, 1, uint32(ntstatus.MoreEntries))
	f := &fakeRPC{answer: func(uint16, int) ([]byte, error) { return more, nil }}
	c := New(f)
	c.MaxPages = 5
	users, err := c.EnumerateUsers(context.Background(), Handle{}, 0)
	if err == nil || len(f.calls) != 5 || len(users) != 5 {
		t.Errorf("%d calls, %d users, err %v", len(f.calls), len(users), err)
	}
	// MORE_ENTRIES with nothing in it is an error at once.
	empty := le(0, 0, 0, uint32(ntstatus.MoreEntries))
	f = &fakeRPC{answer: func(uint16, int) ([]byte, error) { return empty, nil }}
	if _, err := New(f).EnumerateGroups(context.Background(), Handle{}); err == nil || len(f.calls) != 1 {
		t.Errorf("empty MORE_ENTRIES: %d calls, err %v", len(f.calls), err)
	}
}

// Connect falls back to Connect2 when Connect5 faults, and records both.
func TestConnectFallbackAndEvidence(t *testing.T) {
	handle := strings.Repeat("11", 20) + "00000000"
	h2, _ := hex.DecodeString(handle)
	f := &fakeRPC{answer: func(op uint16, _ int) ([]byte, error) {
		if op == OpConnect5 {
			return nil, &dcerpc.Fault{Status: 0x1c010002}
		}
		return h2, nil
	}}
	c := New(f)
	var rec []Call
	c.OnCall = func(call Call) { rec = append(rec, call) }
	h, which, err := c.Connect(context.Background(), 0x31)
	if err != nil || which != "Connect2" || h[0] != 0x11 {
		t.Fatalf("%x %s %v", h, which, err)
	}
	if len(rec) != 2 || rec[0].Status != dcerpc.FaultName(dcerpc.FaultOpRngError) || rec[0].Err == nil || rec[1].Status != ntstatus.Success.String() {
		t.Errorf("evidence %+v", rec)
	}
}

// STATUS_NONE_MAPPED is an answer for lookups, not a failure.
func TestLookupNoneMapped(t *testing.T) {
	f := &fakeRPC{answer: func(uint16, int) ([]byte, error) {
		return le(0, 0, 0, 0, uint32(ntstatus.NoneMapped)), nil
	}}
	rids := make([]uint32, 2500)
	for i := range rids {
		rids[i] = uint32(5000 + i)
	}
	got, err := New(f).LookupIDs(context.Background(), Handle{}, rids)
	if err != nil || len(got) != 2500 || got[2499].RID != 7499 || got[0].Use != UseUnknown {
		t.Fatalf("%d results, err %v", len(got), err)
	}
	if len(f.calls) != 3 {
		t.Errorf("%d calls for 2,500 RIDs, want 3 of at most 1,000", len(f.calls))
	}
}

// Request encodings, checked by hand against the IDL ([MS-SAMR] 3.1.5)
// and NDR rules; the live tests show Samba accepts them.
func TestRequestEncoding(t *testing.T) {
	var h ndr.Handle
	for i := range h {
		h[i] = byte(i + 1)
	}
	hh := hex.EncodeToString(h[:])
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		// unique ptr, max 1, offset 0, actual 1, NUL, pad, access,
		// InVersion 1, arm 1, Revision 3, SupportedFeatures 0
		{"Connect5", encConnect5(0x31), "00000200" + "01000000" + "00000000" + "01000000" + "0000" + "0000" + "31000000" + "01000000" + "01000000" + "03000000" + "00000000"},
		{"Connect2", encConnect2(0x31), "00000200" + "01000000" + "00000000" + "01000000" + "0000" + "0000" + "31000000"},
		// handle, Length 6, MaximumLength 6, ptr; max 3, offset 0, actual 3, "LAB"
		{"LookupDomain", encLookupDomain(h, "LAB"), hh + "0600" + "0600" + "00000200" + "03000000" + "00000000" + "03000000" + "4c004100" + "4200"},
		// handle, access, conformance 4, rev 1, count 4, authority 5, sub-authorities
		{"OpenDomain", encOpenDomain(h, 0x305, ndr.MustParseSID("S-1-5-21-1-2-3")), hh + "05030000" + "04000000" + "01" + "04" + "000000000005" + "15000000" + "01000000" + "02000000" + "03000000"},
		// handle, class 1 (16 bits), pad, index, count, length
		{"QueryDisplayInformation", encQueryDisplay(h, 1, 1024, 0xffffffff, 0xffffffff), hh + "0100" + "0000" + "00040000" + "ffffffff" + "ffffffff"},
		{"QueryInformationDomain2", encHandleClass(h, 12), hh + "0c00"},
		// Count, then size_is(1000) length_is(Count)
		{"LookupIdsInDomain", encLookupIds(h, []uint32{500, 501}), hh + "02000000" + "e8030000" + "00000000" + "02000000" + "f4010000" + "f5010000"},
		{"LookupNamesInDomain", encLookupNames(h, []string{"a"}), hh + "01000000" + "e8030000" + "00000000" + "01000000" + "0200" + "0200" + "00000200" + "01000000" + "00000000" + "01000000" + "6100"},
		{"EnumerateUsersInDomain", encEnumUsers(h, 7, 0, 0xffffffff), hh + "07000000" + "00000000" + "ffffffff"},
		{"GetDomainPasswordInformation", encGetDomainPasswordInformation(), "00000000"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.got); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// Errors wrap the NTSTATUS so callers can tell denial from failure.
func TestErrorsWrapStatus(t *testing.T) {
	f := &fakeRPC{answer: func(uint16, int) ([]byte, error) { return capture(t, "restricted1-Connect5"), nil }}
	_, err := New(f).Connect5(context.Background(), 0x31)
	if !errors.Is(err, ntstatus.AccessDenied) || !strings.HasPrefix(err.Error(), "samr: Connect5: ") {
		t.Errorf("err %v", err)
	}
}

func TestFileTime(t *testing.T) {
	for _, tc := range []struct {
		raw  int64
		want string // "" = not set
	}{
		{0, ""},
		{-1, ""},
		{0x7fffffffffffffff, ""},
		{116444736000000000, "1970-01-01T00:00:00Z"},
		{116444736000000001, "1970-01-01T00:00:00.0000001Z"},
		{116444735999999999, "1969-12-31T23:59:59.9999999Z"},
		{1, "1601-01-01T00:00:00.0000001Z"},
		// Past 2262, where 100 ns as a time.Duration overflows.
		{0x7ffffffffffffffe, "30828-09-14T02:48:05.4775806Z"},
	} {
		got, set := FileTime(tc.raw)
		if tc.want == "" {
			if set {
				t.Errorf("FileTime(%#x) = %v, want not set", tc.raw, got)
			}
			continue
		}
		if !set || got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("FileTime(%#x) = %v %v, want %s", tc.raw, got.Format(time.RFC3339Nano), set, tc.want)
		}
	}
}
