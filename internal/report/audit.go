package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// auditSections are the parts of audit's text report, in the order they
// print.
var auditSections = []func(*tw, *audit.Report){
	auditHeader,
	auditExposure,
	auditUser,
	auditFindings,
	auditSettings,
	auditNotes,
	auditDrifts,
}

// AuditText writes an audit report as an auditor reads it: what was seen,
// then the findings grouped by the setting that explains them (the fix
// and what it may break once per setting), the settings, and the drifts
// from the policy files.
func AuditText(w io.Writer, r *audit.Report) error {
	t := &tw{w: w}
	for _, s := range auditSections {
		s(t, r)
	}
	return t.err
}

func auditHeader(t *tw, r *audit.Report) {
	t.f("nullsweep audit %s", r.Target)
	if r.Address != "" && r.Address != r.Target {
		t.f(" (%s)", r.Address)
	}
	if r.Port != 0 {
		t.f(", port %d", r.Port)
	}
	t.f("\n  platform: %s", r.Host.Family)
	if r.Host.OS != "" && r.Host.OS != "Samba" {
		t.f(" (%s)", r.Host.OS)
	}
	t.f(", role %s\n", r.Host.Role)
	for _, e := range r.Host.FamilyEvidence {
		t.f("    because %s\n", e)
	}
	for _, e := range r.Host.RoleEvidence {
		t.f("    role because %s\n", e)
	}
	switch {
	case r.Error == "":
	case answered(r):
		t.f("  examination ended at %s: %s (the host's answer: no null session there)\n", r.Layer, r.Error)
	default:
		t.f("  examination stopped at %s: %s\n", r.Layer, r.Error)
		t.f("  INCOMPLETE: what follows is what was learned before it stopped; an absent finding proves nothing\n")
	}
}

// answered says the examination ended early on an answer (refused ports,
// a denied null session), as the exit status counts it.
func answered(r *audit.Report) bool {
	nullDenied := false
	for _, e := range r.Exposure {
		if e.Name == audit.ExpNullSession {
			nullDenied = e.Value == audit.No
		}
	}
	return enum.Answered(r.Layer, r.Error, nullDenied)
}

func auditExposure(t *tw, r *audit.Report) {
	t.f("\nWhat an anonymous caller gets\n")
	writeExposure(t, r.Exposure)
}

func writeExposure(t *tw, list []audit.Exposure) {
	for _, e := range list {
		t.f("  %-40s %s\n", audit.ExposureTitle(e.Name)+":", e.Value)
		for _, why := range e.Because {
			if why != "" {
				t.f("      %s\n", why)
			}
		}
	}
}

// findingGroup is the findings one setting explains, sharing one fix.
type findingGroup struct {
	setting  string
	fix      audit.Fix
	mayBreak []string
	findings []audit.Finding
}

// groupFindings keeps the report's order (worst first) and gathers the
// findings of one setting and one fix under the first of them. Drifts are
// left out: they print once, in the drift section.
func groupFindings(fs []audit.Finding) []*findingGroup {
	var out []*findingGroup
	for _, f := range fs {
		if f.ID == audit.FindDrift {
			continue
		}
		i := slices.IndexFunc(out, func(g *findingGroup) bool {
			return f.Setting != "" && g.setting == f.Setting && g.fix == f.Fix && slices.Equal(g.mayBreak, f.MayBreak)
		})
		if i < 0 {
			out = append(out, &findingGroup{setting: f.Setting, fix: f.Fix, mayBreak: f.MayBreak})
			i = len(out) - 1
		}
		out[i].findings = append(out[i].findings, f)
	}
	return out
}

func auditFindings(t *tw, r *audit.Report) {
	t.f("\nFindings (%s)\n", countBySeverity(r.Findings))
	groups := groupFindings(r.Findings)
	if len(groups) == 0 {
		if r.Error != "" && !answered(r) {
			t.f("  none seen before the examination stopped\n")
		} else {
			t.f("  none\n")
		}
	}
	samba := r.Host.Samba()
	for _, g := range groups {
		if g.setting != "" {
			t.f("\n  Setting: %s (%d finding%s)\n", g.setting, len(g.findings), plural(len(g.findings)))
		} else {
			t.f("\n")
		}
		for _, f := range g.findings {
			t.f("  [%s] %s\n", strings.ToUpper(f.Severity.String()), f.Title)
			for _, e := range f.Evidence {
				t.f("    seen: %s\n", e)
			}
			t.f("    why it matters: %s\n", f.Why)
		}
		writeFix(t, g.fix, samba)
		if len(g.mayBreak) > 0 {
			t.f("    may break: %s\n", strings.Join(g.mayBreak, "; "))
		}
	}
	if len(groups) > 0 {
		t.f("\n  Test each change on a test network first, and test it again (Minasi 2003); KB823659 lists what restricting anonymous access breaks.\n")
	}
}

func writeFix(t *tw, f audit.Fix, samba bool) {
	if f.SmbConf != "" && samba {
		t.f("    fix (smb.conf):\n%s\n", indent(f.SmbConf, "        "))
	}
	if f.GPO != "" {
		t.f("    fix (GPO): %s\n", f.GPO)
	}
	if f.Registry != "" {
		t.f("    fix (.reg):\n%s\n", indent(f.Registry, "        "))
	}
	if f.Template != "" {
		t.f("    fix (GptTmpl.inf): %s\n", f.Template)
	}
	if f.SmbConf != "" && !samba {
		t.f("    fix (smb.conf):\n%s\n", indent(f.SmbConf, "        "))
	}
}

func auditSettings(t *tw, r *audit.Report) {
	t.f("\nSettings\n")
	writeSettings(t, r.Settings)
}

func auditNotes(t *tw, r *audit.Report) {
	for _, n := range r.Notes {
		t.f("\nNote: %s\n", n)
	}
}

// auditDrifts prints each drift once, with its severity; the file already
// holds the value a fix would set, so what to check is the deployment.
func auditDrifts(t *tw, r *audit.Report) {
	if len(r.Expect) == 0 {
		return
	}
	t.f("\nAgainst %s: %d exposures compared, %d drift(s)\n", strings.Join(r.Expect, ", "), r.Compared, len(r.Drifts))
	sev := map[string]string{}
	for _, f := range r.Findings {
		if f.ID == audit.FindDrift {
			sev[f.Key] = strings.ToUpper(f.Severity.String())
		}
	}
	for _, d := range r.Drifts {
		s := sev[d.Exposure]
		if s == "" {
			s = "DRIFT"
		}
		t.f("  [%s] %s: expected %s, observed %s\n", s, audit.ExposureTitle(d.Exposure), d.Expected, d.Observed)
		for _, e := range d.ExpectedBecause {
			t.f("      expected because %s\n", e)
		}
		for _, e := range d.ObservedBecause {
			t.f("      observed: %s\n", e)
		}
	}
	if len(r.Drifts) > 0 {
		t.f("  The files already set what they predict: check that they are what the host runs (smb.conf: testparm -s on the host, then reload smbd; Windows: gpresult /h, gpupdate /force), and what overrides them.\n")
	}
}

func writeSettings(t *tw, list []audit.SettingState) {
	for i := 0; i < len(list); i++ {
		s := list[i]
		// Rows not observable for the same first reason (Windows settings on
		// a Samba host) print once, with their names together.
		if s.State == audit.StateNotObservable && len(s.Evidence) > 0 {
			j := i + 1
			for j < len(list) && list[j].State == audit.StateNotObservable && len(list[j].Evidence) > 0 && list[j].Evidence[0] == s.Evidence[0] {
				j++
			}
			if j-i > 1 {
				var names, extra []string
				for _, x := range list[i:j] {
					names = append(names, x.Name)
					extra = append(extra, x.Evidence[1:]...)
				}
				t.f("  %s: not observable remotely\n      %s\n", strings.Join(names, ", "), s.Evidence[0])
				for _, e := range extra {
					t.f("      %s\n", e)
				}
				i = j - 1
				continue
			}
		}
		switch s.State {
		case audit.StateObserved:
			t.f("  %-32s observed: %s\n", s.Name, s.Value)
		case audit.StateConsistent:
			t.f("  %-32s consistent with: %s\n", s.Name, s.Value)
		case audit.StateConfigured:
			t.f("  %-32s configured: %s\n", s.Name, s.Value)
		default:
			t.f("  %-32s not observable remotely\n", s.Name)
		}
		for _, e := range s.Evidence {
			t.f("      %s\n", e)
		}
	}
}

// PolicyText writes what policy files predict (nullsweep policy).
func PolicyText(w io.Writer, p *audit.Prediction) error {
	t := &tw{w: w}
	t.f("nullsweep policy %s\n  platform %s, role assumed %s\n", strings.Join(p.Files, " "), p.Platform, p.Role)
	t.f("\nSettings\n")
	writeSettings(t, p.Settings)
	t.f("\nWhat a null session should get\n")
	writeExposure(t, p.Exposure)
	if len(p.Notes) > 0 {
		t.f("\nNotes\n")
		for _, n := range p.Notes {
			t.f("  %s\n", n)
		}
	}
	return t.err
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func countBySeverity(fs []audit.Finding) string {
	if len(fs) == 0 {
		return "0"
	}
	n := map[audit.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for s := audit.Critical; s >= audit.Info; s-- {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}
