package smb

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t testing.TB, ctx context.Context, host string) Conn {
	t.Helper()
	c, err := Dial(ctx, host, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func nullSession(t testing.TB, ctx context.Context, c Conn) (Session, SessionInfo) {
	t.Helper()
	s, info, err := c.SessionSetup(ctx, Credentials{})
	if err != nil {
		t.Fatalf("null session: %v (%+v)", err, info)
	}
	return s, info
}

// srvsvcBind is a DCE/RPC bind to SRVSVC 3.0 with NDR 2.0 (C706 12.6.4.3).
var srvsvcBind = []byte{
	5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
	0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
	0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0,
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0,
}

func TestLiveOpen(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "open")["open"]
	ctx := ctxT(t)
	c := dialT(t, ctx, host)
	n := c.Negotiated()
	if n.Dialect != SMB311 || !n.SigningEnabled || n.SigningRequired {
		t.Errorf("negotiate: %+v", n)
	}
	s, info := nullSession(t, ctx, c)
	if info.Form != "ntlmssp-anonymous" || info.Flags != 0 || info.Status != ntstatus.Success {
		t.Errorf("null session info %+v", info)
	}
	if info.NTLM == nil || info.NTLM.NetBIOSComputer != "OPENSRV" || info.NTLM.OSVersion == "" {
		t.Errorf("NTLM %+v", info.NTLM)
	}
	ipc, err := s.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	// Samba 4.17 standalone serves winreg to anonymous callers; netlogon
	// exists only on a DC (docs/samba.md).
	pipes := map[string]error{"lsarpc": nil, "samr": nil, "srvsvc": nil, "winreg": nil, "netlogon": ntstatus.ObjectNameNotFound, `\PIPE\wkssvc`: nil}
	for name, want := range pipes {
		p, err := ipc.OpenPipe(ctx, name)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("open %s: %v, want %v", name, err, want)
		}
		if err == nil {
			p.Close(ctx)
		}
	}
	p, err := ipc.OpenPipe(ctx, "srvsvc")
	if err != nil {
		t.Fatal(err)
	}
	ack, err := p.Transact(ctx, srvsvcBind, 4280)
	if err != nil || len(ack) < 24 || ack[2] != 12 {
		t.Fatalf("bind: % x %v", ack, err)
	}
	// A second bind is refused with a bind_nak; fetch it in two parts to
	// see ErrMore and the rest through Read.
	part, err := p.Transact(ctx, srvsvcBind, 8)
	if !errors.Is(err, ErrMore) || len(part) != 8 {
		t.Fatalf("small transact: %d bytes, %v", len(part), err)
	}
	rest, err := p.Read(ctx, 4280)
	whole := append(part, rest...)
	if err != nil || len(whole) < 10 || int(whole[8])|int(whole[9])<<8 != len(whole) || whole[2] != 13 {
		t.Fatalf("bind_nak from parts: % x %v", whole, err)
	}
	p.Close(ctx)

	pub, err := s.TreeConnect(ctx, "public")
	if err != nil {
		t.Fatal(err)
	}
	es, err := pub.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name != "readme.txt" || es[0].IsDir || es[0].Size == 0 {
		t.Errorf("public root %+v", es)
	}
	if oracle := smbclientLs(t, host, "public"); oracle != nil && !equalNames(es, oracle) {
		t.Errorf("smbclient lists %v, we list %+v", oracle, es)
	}
	if err := pub.Disconnect(ctx); err != nil {
		t.Error(err)
	}
	if err := s.Logoff(ctx); err != nil {
		t.Error(err)
	}
}

func TestLiveGuest(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "open")["open"]
	ctx := ctxT(t)
	creds, err := GuestCredentials()
	if err != nil {
		t.Fatal(err)
	}
	s, info, err := dialT(t, ctx, host).SessionSetup(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	if info.Form != "ntlmv2" || !info.Guest() || info.Flags != 1 {
		t.Errorf("guest info %+v", info)
	}
	if _, err := s.TreeConnect(ctx, "IPC$"); err != nil {
		t.Errorf("guest IPC$: %v", err)
	}
}

func TestLiveRestricted(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "restricted")["restricted"]
	ctx := ctxT(t)
	s, _ := nullSession(t, ctx, dialT(t, ctx, host))
	_, err := s.TreeConnect(ctx, "IPC$")
	var st ntstatus.Status
	if !errors.As(err, &st) || st != ntstatus.AccessDenied {
		t.Fatalf("IPC$ on restricted: %v", err)
	}
}

func TestLiveDC(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "dc")["dc"]
	ctx := ctxT(t)
	c := dialT(t, ctx, host)
	if n := c.Negotiated(); !n.SigningRequired {
		t.Errorf("DC negotiate %+v", n)
	}
	s, info := nullSession(t, ctx, c)
	if m := info.NTLM; m == nil || m.NetBIOSComputer != "DC1" || m.NetBIOSDomain != "LAB" || m.DNSDomain != "lab.test" || m.DNSComputer != "dc1.lab.test" {
		t.Errorf("NTLM %+v", info.NTLM)
	}
	// Unsigned all the way: the DC requires signing, yet serves a null session.
	ipc, err := s.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ipc.OpenPipe(ctx, "srvsvc")
	if err != nil {
		t.Fatal(err)
	}
	ack, err := p.Transact(ctx, srvsvcBind, 4280)
	if err != nil || ack[2] != 12 {
		t.Fatalf("bind: % x %v", ack, err)
	}
	// Guest is disabled on the DC: the NTLMv2 probe fails, and the CHALLENGE
	// facts still come back.
	g, _ := GuestCredentials()
	_, gi, err := dialT(t, ctx, host).SessionSetup(ctx, g)
	if !errors.Is(err, ntstatus.LogonFailure) || gi.Status != ntstatus.LogonFailure || gi.NTLM == nil || gi.NTLM.NetBIOSDomain != "LAB" {
		t.Errorf("guest on DC: %v %+v", err, gi)
	}
}

func TestLiveProbeDialects(t *testing.T) {
	t.Parallel()
	addrs := labtest.Require(t, "open", "smb2only", "smb1only")
	ctx := ctxT(t)
	all := map[Dialect]bool{SMB1: true, SMB202: true, SMB21: true, SMB30: true, SMB302: true, SMB311: true}
	want := map[string]map[Dialect]bool{
		"open":     all,
		"smb2only": {SMB1: false, SMB202: true, SMB21: true, SMB30: true, SMB302: true, SMB311: true},
		"smb1only": {SMB1: true, SMB202: false, SMB21: false, SMB30: false, SMB302: false, SMB311: false},
	}
	for name, w := range want {
		got, err := ProbeDialects(ctx, addrs[name], Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, d := range AllDialects {
			if v, ok := got[d]; !ok || v != w[d] {
				t.Errorf("%s: %v = %v (answered %v), want %v", name, d, v, ok, w[d])
			}
		}
	}
	// SMB2 against the SMB1-only server fails with an error, not a hang.
	start := time.Now()
	if c, err := Dial(ctx, addrs["smb1only"], Options{}); err == nil {
		c.Close()
		t.Error("SMB2 dial to smb1only succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("smb1only refusal took %v", d)
	}
}

func TestLiveTransportOption(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "open")["open"]
	ctx := ctxT(t)
	used := false
	c, err := Dial(ctx, "127.0.0.99", Options{Transport: func(ctx context.Context) (net.Conn, error) {
		used = true
		var d net.Dialer
		return d.DialContext(ctx, "tcp", net.JoinHostPort(host, "445"))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !used || c.Negotiated().Dialect != SMB311 {
		t.Errorf("used %v, %+v", used, c.Negotiated())
	}
}

func TestClosedPortFailsFast(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	start := time.Now()
	if _, err := Dial(ctx, "127.0.0.99", Options{}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if _, err := ProbeDialects(ctx, "127.0.0.99", Options{}); err == nil {
		t.Fatal("probe of a closed port reported no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSilentListenerBounded(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and say nothing
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The socket deadline (set from ctx) may fire a moment before ctx's
	// own timer: either way the call ends as a timeout.
	timedOut := func(err error) bool {
		var ne net.Error
		return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	}
	if _, err = Dial(ctx, "127.0.0.1", Options{Port: port}); !timedOut(err) {
		t.Errorf("dial: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := ProbeDialects(ctx2, "127.0.0.1", Options{Port: port}); !timedOut(err) {
		t.Errorf("probe: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestClosingListenerProbe: a listener that closes every connection
// accepted nothing and refused nothing: no dialect is "false", the probe
// is an error.
func TestClosingListenerProbe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	got, err := ProbeDialects(ctxT(t), "127.0.0.1", Options{Port: port})
	if err == nil || len(got) != 0 {
		t.Errorf("closing listener: %v, %v; want no dialect and an error", got, err)
	}
}

// BenchmarkNullSessionPipe is a whole anonymous visit: dial, negotiate,
// null session, IPC$, open srvsvc, close.
func BenchmarkNullSessionPipe(b *testing.B) {
	host := labtest.Require(b, "open")["open"]
	ctx := context.Background()
	for b.Loop() {
		c, err := Dial(ctx, host, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s, _, err := c.SessionSetup(ctx, Credentials{})
		if err != nil {
			b.Fatal(err)
		}
		ipc, err := s.TreeConnect(ctx, "IPC$")
		if err != nil {
			b.Fatal(err)
		}
		p, err := ipc.OpenPipe(ctx, "srvsvc")
		if err != nil {
			b.Fatal(err)
		}
		p.Close(ctx)
		c.Close()
	}
}

// smbclientLs lists a share's root with Samba's smbclient as an anonymous
// user (-U %), or returns nil when smbclient is not installed.
func smbclientLs(t *testing.T, host, share string) []string {
	path, err := exec.LookPath("smbclient")
	if err != nil {
		return nil
	}
	out, err := exec.Command(path, "-U", "%", "//"+host+"/"+share, "-c", "ls").Output()
	if err != nil {
		t.Logf("smbclient: %v", err)
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		// "  readme.txt   N   15  Wed Nov 25 ..." ; the name precedes the attribute letters.
		if len(f) < 7 || strings.Contains(line, "blocks of size") {
			continue
		}
		name := f[0]
		if name == "." || name == ".." {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func equalNames(es []DirEntry, names []string) bool {
	var got []string
	for _, e := range es {
		got = append(got, e.Name)
	}
	sort.Strings(got)
	return strings.Join(got, "/") == strings.Join(names, "/")
}

func TestLiveDialectChoice(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "open")["open"]
	ctx := ctxT(t)
	for _, d := range []Dialect{SMB202, SMB21, SMB30, SMB302} {
		c, err := Dial(ctx, host, Options{Dialects: []Dialect{d}})
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		// A null session and a pipe work on every dialect.
		s, _ := nullSession(t, ctx, c)
		ipc, err := s.TreeConnect(ctx, "IPC$")
		if err == nil {
			var p Pipe
			if p, err = ipc.OpenPipe(ctx, "lsarpc"); err == nil {
				p.Close(ctx)
			}
		}
		if got := c.Negotiated().Dialect; got != d || err != nil {
			t.Errorf("%v: negotiated %v, %v", d, got, err)
		}
		c.Close()
	}
}

func TestGuestCredentials(t *testing.T) {
	a, err := GuestCredentials()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GuestCredentials()
	if a.User == "" || a.Password != "" || a.Domain != "" || a.Anonymous() || a.User == b.User {
		t.Errorf("%+v %+v", a, b)
	}
}

func TestPipeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"lsarpc", "lsarpc"},
		{`\lsarpc`, "lsarpc"},
		{`\PIPE\lsarpc`, "lsarpc"},
		{`\pipe\samr`, "samr"},
		{"/PIPE/srvsvc", "srvsvc"},
		{`PIPE\`, `PIPE\`}, // a name that is only the prefix stays as given
		{`\\PIPE\wkssvc`, "wkssvc"},
	} {
		if got := pipeName(tc.in); got != tc.want {
			t.Errorf("pipeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
