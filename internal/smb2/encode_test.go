package smb2

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestGoldenRequests pins every request encoder's bytes (checked once by
// hand against [MS-SMB2] 2.2.3–2.2.33 and by Samba accepting them in the
// live tests); refresh with -update after a deliberate change.
func TestGoldenRequests(t *testing.T) {
	id := FileID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	neg := &NegotiateRequest{Dialects: AllDialects, SecurityMode: SigningEnabled}
	for i := range neg.ClientGUID {
		neg.ClientGUID[i] = byte(0xA0 + i)
	}
	for i := range neg.Salt {
		neg.Salt[i] = byte(i)
	}
	cases := []struct {
		name string
		body []byte
	}{
		{"negotiate", neg.Encode()},
		{"negotiate_202", (&NegotiateRequest{Dialects: []uint16{Dialect202}, SecurityMode: SigningEnabled}).Encode()},
		{"session_setup", (&SessionSetupRequest{SecurityMode: 1, SecurityBuffer: []byte("token")}).Encode()},
		{"tree_connect", EncodeTreeConnect(`\\127.0.0.2\IPC$`)},
		{"create_pipe", (&CreateRequest{DesiredAccess: 0x0012019f, ShareAccess: 3, CreateDisposition: FileOpen, CreateOptions: FileNonDirectoryFile, Name: "srvsvc"}).Encode()},
		{"create_root", (&CreateRequest{DesiredAccess: FileReadData | FileReadAttributes | Synchronize, ShareAccess: 7, CreateDisposition: FileOpen, CreateOptions: FileDirectoryFile}).Encode()},
		{"close", EncodeClose(id)},
		{"ioctl", (&IoctlRequest{CtlCode: FsctlPipeTransceive, FileID: id, Input: []byte{5, 0, 11}, MaxOutputResponse: 4280, Flags: IoctlIsFsctl}).Encode()},
		{"read", (&ReadRequest{Length: 4280, FileID: id}).Encode()},
		{"write", (&WriteRequest{FileID: id, Data: []byte{5, 0, 11}}).Encode()},
		{"query_directory", (&QueryDirectoryRequest{InfoClass: FileDirectoryInformation, Flags: QueryRestartScans, FileID: id, Pattern: "*", OutputLength: MaxPayload}).Encode()},
		{"logoff", EncodeLogoff()},
	}
	for _, tc := range cases {
		h := Header{Command: 0, Credits: 64, MessageID: 7, TreeID: 3, SessionID: 0x1122334455667788}
		msg := append(h.Append(nil), tc.body...)
		path := filepath.Join("testdata", "req_"+tc.name+".hex")
		if *update {
			writeHex(t, path, msg)
			continue
		}
		if want := readHex(t, "req_"+tc.name+".hex"); !bytes.Equal(msg, want) {
			t.Errorf("%s:\n got % x\nwant % x", tc.name, msg, want)
		}
		if got, err := ParseHeader(msg); err != nil || got.SessionID != h.SessionID || got.TreeID != 3 || got.MessageID != 7 {
			t.Errorf("%s: header round trip %+v %v", tc.name, got, err)
		}
	}
	// Structure checks that do not depend on the golden files.
	b := neg.Encode()
	if off := le.Uint32(b[28:]); off%8 != 0 || int(off)-HeaderSize > len(b) || le.Uint16(b[32:]) != 3 {
		t.Errorf("negotiate context offset %d count %d", off, le.Uint16(b[32:]))
	}
	if ctx := b[le.Uint32(b[28:])-HeaderSize:]; le.Uint16(ctx) != CtxPreauthIntegrity || le.Uint16(ctx[2:]) != 38 {
		t.Errorf("first context % x", ctx[:8])
	}
}
