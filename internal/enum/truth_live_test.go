package enum

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
)

// TestUnreadFlagsAbsent: account bits the display call did not carry (0,
// which no account has) are absent, never "acb":0,"flags":[]; bits read
// from the display call or per user stay.
func TestUnreadFlagsAbsent(t *testing.T) {
	for _, tt := range []struct {
		u    samr.User
		read bool
	}{
		{samr.User{RID: 501, Name: "Guest", ACBSource: "display"}, false},
		{samr.User{RID: 501, Name: "Guest"}, false},
		{samr.User{RID: 1000, Name: "alice", ACB: 0x10, ACBSource: "display"}, true},
		{samr.User{RID: 501, Name: "Guest", ACB: 0x215, ACBSource: "user_info"}, true},
	} {
		u := userOf(tt.u)
		if (u.ACB != nil) != tt.read || tt.read && (*u.ACB != tt.u.ACB || len(u.Flags) == 0) {
			t.Errorf("%+v: acb %v flags %v, read %v", tt.u, u.ACB, u.Flags, tt.read)
		}
		b, _ := json.Marshal(u)
		if !tt.read && (strings.Contains(string(b), `"acb"`) || strings.Contains(string(b), `"flags"`)) {
			t.Errorf("unread flags in JSON: %s", b)
		}
	}
}

// TestLiveDCFlagsRead: Samba AD's QueryDisplayInformation carries account
// flags 0 for every user; a domain this small gets them read per user
// (QueryInformationUser class 16), so the DC's Guest and krbtgt show as
// disabled, as -d shows them; the standalone posture keeps the display
// call's bits.
func TestLiveDCFlagsRead(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open", "dc")
	ctx := context.Background()
	for _, checks := range []Checks{CheckUsers, CheckUsers | CheckDetailed} {
		dc := Run(ctx, addrs["dc"], Options{Timeout: 60 * time.Second, NoGuest: true, Checks: checks})
		if len(dc.Users) == 0 {
			t.Fatalf("dc: no users: %s %s", dc.Layer, dc.Error)
		}
		disabled := map[string]bool{}
		for _, u := range dc.Users {
			if u.ACB == nil {
				t.Errorf("dc %s: flags not read", u.Name)
				continue
			}
			for _, f := range u.Flags {
				if f == "disabled" {
					disabled[u.Name] = true
				}
			}
		}
		if !disabled["Guest"] || !disabled["krbtgt"] || disabled["alice"] {
			t.Errorf("dc (checks %#x) disabled accounts: %v, want Guest and krbtgt", checks, disabled)
		}
	}
	open := Run(ctx, addrs["open"], Options{Timeout: 60 * time.Second, NoGuest: true, Checks: CheckUsers})
	for _, u := range open.Users {
		if u.ACB == nil || len(u.Flags) == 0 {
			t.Errorf("open %s: the display information's flags were dropped", u.Name)
		}
	}
}

// TestLiveNamesAnswered: --names shows the question and every answer,
// mapped or not, the same as rpcclient's lookupnames on the open posture
// (LSA); on the DC, LSA or SAMR answers, whichever path RID cycling took.
func TestLiveNamesAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open", "dc")
	asked := []string{"alice", "nosuchuser", "Administrator"}
	for _, tt := range []struct {
		posture string
		via     string
	}{{"open", "lsa.LookupNames"}, {"dc", ""}} {
		r := Run(context.Background(), addrs[tt.posture], Options{Timeout: 60 * time.Second, NoGuest: true, Checks: CheckRIDs,
			RIDs: RIDOptions{Names: asked, Ranges: []RIDRange{{First: 500, Last: 501}}}})
		if len(r.Names) != len(asked) {
			t.Fatalf("%s: names %+v, want one answer per name asked", tt.posture, r.Names)
		}
		// The oracle: rpcclient lookupnames, "NAME SID (TYPE: n)", S-0-0
		// for a name that does not map.
		want := map[string]bool{}
		if tt.posture == "open" {
			for _, line := range strings.Split(rpcclient(t, addrs["open"], false, "lookupnames "+strings.Join(asked, " ")), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && strings.HasPrefix(f[1], "S-") {
					want[f[0]] = f[1] != "S-0-0"
				}
			}
		} else {
			want = map[string]bool{"alice": true, "nosuchuser": false, "Administrator": true}
		}
		for i, n := range r.Names {
			if n.Name != asked[i] || !strings.HasPrefix(n.Via, tt.via) {
				t.Errorf("%s: answer %d = %+v, want %s by %s", tt.posture, i, n, asked[i], tt.via)
			}
			if mapped := n.Result == NameMapped; mapped != want[n.Name] || mapped && n.SID == "" || !mapped && n.Result != NameNotMapped {
				t.Errorf("%s: %s = %+v, oracle says mapped %v", tt.posture, n.Name, n, want[n.Name])
			}
		}
	}
}
