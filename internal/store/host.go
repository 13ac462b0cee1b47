package store

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// Target statuses, as the sweep's JSON Lines spell them.
const (
	StatusOpen     = "open"
	StatusClosed   = "closed"
	StatusFiltered = "filtered"
	StatusError    = "error"
)

// Host is one target's record: what a sweep writes as one JSON line, or
// what audit learned about one host.
type Host struct {
	Target string
	Status string // open | closed | filtered | error
	Layer  string
	Error  string
	Time   time.Time
	Result *enum.Result
	Audit  *audit.Report
}

// Answered says whether the host gave a full answer: a port that answered
// and, when it was open, an examination that ended without error. Only then
// does the absence of an exposure mean it is closed.
func (h *Host) Answered() bool {
	switch h.Status {
	case StatusClosed:
		return true
	case StatusOpen:
		return h.Error == "" && (h.Audit == nil || h.Audit.Error == "")
	}
	return false
}

// Item is one exposure a diff compares (audit.Items).
type Item = audit.Item

// Item keys the store relies on (audit's stable keys).
const (
	KeyReachable = audit.ExpReachable
	KeyRIDCycle  = audit.ExpRIDCycling
	KeyGroups    = audit.ExpGroups
)

// Items lists the host's exposure items, sorted by key: audit's items for
// an examined host, and reachability from the status for every host.
func Items(h *Host) []Item {
	var out []Item
	if h.Result != nil {
		out = audit.Items(h.Result, h.Audit)
	}
	if !slices.ContainsFunc(out, func(it Item) bool { return it.Key == KeyReachable }) {
		out = append(out, statusItem(h))
	}
	return sortItems(out)
}

// statusItem is reachability as the sweep's status says it.
func statusItem(h *Host) Item {
	it := Item{Key: KeyReachable, State: audit.Unknown, Evidence: strings.TrimSpace(h.Status + " " + h.Layer)}
	switch h.Status {
	case StatusOpen:
		it.State = audit.Yes
	case StatusClosed:
		it.State = audit.No
	}
	return it
}

// findingKey identifies a finding on a host across runs: its stable ID,
// and what it is about where the ID repeats (a share, a pipe, a user).
func findingKey(f audit.Finding) string {
	if f.Key == "" {
		return string(f.ID)
	}
	return string(f.ID) + "/" + f.Key
}

func sortItems(out []Item) []Item {
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(out, func(a, b Item) bool { return a.Key == b.Key })
}

// targetsHash is an order-independent digest of a set of targets: the sum
// of each name's SHA-256 prefix plus the count. Sweeps write targets in a
// permuted order, so the hash must not depend on it.
type targetsHash struct {
	a, b uint64
	n    int
}

func newTargetsHash() *targetsHash { return &targetsHash{} }

func (h *targetsHash) add(t string) {
	s := sha256.Sum256([]byte(t))
	h.a += binary.BigEndian.Uint64(s[:8])
	h.b += binary.BigEndian.Uint64(s[8:16])
	h.n++
}

func (h *targetsHash) sum() string {
	if h.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%016x%016x", h.n, h.a, h.b)
}

// Share is one listed share as a report shows it.
type Share struct {
	Name, Comment, Access string
}

// Finding is one stored finding as a report shows it.
type Finding struct {
	ID       string // the finding's key (findingKey)
	Severity audit.Severity
	Title    string
	Setting  string
	Evidence []string
	Fix      string // key into the run's fixes, "" none
}

// Fix is one fix as a report shows it.
type Fix struct {
	Key      string
	Setting  string
	Fix      audit.Fix
	MayBreak []string
}

// hostName is the name the host gave: NetBIOS from the NTLM challenge, or
// the server name from SRVSVC.
func hostName(r *enum.Result) string {
	switch {
	case r == nil:
		return ""
	case r.SMB != nil && r.SMB.NTLM != nil && r.SMB.NTLM.NetBIOSComputer != "":
		return r.SMB.NTLM.NetBIOSComputer
	case r.ServerInfo != nil:
		return r.ServerInfo.Name
	}
	return ""
}

func sharesOf(r *enum.Result) []Share {
	if r == nil || r.Shares == nil {
		return nil
	}
	out := make([]Share, 0, len(r.Shares))
	for _, s := range r.Shares {
		a := "connect " + string(s.Anonymous.Connect)
		if s.Anonymous.List != "" {
			a += ", list " + string(s.Anonymous.List)
		}
		out = append(out, Share{s.Name, s.Comment, a})
	}
	return out
}

func fixOf(f audit.Finding) *Fix {
	if f.Setting == "" && f.Fix == (audit.Fix{}) {
		return nil
	}
	mb := f.MayBreak
	if mb == nil {
		mb = []string{}
	}
	h := sha256.New()
	for _, s := range append([]string{f.Setting, f.Fix.GPO, f.Fix.Registry, f.Fix.Template, f.Fix.SmbConf}, mb...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return &Fix{Key: fmt.Sprintf("%x", h.Sum(nil)[:12]), Setting: f.Setting, Fix: f.Fix, MayBreak: mb}
}

// Prepare is the stored view of a host, as a report reads it back: its
// name, shares, findings with their fixes, and exposure items.
func Prepare(h *Host) (*StoredHost, map[string]*Fix) {
	sh := &StoredHost{Host: *h, Items: Items(h), Name: hostName(h.Result), Shares: sharesOf(h.Result)}
	if h.Audit != nil {
		sh.User = h.Audit.User
	}
	fixes := map[string]*Fix{}
	if h.Audit != nil {
		for _, f := range h.Audit.Findings {
			sf := Finding{ID: findingKey(f), Severity: f.Severity, Title: f.Title, Setting: f.Setting, Evidence: f.Evidence}
			if fx := fixOf(f); fx != nil {
				sf.Fix = fx.Key
				fixes[fx.Key] = fx
			}
			sh.Findings = append(sh.Findings, sf)
		}
	}
	return sh, fixes
}
