package smb

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// labUser is the lab's documented user (README, "The lab").
var labUser = Credentials{User: "alice", Password: "Passw0rd!"}

// TestLiveSignedSession logs on as the lab user in every SMB2 dialect and
// uses the session (IPC$, a pipe, a DCE/RPC bind): every request after
// the logon is signed and every response verified. The dc posture
// requires signing ("server signing = mandatory"), so an unsigned or
// wrongly signed request is refused there; open signs because we do.
func TestLiveSignedSession(t *testing.T) {
	t.Parallel()
	hosts := labtest.Require(t, "open", "dc")
	hash := Credentials{User: "alice", NTHash: ntlmssp.NTHash("Passw0rd!")}
	for _, posture := range []string{"open", "dc"} {
		for _, d := range []Dialect{SMB202, SMB21, SMB30, SMB302, SMB311} {
			for _, creds := range []Credentials{labUser, hash} {
				kind := "password"
				if creds.Password == "" {
					kind = "nthash"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", posture, d, kind), func(t *testing.T) {
					ctx := ctxT(t)
					c, err := Dial(ctx, hosts[posture], Options{Dialects: []Dialect{d}})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					if got := c.Negotiated(); got.Dialect != d || (posture == "dc") != got.SigningRequired {
						t.Fatalf("negotiated %+v", got)
					}
					s, info, err := c.SessionSetup(ctx, creds)
					if err != nil {
						t.Fatalf("logon: %v (%+v)", err, info)
					}
					if info.Form != "ntlmv2" || info.Guest() {
						t.Errorf("session %+v", info)
					}
					ipc, err := s.TreeConnect(ctx, "IPC$")
					if err != nil {
						t.Fatalf("IPC$: %v", err)
					}
					p, err := ipc.OpenPipe(ctx, "srvsvc")
					if err != nil {
						t.Fatalf("srvsvc: %v", err)
					}
					out, err := p.Transact(ctx, srvsvcBind, 1024)
					if err != nil || len(out) < 3 || out[2] != 12 { // bind_ack
						t.Fatalf("bind: % x %v", out, err)
					}
					if err := p.Close(ctx); err != nil {
						t.Error(err)
					}
					if err := s.Logoff(ctx); err != nil {
						t.Error(err)
					}
				})
			}
		}
	}
}

// TestLiveWrongPassword: a wrong password is STATUS_LOGON_FAILURE, with
// an error text that carries neither the password nor its hash.
func TestLiveWrongPassword(t *testing.T) {
	t.Parallel()
	host := labtest.Require(t, "open")["open"]
	ctx := ctxT(t)
	c := dialT(t, ctx, host)
	const pw = "NotThePassw0rd-x7"
	_, info, err := c.SessionSetup(ctx, Credentials{User: "alice", Password: pw})
	if !errors.Is(err, ntstatus.LogonFailure) || info.Status != ntstatus.LogonFailure {
		t.Fatalf("got %v (%+v)", err, info)
	}
	for _, secret := range []string{pw, fmt.Sprintf("%x", ntlmssp.NTHash(pw))} {
		if s := fmt.Sprintf("%v %+v %#v", err, info, Credentials{User: "alice", Password: pw, NTHash: ntlmssp.NTHash(pw)}); contains(s, secret) {
			t.Errorf("secret in %q", s)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
