package report

import (
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
)

func serverInfoSection(t *tw, r *enum.Result) {
	s := r.ServerInfo
	if s == nil {
		return
	}
	if s.Name != "" {
		t.f("server info: %s, platform %d, version %d.%d, comment %q\n", s.Name, s.PlatformID, s.VersionMajor, s.VersionMinor, s.Comment)
		if len(s.TypeNames) > 0 {
			t.f("  type 0x%08x: %s\n", s.Type, strings.Join(s.TypeNames, ", "))
		}
	}
	if w := s.Workstation; w != nil {
		t.f("workstation: %s, domain/workgroup %s, version %d.%d\n", w.ComputerName, w.LanGroup, w.VersionMajor, w.VersionMinor)
	}
}

func domainSection(t *tw, r *enum.Result) {
	if p := r.PrimaryDomain; p != nil {
		sid := "no SID (a workgroup)"
		if p.SID != nil {
			sid = *p.SID
		}
		t.f("primary domain: %s, %s\n", p.Name, sid)
	}
	if d := r.Domain; d != nil {
		t.f("account domain: %s, %s", d.Name, orDash(d.SID))
		if d.DNSDomain != "" {
			t.f(", dns %s, forest %s", d.DNSDomain, orDash(d.Forest))
		}
		if d.Role != "" {
			t.f(" (%s)", d.Role)
		}
		t.f("\n")
	}
}

// seconds renders a policy duration the way an admin reads it.
func seconds(s *int64, null string) string {
	if s == nil {
		return null
	}
	v := *s
	switch {
	case v == 0:
		return "0"
	case v%86400 == 0:
		return fmt.Sprintf("%d days", v/86400)
	case v%3600 == 0:
		return fmt.Sprintf("%d hours", v/3600)
	case v%60 == 0:
		return fmt.Sprintf("%d mins", v/60)
	}
	return fmt.Sprintf("%d s", v)
}

func policySection(t *tw, r *enum.Result) {
	p := r.Policy
	if p == nil {
		return
	}
	t.f("password policy:\n")
	if pw := p.Password; pw != nil {
		minLen := fmt.Sprint(pw.MinLength)
		if pw.MinLength == 0 {
			minLen = "none"
		}
		t.f("  min length: %s\n  history: %d\n  max age: %s\n  min age: %s\n", minLen, pw.HistoryLength,
			seconds(pw.MaxAgeS, "never expires"), seconds(pw.MinAgeS, "none"))
		if len(pw.Properties) > 0 {
			t.f("  properties: %s\n", strings.Join(pw.Properties, ", "))
		}
	}
	if lo := p.Lockout; lo != nil {
		if lo.Threshold == 0 {
			t.f("  lockout threshold: none (unlimited guessing)\n")
		} else {
			t.f("  lockout threshold: %d\n", lo.Threshold)
		}
		t.f("  lockout duration: %s\n  lockout reset: %s\n", seconds(lo.DurationS, "never"), seconds(lo.WindowS, "never"))
	}
	if lf := p.Logoff; lf != nil {
		t.f("  forced logoff: %s\n", seconds(lf.ForceLogoffS, "never"))
	}
}

func usersSection(t *tw, r *enum.Result) {
	if r.Users == nil {
		return
	}
	t.f("users (%d):\n", len(r.Users))
	unread := 0
	for _, u := range r.Users {
		t.f("  %-20s rid %-6d", u.Name, u.RID)
		if u.ACB == nil {
			unread++
		} else if len(u.Flags) > 0 {
			t.f(" [%s]", strings.Join(u.Flags, ","))
		}
		if u.FullName != "" {
			t.f(" %q", u.FullName)
		}
		if u.Description != "" {
			t.f(" desc: %q", u.Description)
		}
		t.f("\n")
		userDetails(t, u.Details)
	}
	if unread > 0 {
		t.f("  (account flags not read for %d: the display information carried none; -d reads them per user)\n", unread)
	}
}

// userDetails shows what -d read (SAMR class 21), as enum.exe -d did.
func userDetails(t *tw, d *enum.UserDetails) {
	if d == nil {
		return
	}
	when := func(p *string) string {
		if p == nil {
			return "never"
		}
		return *p
	}
	for _, kv := range [][2]string{
		{"home directory", d.HomeDirectory}, {"home drive", d.HomeDrive}, {"profile", d.ProfilePath},
		{"logon script", d.ScriptPath}, {"workstations", d.Workstations}, {"comment", d.UserComment},
	} {
		if kv[1] != "" {
			t.f("      %-22s %s\n", kv[0]+":", kv[1])
		}
	}
	t.f("      %-22s %s\n", "last logon:", when(d.LastLogon))
	t.f("      %-22s %s\n", "last logoff:", when(d.LastLogoff))
	t.f("      %-22s %s\n", "password last set:", when(d.PasswordLastSet))
	t.f("      %-22s %s\n", "password can change:", when(d.PasswordCanChange))
	t.f("      %-22s %s\n", "password must change:", when(d.PasswordMustChange))
	t.f("      %-22s %s\n", "account expires:", when(d.AccountExpires))
	t.f("      %-22s %d bad passwords, %d logons, primary group rid %d", "counts:", d.BadPasswordCount, d.LogonCount, d.PrimaryGroupRID)
	if d.PasswordExpired {
		t.f(", password expired")
	}
	t.f("\n")
}

func machinesSection(t *tw, r *enum.Result) {
	if r.Machines == nil {
		return
	}
	t.f("machine accounts (%d):\n", len(r.Machines))
	for _, u := range r.Machines {
		flags := "flags not read"
		if u.ACB != nil {
			flags = strings.Join(u.Flags, ",")
		}
		t.f("  %-20s rid %-6d [%s]\n", u.Name, u.RID, flags)
	}
}

func groupsSection(t *tw, r *enum.Result) {
	if r.Groups == nil {
		return
	}
	t.f("groups (%d):\n", len(r.Groups))
	for _, g := range r.Groups {
		t.f("  %-8s %-32s rid %-6d", g.Kind, g.Name, g.RID)
		switch {
		case g.Members == nil:
			t.f(" members: (not readable)")
		case len(g.Members) > 0:
			t.f(" members: %s", strings.Join(g.Members, ", "))
		}
		t.f("\n")
	}
}

func sharesSection(t *tw, r *enum.Result) {
	if r.Shares == nil {
		return
	}
	t.f("shares (%d):\n", len(r.Shares))
	// The name column is as wide as the longest name (at least 12), so
	// that a long name never runs into the type.
	w := 12
	for _, s := range r.Shares {
		w = max(w, len([]rune(s.Name)))
	}
	for _, s := range r.Shares {
		t.f("  %-*s %-14s connect %-22s list %s", w, s.Name, s.Type, s.Anonymous.Connect, s.Anonymous.List)
		if len(s.Anonymous.Entries) > 0 {
			e := s.Anonymous.Entries
			more := ""
			if len(e) > 5 {
				e, more = e[:5], fmt.Sprintf(" … (%d)", len(s.Anonymous.Entries))
			}
			t.f(" [%s%s]", strings.Join(e, " "), more)
		}
		if s.Comment != "" {
			t.f("  %q", s.Comment)
		}
		t.f("\n")
	}
}

func trustsSection(t *tw, r *enum.Result) {
	if r.Trusts == nil {
		return
	}
	if len(r.Trusts) == 0 {
		t.f("trusted domains: none\n")
		return
	}
	t.f("trusted domains:\n")
	for _, x := range r.Trusts {
		t.f("  %s %s %s %s %s\n", x.Name, orDash(x.DNSName), orDash(x.SID), orDash(x.Direction), orDash(x.Type))
	}
}

func ridsSection(t *tw, r *enum.Result) {
	c := r.RIDCycling
	if c == nil {
		return
	}
	t.f("SID to name (RID cycling) via %s", c.Path)
	if len(c.Denied) > 0 {
		t.f("; denied: %s", strings.Join(c.Denied, ", "))
	}
	t.f("\n")
	if c.Administrator != "" {
		t.f("  RID 500 (the built-in Administrator, however renamed): %s\n", c.Administrator)
	}
	if c.Guest != "" {
		t.f("  RID 501 (Guest): %s\n", c.Guest)
	}
	for _, x := range r.RIDs {
		// Well-known SIDs are not domain + RID: show the whole SID.
		if x.Type == "well-known" || x.Type == "domain" {
			t.f("  %s: %s\\%s (%s)\n", x.SID, x.Domain, x.Name, x.Type)
			continue
		}
		t.f("  %d: %s\\%s (%s)\n", x.RID, x.Domain, x.Name, x.Type)
	}
}

func browseSection(t *tw, r *enum.Result) {
	b := r.Browse
	if b == nil {
		return
	}
	if b.Unavailable != "" {
		t.f("%s\n", b.Unavailable)
		return
	}
	t.f("browse list (net view /domain):\n")
	if len(b.Domains) == 0 {
		t.f("  domains: none\n")
	}
	for _, d := range b.Domains {
		t.f("  domain %-16s master browser %s\n", d.Name, orDash(d.Comment))
	}
	if len(b.Servers) == 0 {
		t.f("  servers: none\n")
	}
	for _, s := range b.Servers {
		t.f("  server %-16s type 0x%08x %-20s (asked for domain %q)\n", s.Name, s.TypeFlags, s.Comment, s.Domain)
	}
}

// denialsSection lists the calls the server refused, with their status:
// what a restriction closed is as much a finding as what stayed open.
func denialsSection(t *tw, r *enum.Result) {
	var lines []string
	for _, c := range r.Checks {
		if (c.Layer == enum.LayerCall || c.Layer == enum.LayerBind) && c.Result != enum.OK && c.Result != enum.Skipped {
			st := c.Status
			if st == "" {
				st = c.Detail
			}
			name := c.Name
			if c.Arg != "" && !strings.Contains(name, "(") && !strings.Contains(st, c.Arg) {
				// Two calls of one method differ by their argument
				// (OpenPolicy2 asked with two access masks).
				name += "(" + c.Arg + ")"
			}
			lines = append(lines, fmt.Sprintf("  %-44s %s %s", name, c.Result, st))
		}
	}
	if len(lines) == 0 {
		return
	}
	t.f("refused or failed calls:\n%s\n", strings.Join(lines, "\n"))
}

// namesSection shows each --names question and its answer, mapped or not.
func namesSection(t *tw, r *enum.Result) {
	if len(r.Names) == 0 {
		return
	}
	t.f("names asked (--names):\n")
	for _, n := range r.Names {
		switch n.Result {
		case enum.NameMapped:
			t.f("  %-20s → %s\\%s (%s) %s, by %s\n", n.Name, n.Domain, n.Name, n.Type, n.SID, n.Via)
		case enum.NameNotMapped:
			t.f("  %-20s → not mapped, by %s\n", n.Name, n.Via)
		default:
			why := n.Error
			if why == "" {
				why = "no lookup path got that far"
			}
			t.f("  %-20s → not looked up: %s\n", n.Name, why)
		}
	}
}
