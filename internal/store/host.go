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

// Item is one exposure a diff compares: a stable key, its state (yes, no,
// unknown) and the evidence in one line.
type Item struct {
	Key      string `json:"key"`
	State    string `json:"state"`
	Evidence string `json:"evidence,omitempty"`
}

// Item keys besides audit's exposure names (audit.ExpNullSession, …).
const (
	KeyReachable = "reachable"
	KeyRIDCycle  = "rid-cycling"
	KeyGroups    = "groups"
	keyPipe      = "pipe:"
	keyShare     = "share:"
)

// Items lists the host's exposure items, sorted by key.
func Items(h *Host) []Item {
	var out []Item
	reach := Item{Key: KeyReachable, State: audit.Unknown, Evidence: h.Status}
	switch h.Status {
	case StatusOpen:
		reach.State = audit.Yes
	case StatusClosed:
		reach.State = audit.No
	}
	if h.Layer != "" {
		reach.Evidence += " at " + h.Layer
	}
	out = append(out, reach)
	if h.Audit != nil {
		for _, e := range h.Audit.Exposure {
			out = append(out, Item{Key: e.Name, State: e.Value, Evidence: strings.Join(e.Because, "; ")})
		}
	}
	if r := h.Result; r != nil {
		for name, st := range r.Pipes {
			it := Item{Key: keyPipe + name, Evidence: string(st)}
			switch {
			case st == enum.Open:
				it.State = audit.Yes
			case st == enum.Skipped || st == "":
				continue
			case strings.HasPrefix(string(st), "STATUS_"):
				it.State = audit.No
			default: // a timeout or transport error: not read
				it.State = audit.Unknown
			}
			out = append(out, it)
		}
		if c := r.RIDCycling; c != nil {
			it := Item{Key: KeyRIDCycle, State: audit.No, Evidence: "path " + c.Path}
			if c.Path != "none" && c.Path != "" && len(r.RIDs) > 0 {
				it.State = audit.Yes
				it.Evidence = fmt.Sprintf("%s RID cycling: %d SIDs translated", c.Path, len(r.RIDs))
			}
			out = append(out, it)
		}
		if r.Groups != nil {
			it := Item{Key: KeyGroups, State: audit.No, Evidence: "read, none"}
			if len(r.Groups) > 0 {
				it.State = audit.Yes
				it.Evidence = fmt.Sprintf("%d groups readable", len(r.Groups))
			}
			out = append(out, it)
		}
	}
	return sortItems(out)
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
