package enum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// RID cycling: running rounds of jobs on the lanes, collecting results.

// run executes the queued jobs and the open-ended scans in rounds of up to
// c.nLanes jobs, opening lanes as the rounds need them.
func (c *cycler) run(ctx context.Context, samrPath bool, open func(i int) (ridLane, error)) {
	lookahead := maxInt(c.stop, c.nLanes)
	laneLimit := 0 // lanes the server allows, once an open failed
	for ctx.Err() == nil {
		var jobs []*ridJob
		want := maxInt(c.nLanes, 1)
		if laneLimit > 0 {
			want = min(want, laneLimit)
		}
		for len(jobs) < want && len(c.queue) > 0 {
			jobs = append(jobs, c.queue[0])
			c.queue = c.queue[1:]
		}
		for len(jobs) < want {
			j := c.nextFixed()
			if j == nil {
				break
			}
			jobs = append(jobs, j)
		}
		for len(jobs) < want {
			added := false
			for _, d := range c.doms {
				if len(jobs) < want {
					if j := c.nextAdaptive(d, lookahead, samrPath); j != nil {
						jobs = append(jobs, j)
						added = true
					}
				}
			}
			if !added {
				break
			}
		}
		if len(jobs) == 0 {
			return
		}
		for len(c.lanes) < len(jobs) {
			l, err := open(len(c.lanes))
			if err != nil || l == nil {
				// The server allows no more pipes (or binds): run with the
				// lanes there are, and do not ask again.
				laneLimit = len(c.lanes)
				break
			}
			c.lanes = append(c.lanes, l)
		}
		if len(c.lanes) == 0 {
			return
		}
		c.round(ctx, jobs)
		allDenied := true
		for _, j := range jobs {
			if j.err == nil || !isDenied(j.err) {
				allDenied = false
			}
			if j.err == nil {
				c.translated = true
			}
			for _, r := range j.found {
				c.addFound(r, c.kindOf(j, r))
			}
			if j.dom != nil && j.idx >= 0 && len(j.found) > 0 {
				j.dom.lastHit = maxInt(j.dom.lastHit, j.idx)
			}
		}
		c.lastRound = jobs
		if allDenied {
			return // the path is closed; the caller decides what next
		}
		if n := c.foundCount(); n >= c.maxFound {
			ch := Call(LayerCall, IfaceEnum, "RIDCycling", "").Named("rid cycling")
			ch.Result, ch.Detail = Error, fmt.Sprintf("stopped after %d names (the most one host may give)", n)
			c.h.record(ch)
			return
		}
		for _, d := range c.doms {
			if d.adaptive && !d.finished && d.issued > d.lastHit+c.stop {
				d.finished = true
			}
		}
	}
}

func (c *cycler) kindOf(j *ridJob, r RID) int {
	if j.dom != nil {
		return j.dom.kind
	}
	return c.kindOfSID(r.SID)
}

// kindOfSID places a SID in the plan's domains; a SID of no cycled domain
// (a name the user asked for, a well-known SID) by its form.
func (c *cycler) kindOfSID(s string) int {
	sid, err := ndr.ParseSID(s)
	if err != nil {
		return kindWellKnown
	}
	for _, d := range c.doms {
		if len(sid.SubAuthority) == len(d.sid.SubAuthority)+1 && sid.Authority == d.sid.Authority &&
			slices.Equal(sid.SubAuthority[:len(d.sid.SubAuthority)], d.sid.SubAuthority) {
			return d.kind
		}
	}
	if k := kindFor(sid); k != kindAccount || len(c.doms) == 0 {
		return k
	}
	return kindOther // a domain SID that is not the account domain
}

// round runs one job per lane at once (see the package comment on lanes).
// Only SMB1 needs the barrier: an SMB2 connection multiplexes the lanes'
// round trips (internal/smb2), and TCP lanes have connections of their own.
func (c *cycler) round(ctx context.Context, jobs []*ridJob) {
	n := min(len(jobs), len(c.lanes))
	var b *barrier
	if n > 1 && c.h.Conn != nil && c.h.Conn.Negotiated().Dialect == smb.SMB1 {
		b = newBarrier(n)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		l, j := c.lanes[i], jobs[i]
		l.gate().arm(b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.found, j.err = l.lookup(ctx, c, j)
			l.gate().pass()
		}()
	}
	wg.Wait()
	// Jobs beyond the lanes we could open go back to the queue.
	c.queue = append(jobs[n:len(jobs):len(jobs)], c.queue...)
}

func isDenied(err error) bool {
	res, _ := Classify(err)
	return res == Denied
}

// deniedJobs names the status of the last round when all its calls were
// denied, "" otherwise.
func (c *cycler) deniedJobs() string {
	if len(c.lastRound) == 0 {
		return ""
	}
	for _, j := range c.lastRound {
		if j.err == nil || !isDenied(j.err) {
			return ""
		}
	}
	_, st := Classify(c.lastRound[0].err)
	return st.Name
}

func (c *cycler) foundCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.found)
}

func (c *cycler) addFound(r RID, kind int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.found[r.SID]; !ok {
		c.found[r.SID] = r
		c.order[r.SID] = kind
	}
}

// results lists what was found: the account domain first, then other
// domains, Builtin, well-known SIDs, Unix users and groups; by RID within.
func (c *cycler) results() []RID {
	out := make([]RID, 0, len(c.found))
	for _, r := range c.found {
		out = append(out, r)
		// Names looked up before the plan was made are placed now.
		c.order[r.SID] = c.kindOfSID(r.SID)
	}
	slices.SortFunc(out, func(a, b RID) int {
		if ka, kb := c.order[a.SID], c.order[b.SID]; ka != kb {
			return ka - kb
		}
		if pa, pb := sidPrefix(a.SID), sidPrefix(b.SID); pa != pb {
			return strings.Compare(pa, pb)
		}
		switch {
		case a.RID < b.RID:
			return -1
		case a.RID > b.RID:
			return 1
		}
		return 0
	})
	return out
}

func sidPrefix(s string) string {
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return s[:i]
	}
	return s
}

// ridType is the JSON type: SID_NAME_USE in lower case, with accounts
// whose names end in "$" (machine accounts, which Samba calls users)
// reported as computers.
func ridType(use string, name string) string {
	if use == "user" && strings.HasSuffix(name, "$") {
		return "computer"
	}
	return use
}

func translationRID(t lsa.Translation) RID {
	return RID{RID: t.SID.RID(), SID: t.SID.String(), Name: t.Name, Domain: t.Domain, Type: ridType(t.Use.String(), t.Name)}
}

// samrPath cycles with SamrLookupIdsInDomain; false when it was denied or
// could not be tried.
func (c *cycler) samrPath(ctx context.Context, open func(i int) (ridLane, error)) bool {
	c.plan(false)
	c.run(ctx, true, open)
	if !c.translated {
		if st := c.deniedJobs(); st != "" {
			call := IfaceSAMR
			var ce *samr.CallError
			if errors.As(c.lastRound[0].err, &ce) {
				call += "." + ce.Method
			}
			c.denied = append(c.denied, call+": "+st)
		}
		return false
	}
	// --names on the SAMR path: SamrLookupNamesInDomain in the account domain.
	if names := c.h.Opt.RIDs.Names; len(names) > 0 && len(c.lanes) > 0 && len(c.doms) > 0 {
		l := c.lanes[0].(*samrLane)
		d := c.doms[0]
		if h, err := l.domain(ctx, d); err == nil {
			res, err := l.c.LookupNames(ctx, h, names)
			for i, x := range res {
				a := NameLookup{Result: NameNotMapped, Via: "samr.LookupNamesInDomain(" + d.name + ")"}
				if x.Use != samr.UseUnknown && x.Use != 0 {
					found := RID{RID: x.RID, SID: d.sid.Append(x.RID).String(), Name: x.Name, Domain: d.name,
						Type: ridType(x.Use.String(), x.Name)}
					c.addFound(found, d.kind)
					a.Result, a.SID, a.Domain, a.Type = NameMapped, found.SID, found.Domain, found.Type
				}
				if i < len(names) {
					c.answer(names[i], a)
				}
			}
			if err != nil {
				c.answerFailed(names, "samr.LookupNamesInDomain", err)
			}
		}
	}
	return true
}
