package enum

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/epm"
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
	// tcp: binds go over ncacn_ip_tcp to the port the endpoint mapper
	// names (doors.go); epm is that mapper, epmErr why it is not.
	tcp    bool
	epm    *epm.Client
	epmErr error
	mu     sync.Mutex // guards pipes: checks beside each other open pipes
}

func (s *rpcState) addPipe(p smb.Pipe) {
	s.mu.Lock()
	s.pipes = append(s.pipes, p)
	s.mu.Unlock()
}

func (s *rpcState) close(ctx context.Context) {
	for _, p := range s.pipes {
		_ = p.Close(ctx)
	}
}

// closeBeside closes the pipes in the background, all at once where the
// connection multiplexes (SMB2; SMB1 and TCP one after another), with a
// bound of their own: the run goes on to its last port probe and doors
// while the server closes them, and host.close waits for them before it
// disconnects IPC$.
func (h *host) closeBeside(ctx context.Context, st *rpcState) {
	together := h.Conn != nil && h.Conn.Negotiated().Dialect != smb.SMB1 && !st.tcp
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		if !together {
			st.close(cctx)
			return
		}
		var wg sync.WaitGroup
		for _, p := range st.pipes {
			wg.Go(func() { _ = p.Close(cctx) })
		}
		wg.Wait()
	}()
	h.closing = append(h.closing, done)
}

// bind opens a pipe and binds one interface on it, recording both steps.
func (h *host) bind(ctx context.Context, st *rpcState, pipe string, iface dcerpc.SyntaxID) (*dcerpc.Client, error) {
	if st.tcp {
		return h.bindTCP(ctx, st, pipe, iface)
	}
	if h.IPC == nil {
		c := openPipeCall(pipe)
		c.Result, c.Detail = Skipped, "IPC$ not connected"
		h.record(c)
		return nil, fmt.Errorf("%s: IPC$ not connected", pipe)
	}
	start := time.Now()
	p, err := h.IPC.OpenPipe(ctx, pipe)
	if _, probed := h.Result.Pipes[pipe]; !probed {
		// Without the layer-5 probe, the pipes the checks open are its result.
		h.note(openPipeCall(pipe), start, err)
		h.Result.Pipes[pipe] = pipeState(err)
	} else if err != nil {
		h.note(openPipeCall(pipe), start, err)
	}
	if err != nil {
		return nil, err
	}
	st.addPipe(p)
	start = time.Now()
	c, err := dcerpc.Bind(ctx, p, iface)
	h.note(bindCall(pipe), start, err)
	return c, err
}

func (h *host) runRPCChecks(ctx context.Context) {
	st := &rpcState{tcp: h.useTCP(ctx)}
	transport := NCACNNP
	if st.tcp {
		transport = NCACNIPTCP
	}
	h.mu.Lock()
	h.rpcRan, h.rpcTransport = true, transport
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.rpcTransport = ""
		h.mu.Unlock()
	}()
	defer h.closeBeside(ctx, st)
	o := h.Opt.Checks
	// --transport tcp never falls back to the pipes.
	rpc := (h.IPC != nil && h.Opt.Transport != TransportTCP) || st.tcp
	wantLSA := o.Has(CheckLSA) || o.Has(CheckRIDs) || o.Has(CheckUsers) || o.Has(CheckPolicy) || o.Has(CheckGroups)
	wantSAMR := o.Has(CheckUsers) || o.Has(CheckGroups) || o.Has(CheckPolicy) || o.Has(CheckMachines)
	sharesDone := false
	switch {
	case rpc && h.besideOK(st):
		sharesDone = h.rpcChecksBeside(ctx, st, wantLSA, wantSAMR)
	case rpc:
		h.serverInfo(ctx, st)
		if wantLSA {
			h.lsaChecks(ctx, st)
		}
		if wantSAMR {
			if acct := h.samrChecks(ctx, st, nil); st.account == nil {
				st.account = acct
			}
		}
	}
	if o.Has(CheckShares) && !sharesDone {
		h.shareChecks(ctx, st)
	}
	if o.Has(CheckRIDs) && rpc {
		h.ridCycle(ctx, st)
	}
	if o.Has(CheckMachines) && h.Session != nil {
		h.browse(ctx)
	}
}

// serverInfo: SRVSVC NetrServerGetInfo 101 and WKSSVC NetrWkstaGetInfo 100.
func (h *host) serverInfo(ctx context.Context, st *rpcState) {
	h.Result.ServerInfo = withWorkstation(h.srvsvcInfo(ctx, st), h.wkssvcInfo(ctx, st))
}

func withWorkstation(si *ServerInfo, w *Workstation) *ServerInfo {
	if w != nil {
		if si == nil {
			si = &ServerInfo{}
		}
		si.Workstation = w
	}
	return si
}

// srvsvcInfo: SRVSVC NetrServerGetInfo 101, and the share list (-S).
func (h *host) srvsvcInfo(ctx context.Context, st *rpcState) *ServerInfo {
	c, err := h.bind(ctx, st, "srvsvc", dcerpc.SRVSVC)
	if err != nil {
		return nil
	}
	var si *ServerInfo
	start := time.Now()
	info, err := srvsvc.New(c, h.Target).ServerInfo(ctx)
	h.note(Call(LayerCall, IfaceSRVSVC, "NetrServerGetInfo", "level 101").Op(srvsvc.OpNetrServerGetInfo).Named("srvsvc.NetrServerGetInfo"), start, err)
	if err == nil {
		si = &ServerInfo{PlatformID: info.PlatformID, Name: info.Name, VersionMajor: info.VersionMajor,
			VersionMinor: info.VersionMinor, Type: info.Type, TypeNames: serverTypeNames(info.Type), Comment: info.Comment}
	}
	if h.Opt.Checks.Has(CheckShares) {
		h.shareEnum(ctx, c)
	}
	return si
}

// wkssvcInfo: WKSSVC NetrWkstaGetInfo 100.
func (h *host) wkssvcInfo(ctx context.Context, st *rpcState) *Workstation {
	c, err := h.bind(ctx, st, "wkssvc", dcerpc.WKSSVC)
	if err != nil {
		return nil
	}
	start := time.Now()
	w, err := wkssvc.New(c, h.Target).WkstaGetInfo(ctx)
	h.note(Call(LayerCall, IfaceWKSSVC, "NetrWkstaGetInfo", "level 100").Op(wkssvc.OpNetrWkstaGetInfo).Named("wkssvc.NetrWkstaGetInfo"), start, err)
	if err != nil {
		return nil
	}
	return &Workstation{PlatformID: w.PlatformID, ComputerName: w.ComputerName, LanGroup: w.LanGroup,
		VersionMajor: w.VersionMajor, VersionMinor: w.VersionMinor}
}

// besideOK: the RPC checks run beside each other over SMB2 pipes, where
// one connection carries their round trips at once (internal/smb2) and
// the server serves each pipe on its own (Samba: an rpcd worker per
// interface). SMB1 serializes round trips; TCP binds go their own way.
func (h *host) besideOK(st *rpcState) bool {
	return !h.Opt.sequential && !st.tcp && h.IPC != nil && h.Conn != nil && h.Conn.Negotiated().Dialect != smb.SMB1
}

// branch is a view of h for checks that run beside others: the same
// session and options, a Result of its own for what it writes and its own
// evidence. merge brings them back on the run goroutine.
func (h *host) branch() *host {
	h.mu.Lock()
	transport := h.rpcTransport
	h.mu.Unlock()
	return &host{Target: h.Target, Opt: h.Opt, Conn: h.Conn, Session: h.Session, IPC: h.IPC, log: h.log,
		rpcRan: h.rpcRan, rpcTransport: transport,
		Result: &Result{Checks: []Check{}, Pipes: maps.Clone(h.Result.Pipes), IPC: h.Result.IPC, SMB: h.Result.SMB}}
}

// merge appends b's evidence and the pipe states it learned.
func (h *host) merge(b *host) {
	h.mu.Lock()
	h.Result.Checks = append(h.Result.Checks, b.Result.Checks...)
	h.mu.Unlock()
	for k, v := range b.Result.Pipes {
		if _, ok := h.Result.Pipes[k]; !ok {
			h.Result.Pipes[k] = v
		}
	}
}

// rpcChecksBeside runs SRVSVC, WKSSVC, LSA and SAMR at once, each on its
// own pipe, and merges what they learned in the order the sequential run
// has (srvsvc, wkssvc, lsa, samr): the Result and its evidence do not
// depend on which answer came first. SAMR waits for LSA only where LSA's
// account domain SID decides which domain to open (samr.Options). The
// share probes (-S) follow the share list on SRVSVC's branch; it reports
// whether they ran.
func (h *host) rpcChecksBeside(ctx context.Context, st *rpcState, wantLSA, wantSAMR bool) (sharesDone bool) {
	srv, wks, lb, sb, shr := h.branch(), h.branch(), h.branch(), h.branch(), h.branch()
	var si *ServerInfo
	var ws *Workstation
	var samrAcct *ndr.SID
	lsaDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		si = srv.srvsvcInfo(ctx, st)
		if h.Opt.Checks.Has(CheckShares) {
			// The share probes follow the share list on this branch;
			// their evidence goes after SAMR's, as in the sequential run.
			shr.Result.Shares = srv.Result.Shares
			shr.shareChecks(ctx, st)
		}
	})
	wg.Go(func() { ws = wks.wkssvcInfo(ctx, st) })
	if wantLSA {
		wg.Go(func() {
			defer close(lsaDone)
			lb.lsaChecks(ctx, st)
		})
	} else {
		close(lsaDone)
	}
	if wantSAMR {
		wg.Go(func() {
			samrAcct = sb.samrChecks(ctx, st, func() string {
				<-lsaDone
				if st.account != nil {
					return st.account.String()
				}
				return ""
			})
		})
	}
	wg.Wait()
	r := h.Result
	h.merge(srv)
	h.merge(wks)
	r.ServerInfo = withWorkstation(si, ws)
	r.Shares = srv.Result.Shares
	h.merge(lb)
	r.PrimaryDomain, r.Domain, r.Trusts = lb.Result.PrimaryDomain, lb.Result.Domain, lb.Result.Trusts
	h.merge(sb)
	sr := sb.Result
	r.Users, r.Machines, r.Groups, r.Policy = sr.Users, sr.Machines, sr.Groups, sr.Policy
	if r.Domain == nil {
		r.Domain = sr.Domain
	}
	if st.account == nil {
		st.account = samrAcct
	}
	h.merge(shr)
	return h.Opt.Checks.Has(CheckShares)
}

// bindCall is the evidence of binding an interface on a pipe.
func bindCall(pipe string) Check {
	return Call(LayerBind, IfaceDCERPC, "Bind", pipe).Named("dcerpc.Bind(" + pipe + ")")
}

// queryPolicyCall is the evidence of LsarQueryInformationPolicy for one class.
func queryPolicyCall(class int, what string) Check {
	return Call(LayerCall, IfaceLSA, "QueryInformationPolicy", fmt.Sprintf("class %d", class)).Op(lsa.OpQueryInformationPolicy).
		Named(fmt.Sprintf("lsa.QueryInformationPolicy(%d %s)", class, what))
}

// openPolicyCheck is the evidence of one LSA open-policy attempt; note
// says what else the caller wants said (the RID-cycling lane).
func openPolicyCheck(a lsa.Attempt, note string) Check {
	method := "OpenPolicy2"
	if a.Opnum == lsa.OpOpenPolicy {
		method = "OpenPolicy"
	}
	access := fmt.Sprintf("access 0x%08x", a.Access)
	ch := Call(LayerCall, IfaceLSA, method, access).Op(a.Opnum).Named("lsa."+method).Done(a.Duration, a.Err)
	ch.Detail = joinWords(access, note, ch.Detail)
	return ch
}

// samrCheck is the evidence of one SAMR call as the samr client reported
// it; withStatus keeps a success status (the lookups' STATUS_SOME_NOT_MAPPED).
func samrCheck(call samr.Call, withStatus bool) Check {
	ch := Call(LayerCall, IfaceSAMR, call.Method, call.Detail).Op(call.Opnum).Named(call.Name).Done(call.Duration, call.Err)
	if call.Err == nil && withStatus {
		ch.Status, ch.StatusCode = call.Status, call.Code
	}
	ch.Detail = joinWords(call.Detail, ch.Detail)
	return ch
}

// joinWords joins the non-empty parts with spaces.
func joinWords(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// lsaChecks: the primary and account domains, DNS domain info, trusts.
func (h *host) lsaChecks(ctx context.Context, st *rpcState) {
	c, err := h.bind(ctx, st, "lsarpc", dcerpc.LSARPC)
	if err != nil {
		return
	}
	st.lsa = lsa.New(c)
	pol, err := st.lsa.OpenPolicy(ctx)
	for _, a := range pol.Attempts {
		h.record(openPolicyCheck(a, ""))
	}
	if err != nil {
		return
	}
	st.lsaPolicy = pol
	r := h.Result

	start := time.Now()
	pd, err := st.lsa.PrimaryDomain(ctx, pol.Handle)
	h.note(queryPolicyCall(3, "primary domain"), start, err)
	if err == nil {
		r.PrimaryDomain = &PrimaryDomain{Name: pd.Name}
		if pd.SID != nil {
			s := pd.SID.String()
			r.PrimaryDomain.SID = &s
		}
	}
	start = time.Now()
	ad, err := st.lsa.AccountDomain(ctx, pol.Handle)
	h.note(queryPolicyCall(5, "account domain"), start, err)
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
	h.note(queryPolicyCall(12, "dns domain"), start, err)
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
		h.note(Call(LayerCall, IfaceLSA, "EnumerateTrustedDomainsEx", "").Op(lsa.OpEnumerateTrustedDomainsEx).Named("lsa.EnumerateTrustedDomainsEx"), start, err)
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
		h.note(Call(LayerCall, IfaceLSA, "EnumerateTrustedDomains", "").Op(lsa.OpEnumerateTrustedDomains).Named("lsa.EnumerateTrustedDomains"), start, err)
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
// It returns SAMR's account domain SID. With hint nil the account domain
// is the one LSA found (st.account, read before); beside LSA, hint gives
// it where it decides something (samr.Options.DomainSIDFunc).
func (h *host) samrChecks(ctx context.Context, st *rpcState, hint func() string) *ndr.SID {
	c, err := h.bind(ctx, st, "samr", dcerpc.SAMR)
	if err != nil {
		return nil
	}
	st.samr = samr.New(c)
	o := h.Opt.Checks
	opt := samr.Options{
		Users:        o.Has(CheckUsers) || o.Has(CheckMachines),
		Groups:       o.Has(CheckGroups),
		Policy:       o.Has(CheckPolicy),
		AccountFlags: o&CheckDetailed != 0,
		MissingFlags: missingFlagsReads,
		Details:      o&CheckDetailed != 0,
	}
	if hint != nil {
		opt.DomainSIDFunc = hint
	} else if st.account != nil {
		opt.DomainSID = st.account.String()
	}
	e, _ := st.samr.Enumerate(ctx, opt)
	if e == nil {
		return nil
	}
	var acct *ndr.SID
	for _, call := range e.Calls {
		h.record(samrCheck(call, false))
	}
	r := h.Result
	if e.Account != nil {
		sid := e.Account.SID
		acct = &sid
		if r.Domain == nil {
			r.Domain = &Domain{Name: e.Account.Name, SID: e.Account.SID.String()}
		}
	}
	if e.Users != nil {
		users := make([]User, 0, len(e.Users))
		for _, u := range e.Users {
			users = append(users, userOf(u))
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
	return acct
}

// userDetailsOf decodes class 21 for JSON: FILETIMEs as RFC 3339 UTC,
// null for never/not set, and null too for a time JSON cannot hold (past
// the year 9999; raw still has it).
func userDetailsOf(d *samr.UserDetails) *UserDetails {
	out := &UserDetails{HomeDirectory: d.HomeDirectory, HomeDrive: d.HomeDrive, ProfilePath: d.ProfilePath,
		ScriptPath: d.ScriptPath, Workstations: d.Workstations, UserComment: d.UserComment,
		PrimaryGroupRID: d.PrimaryGroupID, BadPasswordCount: d.BadPasswordCount, LogonCount: d.LogonCount,
		PasswordExpired: d.PasswordExpired, Raw: map[string]string{}}
	ft := func(key string, raw int64) *string {
		out.Raw[key] = fmt.Sprintf("0x%016x", uint64(raw))
		t, set := samr.FileTime(raw)
		if !set || t.Year() > 9999 {
			return nil
		}
		s := t.Format(time.RFC3339Nano)
		return &s
	}
	out.LastLogon = ft("last_logon", d.LastLogon)
	out.LastLogoff = ft("last_logoff", d.LastLogoff)
	out.PasswordLastSet = ft("password_last_set", d.PasswordLastSet)
	out.PasswordCanChange = ft("password_can_change", d.PasswordCanChange)
	out.PasswordMustChange = ft("password_must_change", d.PasswordMustChange)
	out.AccountExpires = ft("account_expires", d.AccountExpires)
	return out
}

// missingFlagsReads bounds the users whose account bits are read one by
// one (QueryInformationUser class 16) when the display information carried
// none: a small domain gets its real flags, a large one keeps them absent
// (-d reads them for every user).
const missingFlagsReads = 100

// userOf is one SAMR user as reported. Every account has an account-type
// bit ([MS-SAMR] 2.2.1.12), so a 0 from the display information means the
// call did not carry the bits (Samba AD does this): not read, absent.
func userOf(u samr.User) User {
	usr := User{RID: u.RID, Name: u.Name, FullName: u.FullName, Description: u.Description}
	if u.ACBSource == "user_info" || u.ACBSource == "display" && u.ACB != 0 {
		acb := u.ACB
		usr.ACB, usr.Flags = &acb, nonNil(samr.ACBNames(u.ACB))
	}
	if u.Details != nil {
		usr.Details = userDetailsOf(u.Details)
	}
	return usr
}

// isMachine: workstation or server trust accounts. Samba AD's display
// information carries no ACB (see users above), so the trailing "$" of
// a machine account's name counts too.
func isMachine(u User) bool {
	return u.ACB != nil && *u.ACB&(0x80|0x100) != 0 || strings.HasSuffix(u.Name, "$")
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
