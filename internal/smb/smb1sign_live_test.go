package smb

import (
	"testing"

	"github.com/nullsweep/nullsweep/internal/lab"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestLiveSMB1Signing: an SMB1-only server that requires signing ("server
// signing = mandatory") serves the lab user over a signed session: IPC$,
// a pipe, a DCE/RPC bind (a transaction), logoff. Samba refuses unsigned
// or wrongly signed requests there, and every reply's signature is
// checked.
func TestLiveSMB1Signing(t *testing.T) {
	p, err := lab.Custom("smb1sign", "127.0.0.23", "smb1only",
		[]string{"restrict anonymous = 0", "server min protocol = NT1", "server max protocol = NT1", "ntlm auth = yes", "server signing = mandatory"}, "")
	if err != nil {
		t.Fatal(err)
	}
	host := labtest.RequireCustom(t, p)
	ctx := ctxT(t)
	c, err := Dial(ctx, host, Options{Dialects: []Dialect{SMB1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := c.Negotiated(); n.Dialect != SMB1 || !n.SigningRequired {
		t.Fatalf("negotiated %+v", n)
	}
	s, info, err := c.SessionSetup(ctx, labUser)
	if err != nil || info.Form != "ntlmv2" {
		t.Fatalf("logon: %v (%+v)", err, info)
	}
	if c.(*SMB1Conn).Client().Signing() == false {
		t.Fatal("the session is not signed")
	}
	ipc, err := s.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatalf("IPC$: %v", err)
	}
	pipe, err := ipc.OpenPipe(ctx, "srvsvc")
	if err != nil {
		t.Fatalf("srvsvc: %v", err)
	}
	out, err := pipe.Transact(ctx, srvsvcBind, 1024)
	if err != nil || len(out) < 3 || out[2] != 12 {
		t.Fatalf("bind: % x %v", out, err)
	}
	if err := pipe.Close(ctx); err != nil {
		t.Error(err)
	}
	if err := s.Logoff(ctx); err != nil {
		t.Error(err)
	}
}
