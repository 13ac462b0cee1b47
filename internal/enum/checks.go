package enum

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/msrpc/wkssvc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// rpcState is what the RPC checks share on one host: one bind per
// interface, kept open for later checks (RID cycling reuses LSA and SAMR).
type rpcState struct {
	lsa       *lsa.Client
	lsaPolicy *lsa.Policy
	samr      *samr.Client
	account   *ndr.SID // account domain SID, from LSA or SAMR
	pipes     []smb.Pipe
}

func (s *rpcState) close(ctx context.Context) {
	for _, p := range s.pipes {
		_ = p.Close(ctx)
	}
}

// bind opens a pipe and binds one interface on it, recording both steps.
func (h *Host) bind(ctx context.Context, st *rpcState, pipe string, iface dcerpc.SyntaxID) (*dcerpc.Client, error) {
	if h.IPC == nil {
		h.Record(Check{Name: "smb.OpenPipe(" + pipe + ")", Layer: "pipe", Result: "skipped", Detail: "IPC$ not connected"})
		return nil, fmt.Errorf("%s: IPC$ not connected", pipe)
	}
	start := time.Now()
	p, err := h.IPC.OpenPipe(ctx, pipe)
	if _, probed := h.Result.Pipes[pipe]; !probed {
		// Without the layer-5 probe, the pipes the checks open are its result.
		h.Evidence("smb.OpenPipe("+pipe+")", "pipe", start, err)
		h.Result.Pipes[pipe] = pipeState(err)
	} else if err != nil {
		h.Evidence("smb.OpenPipe("+pipe+")", "pipe", start, err)
	}
	if err != nil {
		return nil, err
	}
	st.pipes = append(st.pipes, p)
	start = time.Now()
	c, err := dcerpc.Bind(ctx, p, iface)
	h.Evidence("dcerpc.Bind("+pipe+")", "bind", start, err)
	return c, err
}

func (h *Host) runRPCChecks(ctx context.Context) {
	st := &rpcState{}
	defer st.close(context.WithoutCancel(ctx))
	o := h.Opt.Checks
	if h.IPC != nil {
		h.serverInfo(ctx, st)
		if o.Has(CheckLSA) || o.Has(CheckRIDs) || o.Has(CheckUsers) || o.Has(CheckPolicy) || o.Has(CheckGroups) {
			h.lsaChecks(ctx, st)
		}
		if o.Has(CheckUsers) || o.Has(CheckGroups) || o.Has(CheckPolicy) || o.Has(CheckMachines) {
			h.samrChecks(ctx, st)
		}
	}
	if o.Has(CheckShares) {
		h.shareChecks(ctx, st)
	}
	if o.Has(CheckRIDs) && h.IPC != nil {
		h.ridCycle(ctx, st)
	}
	if o.Has(CheckMachines) {
		h.browse(ctx)
	}
}

// serverInfo: SRVSVC NetrServerGetInfo 101 and WKSSVC NetrWkstaGetInfo 100.
func (h *Host) serverInfo(ctx context.Context, st *rpcState) {
	var si *ServerInfo
	if c, err := h.bind(ctx, st, "srvsvc", dcerpc.SRVSVC); err == nil {
		start := time.Now()
		info, err := srvsvc.New(c, h.Target).ServerInfo(ctx)
		h.Evidence("srvsvc.NetrServerGetInfo", "call", start, err)
		if err == nil {
			si = &ServerInfo{PlatformID: info.PlatformID, Name: info.Name, VersionMajor: info.VersionMajor,
				VersionMinor: info.VersionMinor, Type: info.Type, TypeNames: ServerTypeNames(info.Type), Comment: info.Comment}
		}
		if h.Opt.Checks.Has(CheckShares) {
			h.shareEnum(ctx, c)
		}
	}
	if c, err := h.bind(ctx, st, "wkssvc", dcerpc.WKSSVC); err == nil {
		start := time.Now()
		w, err := wkssvc.New(c, h.Target).WkstaGetInfo(ctx)
		h.Evidence("wkssvc.NetrWkstaGetInfo", "call", start, err)
		if err == nil {
			if si == nil {
				si = &ServerInfo{}
			}
			si.Workstation = &Workstation{PlatformID: w.PlatformID, ComputerName: w.ComputerName, LanGroup: w.LanGroup,
				VersionMajor: w.VersionMajor, VersionMinor: w.VersionMinor}
		}
	}
	h.Result.ServerInfo = si
}

// lsaChecks: the primary and account domains, DNS domain info, trusts.
func (h *Host) lsaChecks(ctx context.Context, st *rpcState) {
	c, err := h.bind(ctx, st, "lsarpc", dcerpc.LSARPC)
	if err != nil {
		return
	}
	st.lsa = lsa.New(c)
	start := time.Now()
	pol, err := st.lsa.OpenPolicy(ctx)
	for _, a := range pol.Attempts {
		name := "lsa.OpenPolicy2"
		if a.Opnum == lsa.OpOpenPolicy {
			name = "lsa.OpenPolicy"
		}
		ch := CheckOf(name, "call", time.Since(start), a.Err)
		ch.Detail = strings.TrimSpace(fmt.Sprintf("access 0x%08x %s", a.Access, ch.Detail))
		h.Record(ch)
	}
	if err != nil {
		return
	}
	st.lsaPolicy = pol
	r := h.Result

	start = time.Now()
	pd, err := st.lsa.PrimaryDomain(ctx, pol.Handle)
	h.Evidence("lsa.QueryInformationPolicy(3 primary domain)", "call", start, err)
	if err == nil {
		r.PrimaryDomain = &PrimaryDomain{Name: pd.Name}
		if pd.SID != nil {
			s := pd.SID.String()
			r.PrimaryDomain.SID = &s
		}
	}
	start = time.Now()
	ad, err := st.lsa.AccountDomain(ctx, pol.Handle)
	h.Evidence("lsa.QueryInformationPolicy(5 account domain)", "call", start, err)
	if err == nil {
		r.Domain = &Domain{Name: ad.Name}
		if ad.SID != nil {
			r.Domain.SID = ad.SID.String()
			sid := *ad.SID
			st.account = &sid
		}
	}
	start = time.Now()
	dns, err := st.lsa.DNSDomain(ctx, pol.Handle)
	h.Evidence("lsa.QueryInformationPolicy(12 dns domain)", "call", start, err)
	if err == nil && dns.DNSDomain != "" && r.Domain != nil && strings.EqualFold(dns.Name, r.Domain.Name) {
		r.Domain.DNSDomain = dns.DNSDomain
		r.Domain.Forest = dns.DNSForest
	}
	if r.Domain != nil && r.PrimaryDomain != nil {
		r.Domain.Role = domainRole(r.Domain, r.PrimaryDomain)
	}
	if h.Opt.Checks.Has(CheckLSA) {
		start = time.Now()
		tex, err := st.lsa.EnumerateTrustedDomainsEx(ctx, pol.Handle)
		h.Evidence("lsa.EnumerateTrustedDomainsEx", "call", start, err)
		if err == nil {
			r.Trusts = []Trust{}
			for _, t := range tex {
				tr := Trust{Name: t.FlatName, DNSName: t.Name, Direction: trustDirection(t.Direction), Type: trustType(t.Type)}
				if t.SID != nil {
					tr.SID = t.SID.String()
				}
				r.Trusts = append(r.Trusts, tr)
			}
			return
		}
		start = time.Now()
		tl, err := st.lsa.EnumerateTrustedDomains(ctx, pol.Handle)
		h.Evidence("lsa.EnumerateTrustedDomains", "call", start, err)
		if err == nil {
			r.Trusts = []Trust{}
			for _, t := range tl {
				tr := Trust{Name: t.Name}
				if t.SID != nil {
					tr.SID = t.SID.String()
				}
				r.Trusts = append(r.Trusts, tr)
			}
		}
	}
}

// domainRole says what the LSA answers imply: a domain controller's account
// domain is its primary domain; a member's or standalone's is the machine.
func domainRole(acct *Domain, primary *PrimaryDomain) string {
	switch {
	case primary.SID != nil && acct.SID != "" && *primary.SID == acct.SID:
		return "domain controller"
	case primary.SID != nil:
		return "domain member"
	default:
		return "standalone (workgroup " + primary.Name + ")"
	}
}

func trustDirection(d uint32) string {
	switch d {
	case 1:
		return "inbound"
	case 2:
		return "outbound"
	case 3:
		return "bidirectional"
	}
	return fmt.Sprintf("0x%x", d)
}

func trustType(t uint32) string {
	switch t {
	case 1:
		return "downlevel"
	case 2:
		return "uplevel"
	case 3:
		return "mit"
	case 4:
		return "dce"
	}
	return fmt.Sprintf("0x%x", t)
}

// samrChecks: users, groups with members, policy, through one SAMR bind.
func (h *Host) samrChecks(ctx context.Context, st *rpcState) {
	c, err := h.bind(ctx, st, "samr", dcerpc.SAMR)
	if err != nil {
		return
	}
	st.samr = samr.New(c)
	o := h.Opt.Checks
	opt := samr.Options{
		Users:        o.Has(CheckUsers) || o.Has(CheckMachines),
		Groups:       o.Has(CheckGroups),
		Policy:       o.Has(CheckPolicy),
		AccountFlags: o&CheckDetailed != 0,
	}
	if st.account != nil {
		opt.DomainSID = st.account.String()
	}
	e, _ := st.samr.Enumerate(ctx, opt)
	if e == nil {
		return
	}
	for _, call := range e.Calls {
		ch := CheckOf(call.Name, "call", call.Duration, call.Err)
		if call.Detail != "" {
			ch.Detail = strings.TrimSpace(call.Detail + " " + ch.Detail)
		}
		h.Record(ch)
	}
	r := h.Result
	if e.Account != nil {
		if st.account == nil {
			sid := e.Account.SID
			st.account = &sid
		}
		if r.Domain == nil {
			r.Domain = &Domain{Name: e.Account.Name, SID: e.Account.SID.String()}
		}
	}
	if e.Users != nil {
		users := make([]User, 0, len(e.Users))
		for _, u := range e.Users {
			users = append(users, User{RID: u.RID, Name: u.Name, FullName: u.FullName, Description: u.Description,
				ACB: u.ACB, Flags: nonNil(samr.ACBNames(u.ACB))})
		}
		if o.Has(CheckUsers) {
			// Machine and trust accounts are not users: they go to
			// Machines (-M), as rpcclient's enumdomusers leaves them out.
			r.Users = []User{}
			for _, u := range users {
				if !isMachine(u) {
					r.Users = append(r.Users, u)
				}
			}
		}
		if o.Has(CheckMachines) {
			r.Machines = []User{}
			for _, u := range users {
				if isMachine(u) {
					r.Machines = append(r.Machines, u)
				}
			}
		}
	}
	if e.Groups != nil {
		r.Groups = make([]Group, 0, len(e.Groups))
		for _, g := range e.Groups {
			grp := Group{RID: g.RID, Name: g.Name, Kind: g.Kind}
			if g.Members != nil {
				grp.Members = []string{}
				for _, m := range g.Members {
					n := m.Name
					if n == "" {
						n = m.SID
					}
					grp.Members = append(grp.Members, n)
				}
			}
			r.Groups = append(r.Groups, grp)
		}
	}
	if e.Policy != nil {
		r.Policy = policyOf(e.Policy)
	}
}

// isMachine: workstation or server trust accounts. Samba AD's display
// information carries no ACB (lab-findings §6.12), so the trailing "$" of
// a machine account's name counts too.
func isMachine(u User) bool {
	return u.ACB&(0x80|0x100) != 0 || strings.HasSuffix(u.Name, "$")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// policyOf decodes the raw SAMR policy: whole seconds, nil for "never" and
// "none", the raw 64-bit values kept for auditors.
func policyOf(p *samr.Policy) *Policy {
	out := &Policy{Raw: map[string]string{}}
	dur := func(key string, raw int64, zeroIsNone bool) *int64 {
		out.Raw[key] = fmt.Sprintf("0x%016x", uint64(raw))
		if raw == 0 && zeroIsNone {
			return nil
		}
		s, never := samr.Duration(raw)
		if never {
			return nil
		}
		return s
	}
	if pw := p.Password; pw != nil {
		out.Password = &PasswordPolicy{MinLength: pw.MinLength, HistoryLength: pw.HistoryLength,
			MaxAgeS: dur("max_password_age", pw.MaxAge, true), MinAgeS: dur("min_password_age", pw.MinAge, true),
			Properties: nonNil(samr.PasswordPropertyNames(pw.Properties)), PropertiesRaw: pw.Properties}
	} else if fb := p.Fallback; fb != nil {
		out.Password = &PasswordPolicy{MinLength: fb.MinLength, Properties: nonNil(samr.PasswordPropertyNames(fb.Properties)), PropertiesRaw: fb.Properties}
	}
	if lo := p.Lockout; lo != nil {
		out.Lockout = &LockoutPolicy{Threshold: lo.Threshold, DurationS: dur("lockout_duration", lo.Duration, false),
			WindowS: dur("lockout_window", lo.Window, false)}
	}
	if p.ForceLogoff != nil {
		out.Logoff = &LogoffPolicy{ForceLogoffS: dur("force_logoff", *p.ForceLogoff, false)}
	}
	return out
}
