package enum

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// labAlice is the lab's documented user (README, "The lab").
var labAlice = smb.Credentials{User: "alice", Domain: "LAB", Password: "Passw0rd!"}

// oracleAs runs Samba's client as alice: the oracle of an authenticated run.
func oracleAs(t *testing.T, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{"-U", "LAB/alice%Passw0rd!"}, args...)
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		t.Logf("%s %v: %v", tool, args[2:], err)
	}
	return string(out)
}

var reShareList = regexp.MustCompile(`(?m)^(?:Disk|IPC|Printer)\|([^|]*)\|`)

// Issue 17: as alice, every check runs on her session (signed over SMB2),
// and users, domain groups and shares equal rpcclient's and smbclient's as
// alice: on open, restricted and restricted1 (IPC$ denied to strangers,
// allowed to alice), smb1only (SMB1, unsigned: it does not require
// signing), smb2only and the DC (signing required).
func TestLiveAuthenticatedAgreesWithOracles(t *testing.T) {
	addrs := labtest.Require(t, "open", "restricted", "restricted1", "smb1only", "smb2only", "dc")
	for _, posture := range []string{"open", "restricted", "restricted1", "smb1only", "smb2only", "dc"} {
		t.Run(posture, func(t *testing.T) {
			addr := addrs[posture]
			var nt1 []string
			if posture == "smb1only" {
				nt1 = []string{"-m", "NT1", "--option=client min protocol=NT1"}
			}
			r := liveRun(t, addr, Options{Credentials: labAlice, Checks: CheckUsers | CheckGroups | CheckShares | CheckPipes})
			if (posture == "smb1only") != (r.SMB != nil && r.SMB.Dialect == "SMB 1.0") {
				t.Errorf("dialect %+v", r.SMB)
			}
			if r.Account != `LAB\alice` || len(r.Sessions) != 1 {
				t.Fatalf("account %q sessions %v", r.Account, r.Sessions)
			}
			if u := r.Sessions["user"]; u == nil || u.Result != Allowed || u.Form != "ntlmv2" {
				t.Fatalf("user session %+v", u)
			}
			if r.IPC == nil || r.IPC.Result != Allowed {
				t.Errorf("IPC$ as alice: %+v", r.IPC)
			}
			if r.Pipes["samr"] != "open" || r.Pipes["lsarpc"] != "open" {
				t.Errorf("pipes as alice: %v", r.Pipes)
			}
			for _, c := range r.Checks {
				if c.Layer == LayerSession && !strings.Contains(c.Arg, `LAB\alice`) {
					t.Errorf("a session check not as alice: %+v", c)
				}
			}
			oracle := oracleAs(t, "rpcclient", append(nt1, addr, "-c", "enumdomusers; enumdomgroups")...)
			wantUsers := ridNames(reUser, oracle)
			gotUsers := map[uint32]string{}
			for _, u := range r.Users {
				gotUsers[u.RID] = u.Name
			}
			if len(wantUsers) == 0 || !mapsEqual(gotUsers, wantUsers) {
				t.Errorf("users %v, rpcclient as alice %v", sample(gotUsers), sample(wantUsers))
			}
			wantGroups := ridNames(reGroup, oracle)
			gotGroups := map[uint32]string{}
			for _, g := range r.Groups {
				if g.Kind == "domain" {
					gotGroups[g.RID] = g.Name
				}
			}
			if !mapsEqual(gotGroups, wantGroups) {
				t.Errorf("domain groups %v, rpcclient as alice %v", gotGroups, wantGroups)
			}
			var wantShares, gotShares []string
			for _, x := range reShareList.FindAllStringSubmatch(oracleAs(t, "smbclient", append(nt1, "-g", "-L", "//"+addr)...), -1) {
				wantShares = append(wantShares, x[1])
			}
			for _, s := range r.Shares {
				gotShares = append(gotShares, s.Name)
			}
			sort.Strings(wantShares)
			sort.Strings(gotShares)
			if len(wantShares) == 0 || !slices.Equal(gotShares, wantShares) {
				t.Errorf("shares %v, smbclient -L as alice %v", gotShares, wantShares)
			}
		})
	}
}

// badPwdCount reads alice's bad password count from the lab DC's own
// database with Samba's tool.
func badPwdCount(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sam := filepath.Join(lab.DefaultDir(), "dc", "private", "sam.ldb")
	out, err := exec.CommandContext(ctx, "samba-tool", "user", "show", "alice", "-H", sam, "--attributes=badPwdCount").CombinedOutput()
	m := regexp.MustCompile(`(?m)^badPwdCount: (\d+)$`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("samba-tool user show alice: %v: %s", err, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// Lockout safety: a whole run (-A) with a wrong password raises alice's
// bad password count on the DC by at most one (the logon is tried once,
// never retried, and nothing else logs on as her after the refusal); a
// right password afterwards resets it, so the lab's lockout threshold is
// never reached by the tests.
func TestLiveWrongPasswordCountsOnce(t *testing.T) {
	addr := labtest.Require(t, "dc")["dc"]
	reset := func() {
		if r := liveRun(t, addr, Options{Credentials: labAlice, Checks: CheckShares}); r.Sessions["user"] == nil || r.Sessions["user"].Result != Allowed {
			t.Fatalf("alice cannot log on: %+v", r.Sessions)
		}
	}
	reset()
	before := badPwdCount(t)
	wrong := labAlice
	wrong.Password = "Wr0ng-Passw0rd-q3"
	r := liveRun(t, addr, Options{Credentials: wrong})
	if u := r.Sessions["user"]; u == nil || u.Result != Denied || u.Status != "STATUS_LOGON_FAILURE" || r.Layer != LayerSession {
		t.Errorf("wrong password: session %+v, stopped at %q", u, r.Layer)
	}
	n := 0
	for _, c := range r.Checks {
		if c.Layer == LayerSession {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d logons in the run, want 1", n)
	}
	after := badPwdCount(t)
	t.Logf("badPwdCount %d -> %d", before, after)
	if after > before+1 {
		t.Errorf("badPwdCount rose from %d to %d: the wrong password was tried more than once", before, after)
	}
	reset()
	if n := badPwdCount(t); n != 0 {
		t.Errorf("badPwdCount %d after a good logon, want 0", n)
	}
}

// A reply whose signature was changed on the way (here the TREE_CONNECT of
// IPC$, one byte of its body) is an error for that host, never an answer:
// the session as alice stops at IPC$ with the signature error. The same
// run through the proxy unchanged reaches the users.
func TestLiveBadSignatureIsAnError(t *testing.T) {
	up := labtest.Require(t, "open")["open"]
	for _, tamper := range []bool{false, true} {
		p := &hostile.Proxy{Upstream: up, Rule: func(r *hostile.Reply) {
			if tamper && r.Req != nil && !r.Req.SMB1 && r.Req.Command == 3 && len(r.Raw) > 70 {
				r.Raw[len(r.Raw)-1] ^= 0x40
			}
		}}
		r := runThrough(t, hostile.Addr(170), p, Options{Timeout: 20 * time.Second, Credentials: labAlice, Checks: CheckUsers})
		if !tamper {
			if r.Error != "" || len(r.Users) == 0 {
				t.Fatalf("untouched: error %q, %d users", r.Error, len(r.Users))
			}
			continue
		}
		if r.IPC == nil || r.IPC.Result != Error || !strings.Contains(r.IPC.Error+r.Error, "signature") || r.Users != nil {
			t.Errorf("tampered: ipc %+v, layer %q, error %q, users %v", r.IPC, r.Layer, r.Error, r.Users)
		}
	}
}
