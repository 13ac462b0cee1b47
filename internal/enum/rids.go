package enum

// RID cycling (-R): SIDs to names by counting RIDs upward in every domain
// the server names. Two paths, chosen by what the server allows: LSA
// LookupSids (any SID, any domain, up to 20,480 a call) and, where
// anonymous LSA translation is denied (Samba AD denies POLICY_LOOKUP_NAMES
// to S-1-5-7, docs/samba.md), SAMR LookupIdsInDomain (one domain, at
// most 1,000 RIDs a call). Where SAMR enumeration is denied but LSA
// translation is not (restrict anonymous = 1), this is the only way to
// the users.
//
// Speed: the server's time per batch dominates (about 50 ms per 1,000
// SIDs on Samba here), so batches run on several pipes at once ("lanes").
// Over SMB2 one connection carries every lane's round trip at once
// (internal/smb2 multiplexes). SMB1 serializes round trips, so there a lane
// does not wait for its reply while holding the connection: in a round,
// each lane writes its request, all wait until every lane has written,
// and only then do they read. The server works on all of them at the same
// time, one rpcd worker per pipe.

import (
	"context"
	"strings"
	"sync"

	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// RID cycling defaults.
const (
	defaultRIDBatch = 1000 // SIDs per LookupSids call
	defaultRIDStop  = 2    // empty batches in a row that end an open-ended scan
	// ridAdaptiveStart is where the open-ended scan of an account domain
	// begins: Windows and Samba number accounts from 1000 (Samba AD: 1100+).
	ridAdaptiveStart = 1000
)

// Defaults of RIDOptions.Lanes and MaxFound.
const (
	defaultRIDLanes    = 4
	defaultRIDMaxFound = 1 << 16
)

// Fixed ranges: the well-known account RIDs of a domain (500 Administrator,
// 501 Guest, 502 krbtgt, 512-527 the well-known groups, ...) and the
// Builtin aliases (544 Administrators .. 582).
var (
	defaultFixedRIDs = []RIDRange{{500, 550}}
	builtinRIDs      = []RIDRange{{544, 582}}
	// unixFixedRIDs: the system uids and gids, and nobody/nogroup far
	// above the open-ended scan (which starts at 1000, like a domain's).
	unixFixedRIDs = []RIDRange{{0, 999}, {65534, 65534}}
)

// wellKnownSIDs are translated once on the LSA path ([MS-DTYP] 2.4.2.4).
var wellKnownSIDs = []string{
	"S-1-1-0",  // Everyone
	"S-1-2-0",  // Local
	"S-1-3-0",  // Creator Owner
	"S-1-3-1",  // Creator Group
	"S-1-5-1",  // Dialup
	"S-1-5-2",  // Network
	"S-1-5-3",  // Batch
	"S-1-5-4",  // Interactive
	"S-1-5-6",  // Service
	"S-1-5-7",  // Anonymous Logon
	"S-1-5-9",  // Enterprise Domain Controllers
	"S-1-5-10", // Self
	"S-1-5-11", // Authenticated Users
	"S-1-5-18", // Local System
	"S-1-5-19", // Local Service
	"S-1-5-20", // Network Service
}

// Domain kinds, in the order results are listed.
const (
	kindAccount = iota
	kindOther   // another domain SID a source named (a member's primary domain)
	kindBuiltin
	kindWellKnown
	kindUnixUsers
	kindUnixGroups
)

var (
	unixUsersSID  = ndr.SID{Revision: 1, Authority: 22, SubAuthority: []uint32{1}}
	unixGroupsSID = ndr.SID{Revision: 1, Authority: 22, SubAuthority: []uint32{2}}
)

// cycleDomain is one domain being cycled and its open-ended scan state.
type cycleDomain struct {
	sid   ndr.SID
	name  string
	kind  int
	fixed ridCursor // the fixed (or explicit) ranges still to ask
	// Open-ended scan: batches [next, next+batch) are issued in order;
	// it ends when the stop batches after the last one with a hit all
	// came back empty.
	adaptive bool
	next     uint64
	issued   int // batches issued
	lastHit  int // index of the last batch with a mapped RID, -1 for none
	finished bool
}

// ridJob is one lookup call's worth of SIDs.
type ridJob struct {
	dom   *cycleDomain // set for one-domain jobs (all SAMR jobs, open-ended LSA jobs)
	idx   int          // open-ended batch index, -1 for fixed jobs
	sids  []ndr.SID
	rids  []uint32
	label string
	// filled by the lane
	found []RID
	err   error
}

// cycler is the state of one RID-cycling run on one host.
type cycler struct {
	h     *host
	st    *rpcState
	batch int
	stop  int
	// nLanes is how many lanes run at once; maxFound the names kept.
	nLanes   int
	maxFound int
	lanes    []ridLane
	doms     []*cycleDomain
	queue    []*ridJob
	found    map[string]RID
	order    map[string]int // SID → kind, for sorting
	sources  map[string]string
	denied   []string
	// Fixed ranges are cut into jobs as the rounds need them (an explicit
	// range may hold four billion RIDs): fixedSize SIDs a job, the
	// well-known SIDs in the first LSA job.
	fixedSize    int
	fixedLSA     bool
	wellKnownDue bool
	// lastRound is the last round run; translated is set once any
	// lookup call of the path succeeded.
	lastRound  []*ridJob
	translated bool
	// lsaAccess is the policy access lane 0 was granted (set before
	// other lanes open).
	lsaAccess uint32
	mu        sync.Mutex // guards batch and found (lanes run concurrently)
	// asked are the --names questions with their answers, in the order
	// given; each starts as not looked up.
	asked []NameLookup
}

// newCycler makes the cycler of one host with h.Opt.RIDs, defaults
// filled in.
func newCycler(h *host, st *rpcState) *cycler {
	o := h.Opt.RIDs
	c := &cycler{h: h, st: st, batch: o.Batch, stop: o.Stop, nLanes: o.Lanes, maxFound: o.MaxFound,
		found: map[string]RID{}, order: map[string]int{}, sources: map[string]string{}}
	if c.batch <= 0 {
		c.batch = defaultRIDBatch
	}
	c.batch = min(c.batch, lsa.MaxLookupSids)
	if c.stop <= 0 {
		c.stop = defaultRIDStop
	}
	if c.nLanes <= 0 {
		c.nLanes = defaultRIDLanes
	}
	if c.maxFound <= 0 {
		c.maxFound = defaultRIDMaxFound
	}
	return c
}

// answer records what a lookup said about one --names question; names
// match case-insensitively, as both SAM and LSA match them.
func (c *cycler) answer(name string, a NameLookup) {
	for i := range c.asked {
		if strings.EqualFold(c.asked[i].Name, name) {
			a.Name = c.asked[i].Name
			c.asked[i] = a
		}
	}
}

// answerFailed marks the questions of a batch whose call failed, unless an
// earlier call answered them.
func (c *cycler) answerFailed(batch []string, via string, err error) {
	for _, n := range batch {
		for i := range c.asked {
			if strings.EqualFold(c.asked[i].Name, n) && c.asked[i].Result == NameNotLookedUp {
				c.asked[i].Error = via + ": " + err.Error()
			}
		}
	}
}

func (h *host) ridCycle(ctx context.Context, st *rpcState) {
	o := h.Opt.RIDs
	c := newCycler(h, st)
	rc := &RIDCycling{Path: RIDPathNone}
	for _, n := range o.Names {
		c.asked = append(c.asked, NameLookup{Name: n, Result: NameNotLookedUp})
	}
	defer func() {
		for _, l := range c.lanes {
			l.close(context.WithoutCancel(ctx))
		}
		if len(c.sources) > 0 {
			rc.DomainSIDs = c.sources
		}
		rc.Denied = c.denied
		h.mu.Lock()
		h.Result.RIDCycling = rc
		if len(c.asked) > 0 {
			h.Result.Names = c.asked
		}
		h.mu.Unlock()
	}()

	c.sourcesFromLSAQueries()
	// SAMR's list of domains is one more source of domain SIDs. On the LSA
	// path it adds none to cycle (the SAM holds the account domain and
	// Builtin, which LSA named already), so it runs beside the cycling.
	samrDone := make(chan struct{})
	go func() { defer close(samrDone); c.discoverSAMR(ctx) }()
	defer func() { <-samrDone }()
	// LSA first: it translates every domain in one call and is what
	// Windows serves to anonymous callers when anything is served.
	lane0, lsaErr := c.openLSALane(ctx, 0)
	if lane0 != nil {
		c.lanes = append(c.lanes, lane0)
		c.discoverLSA(ctx, lane0)
		if c.st.account == nil && !c.anyDomainSource() {
			<-samrDone
		}
		c.plan(true)
		c.run(ctx, false, func(i int) (ridLane, error) {
			if l, err := c.openLSALane(ctx, i); l != nil {
				return l, nil
			} else {
				return nil, err
			}
		})
		if c.translated {
			rc.Path = RIDPathLSA
			rc.LSAAccess = c.lsaAccess
		} else if denied := c.deniedJobs(); denied != "" {
			c.denied = append(c.denied, "lsa.LookupSids: "+denied)
		}
	} else if lsaErr != nil {
		c.denied = append(c.denied, lsaErr.Error())
	}
	<-samrDone
	if rc.Path == RIDPathNone && ctx.Err() == nil {
		for _, l := range c.lanes {
			l.close(ctx)
		}
		c.lanes = nil
		if c.samrPath(ctx, func(i int) (ridLane, error) {
			if l, err := c.openSAMRLane(ctx, i); l != nil {
				return l, nil
			} else {
				return nil, err
			}
		}) {
			rc.Path = RIDPathSAMR
		}
	}
	if rc.Path == RIDPathNone {
		return
	}
	h.Result.RIDs = c.results()
	for _, r := range h.Result.RIDs {
		if c.order[r.SID] != kindAccount {
			continue
		}
		switch r.RID {
		case 500:
			rc.Administrator = r.Name
		case 501:
			rc.Guest = r.Name
		}
	}
}
