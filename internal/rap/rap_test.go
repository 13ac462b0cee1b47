package rap

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A reply file holds two hex lines: the parameters, then the data.
func writeReply(t *testing.T, name string, r [2][]byte) {
	t.Helper()
	s := hex.EncodeToString(r[0]) + "\n" + hex.EncodeToString(r[1]) + "\n"
	if err := os.WriteFile(filepath.Join("testdata", name+".hex"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readReply(t testing.TB, name string) (params, data []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		t.Fatalf("%s: want two lines", name)
	}
	params, err = hex.DecodeString(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	data, err = hex.DecodeString(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	return params, data
}

func TestDecodeCaptures(t *testing.T) {
	p, d := readReply(t, "netshareenum_smb1only")
	shares, err := ParseShareEnum(p, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range shares {
		got = append(got, s.Name+"/"+strconv.Itoa(int(s.Type))+"/"+s.Remark)
	}
	want := "public/0/guest readable share,data/0/team data,backup$/0/hidden backup share,IPC$/3/IPC Service (lab victim smb1only)"
	if strings.Join(got, ",") != want {
		t.Errorf("shares\n got %s\nwant %s", strings.Join(got, ","), want)
	}

	p, d = readReply(t, "netservergetinfo_smb1only")
	si, err := ParseServerGetInfo(p, d)
	if err != nil || si.Name != "SMB1SRV" || si.Type&SVTypeServer == 0 || si.Comment == "" {
		t.Errorf("server info %+v %v", si, err)
	}

	p, d = readReply(t, "netserverenum2_domains_open")
	doms, err := ParseServerEnum2(p, d)
	if err != nil || len(doms) != 1 || doms[0].Name != "LAB" || doms[0].Comment != "OPENSRV" || doms[0].Type&SVTypeDomainEnum == 0 {
		t.Errorf("domains %+v %v", doms, err)
	}
	p, d = readReply(t, "netserverenum2_all_open")
	srv, err := ParseServerEnum2(p, d)
	if err != nil || len(srv) != 1 || srv[0].Name != "OPENSRV" || srv[0].Comment != "lab victim open" {
		t.Errorf("servers %+v %v", srv, err)
	}
	if n := strings.Join(TypeNames(srv[0].Type), ","); !strings.Contains(n, "server") || !strings.Contains(n, "master_browser") {
		t.Errorf("type names %s", n)
	}
}

func TestDecodeHostile(t *testing.T) {
	p, d := readReply(t, "netshareenum_smb1only")
	// Every truncation errors or decodes; none panics.
	for i := 0; i <= len(d); i++ {
		ParseShareEnum(p, d[:i])
	}
	for i := 0; i <= len(p); i++ {
		if _, err := ParseShareEnum(p[:i], d); i < 6 && err == nil {
			t.Errorf("params cut at %d accepted", i)
		}
	}
	// 0xffff entries claimed against 80 bytes: refused with no big allocation.
	bad := append([]byte(nil), p...)
	binary.LittleEndian.PutUint16(bad[4:], 0xffff)
	if n := allocBytes(func() {
		if _, err := ParseShareEnum(bad, d); err == nil {
			t.Error("huge count accepted")
		}
		if _, err := ParseServerEnum2(bad, d); err == nil {
			t.Error("huge count accepted")
		}
	}); n > 1<<20 {
		t.Errorf("allocated %d bytes", n)
	}
	// A converter that puts every pointer out of range: empty remarks.
	bad = append([]byte(nil), p...)
	binary.LittleEndian.PutUint16(bad[2:], 0x8000)
	shares, err := ParseShareEnum(bad, d)
	if err != nil || shares[0].Remark != "" {
		t.Errorf("bad converter: %+v %v", shares, err)
	}
	// An access-denied status.
	if _, err := ParseShareEnum([]byte{5, 0, 0, 0, 0, 0, 0, 0}, nil); !errors.As(err, new(*Error)) || !strings.Contains(err.Error(), "ACCESS_DENIED") {
		t.Errorf("status 5: %v", err)
	}
	// ERROR_MORE_DATA keeps the entries that came.
	more := append([]byte(nil), p...)
	binary.LittleEndian.PutUint16(more, StatusMoreData)
	if s, err := ParseShareEnum(more, d); len(s) != 4 || err == nil {
		t.Errorf("more data: %d entries, %v", len(s), err)
	}
}

func allocBytes(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func FuzzParseReplies(f *testing.F) {
	for _, n := range []string{"netshareenum_smb1only", "netservergetinfo_smb1only", "netserverenum2_domains_open", "netserverenum2_all_open"} {
		p, d := readReply(f, n)
		f.Add(p, d)
	}
	f.Fuzz(func(t *testing.T, p, d []byte) {
		if s, err := ParseShareEnum(p, d); err == nil && len(s)*20 > len(d) {
			t.Fatal("more shares than bytes")
		}
		if s, err := ParseServerEnum2(p, d); err == nil && len(s)*26 > len(d) {
			t.Fatal("more servers than bytes")
		}
		ParseServerGetInfo(p, d)
	})
}
