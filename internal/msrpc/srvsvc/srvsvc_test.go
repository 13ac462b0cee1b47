package srvsvc

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nullsweep/nullsweep/internal/werror"
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

// TestDecodeCaptured decodes replies captured from the Samba lab.
func TestDecodeCaptured(t *testing.T) {
	res, err := DecodeShareEnum(stub(t, "share_enum1_open.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Share{
		{Name: "public", Type: STypeDiskTree, Remark: "guest readable share"},
		{Name: "data", Type: STypeDiskTree, Remark: "team data"},
		{Name: "backup$", Type: STypeDiskTree, Remark: "hidden backup share"},
		{Name: "IPC$", Type: STypeIPC | STypeSpecial, Remark: "IPC Service (lab victim open)"},
	}
	if d := cmp.Diff(want, res.Shares); d != "" || res.Status != werror.Success || res.TotalEntries != 4 || res.Resume == nil || *res.Resume != 0 {
		t.Fatalf("open shares (-want +got):\n%s\n%+v", d, res)
	}
	res, err = DecodeShareEnum(stub(t, "share_enum1_dc.hex"))
	if err != nil || len(res.Shares) != 4 || res.Shares[0].Name != "print$" {
		t.Fatalf("dc shares %+v %v", res, err)
	}
	for _, name := range []string{"share_enum1_denied.hex", "share_enum0_denied.hex"} {
		res, err = DecodeShareEnum(stub(t, name))
		if err != nil || res.Status != werror.AccessDenied || len(res.Shares) != 0 {
			t.Fatalf("%s: %+v %v", name, res, err)
		}
	}

	info, status, err := DecodeServerGetInfo(stub(t, "server_info101_open.hex"))
	wantInfo := &ServerInfo{Level: 101, PlatformID: 500, Name: "OPENSRV", VersionMajor: 6, VersionMinor: 1, Type: 0x809a03, Comment: "lab victim open"}
	if err != nil || status != werror.Success || !cmp.Equal(info, wantInfo) {
		t.Fatalf("server info %+v %v %v", info, status, err)
	}
	for _, name := range []string{"server_info101_denied.hex", "server_info100_denied.hex"} {
		info, status, err = DecodeServerGetInfo(stub(t, name))
		if err != nil || status != werror.AccessDenied || info != nil {
			t.Fatalf("%s: %+v %v %v", name, info, status, err)
		}
	}
}

// TestEncodeGolden pins the request encodings, laid out by hand from the
// [MS-SRVS] IDL (Samba answers them: see the live tests).
func TestEncodeGolden(t *testing.T) {
	got := hex.EncodeToString(EncodeShareEnum(`\\h`, 1, 0))
	want := "00000200" + "04000000" + "00000000" + "04000000" + "5c005c0068000000" + // ServerName
		"01000000" + "01000000" + "04000200" + // level, arm, container ptr
		"00000000" + "00000000" + // EntriesRead, Buffer
		"ffffffff" + "08000200" + "00000000" // PreferedMaximumLength, resume
	if got != want {
		t.Fatalf("share enum\n got %s\nwant %s", got, want)
	}
	got = hex.EncodeToString(EncodeServerGetInfo(`\\h`, 101))
	if want := "00000200040000000000000004000000" + "5c005c0068000000" + "65000000"; got != want {
		t.Fatalf("server info\n got %s\nwant %s", got, want)
	}
}

func TestDecodeHostile(t *testing.T) {
	good := stub(t, "share_enum1_open.hex")
	// The conformant array count sits after level, arm, ptr, entries, ptr.
	huge := append([]byte(nil), good...)
	copy(huge[20:24], []byte{0xff, 0xff, 0xff, 0xff})
	mismatch := append([]byte(nil), good...)
	copy(mismatch[12:16], []byte{5, 0, 0, 0}) // EntriesRead 5, array of 4
	badArm := append([]byte(nil), good...)
	badArm[4] = 2
	tests := map[string][]byte{
		"huge count": huge, "entries mismatch": mismatch, "arm differs": badArm,
		"truncated": good[:len(good)-3], "empty": nil,
	}
	for name, b := range tests {
		if res, err := DecodeShareEnum(b); err == nil {
			t.Errorf("%s: accepted: %+v", name, res)
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for range 100 {
		DecodeShareEnum(huge)
	}
	runtime.ReadMemStats(&ms1)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("0xFFFFFFFF count allocated %d bytes", d)
	}
}

func seeds(f *testing.F, prefix string) {
	paths, _ := filepath.Glob("testdata/" + prefix + "*.hex")
	for _, p := range paths {
		f.Add(stub(f, filepath.Base(p)))
	}
}

func FuzzDecodeShareEnum(f *testing.F) {
	seeds(f, "share_enum")
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := DecodeShareEnum(b)
		if err == nil && len(res.Shares)*4 > len(b) {
			t.Fatalf("%d shares from %d bytes", len(res.Shares), len(b))
		}
	})
}

func FuzzDecodeServerGetInfo(f *testing.F) {
	seeds(f, "server_info")
	f.Fuzz(func(t *testing.T, b []byte) {
		info, _, err := DecodeServerGetInfo(b)
		if err == nil && info != nil && len(info.Name)+len(info.Comment) > 2*len(b) {
			t.Fatalf("strings longer than input")
		}
	})
}

// fakeCaller answers each call with the next canned reply.
type fakeCaller struct {
	replies [][]byte
	reqs    [][]byte
}

func (f *fakeCaller) Call(_ context.Context, opnum uint16, stub []byte) ([]byte, error) {
	f.reqs = append(f.reqs, stub)
	if len(f.replies) == 0 {
		return nil, errors.New("no more replies")
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	return r, nil
}

// TestShareEnumResume: ERROR_MORE_DATA with a resume handle makes the
// client ask again from that handle and concatenate the pages.
func TestShareEnumResume(t *testing.T) {
	page := stub(t, "share_enum1_open.hex")
	more := append([]byte(nil), page...)
	binary.LittleEndian.PutUint32(more[len(more)-8:], 4)                       // resume handle
	binary.LittleEndian.PutUint32(more[len(more)-4:], uint32(werror.MoreData)) // status
	f := &fakeCaller{replies: [][]byte{more, page}}
	shares, err := New(f, "h").ShareEnum(context.Background(), 1)
	if err != nil || len(shares) != 8 || len(f.reqs) != 2 {
		t.Fatalf("%d shares, %d calls, %v", len(shares), len(f.reqs), err)
	}
	if !bytes.HasSuffix(f.reqs[1], []byte{4, 0, 0, 0}) {
		t.Fatalf("second request does not resume from 4: %x", f.reqs[1])
	}
	// A server that says MORE_DATA forever is cut off.
	loop := &fakeCaller{}
	for range maxEnumRounds + 1 {
		loop.replies = append(loop.replies, more)
	}
	if _, err := New(loop, "h").ShareEnum(context.Background(), 1); err == nil {
		t.Fatal("endless ERROR_MORE_DATA accepted")
	}
}
