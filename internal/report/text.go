// Package report renders results: text in the spirit of enum.exe's output,
// and JSON.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// JSONLine writes r as one line of JSON Lines (several hosts, one a line).
func JSONLine(w io.Writer, r any) error {
	return json.NewEncoder(w).Encode(r)
}

// tw accumulates text and remembers the first write error.
type tw struct {
	w   io.Writer
	err error
}

func (t *tw) f(format string, a ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, a...)
	}
}

// enumSections are the parts of enum's text report, in the order they
// print: the layers first, then the RPC checks in enum.exe's order, the
// doors beside SMB, the refused calls, and where the examination stopped.
var enumSections = []func(*tw, *enum.Result){
	headerSection, netbiosSection, smbSection, sessionsSection, ipcSection, pipesSection,
	serverInfoSection, domainSection, policySection, usersSection, machinesSection, groupsSection,
	sharesSection, trustsSection, ridsSection, namesSection, browseSection,
	transportSection, endpointsSection, ldapSection,
	denialsSection, stoppedSection,
}

// Text writes r the way an auditor reads it: layer by layer, each with what
// was seen and the status that decided it.
func Text(w io.Writer, r *enum.Result) error {
	t := &tw{w: w}
	for _, s := range enumSections {
		s(t, r)
	}
	return t.err
}

func headerSection(t *tw, r *enum.Result) {
	t.f("server: %s", r.Target)
	if r.Address != "" && r.Address != r.Target {
		t.f(" (%s)", r.Address)
	}
	t.f("\n")
	t.f("reachability: tcp/445 %s, tcp/139 %s", orDash(r.Ports["445"]), orDash(r.Ports["139"]))
	if r.Port != 0 {
		t.f("; SMB on tcp/%d", r.Port)
	}
	t.f("\n")
}

func netbiosSection(t *tw, r *enum.Result) {
	if r.NetBIOS != nil {
		writeNetBIOS(t, r.NetBIOS)
	}
}

func smbSection(t *tw, r *enum.Result) {
	if s := r.SMB; s != nil {
		t.f("dialects: %s\n", dialectsLine(r))
		if s.Dialect != "" {
			req := "not required"
			if s.SigningRequired {
				req = "required"
			}
			en := "enabled"
			if !s.SigningEnabled {
				en = "disabled"
			}
			t.f("negotiated: %s; signing %s, %s\n", s.Dialect, en, req)
		}
		if s.ServerGUID != "" {
			t.f("  server guid: %s\n", s.ServerGUID)
		}
		if n := s.NTLM; n != nil {
			t.f("  ntlm challenge: computer %s (dns %s), domain %s (dns %s)", orDash(n.NetBIOSComputer), orDash(n.DNSComputer), orDash(n.NetBIOSDomain), orDash(n.DNSDomain))
			if n.DNSTree != "" {
				t.f(", forest %s", n.DNSTree)
			}
			if n.OSVersion != "" {
				t.f(", os version %s", n.OSVersion)
			}
			t.f("\n")
		}
		if s.NativeOS != "" || s.NativeLanMan != "" {
			t.f("  native os: %q, native lanman: %q\n", s.NativeOS, s.NativeLanMan)
		}
	}
}

func sessionsSection(t *tw, r *enum.Result) {
	if n := r.Sessions[enum.SessionNull]; n != nil {
		t.f("null session (no user, no password): %s\n", sessionLine(n))
	}
	if g := r.Sessions[enum.SessionGuest]; g != nil {
		t.f("guest probe (random unknown user, empty password): %s\n", sessionLine(g))
	}
	if u := r.Sessions[enum.SessionUser]; u != nil {
		t.f("user session (%s, NTLMv2; every check below runs as this user): %s\n", r.Account, sessionLine(u))
	}
}

func ipcSection(t *tw, r *enum.Result) {
	if r.IPC != nil {
		t.f("IPC$ tree connect: %s", r.IPC.Result)
		if r.IPC.Status != "" && r.IPC.Result != enum.Allowed {
			t.f(" (%s)", r.IPC.Status)
		}
		if r.IPC.Error != "" {
			t.f(" (%s)", r.IPC.Error)
		}
		t.f("\n")
	}
}

func pipesSection(t *tw, r *enum.Result) {
	if len(r.Pipes) > 0 {
		if r.Account != "" {
			t.f("named pipes (open as %s):\n", r.Account)
		} else {
			t.f("named pipes (anonymous open):\n")
		}
		for _, p := range enum.WellKnownPipes {
			if st, ok := r.Pipes[p]; ok {
				t.f("  %-10s %s\n", p, st)
			}
		}
	}
}

func stoppedSection(t *tw, r *enum.Result) {
	if r.Error != "" {
		t.f("stopped at %s: %s\n", r.Layer, r.Error)
	}
}

// dialectsLine says which dialects the server accepted, each "yes", "no"
// or "no answer"; without an answer at all, whether they were not probed
// (enum.exe letters) or the probe failed.
func dialectsLine(r *enum.Result) string {
	if len(r.SMB.Dialects) == 0 {
		for _, c := range r.Checks {
			if c.Interface == enum.IfaceSMB && c.Method == "ProbeDialects" {
				why := c.Status
				if why == "" {
					why = c.Detail
				}
				return "not known: the per-dialect probe failed (" + why + ")"
			}
		}
		return "not probed (-A negotiates each dialect)"
	}
	var acc []string
	for _, d := range smb.AllDialects {
		word := "no answer"
		if on, ok := r.SMB.Dialects[d.String()]; ok {
			word = "no"
			if on {
				word = "yes"
			}
		}
		acc = append(acc, d.String()+" "+word)
	}
	return strings.Join(acc, ", ")
}

func sessionLine(s *enum.SessionResult) string {
	var b strings.Builder
	b.WriteString(string(s.Result))
	var parts []string
	if s.Status != "" {
		parts = append(parts, s.Status)
	}
	if f := s.FlagsText(); f != "" {
		parts = append(parts, "session flags "+f)
	}
	if s.Dialect != "" {
		parts = append(parts, s.Dialect)
	}
	if s.Form != "" {
		parts = append(parts, s.Form)
	}
	if s.Error != "" {
		parts = append(parts, s.Error)
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	return b.String()
}

func writeNetBIOS(t *tw, n *enum.NetBIOS) {
	t.f("netbios names:\n")
	for _, x := range n.Names {
		g := "unique"
		if x.Group {
			g = "group"
		}
		t.f("  %-16s %s %-6s %s\n", x.Name, x.Suffix, g, x.Type)
	}
	if n.MAC != "" {
		t.f("  mac: %s\n", n.MAC)
	}
}

func orDash[S ~string](s S) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}
