package smb2

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex with replies captured from the lab")

// writeHex stores a capture as hex, 32 bytes a line.
func writeHex(t *testing.T, path string, b []byte) {
	t.Helper()
	var sb strings.Builder
	for i := 0; i < len(b); i += 32 {
		sb.WriteString(hex.EncodeToString(b[i:min(len(b), i+32)]))
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readHex loads a capture written by writeHex.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(s)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// recorder keeps the last server message, so each step can be saved.
type recorder struct{ last []byte }

func (r *recorder) trace(fromServer bool, msg []byte) {
	if fromServer {
		r.last = append([]byte(nil), msg...)
	}
}

func (r *recorder) save(t *testing.T, name string) {
	t.Helper()
	if *update {
		writeHex(t, filepath.Join("testdata", name), r.last)
	}
}

func dialLab(t *testing.T, ctx context.Context, addr string) (*Conn, *recorder) {
	t.Helper()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, "445"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(nc)
	t.Cleanup(func() { c.Close() })
	rec := &recorder{}
	c.Trace = rec.trace
	return c, rec
}

// anonymous runs the two SPNEGO/NTLMSSP legs of a null session.
func anonymous(t *testing.T, ctx context.Context, c *Conn, rec *recorder, save bool) (*Session, *ntlmssp.Challenge, uint16) {
	t.Helper()
	m, r, err := c.SessionSetup(ctx, 0, ntlmssp.WrapInit(ntlmssp.Negotiate()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status() != ntstatus.MoreProcessingRequired {
		t.Fatalf("first leg: %v", m.Status())
	}
	if save {
		rec.save(t, "session_setup_challenge.hex")
	}
	tok, err := ntlmssp.ParseResp(r.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ntlmssp.ParseChallenge(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	m2, r2, err := c.SessionSetup(ctx, m.SessionID, ntlmssp.WrapResp(ntlmssp.Anonymous(ch)))
	if err != nil {
		t.Fatal(err)
	}
	if save {
		rec.save(t, "session_setup_final.hex")
	}
	return &Session{Conn: c, ID: m2.SessionID}, ch, r2.SessionFlags
}

// TestLiveOpen walks the whole client subset against the open posture and,
// with -update, refreshes the captures the decoder tests and fuzz targets use.
func TestLiveOpen(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, rec := dialLab(t, ctx, addr)

	neg, err := c.Negotiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec.save(t, "negotiate.hex")
	if neg.Dialect != Dialect311 || neg.SecurityMode&SigningRequired != 0 || neg.SecurityMode&SigningEnabled == 0 {
		t.Errorf("negotiate: dialect %#x security mode %#x", neg.Dialect, neg.SecurityMode)
	}
	// Samba 4.17 here answers preauth (SHA-512) and signing (AES-GMAC) but
	// no encryption context (we announce no CAP_ENCRYPTION; we never encrypt).
	if neg.PreauthHash != HashSHA512 || !neg.HasSigning || neg.SigningAlg != SignAESGMAC {
		t.Errorf("3.1.1 contexts: hash %d signing %v/%d (%d contexts)", neg.PreauthHash, neg.HasSigning, neg.SigningAlg, len(neg.Contexts))
	}

	var sent [][]byte
	c.Trace = func(fromServer bool, msg []byte) {
		rec.trace(fromServer, msg)
		if h, _ := ParseHeader(msg); !fromServer && h.Command == CmdSessionSetup {
			sent = append(sent, append([]byte(nil), msg...))
		}
	}
	s, ch, flags := anonymous(t, ctx, c, rec, true)
	if flags != 0 {
		t.Errorf("null session flags = %#x, Samba sends 0", flags)
	}
	// What went on the wire in the second leg: no user, no domain, no
	// responses beyond LM's Z(1), the ANONYMOUS flag.
	if len(sent) != 2 {
		t.Fatalf("%d session setup requests", len(sent))
	}
	b := sent[1][HeaderSize:]
	tok, err := ntlmssp.ParseResp(sent[1][le.Uint16(b[12:]) : int(le.Uint16(b[12:]))+int(le.Uint16(b[14:]))])
	if err != nil {
		t.Fatal(err)
	}
	a, err := ntlmssp.ParseAuthenticate(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if a.User != "" || a.Domain != "" || a.Workstation != "" || len(a.NTResponse) != 0 || len(a.LMResponse) > 1 || a.Flags&ntlmssp.NegotiateAnonymous == 0 {
		t.Errorf("anonymous AUTHENTICATE on the wire: %+v", a)
	}
	c.Trace = rec.trace
	if *update {
		writeHex(t, filepath.Join("..", "ntlmssp", "testdata", "challenge_open.hex"), mustChallengeToken(t, "session_setup_challenge.hex"))
		r, _ := ParseSessionSetupResponse(readHex(t, "session_setup_challenge.hex"))
		writeHex(t, filepath.Join("..", "ntlmssp", "testdata", "spnego_resp.hex"), r.SecurityBuffer)
		n, _ := ParseNegotiateResponse(readHex(t, "negotiate.hex"))
		writeHex(t, filepath.Join("..", "ntlmssp", "testdata", "spnego_init.hex"), n.SecurityBuffer)
	}
	if ch.NetBIOSComputer != "OPENSRV" {
		t.Errorf("NetBIOS computer %q", ch.NetBIOSComputer)
	}

	ipc, err := s.TreeConnect(ctx, `\\`+addr+`\IPC$`)
	if err != nil {
		t.Fatal(err)
	}
	rec.save(t, "tree_connect.hex")
	if ipc.Info.ShareType != ShareTypePipe {
		t.Errorf("IPC$ share type %d", ipc.Info.ShareType)
	}
	cr, err := ipc.Create(ctx, &CreateRequest{
		DesiredAccess: FileReadData | FileWriteData | FileReadAttributes | Synchronize, ShareAccess: FileShareRead | FileShareWrite,
		CreateDisposition: FileOpen, CreateOptions: FileNonDirectoryFile, Name: "srvsvc",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec.save(t, "create.hex")

	out, err := ipc.Transceive(ctx, cr.FileID, srvsvcBind, 4280)
	if err != nil {
		t.Fatal(err)
	}
	rec.save(t, "ioctl.hex")
	if len(out) < 24 || out[2] != 12 {
		t.Fatalf("bind_ack expected, got % x", out)
	}
	// A second bind on the same pipe gets a bind_nak; ask for 10 bytes of
	// it to see STATUS_BUFFER_OVERFLOW with partial data, then read the rest.
	part, err := ipc.Transceive(ctx, cr.FileID, srvsvcBind, 10)
	if !errors.Is(err, ErrOverflow) || len(part) != 10 {
		t.Fatalf("small transceive: %d bytes, %v", len(part), err)
	}
	rec.save(t, "ioctl_overflow.hex")
	rest, err := ipc.Read(ctx, cr.FileID, 0, 4280)
	if err != nil {
		t.Fatal(err)
	}
	rec.save(t, "read.hex")
	if whole := append(part, rest...); len(whole) < 16 || int(whole[8]) != len(whole) || whole[2] != 13 {
		t.Errorf("bind_nak reassembled wrong: % x", whole)
	}
	if err := ipc.Close(ctx, cr.FileID); err != nil {
		t.Error(err)
	}

	_, err = ipc.Create(ctx, &CreateRequest{DesiredAccess: FileReadData, ShareAccess: FileShareRead, CreateDisposition: FileOpen, Name: "nosuchpipe"})
	if !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Errorf("missing pipe: %v", err)
	}
	rec.save(t, "error.hex")

	pub, err := s.TreeConnect(ctx, `\\`+addr+`\public`)
	if err != nil {
		t.Fatal(err)
	}
	// List, but save the QUERY_DIRECTORY reply itself, not the CLOSE after it.
	cr2, err := pub.Create(ctx, &CreateRequest{DesiredAccess: FileReadData | FileReadAttributes | Synchronize, ShareAccess: 7, CreateDisposition: FileOpen, CreateOptions: FileDirectoryFile})
	if err != nil {
		t.Fatal(err)
	}
	q := &QueryDirectoryRequest{InfoClass: FileDirectoryInformation, Flags: QueryRestartScans, FileID: cr2.FileID, Pattern: "*", OutputLength: MaxPayload}
	m, err := pub.rt(ctx, CmdQueryDirectory, q.Encode(), MaxPayload)
	if err != nil || m.Status() != ntstatus.Success {
		t.Fatalf("query directory: %v %v", err, m)
	}
	rec.save(t, "query_directory.hex")
	pub.Close(ctx, cr2.FileID)
	es, err := pub.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name != "readme.txt" {
		t.Errorf("public root = %+v, want readme.txt", es)
	}
	if err := pub.Disconnect(ctx); err != nil {
		t.Error(err)
	}
	if err := s.Logoff(ctx); err != nil {
		t.Error(err)
	}
}

// TestLiveDCChallenge captures the DC's CHALLENGE (domain names) and
// checks that an unsigned anonymous session works although signing is required.
func TestLiveDCChallenge(t *testing.T) {
	addr := labtest.Require(t, "dc")["dc"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, rec := dialLab(t, ctx, addr)
	neg, err := c.Negotiate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if neg.SecurityMode&SigningRequired == 0 {
		t.Errorf("DC does not require signing: %#x", neg.SecurityMode)
	}
	m, r, err := c.SessionSetup(ctx, 0, ntlmssp.WrapInit(ntlmssp.Negotiate()))
	if err != nil || m.Status() != ntstatus.MoreProcessingRequired {
		t.Fatal(err, m.Status())
	}
	tok, err := ntlmssp.ParseResp(r.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		writeHex(t, filepath.Join("..", "ntlmssp", "testdata", "challenge_dc.hex"), tok.Token)
	}
	ch, err := ntlmssp.ParseChallenge(tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	m2, _, err := c.SessionSetup(ctx, m.SessionID, ntlmssp.WrapResp(ntlmssp.Anonymous(ch)))
	if err != nil {
		t.Fatal(err)
	}
	// From here on, watch every request: none may claim a signature.
	signed := 0
	c.Trace = func(fromServer bool, msg []byte) {
		rec.trace(fromServer, msg)
		if h, err := ParseHeader(msg); err == nil && !fromServer && (h.Flags&FlagSigned != 0 || h.Signature != [16]byte{}) {
			signed++
		}
	}
	s := &Session{Conn: c, ID: m2.SessionID}
	ipc, err := s.TreeConnect(ctx, `\\`+addr+`\IPC$`)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := ipc.Create(ctx, &CreateRequest{DesiredAccess: FileReadData | FileWriteData | Synchronize, ShareAccess: 3, CreateDisposition: FileOpen, Name: "srvsvc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ipc.Transceive(ctx, cr.FileID, srvsvcBind, 4280); err != nil {
		t.Fatal(err)
	}
	if signed != 0 {
		t.Errorf("%d signed requests", signed)
	}
}

func mustChallengeToken(t *testing.T, name string) []byte {
	r, err := ParseSessionSetupResponse(readHex(t, name))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ntlmssp.ParseResp(r.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(tok.Token, []byte("NTLMSSP\x00")) {
		t.Fatal("no NTLMSSP token")
	}
	return tok.Token
}

// srvsvcBind is a DCE/RPC bind to SRVSVC 3.0 with NDR 2.0 (C706 12.6.4.3).
var srvsvcBind = []byte{
	5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
	0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
	0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0,
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0,
}
