package enum

// RID cycling (-R): SIDs to names by counting RIDs upward in every domain
// the server names. Two paths, chosen by what the server allows: LSA
// LookupSids (any SID, any domain, up to 20,480 a call) and, where
// anonymous LSA translation is denied (Samba AD denies POLICY_LOOKUP_NAMES
// to S-1-5-7, lab-findings §6.10), SAMR LookupIdsInDomain (one domain, at
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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// RID cycling defaults.
const (
	defaultRIDBatch = 1000 // SIDs per LookupSids call
	defaultRIDStop  = 2    // empty batches in a row that end an open-ended scan
	// ridAdaptiveStart is where the open-ended scan of an account domain
	// begins: Windows and Samba number accounts from 1000 (Samba AD: 1100+).
	ridAdaptiveStart = 1000
)

// ridLanes is how many pipes RID cycling keeps in flight (measured on the
// lab, see scripts/bench.sh); tests change it.
var ridLanes = 4

// ridMaxFound bounds the names one host may hand us: a server that maps
// every RID would otherwise keep the open-ended scan going until the
// host's deadline, growing the result all the while. 65,536 names of the
// longest kind lsa accepts hold about 60 MiB, ordinary ones 8 MiB
// (docs/bounds.md); a larger domain is reported as stopped, not complete.
var ridMaxFound = 1 << 16

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
	h       *host
	st      *rpcState
	batch   int
	stop    int
	lanes   []ridLane
	doms    []*cycleDomain
	queue   []*ridJob
	found   map[string]RID
	order   map[string]int // SID → kind, for sorting
	sources map[string]string
	denied  []string
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
	c := &cycler{h: h, st: st, batch: o.Batch, stop: o.Stop,
		found: map[string]RID{}, order: map[string]int{}, sources: map[string]string{}}
	if c.batch <= 0 {
		c.batch = defaultRIDBatch
	}
	c.batch = min(c.batch, lsa.MaxLookupSids)
	if c.stop <= 0 {
		c.stop = defaultRIDStop
	}
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

// --- domain SIDs from every source ----------------------------------------

func (c *cycler) addSource(source string, sid ndr.SID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources[source] = sid.String()
}

// sourcesFromLSAQueries takes what the LSA checks read (they ran before).
func (c *cycler) sourcesFromLSAQueries() {
	r := c.h.Result
	if r.Domain != nil && r.Domain.SID != "" && c.callOK(queryPolicyCall(5, "account domain")) {
		if sid, err := ndr.ParseSID(r.Domain.SID); err == nil {
			c.addSource("lsa.QueryInformationPolicy(5 account domain)", sid)
		}
	}
	if r.PrimaryDomain != nil && r.PrimaryDomain.SID != nil {
		if sid, err := ndr.ParseSID(*r.PrimaryDomain.SID); err == nil {
			c.addSource("lsa.QueryInformationPolicy(3 primary domain)", sid)
		}
	}
}

// anyDomainSource: some source named a machine or domain SID.
func (c *cycler) anyDomainSource() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.sources {
		if sid, err := ndr.ParseSID(v); err == nil && isDomainSID(sid) {
			return true
		}
	}
	return false
}

// callOK reports whether the call want describes (interface, opnum,
// argument) was made and succeeded.
func (c *cycler) callOK(want Check) bool {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for _, ch := range c.h.Result.Checks {
		if ch.Is(want.Interface, *want.Opnum) && ch.Arg == want.Arg && ch.Result == OK {
			return true
		}
	}
	return false
}

// candidateNames are the names worth translating to find domain SIDs:
// what the NTLM challenge, LSA and WKSSVC named, and the two accounts
// every Windows domain has.
func (c *cycler) candidateNames() []string {
	r := c.h.Result
	var names []string
	add := func(n string) {
		n = strings.TrimSpace(n)
		if n == "" || slices.ContainsFunc(names, func(x string) bool { return strings.EqualFold(x, n) }) {
			return
		}
		names = append(names, n)
	}
	if r.SMB != nil && r.SMB.NTLM != nil {
		add(r.SMB.NTLM.NetBIOSDomain)
		add(r.SMB.NTLM.NetBIOSComputer)
		add(r.SMB.NTLM.DNSDomain)
	}
	if r.Domain != nil {
		add(r.Domain.Name)
		add(r.Domain.DNSDomain)
	}
	if r.PrimaryDomain != nil {
		add(r.PrimaryDomain.Name)
	}
	if r.ServerInfo != nil && r.ServerInfo.Workstation != nil {
		add(r.ServerInfo.Workstation.ComputerName)
		add(r.ServerInfo.Workstation.LanGroup)
	}
	add("Administrator")
	add("Guest")
	return names
}

// discoverLSA translates the candidate names and the names the user gave
// (--names): each domain or account that maps names a domain SID.
func (c *cycler) discoverLSA(ctx context.Context, l *lsaLane) {
	names := c.candidateNames()
	for _, n := range c.h.Opt.RIDs.Names {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for len(names) > 0 {
		n := min(len(names), lsa.MaxLookupNames)
		batch := names[:n]
		names = names[n:]
		start := time.Now()
		tr, st, err := l.c.LookupNames(ctx, l.pol, batch)
		ch := Call(LayerCall, IfaceLSA, "LookupNames", fmt.Sprintf("%d names", n)).Op(lsa.OpLookupNames).Named("lsa.LookupNames").Done(time.Since(start), err)
		if err == nil {
			ch.Status, ch.StatusCode = st.String(), uint32(st)
			ch.Detail = fmt.Sprintf("%d names, %d mapped", n, countMapped(tr))
		}
		c.h.record(ch)
		if err != nil {
			c.answerFailed(batch, "lsa.LookupNames", err)
			return
		}
		if len(tr) == len(batch) {
			// [MS-LSAT] 3.1.4.9: one translation per name, in order.
			for i, t := range tr {
				a := NameLookup{Result: NameNotMapped, Via: "lsa.LookupNames", Status: st.String()}
				if t.Mapped() {
					x := translationRID(t)
					a.Result, a.SID, a.Domain, a.Type = NameMapped, x.SID, x.Domain, x.Type
				}
				c.answer(batch[i], a)
			}
		}
		for _, t := range tr {
			if !t.Mapped() {
				continue
			}
			if t.Use == lsa.SidTypeDomain {
				c.addSource("lsa.LookupNames("+t.Name+")", t.SID)
				continue
			}
			if t.DomainSID != nil {
				c.addSource("lsa.LookupNames("+t.Name+")", *t.DomainSID)
			}
			// Accounts found by name are results too.
			c.addFound(translationRID(t), kindFor(t.SID))
		}
	}
}

func countMapped(tr []lsa.Translation) int {
	n := 0
	for _, t := range tr {
		if t.Mapped() {
			n++
		}
	}
	return n
}

// discoverSAMR asks the SAM which domains it holds and the SIDs of the
// candidate names (SamrLookupDomainInSamServer).
func (c *cycler) discoverSAMR(ctx context.Context) {
	cl := c.st.samr
	if cl == nil {
		rpc, err := c.h.bind(ctx, c.st, "samr", dcerpc.SAMR)
		if err != nil {
			return
		}
		cl = samr.New(rpc)
		c.st.samr = cl
	}
	prev := cl.OnCall
	cl.OnCall = c.recordSAMR
	defer func() { cl.OnCall = prev }()
	server, _, err := cl.Connect(ctx, samr.ServerConnect|samr.ServerEnumerateDomains|samr.ServerLookupDomain)
	if err != nil {
		return
	}
	defer cl.Close(ctx, server)
	var names []string
	if list, err := cl.EnumerateDomains(ctx, server); err == nil {
		for _, d := range list {
			names = append(names, d.Name)
		}
	}
	for _, n := range c.candidateNames() {
		if n == "Administrator" || n == "Guest" || strings.Contains(n, ".") ||
			slices.ContainsFunc(names, func(x string) bool { return strings.EqualFold(x, n) }) {
			continue
		}
		names = append(names, n)
	}
	for _, n := range names {
		if sid, err := cl.LookupDomain(ctx, server, n); err == nil {
			c.addSource("samr.LookupDomainInSamServer("+n+")", sid)
		}
	}
}

func (c *cycler) recordSAMR(call samr.Call) {
	c.h.record(samrCheck(call, true))
}

// isDomainSID: S-1-5-21-a-b-c, a machine or domain SID.
func isDomainSID(s ndr.SID) bool {
	return s.Authority == 5 && len(s.SubAuthority) == 4 && s.SubAuthority[0] == 21
}

func kindFor(sid ndr.SID) int {
	switch {
	case sid.Authority == 5 && len(sid.SubAuthority) >= 1 && sid.SubAuthority[0] == 32:
		return kindBuiltin
	case sid.Authority == 22 && len(sid.SubAuthority) >= 1 && sid.SubAuthority[0] == 1:
		return kindUnixUsers
	case sid.Authority == 22 && len(sid.SubAuthority) >= 1 && sid.SubAuthority[0] == 2:
		return kindUnixGroups
	case len(sid.SubAuthority) >= 1 && isDomainSID(ndr.SID{Revision: sid.Revision, Authority: sid.Authority, SubAuthority: sid.SubAuthority[:min(4, len(sid.SubAuthority))]}):
		return kindAccount
	}
	return kindWellKnown
}

// --- planning -------------------------------------------------------------

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
	lanes := ridLanes
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

// --- running --------------------------------------------------------------

// run executes the queued jobs and the open-ended scans in rounds of up to
// ridLanes jobs, opening lanes as the rounds need them.
func (c *cycler) run(ctx context.Context, samrPath bool, open func(i int) (ridLane, error)) {
	lookahead := maxInt(c.stop, ridLanes)
	laneLimit := 0 // lanes the server allows, once an open failed
	for ctx.Err() == nil {
		var jobs []*ridJob
		want := maxInt(ridLanes, 1)
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
		if n := c.foundCount(); n >= ridMaxFound {
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

// --- lanes ----------------------------------------------------------------

// ridLane is one pipe with its own bind, translating one job at a time.
type ridLane interface {
	lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error)
	gate() *gatedPipe
	close(ctx context.Context)
}

// openPipe opens and binds one lane's pipe, recording both steps.
func (c *cycler) openPipe(ctx context.Context, name string, iface dcerpc.SyntaxID, lane int) (*gatedPipe, *dcerpc.Client, error) {
	detail := fmt.Sprintf("rid cycling lane %d", lane)
	if c.st.tcp {
		return c.tcpLane(ctx, name, iface, detail)
	}
	if c.h.IPC == nil {
		return nil, nil, fmt.Errorf("%s: IPC$ not connected", name)
	}
	start := time.Now()
	p, err := c.h.IPC.OpenPipe(ctx, name)
	ch := openPipeCall(name).Done(time.Since(start), err)
	ch.Detail = joinWords(detail, ch.Detail)
	c.h.record(ch)
	if err != nil {
		return nil, nil, err
	}
	g := &gatedPipe{Pipe: p}
	start = time.Now()
	rpc, err := dcerpc.Bind(ctx, g, iface)
	ch = bindCall(name).Done(time.Since(start), err)
	ch.Detail = joinWords(detail, ch.Detail)
	c.h.record(ch)
	if err != nil {
		_ = p.Close(ctx)
		return nil, nil, err
	}
	return g, rpc, nil
}

// lsaLane translates with LsarLookupSids on its own policy handle.
type lsaLane struct {
	g   *gatedPipe
	c   *lsa.Client
	pol ndr.Handle
}

// lsaLookupMasks are the policy access masks RID cycling asks for, in
// order. POLICY_LOOKUP_NAMES is the right LsarLookupSids checks
// ([MS-LSAT] 3.1.4.11), but Samba's AD DC refuses it to a null session
// while it opens the policy for POLICY_VIEW_LOCAL_INFORMATION or
// MAXIMUM_ALLOWED ([MS-LSAD] 2.2.1.1.2) and translates on that handle; the
// narrower masks come first.
var lsaLookupMasks = []uint32{lsa.PolicyLookupNames, lsa.PolicyViewLocalInformation, lsa.MaximumAllowed}

// openLSALane opens a pipe, binds LSA and opens a policy handle for
// LookupSids: lane 0 tries lsaLookupMasks in order, later lanes the mask
// lane 0 was granted. Its error, when the server denies every mask, is
// what the report shows as denied.
func (c *cycler) openLSALane(ctx context.Context, i int) (*lsaLane, error) {
	g, rpc, err := c.openPipe(ctx, "lsarpc", dcerpc.LSARPC, i)
	if err != nil {
		return nil, nil // not a denial of translation; nothing to report beyond the check
	}
	cl := lsa.New(rpc)
	masks := lsaLookupMasks
	if i > 0 && c.lsaAccess != 0 {
		masks = []uint32{c.lsaAccess}
	}
	pol, err := cl.OpenPolicy(ctx, masks...)
	name := "lsa.OpenPolicy2"
	for _, a := range pol.Attempts {
		ch := openPolicyCheck(a, fmt.Sprintf("(for LookupSids), rid cycling lane %d", i))
		name = ch.Name
		c.h.record(ch)
	}
	if err != nil {
		_ = g.Close(ctx)
		if _, st := Classify(err); st.Name != "" && i == 0 {
			return nil, fmt.Errorf("%s(lookup names, view local information, maximum allowed): %s", name, st.Name)
		}
		return nil, nil
	}
	if i == 0 {
		c.lsaAccess = pol.Access
	}
	return &lsaLane{g: g, c: cl, pol: pol.Handle}, nil
}

func (l *lsaLane) gate() *gatedPipe { return l.g }

func (l *lsaLane) close(ctx context.Context) {
	if l.g == nil {
		return
	}
	_ = l.c.Close(ctx, l.pol)
	_ = l.g.Close(ctx)
	l.g = nil
}

// lookup translates the job's SIDs, halving the batch on faults that say
// it was too large (and remembering the smaller size for later jobs).
func (l *lsaLane) lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error) {
	return l.lookupSids(ctx, c, j.sids, j.label, 0)
}

// maxShrink bounds how often one job is halved: a server that faults on
// every call costs a handful of calls, not one per SID.
const maxShrink = 5

func (l *lsaLane) lookupSids(ctx context.Context, c *cycler, sids []ndr.SID, label string, depth int) ([]RID, error) {
	start := time.Now()
	tr, st, err := l.c.LookupSids(ctx, l.pol, sids)
	ch := Call(LayerCall, IfaceLSA, "LookupSids", label).Op(lsa.OpLookupSids).Named("lsa.LookupSids").Done(time.Since(start), err)
	if err == nil {
		ch.Status, ch.StatusCode = st.String(), uint32(st)
		ch.Detail = fmt.Sprintf("%s: %d mapped", label, countMapped(tr))
	} else {
		ch.Detail = strings.TrimSpace(label + " " + ch.Detail)
	}
	if err != nil && len(sids) > 1 && depth < maxShrink && shrinkable(err) {
		half := (len(sids) + 1) / 2
		ch.Detail += fmt.Sprintf("; retrying as calls of %d", half)
		c.h.record(ch)
		c.shrink(half)
		a, err := l.lookupSids(ctx, c, sids[:half], label+" (first half)", depth+1)
		if err != nil {
			return a, err // the same failure, most likely: do not repeat it
		}
		b, err := l.lookupSids(ctx, c, sids[half:], label+" (second half)", depth+1)
		return append(a, b...), err
	}
	c.h.record(ch)
	if err != nil {
		return nil, err
	}
	var out []RID
	for _, t := range tr {
		if t.Mapped() && !synthetic(t) {
			out = append(out, translationRID(t))
		}
	}
	return out, nil
}

// synthetic: Samba maps every uid and gid under S-1-22 and names the ones
// with no account by their number ("Unix User\777777"); those are not
// accounts, and counting them as hits would keep the scan going forever.
func synthetic(t lsa.Translation) bool {
	k := kindFor(t.SID)
	return (k == kindUnixUsers || k == kindUnixGroups) && t.Name == strconv.FormatUint(uint64(t.SID.RID()), 10)
}

// shrinkable: the call failed in a way a smaller batch may fix — a reply
// over our size cap, an NDR or bound fault, or a status servers give for
// requests too large. Access denied and missing opnums are not.
func shrinkable(err error) bool {
	var f *dcerpc.Fault
	if errors.As(err, &f) {
		switch f.Status {
		case dcerpc.FaultNDR, dcerpc.FaultInvalidBound, dcerpc.FaultCantPerform, 0x1C00001C /* nca_s_fault_remote_no_memory */ :
			return true
		}
		return false
	}
	if errors.Is(err, dcerpc.ErrTooLarge) {
		return true
	}
	// Samba answers a SAMR lookup of more than 1,000 RIDs with
	// RPC_NT_BAD_STUB_DATA (lab-findings §6.9).
	for _, s := range []ntstatus.Status{ntstatus.RPCBadStubData, 0xC0020023, /* RPC_NT_INVALID_BOUND */
		0xC0000017 /* NO_MEMORY */, 0xC000009A /* INSUFFICIENT_RESOURCES */, 0xC0000023 /* BUFFER_TOO_SMALL */} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// samrLane translates with SamrLookupIdsInDomain on its own binding: one
// server handle, each domain opened once with DOMAIN_LOOKUP only.
type samrLane struct {
	g       *gatedPipe
	c       *samr.Client
	server  *samr.Handle
	domains map[string]samr.Handle
	fails   map[string]error
}

func (c *cycler) openSAMRLane(ctx context.Context, i int) (*samrLane, error) {
	g, rpc, err := c.openPipe(ctx, "samr", dcerpc.SAMR, i)
	if err != nil {
		return nil, err
	}
	cl := samr.New(rpc)
	cl.OnCall = c.recordSAMR
	return &samrLane{g: g, c: cl, domains: map[string]samr.Handle{}, fails: map[string]error{}}, nil
}

func (l *samrLane) gate() *gatedPipe { return l.g }

func (l *samrLane) close(ctx context.Context) {
	if l.g == nil {
		return
	}
	for _, h := range l.domains {
		_ = l.c.Close(ctx, h)
	}
	if l.server != nil {
		_ = l.c.Close(ctx, *l.server)
	}
	_ = l.g.Close(ctx)
	l.g = nil
}

// domain returns the lane's handle on d, connecting on first use.
func (l *samrLane) domain(ctx context.Context, d *cycleDomain) (samr.Handle, error) {
	key := d.sid.String()
	if h, ok := l.domains[key]; ok {
		return h, nil
	}
	if err, ok := l.fails[key]; ok {
		return samr.Handle{}, err
	}
	if l.server == nil {
		h, _, err := l.c.Connect(ctx, samr.ServerConnect|samr.ServerLookupDomain)
		if err != nil {
			l.fails[key] = err
			return samr.Handle{}, err
		}
		l.server = &h
	}
	h, err := l.c.OpenDomain(ctx, *l.server, samr.DomainLookup, d.sid)
	if err != nil {
		l.fails[key] = err
		return samr.Handle{}, err
	}
	l.domains[key] = h
	return h, nil
}

func (l *samrLane) lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error) {
	h, err := l.domain(ctx, j.dom)
	if err != nil {
		return nil, err
	}
	return l.lookupIDs(ctx, c, h, j.dom, j.rids, 0)
}

func (l *samrLane) lookupIDs(ctx context.Context, c *cycler, h samr.Handle, d *cycleDomain, rids []uint32, depth int) ([]RID, error) {
	res, err := l.c.LookupIDs(ctx, h, rids)
	if err != nil && len(rids) > 1 && depth < maxShrink && shrinkable(err) {
		half := (len(rids) + 1) / 2
		c.shrink(half)
		a, err := l.lookupIDs(ctx, c, h, d, rids[:half], depth+1)
		if err != nil {
			return a, err
		}
		b, err := l.lookupIDs(ctx, c, h, d, rids[half:], depth+1)
		return append(a, b...), err
	}
	if err != nil {
		return nil, err
	}
	var out []RID
	for _, x := range res {
		if x.Use == samr.UseUnknown || x.Use == samr.UseInvalid || x.Use == 0 {
			continue
		}
		out = append(out, RID{RID: x.RID, SID: d.sid.Append(x.RID).String(), Name: x.Name, Domain: d.name,
			Type: ridType(x.Use.String(), x.Name)})
	}
	return out, nil
}

// --- pipelining -----------------------------------------------------------

// gatedPipe is the transport of one lane. When armed for a round, the
// transaction that ends a request is split: the request is written, the
// lane waits until every lane in the round has written its own, and only
// then reads the reply. A read on a named pipe holds the SMB connection
// until the server answers, so without the gate the lanes would take
// turns and the server would never work on two batches at once.
type gatedPipe struct {
	smb.Pipe
	mu sync.Mutex
	b  *barrier
}

func (g *gatedPipe) arm(b *barrier) {
	g.mu.Lock()
	g.b = b
	g.mu.Unlock()
}

// take disarms the gate and returns the barrier it held, if any.
func (g *gatedPipe) take() *barrier {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.b
	g.b = nil
	return b
}

// pass arrives at the barrier for a lane that finished without using it.
func (g *gatedPipe) pass() {
	if b := g.take(); b != nil {
		b.arrive()
	}
}

// Transact implements dcerpc.Transport.
func (g *gatedPipe) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	b := g.take()
	if b == nil {
		return g.Pipe.Transact(ctx, in, maxOut)
	}
	n, err := g.Pipe.Write(ctx, in)
	b.arrive()
	if err == nil && n != len(in) {
		err = fmt.Errorf("enum: short pipe write: %d of %d bytes", n, len(in))
	}
	if err != nil {
		return nil, err
	}
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return g.Pipe.Read(ctx, maxOut)
}

// barrier is a countdown every lane of a round arrives at once.
type barrier struct {
	mu   sync.Mutex
	left int
	done chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{left: n, done: make(chan struct{})} }

func (b *barrier) arrive() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left--; b.left == 0 {
		close(b.done)
	}
}

func (b *barrier) wait(ctx context.Context) error {
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
