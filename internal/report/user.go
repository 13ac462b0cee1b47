package report

import "github.com/nullsweep/nullsweep/internal/audit"

// auditUser prints the second look as a user: per item what the stranger
// and the user saw, the items only the user gets first.
func auditUser(t *tw, r *audit.Report) {
	u := r.User
	if u == nil {
		return
	}
	t.f("\nWhat %s gets that a stranger does not\n", u.Account)
	t.f("  logon as %s: %s", u.Account, orDash(u.Session))
	if u.Status != "" {
		t.f(" (%s)", u.Status)
	}
	t.f("\n")
	if u.CredentialRefused {
		t.f("  the credential was refused: tried once, not used again on this host\n")
		return
	}
	if u.Error != "" {
		t.f("  the user's run stopped at %s: %s\n", u.Layer, u.Error)
	}
	for _, order := range []string{audit.GapUserOnly, audit.GapAnonymousOnly, audit.GapBoth, audit.GapNeither, audit.GapUnknown} {
		for _, g := range u.Items {
			if g.Gap != order {
				continue
			}
			t.f("  %-24s stranger %-8s user %-8s %s\n", g.Key+":", orDash(g.Anonymous), orDash(g.User), g.Gap)
		}
	}
}
