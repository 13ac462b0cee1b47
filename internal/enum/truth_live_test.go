package enum

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestLiveUnreadFlagsAbsent: Samba AD's QueryDisplayInformation carries
// account flags 0 for every user; those flags were not read, so they are
// absent (never "acb":0,"flags":[]); -d reads them per user, and the DC's
// Guest and krbtgt are disabled in fact. On the standalone posture the
// display information carries the bits and they stay.
func TestLiveUnreadFlagsAbsent(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open", "dc")
	ctx := context.Background()
	dc := Run(ctx, addrs["dc"], Options{Timeout: 60 * time.Second, NoGuest: true, Checks: CheckUsers})
	if len(dc.Users) == 0 {
		t.Fatalf("dc: no users: %s %s", dc.Layer, dc.Error)
	}
	for _, u := range dc.Users {
		if u.ACB != nil || u.Flags != nil {
			t.Errorf("dc %s: flags %v %v from a display call that carries none", u.Name, u.ACB, u.Flags)
		}
	}
	b, _ := json.Marshal(dc.Users)
	if strings.Contains(string(b), `"acb"`) || strings.Contains(string(b), `"flags"`) {
		t.Errorf("dc users JSON: %s", b)
	}
	dcD := Run(ctx, addrs["dc"], Options{Timeout: 60 * time.Second, NoGuest: true, Checks: CheckUsers | CheckDetailed})
	disabled := map[string]bool{}
	for _, u := range dcD.Users {
		if u.ACB == nil {
			t.Errorf("dc -d %s: flags not read", u.Name)
			continue
		}
		for _, f := range u.Flags {
			if f == "disabled" {
				disabled[u.Name] = true
			}
		}
	}
	if !disabled["Guest"] || !disabled["krbtgt"] || disabled["alice"] {
		t.Errorf("dc -d disabled accounts: %v, want Guest and krbtgt", disabled)
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
