package store

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/audit"
)

// Host states in a diff, and the classes of its entries.
const (
	DiffNew       = "new"
	DiffResolved  = "resolved"
	DiffChanged   = "changed"
	DiffUnchanged = "unchanged"
	DiffUnknown   = "unknown"
)

// Entry is one finding or exposure item that differs between two runs.
type Entry struct {
	Kind     string `json:"kind"` // finding | exposure
	Key      string `json:"key"`  // finding id or exposure key
	Severity string `json:"severity,omitempty"`
	Title    string `json:"title,omitempty"`
	Before   string `json:"before"` // a severity or state; "" = absent, "?" = host did not answer
	After    string `json:"after"`
	sev      audit.Severity
}

// HostDiff is one target's difference.
type HostDiff struct {
	Target    string  `json:"target"`
	State     string  `json:"state"` // the strongest class present: new > resolved > changed > unknown > unchanged
	StatusA   string  `json:"status_a"`
	StatusB   string  `json:"status_b"`
	New       []Entry `json:"new"`
	Resolved  []Entry `json:"resolved"`
	Changed   []Entry `json:"changed"`
	Unknown   []Entry `json:"unknown"`
	Unchanged int     `json:"unchanged"` // findings and exposure items equal in both runs
}

// Diff compares run B with the earlier run A.
type Diff struct {
	A     *Run           `json:"a"`
	B     *Run           `json:"b"`
	Hosts []HostDiff     `json:"hosts"`
	Count map[string]int `json:"count"` // hosts per state
}

// Empty says nothing differs.
func (d *Diff) Empty() bool { return d.Count[DiffUnchanged] == len(d.Hosts) }

// NewAtLeast counts new findings at or above s.
func (d *Diff) NewAtLeast(s audit.Severity) int {
	n := 0
	for _, h := range d.Hosts {
		for _, e := range h.New {
			if e.Kind == "finding" && e.sev >= s {
				n++
			}
		}
	}
	return n
}

type findingRow struct {
	id, setting, title string
	sev                audit.Severity
}

func (d *DB) findings(ctx context.Context, run int64) (map[string][]findingRow, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT target, id, severity, setting, title FROM findings WHERE run = ?", run)
	if err != nil {
		return nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
	}
	defer rows.Close()
	out := map[string][]findingRow{}
	for rows.Next() {
		var t string
		var f findingRow
		var sev int
		if err := rows.Scan(&t, &f.id, &sev, &f.setting, &f.title); err != nil {
			return nil, fmt.Errorf("store: run %d: findings: %w", run, classify(err))
		}
		f.sev = audit.Severity(sev)
		out[t] = append(out[t], f)
	}
	return out, rows.Err()
}

// Diff compares two stored runs.
func (d *DB) Diff(ctx context.Context, a, b *Run) (*Diff, error) {
	ha, err := d.hosts(ctx, a.ID, false)
	if err != nil {
		return nil, err
	}
	hb, err := d.hosts(ctx, b.ID, false)
	if err != nil {
		return nil, err
	}
	fa, err := d.findings(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	fb, err := d.findings(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	return compare(a, b, ha, hb, fa, fb), nil
}

// compare applies the rules: a finding or exposure present before and
// absent now is resolved only when the host answered fully this time (a
// host that is down is not a host that was fixed); otherwise it is
// unknown. One present now and absent before is new, whatever the earlier
// run could see: it is exposed now and was not known to be.
func compare(a, b *Run, ha, hb []*StoredHost, fa, fb map[string][]findingRow) *Diff {
	d := &Diff{A: a, B: b, Count: map[string]int{}}
	byA := map[string]*StoredHost{}
	for _, h := range ha {
		byA[h.Target] = h
	}
	byB := map[string]*StoredHost{}
	for _, h := range hb {
		byB[h.Target] = h
	}
	var targets []string
	for t := range byA {
		targets = append(targets, t)
	}
	for t := range byB {
		if byA[t] == nil {
			targets = append(targets, t)
		}
	}
	slices.SortFunc(targets, compareTargets)
	for _, t := range targets {
		x, y := byA[t], byB[t]
		hd := HostDiff{Target: t, New: []Entry{}, Resolved: []Entry{}, Changed: []Entry{}, Unknown: []Entry{}}
		okA, okB := x != nil && x.Answered(), y != nil && y.Answered()
		if x != nil {
			hd.StatusA = x.Status
		}
		if y != nil {
			hd.StatusB = y.Status
		}
		// Findings by id.
		before := map[string]findingRow{}
		for _, f := range fa[t] {
			before[f.id] = f
		}
		after := map[string]findingRow{}
		for _, f := range fb[t] {
			after[f.id] = f
		}
		for id, f := range after {
			e := Entry{Kind: "finding", Key: id, Severity: f.sev.String(), Title: f.title, After: f.sev.String(), sev: f.sev}
			p, had := before[id]
			switch {
			case !had:
				e.Before = absentOr(okA)
				hd.New = append(hd.New, e)
			case p.sev != f.sev || p.title != f.title:
				e.Before = p.sev.String()
				if p.title != f.title {
					e.Before += ": " + p.title
				}
				hd.Changed = append(hd.Changed, e)
			default:
				hd.Unchanged++
			}
		}
		closedB := y != nil && y.Status == StatusClosed
		ib := itemMap(y)
		for id, f := range before {
			if _, has := after[id]; has {
				continue
			}
			e := Entry{Kind: "finding", Key: id, Severity: f.sev.String(), Title: f.title, Before: f.sev.String(), sev: f.sev}
			if okB && (closedB || findingClosed(id, ib)) {
				hd.Resolved = append(hd.Resolved, e)
			} else {
				e.After = "?"
				hd.Unknown = append(hd.Unknown, e)
			}
		}
		// Exposure items by key.
		ia := itemMap(x)
		for k, it := range ib {
			e := Entry{Kind: "exposure", Key: k, After: it.State}
			p, had := ia[k]
			e.Before = p.State
			if !had {
				e.Before = absentOr(okA)
			}
			switch {
			case had && p.State == it.State:
				hd.Unchanged++
			case it.State == audit.Yes:
				hd.New = append(hd.New, e) // exposed now, not known to be before
			case p.State == audit.Yes && it.State == audit.No:
				hd.Resolved = append(hd.Resolved, e)
			case it.State == audit.Unknown:
				hd.Unknown = append(hd.Unknown, e)
			case had:
				hd.Changed = append(hd.Changed, e) // e.g. unknown → no
			}
		}
		for k, p := range ia {
			if _, has := ib[k]; has || p.State != audit.Yes {
				continue
			}
			// Absent now: closed only when the port is; otherwise it was
			// not examined this time (absent = not read).
			e := Entry{Kind: "exposure", Key: k, Before: p.State}
			if okB && closedB {
				hd.Resolved = append(hd.Resolved, e)
			} else {
				e.After = "?"
				hd.Unknown = append(hd.Unknown, e)
			}
		}
		for _, l := range [][]Entry{hd.New, hd.Resolved, hd.Changed, hd.Unknown} {
			sortEntries(l)
		}
		switch {
		case len(hd.New) > 0:
			hd.State = DiffNew
		case len(hd.Resolved) > 0:
			hd.State = DiffResolved
		case len(hd.Changed) > 0:
			hd.State = DiffChanged
		case len(hd.Unknown) > 0:
			hd.State = DiffUnknown
		default:
			hd.State = DiffUnchanged
		}
		d.Count[hd.State]++
		d.Hosts = append(d.Hosts, hd)
	}
	return d
}

// findingClosed says whether a finding absent from a host's later run is
// closed: one about a share or a pipe only when that item now reads "no"
// (a share not probed this time is not a share closed); others when the
// host answered.
func findingClosed(id string, after map[string]Item) bool {
	_, key, ok := strings.Cut(id, "/")
	if !ok || !(strings.HasPrefix(key, "share:") || strings.HasPrefix(key, "pipe:")) {
		return true
	}
	return after[key].State == audit.No
}

func absentOr(answered bool) string {
	if answered {
		return ""
	}
	return "?"
}

func itemMap(h *StoredHost) map[string]Item {
	m := map[string]Item{}
	if h == nil {
		return m
	}
	for _, it := range h.Items {
		m[it.Key] = it
	}
	return m
}

// sortEntries puts findings first, worst first, then exposure keys.
func sortEntries(l []Entry) {
	slices.SortFunc(l, func(a, b Entry) int {
		if a.Kind != b.Kind {
			return strings.Compare(b.Kind, a.Kind) // "finding" before "exposure"
		}
		if a.sev != b.sev {
			return int(b.sev) - int(a.sev)
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// compareTargets orders addresses numerically where it can (127.0.0.10
// after 127.0.0.9), names after them.
func compareTargets(a, b string) int {
	pa, pb := targetKey(a), targetKey(b)
	if c := slices.Compare(pa, pb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func targetKey(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ':' }) {
		n := 0
		ok := f != ""
		for _, c := range f {
			if c < '0' || c > '9' || n > 1<<20 {
				ok = false
				break
			}
			n = n*10 + int(c-'0')
		}
		if !ok {
			return []int{1 << 30}
		}
		out = append(out, n)
	}
	return out
}

// WriteText writes the diff for a terminal: one block per host that
// changed, then a count line. An empty diff is one line, "no change".
func (d *Diff) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "diff run %d (%s) → run %d (%s), %d targets\n", d.A.ID, d.A.Started.Local().Format("2006-01-02 15:04"), d.B.ID, d.B.Started.Local().Format("2006-01-02 15:04"), len(d.Hosts))
	if d.Empty() {
		b.WriteString("no change\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, h := range d.Hosts {
		if h.State == DiffUnchanged {
			continue
		}
		fmt.Fprintf(&b, "\n%s  %s", h.Target, h.State)
		if h.StatusA != h.StatusB {
			fmt.Fprintf(&b, " (%s → %s)", orDash(h.StatusA), orDash(h.StatusB))
		}
		b.WriteString("\n")
		for _, g := range []struct {
			name string
			l    []Entry
		}{{DiffNew, h.New}, {DiffResolved, h.Resolved}, {DiffChanged, h.Changed}, {DiffUnknown, h.Unknown}} {
			for _, e := range g.l {
				fmt.Fprintf(&b, "  %-9s %s\n", g.name, e.line())
			}
		}
	}
	fmt.Fprintf(&b, "\nhosts: %d new, %d resolved, %d changed, %d unknown, %d unchanged\n",
		d.Count[DiffNew], d.Count[DiffResolved], d.Count[DiffChanged], d.Count[DiffUnknown], d.Count[DiffUnchanged])
	_, err := io.WriteString(w, b.String())
	return err
}

// line is the entry in one line of text.
func (e Entry) line() string {
	if e.Kind == "finding" {
		s := fmt.Sprintf("[%s] %s", strings.ToUpper(e.Severity), e.Key)
		if e.Title != "" {
			s += ": " + e.Title
		}
		if e.Before != "" && e.After != "" && e.Before != e.Severity {
			s += " (was " + e.Before + ")"
		}
		return s
	}
	return fmt.Sprintf("%s: %s → %s", e.Key, stateWord(e.Before), stateWord(e.After))
}

func stateWord(s string) string {
	switch s {
	case "":
		return "absent"
	case "?":
		return "not answered"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}
