package smb2

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// The captures under testdata/ are whole SMB2 messages (header first) that
// Samba 4.17 (lab posture "open") sent; refresh with go test -run Live -update.

func TestDecodeCaptures(t *testing.T) {
	t.Run("negotiate", func(t *testing.T) {
		r, err := ParseNegotiateResponse(readHex(t, "negotiate.hex"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Dialect != Dialect311 || r.SecurityMode != SigningEnabled || r.PreauthHash != HashSHA512 {
			t.Errorf("dialect %#x mode %#x hash %d", r.Dialect, r.SecurityMode, r.PreauthHash)
		}
		if string(r.ServerGUID[:7]) != "opensrv" || r.MaxReadSize != 8<<20 || r.SystemTime.IsZero() {
			t.Errorf("guid %q maxread %d time %v", r.ServerGUID, r.MaxReadSize, r.SystemTime)
		}
		mechs, err := ntlmssp.ParseInitMechs(r.SecurityBuffer)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range mechs {
			found = found || ntlmssp.IsNTLMSSP(m)
		}
		if !found {
			t.Errorf("NTLMSSP not among %d mechs", len(mechs))
		}
	})
	t.Run("session setup", func(t *testing.T) {
		msg := readHex(t, "session_setup_challenge.hex")
		h, _ := ParseHeader(msg)
		if ntstatus.Status(h.Status) != ntstatus.MoreProcessingRequired || h.SessionID == 0 {
			t.Errorf("status %v session %#x", ntstatus.Status(h.Status), h.SessionID)
		}
		r, err := ParseSessionSetupResponse(msg)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ntlmssp.ParseResp(r.SecurityBuffer)
		if err != nil {
			t.Fatal(err)
		}
		if tok.State != ntlmssp.AcceptIncomplete || !ntlmssp.IsNTLMSSP(tok.Mech) {
			t.Errorf("state %d mech % x", tok.State, tok.Mech)
		}
		final, err := ParseSessionSetupResponse(readHex(t, "session_setup_final.hex"))
		if err != nil {
			t.Fatal(err)
		}
		if final.SessionFlags != 0 {
			t.Errorf("anonymous SessionFlags %#x, Samba sends 0", final.SessionFlags)
		}
	})
	t.Run("tree connect", func(t *testing.T) {
		r, err := ParseTreeConnectResponse(readHex(t, "tree_connect.hex"))
		if err != nil || r.ShareType != ShareTypePipe {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("create", func(t *testing.T) {
		r, err := ParseCreateResponse(readHex(t, "create.hex"))
		if err != nil || r.FileID == (FileID{}) || r.CreateAction != 1 {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("ioctl", func(t *testing.T) {
		r, err := ParseIoctlResponse(readHex(t, "ioctl.hex"))
		if err != nil || r.CtlCode != FsctlPipeTransceive || len(r.Output) < 24 || r.Output[2] != 12 {
			t.Fatalf("%+v %v", r, err)
		}
		msg := readHex(t, "ioctl_overflow.hex")
		h, _ := ParseHeader(msg)
		r, err = ParseIoctlResponse(msg)
		if ntstatus.Status(h.Status) != ntstatus.BufferOverflow || err != nil || len(r.Output) != 10 {
			t.Fatalf("overflow: %v %+v %v", ntstatus.Status(h.Status), r, err)
		}
	})
	t.Run("read", func(t *testing.T) {
		r, err := ParseReadResponse(readHex(t, "read.hex"))
		if err != nil || len(r.Data) == 0 {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("query directory", func(t *testing.T) {
		es, err := ParseQueryDirectoryResponse(readHex(t, "query_directory.hex"))
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, e := range es {
			names[e.Name] = true
		}
		if !names["readme.txt"] || !names["."] || len(es) != 3 {
			t.Errorf("entries %+v", es)
		}
	})
	t.Run("error", func(t *testing.T) {
		msg := readHex(t, "error.hex")
		h, _ := ParseHeader(msg)
		if ntstatus.Status(h.Status) != ntstatus.ObjectNameNotFound {
			t.Errorf("status %v", ntstatus.Status(h.Status))
		}
		if _, err := ParseErrorResponse(msg); err != nil {
			t.Fatal(err)
		}
	})
}

// decoders lists every response decoder with the capture that seeds it.
var decoders = []struct {
	name, file string
	parse      func([]byte) error
}{
	{"negotiate", "negotiate.hex", func(b []byte) error { _, err := ParseNegotiateResponse(b); return err }},
	{"session setup", "session_setup_challenge.hex", func(b []byte) error { _, err := ParseSessionSetupResponse(b); return err }},
	{"tree connect", "tree_connect.hex", func(b []byte) error { _, err := ParseTreeConnectResponse(b); return err }},
	{"create", "create.hex", func(b []byte) error { _, err := ParseCreateResponse(b); return err }},
	{"ioctl", "ioctl.hex", func(b []byte) error { _, err := ParseIoctlResponse(b); return err }},
	{"read", "read.hex", func(b []byte) error { _, err := ParseReadResponse(b); return err }},
	{"query directory", "query_directory.hex", func(b []byte) error { _, err := ParseQueryDirectoryResponse(b); return err }},
	{"error", "error.hex", func(b []byte) error { _, err := ParseErrorResponse(b); return err }},
}

// TestTruncated cuts every capture at every length: always an error
// (never a panic) until the message is whole.
func TestTruncated(t *testing.T) {
	for _, d := range decoders {
		msg := readHex(t, d.file)
		for n := 0; n < HeaderSize+8 && n < len(msg); n++ {
			if err := d.parse(msg[:n]); err == nil {
				t.Errorf("%s: %d of %d bytes decoded without error", d.name, n, len(msg))
			}
		}
		for n := range len(msg) {
			_ = d.parse(msg[:n])
		}
		if err := d.parse(msg); err != nil {
			t.Errorf("%s: whole capture: %v", d.name, err)
		}
	}
}

// TestHostileLengths sets each 16/32-bit length or offset field in the
// fixed part of every capture to its maximum: the decoders must reject or
// bound it and allocate well under 1 MiB doing so.
func TestHostileLengths(t *testing.T) {
	for _, d := range decoders {
		msg := readHex(t, d.file)
		for off := HeaderSize + 2; off+4 <= len(msg) && off < HeaderSize+64; off += 2 {
			for _, w := range []int{2, 4} {
				b := append([]byte(nil), msg...)
				if w == 2 {
					binary.LittleEndian.PutUint16(b[off:], 0xFFFF)
				} else {
					binary.LittleEndian.PutUint32(b[off:], 0xFFFFFFFF)
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_ = d.parse(b)
				runtime.ReadMemStats(&after)
				if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
					t.Errorf("%s: 0xFF.. at %d allocated %d bytes", d.name, off, got)
				}
			}
		}
	}
}

func TestQueryDirectoryLoop(t *testing.T) {
	// An entry whose NextEntryOffset points at itself must not loop.
	e := make([]byte, 64)
	binary.LittleEndian.PutUint32(e, 0) // placeholder
	buf := append(append([]byte(nil), e...), e...)
	binary.LittleEndian.PutUint32(buf, 10) // < 64: backwards/overlapping
	if _, err := ParseDirectoryInformation(buf); !errors.Is(err, ErrBounds) {
		t.Fatalf("got %v", err)
	}
}

func fuzzDecoder(f *testing.F, file string, parse func([]byte) error) {
	f.Add(readHex(f, file))
	f.Fuzz(func(t *testing.T, b []byte) { _ = parse(b) })
}

func FuzzNegotiateResponse(f *testing.F)    { fuzzDecoder(f, decoders[0].file, decoders[0].parse) }
func FuzzSessionSetupResponse(f *testing.F) { fuzzDecoder(f, decoders[1].file, decoders[1].parse) }
func FuzzTreeConnectResponse(f *testing.F)  { fuzzDecoder(f, decoders[2].file, decoders[2].parse) }
func FuzzCreateResponse(f *testing.F)       { fuzzDecoder(f, decoders[3].file, decoders[3].parse) }
func FuzzIoctlResponse(f *testing.F)        { fuzzDecoder(f, decoders[4].file, decoders[4].parse) }
func FuzzReadResponse(f *testing.F)         { fuzzDecoder(f, decoders[5].file, decoders[5].parse) }
func FuzzQueryDirectoryResponse(f *testing.F) {
	fuzzDecoder(f, decoders[6].file, decoders[6].parse)
}
func FuzzErrorResponse(f *testing.F) { fuzzDecoder(f, decoders[7].file, decoders[7].parse) }
