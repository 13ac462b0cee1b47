package enum

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// RID cycling: the domain SIDs to cycle, from every source that names one.

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
