package smb1

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// The captures under testdata are replies of the lab's smb1only server
// (Samba 4.17, SMB1SRV), written by the live tests with -update.

func TestDecodeNegotiateCaptures(t *testing.T) {
	m, err := ParseMessage(readHex(t, "empty-password_negotiate.hex"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseNegotiate(m)
	if err != nil {
		t.Fatal(err)
	}
	if n.ExtendedSecurity || len(n.Challenge) != 8 || n.DomainName != "LAB" || n.ServerName != "SMB1SRV" {
		t.Errorf("non-extended negotiate: ext=%v challenge=%x domain=%q server=%q", n.ExtendedSecurity, n.Challenge, n.DomainName, n.ServerName)
	}
	if n.Capabilities&CapUnicode == 0 || n.Capabilities&CapExtendedSecurity != 0 || n.SystemTime.Year() < 2020 {
		t.Errorf("caps %#x time %v", n.Capabilities, n.SystemTime)
	}

	m, err = ParseMessage(readHex(t, "ntlmssp-anonymous_negotiate.hex"))
	if err != nil {
		t.Fatal(err)
	}
	n, err = ParseNegotiate(m)
	if err != nil {
		t.Fatal(err)
	}
	if !n.ExtendedSecurity || n.ServerGUID == ([16]byte{}) || n.Challenge != nil {
		t.Errorf("extended negotiate: %+v", n)
	}
}

func TestDecodeSessionSetupCaptures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status ntstatus.Status
		blob   bool
		domain string
	}{
		{"empty-password_session_setup.hex", ntstatus.Success, false, "LAB"},
		{"ntlmssp-anonymous_session_setup_challenge.hex", ntstatus.MoreProcessingRequired, true, "LAB"},
		{"ntlmssp-anonymous_session_setup.hex", ntstatus.Success, false, "LAB"},
	} {
		m, err := ParseMessage(readHex(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseSessionSetup(m)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if r.Status != tc.status || (len(r.SecurityBlob) > 0) != tc.blob || r.PrimaryDomain != tc.domain {
			t.Errorf("%s: status %v blob %d domain %q", tc.file, r.Status, len(r.SecurityBlob), r.PrimaryDomain)
		}
		if r.NativeOS != "Windows 6.1" || !strings.HasPrefix(r.NativeLanMan, "Samba 4.") || r.UID == 0 {
			t.Errorf("%s: native OS %q LanMan %q uid %d", tc.file, r.NativeOS, r.NativeLanMan, r.UID)
		}
		if r.Action&ActionGuest != 0 {
			t.Errorf("%s: guest bit set", tc.file)
		}
	}
}

func TestDecodeTreeCreateFindCaptures(t *testing.T) {
	m, _ := ParseMessage(readHex(t, "empty-password_tree_connect_ipc.hex"))
	tc, err := ParseTreeConnect(m)
	if err != nil || tc.Service != "IPC" || tc.TID == 0 {
		t.Errorf("tree connect %+v %v", tc, err)
	}
	m, _ = ParseMessage(readHex(t, "empty-password_create_srvsvc.hex"))
	cr, err := ParseCreate(m)
	if err != nil || cr.FileType != 2 && cr.FileType != 3 {
		t.Errorf("create %+v %v", cr, err)
	}
	m, _ = ParseMessage(readHex(t, "empty-password_create_missing.hex"))
	if _, err := ParseCreate(m); !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Errorf("create of a missing pipe: %v", err)
	}
	m, _ = ParseMessage(readHex(t, "empty-password_transact_bind.hex"))
	var a transAssembler
	done, err := a.add(m, ComTransaction, 0, 4280)
	if err != nil || !done || len(a.data) < 24 || a.data[2] != 12 {
		t.Errorf("TransactNmPipe reply: done=%v err=%v data=%x", done, err, a.data)
	}
	m, _ = ParseMessage(readHex(t, "empty-password_transact_overflow.hex"))
	a = transAssembler{}
	if done, err := a.add(m, ComTransaction, 0, 16); err != nil || !done || a.status != ntstatus.BufferOverflow || len(a.data) != 16 {
		t.Errorf("overflowing TransactNmPipe reply: done=%v err=%v status=%v data=%x", done, err, a.status, a.data)
	}
	m, _ = ParseMessage(readHex(t, "empty-password_read.hex"))
	if data, err := ParseRead(m, 4280); err != nil || len(data) < 24 || data[2] != 12 {
		t.Errorf("read reply: %x %v", data, err)
	}
	m, _ = ParseMessage(readHex(t, "find_first2_public.hex"))
	a = transAssembler{}
	if done, err := a.add(m, ComTransaction2, 10, 0xFFFF); err != nil || !done {
		t.Fatal(done, err)
	}
	files, _, err := ParseDirectoryInfo(nil, a.data, int(binary.LittleEndian.Uint16(a.params[2:])), true, 100)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if err != nil || strings.Join(names, ",") != ".,..,readme.txt" || files[2].Size != 15 || files[2].IsDir() || !files[0].IsDir() {
		t.Errorf("listing %+v %v", files, err)
	}
}

// Every proper prefix of every capture fails: the message parse, or the
// parser of that reply (a cut reply never decodes as a shorter one); and
// every decoder meets every prefix without panicking.
func TestDecodeTruncatedCaptures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hex")
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		b := readHex(t, name)
		parse := replyParser(name)
		if m, err := ParseMessage(b); err != nil || parse(m) != nil {
			t.Errorf("%s does not decode whole", name)
		}
		for i := 0; i < len(b); i++ {
			decodeAll(b[:i])
			if m, err := ParseMessage(b[:i]); err == nil && parse(m) == nil {
				t.Errorf("%s decodes cut to %d of %d bytes", name, i, len(b))
			}
		}
	}
}

// replyParser is the parser of the reply a capture holds, by its name.
func replyParser(name string) func(*Message) error {
	switch {
	case strings.Contains(name, "_negotiate"):
		return func(m *Message) error { _, err := ParseNegotiate(m); return err }
	case strings.Contains(name, "_session_setup"):
		return func(m *Message) error { _, err := ParseSessionSetup(m); return err }
	case strings.Contains(name, "_tree_connect"):
		return func(m *Message) error { _, err := ParseTreeConnect(m); return err }
	case strings.Contains(name, "_create_missing"):
		// The reply is the status alone: any prefix that parses carries it.
		return func(m *Message) error {
			if _, err := ParseCreate(m); err == nil {
				return errors.New("missing pipe opened")
			}
			return nil
		}
	case strings.Contains(name, "_create"):
		return func(m *Message) error { _, err := ParseCreate(m); return err }
	case strings.Contains(name, "_read"):
		return func(m *Message) error { _, err := ParseRead(m, 0xffff); return err }
	}
	// Transactions (TRANS, TRANS2 FIND_FIRST2): the assembler.
	return func(m *Message) error {
		var a transAssembler
		_, err := a.add(m, m.Command, 0xffff, 0xffff)
		return err
	}
}

func TestTransactionHugeCounts(t *testing.T) {
	b := readHex(t, "empty-password_transact_bind.hex")
	m, _ := ParseMessage(b)
	// Claim 0xffff bytes of data: more than asked for, refused.
	bad := append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(bad[headerLen+1+2:], 0xffff)
	m, _ = ParseMessage(bad)
	var a transAssembler
	if _, err := a.add(m, ComTransaction, 0, 4280); err == nil {
		t.Error("total above MaxDataCount accepted")
	}
	// A data count running past the message.
	bad = append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(bad[headerLen+1+12:], 0x7fff)
	m, _ = ParseMessage(bad)
	a = transAssembler{}
	if _, err := a.add(m, ComTransaction, 0, 0xffff); err == nil {
		t.Error("data count past the end accepted")
	}
	// A directory entry claiming a 4 GiB name allocates nothing big.
	entry := make([]byte, 80)
	binary.LittleEndian.PutUint32(entry[60:], 0xFFFFFFFF)
	if n := allocBytes(func() {
		if _, _, err := ParseDirectoryInfo(nil, entry, 0xffff, true, 1<<20); err == nil {
			t.Error("huge name length accepted")
		}
	}); n > 1<<20 {
		t.Errorf("allocated %d bytes", n)
	}
	// A ByteCount past the end.
	bad = append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(bad[headerLen+1+2*int(b[headerLen]):], 0xffff)
	if _, err := ParseMessage(bad); !errors.Is(err, ErrShort) {
		t.Errorf("ByteCount past end: %v", err)
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

func TestDOSErrorStatus(t *testing.T) {
	b := make([]byte, minMessage)
	copy(b, "\xffSMB")
	b[4] = ComTreeConnect
	b[5] = 0x02                                  // ERRSRV
	binary.LittleEndian.PutUint16(b[7:], 0x005B) // ERRbaduid
	m, err := ParseMessage(b)
	if err != nil || m.Status != ntstatus.SMBBadUID {
		t.Fatalf("DOS error: %v %v", m, err)
	}
	if _, err := ParseTreeConnect(m); !errors.Is(err, ntstatus.SMBBadUID) {
		t.Errorf("tree connect with DOS error: %v", err)
	}
}

func captures(t testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.hex")
	var out [][]byte
	for _, f := range files {
		out = append(out, readHex(t, filepath.Base(f)))
	}
	if len(out) == 0 {
		t.Fatal("no captures")
	}
	_ = os.Stderr
	return out
}

// decodeAll runs every response decoder on b.
func decodeAll(b []byte) {
	m, err := ParseMessage(b)
	if err != nil {
		return
	}
	ParseNegotiate(m)
	ParseSessionSetup(m)
	ParseTreeConnect(m)
	ParseCreate(m)
	ParseRead(m, 0xffff)
	var a transAssembler
	if done, err := a.add(m, m.Command, 0xffff, 0xffff); err == nil && done && len(a.params) >= 4 {
		ParseDirectoryInfo(nil, a.data, int(binary.LittleEndian.Uint16(a.params[2:])), m.Unicode(), 1000)
	}
	m.strings(0, 4)
}

func FuzzResponse(f *testing.F) {
	for _, b := range captures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeAll(b) })
}
