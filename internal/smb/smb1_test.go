package smb_test

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/rap"
	"github.com/nullsweep/nullsweep/internal/smb"
)

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// smbclientShares lists the share names `smbclient -L` shows over SMB1.
func smbclientShares(t *testing.T, host string) []string {
	out, err := exec.Command("smbclient", "-U", "%", "-L", "//"+host, "-m", "NT1", "--option=client min protocol=NT1").CombinedOutput()
	if err != nil {
		t.Fatalf("smbclient -L: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`^\t(\S+)\s+(Disk|IPC|Printer)\s`)
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// rpcOverSMB1 runs SRVSVC NetrShareEnum and NetrServerGetInfo on an IPC$
// tree and checks them against smbclient.
func rpcOverSMB1(t *testing.T, ctx context.Context, tree smb.Tree, host, wantName string) {
	t.Helper()
	p, err := tree.OpenPipe(ctx, "srvsvc")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	rc, err := dcerpc.Bind(ctx, p, dcerpc.SRVSVC)
	if err != nil {
		t.Fatal(err)
	}
	sc := srvsvc.New(rc, host)
	info, err := sc.ServerGetInfo(ctx, 101)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != wantName {
		t.Errorf("NetrServerGetInfo name %q, want %q", info.Name, wantName)
	}
	shares, err := sc.ShareEnum(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range shares {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if want := smbclientShares(t, host); !slices.Equal(names, want) {
		t.Errorf("NetrShareEnum over SMB1 %q, smbclient -L %q", names, want)
	}
}

func TestLiveSMB1NTLMSSPAnonymous(t *testing.T) {
	host := labtest.Require(t, "smb1only")["smb1only"]
	ctx := ctx10(t)
	// Dial falls back to SMB1 when the server refuses every SMB2 dialect.
	c, err := smb.Dial(ctx, host, smb.Options{Dialects: smb.AllDialects})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	neg := c.Negotiated()
	if neg.Dialect != smb.SMB1 || !neg.ExtendedSecurity || neg.ServerGUID == ([16]byte{}) || neg.SigningRequired {
		t.Errorf("negotiate %+v", neg)
	}
	s, info, err := c.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Form != "ntlmssp-anonymous" || info.Status != ntstatus.Success || info.Guest() || info.NTLM == nil ||
		info.NTLM.NetBIOSComputer != "SMB1SRV" || info.NTLM.NetBIOSDomain != "SMB1SRV" ||
		info.NativeOS != "Windows 6.1" || !strings.HasPrefix(info.NativeLanMan, "Samba") {
		t.Errorf("session info %+v ntlm %+v", info, info.NTLM)
	}
	tree, err := s.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	rpcOverSMB1(t, ctx, tree, host, "SMB1SRV")
	// RAP rides on the same IPC$ tree.
	rt, ok := tree.(rap.Transport)
	if !ok {
		t.Fatal("SMB1 IPC$ tree is not a rap.Transport")
	}
	shares, err := rap.NetShareEnum(ctx, rt)
	if err != nil || len(shares) != 4 {
		t.Errorf("RAP NetShareEnum %+v %v", shares, err)
	}
	if _, err := tree.OpenPipe(ctx, `\PIPE\netlogon`); !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Errorf("netlogon pipe on a standalone server: %v", err)
	}
	if err := tree.Disconnect(ctx); err != nil {
		t.Error(err)
	}
	if err := s.Logoff(ctx); err != nil {
		t.Error(err)
	}
}

func TestLiveSMB1EmptyPassword(t *testing.T) {
	host := labtest.Require(t, "smb1only")["smb1only"]
	ctx := ctx10(t)
	c, err := smb.DialSMB1Conn(ctx, host, smb.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Negotiated().ExtendedSecurity || c.SMB1Negotiate().ServerName != "SMB1SRV" || c.SMB1Negotiate().DomainName != "LAB" {
		t.Errorf("non-extended negotiate %+v", c.SMB1Negotiate())
	}
	s, info, err := c.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Form != "empty-password" || info.Guest() || info.NTLM != nil || info.PrimaryDomain != "LAB" || info.NativeOS == "" {
		t.Errorf("session info %+v", info)
	}
	tree, err := s.TreeConnect(ctx, `IPC$`)
	if err != nil {
		t.Fatal(err)
	}
	rpcOverSMB1(t, ctx, tree, host, "SMB1SRV")

	// A read-only listing of the guest share.
	pub, err := s.TreeConnect(ctx, "public")
	if err != nil {
		t.Fatal(err)
	}
	ents, err := pub.List(ctx, "")
	if err != nil || len(ents) != 1 || ents[0].Name != "readme.txt" || ents[0].IsDir || ents[0].Size != 15 {
		t.Errorf("public listing %+v %v", ents, err)
	}

	// The same form with an unknown user is the guest probe: Samba's
	// "map to guest = Bad User" sets the Action guest bit.
	c2, err := smb.DialSMB1Conn(ctx, host, smb.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	guest, err := smb.GuestCredentials()
	if err != nil {
		t.Fatal(err)
	}
	_, ginfo, err := c2.SessionSetup(ctx, guest)
	if err != nil || !ginfo.Guest() {
		t.Errorf("guest probe %+v %v", ginfo, err)
	}
}

func TestLiveSMB1Restricted(t *testing.T) {
	host := labtest.Require(t, "restricted")["restricted"]
	ctx := ctx10(t)
	c, err := smb.Dial(ctx, host, smb.Options{Dialects: []smb.Dialect{smb.SMB1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _, err := c.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TreeConnect(ctx, "IPC$"); !errors.Is(err, ntstatus.AccessDenied) {
		t.Errorf("IPC$ on restrict anonymous = 2: %v, want ACCESS_DENIED", err)
	}
}

func TestLiveNetBIOSTransport(t *testing.T) {
	host := labtest.Require(t, "open")["open"]
	for _, dialects := range [][]smb.Dialect{{smb.SMB1}, nil} {
		ctx := ctx10(t)
		c, err := smb.Dial(ctx, host, smb.Options{Dialects: dialects, Transport: smb.NetBIOSTransport(host, "OPENSRV")})
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := c.SessionSetup(ctx, smb.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		tree, err := s.TreeConnect(ctx, "IPC$")
		if err != nil {
			t.Fatal(err)
		}
		p, err := tree.OpenPipe(ctx, "srvsvc")
		if err != nil {
			t.Fatalf("%v over 139: %v", c.Negotiated().Dialect, err)
		}
		if _, err := dcerpc.Bind(ctx, p, dcerpc.SRVSVC); err != nil {
			t.Errorf("%v over 139: bind: %v", c.Negotiated().Dialect, err)
		}
		c.Close()
	}
}
