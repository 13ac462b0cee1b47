package pcap

import (
	"fmt"
	"io"
	"strings"
)

// WriteText renders the report for a reader: per conversation, who logged
// on, which trees, pipes and calls, and what the server disclosed; then
// the findings and what was not decoded.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "file %s: %d packets", f.Name, f.Packets)
		if f.Error != "" {
			fmt.Fprintf(&b, " (stopped: %s)", f.Error)
		}
		b.WriteString("\n")
	}
	if len(r.Conversations) == 0 {
		b.WriteString("no SMB or DCE/RPC conversation found\n")
	}
	for _, c := range r.Conversations {
		fmt.Fprintf(&b, "\n%s → %s  %s", c.Client, c.Server, c.Transport)
		if c.Dialect != "" {
			fmt.Fprintf(&b, " %s", c.Dialect)
		}
		if c.Encrypted {
			b.WriteString(" (encrypted: later messages not readable)")
		}
		fmt.Fprintf(&b, "  [%s from frame %d]\n", c.File, c.FirstFrame)
		if si := c.ServerInfo; si != nil {
			var parts []string
			for _, p := range [][2]string{{"computer", si.NetBIOSComputer}, {"domain", si.NetBIOSDomain},
				{"dns", si.DNSComputer}, {"ntlm version", si.NTLMVersion}, {"os", si.NativeOS}, {"lanman", si.NativeLanMan}} {
				if p[1] != "" {
					parts = append(parts, p[0]+" "+p[1])
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(&b, "  server: %s\n", strings.Join(parts, ", "))
			}
		}
		for _, l := range c.Logons {
			who := l.Kind
			if l.User != "" {
				who += " " + qualify(l.Domain, l.User)
			}
			if l.Mechanism != "" {
				who += " (" + l.Mechanism + ")"
			}
			fmt.Fprintf(&b, "  logon   %-40s %s  frame %d\n", who, l.Status, l.Frame)
		}
		for _, t := range c.Trees {
			fmt.Fprintf(&b, "  tree    %-40s %s  frame %d\n", t.Path, t.Status, t.Frame)
		}
		for _, p := range c.Pipes {
			fmt.Fprintf(&b, "  pipe    %-40s %s  frame %d (%s session)\n", `\`+p.Name, p.Status, p.Frame, p.Logon)
		}
		for _, cl := range c.Calls {
			st := cl.Status
			if !cl.Decoded {
				st = "not decoded: " + cl.Note
			}
			if cl.Disclosed > 0 {
				st += fmt.Sprintf(", %d disclosed", cl.Disclosed)
			}
			fmt.Fprintf(&b, "  call    %-40s %s  frame %d\n", cl.Interface+" "+cl.Name, st, max(cl.Frame, cl.RequestFrame))
		}
		writeDisclosed(&b, &c.Disclosed)
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nfindings\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  %s: %s (frame %d)\n", f.ID, f.Text, f.Frame)
		}
	}
	if r.NotDecodedTotal > 0 {
		counts := map[string]int{}
		var order []string
		for _, u := range r.NotDecoded {
			k := u.What + ": " + u.Reason
			if counts[k] == 0 {
				order = append(order, k)
			}
			counts[k]++
		}
		fmt.Fprintf(&b, "\nnot decoded (%d)\n", r.NotDecodedTotal)
		for _, k := range order {
			fmt.Fprintf(&b, "  %4d× %s\n", counts[k], k)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func qualify(domain, user string) string {
	if domain == "" {
		return user
	}
	return domain + `\` + user
}

func writeDisclosed(b *strings.Builder, d *Disclosed) {
	for _, dm := range d.Domains {
		fmt.Fprintf(b, "  domain  %s %s\n", dm.Name, dm.SID)
	}
	for _, dm := range d.TrustedDoms {
		fmt.Fprintf(b, "  trust   %s %s\n", dm.Name, dm.SID)
	}
	accounts := func(kind string, list []Account) {
		for _, a := range list {
			id := a.SID
			if id == "" {
				id = fmt.Sprintf("rid %d", a.RID)
			}
			extra := ""
			if a.FullName != "" {
				extra += "  " + a.FullName
			}
			if a.Description != "" {
				extra += "  (" + a.Description + ")"
			}
			fmt.Fprintf(b, "  %-7s %s %s%s\n", kind, a.Name, id, extra)
		}
	}
	accounts("user", d.Users)
	accounts("group", d.Groups)
	accounts("alias", d.Aliases)
	for _, n := range d.Names {
		fmt.Fprintf(b, "  sid     %s %s (%s)\n", n.SID, qualify(n.Domain, n.Name), n.Type)
	}
	for _, s := range d.Shares {
		fmt.Fprintf(b, "  share   %s (type 0x%x) %s\n", s.Name, s.Type, s.Remark)
	}
	if p := d.Policy; p != nil {
		var parts []string
		if p.MinLength != nil {
			parts = append(parts, fmt.Sprintf("min length %d", *p.MinLength))
		}
		if p.HistoryLength != nil {
			parts = append(parts, fmt.Sprintf("history %d", *p.HistoryLength))
		}
		if p.LockoutThreshold != nil {
			parts = append(parts, fmt.Sprintf("lockout after %d", *p.LockoutThreshold))
		}
		parts = append(parts, p.Properties...)
		fmt.Fprintf(b, "  policy  %s\n", strings.Join(parts, ", "))
	}
	if s := d.Server; s != nil {
		fmt.Fprintf(b, "  server  %s %s version %s %s\n", s.Name, s.Domain, s.Version, s.Comment)
	}
	for _, n := range d.NetBIOS {
		kind := "unique"
		if n.Group {
			kind = "group"
		}
		fmt.Fprintf(b, "  netbios %-15s %s %s (%s)\n", n.Name, n.Suffix, kind, n.Role)
	}
	if len(d.RootDSE) > 0 {
		for _, k := range []string{"defaultNamingContext", "dnsHostName", "serverName", "domainFunctionality", "forestFunctionality", "domainControllerFunctionality", "isGlobalCatalogReady"} {
			if v := d.RootDSE[k]; len(v) > 0 {
				fmt.Fprintf(b, "  rootDSE %s: %s\n", k, strings.Join(v, ", "))
			}
		}
		fmt.Fprintf(b, "  rootDSE (%d attributes in all)\n", len(d.RootDSE))
	}
	for _, e := range d.LDAPEntries {
		fmt.Fprintf(b, "  entry   %s %s\n", e.DN, e.SAMAccountName)
	}
	for _, e := range d.Endpoints {
		fmt.Fprintf(b, "  endpoint %s\n", e)
	}
}
