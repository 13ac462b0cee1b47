package wkssvc

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/dcerpc/dcerpctest"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// -update records response stubs into testdata/ as <posture>_opnum0_<i>.hex;
// the checked-in files were renamed after what they hold.
var update = flag.Bool("update", false, "record response stubs from the lab into testdata/")

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

// TestLiveAgainstImpacket compares NetrWkstaGetInfo 100 with impacket's
// hNetrWkstaGetInfo (rpcclient prints nothing for this call) on open, dc
// and restricted1 (which allows it).
func TestLiveAgainstImpacket(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "open", "dc", "restricted1")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		labtest.OracleMissing(t, "no /usr/bin/python3 for the impacket oracle")
	}
	for _, posture := range []string{"open", "dc", "restricted1"} {
		t.Run(posture, func(t *testing.T) {
			host := addrs[posture]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rec := &dcerpctest.Recorder{Caller: dcerpctest.Pipe(t, host, "wkssvc", dcerpc.WKSSVC), Prefix: posture}
			if *update {
				rec.Dir = "testdata"
			}
			info, err := New(rec, host).WkstaGetInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/oracle_wkst.py", host).CombinedOutput()
			if err != nil || strings.Contains(string(out), "No module named") {
				labtest.OracleMissing(t, "impacket oracle unavailable: %v %s", err, out)
			}
			got := fmt.Sprintf("platform=%d computer=%s langroup=%s ver=%d.%d",
				info.PlatformID, info.ComputerName, info.LanGroup, info.VersionMajor, info.VersionMinor)
			if want := strings.TrimSpace(string(out)); got != want {
				t.Fatalf("got  %s\nwant %s (impacket)", got, want)
			}
		})
	}
}

func TestDecodeCaptured(t *testing.T) {
	info, status, err := DecodeWkstaGetInfo(stub(t, "wksta_info100_open.hex"))
	want := &WkstaInfo100{PlatformID: 500, ComputerName: "OPENSRV", LanGroup: "LAB", VersionMajor: 6, VersionMinor: 1}
	if err != nil || status != werror.Success || !cmp.Equal(info, want) {
		t.Fatalf("%+v %v %v", info, status, err)
	}
	// A denied reply: level, null arm, ERROR_ACCESS_DENIED.
	info, status, err = DecodeWkstaGetInfo([]byte{100, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0})
	if err != nil || status != werror.AccessDenied || info != nil {
		t.Fatalf("denied: %+v %v %v", info, status, err)
	}
}

func TestEncodeGolden(t *testing.T) {
	got := hex.EncodeToString(EncodeWkstaGetInfo(`\\h`, 100))
	if want := "00000200040000000000000004000000" + "5c005c0068000000" + "64000000"; got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestDecodeHostile(t *testing.T) {
	good := stub(t, "wksta_info100_open.hex")
	// First string: ptr ids at 8..20, then max_count at 28.
	huge := append([]byte(nil), good...)
	copy(huge[28:32], []byte{0xff, 0xff, 0xff, 0xff})
	copy(huge[36:40], []byte{0xff, 0xff, 0xff, 0xff})
	for name, b := range map[string][]byte{"huge": huge, "short": good[:len(good)-2], "level 101": append([]byte{101}, good[1:]...)} {
		if info, _, err := DecodeWkstaGetInfo(b); err == nil {
			t.Errorf("%s accepted: %+v", name, info)
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for range 100 {
		DecodeWkstaGetInfo(huge)
	}
	runtime.ReadMemStats(&ms1)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes", d)
	}
}

func FuzzDecodeWkstaGetInfo(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.hex")
	for _, p := range paths {
		f.Add(stub(f, filepath.Base(p)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, _, err := DecodeWkstaGetInfo(b)
		if err == nil && info != nil && len(info.ComputerName)+len(info.LanGroup) > 2*len(b) {
			t.Fatal("strings longer than input")
		}
	})
}
