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
