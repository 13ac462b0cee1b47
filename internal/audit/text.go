package audit

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

var exposureTitles = map[string]string{
	ExpNullSession: "anonymous logon (null session)",
	ExpIPC:         "IPC$ for anonymous callers",
	ExpUsers:       "user list (SAMR)",
	ExpShares:      "share list (SRVSVC)",
	ExpPolicy:      "password/lockout policy (SAMR)",
	ExpSIDLookup:   "SID/name translation (LSA)",
	ExpGuest:       "unknown user → guest",
	ExpSMB1:        "SMB1 accepted",
	ExpSigning:     "signing required",
}

func exposureTitle(name string) string {
	if t, ok := exposureTitles[name]; ok {
		return t
	}
	if s, ok := strings.CutPrefix(name, "share:"); ok {
		return "share " + s + " for anonymous callers"
	}
	return name
}

// WriteText writes the report as an auditor would read it: what was seen,
// why it matters, what to set and what that may break.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "nullsweep audit %s", r.Target)
	if r.Address != "" && r.Address != r.Target {
		fmt.Fprintf(b, " (%s)", r.Address)
	}
	if r.Port != 0 {
		fmt.Fprintf(b, ", port %d", r.Port)
	}
	fmt.Fprintf(b, "\n")
	fmt.Fprintf(b, "  platform: %s", r.Host.Family)
	if r.Host.OS != "" && r.Host.OS != "Samba" {
		fmt.Fprintf(b, " (%s)", r.Host.OS)
	}
	fmt.Fprintf(b, ", role %s\n", r.Host.Role)
	for _, e := range r.Host.FamilyEvidence {
		fmt.Fprintf(b, "    because %s\n", e)
	}
	for _, e := range r.Host.RoleEvidence {
		fmt.Fprintf(b, "    role because %s\n", e)
	}
	if r.Error != "" {
		fmt.Fprintf(b, "  examination stopped at %s: %s\n", r.Layer, r.Error)
	}

	fmt.Fprintf(b, "\nWhat an anonymous caller gets\n")
	for _, e := range r.Exposure {
		fmt.Fprintf(b, "  %-40s %s\n", exposureTitle(e.Name)+":", e.Value)
		for _, why := range e.Because {
			if why != "" {
				fmt.Fprintf(b, "      %s\n", why)
			}
		}
	}

	fmt.Fprintf(b, "\nFindings (%s)\n", countBySeverity(r.Findings))
	if len(r.Findings) == 0 {
		fmt.Fprintf(b, "  none\n")
	}
	samba := r.Host.Samba()
	for _, f := range r.Findings {
		fmt.Fprintf(b, "\n  [%s] %s\n", strings.ToUpper(f.Severity.String()), f.Title)
		for _, e := range f.Evidence {
			fmt.Fprintf(b, "    seen: %s\n", e)
		}
		fmt.Fprintf(b, "    why it matters: %s\n", f.Why)
		if f.Setting != "" {
			fmt.Fprintf(b, "    setting: %s\n", f.Setting)
		}
		if f.Fix.SmbConf != "" && samba {
			fmt.Fprintf(b, "    fix (smb.conf):\n%s\n", indent(f.Fix.SmbConf, "        "))
		}
		if f.Fix.GPO != "" {
			fmt.Fprintf(b, "    fix (GPO): %s\n", f.Fix.GPO)
		}
		if f.Fix.Registry != "" {
			fmt.Fprintf(b, "    fix (.reg):\n%s\n", indent(f.Fix.Registry, "        "))
		}
		if f.Fix.Template != "" {
			fmt.Fprintf(b, "    fix (GptTmpl.inf): %s\n", f.Fix.Template)
		}
		if f.Fix.SmbConf != "" && !samba {
			fmt.Fprintf(b, "    fix (smb.conf):\n%s\n", indent(f.Fix.SmbConf, "        "))
		}
		if len(f.MayBreak) > 0 {
			fmt.Fprintf(b, "    may break: %s\n", strings.Join(f.MayBreak, "; "))
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintf(b, "\n  Test each change on a test network first, and test it again (the seed); KB823659 lists what restricting anonymous access breaks.\n")
	}

	fmt.Fprintf(b, "\nSettings\n")
	writeSettings(b, r.Settings)

	for _, n := range r.Notes {
		fmt.Fprintf(b, "\nNote: %s\n", n)
	}
	if len(r.Expect) > 0 {
		fmt.Fprintf(b, "\nAgainst %s: %d exposures compared, %d drift(s)\n", strings.Join(r.Expect, ", "), r.Compared, len(r.Drifts))
		for _, d := range r.Drifts {
			fmt.Fprintf(b, "  %s: expected %s, observed %s\n", exposureTitle(d.Exposure), d.Expected, d.Observed)
			for _, e := range d.ExpectedBecause {
				fmt.Fprintf(b, "      expected because %s\n", e)
			}
			for _, e := range d.ObservedBecause {
				fmt.Fprintf(b, "      observed: %s\n", e)
			}
		}
	}
	return b.Flush()
}

func writeSettings(b *bufio.Writer, list []SettingState) {
	for i := 0; i < len(list); i++ {
		s := list[i]
		// Rows not observable for the same first reason (Windows settings on
		// a Samba host) print once, with their names together.
		if s.State == StateNotObservable && len(s.Evidence) > 0 {
			j := i + 1
			for j < len(list) && list[j].State == StateNotObservable && len(list[j].Evidence) > 0 && list[j].Evidence[0] == s.Evidence[0] {
				j++
			}
			if j-i > 1 {
				var names, extra []string
				for _, t := range list[i:j] {
					names = append(names, t.Name)
					extra = append(extra, t.Evidence[1:]...)
				}
				fmt.Fprintf(b, "  %s: not observable remotely\n      %s\n", strings.Join(names, ", "), s.Evidence[0])
				for _, e := range extra {
					fmt.Fprintf(b, "      %s\n", e)
				}
				i = j - 1
				continue
			}
		}
		switch s.State {
		case StateObserved:
			fmt.Fprintf(b, "  %-32s observed: %s\n", s.Name, s.Value)
		case StateConsistent:
			fmt.Fprintf(b, "  %-32s consistent with: %s\n", s.Name, s.Value)
		case StateConfigured:
			fmt.Fprintf(b, "  %-32s configured: %s\n", s.Name, s.Value)
		default:
			fmt.Fprintf(b, "  %-32s not observable remotely\n", s.Name)
		}
		for _, e := range s.Evidence {
			fmt.Fprintf(b, "      %s\n", e)
		}
	}
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

func countBySeverity(fs []Finding) string {
	if len(fs) == 0 {
		return "0"
	}
	n := map[Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for s := Critical; s >= Info; s-- {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteText writes what the policy files predict.
func (p *Prediction) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "nullsweep policy %s\n  platform %s, role assumed %s\n", strings.Join(p.Files, " "), p.Platform, p.Role)
	fmt.Fprintf(b, "\nSettings\n")
	writeSettings(b, p.Settings)
	fmt.Fprintf(b, "\nWhat a null session should get\n")
	for _, e := range p.Exposure {
		fmt.Fprintf(b, "  %-40s %s\n", exposureTitle(e.Name)+":", e.Value)
		for _, why := range e.Because {
			fmt.Fprintf(b, "      %s\n", why)
		}
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(b, "\nNotes\n")
		for _, n := range p.Notes {
			fmt.Fprintf(b, "  %s\n", n)
		}
	}
	return b.Flush()
}
