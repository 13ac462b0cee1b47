package lsa

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

func stub(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	openSID = "S-1-5-21-2024573870-1098413192-894822820"
	dcSID   = "S-1-5-21-143673880-3263458639-3216558752"
)

// capturedSids are the SIDs the lookup captures were made with (see
// TestLiveLookupAgainstRpcclient).
func capturedSids(domain string) []ndr.SID {
	sids := []ndr.SID{ndr.MustParseSID("S-1-5-32-544"), ndr.MustParseSID("S-1-1-0"), ndr.MustParseSID("S-1-5-21-1-2-3-4")}
	for _, rid := range []uint32{500, 501, 512, 513, 514, 1000, 1001, 1002, 1003, 1004, 1005} {
		sids = append(sids, ndr.MustParseSID(domain).Append(rid))
	}
	return sids
}

var capturedNames = []string{"administrator", "root", "nobody", "alice", "LabAdmins", "nosuchuser", "Everyone"}

func TestDecodeCapturedQuery(t *testing.T) {
	tests := []struct {
		file   string
		class  uint16
		name   string
		sid    string // "" = null SID
		status ntstatus.Status
	}{
		{"query_primary_open.hex", 3, "LAB", "", 0},
		{"query_account_open.hex", 5, "OPENSRV", openSID, 0},
		{"query_primary_dc.hex", 3, "LAB", dcSID, 0},
		{"query_account_dc.hex", 5, "LAB", dcSID, 0},
		{"query_dns_invalid_class_open.hex", 12, "", "", ntstatus.InvalidInfoClass},
	}
	for _, tt := range tests {
		info, status, err := DecodeQueryInformationPolicy(stub(t, tt.file))
		if err != nil || status != tt.status || info.Class != tt.class {
			t.Fatalf("%s: %+v %v %v", tt.file, info, status, err)
		}
		if tt.class == 12 {
			continue
		}
		d := info.Primary
		if tt.class == 5 {
			d = info.Account
		}
		if d.Name != tt.name || (tt.sid == "") != (d.SID == nil) || (d.SID != nil && d.SID.String() != tt.sid) {
			t.Errorf("%s: %s %v", tt.file, d.Name, d.SID)
		}
	}
	info, status, err := DecodeQueryInformationPolicy(stub(t, "query_dns_dc.hex"))
	if err != nil || status != 0 {
		t.Fatal(err, status)
	}
	d := info.DNS
	if d.Name != "LAB" || d.DNSDomain != "lab.test" || d.DNSForest != "lab.test" || d.SID.String() != dcSID ||
		d.GUID.String() != "39d35c5c-de10-4fec-9345-0cb541b28210" {
		t.Fatalf("dns %+v", d)
	}
}

func TestDecodeCapturedHandles(t *testing.T) {
	h, status, err := DecodeHandleStatus(stub(t, "policy2_ok_open.hex"))
	if err != nil || status != 0 || h.IsZero() {
		t.Fatal(h, status, err)
	}
	h, status, err = DecodeHandleStatus(stub(t, "policy2_denied_dc.hex"))
	if err != nil || status != ntstatus.AccessDenied || !h.IsZero() {
		t.Fatal(h, status, err)
	}
	for _, f := range []string{"enum_trusts_open.hex", "enum_trusts_dc.hex"} {
		res, err := DecodeEnumerateTrustedDomains(stub(t, f))
		if err != nil || res.Status != ntstatus.NoMoreEntries || len(res.Domains) != 0 {
			t.Fatal(f, res, err)
		}
	}
	res, err := DecodeEnumerateTrustedDomainsEx(stub(t, "enum_trusts_ex_dc.hex"))
	if err != nil || res.Status != ntstatus.NoMoreEntries || len(res.Domains) != 0 {
		t.Fatal(res, err)
	}
}

func TestDecodeCapturedLookups(t *testing.T) {
	res, err := DecodeLookupSids(stub(t, "lookup_sids_open.hex"), capturedSids(openSID))
	if err != nil || res.Status != ntstatus.SomeNotMapped || res.MappedCount != 9 {
		t.Fatalf("%+v %v", res, err)
	}
	want := map[int]string{0: `BUILTIN\Administrators alias`, 1: `\Everyone well-known`, 2: `\ unknown`, 4: `OPENSRV\nobody user`,
		6: `OPENSRV\None group`, 8: `OPENSRV\alice user`, 12: `OPENSRV\LabOps alias`, 13: `\ unknown`}
	for i, w := range want {
		x := res.Translations[i]
		name := x.Name
		if !x.Mapped() {
			name = ""
		}
		if got := x.Domain + `\` + name + " " + x.Use.String(); got != w {
			t.Errorf("sid %d: %q, want %q", i, got, w)
		}
	}
	res, err = DecodeLookupSids(stub(t, "lookup_sids_dc.hex"), capturedSids(dcSID))
	if err != nil || res.Translations[3].Name != "Administrator" || res.Translations[8].Name != "DC1$" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := DecodeLookupSids(stub(t, "lookup_sids_open.hex"), capturedSids(openSID)[:3]); err == nil {
		t.Fatal("names/SIDs count mismatch accepted")
	}

	none := []ndr.SID{ndr.MustParseSID(openSID).Append(90000), ndr.MustParseSID(openSID).Append(90001)}
	res, err = DecodeLookupSids(stub(t, "lookup_sids_none_mapped_open.hex"), none)
	if err != nil || res.Status != ntstatus.NoneMapped || len(res.Translations) != 2 || res.Translations[1].Mapped() || !res.Translations[1].SID.Equal(none[1]) {
		t.Fatalf("none mapped sids: %+v %v", res, err)
	}
	res, err = DecodeLookupNames(stub(t, "lookup_names_none_mapped_open.hex"), []string{"nosuch1", "nosuch2"})
	if err != nil || res.Status != ntstatus.NoneMapped || len(res.Translations) != 2 || res.Translations[0].Mapped() || res.Translations[1].Name != "nosuch2" {
		t.Fatalf("none mapped names: %+v %v", res, err)
	}

	res, err = DecodeLookupNames(stub(t, "lookup_names_open.hex"), capturedNames)
	if err != nil || res.Status != ntstatus.SomeNotMapped {
		t.Fatalf("%+v %v", res, err)
	}
	for i, w := range []string{"S-0-0 unknown", "S-1-22-1-0 user", "S-1-22-1-65534 user", openSID + "-1000 user",
		openSID + "-1003 group", "S-0-0 unknown", "S-1-1-0 well-known"} {
		x := res.Translations[i]
		if got := x.SID.String() + " " + x.Use.String(); got != w {
			t.Errorf("name %s: %q, want %q", capturedNames[i], got, w)
		}
	}
}

// TestEncodeGolden pins request layouts, written by hand from the IDLs.
func TestEncodeGolden(t *testing.T) {
	got := hex.EncodeToString(EncodeOpenPolicy(OpOpenPolicy2, 0x801))
	want := "00000000" + // SystemName null
		"18000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000200" + // object attributes
		"0c000000" + "0200" + "01" + "00" + // QoS
		"01080000"
	if got != want {
		t.Errorf("open policy2\n got %s\nwant %s", got, want)
	}
	h := ndr.Handle{1, 2, 3}
	b, err := EncodeLookupSids(h, []ndr.SID{ndr.MustParseSID("S-1-5-32-544")})
	if err != nil {
		t.Fatal(err)
	}
	want = "0102030000000000000000000000000000000000" + // handle
		"01000000" + "00000200" + // Entries, SidInfo
		"01000000" + "04000200" + // array of 1 pointer
		"02000000" + "0102" + "000000000005" + "20000000" + "20020000" + // SID
		"00000000" + "00000000" + // TranslatedNames
		"0100" + "0000" + "00000000" // level, pad, MappedCount
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("lookup sids\n got %s\nwant %s", got, want)
	}
	b, err = EncodeLookupNames(h, []string{"ab"})
	if err != nil {
		t.Fatal(err)
	}
	want = "0102030000000000000000000000000000000000" +
		"01000000" + "01000000" + // Count, max_count
		"0400" + "0400" + "00000200" + // RPC_UNICODE_STRING
		"02000000" + "00000000" + "02000000" + "61006200" + // body
		"00000000" + "00000000" + "0100" + "0000" + "00000000"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("lookup names\n got %s\nwant %s", got, want)
	}
}

func TestLookupLimits(t *testing.T) {
	sids := make([]ndr.SID, MaxLookupSids)
	for i := range sids {
		sids[i] = ndr.MustParseSID(openSID).Append(uint32(i))
	}
	b, err := EncodeLookupSids(ndr.Handle{}, sids)
	if err != nil || len(b) < MaxLookupSids*28 {
		t.Fatalf("20480 SIDs: %d bytes, %v", len(b), err)
	}
	if _, err := EncodeLookupSids(ndr.Handle{}, append(sids, sids[0])); err == nil {
		t.Fatal("20481 SIDs accepted")
	}
	if _, err := EncodeLookupNames(ndr.Handle{}, make([]string, MaxLookupNames+1)); err == nil {
		t.Fatal("1001 names accepted")
	}
}

// TestDecodeHostile: lying counts and indexes are errors, and a count of
// 0xFFFFFFFF allocates nothing big.
func TestDecodeHostile(t *testing.T) {
	good := stub(t, "lookup_sids_open.hex")
	sids := capturedSids(openSID)
	// Referenced domain list: ptr(0) Entries(4) ptr(8) MaxEntries(12) max_count(16).
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[16:], 0xFFFFFFFF)
	moreEntries := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(moreEntries[4:], 200)
	for name, b := range map[string][]byte{"huge": huge, "entries > array": moreEntries, "short": good[:len(good)-5]} {
		if res, err := DecodeLookupSids(b, sids); err == nil {
			t.Errorf("%s accepted: %+v", name, res)
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for range 100 {
		DecodeLookupSids(huge, sids)
		DecodeLookupNames(huge, capturedNames)
		DecodeEnumerateTrustedDomains([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	}
	runtime.ReadMemStats(&ms1)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes", d)
	}
}

// fakeLSA answers OpenPolicy2/OpenPolicy with canned statuses.
type fakeLSA struct {
	noPolicy2 bool
	allow     uint32 // the one mask granted
	calls     []string
}

func (f *fakeLSA) Call(_ context.Context, opnum uint16, stub []byte) ([]byte, error) {
	access := binary.LittleEndian.Uint32(stub[len(stub)-4:])
	f.calls = append(f.calls, hex.EncodeToString([]byte{byte(opnum)})+":"+hex.EncodeToString(stub[len(stub)-4:]))
	if opnum == OpOpenPolicy2 && f.noPolicy2 {
		return nil, &dcerpc.Fault{Status: dcerpc.FaultOpRngError}
	}
	out := make([]byte, 24)
	if access == f.allow {
		out[0] = 1
	} else {
		binary.LittleEndian.PutUint32(out[20:], uint32(ntstatus.AccessDenied))
	}
	return out, nil
}

func TestOpenPolicyFallback(t *testing.T) {
	f := &fakeLSA{allow: PolicyLookupNames}
	p, err := New(f).OpenPolicy(context.Background())
	if err != nil || p.Access != PolicyLookupNames || p.Opnum != OpOpenPolicy2 || len(p.Attempts) != 3 {
		t.Fatalf("%+v %v", p, err)
	}
	f = &fakeLSA{allow: PolicyViewLocalInformation, noPolicy2: true}
	p, err = New(f).OpenPolicy(context.Background())
	if err != nil || p.Opnum != OpOpenPolicy || p.Access != PolicyViewLocalInformation || len(p.Attempts) != 3 {
		t.Fatalf("%+v %v %v", p, err, f.calls)
	}
	f = &fakeLSA{}
	p, err = New(f).OpenPolicy(context.Background())
	if !errors.Is(err, ntstatus.AccessDenied) || len(p.Attempts) != 3 {
		t.Fatalf("%+v %v", p, err)
	}
}

func seeds(f *testing.F, prefix string) {
	paths, _ := filepath.Glob("testdata/" + prefix + "*.hex")
	for _, p := range paths {
		f.Add(stub(f, filepath.Base(p)))
	}
}

func FuzzDecodeLookupSids(f *testing.F) {
	seeds(f, "lookup_sids")
	sids := capturedSids(openSID)
	f.Fuzz(func(t *testing.T, b []byte) {
		if res, err := DecodeLookupSids(b, sids); err == nil && len(res.Translations) != len(sids) && res.Translations != nil {
			t.Fatalf("%d translations for %d SIDs", len(res.Translations), len(sids))
		}
	})
}

func FuzzDecodeLookupNames(f *testing.F) {
	seeds(f, "lookup_names")
	f.Fuzz(func(t *testing.T, b []byte) {
		if res, err := DecodeLookupNames(b, capturedNames); err == nil && len(res.Translations) != len(capturedNames) && res.Translations != nil {
			t.Fatalf("%d translations for %d names", len(res.Translations), len(capturedNames))
		}
	})
}

func FuzzDecodeQueryInformationPolicy(f *testing.F) {
	seeds(f, "query")
	f.Fuzz(func(t *testing.T, b []byte) { DecodeQueryInformationPolicy(b) })
}

func FuzzDecodeEnumerateTrustedDomains(f *testing.F) {
	seeds(f, "enum_trusts")
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeEnumerateTrustedDomains(b)
		DecodeEnumerateTrustedDomainsEx(b)
	})
}

func FuzzDecodeHandleStatus(f *testing.F) {
	seeds(f, "policy2")
	seeds(f, "close")
	f.Fuzz(func(t *testing.T, b []byte) { DecodeHandleStatus(b) })
}
