package netbios

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata captures from the live lab")

func TestEncodeName(t *testing.T) {
	tests := []struct {
		name   string
		suffix byte
		want   string
	}{
		// RFC 1001 14.1 gives "FRED" → EGFCEFEECACACACACACACACACACACACA (with a space suffix).
		{"FRED", ' ', "EGFCEFEECACACACACACACACACACACACA"},
		{"*SMBSERVER", 0x20, "CKFDENECFDEFFCFGEFFCCACACACACACA"},
		{"*", 0, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"opensrv", 0x00, "EPFAEFEOFDFCFGCACACACACACACACAAA"},
	}
	for _, tt := range tests {
		raw := RawName(tt.name, tt.suffix)
		enc := EncodeName(raw)
		if got := string(enc[1:33]); got != tt.want || enc[0] != 32 || enc[33] != 0 || len(enc) != 34 {
			t.Errorf("EncodeName(%q<%02x>) = %q, want %q", tt.name, tt.suffix, enc, tt.want)
		}
		back, n, err := DecodeName(enc)
		if err != nil || n != 34 || back != raw {
			t.Errorf("DecodeName(EncodeName(%q)) = %q, %d, %v", tt.name, back, n, err)
		}
	}
	// A scope label and a compression pointer both end where they should.
	withScope := append(EncodeName(RawName("A", 0))[:33], 3, 'l', 'a', 'b', 0, 0xff)
	if _, n, err := DecodeName(withScope); err != nil || n != 38 {
		t.Errorf("scope: n=%d err=%v", n, err)
	}
	ptr := append(EncodeName(RawName("A", 0))[:33], 0xC0, 0x0C)
	if _, n, err := DecodeName(ptr); err != nil || n != 35 {
		t.Errorf("pointer: n=%d err=%v", n, err)
	}
	for _, bad := range [][]byte{nil, {32}, append([]byte{32}, bytes.Repeat([]byte{'Z'}, 32)...), EncodeName(RawName("A", 0))[:33]} {
		if _, _, err := DecodeName(bad); err == nil {
			t.Errorf("DecodeName(%x) accepted", bad)
		}
	}
}

func TestReadFrameSkipsKeepAlive(t *testing.T) {
	var in bytes.Buffer
	in.Write([]byte{TypeKeepAlive, 0, 0, 0})
	in.Write([]byte{TypeKeepAlive, 0, 0, 0})
	WriteFrame(&in, []byte("hello"))
	WriteFrame(&in, []byte("world!"))
	for _, want := range []string{"hello", "world!"} {
		got, err := ReadFrame(&in, 100)
		if err != nil || string(got) != want {
			t.Fatalf("ReadFrame = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadFrame(&in, 100); err == nil {
		t.Fatal("ReadFrame at EOF: no error")
	}
}

func TestReadFrameBounded(t *testing.T) {
	// A header claiming 16 MiB with 3 bytes behind it: refused before
	// allocating, and short bodies are errors.
	huge := []byte{0, 0xff, 0xff, 0xff, 1, 2, 3}
	allocs := allocBytes(func() {
		if _, err := ReadFrame(bytes.NewReader(huge), 1<<17); err == nil {
			t.Error("oversized frame accepted")
		}
	})
	if allocs > 1<<20 {
		t.Errorf("oversized frame allocated %d bytes", allocs)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 9, 1}), 100); err == nil {
		t.Error("short frame accepted")
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0x83, 0, 0, 1, 0x80}), 100); err == nil {
		t.Error("non-message frame accepted")
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

// fakeSSN answers each session request on its own connection with the
// next reply in replies; it records the called names it saw.
func fakeSSN(t *testing.T, replies ...[]byte) (dial func(context.Context) (net.Conn, error), seen chan string) {
	seen = make(chan string, len(replies))
	i := 0
	dial = func(ctx context.Context) (net.Conn, error) {
		if i >= len(replies) {
			return nil, errors.New("no more fake servers")
		}
		reply := replies[i]
		i++
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			req := make([]byte, 72)
			if _, err := ioReadFull(s, req); err != nil {
				return
			}
			raw, _, err := DecodeName(req[4:])
			if err != nil {
				return
			}
			name, _ := SplitName(raw)
			seen <- name
			s.Write([]byte{TypeKeepAlive, 0, 0, 0})
			s.Write(reply)
		}()
		return c, nil
	}
	return dial, seen
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestDialSessionFallsBack(t *testing.T) {
	dial, seen := fakeSSN(t, []byte{TypeNegativeResponse, 0, 0, 1, 0x82}, []byte{TypePositiveResponse, 0, 0, 0})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := DialSession(ctx, dial, "", SMBServerName, "OPENSRV")
	if err != nil {
		t.Fatalf("DialSession: %v", err)
	}
	conn.Close()
	if a, b := <-seen, <-seen; a != "*SMBSERVER" || b != "OPENSRV" {
		t.Errorf("called names %q, %q", a, b)
	}

	dial, _ = fakeSSN(t, []byte{TypeNegativeResponse, 0, 0, 1, 0x80})
	_, err = DialSession(ctx, dial, "ME", "X")
	var se *SessionError
	if !errors.As(err, &se) || se.Code != 0x80 || !strings.Contains(err.Error(), "not listening on called name") {
		t.Fatalf("negative response: %v", err)
	}
}

func TestSessionRequestDeadline(t *testing.T) {
	c, s := net.Pipe()
	defer s.Close()
	go ioReadFull(s, make([]byte, 72)) // read, never answer
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := SessionRequest(ctx, c, "X", "Y")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("SessionRequest on silent server: %v after %v", err, time.Since(start))
	}
}

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(h)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeHex(t *testing.T, name string, b []byte) {
	t.Helper()
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]) + "\n")
		b = b[n:]
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nbstat_opensrv.hex is the reply of the lab's nmbd (open, 127.0.0.2) to
// EncodeNodeStatusRequest(0x1234).
func TestParseNodeStatusCapture(t *testing.T) {
	b := readHex(t, "nbstat_opensrv.hex")
	st, err := ParseNodeStatus(b, 0x1234)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range st.Names {
		g := ""
		if n.Group {
			g = " group"
		}
		got = append(got, n.Printable()+"<"+hex.EncodeToString([]byte{n.Suffix})+">"+g)
	}
	want := "OPENSRV<00> OPENSRV<03> OPENSRV<20> ..__MSBROWSE__.<01> group LAB<00> group LAB<1d> LAB<1e> group"
	if strings.Join(got, " ") != want {
		t.Errorf("names:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if st.MAC.String() != "00:00:00:00:00:00" {
		t.Errorf("MAC %v", st.MAC)
	}
	if st.FileServer() != "OPENSRV" || st.Workgroup() != "LAB" {
		t.Errorf("file server %q workgroup %q", st.FileServer(), st.Workgroup())
	}
	if r := st.Names[5].Role(); r != "master browser" {
		t.Errorf("LAB<1d> role %q", r)
	}
	if _, err := ParseNodeStatus(b, 0x4321); err == nil {
		t.Error("wrong transaction id accepted")
	}
	for i := range b {
		if _, err := ParseNodeStatus(b[:i], 0x1234); err == nil {
			t.Errorf("truncated at %d accepted", i)
		}
	}
}

func TestParseNodeStatusHugeCount(t *testing.T) {
	b := readHex(t, "nbstat_opensrv.hex")
	// Claim 255 names and a 0xffff RDLENGTH: an error, and no big allocation.
	off := headerLen + wireNameLen + 8
	binary.BigEndian.PutUint16(b[off:], 0xffff)
	b[off+2] = 0xff
	if n := allocBytes(func() {
		if _, err := ParseNodeStatus(b, 0x1234); err == nil {
			t.Error("huge count accepted")
		}
	}); n > 1<<20 {
		t.Errorf("allocated %d bytes", n)
	}
}

func FuzzParseNodeStatus(f *testing.F) {
	f.Add(readHex(f, "nbstat_opensrv.hex"))
	f.Add(readHex(f, "nbstat_dc1.hex"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseNodeStatus(b, 0x1234)
		if err == nil && len(st.Names) > 255 {
			t.Fatal("more names than a count byte allows")
		}
	})
}

func FuzzDecodeName(f *testing.F) {
	f.Add(EncodeName(RawName("*SMBSERVER", 0x20)))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, n, err := DecodeName(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		if !bytes.Equal(EncodeName(raw)[:33], b[:33]) {
			t.Fatal("round trip differs")
		}
	})
}
