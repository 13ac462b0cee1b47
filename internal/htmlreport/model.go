// Package htmlreport writes a run of the history as one self-contained
// HTML file: summary counts, a host × exposure matrix with sort, filter and
// paging, per host the findings with the setting, the fix lines and what
// the fix may break, and what changed since the previous run. The file
// needs no network: CSS and script are inline.
//
// Everything a target sent (share names and comments, user descriptions,
// NetBIOS names) is hostile. The page is built by html/template, which
// escapes by context; the per-host details travel as JSON inside a
// <script type="application/json"> element (escaped by html/template for
// that context) and the page's script only ever sets textContent.
package htmlreport

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/store"
)

// Input is what a report shows.
type Input struct {
	Run   *store.Run
	Hosts []*store.StoredHost // as store.ReportHosts or store.Prepare give them
	Fixes map[string]*store.Fix
	// Diff is the comparison with the previous run over the same targets;
	// nil with NoDiff saying why.
	Diff      *store.Diff
	NoDiff    string
	Generated time.Time
}

// PageSize is how many matrix rows one page shows.
const PageSize = 100

// Column is one exposure column of the matrix.
type Column struct {
	Key   string // the exposure item key, or a prefix for counted columns
	Title string
	Count bool // counts the items with this key prefix that are yes
	// Inverted: "yes" is the safe answer (signing required).
	Inverted bool
}

// Columns are the matrix's exposure columns, in order.
var Columns = []Column{
	{Key: store.KeyReachable, Title: "reachable"},
	{Key: audit.ExpNullSession, Title: "null session"},
	{Key: audit.ExpGuest, Title: "guest"},
	{Key: audit.ExpIPC, Title: "IPC$"},
	{Key: "pipe:", Title: "pipes", Count: true},
	{Key: audit.ExpUsers, Title: "users"},
	{Key: "share:", Title: "shares readable", Count: true},
	{Key: audit.ExpPolicy, Title: "policy"},
	{Key: store.KeyRIDCycle, Title: "RID cycling"},
	{Key: audit.ExpSMB1, Title: "SMB1"},
	{Key: audit.ExpSigning, Title: "signing required", Inverted: true},
}

// Cell classes: the colour; the label says the same in words.
const (
	clsBad  = "bad"  // exposed
	clsGood = "good" // closed
	clsUnk  = "unk"  // not answered / not decided
	clsNA   = "na"   // not probed
)

type cell struct {
	Label string
	Class string
	Sort  int // for sorting: exposed first
}

type row struct {
	Index     int
	Target    string
	Name      string
	Status    string
	Worst     string
	WorstRank int
	Findings  int
	Cells     []cell
	Hidden    bool
	// User is the marker of a host looked at a second time as a user;
	// nil when it was not.
	User *userMark
}

// userMark links a matrix row to its host's user section.
type userMark struct {
	Anchor  string
	Account string
	More    int // items the user gets and the stranger does not
}

// userSection is one host's "What ACCOUNT gets that a stranger does not":
// the account's name only (the store holds no credential), its logon, and
// per item the two looks, the items the user alone gets first.
type userSection struct {
	Anchor, Target, Name, Account string
	Session, Status, Error, Layer string
	CredentialRefused             bool
	More                          int
	Items                         []userItem
}

type userItem struct {
	Key, Anonymous, User, Gap, Evidence string
	Class                               string
}

type count struct {
	Label string
	N     int
	Class string
}

type findingType struct {
	ID, Title, Severity string
	Hosts               int
	Fix                 int // index into fixes, -1 none
}

type fix struct {
	Anchor   string
	Setting  string
	Title    string
	GPO      string
	Registry string
	Template string
	SmbConf  string
	MayBreak []string
	Findings []string
	Hosts    int
}

type sinceHost struct {
	Target  string
	State   string
	Entries []sinceEntry
}

type sinceEntry struct {
	Class, Text string
}

type since struct {
	Text  string // one line: "no change", or why there is no comparison
	From  string
	Hosts []sinceHost
	Count []count
}

// page is the template's data.
type page struct {
	Title      string
	Run        *store.Run
	Generated  string
	Counts     []count
	Severity   []count
	Columns    []Column
	Rows       []row
	PageSize   int
	Pages      int
	Types      []findingType
	Fixes      []fix
	Since      since
	Users      []userSection
	Data       details
	Script     template.JS
	ScriptHash string
}

// details is the per-host data the script renders on demand. Strings are
// interned (S) because 10,000 hosts repeat the same titles and evidence.
type details struct {
	S []string `json:"s"`
	P int      `json:"p"` // page size
	// H[i] is row i: findings [severity, title, setting, fix, evidence...]
	// as indices into S (fix: index into the fixes, -1 none), shares
	// [name, comment, access], error.
	H []hostDetail `json:"h"`
	// X[i] is fix i: the labelled lines to set ([label, text] pairs as
	// indices into S), then what it may break.
	X []fixDetail `json:"x"`
}

type fixDetail struct {
	L [][2]int `json:"l"`
	B []int    `json:"b"`
}

type hostDetail struct {
	F [][]int `json:"f,omitempty"`
	X [][]int `json:"x,omitempty"` // shares
	E int     `json:"e,omitempty"` // error string index+1, 0 none
}

type interner struct {
	idx map[string]int
	s   []string
}

func (in *interner) id(s string) int {
	if i, ok := in.idx[s]; ok {
		return i
	}
	in.idx[s] = len(in.s)
	in.s = append(in.s, s)
	return len(in.s) - 1
}

var sevRank = map[string]int{"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}

func build(in Input) *page {
	p := &page{Run: in.Run, Columns: Columns, PageSize: PageSize, Generated: in.Generated.UTC().Format("2006-01-02 15:04:05 UTC"),
		Script: template.JS(scriptSrc), ScriptHash: scriptHash()}
	p.Data.P = PageSize
	p.Title = fmt.Sprintf("nullsweep run %d", in.Run.ID)
	intern := &interner{idx: map[string]int{}}
	status := map[string]int{}
	sev := map[string]int{}
	types := map[string]*findingType{}
	fixIdx := map[string]int{}
	withFindings := 0
	for i, h := range in.Hosts {
		status[h.Status]++
		r := row{Index: i, Target: h.Target, Name: h.Name, Status: h.Status, WorstRank: -1, Hidden: i >= PageSize}
		if h.Error != "" {
			r.Status += " at " + h.Layer
		}
		items := map[string]string{}
		for _, it := range h.Items {
			items[it.Key] = it.State
		}
		for _, c := range Columns {
			r.Cells = append(r.Cells, cellFor(c, h, items))
		}
		if h.User != nil {
			us := userSectionOf(len(p.Users)+1, h)
			r.User = &userMark{Anchor: us.Anchor, Account: us.Account, More: us.More}
			p.Users = append(p.Users, us)
		}
		var d hostDetail
		for _, f := range h.Findings {
			s := f.Severity.String()
			sev[s]++
			r.Findings++
			if rk := sevRank[s]; rk > r.WorstRank {
				r.WorstRank, r.Worst = rk, s
			}
			fi := -1
			if fx := in.Fixes[f.Fix]; fx != nil {
				j, ok := fixIdx[fx.Key]
				if !ok {
					j = len(p.Fixes)
					fixIdx[fx.Key] = j
					v := fix{Anchor: fmt.Sprintf("fix-%d", j+1), Setting: fx.Setting, GPO: fx.Fix.GPO, Registry: fx.Fix.Registry,
						Template: fx.Fix.Template, SmbConf: fx.Fix.SmbConf, MayBreak: fx.MayBreak}
					if row, ok := audit.Lookup(fx.Setting); ok {
						v.Title = row.Title
					}
					p.Fixes = append(p.Fixes, v)
				}
				fi = j
				v := &p.Fixes[j]
				v.Hosts++
				id, _, _ := strings.Cut(f.ID, "/")
				if !slices.Contains(v.Findings, id) {
					v.Findings = append(v.Findings, id)
				}
			}
			id, _, _ := strings.Cut(f.ID, "/")
			t := types[id]
			if t == nil {
				t = &findingType{ID: id, Title: f.Title, Severity: s, Fix: fi}
				types[id] = t
			} else if t.Title != f.Title {
				// Hosts differ in the particulars (counts, names): one
				// host's title would misstate the others'.
				t.Title = audit.KindTitle(audit.FindingID(id))
			}
			t.Hosts++
			fr := []int{sevRank[s], intern.id(f.Title), intern.id(f.Setting), fi}
			for _, e := range f.Evidence {
				fr = append(fr, intern.id(e))
			}
			d.F = append(d.F, fr)
		}
		for _, s := range h.Shares {
			d.X = append(d.X, []int{intern.id(s.Name), intern.id(s.Comment), intern.id(s.Access)})
		}
		if h.Error != "" {
			d.E = intern.id(h.Layer+": "+h.Error) + 1
		}
		if r.Findings > 0 {
			withFindings++
		}
		if r.Worst == "" {
			r.Worst = "none"
		}
		p.Rows = append(p.Rows, r)
		p.Data.H = append(p.Data.H, d)
	}
	for _, fx := range p.Fixes {
		var d fixDetail
		for _, l := range [][2]string{{"Group Policy", fx.GPO}, {".reg", fx.Registry}, {"GptTmpl.inf / secedit", fx.Template}, {"smb.conf", fx.SmbConf}} {
			if l[1] != "" {
				d.L = append(d.L, [2]int{intern.id(l[0]), intern.id(l[1])})
			}
		}
		for _, b := range fx.MayBreak {
			d.B = append(d.B, intern.id(b))
		}
		p.Data.X = append(p.Data.X, d)
	}
	if p.Data.X == nil {
		p.Data.X = []fixDetail{}
	}
	p.Data.S = intern.s
	if p.Data.S == nil {
		p.Data.S = []string{}
	}
	p.Pages = max(1, (len(p.Rows)+PageSize-1)/PageSize)
	p.Counts = []count{
		{"targets", len(in.Hosts), ""},
		{"open (examined)", status[store.StatusOpen], ""},
		{"closed", status[store.StatusClosed], ""},
		{"filtered (no answer)", status[store.StatusFiltered], clsUnk},
		{"error", status[store.StatusError], clsUnk},
		{"hosts with findings", withFindings, clsBad},
	}
	for _, s := range []string{"critical", "high", "medium", "low", "info"} {
		p.Severity = append(p.Severity, count{s, sev[s], "sev-" + s})
	}
	for _, t := range types {
		p.Types = append(p.Types, *t)
	}
	slices.SortFunc(p.Types, func(a, b findingType) int {
		return cmp.Or(sevRank[b.Severity]-sevRank[a.Severity], b.Hosts-a.Hosts, strings.Compare(a.ID, b.ID))
	})
	p.Since = buildSince(in)
	return p
}

func cellFor(c Column, h *store.StoredHost, items map[string]string) cell {
	if c.Count {
		n, seen, unk := 0, 0, 0
		for _, it := range h.Items {
			if !strings.HasPrefix(it.Key, c.Key) {
				continue
			}
			seen++
			switch it.State {
			case audit.Yes:
				n++
			case audit.Unknown:
				unk++
			}
		}
		switch {
		case n > 0:
			return cell{fmt.Sprintf("yes: %d", n), clsBad, 100 + n}
		case seen == 0:
			return cell{"not probed", clsNA, 0}
		case unk > 0:
			return cell{"unknown", clsUnk, 1}
		}
		return cell{"no", clsGood, 2}
	}
	st, ok := items[c.Key]
	switch {
	case !ok:
		return cell{"not probed", clsNA, 0}
	case st == audit.Unknown:
		return cell{"unknown", clsUnk, 1}
	case c.Key == store.KeyReachable && st == audit.Yes:
		return cell{"yes", clsNA, 3}
	case c.Key == store.KeyReachable:
		return cell{"no", clsNA, 2}
	case (st == audit.Yes) != c.Inverted:
		return cell{st, clsBad, 100}
	}
	return cell{st, clsGood, 2}
}

func buildSince(in Input) since {
	d := in.Diff
	if d == nil {
		return since{Text: in.NoDiff}
	}
	s := since{From: fmt.Sprintf("run %d of %s", d.A.ID, d.A.Started.UTC().Format("2006-01-02 15:04 UTC"))}
	if d.Empty() {
		s.Text = "no change"
		return s
	}
	for _, st := range []string{store.DiffNew, store.DiffResolved, store.DiffChanged, store.DiffUnknown, store.DiffUnchanged} {
		s.Count = append(s.Count, count{st, d.Count[st], "d-" + st})
	}
	for _, h := range d.Hosts {
		if h.State == store.DiffUnchanged {
			continue
		}
		sh := sinceHost{Target: h.Target, State: h.State}
		for _, g := range []struct {
			class string
			l     []store.Entry
		}{{store.DiffNew, h.New}, {store.DiffResolved, h.Resolved}, {store.DiffChanged, h.Changed}, {store.DiffUnknown, h.Unknown}} {
			for _, e := range g.l {
				sh.Entries = append(sh.Entries, sinceEntry{g.class, entryText(e)})
			}
		}
		s.Hosts = append(s.Hosts, sh)
	}
	return s
}

func entryText(e store.Entry) string {
	if e.Kind == "finding" {
		t := fmt.Sprintf("[%s] %s", e.Severity, e.Key)
		if e.Title != "" {
			t += ": " + e.Title
		}
		return t
	}
	word := func(s string) string {
		switch s {
		case "":
			return "absent"
		case "?":
			return "not answered"
		}
		return s
	}
	return fmt.Sprintf("%s: %s → %s", e.Key, word(e.Before), word(e.After))
}

// gapOrder puts what only the user gets first, then what neither look
// decided, then the rest.
var gapOrder = map[string]int{audit.GapUserOnly: 0, audit.GapUnknown: 1, audit.GapAnonymousOnly: 2, audit.GapBoth: 3, audit.GapNeither: 4}

func userSectionOf(n int, h *store.StoredHost) userSection {
	u := h.User
	s := userSection{Anchor: fmt.Sprintf("user-%d", n), Target: h.Target, Name: h.Name, Account: u.Account, Session: u.Session,
		Status: u.Status, Error: u.Error, Layer: string(u.Layer), CredentialRefused: u.CredentialRefused}
	word := func(v string) string {
		if v == "" {
			return "not examined"
		}
		return v
	}
	for _, g := range u.Items {
		it := userItem{Key: g.Key, Anonymous: word(g.Anonymous), User: word(g.User), Gap: g.Gap, Evidence: g.UserEvidence}
		switch g.Gap {
		case audit.GapUserOnly:
			it.Class = clsBad
			s.More++
		case audit.GapUnknown:
			it.Class = clsUnk
		}
		s.Items = append(s.Items, it)
	}
	slices.SortStableFunc(s.Items, func(a, b userItem) int { return gapOrder[a.Gap] - gapOrder[b.Gap] })
	return s
}
