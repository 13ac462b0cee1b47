package report

import (
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/ldap"
)

// The doors beside SMB: RPC over TCP, the endpoint mapper's list, LDAP.

func transportSection(t *tw, r *enum.Result) {
	for _, c := range r.Checks {
		if c.Transport == enum.NCACNIPTCP && c.Layer == enum.LayerCall && c.Interface != enum.IfaceEPM {
			t.f("RPC checks carried over ncacn_ip_tcp (tcp/135 %s), not named pipes\n", orDash(r.Ports[enum.EPMPort]))
			return
		}
	}
}

func endpointsSection(t *tw, r *enum.Result) {
	e := r.Endpoints
	if e == nil {
		return
	}
	byProto := map[string]int{}
	for _, x := range e.Entries {
		byProto[x.Protocol]++
	}
	var counts []string
	for _, p := range sortedKeys(byProto) {
		counts = append(counts, fmt.Sprintf("%s %d", orDash(p), byProto[p]))
	}
	more := ""
	if e.Truncated {
		more = " (list cut at nullsweep's cap)"
	}
	t.f("endpoint mapper (tcp/135): %d entries%s: %s\n", len(e.Entries), more, strings.Join(counts, ", "))
	for _, x := range e.Entries {
		if x.TowerError != "" {
			t.f("  %-12s %s\n", "?", x.TowerError)
			continue
		}
		name := x.Name
		if name == "" {
			name = x.Interface
		}
		t.f("  %-18s v%-5s %-13s %-24s %s\n", name, x.Version, x.Protocol, x.Endpoint, x.Annotation)
	}
}

func ldapSection(t *tw, r *enum.Result) {
	if r.LDAP == nil {
		return
	}
	t.f("LDAP:\n")
	for _, p := range r.LDAP.Ports {
		t.f("  tcp/%d %s", p.Port, orNotExamined(p.State))
		if p.Error != "" {
			t.f(", stopped at %s: %s", p.Layer, p.Error)
		}
		t.f("\n")
		if c := p.Certificate; c != nil {
			v := "verifies"
			if !c.Verified {
				v = "does not verify: " + c.VerifyError
			}
			t.f("    certificate: %s, issued by %s, valid until %s; %s\n", c.Subject, c.Issuer, c.NotAfter.Format("2006-01-02"), v)
		}
		if d := p.RootDSE; d != nil {
			t.f("    rootDSE (anonymous): %s, default naming context %s\n", orDash(d.DNSHostName), orDash(d.DefaultNamingContext))
			t.f("    functional levels: domain %s, forest %s, DC %s; global catalog ready %s\n",
				level(d.DomainFunctionality), level(d.ForestFunctionality), level(d.DCFunctionality), orDash(d.IsGlobalCatalogReady))
			if len(d.SupportedSASLMechanisms) > 0 {
				t.f("    SASL: %s; LDAP versions %s\n", strings.Join(d.SupportedSASLMechanisms, ", "), strings.Join(d.SupportedLDAPVersion, ", "))
			}
		}
		if s := p.Search; s != nil {
			if s.Allowed {
				t.f("    anonymous search of %s: ALLOWED, %d entries (limit %d)\n", s.Base, len(s.Entries), s.Limit)
			} else {
				t.f("    anonymous search of %s: refused, %s (%d) %s\n", s.Base, s.Result.Name, s.Result.Code, s.Result.Diagnostic)
			}
		}
	}
}

func level(l *ldap.Level) string {
	if l == nil {
		return "-"
	}
	if l.Name == "" {
		return l.Value
	}
	return l.Name + " (" + l.Value + ")"
}

// orNotExamined: a port without a state is one the run never got an
// answer about (its deadline or a cancel came first).
func orNotExamined(state string) string {
	if state == "" {
		return "not examined"
	}
	return state
}
