package audit

import (
	"slices"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// ReportSchema names the audit JSON contract version.
const ReportSchema = "nullsweep-audit/1"

// Options tune Assess.
type Options struct {
	// Expect is the prediction from policy files (--expect); each
	// disagreement with the observation becomes a drift finding.
	Expect *Prediction
	// Probes are audit's own share/pipe probes, if any were run.
	Probes *Probes
}

// Report is the verdict for one host.
type Report struct {
	Schema   string         `json:"schema"`
	Target   string         `json:"target"`
	Address  string         `json:"address,omitempty"`
	Port     int            `json:"port,omitempty"`
	Error    string         `json:"error,omitempty"`
	Layer    enum.Layer     `json:"layer,omitempty"`
	Host     Host           `json:"host"`
	Findings []Finding      `json:"findings"`
	Settings []SettingState `json:"settings"`
	Exposure []Exposure     `json:"exposure"`
	Probes   *Probes        `json:"probes,omitempty"`
	// Expect and Drifts are set with Options.Expect.
	Expect   []string `json:"expect,omitempty"`
	Drifts   []Drift  `json:"drifts,omitempty"`
	Compared int      `json:"compared,omitempty"`
	// Notes are caveats about the comparison or the inference.
	Notes []string `json:"notes,omitempty"`
	// User is the second look as a user (audit --user), CompareUser.
	User *UserView `json:"user,omitempty"`
}

// Assess infers each setting's state and the findings from one host's
// enum result. It is pure: no I/O; the same Result gives the same Report.
func Assess(r *enum.Result, opt Options) *Report {
	v := &view{r: r, probes: opt.Probes, exp: map[string]Exposure{}}
	v.host = Identify(r)
	v.observe()
	rep := &Report{Schema: ReportSchema, Target: r.Target, Address: r.Address, Port: r.Port, Error: r.Error, Layer: r.Layer, Host: v.host, Probes: opt.Probes}
	rep.Exposure = v.exposures()
	if opt.Expect != nil {
		rep.Expect = opt.Expect.Files
		rep.Drifts, rep.Compared = Compare(opt.Expect, rep.Exposure)
		v.drifts = rep.Drifts
		if (v.host.Samba() && opt.Expect.Platform != "samba") || (v.host.Windows() && opt.Expect.Platform != "windows") {
			rep.Notes = append(rep.Notes, "the policy files describe a "+opt.Expect.Platform+" host but the target is "+v.host.Family+": drifts may only mean the files belong elsewhere")
		}
	}
	rep.Settings = v.inferSettings()
	rep.Findings = v.findings()
	// Worst first; the order within a severity is the table's.
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) })
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	return rep
}

// Worst is the highest severity among the findings, and false when there
// are none.
func (r *Report) Worst() (Severity, bool) {
	if len(r.Findings) == 0 {
		return 0, false
	}
	w := r.Findings[0].Severity
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w, true
}

// AtLeast counts the findings at or above s.
func (r *Report) AtLeast(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= s {
			n++
		}
	}
	return n
}
