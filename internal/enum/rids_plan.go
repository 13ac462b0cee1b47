package enum

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// RID cycling: planning the jobs (fixed ranges, cursors, the adaptive scan).

// plan lists the domains to cycle: each distinct machine/domain SID the
// sources named (the account domain first), Builtin, and on request the
// Unix SIDs. withLSA adds the well-known SIDs (SAMR cannot translate them).
func (c *cycler) plan(withLSA bool) {
	c.doms, c.queue = nil, nil
	ranges := c.h.Opt.RIDs.Ranges
	seen := map[string]bool{}
	addDom := func(sid ndr.SID, kind int) {
		if seen[sid.String()] {
			return
		}
		seen[sid.String()] = true
		d := &cycleDomain{sid: sid, kind: kind, lastHit: -1}
		var fixed []RIDRange
		switch {
		case kind == kindBuiltin:
			fixed = builtinRIDs
		case kind == kindUnixUsers || kind == kindUnixGroups:
			if ranges != nil {
				fixed = ranges
			} else {
				fixed, d.adaptive, d.next = unixFixedRIDs, true, ridAdaptiveStart
			}
		case ranges != nil:
			fixed = ranges
		default:
			fixed, d.adaptive, d.next = defaultFixedRIDs, true, ridAdaptiveStart
		}
		d.fixed = newRIDCursor(fixed)
		c.doms = append(c.doms, d)
	}
	if c.st.account != nil {
		addDom(*c.st.account, kindAccount)
	}
	// Sorted sources, so the plan does not depend on map order.
	c.mu.Lock()
	sources := maps.Clone(c.sources)
	c.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(sources)) {
		if sid, err := ndr.ParseSID(sources[k]); err == nil && isDomainSID(sid) {
			kind := kindOther
			if len(c.doms) == 0 {
				kind = kindAccount
			}
			addDom(sid, kind)
		}
	}
	addDom(samr.BuiltinSID, kindBuiltin)
	if c.h.Opt.RIDs.UnixSIDs && withLSA {
		addDom(unixUsersSID, kindUnixUsers)
		addDom(unixGroupsSID, kindUnixGroups)
	}
	for _, d := range c.doms {
		d.name = c.domainName(d, sources)
	}
	c.planFixed(withLSA)
}

func (c *cycler) domainName(d *cycleDomain, sources map[string]string) string {
	r := c.h.Result
	switch d.kind {
	case kindBuiltin:
		return "BUILTIN"
	case kindUnixUsers:
		return "Unix User"
	case kindUnixGroups:
		return "Unix Group"
	}
	if r.Domain != nil && r.Domain.SID == d.sid.String() {
		return r.Domain.Name
	}
	if r.PrimaryDomain != nil && r.PrimaryDomain.SID != nil && *r.PrimaryDomain.SID == d.sid.String() {
		return r.PrimaryDomain.Name
	}
	for _, src := range slices.Sorted(maps.Keys(sources)) {
		if sources[src] == d.sid.String() {
			if i := strings.IndexByte(src, '('); i >= 0 && strings.HasSuffix(src, ")") {
				return src[i+1 : len(src)-1]
			}
		}
	}
	return ""
}

// planFixed sizes the jobs of the fixed ranges. On the LSA path every
// domain's fixed SIDs and the well-known SIDs share calls, cut evenly over
// the lanes; on SAMR each domain has its own calls.
func (c *cycler) planFixed(withLSA bool) {
	c.fixedLSA, c.wellKnownDue = withLSA, withLSA
	limit := c.batchSize(!withLSA)
	var total uint64
	for _, d := range c.doms {
		total += d.fixed.left()
	}
	if withLSA {
		total += uint64(len(wellKnownSIDs))
	}
	// Spread over the lanes only when nothing else will fill them; with an
	// open-ended scan to come, the first round's other lanes take its
	// first batches instead.
	lanes := c.nLanes
	if slices.ContainsFunc(c.doms, func(d *cycleDomain) bool { return d.adaptive }) {
		lanes = 1
	}
	c.fixedSize = limit
	if total < uint64(limit)*uint64(maxInt(lanes, 1)) {
		if parts := evenChunks(int(total), limit, lanes); len(parts) > 0 {
			c.fixedSize = parts[0][1] - parts[0][0]
		}
	}
}

// nextFixed cuts the next job from the fixed ranges, nil when none are left.
func (c *cycler) nextFixed() *ridJob {
	size := min(c.fixedSize, c.batchSize(!c.fixedLSA))
	if c.fixedLSA {
		// The small fixed sets first (well-known SIDs, Builtin), so that a
		// long explicit range cannot starve them.
		var sids []ndr.SID
		if c.wellKnownDue && len(wellKnownSIDs) <= size {
			c.wellKnownDue = false
			for _, w := range wellKnownSIDs {
				sids = append(sids, ndr.MustParseSID(w))
			}
		}
		for _, builtin := range []bool{true, false} {
			for _, d := range c.doms {
				if (d.kind == kindBuiltin) == builtin {
					d.fixed.take(size-len(sids), func(rid uint32) { sids = append(sids, d.sid.Append(rid)) })
				}
			}
		}
		if c.wellKnownDue && len(sids) == 0 {
			c.wellKnownDue = false // batches shrank below their number: alone
			for _, w := range wellKnownSIDs {
				sids = append(sids, ndr.MustParseSID(w))
			}
		}
		if len(sids) == 0 {
			return nil
		}
		return &ridJob{idx: -1, sids: sids, label: fmt.Sprintf("%d SIDs %s .. %s", len(sids), sids[0], sids[len(sids)-1])}
	}
	for _, builtin := range []bool{true, false} {
		for _, d := range c.doms {
			if (d.kind == kindBuiltin) != builtin {
				continue
			}
			var rids []uint32
			d.fixed.take(size, func(rid uint32) { rids = append(rids, rid) })
			if len(rids) > 0 {
				return &ridJob{dom: d, idx: -1, rids: rids, label: fmt.Sprintf("%s RIDs %d-%d", d.sid, rids[0], rids[len(rids)-1])}
			}
		}
	}
	return nil
}

// ridCursor walks inclusive RID ranges without materializing them.
type ridCursor struct {
	ranges []RIDRange
	i      int
	next   uint64 // next RID of ranges[i]
}

func newRIDCursor(rs []RIDRange) ridCursor {
	cu := ridCursor{ranges: rs}
	if len(rs) > 0 {
		cu.next = uint64(rs[0].First)
	}
	return cu
}

// left counts the RIDs not yet taken.
func (cu *ridCursor) left() uint64 {
	var n uint64
	for i := cu.i; i < len(cu.ranges); i++ {
		lo := uint64(cu.ranges[i].First)
		if i == cu.i {
			lo = cu.next
		}
		if hi := uint64(cu.ranges[i].Last); hi >= lo {
			n += hi - lo + 1
		}
	}
	return n
}

// take passes up to n RIDs to f and advances past them.
func (cu *ridCursor) take(n int, f func(uint32)) {
	for n > 0 && cu.i < len(cu.ranges) {
		r := cu.ranges[cu.i]
		if cu.next > uint64(r.Last) {
			cu.i++
			if cu.i < len(cu.ranges) {
				cu.next = uint64(cu.ranges[cu.i].First)
			}
			continue
		}
		f(uint32(cu.next))
		cu.next++
		n--
	}
}

// evenChunks splits n items into calls of at most max, as evenly as the
// lanes allow: 4,657 SIDs over 4 lanes at 1,000 a call make 8 calls of
// 583 (two full rounds) rather than 4 of 1,000 and one of 657.
func evenChunks(n, max, lanes int) [][2]int {
	if n == 0 {
		return nil
	}
	lanes = maxInt(lanes, 1)
	calls := (n + max - 1) / max
	rounds := (calls + lanes - 1) / lanes
	calls = maxInt(calls, min(rounds*lanes, n))
	size := (n + calls - 1) / calls
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// nextAdaptive issues the next open-ended batch of d, or nil when d is
// done or far enough ahead of its last hit (lookahead batches).
func (c *cycler) nextAdaptive(d *cycleDomain, lookahead int, samrPath bool) *ridJob {
	if !d.adaptive || d.finished || d.next > 0xffffffff || d.issued > d.lastHit+lookahead {
		return nil
	}
	size := c.batchSize(samrPath)
	lo := d.next
	hi := min(lo+uint64(size), 1<<32)
	d.next = hi
	j := &ridJob{dom: d, idx: d.issued, label: fmt.Sprintf("%s RIDs %d-%d", d.sid, lo, hi-1)}
	d.issued++
	for rid := lo; rid < hi; rid++ {
		if samrPath {
			j.rids = append(j.rids, uint32(rid))
		} else {
			j.sids = append(j.sids, d.sid.Append(uint32(rid)))
		}
	}
	return j
}

func (c *cycler) batchSize(samrPath bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if samrPath {
		return min(c.batch, samr.MaxLookup)
	}
	return c.batch
}

// shrink lowers the batch size after a call that faulted on size.
func (c *cycler) shrink(n int) {
	c.mu.Lock()
	if n < c.batch {
		c.batch = maxInt(n, 1)
	}
	c.mu.Unlock()
}
