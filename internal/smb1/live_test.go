package smb1

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

var update = flag.Bool("update", false, "rewrite testdata captures from the live lab")

// anonNegotiate and anonAuthenticate are the NTLMSSP messages of a null
// session ([MS-NLMP] 2.2.1.1, 2.2.1.3): no names, empty responses, the
// ANONYMOUS flag (0x800).
func anonNegotiate() []byte {
	b := append([]byte("NTLMSSP\x00"), 1, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 0x20088a05)
	return append(b, make([]byte, 16)...)
}

func anonAuthenticate() []byte {
	b := append([]byte("NTLMSSP\x00"), 3, 0, 0, 0)
	for i := 0; i < 6; i++ { // LM, NT, domain, user, workstation, session key
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 64)
	}
	return binary.LittleEndian.AppendUint32(b, 0x20088a05)
}

// srvsvcBind is a DCE/RPC bind to SRVSVC 3.0 with NDR 2.0 (C706 12.6.4.3).
func srvsvcBind() []byte {
	b := []byte{5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
		0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}
	b = append(b, 0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0)
	b = append(b, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0)
	return b
}

func dialLab(t *testing.T, addr string) *Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "445"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn)
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder keeps the next server reply under the name *label holds, for
// -update captures, then clears the label.
func recorder(c *Client, into map[string][]byte, prefix string, label *string) {
	c.Recorder = func(sent bool, msg []byte) {
		if !sent && *label != "" {
			into[prefix+"_"+*label] = append([]byte(nil), msg...)
			*label = ""
		}
	}
}

func TestLiveNullSessionBothForms(t *testing.T) {
	addrs := labtest.Require(t, "smb1only")
	host := addrs["smb1only"]
	captures := map[string][]byte{}
	for _, form := range []string{"empty-password", "ntlmssp-anonymous"} {
		t.Run(form, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := dialLab(t, host)
			var label string
			recorder(c, captures, form, &label)
			ext := form == "ntlmssp-anonymous"
			label = "negotiate"
			neg, err := c.Negotiate(ctx, ext)
			if err != nil {
				t.Fatal(err)
			}
			if neg.ExtendedSecurity != ext {
				t.Fatalf("extended security %v, asked %v", neg.ExtendedSecurity, ext)
			}
			if !ext && (len(neg.Challenge) != 8 || neg.DomainName == "") {
				t.Errorf("non-extended negotiate: challenge %x domain %q server %q", neg.Challenge, neg.DomainName, neg.ServerName)
			}
			if ext && neg.ServerGUID == ([16]byte{}) {
				t.Errorf("extended negotiate without server GUID")
			}
			if neg.SigningRequired() || neg.SecurityMode&SecModeUser == 0 {
				t.Errorf("security mode %#x: want user level, signing not required", neg.SecurityMode)
			}
			var ss *SessionSetupResponse
			if ext {
				label = "session_setup_challenge"
				ss, err = c.SessionSetupBlob(ctx, 0, anonNegotiate())
				if err != nil || ss.Status != ntstatus.MoreProcessingRequired || len(ss.SecurityBlob) < 32 || string(ss.SecurityBlob[:8]) != "NTLMSSP\x00" {
					t.Fatalf("first leg: %+v, %v", ss, err)
				}
				label = "session_setup"
				ss, err = c.SessionSetupBlob(ctx, ss.UID, anonAuthenticate())
			} else {
				label = "session_setup"
				ss, err = c.SessionSetupEmpty(ctx, "", "")
			}
			if err != nil {
				t.Fatal(err)
			}
			if ss.NativeOS == "" || ss.NativeLanMan == "" || ss.UID == 0 {
				t.Errorf("session setup reply %+v", ss)
			}
			if ss.Action&ActionGuest != 0 {
				t.Errorf("anonymous logon reported as guest (Action %#x)", ss.Action)
			}
			label = "tree_connect_ipc"
			tc, err := c.TreeConnect(ctx, ss.UID, `\\`+host+`\IPC$`)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Service != "IPC" {
				t.Errorf("IPC$ service %q", tc.Service)
			}
			label = "create_srvsvc"
			cr, err := c.NTCreate(ctx, ss.UID, tc.TID, `\srvsvc`, AccessPipeReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			if cr.FileType != 2 && cr.FileType != 3 {
				t.Errorf("srvsvc file type %d, want a pipe", cr.FileType)
			}
			label = "transact_bind"
			ack, err := c.TransactNmPipe(ctx, ss.UID, tc.TID, cr.FID, srvsvcBind(), 4280)
			if err != nil {
				t.Fatal(err)
			}
			if len(ack) < 24 || ack[0] != 5 || ack[2] != 12 {
				t.Fatalf("bind reply %x, want bind_ack", ack)
			}
			// The same bind again through Write + Read on a second open.
			cr2, err := c.NTCreate(ctx, ss.UID, tc.TID, `srvsvc`, AccessPipeReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := c.Write(ctx, ss.UID, tc.TID, cr2.FID, srvsvcBind()); err != nil || n != 72 {
				t.Fatalf("write: %d, %v", n, err)
			}
			label = "read"
			got, err := c.Read(ctx, ss.UID, tc.TID, cr2.FID, 4280)
			if err != nil || len(got) < 24 || got[2] != 12 {
				t.Fatalf("read: %x, %v", got, err)
			}
			// A short read of a longer message says so.
			c.Write(ctx, ss.UID, tc.TID, cr2.FID, append(srvsvcBind()[:0:0], srvsvcBind()...))
			// (Samba answers this second bind with a bind_nak.) Samba's SMB1
			// read does not flag STATUS_BUFFER_OVERFLOW; the rest simply follows.
			part, err := c.Read(ctx, ss.UID, tc.TID, cr2.FID, 10)
			if err != nil && !errors.Is(err, ErrMoreData) || len(part) != 10 {
				t.Fatalf("short read: %x, %v", part, err)
			}
			rest, err := c.Read(ctx, ss.UID, tc.TID, cr2.FID, 4280)
			if fragLen := int(binary.LittleEndian.Uint16(part[8:])); err != nil || 10+len(rest) != fragLen {
				t.Errorf("rest of a %d-byte PDU: %x, %v", fragLen, rest, err)
			}
			// A transact reply longer than asked for: the first part and
			// STATUS_BUFFER_OVERFLOW, then the rest by Read.
			cr3, err := c.NTCreate(ctx, ss.UID, tc.TID, `\srvsvc`, AccessPipeReadWrite)
			if err != nil {
				t.Fatal(err)
			}
			label = "transact_overflow"
			head, err := c.TransactNmPipe(ctx, ss.UID, tc.TID, cr3.FID, srvsvcBind(), 16)
			if !errors.Is(err, ErrMoreData) || len(head) != 16 || head[2] != 12 {
				t.Fatalf("short transact: %x, %v", head, err)
			}
			tail, err := c.Read(ctx, ss.UID, tc.TID, cr3.FID, 4280)
			if fragLen := int(binary.LittleEndian.Uint16(head[8:])); err != nil || 16+len(tail) != fragLen {
				t.Errorf("rest of a %d-byte bind_ack: %d bytes, %v", fragLen, len(tail), err)
			}
			for _, fid := range []uint16{cr.FID, cr2.FID, cr3.FID} {
				if err := c.CloseFile(ctx, ss.UID, tc.TID, fid); err != nil {
					t.Error(err)
				}
			}
			label = "create_missing"
			if _, err := c.NTCreate(ctx, ss.UID, tc.TID, `\nosuchpipe`, AccessPipeReadWrite); !errors.Is(err, ntstatus.ObjectNameNotFound) {
				t.Errorf("missing pipe: %v", err)
			}
			if err := c.TreeDisconnect(ctx, ss.UID, tc.TID); err != nil {
				t.Error(err)
			}
			if err := c.Logoff(ctx, ss.UID); err != nil {
				t.Error(err)
			}
		})
	}
	if *update {
		for name, b := range captures {
			writeHex(t, name+".hex", b)
		}
	}
}

func TestLiveListShareRoot(t *testing.T) {
	addrs := labtest.Require(t, "smb1only")
	host := addrs["smb1only"]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialLab(t, host)
	if _, err := c.Negotiate(ctx, false); err != nil {
		t.Fatal(err)
	}
	ss, err := c.SessionSetupEmpty(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.TreeConnect(ctx, ss.UID, `\\`+host+`\public`)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	c.Recorder = func(sent bool, msg []byte) {
		if !sent {
			raw = append([]byte(nil), msg...)
		}
	}
	files, err := c.FindAll(ctx, ss.UID, tc.TID, `\*`, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("public: %+v", files)
	if *update {
		writeHex(t, "find_first2_public.hex", raw)
	}
	if len(files) < 2 || files[0].Name != "." || !files[0].IsDir() {
		t.Errorf("listing %+v: want . and .. at least", files)
	}
}
